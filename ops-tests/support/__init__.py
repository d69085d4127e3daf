"""Support for keyport's ops tests: one place for each helper, one behaviour each.

- this module: repository paths, `require_tool` (the one rule for a missing tool), free ports,
  `wait_until` (the one wait helper), the keyport binary;
- `support.process`: the one launcher of long-running processes (log file, wait, log tail, stop policy);
- `support.keyport`: a keyport process on a free port, raw HTTP, metrics parsing, keep-alive load;
- `support.rules`: the alerting rules and Alertmanager config, rendered as the chart and compose stack get them;
- `support.webhook`: the Alertmanager webhook receiver (`python3 -m support.webhook` from ops-tests/);
- `support.cgroup`: a cgroup v1 memory limit for a child process;
- `support.runbooks`: the runbook anchors alerts link to;
- `support.chart`: rendering the chart with Helm's own engine (helm-python-sdk), lookups the chart tests share;
- `support.dashboard`: the Grafana dashboard's queries and what counts as data;
- `support.haproxy`: HAProxy from deploy/haproxy/haproxy.cfg in front of keyport instances, its runtime API;
- `support.otlp`: a real OTLP/HTTP trace receiver (opentelemetry-proto decodes what keyport exports);
- `support.tls`: a throwaway openssl CA issuing server and client certificates (TLS tests, the HTTPS download server).
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
from typing import Any, Callable, NoReturn

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
    """Path of a program beside the running interpreter (the venv's console scripts: checkov, hadolint,
    schemathesis, ...) or on PATH (promtool, haproxy, ...), or None."""
    return shutil.which(name, path=os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")]))


def in_ci() -> bool:
    """CI sets CI=true (.ci/run): there every tool the tests need must have been installed."""
    return os.environ.get("CI", "").lower() in {"true", "1"}


def missing(reason: str) -> NoReturn:
    """The one rule for something a test needs and this machine lacks: under CI=true the test fails
    (the install step is broken), elsewhere it is skipped; both say `reason`."""
    import pytest

    if in_ci():
        pytest.fail(f"{reason} (CI=true: every tool must be installed)", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str, install: str) -> str:
    """The path of `name` (see `tool`); missing, `missing` names it and `install`, the step that provides it."""
    return tool(name) or missing(f"{name} is not installed: {install}")


def require_keyport() -> str:
    """The keyport binary (`keyport_bin`); missing, the test is skipped, or failed under CI=true. A
    KEYPORT_BIN that names no executable always fails: it is a mistake, not a missing build."""
    import pytest

    found = keyport_bin()
    if not found and os.environ.get("KEYPORT_BIN"):
        pytest.fail(f"KEYPORT_BIN={os.environ['KEYPORT_BIN']} is not an executable", pytrace=False)
    return found or missing("no keyport binary: set KEYPORT_BIN or run `make build`")


def run_tool(*args: str, cwd: pathlib.Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    """A loopback port that was free a moment ago (fixed ports are taken on these machines)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str | Callable[[], str] = "condition",
    give_up: type[BaseException] | tuple[type[BaseException], ...] = (),
) -> Any:
    """Polls `predicate` until it returns something truthy and returns that. An exception from the
    predicate counts as "not yet" (a server still starting refuses connections), except one of
    `give_up`, which ends the wait at once. At the timeout it raises TimeoutError naming `what` (a
    string, or a function called then, e.g. for a log tail) and the last exception seen."""
    deadline = time.time() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except give_up:
            raise
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
