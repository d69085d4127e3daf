"""The Helm chart charts/keyport, rendering, linting and strict validation of every scenario, the values schema and
what each value renders to (pods, services, probes, shutdown timing, ports data, checksums, TLS, examples).

Helm: helm-python-sdk (Helm v4's Go SDK; no helm binary, no cluster). Schemas: kubernetes-validate
--strict for Kubernetes 1.29 and 1.33. Every scenario file in charts/keyport/ci/ is rendered and checked.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_python import Chart, HelmRenderError, HelmValuesError, lint

from support import keyport_bin, script_module
from support.chart import (
    AM, CHART_DIR, FULLNAME, KUBE_VERSIONS, NAMESPACE, OPERATOR_KINDS, PROM, RELEASE, Rendered,
    SCENARIOS, SERVICE_NAME, VENV_BIN, annotations, chart, container, env_of, keyport_deployment,
    keyport_job, pod_security_checks, prometheus_config, render,
)


# --- scenarios, lint, schemas --------------------------------------------------------------------

def test_scenario_files_exist():
    assert {"minimal", "production", "operator", "everything-off", "configmap-data", "tls-cert-manager",
            "tls-existing-secret"} <= set(SCENARIOS)


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_lint_strict_has_no_errors(scenario, kube):
    report = lint(str(CHART_DIR), SCENARIOS[scenario], strict=True, namespace=NAMESPACE,
                  kube_version=f"v{kube}")
    assert report["total_charts_linted"] == 1
    assert not report["errors"], report
    # Warnings and errors (severity >= 2) fail under --strict; only INFO (e.g. "icon is recommended") may remain.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_lint_catches_a_broken_chart(tmp_path):
    """Negative control: the same lint call does report a template that does not parse."""
    broken = tmp_path / "keyport"
    chart().save_dir(str(tmp_path))
    (broken / "templates" / "broken.yaml").write_text("{{ if .Values.replicaCount }}\nkind: x\n")
    report = lint(str(broken), {}, strict=True, kube_version="v1.33.0")
    assert report["total_charts_linted"] == 1
    assert any("broken.yaml" in e for e in report["errors"]), report


def test_each_scenario_renders_what_it_promises(rendered_scenarios):
    names = {k: set(r.names()) for k, r in rendered_scenarios.items()}
    assert {f"Deployment/{PROM}", f"Deployment/{AM}", f"PodDisruptionBudget/{FULLNAME}",
            f"Service/{FULLNAME}", f"Pod/{FULLNAME}-test"} <= names["default"]
    assert not any(n.startswith(("HorizontalPodAutoscaler/", "NetworkPolicy/", "Ingress/", "ServiceMonitor/"))
                   for n in names["default"])
    # minimal: one replica, so no PDB (it would block every drain), and no bundled monitoring.
    assert f"PodDisruptionBudget/{FULLNAME}" not in names["minimal"]
    assert not any("prometheus" in n or "alertmanager" in n for n in names["minimal"])
    assert {f"ServiceMonitor/{FULLNAME}", f"PrometheusRule/{FULLNAME}"} <= names["operator"]
    assert not any(n.startswith("Deployment/") and n != f"Deployment/{FULLNAME}" for n in names["operator"])
    assert names["everything-off"] == {f"Deployment/{FULLNAME}", f"Service/{FULLNAME}", f"Service/{FULLNAME}-metrics"}
    assert f"ConfigMap/{FULLNAME}-ports" in names["configmap-data"]
    prod = names["production"]
    assert {f"HorizontalPodAutoscaler/{FULLNAME}", f"Ingress/{FULLNAME}", f"NetworkPolicy/{FULLNAME}",
            f"NetworkPolicy/{PROM}", f"NetworkPolicy/{AM}", f"NetworkPolicy/{FULLNAME}-test",
            f"PersistentVolumeClaim/{PROM}", f"PersistentVolumeClaim/{AM}"} <= prod


def test_every_object_validates_strictly_against_two_kubernetes_versions(rendered_scenarios, tmp_path):
    files, count = [], 0
    for name, r in rendered_scenarios.items():
        docs = [d for d in r.docs if (d["apiVersion"], d["kind"]) not in OPERATOR_KINDS]
        count += len(docs)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        files.append(str(path))
    cli = str(VENV_BIN / "kubernetes-validate")
    for kube in KUBE_VERSIONS:
        proc = subprocess.run([cli, "--strict", "-k", kube, *files], capture_output=True, text=True, timeout=300)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        # A removed apiVersion only prints WARN with exit 0: treat it as a failure.
        assert not re.search(r"^(WARN|ERROR|FATAL)", out, re.M), out
        assert len(re.findall(r"^INFO .* passed for resource", out, re.M)) == count


def test_strict_validation_rejects_a_misspelled_field(default, tmp_path):
    """Negative control: the validator used above does refuse an unknown field."""
    deploy = json.loads(json.dumps(keyport_deployment(default)))
    deploy["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(deploy))
    proc = subprocess.run([str(VENV_BIN / "kubernetes-validate"), "--strict", "-k", KUBE_VERSIONS[-1], str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "imagePullPolcy" in proc.stdout


def test_only_the_operator_kinds_lack_a_schema(rendered_scenarios):
    kinds = {(d["apiVersion"], d["kind"]) for r in rendered_scenarios.values() for d in r.docs}
    assert kinds & OPERATOR_KINDS == OPERATOR_KINDS  # operator mode renders both
    assert all(not k[0].startswith(("monitoring.coreos.com", "cert-manager.io")) for k in kinds - OPERATOR_KINDS)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenarios_pass_the_schema(scenario):
    chart().validate_schema(SCENARIOS[scenario])


@pytest.mark.parametrize("values, where, what", [
    ({"replicaCount": -1}, "/replicaCount", "minimum"),
    ({"replicaCount": "3"}, "/replicaCount", "want integer"),
    ({"bogus": 1}, "at ''", "'bogus' not allowed"),
    ({"prometheus": {"retension": "1d"}}, "/prometheus", "'retension' not allowed"),
    ({"image": {"tagg": "1"}}, "/image", "'tagg' not allowed"),
    ({"service": {"type": "Nodeport"}}, "/service/type", "NodePort"),
    ({"service": {"nodePort": 0}}, "/service/nodePort", "want 1"),
    ({"service": {"nodePort": 70000}}, "/service/nodePort", "want 65,535"),
    ({"prometheus": {"service": {"nodePort": 70000}}}, "/prometheus/service/nodePort", "want 65,535"),
    ({"service": {"externalTrafficPolicy": "local"}}, "/service/externalTrafficPolicy", "Local"),
    ({"podSecurityContext": {"runAsUser": 0}}, "/podSecurityContext/runAsUser", "minimum"),
    ({"podSecurityContext": {"runAsUser": "65532"}}, "/podSecurityContext/runAsUser", ""),
    ({"global": "yes"}, "/global", ""),
    ({"server": {"logFormat": "xml"}}, "/server/logFormat", "json"),
    ({"server": {"shutdownDelay": "5 seconds"}}, "/server/shutdownDelay", "pattern"),
    ({"server": {"maxSize": 2_000_000}}, "/server/maxSize", "maximum"),
    ({"securityContext": {"runAsUser": 0}}, "/securityContext/runAsUser", "minimum"),
    ({"securityContext": {"privileged": True}}, "/securityContext/privileged", ""),
    ({"podSecurityContext": {"runAsNonRoot": False}}, "/podSecurityContext/runAsNonRoot", ""),
    ({"securityContext": {"readOnlyRootFilesystem": False}}, "/securityContext/readOnlyRootFilesystem", ""),
    ({"securityContext": {"runAsUsr": 1000}}, "/securityContext", "'runAsUsr' not allowed"),
    ({"prometheus": {"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}}, "/prometheus/securityContext/capabilities/add", ""),
    ({"image": {"digest": "sha256:abc"}}, "/image/digest", "pattern"),
    ({"alertmanager": {"secrets": {"a/b": "x"}}}, "/alertmanager/secrets", ""),
    ({"autoscaling": {"targetCPUUtilizationPercentage": 150}}, "/autoscaling/targetCPUUtilizationPercentage", "maximum"),
    ({"resources": {"limits": {"memory": "lots"}}}, "/resources/limits/memory", ""),
    ({"tracing": {"endpoint": "collector:4318"}}, "/tracing/endpoint", "pattern"),
    ({"tracing": {"sampleRatio": 1.5}}, "/tracing/sampleRatio", "maximum"),
    ({"tracing": {"sampleRatio": -0.1}}, "/tracing/sampleRatio", "minimum"),
    ({"tracing": {"resourceAttributes": {"team": "a,b"}}}, "/tracing/resourceAttributes", ""),
    ({"tracing": {"sampler": "always_on"}}, "/tracing", "'sampler' not allowed"),
])
def test_schema_refuses_bad_values(values, where, what):
    with pytest.raises(HelmValuesError) as err:
        chart().validate_schema(values)
    assert where in str(err.value) and what in str(err.value), str(err.value)
    # Installing with them fails the same way (Helm validates before rendering).
    with pytest.raises(HelmValuesError):
        render(values)


def test_schema_keeps_refusing_unknown_keys_everywhere():
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    assert schema["additionalProperties"] is False
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert set(schema["properties"]) == set(defaults), "schema and values.yaml list different top-level keys"

    def walk(node: dict[str, Any], value: Any, path: str):
        if "$ref" in node:  # shared definitions (#/$defs/...) are checked where they are used
            node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
        for part in node.get("allOf", []):  # e.g. a shared definition narrowed for one use
            walk(part, value, path)
        if node.get("type") == "object" and "properties" in node and isinstance(value, dict):
            assert node.get("additionalProperties") is False, f"{path} accepts unknown keys"
            assert set(value) <= set(node["properties"]), f"{path}: {set(value) - set(node['properties'])} untyped"
            for key, sub in value.items():
                walk(node["properties"][key], sub, f"{path}.{key}")

    for key, value in defaults.items():
        if key != "alerts":
            walk(schema["properties"][key], value, key)

    # Every shared definition is used, and refers only to definitions that exist.
    text = json.dumps(schema["properties"]) + json.dumps(schema["$defs"])
    assert {ref.removeprefix("#/$defs/") for ref in re.findall(r'"\$ref": "([^"]+)"', text)} == set(schema["$defs"])


def schema_generator():
    return script_module("generate-chart-schema")


def test_schema_and_readme_values_table_are_generated_from_values_yaml(tmp_path, monkeypatch):
    """values.schema.json and README.md's values table are the generator's output, and --check notices a hand edit."""
    module = schema_generator()
    assert module.main(["--check"]) == 0, "stale values.schema.json or README values table: run `make chart-docs`"
    for name, edit in (("values.schema.json", ('"maximum": 1048576', '"maximum": 2097152')),
                       ("README.md", ("| `server.maxSize` | integer | `1024` |", "| `server.maxSize` | integer | `2048` |"))):
        edited = tmp_path / name
        original = (CHART_DIR / name).read_text()
        assert edit[0] in original
        edited.write_text(original.replace(edit[0], edit[1], 1))
        attribute = "SCHEMA" if name.endswith(".json") else "README"
        monkeypatch.setattr(module, attribute, edited)
        assert module.main(["--check"]) == 1, f"a hand edit of {name} went unnoticed"
        assert module.main([]) == 0
        assert edited.read_text() == original
        monkeypatch.setattr(module, attribute, CHART_DIR / name)


def test_generator_reads_the_helm_schema_and_helm_docs_conventions():
    """The annotation rules values.yaml relies on, on a small values file (see the generator's docstring)."""
    text = """# @schema.root
# title: t
# $defs:
#   port: {type: integer, minimum: 1, maximum: 65535}
# @schema.root
# -- Replicas.
# @schema
# minimum: 1
# @schema
replicas: 2
# @schema
# required: [port]
# @schema
service:
  # -- Service port.
  # @schema
  # $ref: '#/$defs/port'
  # @schema
  port: 80
  # @schema
  # type: [string, "null"]
  # required: true
  # @schema
  name: null
  annotations: {}
  ratio: 0.5

# Not a description: a blank line separates this comment from the key.

# @schema
# additionalProperties: {type: string}
# @schema
labels:
  app: x
tags: [a, b]
"""
    schema = schema_generator().build_schema(text)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#" and schema["title"] == "t"
    assert schema["additionalProperties"] is False and schema["$defs"] == {"port": {"type": "integer", "minimum": 1, "maximum": 65535}}
    assert schema["properties"]["replicas"] == {"type": "integer", "description": "Replicas.", "minimum": 1}
    service = schema["properties"]["service"]
    assert service["additionalProperties"] is False and service["required"] == ["name", "port"]
    assert service["properties"]["port"] == {"$ref": "#/$defs/port", "description": "Service port."}
    assert service["properties"]["name"] == {"type": ["string", "null"]}
    assert service["properties"]["annotations"] == {"type": "object"}  # an empty map is free-form
    assert service["properties"]["ratio"] == {"type": "number"}
    assert schema["properties"]["labels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}


@pytest.mark.parametrize("values, message", [
    ({"server": {"shutdownDelay": "40s"}}, "server.shutdownDelay (40s) must be shorter than terminationGracePeriodSeconds (40s)"),
    ({"server": {"requestTimeout": "35s"}}, "terminationGracePeriodSeconds (40s) must exceed server.shutdownDelay (5s) plus server.requestTimeout (35s)"),
    ({"server": {"shutdownDelay": "2m"}, "terminationGracePeriodSeconds": 60}, "terminationGracePeriodSeconds (60s)"),
    ({"ports": {"data": "{}", "existingConfigMap": "mine"}}, "set at most one ports data source, got ports.data, ports.existingConfigMap"),
    ({"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}, "autoscaling.minReplicas (5) must not exceed autoscaling.maxReplicas (2)"),
    ({"service": {"type": "ClusterIP", "nodePort": 31000}}, "service.nodePort is set but service.type is ClusterIP"),
    ({"service": {"type": "ClusterIP", "externalTrafficPolicy": "Local"}}, "service.externalTrafficPolicy is set but service.type is ClusterIP"),
    ({"prometheus": {"scrapeInterval": "15s", "scrapeTimeout": "20s"}}, "prometheus.scrapeTimeout (20s) must not exceed prometheus.scrapeInterval (15s)"),
])
def test_render_refuses_inconsistent_values(values, message):
    with pytest.raises(HelmRenderError) as err:
        render(values)
    assert message in str(err.value)


# The binary's duration grammar (Duration.parse) is the one the chart's schema and its template
# checks use: each string gets the same verdict from all three (a long grace period, so only the grammar decides).
DURATIONS = {
    "0": True, "0s": True, "500ms": True, "5s": True, "1m": True, "1m30s": True, "1s500ms": True,
    "5": False, "5 s": False, "1.5s": False, "-1s": False, "s": False, "5x": False, "": False, "1d": False,
}

@pytest.fixture(scope="module")
def schemaless_chart(tmp_path_factory):
    """The chart without values.schema.json, so the template's own checks meet values the schema would stop."""
    copy = tmp_path_factory.mktemp("chart") / "keyport"
    shutil.copytree(CHART_DIR, copy)
    (copy / "values.schema.json").unlink()
    with Chart.load(str(copy)) as loaded:
        yield loaded


@pytest.mark.parametrize("text, valid", DURATIONS.items())
def test_one_duration_grammar_for_binary_schema_and_template(text, valid, schemaless_chart):
    binary = keyport_bin()
    assert binary, "no keyport binary: run `make build`"
    # --request-timeout 0 is refused after --shutdown-delay is read (flags are read in declaration order), so nothing binds.
    result = subprocess.run([binary, "--shutdown-delay", text, "--request-timeout", "0"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 64
    assert ("--shutdown-delay" not in result.stderr) == valid, result.stderr
    values = {"server": {"shutdownDelay": text}, "terminationGracePeriodSeconds": 3600}
    if valid:
        chart().validate_schema(values)
        schemaless_chart.render(values, name=RELEASE, namespace=NAMESPACE)
    else:
        with pytest.raises(HelmValuesError):
            chart().validate_schema(values)
        with pytest.raises(HelmRenderError, match="server.shutdownDelay"):
            schemaless_chart.render(values, name=RELEASE, namespace=NAMESPACE)


def test_template_durations_add_up():
    """keyport.durationMillis sums concatenated units: 1m30s + 35s reaches the 2m grace period."""
    with pytest.raises(HelmRenderError, match="must exceed server.shutdownDelay"):
        render({"server": {"shutdownDelay": "1m30s", "requestTimeout": "35s"}, "terminationGracePeriodSeconds": 120})
    render({"server": {"shutdownDelay": "1m30s", "requestTimeout": "25s"}, "terminationGracePeriodSeconds": 120})


# --- conventions --------------------------------------------------------------------------------

def test_chart_metadata():
    meta = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == "keyport" and meta["type"] == "application"
    assert meta["appVersion"] == "0.1.0"
    assert not (CHART_DIR / "requirements.yaml").exists() and not meta.get("dependencies"), "no subcharts"
    templates = sorted(p.relative_to(CHART_DIR / "templates").as_posix() for p in (CHART_DIR / "templates").rglob("*"))
    assert "_helpers.tpl" in templates and "NOTES.txt" in templates and "tests/test-connection.yaml" in templates


def test_one_resource_per_template_file(rendered_scenarios):
    for r in rendered_scenarios.values():
        for path, text in r.raw.items():
            if path.endswith(".yaml"):
                assert len([d for d in yaml.safe_load_all(text) if d]) <= 1, path


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_standard_labels_on_every_object(rendered_scenarios, scenario):
    for doc in rendered_scenarios[scenario].docs:
        labels = doc["metadata"].get("labels", {})
        where = f"{scenario}: {doc['kind']}/{doc['metadata']['name']}"
        assert labels.get("helm.sh/chart") == "keyport-0.1.0", where
        assert labels.get("app.kubernetes.io/instance") == RELEASE, where
        assert labels.get("app.kubernetes.io/managed-by") == "Helm", where
        assert labels.get("app.kubernetes.io/version") == "0.1.0", where
        assert labels.get("app.kubernetes.io/name", "").startswith("keyport"), where
        # The dashboard ConfigMap alone may live where Grafana's sidecar looks (dashboards.namespace).
        dashboards_ns = SCENARIOS[scenario].get("dashboards", {}).get("namespace") or NAMESPACE
        expected = dashboards_ns if doc["metadata"]["name"] == f"{FULLNAME}-dashboards" else NAMESPACE
        assert doc["metadata"]["namespace"] == expected, where


def test_selectors_use_name_and_instance_only(rendered_scenarios):
    for scenario, r in rendered_scenarios.items():
        for d in r.of_kind("Deployment"):
            selector = d["spec"]["selector"]["matchLabels"]
            assert set(selector) == {"app.kubernetes.io/name", "app.kubernetes.io/instance"}, scenario
            assert selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        for s in r.of_kind("Service"):
            assert set(s["spec"]["selector"]) == {"app.kubernetes.io/name", "app.kubernetes.io/instance"}
        for p in r.of_kind("PodDisruptionBudget"):
            assert p["spec"]["selector"]["matchLabels"] == keyport_deployment(r)["spec"]["selector"]["matchLabels"]


def test_selectors_match_only_their_own_pods(default):
    """keyport's Service/PDB must not pick up Prometheus, Alertmanager or test pods, and vice versa."""
    pods = {name: meta["labels"] for name, meta, _ in default.pod_specs()}
    for svc in default.of_kind("Service"):
        matched = [n for n, labels in pods.items() if svc["spec"]["selector"].items() <= labels.items()]
        assert len(matched) == 1, (svc["metadata"]["name"], matched)
        # <fullname>-metrics selects keyport's own pods (their admin port).
        assert matched[0].startswith("Deployment/") and matched[0].endswith(svc["metadata"]["name"].removesuffix("-metrics"))


def test_changing_the_release_keeps_selectors_stable():
    """Selectors are immutable on a Deployment: an upgrade with a new chart/app version must not touch them."""
    a = keyport_deployment(render({}))["spec"]["selector"]
    b = keyport_deployment(render({"image": {"tag": "9.9.9"}, "podLabels": {"team": "x"}}))["spec"]["selector"]
    assert a == b


# --- keyport pods -------------------------------------------------------------------------------

def test_default_install_is_highly_available_on_a_nodeport(default):
    deploy = keyport_deployment(default)
    assert deploy["spec"]["replicas"] >= 2
    strategy = deploy["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate" and strategy["rollingUpdate"]["maxUnavailable"] == 0
    svc = default.get("Service", FULLNAME)
    assert svc["spec"]["type"] == "NodePort"
    # Exactly one port on the public Service: the API, never the admin listener.
    (port,) = svc["spec"]["ports"]
    assert port["port"] == 1123 and port["targetPort"] == "http" and "nodePort" not in port
    c = container(deploy, "keyport")
    assert {"name": "http", "containerPort": 1123, "protocol": "TCP"} in c["ports"]
    assert {"name": "metrics", "containerPort": 9123, "protocol": "TCP"} in c["ports"]
    assert "KEYPORT_HOST" not in env_of(c), "keyport's default host takes IPv4 and IPv6"
    assert env_of(c)["KEYPORT_ADMIN_PORT"] == "9123"
    assert c["image"] == "localhost/keyport:0.1.0"  # tag defaults to appVersion


def test_the_admin_port_is_on_a_cluster_ip_metrics_service_only(default):
    metrics = default.get("Service", f"{FULLNAME}-metrics")
    assert metrics["spec"]["type"] == "ClusterIP"
    (port,) = metrics["spec"]["ports"]
    assert port == {"name": "metrics", "port": 9123, "targetPort": "metrics", "protocol": "TCP"}
    assert metrics["spec"]["selector"] == keyport_deployment(default)["spec"]["selector"]["matchLabels"]
    assert metrics["metadata"]["labels"]["app.kubernetes.io/component"] == "metrics"
    # No other Service of the release carries the admin port.
    for doc in default.of_kind("Service"):
        name = doc["metadata"]["name"]
        if name != f"{FULLNAME}-metrics":
            assert all(p.get("targetPort") != "metrics" and p["port"] != 9123 for p in doc["spec"]["ports"]), name
    moved = render({"server": {"adminPort": 9500}})
    assert moved.get("Service", f"{FULLNAME}-metrics")["spec"]["ports"][0]["port"] == 9500
    assert {"name": "metrics", "containerPort": 9500, "protocol": "TCP"} in container(keyport_deployment(moved), "keyport")["ports"]


def test_fixed_node_port(default):
    port = render({"service": {"nodePort": 31123}}).get("Service", FULLNAME)["spec"]["ports"][0]
    assert port["nodePort"] == 31123


@pytest.mark.parametrize("node_port", [1123, 8080, 30000, 32767, 40000])
def test_any_node_port_the_cluster_allows(node_port):
    """Clusters set their own --service-node-port-range: the schema leaves the range to the API server."""
    values = {"service": {"nodePort": node_port}, "prometheus": {"service": {"type": "NodePort", "nodePort": node_port}}}
    chart().validate_schema(values)
    r = render(values)
    assert r.get("Service", FULLNAME)["spec"]["ports"][0]["nodePort"] == node_port
    assert r.get("Service", PROM)["spec"]["ports"][0]["nodePort"] == node_port


def test_external_traffic_policy(default):
    assert "externalTrafficPolicy" not in default.get("Service", FULLNAME)["spec"]  # Kubernetes' default
    for policy in ("Local", "Cluster"):
        svc = render({"service": {"externalTrafficPolicy": policy}}).get("Service", FULLNAME)
        assert svc["spec"]["externalTrafficPolicy"] == policy
    svc = render({"service": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}}).get("Service", FULLNAME)
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["externalTrafficPolicy"] == "Local"


def test_global_values_are_accepted_as_a_subchart(tmp_path):
    """Helm hands every subchart `global`; umbrella charts, Argo CD and Flux wrappers set it."""
    chart().validate_schema({"global": {"imageRegistry": "registry.example", "storageClass": "fast"}})
    parent = tmp_path / "umbrella"
    (parent / "charts").mkdir(parents=True)
    (parent / "Chart.yaml").write_text("apiVersion: v2\nname: umbrella\nversion: 1.0.0\n")
    (parent / "values.yaml").write_text("global:\n  imageRegistry: registry.example\nkeyport:\n  replicaCount: 3\n")
    chart().save_dir(str(parent / "charts"))
    from helm_python import Chart
    with Chart.load(str(parent)) as umbrella:
        raw = umbrella.render({"global": {"team": "a"}}, name="stack", namespace=NAMESPACE)
    deploy = Rendered(raw).get("Deployment", "stack-keyport")
    assert deploy["spec"]["replicas"] == 3


def test_platform_assigned_ids_openshift_example():
    """examples/openshift.yaml: no UID, GID or fsGroup anywhere (restricted-v2 assigns them); the rest of
    the hardening stays."""
    values = yaml.safe_load((CHART_DIR / "examples" / "openshift.yaml").read_text())
    chart().validate_schema(values)
    r = render(values)
    seen = 0
    for name, _, spec in r.pod_specs():
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["seccompProfile"]["type"] == "RuntimeDefault", name
        assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(psc), (name, psc)
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c["securityContext"]
            assert not {"runAsUser", "runAsGroup"} & set(sc), (name, c["name"], sc)
            assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}, name
        seen += 1
    assert seen == 4  # keyport, Prometheus, Alertmanager, the helm test pod
    # Negative control: without the example the chart names its IDs.
    assert keyport_deployment(render({}))["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 65532


def test_probes_hit_the_right_paths(default):
    c = container(keyport_deployment(default), "keyport")
    # The admin listener: its /ready gives the full reason in `kubectl describe pod`.
    assert c["livenessProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "metrics"}
    assert c["startupProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 30


def durations_seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", text)
    assert match, text
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2]]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_shutdown_delay_fits_in_the_grace_period(rendered_scenarios, scenario):
    deploy = keyport_deployment(rendered_scenarios[scenario])
    env = env_of(container(deploy, "keyport"))
    delay = durations_seconds(env["KEYPORT_SHUTDOWN_DELAY"])
    assert 0 < delay < deploy["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert env["KEYPORT_ENABLE_FAULT_INJECTION"] == "false"


def test_chart_default_shutdown_delay_is_five_seconds(default):
    assert env_of(container(keyport_deployment(default), "keyport"))["KEYPORT_SHUTDOWN_DELAY"] == "5s"


def shutdown_timing_violations(deploy: dict[str, Any]) -> list[str]:
    """What breaks a zero-failure rollout: the delay must outlast the readiness probe's time to notice
    (period x failureThreshold), and the grace period the delay plus the longest drain (--request-timeout)."""
    c = container(deploy, "keyport")
    env = env_of(c)
    probe = c["readinessProbe"]
    delay = durations_seconds(env["KEYPORT_SHUTDOWN_DELAY"])
    drain = durations_seconds(env["KEYPORT_REQUEST_TIMEOUT"])
    grace = deploy["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    problems = []
    if not delay > probe["periodSeconds"] * probe["failureThreshold"]:
        problems.append(f"shutdown delay {delay}s <= readiness {probe['periodSeconds']}s x {probe['failureThreshold']}")
    if not grace > delay + drain:
        problems.append(f"grace {grace}s <= delay {delay}s + drain {drain}s")
    return problems


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_shutdown_outlasts_the_readiness_probe_and_the_grace_period_the_drain(rendered_scenarios, scenario):
    assert shutdown_timing_violations(keyport_deployment(rendered_scenarios[scenario])) == []


@pytest.mark.parametrize("values", [
    {"probes": {"readiness": {"periodSeconds": 5}}},  # the chart's former default: 5 s x 2 > the 5 s delay
    {"server": {"shutdownDelay": "4s"}},
    {"terminationGracePeriodSeconds": 35},  # = 5 s + 30 s: the template already refuses it
])
def test_shutdown_timing_check_catches_a_bad_relation(values):
    try:
        deploy = keyport_deployment(render(values))
    except HelmRenderError as err:
        assert "terminationGracePeriodSeconds" in str(err)
        return
    assert shutdown_timing_violations(deploy)


def test_haproxy_example_checks_like_the_readiness_probe(default):
    """deploy/haproxy/haproxy.cfg (run by test_ha.py) uses the chart's readiness probe timings."""
    from support import haproxy

    probe = container(keyport_deployment(default), "keyport")["readinessProbe"]
    check = haproxy.check_settings()
    assert check == {"inter": probe["periodSeconds"], "fall": probe["failureThreshold"],
                     "rise": probe.get("successThreshold", 1), "timeout_check": probe["timeoutSeconds"]}


def test_server_values_become_keyport_environment():
    r = render({"server": {"maxSize": 4096, "logLevel": "debug", "logFormat": "text", "port": 8080, "requestTimeout": "10s"},
                "extraEnv": [{"name": "TZ", "value": "UTC"}], "extraArgs": ["--log-level", "trace"]})
    c = container(keyport_deployment(r), "keyport")
    env = env_of(c)
    assert (env["KEYPORT_MAX_SIZE"], env["KEYPORT_LOG_LEVEL"], env["KEYPORT_LOG_FORMAT"]) == ("4096", "debug", "text")
    assert env["KEYPORT_SRV_PORT"] == "8080" and env["TZ"] == "UTC" and env["KEYPORT_REQUEST_TIMEOUT"] == "10s"
    assert c["ports"][0]["containerPort"] == 8080 and c["args"] == ["--log-level", "trace"]
    assert r.get("Service", FULLNAME)["spec"]["ports"][0]["targetPort"] == "http"


def test_tracing_is_off_by_default(default):
    env = env_of(container(keyport_deployment(default), "keyport"))
    assert not [name for name in env if name.startswith(("OTEL_", "KEYPORT_OTLP", "KEYPORT_TRACE", "K8S_"))]


def test_tracing_values_become_otel_environment_with_the_pod_from_the_downward_api():
    r = render({"tracing": {"endpoint": "http://otel-collector.observability:4318", "sampleRatio": 0.05,
                            "serviceName": "keyport-eu", "resourceAttributes": {"deployment.environment": "prod"}}})
    entries = container(keyport_deployment(r), "keyport")["env"]
    env = {e["name"]: e for e in entries}
    assert env["KEYPORT_OTLP_ENDPOINT"]["value"] == "http://otel-collector.observability:4318"
    assert env["KEYPORT_TRACE_SAMPLE_RATIO"]["value"] == "0.05"
    assert env["OTEL_SERVICE_NAME"]["value"] == "keyport-eu"
    assert env["K8S_POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["K8S_NAMESPACE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["K8S_NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert env["OTEL_RESOURCE_ATTRIBUTES"]["value"] == (
        "k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=$(K8S_NAMESPACE_NAME),k8s.node.name=$(K8S_NODE_NAME),"
        "deployment.environment=prod")
    # Kubernetes expands $(NAME) only for variables defined earlier in the list.
    names = [e["name"] for e in entries]
    assert max(names.index(n) for n in ("K8S_POD_NAME", "K8S_NAMESPACE_NAME", "K8S_NODE_NAME")) < names.index("OTEL_RESOURCE_ATTRIBUTES")
    # Ratio 1 and 0 render as numbers keyport accepts.
    for ratio, text in ((1, "1"), (0, "0")):
        r = render({"tracing": {"endpoint": "http://c:4318", "sampleRatio": ratio}})
        assert env_of(container(keyport_deployment(r), "keyport"))["KEYPORT_TRACE_SAMPLE_RATIO"] == text
    # Beside TLS: both sets of variables; the collector may be HTTPS too.
    r = render({"tls": {"enabled": True, "existingSecret": "mine"}, "tracing": {"endpoint": "https://collector:4318"}})
    env = env_of(container(keyport_deployment(r), "keyport"))
    assert env["KEYPORT_TLS_CERT_FILE"].endswith("/tls.crt")
    assert env["KEYPORT_OTLP_ENDPOINT"] == "https://collector:4318"


def test_pdb_and_hpa(default):
    pdb = default.get("PodDisruptionBudget", FULLNAME)
    assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["minAvailable"] == 1
    assert default.maybe("HorizontalPodAutoscaler", FULLNAME) is None

    scaled = render({"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 9}, "replicaCount": 1})
    hpa = scaled.get("HorizontalPodAutoscaler", FULLNAME)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 9)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["averageUtilization"] == 70
    # The HPA owns the replica count, and the PDB stays (the HPA keeps 3+ pods).
    assert "replicas" not in keyport_deployment(scaled)["spec"]
    assert scaled.maybe("PodDisruptionBudget", FULLNAME) is not None

    single = render({"replicaCount": 1})
    assert single.maybe("PodDisruptionBudget", FULLNAME) is None
    assert render({"podDisruptionBudget": {"enabled": False}}).maybe("PodDisruptionBudget", FULLNAME) is None


def test_topology_spread_over_nodes_and_zones(default):
    spec = keyport_deployment(default)["spec"]["template"]["spec"]
    constraints = {c["topologyKey"]: c for c in spec["topologySpreadConstraints"]}
    assert set(constraints) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    selector = keyport_deployment(default)["spec"]["selector"]["matchLabels"]
    for c in constraints.values():
        assert c["labelSelector"]["matchLabels"] == selector and c["maxSkew"] == 1
    off = render({"topologySpread": {"enabled": False}})
    assert "topologySpreadConstraints" not in keyport_deployment(off)["spec"]["template"]["spec"]


def test_optional_pod_settings():
    r = render({"imagePullSecrets": [{"name": "regcred"}], "priorityClassName": "critical",
                "image": {"digest": "sha256:" + "a" * 64}, "podAnnotations": {"a": "b"}})
    spec = keyport_deployment(r)["spec"]["template"]["spec"]
    assert spec["imagePullSecrets"] == [{"name": "regcred"}] and spec["priorityClassName"] == "critical"
    assert container(keyport_deployment(r), "keyport")["image"] == "localhost/keyport@sha256:" + "a" * 64
    assert keyport_deployment(r)["spec"]["template"]["metadata"]["annotations"] == {"a": "b"}
    for name, _, pod in r.pod_specs():
        assert pod["imagePullSecrets"] == [{"name": "regcred"}], name


# --- ports data ---------------------------------------------------------------------------------

def test_default_serves_the_image_sample(default):
    c = container(keyport_deployment(default), "keyport")
    assert "KEYPORT_PORTS_FILE" not in env_of(c) and "volumeMounts" not in c
    assert "volumes" not in keyport_deployment(default)["spec"]["template"]["spec"]


def ports_mount(r: Rendered) -> tuple[dict[str, Any], dict[str, Any], str]:
    deploy = keyport_deployment(r)
    c = container(deploy, "keyport")
    (mount,) = c["volumeMounts"]
    (volume,) = deploy["spec"]["template"]["spec"]["volumes"]
    assert mount["name"] == volume["name"]
    # A directory mount: with subPath kubelet never updates the file and keyport could not reload it.
    assert "subPath" not in mount and "subPathExpr" not in mount and mount["readOnly"] is True
    return mount, volume, env_of(c)["KEYPORT_PORTS_FILE"]


def test_ports_from_values_become_a_mounted_configmap(rendered_scenarios):
    r = rendered_scenarios["configmap-data"]
    mount, volume, ports_file = ports_mount(r)
    cm = r.get("ConfigMap", f"{FULLNAME}-ports")
    assert volume["configMap"]["name"] == cm["metadata"]["name"]
    assert ports_file == f"{mount['mountPath']}/ports.json"
    data = json.loads(cm["data"]["ports.json"])
    assert data == json.loads(SCENARIOS["configmap-data"]["ports"]["data"])


def test_ports_from_an_existing_configmap_or_volume():
    r = render({"ports": {"existingConfigMap": "site-ports", "fileName": "world.json"}})
    mount, volume, ports_file = ports_mount(r)
    assert volume["configMap"] == {"name": "site-ports", "items": [{"key": "world.json", "path": "world.json"}]}
    assert ports_file == f"{mount['mountPath']}/world.json"
    assert r.maybe("ConfigMap", f"{FULLNAME}-ports") is None

    r = render({"ports": {"volume": {"persistentVolumeClaim": {"claimName": "ports-pvc", "readOnly": True}}}})
    _, volume, ports_file = ports_mount(r)
    assert volume["persistentVolumeClaim"] == {"claimName": "ports-pvc", "readOnly": True}
    assert ports_file.endswith("/ports.json")


# --- checksums ----------------------------------------------------------------------------------

def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_config_changes_are_reloaded_and_roll_no_pod(default):
    """Rules, scrape, routing and receiver-secret changes reach the running servers through the
    reload-on-change sidecar: the pod templates stay the same, so nothing restarts."""
    templates = lambda r: {n: r.get("Deployment", n)["spec"]["template"] for n in (PROM, AM)}
    base = templates(default)
    base_keyport = keyport_deployment(default)["spec"]["template"]
    threshold = default_alerts()["errors5xx"]["threshold"]
    changes = {
        "rules": {"alerts": {"errors5xx": {"threshold": threshold / 2}}},
        "scrape": {"prometheus": {"scrapeInterval": "30s"}},
        "routing": {"alerts": {"routing": {"groupWait": "17s"}}},
        "secret": {"alertmanager": {"secrets": {"pagerduty-routing-key": "k1"}}},
    }
    for what, values in changes.items():
        changed = render(values)
        assert templates(changed) == base, f"a {what} change rolls a monitoring pod"
        assert keyport_deployment(changed)["spec"]["template"] == base_keyport, what
    # ...while the mounted objects do change (the sidecar has something to see).
    assert render(changes["rules"]).get("ConfigMap", f"{PROM}-rules") != default.get("ConfigMap", f"{PROM}-rules")
    assert render(changes["routing"]).get("Secret", AM) != default.get("Secret", AM)
    # A flag or image change still rolls the pod.
    assert templates(render({"prometheus": {"retention": "30d"}}))[PROM] != base[PROM]
    assert templates(render({"alertmanager": {"image": {"tag": "v0.27.1"}}}))[AM] != base[AM]


def test_config_reloader_sidecar_watches_the_mounts_and_posts_reload(default):
    for name, main, port, dirs in ((PROM, "prometheus", 9090, ["/etc/prometheus/config", "/etc/prometheus/rules"]),
                                   (AM, "alertmanager", 9093, ["/etc/alertmanager/config", "/etc/alertmanager/secrets"])):
        deploy = default.get("Deployment", name)
        server, reloader = container(deploy, main), container(deploy, "config-reloader")
        assert reloader["image"] == keyport_deployment(default)["spec"]["template"]["spec"]["containers"][0]["image"]
        assert reloader["args"][0] == "reload-on-change"
        assert [a.split("=", 1)[1] for a in reloader["args"] if a.startswith("--watch=")] == dirs
        assert f"--url=http://127.0.0.1:{port}/-/reload" in reloader["args"]
        # The sidecar sees exactly the server's mounts of those directories, read-only.
        server_mounts = {m["mountPath"]: m["name"] for m in server["volumeMounts"]}
        assert {m["mountPath"]: m["name"] for m in reloader["volumeMounts"]} == {d: server_mounts[d] for d in dirs}
        assert all(m["readOnly"] for m in reloader["volumeMounts"])
        assert "annotations" not in deploy["spec"]["template"]["metadata"]  # no checksum/* rolls
    assert "--web.enable-lifecycle" in container(default.get("Deployment", PROM), "prometheus")["args"]


def test_without_the_reloader_config_changes_roll_the_pods(default):
    off = {"prometheus": {"configReloader": {"enabled": False}}, "alertmanager": {"configReloader": {"enabled": False}}}
    base = render(off)
    for name in (PROM, AM):
        names = [c["name"] for c in base.get("Deployment", name)["spec"]["template"]["spec"]["containers"]]
        assert "config-reloader" not in names
    assert "--web.enable-lifecycle" not in container(base.get("Deployment", PROM), "prometheus")["args"]
    prom, am = annotations(base, PROM), annotations(base, AM)
    assert prom["checksum/config"] == sha256(base.get("ConfigMap", PROM)["data"]["prometheus.yml"])
    assert prom["checksum/rules"] == sha256(base.get("ConfigMap", f"{PROM}-rules")["data"]["keyport.rules.yaml"])
    assert am["checksum/config"] == sha256(base.get("Secret", AM)["stringData"]["alertmanager.yml"])
    threshold = default_alerts()["errors5xx"]["threshold"]
    rules = render({**off, "alerts": {"errors5xx": {"threshold": threshold / 2}}})
    assert annotations(rules, PROM)["checksum/rules"] != prom["checksum/rules"]
    assert annotations(rules, PROM)["checksum/config"] == prom["checksum/config"]
    secret = render({**off, "alertmanager": {**off["alertmanager"], "secrets": {"pagerduty-routing-key": "k1"}}})
    assert annotations(secret, AM)["checksum/secret"] != am["checksum/secret"]
    assert secret.get("Secret", f"{AM}-secrets")["stringData"] == {"pagerduty-routing-key": "k1"}
    other = render({**off, "replicaCount": 4})
    assert annotations(other, PROM) == prom and annotations(other, AM) == am


def test_the_reloader_adds_no_image_and_no_pod(default):
    """Measured: keyport's own binary as the watcher adds a container, never a pod or an image to pull."""
    def pods_and_images(r: Rendered) -> tuple[int, set[str]]:
        pods = sum(d["spec"].get("replicas", 1) for d in r.of_kind("Deployment"))
        images = {c["image"] for where, _, spec in r.pod_specs() for c in spec.get("initContainers", []) + spec["containers"]
                  if not where.startswith("Pod/")}
        return pods, images
    off = render({"prometheus": {"configReloader": {"enabled": False}}, "alertmanager": {"configReloader": {"enabled": False}}})
    (pods_on, images_on), (pods_off, images_off) = pods_and_images(default), pods_and_images(off)
    print(f"with reloader: {pods_on} pods, {len(images_on)} images {sorted(images_on)}; "
          f"without: {pods_off} pods, {len(images_off)} images")
    assert pods_on == pods_off and images_on == images_off


def test_keyport_settings_roll_keyport(default):
    changed = render({"server": {"logLevel": "debug"}})
    assert keyport_deployment(changed)["spec"]["template"] != keyport_deployment(default)["spec"]["template"]


def default_alerts() -> dict[str, Any]:
    return yaml.safe_load((CHART_DIR / "values.yaml").read_text())["alerts"]


# --- NetworkPolicy, Ingress, helm test, NOTES -------------------------------------------------

def test_ingress(rendered_scenarios):
    ing = rendered_scenarios["production"].get("Ingress", FULLNAME)
    assert ing["spec"]["ingressClassName"] == "nginx"
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "keyport.example.com"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": FULLNAME, "port": {"name": "http"}}
    assert ing["spec"]["tls"] == [{"secretName": "keyport-tls", "hosts": ["keyport.example.com"]}]


def test_helm_test_pod_uses_keyport_check_with_keyports_own_image(default):
    pod = default.get("Pod", f"{FULLNAME}-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    image = container(keyport_deployment(default), "keyport")["image"]
    steps = pod["spec"]["initContainers"] + pod["spec"]["containers"]
    assert {c["image"] for c in steps} == {image}, "no third-party image"
    url = f"http://{FULLNAME}.{NAMESPACE}.svc:1123"
    admin = f"http://{FULLNAME}-metrics.{NAMESPACE}.svc:9123"
    assert [c["args"][:2] for c in steps] == [
        ["check", f"{url}/ready"], ["check", f"{url}/metrics"], ["check", f"{admin}/metrics"],
        ["check", f"{url}/key/32?encoding=hex"]]
    # /metrics must NOT be answered on the service port (404 expected), and must be on the admin port.
    assert steps[1]["args"][2:4] == ["--expect-status", "404"]
    assert "--expect-status" not in steps[2]["args"]
    # The test pod is not selected by the keyport Service.
    assert not default.get("Service", FULLNAME)["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert render({"tests": {"enabled": False}}).maybe("Pod", f"{FULLNAME}-test") is None


def test_notes_print_how_to_reach_the_nodeport(default):
    notes = default.notes
    assert (f'kubectl get --namespace {NAMESPACE} service {FULLNAME} -o jsonpath="{{.spec.ports[0].nodePort}}"'
            in notes)
    assert "curl http://$NODE_IP:$NODE_PORT/ready" in notes and f"helm test {RELEASE}" in notes
    assert f"port-forward service/{PROM} 9090:9090" in notes
    cluster_ip = render({"service": {"type": "ClusterIP"}}).notes
    assert "nodePort" not in cluster_ip and f"port-forward service/{FULLNAME} 1123:1123" in cluster_ip
    assert "WARNING" in render({"server": {"enableFaultInjection": True}}).notes


def test_notes_say_nobody_is_notified_until_a_receiver_is_set(default):
    line = "Nobody is notified of alerts until alerts.routing.*"
    assert [l for l in default.notes.splitlines() if l.startswith(line)] != []
    for routing in ({"webhook": {"url": "https://hooks.example.org/x", "sendResolved": True}},
                    {"slack": {"enabled": True, "channel": "#ops"}}, {"pagerduty": {"enabled": True}}):
        assert line not in render({"alerts": {"routing": routing}}).notes, routing
    assert line not in render({"alertmanager": {"enabled": False}}).notes


def test_names_follow_overrides():
    r = render({}, name="prod")
    assert r.maybe("Deployment", "prod-keyport") is not None
    assert r.maybe("Deployment", "prod-keyport-prometheus") is not None
    r = render({"fullnameOverride": "kp"})
    assert r.maybe("Deployment", "kp") is not None and r.maybe("Service", "kp-alertmanager") is not None


# --- kind, README -------------------------------------------------------------------------------

def test_kind_cluster_maps_the_nodeports_of_its_values():
    repo = CHART_DIR.parents[1]
    kind = yaml.safe_load((repo / "deploy" / "kind" / "kind-config.yaml").read_text())
    values = yaml.safe_load((repo / "deploy" / "kind" / "values.yaml").read_text())
    assert kind["kind"] == "Cluster" and kind["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    mapped = {m["containerPort"]: m["hostPort"] for n in kind["nodes"] for m in n.get("extraPortMappings", [])}
    r = render(values)
    for svc, host in ((FULLNAME, 1123), (PROM, 9090), (AM, 9093)):
        node_port = r.get("Service", svc)["spec"]["ports"][0]["nodePort"]
        assert mapped[node_port] == host, svc
    assert sum(1 for n in kind["nodes"] if n["role"] == "worker") >= 2


# --- TLS ----------------------------------------------------------------------------------------

def volumes_of(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"] if workload["kind"] != "Pod" else workload["spec"]
    return {v["name"]: v for v in spec.get("volumes", [])}


def test_plain_http_stays_the_default(default):
    c = container(keyport_deployment(default), "keyport")
    assert not any(k.startswith("KEYPORT_TLS_") for k in env_of(c))
    assert all("scheme" not in c[p]["httpGet"] for p in ("startupProbe", "livenessProbe", "readinessProbe"))
    assert keyport_job(prometheus_config(default))["scheme"] == "http"
    assert "tls_config" not in keyport_job(prometheus_config(default))
    assert not default.of_kind("Certificate")


def test_tls_from_cert_manager_reaches_keyport_probes_prometheus_servicemonitor_and_helm_test(rendered_scenarios):
    r = rendered_scenarios["tls-cert-manager"]
    cert = r.get("Certificate", FULLNAME)
    assert cert["apiVersion"] == "cert-manager.io/v1"
    assert cert["spec"]["issuerRef"] == {"name": "keyport-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert {FULLNAME, f"{FULLNAME}.{NAMESPACE}", SERVICE_NAME, f"{SERVICE_NAME}.cluster.local",
            "keyport.example.com"} <= set(cert["spec"]["dnsNames"])
    secret = cert["spec"]["secretName"]
    assert secret == f"{FULLNAME}-tls"

    deploy = keyport_deployment(r)
    c = container(deploy, "keyport")
    env = env_of(c)
    mount = next(m for m in c["volumeMounts"] if m["name"] == "tls")
    assert "subPath" not in mount, "a subPath mount never sees a renewed Secret"
    assert env["KEYPORT_TLS_CERT_FILE"] == f"{mount['mountPath']}/tls.crt"
    assert env["KEYPORT_TLS_KEY_FILE"] == f"{mount['mountPath']}/tls.key"
    assert volumes_of(deploy)["tls"]["secret"]["secretName"] == secret
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"]["scheme"] == "HTTPS", probe

    job = keyport_job(prometheus_config(r))
    assert job["scheme"] == "https"
    assert job["tls_config"]["server_name"] == SERVICE_NAME
    prom = r.get("Deployment", PROM)
    prom_mount = next(m for m in container(prom, "prometheus")["volumeMounts"] if m["name"] == "keyport-tls-ca")
    assert job["tls_config"]["ca_file"] == f"{prom_mount['mountPath']}/ca.crt"
    ca_volume = volumes_of(prom)["keyport-tls-ca"]["secret"]
    assert ca_volume["secretName"] == secret
    assert ca_volume["items"] == [{"key": "ca.crt", "path": "ca.crt"}], "Prometheus gets the CA only, never tls.key"

    (ep,) = r.get("ServiceMonitor", FULLNAME)["spec"]["endpoints"]
    assert ep["scheme"] == "https"
    assert ep["tlsConfig"] == {"serverName": SERVICE_NAME, "ca": {"secret": {"name": secret, "key": "ca.crt"}}}

    pod = r.get("Pod", f"{FULLNAME}-test")
    for step in pod["spec"]["initContainers"] + pod["spec"]["containers"]:
        admin_name = SERVICE_NAME.replace(f"{FULLNAME}.", f"{FULLNAME}-metrics.", 1)
        assert step["args"][1].startswith((f"https://{SERVICE_NAME}:1123/", f"https://{admin_name}:9123/"))
        ca_file = step["args"][step["args"].index("--ca-file") + 1]
        (m,) = step["volumeMounts"]
        assert ca_file == f"{m['mountPath']}/ca.crt"
    assert volumes_of(pod)["tls-ca"]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    assert "curl --cacert ca.crt https://$NODE_IP:$NODE_PORT/ready" in r.notes
    assert f"secret {secret}" in r.notes


def test_tls_from_an_existing_secret_with_a_public_certificate(rendered_scenarios):
    r = rendered_scenarios["tls-existing-secret"]
    assert not r.of_kind("Certificate")
    assert volumes_of(keyport_deployment(r))["tls"]["secret"]["secretName"] == "keyport-public-tls"
    job = keyport_job(prometheus_config(r))
    assert job["scheme"] == "https" and job["tls_config"] == {"server_name": "keyport.example.com"}
    assert "keyport-tls-ca" not in volumes_of(r.get("Deployment", PROM))
    pod = r.get("Pod", f"{FULLNAME}-test")
    assert all("--ca-file" not in c["args"] for c in pod["spec"]["initContainers"] + pod["spec"]["containers"])


@pytest.mark.parametrize("tls", [
    {"enabled": True},  # no certificate source
    {"enabled": True, "existingSecret": "mine", "certManager": {"enabled": True, "issuerRef": {"name": "ca"}}},  # two
    {"enabled": True, "certManager": {"enabled": True}},  # cert-manager without an issuer
    {"enabled": False, "existingSecret": "mine"},  # a source that would be silently unused
    {"enabled": False, "certManager": {"enabled": True, "issuerRef": {"name": "ca"}}},
    {"enabled": True, "existingSecret": "Not_A_Name"},
    {"enabled": True, "certManager": {"enabled": True, "issuerRef": {"name": "ca", "kind": "Issuers"}}},
    {"enabled": True, "existingSecret": "mine", "caKey": "../tls.key"},
    {"enabled": True, "existingSecret": "mine", "enabledd": True},
])
def test_schema_refuses_bad_tls_combinations(tls):
    with pytest.raises(HelmValuesError) as err:
        chart().validate_schema({"tls": tls})
    assert "/tls" in str(err.value), str(err.value)


# --- getting the ports data to the pods: the examples and the extra* values ---------------------

EXAMPLES = CHART_DIR / "examples"


def example(stem: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"values-{stem}.yaml").read_text())


def test_configmap_example_mounts_an_existing_configmap_and_notes_server_side_apply(rendered_scenarios):
    r = rendered_scenarios["example-configmap"]
    _, volume, ports_file = ports_mount(r)
    assert volume["configMap"]["name"] == "keyport-ports" and ports_file.endswith("/ports.json")
    assert r.maybe("ConfigMap", f"{FULLNAME}-ports") is None
    text = (EXAMPLES / "values-configmap.yaml").read_text()
    assert "--server-side" in text and "256 KiB" in text and "1 MiB" in text


def test_pvc_example_is_a_shared_claim_and_says_why_not_read_write_once(rendered_scenarios):
    _, volume, _ = ports_mount(rendered_scenarios["example-pvc"])
    assert volume["persistentVolumeClaim"] == {"claimName": "ports", "readOnly": True}
    text = (EXAMPLES / "values-pvc.yaml").read_text()
    assert "ReadOnlyMany" in text and "ReadWriteMany" in text and "Multi-Attach" in text
    assert "maxUnavailable: 0" in text


def validate_docs(docs: list[dict[str, Any]], kube: str, tmp: Path) -> subprocess.CompletedProcess:
    path = tmp / f"rendered-{kube}.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return subprocess.run([str(VENV_BIN / "kubernetes-validate"), "--strict", "-k", kube, str(path)],
                          capture_output=True, text=True, timeout=300)


def test_image_volume_example_validates_for_kubernetes_1_33_only(tmp_path):
    values = example("image-volume")
    assert values["ports"]["volume"]["image"]["pullPolicy"] == "IfNotPresent"
    r = render(values)
    _, volume, ports_file = ports_mount(r)
    assert volume["image"] == values["ports"]["volume"]["image"] and ports_file.endswith("/ports.json")
    deploy = [keyport_deployment(r)]
    proc = validate_docs(deploy, "1.33.0", tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and not re.search(r"^(WARN|ERROR|FATAL)", out, re.M), out
    # Negative control: 1.29 has no image volume source, so the same validator refuses it there.
    proc = validate_docs(deploy, "1.29.0", tmp_path)
    assert proc.returncode != 0 and "'image' was unexpected" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert "1.33" in (EXAMPLES / "values-image-volume.yaml").read_text()


def test_git_sync_example_renders_volumes_mounts_and_containers(rendered_scenarios):
    values = SCENARIOS["example-git-sync"]
    deploy = keyport_deployment(rendered_scenarios["example-git-sync"])
    spec = deploy["spec"]["template"]["spec"]
    assert {v["name"] for v in spec["volumes"]} == {"ports-git", "git-sync-tmp"}
    keyport = container(deploy, "keyport")
    assert keyport["volumeMounts"] == values["extraVolumeMounts"]
    assert env_of(keyport)["KEYPORT_PORTS_FILE"] == "/git/current/ports.json"
    assert [c["name"] for c in spec["initContainers"]] == ["git-sync-init"]
    assert [c["name"] for c in spec["containers"]] == ["keyport", "git-sync"]
    sidecar = container(deploy, "git-sync")
    assert sidecar["args"] == values["extraContainers"][0]["args"]
    assert sidecar["volumeMounts"] == values["extraContainers"][0]["volumeMounts"]
    # The examples' sidecars set no securityContext: they get the chart's, so the pod stays hardened.
    assert "securityContext" not in values["extraContainers"][0]
    for c in spec["initContainers"] + [sidecar]:
        assert c["securityContext"] == keyport["securityContext"], c["name"]
    pod_security_checks("example-git-sync", spec)


def test_without_extra_values_the_deployment_is_unchanged(default):
    spec = keyport_deployment(default)["spec"]["template"]["spec"]
    assert "initContainers" not in spec and [c["name"] for c in spec["containers"]] == ["keyport"]
    assert "volumes" not in spec


@pytest.mark.parametrize("key", ["extraVolumes", "extraVolumeMounts", "initContainers", "extraContainers"])
@pytest.mark.parametrize("bad", [{"name": "x"}, "x", ["x"]])
def test_schema_refuses_extra_values_that_are_not_lists_of_objects(key, bad):
    with pytest.raises(HelmValuesError) as err:
        chart().validate_schema({key: bad})
    assert f"/{key}" in str(err.value), str(err.value)
