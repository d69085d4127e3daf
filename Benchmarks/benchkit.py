"""What the side-by-side benchmark scripts share: a free port, a server process's CPU time, and
starting a server that is always stopped afterwards, through the ops tests' one launcher
(ops-tests/support/process.py: output to a log file whose tail a failed wait shows; SIGTERM, then
SIGKILL after 10 s). Imported by Benchmarks/http/sidebyside.py, Benchmarks/tls/bench.py and
Benchmarks/tracing/abcpu.py (each puts Benchmarks/ on sys.path); standard library only."""
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "ops-tests"))
from support import free_port  # noqa: E402,F401 (re-exported for the benchmark scripts)
from support.process import Process  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
# keyport's admin listener on a free port too, so side-by-side servers never collide on 9123; by
# environment rather than flag, so a binary from before the admin listener runs unchanged.
os.environ.setdefault("KEYPORT_ADMIN_PORT", "0")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` so far, from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def server(argv: list, env: dict | None = None) -> Process:
    """`argv` started for a `with` block, which stops it; `env` is added to this environment."""
    return Process(argv, env=env)
