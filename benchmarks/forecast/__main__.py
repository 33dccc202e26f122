"""Day-ahead intensity forecast benchmark (issue 16): gridshift's forecaster against persistence and the published forecasters.

Without --emissions: every region of ../shared/data/forecast/carboncast, lifecycle and direct (with
its fuel forecasts and every baseline file there), DE on CarbonX's Electricity Maps actuals beside
CarbonX, and the five year-long traces of ../shared/data/intensity (history only, the last 182 days
of each). With --emissions: that one file. Protocol: benchmarks/forecast/protocol.py.

Run: .venv/bin/python -m benchmarks.forecast [--jobs 2] [--json OUT]
     .venv/bin/python -m benchmarks.forecast --emissions FILE [--fuel-forecast DIR] [--target lifecycle|direct]
         [--carboncast FILE] [--dacf FILE] [--ewma FILE] [--carbonx FILE] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks.forecast import data, protocol
from gridshift.recordings import shared_data_dir

RESULTS = Path(__file__).resolve().parents[1] / "results"
REGIONS = ("AUS_QLD", "BPAT", "CISO", "DE", "ES", "FPL", "NL", "NYISO", "SE")
EWMA_NAMES = {"NYISO": "NYIS", "AUS_QLD": "AUS-QLD"}
TEST = ("2021-07-01", "2022-01-01")
VALIDATION = ("2021-01-01", "2021-07-01")


@dataclass(frozen=True)
class Job:
    name: str
    target: str
    emissions: Path
    trace: bool = False
    fuel: Path | None = None
    baselines: dict[str, Path] = field(default_factory=dict)


def _hour(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()) // 3600


def issues_for(hours: np.ndarray, period: str) -> np.ndarray:
    """Issue hours (00:00 UTC) of the period: the benchmark's half-year when the file covers it, else
    the file's last 182 whole days (test) or the 182 days before those (validation)."""
    first_day, last_day = -(-int(hours[0]) // 24), int(hours[-1]) // 24  # whole days only
    test = (_hour(TEST[0]) // 24, _hour(TEST[1]) // 24)
    if not (first_day < test[0] and last_day >= test[1] - 1):
        test = (last_day + 1 - 182, last_day)  # the last day needs 24 h of actuals: last_day itself is left out of day 2
    if period == "validation":
        span = (_hour(VALIDATION[0]) // 24, _hour(VALIDATION[1]) // 24) if test[0] == _hour(TEST[0]) // 24 else (test[0] - 182, test[0])
    else:
        span = test
    return np.arange(max(span[0], first_day + 21), span[1]) * 24


def load(job: Job) -> data.Emissions:
    if not job.trace:
        return data.read_emissions(job.emissions, target=job.target)
    from gridshift.exporters.grid.traces import load_trace

    trace = load_trace(job.emissions)
    hours = np.array([p[0] for p in trace.points]) // 3600
    values = np.array([p[1] for p in trace.points], dtype=float)
    return data.Emissions(job.emissions, data._hourly(hours, values), None)


def run_job(job: Job, *, period: str, refit_days: int, learner_name: str = "lightgbm", use_mix: bool = True,
            settings: object = None) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from benchmarks.forecast.candidates import LEARNERS, SETTINGS

    began = time.perf_counter()
    emissions = load(job)
    fuel = data.read_fuel_forecasts(job.fuel) if job.fuel else {}
    readers = {"carboncast": data.read_carboncast, "dacf": data.read_dacf, "ewma": data.read_ewma, "carbonx": data.read_carbonx}
    baselines = [readers[name](path) for name, path in sorted(job.baselines.items())]
    issues = issues_for(emissions.intensity.hours, period)
    actual, result = protocol.run(emissions=emissions, fuel=fuel, issues=issues, baselines=baselines, refit_days=refit_days,
                                  settings=settings or SETTINGS, learner=LEARNERS[learner_name], use_mix=use_mix)
    out = {"name": job.name, "target": job.target, "file": job.emissions.name, "fuel": sorted(fuel),
           "period": [datetime.fromtimestamp(int(issues[0]) * 3600, timezone.utc).date().isoformat(),
                      datetime.fromtimestamp(int(issues[-1]) * 3600, timezone.utc).date().isoformat()],
           "refit_days": refit_days, "models": protocol.scores(actual, result), "seconds": round(time.perf_counter() - began, 1)}
    return out


def benchmark_jobs(root: Path) -> list[Job]:
    jobs = []
    for region in REGIONS:
        folder = root / "forecast" / "carboncast" / region
        fuel = folder / "fuel_forecast"
        for target in ("lifecycle", "direct"):
            baselines = {}
            carboncast = sorted(folder.glob(f"{region}_carbon_from_src*_forecasts_{target}_Jul_Dec_2021.csv"))
            if carboncast:
                baselines["carboncast"] = carboncast[0]
            ewma = root / "forecast" / "ewma" / f"{EWMA_NAMES.get(region, region)}_dayAheadForecasts.csv"
            if target == "lifecycle" and ewma.is_file():
                baselines["ewma"] = ewma
            dacf = root / "forecast" / "dacf" / region / f"{region}_carbon_from_src_prod_forecasts_direct.csv"
            if target == "direct" and dacf.is_file():
                baselines["dacf"] = dacf
            jobs.append(Job(region, target, folder / f"{region}_{target}_emissions.csv",
                            fuel=fuel if fuel.is_dir() else None, baselines=baselines))
    carbonx = root / "forecast" / "carbonx" / "DE"
    if carbonx.is_dir():
        jobs.append(Job("DE (Electricity Maps)", "direct", carbonx / "actuals_emaps_hourly_DE_2021-2024.csv",
                        baselines={"carbonx": carbonx / "sundial_96h_forecasts_DE_2021-2024.csv"}))
    for trace in sorted((root / "intensity").glob("*.csv")):
        jobs.append(Job(trace.stem, "trace", trace, trace=True))
    return jobs


def _cell(entry: dict | None, key: str = "day1") -> str:
    if not entry or not entry.get(key) or entry[key]["days"] == 0:
        return "-"
    return f"{entry[key]['mean']:.2f}"


def table(results: list[dict]) -> str:
    baselines = ("persistence_24h", "entsoe_method", "ewma", "carboncast", "dacf", "carbonx")
    header = (f"{'region':24} {'target':9} {'days':>4} {'fcst d1':>7} {'d1 med':>6} {'d1 p95':>6} {'fcst d2':>7} {'cover':>5} "
              + " ".join(f"{b[:11]:>11}" for b in baselines) + f" {'pers d2':>7} {'fit s':>5}")
    lines = ["mean daily MAPE %, day 1 unless marked", header, "-" * len(header)]
    for r in results:
        f = r["models"]["forecaster"]
        lines.append(f"{r['name'][:24]:24} {r['target']:9} {f['day1']['days']:4d} {f['day1']['mean']:7.2f} {f['day1']['median']:6.2f} "
                     f"{f['day1']['p95']:6.2f} {_cell(f, 'day2'):>7} {f['coverage_p10_p90']:5.2f} "
                     + " ".join(f"{_cell(r['models'].get(b)):>11}" for b in baselines)
                     + f" {_cell(r['models']['persistence_24h'], 'day2'):>7} {f['fit_seconds_max']:5.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emissions", type=Path, help="one file of the benchmark's formats (or a trace) instead of the shared data")
    parser.add_argument("--fuel-forecast", type=Path, help="folder of the TSO's day-ahead forecasts (avg_<name>_production_forecast)")
    parser.add_argument("--target", choices=("lifecycle", "direct"), default="lifecycle")
    for name in ("carboncast", "dacf", "ewma", "carbonx"):
        parser.add_argument(f"--{name}", type=Path, help=f"{name} predictions to score beside")
    parser.add_argument("--json", type=Path, help="write the results here (default benchmarks/results/forecast-<time>.json)")
    parser.add_argument("--period", choices=("test", "validation"), default="test")
    parser.add_argument("--refit-days", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-mix", action="store_true", help="leave the production per source out of the history")
    parser.add_argument("--learner", default="lightgbm", help="candidate learner (benchmarks/forecast/candidates.py)")
    parser.add_argument("--only", help="comma-separated job names (with the shared data)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    if args.emissions:
        if not args.emissions.is_file():
            print(f"{args.emissions}: no such file", file=sys.stderr)
            return 2
        baselines = {name: getattr(args, name) for name in ("carboncast", "dacf", "ewma", "carbonx") if getattr(args, name)}
        trace = not _looks_like_emissions(args.emissions)
        jobs = [Job(args.emissions.stem, args.target if not trace else "trace", args.emissions, trace=trace,
                    fuel=args.fuel_forecast, baselines=baselines)]
    else:
        root = shared_data_dir()
        if not (root / "forecast" / "carboncast").is_dir():
            print(f"the forecasting benchmark data is missing: no {root / 'forecast' / 'carboncast'} "
                  "(set GRIDSHIFT_SHARED_DATA or pass --emissions FILE)", file=sys.stderr)
            return 2
        jobs = benchmark_jobs(root)
        if args.only:
            wanted = set(args.only.split(","))
            jobs = [j for j in jobs if j.name in wanted]
    print(f"{len(jobs)} jobs, {args.period} period, refit every {args.refit_days} days, {args.jobs} processes", flush=True)
    results: list[dict] = []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_job, job, period=args.period, refit_days=args.refit_days, learner_name=args.learner,
                               use_mix=not args.no_mix)
                   for job in jobs]
        for k, future in enumerate(futures, 1):
            r = future.result()
            results.append(r)
            f = r["models"]["forecaster"]
            print(f"[{k}/{len(jobs)}] {r['name']} {r['target']}: day 1 {f['day1']['mean']:.2f} % "
                  f"(persistence {r['models']['persistence_24h']['day1']['mean']:.2f} %), "
                  f"coverage {f['coverage_p10_p90']:.2f}, {r['seconds']:.0f} s", flush=True)
    print()
    print(table(results))
    summary = _summary(results)
    for line in summary["lines"]:
        print(line)
    out = args.json
    if out is None:
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"forecast-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    document = results[0] if args.emissions else {"results": results, "summary": summary["figures"]}
    out.write_text(json.dumps(document, indent=2, allow_nan=False))
    print(f"\ntook {time.perf_counter() - began:.0f} s; results in {out}")
    return 0


def _looks_like_emissions(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        header = handle.readline()
    return "carbon_intensity" in header and "carbon_intensity_avg" not in header or "Datetime (UTC)" in header and "Life cycle" in header


def _summary(results: list[dict]) -> dict:
    figures: dict[str, float] = {}
    lines = []
    for target in ("lifecycle", "direct"):
        rows = [r for r in results if r["target"] == target and r["name"] in REGIONS]
        if rows:
            for model in ("forecaster", "persistence_24h", "carboncast", "ewma"):
                values = [r["models"][model]["day1"]["mean"] for r in rows if model in r["models"]]
                if len(values) == len(rows) and None not in values:
                    figures[f"{target}_{model}_day1_mean_over_regions"] = round(float(np.mean(values)), 3)
            lines.append(f"{target}: mean day-1 MAPE over {len(rows)} regions: forecaster "
                         f"{figures.get(f'{target}_forecaster_day1_mean_over_regions', math.nan):.2f} %, persistence "
                         f"{figures.get(f'{target}_persistence_24h_day1_mean_over_regions', math.nan):.2f} %, CarbonCast "
                         f"{figures.get(f'{target}_carboncast_day1_mean_over_regions', math.nan):.2f} %")
    coverage = [r["models"]["forecaster"]["coverage_p10_p90"] for r in results]
    if coverage:
        figures["coverage_min"], figures["coverage_max"] = min(coverage), max(coverage)
        lines.append(f"P10-P90 coverage: {min(coverage):.3f} .. {max(coverage):.3f}")
    losses = [f"{r['name']} {r['target']}" for r in results
              if r["models"]["forecaster"]["day1"]["mean"] >= r["models"]["persistence_24h"]["day1"]["mean"]]
    lines.append("day 1 at or above persistence: " + (", ".join(losses) if losses else "none"))
    return {"figures": figures, "lines": lines}


if __name__ == "__main__":
    raise SystemExit(main())
