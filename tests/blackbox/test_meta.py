"""lua/meta/moontide.lua, the LuaLS type stubs, cannot drift from the real module.

No stand-alone Lua interpreter is needed: a tiny app, written to a temporary
directory and served by the real binary, loads the stub with `loadfile` (so a
syntax error fails the test) and reports the real module's keys, the App
methods, and the request object's fields. The stub is then read with regular
expressions and must declare exactly those.
"""
import json
import os
import re
import shutil
import tempfile
import unittest

from harness import Server

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
STUB = os.path.abspath(os.path.join(ROOT, "lua", "meta", "moontide.lua"))
LUARC = os.path.abspath(os.path.join(ROOT, ".luarc.json"))

PROBE_APP = r"""
local moontide = require "moontide"
local app = moontide.app { title = "meta probe" }
local STUB = [==[%s]==]

local function sorted_keys(t, keep)
  local keys = moontide.array()
  for k, v in pairs(t) do
    if type(k) == "string" and (keep == nil or keep(k, v)) then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

app:get("/stub", function(req)
  local chunk, err = loadfile(STUB)
  return { loaded = chunk ~= nil, err = err or moontide.null }
end)

app:get("/module", function(req)
  local methods = getmetatable(moontide.app {}).__index
  return {
    module = sorted_keys(moontide),
    json = sorted_keys(moontide.json),
    app = sorted_keys(methods, function(k, v) return type(v) == "function" and k:sub(1, 1) ~= "_" end),
  }
end)

-- The request object's error for an unknown field lists the fields it has.
app:get("/request-fields", function(req)
  local ok, err = pcall(function() return req.no_such_field end)
  return { ok = ok, err = tostring(err) }
end)

-- Each option the stub declares must be accepted (not "unknown option").
app:post("/app-opt", function(req)
  local o = req.json
  local ok, err = pcall(moontide.app, { [o.name] = o.value })
  return { ok = ok, err = not ok and tostring(err) or moontide.null }
end)

app:post("/route-opt", function(req)
  local o = req.json
  local probe = moontide.app {}
  local ok, err = pcall(probe.get, probe, "/p", { [o.name] = o.value }, function() end)
  return { ok = ok, err = not ok and tostring(err) or moontide.null }
end)

return app
"""


def stub_text():
    with open(STUB) as f:
        return f.read()


def class_fields(text, name):
    """The ---@field names of `---@class name` (up to the next line that is not ---@field)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"---@class {re.escape(name)}\b", line))
    fields = []
    for line in lines[start + 1:]:
        m = re.match(r"---@field (\[\d+\]|\w+)\??\s+(.*)", line)
        if not m:
            break
        fields.append((m.group(1), m.group(2)))
    return fields


def sample_for(type_text):
    t = type_text.split()[0]
    if t.endswith("[]") or t.startswith("table") or t.startswith("moontide."):
        return []  # tags, params, responses
    if t.startswith("string"):
        return "/x"
    if t.startswith("boolean"):
        return False
    if t.startswith("integer") or t.startswith("number"):
        return 200
    raise AssertionError(f"no sample value for type {type_text!r}")


class Stub(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="moontide-meta-")
        with open(os.path.join(cls.dir, "app.lua"), "w") as f:
            f.write(PROBE_APP % STUB)
        cls.server = Server(cls.dir)
        cls.text = stub_text()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def get(self, path, body=None):
        status, _, raw = self.server.request("POST" if body is not None else "GET", path,
                                             body=None if body is None else json.dumps(body).encode())
        self.assertEqual(status, 200, raw)
        return json.loads(raw)

    def test_stub_is_valid_lua(self):
        self.assertEqual(self.get("/stub"), {"loaded": True, "err": None})

    def test_stub_is_a_luals_meta_file_for_require_moontide(self):
        self.assertTrue(self.text.startswith("---@meta moontide\n"))
        self.assertRegex(self.text, r"\nreturn moontide\s*$")

    def test_every_module_field_is_declared_and_nothing_more(self):
        real = self.get("/module")
        declared = set(re.findall(r"^function moontide\.(\w+)\s*\(", self.text, re.M))
        declared |= set(re.findall(r"^moontide\.(\w+)\s*=", self.text, re.M))
        # moontide.null is nil in the stub (a lightuserdata at run time), so it is
        # declared but absent from the stub's table: compare names, not the stub's values.
        self.assertEqual(sorted(declared), real["module"])

    def test_json_functions_are_declared(self):
        real = self.get("/module")
        declared = re.findall(r"^function moontide\.json\.(\w+)\s*\(", self.text, re.M)
        self.assertEqual(sorted(declared), real["json"])

    def test_every_app_method_is_declared_with_both_overloads(self):
        real = self.get("/module")
        declared = re.findall(r"^function App:(\w+)\s*\(", self.text, re.M)
        self.assertEqual(sorted(declared), real["app"])
        routes = 0
        for name in declared:
            if name == "provide":  # not a route: it takes a type name and a provider
                continue
            block = re.search(rf"((?:---.*\n)+)function App:{name}\(", self.text).group(1)
            if "@param path string" not in block:
                continue  # not a route method (provide, on_startup, ...)
            routes += 1
            self.assertIn("@param opts moontide.RouteOpts", block, name)
            self.assertRegex(block, r"@overload fun\(self: moontide\.App,.*handler: moontide\.Handler\)", name)
        self.assertEqual(routes, 8)  # get post put patch delete head options route

    def test_request_fields_match_the_request_object(self):
        answer = self.get("/request-fields")
        self.assertFalse(answer["ok"])
        listed = re.search(r"\(fields: ([^)]*)\)", answer["err"])
        self.assertIsNotNone(listed, answer["err"])
        real = sorted(f.strip() for f in listed.group(1).split(","))
        declared = sorted(name for name, _ in class_fields(self.text, "moontide.Request"))
        self.assertEqual(declared, real)

    def test_declared_app_options_are_accepted(self):
        fields = class_fields(self.text, "moontide.AppOpts")
        self.assertGreater(len(fields), 5)
        for name, type_text in fields:
            answer = self.get("/app-opt", {"name": name, "value": sample_for(type_text)})
            self.assertTrue(answer["ok"], f"{name}: {answer['err']}")
        # and the probe does catch an unknown one
        self.assertIn("unknown option", self.get("/app-opt", {"name": "nope", "value": 1})["err"])

    def test_declared_route_options_are_accepted(self):
        fields = class_fields(self.text, "moontide.RouteOpts")
        self.assertGreater(len(fields), 5)
        for name, type_text in fields:
            answer = self.get("/route-opt", {"name": name, "value": sample_for(type_text)})
            self.assertTrue(answer["ok"], f"{name}: {answer['err']}")
        self.assertIn("unknown route option", self.get("/route-opt", {"name": "nope", "value": 1})["err"])


class LuaRc(unittest.TestCase):
    def test_luarc_points_luals_at_the_stubs(self):
        with open(LUARC) as f:
            rc = json.load(f)
        self.assertEqual(rc["runtime.version"], "LuaJIT")
        self.assertIn("lua/meta", rc["workspace.library"])
        for path in rc["workspace.library"]:
            self.assertTrue(os.path.isdir(os.path.join(ROOT, path)), path)


if __name__ == "__main__":
    unittest.main()
