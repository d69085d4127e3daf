"""What every generator in scripts/ shares: a generated block between two markers of a hand-written file,
and the one ending (write the generated files, or with --check compare them).

    from generated import write_or_check
    return write_or_check({path: text, ...}, check=args.check, command="make rules")

Imported as a sibling module: a script run as `scripts/NAME.py` has scripts/ on sys.path, and the ops
tests' `support.script_module` puts it there too.
"""
from __future__ import annotations

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


def shown(path: pathlib.Path) -> str:
    """The path as a reader finds it: relative to the repository when it is inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO)) if resolved.is_relative_to(REPO) else str(path)


def between_markers(text: str, begin: str, end: str, block: str, path: pathlib.Path) -> str:
    """`text` with what stands between the lines `begin` and `end` replaced by `block` (a generated table
    inside a hand-written README); exits naming `path` when a marker is missing."""
    before, found, rest = text.partition(begin)
    _, found_end, after = rest.partition(end)
    if not found or not found_end:
        raise SystemExit(f"{path}: the markers {begin!r} and {end!r} are missing")
    return f"{before}{begin}\n{block.strip()}\n{end}{after}"


def write_or_check(outputs: dict[pathlib.Path, str], *, check: bool, command: str) -> int:
    """With `check`: print one line per file whose text is not `outputs[path]` (naming it and `command`,
    which regenerates it) and return 1, else 0. Without: write the files that differ and return 0."""
    stale = []
    for path, text in outputs.items():
        if path.exists() and path.read_text() == text:
            continue
        if check:
            stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {shown(path)}")
    for path in stale:
        print(f"{shown(path)} is {'stale' if path.exists() else 'missing'}: run `{command}` to regenerate it", file=sys.stderr)
    return 1 if stale else 0
