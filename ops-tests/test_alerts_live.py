"""Live: fault -> keyport metrics -> Prometheus -> Alertmanager -> webhook, for every alert.

The real keyport binary (fault injection on), a real Prometheus and Alertmanager (Debian packages) on
free loopback ports, scraping and evaluating every second, and a small webhook receiver. The rules
and the Alertmanager config are the chart's templates rendered with the chart's own values, only
windows and `for` durations shortened through those same values (as a user would tune them).

One test per alert, in order: the fault goes in, the alert must reach the webhook firing; the fault
comes out, it must reach the webhook resolved (the latency SLO burn from `/debug/fault {"delay_ms"}`).
The Watchdog must reach its own receiver, repeatedly. Then a healthy-load phase during which nothing
but the Watchdog fires, and last, every query of the Grafana dashboard is run against this Prometheus
and its history of all those faults (test_dashboard_queries_return_live_data).
The seconds from fault to webhook are printed (`pytest -s`) and, when KEYPORT_ALERT_TIMINGS names a
file, written there as JSON. About 3 minutes in all.

Memory: keyport runs in a cgroup v1 memory group with a 512 MiB limit when this machine allows one
(root, /sys/fs/cgroup/memory), so KeyportMemoryNearLimit is tested against a real limit; otherwise, or
with KEYPORT_ALERTS_NO_CGROUP=1, the absolute fallback (KeyportMemoryHigh) is. Which path ran is printed.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
import yaml

import support
from support import rules, webhook
from support.cgroup import MemoryCgroup
from support.process import Process
from support.dashboard import DASHBOARD, TLS_PANELS, has_data, substitute

FIRE_TIMEOUT = 60.0
RESOLVE_TIMEOUT = 60.0
MiB = 1024 * 1024

# The good ports file is made here (never copied from shared data): three records.
GOOD_PORTS = {
    "AEAJM": {"name": "Ajman", "city": "Ajman", "country": "United Arab Emirates", "alias": [], "regions": [],
              "coordinates": [55.5136433, 25.4052165], "province": "Ajman", "timezone": "Asia/Dubai",
              "unlocs": ["AEAJM"], "code": "52000"},
    "AEAUH": {"name": "Abu Dhabi", "city": "Abu Dhabi", "country": "United Arab Emirates", "alias": [],
              "regions": [], "coordinates": [54.37, 24.47], "province": "Abu Z¸aby [Abu Dhabi]",
              "timezone": "Asia/Dubai", "unlocs": ["AEAUH"], "code": "52001"},
    "NLRTM": {"name": "Rotterdam", "city": "Rotterdam", "country": "Netherlands", "alias": [], "regions": [],
              "coordinates": [4.47917, 51.9225], "province": "Zuid-Holland", "timezone": "Europe/Amsterdam",
              "unlocs": ["NLRTM"], "code": "42157"},
}
BAD_PORTS = '{"AEAJM": {"name": "Ajman", "city": "Ajman", "country": '  # cut off mid-record

# The chart's values with windows and durations shortened for a 1 s scrape/evaluation loop.
LIVE_ALERTS = {
    "errors5xx": {"window": "10s", "for": "5s", "minRequestRate": 1},
    "errors400": {"window": "10s", "for": "5s", "minRequestRate": 1},
    "memory": {"for": "5s"},
    "notReady": {"for": "5s"},
    "targetDown": {"for": "5s"},
    "targetsAbsent": {"for": "5s"},
    "portsLoad": {"resolution": "1s", "lookback": "2m"},
    "slo": {"minRequestRate": 1, "burnRates": [
        {"longWindow": "30s", "shortWindow": "5s", "factor": 14.4, "for": "3s", "severity": "critical"},
        {"longWindow": "1m", "shortWindow": "10s", "factor": 6, "for": "5s", "severity": "critical"},
        {"longWindow": "90s", "shortWindow": "15s", "factor": 3, "for": "5s", "severity": "warning"},
        {"longWindow": "2m", "shortWindow": "20s", "factor": 1, "for": "5s", "severity": "warning"},
    ]},
    "latency": {"minRequestRate": 1, "burnRates": [
        {"longWindow": "30s", "shortWindow": "5s", "factor": 14.4, "for": "3s", "severity": "critical"},
        {"longWindow": "1m", "shortWindow": "10s", "factor": 6, "for": "5s", "severity": "critical"},
        {"longWindow": "90s", "shortWindow": "15s", "factor": 3, "for": "5s", "severity": "warning"},
        {"longWindow": "2m", "shortWindow": "20s", "factor": 1, "for": "5s", "severity": "warning"},
    ]},
    "watchdog": {"repeatInterval": "4s"},
    "dashboardURL": "http://localhost:3000/d/keyport/keyport",
    "routing": {"groupWait": "1s", "groupInterval": "1s", "repeatInterval": "1h"},
}
# Longer than every latency bucket keyport's API answers in here, and past the default 250 ms bound.
DELAY_MS = 400
CGROUP_LIMIT = 512 * MiB
BALLAST = 160 * MiB


class Traffic:
    """Background clients: ~20 good API requests/s, plus bad /key requests when `bad_keys` is set."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.bad_keys = False
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._good, daemon=True), threading.Thread(target=self._bad, daemon=True)]

    def start(self) -> "Traffic":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)

    def _loop(self, paths, enabled) -> None:
        session = requests.Session()
        i = 0
        while not self._stop.is_set():
            if enabled():
                try:
                    session.get(self.base + paths[i % len(paths)], timeout=1)
                except requests.RequestException:
                    session = requests.Session()
                i += 1
            self._stop.wait(0.05)

    def _good(self) -> None:
        self._loop(["/key/16", "/ports?limit=2", "/key/32?encoding=hex", "/ports/NLRTM"], lambda: True)

    def _bad(self) -> None:
        self._loop(["/key/0", "/key/99999999", "/key/16?encoding=rot13"], lambda: self.bad_keys)


@dataclass
class Stack:
    workdir: pathlib.Path
    keyport: Process
    keyport_url: str
    admin_url: str
    prometheus: Process
    prometheus_url: str
    alertmanager: Process
    receiver: webhook.WebhookReceiver
    traffic: Traffic
    ports_file: pathlib.Path
    targets_file: pathlib.Path
    memory_path: str
    memory_alert: str
    instance: str
    started: float = 0.0
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    # When each alert's firing notification arrived (to query the dashboard at that moment).
    moments: dict[str, float] = field(default_factory=dict)

    def post(self, path: str, body: dict) -> None:
        response = requests.post(self.admin_url + path, json=body, timeout=5)
        assert response.status_code == 204, f"POST {path} {body}: {response.status_code} {response.text}"

    def active_alerts(self) -> list[dict]:
        """Pending or firing alerts in Prometheus, the always-firing Watchdog aside."""
        alerts = requests.get(self.prometheus_url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] != "Watchdog"]

    def wait_quiet(self, timeout: float = 120) -> None:
        """Until Prometheus has no pending or firing alert, and a second more for Alertmanager."""
        support.wait_until(lambda: not self.active_alerts(), timeout, 0.5,
                           what=lambda: f"no active alerts; still active: {[a['labels']['alertname'] for a in self.active_alerts()]}")
        time.sleep(1.5)

    def fire_and_resolve(self, alertname: str, inject, remove, match=lambda n: True, check_firing=None) -> tuple[float, float]:
        """Inject, wait for the firing notification, remove, wait for the resolved one; returns both times."""
        self.wait_quiet()
        start = time.time()
        inject()
        fired = self.receiver.wait_for(alertname, "firing", start, FIRE_TIMEOUT, match)
        assert fired, (
            f"{alertname} did not reach the webhook within {FIRE_TIMEOUT}s; Prometheus alerts: "
            f"{[(a['labels']['alertname'], a['state']) for a in self.active_alerts()]}\n{self.keyport.log_tail(10)}"
        )
        check_notification(fired, self)
        self.moments[alertname] = fired.received
        if check_firing:
            check_firing(fired)
        removed = time.time()
        remove()
        resolved = self.receiver.wait_for(alertname, "resolved", removed, RESOLVE_TIMEOUT, match)
        assert resolved, f"{alertname} was not resolved at the webhook within {RESOLVE_TIMEOUT}s of removing the fault"
        self.timings[alertname] = {
            "fault_to_firing_webhook_s": round(fired.received - start, 1),
            "removal_to_resolved_webhook_s": round(resolved.received - removed, 1),
        }
        return start, removed


def check_notification(n: webhook.Notification, stack: Stack) -> None:
    """Every notification carries its severity, expanded annotations and a runbook anchor."""
    assert n.labels.get("severity") in {"critical", "warning"}
    assert n.receiver in {"keyport-notify", "keyport-page"}
    assert set(n.annotations) == {"summary", "description", "runbook_url", "dashboard_url"}
    assert n.annotations["dashboard_url"] == LIVE_ALERTS["dashboardURL"]
    for text in n.annotations.values():
        assert "{{" not in text and "<no value>" not in text, text
    assert n.annotations["runbook_url"].endswith("#" + n.labels["alertname"].lower())
    if "instance" in n.labels:
        assert n.labels["instance"] == stack.instance
        assert stack.instance in n.annotations["summary"] + n.annotations["description"]


def metric(text: str, name: str) -> float | None:
    match = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    binary = support.require_keyport()
    tools = {name: support.require_tool(name, "scripts/install-test-deps.sh (Debian packages prometheus, prometheus-alertmanager)")
             for name in ("prometheus", "prometheus-alertmanager", "promtool", "amtool")}

    workdir = tmp_path_factory.mktemp("alerts-live")
    renderer = rules.load_renderer()
    started: list = []
    cgroup = None
    try:
        # keyport, in a memory cgroup of its own when this machine lets us make one.
        ports_file = workdir / "ports.json"
        ports_file.write_text(json.dumps(GOOD_PORTS))
        if os.environ.get("KEYPORT_ALERTS_NO_CGROUP") == "1":
            memory_path = "cgroup not used (KEYPORT_ALERTS_NO_CGROUP=1)"
        else:
            try:
                cgroup = MemoryCgroup(CGROUP_LIMIT, f"keyport-alerts-live-{os.getpid()}")
                memory_path = f"cgroup v1 memory limit {CGROUP_LIMIT} bytes"
            except OSError as err:
                memory_path = f"no writable memory cgroup ({err})"
        port = support.free_port()
        admin_port = support.free_port()
        keyport = Process.in_directory(
            "keyport",
            [binary, "--host", "127.0.0.1", "--srv-port", str(port), "--admin-port", str(admin_port),
             "--ports-file", str(ports_file), "--enable-fault-injection", "--log-format", "text"],
            workdir, preexec=cgroup.enter if cgroup else None,
        )
        started.append(keyport)
        keyport_url = f"http://127.0.0.1:{port}"
        # The admin listener: what Prometheus scrapes and where faults are injected.
        admin_url = f"http://127.0.0.1:{admin_port}"
        keyport.wait(lambda: requests.get(keyport_url + "/ready", timeout=1).status_code == 200, 30, "keyport ready")
        metrics = requests.get(admin_url + "/metrics", timeout=5).text
        baseline = metric(metrics, "process_resident_memory_bytes")
        limit = metric(metrics, "keyport_memory_limit_bytes")
        assert baseline, "keyport exports no process_resident_memory_bytes"
        threshold = int(baseline + 64 * MiB)
        memory_values: dict = {"fallbackBytes": threshold}
        if cgroup:
            assert limit == CGROUP_LIMIT, f"keyport in a {CGROUP_LIMIT}-byte cgroup reports keyport_memory_limit_bytes={limit}"
        if limit:
            memory_values["limitRatio"] = round(threshold / limit, 6)
            memory_alert = "KeyportMemoryNearLimit"
            memory_path += f"; keyport_memory_limit_bytes={int(limit)}, limitRatio={memory_values['limitRatio']}"
        else:
            memory_alert = "KeyportMemoryHigh"
            memory_path += f"; fallbackBytes={threshold}"

        receiver = webhook.WebhookReceiver().start()
        started.append(receiver)

        values = {"alerts": {**LIVE_ALERTS, "memory": {**LIVE_ALERTS["memory"], **memory_values},
                             "watchdog": {**LIVE_ALERTS["watchdog"], "url": receiver.url},
                             "routing": {**LIVE_ALERTS["routing"], "webhook": {"url": receiver.url, "sendResolved": True}}}}
        rendered = renderer.render(values)
        (workdir / "keyport.rules.yaml").write_text(rendered["rules"])
        (workdir / "alertmanager.yml").write_text(rendered["alertmanager"])
        for check in (["promtool", "check", "rules", "keyport.rules.yaml"], ["amtool", "check-config", "alertmanager.yml"]):
            result = support.run_tool(tools[check[0]], *check[1:], cwd=workdir)
            assert result.returncode == 0, result.stdout + result.stderr

        am_port = support.free_port()
        alertmanager = Process.in_directory(
            "alertmanager",
            [tools["prometheus-alertmanager"], "--config.file=alertmanager.yml", f"--storage.path={workdir / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
            workdir,
        )
        started.append(alertmanager)

        targets_file = workdir / "targets.json"
        instance = f"127.0.0.1:{admin_port}"
        targets_file.write_text(json.dumps([{"targets": [instance]}]))
        (workdir / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
            "rule_files": ["keyport.rules.yaml"],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            # Same job name as the chart and compose; file discovery so a test can take the target away.
            "scrape_configs": [{"job_name": "keyport", "file_sd_configs": [{"files": [str(targets_file)]}]}],
        }))
        result = support.run_tool(tools["promtool"], "check", "config", "prometheus.yml", cwd=workdir)
        assert result.returncode == 0, result.stdout + result.stderr
        prom_port = support.free_port()
        prometheus = Process.in_directory(
            "prometheus",
            [tools["prometheus"], "--config.file=prometheus.yml", f"--storage.tsdb.path={workdir / 'prom-data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}",
             # The Watchdog fires at the first evaluation, before Alertmanager is discovered; that send
             # is dropped and, by default, retried a minute later. Retry every second instead.
             "--rules.alert.resend-delay=1s"],
            workdir,
        )
        started.append(prometheus)
        prometheus_url = f"http://127.0.0.1:{prom_port}"
        for name, url, process in (("Alertmanager", f"http://127.0.0.1:{am_port}", alertmanager), ("Prometheus", prometheus_url, prometheus)):
            process.wait(lambda: requests.get(url + "/-/ready", timeout=1).status_code == 200, 60, f"{name} to start")

        traffic = Traffic(keyport_url).start()
        started.append(traffic)
        stack = Stack(workdir, keyport, keyport_url, admin_url, prometheus, prometheus_url, alertmanager, receiver, traffic,
                      ports_file, targets_file, memory_path, memory_alert, instance, started=time.time())
        yield stack

        print(f"\nmemory path: {memory_path}")
        for name, timing in stack.timings.items():
            if "fault_to_firing_webhook_s" not in timing:
                print(f"{name:28} " + "   ".join(f"{k} {v:5.1f}s" for k, v in timing.items()))
                continue
            print(f"{name:28} fault->firing webhook {timing['fault_to_firing_webhook_s']:5.1f}s   "
                  f"removal->resolved webhook {timing['removal_to_resolved_webhook_s']:5.1f}s")
        if os.environ.get("KEYPORT_ALERT_TIMINGS"):
            pathlib.Path(os.environ["KEYPORT_ALERT_TIMINGS"]).write_text(
                json.dumps({"memory_path": memory_path, "alerts": stack.timings}, indent=2) + "\n")
    finally:
        for thing in reversed(started):
            thing.stop()
        if cgroup:
            cgroup.remove()


def test_stack_starts_healthy_with_the_rules_loaded(stack: Stack) -> None:
    def target_up():
        targets = requests.get(stack.prometheus_url + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return [t for t in targets if t["labels"]["job"] == "keyport" and t["health"] == "up"]

    support.wait_until(target_up, 30, what="Prometheus to scrape keyport")
    groups = requests.get(stack.prometheus_url + "/api/v1/rules", timeout=5).json()["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"] if rule["type"] == "alerting"}
    assert loaded == {
        "KeyportHigh5xxRate", "KeyportHigh400Rate", "KeyportMemoryNearLimit", "KeyportMemoryHigh", "KeyportNotReady",
        "KeyportTargetDown", "KeyportTargetsAbsent", "KeyportPortsLoadFailing", "KeyportErrorBudgetBurn",
        "KeyportLatencyBudgetBurn", "Watchdog",
        # Loaded but quiet here: this stack's keyport serves plain HTTP, so it has no certificate expiry
        # gauge (test_chart_runtime.py fires it live against keyport over HTTPS).
        "KeyportCertificateExpiringSoon",
        # Loaded, and quiet: this stack does not scrape Prometheus or Alertmanager themselves
        # (test_monitoring_live.py fires them on the chart's rendered configuration).
        "KeyportPrometheusConfigReloadFailed", "KeyportPrometheusRuleFailures",
        "KeyportPrometheusNotConnectedToAlertmanager", "KeyportPrometheusNotificationsFailing",
        "KeyportAlertmanagerConfigReloadFailed", "KeyportAlertmanagerDeliveryFailing"}
    stack.wait_quiet(60)


def test_5xx_errors_fire_and_resolve(stack: Stack) -> None:
    start, removed = stack.fire_and_resolve(
        "KeyportHigh5xxRate",
        inject=lambda: stack.post("/debug/fault", {"error_rate": 0.5}),
        remove=lambda: stack.post("/debug/fault", {"error_rate": 0}),
    )
    # The same fault burned the SLO budget far faster than 14.4x: the page came too, per service.
    def page(n: webhook.Notification) -> bool:
        return n.labels.get("long_window") == "30s"

    fired = stack.receiver.wait_for("KeyportErrorBudgetBurn", "firing", start, 5, page)
    assert fired, "the 14.4x burn-rate page never reached the webhook"
    assert "instance" not in fired.labels and fired.labels["severity"] == "critical"
    check_notification(fired, stack)
    resolved = stack.receiver.wait_for("KeyportErrorBudgetBurn", "resolved", removed, RESOLVE_TIMEOUT, page)
    assert resolved, "the burn-rate page did not resolve"
    stack.timings["KeyportErrorBudgetBurn 14.4x"] = {
        "fault_to_firing_webhook_s": round(fired.received - start, 1),
        "removal_to_resolved_webhook_s": round(resolved.received - removed, 1),
    }


def test_watchdog_reaches_its_own_receiver_again_and_again(stack: Stack) -> None:
    first = stack.receiver.wait_for("Watchdog", "firing", 0, 30)
    assert first, "the Watchdog never reached its receiver"
    assert first.receiver == "keyport-watchdog" and first.labels["severity"] == "none"
    assert first.annotations["runbook_url"].endswith("#watchdog")
    assert first.annotations["dashboard_url"] == LIVE_ALERTS["dashboardURL"]
    # The short repeat interval (4s here) is what a dead-man's switch counts on.
    again = stack.receiver.wait_for("Watchdog", "firing", first.received + 1, 20)
    assert again, "the Watchdog was not repeated within 20s (repeatInterval 4s)"
    watchdogs = [n for n in stack.receiver.since(0) if n.labels.get("alertname") == "Watchdog"]
    assert {n.receiver for n in watchdogs} == {"keyport-watchdog"}, "the Watchdog reached a paging or notify receiver"
    assert all(n.status == "firing" for n in watchdogs)
    stack.timings["Watchdog"] = {"prometheus_ready_to_first_webhook_s": round(first.received - stack.started, 1),
                                 "repeat_after_s": round(again.received - first.received, 1)}


def test_latency_burn_fires_from_a_delay_and_resolves_when_it_is_lifted(stack: Stack) -> None:
    def page(n: webhook.Notification) -> bool:
        return n.labels.get("long_window") == "30s"

    def only_latency(fired: webhook.Notification) -> None:
        assert "instance" not in fired.labels and fired.labels["severity"] == "critical"
        assert f"{DELAY_MS}" not in fired.annotations["description"] and "250ms" in fired.annotations["description"]
        # Slow is not failing: neither the 5xx alert nor the availability burn is even pending.
        others = {a["labels"]["alertname"] for a in stack.active_alerts()} - {"KeyportLatencyBudgetBurn"}
        assert not others, f"a delay alone made other alerts active: {others}"

    stack.fire_and_resolve(
        "KeyportLatencyBudgetBurn",
        inject=lambda: stack.post("/debug/fault", {"delay_ms": DELAY_MS}),
        remove=lambda: stack.post("/debug/fault", {"delay_ms": 0}),
        match=page, check_firing=only_latency,
    )


def test_400_errors_fire_and_resolve(stack: Stack) -> None:
    def inject() -> None:
        stack.traffic.bad_keys = True

    def remove() -> None:
        stack.traffic.bad_keys = False

    stack.fire_and_resolve("KeyportHigh400Rate", inject, remove)


def test_memory_fires_and_resolves(stack: Stack) -> None:
    print(f"\nmemory path: {stack.memory_path}")
    stack.fire_and_resolve(
        stack.memory_alert,
        inject=lambda: stack.post("/debug/ballast", {"bytes": BALLAST}),
        remove=lambda: stack.post("/debug/ballast", {"bytes": 0}),
    )


def test_not_ready_fires_resolves_and_silences_the_targets_errors(stack: Stack) -> None:
    def check_inhibition(fired: webhook.Notification) -> None:
        # While the target is not ready, its 5xx alert fires in Prometheus but Alertmanager holds it back.
        stack.post("/debug/fault", {"error_rate": 0.5})
        support.wait_until(
            lambda: [a for a in stack.active_alerts() if a["labels"]["alertname"] == "KeyportHigh5xxRate" and a["state"] == "firing"],
            FIRE_TIMEOUT, what="KeyportHigh5xxRate firing in Prometheus during the not-ready phase")
        time.sleep(4)  # several Alertmanager group intervals
        stack.post("/debug/fault", {"error_rate": 0})
        leaked = [n for n in stack.receiver.since(fired.received) if n.labels.get("alertname") == "KeyportHigh5xxRate"]
        assert not leaked, "KeyportHigh5xxRate reached the webhook although KeyportNotReady inhibits it"
        support.wait_until(
            lambda: not [a for a in stack.active_alerts() if a["labels"]["alertname"] == "KeyportHigh5xxRate"], RESOLVE_TIMEOUT,
            what="KeyportHigh5xxRate to leave Prometheus' active alerts")

    stack.fire_and_resolve(
        "KeyportNotReady",
        inject=lambda: stack.post("/debug/ready", {"ready": False}),
        remove=lambda: stack.post("/debug/ready", {"ready": True}),
        check_firing=check_inhibition,
    )


def test_target_down_fires_and_resolves(stack: Stack) -> None:
    stack.fire_and_resolve(
        "KeyportTargetDown",
        inject=lambda: os.kill(stack.keyport.pid, signal.SIGSTOP),
        remove=lambda: os.kill(stack.keyport.pid, signal.SIGCONT),
    )


def test_targets_absent_fires_and_resolves(stack: Stack) -> None:
    targets = stack.targets_file.read_text()

    def write(text: str) -> None:
        tmp = stack.targets_file.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(stack.targets_file)

    stack.fire_and_resolve("KeyportTargetsAbsent", inject=lambda: write("[]"), remove=lambda: write(targets))


def test_failed_ports_reload_fires_and_resolves_on_the_next_good_load(stack: Stack) -> None:
    good = stack.ports_file.read_text()

    def load(text: str) -> None:
        tmp = stack.ports_file.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(stack.ports_file)
        os.kill(stack.keyport.pid, signal.SIGHUP)

    def still_serving(_: webhook.Notification) -> None:
        assert requests.get(stack.keyport_url + "/ready", timeout=2).status_code == 200
        assert requests.get(stack.keyport_url + "/ports/NLRTM", timeout=2).status_code == 200

    stack.fire_and_resolve("KeyportPortsLoadFailing", inject=lambda: load(BAD_PORTS), remove=lambda: load(good),
                           check_firing=still_serving)


def test_healthy_load_fires_nothing(stack: Stack) -> None:
    stack.wait_quiet()
    start = time.time()
    # Longer than every shortened window plus its `for`, except the 2m SLO window (its 20s short one counts).
    seen_pending = []
    while time.time() - start < 40:
        seen_pending += [a["labels"]["alertname"] for a in stack.active_alerts()]
        time.sleep(1)
    assert not seen_pending, f"alerts became active under healthy load: {sorted(set(seen_pending))}"
    firing = [n.labels.get("alertname") for n in stack.receiver.since(start)
              if n.status == "firing" and n.labels.get("alertname") != "Watchdog"]
    assert not firing, f"firing notifications under healthy load: {firing}"
    rate = requests.get(stack.prometheus_url + "/api/v1/query", timeout=5,
                        params={"query": "keyport_target:http_requests:rate10s"}).json()["data"]["result"]
    assert rate and float(rate[0]["value"][1]) >= 5, f"the healthy phase had too little traffic to mean anything: {rate}"


# --- the Grafana dashboard against this live Prometheus ---------------------------------------------

# Instant queries that are empty on a healthy service by nature, with the alert whose firing moment
# they must show data at instead.
EMPTY_WHEN_HEALTHY = {
    ("Alerts firing now", "A"): "KeyportHigh5xxRate",
    ("Last failed load not yet fixed", "A"): "KeyportPortsLoadFailing",
}
# Empty when keyport runs without a cgroup memory limit (no keyport_memory_limit_bytes).
NEED_A_MEMORY_LIMIT = {("Memory against the cgroup limit", "B"), ("Memory used of limit", "A")}
STEP_S = 2
SCRAPE_S = 1


def test_dashboard_queries_return_live_data(stack: Stack) -> None:
    """Every variable's query returns values; every panel's every query, with the variables substituted
    as Grafana would (All and one instance), is accepted by Prometheus and returns data over the
    history of this module's faults (5xx, 400s, delay, reloads, ballast), except the instant panels
    that are empty when healthy by nature, which must show data at the moment their alert fired."""
    dashboard = json.loads(DASHBOARD.read_text())
    api = stack.prometheus_url + "/api/v1"
    now = time.time()
    templating = {v["name"]: v for v in dashboard["templating"]["list"]}

    def label_values(definition: str, subst: dict[str, str]) -> list[str]:
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", substitute(definition, subst))
        assert match, definition
        response = requests.get(f"{api}/label/{match.group(2)}/values", timeout=10,
                                params={"match[]": match.group(1), "start": stack.started, "end": now}).json()
        assert response["status"] == "success", (definition, response)
        return response["data"]

    jobs = label_values(templating["job"]["query"]["query"], {})
    assert "keyport" in jobs, jobs
    # This stack's Prometheus runs outside Kubernetes and sets no namespace label: the variable's All.
    assert label_values(templating["namespace"]["query"]["query"], {"job": "keyport"}) == []
    subst = {"job": "keyport", "namespace": templating["namespace"]["allValue"]}
    instances = label_values(templating["instance"]["query"]["query"], subst)
    assert stack.instance in instances, instances
    bounds = label_values(templating["latency_bound"]["query"]["query"], subst)
    assert templating["latency_bound"]["current"]["value"] in bounds and "+Inf" not in bounds, bounds
    subst.update({
        "latency_bound": templating["latency_bound"]["current"]["value"],
        "slo_objective": templating["slo_objective"]["query"],
        "latency_objective": templating["latency_objective"]["query"],
        "__interval": f"{STEP_S}s",
        # Grafana: max($__interval + scrape interval, 4 x scrape interval), the datasource's scrape being 1s.
        "__rate_interval": f"{max(STEP_S + SCRAPE_S, 4 * SCRAPE_S)}s",
        "__range": f"{int(now - stack.started)}s",
    })

    has_limit = stack.memory_alert == "KeyportMemoryNearLimit"
    checked, empty_by_nature = 0, []
    # All, then one instance, regex-escaped as Grafana's Prometheus data source does for a multi-value
    # variable (a doubled backslash, as PromQL's string syntax wants).
    for instance in (".+", re.escape(stack.instance).replace("\\", "\\\\")):
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                key = (panel["title"], target["refId"])
                expr = substitute(target["expr"], {**subst, "instance": instance})
                assert "$" not in expr, f"{key}: a variable was left unsubstituted: {expr}"
                if target["instant"]:
                    response = requests.get(f"{api}/query", params={"query": expr, "time": now}, timeout=10).json()
                else:
                    response = requests.get(f"{api}/query_range", timeout=10, params={
                        "query": expr, "start": stack.started, "end": now, "step": STEP_S}).json()
                assert response["status"] == "success", f"{key}: Prometheus refused {expr}: {response}"
                checked += 1
                result = response["data"]["result"]
                if key in EMPTY_WHEN_HEALTHY:
                    assert not has_data(result), f"{key} shows data on a healthy service: {result}"
                    alert = EMPTY_WHEN_HEALTHY[key]
                    assert alert in stack.moments, f"{alert} never fired in this module, so {key} cannot be shown"
                    moment = stack.moments[alert]
                    at = substitute(target["expr"], {**subst, "instance": instance, "__range": f"{int(moment - stack.started)}s"})
                    then = requests.get(f"{api}/query", params={"query": at, "time": moment}, timeout=10).json()
                    assert then["status"] == "success" and has_data(then["data"]["result"]), \
                        f"{key} showed nothing while {alert} fired: {then}"
                    empty_by_nature.append(f"{panel['title']} (healthy now; data while {alert} fired)")
                elif panel["title"] in TLS_PANELS:
                    assert not has_data(result), f"{key}: TLS data from a plain-HTTP keyport? {result}"
                    empty_by_nature.append(f"{panel['title']} (plain HTTP here; test_chart_runtime.py checks it over HTTPS)")
                elif key in NEED_A_MEMORY_LIMIT and not has_limit:
                    assert not has_data(result), f"{key}: data without a memory limit? {result}"
                    empty_by_nature.append(f"{panel['title']} {target['refId']} (no cgroup memory limit here)")
                else:
                    assert has_data(result), f"{key}: no data for {expr}"
    print(f"\ndashboard: {checked} queries accepted ({checked // 2} per pass, All and one instance); "
          f"variables job={jobs} instance={instances} latency_bound={len(bounds)} buckets; "
          f"empty by nature: {sorted(set(empty_by_nature)) or 'none'}")
