"""A keyport process on a free loopback port (a `support.process.Process`), raw-socket requests, metrics
parsing, RSS readings and a small keep-alive load generator (the hardening and HA tests drive the
server through these)."""
from __future__ import annotations

import json
import pathlib
import socket
import threading
import time
from dataclasses import dataclass, field

from support import require_keyport
from support.process import Process


class Keyport(Process):
    """`keyport --srv-port 0 --admin-port 0` on 127.0.0.1 (or given ports, to bring an instance back at the
    same addresses), started by the one launcher (`support.process.Process`); the bound ports come from
    the JSON `listening` log lines (`listener`: service or admin). `port`/`base` are the service
    listener's, `admin_port`/`admin_base` the admin listener's (/metrics, /version, /debug/*). Waits
    until /ready answers 200 unless `wait_ready` is false (an instance started with a broken ports
    file stays not ready)."""

    def __init__(
        self, *args: str, env: dict[str, str] | None = None, ready_timeout: float = 120.0, port: int = 0,
        wait_ready: bool = True, admin_port: int = 0,
    ) -> None:
        binary = require_keyport()
        super().__init__(
            [binary, "--host", "127.0.0.1", "--srv-port", str(port), "--admin-port", str(admin_port),
             "--log-format", "json", *args],
            name="keyport", env=env,
        )
        try:
            self.port, self.admin_port = self.wait(
                lambda: (ports := listening_ports(self.log_text()))[0] and ports[1] and ports, 30, "keyport to listen",
                interval=0.05)
            self.base = f"http://127.0.0.1:{self.port}"
            self.admin_base = f"http://127.0.0.1:{self.admin_port}"
            if wait_ready:
                self.wait(lambda: self.get_status("/ready") == 200, ready_timeout, "keyport ready")
        except BaseException:
            self.__exit__()  # nothing else can stop it: the constructor is the only owner so far
            raise

    def get_status(self, path: str, admin: bool = False) -> int | None:
        try:
            port = self.admin_port if admin else self.port
            return request(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()).status
        except OSError:
            return None

    def metrics(self) -> dict[str, float]:
        """A scrape of the admin listener's /metrics."""
        return parse_metrics(
            request(self.admin_port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").body.decode()
        )

    def rss_bytes(self) -> int:
        return status_field(self.pid, "VmRSS")


def listening_ports(log: str) -> tuple[int, int]:
    """(service port, admin port) from keyport's JSON `listening` lines; 0 for a listener not yet bound."""
    ports = {"service": 0, "admin": 0}
    for line in log.splitlines():
        if '"listening"' in line:
            entry = json.loads(line)
            ports[entry.get("listener", "service")] = int(entry["port"])
    return ports["service"], ports["admin"]


def status_field(pid: int, name: str) -> int:
    """A kB field of /proc/PID/status (VmRSS, VmHWM) in bytes."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(name)



def parse_metrics(text: str) -> dict[str, float]:
    """`name{labels}` → value for every sample line (labels kept verbatim)."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def metric_sum(samples: dict[str, float], name: str, **labels: str) -> float:
    total = 0.0
    for key, value in samples.items():
        metric, _, rest = key.partition("{")
        if metric == name and all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += value
    return total


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection after this response


def request(port: int, data: bytes, timeout: float = 10.0, head: bool = False) -> RawResponse:
    """Sends `data` on a fresh connection and reads one response (framed by Content-Length, else until close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock, head=head)


def read_response(sock: socket.socket, head: bool = False) -> RawResponse:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head: {buffer[:200]!r}")
        buffer += chunk
    head_bytes, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    closed = False
    if head:
        body = b""
    elif "content-length" in headers:
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside a body")
            rest += chunk
        body = rest[:length]
    else:
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                break
            rest += chunk
        body, closed = rest, True
    if not closed and headers.get("connection", "").lower() == "close":
        sock.settimeout(2.0)
        try:
            closed = sock.recv(1) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
    return RawResponse(status, headers, body, closed)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


@dataclass
class LoadResult:
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    # Per client: the longest time between two successful responses (start and stop count as successes).
    gaps: list[float] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.ok + len(self.failures)

    @property
    def longest_gap(self) -> float:
        return max(self.gaps, default=0.0)


class KeepAliveLoad:
    """`threads` keep-alive connections (clients), each sending `targets` in turn until stopped, `pause`
    seconds apart; a request counts as failed when it was sent on an open connection and got no
    complete response or an unexpected status. Every request is counted, and each client records the
    longest gap between its successful responses (what a user of a load-balanced service notices)."""

    def __init__(self, port: int, targets: list[tuple[str, set[int]]], threads: int = 8, pause: float = 0.0) -> None:
        self.port = port
        self.targets = targets
        self.pause = pause
        self.stop_flag = threading.Event()
        self.result = LoadResult(gaps=[0.0] * threads)
        self.lock = threading.Lock()
        self.workers = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def start(self) -> "KeepAliveLoad":
        for worker in self.workers:
            worker.start()
        return self

    def stop(self) -> LoadResult:
        self.stop_flag.set()
        for worker in self.workers:
            worker.join(30)
        return self.result

    def _succeeded(self, index: int, last: float) -> float:
        now = time.perf_counter()
        with self.lock:
            self.result.gaps[index] = max(self.result.gaps[index], now - last)
        return now

    def _run(self, index: int) -> None:
        sock = None
        n = index
        last_success = time.perf_counter()
        while not self.stop_flag.is_set():
            if sock is None:
                try:
                    sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                except OSError:
                    # Not accepted (the listener is closed): nothing was sent, so nothing failed.
                    time.sleep(0.05)
                    continue
            target, expected = self.targets[n % len(self.targets)]
            n += 1
            started = time.perf_counter()
            try:
                sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                response = read_response(sock)
            except OSError as error:
                with self.lock:
                    self.result.failures.append(f"{target}: {error!r}")
                sock.close()
                sock = None
                continue
            elapsed = time.perf_counter() - started
            with self.lock:
                self.result.latencies.append(elapsed)
                self.result.statuses[response.status] = self.result.statuses.get(response.status, 0) + 1
                if response.status in expected:
                    self.result.ok += 1
                else:
                    self.result.failures.append(f"{target}: status {response.status}")
            if response.status in expected:
                last_success = self._succeeded(index, last_success)
            if response.closed or response.headers.get("connection", "").lower() == "close":
                sock.close()
                sock = None
            if self.pause:
                self.stop_flag.wait(self.pause)
        self._succeeded(index, last_success)
        if sock is not None:
            sock.close()
