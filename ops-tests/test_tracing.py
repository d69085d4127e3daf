"""Tracing against a real OTLP/HTTP receiver (`support.otlp`: a small HTTP server on a free loopback port
that decodes the protobuf export requests with `opentelemetry-proto`, as a collector or Jaeger would).

Checked: server spans with and without `traceparent` (trace id, parent span id, name, kind, HTTP
attributes), parent-based sampling both ways, error status on 5xx, the ports load span at start, a
failed SIGHUP reload span with the error offset and a file-change reload span, log lines carrying
the span's trace_id/span_id, the server answering while the receiver is down with
`keyport_trace_spans_dropped_total` rising, SIGTERM flushing spans still queued, and pipelined requests
(HEAD among them) with one span each, ended in order, while a request refused with 408 has none.
Needs the built binary (`swift build`, or KEYPORT_BIN).
"""
from __future__ import annotations

import json
import pathlib
import re
import secrets
import shutil
import signal
import socket
import tempfile
import time

import pytest

import support
from support import keyport as hs
from support.otlp import SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, STATUS_CODE_ERROR, Receiver

PORTS_JSON = support.REPO.parent / "shared" / "data" / "ports.json"
# Export every 200 ms instead of every 5 s, so a test waits a little, not long.
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "200"}


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def ports_file():
    directory = pathlib.Path(tempfile.mkdtemp(prefix="keyport-tracing-"))
    path = directory / "ports.json"
    shutil.copyfile(PORTS_JSON, path)
    yield path
    shutil.rmtree(directory, ignore_errors=True)


def get(port: int, path: str, headers: dict[str, str] | None = None) -> hs.RawResponse:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return hs.request(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n".encode())


def log_lines(server: hs.Keyport) -> list[dict]:
    lines = []
    for line in server.log_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    return lines


def traceparent(trace_id: str, parent_id: str, sampled: bool = True) -> str:
    return f"00-{trace_id}-{parent_id}-{'01' if sampled else '00'}"


def test_a_request_without_traceparent_starts_a_trace_with_the_http_attributes(receiver, ports_file):
    env = {**FAST_EXPORT, "OTEL_RESOURCE_ATTRIBUTES": "k8s.pod.name=keyport-0,k8s.namespace.name=test"}
    with hs.Keyport("--otlp-endpoint", receiver.endpoint, "--ports-file", str(ports_file), env=env) as server:
        assert get(server.port, "/key/32?encoding=hex").status == 200
        span = receiver.wait_for(name="GET /key/{length}")
        assert span["kind"] == SPAN_KIND_SERVER
        assert span["parent_span_id"] == ""
        assert re.fullmatch(r"[0-9a-f]{32}", span["trace_id"]) and span["trace_id"] != "0" * 32
        assert span["attributes"] == {
            "http.request.method": "GET",
            "http.route": "/key/{length}",
            "url.path": "/key/32",
            "url.scheme": "http",
            "http.response.status_code": 200,
            "network.protocol.version": "1.1",
            "server.address": "127.0.0.1",
            "server.port": server.port,
        }
        assert span["status"] != STATUS_CODE_ERROR
        assert span["resource"]["service.name"] == "keyport"
        assert span["resource"]["k8s.pod.name"] == "keyport-0" and span["resource"]["k8s.namespace.name"] == "test"
        assert re.fullmatch(r"\d+\.\d+\.\d+.*", span["resource"]["service.version"])
        # An unmatched path is named by its method only and has no route (the template set stays bounded).
        assert get(server.port, "/nope/here").status == 404
        unmatched = receiver.wait_for(name="GET", **{"kind": SPAN_KIND_SERVER})
        assert "http.route" not in unmatched["attributes"]
        assert unmatched["attributes"]["http.response.status_code"] == 404
        assert hs.metric_sum(server.metrics(), "keyport_trace_spans_dropped_total") == 0


def test_a_traceparent_continues_the_callers_trace_and_its_decision_wins(receiver, ports_file):
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    unsampled_trace = secrets.token_hex(16)
    with hs.Keyport("--otlp-endpoint", receiver.endpoint, "--ports-file", str(ports_file), env=FAST_EXPORT) as server:
        headers = {"traceparent": traceparent(trace_id, parent_id), "tracestate": "vendor=abc"}
        assert get(server.port, "/ports/DEHAM", headers).status == 200
        # The caller decided not to sample: ratio 1.0 does not override it.
        assert get(server.port, "/key/16", {"traceparent": traceparent(unsampled_trace, parent_id, sampled=False)}).status == 200
        assert get(server.port, "/health").status == 200
        span = receiver.wait_for(trace_id=trace_id)
        receiver.wait_for(name="GET /health")  # exported after the unsampled request
        assert span["parent_span_id"] == parent_id
        assert span["span_id"] != parent_id
        assert span["name"] == "GET /ports/{id}"
        assert span["kind"] == SPAN_KIND_SERVER
        assert span["attributes"]["http.route"] == "/ports/{id}"
        assert span["attributes"]["url.path"] == "/ports/DEHAM"
        assert receiver.find(trace_id=unsampled_trace) == []


def test_at_ratio_zero_new_traces_are_not_sampled_but_a_sampled_caller_is(receiver, ports_file):
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    with hs.Keyport(
        "--otlp-endpoint", receiver.endpoint, "--trace-sample-ratio", "0", "--ports-file", str(ports_file), env=FAST_EXPORT
    ) as server:
        for _ in range(5):
            assert get(server.port, "/key/8").status == 200
        assert get(server.port, "/key/32", {"traceparent": traceparent(trace_id, parent_id)}).status == 200
        span = receiver.wait_for(trace_id=trace_id)
        assert span["attributes"]["url.path"] == "/key/32"
        assert [s for s in receiver.find(kind=SPAN_KIND_SERVER) if s["trace_id"] != trace_id] == []


def test_a_5xx_sets_error_status_and_logs_its_trace_and_span_ids(receiver, ports_file):
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    with hs.Keyport(
        "--otlp-endpoint", receiver.endpoint, "--enable-fault-injection", "--log-level", "debug",
        "--ports-file", str(ports_file), env=FAST_EXPORT,
    ) as server:
        body = b'{"error_rate": 1}'
        # Fault injection lives on the admin listener (its requests are traced too).
        response = hs.request(server.admin_port, b"POST /debug/fault HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        assert response.status == 204
        assert get(server.port, "/key/32", {"traceparent": traceparent(trace_id, parent_id)}).status == 500
        span = receiver.wait_for(trace_id=trace_id)
        assert span["status"] == STATUS_CODE_ERROR
        assert span["attributes"]["http.response.status_code"] == 500
        assert span["attributes"]["error.type"] == "500"
        lines = support.wait_until(
            lambda: [l for l in log_lines(server) if l.get("message") == "request failed" and l.get("trace_id") == trace_id],
            10, what="the request-failed log line")
        assert lines[0]["span_id"] == span["span_id"]
        assert lines[0]["level"] == "error" and lines[0]["route"] == "/key/{length}" and lines[0]["status"] == "500"
        # The fault-arming POST succeeded: it is in the log at debug level with its own, different trace.
        served = [l for l in log_lines(server) if l.get("message") == "request served" and l.get("route") == "/debug/fault"]
        assert served and served[0]["trace_id"] != trace_id and re.fullmatch(r"[0-9a-f]{16}", served[0]["span_id"])


def test_log_lines_of_a_traced_request_carry_its_ids_and_untraced_lines_none(receiver, ports_file):
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    with hs.Keyport(
        "--otlp-endpoint", receiver.endpoint, "--log-level", "debug", "--ports-file", str(ports_file), env=FAST_EXPORT
    ) as server:
        assert get(server.port, "/key/32", {"traceparent": traceparent(trace_id, parent_id)}).status == 200
        span = receiver.wait_for(trace_id=trace_id)
        line = support.wait_until(
            lambda: [l for l in log_lines(server) if l.get("trace_id") == trace_id], 10, what="a log line with the trace id")[0]
        assert line["message"] == "request served"
        assert line["span_id"] == span["span_id"]
        listening = [l for l in log_lines(server) if l.get("message") == "listening"]
        assert listening and "trace_id" not in listening[0]


def test_without_an_endpoint_no_span_is_sent_and_logs_have_no_trace_ids(receiver, ports_file):
    with hs.Keyport("--log-level", "debug", "--ports-file", str(ports_file), env=FAST_EXPORT) as server:
        assert get(server.port, "/key/32", {"traceparent": traceparent(secrets.token_hex(16), secrets.token_hex(8))}).status == 200
        assert not any("trace_id" in l for l in log_lines(server))
        assert not any(l.get("message") == "request served" for l in log_lines(server))
    assert receiver.requests == 0


def test_ports_load_and_a_failed_sighup_reload_have_spans_and_the_error_offset(receiver, ports_file):
    with hs.Keyport("--otlp-endpoint", receiver.endpoint, "--ports-file", str(ports_file), env=FAST_EXPORT) as server:
        load = receiver.wait_for(name="ports.load")
        assert load["kind"] == SPAN_KIND_INTERNAL and load["parent_span_id"] == ""
        assert load["attributes"]["keyport.ports.trigger"] == "start"
        assert load["attributes"]["keyport.ports.path"] == str(ports_file)
        assert load["attributes"]["keyport.ports.bytes"] == ports_file.stat().st_size
        assert load["attributes"]["keyport.ports.records"] == len(json.loads(PORTS_JSON.read_text()))
        assert load["status"] != STATUS_CODE_ERROR
        loaded = [l for l in log_lines(server) if l.get("message") == "ports file loaded"]
        assert loaded and loaded[0]["trace_id"] == load["trace_id"] and loaded[0]["span_id"] == load["span_id"]

        ports_file.write_text('{"AEAUH" 1}')
        server.signal(signal.SIGHUP)
        reload = receiver.wait_for(name="ports.reload")
        assert reload["attributes"]["keyport.ports.trigger"] == "SIGHUP"
        assert reload["status"] == STATUS_CODE_ERROR
        assert reload["attributes"]["keyport.ports.error.kind"] == "syntax"
        assert reload["attributes"]["error.type"] == "syntax"
        failed = support.wait_until(
            lambda: [l for l in log_lines(server) if l.get("message", "").startswith("ports file reload failed")], 10,
            what="the reload-failed log line")[0]
        assert failed["trace_id"] == reload["trace_id"]
        offset = int(re.search(r"byte (\d+)", failed["error"]).group(1))
        assert reload["attributes"]["keyport.ports.error.offset"] == offset
        assert 0 < offset < len('{"AEAUH" 1}')
        assert f"byte {offset}" in reload["status_message"]
        assert "keyport.ports.records" not in reload["attributes"]
        assert get(server.port, "/ports/DEHAM").status == 200  # the previous data still serves


def test_with_the_receiver_down_the_server_answers_and_counts_dropped_spans(ports_file):
    closed_port = support.free_port()  # nothing listens here
    env = {**FAST_EXPORT, "OTEL_BSP_EXPORT_TIMEOUT": "1000", "OTEL_EXPORTER_OTLP_TIMEOUT": "500"}
    with hs.Keyport("--otlp-endpoint", f"http://127.0.0.1:{closed_port}", "--ports-file", str(ports_file), env=env) as server:
        for _ in range(50):
            assert get(server.port, "/key/32").status == 200
        dropped = support.wait_until(
            lambda: hs.metric_sum(server.metrics(), "keyport_trace_spans_dropped_total") >= 50, 30,
            what="keyport_trace_spans_dropped_total to reach the 50 request spans")
        assert dropped
        before = hs.metric_sum(server.metrics(), "keyport_trace_spans_dropped_total")
        for _ in range(20):
            assert get(server.port, "/ports/DEHAM").status == 200
        support.wait_until(
            lambda: hs.metric_sum(server.metrics(), "keyport_trace_spans_dropped_total") >= before + 20, 30,
            what="the counter to rise with more requests")


def test_with_a_slow_receiver_requests_stay_fast_and_overflow_is_counted(ports_file):
    slow = Receiver(delay=2.0)
    # A queue of 10 spans exported 5 at a time, each export taking 2 s: most of 100 spans cannot fit.
    env = {**FAST_EXPORT, "OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "5"}
    try:
        with hs.Keyport("--otlp-endpoint", slow.endpoint, "--ports-file", str(ports_file), env=env) as server:
            slowest = 0.0
            for _ in range(100):
                started = time.perf_counter()
                assert get(server.port, "/key/32").status == 200
                slowest = max(slowest, time.perf_counter() - started)
            assert slowest < 1.0, f"a request took {slowest:.2f} s while the receiver takes 2 s per export"
            support.wait_until(
                lambda: hs.metric_sum(server.metrics(), "keyport_trace_spans_dropped_total") >= 50, 30,
                what="queue-full drops to be counted")
            support.wait_until(lambda: slow.find(name="GET /key/{length}"), 30, what="some spans still exported")
    finally:
        slow.close()


def test_sigterm_flushes_the_spans_still_queued(receiver, ports_file):
    # Exports would wait a minute: only the shutdown flush can deliver these spans in time.
    env = {"OTEL_BSP_SCHEDULE_DELAY": "60000"}
    server = hs.Keyport("--otlp-endpoint", receiver.endpoint, "--ports-file", str(ports_file), env=env)
    try:
        for _ in range(10):
            assert get(server.port, "/key/32").status == 200
        assert receiver.find(name="GET /key/{length}") == []
        assert server.stop(grace=20) == 0
    finally:
        server.__exit__()
    assert len(receiver.find(name="GET /key/{length}")) == 10
    assert len(receiver.find(name="ports.load")) == 1


def test_a_changed_file_reloads_in_its_own_span_with_the_new_counts(receiver, ports_file):
    with hs.Keyport("--otlp-endpoint", receiver.endpoint, "--ports-file", str(ports_file), env=FAST_EXPORT) as server:
        receiver.wait_for(name="ports.load")
        records = json.loads(PORTS_JSON.read_text())
        kept = dict(list(records.items())[:2])
        ports_file.write_text(json.dumps(kept))
        # The file is polled every 10 s (path, inode, size, mtime).
        reload = receiver.wait_for(timeout=30, name="ports.reload")
        assert reload["attributes"]["keyport.ports.trigger"] == "file changed"
        assert reload["attributes"]["keyport.ports.records"] == 2
        assert reload["attributes"]["keyport.ports.bytes"] == ports_file.stat().st_size
        assert reload["status"] != STATUS_CODE_ERROR
        assert reload["trace_id"] != receiver.find(name="ports.load")[0]["trace_id"]
        assert get(server.port, f"/ports/{next(iter(kept))}").status == 200


def test_pipelined_requests_get_one_span_each_ended_in_order_and_refused_ones_none(receiver, ports_file):
    with hs.Keyport(
        "--otlp-endpoint", receiver.endpoint, "--request-timeout", "300ms", "--ports-file", str(ports_file), env=FAST_EXPORT
    ) as server:
        receiver.wait_for(name="ports.load")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /key/8 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /ports/DEHAM HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):  # the last request says close
                data += chunk
        assert re.findall(rb"HTTP/1.1 (\d{3}) ", data) == [b"200", b"200", b"200"]
        last = receiver.wait_for(name="GET /ports/{id}")
        first = receiver.wait_for(name="GET /key/{length}")
        head = receiver.wait_for(name="HEAD /health")
        assert head["attributes"]["http.request.method"] == "HEAD" and head["attributes"]["http.route"] == "/health"
        assert first["end"] <= head["end"] <= last["end"]
        assert len({first["trace_id"], head["trace_id"], last["trace_id"]}) == 3  # three root spans
        served = len(receiver.find(kind=SPAN_KIND_SERVER))
        # A request that never completes gets a 408 from the connection handler, before routing: no span.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /key/8 HTTP/1.1\r\nHost: x\r\n")
            assert hs.read_response(sock).status == 408
        assert get(server.port, "/health").status == 200
        receiver.wait_for(name="GET /health")
        assert len(receiver.find(kind=SPAN_KIND_SERVER)) == served + 1
