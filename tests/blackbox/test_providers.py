"""Dependencies (SPEC §7): app:provide("TypeName", fn). Providers bind their
own inputs like handlers, run once per request in dependency order, may wait
or raise, and may return a cleanup that runs after the response is sent.
Cycles and unknown names are load-time errors at FILE:LINE; providers'
inputs appear in the OpenAPI operation."""
import json
import os
import shutil
import tempfile
import unittest

from harness import Server, ServerTestCase, app_path, run_cli, wait_until


class Providers(ServerTestCase):
    app = "providers"

    def get(self, path, headers=None):
        status, _, body = self.server.request("GET", path, headers=headers)
        return status, json.loads(body)

    def test_a_handler_gets_what_its_providers_make(self):
        self.get("/reset")
        status, body = self.get("/me", {"x-token": "alice", "x-tag": "me-1"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"name": "alice", "made": 1, "limit": None, "tag": "me-1"})

    def test_each_provider_runs_once_per_request(self):
        # Admin takes User and Db, User takes Db too: Db still runs once
        self.get("/reset")
        self.assertEqual(self.get("/admin", {"x-token": "alice"}), (200, {"admin": "alice", "made": 1}))
        self.assertEqual(self.get("/admin", {"x-token": "alice"}), (200, {"admin": "alice", "made": 2}))

    def test_a_provider_may_raise(self):
        self.assertEqual(self.get("/me", {"x-token": "carol"}), (401, {"detail": "unknown token"}))
        self.assertEqual(self.get("/admin", {"x-token": "bob"}), (403, {"detail": "admins only"}))

    def test_one_422_holds_the_errors_of_providers_and_handler(self):
        self.get("/reset")
        status, body = self.get("/me?limit=50")
        self.assertEqual(status, 422)
        self.assertEqual([e["loc"] for e in body["detail"]], [["header", "x-token"], ["query", "limit"]])
        self.assertEqual(self.get("/admin", {"x-token": "alice"})[1]["made"], 1)  # nothing ran for the 422

    def test_the_cleanup_runs_after_the_response(self):
        status, body = self.get("/me", {"x-token": "alice", "x-tag": "cleanup-1"})
        self.assertEqual(status, 200)
        wait_until(lambda: self.get("/released/cleanup-1")[1]["released"], what="the cleanup to run")
        # a provider that raised still gives its connection back
        self.assertEqual(self.get("/admin", {"x-token": "bob", "x-tag": "cleanup-2"})[0], 403)
        wait_until(lambda: self.get("/released/cleanup-2")[1]["released"], what="the cleanup after a 403")
        self.assertEqual(self.get("/released/none")[1]["out"], 0)

    def test_a_provider_may_wait_and_one_without_annotations_gets_the_request(self):
        self.assertEqual(self.get("/slow"), (200, {"slow": "waited", "path": "/slow"}))

    def test_providers_and_the_handler_share_one_request_object(self):
        self.assertEqual(self.get("/same-request"), (200, {"same": True, "path": "/same-request"}))

    def test_a_failing_cleanup_is_logged_and_harms_nothing(self):
        self.assertEqual(self.get("/flaky"), (200, {"flaky": "flaky"}))
        wait_until(lambda: "cleanup of provider 'Flaky'" in self.server.stderr(), what="the cleanup error in the log")
        self.assertIn("cleanup went wrong", self.server.stderr())
        self.assertEqual(self.get("/flaky"), (200, {"flaky": "flaky"}))

    def test_the_openapi_operation_lists_the_providers_inputs(self):
        doc = json.loads(self.server.request("GET", "/openapi.json")[2])
        params = {(p["in"], p["name"]): p for p in doc["paths"]["/me"]["get"]["parameters"]}
        self.assertEqual(set(params), {("query", "limit"), ("header", "x-tag"), ("header", "x-token")})
        self.assertTrue(params[("header", "x-token")]["required"])
        self.assertEqual(params[("header", "x-token")]["description"], "The caller's token")
        self.assertIn("422", doc["paths"]["/admin"]["get"]["responses"])
        # a route whose provider reads nothing from the request documents no inputs
        self.assertNotIn("parameters", doc["paths"]["/flaky"]["get"])
        self.assertNotIn("422", doc["paths"]["/flaky"]["get"]["responses"])


class BuiltProviders(unittest.TestCase):
    def test_a_built_executable_binds_providers_as_the_sources_do(self):
        out = os.path.join(tempfile.mkdtemp(prefix="moontide-providers-build-"), "providers")
        self.addCleanup(shutil.rmtree, os.path.dirname(out), ignore_errors=True)
        code, _, err = run_cli("build", app_path("providers"), "-o", out)
        self.assertEqual(code, 0, err)
        with Server(out, command=None) as server:
            status, _, body = server.request("GET", "/me", headers={"x-token": "alice"})
            self.assertEqual((status, json.loads(body)["name"]), (200, "alice"))
            status, _, body = server.request("GET", "/me?limit=50")
            self.assertEqual(status, 422)
            self.assertEqual([e["loc"] for e in json.loads(body)["detail"]], [["header", "x-token"], ["query", "limit"]])


class BadProviders(unittest.TestCase):
    def test_cycles_bodies_and_unknown_names_are_load_errors(self):
        code, out, err = run_cli("check", app_path("bad_providers"))
        self.assertEqual(code, 1)
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 3, out)
        self.assertRegex(lines[0], r"bad_providers/app\.lua:6: providers depend on each other in a cycle: A -> B -> A$")
        self.assertRegex(lines[1], r"bad_providers/app\.lua:11: ---@param item: a provider cannot take the JSON body")
        self.assertRegex(lines[2], r"bad_providers/app\.lua:23: unknown type 'Nobody' .*app:provide name")


if __name__ == "__main__":
    unittest.main()
