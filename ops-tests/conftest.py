"""Fixtures shared by the chart tests (test_chart_*.py): the chart rendered once per module."""

from __future__ import annotations

import pytest

from support.chart import Rendered, SCENARIOS, render


@pytest.fixture(scope="module")
def default() -> Rendered:
    return render({})


@pytest.fixture(scope="module")
def rendered_scenarios() -> dict[str, Rendered]:
    return {name: render(values) for name, values in SCENARIOS.items()}
