"""keyport's Grafana dashboard (charts/keyport/files/dashboards/keyport.json): generated from
scripts/generate-dashboard.py, and well-formed for Grafana. Its queries are checked against a live
Prometheus in ops-tests/test_alerts_live.py (test_dashboard_queries_return_live_data), which runs the
real keyport under mixed load; this file needs no binary.
"""
from __future__ import annotations

import json
import re

import pytest

import support

from support.dashboard import DASHBOARD
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Every metric of SPEC.md's table that this build of keyport exports is on the dashboard.
METRICS = [
    "http_requests_total", "http_request_duration_seconds", "keyport_key_length_bytes", "keyport_ports",
    "keyport_ports_loads_total", "keyport_ports_load_duration_seconds", "keyport_ports_last_success_timestamp_seconds",
    "keyport_ready", "keyport_build_info", "keyport_memory_limit_bytes", "process_resident_memory_bytes",
    "process_virtual_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "process_max_fds",
    "process_start_time_seconds", "keyport_tls_reloads_total", "keyport_tls_certificate_expiry_timestamp_seconds",
    "keyport_trace_spans_dropped_total", "ALERTS",
]


def generator():
    return support.script_module("generate-dashboard")


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def content_panels(dashboard: dict) -> list[dict]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_committed_json_is_the_generators_output() -> None:
    assert DASHBOARD.read_text() == generator().render(), "stale dashboard: run `make dashboard`"


def test_check_mode_notices_a_hand_edit(tmp_path, monkeypatch) -> None:
    module = generator()
    edited = tmp_path / "keyport.json"
    edited.write_text(DASHBOARD.read_text().replace('"title": "keyport"', '"title": "edited by hand"', 1))
    monkeypatch.setattr(module, "OUTPUT", edited)
    monkeypatch.setattr(module, "REPO", tmp_path)
    assert module.main(["--check"]) == 1
    monkeypatch.setattr(module, "OUTPUT", DASHBOARD)
    monkeypatch.setattr(module, "REPO", support.REPO)
    assert module.main(["--check"]) == 0


def test_dashboard_identity_and_schema(dashboard) -> None:
    assert dashboard["uid"] == "keyport" and dashboard["title"] == "keyport"
    assert dashboard["schemaVersion"] >= 39
    assert dashboard["description"]
    # The runbook link points at the runbooks in this repository.
    assert [link["url"] for link in dashboard["links"]] == [
        "https://github.com/keyport/keyport/blob/main/docs/runbooks.md"]


def test_panel_ids_are_unique(dashboard) -> None:
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)


def test_panels_do_not_overlap_and_fit_the_grid(dashboard) -> None:
    cells: dict[tuple[int, int], str] = {}
    for p in dashboard["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r} at {(x, y)}"
                cells[(x, y)] = p["title"]


def test_overlap_check_catches_an_overlap(dashboard) -> None:
    broken = json.loads(json.dumps(dashboard))
    broken["panels"][2]["gridPos"] = dict(broken["panels"][1]["gridPos"])
    with pytest.raises(AssertionError, match="overlaps"):
        test_panels_do_not_overlap_and_fit_the_grid(broken)


def test_every_panel_and_query_uses_the_datasource_variable(dashboard) -> None:
    """Rows hold no queries; every other panel and every target names ${datasource}."""
    for p in content_panels(dashboard):
        assert p["datasource"] == DATASOURCE, p["title"]
        assert p["targets"], f"{p['title']} has no query"
        for t in p["targets"]:
            assert t["datasource"] == DATASOURCE, (p["title"], t["refId"])
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for v in variables.values():
        if v["type"] == "query":
            assert v["datasource"] == DATASOURCE, v["name"]


def test_every_panel_has_a_unit_a_description_and_unique_ref_ids(dashboard) -> None:
    titles = [p["title"] for p in dashboard["panels"]]
    assert len(titles) == len(set(titles))
    for p in content_panels(dashboard):
        assert p["fieldConfig"]["defaults"].get("unit"), f"{p['title']} has no unit"
        assert len(p.get("description", "")) > 20, f"{p['title']} has no description"
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]


def test_queries_select_the_chosen_job_namespace_and_instance(dashboard) -> None:
    for p in content_panels(dashboard):
        for t in p["targets"]:
            expr = t["expr"]
            if p["title"] == "Watchdog":
                continue  # vector(1) has no job: the Watchdog belongs to the alerting pipeline, not a target
            assert 'job=~"$job"' in expr, (p["title"], expr)
            # Two releases scraped by one Prometheus share the job: every selector names the namespace.
            selectors = re.findall(r"[A-Za-z_:]+\{([^}]*)\}", expr)
            assert selectors and all('namespace=~"$namespace"' in s for s in selectors), (p["title"], expr)
            if "ALERTS" not in expr:
                # Every selector of a keyport series carries the instance variable too.
                assert all('instance=~"$instance"' in s for s in selectors), (p["title"], expr)


def test_variables_are_defined_and_used(dashboard) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) == {"datasource", "job", "namespace", "instance", "latency_bound", "slo_objective", "latency_objective"}
    text = json.dumps(dashboard["panels"])
    for name in variables:
        assert f"${name}" in text or name == "datasource" and "${datasource}" in text, f"${name} is never used"
    assert variables["instance"]["includeAll"] and variables["instance"]["allValue"] == ".+"
    # All namespaces includes series without the label (compose's Prometheus sets none).
    assert variables["namespace"]["includeAll"] and variables["namespace"]["allValue"] == ".*"
    assert '$namespace' in variables["instance"]["query"]["query"]
    # The defaults are the chart's alert values.
    assert variables["latency_bound"]["current"]["value"] == "0.25"
    assert variables["slo_objective"]["query"] == "0.999" and variables["latency_objective"]["query"] == "0.99"


def test_rows_an_on_call_needs_are_there(dashboard) -> None:
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Service level", "Traffic and errors", "Latency", "Keys", "Ports data", "Targets", "Saturation", "Alerts", "TLS", "Tracing"]
    kinds = {p["title"]: p["type"] for p in content_panels(dashboard)}
    assert kinds["Key lengths served"] == "heatmap"
    text = json.dumps(dashboard["panels"])
    for metric in METRICS:
        assert metric in text, f"{metric} is not on the dashboard"
    # The share panel draws the alert thresholds of the chart's values.
    shares = next(p for p in content_panels(dashboard) if p["title"].startswith("5xx and 400 shares"))
    steps = [s["value"] for s in shares["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 0.05, 0.25]


def _lost_fields(source, loaded, path=""):
    if isinstance(source, dict):
        for key, value in source.items():
            if not isinstance(loaded, dict) or key not in loaded:
                yield f"{path}/{key}"
            else:
                yield from _lost_fields(value, loaded[key], f"{path}/{key}")
    elif isinstance(source, list):
        if not isinstance(loaded, list) or len(loaded) != len(source):
            yield f"{path} (list)"
        else:
            for i, (a, b) in enumerate(zip(source, loaded)):
                yield from _lost_fields(a, b, f"{path}[{i}]")
    elif source != loaded:
        yield f"{path}: {source!r} became {loaded!r}"


def round_trip(document: dict) -> dict:
    """Through grafana-foundation-sdk's Dashboard model, generated from Grafana 11.6's dashboard schema."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    return json.loads(JSONEncoder().encode(Dashboard.from_json(json.loads(json.dumps(document)))))


def test_grafanas_dashboard_schema_keeps_every_field(dashboard) -> None:
    lost = list(_lost_fields(dashboard, round_trip(dashboard)))
    assert not lost, f"fields Grafana's dashboard model does not know: {lost}"


def test_schema_round_trip_catches_a_field_grafana_does_not_know(dashboard) -> None:
    broken = json.loads(json.dumps(dashboard))
    broken["templating"]["list"][1]["definitionn"] = "typo"
    broken["panels"][1]["gridPos"]["width"] = 4
    lost = list(_lost_fields(broken, round_trip(broken)))
    assert "/templating/list[1]/definitionn" in lost and "/panels[1]/gridPos/width" in lost, lost
