"""What the benchmarks share: memory and time measures, the machine and commit measured, the
result file, and the aligned text table they print."""

from __future__ import annotations

import bisect
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MIB = 1024 * 1024

T = TypeVar("T")


# --- measures ----------------------------------------------------------------------------------

def rss_bytes() -> int:
    return int(psutil.Process().memory_info().rss)


def peak_rss_bytes() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux: KiB


def wall_and_cpu(function: Callable[[], T]) -> tuple[T, float, float]:
    """Calls `function` once: what it returned, and the wall and CPU seconds it took (time.process_time: all threads)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    returned = function()
    return returned, time.perf_counter() - wall0, time.process_time() - cpu0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
    return ordered[int(rank) - 1]


def most_in_a_window(times: Sequence[float], seconds: float) -> int:
    """The most of `times` (sorted) inside any window of `seconds` (closed at its start, open at its end)."""
    return max((bisect.bisect_left(times, start + seconds) - index for index, start in enumerate(times)), default=0)


def latency(values: Sequence[float]) -> dict[str, float | int]:
    """Count, p50 / p95 / p99 and max of a series of latencies in seconds."""
    return {"count": len(values), "p50_seconds": percentile(values, 50), "p95_seconds": percentile(values, 95),
            "p99_seconds": percentile(values, 99), "max_seconds": max(values)}


# --- the run's record --------------------------------------------------------------------------

def quiet_logging(*loggers: str) -> None:
    """Warnings and errors only, from these loggers too (werkzeug logs one line per request)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in loggers:
        logging.getLogger(name).setLevel(logging.WARNING)


def source_state(*paths: str) -> dict[str, Any]:
    """The commit measured, and whether the code under `paths` differed from it (read-only git)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    changed = git("status", "--porcelain", "--", *paths)
    return {"commit": git("rev-parse", "HEAD") or None, "package_modified": bool(changed)}


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_total_bytes": psutil.virtual_memory().total,
    }


def provenance(benchmark: str, issue: int, stamp: datetime, argv: Sequence[str] | None,
               source_paths: Sequence[str]) -> dict[str, Any]:
    """The head of a result: which benchmark, when, the command line, the machine and the commit."""
    return {
        "benchmark": benchmark,
        "issue": issue,
        "when": stamp.isoformat(timespec="seconds"),
        "command": f"python -m benchmarks.{benchmark} " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "source": source_state(*source_paths),
    }


def write_result(result: dict[str, Any], benchmark: str, stamp: datetime, output: Path | None) -> Path:
    """Writes the result as JSON to `output`, by default benchmarks/results/<benchmark>-<stamp>.json; returns the path."""
    output = output or RESULTS_DIR / f"{benchmark}-{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return output


# --- printing ----------------------------------------------------------------------------------

def mib(value: int) -> str:
    return f"{value / MIB:.1f} MiB"


def aligned_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, under the headers and a rule of dashes."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join("-" * width for width in widths)
    out = ["  ".join(cell.ljust(width) for cell, width in zip(headers, widths)).rstrip(), line]
    out += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(out)


def print_table_and_took(table: str, seconds: float, output: Path) -> None:
    """The end of a benchmark's printout: its table between blank lines, how long it took, where the result is."""
    print()
    print(table)
    print()
    print(f"took {seconds:.1f} s; results in {output}")
