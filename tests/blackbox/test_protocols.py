"""Protocols on every port (SPEC §1): HTTP/1.1 keep-alive, cleartext HTTP/2
with prior knowledge, and HTTPS negotiating h2 or http/1.1 by ALPN — each
checked with real clients (curl, h2load)."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import Server, ServerTestCase, curl


class Cleartext(ServerTestCase):
    app = "handlers.lua"

    def test_http1_keep_alive_reuses_one_connection(self):
        url = self.server.url + "/items/1"
        code, out, err = curl("--http1.1", "-v", url, url, url)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b'{"id":"1"}' * 3)
        self.assertEqual(len(re.findall(r"Connected to", err)), 1, "curl should connect once")
        self.assertEqual(len(re.findall(r"Re-using existing connection", err)), 2)

    def test_h2c_prior_knowledge(self):
        code, out, err = curl("--http2-prior-knowledge", "-w", "\\n%{http_version}", self.server.url + "/request/a/b")
        self.assertEqual(code, 0, err)
        body, version = out.rsplit(b"\n", 1)
        self.assertEqual(version, b"2")
        self.assertIn(b'"http_version":"2"', body)

    def test_h2c_errors_are_json_too(self):
        code, out, err = curl("--http2-prior-knowledge", "-w", "\\n%{http_code}", self.server.url + "/missing")
        self.assertEqual(out, b'{"detail":"Not Found"}\n404')

    def test_every_answer_names_the_server_once(self):
        for flag in ("--http1.1", "--http2-prior-knowledge"):
            for path in ("/items/1", "/missing"):
                code, out, err = curl(flag, "-s", "-D", "-", "-o", "/dev/null", self.server.url + path)
                servers = re.findall(rb"(?im)^server: (.*?)\r$", out)
                self.assertEqual(servers, [b"moontide"], f"{flag} {path}: {out!r}")

    @unittest.skipUnless(shutil.which("h2load"), "h2load (nghttp2-client) not installed")
    def test_h2load_many_streams(self):
        proc = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "20", self.server.url + "/items/9"],
                              capture_output=True, text=True, timeout=60)
        self.assertIn("2000 succeeded, 0 failed, 0 errored", proc.stdout, proc.stdout)
        self.assertIn("status codes: 2000 2xx", proc.stdout)


class Https(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="moontide-tls-")
        cls.cert, cls.key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", cls.key, "-out", cls.cert],
                       check=True, capture_output=True)
        cls.server = Server("handlers.lua", "--tls-cert", cls.cert, "--tls-key", cls.key, scheme="https")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def fetch(self, *flags):
        code, out, err = curl("--cacert", self.cert, "-w", "\\n%{http_version}", *flags, self.server.url + "/items/5")
        self.assertEqual(code, 0, err)
        return out.rsplit(b"\n", 1)

    def test_alpn_h2(self):
        self.assertEqual(self.fetch("--http2"), [b'{"id":"5"}', b"2"])

    def test_alpn_http1(self):
        self.assertEqual(self.fetch("--http1.1"), [b'{"id":"5"}', b"1.1"])

    def test_certificate_is_verified_by_the_client(self):
        code, _, err = curl(self.server.url + "/items/5")  # no --cacert: the self-signed certificate is refused
        self.assertNotEqual(code, 0)

    def test_cleartext_is_refused_on_a_tls_port(self):
        code, out, _ = curl("--http1.1", f"http://127.0.0.1:{self.server.port}/items/5")
        self.assertFalse(out.startswith(b'{"id"'))


if __name__ == "__main__":
    unittest.main()
