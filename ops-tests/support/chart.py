"""Rendering the keyport chart with Helm's own engine (helm-python-sdk), and the lookups into rendered
objects that ops-tests/test_chart_*.py share."""

from __future__ import annotations

import copy
import functools
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import yaml
from helm_python import Chart

from support import CHART, REPO

# KEYPORT_CHART_DIR points the tests at another copy of the chart (e.g. to try a change or a mutation).
CHART_DIR = Path(os.environ.get("KEYPORT_CHART_DIR") or CHART)
SCENARIO_DIR = CHART_DIR / "ci"
KIND_VALUES = REPO / "deploy" / "kind" / "values.yaml"
RELEASE = "keyport"
NAMESPACE = "keyport-ns"
KUBE_VERSIONS = ("1.29.0", "1.33.0")
# Kinds of the Prometheus Operator and cert-manager: kubernetes-validate has no schema for them.
OPERATOR_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule"),
                  ("cert-manager.io/v1", "Certificate")}


EXAMPLE_SCENARIOS = ("git-sync", "configmap", "pvc", "fetch")


def scenarios() -> dict[str, dict[str, Any]]:
    """The default values, every scenario file in charts/keyport/ci/ and the kind values, by short name."""
    found = {"default": {}}
    for path in sorted(SCENARIO_DIR.glob("*-values.yaml")):
        found[path.name.removesuffix("-values.yaml")] = yaml.safe_load(path.read_text()) or {}
    found["kind"] = yaml.safe_load(KIND_VALUES.read_text())
    # Examples that run on every supported Kubernetes version get every scenario check too (hardening,
    # pinned images, strict validation for each version, checkov); values-image-volume.yaml needs 1.33.
    for stem in EXAMPLE_SCENARIOS:
        found[f"example-{stem}"] = yaml.safe_load((CHART_DIR / "examples" / f"values-{stem}.yaml").read_text())
    return found


@functools.lru_cache(maxsize=1)
def chart() -> Chart:
    return Chart.load(str(CHART_DIR))


def render_raw(values: dict[str, Any] | None = None, *, name: str = RELEASE,
               namespace: str = NAMESPACE) -> dict[str, str]:
    """Template path -> rendered text (NOTES.txt included), exactly as `helm template` makes it."""
    return chart().render(copy.deepcopy(values or {}), name=name, namespace=namespace)


class Rendered:
    """The objects of one render, with lookups by kind and name."""

    def __init__(self, raw: dict[str, str]):
        self.raw = raw
        self.notes = next((text for path, text in raw.items() if path.endswith("NOTES.txt")), "")
        self.docs: list[dict[str, Any]] = []
        self.source: dict[int, str] = {}
        for path, text in sorted(raw.items()):
            if not path.endswith(".yaml"):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    self.source[id(doc)] = path
                    self.docs.append(doc)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        matches = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)} in {self.names()}"
        return matches[0]

    def maybe(self, kind: str, name: str) -> dict[str, Any] | None:
        matches = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        return matches[0] if matches else None

    def names(self) -> list[str]:
        return sorted(f"{d['kind']}/{d['metadata']['name']}" for d in self.docs)

    def pod_specs(self) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(kind/name, pod metadata, pod spec) for every workload and bare Pod."""
        for d in self.docs:
            if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
                tpl = d["spec"]["template"]
                yield f"{d['kind']}/{d['metadata']['name']}", tpl["metadata"], tpl["spec"]
            elif d["kind"] == "Pod":
                yield f"Pod/{d['metadata']['name']}", d["metadata"], d["spec"]


def render(values: dict[str, Any] | None = None, **kw: Any) -> Rendered:
    return Rendered(render_raw(values, **kw))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


# --- shared by the chart tests ------------------------------------------------------------------

SCENARIOS = scenarios()
FULLNAME = RELEASE  # the release name already holds the chart name
PROM = f"{FULLNAME}-prometheus"
AM = f"{FULLNAME}-alertmanager"
VENV_BIN = Path(sys.executable).parent


def keyport_deployment(r: Rendered) -> dict[str, Any]:
    return r.get("Deployment", FULLNAME)


def container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    spec = workload["spec"]["template"]["spec"] if workload["kind"] != "Pod" else workload["spec"]
    return next(c for c in spec["containers"] if c["name"] == name)


def pod_security_checks(name: str, spec: dict[str, Any]):
    psc = spec.get("securityContext", {})
    assert psc.get("runAsNonRoot") is True, name
    assert isinstance(psc.get("runAsUser"), int) and psc["runAsUser"] > 0, name
    assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
    for c in spec.get("initContainers", []) + spec["containers"]:
        sc = c["securityContext"]
        where = f"{name}/{c['name']}"
        assert sc["readOnlyRootFilesystem"] is True, where
        assert sc["allowPrivilegeEscalation"] is False, where
        assert sc.get("privileged") is False, where
        assert sc["capabilities"] == {"drop": ["ALL"]}, where
        assert sc["runAsNonRoot"] is True and isinstance(sc["runAsUser"], int) and sc["runAsUser"] > 0, where
        assert sc["seccompProfile"]["type"] == "RuntimeDefault", where
        assert c["resources"]["requests"] and c["resources"]["limits"], where


def annotations(r: Rendered, name: str) -> dict[str, str]:
    return r.get("Deployment", name)["spec"]["template"]["metadata"].get("annotations", {})


def prometheus_config(r: Rendered) -> dict[str, Any]:
    return yaml.safe_load(r.get("ConfigMap", PROM)["data"]["prometheus.yml"])


def keyport_job(cfg: dict[str, Any]) -> dict[str, Any]:
    (job,) = [j for j in cfg["scrape_configs"] if j["job_name"] == "keyport"]
    return job


def write_prometheus_files(r: Rendered, tmp: Path, targets_file: Path, live: bool) -> Path:
    """The rendered Prometheus configuration, runnable outside Kubernetes.

    Debian's prometheus/promtool are built without Kubernetes service discovery, so the pod discovery
    (and the Alertmanager endpoints discovery) is swapped for a file_sd with the same target labels; every relabelling rule is kept as rendered.
    The rules file path is pointed at the rendered rules ConfigMap written to tmp. For a live run the
    alerting block and the jobs whose targets are cluster DNS names are dropped (they cannot resolve here).
    """
    cfg = prometheus_config(r)
    rules = tmp / "keyport.rules.yaml"
    rules.write_text(r.get("ConfigMap", f"{PROM}-rules")["data"]["keyport.rules.yaml"])
    cfg["rule_files"] = [str(rules)]
    job = keyport_job(cfg)
    assert job.pop("kubernetes_sd_configs")
    job["file_sd_configs"] = [{"files": [str(targets_file)], "refresh_interval": "1s"}]
    # The Alertmanager's endpoints discovery too (its relabelling kept, so it is still checked).
    for alertmanagers in cfg.get("alerting", {}).get("alertmanagers", []):
        assert alertmanagers.pop("kubernetes_sd_configs")
        alertmanagers["file_sd_configs"] = [{"files": [str(targets_file)], "refresh_interval": "1s"}]
    if live:
        cfg.pop("alerting", None)
        cfg["scrape_configs"] = [job]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path
SERVICE_NAME = f"{FULLNAME}.{NAMESPACE}.svc"
