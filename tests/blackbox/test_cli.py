"""The command line: --help, --version, and a one-line reason with a non-zero
exit for every way startup can fail (SPEC §1)."""
import re
import socket
import unittest

from harness import Server, app_path, free_port, run_cli


class CommandLine(unittest.TestCase):
    def test_help_lists_every_option(self):
        code, out, _ = run_cli("--help")
        self.assertEqual(code, 0)
        for option in ("run", "--host", "--port", "--workers", "--tls-cert", "--tls-key", "--max-body", "--timeout",
                       "--shared-memory", "--access-log", "--log-level", "--version"):
            self.assertIn(option, out)

    def test_version(self):
        code, out, _ = run_cli("--version")
        self.assertEqual(code, 0)
        self.assertRegex(out.strip(), r"^moontide \d+\.\d+\.\d+$")

    def assert_fails(self, args, pattern):
        code, out, err = run_cli(*args)
        self.assertNotEqual(code, 0, f"{args} should fail")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, f"want a one-line reason, got: {err!r}")
        self.assertRegex(lines[0], pattern)
        return lines[0]

    def test_bad_flag(self):
        self.assert_fails(["run", app_path("handlers.lua"), "--bogus"], r"unknown option '--bogus'")

    def test_bad_value(self):
        self.assert_fails(["run", app_path("handlers.lua"), "--port", "http"], r"--port: 'http' is not a port")
        self.assert_fails(["run", app_path("handlers.lua"), "--workers", "0"], r"--workers")
        self.assert_fails(["run", app_path("handlers.lua"), "--max-body", "lots"], r"--max-body")
        self.assert_fails(["run", app_path("handlers.lua"), "--log-level", "loud"], r"--log-level")
        self.assert_fails(["run", app_path("handlers.lua"), "--shared-memory", "1k"], r"--shared-memory: '1k' is not a size")
        self.assert_fails(["run", app_path("handlers.lua"), "--port"], r"--port needs a value")

    def test_unknown_command_and_no_command(self):
        self.assert_fails(["serve", app_path("handlers.lua")], r"unknown command 'serve'")
        self.assert_fails([], r"no command")
        self.assert_fails(["run"], r"no APP")

    def test_missing_app(self):
        self.assert_fails(["run", "/nonexistent/app.lua"], r"/nonexistent/app.lua: No such file")
        self.assert_fails(["run", app_path("broken")], r"no app.lua in this directory")

    def test_port_in_use(self):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            port = holder.getsockname()[1]
            self.assert_fails(["run", app_path("handlers.lua"), "--port", str(port)], r"(?i)address already in use")

    def test_tls_needs_both_files(self):
        self.assert_fails(["run", app_path("handlers.lua"), "--tls-cert", "x.pem"], r"--tls-cert and --tls-key go together")
        self.assert_fails(["run", app_path("handlers.lua"), "--tls-cert", "/nonexistent.pem", "--tls-key",
                           "/nonexistent.key", "--port", str(free_port())], r"--tls-cert /nonexistent.pem")


class Listening(unittest.TestCase):
    def test_ipv6_host_and_quiet_log_level(self):
        import subprocess
        with Server("handlers.lua", "--host", "::1", "--log-level", "error") as server:
            out = subprocess.run(["curl", "-sS", f"http://[::1]:{server.port}/items/6"], capture_output=True, timeout=10)
            self.assertEqual(out.stdout, b'{"id":"6"}')
            self.assertEqual(server.stop(), 0)
            self.assertEqual(server.stderr(), "", "--log-level error keeps info lines out")

    def test_startup_line_names_the_address(self):
        with Server("handlers.lua") as server:
            self.assertRegex(server.stderr(), rf"info: serving .*handlers\.lua on http://127\.0\.0\.1:{server.port} "
                                              r"with 1 worker\(s\)")


class LoadErrors(unittest.TestCase):
    """An app that fails to load names FILE:LINE; nothing starts listening."""

    def assert_load_error(self, name, pattern):
        port = free_port()
        code, _, err = run_cli("run", app_path("broken/" + name), "--port", str(port))
        self.assertNotEqual(code, 0)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertRegex(lines[0], pattern)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()

    def test_syntax_error(self):
        self.assert_load_error("syntax.lua", r"broken/syntax\.lua:5: .*unexpected symbol near 'end'")

    def test_runtime_error(self):
        self.assert_load_error("runtime.lua", r"broken/runtime\.lua:4: attempt to index local 'config' \(a nil value\)")

    def test_no_app_returned(self):
        self.assert_load_error("no_app.lua", r"no_app\.lua: the app file must end with 'return app'.*returned nil")

    def test_bad_route_template(self):
        self.assert_load_error("bad_route.lua", r"bad_route\.lua:4: GET /items/\{id: a path parameter must be written")

    def test_duplicate_route(self):
        self.assert_load_error("duplicate_route.lua", r"duplicate_route\.lua:4: GET /items/\{item_id\}: .*already exists")

    def test_handler_not_a_function(self):
        self.assert_load_error("bad_handler.lua", r"bad_handler\.lua:3: get: handler must be a function, got string")

    def test_missing_module(self):
        self.assert_load_error("missing_module.lua", r"missing_module\.lua:2: module 'no.such.module' not found")


class AppDirectory(unittest.TestCase):
    def test_directory_with_app_lua_and_local_modules(self):
        with Server("modular") as server:
            status, _, body = server.request("GET", "/greet/ann")
            self.assertEqual(status, 200)
            self.assertEqual(body, b'{"message":"Hi, ann"}')
            self.assertEqual(server.stop(), 0)

    def test_an_app_file_named_moontide_does_not_hide_the_framework(self):
        with Server("shadow/moontide.lua") as server:
            self.assertEqual(server.request("GET", "/ok")[2], b'{"framework":true}')


if __name__ == "__main__":
    unittest.main()
