#!/usr/bin/env python3
"""Checks a running compose stack from outside, the way a user would (used by compose-smoke.sh).

Needs the project name and the published ports in the environment: SMOKE_PROJECT, KEYPORT_PORT,
KEYPORT_ADMIN_PORT, PROMETHEUS_PORT, ALERTMANAGER_PORT, and the expected image labels KEYPORT_VERSION and
KEYPORT_REVISION. Prints one `ok:` line per check and exits 1 on the first failure.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml  # PyYAML, from the test venv

REPO = Path(__file__).resolve().parents[1]
RULES_FILE = REPO / "deploy/prometheus/keyport.rules.yaml"
PROJECT = os.environ["SMOKE_PROJECT"]
KEYPORT = f"http://127.0.0.1:{os.environ['KEYPORT_PORT']}"
# The admin listener (/metrics, /version), published on 127.0.0.1 only.
KEYPORT_ADMIN = f"http://127.0.0.1:{os.environ['KEYPORT_ADMIN_PORT']}"
PROMETHEUS = f"http://127.0.0.1:{os.environ['PROMETHEUS_PORT']}"
ALERTMANAGER = f"http://127.0.0.1:{os.environ['ALERTMANAGER_PORT']}"
USER = "65532:65532"
passed = 0


class CheckFailed(Exception):
    pass


def ok(message: str) -> None:
    global passed
    passed += 1
    print(f"ok: {message}", flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise CheckFailed(f"podman {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def container(service: str) -> str:
    names = podman(
        "ps", "-a", "--format", "{{.Names}}",
        "--filter", f"label=io.podman.compose.project={PROJECT}",
        "--filter", f"label=com.docker.compose.service={service}",
    ).stdout.split()
    expect(len(names) == 1, f"expected one {service} container in project {PROJECT}, found {names}")
    return names[0]


def http(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def poll(what: str, attempt, timeout: float = 90, interval: float = 1):
    """Calls attempt() until it returns a truthy value; fails with its last error after timeout."""
    deadline = time.monotonic() + timeout
    last = "never tried"
    while time.monotonic() < deadline:
        try:
            value = attempt()
            if value:
                return value
            last = f"returned {value!r}"
        except (OSError, CheckFailed, KeyError, ValueError) as error:
            last = str(error)
        time.sleep(interval)
    raise CheckFailed(f"{what}: not within {timeout:.0f}s ({last})")


def healthy(service: str) -> None:
    # podman < 4.6 schedules health checks with systemd timers, absent here: run them on demand.
    # This runs the compose file's own health-check command inside the container.
    name = container(service)
    started = time.monotonic()
    poll(f"{service} health check", lambda: podman("healthcheck", "run", name, check=False).returncode == 0, timeout=120, interval=2)
    ok(f"{service} health check passes in its container ({time.monotonic() - started:.1f}s)")


def prometheus_query(expr: str) -> list[dict]:
    status, _, body = http(f"{PROMETHEUS}/api/v1/query?query={urllib.parse.quote(expr)}")
    expect(status == 200, f"Prometheus query {expr!r}: HTTP {status} {body[:200]!r}")
    return json.loads(body)["data"]["result"]


def check_image() -> None:
    image = os.environ["KEYPORT_IMAGE"]
    info = json.loads(podman("image", "inspect", image).stdout)[0]
    config = info["Config"]
    labels = config.get("Labels") or {}
    expect(config.get("User") == USER, f"image user is {config.get('User')!r}, wanted {USER}")
    expect("1123/tcp" in (config.get("ExposedPorts") or {}), f"image exposes {config.get('ExposedPorts')}")
    for name, env in (("version", "KEYPORT_VERSION"), ("revision", "KEYPORT_REVISION")):
        key = f"org.opencontainers.image.{name}"
        expect(labels.get(key) == os.environ[env], f"label {key}={labels.get(key)!r}, wanted {os.environ[env]!r}")
    expect("org.opencontainers.image.source" in labels, "no org.opencontainers.image.source label")
    health = info.get("Healthcheck") or config.get("Healthcheck") or {}
    expect(health.get("Test", [])[1:3] == ["/usr/local/bin/keyport", "check"], f"image health check is {health}")
    ok(f"image {image}: user {USER}, exposes 1123, keyport health check, labels version={labels['org.opencontainers.image.version']} revision={labels['org.opencontainers.image.revision']}, {info['Size'] / 1e6:.0f} MB")
    # The image has no shell to ask: list its files from outside instead.
    created = podman("create", image).stdout.strip()
    try:
        listing = subprocess.run(f"podman export {created} | tar -t", shell=True, capture_output=True, text=True, check=True).stdout.split()
    finally:
        podman("rm", created, check=False)
    programs = [f for f in listing if "/bin/" in f and not f.endswith("/")]
    expect(programs == ["usr/local/bin/keyport"], f"programs in the runtime image: {programs}")
    expect(not [f for f in listing if "swift" in f or "clang" in f], "Swift or clang files in the runtime image")
    ok(f"runtime image has no shell, no compiler, one program: {programs} ({len(listing)} entries)")


def check_keyport() -> None:
    status, _, body = http(f"{KEYPORT}/health")
    expect(status == 200, f"/health through the published port: HTTP {status} {body[:200]!r}")
    status, _, body = http(f"{KEYPORT}/ready")
    expect(status == 200, f"/ready: HTTP {status} {body[:200]!r}")
    status, headers, body = http(f"{KEYPORT}/key/32")
    expect(status == 200 and len(body) == 32, f"/key/32: HTTP {status}, {len(body)} bytes")
    status, _, body = http(f"{KEYPORT}/key/16?encoding=hex")
    expect(status == 200 and re.fullmatch(rb"[0-9a-f]{32}", body.strip()), f"/key/16?encoding=hex: HTTP {status} {body!r}")
    status, _, body = http(f"{KEYPORT}/key/0")
    expect(status == 400, f"/key/0 should be 400, got HTTP {status}")
    status, _, body = http(f"{KEYPORT_ADMIN}/version")
    revision = json.loads(body).get("revision") if status == 200 else None
    expect(revision == os.environ["KEYPORT_REVISION"], f"/version: HTTP {status} {body[:200]!r}, wanted revision {os.environ['KEYPORT_REVISION']}")
    status, _, body = http(f"{KEYPORT}/openapi.yaml")
    expected = (REPO / "Sources/KeyportCore/Resources/openapi.yaml").read_bytes()
    expect(status == 200 and body == expected, f"/openapi.yaml: HTTP {status}, {len(body)} bytes, not the repository's file")
    status, _, body = http(f"{KEYPORT_ADMIN}/metrics")
    text = body.decode()
    expect(status == 200 and re.search(r"^keyport_ready(\{[^}]*\})? 1(\.0)?$", text, re.M), f"/metrics has no keyport_ready 1: HTTP {status}")
    for path in ("/metrics", "/version"):
        status, _, body = http(f"{KEYPORT}{path}")
        expect(status == 404, f"{path} on the service port {KEYPORT}: HTTP {status}, wanted 404 (admin listener only)")
    ok(f"keyport answers on {KEYPORT}: /health, /ready, /key (raw, hex, 400 on 0), /openapi.yaml (404 for /metrics, /version); "
       f"on {KEYPORT_ADMIN}: /version (revision {revision}), /metrics (keyport_ready 1)")


def check_ports_data() -> None:
    """The baked-in sample file is loaded and served."""
    status, _, body = http(f"{KEYPORT}/ports?limit=2")
    ports = json.loads(body).get("ports") if status == 200 and body.startswith(b"{") else None
    expect(bool(ports) and len(ports) <= 2 and all("id" in p for p in ports), f"/ports?limit=2: HTTP {status} {body[:200]!r}")
    status, _, body = http(f"{KEYPORT}/ports/{ports[0]['id']}")
    expect(status == 200 and json.loads(body)["id"] == ports[0]["id"], f"/ports/{ports[0]['id']}: HTTP {status}")
    status, _, body = http(f"{KEYPORT_ADMIN}/metrics")
    loaded = re.search(r"^keyport_ports(\{[^}]*\})? ([0-9.e+]+)$", body.decode(), re.M)
    expect(bool(loaded) and float(loaded.group(2)) > 0, f"keyport_ports is not positive ({loaded and loaded.group(0)}): the baked-in sample file was not loaded")
    ok(f"keyport serves the baked-in sample: {float(loaded.group(2)):.0f} ports, /ports?limit=2 and /ports/{ports[0]['id']}")


def check_keyport_container() -> None:
    name = container("keyport")
    info = json.loads(podman("inspect", name).stdout)[0]
    expect(info["Config"]["User"] == USER, f"container user {info['Config']['User']!r}")
    expect(info["HostConfig"]["ReadonlyRootfs"] is True, "root filesystem is not read-only")
    pid = info["State"]["Pid"]
    status = Path(f"/proc/{pid}/status").read_text()
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
    cap_eff = int(re.search(r"^CapEff:\s+([0-9a-f]+)$", status, re.M).group(1), 16)
    expect(set(uids) == {"65532"} and set(gids) == {"65532"}, f"keyport process runs as uid {uids} gid {gids}")
    expect(cap_eff == 0, f"keyport process has capabilities {cap_eff:#x}")
    root = [line.split() for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines() if line.split()[4] == "/"]
    expect(root and "ro" in root[0][5].split(","), f"root mount options: {root}")
    # The image has no shell and no touch: write through the process's root from outside instead.
    try:
        Path(f"/proc/{pid}/root/probe").write_text("x")
        refused = "the write succeeded"
    except OSError as err:
        refused = err.strerror if err.errno == errno.EROFS else f"unexpected {err!r}"
    expect(refused == "Read-only file system", f"writing / of the container through /proc/{pid}/root: {refused}")
    ok(f"keyport process (pid {pid}) runs as uid/gid 65532, no capabilities, read-only root filesystem (write to /: {refused})")


def check_prometheus() -> None:
    def keyport_target_up():
        status, _, body = http(f"{PROMETHEUS}/api/v1/targets?state=active")
        targets = json.loads(body)["data"]["activeTargets"]
        keyport = [t for t in targets if t["labels"].get("job") == "keyport"]
        expect(len(keyport) == 1, f"keyport targets: {keyport}")
        expect(keyport[0]["scrapeUrl"] == "http://keyport:9123/metrics", keyport[0]["scrapeUrl"])
        return keyport[0]["health"] == "up" and keyport[0]
    started = time.monotonic()
    target = poll("Prometheus scraping keyport:9123 with health up", keyport_target_up, timeout=60)
    ok(f"Prometheus target job=keyport {target['scrapeUrl']} is up ({time.monotonic() - started:.1f}s after ready)")

    poll("up{job=\"keyport\"} == 1 in Prometheus", lambda: [r for r in prometheus_query('up{job="keyport"}') if r["value"][1] == "1"], timeout=45)
    ready = poll("keyport_ready in Prometheus", lambda: prometheus_query('keyport_ready{job="keyport"}'), timeout=45)
    expect(ready[0]["value"][1] == "1", f"keyport_ready in Prometheus: {ready}")
    ok('Prometheus query up{job="keyport"} = 1 and keyport_ready{job="keyport"} = 1')

    status, _, body = http(f"{PROMETHEUS}/api/v1/rules")
    groups = json.loads(body)["data"]["groups"]
    loaded = sorted((g["name"], r["name"]) for g in groups for r in g["rules"])
    files = {g["file"] for g in groups}
    shared = yaml.safe_load(RULES_FILE.read_text())["groups"]
    wanted = sorted((g["name"], r.get("alert") or r.get("record")) for g in shared for r in g["rules"])
    expect(loaded == wanted, f"rules loaded by Prometheus differ from {RULES_FILE.name}: {set(loaded) ^ set(wanted)}")
    expect(files == {"/etc/prometheus/keyport.rules.yaml"}, f"rule files: {files}")
    health = {r.get("health") for g in groups for r in g["rules"]}
    expect(health <= {"ok", "unknown"}, f"rule evaluation health: {health}")
    ok(f"Prometheus loaded all {len(loaded)} rules in {len(groups)} groups from /etc/prometheus/keyport.rules.yaml (the repo's {RULES_FILE.relative_to(REPO)})")


def check_alertmanager() -> None:
    status, _, body = http(f"{ALERTMANAGER}/-/ready")
    expect(status == 200, f"Alertmanager /-/ready through the published port: HTTP {status}")
    status, _, body = http(f"{ALERTMANAGER}/api/v2/status")
    expect(status == 200 and "keyport-notify" in json.loads(body)["config"]["original"], "Alertmanager does not run the repo's alertmanager.yml")

    def discovered():
        status, _, body = http(f"{PROMETHEUS}/api/v1/alertmanagers")
        return [a["url"] for a in json.loads(body)["data"]["activeAlertmanagers"]]
    urls = poll("Prometheus discovering alertmanager:9093", discovered, timeout=30)
    expect(urls == ["http://alertmanager:9093/api/v2/alerts"], f"active Alertmanagers: {urls}")
    poll("Prometheus scraping alertmanager:9093", lambda: [r for r in prometheus_query('up{job="alertmanager"}') if r["value"][1] == "1"], timeout=45)
    errors = prometheus_query("sum(prometheus_notifications_errors_total)")
    expect(not errors or float(errors[0]["value"][1]) == 0, f"Prometheus notification errors: {errors}")
    ok("Alertmanager ready on its published port with the repo's config; Prometheus sends to http://alertmanager:9093 and scrapes it (up = 1), no notification errors")

    # The network path Prometheus notifies over, proven with a real alert posted from inside the
    # Prometheus container to alertmanager:9093 on the compose network.
    alert = json.dumps([{"labels": {"alertname": "ComposeSmokeProbe", "job": "compose-smoke", "severity": "info"}}])
    result = podman("exec", container("prometheus"), "wget", "-q", "-O", "-", "--header", "Content-Type: application/json",
                    "--post-data", alert, "http://alertmanager:9093/api/v2/alerts", check=False)
    expect(result.returncode == 0, f"posting an alert from the Prometheus container to alertmanager:9093: {result.stderr.strip()}")

    def probe_seen():
        status, _, body = http(f"{ALERTMANAGER}/api/v2/alerts?filter=alertname%3D%22ComposeSmokeProbe%22")
        return status == 200 and json.loads(body)
    poll("the probe alert in Alertmanager", probe_seen, timeout=15)
    ok("an alert sent from the Prometheus container to alertmanager:9093 shows in Alertmanager's API")


def main() -> int:
    try:
        check_image()
        for service in ("keyport", "alertmanager", "prometheus"):
            healthy(service)
        check_keyport()
        check_keyport_container()
        check_prometheus()
        check_alertmanager()
        check_ports_data()
    except (CheckFailed, ValueError, KeyError) as failure:
        print(f"FAILED: {failure}", flush=True)
        print(f"compose-smoke: {passed} passed, 1 failed")
        return 1
    print(f"compose-smoke: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
