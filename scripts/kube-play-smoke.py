#!/usr/bin/env python3
"""kube-play smoke: the chart's keyport, Prometheus and Alertmanager Deployments, with their ConfigMaps
and Secrets exactly as Helm renders them (helm-python-sdk), started for real by `podman kube play`.

Changed from the render, and nothing else: replicaCount is 1 (podman makes one pod per replica and
publishes each container port on the host, so two keyport pods would collide on 1123), and the three
image references point at the images built here (KEYPORT_IMAGE, PROMETHEUS_IMAGE, ALERTMANAGER_IMAGE).
One more change only where the Prometheus image cannot read the chart's configuration:
PROMETHEUS_WITHOUT_KUBERNETES_SD=1 (kube-play-smoke.sh sets it for this machine's stand-in, Debian's
Prometheus 2.42, which is built without kubernetes_sd) swaps each `kubernetes_sd_configs` block for an
empty `static_configs`, and says so in the output; podman has no Kubernetes API for it anyway.
Only Deployment, ConfigMap and Secret objects are played: podman implements no Service, RBAC, PDB,
HPA or NetworkPolicy, and its probes need systemd timers (charts/keyport/README.md lists what only a
cluster proves, and the kind targets that prove it there).

Checked from outside the containers, each check named in the output: requests go to 127.0.0.1 inside
each pod's network namespace (nsenter), the process facts come from /proc of the container's process.
Then the keyport Deployment alone is played twice with ports.fetch set (with restartPolicy Never, see
play_keyport_alone), against a gzipped generated file
an HTTP server on this host serves (the pod reaches it through its network's gateway): the fetch-ports
init container must put exactly that file where keyport reads it, and a wrong digest must stop the pod
before keyport starts.

    scripts/kube-play-smoke.sh        (make kube-play-smoke; sets the images and containers.conf)
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.server
import json
import re
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import yaml
from helm_python import Chart

REPO = Path(__file__).resolve().parents[1]
RELEASE = "keyport"
NAMESPACE = "default"
PLAYED_KINDS = ("ConfigMap", "Secret", "Deployment")
# Rendered image repository -> the local image that stands for it.
IMAGES = {
    "keyport": os.environ.get("KEYPORT_IMAGE", "localhost/keyport:smoke"),
    "prometheus": os.environ.get("PROMETHEUS_IMAGE", "localhost/keyport-standin/prometheus:2.42.0"),
    "alertmanager": os.environ.get("ALERTMANAGER_IMAGE", "localhost/keyport-standin/alertmanager:0.25.0"),
}
failures: list[str] = []


def ok(name: str, detail: str) -> None:
    print(f"ok: {name}: {detail}", flush=True)


def fail(name: str, detail: str) -> None:
    print(f"FAILED: {name}: {detail}", flush=True)
    failures.append(name)


def podman(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


def render(values: dict | None = None) -> list[dict]:
    with Chart.load(str(REPO / "charts" / "keyport")) as chart:
        raw = chart.render({"replicaCount": 1, **(values or {})}, name=RELEASE, namespace=NAMESPACE)
    docs = [d for path, text in sorted(raw.items()) if path.endswith(".yaml") for d in yaml.safe_load_all(text) if d]
    return [d for d in docs if d["kind"] in PLAYED_KINDS]


def map_images(docs: list[dict]) -> dict[str, dict]:
    """Points each Deployment's containers at the local images; returns the Deployments by app component."""
    deployments = {}
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        spec = doc["spec"]["template"]["spec"]
        for c in spec.get("initContainers", []) + spec["containers"]:
            repository = c["image"].rsplit("@", 1)[0].rsplit(":", 1)[0].rsplit("/", 1)[-1]
            c["image"] = IMAGES[repository]
        deployments[spec["containers"][0]["name"]] = doc
    return deployments


def without_kubernetes_sd(docs: list[dict]) -> None:
    for doc in docs:
        if doc["kind"] != "ConfigMap" or "prometheus.yml" not in doc.get("data", {}):
            continue
        config = yaml.safe_load(doc["data"]["prometheus.yml"])
        swapped = []
        # The keyport scrape job and the Alertmanager discovery (the Service's ready endpoints) both use it.
        sections = [(job, job["job_name"]) for job in config.get("scrape_configs", [])]
        sections += [(am, "alerting.alertmanagers") for am in config.get("alerting", {}).get("alertmanagers", [])]
        for section, name in sections:
            if section.pop("kubernetes_sd_configs", None) is not None:
                section["static_configs"] = [{"targets": []}]
                swapped.append(name)
        doc["data"]["prometheus.yml"] = yaml.safe_dump(config, sort_keys=False)
        print(f"kube-play: stand-in Prometheus has no kubernetes_sd: ConfigMap/{doc['metadata']['name']} "
              f"{swapped} get an empty static_configs instead (everything else as rendered)", flush=True)


def container_of(deployment: dict) -> dict:
    """podman's name for the Deployment's first container, and its state."""
    name = deployment["spec"]["template"]["spec"]["containers"][0]["name"]
    want = f"{deployment['metadata']['name']}-pod-0-{name}"
    listed = json.loads(podman("ps", "-a", "--format", "json").stdout)
    found = [c for c in listed if want in c["Names"]]
    if not found:
        raise RuntimeError(f"no container {want}: {[c['Names'] for c in listed]}")
    return json.loads(podman("inspect", want).stdout)[0]


def in_pod(pid: int, url: str, timeout: float = 5) -> tuple[int, bytes]:
    """GET url from inside the network namespace of process pid (the pod's loopback)."""
    code = (
        "import sys, urllib.request, urllib.error\n"
        "try:\n"
        f"    r = urllib.request.urlopen({url!r}, timeout={timeout})\n"
        "    sys.stdout.buffer.write(b'%d\\n' % r.status + r.read())\n"
        "except urllib.error.HTTPError as e:\n"
        "    sys.stdout.buffer.write(b'%d\\n' % e.code + e.read())\n"
    )
    proc = subprocess.run(["nsenter", "-t", str(pid), "-n", sys.executable, "-c", code],
                          capture_output=True, timeout=timeout + 10)
    if proc.returncode != 0:
        raise OSError(proc.stderr.decode(errors="replace").strip().splitlines()[-1:])
    status, _, body = proc.stdout.partition(b"\n")
    return int(status), body


def wait_http(pid: int, url: str, timeout: float) -> tuple[int, bytes, float]:
    started = time.monotonic()
    last: object = None
    while time.monotonic() - started < timeout:
        try:
            status, body = in_pod(pid, url)
            if status == 200:
                return status, body, time.monotonic() - started
            last = (status, body[:200])
        except OSError as err:
            last = err
        time.sleep(0.5)
    return -1, repr(last).encode(), time.monotonic() - started


def proc_status(pid: int) -> dict[str, str]:
    return dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)


def check_keyport(deployment: dict) -> None:
    info = container_of(deployment)
    pid = info["State"]["Pid"]
    port = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    status, body, waited = wait_http(pid, f"http://127.0.0.1:{port}/ready", 60)
    if status == 200:
        ok("keyport /ready", f"200 {body.decode().strip()} after {waited:.1f}s")
    else:
        fail("keyport /ready", body.decode(errors="replace"))
    status, body = in_pod(pid, f"http://127.0.0.1:{port}/key/32")
    if status == 200 and len(body) == 32:
        ok("keyport /key/32", "200, 32 bytes")
    else:
        fail("keyport /key/32", f"HTTP {status}, {len(body)} bytes")

    pod = deployment["spec"]["template"]["spec"]
    uid = pod["containers"][0]["securityContext"].get("runAsUser", pod["securityContext"].get("runAsUser"))
    gid = pod["containers"][0]["securityContext"].get("runAsGroup", pod["securityContext"].get("runAsGroup"))
    fields = proc_status(pid)
    uids, gids = set(fields["Uid"].split()), set(fields["Gid"].split())
    if uids == {str(uid)} and gids == {str(gid)}:
        ok("keyport runs as the chart's user", f"uid {uid} gid {gid} (pid {pid})")
    else:
        fail("keyport runs as the chart's user", f"uids {uids} gids {gids}, chart says {uid}:{gid}")
    cap_eff = int(fields["CapEff"].strip(), 16)
    if cap_eff == 0:
        ok("keyport holds no capabilities", "CapEff 0")
    else:
        fail("keyport holds no capabilities", f"CapEff {cap_eff:#x}")
    probe = Path(f"/proc/{pid}/root/kube-play-write-probe")
    try:
        probe.write_text("x")
    except OSError as err:
        if err.errno == errno.EROFS:
            ok("keyport root filesystem refuses a write", f"writing / through /proc/{pid}/root: {err.strerror}")
        else:
            fail("keyport root filesystem refuses a write", f"{err}")
    else:
        probe.unlink()
        fail("keyport root filesystem refuses a write", "the write succeeded")


def args_of(deployment: dict) -> list[str]:
    return deployment["spec"]["template"]["spec"]["containers"][0].get("args", [])


def ready(deployment: dict, name: str, timeout: float) -> tuple[int, str] | None:
    """The pid and base URL of the Deployment's first container once its first port answers /-/ready
    (Prometheus and Alertmanager alike), each outcome reported as the check `NAME /-/ready`; None if never."""
    pid = container_of(deployment)["State"]["Pid"]
    port = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    base = f"http://127.0.0.1:{port}"
    status, body, waited = wait_http(pid, f"{base}/-/ready", timeout)
    if status != 200:
        fail(f"{name} /-/ready", body.decode(errors="replace"))
        return None
    ok(f"{name} /-/ready", f"200 after {waited:.1f}s")
    return pid, base


def check_prometheus(deployment: dict) -> None:
    if not (found := ready(deployment, "Prometheus", 90)):
        return
    pid, base = found
    flags = json.loads(in_pod(pid, f"{base}/api/v1/status/flags")[1])["data"]
    # A flag without a value (--web.enable-lifecycle) is a switch: Prometheus reports it as "true".
    wanted = dict(a.removeprefix("--").split("=", 1) if "=" in a else (a.removeprefix("--"), "true")
                  for a in args_of(deployment))
    # Prometheus' byte sizes are powers of two and it reports them so: the chart's 6GB runs as 6GiB.
    def same(chart: str, running: str | None) -> bool:
        return running in (chart, re.sub(r"^(\d+)([KMGTPE])B$", r"\1\2iB", chart))
    differ = {k: (v, flags.get(k)) for k, v in wanted.items() if not same(v, flags.get(k))}
    if differ:
        fail("Prometheus runs with the chart's flags", f"differ (chart, running): {differ}")
    else:
        ok("Prometheus runs with the chart's flags", " ".join(f"--{k}={v}" for k, v in wanted.items()))
    groups = json.loads(in_pod(pid, f"{base}/api/v1/rules")[1])["data"]["groups"]
    rules = sum(len(g["rules"]) for g in groups)
    files = sorted({g["file"] for g in groups})
    if rules and all(f.startswith("/etc/prometheus/rules/") for f in files):
        ok("Prometheus loaded the mounted rules ConfigMap", f"{rules} rules in {len(groups)} groups from {files}")
    else:
        fail("Prometheus loaded the mounted rules ConfigMap", f"{rules} rules from {files}")


def check_alertmanager(deployment: dict) -> None:
    if not (found := ready(deployment, "Alertmanager", 60)):
        return
    pid, base = found
    config = json.loads(in_pod(pid, f"{base}/api/v2/status")[1])["config"]["original"]
    receivers = [r["name"] for r in yaml.safe_load(config)["receivers"]]
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    running_args = [a.decode() for a in cmdline[1:] if a]
    if running_args == args_of(deployment):
        ok("Alertmanager runs with the chart's flags", " ".join(running_args))
    else:
        fail("Alertmanager runs with the chart's flags", f"running {running_args}, chart {args_of(deployment)}")
    if receivers:
        ok("Alertmanager loaded the mounted configuration", f"receivers {receivers}")
    else:
        fail("Alertmanager loaded the mounted configuration", config[:300])
    secrets = Path(f"/proc/{pid}/root/etc/alertmanager/secrets")
    if secrets.is_dir():
        ok("Alertmanager mounts the receiver Secret", f"/etc/alertmanager/secrets: {sorted(p.name for p in secrets.iterdir())}")
    else:
        fail("Alertmanager mounts the receiver Secret", "no /etc/alertmanager/secrets")

FETCH_RECORDS = 3000


def serve_directory(directory: Path) -> tuple[http.server.ThreadingHTTPServer, list[str]]:
    """An HTTP server on all addresses (the pod reaches the host through its network's gateway) serving
    directory; returns it and the list of paths it was asked for."""
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, *args) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, requests


def play_keyport_alone(tmp: Path, values: dict, name: str) -> tuple[dict, Path, subprocess.CompletedProcess[str]]:
    """Plays only the keyport Deployment rendered with values; returns it, its manifest and the play."""
    deployment = map_images(render(values))["keyport"]
    # podman 4.3 gives init containers the pod's restart policy: under a Deployment's Always it restarts
    # fetch-ports after it succeeded, then fails to remove it ("failed to remove once init container ... as
    # it is running"). Kubernetes runs an init container to success once; Never is podman's nearest reading.
    deployment["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    manifest = tmp / f"{name}.yaml"
    manifest.write_text(yaml.safe_dump(deployment, sort_keys=False))
    podman("kube", "down", str(manifest), check=False)
    return deployment, manifest, podman("kube", "play", str(manifest), check=False, timeout=600)


def check_fetch(tmp: Path) -> None:
    """ports.fetch: the chart's fetch-ports init container downloads a gzipped file from an HTTP server
    on this host, verifies it and leaves it where keyport reads it; a wrong digest stops the pod before
    keyport starts. Played after the main pods are down (the ports would collide)."""
    served = tmp / "served"
    served.mkdir()
    plain = subprocess.run([sys.executable, str(REPO / "scripts" / "generate-ports.py"), str(FETCH_RECORDS),
                            "--duplicates", "0"], capture_output=True, check=True).stdout
    data = gzip.compress(plain)
    (served / "ports.json.gz").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    gateway = podman("network", "inspect", "podman-default-kube-network",
                     "--format", "{{range .Subnets}}{{.Gateway}}{{end}}").stdout.strip()
    server, requests = serve_directory(served)
    url = f"http://{gateway}:{server.server_address[1]}/ports.json.gz"
    fetch = {"url": url, "sha256": digest, "maxBytes": "64Mi", "sizeLimit": "64Mi", "timeout": "1m"}
    try:
        deployment, manifest, play = play_keyport_alone(tmp, {"ports": {"fetch": fetch}}, "fetch")
        try:
            if play.returncode != 0:
                fail("ports.fetch: kube play", play.stderr.strip()[-500:])
                return
            ok("ports.fetch: kube play", f"fetch-ports ran before keyport ({url})")
            pid = container_of(deployment)["State"]["Pid"]
            port = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][1]["containerPort"]
            status, body, waited = wait_http(pid, f"http://127.0.0.1:{port}/metrics", 60)
            served_records = re.search(rb"^keyport_ports (\S+)$", body, re.M) if status == 200 else None
            # The sample in the image has 14 records: the count tells the fetched file is the one served.
            if served_records and float(served_records[1]) == FETCH_RECORDS:
                ok("ports.fetch: keyport serves the fetched file", f"keyport_ports {FETCH_RECORDS} after {waited:.1f}s")
            else:
                fail("ports.fetch: keyport serves the fetched file", (served_records or body[:300]).__repr__())
            env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
            on_disk = Path(f"/proc/{pid}/root{env['KEYPORT_PORTS_FILE']}")
            if on_disk.read_bytes() == data and requests == ["/ports.json.gz"]:
                ok("ports.fetch: the file is the download, fetched once", f"{len(data)} bytes, sha256 {digest[:12]}...")
            else:
                fail("ports.fetch: the file is the download, fetched once", f"requests {requests}")
            try:
                (on_disk.parent / "write-probe").write_text("x")
                fail("ports.fetch: keyport mounts the data read-only", "the write succeeded")
            except OSError as err:
                (ok if err.errno == errno.EROFS else fail)("ports.fetch: keyport mounts the data read-only", err.strerror)
        finally:
            podman("kube", "down", str(manifest), check=False)

        deployment, manifest, play = play_keyport_alone(tmp, {"ports": {"fetch": {**fetch, "sha256": "0" * 64}}}, "fetch-bad")
        try:
            logs = podman("logs", f"{deployment['metadata']['name']}-pod-0-fetch-ports", check=False)
            said = (logs.stdout + logs.stderr).strip().splitlines()
            state = container_of(deployment)["State"]
            if play.returncode != 0 and not state["Running"] and said and "SHA-256 mismatch" in said[-1]:
                ok("ports.fetch: a wrong digest stops the pod before keyport", f"keyport {state['Status']}; fetch-ports said: {said[-1]}")
            else:
                fail("ports.fetch: a wrong digest stops the pod before keyport",
                     f"play exit {play.returncode}, keyport {state['Status']}, fetch-ports said {said[-3:]}")
        finally:
            podman("kube", "down", str(manifest), check=False)
    finally:
        server.shutdown()


def main() -> int:
    started = time.monotonic()
    docs = render()
    deployments = map_images(docs)
    assert set(deployments) == set(IMAGES), f"rendered Deployments: {sorted(deployments)}"
    if os.environ.get("PROMETHEUS_WITHOUT_KUBERNETES_SD") == "1":
        without_kubernetes_sd(docs)
    for image in IMAGES.values():
        if podman("image", "exists", image, check=False).returncode != 0:
            print(f"kube-play: image {image} is missing (build it with make compose-smoke)", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="keyport-kube-play-") as tmp:
        manifest = Path(tmp) / "keyport.yaml"
        manifest.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        print("kube-play: " + ", ".join(f"{d['kind']}/{d['metadata']['name']}" for d in docs), flush=True)
        podman("kube", "down", str(manifest), check=False)
        try:
            play = podman("kube", "play", str(manifest), check=False, timeout=600)
            # Without systemd, podman logs that it cannot add health-check timers: the probes do not run here.
            errors = [line for line in play.stderr.splitlines() if "systemd" not in line and "syslog" not in line]
            if play.returncode != 0:
                fail("podman kube play", "\n".join(errors) or play.stdout.strip())
            else:
                ok("podman kube play", f"{len(deployments)} Deployments started in {time.monotonic() - started:.1f}s")
            for name, check in (("keyport", check_keyport), ("prometheus", check_prometheus),
                                ("alertmanager", check_alertmanager)):
                try:
                    check(deployments[name])
                except Exception as err:  # noqa: BLE001 (one broken workload must not hide the others' results)
                    fail(f"{name} checks", repr(err))
            if failures:
                for name in IMAGES:
                    info = podman("logs", "--tail", "20", f"{deployments[name]['metadata']['name']}-pod-0-{name}", check=False)
                    print(f"--- {name} logs\n{info.stdout}{info.stderr}", file=sys.stderr)
        finally:
            podman("kube", "down", str(manifest), check=False)
        try:
            check_fetch(Path(tmp))
        except Exception as err:  # noqa: BLE001 (reported like the other workloads' checks)
            fail("ports.fetch checks", repr(err))
    checks = sum(1 for _ in failures)
    print(f"kube-play: {'FAILED ' + ', '.join(failures) if failures else 'all checks passed'} "
          f"({time.monotonic() - started:.1f}s)", flush=True)
    return 1 if checks else 0


if __name__ == "__main__":
    sys.exit(main())
