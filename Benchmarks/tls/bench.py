#!/usr/bin/env python3
"""keyport over TLS against a Go TLS key server (goref-tls.go), side by side on one machine.

  Benchmarks/tls/bench.py [--keyport .build/release/keyport] [--rounds 5] [--dur 6]

Makes a CA and an ECDSA P-256 certificate with openssl, builds goref-tls.go with the Go toolchain that
../shared/perf/build-goref.sh fetches, then per round starts each server fresh pinned to CPU 0 with wrk
on CPU 1 (A B A B ...) and measures three things over HTTPS:
  keep-alive  GET /key/32 on 64 kept-alive connections (TLS record cost per request);
  handshakes  GET /key/32 with `Connection: close` on 16 connections: every request is a new TCP
              connection and a full TLS handshake (wrk does not resume sessions).
  handshakes, one at a time: the same on 1 connection, so neither side is saturated (the latency of
              a new connection, and each side's CPU per handshake without queueing).
Prints every round, the medians and the ratios keyport/Go, of req/s and of requests per server
CPU-second (the servers' own CPU time from /proc: on a shared machine the server is often not the
bottleneck, and then req/s measures the client and the neighbours as much as the server). Ratios hold on a noisy machine; absolute
numbers do not. Not a test: nothing here fails on a slow result."""
import argparse, os, pathlib, re, resource, socket, ssl, statistics, subprocess, sys, tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from benchkit import Process, cpu_seconds, free_port, server  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO.parent / "shared" / "perf"


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


def make_certificate(d: pathlib.Path) -> None:
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=bench-ca", "-days", "2", cwd=d)
    run("openssl", "req", *ec, "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=localhost", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "san.ext", "-out", "tls.crt", cwd=d)


def build_go(d: pathlib.Path) -> pathlib.Path:
    work = pathlib.Path(os.environ.get("WORK", "/tmp/keyport-perf"))
    run(str(SHARED / "build-goref.sh"), env={**os.environ, "WORK": str(work)})  # fetches Go into $WORK/go
    src = d / "gopath" / "src" / "goreftls"
    src.mkdir(parents=True)
    (src / "main.go").write_text((HERE / "goref-tls.go").read_text())
    env = {**os.environ, "GOROOT": str(work / "go"), "PATH": f"{work / 'go' / 'bin'}:{os.environ['PATH']}",
           "GO111MODULE": "off", "GOTOOLCHAIN": "local", "GOPATH": str(d / "gopath"), "GOCACHE": str(work / "gocache"),
           "GOFLAGS": ""}
    run("go", "build", "-o", str(d / "goref-tls"), ".", cwd=src, env=env)
    return d / "goref-tls"


def wait_up(port: int, ca: pathlib.Path, proc: Process) -> None:
    """Until /health answers 200 over TLS; the launcher's error (with the server's log tail) if it never does."""
    context = ssl.create_default_context(cafile=str(ca))

    def healthy() -> bool:
        with context.wrap_socket(socket.create_connection(("127.0.0.1", port), 1), server_hostname="127.0.0.1") as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(12).startswith(b"HTTP/1.1 200")

    proc.wait(healthy, 30, f"the server on {port} to answer over TLS", interval=0.2)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(url: str, dur: int, conns: int, *extra: str) -> tuple[float, float, str, float]:
    """req/s, p99 ms, wrk's error lines, and the CPU seconds wrk itself used (the client's side)."""
    before = children_cpu()
    out = subprocess.run(["taskset", "-c", "1", "wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{dur}s", "--latency", *extra, url],
                         capture_output=True, text=True).stdout
    client = children_cpu() - before
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)$", out, re.M)
    if not found or not m:
        print(f"unreadable wrk output for {url} {extra}:\n{out}", file=sys.stderr, flush=True)
        return float("nan"), float("nan"), "no result", client
    rps = float(found[1])
    p99 = float(m[1]) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m[2]]
    errors = " ".join(filter(None, [re.search(r"Socket errors:.*", out) and re.search(r"Socket errors:.*", out)[0],
                                    re.search(r"Non-2xx or 3xx responses: \d+", out) and
                                    re.search(r"Non-2xx or 3xx responses: \d+", out)[0]]))
    return rps, p99, errors, client


MODES = (
    ("keep-alive", (64,)),
    ("handshakes", (16, "-H", "Connection: close")),
    # One connection at a time: neither side saturated, so this is the latency of a new connection.
    ("handshakes, one at a time", (1, "-H", "Connection: close")),
)


def one(cmd: list[str], port: int, ca: pathlib.Path, dur: int) -> dict[str, tuple[float, float, str, float]]:
    with server(["taskset", "-c", "0", *cmd]) as proc:
        wait_up(port, ca, proc)
        url = f"https://127.0.0.1:{port}/key/32"
        wrk(url, 2, 64)  # warm-up
        out = {}
        for mode, extra in MODES:
            before = cpu_seconds(proc.pid)
            rps, p99, errors, client = wrk(url, dur, *extra)
            # Server CPU per request: on a shared, oversubscribed machine a cleaner figure than req/s.
            used = cpu_seconds(proc.pid) - before
            # The share of its core each side kept busy: a client near 100% means req/s measures the client.
            busy = f"server core {used / dur:4.0%} busy, wrk's core {client / dur:4.0%}"
            out[mode] = (rps, p99, f"{busy} {errors}".strip(), used / (rps * dur) * 1e6 if rps == rps and rps > 0 else float("nan"))
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keyport", default=str(REPO / ".build" / "release" / "keyport"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dur", type=int, default=6)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="keyport-tls-bench-") as tmp:
        d = pathlib.Path(tmp)
        make_certificate(d)
        go = build_go(d)
        cert, key, ca = d / "tls.crt", d / "tls.key", d / "ca.crt"
        results: dict[str, dict[str, list]] = {"keyport": {}, "go": {}}
        for r in range(a.rounds):
            for side in ("keyport", "go"):
                port = free_port()
                cmd = ([a.keyport, "--host", "127.0.0.1", "--srv-port", str(port), "--log-level", "error",
                        "--tls-cert-file", str(cert), "--tls-key-file", str(key)] if side == "keyport" else
                       [str(go), "-addr", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key)])
                for mode, (rps, p99, errors, cpu_us) in one(cmd, port, ca, a.dur).items():
                    results[side].setdefault(mode, []).append((rps, p99, cpu_us))
                    print(f"round {r + 1} {side:7} {mode:26}: {rps:9.0f} req/s  p99 {p99:7.2f} ms  "
                          f"server CPU {cpu_us:6.1f} us/request  {errors}", flush=True)
        for mode, _ in MODES:
            # A round where wrk got no result on either side is left out of that mode's figures.
            pairs = [(x, y) for x, y in zip(results["keyport"][mode], results["go"][mode])
                     if all(v == v for v in (*x, *y))]
            if not pairs:
                print(f"{mode}: no round with results on both sides")
                continue
            k, g = [x for x, _ in pairs], [y for _, y in pairs]
            ratios = [x[0] / y[0] for x, y in zip(k, g)]
            p99k, p99g = statistics.median(x[1] for x in k), statistics.median(x[1] for x in g)
            cpu = [y[2] / x[2] for x, y in zip(k, g)]
            print(f"{mode}: keyport {statistics.median(x[0] for x in k):.0f} req/s, Go {statistics.median(x[0] for x in g):.0f} req/s;"
                  f" ratio keyport/Go median {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f});"
                  f" p99 keyport/Go {p99k / p99g:.2f}; requests per server CPU-second keyport/Go median"
                  f" {statistics.median(cpu):.2f} (min {min(cpu):.2f}, max {max(cpu):.2f}); {len(pairs)} rounds")


if __name__ == "__main__":
    main()
