"""The chart's `ports.fetch` path: a `fetch-ports` init container running `keyport ports fetch` (keyport's
own image) into an emptyDir that the keyport container reads, as charts/keyport/README.md describes.

examples/values-fetch.yaml is one of support.chart.EXAMPLE_SCENARIOS, so test_chart.py's scenario checks
(strict lint, strict kubernetes-validate for every KUBE_VERSIONS, pod hardening, pinned images, checkov,
the schema) run on it too; the checks here are the ones particular to the fetch.
"""
from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from helm_python import HelmRenderError, HelmValuesError

from support import REPO, missing, require_keyport
from support.chart import (
    CHART_DIR, EXAMPLE_SCENARIOS, KUBE_VERSIONS, RELEASE, chart, deep_merge, env_of, render,
)

EXAMPLE = CHART_DIR / "examples" / "values-fetch.yaml"
DIGEST = "0123456789abcdef" * 4
URL = "https://data.example.com/ports/2026-12-01.json.gz"
FETCH = {"ports": {"fetch": {"url": URL, "sha256": DIGEST}}}


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def pod_spec(values: dict[str, Any]) -> dict[str, Any]:
    return render(values).get("Deployment", RELEASE)["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the fetch-ports init container, the keyport container)."""
    fetch = next(c for c in spec["initContainers"] if c["name"] == "fetch-ports")
    keyport = next(c for c in spec["containers"] if c["name"] == "keyport")
    return fetch, keyport


def arg_after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_the_example_gets_every_scenario_check():
    assert "fetch" in EXAMPLE_SCENARIOS
    chart().validate_schema(example())


def test_image_entrypoint_is_the_keyport_binary():
    """The init container gives `args` only: the image's ENTRYPOINT is keyport and there is no CMD."""
    dockerfile = (REPO / "Dockerfile").read_text()
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.findall(r"^ENTRYPOINT (.*)$", final, re.M) == ['["/usr/local/bin/keyport"]']
    assert not re.search(r"^CMD ", final, re.M)


def test_init_container_args_are_the_cli_contract():
    values = example()
    fetch_values = values["ports"]["fetch"]
    fetch, keyport = containers(pod_spec(values))
    assert fetch["image"] == keyport["image"] and fetch["imagePullPolicy"] == keyport["imagePullPolicy"]
    assert "command" not in fetch
    assert fetch["args"] == [
        "ports", "fetch", fetch_values["url"],
        "--sha256", fetch_values["sha256"],
        "--output", f"/etc/keyport/ports/{values['ports']['fileName']}",
        "--max-bytes", str(512 * 1024 * 1024),
        "--timeout", "5m",
    ]


def test_keyport_reads_the_fetched_file_from_a_read_only_mount_of_the_empty_dir():
    spec = pod_spec(example())
    fetch, keyport = containers(spec)
    (volume,) = spec["volumes"]
    assert volume == {"name": "ports", "emptyDir": {"sizeLimit": "512Mi"}}
    (reads,) = keyport["volumeMounts"]
    (writes,) = fetch["volumeMounts"]
    assert reads == {"name": "ports", "mountPath": "/etc/keyport/ports", "readOnly": True}
    assert writes == {"name": "ports", "mountPath": "/etc/keyport/ports"}  # writable: the temp file and rename
    # The same --ports-file path as every other source: the file fetch-ports writes.
    assert env_of(keyport)["KEYPORT_PORTS_FILE"] == arg_after(fetch["args"], "--output") == "/etc/keyport/ports/ports.json.gz"
    assert Path(arg_after(fetch["args"], "--output")).parent == Path(writes["mountPath"])


def test_init_container_is_hardened_like_keyport():
    spec = pod_spec(example())
    fetch, keyport = containers(spec)
    assert fetch["securityContext"] == keyport["securityContext"]
    sc = fetch["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["runAsNonRoot"] is True and sc["runAsUser"] == 65532
    assert sc["allowPrivilegeEscalation"] is False and sc["privileged"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    # Negative control: the chart's securityContext is what both get, so changing it changes both.
    changed_fetch, changed_keyport = containers(pod_spec(deep_merge(example(), {"securityContext": {"runAsUser": 1000}})))
    assert changed_fetch["securityContext"]["runAsUser"] == changed_keyport["securityContext"]["runAsUser"] == 1000


def test_init_container_resources_default_to_keyports_and_can_be_set():
    values = example()
    fetch, keyport = containers(pod_spec(values))
    assert fetch["resources"] == keyport["resources"] == values["resources"]
    own = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "300Mi"}}
    fetch, keyport = containers(pod_spec(deep_merge(values, {"ports": {"fetch": {"resources": own}}})))
    assert fetch["resources"] == own and keyport["resources"] == values["resources"]


def test_fetch_runs_before_the_users_init_containers():
    user = {"name": "after-fetch", "image": "busybox:1.36.1", "resources": {"limits": {"memory": "8Mi"}}}
    spec = pod_spec({**FETCH, "initContainers": [user]})
    assert [c["name"] for c in spec["initContainers"]] == ["fetch-ports", "after-fetch"]
    assert spec["initContainers"][1]["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("change, rolls", [
    ({"ports": {"fetch": {"sha256": "f" * 64}}}, True),
    ({"ports": {"fetch": {"url": URL.replace("2026-12-01", "2026-12-02")}}}, True),
    ({"replicaCount": 3}, False),
    ({"prometheus": {"scrapeInterval": "30s"}}, False),
])
def test_a_new_url_or_digest_rolls_the_pods(change, rolls):
    """The emptyDir is filled once, so the update path is a new pod template (a rollout)."""
    template = lambda values: render(values).get("Deployment", RELEASE)["spec"]["template"]
    assert (template(deep_merge(FETCH, change)) != template(FETCH)) is rolls


@pytest.mark.parametrize("fetch, max_bytes, size_limit", [
    ({}, "1073741824", "1Gi"),
    ({"maxBytes": "1G", "sizeLimit": "1G"}, "1000000000", "1G"),
    ({"maxBytes": "2k", "sizeLimit": "3Ki"}, "2000", "3Ki"),
    ({"maxBytes": 1000, "sizeLimit": 2_000_000_000}, "1000", "2000000000"),
])
def test_sizes_become_bytes_for_the_cli_and_a_quantity_for_the_empty_dir(fetch, max_bytes, size_limit):
    spec = pod_spec({"ports": {"fetch": {**FETCH["ports"]["fetch"], **fetch}}})
    fetch_container, _ = containers(spec)
    assert arg_after(fetch_container["args"], "--max-bytes") == max_bytes
    assert spec["volumes"][0]["emptyDir"] == {"sizeLimit": size_limit}


@pytest.mark.parametrize("ca, source", [
    ({"caSecret": "corp-ca"}, {"secret": {"secretName": "corp-ca", "items": [{"key": "root.pem", "path": "root.pem"}]}}),
    ({"caConfigMap": "trust-bundle"}, {"configMap": {"name": "trust-bundle", "items": [{"key": "root.pem", "path": "root.pem"}]}}),
])
def test_a_ca_from_a_secret_or_configmap_is_mounted_for_ca_file(ca, source):
    values = deep_merge(FETCH, {"ports": {"fetch": {**ca, "caKey": "root.pem"}}})
    deploy = render(values).get("Deployment", RELEASE)
    spec = deploy["spec"]["template"]["spec"]
    fetch, keyport = containers(spec)
    assert fetch["args"][-2:] == ["--ca-file", "/etc/keyport/fetch-ca/root.pem"]
    assert {"name": "fetch-ca", "mountPath": "/etc/keyport/fetch-ca", "readOnly": True} in fetch["volumeMounts"]
    assert {v["name"]: {k: x for k, x in v.items() if k != "name"} for v in spec["volumes"]}["fetch-ca"] == source
    assert [m["name"] for m in keyport["volumeMounts"]] == ["ports"]  # keyport itself never sees the CA
    for kube in KUBE_VERSIONS:
        kubernetes_validate.validate(deploy, kube, strict=True)


def test_without_a_ca_the_system_bundle_verifies():
    spec = pod_spec(FETCH)
    fetch, _ = containers(spec)
    assert "--ca-file" not in fetch["args"] and [v["name"] for v in spec["volumes"]] == ["ports"]


def test_strict_validation_catches_a_broken_init_container():
    """Negative control for the validation above: a misspelt field in the rendered init container is refused."""
    deploy = render(FETCH).get("Deployment", RELEASE)
    deploy["spec"]["template"]["spec"]["initContainers"][0]["volumeMount"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deploy, KUBE_VERSIONS[-1], strict=True)


def test_openshift_example_with_fetch_names_no_ids():
    """restricted-v2 assigns the UID: with examples/openshift.yaml the init container names none either, and
    the emptyDir (mode 0777) is writable by whichever UID it gets."""
    values = deep_merge(yaml.safe_load((CHART_DIR / "examples" / "openshift.yaml").read_text()), example())
    chart().validate_schema(values)
    spec = pod_spec(values)
    fetch, keyport = containers(spec)
    assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(spec["securityContext"])
    assert not {"runAsUser", "runAsGroup"} & set(fetch["securityContext"])
    assert fetch["securityContext"] == keyport["securityContext"]
    assert fetch["securityContext"]["runAsNonRoot"] is True and fetch["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("fetch, where", [
    ({"sha256": DIGEST.upper()}, "/ports/fetch/sha256"),
    ({"sha256": DIGEST[:-1]}, "/ports/fetch/sha256"),
    ({"sha256": f"sha256:{DIGEST}"}, "/ports/fetch/sha256"),
    ({"url": "ftp://data.example.com/ports.json"}, "/ports/fetch/url"),
    ({"url": "data.example.com/ports.json"}, "/ports/fetch/url"),
    ({"timeout": "5 min"}, "/ports/fetch/timeout"),
    ({"timeout": "1.5s"}, "/ports/fetch/timeout"),
    ({"maxBytes": "1.5Gi"}, "/ports/fetch/maxBytes"),
    ({"maxBytes": "512MB"}, "/ports/fetch/maxBytes"),
    ({"maxBytes": 0}, "/ports/fetch/maxBytes"),
    ({"sizeLimit": "lots"}, "/ports/fetch/sizeLimit"),
    ({"caSecret": "Corp_CA"}, "/ports/fetch/caSecret"),
    ({"resources": {"limits": {"memory": "much"}}}, "/ports/fetch/resources"),
    ({"checksum": DIGEST}, "/ports/fetch"),
])
def test_schema_refuses_bad_fetch_values(fetch, where):
    values = {"ports": {"fetch": {**FETCH["ports"]["fetch"], **fetch}}}
    with pytest.raises(HelmValuesError) as err:
        chart().validate_schema(values)
    assert where in str(err.value), str(err.value)


@pytest.mark.parametrize("values, message", [
    (deep_merge(FETCH, {"ports": {"data": "{}"}}), "set at most one ports data source, got ports.data, ports.fetch.url"),
    (deep_merge(FETCH, {"ports": {"existingConfigMap": "site-ports"}}),
     "set at most one ports data source, got ports.existingConfigMap, ports.fetch.url"),
    (deep_merge(FETCH, {"ports": {"volume": {"persistentVolumeClaim": {"claimName": "ports"}}}}),
     "set at most one ports data source, got ports.volume, ports.fetch.url"),
    ({"ports": {"fetch": {"url": URL}}}, "ports.fetch.url is set but ports.fetch.sha256 is empty"),
    ({"ports": {"fetch": {"sha256": DIGEST}}}, "ports.fetch.sha256 is set but ports.fetch.url is empty"),
    (deep_merge(FETCH, {"ports": {"fetch": {"caSecret": "a", "caConfigMap": "b"}}}),
     "set at most one of ports.fetch.caSecret (a) and ports.fetch.caConfigMap (b)"),
    (deep_merge(FETCH, {"ports": {"fetch": {"maxBytes": "2Gi", "sizeLimit": "1Gi"}}}),
     "ports.fetch.maxBytes (2147483648 bytes) must not exceed ports.fetch.sizeLimit (1073741824 bytes)"),
])
def test_template_refuses_inconsistent_fetch_values(values, message):
    chart().validate_schema(values)  # each value is well-formed on its own: only the template sees the clash
    with pytest.raises(HelmRenderError) as err:
        render(values)
    assert message in str(err.value), str(err.value)


def test_off_by_default():
    spec = pod_spec({})
    assert "initContainers" not in spec and "volumes" not in spec


def test_example_says_how_to_compute_the_digest_and_size_the_pod():
    text = EXAMPLE.read_text()
    assert "sha256sum ports.json.gz" in text and "gzip" in text and "Sizing" in text
    readme = (CHART_DIR / "README.md").read_text()
    assert "Planned: `ports.fetch`" not in readme and "charts/keyport/examples/values-fetch.yaml" in readme
    assert "maxUnavailable: 0" in readme and "Init:Error" in readme


# --- the rendered arguments run by the real `keyport ports fetch` ----------------------------------

def fetch_subcommand() -> str:
    """The keyport binary, when it has `ports fetch`: skipped on a build without it, a failure in CI."""
    binary = require_keyport()
    # Without the subcommand, argument-parser prints `keyport ports`' own help and exits 0.
    probe = subprocess.run([binary, "ports", "fetch", "--help"], capture_output=True, text=True, timeout=30)
    if "USAGE: keyport ports fetch" not in probe.stdout:
        missing(f"{binary} has no `ports fetch` yet: {probe.stdout.strip()[:200]}")
    return binary


class FileServer:
    """A real HTTP server on a free loopback port serving one directory."""

    def __init__(self, directory: Path):
        handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rendered_args_for(url: str, digest: str, output: Path) -> list[str]:
    """The example's init container args, with this machine's URL, digest and output path put in."""
    fetch, _ = containers(pod_spec(deep_merge(example(), {"ports": {"fetch": {"url": url, "sha256": digest}}})))
    args = list(fetch["args"])
    args[args.index("--output") + 1] = str(output)
    return args


def test_keyport_ports_fetch_accepts_the_rendered_args(tmp_path):
    binary = fetch_subcommand()
    served = tmp_path / "served"
    served.mkdir()
    sample = (REPO / "Sources" / "KeyportCore" / "Resources" / "sample-ports.json").read_bytes()
    data = gzip.compress(sample)
    (served / "ports.json.gz").write_bytes(data)
    out_dir = tmp_path / "ports"
    out_dir.mkdir()
    output = out_dir / "ports.json.gz"
    with FileServer(served) as server:
        url = f"{server.base}/ports.json.gz"
        good = subprocess.run([binary, *rendered_args_for(url, hashlib.sha256(data).hexdigest(), output)],
                              capture_output=True, text=True, timeout=60)
        assert good.returncode == 0, good.stderr
        assert output.read_bytes() == data
        assert len(json.loads(gzip.decompress(output.read_bytes()))) > 0
        # A wrong digest: non-zero, one line, and nothing put in place (nor left beside it).
        output.unlink()
        bad = subprocess.run([binary, *rendered_args_for(url, "0" * 64, output)], capture_output=True, text=True, timeout=60)
        assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert list(out_dir.iterdir()) == []
