"""The power benchmark keeps running: smoke-run with tiny sizes (2 nodes x 60 containers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_power_aggregation_benchmark_runs(tmp_path):
    output = tmp_path / "result.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.power_aggregation", "--nodes", "2", "--containers", "60", "--cycles", "1",
         "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "cycle, steady 1" in result.stdout
    measured = json.loads(output.read_text())
    assert measured["nodes_up"] == 2
    assert measured["one_node"]["containers"] == 60
    assert [c["nodes_parsed"] for c in measured["cycles"]] == [2, 2]
