"""Starting the real moontide binary for black-box tests.

Server(app, *args) starts `moontide run APP --port P` on a free loopback port
and waits (polling, with a deadline) until it accepts connections. It keeps
the server's stderr/stdout in files the test can read; stop() sends SIGTERM
and returns the exit code.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("MOONTIDE_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "moontide"))
APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apps")
# what a sanitized server's leak checks leave out, and why (the file says); settings in the environment win
LSAN_OPTIONS = "suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")


def app_path(name):
    return os.path.join(APPS, name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def run_cli(*args, timeout=10, text=True):
    """Runs moontide to completion; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([BIN, *args], capture_output=True, text=text, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: ")


class Server:
    def __init__(self, app, *args, workers=1, port=None, scheme="http", env=None, command="run", cwd=None):
        self.port = port or free_port()
        self.host = args[args.index("--host") + 1] if "--host" in args else "127.0.0.1"
        self.scheme = scheme
        self.dir = tempfile.mkdtemp(prefix="moontide-test-")
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.stdout_path = os.path.join(self.dir, "stdout")
        # command=None: `app` is an executable built by `moontide build`, which takes the options alone
        head = [app] if command is None else [BIN, command, app if os.path.isabs(app) else app_path(app)]
        cmd = [*head, "--port", str(self.port), *(["--workers", str(workers)] if workers is not None else []), *args]
        self.proc = subprocess.Popen(cmd, stdout=open(self.stdout_path, "wb"), stderr=open(self.stderr_path, "wb"),
                                     stdin=subprocess.DEVNULL,
                                     env={"LSAN_OPTIONS": LSAN_OPTIONS, **os.environ, **(env or {})}, cwd=cwd)
        try:
            wait_until(self._accepting, what=f"moontide to listen on port {self.port}")
            # the master listens before it forks: tests that count workers need them forked
            wait_until(lambda: self._exited() or len(self.worker_pids()) >= (workers or 1),
                       what=f"{workers or 1} worker(s) to be forked")
        except AssertionError:
            self.kill()
            raise AssertionError(f"server did not start: {self.stderr()}")

    def _exited(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}: {self.stderr()}")
        return False

    def _accepting(self):
        self._exited()
        try:
            socket.create_connection((self.host, self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.stdout_path, errors="replace") as f:
            return f.read()

    def worker_pids(self):
        """The master's child processes, from /proc."""
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == self.proc.pid:
                        pids.append(int(entry))
                except (OSError, IndexError):
                    pass
        return sorted(pids)

    def request(self, method, path, body=None, headers=None, timeout=10):
        """One HTTP/1.1 request on a new connection; returns (status, headers dict, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
        finally:
            conn.close()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("server did not stop after SIGTERM")

    def kill(self):
        """SIGKILL to the master alone (its workers follow it by themselves)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        """Stops the server, gracefully if it will; fails on a sanitizer report (an ASan/UBSan build)."""
        try:
            self.stop(timeout=5)
        except AssertionError:
            pass
        report = next((line for line in self.stderr().splitlines() if SANITIZER_REPORT.search(line)), None)
        if report is not None:
            raise AssertionError(f"sanitizer report from the server: {report}\n{self.stderr()[-4000:]}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def npm_ci(directory, packages):
    """Runs `npm ci` in `directory` unless the versions its package-lock.json pins for `packages` are installed."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is missing (.ci/deps installs Debian's nodejs and npm)")
    with open(os.path.join(directory, "package-lock.json")) as f:
        locked = json.load(f)["packages"]
    wanted = {name: locked[f"node_modules/{name}"]["version"] for name in packages}

    def installed():
        for name, version in wanted.items():
            try:
                with open(os.path.join(directory, "node_modules", name, "package.json")) as f:
                    if json.load(f).get("version") != version:
                        return False
            except OSError:
                return False
        return True

    if installed():
        return
    proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=directory, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or not installed():
        raise AssertionError(f"npm ci in {directory} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                             f"\n{proc.stderr[-2000:]}")


def curl(*args, timeout=10):
    """Runs curl; returns (exit code, stdout bytes, stderr text)."""
    proc = subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args], capture_output=True, timeout=timeout + 5)
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")


class ServerTestCase(unittest.TestCase):
    """A test class sharing one server: set `app` (and `args`) on the subclass."""
    app = None
    args = ()
    scheme = "http"
    env = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.app, *cls.args, scheme=cls.scheme, env=cls.env)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
