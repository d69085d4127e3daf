"""High availability, live: three keyport instances behind a real HAProxy, under keep-alive load,
scraped by a real Prometheus with keyport's rules and alerting through a real Alertmanager.

HAProxy runs the repository's example configuration (deploy/haproxy/haproxy.cfg) with free loopback
ports; its health checks on /ready have the timings of the chart's readiness probe, and every keyport
runs with the chart's default --shutdown-delay. Each scenario drives its own load (8 keep-alive
clients through HAProxy, every request counted) and records: requests sent, failed, the longest gap
between successful responses any client saw, and the alerts that reached the webhook.

  1. rolling replacement: start a new instance, wait until HAProxy sees it UP, SIGTERM an old one;
     three times. 0 failed requests, no alert.
  -  control: an instance with --shutdown-delay 0s closes while still in rotation: HAProxy must retry.
  2. crash: kill -9 one instance; HAProxy retries on another. 0 failed; KeyportTargetDown fires for
     that target and resolves when it comes back on the same address.
  3. hang: SIGSTOP one instance; checks time out and traffic moves (time to move recorded);
     KeyportTargetDown fires; SIGCONT brings it back.
  4. bad data: a reload with a broken ports file keeps that instance serving its old data (ready,
     KeyportPortsLoadFailing); an instance started with a broken file stays out of rotation and
     KeyportNotReady fires for it alone; fixing the files brings both back.

`make ha-test` prints the table (pytest -s); KEYPORT_HA_REPORT=path also writes it as JSON.
The chart's alert `for` durations are shortened (HA_ALERTS below) so alerts fire within the run.
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import time
from dataclasses import dataclass, field

import pytest
import requests
import yaml

import support
from support import rules, webhook
from support import haproxy as ha
from support import keyport as hs
from support.process import Process

# The chart's values, shortened for a 1 s scrape/evaluation loop. notReady.for stays above the
# shutdown delay: a rolling replacement's draining instance is not ready for that long and must not page.
# targetDown.for likewise stays above the drain: from the end of the delay, when the instance closes
# its listener and scrapes fail, until it exits and leaves the targets (5 s fired once on a new machine).
HA_ALERTS = {
    "errors5xx": {"window": "10s", "for": "5s", "minRequestRate": 1},
    "notReady": {"for": "10s"},
    "targetDown": {"for": "10s"},
    "targetsAbsent": {"for": "5s"},
    "portsLoad": {"resolution": "1s", "lookback": "10m"},
    "routing": {"groupWait": "1s", "groupInterval": "1s", "repeatInterval": "1h"},
}
PORTS = {
    "NLRTM": {"name": "Rotterdam", "city": "Rotterdam", "country": "Netherlands", "coordinates": [4.47917, 51.9225],
              "unlocs": ["NLRTM"], "code": "42157"},
    "AEAJM": {"name": "Ajman", "city": "Ajman", "country": "United Arab Emirates", "unlocs": ["AEAJM"], "code": "52000"},
}
BROKEN_PORTS = '{"NLRTM": {"name": "Rotterdam", "city": '  # cut off mid-record
LOAD = [("/key/16", {200}), ("/ports/NLRTM", {200}), ("/ports?limit=2", {200}), ("/key/32?encoding=hex", {200})]
CLIENTS = 8
ALERT_TIMEOUT = 60.0
CHART_VALUES = yaml.safe_load((support.CHART / "values.yaml").read_text())
SHUTDOWN_DELAY = ha.seconds(CHART_VALUES["server"]["shutdownDelay"])
TIMEOUT_SERVER = ha.timeouts()["server"]
NOT_READY_FOR = ha.seconds(HA_ALERTS["notReady"]["for"])


@dataclass
class Figures:
    sent: int = 0
    failed: int = 0
    longest_gap: float = 0.0
    retried: int = 0  # by HAProxy (retries + redispatches): what the clients did not see
    alerts: list[str] = field(default_factory=list)
    notes: dict[str, float] = field(default_factory=dict)


class Cluster:
    """The running pieces, and which keyport instance sits in which HAProxy server slot."""

    receiver: webhook.WebhookReceiver
    haproxy: ha.HAProxy
    prometheus_url: str
    scenario_start: float  # set by load(): each scenario's window for alerts and retries
    retries_before: int

    def __init__(self, workdir: pathlib.Path) -> None:
        self.workdir = workdir
        self.started: list = []
        self.instances: list[hs.Keyport] = []
        self.ports_files: dict[hs.Keyport, pathlib.Path] = {}
        self.slots: dict[str, hs.Keyport | None] = {}
        self.figures: dict[str, Figures] = {}
        self.targets_file = workdir / "targets.json"
        self.check = ha.check_settings()
        self.count = 0

    # --- keyport instances ------------------------------------------------------------------------

    def start_keyport(
        self, ports: str | None = None, port: int = 0, wait_ready: bool = True,
        delay: str = CHART_VALUES["server"]["shutdownDelay"], admin_port: int = 0,
    ) -> hs.Keyport:
        self.count += 1
        ports_file = self.workdir / f"ports-{self.count}.json"
        ports_file.write_text(ports if ports is not None else json.dumps(PORTS))
        instance = hs.Keyport("--ports-file", str(ports_file), "--shutdown-delay", delay, port=port, wait_ready=wait_ready,
                              admin_port=admin_port)
        self.ports_files[instance] = ports_file
        self.instances.append(instance)
        return instance

    def write_targets(self) -> None:
        # Prometheus scrapes the admin listener; HAProxy sends traffic and checks /ready on the service one.
        live = [f"127.0.0.1:{k.admin_port}" for k in self.slots.values() if k is not None]
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps([{"targets": live}]))
        tmp.replace(self.targets_file)

    def slot_of(self, instance: str) -> str:
        for name, k in self.slots.items():
            if k is not None and f"127.0.0.1:{k.admin_port}" == instance:
                return name
        return instance

    def live_slots(self) -> list[str]:
        return [name for name, k in self.slots.items() if k is not None]

    def spare_slot(self) -> str:
        return next(name for name, k in self.slots.items() if k is None)

    def place(self, slot: str, instance: hs.Keyport) -> None:
        """The instance joins Prometheus' targets (as a new pod would) and the HAProxy slot."""
        self.slots[slot] = instance
        self.write_targets()
        self.haproxy.point(slot, instance.port)

    def vacate(self, slot: str) -> None:
        """The instance has exited: it leaves Prometheus' targets; its slot stays DOWN for the next one."""
        assert self.haproxy.states()[slot] == "DOWN"
        self.slots[slot] = None
        self.write_targets()

    # --- alerts and load --------------------------------------------------------------------------

    def firing_since(self, start: float) -> list[webhook.Notification]:
        """Firing notifications since `start`, the always-firing Watchdog aside."""
        return [n for n in self.receiver.since(start) if n.status == "firing" and n.labels.get("alertname") != "Watchdog"]

    def wait_alert(self, name: str, status: str, since: float, instance: str) -> webhook.Notification:
        seen = self.receiver.wait_for(name, status, since, ALERT_TIMEOUT, lambda n: n.labels.get("instance") == instance)
        assert seen, (f"{name} {status} for {instance} did not reach the webhook within {ALERT_TIMEOUT}s; "
                      f"Prometheus alerts: {self.prometheus_alerts()}")
        return seen

    def prometheus_alerts(self) -> list[tuple[str, str, str]]:
        """Pending or firing alerts in Prometheus, the always-firing Watchdog aside."""
        alerts = requests.get(self.prometheus_url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return [(a["labels"]["alertname"], a["labels"].get("instance", ""), a["state"]) for a in alerts
                if a["labels"]["alertname"] != "Watchdog"]

    def wait_quiet(self, timeout: float = 60) -> None:
        """No alert pending or firing in Prometheus (the previous scenario's have resolved)."""
        support.wait_until(lambda: not self.prometheus_alerts(), timeout, interval=0.5,
                           what=lambda: f"no active alerts (still {self.prometheus_alerts()})")

    def load(self) -> hs.KeepAliveLoad:
        """A scenario's clients; also notes when it started and HAProxy's retry count then."""
        self.scenario_start = time.time()
        self.retries_before = self.haproxy.retries()
        return hs.KeepAliveLoad(self.haproxy.port, LOAD, threads=CLIENTS, pause=0.01).start()

    def record(self, scenario: str, result: hs.LoadResult, **notes: float) -> Figures:
        alerts = [f"{n.labels['alertname']}({self.slot_of(n.labels.get('instance', ''))})"
                  for n in self.firing_since(self.scenario_start)]
        figures = Figures(result.sent, len(result.failures), result.longest_gap, self.haproxy.retries() - self.retries_before,
                          sorted(set(alerts)), {k: round(v, 2) for k, v in notes.items()})
        self.figures[scenario] = figures
        return figures


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    support.require_keyport()
    tools = {name: support.require_tool(name, "scripts/install-test-deps.sh") for name in
             ("haproxy", "prometheus", "prometheus-alertmanager", "promtool")}

    c = Cluster(tmp_path_factory.mktemp("ha"))
    try:
        c.receiver = webhook.WebhookReceiver().start()
        c.started.append(c.receiver)
        values = {"alerts": {**HA_ALERTS, "routing": {**HA_ALERTS["routing"],
                                                      "webhook": {"url": c.receiver.url, "sendResolved": True}}}}
        rendered = rules.load_renderer().render(values)
        (c.workdir / "keyport.rules.yaml").write_text(rendered["rules"])
        (c.workdir / "alertmanager.yml").write_text(rendered["alertmanager"])

        am_port = support.free_port()
        alertmanager = Process.in_directory(
            "alertmanager",
            [tools["prometheus-alertmanager"], "--config.file=alertmanager.yml", f"--storage.path={c.workdir / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="], c.workdir)
        c.started.append(alertmanager)

        slots = ha.server_slots()
        for name in slots[:3]:
            c.slots[name] = c.start_keyport()
        for name in slots[3:]:
            c.slots[name] = None
        c.write_targets()
        (c.workdir / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
            "rule_files": ["keyport.rules.yaml"],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            # The chart's job name; file discovery, so instances come and go as pods would.
            "scrape_configs": [{"job_name": "keyport", "file_sd_configs": [{"files": [str(c.targets_file)]}]}],
        }))
        check = support.run_tool(tools["promtool"], "check", "config", "prometheus.yml", cwd=c.workdir)
        assert check.returncode == 0, check.stdout + check.stderr
        prom_port = support.free_port()
        prometheus = Process.in_directory(
            "prometheus",
            [tools["prometheus"], "--config.file=prometheus.yml", f"--storage.tsdb.path={c.workdir / 'prom-data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"], c.workdir)
        c.started.append(prometheus)
        c.prometheus_url = f"http://127.0.0.1:{prom_port}"

        c.haproxy = ha.HAProxy(c.workdir, support.free_port(),
                               {name: f"127.0.0.1:{k.port}" for name, k in c.slots.items() if k is not None})
        c.started.append(c.haproxy)
        for name in slots[:3]:
            c.haproxy.wait_state(name, "UP", 20)
        assert c.haproxy.states()[slots[3]] == "MAINT"
        for name, url, process in (("Alertmanager", f"http://127.0.0.1:{am_port}", alertmanager),
                                   ("Prometheus", c.prometheus_url, prometheus)):
            process.wait(lambda: requests.get(url + "/-/ready", timeout=1).status_code == 200, 60, f"{name} to start")

        def all_up():
            targets = requests.get(c.prometheus_url + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
            return len([t for t in targets if t["health"] == "up"]) == 3

        support.wait_until(all_up, 30, what="Prometheus to scrape the three instances")
        groups = requests.get(c.prometheus_url + "/api/v1/rules", timeout=5).json()["data"]["groups"]
        loaded = {rule["name"] for group in groups for rule in group["rules"] if rule["type"] == "alerting"}
        assert {"KeyportTargetDown", "KeyportNotReady", "KeyportPortsLoadFailing", "KeyportHigh5xxRate"} <= loaded, loaded
        yield c
        print_table(c.figures)
        if os.environ.get("KEYPORT_HA_REPORT"):
            pathlib.Path(os.environ["KEYPORT_HA_REPORT"]).write_text(
                json.dumps({k: vars(v) for k, v in c.figures.items()}, indent=2) + "\n")
    finally:
        for instance in c.instances:  # all at once: each spends its shutdown delay
            if instance.popen.poll() is None:
                instance.signal(signal.SIGCONT)
                instance.signal(signal.SIGTERM)
        for instance in c.instances:
            instance.__exit__()
        for thing in reversed(c.started):
            thing.stop()


def print_table(figures: dict[str, Figures]) -> None:
    print("\n| scenario | requests sent | failed | longest gap | retried by HAProxy | alerts seen | notes |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    for name, f in figures.items():
        notes = ", ".join(f"{k} {v} s" for k, v in f.notes.items())
        print(f"| {name} | {f.sent} | {f.failed} | {f.longest_gap:.2f} s | {f.retried} | {', '.join(f.alerts) or 'none'} | {notes} |")


def test_rolling_replacement_fails_nothing_and_fires_nothing(cluster: Cluster) -> None:
    c = cluster
    c.wait_quiet()
    load = c.load()
    left_rotation = []
    for old_slot in list(c.live_slots()):
        # Start new, wait until HAProxy has it UP, SIGTERM old (maxSurge 1, maxUnavailable 0).
        new_slot = c.spare_slot()
        new = c.start_keyport()
        c.place(new_slot, new)
        c.haproxy.wait_state(new_slot, "UP", c.check["inter"] * c.check["rise"] + 10)
        old = c.slots[old_slot]
        assert old is not None
        old.signal(signal.SIGTERM)
        # HAProxy must have stopped sending before the delay ends and keyport stops accepting.
        left_rotation.append(c.haproxy.wait_state(old_slot, "DOWN", SHUTDOWN_DELAY + 5))
        assert old.popen.wait(SHUTDOWN_DELAY + 20) == 0, old.log_text()[-2000:]
        c.vacate(old_slot)
    time.sleep(NOT_READY_FOR + 3)  # a NotReady left pending by a drain would have fired by now
    result = load.stop()
    figures = c.record("rolling replacement", result, max_time_to_leave_rotation=max(left_rotation))
    assert max(left_rotation) < SHUTDOWN_DELAY, f"HAProxy took {left_rotation} s to drop a draining instance"
    assert result.ok > 500 and not result.failures, result.failures[:10]
    assert not figures.alerts, f"alerts fired during a rolling replacement: {figures.alerts}"
    for slot in c.live_slots():
        served = hs.metric_sum(c.slots[slot].metrics(), "http_requests_total", route="/key/{length}")
        assert served > 0, f"the new instance in {slot} never got traffic"


def test_without_a_shutdown_delay_haproxy_has_to_retry(cluster: Cluster) -> None:
    """Negative control for the rolling replacement: an instance that stops accepting at SIGTERM
    (--shutdown-delay 0s) is still in rotation for up to inter x fall, and only HAProxy's retries
    hide that from the clients."""
    c = cluster
    c.wait_quiet()
    slot = c.spare_slot()
    hasty = c.start_keyport(delay="0s")
    c.place(slot, hasty)
    c.haproxy.wait_state(slot, "UP", c.check["inter"] * c.check["rise"] + 10)
    load = c.load()
    time.sleep(1)
    hasty.signal(signal.SIGTERM)
    assert hasty.popen.wait(10) == 0
    left = c.haproxy.wait_state(slot, "DOWN", c.check["inter"] * c.check["fall"] + 5)
    c.vacate(slot)
    time.sleep(1)
    result = load.stop()
    figures = c.record("SIGTERM with --shutdown-delay 0s (control)", result, time_to_leave_rotation=left)
    assert figures.retried > 0, "HAProxy retried nothing although the instance closed while in rotation"
    if "rolling replacement" in c.figures:  # the delay is what spared the rolling replacement these retries
        assert figures.retried > c.figures["rolling replacement"].retried


def test_kill_9_fails_nothing_and_target_down_fires_and_resolves(cluster: Cluster) -> None:
    c = cluster
    c.wait_quiet()
    load = c.load()
    time.sleep(1)
    slot = c.live_slots()[0]
    victim = c.slots[slot]
    instance = f"127.0.0.1:{victim.admin_port}"
    killed = time.time()
    victim.signal(signal.SIGKILL)
    victim.popen.wait(5)
    left = c.haproxy.wait_state(slot, "DOWN", c.check["inter"] * c.check["fall"] + 10)
    fired = c.wait_alert("KeyportTargetDown", "firing", killed, instance)
    returned = time.time()
    back = c.start_keyport(port=victim.port, admin_port=victim.admin_port)  # the same addresses, as a restarted pod keeps its target
    c.slots[slot] = back
    c.haproxy.wait_state(slot, "UP", c.check["inter"] * c.check["rise"] + 10)
    resolved = c.wait_alert("KeyportTargetDown", "resolved", returned, instance)
    time.sleep(1)
    result = load.stop()
    figures = c.record("kill -9", result, time_to_leave_rotation=left,
                       target_down_fired_after=fired.received - killed, resolved_after_restart=resolved.received - returned)
    assert result.ok > 200 and not result.failures, result.failures[:10]
    # The crash did hit requests: HAProxy re-sent them (retry-on, redispatch), the clients never knew.
    assert figures.retried > 0, "no request was retried: the kill did not happen under load"
    assert figures.alerts == [f"KeyportTargetDown({slot})"], figures.alerts


def test_sigstop_moves_traffic_and_sigcont_brings_it_back(cluster: Cluster) -> None:
    c = cluster
    c.wait_quiet()
    load = c.load()
    time.sleep(1)
    slot = c.live_slots()[1]
    victim = c.slots[slot]
    instance = f"127.0.0.1:{victim.admin_port}"
    stopped = time.time()
    victim.signal(signal.SIGSTOP)
    try:
        # Each check times out after `timeout check`; `fall` of them take it out.
        bound = c.check["fall"] * (c.check["inter"] + c.check["timeout_check"]) + 5
        moved = c.haproxy.wait_state(slot, "DOWN", bound)
        fired = c.wait_alert("KeyportTargetDown", "firing", stopped, instance)
    finally:
        victim.signal(signal.SIGCONT)
    continued = time.time()
    came_back = c.haproxy.wait_state(slot, "UP", c.check["inter"] * c.check["rise"] + 10)
    resolved = c.wait_alert("KeyportTargetDown", "resolved", continued, instance)
    time.sleep(1)
    result = load.stop()
    figures = c.record("SIGSTOP / SIGCONT", result, time_to_move=moved, back_in_rotation_after_sigcont=came_back,
                       target_down_fired_after=fired.received - stopped, resolved_after_sigcont=resolved.received - continued)
    print(f"\nSIGSTOP: {len(result.failures)} failed of {result.sent}, traffic moved after {moved:.2f} s: {result.failures[:5]}")
    assert result.ok > 200
    # A request stuck on the hung instance waits `timeout server`, then is retried on another server.
    assert TIMEOUT_SERVER - 0.5 < result.longest_gap < 2 * TIMEOUT_SERVER + 1, result.longest_gap
    assert figures.retried > 0
    assert not result.failures, result.failures[:10]
    assert figures.alerts == [f"KeyportTargetDown({slot})"], figures.alerts


def test_bad_ports_data_stays_out_of_rotation_or_keeps_serving(cluster: Cluster) -> None:
    c = cluster
    c.wait_quiet()
    load = c.load()

    # A reload with a broken file: the old data keeps serving, the instance stays in rotation.
    reload_slot = c.live_slots()[0]
    reloaded = c.slots[reload_slot]
    c.ports_files[reloaded].write_text(BROKEN_PORTS)
    reloaded.signal(signal.SIGHUP)
    failing = c.wait_alert("KeyportPortsLoadFailing", "firing", c.scenario_start, f"127.0.0.1:{reloaded.admin_port}")
    assert reloaded.get_status("/ready") == 200
    assert hs.request(reloaded.port, b"GET /ports/NLRTM HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status == 200
    assert c.haproxy.states()[reload_slot] == "UP"

    # A start with a broken file: alive, not ready, never in rotation; KeyportNotReady for it alone.
    broken_slot = c.spare_slot()
    broken = c.start_keyport(ports=BROKEN_PORTS, wait_ready=False)
    c.place(broken_slot, broken)
    placed = time.time()
    not_ready = c.wait_alert("KeyportNotReady", "firing", placed, f"127.0.0.1:{broken.admin_port}")
    assert broken.get_status("/ready") == 503 and broken.get_status("/health") == 200
    assert c.haproxy.states()[broken_slot] == "DOWN", c.haproxy.states()
    served = hs.metric_sum(broken.metrics(), "http_requests_total", route="/key/{length}")
    assert served == 0, f"the not-ready instance got {served} API requests"
    others = [n for n in c.firing_since(c.scenario_start) if n.labels["alertname"] == "KeyportNotReady"
              and n.labels.get("instance") != f"127.0.0.1:{broken.admin_port}"]
    assert not others, f"KeyportNotReady fired for healthy instances too: {[n.labels for n in others]}"
    figures_alerts_at_worst = sorted({f"{n.labels['alertname']}({c.slot_of(n.labels.get('instance', ''))})"
                                      for n in c.firing_since(c.scenario_start)})

    # Good files again: the reload succeeds, the broken instance becomes ready and joins.
    fixed = time.time()
    for instance in (reloaded, broken):
        c.ports_files[instance].write_text(json.dumps(PORTS))
        instance.signal(signal.SIGHUP)
    joined = c.haproxy.wait_state(broken_slot, "UP", c.check["inter"] * c.check["rise"] + 10)
    c.wait_alert("KeyportNotReady", "resolved", fixed, f"127.0.0.1:{broken.admin_port}")
    c.wait_alert("KeyportPortsLoadFailing", "resolved", fixed, f"127.0.0.1:{reloaded.admin_port}")
    time.sleep(1)
    result = load.stop()
    figures = c.record("bad ports data", result, ports_load_failing_after=failing.received - c.scenario_start,
                       not_ready_fired_after=not_ready.received - placed, joined_after_fix=joined)
    assert result.ok > 200 and not result.failures, result.failures[:10]
    assert figures.alerts == figures_alerts_at_worst
    assert f"KeyportNotReady({broken_slot})" in figures.alerts and f"KeyportPortsLoadFailing({reload_slot})" in figures.alerts
