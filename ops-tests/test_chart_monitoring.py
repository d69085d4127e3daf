"""The Helm chart charts/keyport, monitoring: the bundled Prometheus and Alertmanager (configs checked by promtool and
amtool), the ServiceMonitor and PrometheusRule, the Grafana dashboard ConfigMap.

Helm: helm-python-sdk. Prometheus/Alertmanager: Debian's promtool and amtool.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_python import HelmValuesError

from support import require_tool
from support.chart import (
    AM, CHART_DIR, FULLNAME, KUBE_VERSIONS, NAMESPACE, PROM, Rendered, annotations, container,
    keyport_job, prometheus_config, render, write_prometheus_files,
)


# --- Prometheus ---------------------------------------------------------------------------------

def test_scrape_job_discovers_keyport_pods_in_the_release_namespace(default):
    cfg = prometheus_config(default)
    job = keyport_job(cfg)
    (sd,) = job["kubernetes_sd_configs"]
    assert sd["role"] == "pod" and sd["namespaces"] == {"names": [NAMESPACE]}
    relabel = job["relabel_configs"]
    targets = {(tuple(r.get("source_labels", [])), r.get("target_label")) for r in relabel}
    assert (("__meta_kubernetes_namespace",), "namespace") in targets
    assert (("__meta_kubernetes_pod_name",), "pod") in targets
    # Not-ready pods are scraped: nothing filters on readiness.
    assert not any("ready" in s for r in relabel for s in r.get("source_labels", []))
    assert cfg["global"]["scrape_interval"] == "15s" and cfg["global"]["evaluation_interval"] == "15s"


def test_prometheus_reads_the_rules_and_alerts_the_bundled_alertmanager(default):
    cfg = prometheus_config(default)
    deploy = default.get("Deployment", PROM)
    c = container(deploy, "prometheus")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
    (rules_path,) = cfg["rule_files"]
    rules_volume = next(n for n, p in mounts.items() if rules_path.startswith(p + "/"))
    assert volumes[rules_volume]["configMap"]["name"] == f"{PROM}-rules"
    assert rules_path.rsplit("/", 1)[1] in default.get("ConfigMap", f"{PROM}-rules")["data"]
    config_flag = next(a for a in c["args"] if a.startswith("--config.file="))
    assert config_flag.split("=", 1)[1] == f"{mounts['config']}/prometheus.yml"
    (am,) = cfg["alerting"]["alertmanagers"]
    # The Service's ready endpoints, so a stopped Alertmanager is "not connected", not just failing.
    assert am["kubernetes_sd_configs"] == [{"role": "endpoints", "namespaces": {"names": [NAMESPACE]}}]
    assert am["relabel_configs"] == [{
        "source_labels": ["__meta_kubernetes_service_name", "__meta_kubernetes_endpoint_port_name",
                          "__meta_kubernetes_endpoint_ready"],
        "regex": f"{AM};http;true", "action": "keep"}]
    assert default.get("Service", AM)["spec"]["ports"][0]["port"] == 9093
    assert "alerting" not in prometheus_config(render({"alertmanager": {"enabled": False}}))


def test_prometheus_retention_and_storage():
    r = render({"prometheus": {"retention": "30d", "retentionSize": "20GB",
                               "persistence": {"enabled": True, "size": "50Gi", "storageClass": "fast"}}})
    deploy = r.get("Deployment", PROM)
    args = container(deploy, "prometheus")["args"]
    assert "--storage.tsdb.retention.time=30d" in args and "--storage.tsdb.retention.size=20GB" in args
    pvc = r.get("PersistentVolumeClaim", PROM)
    assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi" and pvc["spec"]["storageClassName"] == "fast"
    data = next(v for v in deploy["spec"]["template"]["spec"]["volumes"] if v["name"] == "data")
    assert data == {"name": "data", "persistentVolumeClaim": {"claimName": PROM}}
    assert deploy["spec"]["strategy"]["type"] == "Recreate"
    default = render({})
    default_data = next(v for v in default.get("Deployment", PROM)["spec"]["template"]["spec"]["volumes"] if v["name"] == "data")
    # History survives by default: a claim of persistence.size, with retentionSize below it.
    assert default_data == {"name": "data", "persistentVolumeClaim": {"claimName": PROM}}
    size = default.get("PersistentVolumeClaim", PROM)["spec"]["resources"]["requests"]["storage"]
    cap = next(a for a in container(default.get("Deployment", PROM), "prometheus")["args"] if a.startswith("--storage.tsdb.retention.size="))
    gib = lambda text: float(re.fullmatch(r"([0-9]+)(Gi|GB)", text).group(1))  # Prometheus' GB is GiB
    assert gib(cap.split("=", 1)[1]) < gib(size)
    # Off: an emptyDir capped at the same size, so a full TSDB evicts the pod instead of filling the node.
    off = render({"prometheus": {"persistence": {"enabled": False}}})
    assert off.maybe("PersistentVolumeClaim", PROM) is None
    off_data = next(v for v in off.get("Deployment", PROM)["spec"]["template"]["spec"]["volumes"] if v["name"] == "data")
    assert off_data == {"name": "data", "emptyDir": {"sizeLimit": size}}


@pytest.mark.parametrize("scenario", ["default", "production", "configmap-data", "tls-cert-manager",
                                      "tls-existing-secret"])
def test_promtool_accepts_the_rendered_config_and_rules(rendered_scenarios, scenario, tmp_path):
    promtool = require_tool("promtool", "scripts/install-test-deps.sh (Debian package prometheus)")
    targets = tmp_path / "targets.json"
    targets.write_text("[]")
    path = write_prometheus_files(rendered_scenarios[scenario], tmp_path, targets, live=False)
    proc = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout and re.search(r"SUCCESS: \d+ rules found", proc.stdout), proc.stdout


def test_promtool_accepts_the_prometheusrule_groups(rendered_scenarios, tmp_path):
    """The operator's PrometheusRule holds the very groups of the bundled rules file."""
    promtool = require_tool("promtool", "scripts/install-test-deps.sh (Debian package prometheus)")
    rule = rendered_scenarios["operator"].get("PrometheusRule", FULLNAME)
    bundled = yaml.safe_load(rendered_scenarios["default"].get("ConfigMap", f"{PROM}-rules")["data"]["keyport.rules.yaml"])
    assert rule["spec"]["groups"] == bundled["groups"] and bundled["groups"]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    path = tmp_path / "rule.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_servicemonitor_scrapes_the_service_as_job_keyport(rendered_scenarios):
    r = rendered_scenarios["operator"]
    sm = r.get("ServiceMonitor", FULLNAME)
    metrics = r.get("Service", f"{FULLNAME}-metrics")
    # The metrics Service (the admin port), not the public one.
    assert sm["spec"]["selector"]["matchLabels"].items() <= metrics["metadata"]["labels"].items()
    assert not sm["spec"]["selector"]["matchLabels"].items() <= r.get("Service", FULLNAME)["metadata"]["labels"].items()
    assert sm["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (ep,) = sm["spec"]["endpoints"]
    assert ep["port"] == "metrics" and ep["path"] == "/metrics" and ep["interval"] == "30s"
    assert ep["port"] in [p["name"] for p in metrics["spec"]["ports"]]
    assert {"targetLabel": "job", "replacement": "keyport"} in ep["relabelings"]
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"


# --- Alertmanager -------------------------------------------------------------------------------

def file_references(node: Any) -> list[str]:
    """Values of every *_file key in an Alertmanager configuration."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k.endswith("_file") and isinstance(v, str)] + \
            [p for v in node.values() for p in file_references(v)]
    if isinstance(node, list):
        return [p for v in node for p in file_references(v)]
    return []


def write_alertmanager_files(r: Rendered, tmp: Path) -> Path:
    """The rendered config plus the Secret's files, laid out as the pod sees them (under tmp)."""
    deploy = r.get("Deployment", AM)
    c = container(deploy, "alertmanager")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
    secret_name = volumes["secrets"]["secret"]["secretName"]
    secret_dir = tmp / "secrets"
    secret_dir.mkdir()
    secret = r.maybe("Secret", secret_name)
    for key, value in ((secret or {}).get("stringData") or {}).items():
        (secret_dir / key).write_text(value)
    original = r.get("Secret", AM)["stringData"]["alertmanager.yml"]
    for file_path in file_references(yaml.safe_load(original)):
        # Receivers read their secrets from the mounted Secret, and only from there.
        assert file_path.startswith(mounts["secrets"] + "/"), file_path
        assert (secret_dir / file_path.rsplit("/", 1)[1]).exists(), f"{file_path} is not in Secret {secret_name}"
    text = original.replace(mounts["secrets"], str(secret_dir))
    path = tmp / "alertmanager.yml"
    path.write_text(text)
    return path


def test_receiver_urls_are_in_a_secret_never_a_configmap(default):
    hook, switch = "https://hooks.example.org/T0/secret-token", "https://hc-ping.example.org/uuid-token"
    with_urls = render({"alerts": {"routing": {"webhook": {"url": hook, "sendResolved": True}}, "watchdog": {"url": switch}}})
    for r, expected in ((default, set()), (with_urls, {hook, switch})):
        configmaps = json.dumps([d.get("data") for d in r.of_kind("ConfigMap")])
        assert "hooks.example" not in configmaps and "hc-ping" not in configmaps
        assert not any("alertmanager.yml" in (d.get("data") or {}) for d in r.of_kind("ConfigMap"))
        config = r.get("Secret", AM)["stringData"]["alertmanager.yml"]
        assert {u for u in (hook, switch) if u in config} == expected


def test_alertmanager_mounts_config_and_secrets(default):
    deploy = default.get("Deployment", AM)
    c = container(deploy, "alertmanager")
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert mounts["secrets"]["mountPath"] == "/etc/alertmanager/secrets" and mounts["secrets"]["readOnly"]
    assert f"--config.file={mounts['config']['mountPath']}/alertmanager.yml" in c["args"]
    volumes = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
    assert volumes["secrets"]["secret"]["secretName"] == f"{AM}-secrets"
    assert default.get("Secret", f"{AM}-secrets")["type"] == "Opaque"
    # The config never holds a secret value; receivers read files from the mounted Secret.
    existing = render({"alertmanager": {"existingSecret": "team-receivers"}})
    assert existing.maybe("Secret", f"{AM}-secrets") is None
    vols = {v["name"]: v for v in existing.get("Deployment", AM)["spec"]["template"]["spec"]["volumes"]}
    assert vols["secrets"]["secret"]["secretName"] == "team-receivers"
    assert not any(k.startswith("checksum/") for k in annotations(existing, AM))


@pytest.mark.parametrize("values", [
    {},
    {"alertmanager": {"secrets": {"pagerduty-routing-key": "0123456789abcdef"}},
     "alerts": {"routing": {"pagerduty": {"enabled": True}}}},
    {"alertmanager": {"secrets": {"slack-api-url": "https://hooks.slack.invalid/T0/B0/x"}},
     "alerts": {"routing": {"slack": {"enabled": True, "channel": "#keyport"}}}},
], ids=["default", "pagerduty", "slack"])
def test_amtool_accepts_the_rendered_config(values, tmp_path):
    amtool = require_tool("amtool", "scripts/install-test-deps.sh (Debian package prometheus-alertmanager)")
    path = write_alertmanager_files(render(values), tmp_path)
    proc = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


# --- Grafana dashboard ConfigMap ----------------------------------------------------------------

DASHBOARD_JSON = CHART_DIR / "files" / "dashboards" / "keyport.json"


def test_dashboard_configmap_is_absent_by_default(default):
    assert not [n for n in default.names() if "dashboard" in n.lower()]
    assert default.maybe("ConfigMap", f"{FULLNAME}-dashboards") is None


def test_dashboard_configmap_carries_the_one_dashboard_for_the_grafana_sidecar(tmp_path):
    import kubernetes_validate

    r = render({"dashboards": {"enabled": True}})
    cm = r.get("ConfigMap", f"{FULLNAME}-dashboards")
    assert cm["metadata"]["namespace"] == NAMESPACE
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["labels"]["app.kubernetes.io/name"] == "keyport"
    assert cm["metadata"]["annotations"] == {"grafana_folder": "keyport"}
    assert list(cm["data"]) == ["keyport.json"]
    assert json.loads(cm["data"]["keyport.json"]) == json.loads(DASHBOARD_JSON.read_text())
    # kubectl apply keeps a last-applied copy in an annotation, capped at 256 KiB.
    assert len(cm["data"]["keyport.json"].encode()) < 256 * 1024
    for kube in KUBE_VERSIONS:
        kubernetes_validate.validate(cm, kube.removeprefix("v"), strict=True)
    # A misspelled field fails the same validator (negative control).
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**cm, "datas": {}}, KUBE_VERSIONS[-1].removeprefix("v"), strict=True)


def test_dashboard_configmap_labels_annotations_and_namespace_are_configurable():
    r = render({"dashboards": {"enabled": True, "namespace": "monitoring",
                               "labels": {"grafana_dashboard": "keyport", "release": "kube-prometheus-stack"},
                               "annotations": {"k8s-sidecar-target-directory": "/tmp/dashboards/keyport"}}})
    cm = r.get("ConfigMap", f"{FULLNAME}-dashboards")
    assert cm["metadata"]["namespace"] == "monitoring"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "keyport"
    assert cm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # Map values are merged by Helm: the default folder annotation stays unless set to null.
    assert cm["metadata"]["annotations"]["k8s-sidecar-target-directory"] == "/tmp/dashboards/keyport"
    quiet = render({"dashboards": {"enabled": True, "annotations": {"grafana_folder": None}}})
    assert "annotations" not in quiet.get("ConfigMap", f"{FULLNAME}-dashboards")["metadata"]


@pytest.mark.parametrize("values, where", [
    ({"dashboards": {"enabled": "yes"}}, "/dashboards/enabled"),
    ({"dashboards": {"labels": {"grafana_dashboard": 1}}}, "/dashboards/labels/grafana_dashboard"),
    ({"dashboards": {"labels": {"bad label!": "1"}}}, "bad label!"),
    ({"dashboards": {"namespace": "Monitoring_NS"}}, "/dashboards/namespace"),
    ({"dashboards": {"folder": "keyport"}}, "/dashboards"),
    ({"dashboards": {"annotations": {"grafana_folder": 3}}}, "/dashboards/annotations/grafana_folder"),
])
def test_schema_refuses_bad_dashboard_values(values, where):
    with pytest.raises(HelmValuesError) as err:
        render(values)
    assert where in str(err.value), str(err.value)
