"""Run every benchmark: `.venv/bin/python -m benchmarks` from the repository root.

Each benchmark runs in its own interpreter, so one's imports and allocations do not show up
in the next one's memory figures. Each runs with its defaults; run one alone to pass options.
"""

from __future__ import annotations

import subprocess
import sys

# Modules under benchmarks/ that have a main(); run in this order.
BENCHMARKS: tuple[str, ...] = ("grid_exporter", "forecast_error")
BENCHMARKS += ("power_aggregation",)  # issue 5: namespace power exporter
BENCHMARKS += ("action_service",)  # issue 6: action service
BENCHMARKS += ("savings",)  # issue 10: carbon saved, about 7 minutes
BENCHMARKS += ("forecast", "forecaster_exporter")  # issue 16: forecast accuracy (about 8 minutes), in the exporter
BENCHMARKS += ("serving",)  # issue 19: the HTTP server under slow clients (about 6 minutes)
BENCHMARKS += ("entsoe_pacing",)  # issue 19: ENTSO-E requests a minute with the backfill (3 minutes)
BENCHMARKS += ("image_size",)  # issue 19: the image's runtime venv, its builder stage replayed (about a minute)


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"=== benchmarks.{name} ===", flush=True)
        returncode = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], check=False).returncode
        if returncode != 0:
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
