"""The planner on published forecasts (benchmarks/savings/published.py) and the change-budget
frontier (benchmarks/savings/frontier.py), on the repository's real excerpts: CarbonCast's own
published DE forecasts (its first 14 windows, July 2021) and the measured intensity beside them."""

from __future__ import annotations

import csv
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.savings import forecasts, frontier, published
from benchmarks.savings.grid import Grid

ROOT = Path(__file__).resolve().parents[2]
FORECASTS = "DE_carbon_from_src_forecasts_lifecycle_Jul_Dec_2021_first_14_windows.csv"


@pytest.fixture
def region(tmp_path: Path, recorded_data: Path) -> Path:
    """A CarbonCast-format region folder: the measured hours of the 14 windows' first days as
    `DE_lifecycle_emissions.csv`, CarbonCast's forecasts for them beside it."""
    folder = tmp_path / "DE"
    folder.mkdir()
    source = recorded_data / "forecast" / FORECASTS
    shutil.copy(source, folder / FORECASTS)
    with source.open() as handle:
        rows = list(csv.reader(handle))[1:]
    day_ones = [row for number, row in enumerate(rows) if number % 96 < 24]
    with (folder / "DE_lifecycle_emissions.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "UTC time", "carbon_intensity", "wind"])
        for number, row in enumerate(day_ones):
            writer.writerow([number, row[1], row[2], "0"])
    return folder


def test_carboncast_s_published_forecast_is_served_as_issued(region: Path) -> None:
    trace = region / "DE_lifecycle_emissions.csv"
    grid = Grid.load(trace, "DE")
    source = forecasts.carboncast_published(grid, trace)
    assert len(source.issues) == 14 and source.issues[1] - source.issues[0] == 86400
    with (region / FORECASTS).open() as handle:
        predicted = [float(row[3]) for row in list(csv.reader(handle))[1:]]
    first = source.forecast("DE", source.issues[0])
    assert first is not None and first.source == "carboncast"
    assert [slot.grams_per_kwh for slot in first.slots] == predicted[:forecasts.PUBLISHED_HOURS]
    later = source.forecast("DE", source.issues[3] + 5 * 3600)  # the newest issue, from now on
    assert later is not None and later.slots[0].grams_per_kwh == predicted[3 * 96 + 5]


def test_no_published_forecast_beside_the_trace_is_a_clear_error(tmp_path: Path, region: Path) -> None:
    (region / FORECASTS).unlink()
    trace = region / "DE_lifecycle_emissions.csv"
    with pytest.raises(FileNotFoundError, match="no CarbonCast forecasts"):
        forecasts.carboncast_published(Grid.load(trace, "DE"), trace)
    with pytest.raises(FileNotFoundError, match="no CarbonCast regions with published forecasts"):
        published.region_files(tmp_path)


def test_the_command_plans_on_the_published_forecast(region: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.savings.published", "--data", str(region.parent),
                             "--workers", "1", "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "CarbonCast's published forecast (of oracle)" in result.stdout
    import json
    rows = json.loads(out.read_text())
    assert {r["policy"] for r in rows} == set(published.POLICIES)
    assert all(r["missed"] == 0 for r in rows)


def test_the_change_budget_programme_is_exact(recorded_data: Path) -> None:
    """Against every run/pause choice of 8 real hours (DE, June 2022), for every amount of work."""
    grid = Grid.load(recorded_data / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv")
    costs = np.array(grid.values[30:38])
    for units in range(1, 8):
        best = np.full(frontier.MOST_CHANGES + 1, np.inf)
        for pattern in itertools.product((0, 1), repeat=len(costs)):
            done = changes = state = 0
            grams = 0.0
            for cost, on in zip(costs, pattern):
                if done == units:
                    break
                changes += on != state
                state = on
                done += on
                grams += cost * on
            if done == units and changes <= frontier.MOST_CHANGES:
                best[changes] = min(best[changes], grams)
        assert frontier.best_by_changes(costs, units) == pytest.approx(np.minimum.accumulate(best))


def test_a_tighter_budget_never_reaches_further(recorded_data: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks.savings.frontier", "--trace",
                             str(recorded_data / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv"),
                             "--workers", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if "2022-06-01" in line)
    one, three, average = (float(cell.strip().rstrip(" %")) for cell in line.split("|")[3:6])
    assert 0 < one <= three <= 100 and one <= average <= 100
