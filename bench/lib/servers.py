"""bench/lib/servers.py: how each benchmarked server is started and stopped.

A Server knows its command line (pinned to core 0 with `taskset -c 0`), its
ports (HTTP/1.1, and h2c where that is a separate port) and how to read the
memory of its whole process tree (nginx has a master and a worker). Every
server runs in its own session so that stopping it ends exactly the
processes this harness started.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOP = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
SERVER_CPU = "0"

ORDER = ["moontide", "h2o", "openresty", "fastify", "fastapi"]

# What the moontide-only measurements (balance, scaling, growth, annotation
# cost) start, and how long and often they measure.
MOONTIDE_BIN = os.environ.get("MOONTIDE_BIN", os.path.join(TOP, "build-bench", "moontide"))
BENCH_APP = os.path.join(BENCH, "apps", "moontide-bench.lua")
DURATION = int(os.environ.get("DURATION", "10"))
RUNS = int(os.environ.get("RUNS", "3"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20.0):
    """Waits until 127.0.0.1:port accepts connections; False if it never does."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def process_tree(pid):
    """pid and all its descendants (from /proc/PID/task/*/children)."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return seen


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_cpu_times(pid):
    """(user, system) CPU seconds used so far by pid and its descendants."""
    user = system = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user, system = user + int(fields[11]), system + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


class Server:
    """One server under test. Subclasses fill in `name`, `command` and `h2c`."""
    name = "?"
    what = ""
    h2c = False        # speaks HTTP/2 with prior knowledge
    h2c_same_port = True

    def __init__(self):
        self.proc = None
        self.port = None
        self.h2c_port = None
        self.log_path = os.path.join(OUT, f"{self.name}.log")
        self.unavailable = self.why_unavailable()

    def why_unavailable(self):
        return None

    def command(self):
        raise NotImplementedError

    def cwd(self):
        return TOP

    def prepare(self):
        """Called before each start (ports are known)."""

    def start(self):
        self.port = free_port()
        self.h2c_port = self.port if self.h2c_same_port else free_port()
        self.prepare()
        cmd = ["taskset", "-c", SERVER_CPU] + self.command()
        self.cmdline = " ".join(cmd)
        log = open(self.log_path, "ab")
        log.write(f"\n=== {time.strftime('%F %T')} {self.cmdline}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(cmd, cwd=self.cwd(), stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        if not wait_port(self.port, self.proc):
            self.stop()
            return False
        if self.h2c_port != self.port and not wait_port(self.h2c_port, self.proc, 5):
            self.h2c = False
        time.sleep(0.3)  # let the workers settle before reading idle memory
        return True

    def rss_kb(self):
        """Resident memory of the whole process tree, in KiB."""
        return sum(status_kb(p, "VmRSS") for p in process_tree(self.proc.pid))

    def peak_rss_kb(self):
        """Peak resident memory (VmHWM) summed over the process tree, in KiB."""
        return sum(status_kb(p, "VmHWM") for p in process_tree(self.proc.pid))

    def cpu_times(self):
        """(user, system) CPU seconds used so far by the whole process tree."""
        return tree_cpu_times(self.proc.pid)

    def reset_peak(self):
        """Resets VmHWM of every process in the tree (writing 5 to clear_refs)."""
        for p in process_tree(self.proc.pid):
            try:
                with open(f"/proc/{p}/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        self.proc = None


class Moontide(Server):
    name = "moontide"
    what = ("moontide as built for production (`.ci/build`, release, link-time optimization; h2o, cJSON, LuaJIT "
            "and PCRE2 linked in), `--workers 1`, bench/apps/moontide-bench.lua")
    h2c = True
    binary = os.path.join(TOP, "build-bench", "moontide")

    def why_unavailable(self):
        if not os.path.exists(os.path.join(OUT, "moontide.ok")):
            return "did not build (see bench/out/moontide-build.log)"
        return None

    def command(self):
        return [self.binary, "run", "bench/apps/moontide-bench.lua", "--port", str(self.port), "--workers", "1"]


class H2o(Server):
    name = "h2o"
    what = "bare h2o: Debian's shared libh2o-evloop 2.2.5 + cJSON, hand-written C (bench/peers/h2o/server.c)"
    h2c = True
    binary = os.path.join(OUT, "h2o-peer")

    def why_unavailable(self):
        if not os.path.exists(self.binary):
            return "did not build (see bench/out/h2o-build.log)"
        return None

    def command(self):
        return [self.binary, str(self.port)]


class OpenResty(Server):
    name = "openresty"
    what = "nginx-light + lua-nginx-module + lua-cjson, 1 worker (bench/peers/openresty)"
    h2c = True
    h2c_same_port = False  # nginx 1.22: a plain-text http2 listener is HTTP/2 only

    def why_unavailable(self):
        if not os.path.exists("/usr/sbin/nginx"):
            return "nginx is not installed (run bench/setup)"
        return None

    def prepare(self):
        self.prefix = tempfile.mkdtemp(prefix="bench-nginx.")
        src = os.path.join(BENCH, "peers", "openresty", "nginx.conf.in")
        with open(src) as f:
            conf = f.read()
        conf = (conf.replace("@PORT@", str(self.port)).replace("@H2C_PORT@", str(self.h2c_port))
                .replace("@PREFIX@", self.prefix)
                .replace("@LUADIR@", os.path.join(BENCH, "peers", "openresty")))
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def command(self):
        return ["/usr/sbin/nginx", "-p", self.prefix, "-c", self.conf]

    def stop(self):
        super().stop()
        if getattr(self, "prefix", None):
            subprocess.run(["rm", "-rf", self.prefix])
            self.prefix = None


class Fastify(Server):
    name = "fastify"
    what = "Fastify 5 on Node.js, JSON-schema routes, logger off (bench/peers/fastify)"

    def why_unavailable(self):
        if not os.path.isdir(os.path.join(BENCH, "peers", "fastify", "node_modules", "fastify")):
            return "node_modules missing (run bench/setup)"
        return None

    def cwd(self):
        return os.path.join(BENCH, "peers", "fastify")

    def command(self):
        return ["node", "server.js", str(self.port)]


class FastAPI(Server):
    name = "fastapi"
    what = "FastAPI 0.92 + pydantic 1.10 on uvicorn 0.17 (uvloop, httptools), 1 worker (bench/peers/fastapi)"

    def cwd(self):
        return os.path.join(BENCH, "peers", "fastapi")

    def command(self):
        return ["/usr/bin/python3", "app.py", str(self.port)]


ALL = {c.name: c for c in (Moontide, H2o, OpenResty, Fastify, FastAPI)}
