"""The Helm chart charts/keyport, pod security: hardened security contexts, RBAC, pinned images, the service account,
the NetworkPolicy, and a checkov scan with every skipped check justified.

Helm: helm-python-sdk. Security: checkov. Every scenario file in charts/keyport/ci/ is checked.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess

import pytest
import yaml

from support import require_tool
from support.chart import (
    AM, CHART_DIR, FULLNAME, NAMESPACE, PROM, SCENARIOS, container, keyport_deployment, pod_security_checks,
    render,
)


# --- keyport pods -------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_pod_is_hardened(rendered_scenarios, scenario):
    r = rendered_scenarios[scenario]
    seen = 0
    for name, _, spec in r.pod_specs():
        pod_security_checks(f"{scenario}: {name}", spec)
        # Only Prometheus (pod discovery) gets an API token.
        assert spec["automountServiceAccountToken"] is (name == f"Deployment/{PROM}"), name
        seen += 1
    assert seen >= 1


def test_keyport_runs_as_the_image_user(default):
    spec = keyport_deployment(default)["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsUser"] == 65532
    assert container(keyport_deployment(default), "keyport")["securityContext"]["runAsUser"] == 65532


def test_service_account_has_no_token():
    sa = render({}).get("ServiceAccount", FULLNAME)
    assert sa["automountServiceAccountToken"] is False
    off = render({"serviceAccount": {"create": False}})
    assert off.maybe("ServiceAccount", FULLNAME) is None
    assert keyport_deployment(off)["spec"]["template"]["spec"]["serviceAccountName"] == "default"


# --- Prometheus ---------------------------------------------------------------------------------

def test_rbac_is_namespaced_and_read_only(rendered_scenarios):
    for scenario, r in rendered_scenarios.items():
        assert not r.of_kind("ClusterRole") and not r.of_kind("ClusterRoleBinding"), scenario
        for role in r.of_kind("Role"):
            assert role["metadata"]["namespace"] == NAMESPACE
            for rule in role["rules"]:
                assert rule["apiGroups"] == [""]
                assert set(rule["resources"]) <= {"pods", "endpoints", "services"}
                assert set(rule["verbs"]) <= {"get", "list", "watch"}
                assert "*" not in rule["resources"] + rule["verbs"]
    default = rendered_scenarios["default"]
    binding = default.get("RoleBinding", PROM)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": PROM}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": PROM, "namespace": NAMESPACE}]
    pod = default.get("Deployment", PROM)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == PROM and default.get("ServiceAccount", PROM)
    no_rbac = render({"prometheus": {"rbac": {"create": False}}})
    assert not no_rbac.of_kind("Role") and not no_rbac.of_kind("RoleBinding")


def test_images_are_pinned(rendered_scenarios):
    for r in rendered_scenarios.values():
        for name, _, spec in r.pod_specs():
            for c in spec.get("initContainers", []) + spec["containers"]:
                image = c["image"]
                assert "@sha256:" in image or re.search(r":v?\d+\.\d+\.\d+$", image), (name, image)
    d = rendered_scenarios["default"]
    assert container(d.get("Deployment", PROM), "prometheus")["image"].startswith("prom/prometheus:v2.")
    assert container(d.get("Deployment", AM), "alertmanager")["image"].startswith("prom/alertmanager:v0.2")


# --- NetworkPolicy, Ingress, helm test, NOTES -------------------------------------------------

def test_network_policy_lets_only_prometheus_and_clients_in(rendered_scenarios):
    r = rendered_scenarios["production"]
    np = r.get("NetworkPolicy", FULLNAME)
    assert np["spec"]["podSelector"]["matchLabels"] == keyport_deployment(r)["spec"]["selector"]["matchLabels"]
    assert np["spec"]["policyTypes"] == ["Ingress"]
    rule, admin = np["spec"]["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    peers = rule["from"]
    prom_selector = r.get("Deployment", PROM)["spec"]["selector"]["matchLabels"]
    assert {"podSelector": {"matchLabels": prom_selector}} not in peers
    assert {"podSelector": {"matchLabels": {f"{FULLNAME}-client": "true"}}} in peers
    assert peers[-2:] == SCENARIOS["production"]["networkPolicy"]["extraFrom"]
    assert len(peers) == 3
    # The admin port: the bundled Prometheus and the helm test pod only (clients never).
    assert admin["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    test_labels = r.get("Pod", f"{FULLNAME}-test")["metadata"]["labels"]
    assert admin["from"][0] == {"podSelector": {"matchLabels": prom_selector}}
    (test_peer,) = admin["from"][1:]
    assert test_peer["podSelector"]["matchLabels"].items() <= test_labels.items()
    assert {"podSelector": {"matchLabels": {f"{FULLNAME}-client": "true"}}} not in admin["from"]
    # networkPolicy.metricsFrom adds peers; with no peer at all the rule is left out, never `from` empty.
    extra = {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}
    widened = render({"networkPolicy": {"enabled": True, "metricsFrom": [extra]}})
    assert widened.get("NetworkPolicy", FULLNAME)["spec"]["ingress"][1]["from"][-1] == extra
    closed = render({"networkPolicy": {"enabled": True}, "prometheus": {"enabled": False}, "tests": {"enabled": False},
                     "alertmanager": {"enabled": False}})
    (only,) = closed.get("NetworkPolicy", FULLNAME)["spec"]["ingress"]
    assert only["ports"] == [{"port": "http", "protocol": "TCP"}]
    # The helm test pod carries the client label, so it passes the policy.
    assert r.get("Pod", f"{FULLNAME}-test")["metadata"]["labels"][f"{FULLNAME}-client"] == "true"
    am_np = r.get("NetworkPolicy", AM)
    assert am_np["spec"]["ingress"][0]["from"] == [{"podSelector": {"matchLabels": prom_selector}}]
    prom_np = r.get("NetworkPolicy", PROM)
    assert prom_np["spec"]["ingress"][0]["from"] == SCENARIOS["production"]["networkPolicy"]["prometheusFrom"]
    assert render({"networkPolicy": {"enabled": True}}).get("NetworkPolicy", PROM)["spec"]["ingress"] == []


# --- kind, README -------------------------------------------------------------------------------

def readme_rows(section: str) -> list[list[str]]:
    text = (CHART_DIR / "README.md").read_text()
    body = text.split(section, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    rows = []
    for line in body.splitlines():
        if line.startswith("| `"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


# --- security scan ------------------------------------------------------------------------------

def justified_checks() -> list[tuple[str, list[str]]]:
    out = []
    for row in readme_rows("### Security scan"):
        check = re.match(r"`(CKV2?_K8S_\d+)`", row[0])
        assert check, row
        out.append((check[1], re.findall(r"`([^`]+)`", row[1])))
    return out


def test_checkov_finds_nothing_unjustified(tmp_path):
    checkov = require_tool("checkov", "make venv (ops-tests/requirements.txt)")
    # One release per scenario (its own name and namespace): checkov's graph checks match labels
    # across files, so scenarios must not see each other's NetworkPolicies.
    for scenario, values in SCENARIOS.items():
        r = render(values, name=f"kp-{scenario}", namespace=f"kp-{scenario}")
        (tmp_path / f"{scenario}.yaml").write_text(yaml.safe_dump_all(r.docs, sort_keys=False))
    proc = subprocess.run([checkov, "--directory", str(tmp_path), "--framework", "kubernetes",
                           "--skip-download", "--output", "json", "--quiet"],
                          capture_output=True, text=True, timeout=600)
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0 and summary["passed"] > 500, summary
    allowed = justified_checks()
    unjustified, by_scenario = [], {}
    for rep in reports:
        for failed in rep["results"]["failed_checks"]:
            kind, namespace, name = failed["resource"].split(".")[:3]
            scenario = namespace.removeprefix("kp-")
            short = f"{kind}/{name.removeprefix(f'kp-{scenario}-').removeprefix(f'kp-{scenario}')}"
            by_scenario.setdefault(scenario, set()).add(failed["check_id"])
            if not any(failed["check_id"] == check and any(fnmatch.fnmatch(short, g) or g == "*" for g in globs)
                       for check, globs in allowed):
                unjustified.append((failed["check_id"], failed["check_name"], f"{scenario}: {short}"))
    assert not unjustified, unjustified
    # The production-like scenario shows the justified defaults can be tightened.
    assert by_scenario.get("production", set()) <= {"CKV_K8S_38", "CKV_K8S_43", "CKV_K8S_8", "CKV_K8S_9"}
    assert proc.returncode in (0, 1), proc.stderr


# --- getting the ports data to the pods: the examples and the extra* values ---------------------

def test_extra_containers_keep_their_own_security_context_keys_over_the_charts():
    r = render({"extraContainers": [{"name": "side", "image": "busybox:1.36.1",
                                     "securityContext": {"runAsUser": 1000, "runAsGroup": 1000}}],
                "initContainers": [{"name": "init", "image": "busybox:1.36.1"}]})
    spec = keyport_deployment(r)["spec"]["template"]["spec"]
    side = next(c for c in spec["containers"] if c["name"] == "side")
    assert side["securityContext"]["runAsUser"] == 1000 and side["securityContext"]["runAsGroup"] == 1000
    assert side["securityContext"]["readOnlyRootFilesystem"] is True
    assert side["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert spec["initContainers"][0]["securityContext"]["runAsNonRoot"] is True
    # Negative control: the hardening check does catch a container that turns the chart's setting off.
    r = render({"extraContainers": [{"name": "side", "image": "busybox:1.36.1",
                                     "resources": {"requests": {"cpu": "1m"}, "limits": {"memory": "8Mi"}},
                                     "securityContext": {"readOnlyRootFilesystem": False}}]})
    with pytest.raises(AssertionError, match="side"):
        pod_security_checks("weakened", keyport_deployment(r)["spec"]["template"]["spec"])
