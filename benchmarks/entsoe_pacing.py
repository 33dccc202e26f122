"""ENTSO-E requests a minute (issue 19 item 5): the one client-side limit, with the backfill running.

Run from the repository root:

    .venv/bin/python -m benchmarks.entsoe_pacing                 # 3 minutes, 43 zones
    .venv/bin/python -m benchmarks.entsoe_pacing --minutes 1 --zones 10 --per-minute 400 --share 200

The grid exporter is built as `gridshift exporter` builds it, with its defaults
(grid.entsoe.requests_per_minute 300, the backfill's share grid.forecaster.requests_per_minute 100,
grid.forecaster.history_days 365), for the 43 ENTSO-E zones of benchmarks.grid_exporter, pointed
at a loopback ENTSO-E in a child process (benchmarks/fake_entsoe.py) that notes when each request
arrives. The exporter runs as it does in a pod, in real time: the refresher's first round (every
zone's five datasets at once) and the backfill start together, for `--minutes`.

Measured at the loopback ENTSO-E, what ENTSO-E would see: the requests in every whole minute and
the most in any sliding 60 s (ENTSO-E bans a token for 10 minutes past 400); at the exporter: the
backfill's (zone, dataset, day) done a minute, and what the whole backfill would take at that pace.
Results: a table on stdout and JSON under benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks import fake_entsoe
from benchmarks.common import (
    aligned_table, most_in_a_window, print_table_and_took, provenance, quiet_logging, write_result,
)
from benchmarks.grid_exporter import TOKEN, ZONES
from gridshift.config import ConfigError

ENTSOE_LIMIT_PER_MINUTE = 400  # ENTSO-E's own limit, per token and per IP
MINUTE = 60.0


def per_whole_minute(times: Sequence[float], began: float, minutes: int) -> list[int]:
    counts = [0] * minutes
    for moment in times:
        index = int((moment - began) // MINUTE)
        if 0 <= index < minutes:
            counts[index] += 1
    return counts


def run(*, minutes: float, zones: Sequence[str], per_minute: int | None, share: int | None) -> dict[str, Any]:
    from gridshift import recordings
    from gridshift.config import build_config
    from gridshift.exporters.grid.app import build_grid_exporter

    data_dir = recordings.REPO_DATA_DIR / "entsoe"
    fake = fake_entsoe.start_in_child(data_dir=data_dir, token=TOKEN, zones=zones)
    try:
        entsoe: dict[str, Any] = {"zones": list(zones), "endpoint": fake.url}
        forecaster: dict[str, Any] = {}
        if per_minute is not None:
            entsoe["requests_per_minute"] = per_minute
        if share is not None:
            forecaster["requests_per_minute"] = share
        config = build_config({"grid": {"entsoe": entsoe, "forecaster": forecaster}}, env={"ENTSOE_API_KEY": TOKEN})
        exporter = build_grid_exporter(config)
        backfill_done: list[tuple[float, int]] = []
        began = time.time()
        loop = exporter.loop
        loop.start()
        try:
            end = began + minutes * MINUTE
            while (now := time.time()) < end:
                status = exporter.backfill.status
                backfill_done.append((now, status.done + status.failed))
                time.sleep(min(1.0, max(0.0, end - now)))
        finally:
            loop.stop()
        arrivals = sorted(moment for moment in fake.arrivals() if began <= moment)
    finally:
        fake.stop()
    status = exporter.backfill.status
    whole = int(minutes)
    # Over whole minutes only: the limit is a sliding minute, so a share's first minute goes at once.
    handled = max((count for moment, count in backfill_done if moment <= began + whole * MINUTE), default=0)
    pace = handled / whole if whole else None
    remaining = status.planned - status.done - status.failed
    return {
        "zones": len(zones), "minutes": minutes,
        "limit_per_minute": config.grid.entsoe.requests_per_minute,
        "backfill_share_per_minute": config.grid.forecaster.requests_per_minute,
        "history_days": config.grid.forecaster.history_days,
        "requests": len(arrivals),
        "requests_per_whole_minute": per_whole_minute(arrivals, began, whole),
        "most_in_any_60_seconds": most_in_a_window(arrivals, MINUTE),
        "backfill": {"planned": status.planned, "done": status.done, "failed": status.failed,
                     "errors": dict(status.errors), "handled_per_minute": pace,
                     "hours_left_at_this_pace": remaining / pace / 60 if pace else None},
        "refresh_jobs": len(exporter.refresher.jobs),
        "refresh_errors": refresh_errors(exporter.registry),
    }


def refresh_errors(registry: Any) -> dict[str, int]:
    """The refresh jobs' ENTSO-E fetch errors by reason, from the exporter's own counter."""
    from gridshift import names

    errors: dict[str, int] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == f"{names.GRID_FETCH_ERRORS}_total" and sample.labels.get("source") == "entsoe":
                reason = sample.labels["reason"]
                errors[reason] = errors.get(reason, 0) + int(sample.value)
    return {reason: count for reason, count in sorted(errors.items()) if count}


def table(result: dict[str, Any]) -> str:
    limit = result["limit_per_minute"]
    backfill = result["backfill"]
    rows = [[f"minute {index + 1}: requests at ENTSO-E", f"{count:,}"]
            for index, count in enumerate(result["requests_per_whole_minute"])]
    rows += [
        ["most in any sliding 60 s", f"{result['most_in_any_60_seconds']:,} (limit {limit}; ENTSO-E bans past "
                                     f"{ENTSOE_LIMIT_PER_MINUTE})"],
        ["requests in all", f"{result['requests']:,} over {result['minutes']:g} min "
                            f"({result['refresh_jobs']} refresh jobs, first round at start)"],
        ["refresh fetch errors by reason", ", ".join(f"{reason} {count}" for reason, count in
                                                     result["refresh_errors"].items()) or "none"],
        ["backfill (zone, dataset, day) handled a minute",
         ("-" if backfill["handled_per_minute"] is None else f"{backfill['handled_per_minute']:.1f}")
         + f" (share {result['backfill_share_per_minute']}; over whole minutes)"],
        ["backfill planned / done / failed", f"{backfill['planned']:,} / {backfill['done']:,} / {backfill['failed']:,}"],
    ]
    hours = backfill["hours_left_at_this_pace"]
    rows.append([f"backfill of {result['history_days']} days: left at this pace",
                 "-" if hours is None else "finished" if hours <= 0 else f"{hours:.1f} h"])
    return aligned_table(["measure", "value"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.entsoe_pacing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the exporter runs (default 3)")
    parser.add_argument("--zones", type=int, default=len(ZONES), help=f"how many of the {len(ZONES)} zones (default all)")
    parser.add_argument("--per-minute", type=int, help="grid.entsoe.requests_per_minute (default: the config's, 300)")
    parser.add_argument("--share", type=int, help="grid.forecaster.requests_per_minute (default: the config's, 100)")
    parser.add_argument("--output", type=Path, help="JSON result file (default benchmarks/results/entsoe_pacing-<time>.json)")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or not 1 <= args.zones <= len(ZONES):
        parser.error(f"--minutes must be positive and --zones between 1 and {len(ZONES)}")
    quiet_logging("gridshift", "entsoe", "urllib3")
    started = time.perf_counter()
    try:
        measured = run(minutes=args.minutes, zones=ZONES[:args.zones], per_minute=args.per_minute, share=args.share)
    except ConfigError as error:
        parser.error(str(error))
    stamp = datetime.now(timezone.utc)
    result = {**provenance("entsoe_pacing", 19, stamp, argv, ("gridshift", "exporters", "pyproject.toml")), **measured,
              "duration_seconds": time.perf_counter() - started}
    output = write_result(result, "entsoe_pacing", stamp, args.output)
    print(f"ENTSO-E requests a minute (issue 19): {measured['zones']} zones, backfill running, "
          f"{math.ceil(args.minutes * 60)} s in real time")
    print_table_and_took(table(result), result["duration_seconds"], output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
