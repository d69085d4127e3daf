"""The Helm chart charts/keyport, at run time: keyport started with the chart's environment and a kubelet-style
ConfigMap mount, a real Prometheus applying the chart's scrape jobs (plain and HTTPS).

Helm: helm-python-sdk. Prometheus: Debian's prometheus; keyport: KEYPORT_BIN; certificates: openssl.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from support import dashboard, free_port, keyport_bin, require_keyport, require_tool
from support.chart import (
    FULLNAME, NAMESPACE, PROM, Rendered, SCENARIOS, SERVICE_NAME, container, deep_merge, env_of,
    keyport_deployment, render, write_prometheus_files,
)
from support.process import Process


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


# --- Prometheus ---------------------------------------------------------------------------------

def test_real_prometheus_applies_the_scrape_job_to_pod_targets(tmp_path):
    """Runs Debian's Prometheus on the rendered scrape job with pod-discovery-shaped targets.

    Not-ready keyport pods must be scraped; pods of another release, finished pods, other
    containers' ports and the bundled Prometheus itself must not. When the keyport binary is
    built, one target is a real keyport started with the chart's environment and must be up.
    """
    prometheus = require_tool("prometheus", "scripts/install-test-deps.sh (Debian package prometheus)")
    r = render({"prometheus": {"scrapeInterval": "1s", "scrapeTimeout": "1s", "evaluationInterval": "1s"}})
    tpl = keyport_deployment(r)["spec"]["template"]
    port_name = "metrics"  # the container port Prometheus must scrape: the admin listener
    assert port_name in [p["name"] for p in container(keyport_deployment(r), "keyport")["ports"]]
    keyport = start_keyport_from_chart(r, tmp_path) if keyport_bin() else None

    def meta(pod: str, labels: dict[str, str], ready: str = "true", phase: str = "Running",
             port: str = port_name, address: str = "127.0.0.1:9") -> dict[str, str]:
        out = {"__address__": address, "__meta_kubernetes_namespace": NAMESPACE,
               "__meta_kubernetes_pod_name": pod, "__meta_kubernetes_pod_ready": ready,
               "__meta_kubernetes_pod_phase": phase, "__meta_kubernetes_pod_container_port_name": port,
               "__meta_kubernetes_pod_node_name": "node-a"}
        for key, value in labels.items():
            out["__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)] = value
        return out

    keyport_labels = tpl["metadata"]["labels"]
    other_release = {**keyport_labels, "app.kubernetes.io/instance": "other"}
    prom_labels = r.get("Deployment", PROM)["spec"]["template"]["metadata"]["labels"]
    ready_address = f"127.0.0.1:{keyport.admin_port}" if keyport else "127.0.0.1:9"
    groups = [
        meta("keyport-ready", keyport_labels, address=ready_address),
        meta("keyport-not-ready", keyport_labels, ready="false"),
        meta("keyport-other-release", other_release),
        meta("keyport-succeeded", keyport_labels, phase="Succeeded"),
        meta("keyport-other-port", keyport_labels, port="debug"),
        meta("keyport-service-port", keyport_labels, port="http"),
        meta("prometheus-pod", prom_labels, port="http"),
    ]
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps([{"targets": [g.pop("__address__")], "labels": g} for g in groups]))
    config = write_prometheus_files(r, tmp_path, targets, live=True)
    port = free_port()
    proc = Process.in_directory("prometheus", [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                               f"--web.listen-address=127.0.0.1:{port}"], tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"

        def active():
            status, body = http_get(f"{base}/api/v1/targets?state=any")
            data = json.loads(body)["data"] if status == 200 else {}
            return data if len(data.get("activeTargets", [])) >= 2 else None

        data = proc.wait(active, 30, "Prometheus to load the file_sd targets", interval=0.2)
        pods = {t["labels"]["pod"]: t["labels"] for t in data["activeTargets"]}
        assert set(pods) == {"keyport-ready", "keyport-not-ready"}
        for labels in pods.values():
            assert labels["job"] == "keyport" and labels["namespace"] == NAMESPACE and labels["node"] == "node-a"
        dropped = {t["discoveredLabels"]["__meta_kubernetes_pod_name"] for t in data["droppedTargets"]}
        assert dropped == {"keyport-other-release", "keyport-succeeded", "keyport-other-port", "keyport-service-port",
                           "prometheus-pod"}

        status, body = http_get(f"{base}/api/v1/rules")
        loaded = {g["name"] for g in json.loads(body)["data"]["groups"]}
        expected = {g["name"] for g in yaml.safe_load(r.get("ConfigMap", f"{PROM}-rules")["data"]["keyport.rules.yaml"])["groups"]}
        assert loaded == expected and loaded

        if keyport:
            def series(query: str):
                _, body = http_get(f"{base}/api/v1/query?query={urllib.parse.quote(query)}")
                return json.loads(body)["data"]["result"]
            target = f'job="keyport",namespace="{NAMESPACE}",pod="keyport-ready"'
            (up,) = proc.wait(lambda: series(f"up{{{target}}}"), 20, "the real keyport to be scraped", interval=0.2)
            assert up["value"][1] == "1"
            # keyport's own series carry the labels the rules aggregate by.
            (ready,) = proc.wait(lambda: series(f"keyport_ready{{{target}}}"), 10, "keyport_ready from keyport", interval=0.2)
            assert ready["metric"]["node"] == "node-a" and ready["value"][1] in ("0", "1")
    finally:
        proc.stop()
        if keyport:
            keyport.stop()


# --- keyport itself, with the chart's environment -----------------------------------------------

class RunningKeyport(Process):
    """keyport started with a rendered Deployment's environment (and nothing else from this process')."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log: Path, admin_port: int = 0):
        super().__init__(argv, name="keyport", log=log, env=env, inherit_env=False)
        self.port, self.admin_port = port, admin_port

    @property
    def admin_base(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def kubelet_configmap_dir(root: Path, files: dict[str, str], generation: int) -> None:
    """Write files the way kubelet updates a ConfigMap volume: a new timestamped dir, an atomic ..data swap."""
    root.mkdir(exist_ok=True)
    version = root / f"..2026_01_01_00_00_0{generation}.000000000"
    version.mkdir()
    for name, text in files.items():
        (version / name).write_text(text)
    tmp_link = root / "..data_tmp"
    tmp_link.symlink_to(version.name)
    os.replace(tmp_link, root / "..data")
    for name in files:
        link = root / name
        if not link.is_symlink():
            link.symlink_to(f"..data/{name}")


def start_keyport_from_chart(r: Rendered, tmp: Path) -> RunningKeyport:
    """keyport started with the rendered Deployment's environment; the ports volume mapped under tmp."""
    deploy = keyport_deployment(r)
    c = container(deploy, "keyport")
    env = {k: v for k, v in env_of(c).items() if v is not None}
    port, admin_port = free_port(), free_port()
    env.update(KEYPORT_SRV_PORT=str(port), KEYPORT_ADMIN_PORT=str(admin_port), KEYPORT_HOST="127.0.0.1")
    for mount in c.get("volumeMounts", []):
        local = tmp / mount["name"]
        env["KEYPORT_PORTS_FILE"] = env["KEYPORT_PORTS_FILE"].replace(mount["mountPath"], str(local))
    log = tmp / "keyport.log"
    running = RunningKeyport([keyport_bin(), *c.get("args", [])], {"PATH": os.environ.get("PATH", ""), **env}, port, log,
                             admin_port)
    try:
        startup = c["startupProbe"]["httpGet"]["path"]
        assert c["startupProbe"]["httpGet"]["port"] == "metrics"
        running.wait(lambda: http_get(running.admin_base + startup)[0] == 200, 20,
                     f"keyport {startup} with the chart's environment", interval=0.2)
    except BaseException:
        running.stop()
        raise
    return running


def test_keyport_runs_with_the_chart_environment_and_reloads_configmap_updates(tmp_path):
    require_keyport()
    r = render(deep_merge(SCENARIOS["configmap-data"], {"server": {"shutdownDelay": "3s"}}))
    deploy = keyport_deployment(r)
    c = container(deploy, "keyport")
    cm = r.get("ConfigMap", f"{FULLNAME}-ports")
    (mount,) = c["volumeMounts"]
    original = json.loads(cm["data"]["ports.json"])
    kubelet_configmap_dir(tmp_path / mount["name"], cm["data"], 1)
    keyport = start_keyport_from_chart(r, tmp_path)
    try:
        base = keyport.base
        probes = keyport.admin_base  # the probes ask the admin listener
        assert http_get(probes + c["livenessProbe"]["httpGet"]["path"])[0] == 200
        keyport.wait(lambda: http_get(probes + c["readinessProbe"]["httpGet"]["path"])[0] == 200, 20, "readiness", interval=0.2)
        some_id = sorted(original)[0]
        status, body = http_get(f"{base}/ports/{some_id}")
        assert status == 200 and json.loads(body)["name"] == original[some_id]["name"]
        assert http_get(f"{base}/ports/ZZNEW")[0] == 404

        # The helm test pod's commands, pointed at this keyport instead of the Service.
        test_pod = r.get("Pod", f"{FULLNAME}-test")
        service_url = f"http://{FULLNAME}.{NAMESPACE}.svc:{r.get('Service', FULLNAME)['spec']['ports'][0]['port']}"
        metrics_url = f"http://{FULLNAME}-metrics.{NAMESPACE}.svc:{r.get('Service', f'{FULLNAME}-metrics')['spec']['ports'][0]['port']}"
        for step in test_pod["spec"]["initContainers"] + test_pod["spec"]["containers"]:
            args = [a.replace(service_url, base).replace(metrics_url, probes) for a in step["args"]]
            check = subprocess.run([keyport_bin(), *args], capture_output=True, text=True, timeout=30)
            assert check.returncode == 0, (step["name"], args, check.stdout + check.stderr)

        updated = dict(original, ZZNEW={"name": "New Wharf", "city": "Newton", "country": "Testland"})
        kubelet_configmap_dir(tmp_path / mount["name"], {"ports.json": json.dumps(updated)}, 2)
        keyport.wait(lambda: http_get(f"{base}/ports/ZZNEW")[0] == 200, 30, "keyport to reload the updated ConfigMap",
                     interval=0.2)

        keyport.signal(signal.SIGTERM)
        keyport.wait(lambda: http_get(probes + c["readinessProbe"]["httpGet"]["path"])[0] == 503, 2,
                     "readiness to fail at once after SIGTERM", interval=0.2)
        # Within the chart's shutdown delay keyport still serves while endpoints drop the pod.
        assert http_get(f"{base}/key/16")[0] == 200
        grace = deploy["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert keyport.popen.wait(timeout=grace) == 0
    finally:
        keyport.stop()


# --- TLS ----------------------------------------------------------------------------------------

TLS_CM = SCENARIOS["tls-cert-manager"]


TLS_SECRET = SCENARIOS["tls-existing-secret"]


def make_tls_secret(directory: Path, names: str) -> dict[str, Path]:
    """A CA and a certificate for `names` (subjectAltName syntax), laid out as a kubernetes.io/tls Secret."""
    directory.mkdir(parents=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=60)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=test-ca", "-days", "2")
    run("req", *ec, "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=keyport")
    (directory / "san.ext").write_text(f"subjectAltName={names}\n")
    run("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "tls.crt")
    return {name: directory / name for name in ("ca.crt", "tls.crt", "tls.key")}


def test_real_prometheus_scrapes_keyport_over_https_verifying_the_ca(tmp_path):
    """Debian's Prometheus with the rendered TLS scrape job scrapes a real keyport started with the chart's
    TLS environment; the same job with another CA's certificate fails verification (up 0). The test
    certificate expires in 2 days, so KeyportCertificateExpiringSoon (`for` shortened to 0s) fires on
    keyport's real gauge."""
    prometheus = require_tool("prometheus", "scripts/install-test-deps.sh (Debian package prometheus)")
    require_keyport()
    require_tool("openssl", "Debian package openssl (on every machine of this kind)")
    r = render(deep_merge(TLS_CM, {"prometheus": {"scrapeInterval": "1s", "scrapeTimeout": "1s",
                                                  "evaluationInterval": "1s"},
                                   "alerts": {"certificateExpiry": {"for": "0s"}}}))
    c = container(keyport_deployment(r), "keyport")
    env = {k: v for k, v in env_of(c).items() if v is not None}
    mount = next(m for m in c["volumeMounts"] if m["name"] == "tls")["mountPath"]
    files = make_tls_secret(tmp_path / "secret", f"DNS:{SERVICE_NAME},DNS:{FULLNAME}")
    stranger = make_tls_secret(tmp_path / "stranger", f"DNS:{SERVICE_NAME}")
    port, service_port = free_port(), free_port()  # `port` is the admin listener's: what Prometheus scrapes
    env.update({k: v.replace(mount, str(tmp_path / "secret")) for k, v in env.items() if k.startswith("KEYPORT_TLS_")})
    env.update(KEYPORT_SRV_PORT=str(service_port), KEYPORT_ADMIN_PORT=str(port), KEYPORT_HOST="127.0.0.1")
    keyport = Process([keyport_bin()], name="keyport", log=tmp_path / "keyport.log",
                      env={"PATH": os.environ.get("PATH", ""), **env}, inherit_env=False)
    targets = tmp_path / "targets.json"
    labels = {"__meta_kubernetes_namespace": NAMESPACE, "__meta_kubernetes_pod_name": "keyport-tls",
              "__meta_kubernetes_pod_phase": "Running", "__meta_kubernetes_pod_container_port_name": "metrics",
              "__meta_kubernetes_pod_node_name": "node-a"}
    for key, value in keyport_deployment(r)["spec"]["template"]["metadata"]["labels"].items():
        labels["__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)] = value
    targets.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": labels}]))
    config = write_prometheus_files(r, tmp_path, targets, live=True)
    cfg = yaml.safe_load(config.read_text())
    (job,) = cfg["scrape_configs"]
    prom_mount = next(m for m in container(r.get("Deployment", PROM), "prometheus")["volumeMounts"]
                      if m["name"] == "keyport-tls-ca")["mountPath"]
    assert job["tls_config"]["ca_file"].startswith(prom_mount + "/")
    job["tls_config"]["ca_file"] = str(files["ca.crt"])
    wrong = json.loads(json.dumps(job))
    wrong["job_name"] = "keyport-wrong-ca"
    wrong["tls_config"]["ca_file"] = str(stranger["ca.crt"])
    cfg["scrape_configs"] = [job, wrong]
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    prom_port = free_port()
    proc = Process.in_directory("prometheus", [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                               f"--web.listen-address=127.0.0.1:{prom_port}"], tmp_path)
    try:
        base = f"http://127.0.0.1:{prom_port}"

        def series(query: str):
            _, body = http_get(f"{base}/api/v1/query?query={urllib.parse.quote(query)}")
            return json.loads(body)["data"]["result"]

        (up,) = proc.wait(lambda: series('up{job="keyport"}'), 30, "the TLS scrape", interval=0.2)
        proc.wait(lambda: series('up{job="keyport"} == 1'), 20, "keyport up over HTTPS", interval=0.2)
        (expiry,) = proc.wait(lambda: series('keyport_tls_certificate_expiry_timestamp_seconds{job="keyport"}'), 10,
                              "the certificate expiry gauge", interval=0.2)
        assert abs(float(expiry["value"][1]) - (time.time() + 2 * 86400)) < 600
        (bad,) = proc.wait(lambda: series('up{job="keyport-wrong-ca"}'), 20, "the wrong-CA scrape", interval=0.2)
        assert bad["value"][1] == "0"
        _, body = http_get(f"{base}/api/v1/targets")
        errors = [t["lastError"] for t in json.loads(body)["data"]["activeTargets"] if t["labels"]["job"] == "keyport-wrong-ca"]
        assert errors and "certificate" in errors[0], errors

        def expiring():
            _, body = http_get(f"{base}/api/v1/alerts")
            return [a for a in json.loads(body)["data"]["alerts"]
                    if a["labels"]["alertname"] == "KeyportCertificateExpiringSoon" and a["state"] == "firing"]

        (alert,) = proc.wait(expiring, 20, "KeyportCertificateExpiringSoon to fire", interval=0.2)
        assert alert["labels"]["job"] == "keyport" and alert["labels"]["pod"] == "keyport-tls"
        assert "expires in 1d 23h" in alert["annotations"]["summary"], alert["annotations"]

        # The dashboard's TLS panels, their variables substituted as Grafana would, show this keyport's
        # certificate (the live dashboard test's keyport serves plain HTTP, where they are empty).
        tls_queries = [(p["title"], t["expr"]) for p, t in dashboard.targets(dashboard.load()) if p["title"] in dashboard.TLS_PANELS]
        assert {title for title, _ in tls_queries} == dashboard.TLS_PANELS
        variables = {"job": "keyport", "namespace": NAMESPACE, "instance": ".+", "__rate_interval": "4s"}
        for title, expr in tls_queries:
            query = dashboard.substitute(expr, variables)
            assert "$" not in query, query
            result = proc.wait(lambda: (lambda r: r if dashboard.has_data(r) else None)(series(query)), 20, f"{title}: {query}",
                               interval=0.2)
            if title == "Certificate expires in":
                (left,) = result
                assert 2 * 86400 - 900 < float(left["value"][1]) <= 2 * 86400, left
    finally:
        proc.stop()
        keyport.stop()
