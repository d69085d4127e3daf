#!/usr/bin/env python3
"""A minimal OTLP/HTTP traces sink for the tracing benchmark: accepts POST /v1/traces, answers 200 with
an empty protobuf body, decodes nothing (the benchmark measures keyport, not the receiver). On SIGTERM
it prints how many export requests and bytes it took, so a run shows the spans really left keyport.

  otlp_sink.py PORT"""
import http.server
import signal
import sys
import threading

received = {"requests": 0, "bytes": 0}
lock = threading.Lock()


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a collector would

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            received["requests"] += 1
            received["bytes"] += len(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def report(*_: object) -> None:
    print(f"otlp_sink: {received['requests']} export requests, {received['bytes']} bytes", file=sys.stderr, flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, report)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
