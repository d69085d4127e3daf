"""A receiver for Alertmanager's webhook (version 4 payload) that records every alert it is sent, for the
live alerting tests; and, as a command, one that prints them for the compose stack (docs/runbooks.md):

    cd ops-tests && python3 -m support.webhook --port 5001
"""
from __future__ import annotations

import argparse
import http.server
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable


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
    parser = argparse.ArgumentParser(description="print the alerts Alertmanager posts")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--host", default="0.0.0.0", help="0.0.0.0 so that containers can reach it")
    args = parser.parse_args(argv)
    return _serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
