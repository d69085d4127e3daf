"""The Grafana dashboard as the tests read it: its file, Grafana's variable interpolation, and what
counts as data in a Prometheus answer (ops-tests/test_alerts_live.py, test_chart_runtime.py)."""
from __future__ import annotations

import json
import re
from typing import Any, Iterator

from support import CHART

DASHBOARD = CHART / "files" / "dashboards" / "keyport.json"
# Panels whose metrics exist only while keyport serves HTTPS: empty on the plain-HTTP live stack,
# checked against test_chart_runtime.py's Prometheus scraping keyport over TLS instead.
TLS_PANELS = {"Certificate expires in", "TLS certificate reloads"}


def load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query of every panel."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def substitute(expr: str, variables: dict[str, str]) -> str:
    """Grafana's interpolation of $name and ${name} (unknown names are left alone, and then fail)."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), m.group(0)), expr)


def has_data(result: list[dict]) -> bool:
    values = [v[1] for series in result for v in (series.get("values") or [series["value"]])]
    return any(v not in ("NaN", "+Inf", "-Inf") for v in values)
