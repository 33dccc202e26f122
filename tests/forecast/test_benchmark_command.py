"""`python -m benchmarks.forecast` on the repository's slices: the JSON has the issue's shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "data" / "forecast"


def test_the_benchmark_command_scores_a_file_of_the_benchmark_format(tmp_path):
    out = tmp_path / "out.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.forecast", "--emissions", str(FOLDER / "DE_lifecycle_emissions_2021-06-01_2021-07-14.csv"),
         "--fuel-forecast", str(FOLDER / "DE_fuel_forecast_2021-06-01_2021-07-14"), "--target", "lifecycle",
         "--carboncast", str(FOLDER / "DE_carbon_from_src_forecasts_lifecycle_Jul_Dec_2021_first_14_windows.csv"),
         "--jobs", "1", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    document = json.loads(out.read_text())
    models = document["models"]
    assert set(models) == {"forecaster", "persistence_24h", "entsoe_method", "carboncast"}
    for name, entry in models.items():
        for day in ("day1", "day2"):
            assert set(entry[day]) == {"mean", "median", "p90", "p95", "days"}, (name, day)
            if name == "entsoe_method" and day == "day2":  # the TSO forecasts reach day 1 only
                assert entry[day]["days"] == 0 and entry[day]["mean"] is None
                continue
            assert entry[day]["days"] > 0, (name, day)
            assert entry[day]["mean"] > 0
    assert models["carboncast"]["day1"]["days"] == 13  # its windows issued 1-13 July lie in the scored days
    assert 0 <= models["forecaster"]["coverage_p10_p90"] <= 1
    assert document["fuel"] == ["solar", "wind"]
    assert "mean daily MAPE" in result.stdout and "persistence" in result.stdout


def test_without_the_shared_data_it_says_so_in_one_line():
    result = subprocess.run([sys.executable, "-m", "benchmarks.forecast"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "missing" in result.stderr
