"""Live: the bundled monitoring on the chart's own rendered configuration reloads instead of
restarting, and alerts on its own pipeline.

A real Prometheus and Alertmanager (the versions installed here: printed by the first test) run
with the chart's rendered prometheus.yml (ConfigMap), rules (ConfigMap) and alertmanager.yml
(Secret), with the arguments of the rendered containers, beside the rendered `config-reloader`
sidecar: `keyport reload-on-change` from KEYPORT_BIN. The mounts are laid out as the kubelet lays
out a ConfigMap volume (files behind a `..data` symlink), and an update swaps `..data` the same way.

What Kubernetes itself does is stood in for, and named where it happens: pod discovery of keyport
becomes a static target (`keyport_target`) seen as two releases in two namespaces, the Alertmanager Service's endpoints become a file
(`file_sd`) that the test empties when it stops Alertmanager, as the endpoints controller would.

Run time here: ~2.5 minutes, most of it the 2-minute quiet run of the default Alertmanager
configuration (it runs beside the other checks). `pytest -s` prints each phase's seconds.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import yaml

import support
from support import dashboard, webhook
from support.chart import render
from support.process import Process

RELEASE_PROM = "keyport-prometheus"
RELEASE_AM = "keyport-alertmanager"
# The pipeline alerts with windows and `for` short enough for a live run.
LIVE_PIPELINE = {"window": "5s", "configReload": {"for": "0s", "severity": "critical"},
                 "ruleFailures": {"for": "0s", "severity": "critical"},
                 "notConnected": {"for": "0s", "severity": "warning"},
                 "notificationErrors": {"ratio": 0.01, "for": "0s", "severity": "warning"},
                 "alertmanagerReload": {"for": "0s", "severity": "critical"},
                 "delivery": {"ratio": 0.01, "for": "0s", "severity": "warning"}}
QUIET_RUN_S = 120
RELEASE_NAMESPACES = ("team-a", "team-b")
PROBE_GROUP = "keyport-reload-probe"


def keyport_target(port: int) -> str:
    """Where the test's Prometheus scrapes keyport (its admin listener): the one place the target is written."""
    return f"127.0.0.1:{port}"


# --- a ConfigMap/Secret volume as the kubelet writes it -------------------------------------------

class ProjectedDir:
    """Files behind `..data` -> `..<version>`, each visible name a symlink `name -> ..data/name`."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.version = 0
        path.mkdir(parents=True)

    def write(self, files: dict[str, str]) -> None:
        self.version += 1
        version_dir = self.path / f"..2026_12_03_{self.version:04d}"
        version_dir.mkdir()
        for name, text in files.items():
            (version_dir / name).write_text(text)
        tmp = self.path / "..data_tmp"
        tmp.symlink_to(version_dir.name)
        old = (self.path / "..data").resolve() if (self.path / "..data").exists() else None
        os.rename(tmp, self.path / "..data")  # the atomic swap
        for name in files:
            link = self.path / name
            if not link.is_symlink():
                link.symlink_to(f"..data/{name}")
        if old:
            for child in old.iterdir():
                child.unlink()
            old.rmdir()


# --- the stack --------------------------------------------------------------------------------------

@dataclass
class Stack:
    workdir: pathlib.Path
    prometheus: Process
    prometheus_url: str
    alertmanager: Process
    alertmanager_url: str
    quiet_alertmanager: Process
    quiet_alertmanager_url: str
    reloader: Process
    am_reloader: Process
    receiver: webhook.WebhookReceiver
    rules_dir: ProjectedDir
    rules: str
    am_dir: ProjectedDir
    am_configs: dict[str, str]
    am_targets: pathlib.Path
    started: float
    versions: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr, **({"time": f"{at:.3f}"} if at else {})}
        body = requests.get(self.prometheus_url + "/api/v1/query", params=params, timeout=5).json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str, at: float | None = None) -> float | None:
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None

    def alerts(self, name: str, state: str = "firing") -> list[dict[str, Any]]:
        data = requests.get(self.prometheus_url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return [a for a in data if a["labels"]["alertname"] == name and a["state"] == state]

    def write_rules(self, probe_value: int, broken: bool = False) -> None:
        probe = {"groups": [{"name": PROBE_GROUP, "rules": [{"record": "keyport:reload_probe", "expr": f"vector({probe_value})"}]}]}
        groups = yaml.safe_load(self.rules)["groups"] + probe["groups"]
        text = yaml.safe_dump({"groups": groups}, sort_keys=False)
        if broken:
            text += "  - name: broken\n    rules:\n      - record: broken\n        expr: sum(\n"
        self.rules_dir.write({"keyport.rules.yaml": text})


def metric_sum(url: str, name: str) -> float:
    text = requests.get(url + "/metrics", timeout=5).text
    values = [float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)]
    assert values, f"{url} exports no {name}"
    return sum(values)


def local_args(args: list[str], mapping: dict[str, str]) -> list[str]:
    """The rendered container's arguments with the pod's paths and addresses mapped to this machine's."""
    out = []
    for arg in args:
        for pod, here in mapping.items():
            arg = arg.replace(pod, here)
        out.append(arg)
    return out


def container(rendered, deployment: str, name: str) -> dict[str, Any]:
    spec = rendered.get("Deployment", deployment)["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == name)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    binary = support.require_keyport()
    tools = {name: support.require_tool(name, "scripts/install-test-deps.sh (Debian packages prometheus, prometheus-alertmanager)")
             for name in ("prometheus", "prometheus-alertmanager", "promtool", "amtool")}
    versions = {}
    for name in ("prometheus", "prometheus-alertmanager"):
        result = support.run_tool(tools[name], "--version")
        versions[name] = (result.stdout + result.stderr).splitlines()[0]

    workdir = tmp_path_factory.mktemp("monitoring-live")
    started: list = []
    try:
        receiver = webhook.WebhookReceiver().start()
        started.append(receiver)
        keyport_port, keyport_admin_port, prom_port, am_port, quiet_port = (support.free_port() for _ in range(5))
        keyport = Process.in_directory(
            "keyport", [binary, "--host", "127.0.0.1", "--srv-port", str(keyport_port),
                        "--admin-port", str(keyport_admin_port), "--log-format", "text"], workdir)
        started.append(keyport)

        values = {
            "prometheus": {"scrapeInterval": "1s", "scrapeTimeout": "900ms", "evaluationInterval": "1s",
                           "configReloader": {"interval": "1s"}},
            "alertmanager": {"configReloader": {"interval": "1s"}},
            "alerts": {"pipeline": LIVE_PIPELINE,
                       "watchdog": {"url": receiver.url, "repeatInterval": "2s"},
                       "routing": {"groupWait": "1s", "groupInterval": "1s", "repeatInterval": "1h",
                                   "webhook": {"url": receiver.url, "sendResolved": True}}},
        }
        rendered = render(values)
        default = render({})
        changed_routing = {**values["alerts"]["routing"], "groupWait": "2s"}
        changed = render({**values, "alerts": {**values["alerts"], "routing": changed_routing}})

        # Prometheus: the rendered config with Kubernetes discovery stood in for.
        config = yaml.safe_load(rendered.get("ConfigMap", RELEASE_PROM)["data"]["prometheus.yml"])
        config_dir, rules_dir = ProjectedDir(workdir / "config"), ProjectedDir(workdir / "rules")
        am_targets = workdir / "alertmanagers.json"
        am_targets.write_text(json.dumps([{"targets": [f"127.0.0.1:{am_port}", f"127.0.0.1:{quiet_port}"]}]))
        (alertmanagers,) = config["alerting"]["alertmanagers"]
        assert "kubernetes_sd_configs" in alertmanagers
        config["alerting"]["alertmanagers"] = [{"file_sd_configs": [{"files": [str(am_targets)], "refresh_interval": "1s"}]}]
        config["rule_files"] = [f.replace("/etc/prometheus/rules", str(rules_dir.path)) for f in config["rule_files"]]
        for job in config["scrape_configs"]:
            if job["job_name"] == "keyport":
                job.pop("kubernetes_sd_configs"), job.pop("relabel_configs", None)
                # Two releases in two namespaces sharing this Prometheus (one process behind both here).
                job["static_configs"] = [{"targets": [keyport_target(keyport_admin_port)], "labels": {"namespace": ns}}
                                         for ns in RELEASE_NAMESPACES]
            elif job["job_name"] == "prometheus":
                job["static_configs"] = [{"targets": [f"127.0.0.1:{prom_port}"]}]
            elif job["job_name"] == "alertmanager":
                job["static_configs"] = [{"targets": [f"127.0.0.1:{am_port}"]}]
        config_dir.write({"prometheus.yml": yaml.safe_dump(config, sort_keys=False)})
        rules = rendered.get("ConfigMap", f"{RELEASE_PROM}-rules")["data"]["keyport.rules.yaml"]
        am_dir, quiet_dir = ProjectedDir(workdir / "am-config"), ProjectedDir(workdir / "quiet-am-config")
        am_configs = {"first": rendered.get("Secret", RELEASE_AM)["stringData"]["alertmanager.yml"],
                      "changed": changed.get("Secret", RELEASE_AM)["stringData"]["alertmanager.yml"]}
        am_configs["broken"] = am_configs["changed"] + "not_an_alertmanager_field: 1\n"
        assert am_configs["changed"] != am_configs["first"]
        am_dir.write({"alertmanager.yml": am_configs["first"]})
        quiet_dir.write({"alertmanager.yml": default.get("Secret", RELEASE_AM)["stringData"]["alertmanager.yml"]})
        (workdir / "secrets").mkdir()

        stack = Stack(workdir, None, f"http://127.0.0.1:{prom_port}", None, f"http://127.0.0.1:{am_port}",  # type: ignore[arg-type]
                      None, f"http://127.0.0.1:{quiet_port}", None, None, receiver, rules_dir, rules, am_dir, am_configs,  # type: ignore[arg-type]
                      am_targets, time.time(), versions)
        stack.write_rules(1)
        for check in (["promtool", "check", "config", str(config_dir.path / "prometheus.yml")],
                      ["amtool", "check-config", str(am_dir.path / "alertmanager.yml")],
                      ["amtool", "check-config", str(quiet_dir.path / "alertmanager.yml")]):
            result = support.run_tool(tools[check[0]], *check[1:])
            assert result.returncode == 0, result.stdout + result.stderr

        # The rendered containers' own arguments, paths and ports mapped to this machine.
        prom_args = local_args(container(rendered, RELEASE_PROM, "prometheus")["args"], {
            "/etc/prometheus/config": str(config_dir.path), "--storage.tsdb.path=/prometheus": f"--storage.tsdb.path={workdir / 'tsdb'}",
            "--web.listen-address=:9090": f"--web.listen-address=127.0.0.1:{prom_port}"})
        assert "--web.enable-lifecycle" in prom_args
        stack.prometheus = Process.in_directory("prometheus", [tools["prometheus"], *prom_args, "--rules.alert.resend-delay=1s"], workdir)
        started.append(stack.prometheus)
        for port, directory, name in ((am_port, am_dir, "alertmanager"), (quiet_port, quiet_dir, "quiet-alertmanager")):
            am_args = local_args(container(rendered, RELEASE_AM, "alertmanager")["args"], {
                "/etc/alertmanager/config": str(directory.path), "--storage.path=/alertmanager": f"--storage.path={workdir / name}-data",
                "--web.listen-address=:9093": f"--web.listen-address=127.0.0.1:{port}"})
            proc = Process.in_directory(name, [tools["prometheus-alertmanager"], *am_args], workdir)
            started.append(proc)
            if name == "alertmanager":
                stack.alertmanager = proc
            else:
                stack.quiet_alertmanager = proc
        reloader_args = local_args(container(rendered, RELEASE_PROM, "config-reloader")["args"], {
            "/etc/prometheus/config": str(config_dir.path), "/etc/prometheus/rules": str(rules_dir.path),
            "http://127.0.0.1:9090/": f"http://127.0.0.1:{prom_port}/"})
        stack.reloader = Process.in_directory("reloader", [binary, *reloader_args], workdir)
        started.append(stack.reloader)
        am_reloader_args = local_args(container(rendered, RELEASE_AM, "config-reloader")["args"], {
            "/etc/alertmanager/config": str(am_dir.path), "/etc/alertmanager/secrets": str(workdir / "secrets"),
            "http://127.0.0.1:9093/": f"http://127.0.0.1:{am_port}/"})
        stack.am_reloader = Process.in_directory("am-reloader", [binary, *am_reloader_args], workdir)
        started.append(stack.am_reloader)
        for name, url, process in (("Alertmanager", stack.alertmanager_url, stack.alertmanager),
                                   ("quiet Alertmanager", stack.quiet_alertmanager_url, stack.quiet_alertmanager),
                                   ("Prometheus", stack.prometheus_url, stack.prometheus)):
            process.wait(lambda: requests.get(url + "/-/ready", timeout=1).status_code == 200, 60, f"{name} to start")
        yield stack
        print("\nran against: " + "; ".join(stack.versions.values()))
        for name, seconds in stack.timings.items():
            print(f"{name:55} {seconds:6.1f}s")
    finally:
        for thing in reversed(started):
            thing.stop()


def wait(what: str, predicate, timeout: float = 30):
    return support.wait_until(predicate, timeout, what=what)


# --- the tests, in order ------------------------------------------------------------------------------

def test_versions_and_what_they_lack(stack: Stack) -> None:
    """The chart pins newer releases than Debian's; the configuration must not use what 2.42/0.25 lack."""
    print("\n" + "\n".join(stack.versions.values()))
    assert re.search(r"version 2\.\d+", stack.versions["prometheus"])
    # Named here, and checked: the tested promtool refuses a field its release does not have, so a
    # rendered configuration that passed `promtool check config` above uses none of them.
    lacks = {
        "scrape_config_files (Prometheus 2.43)": "scrape_config_files: [x.yml]\n",
        # Debian builds Prometheus without it: the chart's pod and endpoints discovery are stood in for above.
        "Kubernetes service discovery (Debian's build)": "scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs: [{role: pod}]\n",
    }
    for what, snippet in lacks.items():
        path = stack.workdir / "lacks.yml"
        path.write_text(snippet)
        result = support.run_tool(support.require_tool("promtool", "scripts/install-test-deps.sh (Debian package prometheus)"), "check", "config", str(path))
        if result.returncode == 0:
            pytest.fail(f"the tested Prometheus has {what}: update this list")


def test_rule_change_is_reloaded_by_the_same_process(stack: Stack) -> None:
    start = time.time()
    wait("the first rules to evaluate", lambda: stack.value("keyport:reload_probe") == 1)
    wait("Prometheus to scrape itself", lambda: stack.value('process_start_time_seconds{job="prometheus"}'))
    pid, started_at = stack.prometheus.pid, stack.value('process_start_time_seconds{job="prometheus"}')
    time.sleep(2)  # a few evaluations of the first rules, to look for after the swap
    before = time.time() - 1
    stack.write_rules(2)
    swapped = time.time()
    wait("the changed rule to evaluate", lambda: stack.value("keyport:reload_probe") == 2)
    stack.timings["rule change: swap -> evaluating"] = time.time() - swapped
    assert stack.prometheus.alive() and stack.prometheus.pid == pid
    assert stack.value('process_start_time_seconds{job="prometheus"}') == started_at
    # Same TSDB: the sample from before the swap is still there.
    assert stack.value("keyport:reload_probe", at=before) == 1
    assert stack.value('prometheus_config_last_reload_successful{job="prometheus"}') == 1
    assert "configuration reloaded" in stack.reloader.log.read_text()
    stack.timings["rule change test"] = time.time() - start


def test_broken_rule_file_keeps_the_old_rules_and_alerts_until_fixed(stack: Stack) -> None:
    start = time.time()
    assert not stack.alerts("KeyportPrometheusConfigReloadFailed")
    stack.write_rules(99, broken=True)
    wait("the reload to fail", lambda: stack.value('prometheus_config_last_reload_successful{job="prometheus"}') == 0)
    wait("KeyportPrometheusConfigReloadFailed to fire", lambda: stack.alerts("KeyportPrometheusConfigReloadFailed"))
    stack.timings["broken rules: swap -> alert firing"] = time.time() - start
    # The old rules keep evaluating: the probe is fresh and still the old value.
    time.sleep(2)
    assert stack.value("keyport:reload_probe") == 2
    assert stack.value("time() - timestamp(keyport:reload_probe)") < 3
    assert "reload failed" in stack.reloader.log.read_text()
    fixed = time.time()
    stack.write_rules(3)
    wait("the fixed rules to evaluate", lambda: stack.value("keyport:reload_probe") == 3)
    wait("KeyportPrometheusConfigReloadFailed to resolve", lambda: not stack.alerts("KeyportPrometheusConfigReloadFailed")
         and not stack.alerts("KeyportPrometheusConfigReloadFailed", "pending"))
    stack.timings["broken rules: fixed -> alert resolved"] = time.time() - fixed


def test_alertmanager_reloads_a_changed_secret_in_place_and_alerts_on_a_broken_one(stack: Stack) -> None:
    start = time.time()
    pid = stack.alertmanager.pid
    first_hash = metric_sum(stack.alertmanager_url, "alertmanager_config_hash")
    stack.am_dir.write({"alertmanager.yml": stack.am_configs["changed"]})
    wait("Alertmanager to load the changed configuration",
         lambda: metric_sum(stack.alertmanager_url, "alertmanager_config_hash") != first_hash)
    stack.timings["Alertmanager config change: swap -> loaded"] = time.time() - start
    assert stack.alertmanager.alive() and stack.alertmanager.pid == pid
    assert metric_sum(stack.alertmanager_url, "alertmanager_config_last_reload_successful") == 1
    changed_hash = metric_sum(stack.alertmanager_url, "alertmanager_config_hash")

    broken = time.time()
    assert not stack.alerts("KeyportAlertmanagerConfigReloadFailed")
    stack.am_dir.write({"alertmanager.yml": stack.am_configs["broken"]})
    wait("KeyportAlertmanagerConfigReloadFailed to fire", lambda: stack.alerts("KeyportAlertmanagerConfigReloadFailed"))
    stack.timings["broken Alertmanager config: swap -> alert firing"] = time.time() - broken
    # The previous configuration keeps routing.
    assert metric_sum(stack.alertmanager_url, "alertmanager_config_hash") == changed_hash
    assert stack.alertmanager.pid == pid
    stack.am_dir.write({"alertmanager.yml": stack.am_configs["first"]})
    wait("KeyportAlertmanagerConfigReloadFailed to resolve",
         lambda: metric_sum(stack.alertmanager_url, "alertmanager_config_hash") == first_hash
         and not stack.alerts("KeyportAlertmanagerConfigReloadFailed"))


def test_stopped_webhook_receiver_raises_the_delivery_alert(stack: Stack) -> None:
    start = time.time()
    wait("the Watchdog to reach the webhook", lambda: stack.receiver.wait_for("Watchdog", "firing", 0, 1), 60)
    assert not stack.alerts("KeyportAlertmanagerDeliveryFailing")
    stack.receiver.stop()
    stopped = time.time()
    firing = wait("KeyportAlertmanagerDeliveryFailing to fire",
                  lambda: stack.alerts("KeyportAlertmanagerDeliveryFailing"), 60)
    assert firing[0]["labels"]["integration"] == "webhook"
    stack.timings["webhook stopped -> delivery alert firing"] = time.time() - stopped
    stack.timings["delivery test"] = time.time() - start


def test_default_alertmanager_config_attempts_nothing_and_fails_nothing(stack: Stack) -> None:
    """The default render's Alertmanager got every alert of this run for 2 minutes and sent nothing."""
    left = QUIET_RUN_S - (time.time() - stack.started)
    if left > 0:
        time.sleep(left)
    url = stack.quiet_alertmanager_url
    received = requests.get(url + "/api/v2/alerts", timeout=5).json()
    assert any(a["labels"]["alertname"] == "Watchdog" for a in received), "the default Alertmanager got no alerts"
    assert metric_sum(url, "alertmanager_notifications_failed_total") == 0
    assert metric_sum(url, "alertmanager_notifications_total") == 0
    stack.timings["default config quiet run (total since start)"] = time.time() - stack.started


def test_stopped_alertmanager_raises_failing_then_not_connected(stack: Stack) -> None:
    start = time.time()
    assert not stack.alerts("KeyportPrometheusNotConnectedToAlertmanager")
    stack.alertmanager.stop()
    stack.quiet_alertmanager.stop()
    wait("KeyportPrometheusNotificationsFailing to fire",
         lambda: stack.alerts("KeyportPrometheusNotificationsFailing"), 60)
    stack.timings["Alertmanager stopped -> notifications-failing alert"] = time.time() - start
    # Kubernetes' part: the endpoints controller drops the stopped pod from the Service's endpoints.
    stack.am_targets.write_text(json.dumps([]))
    dropped = time.time()
    wait("KeyportPrometheusNotConnectedToAlertmanager to fire",
         lambda: stack.alerts("KeyportPrometheusNotConnectedToAlertmanager"), 60)
    assert stack.value('prometheus_notifications_alertmanagers_discovered{job="prometheus"}') == 0
    stack.timings["endpoints gone -> not-connected alert"] = time.time() - dropped


def test_dashboard_keeps_two_releases_sharing_one_prometheus_apart(stack: Stack) -> None:
    """Every dashboard query, with one namespace chosen, returns only that namespace's series."""
    wait("both releases to be scraped", lambda: stack.value('count(up{job="keyport"} == 1)') == 2)
    templating = {v["name"]: v for v in dashboard.load()["templating"]["list"]}
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", dashboard.substitute(templating["namespace"]["query"]["query"], {"job": "keyport"}))
    assert match
    namespaces = requests.get(f"{stack.prometheus_url}/api/v1/label/{match.group(2)}/values",
                              params={"match[]": match.group(1)}, timeout=5).json()["data"]
    assert namespaces == sorted(RELEASE_NAMESPACES)
    chosen, other = RELEASE_NAMESPACES
    variables = {"job": "keyport", "namespace": chosen, "instance": ".+", "latency_bound": "0.25", "slo_objective": "0.999",
                 "latency_objective": "0.99", "__rate_interval": "4s", "__interval": "2s", "__range": "60s"}
    with_data = 0
    for panel, target in dashboard.targets(dashboard.load()):
        expr = dashboard.substitute(target["expr"], variables)
        assert "$" not in expr, (panel["title"], expr)
        result = stack.query(expr)
        assert all(series["metric"].get("namespace") in (None, chosen) for series in result), (panel["title"], result)
        with_data += any("namespace" in series["metric"] for series in result)
    assert with_data >= 5, "too few panels showed per-namespace series to mean anything"
    # The same release's build info: one series chosen, both with All.
    build = 'count(keyport_build_info{job=~"$job", namespace=~"$namespace", instance=~"$instance"})'
    assert stack.value(dashboard.substitute(build, variables)) == 1
    assert stack.value(dashboard.substitute(build, {**variables, "namespace": templating["namespace"]["allValue"]})) == 2
