"""bench/lib/checks.py: checks a server's answers before it is timed.

For each workload of shared/BENCH.md, a few requests whose answers must be
right: the timed request itself (status, content type, body) and, for the
validating routes, invalid inputs that must get 422. JSON bodies are compared
as JSON (key order and number spelling such as 2.0 vs 2 may differ between
servers); the W4 event stream is compared byte for byte. A workload whose
check fails is skipped for that server and reported with the reason.
"""
import http.client
import json
import subprocess

BODY = '{"name":"Widget","price":12.5,"tags":["a","b","c"],"status":"draft","dims":{"w":1.5,"h":2.0}}'
STREAM = "".join('data: {"i":%d}\n\n' % k for k in range(1, 101))

# The timed request of each workload: method, path, body
REQUEST = {
    "w1": ("GET", "/hello", None),
    "w2": ("GET", "/items/42?q=hello", None),
    "w3": ("POST", "/items", BODY),
    "w4": ("GET", "/stream?n=100", None),
}


def fetch(port, method, path, body=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read()
    finally:
        conn.close()


def expect_json(port, method, path, body, want, status=200):
    st, ctype, raw = fetch(port, method, path, body)
    if st != status:
        return f"{method} {path} answered {st}, expected {status}"
    if not ctype.startswith("application/json"):
        return f"{method} {path}: Content-Type {ctype!r}"
    try:
        got = json.loads(raw)
    except ValueError:
        return f"{method} {path}: body is not JSON: {raw[:80]!r}"
    if want is not None and got != want:
        return f"{method} {path}: body {raw[:120]!r}"
    return None


def expect_status(port, method, path, body, status):
    st, _, raw = fetch(port, method, path, body)
    if st != status:
        return f"{method} {path} {body or ''} answered {st}, expected {status}"
    return None


def check_w1(port):
    return expect_json(port, "GET", "/hello", None, {"message": "Hello, World!"})


def check_w2(port):
    return (expect_json(port, "GET", "/items/42?q=hello", None, {"id": 42, "q": "hello"})
            or expect_json(port, "GET", "/items/7", None, {"id": 7, "q": None})
            or expect_json(port, "GET", "/items/42?q=a%20b", None, {"id": 42, "q": "a b"})
            or expect_status(port, "GET", "/items/abc", None, 422)
            or expect_status(port, "GET", "/items/4x2", None, 422)
            or expect_status(port, "GET", "/items/1?q=" + "a" * 51, None, 422))


INVALID_ITEMS = [
    '{"price":12.5,"status":"draft"}',                          # name missing
    '{"name":"","price":12.5,"status":"draft"}',                # name too short
    '{"name":"%s","price":12.5,"status":"draft"}' % ("x" * 101),
    '{"name":"W","price":0,"status":"draft"}',                  # price not > 0
    '{"name":"W","price":12.5,"status":"gone"}',                # status not in enum
    '{"name":"W","price":12.5}',                                # status missing
    '{"name":"W","price":12.5,"status":"draft","tags":[%s]}' % ",".join(['"t"'] * 11),
    '{"name":"W","price":12.5,"status":"draft","dims":{"w":1}}',  # h missing
    '{"name":"W","price":12.5,"status":"draft"',                # malformed JSON
]


def check_w3(port):
    err = expect_json(port, "POST", "/items", BODY, json.loads(BODY))
    if err:
        return err
    err = expect_json(port, "POST", "/items", '{"name":"W","price":1,"status":"published"}', None)
    if err:
        return err
    for body in INVALID_ITEMS:
        err = expect_status(port, "POST", "/items", body, 422)
        if err:
            return err
    return None


def check_w4(port):
    st, ctype, raw = fetch(port, "GET", "/stream?n=100")
    if st != 200:
        return f"GET /stream?n=100 answered {st}"
    if not ctype.startswith("text/event-stream"):
        return f"GET /stream: Content-Type {ctype!r}"
    if raw.decode("utf-8", "replace") != STREAM:
        return f"GET /stream: body {raw[:60]!r}... ({len(raw)} bytes)"
    return None


CHECKS = {"w1": check_w1, "w2": check_w2, "w3": check_w3, "w4": check_w4}


def check(workload, port):
    """None when the server answers `workload` right, else what is wrong."""
    try:
        return CHECKS[workload](port)
    except (OSError, http.client.HTTPException) as e:
        return f"request failed: {e}"


def check_h2c(port):
    """None when GET /hello over h2c (prior knowledge) answers right."""
    try:
        r = subprocess.run(["curl", "-s", "--max-time", "5", "--http2-prior-knowledge",
                            "-w", "\n%{http_version} %{http_code}", f"http://127.0.0.1:{port}/hello"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"curl failed: {e}"
    body, _, tail = r.stdout.rpartition("\n")
    if tail != "2 200":
        return f"h2c GET /hello: curl says {tail!r}"
    try:
        if json.loads(body) != {"message": "Hello, World!"}:
            return f"h2c GET /hello: body {body[:80]!r}"
    except ValueError:
        return f"h2c GET /hello: body {body[:80]!r}"
    return None
