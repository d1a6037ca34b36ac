"""bench/lib/balance.py: how evenly moontide's workers share one listening socket.

Starts `moontide run --workers 2` on bench/apps/moontide-bench.lua (not
pinned: the workers may use both cores), drives W1 with wrk (-t2, 64
connections, DURATION seconds), and reports for each worker the connections
it holds mid-run and the CPU time it used: with one socket shared by all
workers, whichever worker wakes first accepts, so shares can be uneven.
Repeated RUNS times. Prints a markdown table.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import BENCH_APP, DURATION, MOONTIDE_BIN, RUNS, free_port, process_tree, wait_port  # noqa: E402

BIN, APP = MOONTIDE_BIN, BENCH_APP
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def sockets(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n - 1  # less the listening socket


def one_run():
    port = free_port()
    server = subprocess.Popen([BIN, "run", APP, "--port", str(port), "--workers", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_port(port, server):
            raise SystemExit("moontide did not start")
        # the port opens before the workers run their loops: give them a moment, or the first one up takes all
        time.sleep(float(os.environ.get("SETTLE", "1")))
        workers = [p for p in process_tree(server.pid) if p != server.pid]
        before = {w: cpu_seconds(w) for w in workers}
        wrk = subprocess.Popen(["wrk", "-t2", "-c64", f"-d{DURATION}s", f"http://127.0.0.1:{port}/hello"],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(DURATION / 2)
        conns = {w: sockets(w) for w in workers}
        out = wrk.communicate(timeout=DURATION + 30)[0]
        cpu = {w: cpu_seconds(w) - before[w] for w in workers}
        rps = next((line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")), "?")
        return workers, conns, cpu, rps
    finally:
        server.terminate()
        server.wait(timeout=20)


def main():
    print("| run | req/s (2 workers) | connections per worker | CPU s per worker | busiest worker's CPU share |")
    print("| --- | ---: | --- | --- | ---: |")
    for run in range(1, RUNS + 1):
        workers, conns, cpu, rps = one_run()
        total = sum(cpu.values()) or 1
        print(f"| {run} | {float(rps):,.0f} | {' / '.join(str(conns[w]) for w in workers)} | "
              f"{' / '.join(f'{cpu[w]:.1f}' for w in workers)} | {max(cpu.values()) / total:.0%} |")


if __name__ == "__main__":
    main()
