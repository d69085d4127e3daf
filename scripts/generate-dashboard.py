#!/usr/bin/env python3
"""Generate keyport's Grafana dashboard: charts/keyport/files/dashboards/keyport.json.

The dashboard is code: this script is its source, the JSON is its output, and a test
(ops-tests/test_dashboard.py) fails when the committed JSON differs from a fresh run. The chart's
ConfigMap (dashboards.enabled), compose's Grafana profile and the tests all read that one JSON file.

    scripts/generate-dashboard.py            # rewrite the JSON (make dashboard)
    scripts/generate-dashboard.py --check    # exit 1 when the committed JSON is stale

Hand-written rather than with grafana-foundation-sdk's builders: the panels below are a few plain
dicts in Grafana's dashboard JSON model (schemaVersion 39), which read more directly than the
builders; the tests load the result with the SDK's Dashboard model (Grafana 11.6's schema) and fail
when any field would be lost. Thresholds and objectives default to the chart's values.yaml (`alerts:`), so the
lines drawn on the panels are the alerts' own thresholds.

Every query selects `job=~"$job", namespace=~"$namespace", instance=~"$instance"` (two releases
scraped by one Prometheus share the job name; the namespace keeps them apart) and reads keyport's own metrics, or the
recording rules whose names do not depend on tunable windows, so a user who changes the alert
windows keeps a working dashboard.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

import yaml

from generated import write_or_check

REPO = pathlib.Path(__file__).resolve().parent.parent
VALUES = REPO / "charts" / "keyport" / "values.yaml"
OUTPUT = REPO / "charts" / "keyport" / "files" / "dashboards" / "keyport.json"
UID = "keyport"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", namespace=~"$namespace", instance=~"$instance"'
API = SEL + ', route=~"/key/.+|/ports|/ports/.+"'
KEY = SEL + ', route="/key/{length}"'


def target(ref: str, expr: str, legend: str = "", instant: bool = False, fmt: str = "time_series") -> dict[str, Any]:
    return {
        "datasource": DATASOURCE, "refId": ref, "expr": expr, "legendFormat": legend or "__auto",
        "range": not instant, "instant": instant, "format": fmt,
    }


def panel(kind: str, title: str, description: str, unit: str, targets: list[dict[str, Any]],
          grid: tuple[int, int, int, int], thresholds: list[tuple[str, float | None]] | None = None,
          options: dict[str, Any] | None = None, custom: dict[str, Any] | None = None,
          overrides: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    x, y, w, h = grid
    steps = [{"color": color, "value": value} for color, value in (thresholds or [("green", None)])]
    defaults: dict[str, Any] = {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}}
    if custom:
        defaults["custom"] = custom
    return {
        "type": kind, "title": title, "description": description, "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {}, "targets": targets,
    }


def row(title: str, y: int) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}


def stat(title: str, description: str, unit: str, expr: str, grid, thresholds=None, instant: bool = True) -> dict[str, Any]:
    return panel("stat", title, description, unit, [target("A", expr, instant=instant)], grid, thresholds,
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "value", "graphMode": "none", "textMode": "auto"})


def timeseries(title: str, description: str, unit: str, targets, grid, thresholds=None, line_thresholds: bool = False,
               overrides=None) -> dict[str, Any]:
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": False}
    if line_thresholds:
        custom["thresholdsStyle"] = {"mode": "line+area"}
    return panel("timeseries", title, description, unit, targets, grid, thresholds,
                 options={"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                          "tooltip": {"mode": "multi", "sort": "desc"}},
                 custom=custom, overrides=overrides)


def variables(alerts: dict[str, Any]) -> list[dict[str, Any]]:
    def query(name: str, label: str, expr: str, *, include_all: bool, default: str, hide: int = 0,
              all_value: str = ".+") -> dict[str, Any]:
        return {
            "type": "query", "name": name, "label": label, "datasource": DATASOURCE,
            "query": {"query": expr, "refId": f"{name}-query"},
            "refresh": 2, "sort": 1, "multi": include_all, "includeAll": include_all,
            **({"allValue": all_value} if include_all else {}),
            "current": {"text": default, "value": default}, "hide": hide, "options": [], "regex": "",
        }

    def constant(name: str, label: str, value: float) -> dict[str, Any]:
        text = repr(value)
        return {"type": "constant", "name": name, "label": label, "query": text, "hide": 2,
                "current": {"text": text, "value": text}, "options": [{"text": text, "value": text, "selected": True}]}

    bound = alerts["latency"]["thresholdSeconds"]
    le = f"{float(bound):.6f}".rstrip("0")
    le = le + "0" if le.endswith(".") else le
    return [
        {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
        query("job", "Job", "label_values(keyport_build_info, job)", include_all=False, default="keyport"),
        # All is `.*`: a Prometheus outside Kubernetes (compose) sets no namespace label at all.
        query("namespace", "Namespace", 'label_values(keyport_build_info{job=~"$job"}, namespace)', include_all=True,
              default="$__all", all_value=".*"),
        query("instance", "Instance", 'label_values(keyport_build_info{job=~"$job", namespace=~"$namespace"}, instance)',
              include_all=True, default="$__all"),
        query("latency_bound", "Latency bound (s)", 'label_values(http_request_duration_seconds_bucket{job=~"$job", le!="+Inf"}, le)',
              include_all=False, default=le),
        constant("slo_objective", "Availability objective", alerts["slo"]["objective"]),
        constant("latency_objective", "Latency objective", alerts["latency"]["objective"]),
    ]


def panels(alerts: dict[str, Any]) -> list[dict[str, Any]]:
    t5xx = alerts["errors5xx"]["threshold"]
    t400 = alerts["errors400"]["threshold"]
    mem = alerts["memory"]["limitRatio"]
    latency_budget = round(1 - alerts["latency"]["objective"], 6)
    api_rate = f"sum(rate(http_requests_total{{{API}}}[$__rate_interval]))"
    out: list[dict[str, Any]] = []

    out.append(row("Service level", 0))
    out += [
        stat("Targets up", "Targets Prometheus scrapes successfully (up == 1) out of all keyport targets.", "short",
             f"sum(up{{{SEL}}})", (0, 1, 4, 4), [("red", None), ("green", 1)]),
        stat("Targets ready", "Targets reporting keyport_ready 1: ports data loaded and not draining.", "short",
             f"sum(keyport_ready{{{SEL}}})", (4, 1, 4, 4), [("red", None), ("green", 1)]),
        stat("Availability", "Share of /key and /ports requests not answered 5xx over the dashboard's time range, "
             "against the availability objective ($slo_objective).", "percentunit",
             f"1 - (sum(increase(http_requests_total{{{API}, code=~\"5..\"}}[$__range])) or vector(0))"
             f" / sum(increase(http_requests_total{{{API}}}[$__range]))",
             (8, 1, 4, 4), [("red", None), ("green", alerts["slo"]["objective"])]),
        stat("Error budget left", "Availability error budget left over the time range: 1 - (5xx share / (1 - objective)). "
             "Below 0 the objective is missed for this range.", "percentunit",
             f"1 - ((sum(increase(http_requests_total{{{API}, code=~\"5..\"}}[$__range])) or vector(0))"
             f" / sum(increase(http_requests_total{{{API}}}[$__range]))) / (1 - $slo_objective)",
             (12, 1, 4, 4), [("red", None), ("orange", 0), ("green", 0.25)]),
        stat("Within latency bound", "Share of /key and /ports requests answered within $latency_bound s over the time "
             "range, against the latency objective ($latency_objective).", "percentunit",
             f"sum(increase(http_request_duration_seconds_bucket{{{API}, le=\"$latency_bound\"}}[$__range]))"
             f" / sum(increase(http_request_duration_seconds_count{{{API}}}[$__range]))",
             (16, 1, 4, 4), [("red", None), ("green", alerts["latency"]["objective"])]),
        stat("Latency budget left", "Latency budget left over the time range: 1 - (slow share / (1 - latency objective)).",
             "percentunit",
             f"1 - (1 - sum(increase(http_request_duration_seconds_bucket{{{API}, le=\"$latency_bound\"}}[$__range]))"
             f" / sum(increase(http_request_duration_seconds_count{{{API}}}[$__range]))) / (1 - $latency_objective)",
             (20, 1, 4, 4), [("red", None), ("orange", 0), ("green", 0.25)]),
    ]

    out.append(row("Traffic and errors", 5))
    out += [
        timeseries("Request rate by route and code", "Requests per second by route template and status code, all routes "
                   "(probes and /metrics included).", "reqps",
                   [target("A", f"sum by (route, code) (rate(http_requests_total{{{SEL}}}[$__rate_interval]))", "{{route}} {{code}}")],
                   (0, 6, 12, 8)),
        timeseries("5xx and 400 shares against the alert thresholds",
                   f"5xx share of /key and /ports requests (KeyportHigh5xxRate fires above {t5xx:.0%}) and 400 share of "
                   f"/key requests (KeyportHigh400Rate fires above {t400:.0%}), per target. The lines are the chart's "
                   "default thresholds.", "percentunit",
                   [target("A", f"sum by (instance) (rate(http_requests_total{{{API}, code=~\"5..\"}}[$__rate_interval]))"
                                f" / sum by (instance) (rate(http_requests_total{{{API}}}[$__rate_interval]))", "5xx {{instance}}"),
                    target("B", f"sum by (instance) (rate(http_requests_total{{{KEY}, code=\"400\"}}[$__rate_interval]))"
                                f" / sum by (instance) (rate(http_requests_total{{{KEY}}}[$__rate_interval]))", "400 {{instance}}")],
                   (12, 6, 12, 8), [("green", None), ("orange", t5xx), ("red", t400)], line_thresholds=True),
    ]

    out.append(row("Latency", 14))
    out += [
        timeseries("Latency p50 / p90 / p99 by route", "Quantiles of http_request_duration_seconds (time from a complete "
                   "request to its response being written) per route, interpolated within histogram buckets.", "s",
                   [target(ref, f"histogram_quantile({q}, sum by (le, route) (rate(http_request_duration_seconds_bucket{{{SEL}}}[$__rate_interval])))",
                           f"p{int(q * 100)} {{{{route}}}}") for ref, q in (("A", 0.5), ("B", 0.9), ("C", 0.99))],
                   (0, 15, 12, 8)),
        timeseries("Requests slower than the latency bound", "Share of /key and /ports requests slower than $latency_bound s "
                   f"per route; the line is the latency budget (1 - objective = {latency_budget:g}), which "
                   "KeyportLatencyBudgetBurn measures burn rates against.", "percentunit",
                   [target("A", f"1 - sum by (route) (rate(http_request_duration_seconds_bucket{{{API}, le=\"$latency_bound\"}}[$__rate_interval]))"
                                f" / sum by (route) (rate(http_request_duration_seconds_count{{{API}}}[$__rate_interval]))", "{{route}}")],
                   (12, 15, 6, 8), [("green", None), ("red", latency_budget)], line_thresholds=True),
        timeseries("Budget burn rates", "How many times faster than the objectives allow the error budget (5xx) and the "
                   "latency budget burn; 1 spends a 30-day budget in 30 days, 14.4 in about 2 days (the fast pages).", "short",
                   [target("A", f"((sum(rate(http_requests_total{{{API}, code=~\"5..\"}}[$__rate_interval])) or vector(0))"
                                f" / {api_rate}) / (1 - $slo_objective)", "availability"),
                    target("B", f"(1 - sum(rate(http_request_duration_seconds_bucket{{{API}, le=\"$latency_bound\"}}[$__rate_interval]))"
                                f" / sum(rate(http_request_duration_seconds_count{{{API}}}[$__rate_interval]))) / (1 - $latency_objective)", "latency")],
                   (18, 15, 6, 8), [("green", None), ("orange", 1), ("red", 14.4)], line_thresholds=True),
    ]

    out.append(row("Keys", 23))
    out += [
        panel("heatmap", "Key lengths served", "Distribution of the lengths of keys served (keyport_key_length_bytes: "
              "20 linear buckets up to --max-size), per time step.", "bytes",
              [target("A", f"sum by (le) (increase(keyport_key_length_bytes_bucket{{{SEL}}}[$__rate_interval]))", "{{le}}",
                      fmt="heatmap")],
              (0, 24, 12, 8), options={"calculate": False, "yAxis": {"unit": "bytes"}, "cellGap": 1,
                                       "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
                                       "tooltip": {"show": True, "yHistogram": True}}),
        timeseries("Keys served and mean length", "Keys served per second, and their mean length in bytes.", "short",
                   [target("A", f"sum(rate(keyport_key_length_bytes_count{{{SEL}}}[$__rate_interval]))", "keys/s"),
                    target("B", f"sum(rate(keyport_key_length_bytes_sum{{{SEL}}}[$__rate_interval]))"
                                f" / sum(rate(keyport_key_length_bytes_count{{{SEL}}}[$__rate_interval]))", "mean length")],
                   (12, 24, 12, 8),
                   overrides=[{"matcher": {"id": "byName", "options": "mean length"},
                               "properties": [{"id": "unit", "value": "bytes"}, {"id": "custom.axisPlacement", "value": "right"}]}]),
    ]

    out.append(row("Ports data", 32))
    out += [
        stat("Records served", "Port records in the store now (keyport_ports), per target.", "short",
             f"keyport_ports{{{SEL}}}", (0, 33, 6, 4)),
        stat("Since last successful load", "Time since each target's last successful ports file load "
             "(keyport_ports_last_success_timestamp_seconds).", "s",
             f"time() - keyport_ports_last_success_timestamp_seconds{{{SEL}}}", (6, 33, 6, 4)),
        stat("Failed loads in range", "Ports file loads that failed over the time range (the previous data keeps serving; "
             "KeyportPortsLoadFailing fires while no later load succeeded).", "short",
             f"sum(increase(keyport_ports_loads_total{{{SEL}, result=\"failure\"}}[$__range]))", (12, 33, 6, 4),
             [("green", None), ("red", 1)]),
        stat("Last load duration", "Duration of each target's last ports file load (keyport_ports_load_duration_seconds).", "s",
             f"keyport_ports_load_duration_seconds{{{SEL}}}", (18, 33, 6, 4)),
        timeseries("Ports loads by result", "Ports file loads per time step, by result (success/failure).", "short",
                   [target("A", f"sum by (result) (increase(keyport_ports_loads_total{{{SEL}}}[$__rate_interval]))", "{{result}}")],
                   (0, 37, 8, 6)),
        stat("Last failed load not yet fixed", "When the latest ports load that failed, with no successful load since, "
             "happened (recording rules keyport_target:ports_last_{failure,success}_load:timestamp_seconds, the ones "
             "KeyportPortsLoadFailing reads). Empty while the latest load succeeded.", "dateTimeFromNow",
             f"keyport_target:ports_last_failure_load:timestamp_seconds{{{SEL}}}"
             f" unless on (instance) keyport_target:ports_last_success_load:timestamp_seconds{{{SEL}}}"
             f" >= on (instance) keyport_target:ports_last_failure_load:timestamp_seconds{{{SEL}}}",
             (8, 37, 4, 6), [("red", None)]),
        timeseries("Records served over time", "keyport_ports per target: a drop means a smaller file was loaded.", "short",
                   [target("A", f"keyport_ports{{{SEL}}}", "{{instance}}")], (12, 37, 12, 6)),
    ]

    out.append(row("Targets", 43))
    out += [
        timeseries("Up and ready per target", "up (Prometheus reached the target) and keyport_ready (ports loaded, not "
                   "draining) per target: 1 is good.", "short",
                   [target("A", f"up{{{SEL}}}", "up {{instance}}"), target("B", f"keyport_ready{{{SEL}}}", "ready {{instance}}")],
                   (0, 44, 12, 6)),
        panel("table", "Build per target", "keyport_build_info: the version and revision each target runs.", "short",
              [target("A", f"keyport_build_info{{{SEL}}}", instant=True, fmt="table")], (12, 44, 8, 6),
              options={"showHeader": True}),
        stat("Uptime", "Time since each target's process started (process_start_time_seconds); a small value "
             "after a long one is a restart.", "s", f"time() - process_start_time_seconds{{{SEL}}}", (20, 44, 4, 6)),
    ]

    out.append(row("Saturation", 50))
    out += [
        timeseries("Memory against the cgroup limit", "Resident memory per target and its cgroup memory limit "
                   f"(keyport_memory_limit_bytes, absent when unlimited); KeyportMemoryNearLimit fires above {mem:.0%} of it. "
                   "Virtual memory for reference (it is not what the limit counts).",
                   "bytes",
                   [target("A", f"process_resident_memory_bytes{{{SEL}}}", "resident {{instance}}"),
                    target("B", f"keyport_memory_limit_bytes{{{SEL}}}", "limit {{instance}}"),
                    target("C", f"process_virtual_memory_bytes{{{SEL}}}", "virtual {{instance}}")],
                   (0, 51, 8, 7)),
        panel("gauge", "Memory used of limit", "Resident memory / cgroup limit per target (recording rule "
              f"keyport_target:memory_limit_usage:ratio); KeyportMemoryNearLimit fires above {mem:.0%}. No value when "
              "the process runs without a memory limit.", "percentunit",
              [target("A", f"keyport_target:memory_limit_usage:ratio{{{SEL}}}", "{{instance}}", instant=True)],
              (8, 51, 4, 7), [("green", None), ("orange", round(mem * 0.8, 4)), ("red", mem)],
              options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                       "showThresholdMarkers": True, "minVizHeight": 75, "minVizWidth": 75}),
        timeseries("CPU", "CPU time used per second per target (1 = one core).", "percentunit",
                   [target("A", f"rate(process_cpu_seconds_total{{{SEL}}}[$__rate_interval])", "{{instance}}")],
                   (12, 51, 6, 7)),
        timeseries("Open file descriptors", "Open file descriptors per target against the process limit.", "short",
                   [target("A", f"process_open_fds{{{SEL}}}", "open {{instance}}"),
                    target("B", f"process_max_fds{{{SEL}}}", "max {{instance}}")],
                   (18, 51, 6, 7)),
    ]

    out.append(row("Alerts", 58))
    out += [
        stat("Watchdog", "1 while the always-firing Watchdog alert is firing: Prometheus evaluates the rules. 0 or no "
             "value means the alerting pipeline itself is broken.", "short",
             'count(ALERTS{alertname="Watchdog", alertstate="firing"}) or vector(0)', (0, 59, 4, 6),
             [("red", None), ("green", 1)]),
        panel("table", "Alerts firing now", "keyport alerts firing at the end of the time range (the Watchdog aside). "
              "Empty when all is well.", "short",
              [target("A", f'ALERTS{{alertstate="firing", alertname=~"Keyport.+", job=~"$job", namespace=~"$namespace"}}', instant=True, fmt="table")],
              (4, 59, 10, 6), options={"showHeader": True}),
        timeseries("Alerts over time", "keyport alerts pending or firing over the time range, by name and state.", "short",
                   [target("A", 'count by (alertname, alertstate) (ALERTS{alertname=~"Keyport.+", job=~"$job", namespace=~"$namespace"})',
                           "{{alertname}} {{alertstate}}")],
                   (14, 59, 10, 6)),
    ]
    days = alerts["certificateExpiry"]["days"]
    out.append(row("TLS", 65))
    out += [
        stat("Certificate expires in", "Time until the notAfter of the TLS certificate each target serves to new "
             f"connections (keyport_tls_certificate_expiry_timestamp_seconds); KeyportCertificateExpiringSoon fires "
             f"below {days} days. No value when keyport serves plain HTTP.", "s",
             f"min by (instance) (keyport_tls_certificate_expiry_timestamp_seconds{{{SEL}}}) - time()", (0, 66, 8, 6),
             [("red", None), ("orange", days * 86400), ("green", 2 * days * 86400)]),
        timeseries("TLS certificate reloads", "Reloads of the certificate and key after their files changed, by "
                   "result (keyport_tls_reloads_total): a failure keeps the previous pair serving. No value when "
                   "keyport serves plain HTTP.", "short",
                   [target("A", f"sum by (instance, result) (increase(keyport_tls_reloads_total{{{SEL}}}[$__rate_interval]))",
                           "{{instance}} {{result}}")],
                   (8, 66, 16, 6)),
    ]
    out.append(row("Tracing", 72))
    out += [
        timeseries("Trace spans dropped", "Spans the OTLP exporter could not deliver, per time step and target "
                   "(keyport_trace_spans_dropped_total): the collector is down, slow or refusing. Zero or no value "
                   "when tracing is off.", "short",
                   [target("A", f"sum by (instance) (increase(keyport_trace_spans_dropped_total{{{SEL}}}[$__rate_interval]))",
                           "{{instance}}")],
                   (0, 73, 24, 6)),
    ]
    for number, item in enumerate(out, start=1):
        item["id"] = number
    return out


def dashboard() -> dict[str, Any]:
    alerts = yaml.safe_load(VALUES.read_text())["alerts"]
    return {
        "uid": UID, "title": "keyport", "description": "keyport's on-call overview: traffic, errors, latency, SLOs, keys, "
        "ports data, targets, saturation and alerts (generated by scripts/generate-dashboard.py).",
        "tags": ["keyport"], "timezone": "browser", "editable": True, "graphTooltip": 1, "schemaVersion": 39,
        "version": 1, "refresh": "30s", "time": {"from": "now-3h", "to": "now"}, "fiscalYearStartMonth": 0,
        "liveNow": False, "weekStart": "",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [{"title": "Runbooks", "type": "link", "icon": "doc", "targetBlank": True,
                   "url": alerts["runbookBaseURL"], "tooltip": "What each keyport alert means and how to fix it"}],
        "templating": {"list": variables(alerts)},
        "panels": panels(alerts),
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed JSON differs from a fresh run")
    args = parser.parse_args(argv)
    return write_or_check({OUTPUT: render()}, check=args.check, command="make dashboard")


if __name__ == "__main__":
    sys.exit(main())
