"""The forecasts the planner policies run on, each served to the action service's own Reconciler
through the same ForecastSource interface the exporter's JSON API serves in production.

- perfect: the trace itself (an upper bound on forecasting).
- persistence: tomorrow looks like today (the value a day earlier), the forecast anyone has.
- forecaster: gridshift's own day-ahead forecaster (exporters/grid/forecasting), trained
  walk-forward: issued at 00:00 UTC of each day for 48 h, refitted every `REFIT_DAYS` on what
  was known then (the forecast benchmark's protocol, benchmarks/forecast/protocol.py), with the
  file's production mix and the TSO's day-ahead forecasts where the trace has them beside it.
  Before its first issue (three weeks of history) it is persistence. The issues are cached in
  benchmarks/results/, keyed by the trace's content, as fitting takes minutes a trace.
- carboncast: CarbonCast's own published test-period forecasts (its first tier, issued at 00:00
  UTC of each day of July-December 2021), read from the file beside a CarbonCast region's trace:
  what a planner gets from the published state of the art, for benchmarks/savings/published.py.

The current interval is the forecast's too, never the measured value, as the exporter's
`/api/v1/forecast` serves it: a plan compares like with like. (Measured now against forecast
later makes a plan chase a forecast that runs low: each hour the next looks greener.)
"""

from __future__ import annotations

import bisect
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from gridshift.actions.planner import Forecast, Slot

from benchmarks.common import RESULTS_DIR
from benchmarks.savings.grid import DAY, HOUR, Grid

AHEAD_SECONDS = 96 * HOUR  # what the exporter's API serves (actions/upstreams.py FORECAST_AHEAD_SECONDS)
REFIT_DAYS = 7
HISTORY_DAYS = 21
# The hours of day (UTC) a forecast is issued at. The exporter refits every hour; one model per
# issue hour of day is what the forecaster trains (Settings.issue_stride_hours = 24), so each
# issue hour here costs a walk-forward of its own.
ISSUE_HOURS = tuple(int(h) for h in os.environ.get("GRIDSHIFT_ISSUE_HOURS", "0").split(","))


class Source(Protocol):
    """A planner's forecast (planner.ForecastSource), that can also say how far ahead to look and
    when it changes (the simulator passes then, as the deployed service's timer would)."""

    name: str

    def forecast(self, zone: str, now: float, ahead: float = AHEAD_SECONDS) -> Forecast | None: ...

    def changes(self) -> list[float]: ...


class PerfectForecast:
    name = "perfect"

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self.steps = _Steps(grid, lambda t: grid.value(t))

    def forecast(self, zone: str, now: float, ahead: float = AHEAD_SECONDS) -> Forecast | None:
        return self.steps.between(zone, "perfect", now, now + ahead)

    def changes(self) -> list[float]:
        return []  # the plan made at one moment stays right


class PersistenceForecast:
    name = "persistence"

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self.steps = _Steps(grid, lambda t: grid.value(t - DAY))

    def forecast(self, zone: str, now: float, ahead: float = DAY) -> Forecast | None:
        if now - DAY < self.grid.start:
            return None
        return self.steps.between(zone, "persistence", now, now + min(ahead, DAY))

    def changes(self) -> list[float]:
        return [float(s) for s in self.grid.starts]  # every new measurement moves it


class IssuedForecast:
    """Forecasts issued at known moments: at `now`, the newest issue at or before it (its hours
    from now on, the current one its P50 too); persistence before the first issue."""

    def __init__(self, grid: Grid, issues: np.ndarray, p50: np.ndarray, p90: np.ndarray, name: str = "forecaster") -> None:
        self.grid, self.issues, self.p50, self.p90 = grid, [float(i) for i in issues], p50, p90
        self.name = name
        self._persistence = PersistenceForecast(grid)

    def forecast(self, zone: str, now: float, ahead: float = AHEAD_SECONDS) -> Forecast | None:
        row = bisect.bisect_right(self.issues, now) - 1
        if row < 0:
            return self._persistence.forecast(zone, now, ahead)
        issue = self.issues[row]
        slots = []
        for h in range(self.p50.shape[1]):
            start, end = issue + h * HOUR, issue + (h + 1) * HOUR
            if end <= now or not np.isfinite(self.p50[row, h]):
                continue
            if start >= now + ahead:
                break
            p90 = float(self.p90[row, h]) if np.isfinite(self.p90[row, h]) else None
            slots.append(Slot(max(start, now), end, float(self.p50[row, h]), p90))
        if not slots:
            return None
        return Forecast(zone, self.name, tuple(slots))

    def changes(self) -> list[float]:
        return self.issues


class _Steps:
    """The trace's intervals, each with the value a forecast gives it, built once; a forecast is
    the run of them from `begin` to `end`, its first and last clipped."""

    def __init__(self, grid: Grid, value: Callable[[float], float]) -> None:
        self.grid = grid
        bounds = [*grid.starts[1:], grid.end]
        self.slots = [Slot(float(start), float(stop), value(float(start))) for start, stop in zip(grid.starts, bounds)]
        self.starts = [slot.start for slot in self.slots]

    def between(self, zone: str, source: str, begin: float, end: float) -> Forecast | None:
        end = min(end, float(self.grid.end))
        if end <= begin:
            return None
        first = max(0, bisect.bisect_right(self.starts, begin) - 1)
        last = bisect.bisect_left(self.starts, end)
        chosen = self.slots[first:last]
        if not chosen:
            return None
        head, tail = chosen[0], chosen[-1]
        chosen[0] = Slot(max(head.start, begin), min(head.end, end), head.grams_per_kwh)
        if len(chosen) > 1:
            chosen[-1] = Slot(tail.start, min(tail.end, end), tail.grams_per_kwh)
        return Forecast(zone, source, tuple(chosen))


# --- gridshift's forecaster, walk-forward ---------------------------------------------------------

def walk_forward(grid: Grid, path: Path, *, progress: Callable[[str], None] = print) -> IssuedForecast:
    """Issue the forecaster over the whole trace (cached by the file's content)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    anchors = "-".join(str(h) for h in ISSUE_HOURS)
    cache = RESULTS_DIR / "forecasts" / f"{path.stem}-{digest}-refit{REFIT_DAYS}-at{anchors}.npz"
    if cache.is_file():
        saved = np.load(cache)
        return IssuedForecast(grid, saved["issues"], saved["p50"], saved["p90"])
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from benchmarks.forecast import protocol
    from benchmarks.forecast.candidates import SETTINGS

    emissions, fuel = _inputs(grid, path)
    hours = emissions.intensity.hours
    first_day, last_day = -(-int(hours[0]) // 24) + HISTORY_DAYS, int(hours[-1]) // 24
    days = np.arange(first_day, last_day + 1) * 24
    if len(days) == 0:  # under three weeks: no forecaster yet, persistence throughout (as in the exporter)
        return IssuedForecast(grid, np.zeros(0), np.zeros((0, 48)), np.zeros((0, 48)))
    progress(f"  {path.name}: fitting the forecaster walk-forward over {len(days)} days at {len(ISSUE_HOURS)} "
             f"issue hours (refit every {REFIT_DAYS}; cached in {cache.parent})")
    parts = []
    for hour in ISSUE_HOURS:
        issues = days + hour
        issues = issues[issues <= int(hours[-1])]
        _, result = protocol.run(emissions=emissions, fuel=fuel, issues=issues, baselines=[],
                                 refit_days=REFIT_DAYS, settings=SETTINGS)
        assert result.p90 is not None
        parts.append((issues, result.forecasts["forecaster"], result.p90))
    issues = np.concatenate([part[0] for part in parts])
    order = np.argsort(issues, kind="stable")
    issues = issues[order]
    p50 = np.concatenate([part[1] for part in parts])[order]
    p90 = np.concatenate([part[2] for part in parts])[order]
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, issues=issues * 3600, p50=p50, p90=p90)
    return IssuedForecast(grid, issues * 3600, p50, p90)


PUBLISHED_HOURS = 48  # the same horizon as gridshift's forecaster's issues, so the two differ in forecast only


def carboncast_published(grid: Grid, path: Path) -> IssuedForecast:
    """CarbonCast's published lifecycle forecasts for the region whose trace is `path`
    (`<R>_carbon_from_src[_prod]_forecasts_lifecycle_Jul_Dec_2021.csv` beside it), first 48 h of each issue."""
    from benchmarks.forecast import data

    found = sorted(path.parent.glob("*_forecasts_lifecycle_*.csv"))
    if not found:
        raise FileNotFoundError(f"no CarbonCast forecasts (*_forecasts_lifecycle_*.csv) beside {path}: the published "
                                "forecasts are those of ../shared/data/forecast/carboncast/<REGION>/")
    windows = data.read_carboncast(found[0]).windows
    issues = np.array(sorted(windows), dtype=float)
    p50 = np.array([windows[int(i)][:PUBLISHED_HOURS] for i in issues])
    return IssuedForecast(grid, issues * 3600, p50, np.full_like(p50, np.nan), name="carboncast")


def _inputs(grid: Grid, path: Path):  # -> (data.Emissions, fuel forecasts)
    """The trace as the forecast benchmark reads it: a CarbonCast emissions file with its mix and
    the TSO forecasts of the `fuel_forecast` folder beside it; any other trace hourly, history only."""
    from benchmarks.forecast import data

    if grid.trace.source_format == "carboncast":
        emissions = data.read_emissions(path, target="lifecycle")
        folder = path.parent / "fuel_forecast"
        return emissions, data.read_fuel_forecasts(folder) if folder.is_dir() else {}
    hours = np.array([start for start, _ in grid.trace.points], dtype=np.int64) // 3600
    values = np.array([value for _, value in grid.trace.points], dtype=float)
    return data.Emissions(path, data._hourly(hours, values), None), {}
