"""The generators in scripts/ share one ending, scripts/generated.py's `write_or_check`: with --check a
stale or missing output is named with the command that regenerates it, exit status 1, nothing written;
without --check the output is written. Each generator is run for real against a copy of one of its
outputs in a temporary directory."""

from __future__ import annotations

import pytest

import support

# script: (the module attribute holding one output's path, a hand edit of that output, the command named)
GENERATORS = {
    "generate-chart-schema": ("SCHEMA", ('"maximum": 1048576', '"maximum": 2097152'), "make chart-docs"),
    "generate-dashboard": ("OUTPUT", ('"schemaVersion": 39', '"schemaVersion": 38'), "make dashboard"),
    "generate-flag-table": ("SERVER_ENV", ("env: KEYPORT_SRV_PORT", "env: KEYPORT_PORT"), "make docs"),
    "render-alerting": ("DEPLOY_PROMETHEUS_TLS", ("scheme: https", "scheme: http"), "make rules"),
}


@pytest.fixture
def generator(request, monkeypatch):
    script = request.param
    if script == "generate-flag-table":
        binary = support.require_keyport()
        monkeypatch.setenv("KEYPORT_BIN", binary)
    return script, support.script_module(script)


@pytest.mark.parametrize("generator", GENERATORS, indirect=True)
def test_check_names_a_stale_or_missing_output_and_its_command_then_writing_refreshes_it(generator, tmp_path, monkeypatch, capsys):
    script, module = generator
    attribute, (old, new), command = GENERATORS[script]
    assert module.main(["--check"]) == 0, capsys.readouterr().err
    real = getattr(module, attribute)
    fresh = real.read_text()
    assert old in fresh, (script, old)
    copy = tmp_path / real.name
    copy.write_text(fresh.replace(old, new, 1))
    monkeypatch.setattr(module, attribute, copy)
    capsys.readouterr()

    assert module.main(["--check"]) == 1
    assert capsys.readouterr().err == f"{copy} is stale: run `{command}` to regenerate it\n"
    assert new in copy.read_text(), "--check must not write"
    assert module.main([]) == 0
    assert copy.read_text() == fresh
    assert module.main(["--check"]) == 0

    copy.unlink()
    capsys.readouterr()
    assert module.main(["--check"]) == 1
    assert capsys.readouterr().err == f"{copy} is missing: run `{command}` to regenerate it\n"
    assert not copy.exists()


def test_a_stale_file_in_the_repository_is_named_by_its_repository_path(capsys):
    generated = support.script_module("generated")
    inside = support.REPO / "deploy" / "no-such-output.yml"
    assert generated.write_or_check({inside: "x: 1\n"}, check=True, command="make rules") == 1
    assert capsys.readouterr().err == "deploy/no-such-output.yml is missing: run `make rules` to regenerate it\n"
    assert not inside.exists()
