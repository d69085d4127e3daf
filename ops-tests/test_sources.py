"""Source checks: the platform's C library is named in one module only (Sources/SystemLibC, whose Musl branch no
build on this machine compiles), and the README's flag table is generated from the flags' one declaration."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import support

REPO = Path(__file__).resolve().parent.parent
PLATFORM_MODULE = REPO / "Sources" / "SystemLibC"
# `canImport(Glibc)`, `import Musl`, `Darwin.read(`: what only the platform module may write.
C_LIBRARY_NAME = re.compile(r"canImport\((?:Glibc|Musl|Darwin)\)|\bimport\s+(?:Glibc|Musl|Darwin)\b|\b(?:Glibc|Musl|Darwin)\.\w")


def c_library_mentions(text: str) -> list[str]:
    """The lines that name a C library module (an import, a `canImport` test or a qualified call)."""
    return [f"{number}: {line.strip()}" for number, line in enumerate(text.splitlines(), 1) if C_LIBRARY_NAME.search(line)]


def swift_files_outside_the_platform_module() -> list[str]:
    roots = [REPO / name for name in ("Sources", "Tests", "Benchmarks", "Fuzz")]
    return sorted(
        str(path.relative_to(REPO)) for root in roots for path in root.rglob("*.swift")
        if PLATFORM_MODULE not in path.parents and ".build" not in path.parts
    )


@pytest.mark.parametrize("path", swift_files_outside_the_platform_module())
def test_only_the_platform_module_names_the_c_library(path):
    """Every other file writes `import SystemLibC` (and `SystemLibC.read(...)` where a method shadows the call),
    so the Musl branch of the static Linux SDK is written once, beside the Glibc one."""
    assert c_library_mentions((REPO / path).read_text()) == [], "import SystemLibC instead"


def test_the_check_finds_a_c_library_named_outside_the_platform_module(tmp_path):
    source = REPO / "Sources" / "KeyportPorts" / "ByteSource.swift"
    assert c_library_mentions(source.read_text()) == []
    planted = tmp_path / source.name
    planted.write_text(source.read_text() + "let n = Glibc.write(1, p, 1)\n")
    assert c_library_mentions(planted.read_text()) == [f"{len(planted.read_text().splitlines())}: let n = Glibc.write(1, p, 1)"]
    block = "#if canImport(Glibc)\nimport Glibc\n#elseif canImport(Musl)\nimport Musl\n#endif\n"
    assert c_library_mentions(block) == ["1: #if canImport(Glibc)", "2: import Glibc", "3: #elseif canImport(Musl)", "4: import Musl"]
    assert c_library_mentions("_ = Darwin.close(fd)\n") == ["1: _ = Darwin.close(fd)"]
    assert c_library_mentions("import SystemLibC\n_ = SystemLibC.close(fd)\n// Glibc's Swift module lacks getrandom\n") == []
    assert c_library_mentions((PLATFORM_MODULE / "SystemLibC.swift").read_text()) != [], "the platform module is where they are named"


def flag_table_generator():
    return support.script_module("generate-flag-table")


def test_the_readme_flag_table_is_the_binarys_own(tmp_path, monkeypatch):
    """README.md's flag table is `keyport flags`' output, and --check notices a hand edit of it."""
    module = flag_table_generator()
    binary = support.keyport_bin()
    assert binary, "no keyport binary: run `make build`"
    monkeypatch.setenv("KEYPORT_BIN", binary)
    assert module.main(["--check"]) == 0, "stale flag table: run `make docs`"
    edited = tmp_path / "README.md"
    edited.write_text(module.README.read_text().replace("| `--max-size` | `KEYPORT_MAX_SIZE` | 1024 |", "| `--max-size` | `KEYPORT_MAX_SIZE` | 2048 |", 1))
    monkeypatch.setattr(module, "README", edited)
    assert module.main(["--check"]) == 1
    assert module.main([]) == 0
    assert "| `--max-size` | `KEYPORT_MAX_SIZE` | 1024 |" in edited.read_text()
