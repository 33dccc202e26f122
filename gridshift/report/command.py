"""The `gridshift report` command: arguments -> range -> data -> charts -> Markdown; clear errors.

Exit status 0: written; 1: the data could not be read (Prometheus or the action service
unreachable or refusing, no data about the namespace: nothing is written then); 2: a usage
error (a bad time range or namespace, matplotlib missing).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import time
from pathlib import Path

from gridshift.report.collect import NoData, collect
from gridshift.report.prometheus import Prometheus, ReadError
from gridshift.report.timerange import RangeError, TimeRange, resolve

# A namespace is a DNS label (RFC 1123).
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
CHARTS = ("energy", "emissions", "intensity", "actions", "avoided")
MISSING_MATPLOTLIB = ("gridshift report draws its charts with matplotlib, which is not installed: "
                      "pip install 'gridshift[report]'")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--namespace", required=True, help="the namespace to report on")
    parser.add_argument("--from", dest="start", default="now-24h",
                        help="start: RFC 3339 (2025-06-01T00:00:00Z), now-24h, or 7d for 7 days ago (default now-24h)")
    parser.add_argument("--to", dest="end", default="now", help="end, same forms (default now)")
    parser.add_argument("--step", help="time between points, e.g. 1m (default: a 300th of the range, at least 1s)")
    parser.add_argument("--prometheus", default="http://localhost:9090", help="Prometheus base URL (default %(default)s)")
    parser.add_argument("--actions-url", help="the action service's base URL, to include its decision log (optional)")
    parser.add_argument("--out", default="gridshift-report", help="folder to write report.md, report.json and the PNGs")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each answer (default 30)")


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("matplotlib") is None:
        return _fail(MISSING_MATPLOTLIB, 2)
    if not NAMESPACE.match(args.namespace):
        return _fail(f"not a namespace name: {args.namespace[:70]!r} (a DNS label: a-z, 0-9 and '-')", 2)
    try:
        span = resolve(args.start, args.end, step=args.step, now=time.time())
    except RangeError as error:
        return _fail(f"bad time range: {error}", 2)
    try:
        path = generate(prometheus_url=args.prometheus, namespace=args.namespace, span=span, out=Path(args.out),
                        actions_url=args.actions_url, timeout_seconds=args.timeout)
    except (ReadError, NoData) as error:
        return _fail(str(error), 1)
    print(f"gridshift report: wrote {path}")
    return 0


def generate(*, prometheus_url: str, namespace: str, span: TimeRange, out: Path, actions_url: str | None = None,
             timeout_seconds: float = 30.0) -> Path:
    """Read, draw and write; the path of report.md. Nothing is written when reading fails."""
    from gridshift.report.charts import draw_all
    from gridshift.report.markdown import write

    started = time.monotonic()
    data = collect(Prometheus(prometheus_url, timeout_seconds), namespace=namespace, span=span, actions_url=actions_url)
    out.mkdir(parents=True, exist_ok=True)
    charts = draw_all(data, out)
    for name in set(CHARTS) - set(charts):  # a chart of an earlier report that has no data now
        (out / f"{name}.png").unlink(missing_ok=True)
    return write(data, charts, out, seconds_taken=time.monotonic() - started)


def _fail(message: str, status: int) -> int:
    print(f"gridshift report: {message}", file=sys.stderr)
    return status
