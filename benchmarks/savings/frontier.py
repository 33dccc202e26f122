"""`python -m benchmarks.savings.frontier`: how much of the oracle's saving any schedule of a
checkpointing Job can reach with a limited number of changes, knowing the trace in advance.

The savings benchmark's oracle runs a training Job in the greenest hours of its window, however
many pauses that takes; issue 17's bar asks for 95 % of that saving *and* at most 2 changes per
job on average. This computes, exactly, the best any schedule can do under a budget of changes
(a change is a patch of the Job: its first start, each pause, each resume, as the simulator counts
them; the Job is created suspended), by dynamic programming over the trace's intervals for every
training Job of the benchmark (the same lengths, slacks and arrivals):

- with at most 1 change a job (one block: a start deferred), and at most 3 (one pause);
- with at most 2 changes per job **on average**: the budget spread over the jobs where it saves
  most (a Lagrangian price per change, bisected until the mean is 2; exact up to the convex hull);
- and the planner's own figure with a perfect forecast, from docs/savings/rows.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT
from benchmarks.savings import report
from benchmarks.savings.grid import DAY, HOUR, Grid
from benchmarks.savings.run import HOURS, default_traces, trace_files, trace_label
from benchmarks.savings.workloads import JobSpec, arrivals

SLACKS = (6.0, 12.0, 24.0, 48.0)
MOST_CHANGES = 9  # beyond this the oracle's own schedules rarely go; the unlimited case is the oracle
ROWS = ROOT / "docs" / "savings" / "rows.json"


def best_by_changes(costs: np.ndarray, units: int, most: int = MOST_CHANGES) -> np.ndarray:
    """The least emissions of running `units` of the slots `costs` (in order, each whole), the Job
    starting suspended, by the number of changes c = 0..most (inf where c changes cannot do it);
    changes after the work is done do not count (the Job has ended)."""
    inf = np.inf
    cur = np.full((most + 1, 2, units + 1), inf)  # [changes, running?, units done]
    cur[0, 0, 0] = 0.0
    done = np.full(most + 1, inf)
    for cost in costs:
        new = np.full_like(cur, inf)
        new[:, 0, :] = np.minimum(cur[:, 0, :], np.vstack([np.full((1, units + 1), inf), cur[:-1, 1, :]]))
        stay = cur[:, 1, :-1] + cost
        start = np.vstack([np.full((1, units), inf), cur[:-1, 0, :-1] + cost])
        new[:, 1, 1:] = np.minimum(stay, start)
        done = np.minimum(done, new[:, 1, units])
        new[:, :, units] = inf  # finished: the Job is gone
        cur = new
    return np.minimum.accumulate(done)  # at most c changes


def trace_frontier(path: Path, days: float | None = None) -> dict[str, float]:
    """Pooled over the trace's training Jobs (its first `days` only, if given): the oracle's saving
    and the shares reachable under each budget."""
    label, zone = trace_label(path)
    grid = Grid.load(path, zone)
    if days is not None:
        grid = grid.between(grid.start, grid.start + days * DAY)
    step = min(HOUR, float(grid.trace.resolution_seconds or HOUR))
    agnostic = oracle = 0.0
    per_job: list[np.ndarray] = []
    for hours in HOURS:
        for slack in SLACKS:
            spec = JobSpec("training", hours, slack)
            units = round(hours * HOUR / step)
            for arrival, _ in arrivals(grid, spec):
                bounds = arrival + step * np.arange(round((hours + slack) * HOUR / step) + 1)
                costs = np.array([grid.grams(b, b + step) for b in bounds[:-1]])
                agnostic += float(costs[:units].sum())
                oracle += float(np.sort(costs)[:units].sum())
                per_job.append(best_by_changes(costs, units))
    table = np.array(per_job)
    saved = agnostic - oracle
    share = {f"at most {c} changes a job": (agnostic - table[:, c].sum()) / saved for c in (1, 3)}
    share["at most 2 changes a job on average"] = (agnostic - average_budget(table, 2.0)) / saved
    return {"trace": label, "oracle saves": saved / agnostic, **share}


def average_budget(table: np.ndarray, mean_changes: float) -> float:
    """Least total emissions with at most `mean_changes` per job on average: each job takes the
    number of changes minimising emissions + price x changes, the price bisected to the budget."""
    changes = np.arange(table.shape[1])
    finite = np.where(np.isfinite(table), table, 1e18)

    def choose(price: float) -> tuple[float, float]:
        picked = np.argmin(finite + price * changes, axis=1)
        return float(finite[np.arange(len(table)), picked].sum()), float(changes[picked].mean())

    low, high = 0.0, float(np.nanmax(np.where(np.isfinite(table), table, np.nan))) + 1.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if choose(middle)[1] <= mean_changes else (middle, high)
    return choose(high)[0]


def planner_shares(rows_path: Path) -> dict[str, float]:
    if not rows_path.is_file():
        return {}
    rows = json.loads(rows_path.read_text())
    found = report.totals(rows, lambda r: r["trace"], lambda r: r["workload"] == "training" and r["slack_hours"] > 0
                          and r["policy"] == "gridshift-plan-perfect")
    return {trace: t.of_oracle for trace, t in found.items() if t.of_oracle is not None}


def render(found: Sequence[dict[str, float]], planner: dict[str, float]) -> str:
    keys = ["at most 1 changes a job", "at most 3 changes a job", "at most 2 changes a job on average"]
    lines = [[str(f["trace"]), report.percent(f["oracle saves"]), *(report.percent(f[k], 0) for k in keys),
              report.percent(planner.get(str(f["trace"])), 0)] for f in found]
    return report.table(["trace", "oracle saves (training, slack 6-48 h)", "best with 1 change a job (of oracle)",
                         "best with 3 a job", "best with 2 a job on average", "planner, perfect forecast"], lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a folder of trace CSVs (default: the savings benchmark's traces)")
    parser.add_argument("--trace", type=Path, metavar="FILE", help="one trace file instead")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--days", type=float, help="only the first DAYS of each trace (366: the period of "
                                                    "docs/savings/rows.json's CarbonCast regions, 2020)")
    args = parser.parse_args()
    try:
        paths = [args.trace] if args.trace else trace_files(args.data) if args.data else default_traces()
    except FileNotFoundError as error:
        print(f"benchmarks.savings.frontier: {error}", file=sys.stderr)
        return 2
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        found = list(pool.map(partial(trace_frontier, days=args.days), paths))
    print(render(found, planner_shares(ROWS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
