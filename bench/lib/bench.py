"""bench/lib/bench.py: the benchmark loop behind `bench/run`.

For each repetition, each server in turn (forward order, then reversed, and
so on): start it pinned to core 0, read its idle memory, check its answers
for every selected workload, then time each benchmark point whose check
passed, resetting and reading its peak memory around each point, and stop
it. At the end, write RESULTS.md (see report.py) and the raw figures as
JSON under bench/out/.

Configured by environment variables (bench/run sets them):
  SERVERS    servers to run, in order   (default: moontide h2o openresty fastify fastapi)
  WORKLOADS  workloads to run           (default: w1 w2 w3 w4)
  POINTS     only these points of them, by id (w1-h1-c64, w1-h2c, ...; default: all)
  RUNS       repetitions per point      (default 3)
  DURATION   seconds measured per point (default 10)
  WARMUP     seconds of warm-up first   (default 2)
  H2C_CONNS, H2C_STREAMS  h2load shape  (default 64 × 100)
  RESULTS    where to write the report
  QUICK      1 for a smoke run (marks the report as such)
"""
import json
import os
import resource
import signal
import sys
import time

import checks
import load
import report
import servers as srv


def env_int(name, default):
    return int(os.environ.get(name) or default)


def machine_busy_seconds():
    """CPU time all cores spent busy since boot (from /proc/stat), in seconds."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def define_points(workloads, h2c_conns, h2c_streams):
    titles = {
        "w1": "W1 — GET /hello",
        "w2": "W2 — GET /items/{id}?q=",
        "w3": "W3 — POST /items (validated JSON body)",
        "w4": "W4 — GET /stream?n=100 (server-sent events; req/s = streams/s)",
    }
    points = []
    for w in workloads:
        method, path, _ = checks.REQUEST[w]
        conns = [64, 256] if w == "w1" else [64]
        for c in conns:
            points.append({"id": f"{w}-h1-c{c}", "workload": w, "title": titles[w], "kind": "wrk",
                           "method": method, "path": path, "conns": c,
                           "label": f"HTTP/1.1, wrk, {c} connections"})
        points.append({"id": f"{w}-h2c", "workload": w, "title": titles[w], "kind": "h2load",
                       "method": method, "path": path, "conns": h2c_conns, "streams": h2c_streams,
                       "label": f"h2c (prior knowledge), h2load, {h2c_conns} connections × {h2c_streams} streams"})
    return points


def main():
    # On SIGTERM (bench/run's time limit) unwind like on Ctrl-C, so that every
    # server started is stopped by its `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = srv.BENCH
    names = os.environ.get("SERVERS", " ".join(srv.ORDER)).split()
    workloads = os.environ.get("WORKLOADS", "w1 w2 w3 w4").lower().split()
    for n in names:
        if n not in srv.ALL:
            sys.exit(f"bench: unknown server {n!r} (known: {' '.join(srv.ORDER)})")
    for w in workloads:
        if w not in checks.REQUEST:
            sys.exit(f"bench: unknown workload {w!r} (known: w1 w2 w3 w4)")
    cfg = {
        "bench": bench,
        "runs": env_int("RUNS", 3),
        "duration": env_int("DURATION", 10),
        "warmup": env_int("WARMUP", 2),
        "quick": os.environ.get("QUICK") == "1",
        "invocation": os.environ.get("BENCH_INVOCATION", "bench/run"),
    }
    h2c_conns, h2c_streams = env_int("H2C_CONNS", 64), env_int("H2C_STREAMS", 100)
    results_path = os.environ.get("RESULTS") or os.path.join(bench, "RESULTS.md")
    points = define_points(workloads, h2c_conns, h2c_streams)
    only = os.environ.get("POINTS", "").split()
    if only:
        unknown = [p for p in only if p not in {q["id"] for q in points}]
        if unknown:
            sys.exit(f"bench: unknown point(s) {' '.join(unknown)} (known: {' '.join(q['id'] for q in points)})")
        points = [p for p in points if p["id"] in only]

    stamp = time.strftime("%Y%m%d-%H%M%S")
    raw_dir = os.path.join(srv.OUT, "raw", stamp)
    os.makedirs(raw_dir, exist_ok=True)

    servers = [srv.ALL[n]() for n in names]
    results = {p["id"]: {} for p in points}
    notes, commands, server_info = [], {}, {}
    for s in servers:
        server_info[s.name] = {"what": s.what, "status": "unavailable: " + s.unavailable if s.unavailable else "ran"}

    def note(text):
        if text not in notes:
            notes.append(text)
            print(f"  note: {text}", flush=True)

    total = len(points) * len(servers) * cfg["runs"] * (cfg["duration"] + cfg["warmup"])
    print(f"bench: {len(servers)} servers × {len(points)} points × {cfg['runs']} runs, "
          f"at most ~{total // 60} min {total % 60} s of load", flush=True)
    started = time.time()
    for rep in range(cfg["runs"]):
        order = servers if rep % 2 == 0 else list(reversed(servers))
        for s in order:
            if s.unavailable:
                note(f"{s.name}: unavailable, {s.unavailable}")
                continue
            print(f"[run {rep + 1}/{cfg['runs']}] {s.name}: starting", flush=True)
            if not s.start():
                note(f"{s.name}: did not start or listen (see bench/out/{s.name}.log)")
                server_info[s.name]["status"] = "did not start"
                continue
            commands[s.name] = s.cmdline
            idle = s.rss_kb()
            try:
                failed = {}
                for w in workloads:
                    err = checks.check(w, s.port)
                    if err:
                        failed[w] = err
                        note(f"{s.name} {w.upper()}: n/a, wrong or missing answer: {err}")
                h2c_err = "does not speak h2c" if not s.h2c else checks.check_h2c(s.h2c_port)
                if h2c_err:
                    note(f"{s.name} h2c: n/a, {h2c_err}")
                for p in points:
                    if p["workload"] in failed or (p["kind"] == "h2load" and h2c_err):
                        continue
                    entry = results[p["id"]].setdefault(s.name, {"runs": [], "idle": []})
                    s.reset_peak()
                    mark = {}

                    def on_start():
                        mark["t"], mark["cpu"] = time.time(), s.cpu_times()
                        mark["busy"], mark["client"] = machine_busy_seconds(), children_cpu_seconds()
                    try:
                        if p["kind"] == "wrk":
                            url = f"http://127.0.0.1:{s.port}{p['path']}"
                            fig, cmd, out = load.measure_wrk(url, p["conns"], cfg["duration"], cfg["warmup"],
                                                             p["method"], on_start)
                        else:
                            url = f"http://127.0.0.1:{s.h2c_port}{p['path']}"
                            fig, cmd, out = load.measure_h2load(url, p["conns"], p["streams"], cfg["duration"],
                                                                cfg["warmup"], p["method"], on_start)
                    except Exception as e:  # a failed or hung load run: note it, go on
                        note(f"{s.name} {p['id']}: load run failed: {e}")
                        continue
                    # server CPU, and CPU used by anything else than the server and the
                    # load generator (another job on the machine disturbs the figures)
                    elapsed = time.time() - mark["t"]
                    user, system = (now - then for now, then in zip(s.cpu_times(), mark["cpu"]))
                    fig["cpu"] = (user + system) / elapsed
                    if fig["rps"]:  # what a request cost the server, in the process and in the kernel
                        fig["user_us"], fig["sys_us"] = (t / (fig["rps"] * elapsed) * 1e6 for t in (user, system))
                    client = (children_cpu_seconds() - mark["client"]) / elapsed
                    fig["other_cpu"] = max(0.0, (machine_busy_seconds() - mark["busy"]) / elapsed - fig["cpu"] - client)
                    fig["peak_kb"] = s.peak_rss_kb()
                    if fig["other_cpu"] > 0.15:
                        note(f"{s.name} {p['id']} run {rep + 1}: other processes used {fig['other_cpu']:.0%} "
                             "of a core meanwhile: figures disturbed")
                    if fig["rps"] is None:
                        note(f"{s.name} {p['id']}: no figures in the load generator's output")
                        continue
                    fig["rep"] = rep  # pairs it with the other servers' run of the same repetition
                    entry["runs"].append(fig)
                    entry["idle"].append(idle)
                    commands[p["id"]] = (" ".join(cmd).replace(f"127.0.0.1:{s.port}/", "127.0.0.1:PORT/")
                                         .replace(f"127.0.0.1:{s.h2c_port}/", "127.0.0.1:PORT/"))
                    with open(os.path.join(raw_dir, f"{s.name}-{p['id']}-{rep + 1}.txt"), "w") as f:
                        f.write(" ".join(cmd) + "\n\n" + out)
                    lat = (f"p50 {report.fmt_ms(fig['p50_ms'])} p99 {report.fmt_ms(fig['p99_ms'])}"
                           if p["kind"] == "wrk" else f"mean {report.fmt_ms(fig['mean_ms'])}")
                    print(f"  {p['id']:<12} {fig['rps']:>12,.0f} req/s  {lat}  non-2xx {fig['non2xx']}"
                          f"  errors {fig['errors']}  cpu {fig['cpu']:.0%} ({report.fmt_cpu([fig])} a request)  other {fig['other_cpu']:.0%}  peak {report.fmt_mb(fig['peak_kb'])}", flush=True)
                    if s.proc.poll() is not None:
                        note(f"{s.name}: exited during {p['id']} (see bench/out/{s.name}.log)")
                        break
            finally:
                s.stop()

    cmd_lines = ["# servers (cwd: repo top, except fastify: bench/peers/fastify, fastapi: bench/peers/fastapi)"]
    cmd_lines += [commands[s.name] for s in servers if s.name in commands]
    cmd_lines.append(f"# load: each preceded by the same command with -d{cfg['warmup']}s (wrk) as warm-up, not counted")
    cmd_lines += [commands[p["id"]] for p in points if p["id"] in commands]
    report.write(results_path, cfg, points, names, results, notes, cmd_lines, server_info)
    with open(os.path.join(srv.OUT, f"results-{stamp}.json"), "w") as f:
        json.dump({"config": cfg, "servers": names, "points": points, "results": results, "notes": notes,
                   "commands": cmd_lines, "server_info": server_info}, f, indent=1)
    print(f"bench: done in {time.time() - started:.0f} s; wrote {os.path.relpath(results_path)}, "
          f"raw output in {os.path.relpath(raw_dir)}", flush=True)


if __name__ == "__main__":
    main()
