"""Ports data at production size: safe swaps of a file rewritten in place, the memory guard in a real
memory cgroup, and `keyport ports validate` on real, generated and broken files.

The served file is the real one (../shared/data/ports.json) or one made by scripts/generate-ports.py;
keyport is the binary under test (KEYPORT_BIN). The cgroup tests need root and a writable cgroup v1
memory controller (support.cgroup.MemoryCgroup) and are skipped, saying so, elsewhere.
"""
from __future__ import annotations

import gzip
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

import support
from support import cgroup
from support import keyport as hs

REAL_PORTS = support.REPO.parent / "shared" / "data" / "ports.json"
GENERATE = support.REPO / "scripts" / "generate-ports.py"


@pytest.fixture(scope="module", autouse=True)
def needs_keyport() -> None:
    support.require_keyport()


def generate(path: pathlib.Path, records: int, *extra: str) -> pathlib.Path:
    subprocess.run([sys.executable, str(GENERATE), str(records), "-o", str(path), *extra], check=True)
    return path


def first_id(path: pathlib.Path) -> str:
    match = re.search(rb'"([A-Z0-9]{5,})"\s*:\s*\{', path.read_bytes()[:4096])
    assert match, f"no record id at the start of {path}"
    return match.group(1).decode()


def failures(server: hs.Keyport) -> float:
    return hs.metric_sum(server.metrics(), "keyport_ports_loads_total", result="failure")


def successes(server: hs.Keyport) -> float:
    return hs.metric_sum(server.metrics(), "keyport_ports_loads_total", result="success")


def test_a_file_rewritten_in_place_slowly_is_loaded_once_settled_and_no_failure_is_counted(tmp_path):
    """The issue's measurement: the served file rewritten in place (half, a pause, the rest). With a pause
    longer than several polls but shorter than the settle time, keyport loads only the finished file."""
    served = tmp_path / "ports.json"
    served.write_bytes(REAL_PORTS.read_bytes())
    new = generate(tmp_path / "new.json", 3000, "--duplicates", "0").read_bytes()
    with hs.Keyport("--ports-file", str(served), "--ports-poll-interval", "200ms", "--ports-settle-time", "4s") as server:
        assert hs.metric_sum(server.metrics(), "keyport_ports") == 1632
        with open(served, "r+b") as file:  # in place: same inode, as `cp` over an existing file does
            file.truncate(0)
            file.write(new[: len(new) // 2])
            file.flush()
            os.fsync(file.fileno())
            time.sleep(2)  # ten polls see a half-written file
            file.write(new[len(new) // 2 :])
        server.wait(lambda: hs.metric_sum(server.metrics(), "keyport_ports") == 3000, 30, "the new data")
        assert failures(server) == 0, server.log_text()[-3000:]
        assert successes(server) == 2
        assert server.get_status(f"/ports/{first_id(tmp_path / 'new.json')}") == 200
        assert server.get_status("/ports/AEAJM") == 404
        assert "reload failed" not in server.log_text()


def test_a_stable_bad_file_is_still_a_counted_failure_and_the_old_data_keeps_serving(tmp_path):
    served = tmp_path / "ports.json"
    served.write_bytes(REAL_PORTS.read_bytes())
    with hs.Keyport("--ports-file", str(served), "--ports-poll-interval", "200ms", "--ports-settle-time", "500ms") as server:
        broken = tmp_path / "broken.json"
        broken.write_bytes(REAL_PORTS.read_bytes()[:250_000])
        os.rename(broken, served)  # "write a temporary file and rename it": the file is whole, just bad
        server.wait(lambda: failures(server) == 1, 30, "one failed reload")
        assert hs.metric_sum(server.metrics(), "keyport_ports") == 1632
        assert server.get_status("/ports/AEAJM") == 200
        assert server.get_status("/ready") == 200
        assert "ports file reload failed; still serving the previous data" in server.log_text()
        time.sleep(1.5)  # a stable bad file is not retried at every poll
        assert failures(server) == 1


def test_a_file_that_changes_while_it_is_loaded_is_retried_not_counted(tmp_path):
    """A SIGHUP load of a big file, and the file truncated and rewritten in place while it is read: the
    load fails (end of input), but the file changed under it, so it is retried once settled, uncounted.
    (The empty file lasts less than the settle time, so it is never loaded on its own.)"""
    served = generate(tmp_path / "ports.json", 300_000)
    content = served.read_bytes()
    with hs.Keyport("--ports-file", str(served), "--ports-poll-interval", "100ms", "--ports-settle-time", "1s",
                    "--log-level", "debug", ready_timeout=300) as server:
        server.signal(signal.SIGHUP)
        support.wait_until(lambda: '"reason":"SIGHUP"' in server.log_text(), 30, interval=0.01, what="the SIGHUP load")
        with open(served, "r+b") as file:
            file.truncate(0)
            time.sleep(0.3)  # the parser reads past what is left
            file.write(content)
        server.wait(lambda: successes(server) == 2, 300, "two successful loads")
        log = server.log_text()
        assert "changed while it was loaded" in log, log[-3000:]
        assert failures(server) == 0, log[-3000:]
        assert hs.metric_sum(server.metrics(), "keyport_ports") > 290_000


# --- keyport ports validate --------------------------------------------------------------------


def validate(path: pathlib.Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([support.keyport_bin(), "ports", "validate", str(path)], capture_output=True, text=True, timeout=300)


def test_validate_reports_records_bytes_rate_and_memory_of_the_real_file():
    result = validate(REAL_PORTS)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"records kept:\s+1632\b", out)
    assert re.search(r"duplicates replaced:\s+0\b", out)
    assert re.search(r"bytes:\s+501544\b", out)
    assert re.search(r"parse:\s+[\d.]+s at [\d.]+ MB/s", out)
    assert re.search(r"memory to serve:\s+about \d+ MiB", out)
    assert re.search(r"memory to reload:\s+about \d+ MiB", out)


def test_validate_counts_duplicates_and_measures_memory_that_grows_with_the_records(tmp_path):
    small = validate(generate(tmp_path / "small.json", 2_000, "--duplicates", "0.05"))
    big = validate(generate(tmp_path / "big.json", 100_000, "--duplicates", "0.05"))
    assert small.returncode == 0 and big.returncode == 0, small.stderr + big.stderr
    replaced = int(re.search(r"duplicates replaced:\s+(\d+)", big.stdout).group(1))
    kept = int(re.search(r"records kept:\s+(\d+)", big.stdout).group(1))
    assert replaced > 4000 and kept == 100_000  # the generator adds ~5% repeats of earlier ids
    held = lambda out: int(re.search(r"data held:\s+(\d+) MiB", out).group(1))  # noqa: E731
    assert held(big.stdout) > held(small.stdout) + 5, big.stdout  # measured, not a constant


@pytest.mark.parametrize("content, message", [
    (REAL_PORTS.read_bytes()[:3000] if REAL_PORTS.exists() else b"", r"byte 3000 \(line \d+, column \d+\): unexpected end of input"),
    (b'{"AAAAA": {"name": "x", "city": "y"}}', r'byte 10 .*record "AAAAA" has no "country"'),
    (b"<html>404</html>", r"byte 0 .*the top level must be a JSON object"),
    (b"", r"empty input"),
])
def test_validate_exits_1_with_the_byte_offset_on_a_bad_file(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = validate(bad)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), result.stderr


def test_validate_of_a_missing_file_or_a_directory_is_one_line(tmp_path):
    for path in (tmp_path / "missing.json", tmp_path):
        result = validate(path)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_validate_without_a_terminal_logs_progress_lines_every_few_seconds(tmp_path):
    big = generate(tmp_path / "big.json", 300_000)
    started = time.monotonic()
    result = validate(big)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if "records" in line and "MB/s" in line]
    if took < 6:
        pytest.skip(f"validate took {took:.1f}s: too fast for a progress line every 5 s")
    assert progress, result.stderr
    assert all("\r" not in line and "% " not in line or "of " in line for line in progress)


# --- the memory guard in a real memory cgroup ---------------------------------------------------


@pytest.fixture
def in_cgroup(tmp_path, monkeypatch):
    """Starts keyport (through hs.Keyport) inside a fresh memory cgroup: a wrapper joins the group and execs
    the binary, so every byte keyport allocates is charged there. Yields a function making the group."""
    made: list[cgroup.MemoryCgroup] = []

    def enter(limit: int) -> cgroup.MemoryCgroup:
        try:
            group = cgroup.MemoryCgroup(limit, f"keyport-ports-{os.getpid()}-{len(made)}")
        except OSError as err:
            pytest.skip(f"no writable memory cgroup here: {err}")
        made.append(group)
        wrapper = tmp_path / f"keyport-in-cgroup-{len(made)}"
        wrapper.write_text(f'#!/bin/sh\necho $$ > "{group.path}/cgroup.procs" && exec "{support.keyport_bin()}" "$@"\n')
        wrapper.chmod(0o755)
        monkeypatch.setenv("KEYPORT_BIN", str(wrapper))
        return group

    yield enter
    for group in made:
        group.remove()


def test_a_reload_that_would_pass_the_cgroup_limit_is_stopped_and_the_old_data_keeps_serving(tmp_path, in_cgroup):
    data = generate(tmp_path / "ports.json", 150_000)
    group = in_cgroup(1 << 30)
    with hs.Keyport("--ports-file", str(data), ready_timeout=300) as server:
        assert hs.metric_sum(server.metrics(), "keyport_ports") > 140_000
        loaded = server.rss_bytes()
        # Room for the guard's 16 MiB headroom and a little, not for a second copy of the data.
        limit = loaded + (24 << 20)
        (group.path / "memory.limit_in_bytes").write_text(str(limit))
        server.signal(signal.SIGHUP)
        server.wait(lambda: failures(server) == 1, 300, "one failed load")
        assert server.popen.poll() is None, "keyport was killed"
        assert server.get_status("/ready") == 200
        assert server.get_status(f"/ports/{first_id(data)}") == 200
        samples = server.metrics()
        assert hs.metric_sum(samples, "keyport_memory_limit_bytes") == limit
        assert hs.metric_sum(samples, "keyport_ports") > 140_000
        log = server.log_text()
        assert re.search(r"would pass the memory limit of [\d.]+ MiB \(in use [\d.]+ MiB, needed by this load so far [\d.]+ MiB", log), log[-2000:]
        assert "still serving the previous data" in log
        # No OOM in the group: the guard stopped first.
        assert int((group.path / "memory.failcnt").read_text()) == 0 or server.popen.poll() is None


def test_a_start_up_load_that_cannot_fit_leaves_keyport_alive_and_not_ready(tmp_path, in_cgroup):
    data = generate(tmp_path / "ports.json", 150_000)
    in_cgroup(48 << 20)
    with hs.Keyport("--ports-file", str(data), wait_ready=False) as server:
        server.wait(lambda: failures(server) == 1, 300, "one failed load")
        time.sleep(1)
        assert server.popen.poll() is None
        raw = hs.request(server.port, b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert raw.status == 503
        assert server.get_status("/health") == 200
        assert "memory limit" in server.log_text()


# --- gzip ----------------------------------------------------------------------------------------


def test_validate_reads_a_gzip_file_by_its_magic_bytes_whatever_its_name(tmp_path):
    packed = tmp_path / "ports.json"  # no .gz: the magic bytes decide
    packed.write_bytes(gzip.compress(REAL_PORTS.read_bytes()))
    result = validate(packed)
    assert result.returncode == 0, result.stderr
    assert re.search(r"records kept:\s+1632\b", result.stdout)
    assert re.search(rf"bytes:\s+{packed.stat().st_size} \(501544 uncompressed\)", result.stdout), result.stdout


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[: len(data) // 2], r"gzip: the compressed data ends early \(truncated file\) at compressed byte \d+"),
    (lambda data: data[:3] + b"\x99" + data[4:], r"gzip: corrupt compressed data \(.+\) at compressed byte \d+"),
    (lambda data: data[:2] + b"\x07" + data[3:], r"gzip: corrupt compressed data \(unknown compression method\)"),
    (lambda data: data[:-8] + bytes(8), r"gzip: corrupt compressed data \(incorrect data check\)"),
])
def test_validate_gives_one_line_for_a_corrupt_or_truncated_gzip_file(tmp_path, damage, message):
    bad = tmp_path / "ports.json.gz"
    bad.write_bytes(damage(gzip.compress(REAL_PORTS.read_bytes())))
    result = validate(bad)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), result.stderr


def test_the_server_serves_a_gzip_file_and_keeps_it_when_a_truncated_one_replaces_it(tmp_path):
    served = tmp_path / "ports.json"
    packed = gzip.compress(REAL_PORTS.read_bytes())
    served.write_bytes(packed)
    with hs.Keyport("--ports-file", str(served), "--ports-poll-interval", "200ms", "--ports-settle-time", "500ms") as server:
        assert hs.metric_sum(server.metrics(), "keyport_ports") == 1632
        assert server.get_status("/ports/THMAT") == 200
        broken = tmp_path / "next.json"
        broken.write_bytes(packed[: len(packed) // 3])
        os.rename(broken, served)
        server.wait(lambda: failures(server) == 1, 30, "one failed reload")
        assert hs.metric_sum(server.metrics(), "keyport_ports") == 1632
        assert "gzip: the compressed data ends early" in server.log_text()
