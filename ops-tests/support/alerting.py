"""Helpers for keyport's alerting tests: rendering the rules and Alertmanager config with Helm's engine,
running promtool/amtool, a webhook receiver that records what Alertmanager sends, process and cgroup
handling for the live Prometheus -> Alertmanager -> webhook test.

Also a tiny command line webhook receiver for the compose stack (docs/runbooks.md):

    cd ops-tests && python3 -m support.alerting webhook --port 5001
"""
from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from support import CHART, OPS_TESTS, REPO, RUNBOOKS, script_module

RULES_TEMPLATE = CHART / "files" / "keyport.rules.yaml"
ALERTMANAGER_TEMPLATE = CHART / "files" / "alertmanager.yaml"
DEPLOY_RULES = REPO / "deploy" / "prometheus" / "keyport.rules.yaml"
DEPLOY_ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
RULE_TESTS = OPS_TESTS / "rules"


def load_renderer():
    """scripts/render-alerting.py as a module (its name has a dash)."""
    return script_module("render-alerting")




# ---------------------------------------------------------------------------------------------
# Webhook receiver


@dataclass
class Notification:
    """One alert out of one Alertmanager webhook call, stamped with when it arrived."""

    received: float
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    receiver: str


@dataclass
class WebhookReceiver:
    """Records every alert Alertmanager posts (version 4 webhook payload) on host:port (port 0: any free one)."""

    port: int = 0
    host: str = "127.0.0.1"
    notifications: list[Notification] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._record(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/alerts"

    def start(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, payload: dict[str, Any]) -> None:
        now = time.time()
        with self._lock:
            for alert in payload.get("alerts", []):
                self.notifications.append(
                    Notification(now, alert["status"], alert["labels"], alert["annotations"], payload.get("receiver", ""))
                )
            self._lock.notify_all()

    def since(self, start: float) -> list[Notification]:
        with self._lock:
            return [n for n in self.notifications if n.received >= start]

    def wait_for(
        self, alertname: str, status: str, since: float, timeout: float, match: Callable[[Notification], bool] = lambda n: True
    ) -> Notification | None:
        """The first `alertname` notification with `status` received at or after `since`."""
        deadline = time.time() + timeout
        with self._lock:
            while True:
                for n in self.notifications:
                    if n.received >= since and n.labels.get("alertname") == alertname and n.status == status and match(n):
                        return n
                left = deadline - time.time()
                if left <= 0:
                    return None
                self._lock.wait(min(left, 0.5))


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass
class Process:
    """A started child process with its log file; stop() always reaps it."""

    name: str
    popen: subprocess.Popen
    log: pathlib.Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 5.0) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signal.SIGCONT)  # a stopped process cannot handle SIGTERM
            self.popen.terminate()
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(grace)


def start_process(
    name: str, argv: list[str], workdir: pathlib.Path, env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
) -> Process:
    log = workdir / f"{name}.log"
    handle = open(log, "wb")
    try:
        popen = subprocess.Popen(
            argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=workdir, preexec_fn=preexec,
        )
    finally:
        handle.close()
    return Process(name, popen, log)



# ---------------------------------------------------------------------------------------------
# cgroup v1 memory limit (so keyport reports keyport_memory_limit_bytes)


class MemoryCgroup:
    """A cgroup v1 memory group nested in this process' own, with a hard limit.

    `enter` is a preexec function: the child joins the group before exec, so keyport starts inside
    the limit. `remove()` deletes the group once it is empty.
    """

    ROOT = pathlib.Path("/sys/fs/cgroup/memory")

    def __init__(self, limit_bytes: int, name: str) -> None:
        self.limit_bytes = limit_bytes
        own = ""
        for line in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                own = path
        if not own or not (self.ROOT / "memory.limit_in_bytes").exists():
            raise OSError("no cgroup v1 memory controller at /sys/fs/cgroup/memory")
        self.path = self.ROOT / own.lstrip("/") / name
        self.path.mkdir()
        try:
            (self.path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            written = int((self.path / "memory.limit_in_bytes").read_text())
            if written > limit_bytes or written < limit_bytes - 65536:
                raise OSError(f"{self.path}: limit reads back {written}, wrote {limit_bytes}")
        except OSError:
            self.remove()
            raise

    def enter(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        if not self.path.exists():
            return
        parent = self.path.parent / "cgroup.procs"
        for pid in (self.path / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                parent.write_text(pid)
        for _ in range(20):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)
        self.path.rmdir()


# ---------------------------------------------------------------------------------------------
# Runbook anchors


def github_anchor(heading: str) -> str:
    """GitHub's heading id: lower case, punctuation dropped, spaces to dashes."""
    slug = "".join(c for c in heading.strip().lower() if c.isalnum() or c in " -_")
    return slug.replace(" ", "-")


def runbook_anchors(path: pathlib.Path = RUNBOOKS) -> set[str]:
    anchors = set()
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            anchors.add(github_anchor(line.lstrip("#")))
    return anchors


# ---------------------------------------------------------------------------------------------
# Command line: a webhook receiver that prints what arrives


def _serve(host: str, port: int) -> int:
    receiver = WebhookReceiver(port=port, host=host).start()
    print(f"listening on {receiver.url} (Ctrl-C stops)", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.5)
            for n in receiver.since(0)[seen:]:
                stamp = time.strftime("%H:%M:%S", time.localtime(n.received))
                print(f"{stamp} {n.status:8} {n.labels.get('alertname')} {n.annotations.get('summary', '')}", flush=True)
                seen += 1
    except KeyboardInterrupt:
        receiver.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="keyport alerting helpers")
    sub = parser.add_subparsers(dest="command", required=True)
    webhook = sub.add_parser("webhook", help="print the alerts Alertmanager posts")
    webhook.add_argument("--port", type=int, default=5001)
    webhook.add_argument("--host", default="0.0.0.0", help="0.0.0.0 so that containers can reach it")
    args = parser.parse_args(argv)
    if args.command == "webhook":
        return _serve(args.host, args.port)
    return 2


if __name__ == "__main__":
    sys.exit(main())
