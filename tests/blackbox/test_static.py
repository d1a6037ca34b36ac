"""app:static(prefix, dir) (SPEC §7): GET/HEAD of files under dir with
ETag/Last-Modified and 304s, single byte ranges (206/416), content types by
extension; no way out of dir (.., encoded dots and slashes, backslashes,
NUL, symlinks leading outside, hidden files), directories are 404; not in
the OpenAPI document; `moontide dev` serves files as they are on disk and
`moontide build` embeds them."""
import email.utils
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import APPS, Server, run_cli, wait_until


def make_app_copy():
    """A copy of tests/apps/http_extras with a large file and symlinks (inside and out) added."""
    tmp = tempfile.mkdtemp(prefix="moontide-static-")
    app = os.path.join(tmp, "app")
    shutil.copytree(os.path.join(APPS, "http_extras"), app)
    public = os.path.join(app, "public")
    rnd = random.Random(7)
    with open(os.path.join(public, "big.bin"), "wb") as f:
        f.write(bytes(rnd.getrandbits(8) for _ in range(700_000)))
    with open(os.path.join(app, "secret.txt"), "w") as f:
        f.write("outside the static directory\n")
    os.symlink("../secret.txt", os.path.join(public, "outside"))
    os.symlink("/etc/passwd", os.path.join(public, "passwd"))
    os.symlink("..", os.path.join(public, "up"))
    os.symlink("hello.txt", os.path.join(public, "inside"))
    os.symlink("css", os.path.join(public, "styles"))
    return tmp, app


def raw_get(port, path):
    """Sends the path exactly as given (no client normalisation); returns the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


class Static(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp, cls.app = make_app_copy()
        cls.server = Server(cls.app)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, headers=None, method="GET"):
        return self.server.request(method, path, headers=headers)

    def test_file_with_validators_and_type(self):
        status, headers, body = self.get("/assets/hello.txt")
        self.assertEqual((status, body), (200, b"hello, static world\n"))
        self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")
        self.assertEqual(headers["accept-ranges"], "bytes")
        st = os.stat(os.path.join(self.app, "public", "hello.txt"))
        self.assertEqual(headers["etag"], '"%x-%x"' % (int(st.st_mtime), st.st_size))
        self.assertEqual(email.utils.parsedate_to_datetime(headers["last-modified"]).timestamp(), int(st.st_mtime))
        for path, type_ in [("/assets/css/site.css", "text/css; charset=utf-8"), ("/assets/data.json", "application/json"),
                            ("/index.html", "text/html; charset=utf-8"), ("/assets/big.bin", "application/octet-stream")]:
            status, headers, _ = self.get(path)
            self.assertEqual((status, headers["content-type"]), (200, type_), path)

    def test_head(self):
        status, headers, body = self.get("/assets/big.bin", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers["content-length"], "700000")

    def test_large_file_in_full(self):
        with open(os.path.join(self.app, "public", "big.bin"), "rb") as f:
            expected = f.read()
        status, headers, body = self.get("/assets/big.bin")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-length"], "700000")
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(expected).hexdigest())
        out = subprocess.run(["nghttp", "-v", f"{self.server.url}/assets/big.bin"], capture_output=True, timeout=30).stdout
        self.assertIn(b":status: 200", out)
        self.assertGreater(out.count(b"recv DATA frame"), 20)  # sent as the client takes it, not in one piece

    def test_not_modified(self):
        _, headers, _ = self.get("/assets/hello.txt")
        etag, last_modified = headers["etag"], headers["last-modified"]
        for request_headers in [{"If-None-Match": etag}, {"If-None-Match": f'"other", W/{etag}'}, {"If-None-Match": "*"},
                                {"If-Modified-Since": last_modified},
                                {"If-Modified-Since": email.utils.formatdate(time.time() + 3600, usegmt=True)}]:
            status, headers, body = self.get("/assets/hello.txt", request_headers)
            self.assertEqual((status, body), (304, b""), request_headers)
            self.assertEqual(headers["etag"], etag)
        for request_headers in [{"If-None-Match": '"other"'}, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
                                # If-None-Match wins over If-Modified-Since
                                {"If-None-Match": '"other"', "If-Modified-Since": last_modified}]:
            status, _, body = self.get("/assets/hello.txt", request_headers)
            self.assertEqual((status, body), (200, b"hello, static world\n"), request_headers)

    def test_ranges(self):
        data = b"hello, static world\n"
        cases = {"bytes=0-4": (0, 4), "bytes=7-": (7, 19), "bytes=-6": (14, 19), "bytes=7-1000": (7, 19),
                 "bytes=-100": (0, 19)}
        for spec, (first, last) in cases.items():
            status, headers, body = self.get("/assets/hello.txt", {"Range": spec})
            self.assertEqual((status, body), (206, data[first:last + 1]), spec)
            self.assertEqual(headers["content-range"], f"bytes {first}-{last}/20", spec)
        for spec in ("bytes=20-", "bytes=100-200", "bytes=-0"):
            status, headers, _ = self.get("/assets/hello.txt", {"Range": spec})
            self.assertEqual(status, 416, spec)
            self.assertEqual(headers["content-range"], "bytes */20", spec)
        for spec in ("bytes=0-1,3-4", "items=0-1", "bytes=5-2", "bytes=x-"):  # ignored: the whole file
            status, _, body = self.get("/assets/hello.txt", {"Range": spec})
            self.assertEqual((status, body), (200, data), spec)
        _, headers, _ = self.get("/assets/hello.txt")
        status, _, body = self.get("/assets/hello.txt", {"Range": "bytes=0-4", "If-Range": headers["etag"]})
        self.assertEqual((status, body), (206, b"hello"))
        status, _, body = self.get("/assets/hello.txt", {"Range": "bytes=0-4", "If-Range": '"stale"'})
        self.assertEqual((status, body), (200, data))
        status, _, body = self.get("/assets/big.bin", {"Range": "bytes=600000-600009"})
        with open(os.path.join(self.app, "public", "big.bin"), "rb") as f:
            f.seek(600000)
            self.assertEqual((status, body), (206, f.read(10)))

    def test_no_way_out_of_the_directory(self):
        attempts = [b"/assets/../app.lua", b"/assets/%2e%2e/app.lua", b"/assets/%2E%2E/secret.txt",
                    b"/assets/.%2e/secret.txt", b"/assets/..%2fsecret.txt", b"/assets/css%2f..%2f..%2fsecret.txt",
                    b"/assets/..%5csecret.txt", b"/assets/..\\secret.txt", b"/assets/hello.txt%00.png",
                    b"/assets/%00", b"/assets/outside", b"/assets/passwd", b"/assets/up/secret.txt",
                    b"/assets/up/app.lua", b"/assets/.hidden", b"/assets/%2ehidden", b"/assets//hello.txt",
                    b"/assets/./hello.txt", b"/assets/css/", b"/assets/css", b"/assets/", b"/assets",
                    b"/assets/%", b"/assets/%zz", b"/../etc/passwd", b"/%2e%2e/secret.txt", b"/assets/nothing.txt"]
        for path in attempts:
            status, data = raw_get(self.server.port, path)
            self.assertIn(status, (400, 404), path)  # 400: h2o refused the request line itself
            self.assertNotIn(b"outside the static directory", data, path)
            self.assertNotIn(b"root:", data, path)
            self.assertNotIn(b"moontide.app", data, path)
        # a symlink that stays inside the directory is followed
        self.assertEqual(self.get("/assets/inside")[2], b"hello, static world\n")
        self.assertEqual(self.get("/assets/styles/site.css")[0], 200)

    def test_methods_routes_and_openapi(self):
        status, headers, _ = self.get("/assets/hello.txt", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")
        # routes win over a mount at "/": /small is the handler, /root.txt the file
        self.assertEqual(json.loads(self.get("/small")[2]), {"ok": True})
        self.assertEqual(self.get("/root.txt")[2], b"root file\n")
        paths = json.loads(self.get("/openapi.json")[2])["paths"]
        self.assertIn("/small", paths)
        self.assertFalse([p for p in paths if p.startswith("/assets") or p == "/{path}"], paths)


class StaticDev(unittest.TestCase):
    def test_dev_serves_files_as_they_are_on_disk(self):
        tmp, app = make_app_copy()
        try:
            with Server(app, command="dev") as server:
                path = os.path.join(app, "public", "new.txt")
                self.assertEqual(server.request("GET", "/assets/new.txt")[0], 404)
                with open(path, "w") as f:
                    f.write("first\n")
                self.assertEqual(server.request("GET", "/assets/new.txt")[2], b"first\n")
                _, headers, _ = server.request("GET", "/assets/new.txt")
                with open(path, "w") as f:
                    f.write("second version\n")
                os.utime(path, (time.time() + 5, time.time() + 5))
                status, new_headers, body = server.request("GET", "/assets/new.txt")
                self.assertEqual((status, body), (200, b"second version\n"))
                self.assertNotEqual(new_headers["etag"], headers["etag"])
                self.assertEqual(server.request("GET", "/assets/new.txt", headers={"If-None-Match": headers["etag"]})[0],
                                 200)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_missing_directory_is_a_load_error(self):
        tmp = tempfile.mkdtemp()
        try:
            path = os.path.join(tmp, "app.lua")
            with open(path, "w") as f:
                f.write('local moontide = require "moontide"\nlocal app = moontide.app { title = "t", version = "1" }\n'
                        'app:static("/files", "nowhere")\nreturn app\n')
            code, out, err = run_cli("check", path)
            self.assertNotEqual(code, 0)
            self.assertIn(f"{path}:3: static: {tmp}/nowhere: No such file or directory", out + err)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class StaticBuilt(unittest.TestCase):
    def test_a_built_executable_serves_its_embedded_files(self):
        tmp, app = make_app_copy()
        elsewhere = tempfile.mkdtemp()
        try:
            with Server(app) as server:  # from disk, for comparison
                from_disk = {p: server.request("GET", p) for p in ("/assets/hello.txt", "/assets/big.bin", "/root.txt")}
            out = os.path.join(tmp, "server")
            code, stdout, stderr = run_cli("build", app, "-o", out)
            self.assertEqual(code, 0, stderr)
            # hello.txt, data.json, css/site.css, big.bin, sub/index.html, sub/root.txt, and inside and styles/site.css
            # through their symlinks; not .hidden, outside, passwd or up/
            self.assertIn("static file(s)", stdout)
            shutil.rmtree(app)
            with Server(out, command=None, cwd=elsewhere) as server:
                for path, (status, headers, body) in from_disk.items():
                    got = server.request("GET", path)
                    self.assertEqual((got[0], got[2]), (status, body), path)
                    for name in ("etag", "last-modified", "content-type", "content-length", "accept-ranges"):
                        self.assertEqual(got[1][name], headers[name], (path, name))
                etag = from_disk["/assets/hello.txt"][1]["etag"]
                self.assertEqual(server.request("GET", "/assets/hello.txt", headers={"If-None-Match": etag})[0], 304)
                status, headers, body = server.request("GET", "/assets/big.bin", headers={"Range": "bytes=10-19"})
                self.assertEqual((status, body), (206, from_disk["/assets/big.bin"][2][10:20]))
                status, headers, body = server.request("HEAD", "/assets/big.bin")
                self.assertEqual((status, body, headers["content-length"]), (200, b"", "700000"))
                for path in (b"/assets/outside", b"/assets/passwd", b"/assets/.hidden", b"/assets/%2e%2e/secret.txt",
                             b"/assets/up/secret.txt", b"/assets/css"):
                    self.assertIn(raw_get(server.port, path)[0], (400, 404), path)
                self.assertEqual(server.request("GET", "/assets/inside")[2], b"hello, static world\n")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(elsewhere, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
