#!/usr/bin/env python3
"""Side by side like ../shared/perf/abwrk.py, but also the server's CPU time per request, which other
processes on a shared machine disturb far less than throughput (they take CPU away, not add to ours).

  abcpu.py --a 'CMD_A' --url-a URL_A --b 'CMD_B' --url-b URL_B [--rounds 7] [--dur 4] [--conns 64]

Servers start fresh per round on CPU 0 (taskset), wrk on CPU 1; rounds alternate A B, then B A, so
neither side always runs first. Prints each round, the medians and the median per-round ratios A/B."""
import argparse, pathlib, re, shlex, statistics, subprocess, sys, urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from benchkit import cpu_seconds, server  # noqa: E402

def one(cmd: str, url: str, dur: int, conns: int) -> tuple[float, float]:
    with server(["taskset", "-c", "0"] + shlex.split(cmd)) as proc:
        proc.wait(lambda: urllib.request.urlopen(url, timeout=1).read() is not None, 60, f"{url} to answer", interval=0.2)
        wrk = ["taskset", "-c", "1", "wrk", "-t2", f"-c{conns}"]
        subprocess.run(wrk + ["-d2s", url], capture_output=True)
        before = cpu_seconds(proc.pid)
        out = subprocess.run(wrk + [f"-d{dur}s", url], capture_output=True, text=True).stdout
        used = cpu_seconds(proc.pid) - before
        requests = int(re.search(r"(\d+) requests in", out)[1])
        assert "Non-2xx" not in out, out
        return requests / dur, used / requests * 1e6


ap = argparse.ArgumentParser()
ap.add_argument("--a", required=True); ap.add_argument("--url-a", required=True)
ap.add_argument("--b", required=True); ap.add_argument("--url-b", required=True)
ap.add_argument("--rounds", type=int, default=7); ap.add_argument("--dur", type=int, default=4)
ap.add_argument("--conns", type=int, default=64)
a = ap.parse_args()
res = {"A": [], "B": []}
for r in range(a.rounds):
    order = (("A", a.a, a.url_a), ("B", a.b, a.url_b))
    for side, cmd, url in order if r % 2 == 0 else order[::-1]:
        rps, us = one(cmd, url, a.dur, a.conns)
        res[side].append((rps, us))
        print(f"round {r + 1} {side}: {rps:9.0f} req/s  {us:6.2f} us CPU/request", flush=True)
rps_ratio = statistics.median(x[0] / y[0] for x, y in zip(res["A"], res["B"]))
cpu_ratio = statistics.median(x[1] / y[1] for x, y in zip(res["A"], res["B"]))
print(f"median A {statistics.median(x[0] for x in res['A']):.0f} req/s {statistics.median(x[1] for x in res['A']):.2f} us/req"
      f" | B {statistics.median(x[0] for x in res['B']):.0f} req/s {statistics.median(x[1] for x in res['B']):.2f} us/req")
print(f"ratio A/B: req/s {rps_ratio:.3f}, CPU per request {cpu_ratio:.3f}")
