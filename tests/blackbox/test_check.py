"""moontide check APP (SPEC §1, §3): every annotation problem of an app in one
run, FILE:LINE: message each, exit 1; exit 0 when clean. `moontide run`
refuses the same app with the first problem."""
import unittest

from harness import app_path, run_cli

BAD = app_path("bad_annotations")


class Check(unittest.TestCase):
    def test_clean_app(self):
        code, out, err = run_cli("check", app_path("annotated"))
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, r"annotated/app\.lua: no problems \(4 route\(s\), 2 file\(s\)\)")

    def test_every_problem_in_one_run(self):
        code, out, err = run_cli("check", BAD)
        self.assertEqual(code, 1)
        lines = out.strip().splitlines()
        expected = [
            (5, "constraint 'minLength' does not fit type integer (it applies to strings)"),
            (6, "unknown type 'Kind' (not a built-in type, class, alias or app:provide name)"),
            (10, "two body parameters (a and b): a handler takes the JSON body as one parameter"),
            (13, "unknown type 'strng'"),
            (16, "---@param ghost names no argument of the function"),
            (20, "path parameter {item_id} has no ---@param item_id line"),
            (22, "n: constraint 'maximum' must be a number"),
        ]
        self.assertEqual(len(lines), len(expected), out)
        for line, (number, message) in zip(lines, expected):
            self.assertRegex(line, rf"bad_annotations/app\.lua:{number}: ")
            self.assertIn(message, line)
        self.assertIn("7 problem(s)", err)

    def test_run_refuses_with_the_first_problem(self):
        code, out, err = run_cli("run", BAD)
        self.assertEqual(code, 1)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertRegex(lines[0], r"bad_annotations/app\.lua:\d+: .*\(and 6 more: `moontide check .*` lists them all\)")

    def test_a_lua_error_and_annotation_problems_together(self):
        code, out, _ = run_cli("check", app_path("broken/syntax.lua"))
        self.assertEqual(code, 1)
        self.assertRegex(out, r"broken/syntax\.lua:5: ")


if __name__ == "__main__":
    unittest.main()
