"""The one launcher for long-running child processes (servers, Prometheus, Alertmanager, HAProxy, ...):
output to a log file, `wait` for a condition through `wait_until`, the log's tail in every failure,
and one stop policy (SIGCONT, SIGTERM, `grace` seconds, then SIGKILL). Standard library only:
Benchmarks/benchkit.py imports it under the system python3."""
from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import tempfile
from typing import Any, Callable, Sequence

from support import wait_until

STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL: keyport's default shutdown fits in it


class ProcessExited(Exception):
    """The process ended while a `wait` was still waiting for it."""


class Process:
    """`argv` started now in its own session (a Ctrl-C of the test run does not reach it), stdin from
    /dev/null unless `stdin` says otherwise, stdout and stderr to `log` (a temporary file, removed
    when the `with` block ends, if none is given). `env` is added to this process' environment, or
    replaces it with `inherit_env=False`. A context manager: leaving the block stops the process."""

    def __init__(
        self, argv: Sequence[str], *, name: str | None = None, log: pathlib.Path | None = None,
        env: dict[str, str] | None = None, inherit_env: bool = True, cwd: pathlib.Path | None = None,
        preexec: Callable[[], None] | None = None, stdin: Any = subprocess.DEVNULL,
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.name = name or pathlib.Path(self.argv[0]).name
        self._own_log = log is None
        if log is None:
            handle = tempfile.NamedTemporaryFile(prefix=f"{self.name}-", suffix=".log", delete=False)
            log = pathlib.Path(handle.name)
        else:
            handle = open(log, "wb")
        self.log = log
        try:
            self.popen = subprocess.Popen(
                self.argv, stdout=handle, stderr=subprocess.STDOUT, stdin=stdin, cwd=cwd, preexec_fn=preexec,
                env={**os.environ, **(env or {})} if inherit_env else dict(env or {}), start_new_session=True,
            )
        finally:
            handle.close()

    @classmethod
    def in_directory(cls, name: str, argv: Sequence[str], workdir: pathlib.Path, env: dict[str, str] | None = None,
                     **options: Any) -> "Process":
        """`argv` run in `workdir`, its output in `workdir/NAME.log` (kept for the test's report)."""
        return cls(argv, name=name, log=workdir / f"{name}.log", cwd=workdir, env=env, **options)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def describe(self, lines: int = 30) -> str:
        """Name, pid, state and the log's last lines: what every failure about this process says."""
        state = "running" if self.alive() else f"exited with {self.popen.returncode}"
        return f"{self.name} (pid {self.pid}, {state}), last lines of {self.log}:\n{self.log_tail(lines)}"

    def wait(self, condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
        """`condition`'s first truthy value, polled with `wait_until`. Raises TimeoutError at the timeout
        and ProcessExited as soon as the process has ended without the condition holding; both
        carry the log's tail."""
        def check() -> Any:
            try:
                value = condition()
            except Exception:
                value = None
                if self.alive():
                    raise
            if not value and not self.alive():
                raise ProcessExited(f"{what}: {self.describe()}")
            return value

        return wait_until(check, timeout, interval=interval, what=lambda: f"{what}: {self.describe()}",
                          give_up=ProcessExited)

    def signal(self, sig: int) -> None:
        self.popen.send_signal(sig)

    def stop(self, grace: float = STOP_GRACE) -> int | None:
        """SIGTERM (after SIGCONT: a stopped process cannot handle it), then SIGKILL after `grace`
        seconds; always reaps. Returns the exit status (negative: the signal that ended it)."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGCONT)
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(grace)
        return self.popen.returncode

    def __enter__(self) -> "Process":
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        if self._own_log:
            with contextlib.suppress(OSError):
                self.log.unlink()
