#!/usr/bin/env python3
"""Runs two ports loaders on the same file, alternating, under /usr/bin/time -v; prints time, MB/s, CPU and peak RSS.

Wall time is noisy on shared machines: CPU time (user + sys) is printed beside it, and ratios use medians.
"""
import argparse
import os
import re
import statistics
import subprocess


def run(command, path):
    result = subprocess.run(["/usr/bin/time", "-v", command, path], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{command} failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def field(name):
        return re.search(rf"{re.escape(name)}: (.+)", result.stderr).group(1).strip()

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
    seconds = sum(float(part) * 60 ** i for i, part in enumerate(reversed(wall)))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    rss = int(field("Maximum resident set size (kbytes)")) * 1024
    return seconds, cpu, rss, result.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--a", nargs=2, metavar=("NAME", "COMMAND"), required=True)
    parser.add_argument("--b", nargs=2, metavar=("NAME", "COMMAND"), required=True)
    parser.add_argument("--b-file", help="B loads this file instead (e.g. the same JSON gzip-compressed); MB/s stay MB of JSON")
    args = parser.parse_args()
    size = os.path.getsize(args.file)
    files = {args.a[0]: args.file, args.b[0]: args.b_file or args.file}
    for path in set(files.values()):
        with open(path, "rb") as f:  # warm the page cache so both read from memory
            while f.read(1 << 24):
                pass
    results = {args.a[0]: [], args.b[0]: []}
    for i in range(args.runs):
        for name, command in (args.a, args.b) if i % 2 == 0 else (args.b, args.a):
            results[name].append(run(command, files[name]))
    print(f"file: {args.file} ({size / 1e6:.1f} MB), {args.runs} runs each, medians")
    if args.b_file:
        print(f"{args.b[0]} reads {args.b_file} ({os.path.getsize(args.b_file) / 1e6:.1f} MB); MB/s are MB of JSON for both")
    print(f"{'loader':<20} {'wall s':>8} {'MB/s':>8} {'CPU s':>8} {'MB/s CPU':>9} {'peak RSS MB':>12}")
    summary = {}
    for name, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        rss = max(r[2] for r in rows)
        summary[name] = (wall, cpu, rss)
        print(f"{name:<20} {wall:>8.2f} {size / 1e6 / wall:>8.0f} {cpu:>8.2f} {size / 1e6 / cpu:>9.0f} {rss / 1e6:>12.0f}")
        print(f"  last output: {rows[-1][3]}")
    a, b = summary[args.a[0]], summary[args.b[0]]
    print(f"ratios ({args.b[0]} / {args.a[0]}): wall {b[0] / a[0]:.1f}x, CPU {b[1] / a[1]:.1f}x, peak RSS {b[2] / a[2]:.1f}x")


if __name__ == "__main__":
    main()
