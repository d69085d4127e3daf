#!/usr/bin/env python3
"""Pod sizing for the ports data: for generated files of 100k, 1M and 3M records, the release keyport server
loads each file and reloads it once (SIGHUP); prints file size, load time and MB/s, steady RSS, the reload's
peak RSS (VmHWM, reset just before the SIGHUP) and the peak per record.

    Benchmarks/ports/sizing.py KEYPORT_BINARY [RECORDS ...]     (make bench-ports-sizing)
Env: BENCH_DIR (default /tmp/keyport-ports-bench) caches the generated files (seed 1).
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from benchkit import Process, free_port  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORK = pathlib.Path(os.environ.get("BENCH_DIR", "/tmp/keyport-ports-bench"))


def data_file(records):
    path = WORK / f"ports-{records}-seed1.json"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(ROOT / "scripts/generate-ports.py"), str(records), "--seed", "1",
                        "-o", f"{path}.tmp"], check=True)
        os.replace(f"{path}.tmp", path)
    return path


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def loads(log_path):
    """(records, seconds) of each `ports file loaded` log line so far."""
    found = []
    for line in open(log_path, errors="replace"):
        if '"ports file loaded"' in line:
            entry = json.loads(line)
            found.append((int(entry["records"]), float(entry["seconds"])))
    return found


def measure(binary, path):
    port = free_port()
    log_path = WORK / "sizing-server.log"
    with Process([binary, "--host", "127.0.0.1", "--srv-port", str(port), "--ports-file", str(path),
                  "--ports-settle-time", "0s"], name="keyport", log=log_path) as server:
        deadline = time.time() + 900
        server.wait(lambda: loads(log_path), 900, f"keyport to load {path}", interval=0.2)
        records, seconds = loads(log_path)[0]
        time.sleep(3)
        steady = status_kb(server.pid, "VmRSS")
        pathlib.Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # VmHWM := current RSS
        server.signal(signal.SIGHUP)
        server.wait(lambda: len(loads(log_path)) >= 2, max(0.0, deadline - time.time()), f"the reload of {path}",
                    interval=0.2)
        peak = status_kb(server.pid, "VmHWM")
        return records, seconds, steady, peak


def main():
    binary = sys.argv[1]
    counts = [int(n) for n in sys.argv[2:]] or [100_000, 1_000_000, 3_000_000]
    rows = []
    for count in counts:
        path = data_file(count)
        size = path.stat().st_size
        records, seconds, steady, peak = measure(binary, path)
        rows.append((count, size, records, seconds, steady, peak))
    print(f"{'records':>9} {'file MB':>8} {'load s':>7} {'MB/s':>6} {'steady RSS MB':>14} {'reload peak MB':>15} {'peak B/record':>14}")
    for count, size, records, seconds, steady, peak in rows:
        print(f"{records:>9} {size / 1e6:>8.1f} {seconds:>7.2f} {size / 1e6 / seconds:>6.0f} {steady / 1e6:>14.1f} "
              f"{peak / 1e6:>15.1f} {peak / records:>14.0f}")


if __name__ == "__main__":
    main()
