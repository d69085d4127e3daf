"""The alerting rules and the Alertmanager config: the chart's files/ (the one hand-written source), the
compose stack's generated copies, promtool's rule tests, and scripts/render-alerting.py as a module."""
from __future__ import annotations

from support import CHART, OPS_TESTS, REPO, script_module

RULES_TEMPLATE = CHART / "files" / "keyport.rules.yaml"
ALERTMANAGER_TEMPLATE = CHART / "files" / "alertmanager.yaml"
DEPLOY_RULES = REPO / "deploy" / "prometheus" / "keyport.rules.yaml"
DEPLOY_ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
RULE_TESTS = OPS_TESTS / "rules"


def load_renderer():
    """scripts/render-alerting.py as a module (its name has a dash)."""
    return script_module("render-alerting")
