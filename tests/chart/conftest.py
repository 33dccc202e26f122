"""Fixtures of the chart tests: a copy of the chart with a stand-in for the Kepler subchart.

The Kepler chart is a declared dependency that cannot be fetched here (no network). Rendering
through the SDK does not need it, but `helm lint` reports it missing and an install (even a
dry run) refuses to start without it, as the Helm CLI does. The stand-in is an empty chart of
that name and a matching version in the copy's charts/, so both get past that check and test
the rest of the chart; the copy is otherwise the chart as it is in the repository.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.chart.render import CHART


@pytest.fixture(scope="session")
def chart_with_kepler_stub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("chart") / "gridshift"
    shutil.copytree(CHART, copy)
    stub = copy / "charts" / "kepler"
    stub.mkdir(parents=True)
    (stub / "Chart.yaml").write_text("apiVersion: v2\nname: kepler\nversion: 0.11.0\n", encoding="utf-8")
    return copy
