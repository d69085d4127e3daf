"""keyport's default host `::` on a machine without IPv6: the real binary with socket(AF_INET6) refused
(EAFNOSUPPORT, as a kernel booted with ipv6.disable=1 answers) by a small LD_PRELOAD shim, built here
with the toolchain's C compiler. keyport must say so in its log and serve IPv4 on both listeners."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

import support
from support import keyport as hs
from support.process import Process

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol) {
    static int (*real)(int, int, int);
    if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
    if (domain == AF_INET6) { errno = EAFNOSUPPORT; return -1; }
    return real(domain, type, protocol);
}
"""


def compiler() -> str:
    return (support.tool("clang") or support.tool("cc") or support.tool("gcc")
            or support.missing("no C compiler (clang, cc or gcc): the Swift toolchain's clang"))


@pytest.fixture(scope="module")
def no_ipv6_shim():
    cc = compiler()
    directory = tempfile.mkdtemp(prefix="keyport-noipv6-")
    source = os.path.join(directory, "noipv6.c")
    library = os.path.join(directory, "noipv6.so")
    with open(source, "w") as handle:
        handle.write(SHIM)
    subprocess.run([cc, "-shared", "-fPIC", "-o", library, source, "-ldl"], check=True, capture_output=True, timeout=120)
    yield library
    shutil.rmtree(directory, ignore_errors=True)


def listening(log: str) -> list[dict]:
    return [entry for entry in map(json.loads, filter(None, log.splitlines())) if entry.get("message") == "listening"]


def test_without_ipv6_the_default_host_falls_back_to_ipv4_and_says_so(no_ipv6_shim, tmp_path):
    binary = support.require_keyport()
    log = tmp_path / "keyport.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYPORT_")}
    with Process(
        [binary, "--srv-port", "0", "--admin-port", "0", "--log-format", "json"],  # no --host: the default `::`
        log=log, env={**env, "LD_PRELOAD": no_ipv6_shim}, inherit_env=False,
    ) as process:
        process.wait(lambda: len(listening(log.read_text())) == 2, 30, "both listening lines")
        assert process.alive(), log.read_text()[-2000:]
        entries = log.read_text().splitlines()
        fallbacks = [json.loads(line) for line in entries if "IPv6 is not available" in line]
        assert {entry["listener"] for entry in fallbacks} == {"service", "admin"}, entries
        assert all("EAFNOSUPPORT" in entry["error"] or "Address family" in entry["error"] for entry in fallbacks), fallbacks
        ports = {entry["listener"]: int(entry["port"]) for entry in listening(log.read_text())}
        assert {entry["host"] for entry in listening(log.read_text())} == {"0.0.0.0"}
        support.wait_until(lambda: hs.request(ports["service"], b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n").status == 200, 30,
                           what="ready over IPv4")
        assert hs.request(ports["admin"], b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n").status == 200


def test_control_the_shim_leaves_an_explicit_ipv4_host_alone(no_ipv6_shim, tmp_path):
    """Control: with --host 127.0.0.1 there is nothing to fall back from, so no such log line."""
    binary = support.require_keyport()
    log = tmp_path / "keyport.log"
    with Process(
        [binary, "--host", "127.0.0.1", "--srv-port", "0", "--admin-port", "0", "--log-format", "json"],
        log=log, env={"LD_PRELOAD": no_ipv6_shim},
    ) as process:
        process.wait(lambda: len(listening(log.read_text())) == 2, 30, "both listening lines")
        time.sleep(0.2)
        assert "IPv6 is not available" not in log.read_text()
        assert {entry["host"] for entry in listening(log.read_text())} == {"127.0.0.1"}
