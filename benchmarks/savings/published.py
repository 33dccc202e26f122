"""`python -m benchmarks.savings.published`: the planner on the published state of the art's own
forecasts, beside gridshift's forecaster and a perfect forecast, over the same days.

CarbonCast published its test-period forecasts (July-December 2021, issued at 00:00 UTC each day,
../shared/data/forecast/carboncast/<REGION>/*_forecasts_lifecycle_Jul_Dec_2021.csv). Serving them
to the action service's own planner, through the same interface as gridshift's forecaster, says
how much of the oracle's saving a planner gets from the best published day-ahead forecasts, which
the bars of issues 17 and 18 ("85 % of the oracle with the project's forecaster") are set against.
Both forecasts are cut to 48 h, as gridshift's forecaster issues them; the jobs and elastic work
are those of the savings benchmark, on that period only. Any folder of CarbonCast-format regions
will do (`--data DIR`): each `<R>/<R>_lifecycle_emissions.csv` with its forecasts file beside it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from gridshift.exporters.grid.traces import parse_timestamp

from benchmarks.savings import forecasts, report
from benchmarks.savings.__main__ import rows_text
from benchmarks.savings.grid import DAY, HOUR, Grid
from benchmarks.savings.run import CARBONCAST, CARBONCAST_FILE, HOURS, Row, run_trace, trace_label
from benchmarks.savings.workloads import JobSpec

PERIOD = (parse_timestamp("2021-07-01T00:00Z"), parse_timestamp("2022-01-01T00:00Z"))
SLACKS = (6.0, 12.0, 24.0, 48.0)
KINDS = ("batch", "training", "elastic")
FORECASTS = ("perfect", "forecast", "carboncast")  # the policies' suffixes, in the table's order
POLICIES = (*(f"gridshift-plan-{f}" for f in FORECASTS), *(f"gridshift-elastic-{f}" for f in FORECASTS))


def region_files(data: Path) -> list[Path]:
    found = sorted(path for path in data.glob(f"*/*{CARBONCAST_FILE}")
                   if any(path.parent.glob("*_forecasts_lifecycle_*.csv"))) if data.is_dir() else []
    if not found:
        raise FileNotFoundError(f"no CarbonCast regions with published forecasts in {data} (expected "
                                f"<REGION>/<REGION>{CARBONCAST_FILE} and <REGION>/*_forecasts_lifecycle_*.csv, "
                                "as in ../shared/data/forecast/carboncast)")
    return found


def run_region(path: Path) -> tuple[list[Row], dict[str, float]]:
    """The rows over the period, and each forecast's mean day-1 MAPE (%) against the trace there."""
    specs = [JobSpec(kind, h, s) for kind in ("batch", "training") for h in HOURS for s in SLACKS]
    rows = run_trace(path, specs, service=None, policies=POLICIES, period=PERIOD)
    grid = Grid.load(path, trace_label(path)[1]).between(*PERIOD)
    mape = {"forecast": day_one_mape(grid, forecasts.walk_forward(grid, path, progress=lambda _: None)),
            "carboncast": day_one_mape(grid, forecasts.carboncast_published(grid, path))}
    return rows, mape


def day_one_mape(grid: Grid, source: forecasts.IssuedForecast) -> float:
    """Mean over the period's issues of the 24 hourly absolute percentage errors of day 1 (the
    forecast benchmark's metric)."""
    errors = []
    for row, issue in enumerate(source.issues):
        if not PERIOD[0] <= issue < PERIOD[1] - DAY:
            continue
        actual = np.array([grid.value(issue + h * HOUR) for h in range(24)])
        errors.append(float(np.mean(np.abs(source.p50[row, :24] - actual) / actual)))
    return 100 * float(np.mean(errors)) if errors else float("nan")


def summary(rows: Sequence[dict[str, Any]], mapes: dict[str, dict[str, float]]) -> str:
    found = report.totals(rows, lambda r: (r["trace"], r["workload"], r["policy"]))
    lines = []
    for trace in report.traces(rows):
        for kind in KINDS:
            family = "elastic" if kind == "elastic" else "plan"
            shares = [found.get((trace, kind, f"gridshift-{family}-{f}")) for f in FORECASTS]
            if not any(shares):
                continue
            oracle = next(t for t in shares if t is not None).oracle_saving
            lines.append([trace, kind, report.percent(oracle), *(report.percent(t.of_oracle if t else None, 0) for t in shares),
                          f"{mapes[trace]['forecast']:.2f} %", f"{mapes[trace]['carboncast']:.2f} %"])
    return report.table(["trace (Jul-Dec 2021)", "workload", "oracle saves", "perfect forecast (of oracle)",
                         "gridshift's forecaster (of oracle)", "CarbonCast's published forecast (of oracle)",
                         "gridshift day-1 MAPE", "CarbonCast day-1 MAPE"], lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=CARBONCAST, help=f"CarbonCast-format regions (default {CARBONCAST})")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, dest="json_out", metavar="OUT", help="write the rows to OUT")
    args = parser.parse_args()
    try:
        paths = region_files(args.data)
    except FileNotFoundError as error:
        print(f"benchmarks.savings.published: {error}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    print(f"planning on three forecasts over {len(paths)} regions, July-December 2021 ...", flush=True)
    rows: list[dict[str, Any]] = []
    mapes: dict[str, dict[str, float]] = {}
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for path, (found, mape) in zip(paths, pool.map(partial(run_region), paths)):
            print(f"  {trace_label(path)[0]}: {len(found)} rows", flush=True)
            rows += [row.as_dict() for row in found]
            mapes[trace_label(path)[0]] = mape
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(rows_text(rows))
        print(f"rows in {args.json_out}")
    print(summary(rows, mapes))
    print(f"took {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
