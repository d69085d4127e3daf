"""A cgroup v1 memory limit for a child process (so keyport reports keyport_memory_limit_bytes)."""
from __future__ import annotations

import contextlib
import os
import pathlib

from support import wait_until


class MemoryCgroup:
    """A cgroup v1 memory group nested in this process' own, with a hard limit.

    `enter` is a preexec function: the child joins the group before exec, so keyport starts inside
    the limit. `remove()` deletes the group once it is empty.
    """

    ROOT = pathlib.Path("/sys/fs/cgroup/memory")

    def __init__(self, limit_bytes: int, name: str) -> None:
        self.limit_bytes = limit_bytes
        own = ""
        for line in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                own = path
        if not own or not (self.ROOT / "memory.limit_in_bytes").exists():
            raise OSError("no cgroup v1 memory controller at /sys/fs/cgroup/memory")
        self.path = self.ROOT / own.lstrip("/") / name
        self.path.mkdir()
        try:
            (self.path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            written = int((self.path / "memory.limit_in_bytes").read_text())
            if written > limit_bytes or written < limit_bytes - 65536:
                raise OSError(f"{self.path}: limit reads back {written}, wrote {limit_bytes}")
        except OSError:
            self.remove()
            raise

    def enter(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        if not self.path.exists():
            return
        parent = self.path.parent / "cgroup.procs"
        for pid in (self.path / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                parent.write_text(pid)
        # The kernel lets an emptied group go a moment after its last process has moved out.
        wait_until(lambda: self.path.rmdir() or True, 2.0, what=f"{self.path} to be removable")
