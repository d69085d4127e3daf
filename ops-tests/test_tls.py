"""keyport over TLS with a real CA made by openssl: protocol versions, refused clients, start-up errors,
certificate rotation under load (the Kubernetes Secret `..data` symlink swap), mutual TLS, `keyport
check` over HTTPS and an independent scan by sslyze."""
from __future__ import annotations

import json
import os
import pathlib
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

import support
from support import keyport as hs
from support import otlp
from support.process import Process
from support.tls import CA, openssl


@pytest.fixture(scope="module", autouse=True)
def needs_keyport_and_openssl() -> None:
    support.require_keyport()
    support.require_tool("openssl", "Debian package openssl (on every machine of this kind)")


def serial_of(cert: pathlib.Path) -> str:
    return openssl("x509", "-noout", "-serial", "-in", str(cert), cwd=cert.parent).strip().removeprefix("serial=")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    d = tmp_path_factory.mktemp("pki")
    ca, other = CA(d, "ca"), CA(d, "other-ca")
    files: dict[str, pathlib.Path] = {"ca": ca.cert, "other-ca": other.cert}
    files["leaf.crt"], files["leaf.key"] = ca.issue("leaf")
    files["next.crt"], files["next.key"] = ca.issue("next")
    files["expired.crt"], _ = ca.issue("expired", days=-1, key="leaf.key")
    files["client.crt"], files["client.key"] = ca.issue("client", client=True)
    files["stranger.crt"], files["stranger.key"] = other.issue("stranger", client=True)
    files["garbage"] = d / "garbage.pem"
    files["garbage"].write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    return files


class SecretDir:
    """A Kubernetes Secret volume: `tls.crt -> ..data/tls.crt`, `..data -> ..<version>`; `swap` writes a
    new version directory and renames a new `..data` symlink over the old one, as the kubelet does."""

    def __init__(self, root: pathlib.Path, cert: pathlib.Path, key: pathlib.Path) -> None:
        self.root, self.version = root, 0
        self.root.mkdir(parents=True, exist_ok=True)
        self.swap(cert, key)
        for name in ("tls.crt", "tls.key"):
            (root / name).symlink_to(f"..data/{name}")

    def swap(self, cert: pathlib.Path, key: pathlib.Path) -> None:
        self.version += 1
        version = self.root / f"..v{self.version}"
        version.mkdir()
        (version / "tls.crt").write_bytes(cert.read_bytes())
        (version / "tls.key").write_bytes(key.read_bytes())
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(version.name)
        os.replace(tmp, self.root / "..data")

    @property
    def cert(self) -> pathlib.Path:
        return self.root / "tls.crt"

    @property
    def key(self) -> pathlib.Path:
        return self.root / "tls.key"


def client_context(ca: pathlib.Path | None, cert: pathlib.Path | None = None, key: pathlib.Path | None = None,
                   version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if cert:
        context.load_cert_chain(str(cert), str(key))
    if version:
        context.minimum_version = context.maximum_version = version
    return context


class TLSKeyport(Process):
    """keyport with `--tls-*` flags on a free loopback port, ready once /ready answers 200 over TLS."""

    def __init__(self, *args: str, ca: pathlib.Path, client: tuple[pathlib.Path, pathlib.Path] | None = None) -> None:
        self.port = support.free_port()
        self.admin_port = support.free_port()
        super().__init__(
            [support.keyport_bin(), "--host", "127.0.0.1", "--srv-port", str(self.port), "--admin-port", str(self.admin_port),
             "--log-format", "json", *args], name="keyport-tls")
        try:
            self.context = client_context(ca, *(client or (None, None)))
            self.wait(lambda: self.get("/ready").status == 200, 60, "keyport ready over TLS")
        except BaseException:
            self.__exit__()  # the fixture only stops the instances it was handed
            raise

    def connect(self, context: ssl.SSLContext | None = None, admin: bool = False) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.admin_port if admin else self.port), timeout=10)
        return (context or self.context).wrap_socket(raw, server_hostname="127.0.0.1")

    def get(self, path: str, sock: ssl.SSLSocket | None = None, admin: bool = False) -> hs.RawResponse:
        own = sock is None
        sock = sock or self.connect(admin=admin)
        try:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{'Connection: close' if own else ''}\r\n\r\n".encode())
            return hs.read_response(sock)
        finally:
            if own:
                sock.close()

    def metrics(self) -> dict[str, float]:
        return hs.parse_metrics(self.get("/metrics", admin=True).body.decode())



@pytest.fixture
def server(pki):
    started: list[TLSKeyport] = []

    def start(*args: str, **kw) -> TLSKeyport:
        kw.setdefault("ca", pki["ca"])
        started.append(TLSKeyport(*args, **kw))
        return started[-1]

    yield start
    for s in started:
        s.__exit__()


def tls_args(pki, cert="leaf.crt", key="leaf.key") -> list[str]:
    return ["--tls-cert-file", str(pki[cert]), "--tls-key-file", str(pki[key])]


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, timeout=30)


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_curl_gets_exactly_n_bytes_over_tls(pki, server, version):
    s = server(*tls_args(pki))
    out = curl("--cacert", str(pki["ca"]), f"--tlsv{version}", "--tls-max", version,
               "-w", "%{http_code} %{ssl_verify_result} %{size_download}", "-o", "/dev/null",
               f"https://127.0.0.1:{s.port}/key/32")
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode() == "200 0 32"
    # The negotiated version is the one asked for (curl -v names it), and ALPN chose http/1.1.
    verbose = curl("-v", "--cacert", str(pki["ca"]), f"--tlsv{version}", "--tls-max", version, "-o", "/dev/null",
                   f"https://127.0.0.1:{s.port}/key/32")
    assert f"TLSv{version}" in verbose.stderr.decode()
    assert "ALPN: server accepted http/1.1" in verbose.stderr.decode()
    assert len(s.get("/key/1000").body) == 1000


def test_tls_1_1_and_plain_http_are_refused_and_the_server_keeps_serving(pki, server, tmp_path):
    s = server(*tls_args(pki))
    probe = ["openssl", "s_client", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", str(pki["ca"])]
    refused = subprocess.run([*probe, "-connect", f"127.0.0.1:{s.port}"], input=b"", capture_output=True, timeout=30)
    assert refused.returncode != 0
    # keyport answers a TLS 1.1 ClientHello with a protocol_version alert: no certificate, no session.
    assert b"alert protocol version" in refused.stderr, refused.stderr
    assert b"no peer certificate available" in refused.stdout
    # Control: the same client does speak TLS 1.1 to a server that allows it, so the refusal above is keyport's.
    control_port = support.free_port()
    with Process(
        ["openssl", "s_server", "-accept", str(control_port), "-cert", str(pki["leaf.crt"]), "-key", str(pki["leaf.key"]),
         "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
        stdin=subprocess.PIPE,  # s_server stops at EOF on stdin
    ) as control:
        accepted = control.wait(
            lambda: (r := subprocess.run([*probe, "-connect", f"127.0.0.1:{control_port}"], input=b"",
                                         capture_output=True, timeout=30)).returncode == 0 and r, 20,
            "openssl s_server to accept TLS 1.1")
        assert b"Server certificate" in accepted.stdout and b"Protocol  : TLSv1.1" in accepted.stdout

    # Plain HTTP to the TLS port: no HTTP response, the connection is closed.
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        sock.sendall(b"GET /key/32 HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    assert not received.startswith(b"HTTP/"), received[:100]
    assert s.alive()
    assert s.get("/key/32").status == 200
    assert len(s.get("/key/32").body) == 32


def test_the_admin_listener_speaks_the_same_tls(pki, server):
    """Both listeners share the TLS settings: the admin port answers HTTPS with the same certificate,
    refuses plain HTTP, and under mutual TLS refuses a client without a certificate."""
    s = server(*tls_args(pki), "--tls-client-ca-file", str(pki["ca"]), client=(pki["client.crt"], pki["client.key"]))
    url = f"https://127.0.0.1:{s.admin_port}/metrics"
    client = ["--cacert", str(pki["ca"]), "--cert", str(pki["client.crt"]), "--key", str(pki["client.key"])]
    good = curl(*client, "-w", "%{http_code}", "-o", "/dev/null", url)
    assert good.returncode == 0 and good.stdout == b"200", good
    assert curl(*client, "-w", "%{http_code}", "-o", "/dev/null", f"https://127.0.0.1:{s.port}/metrics").stdout == b"404"
    refused = curl("--cacert", str(pki["ca"]), "-w", "%{http_code}", "-o", "/dev/null", url)
    assert refused.returncode != 0 and refused.stdout in (b"000", b""), refused
    with socket.create_connection(("127.0.0.1", s.admin_port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    assert not received.startswith(b"HTTP/"), received[:100]
    assert s.metrics()["keyport_tls_certificate_expiry_timestamp_seconds"] > 0


@pytest.mark.parametrize("case, flag, problem", [
    ("wrong key", "--tls-key-file", "does not match"),
    ("expired", "--tls-cert-file", "expired"),
    ("garbage certificate", "--tls-cert-file", "no PEM certificate"),
    ("garbage key", "--tls-key-file", "no PEM private key"),
    ("missing certificate", "--tls-cert-file", "does not exist"),
    ("key without certificate", "--tls-key-file", "--tls-cert-file"),
    ("garbage client CA", "--tls-client-ca-file", "no PEM certificate"),
])
def test_bad_files_at_start_exit_naming_the_flag(pki, case, flag, problem, tmp_path):
    args = {
        "wrong key": tls_args(pki, key="next.key"),
        "expired": tls_args(pki, cert="expired.crt"),
        "garbage certificate": tls_args(pki, cert="garbage"),
        "garbage key": tls_args(pki, key="garbage"),
        "missing certificate": ["--tls-cert-file", str(tmp_path / "nope.crt"), "--tls-key-file", str(pki["leaf.key"])],
        "key without certificate": ["--tls-key-file", str(pki["leaf.key"])],
        "garbage client CA": [*tls_args(pki), "--tls-client-ca-file", str(pki["garbage"])],
    }[case]
    port = support.free_port()
    result = subprocess.run([support.keyport_bin(), "--host", "127.0.0.1", "--srv-port", str(port), "--admin-port", "0", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 64, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("keyport: ") and flag in lines[0] and problem in lines[0], lines[0]
    assert result.stdout == "", "exited before logging anything (nothing bound)"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "nothing listens on the port"


def test_environment_twins_serve_tls(pki, server):
    port = support.free_port()
    env = {**os.environ, "KEYPORT_TLS_CERT_FILE": str(pki["leaf.crt"]), "KEYPORT_TLS_KEY_FILE": str(pki["leaf.key"])}
    with Process([support.keyport_bin(), "--host", "127.0.0.1", "--srv-port", str(port), "--admin-port", "0"], env=env,
                 inherit_env=False) as process:
        out = process.wait(lambda: (r := curl("--cacert", str(pki["ca"]), "-o", "/dev/null", "-w", "%{http_code}",
                                              f"https://127.0.0.1:{port}/health")).returncode == 0 and r, 60,
                           "keyport to serve TLS from its environment")
        assert out.stdout == b"200"


def test_spans_of_requests_over_tls_say_https_and_the_local_address(pki, server):
    """Tracing beside TLS: the server span sits behind the TLS handler and still sees the TCP connection."""
    receiver = otlp.Receiver()
    try:
        s = server(*tls_args(pki), "--otlp-endpoint", receiver.endpoint)
        with s.connect() as sock:
            # Two on one connection: each is its own span, in order.
            assert s.get("/key/16", sock).status == 200
            assert s.get("/ports/nope", sock).status == 404
        span = receiver.wait_for(name="GET /key/{length}")
        assert span["kind"] == otlp.SPAN_KIND_SERVER
        attributes = span["attributes"]
        assert attributes["url.scheme"] == "https"
        assert (attributes["server.address"], attributes["server.port"]) == ("127.0.0.1", s.port)
        assert attributes["network.protocol.version"] == "1.1"
        assert attributes["http.response.status_code"] == 200
        missing = receiver.wait_for(name="GET /ports/{id}")
        assert missing["attributes"]["http.response.status_code"] == 404 and missing["attributes"]["url.scheme"] == "https"
    finally:
        receiver.close()


class NewConnectionLoop:
    """A client looping requests, each on a new TLS connection, recording the served certificate's serial."""

    def __init__(self, s: TLSKeyport) -> None:
        self.s, self.stop_flag = s, threading.Event()
        self.serials: list[str] = []
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop_flag.is_set():
            try:
                with self.s.connect() as sock:
                    serial = sock.getpeercert()["serialNumber"]
                    response = self.s.get("/key/32", sock)
                if response.status != 200 or len(response.body) != 32:
                    self.failures.append(f"status {response.status}, {len(response.body)} bytes")
                self.serials.append(serial)
            except (OSError, ssl.SSLError) as error:
                self.failures.append(repr(error))

    def __enter__(self) -> "NewConnectionLoop":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_flag.set()
        self.thread.join(30)


def test_rotation_under_load_serves_the_new_serial_without_failures(pki, server, tmp_path):
    secret = SecretDir(tmp_path / "secret", pki["leaf.crt"], pki["leaf.key"])
    s = server("--tls-cert-file", str(secret.cert), "--tls-key-file", str(secret.key))
    old, new = serial_of(pki["leaf.crt"]), serial_of(pki["next.crt"])
    assert old != new
    expiry = s.metrics()["keyport_tls_certificate_expiry_timestamp_seconds"]
    assert abs(expiry - (time.time() + 2 * 86400)) < 300
    keep_alive = s.connect()
    assert keep_alive.getpeercert()["serialNumber"] == old
    assert s.get("/key/32", keep_alive).status == 200
    with NewConnectionLoop(s) as loop:
        support.wait_until(lambda: len(loop.serials) >= 20, 30, what="requests before the rotation")
        secret.swap(pki["next.crt"], pki["next.key"])
        support.wait_until(lambda: loop.serials and loop.serials[-1] == new, 30, what="the new serial on new connections")
        seen = len(loop.serials)
        support.wait_until(lambda: len(loop.serials) >= seen + 20, 30, what="requests after the rotation")
    assert loop.failures == []
    first_new = loop.serials.index(new)
    assert set(loop.serials[:first_new]) == {old} and set(loop.serials[first_new:]) == {new}
    # The connection opened before the rotation carries on with the certificate it was given.
    assert keep_alive.getpeercert()["serialNumber"] == old
    assert s.get("/key/32", keep_alive).status == 200
    keep_alive.close()
    metrics = s.metrics()
    assert hs.metric_sum(metrics, "keyport_tls_reloads_total", result="success") >= 1
    assert hs.metric_sum(metrics, "keyport_tls_reloads_total", result="failure") == 0


def test_a_bad_rotation_keeps_the_old_certificate_and_counts_a_failure(pki, server, tmp_path):
    secret = SecretDir(tmp_path / "secret", pki["leaf.crt"], pki["leaf.key"])
    s = server("--tls-cert-file", str(secret.cert), "--tls-key-file", str(secret.key))
    old = serial_of(pki["leaf.crt"])
    expiry = s.metrics()["keyport_tls_certificate_expiry_timestamp_seconds"]
    with NewConnectionLoop(s) as loop:
        support.wait_until(lambda: len(loop.serials) >= 10, 30)
        secret.swap(pki["next.crt"], pki["leaf.key"])  # the new certificate with the old, non-matching key
        s.wait(lambda: hs.metric_sum(s.metrics(), "keyport_tls_reloads_total", result="failure") == 1, 30, "a failed reload")
        seen = len(loop.serials)
        support.wait_until(lambda: len(loop.serials) >= seen + 10, 30)
    assert loop.failures == []
    assert set(loop.serials) == {old}
    metrics = s.metrics()
    assert hs.metric_sum(metrics, "keyport_tls_reloads_total", result="success") == 0
    assert metrics["keyport_tls_certificate_expiry_timestamp_seconds"] == expiry
    failures = [json.loads(line) for line in s.log_text().splitlines() if "TLS reload failed" in line]
    assert failures and "does not match" in failures[-1]["error"], s.log_text()[-2000:]


def test_mutual_tls_refuses_clients_without_a_certificate_or_from_another_ca(pki, server):
    s = server(*tls_args(pki), "--tls-client-ca-file", str(pki["ca"]), client=(pki["client.crt"], pki["client.key"]))
    url = f"https://127.0.0.1:{s.port}/key/32"
    good = curl("--cacert", str(pki["ca"]), "--cert", str(pki["client.crt"]), "--key", str(pki["client.key"]),
                "-w", "%{http_code} %{size_download}", "-o", "/dev/null", url)
    assert good.returncode == 0 and good.stdout == b"200 32", good
    for name, args in {
        "no certificate": [],
        "another CA": ["--cert", str(pki["stranger.crt"]), "--key", str(pki["stranger.key"])],
    }.items():
        for version in ("1.2", "1.3"):
            refused = curl("--cacert", str(pki["ca"]), f"--tlsv{version}", "--tls-max", version, *args,
                           "-w", "%{http_code}", "-o", "/dev/null", url)
            assert refused.returncode != 0 and refused.stdout in (b"000", b""), (name, version, refused)
    assert s.alive() and s.get("/key/32").status == 200


def test_keyport_check_speaks_https(pki, server):
    s = server(*tls_args(pki))
    url = f"https://127.0.0.1:{s.port}/ready"

    def check(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([support.keyport_bin(), "check", url, *args], capture_output=True, text=True, timeout=30)

    assert check("--ca-file", str(pki["ca"])).returncode == 0
    assert check("--insecure").returncode == 0
    assert check().returncode == 1, "the system roots do not trust the test CA"
    wrong = check("--ca-file", str(pki["other-ca"]))
    assert wrong.returncode == 1 and "certificate" in wrong.stderr.lower(), wrong.stderr


def test_sslyze_finds_nothing_below_tls_1_2_and_no_weak_cipher(pki, server, tmp_path):
    s = server(*tls_args(pki))
    report = tmp_path / "sslyze.json"
    result = subprocess.run(
        [sys.executable, "-m", "sslyze", f"127.0.0.1:{s.port}", "--json_out", str(report), "--quiet",
         "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3", "--compression", "--reneg",
         "--fallback", "--heartbleed", "--robot", "--openssl_ccs"],
        capture_output=True, text=True, timeout=300)
    assert report.exists(), result.stderr
    scan = json.loads(report.read_text())["server_scan_results"][0]
    assert scan["scan_status"] == "COMPLETED", scan
    results = scan["scan_result"]

    def accepted(command: str) -> list[str]:
        attempt = results[command]
        assert attempt["status"] == "COMPLETED", (command, attempt)
        return [s["cipher_suite"]["name"] for s in attempt["result"]["accepted_cipher_suites"]]

    for old in ("ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites", "tls_1_1_cipher_suites"):
        assert accepted(old) == [], old
    tls12, tls13 = accepted("tls_1_2_cipher_suites"), accepted("tls_1_3_cipher_suites")
    assert tls13, "TLS 1.3 is offered"
    assert tls12, "TLS 1.2 is offered"
    for name in tls12:
        # Forward secrecy and AEAD only: ECDHE key exchange, AES-GCM or ChaCha20-Poly1305.
        assert name.startswith("TLS_ECDHE_") and ("_GCM_" in name or "CHACHA20_POLY1305" in name), name
    for weak in ("RC4", "3DES", "DES_", "NULL", "EXPORT", "MD5", "CBC", "anon"):
        assert not any(weak in name for name in tls12 + tls13), weak
    assert results["tls_compression"]["result"]["supports_compression"] is False
    reneg = results["session_renegotiation"]["result"]
    assert reneg["is_vulnerable_to_client_renegotiation_dos"] is False
    assert results["heartbleed"]["result"]["is_vulnerable_to_heartbleed"] is False
    assert results["openssl_ccs_injection"]["result"]["is_vulnerable_to_ccs_injection"] is False
    assert results["robot"]["result"]["robot_result"] in ("NOT_VULNERABLE_NO_ORACLE", "NOT_VULNERABLE_RSA_NOT_SUPPORTED")
    assert results["tls_fallback_scsv"]["result"]["supports_fallback_scsv"] is True
    assert s.alive() and s.get("/key/32").status == 200


def test_the_local_tls_script_makes_a_pair_keyport_serves_and_rerunning_it_rotates(server, tmp_path):
    script = support.REPO / "scripts" / "make-local-tls.sh"
    tls = tmp_path / "tls"
    made = subprocess.run([str(script), str(tls)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(tls / "ca.crt"), str(tls / "tls.crt")],
                            capture_output=True, text=True, timeout=30)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    s = server("--tls-cert-file", str(tls / "tls.crt"), "--tls-key-file", str(tls / "tls.key"), ca=tls / "ca.crt")
    first = serial_of(tls / "tls.crt")
    # The names compose uses: the service name `keyport` (Prometheus' server_name) and localhost.
    for name in ("keyport", "localhost"):
        out = curl("--cacert", str(tls / "ca.crt"), "--resolve", f"{name}:{s.port}:127.0.0.1", "-o", "/dev/null",
                   "-w", "%{http_code}", f"https://{name}:{s.port}/key/32")
        assert out.returncode == 0 and out.stdout == b"200", (name, out)
    again = subprocess.run([str(script), str(tls)], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    second = serial_of(tls / "tls.crt")
    assert second != first
    support.wait_until(lambda: s.connect().getpeercert()["serialNumber"] == second, 30, what="the rotated serial")
    assert hs.metric_sum(s.metrics(), "keyport_tls_reloads_total", result="failure") == 0


def test_sslyze_finds_the_policy_compliant_with_mozilla_intermediate(pki, server):
    """sslyze's own judgement against Mozilla's "intermediate" profile (TLS 1.2 + 1.3, its cipher list,
    curves, certificate key and signature). The only finding allowed is the path validation of the
    test's private CA, which no public trust store knows."""
    s = server(*tls_args(pki))
    result = subprocess.run([sys.executable, "-m", "sslyze", f"127.0.0.1:{s.port}", "--mozilla_config=intermediate"],
                            capture_output=True, text=True, timeout=300)
    report = result.stdout[result.stdout.index("COMPLIANCE AGAINST TLS CONFIGURATION"):]
    findings = {line.strip()[2:].split(":")[0] for line in report.splitlines() if line.strip().startswith("* ")}
    assert findings == {"certificate_path_validation"}, report
    # Negative control: the stricter "modern" profile (TLS 1.3 only) does flag keyport's TLS 1.2 support.
    modern = subprocess.run([sys.executable, "-m", "sslyze", f"127.0.0.1:{s.port}", "--mozilla_config=modern"],
                            capture_output=True, text=True, timeout=300)
    assert "tls_versions" in modern.stdout[modern.stdout.index("COMPLIANCE"):], modern.stdout
