"""The OpenAPI document through independent tools (SPEC §6): for every example
app and the large test apps, `moontide openapi APP` is linted by the Redocly
CLI with its recommended ruleset (tests/openapi/redocly.yaml turns off only
the rules docs/guide.md's "Linting" lists, with why) and turned into
TypeScript by openapi-typescript, whose output the TypeScript compiler then
checks: a type for every component schema and operationId, and each path's
method typed as its operation.

The tools come from the npm registry at the versions of
tests/openapi/package-lock.json, installed with `npm ci` into
tests/openapi/node_modules when missing (tests/differential does the same for
ajv). Warnings do not fail the lint, but a warning of a kind not listed in
ACCEPTED_WARNINGS does: a new kind is either fixed or added there with why.
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import npm_ci, run_cli

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OPENAPI_DIR = os.path.join(ROOT, "tests", "openapi")
REDOCLY_CONFIG = os.path.join(OPENAPI_DIR, "redocly.yaml")
BIN_DIR = os.path.join(OPENAPI_DIR, "node_modules", ".bin")
PACKAGES = ("@redocly/cli", "openapi-typescript", "playwright-core", "typescript")
# app name (the file name of its document) -> app directory
APPS = {
    "hello": "examples/hello",
    "items": "examples/items",
    "bookstore": "examples/bookstore",
    "llm_proxy": "examples/llm-proxy",
    "openapi_big": "tests/apps/openapi_big",
    "docs": "tests/apps/docs",
}
# Warnings of the recommended ruleset that a moontide document may show, and why
ACCEPTED_WARNINGS = {
    "info-license": "moontide.app{} has no license setting, so info has no license",
    "operation-4xx-response": "a route that takes no argument (no 422) and declares no ---@response 4xx",
    "tag-description": "a tag declared without a description, or named by an operation and not declared",
}
# the tools' environment: no usage reports, no colours in their output
NODE_ENV = {**os.environ, "REDOCLY_TELEMETRY": "off", "NO_COLOR": "1"}


def ensure_packages():
    npm_ci(OPENAPI_DIR, PACKAGES)


def json_stream(text):
    """The JSON values written one after another in text (redocly's json format writes one per file)."""
    decoder, values, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return values
        value, i = decoder.raw_decode(text, i)
        values.append(value)


def ts_string(s):
    return json.dumps(s)


def check_source(docs):
    """TypeScript that names every schema and operation of each document, and checks each path's method is
    typed as its operation; plus what the bookstore's types must accept and refuse."""
    lines = ["type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;"]
    n = 0
    for name, doc in docs.items():
        lines.append(f'import type {{ paths as P_{name}, components as C_{name}, operations as O_{name} }} '
                     f'from "./{name}";')
        for schema in doc.get("components", {}).get("schemas", {}):
            n += 1
            lines.append(f"export type S{n} = C_{name}[\"schemas\"][{ts_string(schema)}];")
        for path, item in doc["paths"].items():
            for method, op in item.items():
                n += 1
                lines.append(f"export const T{n}: Equal<P_{name}[{ts_string(path)}][{ts_string(method)}], "
                             f"O_{name}[{ts_string(op['operationId'])}]> = true;")
    if "bookstore" in docs:
        lines += [
            'type Book = C_bookstore["schemas"]["Book"];',
            'export const book: Book = { id: 1, title: "Dune", author_id: "9c5b94b1-35ad-49bb-b118-8e8fc24abf80",',
            '  genre: "science-fiction", price: { amount: 9.5, currency: "EUR" }, tags: ["sand"], stock: { paris: 1 } };',
            'export const created: Equal<O_bookstore["post_books"]["responses"][201]["content"]["application/json"],'
            ' Book> = true;',
            'export const sent: Equal<O_bookstore["post_books"]["requestBody"]["content"]["application/json"],'
            ' C_bookstore["schemas"]["BookIn"]> = true;',
            'export const page: Equal<C_bookstore["schemas"]["BookPage"]["items"], Book[]> = true;',
            'export const bookId: O_bookstore["get_books_book_id"]["parameters"]["path"] = { book_id: 3 };',
            "// @ts-expect-error: genre is an enum",
            'export const badGenre: Book["genre"] = "cookery";',
            "// @ts-expect-error: title is required",
            'export const noTitle: C_bookstore["schemas"]["BookIn"] = { author_id: "x", genre: "poetry",'
            ' price: { amount: 1 } };',
        ]
    return "\n".join(lines) + "\n"


class OpenAPIThroughTools(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_packages()
        started = time.monotonic()  # the tools' time, without a first npm ci
        cls.dir = tempfile.mkdtemp(prefix="moontide-openapi-lint-")
        cls.docs, cls.files = {}, {}
        for name, app in APPS.items():
            code, out, err = run_cli("openapi", os.path.join(ROOT, app), text=False)
            if code != 0:
                raise AssertionError(f"moontide openapi {app} exited with {code}: {err.decode(errors='replace')}")
            cls.files[name] = os.path.join(cls.dir, f"{name}.json")
            with open(cls.files[name], "wb") as f:
                f.write(out)
            cls.docs[name] = json.loads(out)

        def redocly():
            proc = subprocess.run([os.path.join(BIN_DIR, "redocly"), "lint", "--config", REDOCLY_CONFIG,
                                   "--extends=recommended", "--max-problems", "100000", "--format=json",
                                   *cls.files.values()], cwd=OPENAPI_DIR, env=NODE_ENV, capture_output=True,
                                  text=True, timeout=120, stdin=subprocess.DEVNULL)
            return proc

        def typescript(name):
            out = os.path.join(cls.dir, f"{name}.ts")
            proc = subprocess.run([os.path.join(BIN_DIR, "openapi-typescript"), cls.files[name], "--redocly",
                                   REDOCLY_CONFIG, "--output", out], cwd=OPENAPI_DIR, env=NODE_ENV,
                                  capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
            return name, proc, out

        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            lint = pool.submit(redocly)
            generated = list(pool.map(typescript, APPS))
        cls.lint = lint.result()
        cls.reports = {}
        try:
            for report in json_stream(cls.lint.stdout):
                for problem in report["problems"]:
                    source = problem["location"][0]["source"]["ref"]
                    name = os.path.splitext(os.path.basename(source))[0]
                    cls.reports.setdefault(name, []).append(problem)
            cls.lint_reports = len(json_stream(cls.lint.stdout))
        except (ValueError, KeyError, IndexError) as e:
            raise AssertionError(f"redocly lint ({cls.lint.returncode}) wrote no JSON report ({e!r}):\n"
                                 f"{cls.lint.stdout[-2000:]}\n{cls.lint.stderr[-2000:]}")
        cls.typescript = {name: (proc, out) for name, proc, out in generated}

        # the TypeScript compiler on what openapi-typescript wrote
        ok = {name: cls.docs[name] for name, (proc, out) in cls.typescript.items()
              if proc.returncode == 0 and os.path.exists(out)}
        cls.checked = ok
        cls.check_ts = os.path.join(cls.dir, "check.ts")
        with open(cls.check_ts, "w") as f:
            f.write(check_source(ok))
        cls.tsc = subprocess.run(
            [os.path.join(BIN_DIR, "tsc"), "--noEmit", "--strict", "--skipLibCheck", "--target", "es2022",
             "--module", "esnext", "--moduleResolution", "bundler", cls.check_ts],
            cwd=cls.dir, env=NODE_ENV, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        cls.elapsed = time.monotonic() - started

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(getattr(cls, "dir", ""), ignore_errors=True)

    def problems(self, name, severity):
        return [p for p in self.reports.get(name, []) if p["severity"] == severity]

    @staticmethod
    def describe(problems):
        return "\n".join(f"  {p['ruleId']} at {p['location'][0]['pointer']}: {p['message']}" for p in problems)

    def test_redocly_linted_every_document(self):
        self.assertEqual(self.lint_reports, len(APPS), self.lint.stderr[-2000:])

    def test_redocly_recommended_ruleset_finds_no_error(self):
        for name, app in APPS.items():
            with self.subTest(app=app):
                errors = self.problems(name, "error")
                if errors:
                    self.fail(f"redocly lint on moontide openapi {app}:\n{self.describe(errors)}")

    def test_redocly_warnings_are_only_the_accepted_kinds(self):
        for name, app in APPS.items():
            with self.subTest(app=app):
                other = [p for p in self.problems(name, "warn") if p["ruleId"] not in ACCEPTED_WARNINGS]
                if other:
                    self.fail(f"redocly lint on moontide openapi {app}: warnings of a kind not in "
                              f"ACCEPTED_WARNINGS:\n{self.describe(other)}")

    def test_the_lint_config_turns_off_only_the_documented_rules(self):
        with open(REDOCLY_CONFIG) as f:
            config = f.read()
        self.assertRegex(config, r"(?m)^extends:\n  - recommended$")
        off = re.findall(r"(?m)^  ([\w.-]+): off$", config)
        self.assertEqual(sorted(off), ["no-empty-servers", "security-defined"])
        with open(os.path.join(ROOT, "docs", "guide.md")) as f:
            guide = f.read()
        linting = guide[guide.index("Linting"):]
        for rule in off:
            self.assertIn(f"`{rule}`", linting, f"docs/guide.md's Linting paragraph does not explain {rule}")

    def test_openapi_typescript_converts_every_document(self):
        for name, app in APPS.items():
            with self.subTest(app=app):
                proc, out = self.typescript[name]
                self.assertEqual(proc.returncode, 0, f"openapi-typescript on moontide openapi {app}:\n"
                                                     f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
                with open(out) as f:
                    self.assertIn("export interface operations {", f.read())

    def test_every_schema_and_operation_has_its_type(self):
        self.assertEqual(self.tsc.returncode, 0, f"tsc on {self.check_ts}:\n{self.tsc.stdout[-4000:]}"
                                                 f"{self.tsc.stderr[-2000:]}")
        # (a document openapi-typescript could not convert fails test_openapi_typescript_converts_every_document)
        counted = sum(len(doc.get("components", {}).get("schemas", {})) +
                      sum(len(item) for item in doc["paths"].values()) for doc in self.checked.values())
        self.assertTrue(self.checked)
        with open(self.check_ts) as f:
            self.assertEqual(len(re.findall(r"(?m)^export (?:type S|const T)\d+", f.read())), counted)

    def test_bookstore_types(self):
        proc, out = self.typescript["bookstore"]
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        with open(out) as f:
            ts = f.read()
        for text in ('        Book: {', '        BookIn: {', '        BookPage: {', '        Author: {',
                     'items: components["schemas"]["Book"][];', '"application/json": components["schemas"]["Book"];',
                     '        post: operations["post_books"];', '    post_books: {', '    get_authors_author_id_books: {',
                     'genre: "fiction" | "fantasy" | "science-fiction" | "science" | "poetry" | "children";'):
            self.assertIn(text, ts)

    def test_runs_in_reasonable_time(self):
        self.assertLess(self.elapsed, 60, f"generating, linting and compiling took {self.elapsed:.1f} s")


if __name__ == "__main__":
    unittest.main()
