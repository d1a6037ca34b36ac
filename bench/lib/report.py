"""bench/lib/report.py: turns the collected figures into RESULTS.md.

One table per benchmark point (workload × protocol × connections) with each
server's medians over the repetitions, its individual req/s runs, its idle and
peak memory, and the ratios moontide / peer from the same run. Then the
machine, the versions of everything measured, the notes on skipped points and
the exact commands.
"""
import os
import platform
import statistics
import subprocess
import time


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_rps(v):
    return "—" if v is None else f"{v:,.0f}"


def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v * 1000:.0f} µs" if v < 1 else f"{v:.2f} ms"


def fmt_mb(kb):
    return "—" if not kb else f"{kb / 1024:.1f} MB"


def fmt_pct(v):
    return "—" if v is None else f"{v:.0%}"


def fmt_cpu(runs):
    """The server's CPU time per answered request, in the process and in the kernel (medians over the runs)."""
    user, system = median([r.get("user_us") for r in runs]), median([r.get("sys_us") for r in runs])
    return "—" if user is None or system is None else f"{user:.2f} + {system:.2f} µs"


def fmt_ratio(a, b):
    return "—" if not a or not b else f"{a / b:.2f}"


def fmt_run_ratios(mt_runs, peer_runs):
    """The middle half of moontide/peer req/s taken run by run (each repetition's pair ran minutes apart at
    most): how far this machine's swings move the ratio. Empty under 4 pairs."""
    peer_by_rep = {r.get("rep"): r for r in peer_runs}
    ratios = [m["rps"] / peer_by_rep[m.get("rep")]["rps"] for m in mt_runs if m.get("rep") in peer_by_rep]
    if len(ratios) < 4 or len(peer_by_rep) != len(peer_runs):
        return ""
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return f" ({q1:.2f}–{q3:.2f})"


def sh(cmd):
    try:
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0] if (p.stdout + p.stderr).strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = sh("awk '/MemTotal/ {printf \"%.0f GiB\", $2/1048576}' /proc/meminfo")
    return f"{os.cpu_count()} cores ({sh('nproc')} usable), {model}, {mem} RAM, Linux {platform.release()}"


def versions(bench):
    fastify = sh(f"node -p \"require('{bench}/peers/fastify/node_modules/fastify/package.json').version\"")
    py = sh("/usr/bin/python3 -c 'import fastapi, pydantic, uvicorn, uvloop, httptools; "
            "print(\"FastAPI\", fastapi.__version__, \"pydantic\", pydantic.VERSION, \"uvicorn\", uvicorn.__version__, "
            "\"uvloop\", uvloop.__version__, \"httptools\", httptools.__version__)'")
    return [
        ("wrk", sh("dpkg-query -W -f='${Version}' wrk")),
        ("h2load", sh("h2load --version")),
        ("libh2o-evloop", sh("dpkg-query -W -f='${Version}' libh2o-evloop-dev")),
        ("libcjson", sh("dpkg-query -W -f='${Version}' libcjson-dev")),
        ("nginx-light", sh("dpkg-query -W -f='${Version}' nginx-light")),
        ("libnginx-mod-http-lua", sh("dpkg-query -W -f='${Version}' libnginx-mod-http-lua")),
        ("lua-cjson", sh("dpkg-query -W -f='${Version}' lua-cjson")),
        ("node", sh("node --version")),
        ("fastify", fastify),
        ("python (FastAPI peer)", sh("/usr/bin/python3 --version")),
        ("FastAPI stack", py),
        ("moontide (working tree)", sh(f"git -C {os.path.dirname(bench)} describe --always --dirty 2>/dev/null || echo '?'")),
    ]


def point_table(point, servers, data):
    """Markdown lines for one point. data[server] = {runs: [...], idle: [...]}.
    The ratio columns appear only when moontide has figures for the point."""
    h2 = point["kind"] == "h2load"
    mt = data.get("moontide", {})
    mt_rps = median([r["rps"] for r in mt.get("runs", [])])
    mt_peak = median([r["peak_kb"] for r in mt.get("runs", [])])
    head = ["server", "req/s", "runs (req/s)"] + (["mean latency"] if h2 else ["p50", "p99"]) + \
        ["non-2xx", "socket errors", "server CPU", "CPU a request (user + system)", "other CPU", "idle RSS", "peak RSS"]
    if mt_rps:
        head += ["moontide/peer req/s", "moontide/peer peak RSS"]
    lines = ["| " + " | ".join(head) + " |",
             "| --- | ---: | --- | " + " | ".join(["---:"] * (len(head) - 3)) + " |"]
    for name in servers:
        d = data.get(name, {})
        runs = d.get("runs", [])
        if not runs:
            lines.append(f"| {name} | n/a | " + " | ".join(["—"] * (len(head) - 2)) + " |")
            continue
        rps = median([r["rps"] for r in runs])
        peak = median([r["peak_kb"] for r in runs])
        lat = [median([r.get("mean_ms") for r in runs])] if h2 else \
            [median([r.get("p50_ms") for r in runs]), median([r.get("p99_ms") for r in runs])]
        cells = [name, fmt_rps(rps), " / ".join(fmt_rps(r["rps"]) for r in runs)] + [fmt_ms(v) for v in lat] + [
            f"{median([r['non2xx'] for r in runs]):.0f}", f"{median([r['errors'] for r in runs]):.0f}",
            fmt_pct(median([r.get('cpu') for r in runs])), fmt_cpu(runs), fmt_pct(median([r.get('other_cpu') for r in runs])),
            fmt_mb(median(d.get("idle", []))), fmt_mb(peak)]
        if mt_rps:
            is_mt = name == "moontide"
            cells += ["—" if is_mt else fmt_ratio(mt_rps, rps) + fmt_run_ratios(mt.get("runs", []), runs),
                      "—" if is_mt else fmt_ratio(mt_peak, peak)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write(path, cfg, points, servers, results, notes, commands, server_info):
    bench = cfg["bench"]
    out = ["# moontide benchmark results", ""]
    out.append(f"Written by `bench/run` on {time.strftime('%Y-%m-%d %H:%M %Z')}"
               f"{' (quick smoke run: not for quoting)' if cfg['quick'] else ''}.")
    out.append("Workloads, peers and rules: shared/BENCH.md; how to run and how each peer is "
               "configured: bench/README.md.")
    out.append("")
    out.append(f"- Machine: {machine()}.")
    out.append(f"- Server pinned to core 0 (`taskset -c 0`), load generator to core 1 (`taskset -c 1`).")
    out.append(f"- {cfg['runs']} run(s) per point, {cfg['duration']} s each after a {cfg['warmup']} s warm-up; "
               "servers in alternating order (forward, then reversed, ...); figures are medians over the runs.")
    out.append("- RSS is summed over the server's process tree (nginx: master + worker). Idle RSS: right after "
               "start; peak RSS: VmHWM, reset before each point and read right after it.")
    out.append("- Ratios are moontide / peer from this run: above 1 means moontide serves more requests per "
               "second (or uses more memory). With 4 runs or more, the req/s ratio is followed by the middle "
               "half of the ratios taken run by run (moontide's and the peer's run of the same repetition), "
               "which shows how much the machine's swings move it.")
    out.append("- Server CPU: CPU time the server's processes used during the measured interval, per second "
               "of wall time (100% = its one core busy). Well under 100% means the load generator, not the "
               "server, was the limit: on 2 cores wrk saturates its own core first for the fastest servers, "
               "so their req/s differences are partly the client's. CPU a request: the server's CPU time "
               "over the requests it answered meanwhile, in its own code (user) and in the kernel (system). "
               "Other CPU: what the rest of the machine "
               "used meanwhile (busy time of both cores less the server and the load generator); more than "
               "a few percent means another job disturbed the point.")
    out.append("- wrk counts \"non-2xx\" as responses with status ≥ 400; socket errors are connect + read + "
               "write + timeout errors. h2load gives no latency percentiles, only the mean.")
    out.append("")
    out.append("## Servers")
    out.append("")
    out.append("| server | what | status |")
    out.append("| --- | --- | --- |")
    for name in servers:
        info = server_info[name]
        out.append(f"| {name} | {info['what']} | {info['status']} |")
    out.append("")
    current = None
    for p in points:
        if p["workload"] != current:
            current = p["workload"]
            out.append(f"## {p['title']}")
            out.append("")
        out.append(f"### {p['label']}")
        out.append("")
        out.extend(point_table(p, servers, results.get(p["id"], {})))
        out.append("")
    if notes:
        out.append("## Notes")
        out.append("")
        out.extend(f"- {n}" for n in notes)
        out.append("")
    out.append("## Versions")
    out.append("")
    for k, v in versions(bench):
        out.append(f"- {k}: {v}")
    out.append("")
    out.append("## Commands")
    out.append("")
    out.append("This report: `" + cfg["invocation"] + "`. Ports are picked free at each start; "
               "the ones below are from the last start of each server.")
    out.append("")
    out.append("```sh")
    out.extend(commands)
    out.append("```")
    out.append("")
    with open(path, "w") as f:
        f.write("\n".join(out))
