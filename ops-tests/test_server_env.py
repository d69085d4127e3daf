"""The chart's `server:` values reach keyport as the environment variables of the flags they set, and
that mapping is derived: scripts/generate-flag-table.py writes charts/keyport/files/server-env.yaml from
values.yaml's server: keys and `keyport flags` (the flags' one declaration), and templates/deployment.yaml
ranges over it. Its freshness (--check) is test_generated.py's."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

import support
from support.chart import Rendered, render_raw

SERVER_ENV = support.CHART / "files" / "server-env.yaml"


@pytest.fixture(scope="module")
def flags() -> dict[str, str]:
    """`keyport flags`: flag name (without --) -> environment variable."""
    binary = support.require_keyport()
    table = subprocess.run([binary, "flags"], check=True, capture_output=True, text=True, timeout=30).stdout
    return dict(re.findall(r"^\| `--([a-z0-9-]+)` \| `([A-Z0-9_]+)` \|", table, re.MULTILINE))


@pytest.fixture
def generator(monkeypatch):
    binary = support.require_keyport()
    monkeypatch.setenv("KEYPORT_BIN", binary)
    return support.script_module("generate-flag-table")


def server_values() -> dict:
    return yaml.safe_load((support.CHART / "values.yaml").read_text())["server"]


def keyport_env(values: dict) -> list[dict]:
    deployment = Rendered(render_raw(values)).get("Deployment", "keyport")
    return deployment["spec"]["template"]["spec"]["containers"][0]["env"]


def test_every_server_value_sets_its_flags_variable_in_values_order(flags):
    entries = yaml.safe_load(SERVER_ENV.read_text())["server"]
    assert [e["key"] for e in entries] == list(server_values())
    # Named after the flag (server.maxSize -> --max-size), except server.port -> --srv-port.
    assert {e["key"]: e["env"] for e in entries}["port"] == flags["srv-port"] == "KEYPORT_SRV_PORT"
    assert all(e["env"] in flags.values() for e in entries), entries
    changed = {"port": 2000, "adminPort": 9200, "maxSize": 4096, "logLevel": "debug", "logFormat": "text",
               "shutdownDelay": "3s", "requestTimeout": "20s", "enableFaultInjection": True}
    assert set(changed) == set(server_values()), "a new server: value needs a changed value here"
    env = keyport_env({"server": changed})
    expected = [{"name": e["env"], "value": str(changed[e["key"]]).lower() if isinstance(changed[e["key"]], bool)
                 else str(changed[e["key"]])} for e in entries]
    assert env[:len(expected)] == expected


def test_the_generator_refuses_a_server_value_that_names_no_flag(generator, tmp_path, monkeypatch, capsys):
    values = tmp_path / "values.yaml"
    values.write_text(generator.VALUES.read_text().replace("  maxSize: 1024\n", "  maxSize: 1024\n  readTimeout: 5s\n", 1))
    monkeypatch.setattr(generator, "VALUES", values)
    monkeypatch.setattr(generator, "SERVER_ENV", tmp_path / "server-env.yaml")
    with pytest.raises(SystemExit) as refused:
        generator.main([])
    message = str(refused.value)
    assert message.startswith(f"{values}: server.readTimeout sets no flag: `keyport flags` has no --read-timeout; "), message
    assert "--request-timeout" in message and "\n" not in message
    assert not (tmp_path / "server-env.yaml").exists()
    # The same values without the stray key generate the file.
    values.write_text((support.CHART / "values.yaml").read_text())
    assert generator.main([]) == 0
    assert (tmp_path / "server-env.yaml").read_text() == SERVER_ENV.read_text()


def test_a_server_value_missing_from_server_env_fails_the_render(tmp_path):
    from helm_python import Chart, HelmRenderError

    chart = tmp_path / "keyport"
    shutil.copytree(support.CHART, chart)
    mapping = yaml.safe_load(SERVER_ENV.read_text())
    mapping["server"] = [e for e in mapping["server"] if e["key"] != "logFormat"]
    (chart / "files" / "server-env.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    with Chart.load(str(chart)) as loaded:
        with pytest.raises(HelmRenderError, match=r"server\.logFormat: files/server-env\.yaml names no keyport flag"):
            loaded.render({}, name="keyport", namespace="default")
