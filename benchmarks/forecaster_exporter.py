"""The forecaster inside the grid exporter: fit time per zone on one core, and what 40 zones cost in memory.

Issue 16 asks: the exporter refits at least daily (it refits every hour: zone_forecasts.py), a
fit under 5 s per zone on one core, and the exporter's RSS up by under 60 MB for 40 zones. This builds the real grid exporter with `--zones`
replay zones (default 40) over every trace file in `--data` (default the repository's
data/intensity: a month or more each; any trace files gridshift's replay reads will do), each
zone starting at a different moment with at least `--history-days` of the trace before it, runs
every zone's forecast job once (a fit and a prediction, as at each hour's refit), and reports
the fit times, the share of one core the hourly refits take, and the resident memory before the
exporter, after it is built, and after the fits.
LightGBM runs on one thread (Settings.threads); OMP_NUM_THREADS is set to 1 as well.

Run: .venv/bin/python -m benchmarks.forecaster_exporter [--zones 40] [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks.common import (  # noqa: E402 (the thread count must be set before numpy and LightGBM load)
    aligned_table,
    mib,
    peak_rss_bytes,
    percentile,
    print_table_and_took,
    provenance,
    quiet_logging,
    rss_bytes,
    write_result,
)
from gridshift.recordings import REPO_DATA_DIR  # noqa: E402

DAY = 86400


def replay_zones(data: Path, count: int, history_days: int) -> dict[str, dict[str, Any]]:
    """`count` replay zones over the trace files of `data`, each starting `history_days` or more into its trace."""
    from gridshift.exporters.grid.traces import load_trace

    traces = [load_trace(path) for path in sorted(data.glob("*.csv"))]
    usable = [t for t in traces if t.end - t.start > (history_days + 2) * DAY]
    if not usable:
        raise SystemExit(f"no trace in {data} spans more than {history_days + 2} days")
    zones = {}
    for i in range(count):
        trace = usable[i % len(usable)]
        room = (trace.end - trace.start) - (history_days + 2) * DAY
        start = trace.start + history_days * DAY + (i // len(usable)) * 3 * 3600 % max(room, 1)
        zones[f"Z{i:02d}"] = {"file": trace.path, "speed": 1,
                              "start": datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")}
    return zones


def run(*, zones: int, data: Path, history_days: int) -> dict[str, Any]:
    memory = {"start": rss_bytes()}
    from gridshift.config import build_config
    from gridshift.exporters.grid.app import build_grid_exporter

    config = build_config({"grid": {"replay": {"zones": replay_zones(data, zones, history_days)}}}, env={})
    memory["imports"] = rss_bytes()
    exporter = build_grid_exporter(config)
    forecast_jobs = [job for job in exporter.refresher.jobs if job.source == "forecaster"]
    for job in exporter.refresher.jobs:
        if job.source != "forecaster":
            exporter.refresher.refresh(job)  # every replay fetched once: t0 fixed, the series held
    memory["built"] = rss_bytes()
    import lightgbm  # noqa: F401 (measured apart: it also loads scikit-learn when that is installed)

    memory["lightgbm"] = rss_bytes()
    began = time.perf_counter()
    for job in forecast_jobs:
        exporter.refresher.refresh(job)
    fit_wall = time.perf_counter() - began
    memory["fitted"] = rss_bytes()
    fitted = [exporter.forecaster.fitted(job.zone) for job in forecast_jobs]
    models = [f for f in fitted if f is not None and not f.model.fallback]
    seconds = [f.seconds for f in models]
    return {
        **provenance("forecaster_exporter", 16, datetime.now(timezone.utc), None, ["exporters", "gridshift"]),
        "zones": zones, "models": len(models), "fallbacks": len(fitted) - len(models),
        "fit_seconds": {"p50": percentile(seconds, 50), "max": max(seconds), "all_zones_wall": fit_wall} if seconds else {},
        "model_bytes": {"max": max(f.model.size_bytes for f in models), "sum": sum(f.model.size_bytes for f in models)}
        if models else {},
        "memory_rss_bytes": memory, "memory_peak_rss_bytes": peak_rss_bytes(),
        "scikit_learn_loaded": "sklearn" in sys.modules,
    }


def held_history(zones: int, days: int) -> dict[str, Any]:
    """What a backfilled year costs in memory: `days` days of every backfilled dataset for `zones`
    zones, each day the recorded payloads' own series (FI's A75 with its shares per type, FI's A69,
    SE3's A71, DK1's A65 as a day-ahead load), moved onto that day, kept in a HistoryStore."""
    from benchmarks import fake_entsoe
    from gridshift.exporters.grid.backfill import Chunk, HistoryStore
    from gridshift.exporters.grid.history import day_series

    def one_day(file: str, dataset: str, first: str, process: str | None = None) -> dict[str, list[tuple[int, float]]]:
        text = (REPO_DATA_DIR / "entsoe" / file).read_text(encoding="utf-8")
        if process:
            text = text.replace("<process.processType>A16<", f"<process.processType>{process}<")
        start = int(datetime.fromisoformat(first).timestamp())
        return day_series(dataset, text, {}, start=start, end=start + DAY)

    template = {
        "generation": one_day(fake_entsoe.FI_GENERATION, "generation", "2025-10-22T00:00+00:00"),
        "wind_solar_forecast": one_day(fake_entsoe.FI_WIND_SOLAR_DAYAHEAD, "wind_solar_forecast", "2024-02-08T00:00+00:00"),
        "generation_forecast": one_day(fake_entsoe.SE3_GENERATION_FORECAST, "generation_forecast", "2023-12-28T00:00+00:00"),
        "load_forecast": one_day(fake_entsoe.DK1_LOAD, "load_forecast", "2023-12-29T00:00+00:00", process="A01"),
    }
    series_per_day = sum(len(day) for day in template.values())
    before = rss_bytes()
    store = HistoryStore()
    today = int(time.time()) // DAY * DAY
    for back in range(1, days + 1):
        day = today - back * DAY
        for zone in range(zones):
            for dataset, series in template.items():
                shift = day - min(t for points in series.values() for t, _ in points) // DAY * DAY
                store.keep(Chunk(f"Z{zone:02d}", dataset, day),
                           {name: [(t + shift, v) for t, v in points] for name, points in series.items()})
    held = sum(store.column(f"Z{zone:02d}", name).values.nbytes  # type: ignore[union-attr]
               for zone in range(zones) for name in store.names(f"Z{zone:02d}"))
    return {"zones": zones, "days": days, "series_per_zone_day": series_per_day, "rss_bytes": rss_bytes() - before,
            "array_bytes": held}


def table(result: dict[str, Any]) -> str:
    memory, fit, size = result["memory_rss_bytes"], result["fit_seconds"], result["model_bytes"]
    rows = [
        ("zones", f"{result['zones']} ({result['models']} models, {result['fallbacks']} persistence)"),
        ("fit per zone, one thread", f"p50 {fit['p50']:.2f} s, max {fit['max']:.2f} s" if fit else "-"),
        ("fit of every zone", f"{fit['all_zones_wall']:.1f} s wall" if fit else "-"),
        ("hourly refits: share of one core", f"{100 * fit['all_zones_wall'] / 3600:.1f} %" if fit else "-"),
        ("model held per zone", f"max {size['max'] / 1024:.0f} KiB, all {mib(size['sum'])}" if size else "-"),
        ("RSS: start / imports / exporter built", f"{mib(memory['start'])} / {mib(memory['imports'])} / {mib(memory['built'])}"),
        ("RSS: LightGBM imported", f"+{mib(memory['lightgbm'] - memory['built'])}"
         + (" (scikit-learn came with it: installed here, not in the image)" if result["scikit_learn_loaded"] else "")),
        ("RSS: every zone fitted and forecast", f"+{mib(memory['fitted'] - memory['lightgbm'])}"),
        ("peak RSS", mib(result["memory_peak_rss_bytes"])),
    ]
    history = result.get("held_history")
    if history:
        rows.append((f"RSS: a backfilled year held ({history['days']} days x {history['zones']} zones, "
                     f"{history['series_per_zone_day']} series a zone-day)",
                     f"+{mib(history['rss_bytes'])} ({mib(history['array_bytes'])} of arrays)"))
    return aligned_table(("measure", "value"), rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=40)
    parser.add_argument("--data", type=Path, default=REPO_DATA_DIR / "intensity", help="a folder of trace files")
    parser.add_argument("--history-days", type=int, default=21, help="trace days before each zone's start")
    parser.add_argument("--held-days", type=int, default=365, help="days of backfilled ENTSO-E history held per zone")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"benchmarks.forecaster_exporter: no folder {args.data}", file=sys.stderr)
        return 2
    quiet_logging("gridshift")
    began = time.perf_counter()
    result = run(zones=args.zones, data=args.data, history_days=args.history_days)
    result["held_history"] = held_history(args.zones, args.held_days)
    output = write_result(result, "forecaster_exporter", datetime.now(timezone.utc), args.output)
    print_table_and_took(table(result), time.perf_counter() - began, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
