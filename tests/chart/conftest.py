"""Fixtures of the chart tests: the chart exactly as a clone of the repository has it.

`chart_as_cloned` copies the files git tracks under charts/gridshift and nothing else (no
charts/ folder of fetched dependencies, no local leftovers), so what lints and installs here is
what `helm install gridshift charts/gridshift` gets from a fresh clone, without network.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.chart.render import CHART, ROOT


def tracked_chart_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z", "--", str(CHART.relative_to(ROOT))], cwd=ROOT,
                            capture_output=True, check=True, timeout=60).stdout
    return [Path(name) for name in listed.decode().split("\0") if name]


@pytest.fixture(scope="session")
def chart_as_cloned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("clone") / "gridshift"
    for name in tracked_chart_files():
        target = copy / name.relative_to(CHART.relative_to(ROOT))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return copy
