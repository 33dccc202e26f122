"""`python -m benchmarks.savings` runs end to end (on the first days of every trace the repository
carries, data/intensity: it takes any folder of traces), and the tables in docs/benchmarks.md are what the recorded rows in docs/savings/ render to."""

from __future__ import annotations

import json
import subprocess

import pytest
import sys
from pathlib import Path

from benchmarks.savings.__main__ import DOCS, PLOTS, generated_section, section
from benchmarks.savings.run import POLICIES, trace_files, trace_label
from gridshift.recordings import REPO_DATA_DIR

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)  # nine policies, three of them planners, over five traces
def test_the_command_runs_every_policy_over_every_trace(tmp_path: Path):
    out = tmp_path / "rows.json"
    data = REPO_DATA_DIR / "intensity"
    result = subprocess.run([sys.executable, "-m", "benchmarks.savings", "--data", str(data), "--days", "10",
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = json.loads(out.read_text())
    labels = [trace_label(path)[0] for path in trace_files(data)]
    assert len(labels) == 5
    assert {(r["trace"], r["policy"]) for r in rows} == {(label, p) for label in labels for p in POLICIES}
    for label in labels:
        assert label in result.stdout
    assert all(r["oracle_grams"] <= r["grams"] + 1e-6 for r in rows if r["workload"] != "restart")


def test_missing_traces_are_named_and_nothing_is_written(tmp_path: Path):
    out = tmp_path / "rows.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.savings", "--data", str(tmp_path / "nowhere"),
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "recorded traces missing" in result.stderr and "emaps_hourly_DE_2022.csv" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_the_docs_tables_are_the_recorded_rows():
    rows = json.loads((PLOTS / "rows.json").read_text())
    before = json.loads((PLOTS / "rows-before-issue-10.json").read_text())
    assert generated_section(DOCS.read_text(encoding="utf-8")) == section(rows, before), (
        "docs/benchmarks.md is stale: .venv/bin/python -m benchmarks.savings --rows docs/savings/rows.json "
        "--before docs/savings/rows-before-issue-10.json --docs")
    for name in ("savings-by-slack.png", "savings-by-trace.png", "week-de-2022.png"):
        assert (PLOTS / name).stat().st_size > 10_000
