"""A real OTLP/HTTP trace receiver for the tests: a small HTTP server on a free loopback port that decodes
the protobuf export requests with `opentelemetry-proto`, as a collector (or Jaeger) would."""
from __future__ import annotations

import http.server
import threading
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from support import wait_until

SPAN_KIND_INTERNAL, SPAN_KIND_SERVER = 1, 2
STATUS_CODE_ERROR = 2


def attribute_value(value) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


class Receiver:
    """POST /v1/traces → decoded spans, kept in arrival order; answers like a collector (200, protobuf),
    after `delay` seconds when it plays a slow one."""

    def __init__(self, delay: float = 0.0) -> None:
        self.spans: list[dict] = []
        self.requests = 0
        self.delay = delay
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_error(404)
                    return
                export = ExportTraceServiceRequest()
                export.ParseFromString(body)
                time.sleep(receiver.delay)
                receiver.add(export)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, export: ExportTraceServiceRequest) -> None:
        with self.lock:
            self.requests += 1
            for resource_spans in export.resource_spans:
                resource = {a.key: attribute_value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append({
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "name": span.name,
                            "kind": span.kind,
                            "status": span.status.code,
                            "status_message": span.status.message,
                            "start": span.start_time_unix_nano,
                            "end": span.end_time_unix_nano,
                            "attributes": {a.key: attribute_value(a.value) for a in span.attributes},
                            "resource": resource,
                        })

    def find(self, **match: object) -> list[dict]:
        with self.lock:
            return [s for s in self.spans if all(s.get(k) == v for k, v in match.items())]

    def wait_for(self, timeout: float = 15.0, **match: object) -> dict:
        return wait_until(lambda: (self.find(**match) or [None])[0], timeout, what=f"a span with {match}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
