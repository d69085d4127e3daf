"""The anchors of docs/runbooks.md, as GitHub makes them, which every alert's runbook_url must point at."""
from __future__ import annotations

import pathlib

from support import RUNBOOKS


def github_anchor(heading: str) -> str:
    """GitHub's heading id: lower case, punctuation dropped, spaces to dashes."""
    slug = "".join(c for c in heading.strip().lower() if c.isalnum() or c in " -_")
    return slug.replace(" ", "-")


def runbook_anchors(path: pathlib.Path = RUNBOOKS) -> set[str]:
    anchors = set()
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            anchors.add(github_anchor(line.lstrip("#")))
    return anchors
