"""A user's first hour, taken as written: the image `make image-archive` saves is the one the chart's
default install asks for, and the README's quick start answers as the README shows.

The archive test runs the real `make image-archive` (and so `make image`) with CONTAINER_ENGINE set to
a podman whose `build` imports an empty root filesystem under the tag make passes (the release build
is compose-smoke's job) and whose other commands are the real podman, in a throwaway storage.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support import REPO, free_port, keyport_bin, require_keyport, require_tool
from support.process import Process
from support.chart import render

README = REPO / "README.md"
CHART_README = REPO / "charts" / "keyport" / "README.md"


# --- one image reference from build to cluster --------------------------------------------------

def split_reference(ref: str) -> tuple[str, str, str]:
    """(first path component or "", rest of the name, ":tag" or "@digest") of an image reference."""
    name, at, digest = ref.partition("@")
    if at:
        suffix = f"@{digest}"
    elif ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
        suffix = f":{tag}"
    else:
        suffix = ":latest"
    first, slash, rest = name.partition("/")
    return (first, rest, suffix) if slash else ("", name, suffix)


def containerd_name(ref: str) -> str:
    """The name containerd (k3s, kind, minikube's containerd) and CRI-O's docker transport give a
    reference: docker/distribution's ParseNormalizedNamed."""
    first, rest, suffix = split_reference(ref)
    if first and ("." in first or ":" in first or first == "localhost"):
        return f"{first}/{rest}{suffix}"
    path = f"{first}/{rest}" if first else f"library/{rest}"
    return f"docker.io/{path}{suffix}"


def podman_local_name(ref: str) -> str:
    """The name podman gives an image it builds or loads: an unqualified name lands under localhost/."""
    first, rest, suffix = split_reference(ref)
    if first and ("." in first or ":" in first or first == "localhost"):
        return f"{first}/{rest}{suffix}"
    return f"localhost/{first + '/' if first else ''}{rest}{suffix}"


@pytest.mark.parametrize("ref, containerd, podman", [
    ("keyport:0.1.0", "docker.io/library/keyport:0.1.0", "localhost/keyport:0.1.0"),
    ("localhost/keyport:0.1.0", "localhost/keyport:0.1.0", "localhost/keyport:0.1.0"),
    ("docker.io/library/keyport:0.1.0", "docker.io/library/keyport:0.1.0", "docker.io/library/keyport:0.1.0"),
    ("me/keyport", "docker.io/me/keyport:latest", "localhost/me/keyport:latest"),
    ("registry.local:5000/keyport:1", "registry.local:5000/keyport:1", "registry.local:5000/keyport:1"),
])
def test_reference_normalisation_follows_the_runtimes(ref, containerd, podman):
    assert containerd_name(ref) == containerd
    assert podman_local_name(ref) == podman


def chart_default_image() -> str:
    deployment = render({}).get("Deployment", "keyport")
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def archive_references(path: Path) -> list[str]:
    """RepoTags of a docker-archive (what `k3s ctr images import`, `kind load image-archive` and
    `minikube image load` name the image by)."""
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    return [tag for entry in manifest for tag in entry.get("RepoTags") or []]


FAKE_BUILD = """#!/bin/sh
# podman in a throwaway store; `build` imports an empty root filesystem as the image make tags.
real() {{ exec {podman} --root {root}/storage --runroot {runroot} --storage-driver vfs "$@"; }}
if [ "$1" = build ]; then
    tag=
    while [ $# -gt 0 ]; do [ "$1" = -t ] && tag=$2; shift; done
    [ -n "$tag" ] || {{ echo "fake podman: build without -t" >&2; exit 2; }}
    echo "$tag" >>{root}/built
    tar -cf - -T /dev/null | real import -q - "$tag"
    exit
fi
real "$@"
"""


@pytest.fixture
def archive_from_make(tmp_path: Path):
    podman = require_tool("podman", "scripts/install-test-deps.sh (Debian package podman)")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "podman"  # named podman: the Makefile passes podman's --format flags to it
    runroot = tempfile.mkdtemp(prefix="kp-run-")  # podman refuses a runroot path over 50 characters
    fake.write_text(FAKE_BUILD.format(podman=podman, root=tmp_path, runroot=runroot))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    archive = tmp_path / "keyport.tar"
    env = {k: v for k, v in os.environ.items() if k not in ("IMAGE", "IMAGE_ARCHIVE", "CONTAINER_ENGINE")}
    # No container runs: only the network backend is named, so podman never probes for (or records) CNI.
    (tmp_path / "containers.conf").write_text('[network]\nnetwork_backend = "netavark"\n')
    env["CONTAINERS_CONF"] = str(tmp_path / "containers.conf")
    proc = subprocess.run(["make", "-s", "image-archive", f"CONTAINER_ENGINE={fake}", f"IMAGE_ARCHIVE={archive}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (tmp_path / "built").read_text().split() == archive_references(archive), \
            "make image and make image-archive name one image"
        yield archive
    finally:
        subprocess.run([str(fake), "system", "reset", "-f"], capture_output=True, timeout=120)
        shutil.rmtree(runroot, ignore_errors=True)


def test_image_archive_holds_the_chart_default_image(archive_from_make):
    (saved,) = archive_references(archive_from_make)
    wanted = chart_default_image()
    # Every runtime the README loads it into resolves both names alike, and to the same image.
    assert containerd_name(saved) == containerd_name(wanted), (saved, wanted)
    assert podman_local_name(saved) == podman_local_name(wanted), (saved, wanted)
    # The chart's reference is already fully qualified: no runtime's default registry decides for it.
    assert containerd_name(wanted) == podman_local_name(wanted) == wanted


def test_archive_check_catches_another_tag(tmp_path):
    """Negative control: a `make image` tag that is not the chart's is told apart."""
    assert containerd_name("localhost/keyport:dev") != containerd_name(chart_default_image())
    assert containerd_name("keyport:0.1.0") != podman_local_name("keyport:0.1.0")


# --- every example file a README names exists and renders ---------------------------------------

def readme_texts() -> dict[str, str]:
    docs = [README, CHART_README, *sorted((REPO / "docs").glob("*.md"))]
    return {str(p.relative_to(REPO)): p.read_text() for p in docs if p.exists()}


def named_values_files() -> dict[str, str]:
    """Values files the READMEs pass to helm (`helm install|upgrade|template ... -f FILE`) or name under
    examples/: path (relative to the repository) -> the README that names it."""
    found: dict[str, str] = {}
    for where, text in readme_texts().items():
        for line in text.splitlines():
            helm = re.search(r"helm (?:install|upgrade|template)\b.*", line)
            for match in re.finditer(r"(?:\s-f|--values)[ =]([\w./-]+\.ya?ml)", helm.group(0) if helm else ""):
                found.setdefault(match.group(1), where)
            for match in re.finditer(r"charts/keyport/examples/[\w.-]+\.ya?ml", line):
                found.setdefault(match.group(0), where)
    return found


def test_readmes_name_the_example_files():
    named = named_values_files()
    assert "charts/keyport/examples/openshift.yaml" in named and "charts/keyport/examples/values-pvc.yaml" in named, named


@pytest.mark.parametrize("path", sorted(named_values_files()))
def test_every_values_file_a_readme_names_exists_and_renders(path, tmp_path):
    import yaml

    from support.chart import chart

    file = REPO / path
    assert file.is_file(), f"{named_values_files()[path]} names {path}, which does not exist"
    values = yaml.safe_load(file.read_text()) or {}
    chart().validate_schema(values)
    docs = [d for d in render(values).docs if not d["apiVersion"].startswith(("monitoring.coreos.com", "cert-manager.io"))]
    out = tmp_path / "rendered.yaml"
    out.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    cli = Path(os.sys.executable).parent / "kubernetes-validate"
    proc = subprocess.run([str(cli), "--strict", "-k", "1.33.0", str(out)], capture_output=True, text=True, timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0 and not re.search(r"^(WARN|ERROR|FATAL)", text, re.M), text
    assert len(re.findall(r"^INFO .* passed for resource", text, re.M)) == len(docs)


def test_a_missing_example_is_caught(tmp_path):
    """Negative control: the pattern above finds a file a README would name that is not there."""
    text = "helm install keyport charts/keyport -f charts/keyport/examples/nope.yaml"
    match = re.search(r"(?:\s-f|--values)[ =]([\w./-]+\.ya?ml)", text)
    assert match and not (REPO / match.group(1)).exists()


# --- the README's quick start, answered as written -----------------------------------------------

def quick_start_session() -> list[tuple[str, str]]:
    """(command, expected output) of the console block after "Try it:" in the README's quick start:
    `$ ` starts a command, the lines below it are its output; `...` in an expected line stands for
    any text (random keys, record fields the README leaves out)."""
    text = README.read_text()
    section = text[text.index("## Quick start"):]
    section = section[:section.index("\n## ", 3)]
    block = re.search(r"Try it\b.*?```console\n(.*?)```", section, re.S)
    assert block, "README quick start: no ```console block after 'Try it:'"
    session: list[tuple[str, list[str]]] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            session.append((line[2:], []))
        else:
            assert session, f"output before the first command: {line!r}"
            session[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in session]


def matches(expected: str, actual: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual, re.S) is not None


def test_expected_output_matching():
    assert matches('{"ports":[...],"next":"DEHAM"}', '{"ports":[{"id":"CLVAP"}],"next":"DEHAM"}')
    assert not matches('{"ports":[...],"next":"AEAUH"}', '{"ports":[{"id":"CLVAP"}],"next":"DEHAM"}')
    assert not matches("32", "404")
    assert matches("00000000: ...\n00000010: ...", "00000000: ab\n00000010: cd")
    assert not matches("00000000: ...\n00000010: ...", "00000000: ab")


def make_run_command(port: int, admin_port: int | None) -> list[str]:
    """The command `make run` runs (its last line under `make -n`), with this test's binary and ports."""
    args = f"--srv-port {port}" + (f" --admin-port {admin_port}" if admin_port else "")
    # Under `make test` this is a sub-make: without the parent's flags it prints no "Entering directory" lines.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    proc = subprocess.run(["make", "--no-print-directory", "-n", "-s", "run", f"ARGS={args}"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    command = proc.stdout.strip().splitlines()[-1].split()
    assert command[0].endswith("/keyport"), command
    return [keyport_bin(), *command[1:]]


def test_readme_quick_start_answers_as_written(tmp_path):
    require_keyport()
    session = quick_start_session()
    assert len(session) >= 8, session
    text = README.read_text()
    port = free_port()
    admin_port = free_port() if "127.0.0.1:9123" in text else None
    log = tmp_path / "keyport.log"
    with Process(make_run_command(port, admin_port), name="keyport", log=log) as server:
        def ready():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as resp:
                return resp.status == 200
        server.wait(ready, 60, "keyport ready")
        failures = []
        for command, expected in session:
            run = command.replace("127.0.0.1:1123", f"127.0.0.1:{port}")
            if admin_port:
                run = run.replace("127.0.0.1:9123", f"127.0.0.1:{admin_port}")
            # Only this test's server: other keyport processes may run on this machine.
            run = run.replace("$(pgrep -x keyport)", str(server.pid))
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", run], capture_output=True, text=True, timeout=30)
            actual = proc.stdout.rstrip("\n")
            print(f"$ {command}\n{actual}")
            if proc.returncode != 0 or not matches(expected, actual):
                failures.append(f"$ {command}\n  README shows: {expected!r}\n  answered (exit {proc.returncode}): {actual!r} {proc.stderr.strip()!r}")
        assert not failures, "\n".join(failures)
        # The HUP line reloads the file: a second load is logged.
        server.wait(lambda: log.read_text().count("ports file loaded") >= 2, 10, "a reload after SIGHUP")


def test_readme_log_line_is_what_the_sample_logs(tmp_path):
    """The JSON log line the README shows is the one the bundled sample gives (time, path and seconds vary)."""
    binary = require_keyport()
    shown = re.search(r"JSON, one object per line: `(\{.*?\})`", README.read_text())
    assert shown, "README: no JSON log line under ### Logs"
    shown_line = json.loads(shown.group(1))
    port = free_port()
    log = tmp_path / "keyport.log"
    with Process([binary, "--host", "127.0.0.1", "--srv-port", str(port), "--log-format", "json"], log=log) as server:
        def loaded():
            for line in log.read_text().splitlines():
                if line.startswith("{") and json.loads(line).get("message") == shown_line["message"]:
                    return json.loads(line)
            return None
        logged = server.wait(loaded, 60, repr(shown_line["message"]))
    varying = {"time", "seconds", "path"}
    assert set(logged) == set(shown_line)
    assert {k: v for k, v in logged.items() if k not in varying} == {k: v for k, v in shown_line.items() if k not in varying}
