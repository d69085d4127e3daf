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
import signal
import stat
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support import REPO, free_port, keyport_bin, wait_until
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
    podman = shutil.which("podman")
    if not podman:
        if os.environ.get("CI"):
            pytest.fail("podman is required in CI (scripts/install-test-deps.sh installs it)")
        pytest.skip("podman is not installed")
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
