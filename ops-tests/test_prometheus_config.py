"""The Prometheus configuration's one source, charts/keyport/files/prometheus.yaml, in both places it is used.

The chart renders it for Kubernetes (the Prometheus ConfigMap); scripts/render-alerting.py renders it for
compose into deploy/prometheus/prometheus.yml and prometheus-tls.yml (their freshness is
test_rules.py's compose-copies test; the --check ending is test_generated.py's). Here: promtool accepts
every rendering, the facts the alert rules rely on hold in every environment, the `prometheus:` values
reach both, TLS changes only how keyport is scraped, and an environment the source does not describe
fails the render.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest
import yaml

import support
from support.rules import load_renderer
from support.chart import NAMESPACE, Rendered, render_raw

renderer = load_renderer()
PROM = "keyport-prometheus"
# The chart's renderings checked here: the defaults, and TLS on with the bundled Alertmanager off.
CHART_VALUES = {
    "default": {},
    "tls, no alertmanager": {"tls": {"enabled": True, "existingSecret": "keyport-tls", "caKey": "ca.crt"},
                             "alertmanager": {"enabled": False}},
}


def promtool() -> str:
    return support.require_tool("promtool", "scripts/install-test-deps.sh (Debian package prometheus)")


def chart_config(values: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The chart's Prometheus configuration and its rules file, rendered with `values`."""
    rendered = Rendered(render_raw(values))
    config = yaml.safe_load(rendered.get("ConfigMap", PROM)["data"]["prometheus.yml"])
    return config, rendered.get("ConfigMap", f"{PROM}-rules")["data"]["keyport.rules.yaml"]


def compose_configs(values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    rendered = renderer.render(values)
    return {name: yaml.safe_load(rendered[name]) for name in ("prometheus", "prometheus-tls")}


def every_config() -> dict[str, dict[str, Any]]:
    configs = {f"compose {name}": config for name, config in compose_configs().items()}
    configs.update({f"chart {name}": chart_config(values)[0] for name, values in CHART_VALUES.items()})
    return configs


def jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def selected_job() -> str:
    """The job the alert rules select (alerts.selector), e.g. keyport for job="keyport"."""
    selector = yaml.safe_load((support.CHART / "values.yaml").read_text())["alerts"]["selector"]
    match = re.fullmatch(r'job="([^"]+)"', selector)
    assert match, selector
    return match[1]


def test_promtool_accepts_the_compose_configs_as_generated():
    for path in (renderer.DEPLOY_PROMETHEUS, renderer.DEPLOY_PROMETHEUS_TLS):
        result = support.run_tool(promtool(), "check", "config", str(path))
        assert result.returncode == 0, result.stdout + result.stderr
        # promtool followed rule_files to the generated rules file beside it.
        assert re.search(r"SUCCESS: \d+ rules found", result.stdout), result.stdout


@pytest.mark.parametrize("name", CHART_VALUES)
def test_promtool_accepts_the_charts_config(name, tmp_path):
    """Debian's promtool is built without Kubernetes discovery: each kubernetes_sd_configs becomes an empty
    static_configs (as in scripts/kube-play-smoke.py), everything else is checked as rendered."""
    config, rules = chart_config(CHART_VALUES[name])
    (tmp_path / "keyport.rules.yaml").write_text(rules)
    config["rule_files"] = [str(tmp_path / pathlib.PurePosixPath(path).name) for path in config["rule_files"]]
    sections = config["scrape_configs"] + config.get("alerting", {}).get("alertmanagers", [])
    swapped = [section for section in sections if section.pop("kubernetes_sd_configs", None) is not None]
    assert swapped, "the chart's config discovers its targets in Kubernetes"
    for section in swapped:
        section["static_configs"] = [{"targets": []}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = support.run_tool(promtool(), "check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"SUCCESS: \d+ rules found", result.stdout), result.stdout


def test_promtool_rejects_a_rendering_with_the_keyport_job_twice(tmp_path):
    config = compose_configs()["prometheus"]
    config["rule_files"] = []
    config["scrape_configs"].append(dict(jobs(config)["keyport"]))
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    result = support.run_tool(promtool(), "check", "config", str(path))
    assert result.returncode != 0 and "keyport" in result.stdout + result.stderr, result.stdout + result.stderr


def test_every_environment_scrapes_the_job_the_rules_select_with_the_shared_facts():
    for name, config in every_config().items():
        found = jobs(config)
        assert list(found) == [selected_job(), "prometheus"] + (["alertmanager"] if "alerting" in config else []), name
        keyport = found[selected_job()]
        assert keyport["metrics_path"] == "/metrics", name
        assert [pathlib.PurePosixPath(path).name for path in config["rule_files"]] == ["keyport.rules.yaml"], name
        assert [c["targets"] for c in found["prometheus"].get("static_configs", [])] == [["localhost:9090"]], name
        # The rules group and aggregate by namespace and pod where a target has them; compose has neither.
        if "kubernetes_sd_configs" in keyport:
            labels = {rule.get("target_label") for rule in keyport["relabel_configs"]}
            assert {"namespace", "pod"} <= labels, name
            # The admin listener's container port, by name: /metrics is not on the service port.
            assert {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": "metrics",
                    "action": "keep"} in keyport["relabel_configs"], name
        else:
            assert keyport["static_configs"] == [{"targets": ["keyport:9123"]}], name


def test_the_compose_configs_alert_the_compose_alertmanager_and_scrape_it():
    for name, config in compose_configs().items():
        assert config["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["alertmanager:9093"]}]}], name
        assert jobs(config)["alertmanager"]["static_configs"] == [{"targets": ["alertmanager:9093"]}], name
        assert config["global"]["external_labels"] == {"environment": "compose"}, name


def test_the_prometheus_values_reach_the_chart_and_compose_alike():
    values = {"prometheus": {"scrapeInterval": "30s", "scrapeTimeout": "20s", "evaluationInterval": "1m"}}
    expected = {"scrape_interval": "30s", "scrape_timeout": "20s", "evaluation_interval": "1m"}
    configs = {f"compose {name}": config for name, config in compose_configs(values).items()}
    configs["chart"] = chart_config(values)[0]
    for name, config in configs.items():
        assert {key: config["global"][key] for key in expected} == expected, name
    for name, config in every_config().items():
        assert {key: config["global"][key] for key in expected} == {
            "scrape_interval": "15s", "scrape_timeout": "10s", "evaluation_interval": "15s"}, name


def without_keyport_tls(config: dict[str, Any]) -> dict[str, Any]:
    keyport = jobs(config)["keyport"]
    keyport.pop("tls_config", None)
    keyport["scheme"] = "http"
    return config


def test_tls_changes_only_how_keyport_is_scraped():
    compose = compose_configs()
    tls = jobs(compose["prometheus-tls"])["keyport"]
    assert tls["scheme"] == "https"
    # The local CA compose.tls.yaml mounts; the certificate scripts/make-local-tls.sh makes names the service.
    assert tls["tls_config"] == {"ca_file": "/etc/prometheus/tls/ca.crt", "server_name": "keyport"}
    assert jobs(compose["prometheus"])["keyport"]["scheme"] == "http"
    assert without_keyport_tls(compose["prometheus-tls"]) == compose["prometheus"]

    plain = chart_config({})[0]
    on = chart_config({"tls": {"enabled": True, "existingSecret": "keyport-tls", "caKey": "ca.crt"}})[0]
    # Pod IPs are scraped: the certificate is verified for the Service's name.
    assert jobs(on)["keyport"]["tls_config"] == {"ca_file": "/etc/prometheus/keyport-tls/ca.crt",
                                                  "server_name": f"keyport.{NAMESPACE}.svc"}
    assert without_keyport_tls(on) == plain


def test_an_environment_the_source_does_not_describe_fails_the_render(monkeypatch):
    from helm_python import HelmRenderError

    monkeypatch.setitem(renderer.TEMPLATES, "prometheus", renderer.TEMPLATES["prometheus"].replace('"compose"', '"nomad"'))
    with pytest.raises(HelmRenderError, match="keyport.prometheus.nomad"):
        renderer.render()
