"""Parsed documents -> what the exporter publishes. Pure functions.

The newest interval of actual generation is often incomplete: some production types report
minutes or hours after the others. Publishing it would show a false dip in generation (and a
false swing in renewable share and intensity), so the mix is taken at the newest interval for
which every *active* production type has a value. A type is active if it reported within
`vanished_after_seconds` of the newest data point; one silent for longer has vanished (a plant
class that stopped reporting) and must not hold the mix back forever.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gridshift.exporters.grid.parse import Document, Interval, ParseError, Series


@dataclass(frozen=True)
class GenerationMix:
    timestamp: int  # start of the interval, epoch seconds
    watts: Mapping[str, float]  # psr_type -> generation
    storage_consumption_watts: Mapping[str, float]  # psr_type -> charging ("Actual Consumption")
    resolution_seconds: int = 3600  # the finest resolution among the types of this interval

    @property
    def total_watts(self) -> float:
        return sum(self.watts.values())

    @property
    def newest_timestamp(self) -> int:
        return self.timestamp


@dataclass(frozen=True)
class Reading:
    timestamp: int
    watts: float

    @property
    def newest_timestamp(self) -> int:
        return self.timestamp


@dataclass(frozen=True)
class Profile:
    """A time series per production type (or `total`), e.g. a day-ahead forecast."""

    series: Mapping[str, tuple[Interval, ...]]

    @property
    def newest_timestamp(self) -> int | None:
        ends = [intervals[-1].start for intervals in self.series.values() if intervals]
        return max(ends) if ends else None


TOTAL = "total"


class _Lookup:
    """Value at a moment from intervals of any resolution (hourly and quarter-hourly types mix)."""

    def __init__(self, intervals: Iterable[Interval]) -> None:
        self.intervals = sorted(intervals, key=lambda interval: interval.start)
        self.starts = [interval.start for interval in self.intervals]

    def at(self, moment: int) -> float | None:
        index = bisect.bisect_right(self.starts, moment) - 1
        if index < 0:
            return None
        interval = self.intervals[index]
        return interval.value if moment < interval.end else None

    def resolution_at(self, moment: int) -> int:
        interval = self.intervals[bisect.bisect_right(self.starts, moment) - 1]
        return interval.end - interval.start

    @property
    def newest(self) -> int:
        return self.intervals[-1].start


def _merge_by_psr(series: Iterable[Series]) -> dict[str, list[Interval]]:
    """Several TimeSeries of one type (days, periods) become one list; the first value wins."""
    merged: dict[str, dict[int, Interval]] = {}
    for one in series:
        key = one.psr_type or TOTAL
        slot = merged.setdefault(key, {})
        for interval in one.intervals:
            slot.setdefault(interval.start, interval)
    return {key: list(by_start.values()) for key, by_start in merged.items()}


def require_document(document: Document, *, document_type: str, process_type: str) -> None:
    """ENTSO-E answers with what it has; a wrong type or process would be published as truth."""
    if (document.document_type, document.process_type) != (document_type, process_type):
        raise ParseError(
            f"expected document {document_type}/{process_type}, "
            f"got {document.document_type}/{document.process_type}"
        )


def latest_generation_mix(document: Document, *, vanished_after_seconds: float) -> GenerationMix | None:
    generation = {
        psr: _Lookup(intervals)
        for psr, intervals in _merge_by_psr(s for s in document.series if s.direction == "in").items()
        if intervals
    }
    if not generation:
        return None
    newest = max(lookup.newest for lookup in generation.values())
    active = {psr: lookup for psr, lookup in generation.items() if lookup.newest >= newest - vanished_after_seconds}
    candidates = sorted({start for lookup in active.values() for start in lookup.starts}, reverse=True)
    for moment in candidates:
        values = {psr: lookup.at(moment) for psr, lookup in active.items()}
        if all(value is not None for value in values.values()):
            return GenerationMix(
                timestamp=moment,
                resolution_seconds=min(lookup.resolution_at(moment) for lookup in active.values()),
                watts=MappingProxyType({psr: float(value) for psr, value in values.items() if value is not None}),
                storage_consumption_watts=MappingProxyType(_consumption_at(document, moment)),
            )
    return None


def _consumption_at(document: Document, moment: int) -> dict[str, float]:
    consumption = _merge_by_psr(s for s in document.series if s.direction == "out")
    values = {psr: _Lookup(intervals).at(moment) for psr, intervals in consumption.items() if intervals}
    return {psr: value for psr, value in values.items() if value is not None}


def latest_reading(document: Document) -> Reading | None:
    """Newest point of a single-series document (actual total load)."""
    intervals = [interval for series in document.series for interval in series.intervals]
    if not intervals:
        return None
    newest = max(intervals, key=lambda interval: interval.start)
    return Reading(timestamp=newest.start, watts=newest.value)


def profile(document: Document) -> Profile:
    merged = _merge_by_psr(document.series)
    return Profile(series=MappingProxyType({key: tuple(value) for key, value in merged.items()}))
