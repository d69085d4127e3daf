#!/usr/bin/env python3
"""keyport against the Go reference server, side by side in one run (`make bench`).

  sidebyside.py --keyport BIN --goref BIN --ports-file FILE [--rounds 3] [--dur 5] [--conns 64]

The method of ../shared/perf/abwrk.py: each server is started fresh per round, warmed for 2 s, then
measured with wrk; keyport and goref alternate, and the ratio is taken per round, so that a machine
shared with other work moves both sides alike. Quote the ratios, not the absolute rates.
  pinned:     the server on CPU 0, wrk on CPU 1 (one event loop, GOMAXPROCS=1)
  both loops: no pinning, two event loops, GOMAXPROCS=2, wrk on the same two CPUs
Idle RSS is read 1 s after each server answers its first request. CPU per request is the server's
utime+stime over the measured run divided by the requests wrk counted: on a machine shared with other
work, req/s also measures how much CPU the scheduler gave each side; CPU per request does not.
Loopback only."""
import argparse, os, pathlib, re, shlex, statistics, subprocess, sys, time, urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from benchkit import cpu_seconds, free_port, server  # noqa: E402


def ms(value):
    m = re.match(r"([\d.]+)(us|ms|s)$", value)
    x, unit = float(m[1]), m[2]
    return x / 1000 if unit == "us" else x if unit == "ms" else x * 1000


def wait_up(url, proc, timeout=30):
    """Until `url` answers 2xx; the launcher's error (with the server's log tail) if it never does."""
    proc.wait(lambda: urllib.request.urlopen(url, timeout=1).read() is not None, timeout, f"{url} to answer")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024


def run_once(cmd, path, pinned, dur, conns, env):
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in shlex.split(cmd)]
    prefix = ["taskset", "-c", "0"] if pinned else []
    url = f"http://127.0.0.1:{port}{path}"
    with server(prefix + argv, env) as proc:
        wait_up(url, proc)
        time.sleep(1)
        idle = rss_mib(proc.pid)
        wrk = (["taskset", "-c", "1"] if pinned else []) + ["wrk", "-t2", f"-c{conns}"]
        subprocess.run(wrk + ["-d2s", url], capture_output=True)
        before = cpu_seconds(proc.pid)
        out = subprocess.run(wrk + [f"-d{dur}s", "--latency", url], capture_output=True, text=True).stdout
        cpu_us = (cpu_seconds(proc.pid) - before) / int(re.search(r"(\d+) requests in", out)[1]) * 1e6
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
        p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M)[1])
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if bad:
            raise SystemExit(f"{url}: {bad[1]} non-2xx responses")
        return rps, p99, idle, cpu_us


def compare(name, a, b, rounds, dur, conns):
    """a and b: (command, path, pinned, env). Returns one table row."""
    results = {"A": [], "B": []}
    for r in range(rounds):
        for side, (cmd, path, pinned, env) in (("A", a), ("B", b)):
            rps, p99, idle, cpu_us = run_once(cmd, path, pinned, dur, conns, env)
            results[side].append((rps, p99, idle, cpu_us))
            print(f"  {name} round {r + 1} {'keyport' if side == 'A' else 'goref  '}: {rps:8.0f} req/s  p99 {p99:7.2f} ms  "
                  f"idle rss {idle:5.1f} MiB  cpu {cpu_us:6.2f} us/request", flush=True)
    ratios = [x[0] / y[0] for x, y in zip(results["A"], results["B"])]
    p99s = [x[1] / y[1] for x, y in zip(results["A"], results["B"])]
    # goref's CPU per request over keyport's: above 1 means keyport does a request with less CPU.
    cpus = [y[3] / x[3] for x, y in zip(results["A"], results["B"])]
    med = {s: [statistics.median(v[i] for v in rows) for i in range(4)] for s, rows in results.items()}
    return (name, med["A"], med["B"], statistics.median(ratios), min(ratios), max(ratios), statistics.median(p99s),
            statistics.median(cpus))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keyport", required=True)
    ap.add_argument("--goref", required=True)
    ap.add_argument("--ports-file", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dur", type=int, default=5)
    ap.add_argument("--conns", type=int, default=64)
    a = ap.parse_args()
    keyport = f"{a.keyport} --host 127.0.0.1 --srv-port {{port}} --log-level error"
    keyport_ports = f"{keyport} --ports-file {a.ports_file}"
    goref = f"{a.goref} -addr 127.0.0.1:{{port}} -max-size 1024"
    one, two = {"GOMAXPROCS": "1"}, {"GOMAXPROCS": "2"}
    rows = [
        compare("GET /key/32", (keyport, "/key/32", True, {}), (goref, "/key/32", True, one), a.rounds, a.dur, a.conns),
        compare("GET /ports/AEAJM vs goref /key/32", (keyport_ports, "/ports/AEAJM", True, {}), (goref, "/key/32", True, one), a.rounds, a.dur, a.conns),
        compare("GET /key/32, both loops", (keyport, "/key/32", False, {}), (goref, "/key/32", False, two), a.rounds, a.dur, a.conns),
    ]
    print(f"\n{a.rounds} alternating rounds x {a.dur} s, {a.conns} connections; load average {os.getloadavg()[0]:.1f}")
    print("| measure | keyport req/s | goref req/s | req/s ratio (min-max) | p99 ratio | CPU us/request keyport / goref | requests per CPU-second ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, ka, gb, ratio, low, high, p99, cpu in rows:
        print(f"| {name} | {ka[0]:.0f} | {gb[0]:.0f} | {ratio:.2f}x ({low:.2f}-{high:.2f}) | {p99:.2f} | {ka[3]:.2f} / {gb[3]:.2f} | {cpu:.2f}x |")
    ka, gb = rows[0][1], rows[0][2]
    print(f"| idle RSS after start | {ka[2]:.1f} MiB | {gb[2]:.1f} MiB | {ka[2] / gb[2]:.2f}x | | | |")


if __name__ == "__main__":
    main()
