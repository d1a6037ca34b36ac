"""The docs pages in a real browser (SPEC §6): Debian's Chromium, headless,
driven by playwright-core (tests/openapi/browser.mjs, from the lock file of
tests/openapi, like the lint test's tools) against `moontide run
examples/bookstore --workers 1`.

  /docs   Swagger UI lists every operation of /openapi.json, and one "Try it
          out" runs end to end: POST /books with the example body Swagger UI
          builds from the schema (a fresh title in it) answers 201, the page
          shows the created book, and the server has it.
  /redoc  ReDoc lists every operation under its summary.
  both    offline: no request leaves for another origin. The browser routes
          every request that reaches its network stack; those not for this
          server are aborted (the test never depends on the network around it)
          and fail the test. A request the page's own Content-Security-Policy
          blocks never reaches the network stack: Chromium reports it as a
          `request` that then fails with "csp", and it counts as not sent
          (ReDoc 2.5.4's footer logo from cdn.redoc.ly is one: `img-src 'self'
          data:` blocks it). Only images may be blocked so (the policy covers
          nothing else), and each must have been blocked by the policy.

Skipped, with the reason, only when /usr/bin/chromium is missing (.ci/deps
installs the chromium package).
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse
import uuid

from harness import Server
from test_openapi_lint import OPENAPI_DIR, ROOT, ensure_packages

CHROMIUM = "/usr/bin/chromium"
BOOKSTORE = os.path.join(ROOT, "examples", "bookstore")
TIMEOUT_MS = 20000


def operations(doc):
    return [(method, path, op) for path, item in doc["paths"].items() for method, op in item.items()]


@unittest.skipUnless(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: install Debian's chromium package "
                                                   "(.ci/deps lists it)")
class DocsInChromium(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_packages()
        cls.dir = tempfile.mkdtemp(prefix="moontide-docs-browser-")
        cls.server = Server(BOOKSTORE, workers=1)
        try:
            status, _, body = cls.server.request("GET", "/openapi.json")
            assert status == 200, status
            cls.doc = json.loads(body)
            cls.title = f"Browser test {uuid.uuid4().hex[:12]}"
            cls.books_before = cls.books()
            config = {"base": cls.server.url, "executablePath": CHROMIUM, "timeoutMs": TIMEOUT_MS,
                      "operations": len(operations(cls.doc)), "screenshots": cls.dir,
                      "tryItOut": {"method": "post", "path": "/books", "title": cls.title}}
            proc = subprocess.run(["node", os.path.join(OPENAPI_DIR, "browser.mjs")], input=json.dumps(config),
                                  cwd=OPENAPI_DIR, capture_output=True, text=True, timeout=180)
            try:
                cls.result = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                raise AssertionError(f"browser.mjs exited with {proc.returncode} and no result:\n"
                                     f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
            cls.books_after = cls.books()
        except BaseException:
            cls.server.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def books(cls, query=""):
        status, _, body = cls.server.request("GET", "/books?limit=100" + query)
        assert status == 200, (status, body)
        return json.loads(body)

    def page(self, name):
        """One page's result, failing with the browser's error (and where its screenshot is) if it broke."""
        self.assertNotIn("error", self.result, f"the browser did not run: {self.result.get('error')}")
        page = self.result[name]
        if "error" in page:
            kept = ""
            if page.get("screenshot"):
                kept = os.path.join(tempfile.gettempdir(), f"moontide-{name}-failure.png")
                shutil.copy(page["screenshot"], kept)
            self.fail(f"/{name} in Chromium {self.result.get('chromium')}: {page['error']}"
                      + (f"\nscreenshot: {kept}" if kept else ""))
        return page

    def test_swagger_ui_lists_every_operation(self):
        page = self.page("docs")
        self.assertEqual(page["status"], 200)
        shown = {(op["method"], op["path"]) for op in page["operations"]}
        self.assertEqual(shown, {(method, path) for method, path, _ in operations(self.doc)})
        # one block per operation and tag (an operation under two tags shows under both)
        self.assertEqual(len(page["operations"]), sum(len(op.get("tags", ["default"])) for *_, op in
                                                      operations(self.doc)))

    def test_swagger_ui_try_it_out_creates_a_book(self):
        page = self.page("docs")
        example = json.loads(page["exampleBody"])
        # Swagger UI's example body comes from the schema's examples, and the server accepts it
        self.assertEqual((example["title"], example["genre"]), ("The Hobbit", "fantasy"))
        sent = json.loads(page["sent"]["requestBody"])
        self.assertEqual(sent, {**example, "title": self.title})
        self.assertEqual(page["sent"]["url"], f"{self.server.url}/books")
        self.assertEqual(page["requestUrl"], f"{self.server.url}/books")
        self.assertEqual(page["sent"]["status"], 201)
        # what the page shows: the status and the created book
        self.assertEqual(page["shownStatus"], "201")
        self.assertIn(f'"title": "{self.title}"', page["shownBody"])
        shown = json.loads(page["shownBody"][page["shownBody"].index("{"):])
        self.assertEqual(shown["title"], self.title)
        # and the server has it
        self.assertEqual(self.books_after["total"], self.books_before["total"] + 1)
        found = self.books("&q=" + urllib.parse.quote(self.title))
        self.assertEqual([(b["id"], b["title"]) for b in found["items"]], [(shown["id"], self.title)])
        self.assertEqual(self.server.request("GET", f"/books/{shown['id']}")[0], 200)

    def test_redoc_lists_every_operation_under_its_summary(self):
        page = self.page("redoc")
        self.assertEqual(page["status"], 200)
        self.assertEqual(page["title"], f"{self.doc['info']['title']} - ReDoc")
        menu = {item["id"].rsplit("operation/", 1)[1]: item for item in page["menu"]}
        sections = {s["id"].rsplit("operation/", 1)[1]: s for s in page["sections"]}
        for method, path, op in operations(self.doc):
            with self.subTest(operation=f"{method.upper()} {path}"):
                summary = op.get("summary", f"{method.upper()} {path}")
                self.assertIn(op["operationId"], menu)
                self.assertEqual(menu[op["operationId"]]["label"], summary)
                self.assertEqual(menu[op["operationId"]]["method"], {"delete": "del"}.get(method, method))
                self.assertIn(op["operationId"], sections)
                self.assertTrue(sections[op["operationId"]]["heading"].startswith(summary))

    def test_pages_load_nothing_from_another_origin(self):
        for name in ("docs", "redoc"):
            with self.subTest(page=name):
                log = self.page(name)["log"]
                self.assertIn(f"{self.server.url}/openapi.json", log["routed"])
                # what reached the network: this server only (anything else was aborted, and is listed here)
                self.assertEqual(log["aborted"], [])
                for url in log["routed"]:
                    self.assertEqual(urllib.parse.urlsplit(url)._replace(path="", query="", fragment="").geturl(),
                                     self.server.url, url)
                # what the page asked for elsewhere: images its Content-Security-Policy blocked, nothing else
                failed = {f["url"]: f["error"] for f in log["failed"]}
                for request in log["requests"]:
                    url = request["url"]
                    if url.startswith(self.server.url + "/") or url.split(":", 1)[0] in ("data", "blob"):
                        continue
                    self.assertEqual((request["type"], failed.get(url)), ("image", "csp"),
                                     f"{name} asked for {url} ({request['type']}) and it was not blocked by CSP")

    def test_pages_run_without_script_errors(self):
        for name in ("docs", "redoc"):
            with self.subTest(page=name):
                self.assertEqual(self.page(name)["log"]["pageErrors"], [])


if __name__ == "__main__":
    unittest.main()
