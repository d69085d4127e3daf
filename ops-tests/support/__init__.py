"""Support for keyport's ops tests: one place for each helper, one behaviour each.

- this module: repository paths, tools, free ports, `wait_until`, the keyport binary;
- `support.keyport`: a keyport process on a free port, raw HTTP, metrics parsing, keep-alive load;
- `support.alerting`: rendering the rules, child processes, the Alertmanager webhook receiver,
  cgroup memory limits, runbook anchors (`python3 -m support.alerting webhook` from ops-tests/);
- `support.chart`: rendering the chart with Helm's own engine (helm-python-sdk);
- `support.haproxy`: HAProxy from deploy/haproxy/haproxy.cfg in front of keyport instances, its runtime API;
- `support.otlp`: a real OTLP/HTTP trace receiver (opentelemetry-proto decodes what keyport exports).
"""
from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
from typing import Any, Callable

REPO = pathlib.Path(__file__).resolve().parents[2]
OPS_TESTS = REPO / "ops-tests"
CHART = REPO / "charts" / "keyport"
OPENAPI = REPO / "Sources" / "KeyportCore" / "Resources" / "openapi.yaml"
RUNBOOKS = REPO / "docs" / "runbooks.md"


def script_module(name: str) -> Any:
    """`scripts/NAME.py` as a module (the generators' names have dashes), for their `main(["--check"])`.
    scripts/ goes on sys.path as when the script runs, so its sibling imports (`generated`) resolve."""
    scripts = str(REPO / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    path = REPO / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool(name: str) -> str | None:
    """Path of a program on PATH (promtool, amtool, prometheus, haproxy, ...), or None."""
    return shutil.which(name)


def venv_tool(name: str) -> str:
    """A console script of the running interpreter's venv (schemathesis, locust, hadolint), else one on
    PATH; fails the test when there is neither."""
    import pytest

    beside = pathlib.Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found beside {sys.executable} or on PATH: run `make venv`")
    return found


def run_tool(*args: str, cwd: pathlib.Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    """A loopback port that was free a moment ago (fixed ports are taken on these machines)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str | Callable[[], str] = "condition"
) -> Any:
    """Polls `predicate` until it returns something truthy and returns that. An exception from the
    predicate counts as "not yet" (a server still starting refuses connections). At the timeout it
    raises TimeoutError naming `what` (a string, or a function called then, e.g. for a log tail) and
    the last exception seen."""
    deadline = time.time() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 (any failure of the predicate means "not yet")
            last_error = error
        if time.time() >= deadline:
            description = what() if callable(what) else what
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {description}{detail}")
        time.sleep(interval)


def keyport_bin() -> str | None:
    """The keyport server binary from KEYPORT_BIN (or the default debug build), if it exists."""
    path = os.environ.get("KEYPORT_BIN") or str(REPO / ".build" / "debug" / "keyport")
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
