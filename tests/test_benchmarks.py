"""Benchmarks are not tests, but they must keep running: each is smoke-run with tiny sizes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_grid_exporter_benchmark_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.grid_exporter", "--scrapes", "3", "--parse-runs", "1", "--warm-rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "scrape   GET /metrics" in result.stdout


def test_forecast_error_benchmark_runs():
    result = subprocess.run([sys.executable, "-m", "benchmarks.forecast_error", "--data", str(ROOT / "data" / "intensity")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("persistence 24 h") == 5  # one row per recorded trace


def test_forecaster_exporter_benchmark_runs(tmp_path):
    import json

    output = tmp_path / "forecaster.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.forecaster_exporter", "--zones", "3", "--output", str(output)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    measured = json.loads(output.read_text())
    assert (measured["zones"], measured["models"]) == (3, 3) and measured["fit_seconds"]["max"] > 0
    assert "every zone fitted and forecast" in result.stdout


def test_action_service_benchmark_runs(tmp_path):
    import json

    output = tmp_path / "action_service.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.action_service", "--namespaces", "3,6", "--posts", "5", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "hold: webhook POST -> all patched" in result.stdout
    sizes = json.loads(output.read_text())["sizes"]
    assert [(size["namespaces"], size["workloads"]) for size in sizes] == [(3, 15), (6, 30)]
    assert all(size["emulator"]["requests"]["POST events"] == 2 * size["workloads"] for size in sizes)
    # the watch cache answers a pass: no read of the API server; writes never past the limit
    assert all(size["api_reads_per_pass"] == 0 for size in sizes)
    # As sent, never past the limit; as they arrive (on a loaded machine, with the emulator's own
    # delays) nothing bursts. The gate itself is tested exactly in tests/actions/test_write_pacing.py.
    assert all(0 < size["pacing"]["most_writes_sent_in_a_second"] <= size["pacing"]["max_writes_per_second"]
               for size in sizes)
    assert all(0 < size["pacing"]["most_writes_in_a_second"] <= 1.25 * size["pacing"]["max_writes_per_second"]
               for size in sizes)


def test_serving_benchmark_runs(tmp_path):
    import json

    output = tmp_path / "serving.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.serving", "--servers", "waitress", "--slow", "20", "--requests", "40",
         "--output", str(output)], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "slow clients released" in result.stdout
    [waitress] = json.loads(output.read_text())["servers"]
    assert waitress["added"]["threads"] == 0 and waitress["released_after_seconds"] is not None


def test_entsoe_pacing_benchmark_runs(tmp_path):
    import json

    output = tmp_path / "pacing.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.entsoe_pacing", "--minutes", "0.1", "--zones", "2",
                             "--per-minute", "12", "--share", "5", "--output", str(output)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    measured = json.loads(output.read_text())
    # 2 zones x 5 datasets and a backfill of 2 x 4 x 366 days want more than 12 in the first minute: 12 arrive
    assert measured["requests"] == measured["most_in_any_60_seconds"] == measured["limit_per_minute"] == 12
    assert measured["backfill"]["done"] + measured["backfill"]["failed"] <= 5
    assert "most in any sliding 60 s" in result.stdout
