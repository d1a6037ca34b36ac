"""moontide build (SPEC §8): OUT is one executable with the app inside. It
serves from any directory with the sources gone, documents exactly as the
sources do, keeps FILE:LINE in its errors, and refuses a damaged payload."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Server, run_cli, wait_until

EXAMPLES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples"))


class Build(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="moontide-build-")
        # build from a copy of the sources, then delete them: OUT must not need them
        cls.src = os.path.join(cls.tmp, "src")
        shutil.copytree(os.path.join(EXAMPLES, "bookstore"), os.path.join(cls.src, "bookstore"))
        code, out, err = run_cli("openapi", os.path.join(cls.src, "bookstore"), text=False)
        assert code == 0, err
        cls.source_doc = out
        cls.out = os.path.join(cls.tmp, "bookstore-server")
        code, out, err = run_cli("build", os.path.join(cls.src, "bookstore"), "-o", cls.out)
        assert code == 0, err
        cls.build_report = out
        shutil.rmtree(cls.src)
        cls.elsewhere = tempfile.mkdtemp(prefix="moontide-elsewhere-")
        cls.env = {**os.environ, "LD_LIBRARY_PATH": "/nonexistent"}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        shutil.rmtree(cls.elsewhere, ignore_errors=True)

    def run_out(self, *args, out=None):
        return subprocess.run([out or self.out, *args], cwd=self.elsewhere, env=self.env, capture_output=True,
                              timeout=20)

    def test_it_serves_without_its_sources(self):
        self.assertIn("and 3 Lua file(s)", self.build_report)
        server = Server(self.out, command=None, env={"LD_LIBRARY_PATH": "/nonexistent"}, cwd=self.elsewhere)
        try:
            status, _, body = server.request("GET", "/books?limit=1")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["items"][0]["title"], "The Hobbit")
            status, _, body = server.request("POST", "/books", body=b'{"title":""}',
                                             headers={"Content-Type": "application/json"})
            self.assertEqual(status, 422)  # the annotations travel too
        finally:
            server.close()

    def test_openapi_is_the_same_document(self):
        result = self.run_out("openapi")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, self.source_doc)

    def test_help_works_and_other_commands_are_refused(self):
        self.assertEqual(self.run_out("--help").returncode, 0)
        result = self.run_out("check", "x")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"serves the app built into it", result.stderr)

    def test_errors_keep_the_source_file_and_line(self):
        src = os.path.join(self.tmp, "failing")
        os.makedirs(src)
        with open(os.path.join(src, "app.lua"), "w") as f:
            f.write('local moontide = require "moontide"\nlocal app = moontide.app {}\n'
                    'app:get("/boom", function(req)\n  error("boom")\nend)\nreturn app\n')
        out = os.path.join(self.tmp, "failing-server")
        self.assertEqual(run_cli("build", src, "-o", out)[0], 0)
        shutil.rmtree(src)
        server = Server(out, command=None)
        try:
            self.assertEqual(server.request("GET", "/boom")[0], 500)
            wait_until(lambda: "failing/app.lua:4: boom" in server.stderr(), what="the error with its FILE:LINE")
        finally:
            server.close()

    def test_it_needs_only_the_c_library_and_openssl(self):
        """OUT links h2o, cJSON, LuaJIT and PCRE2 in (the build's static_deps, which .ci/build sets up)."""
        listed = subprocess.run(["ldd", self.out], capture_output=True, text=True, timeout=20).stdout
        names = [line.split()[0] for line in listed.splitlines() if line.strip()]
        allowed = ("linux-vdso.so", "ld-linux", "/lib64/ld-linux", "libc.so", "libm.so", "libdl.so", "libpthread.so",
                   "libgcc_s.so", "libssl.so", "libcrypto.so", "libz.so")
        if any(n.startswith("libasan.so") for n in names):  # the sanitizer build: its runtimes come along
            allowed += ("libasan.so", "libubsan.so", "libstdc++.so")
        self.assertTrue(names, listed)
        self.assertEqual([n for n in names if not any(n.startswith(a) or a in n for a in allowed)], [], listed)

    def test_a_damaged_or_truncated_app_is_refused(self):
        with open(self.out, "rb") as f:
            data = f.read()
        damaged, truncated = os.path.join(self.tmp, "damaged"), os.path.join(self.tmp, "truncated")
        with open(damaged, "wb") as f:
            f.write(data[:-1000] + bytes([data[-1000] ^ 0xFF]) + data[-999:])
        with open(truncated, "wb") as f:
            f.write(data[:-5000])
        for path, word in ((damaged, b"damaged"), (truncated, b"truncated")):
            os.chmod(path, 0o755)
            result = self.run_out("--port", "1", out=path)
            self.assertEqual(result.returncode, 1, path)
            self.assertIn(word, result.stderr)
            self.assertIn(b"build it again", result.stderr)

    def test_build_needs_an_output_and_a_good_app(self):
        self.assertIn("-o OUT", run_cli("build", os.path.join(EXAMPLES, "hello"))[2])
        broken = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apps", "broken", "syntax.lua")
        code, out, err = run_cli("build", broken, "-o", os.path.join(self.tmp, "never"))
        self.assertEqual(code, 1)
        self.assertIn("nothing written", err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "never")))


if __name__ == "__main__":
    unittest.main()
