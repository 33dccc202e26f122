"""Recorded carbon-intensity traces (CSV) read into one shape: sorted (epoch seconds, gCO2eq/kWh).

Pure reading, no clock and no network: the replay provider maps a trace onto the present, and a
savings simulator can walk the same points. The format is told by the header:

- `electricitymaps_hourly`: the Electricity Maps data-portal export, `Datetime (UTC),Country,
  Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA),...`.
  The lifecycle column (`(LCA)`, or `(Life cycle)` in newer exports) is used, like every other
  gridshift intensity; the `Zone Id` of the rows is the trace's zone hint (one zone per file).
- `letswaitawhile`: `Time,Carbon Intensity` (Wiesner et al., "Let's Wait Awhile"), 15- or
  30-minute steps, naive timestamps meaning UTC.
- `carbonadvisor`: `zone_datetime,timestamp,carbon_intensity_avg,fossilFuelPercentage`
  (umassos/carbonAdvisor, collected from the Electricity Maps API): the interval is
  `zone_datetime`; `timestamp` is when the value was fetched and is ignored.
- `carboncast`: `,UTC time,carbon_intensity,<source>...` (the CarbonCast benchmark's
  `<REGION>_{lifecycle,direct}_emissions.csv`, carbonfirst/CarbonCast): the first column is an
  unnamed row index and is ignored, the other columns are production per source and are ignored.
  Timestamps are `YYYY-MM-DD HH:MM:SS`, with or without `+00:00`, or `MM/DD/YYYY HH:MM:SS` (month
  first, as the AUS_QLD and CISO files write them). The file does not name its zone (the region
  is in the file name only): callers pass it. Which of lifecycle and direct it is, is told by the
  file name alone; gridshift's intensities are lifecycle. The nine regions' files (AUS_QLD BPAT
  CISO DE ES FPL NL NYISO SE, both kinds) read whole: 17,544 hourly points each, none empty.
  DACF's files (`,UTC time,carbon_intensity,carbon_from_src_forecasts,...`) read as their
  measured `carbon_intensity` (direct); CarbonCast's forecast files
  (`actual_carbon_intensity_<kind>`) are not a trace.

Timestamps without an offset are UTC. A row whose value is empty is skipped and its line kept
in `Trace.skipped_lines`; a repeated timestamp keeps the later row (counted in `duplicates`).
Anything else that is wrong (an unknown header, a row with the wrong number of fields, e.g. a
truncated file, a timestamp or value that does not parse, a negative value, fewer than two
points) raises TraceError naming the file and the line.

Nothing is invented: gaps stay gaps, and a mixed-resolution file keeps each point at its own
start. `resolution_seconds` is the most common step; a point lasts until the next one but never
longer than that step (so a longer step is a gap), and the last point lasts as long as the step
before it, again at most the resolution. A file mostly finer than one of its stretches would
read that coarser stretch as points followed by gaps; none of the recorded traces is like that.
"""

from __future__ import annotations

import bisect
import csv
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

ELECTRICITYMAPS_HOURLY = "electricitymaps_hourly"
LETSWAITAWHILE = "letswaitawhile"
CARBONADVISOR = "carbonadvisor"
CARBONCAST = "carboncast"
FORMATS = (ELECTRICITYMAPS_HOURLY, LETSWAITAWHILE, CARBONADVISOR, CARBONCAST)

_EXPECTED = (
    "an Electricity Maps export (`Datetime (UTC),...,Carbon Intensity gCO₂eq/kWh (LCA),...`), "
    "Let's Wait Awhile (`Time,Carbon Intensity`), carbonAdvisor (`zone_datetime,timestamp,carbon_intensity_avg,...`) "
    "or CarbonCast (`,UTC time,carbon_intensity,...`)"
)
_MONTH_FIRST = "%m/%d/%Y %H:%M:%S"  # CarbonCast's AUS_QLD and CISO files


class TraceError(ValueError):
    """A trace file that cannot be read; the message names the file and, where known, the line."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Trace:
    path: str
    source_format: str  # one of FORMATS
    zone: str | None  # the zone the file names, if it names one
    resolution_seconds: int  # the most common step between consecutive points
    points: tuple[tuple[int, float], ...]  # (epoch seconds, gCO2eq/kWh), sorted, one per start
    skipped_lines: tuple[int, ...] = ()  # rows with an empty value
    duplicates: int = 0  # rows whose timestamp an earlier row already had (the later row wins)

    @property
    def skipped(self) -> int:
        return len(self.skipped_lines)

    @property
    def start(self) -> int:
        return self.points[0][0]

    @property
    def end(self) -> int:
        """The end of the last point's interval."""
        return self.points[-1][0] + self.seconds[-1]

    @cached_property
    def starts(self) -> tuple[int, ...]:
        return tuple(start for start, _ in self.points)

    @cached_property
    def seconds(self) -> tuple[int, ...]:
        """Each point's length: up to the next point, at most `resolution_seconds` (beyond that is a gap)."""
        starts, resolution = self.starts, self.resolution_seconds
        lengths = [min(b - a, resolution) for a, b in zip(starts, starts[1:])]
        lengths.append(min(lengths[-1], resolution) if lengths else resolution)
        return tuple(lengths)

    def index_at(self, moment: float) -> int | None:
        """The index of the point whose interval contains `moment`; None in a gap or outside the trace."""
        index = bisect.bisect_right(self.starts, moment) - 1
        if index < 0 or moment >= self.starts[index] + self.seconds[index]:
            return None
        return index

    def value_at(self, moment: float) -> float | None:
        index = self.index_at(moment)
        return None if index is None else self.points[index][1]


def parse_timestamp(text: str) -> int:
    """ISO 8601 date-time (or date) to epoch seconds; no offset means UTC. ValueError if it is not one."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return math.floor(moment.timestamp())


def _carboncast_timestamp(text: str) -> int:
    """A CarbonCast timestamp: ISO 8601 (parse_timestamp), or `MM/DD/YYYY HH:MM:SS` in UTC."""
    try:
        return parse_timestamp(text)
    except ValueError:
        moment = datetime.strptime(text.strip(), _MONTH_FIRST)  # ValueError if it is neither
    return math.floor(moment.replace(tzinfo=timezone.utc).timestamp())


@dataclass(frozen=True)
class _Layout:
    source_format: str
    time_column: int
    value_column: int
    zone_column: int | None = None
    timestamp: Callable[[str], int] = parse_timestamp


def _layout(header: list[str]) -> _Layout | None:
    names = [name.strip() for name in header]
    lowered = [name.lower() for name in names]
    if lowered and lowered[0] == "datetime (utc)" and "zone id" in lowered:
        lifecycle = [i for i, name in enumerate(lowered)
                     if name.startswith("carbon intensity") and ("(lca)" in name or "(life cycle)" in name)]
        if len(lifecycle) == 1:
            return _Layout(ELECTRICITYMAPS_HOURLY, 0, lifecycle[0], lowered.index("zone id"))
        return None
    if lowered == ["time", "carbon intensity"]:
        return _Layout(LETSWAITAWHILE, 0, 1)
    if "zone_datetime" in lowered and "carbon_intensity_avg" in lowered:
        return _Layout(CARBONADVISOR, lowered.index("zone_datetime"), lowered.index("carbon_intensity_avg"))
    if "utc time" in lowered and "carbon_intensity" in lowered:
        return _Layout(CARBONCAST, lowered.index("utc time"), lowered.index("carbon_intensity"),
                       timestamp=_carboncast_timestamp)
    return None


def _rows(path: str | Path, reader):
    """(line number, fields) of each record; a CSV-level error becomes a TraceError at its line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise TraceError(path, reader.line_num, f"not CSV: {error}") from None
        yield reader.line_num, row


def load_trace(path: str | Path) -> Trace:
    """Read a recorded trace; TraceError (with the file and line) when it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return _read(path, handle)
    except OSError as error:
        raise TraceError(path, None, f"cannot read the file: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise TraceError(path, None, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:  # in the header
        raise TraceError(path, 1, f"not CSV: {error}") from None


def _read(path: str | Path, handle) -> Trace:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise TraceError(path, 1, f"empty file; expected {_EXPECTED}")
    layout = _layout(header)
    if layout is None:
        shown = ",".join(header)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        raise TraceError(path, 1, f"unknown trace format, header {shown!r}; expected {_EXPECTED}")
    columns = len(header)
    value_name = header[layout.value_column].strip()
    by_start: dict[int, float] = {}
    skipped: list[int] = []
    duplicates = 0
    zone: str | None = None
    for line, row in _rows(path, reader):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if len(row) != columns:
            raise TraceError(path, line, f"expected {columns} fields as in the header, got {len(row)} (a truncated file?)")
        try:
            start = layout.timestamp(row[layout.time_column])
        except ValueError:
            raise TraceError(path, line, f"not a date-time: {row[layout.time_column]!r}") from None
        text = row[layout.value_column].strip()
        if not text:
            skipped.append(line)
            continue
        try:
            value = float(text)
        except ValueError:
            raise TraceError(path, line, f"{value_name}: not a number: {text!r}") from None
        if not math.isfinite(value):
            raise TraceError(path, line, f"{value_name}: not a finite number: {text!r}")
        if value < 0:
            raise TraceError(path, line, f"{value_name}: negative intensity {value:g}")
        if layout.zone_column is not None:
            row_zone = row[layout.zone_column].strip()
            if zone is None:
                zone = row_zone
            elif row_zone != zone:
                raise TraceError(path, line, f"a second zone {row_zone!r} after {zone!r}: one zone per trace file")
        if start in by_start:
            duplicates += 1
        by_start[start] = value
    if len(by_start) < 2:
        raise TraceError(path, None, f"{len(by_start)} data point(s): a trace needs at least two to tell its resolution")
    starts = sorted(by_start)
    steps = Counter(b - a for a, b in zip(starts, starts[1:]))
    resolution = min(steps, key=lambda step: (-steps[step], step))  # the most common; the finer on a tie
    return Trace(
        path=str(path), source_format=layout.source_format, zone=zone or None, resolution_seconds=resolution,
        points=tuple((start, by_start[start]) for start in starts), skipped_lines=tuple(skipped), duplicates=duplicates,
    )
