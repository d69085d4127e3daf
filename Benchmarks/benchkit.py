"""What the side-by-side benchmark scripts share: a free port, a server process's CPU time, and
starting a server that is always stopped afterwards. Imported by Benchmarks/http/sidebyside.py,
Benchmarks/tls/bench.py and Benchmarks/tracing/abcpu.py (each puts Benchmarks/ on sys.path)."""
import contextlib, os, socket, subprocess

TICK = os.sysconf("SC_CLK_TCK")
# keyport's admin listener on a free port too, so side-by-side servers never collide on 9123; by
# environment rather than flag, so a binary from before the admin listener runs unchanged.
os.environ.setdefault("KEYPORT_ADMIN_PORT", "0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` so far, from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@contextlib.contextmanager
def server(argv: list[str], env: dict | None = None):
    """Runs `argv` (output discarded) for the `with` block, then stops it: SIGTERM, SIGKILL after 10 s."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=None if env is None else {**os.environ, **env})
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
