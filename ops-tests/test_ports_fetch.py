"""`keyport ports fetch` against real HTTP and HTTPS servers (Python's http.server and ssl in a thread, a CA
made by openssl): good files plain, gzip, redirected and over TLS are renamed into place; every failure
(digest, status, truncation, size cap, bad JSON, bad gzip, stall, TLS, bad URL) is one line on stderr, a
non-zero exit, the previous file untouched and no temporary file left beside it.
"""
from __future__ import annotations

import gzip
import hashlib
import http.server
import pathlib
import re
import ssl
import subprocess
import sys
import threading
import time

import pytest

import support
from support.tls import CA

REAL_PORTS = support.REPO.parent / "shared" / "data" / "ports.json"
GENERATE = support.REPO / "scripts" / "generate-ports.py"


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    support.require_keyport()
    support.require_tool("openssl", "Debian package openssl (on every machine of this kind)")


REAL = REAL_PORTS.read_bytes()
REAL_GZ = gzip.compress(REAL, mtime=0)
# A ':' after a field name replaced: the parser stops at exactly this offset, inside a known record.
BAD_AT = REAL.index(b'"name":', 250_000) + len(b'"name"')
BAD_RECORD = re.findall(rb'\n  "([A-Z0-9]+)": \{', REAL[:BAD_AT])[-1].decode()
BAD_JSON = REAL[:BAD_AT] + b";" + REAL[BAD_AT + 1 :]
# A wrong CRC-32 in the trailer (damage inside the deflate data mostly shows first as bad JSON) and a cut stream.
CRC_AT = len(REAL_GZ) - 8
CORRUPT_GZ = REAL_GZ[:CRC_AT] + bytes([REAL_GZ[CRC_AT] ^ 0xFF]) + REAL_GZ[CRC_AT + 1 :]
SHORT_GZ = REAL_GZ[: len(REAL_GZ) // 2]
NOT_JSON = b"<html><body>Service Unavailable</body></html>\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """Routes by path to what the tests need: files, a redirect, a 404, a body cut short, a chunked body
    with no length, a stall and a slow body."""

    protocol_version = "HTTP/1.1"
    files = {
        "/ports.json": REAL, "/ports.json.gz": REAL_GZ, "/bad.json": BAD_JSON, "/not-json": NOT_JSON,
        "/corrupt.json.gz": CORRUPT_GZ, "/short.json.gz": SHORT_GZ,
    }
    slow_file = b""

    def log_message(self, *args: object) -> None:  # the tests read keyport's output, not the server's
        pass

    def head(self, status: int, length: int | None, **headers: str) -> None:
        self.send_response(status)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def do_GET(self) -> None:
        path = self.path
        if path in self.files:
            self.head(200, len(self.files[path]), Content_Type="application/json")
            self.wfile.write(self.files[path])
        elif path == "/redirect":
            self.head(302, 0, Location="/redirect-2")
        elif path == "/redirect-2":
            self.head(301, 0, Location="/ports.json.gz")
        elif path == "/loop":
            self.head(302, 0, Location="/loop")
        elif path == "/truncated":
            self.head(200, len(REAL))
            self.wfile.write(REAL[:200_000])
        elif path == "/chunked":
            self.head(200, None, Transfer_Encoding="chunked")
            for start in range(0, len(REAL), 40_000):
                piece = REAL[start : start + 40_000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/stall":
            self.head(200, len(REAL))
            self.wfile.write(REAL[:1000])
            self.wfile.flush()
            time.sleep(6)
        elif path == "/slow":
            self.head(200, len(self.slow_file))
            for start in range(0, len(self.slow_file), 64 * 1024):
                self.wfile.write(self.slow_file[start : start + 64 * 1024])
                self.wfile.flush()
                time.sleep(0.2)
        else:
            self.head(404, 0)


class Server:
    """An http.server on a free loopback port in a daemon thread; `context` makes it HTTPS."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *args: None  # a client refusing the certificate is expected here
        if context:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.scheme = "https" if context else "http"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def http_server():
    server = Server()
    yield server
    server.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = CA(d, "ca")
    cert, key = ca.issue("leaf")
    return {"ca": ca.cert, "cert": cert, "key": key}


@pytest.fixture(scope="module")
def https_server(pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    server = Server(context)
    yield server
    server.close()


def fetch(url: str, output: pathlib.Path, digest: str | None, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    args = [support.keyport_bin(), "ports", "fetch", url, "--output", str(output)]
    if digest is not None:
        args += ["--sha256", digest]
    return subprocess.run([*args, *extra], capture_output=True, text=True, timeout=timeout)


def only(directory: pathlib.Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- success ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, body", [("/ports.json", REAL), ("/ports.json.gz", REAL_GZ), ("/chunked", REAL), ("/redirect", REAL_GZ)],
                         ids=["plain", "gzip", "chunked-no-length", "two-redirects"])
def test_a_good_file_is_renamed_into_place_as_served(http_server, tmp_path, path, body):
    output = tmp_path / "ports.json"
    output.write_bytes(b'{"OLD01": {"name": "previous"}}')
    result = fetch(http_server.url(path), output, sha256(body))
    assert result.returncode == 0, result.stderr
    assert output.read_bytes() == body  # gzip stays gzip: the server reads it as it is
    assert only(tmp_path) == ["ports.json"]
    assert output.stat().st_mode & 0o777 == 0o644
    line = result.stdout.strip()
    assert re.fullmatch(rf"{re.escape(str(output))}: {len(body)} bytes( \({len(REAL)} uncompressed\))?, 1632 records kept, "
                        rf"sha256 {sha256(body)} ok, [\d.]+s", line), line
    assert ("uncompressed" in line) == (body is REAL_GZ)
    assert result.stderr == ""


def test_the_downloaded_file_passes_keyport_ports_validate(http_server, tmp_path):
    output = tmp_path / "ports.json.gz"
    assert fetch(http_server.url("/ports.json.gz"), output, sha256(REAL_GZ)).returncode == 0
    validate = subprocess.run([support.keyport_bin(), "ports", "validate", str(output)], capture_output=True, text=True, timeout=120)
    assert validate.returncode == 0 and re.search(r"records kept:\s+1632\b", validate.stdout), validate.stdout + validate.stderr


def test_https_with_the_ca_file_succeeds_and_without_it_fails_on_the_certificate(https_server, pki, tmp_path):
    output = tmp_path / "ports.json"
    refused = fetch(https_server.url("/ports.json"), output, sha256(REAL))
    assert refused.returncode == 1
    assert len(refused.stderr.splitlines()) == 1, refused.stderr
    assert re.search(r": TLS handshake failed: .*CERTIFICATE_VERIFY_FAILED", refused.stderr), refused.stderr
    assert not output.exists() and only(tmp_path) == []
    no_ca = fetch(https_server.url("/ports.json"), output, sha256(REAL), "--ca-file", str(tmp_path / "absent.pem"))
    assert no_ca.returncode == 1 and len(no_ca.stderr.splitlines()) == 1, no_ca.stderr
    assert f"cannot read the CA file {tmp_path / 'absent.pem'}" in no_ca.stderr
    trusted = fetch(https_server.url("/ports.json"), output, sha256(REAL), "--ca-file", str(pki["ca"]))
    assert trusted.returncode == 0, trusted.stderr
    assert output.read_bytes() == REAL
    output.unlink()
    unverified = fetch(https_server.url("/ports.json"), output, sha256(REAL), "--insecure")
    assert unverified.returncode == 0, unverified.stderr
    assert output.read_bytes() == REAL


def test_a_slow_download_without_a_terminal_logs_progress_lines(http_server, tmp_path):
    source = tmp_path / "big.json"
    subprocess.run([sys.executable, str(GENERATE), "7000", "--duplicates", "0", "-o", str(source)], check=True)
    Handler.slow_file = source.read_bytes()  # ~2.1 MB at 64 KiB per 0.2 s: about 6.5 s, past the 5 s between lines
    assert len(Handler.slow_file) > 2_000_000
    output = tmp_path / "out" / "ports.json"
    output.parent.mkdir()
    started = time.monotonic()
    result = fetch(http_server.url("/slow"), output, sha256(Handler.slow_file))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 5, "too fast to show a progress line: slow the server down"
    progress = [line for line in result.stderr.splitlines() if line]
    assert progress, "no progress line in 5 s without a terminal"
    assert all(re.match(rf"keyport ports fetch: {re.escape(http_server.url('/slow'))}: [\d.]+ MB of [\d.]+ MB \(\d+%\), \d+ records, "
                        r"[\d.]+ MB/s, about \d+s left$", line) for line in progress), progress
    assert "\r" not in result.stderr
    assert "7000 records kept" in result.stdout


# --- failures: one line, exit 1, the previous file untouched, nothing left beside it -----------------


FAILURES = [
    # id, path, digest, extra args, the line
    ("wrong-digest", "/ports.json", "0" * 64, [], rf"SHA-256 mismatch: expected {'0' * 64}, got {sha256(REAL)}$"),
    ("status-404", "/missing.json", sha256(REAL), [], r"the server answered HTTP 404 Not Found, expected 2xx$"),
    # The client may drop the last buffered part when the connection fails: at most the 200000 sent.
    ("truncated", "/truncated", sha256(REAL), [], rf"the body ended early: got (1\d{{5}}|200000|\d{{1,5}}) of {len(REAL)} bytes \(.+\)$"),
    ("over-max-bytes-declared", "/ports.json", sha256(REAL), ["--max-bytes", "100000"],
     rf"the body is {len(REAL)} bytes \(Content-Length\), over --max-bytes 100000$"),
    ("over-max-bytes-chunked", "/chunked", sha256(REAL), ["--max-bytes", "100k"], r"the body passed --max-bytes 100000 bytes; stopped$"),
    ("not-json", "/not-json", sha256(NOT_JSON), [],
     r"not a valid ports file: byte 0 \(line 1, column 1\): the top level must be a JSON object of port records keyed by id, found .+$"),
    ("bad-json", "/bad.json", sha256(BAD_JSON), [], rf"not a valid ports file: byte {BAD_AT} \(line \d+, column \d+\): .*\"{BAD_RECORD}\""),
    ("corrupt-gzip", "/corrupt.json.gz", sha256(CORRUPT_GZ), [], r"gzip: corrupt compressed data \(incorrect data check\) at compressed byte \d+$"),
    ("gzip-ends-early", "/short.json.gz", sha256(SHORT_GZ), [], r"gzip: the compressed data ends early \(truncated file\) at compressed byte \d+$"),
    ("stall-past-timeout", "/stall", sha256(REAL), ["--timeout", "1s"], r"timed out: the download took longer than --timeout 1s$"),
    ("redirect-loop", "/loop", sha256(REAL), [], r"redirect"),
]


@pytest.mark.parametrize("previous", [b'{"OLD01": {"name": "previous good data"}}', None], ids=["file-kept", "no-file"])
@pytest.mark.parametrize("case, path, digest, extra, message", FAILURES, ids=[f[0] for f in FAILURES])
def test_a_failure_is_one_line_and_leaves_the_previous_file_alone(http_server, tmp_path, case, path, digest, extra, message, previous):
    output = tmp_path / "ports.json"
    if previous is not None:
        output.write_bytes(previous)
    started = time.monotonic()
    result = fetch(http_server.url(path), output, digest, *extra)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    prefix = f"keyport ports fetch: {http_server.url(path)}: "
    assert lines[0].startswith(prefix), lines[0]
    assert re.search(message, lines[0][len(prefix):]), lines[0]
    if previous is None:
        assert only(tmp_path) == []
    else:
        assert only(tmp_path) == ["ports.json"] and output.read_bytes() == previous
    if case == "stall-past-timeout":
        assert time.monotonic() - started < 4, "the deadline did not stop the stalled download"


def test_connection_failures_are_one_line(tmp_path):
    output = tmp_path / "ports.json"
    refused = fetch(f"http://127.0.0.1:{support.free_port()}/ports.json", output, sha256(REAL))
    unknown = fetch("http://no-such-host.invalid/ports.json", output, sha256(REAL))
    for result in (refused, unknown):
        assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    assert refused.stderr.endswith(": cannot connect: Connection refused\n"), refused.stderr
    assert re.search(r": DNS error: .*no-such-host\.invalid", unknown.stderr), unknown.stderr
    assert only(tmp_path) == []


@pytest.mark.parametrize("url, args, message", [
    ("ftp://127.0.0.1/ports.json", ["--sha256", "0" * 64], r'invalid value "ftp://127.0.0.1/ports.json" for URL: expected an http:// or https:// URL'),
    ("http://", ["--sha256", "0" * 64], r'invalid value "http://" for URL'),
    ("http://127.0.0.1/p", ["--sha256", "abc"], r'invalid value "abc" for --sha256: expected 64 hex digits'),
    ("http://127.0.0.1/p", ["--sha256", "0" * 64, "--max-bytes", "lots"], r'invalid value "lots" for --max-bytes: expected a positive byte count'),
    ("http://127.0.0.1/p", ["--sha256", "0" * 64, "--timeout", "soon"], r'invalid value "soon" for --timeout: expected a duration'),
    ("http://127.0.0.1/p", [], r"Missing expected argument '--sha256 <hex>'"),
], ids=["scheme", "no-host", "sha256", "max-bytes", "timeout", "no-sha256"])
def test_usage_errors_exit_64_naming_the_flag(tmp_path, url, args, message):
    output = tmp_path / "ports.json"
    output.write_bytes(b"previous")
    result = subprocess.run([support.keyport_bin(), "ports", "fetch", url, "--output", str(output), *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64, result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert only(tmp_path) == ["ports.json"] and output.read_bytes() == b"previous"


def test_a_missing_output_directory_is_one_line(http_server, tmp_path):
    result = fetch(http_server.url("/ports.json"), tmp_path / "absent" / "ports.json", sha256(REAL))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"keyport ports fetch: {http_server.url('/ports.json')}: cannot create a file in {tmp_path}/absent/: No such file or directory"]


def test_help_names_every_flag():
    result = subprocess.run([support.keyport_bin(), "ports", "fetch", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for flag in ("--sha256 <hex>", "--output <path>", "--max-bytes <size>", "--timeout <duration>", "--ca-file <pem>", "--insecure"):
        assert flag in result.stdout, result.stdout
