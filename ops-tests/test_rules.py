"""keyport's alert rules and Alertmanager config: rendered with Helm's engine, checked and unit-tested
with the real promtool and amtool, tuned through the chart's values, and kept equal to the copies
compose mounts and to what the real chart renders.
"""
from __future__ import annotations

import contextlib
import copy
import json
import pathlib
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

import support
from support import runbooks
from support.rules import (
    ALERTMANAGER_TEMPLATE, DEPLOY_ALERTMANAGER, DEPLOY_RULES, RULE_TESTS, RULES_TEMPLATE, load_renderer,
)


renderer = load_renderer()
EXPECTED_ALERTS = {
    "KeyportHigh5xxRate", "KeyportHigh400Rate", "KeyportMemoryNearLimit", "KeyportMemoryHigh",
    "KeyportNotReady", "KeyportTargetDown", "KeyportTargetsAbsent", "KeyportPortsLoadFailing",
    "KeyportErrorBudgetBurn", "KeyportLatencyBudgetBurn", "Watchdog", "KeyportCertificateExpiringSoon",
    # The alerting pipeline itself (alerts.pipeline).
    "KeyportPrometheusConfigReloadFailed", "KeyportPrometheusRuleFailures",
    "KeyportPrometheusNotConnectedToAlertmanager", "KeyportPrometheusNotificationsFailing",
    "KeyportAlertmanagerConfigReloadFailed", "KeyportAlertmanagerDeliveryFailing",
}
# The Watchdog fires by design: it has no quiet case.
ALWAYS_FIRING = {"Watchdog"}


def promtool() -> str:
    return support.require_tool("promtool", "scripts/install-test-deps.sh (Debian package prometheus)")


def amtool() -> str:
    return support.require_tool("amtool", "scripts/install-test-deps.sh (Debian package prometheus-alertmanager)")


@pytest.fixture(scope="module")
def default_render() -> dict[str, str]:
    return renderer.render()


def rules_of(text: str) -> list[dict]:
    return [rule for group in yaml.safe_load(text)["groups"] for rule in group["rules"]]


def alerts_of(text: str) -> list[dict]:
    return [rule for rule in rules_of(text) if "alert" in rule]


def check_rules(tmp_path: pathlib.Path, text: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    result = support.run_tool(promtool(), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


# --- the single source and its copies ---------------------------------------------------------


def test_compose_copies_equal_a_fresh_rendering_of_the_chart_template() -> None:
    for path, text in renderer.compose_files().items():
        assert path.exists(), f"{path} missing: run `make rules`"
        assert path.read_text() == text, f"{path.relative_to(support.REPO)} is stale: run `make rules`"


def test_compose_rules_are_the_default_rendering_without_template_syntax(default_render) -> None:
    deployed = DEPLOY_RULES.read_text()
    assert yaml.safe_load(deployed) == yaml.safe_load(default_render["rules"])
    # Plain Prometheus YAML: no Helm action survives; the only {{ }} are Prometheus' own.
    for alert in alerts_of(deployed):
        for text in alert["annotations"].values():
            assert ".Values" not in text and "{{-" not in text


def test_real_chart_renders_the_same_rules_and_alertmanager_config(default_render) -> None:
    from helm_python import Chart

    with Chart.load(str(support.CHART)) as chart:
        docs = chart.render({"prometheusRule": {"enabled": True}}, name="keyport", namespace="default")
    manifests = [
        doc for name, text in docs.items() if name.endswith(".yaml")
        for doc in yaml.safe_load_all(text) if doc
    ]
    configmap_rules = [
        yaml.safe_load(doc["data"][key]) for doc in manifests if doc.get("kind") == "ConfigMap"
        for key in doc.get("data", {}) if key == "keyport.rules.yaml"
    ]
    assert len(configmap_rules) == 1, "expected one ConfigMap with keyport.rules.yaml"
    assert configmap_rules[0] == yaml.safe_load(DEPLOY_RULES.read_text())

    prometheus_rules = [doc for doc in manifests if doc.get("kind") == "PrometheusRule"]
    assert len(prometheus_rules) == 1
    assert prometheus_rules[0]["spec"]["groups"] == yaml.safe_load(default_render["rules"])["groups"]

    # The Alertmanager configuration is a Secret (receiver URLs carry tokens), never a ConfigMap.
    assert not [doc for doc in manifests if doc.get("kind") == "ConfigMap" and "alertmanager.yml" in doc.get("data", {})]
    configmap_am = [
        yaml.safe_load(doc["stringData"][key]) for doc in manifests if doc.get("kind") == "Secret"
        for key in doc.get("stringData") or {} if key == "alertmanager.yml"
    ]
    assert len(configmap_am) == 1, "expected one Secret with alertmanager.yml"
    assert configmap_am[0] == yaml.safe_load(default_render["alertmanager"])


# --- promtool ------------------------------------------------------------------------------------


def test_promtool_accepts_the_rendered_rules(tmp_path, default_render) -> None:
    check_rules(tmp_path, default_render["rules"])
    result = support.run_tool(promtool(), "check", "rules", str(DEPLOY_RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"SUCCESS: \d+ rules found", result.stdout)


def test_promtool_rejects_a_broken_annotation_template(tmp_path, default_render) -> None:
    broken = default_render["rules"].replace("{{ $value | humanizePercentage }}", "{{ $value | nosuchfunction }}", 1)
    assert broken != default_render["rules"]
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    result = support.run_tool(promtool(), "check", "rules", str(path))
    assert result.returncode != 0 and "nosuchfunction" in result.stdout + result.stderr


RULE_TEST_FILES = sorted(RULE_TESTS.glob("*.test.yaml"))


@pytest.mark.parametrize("test_file", RULE_TEST_FILES, ids=lambda p: p.name)
def test_promtool_unit_tests_pass(test_file: pathlib.Path) -> None:
    result = support.run_tool(promtool(), "test", "rules", test_file.name, cwd=test_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_fire_and_no_fire_unit_tests(default_render) -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TEST_FILES:
        spec = yaml.safe_load(path.read_text())
        assert spec["rule_files"] == ["../../deploy/prometheus/keyport.rules.yaml"], path
        for case in spec["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {alert["alert"] for alert in alerts_of(default_render["rules"])}
    assert names == EXPECTED_ALERTS
    assert names - fired == set(), "alerts never shown firing"
    assert names - quiet - ALWAYS_FIRING == set(), "alerts never shown quiet"


# Each mutation of the values must break the unit tests: they test these very thresholds.
MUTATIONS = [
    ({"errors5xx": {"minRequestRate": 0}}, "errors.test.yaml", "low traffic"),
    ({"errors5xx": {"for": "1m"}}, "errors.test.yaml", "less than `for`"),
    ({"errors400": {"threshold": 0.5}}, "errors.test.yaml", "threshold"),
    ({"memory": {"fallbackBytes": 2147483648}}, "saturation.test.yaml", "fallback"),
    ({"notReady": {"for": "30s"}}, "targets.test.yaml", "short not-ready spells"),
    ({"portsLoad": {"lookback": "1h"}}, "ports-load.test.yaml", "lookback"),
    ({"slo": {"minRequestRate": 0}}, "slo.test.yaml", "low traffic"),
    ({"latency": {"minRequestRate": 0}}, "latency.test.yaml", "low traffic"),
    ({"latency": {"thresholdSeconds": 0.5}}, "latency.test.yaml", "the bound"),
    ({"latency": {"objective": 0.98}}, "latency.test.yaml", "the objective"),
    ({"latency": {"burnRates": [
        {"longWindow": "1h", "shortWindow": "5m", "factor": 14.4, "for": "20m", "severity": "critical"},
        {"longWindow": "6h", "shortWindow": "30m", "factor": 6, "for": "15m", "severity": "critical"},
        {"longWindow": "1d", "shortWindow": "2h", "factor": 3, "for": "1h", "severity": "warning"},
        {"longWindow": "3d", "shortWindow": "6h", "factor": 1, "for": "3h", "severity": "warning"}]}},
     "latency.test.yaml", "the page's `for`"),
    ({"watchdog": {"repeatInterval": "5m"}}, "watchdog.test.yaml", "the documented repeat interval"),
    ({"certificateExpiry": {"days": 13}}, "tls.test.yaml", "warning window"),
    ({"certificateExpiry": {"for": "0s"}}, "tls.test.yaml", "`for`"),
    ({"pipeline": {"configReload": {"for": "5m", "severity": "critical"}}}, "pipeline.test.yaml", "reload `for`"),
    ({"pipeline": {"window": "10m"}}, "pipeline.test.yaml", "the window"),
    ({"pipeline": {"delivery": {"ratio": 0.6, "for": "5m", "severity": "warning"}}}, "pipeline.test.yaml", "delivery ratio"),
    ({"pipeline": {"alertmanagerSelector": 'job="am"'}}, "pipeline.test.yaml", "the Alertmanager selector"),
]


def test_unit_tests_catch_changed_thresholds(tmp_path) -> None:
    def run(mutation: tuple[dict, str, str]) -> tuple[str, int, str]:
        values, test_name, why = mutation
        root = tmp_path / f"m{MUTATIONS.index(mutation)}"
        (root / "deploy" / "prometheus").mkdir(parents=True)
        (root / "ops-tests" / "rules").mkdir(parents=True)
        (root / "deploy" / "prometheus" / "keyport.rules.yaml").write_text(renderer.render({"alerts": values})["rules"])
        shutil.copy(RULE_TESTS / test_name, root / "ops-tests" / "rules" / test_name)
        result = support.run_tool(promtool(), "test", "rules", test_name, cwd=root / "ops-tests" / "rules")
        return f"{values} ({why})", result.returncode, result.stdout + result.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(run, MUTATIONS))
    for label, returncode, stdout in outcomes:
        assert returncode == 1 and "FAILED" in stdout, f"unit tests still pass with {label}"


# --- labels, annotations, runbooks --------------------------------------------------------------


def test_every_alert_has_severity_summary_description_and_a_real_runbook_anchor(default_render) -> None:
    anchors = runbooks.runbook_anchors()
    base = yaml.safe_load((support.CHART / "values.yaml").read_text())["alerts"]["runbookBaseURL"]
    for alert in alerts_of(default_render["rules"]):
        name = alert["alert"]
        assert name.startswith("Keyport") or name in ALWAYS_FIRING
        assert alert["labels"]["severity"] in ({"none"} if name in ALWAYS_FIRING else {"critical", "warning", "info"}), name
        annotations = alert["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}, name
        url, _, anchor = annotations["runbook_url"].partition("#")
        assert url == base, name
        assert anchor == name.lower() and anchor in anchors, f"{name}: no heading for #{anchor} in docs/runbooks.md"


def test_runbooks_answer_meaning_confirm_fix_for_every_alert() -> None:
    text = support.RUNBOOKS.read_text()
    sections = re.split(r"^## ", text, flags=re.M)
    by_name = {section.split("\n", 1)[0].strip(): section for section in sections}
    for name in EXPECTED_ALERTS:
        assert name in by_name, f"docs/runbooks.md has no '## {name}'"
        for part in ("**Meaning.**", "**Confirm.**", "**Fix.**"):
            assert part in by_name[name], f"{name}: missing {part}"


def test_annotations_keep_prometheus_templates_through_helm(default_render) -> None:
    source = RULES_TEMPLATE.read_text()
    assert "`{{ $value" in source  # written as Go raw strings in the Helm template
    rendered = {a["alert"]: a["annotations"] for a in alerts_of(default_render["rules"])}
    assert "{{ $value | humanizePercentage }}" in rendered["KeyportHigh5xxRate"]["summary"]
    assert "{{ $labels.pod }}" in rendered["KeyportNotReady"]["description"]
    assert "{{ $value | humanizeTimestamp }}" in rendered["KeyportPortsLoadFailing"]["description"]
    # ...and promtool's unit tests compare the expanded text (ops-tests/rules/*.test.yaml).


# --- tuning through values -----------------------------------------------------------------------


def test_values_tune_thresholds_windows_durations_and_labels(tmp_path) -> None:
    values = {"alerts": {
        "selector": 'job="kp", env="prod"',
        "targetLabels": ["job", "instance"],
        "evaluationInterval": "15s",
        "extraLabels": {"team": "platform"},
        "errors5xx": {"threshold": 0.02, "window": "3m", "for": "7m", "minRequestRate": 2, "severity": "warning"},
        "memory": {"limitRatio": 0.8, "fallbackBytes": 536870912},
        "notReady": {"enabled": False},
        "slo": {"objective": 0.995, "burnRates": [
            {"longWindow": "2h", "shortWindow": "10m", "factor": 10, "for": "1m", "severity": "critical"}]},
    }}
    text = renderer.render(values)["rules"]
    check_rules(tmp_path, text)
    doc = yaml.safe_load(text)
    assert all(group.get("interval") == "15s" for group in doc["groups"])
    alerts = {a["alert"]: a for a in alerts_of(text)}
    assert "KeyportNotReady" not in alerts and "KeyportTargetDown" in alerts
    high5xx = alerts["KeyportHigh5xxRate"]
    assert high5xx["for"] == "7m"
    assert high5xx["labels"] == {"severity": "warning", "team": "platform"}
    assert "ratio_rate3m > 0.02" in high5xx["expr"] and ">= 2" in high5xx["expr"]
    assert "on (job, instance)" in high5xx["expr"]
    assert "More than 2% " in high5xx["annotations"]["description"]
    assert "> 0.8" in alerts["KeyportMemoryNearLimit"]["expr"]
    assert "> 536870912" in alerts["KeyportMemoryHigh"]["expr"]
    records = {r["record"]: r["expr"] for r in rules_of(text) if "record" in r}
    assert 'http_requests_total{job="kp", env="prod", route=~' in records["keyport_target:http_requests:rate3m"]
    assert {k for k in records if k.startswith("keyport_service:slo_errors:")} == {
        "keyport_service:slo_errors:ratio_rate10m", "keyport_service:slo_errors:ratio_rate2h"}
    burn = [a for a in alerts_of(text) if a["alert"] == "KeyportErrorBudgetBurn"]
    assert len(burn) == 1 and "(10 * (1 - 0.995))" in burn[0]["expr"]
    assert burn[0]["labels"]["long_window"] == "2h"


def test_everything_can_be_disabled(tmp_path) -> None:
    off = {"enabled": False}
    names = ["errors5xx", "errors400", "memory", "notReady", "targetDown", "targetsAbsent", "portsLoad", "slo", "latency",
             "watchdog", "certificateExpiry", "pipeline"]
    text = renderer.render({"alerts": {name: off for name in names}})["rules"]
    assert yaml.safe_load(text)["groups"] in (None, [])
    only_absent = renderer.render({"alerts": {name: off for name in names if name != "targetsAbsent"}})["rules"]
    assert [a["alert"] for a in alerts_of(only_absent)] == ["KeyportTargetsAbsent"]
    check_rules(tmp_path, only_absent)


BAD_VALUES = [
    ({"errors5xx": {"threshold": 1.5}}, "/alerts/errors5xx/threshold"),
    ({"errors5xx": {"threshold": 0}}, "/alerts/errors5xx/threshold"),
    ({"errors400": {"window": "5 minutes"}}, "/alerts/errors400/window"),
    ({"memory": {"fallbackBytes": 1.5}}, "/alerts/memory/fallbackBytes"),
    ({"memory": {"limitRatoi": 0.5}}, "limitRatoi"),
    ({"notReady": {"severity": "page"}}, "/alerts/notReady/severity"),
    ({"selector": "job=keyport"}, "/alerts/selector"),
    ({"targetLabels": ["pod-name"]}, "/alerts/targetLabels/0"),
    ({"runbookBaseURL": "docs/runbooks.md"}, "/alerts/runbookBaseURL"),
    ({"slo": {"objective": 1}}, "/alerts/slo/objective"),
    ({"slo": {"burnRates": []}}, "/alerts/slo/burnRates"),
    ({"slo": {"burnRates": [{"longWindow": "1h", "factor": 14.4, "for": "2m", "severity": "critical"}]}}, "shortWindow"),
    ({"routing": {"email": {"enabled": True}}}, "/alerts/routing/email/to"),
    ({"routing": {"webhook": {"url": "localhost:5001", "sendResolved": True}}}, "/alerts/routing/webhook/url"),
    ({"routing": {"pagerduty": {"enabled": True, "routingKey": "secret"}}}, "routingKey"),
    ({"latency": {"thresholdSeconds": 0.3}}, "/alerts/latency/thresholdSeconds"),
    ({"latency": {"thresholdSeconds": "0.25"}}, "/alerts/latency/thresholdSeconds"),
    ({"latency": {"objective": 1}}, "/alerts/latency/objective"),
    ({"latency": {"burnRates": []}}, "/alerts/latency/burnRates"),
    ({"watchdog": {"url": "deadmans-switch"}}, "/alerts/watchdog/url"),
    ({"watchdog": {"repeatInterval": "often"}}, "/alerts/watchdog/repeatInterval"),
    ({"dashboardURL": "grafana/d/keyport"}, "/alerts/dashboardURL"),
    ({"certificateExpiry": {"days": 0}}, "/alerts/certificateExpiry/days"),
    ({"certificateExpiry": {"days": "14d"}}, "/alerts/certificateExpiry/days"),
    ({"pipeline": {"window": "0"}}, "/alerts/pipeline/window"),
    ({"pipeline": {"delivery": {"ratio": 2, "for": "5m", "severity": "warning"}}}, "/alerts/pipeline/delivery/ratio"),
    ({"pipeline": {"prometheusSelector": "prometheus"}}, "/alerts/pipeline/prometheusSelector"),
]


@pytest.mark.parametrize("values,where", BAD_VALUES, ids=[w for _, w in BAD_VALUES])
def test_schema_rejects_bad_alert_values_naming_the_key(values, where) -> None:
    from helm_python import HelmValuesError

    with pytest.raises(HelmValuesError) as err:
        renderer.render({"alerts": values})
    assert where in str(err.value)


def test_schema_accepts_the_defaults_and_a_full_receiver_setup() -> None:
    defaults = yaml.safe_load((support.CHART / "values.yaml").read_text())["alerts"]
    full = copy.deepcopy(defaults)
    full["routing"].update(FULL_ROUTING["alerts"]["routing"])
    with schema_only_chart() as chart:
        chart.validate_schema({"alerts": defaults})
        chart.validate_schema({"alerts": full})


@contextlib.contextmanager
def schema_only_chart():
    """A throwaway chart holding the real values.yaml and values.schema.json."""
    from helm_python import Chart

    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp) / "keyport"
        root.mkdir()
        shutil.copy(support.CHART / "values.yaml", root)
        shutil.copy(support.CHART / "values.schema.json", root)
        (root / "Chart.yaml").write_text("apiVersion: v2\nname: keyport\nversion: 0.0.0\n")
        with Chart.load(str(root)) as chart:
            yield chart


# --- Alertmanager --------------------------------------------------------------------------------

FULL_ROUTING = {"alerts": {"routing": {
    "webhook": {"url": "https://hooks.example.org/keyport", "sendResolved": True},
    "slack": {"enabled": True, "channel": "#ops"},
    "email": {"enabled": True, "to": "ops@example.org", "from": "keyport@example.org",
              "smarthost": "smtp.example.org:587", "authUsername": "keyport"},
    "pagerduty": {"enabled": True},
}}}


@pytest.mark.parametrize("which", ["compose copy", "chart defaults", "all receivers"])
def test_amtool_accepts_every_alertmanager_config(tmp_path, default_render, which) -> None:
    text = {
        "compose copy": lambda: DEPLOY_ALERTMANAGER.read_text(),
        "chart defaults": lambda: default_render["alertmanager"],
        "all receivers": lambda: renderer.render(FULL_ROUTING)["alertmanager"],
    }[which]()
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    result = support.run_tool(amtool(), "check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_rejects_a_field_alertmanager_does_not_know(tmp_path) -> None:
    path = tmp_path / "alertmanager.yml"
    text = renderer.render(FULL_ROUTING)["alertmanager"]
    assert "send_resolved: true" in text
    path.write_text(text.replace("send_resolved: true", "send_resolved: true\n        url_file: /x", 1))
    result = support.run_tool(amtool(), "check-config", str(path))
    assert result.returncode != 0


def test_default_alertmanager_config_sends_nothing(default_render) -> None:
    config = yaml.safe_load(default_render["alertmanager"])
    # Every receiver is a name only: Alertmanager attempts no notification, so none can fail.
    assert [r for r in config["receivers"] if set(r) != {"name"}] == []
    lines = [line for line in default_render["alertmanager"].splitlines() if not line.strip().startswith("#")]
    assert not re.search(r"https?://", "\n".join(lines))
    with_hook = yaml.safe_load(renderer.render(
        {"alerts": {"routing": {"webhook": {"url": "https://hooks.example.org/k", "sendResolved": True}}}})["alertmanager"])
    assert {r["name"] for r in with_hook["receivers"] if "webhook_configs" in r} == {"keyport-notify", "keyport-page"}


def test_alertmanager_routes_inhibits_and_reads_secrets_from_files(default_render) -> None:
    config = yaml.safe_load(renderer.render(FULL_ROUTING)["alertmanager"])
    route = config["route"]
    assert route["group_by"] == ["alertname", "job", "namespace"]
    assert route["routes"] == [
        {"receiver": "keyport-watchdog", "matchers": ['alertname="Watchdog"'], "group_by": ["alertname"],
         "group_interval": "1m", "repeat_interval": "1m"},
        {"receiver": "keyport-page", "matchers": ['severity="critical"']},
    ]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert set(receivers) == {"keyport-notify", "keyport-page", "keyport-watchdog"}
    # The Watchdog's receiver notifies nobody until a dead-man's switch is configured.
    assert receivers.pop("keyport-watchdog") == {"name": "keyport-watchdog"}
    for receiver in receivers.values():
        assert receiver["webhook_configs"][0]["url"] == FULL_ROUTING["alerts"]["routing"]["webhook"]["url"]
        assert receiver["slack_configs"][0]["api_url_file"] == "/etc/alertmanager/secrets/slack-api-url"
    assert receivers["keyport-notify"]["email_configs"][0]["auth_password_file"] == "/etc/alertmanager/secrets/smtp-auth-password"
    assert receivers["keyport-page"]["pagerduty_configs"][0]["routing_key_file"] == "/etc/alertmanager/secrets/pagerduty-routing-key"
    assert "pagerduty_configs" not in receivers["keyport-notify"]
    # No secret value anywhere: only *_file references.
    assert not re.search(r"(api_url|routing_key|service_key|auth_password):", renderer.render(FULL_ROUTING)["alertmanager"])

    inhibit = config["inhibit_rules"]
    sources = re.findall(r"Keyport\w+", inhibit[0]["source_matchers"][0])
    targets = re.findall(r"Keyport\w+", inhibit[0]["target_matchers"][0])
    assert set(sources) == {"KeyportTargetDown", "KeyportNotReady"}
    assert set(targets) == {"KeyportHigh5xxRate", "KeyportHigh400Rate"}
    assert set(sources + targets) <= EXPECTED_ALERTS
    assert inhibit[0]["equal"] == ["job", "namespace", "pod", "instance"]

    # Disabled receivers are documented slots (comments), not config.
    default = default_render["alertmanager"]
    assert "slack_configs" not in default and "pagerduty_configs" not in default and "email_configs" not in default
    for secret in ("slack-api-url", "smtp-auth-password", "pagerduty-routing-key"):
        assert f"secret file {secret}" in default


def test_alertmanager_routing_with_amtool(tmp_path, default_render) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(default_render["alertmanager"])

    def receivers(*labels: str) -> str:
        result = support.run_tool(amtool(), "config", "routes", "test", "--config.file", str(path), *labels)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert receivers("alertname=KeyportNotReady", "severity=critical") == "keyport-page"
    assert receivers("alertname=KeyportHigh400Rate", "severity=warning") == "keyport-notify"
    assert receivers("alertname=Watchdog", "severity=none") == "keyport-watchdog"
    assert receivers("alertname=KeyportLatencyBudgetBurn", "severity=critical") == "keyport-page"


# --- latency SLO, Watchdog, dashboard links ---------------------------------------------------------


def swift_duration_buckets() -> list[str]:
    """KeyportMetrics.durationBuckets as the `le` labels keyport prints (Swift Duration: "0.25", "1.0")."""
    source = (support.REPO / "Sources" / "KeyportCore" / "Observability" / "KeyportMetrics.swift").read_text()
    body = re.search(r"durationBuckets: \[Duration\] = \[(.*?)\]", source, re.S)
    assert body, "KeyportMetrics.durationBuckets not found"
    scale = {"microseconds": 1e-6, "milliseconds": 1e-3, "seconds": 1.0}
    values = [int(n) * scale[unit] for unit, n in re.findall(r"\.(microseconds|milliseconds|seconds)\((\d+)\)", body.group(1))]
    return [(f"{v:.6f}".rstrip("0") + ("0" if f"{v:.6f}".rstrip("0").endswith(".") else "")) for v in values]


def test_the_latency_bound_must_be_a_histogram_bucket() -> None:
    buckets = swift_duration_buckets()
    assert len(buckets) == 14 and "0.25" in buckets and "1.0" in buckets
    schema = json.loads((support.CHART / "values.schema.json").read_text())
    allowed = schema["properties"]["alerts"]["properties"]["latency"]["properties"]["thresholdSeconds"]["enum"]
    assert [float(b) for b in buckets] == allowed, "values.schema.json's thresholdSeconds enum differs from KeyportMetrics.durationBuckets"
    template = re.search(r'\$buckets := list ((?:"[^"]+" ?)+)', RULES_TEMPLATE.read_text())
    assert template and re.findall(r'"([^"]+)"', template.group(1)) == buckets
    for bound in allowed:
        rules = renderer.render({"alerts": {"latency": {"thresholdSeconds": bound}}})["rules"]
        le = buckets[allowed.index(bound)]
        assert f'le="{le}"' in rules, bound


def test_the_rules_template_itself_refuses_a_bound_that_is_not_a_bucket(tmp_path) -> None:
    """Without the schema (as when the template is reused elsewhere), the template's `fail` stops it."""
    from helm_python import HelmRenderError

    chart = tmp_path / "keyport"
    (chart / "files").mkdir(parents=True)
    shutil.copy(RULES_TEMPLATE, chart / "files")
    shutil.copy(ALERTMANAGER_TEMPLATE, chart / "files")
    shutil.copy(support.CHART / "values.yaml", chart / "values.yaml")
    with pytest.raises(HelmRenderError) as err:
        renderer.render({"alerts": {"latency": {"thresholdSeconds": 0.3}}}, chart_dir=chart)
    assert "not a bucket bound" in str(err.value)
    assert 'le="0.5"' in renderer.render({"alerts": {"latency": {"thresholdSeconds": 0.5}}}, chart_dir=chart)["rules"]


def test_latency_slo_is_tuned_through_values(tmp_path) -> None:
    text = renderer.render({"alerts": {"latency": {"thresholdSeconds": 1, "objective": 0.95, "burnRates": [
        {"longWindow": "2h", "shortWindow": "10m", "factor": 10, "for": "1m", "severity": "warning"}]}}})["rules"]
    check_rules(tmp_path, text)
    burn = [a for a in alerts_of(text) if a["alert"] == "KeyportLatencyBudgetBurn"]
    assert len(burn) == 1 and "(10 * (1 - 0.95))" in burn[0]["expr"] and burn[0]["labels"]["severity"] == "warning"
    assert "longer than 1000ms" in burn[0]["annotations"]["description"].replace("\n", " ")
    records = {r["record"]: r["expr"] for r in rules_of(text) if "record" in r}
    assert 'le="1.0"' in records["keyport_service:latency_slow:ratio_rate2h"]
    assert {k for k in records if k.startswith("keyport_service:latency_")} == {
        f"keyport_service:{kind}{w}" for kind in ("latency_requests:rate", "latency_slow:ratio_rate") for w in ("10m", "2h")}


def test_watchdog_reaches_a_dead_mans_switch_only_when_configured(tmp_path) -> None:
    url = "https://hc-ping.example.org/keyport-watchdog"
    config = yaml.safe_load(renderer.render({"alerts": {"watchdog": {"url": url, "repeatInterval": "2m"}}})["alertmanager"])
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["keyport-watchdog"]["webhook_configs"] == [{"url": url, "send_resolved": False}]
    assert config["route"]["routes"][0]["repeat_interval"] == "2m"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    result = support.run_tool(amtool(), "check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    off = yaml.safe_load(renderer.render({"alerts": {"watchdog": {"enabled": False}}})["alertmanager"])
    assert "keyport-watchdog" not in {r["name"] for r in off["receivers"]}
    assert all("Watchdog" not in str(r.get("matchers")) for r in off["route"]["routes"])


def _link_targets(rules_text: str) -> list[tuple[str, str, str]]:
    return [(a["alert"], key, a["annotations"][key]) for a in alerts_of(rules_text)
            for key in ("runbook_url", "dashboard_url") if key in a["annotations"]]


def check_link_exists_in_repo(alert: str, key: str, url: str, dashboard_uid: str) -> None:
    """A runbook_url is <repo blob URL>/<path>#anchor of a heading that exists; a dashboard_url is a
    repo blob URL of a file that exists, or a Grafana /d/<uid> link to the committed dashboard."""
    blob = re.match(r"^https://github\.com/[^/]+/[^/]+/blob/[^/]+/([^#?]+)(?:#(.*))?$", url)
    if blob:
        path = support.REPO / blob.group(1)
        assert path.is_file(), f"{alert} {key} {url}: {blob.group(1)} is not in the repository"
        if blob.group(2):
            assert path.suffix == ".md", f"{alert} {key} {url}: anchor into a non-Markdown file"
            assert blob.group(2) in runbooks.runbook_anchors(path), f"{alert} {key} {url}: no heading for #{blob.group(2)}"
        return
    grafana = re.match(r"^https?://[^/]+(?:/[^?#]*)?/d/([^/?#]+)", url)
    assert key == "dashboard_url" and grafana, f"{alert} {key} {url}: neither a repository file nor a Grafana dashboard"
    assert grafana.group(1) == dashboard_uid, f"{alert} {key} {url}: uid {grafana.group(1)} is not the dashboard's {dashboard_uid}"


@pytest.mark.parametrize("dashboard_url", [
    "", "http://localhost:3000/d/keyport/keyport",
    "https://github.com/keyport/keyport/blob/main/charts/keyport/files/dashboards/keyport.json",
])
def test_every_runbook_and_dashboard_link_points_at_something_in_the_repo(dashboard_url) -> None:
    uid = json.loads((support.CHART / "files" / "dashboards" / "keyport.json").read_text())["uid"]
    text = renderer.render({"alerts": {"dashboardURL": dashboard_url}})["rules"]
    links = _link_targets(text)
    alerts = alerts_of(text)
    assert sum(key == "runbook_url" for _, key, _ in links) == len(alerts)
    assert sum(key == "dashboard_url" for _, key, _ in links) == (len(alerts) if dashboard_url else 0)
    for alert, key, url in links:
        check_link_exists_in_repo(alert, key, url, uid)
    # ...and the compose copy.
    for alert, key, url in _link_targets(DEPLOY_RULES.read_text()):
        check_link_exists_in_repo(alert, key, url, uid)


@pytest.mark.parametrize("url,problem", [
    ("https://github.com/keyport/keyport/blob/main/docs/runbooks.md#nosuchalert", "no heading"),
    ("https://github.com/keyport/keyport/blob/main/docs/no-such-file.md#watchdog", "not in the repository"),
    ("http://localhost:3000/d/not-the-uid/keyport", "is not the dashboard's"),
    ("https://wiki.example.org/keyport", "neither"),
])
def test_the_link_check_catches_dangling_links(url, problem) -> None:
    with pytest.raises(AssertionError, match=problem):
        check_link_exists_in_repo("X", "dashboard_url" if "/d/" in url or "wiki" in url else "runbook_url", url, "keyport")
