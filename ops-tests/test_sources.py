"""Source checks: the Musl (static Linux SDK) branch of the code, which no build on this machine makes, and the\nREADME's flag table, generated from the flags' one declaration."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import support

REPO = Path(__file__).resolve().parent.parent
CONDITION = re.compile(r"#(?:if|elseif)\s+canImport\((\w+)\)")


def misplaced_c_library_calls(text: str) -> list[str]:
    """`Glibc.x` / `Musl.x` outside a branch that only that C library's build compiles: `#if canImport(M)`,
    or an `#else` after a branch for the other one (the Musl build has no module named Glibc, and the reverse)."""
    other = {"Glibc": "Musl", "Musl": "Glibc"}
    found = []
    chains: list[list[str | None]] = []  # per open #if: the module each branch so far imports (None: other test)
    in_else: list[bool] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        match = CONDITION.match(stripped)
        if stripped.startswith("#if"):
            chains.append([match.group(1) if match else None])
            in_else.append(False)
        elif stripped.startswith("#elseif"):
            chains[-1].append(match.group(1) if match else None)
        elif stripped.startswith("#else"):
            in_else[-1] = True
        elif stripped.startswith("#endif"):
            chains.pop()
            in_else.pop()
        else:
            for module in re.findall(r"\b(Glibc|Musl)\.\w", stripped):
                allowed = any(
                    chain[-1] == module if not is_else else module not in chain and other[module] in chain
                    for chain, is_else in zip(chains, in_else)
                )
                if not allowed:
                    found.append(f"{number}: {stripped}")
    return found


@pytest.mark.parametrize("path", sorted(str(p.relative_to(REPO)) for p in (REPO / "Sources").rglob("*.swift")))
def test_c_library_calls_are_qualified_only_inside_their_own_branch(path):
    assert misplaced_c_library_calls((REPO / path).read_text()) == []


def test_the_check_finds_a_misplaced_call():
    bad = "#if canImport(Glibc)\nimport Glibc\n#elseif canImport(Musl)\nimport Musl\n#endif\nlet n = Glibc.write(1, p, 1)\n"
    assert misplaced_c_library_calls(bad) == ["6: let n = Glibc.write(1, p, 1)"]
    good = "#if canImport(Glibc)\nGlibc.write(1, p, 1)\n#elseif canImport(Musl)\nMusl.write(1, p, 1)\n#endif\n"
    assert misplaced_c_library_calls(good) == []
    darwin_first = "#if canImport(Darwin)\nDarwin.read()\n#elseif canImport(Musl)\nMusl.read()\n#else\nGlibc.read()\n#endif\n"
    assert misplaced_c_library_calls(darwin_first) == []
    assert misplaced_c_library_calls("#if canImport(Musl)\nGlibc.read()\n#endif\n") == ["2: Glibc.read()"]
    assert misplaced_c_library_calls("#if canImport(Glibc)\nx()\n#else\nGlibc.read()\n#endif\n") == ["4: Glibc.read()"]


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
