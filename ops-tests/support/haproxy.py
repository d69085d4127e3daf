"""HAProxy in front of keyport instances, run from the repository's example configuration
(deploy/haproxy/haproxy.cfg, addresses through its environment variables), and its runtime API
(admin socket): server states, moving a slot to a new instance."""
from __future__ import annotations

import csv
import io
import os
import pathlib
import re
import socket
import subprocess
import time

from support import REPO, tool, wait_until
from support.process import Process

CONFIG = REPO / "deploy" / "haproxy" / "haproxy.cfg"
BACKEND = "keyport"


def timeouts(config: pathlib.Path = CONFIG) -> dict[str, float]:
    """`timeout NAME VALUE` lines in seconds: connect, server, client, check, ..."""
    return {name: seconds(value) for name, value in
            re.findall(r"^\s*timeout\s+(\S+)\s+(\d+(?:ms|s|m)?)\s*$", config.read_text(), re.M)}


def check_settings(config: pathlib.Path = CONFIG) -> dict[str, float]:
    """The health-check timings of the config: inter and `timeout check` in seconds, rise and fall."""
    line = re.search(r"^\s*default-server\s+(.*)$", config.read_text(), re.M)
    assert line and "check" in timeouts(config), f"{config}: no default-server line or `timeout check`"
    words = line.group(1).split()
    settings = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i] in {"inter", "rise", "fall"}}
    assert settings.keys() == {"inter", "rise", "fall"}, f"{config}: default-server sets {settings}"
    return {
        "inter": seconds(settings["inter"]), "rise": int(settings["rise"]), "fall": int(settings["fall"]),
        "timeout_check": timeouts(config)["check"],
    }


def server_slots(config: pathlib.Path = CONFIG) -> list[str]:
    """The backend's server names in order (keyport1, ... including the spare slot)."""
    return re.findall(rf"^\s*server\s+(\S+)\s", config.read_text(), re.M)


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)?", text)
    assert match, text
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60, None: 0.001}[match[2]]


class HAProxy:
    """`haproxy -f deploy/haproxy/haproxy.cfg -db` on a free loopback port with the given servers."""

    def __init__(self, workdir: pathlib.Path, port: int, servers: dict[str, str]) -> None:
        binary = tool("haproxy")
        if not binary:
            raise RuntimeError("haproxy not installed: scripts/install-test-deps.sh (Debian package haproxy)")
        self.port = port
        self.socket_path = workdir / "haproxy.sock"
        env = {"KEYPORT_HAPROXY_BIND": f"127.0.0.1:{port}", "KEYPORT_HAPROXY_SOCKET": str(self.socket_path)}
        for index, name in enumerate(server_slots(), start=1):
            if name in servers:
                env[f"KEYPORT_SERVER_{index}"] = servers[name]
        check = subprocess.run([binary, "-c", "-f", str(CONFIG)], capture_output=True, text=True, timeout=30,
                               env={**os.environ, **env})
        assert check.returncode == 0, check.stdout + check.stderr
        self.process: Process = Process.in_directory("haproxy", [binary, "-f", str(CONFIG), "-db"], workdir, env)
        self.process.wait(lambda: self.socket_path.exists() and self.command("show info"), 20, "haproxy to start")

    def command(self, line: str) -> str:
        """One runtime API command on the admin socket; returns its answer."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def states(self) -> dict[str, str]:
        """Server name -> status (UP, DOWN, MAINT, `UP 1/2` while going down, ...), from `show stat`."""
        text = self.command("show stat").lstrip("# ")
        return {row["svname"]: row["status"] for row in csv.DictReader(io.StringIO(text))
                if row["pxname"] == BACKEND and row["svname"] not in {"FRONTEND", "BACKEND"}}

    def retries(self) -> int:
        """Requests the backend has retried (wretr) or redispatched to another server (wredis) so far."""
        text = self.command("show stat").lstrip("# ")
        row = next(r for r in csv.DictReader(io.StringIO(text)) if r["pxname"] == BACKEND and r["svname"] == "BACKEND")
        return int(row["wretr"] or 0) + int(row["wredis"] or 0)

    def wait_state(self, server: str, status: str, timeout: float) -> float:
        """Waits until `server` has exactly `status`; returns how long that took."""
        started = time.monotonic()
        wait_until(lambda: self.states().get(server) == status, timeout, interval=0.05,
                   what=lambda: f"haproxy to see {server} {status} (states {self.states()}):\n{self.process.log_tail(10)}")
        return time.monotonic() - started

    def point(self, server: str, port: int) -> None:
        """Moves a slot to 127.0.0.1:port; it serves only after `rise` good checks there, like a new pod
        that must pass its readiness probe. A slot whose instance went away stays DOWN on its own
        (its checks fail), so only the spare slot comes out of maintenance here: as DOWN, because
        leaving maintenance alone would count it UP before any check passed."""
        commands = [f"set server {BACKEND}/{server} addr 127.0.0.1 port {port}"]
        if self.states()[server] == "MAINT":
            commands += [f"set server {BACKEND}/{server} health down", f"set server {BACKEND}/{server} state ready"]
        for line in commands:
            answer = self.command(line)
            assert "No such" not in answer and "Require" not in answer, (line, answer)

    def stop(self) -> None:
        self.process.stop()

