"""History in production: what a zone's forecaster is fitted on, gathered from every place it exists.

Three inputs, merged per zone into hourly series (epoch seconds of the hour's start):

- the ENTSO-E backfill (backfill.py): at start, the `days` whole UTC days before today of actual
  generation (A75, with each production type's watts: the mix) and the day-ahead forecasts (wind
  and solar A69, load A65, total generation A71), paced through a RequestPacer, resumable from a
  folder; and today so far, in memory only (a partial day is never written as if done).
  `day_series` turns one day's answer into named hourly series; `BackfillRunner` runs it in a
  daemon thread;
- what the exporter observed since it started: `HistoryBook.observe` after each refresh round,
  with the zone's actual intensity points (at most `max_days` kept per zone); and, from the grid
  store's inputs, the newest live generation mix and day-ahead forecasts, remembered as they move on;
- for replay zones, the trace's own past (`ReplayProvider.past`), across the loop seam.

Merge rule, per hour: what the exporter observed live wins over the backfill; today's backfill
wins over the older days' (it is the newer answer).

Hourly values. Intensity is that of the hour's mean mix: each production type's watts averaged
over its intervals in the hour (quarter-hours and hours alike, weighted by their overlap), then
the live exporter's own rule (intensity.mix_intensity: lifecycle factors, storage discharge left
out, "Actual Consumption" never generation). An hour counts only when it is complete: every
production type that reports that day has values over the whole hour. NaN, infinite and negative
values are dropped everywhere (a negative generation value is read as missing, so its hour is
incomplete).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

import numpy as np

from gridshift.exporters.grid import datasets as grid_datasets
from gridshift.exporters.grid.backfill import DAY, Backfill, BackfillStatus, Chunk, HistoryStore, Series, plan
from gridshift.exporters.grid.errors import FetchError, as_fetch_errors
from gridshift.exporters.grid.forecasting.model import Fuel, History
from gridshift.exporters.grid.hourly import SHARE, HourlyColumn, dtype_for, merged
from gridshift.exporters.grid.intensity import mix_intensity
from gridshift.exporters.grid.mix import TOTAL, GenerationMix, Profile, require_document
from gridshift.exporters.grid.pacing import RequestPacer
from gridshift.exporters.grid.parse import (
    Document,
    Interval,
    ParseError,
    parse_document,
)
from gridshift.exporters.grid.records import IntensityPoint
from gridshift.exporters.grid.snapshot import Inputs, held
from gridshift.exporters.grid.splitting import fetch_document

log = logging.getLogger(__name__)

HOUR = 3600
GENERATION = grid_datasets.GENERATION.name
WIND_SOLAR = grid_datasets.WIND_SOLAR_FORECAST.name
LOAD_FORECAST = grid_datasets.LOAD_FORECAST.name
GENERATION_FORECAST = grid_datasets.GENERATION_FORECAST.name


@dataclass(frozen=True)
class TsoForecast:
    """One of the TSO's day-ahead forecasts the forecaster reads: its dataset, the direction its
    series run in, and each feature it gives (feature name -> production types added up, `total`
    for a series without one)."""

    dataset: grid_datasets.Dataset[object]
    direction: str
    features: Mapping[str, tuple[str, ...]]


TSO_FORECASTS: Mapping[str, TsoForecast] = {
    WIND_SOLAR: TsoForecast(grid_datasets.WIND_SOLAR_FORECAST, "in", {"wind": ("B18", "B19"), "solar": ("B16",)}),
    LOAD_FORECAST: TsoForecast(grid_datasets.LOAD_FORECAST, "out", {"load": (TOTAL,)}),
    GENERATION_FORECAST: TsoForecast(grid_datasets.GENERATION_FORECAST, "in", {"total_generation": (TOTAL,)}),
}
FUEL_NAMES = tuple(name for forecast in TSO_FORECASTS.values() for name in forecast.features)
DATASETS = (GENERATION, *TSO_FORECASTS)
FINAL_AFTER_SECONDS = 3 * HOUR  # an observed hour this far behind the newest observation is final
MAX_DAYS = 35

Points = list[tuple[int, float]]


# -- one backfilled day -> named hourly series ---------------------------------------------------

def day_series(dataset: str, xml_text: str | bytes, factors: Mapping[str, float], *,
               start: int | None = None, end: int | None = None) -> Series:
    """One ENTSO-E answer as named hourly series, hours in [start, end) when given (a chunk's day).

    "generation" (A75/A16): {"intensity": gCO2eq/kWh of each complete hour, "generation": total
    watts, "share:<type>": each production type's share of it}; the day-ahead forecasts (A01 only):
    "wind_solar_forecast" (A69) {"wind": W, "solar": W}, a name only where the document has its
    types; "load_forecast" (A65) {"load": W}; "generation_forecast" (A71) {"total_generation": W}. A
    forecast of another process type (A69's A18 "current", A65's A16 actual load) is ignored: {}.
    Raises ParseError (malformed, wrong document type), NoDataAcknowledgement, RejectedRequest.
    """
    return document_series(dataset, parse_document(xml_text), factors, start=start, end=end)


def document_series(dataset: str, document: Document, factors: Mapping[str, float], *,
                    start: int | None = None, end: int | None = None) -> Series:
    """day_series of a document already parsed (the parts of a split query, merged)."""
    if dataset == GENERATION:
        require_document(document, document_type=grid_datasets.GENERATION.document_type,
                         process_type=grid_datasets.GENERATION.process_type)
        return _generation_series(document, factors, start, end)
    forecast = TSO_FORECASTS.get(dataset)
    if forecast is None:
        raise ValueError(f"no day series for dataset {dataset!r}; known: {', '.join(DATASETS)}")
    if document.document_type != forecast.dataset.document_type:
        raise ParseError(f"expected document {forecast.dataset.document_type}, got {document.document_type}")
    if document.process_type != forecast.dataset.process_type:
        log.info("history: ignoring a %s of process type %s (only day-ahead %s is kept)",
                 dataset, document.process_type, forecast.dataset.process_type)
        return {}
    by_type = _by_type(s for s in document.series if s.direction == forecast.direction)
    return _fuel_series(by_type, forecast.features, start, end)


class _Typed(Protocol):
    @property
    def psr_type(self) -> str | None: ...

    @property
    def intervals(self) -> Sequence[Interval]: ...


def _by_type(series: Iterable[_Typed]) -> dict[str, list[Interval]]:
    """psr_type -> intervals; several TimeSeries of one type merge, the first value for a start wins
    (as mix.py merges them). NaN, infinite and negative values are dropped (missing)."""
    merged: dict[str, dict[int, Interval]] = {}
    for one in series:
        slot = merged.setdefault(one.psr_type or "total", {})
        for interval in one.intervals:
            if _usable(interval.value):
                slot.setdefault(interval.start, interval)
    return {psr: sorted(by_start.values(), key=lambda i: i.start) for psr, by_start in merged.items() if by_start}


def _hourly_means(intervals: Iterable[Interval], start: int | None, end: int | None) -> dict[int, float]:
    """hour -> mean value over the hour, for the hours these intervals cover entirely."""
    sums: dict[int, float] = {}
    covered: Counter[int] = Counter()
    for interval in intervals:
        hour = interval.start // HOUR * HOUR
        while hour < interval.end:
            overlap = min(interval.end, hour + HOUR) - max(interval.start, hour)
            if overlap > 0:
                sums[hour] = sums.get(hour, 0.0) + interval.value * overlap
                covered[hour] += overlap
            hour += HOUR
    return {hour: sums[hour] / HOUR for hour in sorted(sums)
            if covered[hour] >= HOUR and (start is None or hour >= start) and (end is None or hour < end)}


def _reporting(by_type: Mapping[str, list[Interval]], start: int | None, end: int | None) -> dict[str, list[Interval]]:
    """The types with a value in the window (a type silent all day does not hold its hours back)."""
    def inside(interval: Interval) -> bool:
        return (start is None or interval.end > start) and (end is None or interval.start < end)

    return {psr: intervals for psr, intervals in by_type.items() if any(inside(i) for i in intervals)}


def _generation_series(document: Document, factors: Mapping[str, float], start: int | None, end: int | None) -> Series:
    generation = _reporting(_by_type(s for s in document.series if s.direction == "in"), start, end)
    hourly = {psr: _hourly_means(intervals, start, end) for psr, intervals in generation.items()}
    hours = sorted(set.intersection(*(set(means) for means in hourly.values()))) if hourly else []
    intensity: Points = []
    total: Points = []
    for hour in hours:
        watts = {psr: means[hour] for psr, means in hourly.items()}
        value = mix_intensity(watts, factors)
        if value is not None and _usable(value):
            intensity.append((hour, value))
        total.append((hour, sum(watts.values())))
    if not hours:
        return {}
    shares = {SHARE + psr: [(hour, means[hour] / watts) for hour, (_, watts) in zip(hours, total) if watts > 0]
              for psr, means in sorted(hourly.items())}
    return {"intensity": intensity, "generation": total, **shares}


def _fuel_series(by_type: Mapping[str, list[Interval]], features: Mapping[str, tuple[str, ...]],
                 start: int | None, end: int | None) -> Series:
    out: Series = {}
    for name, types in features.items():
        present = _reporting({psr: by_type[psr] for psr in types if psr in by_type}, start, end)
        if not present:
            continue
        hourly = [_hourly_means(intervals, start, end) for intervals in present.values()]
        hours = sorted(set.intersection(*(set(means) for means in hourly)))
        if hours:
            out[name] = [(hour, sum(means[hour] for means in hourly)) for hour in hours]
    return out


def _usable(value: float) -> bool:
    return math.isfinite(value) and value >= 0


# -- fetching a chunk ------------------------------------------------------------------------------

class DaySource(Protocol):
    """What the backfill asks ENTSO-E through (sources.entsoe.EntsoeSource)."""

    def fetch(self, *, dataset: str, zone: str, start: datetime, end: datetime) -> str: ...


def entsoe_day_fetcher(source: DaySource, factors: Mapping[str, float]) -> Callable[[Chunk], Series]:
    """Backfill's `fetch`: one chunk's day through `source`, as day_series. A FetchError of the
    source passes through; an answer that cannot be read is FetchError("malformed") (the day is
    not kept), ENTSO-E's "no matching data" FetchError("no_data"), a refusal FetchError("rejected");
    a day over a per-query cap is asked again in parts (splitting.py)."""

    def fetch(chunk: Chunk) -> Series:
        def part(start: datetime, end: datetime) -> str:
            return source.fetch(dataset=chunk.dataset, zone=chunk.zone, start=start, end=end)

        with as_fetch_errors(f"the backfill of {chunk.dataset} for {chunk.zone} on {_utc(chunk.start):%Y-%m-%d}"):
            document = fetch_document(part, _utc(chunk.start), _utc(chunk.end))
            return document_series(chunk.dataset, document, factors, start=chunk.start, end=chunk.end)

    return fetch


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


# -- the history a forecaster reads ----------------------------------------------------------------

class PastSource(Protocol):
    """A replay provider: its zones and the trace's past mapped onto wall time."""

    @property
    def zones(self) -> tuple[str, ...]: ...

    def past(self, zone: str, now: float, seconds: float) -> list[tuple[int, float]]: ...


@dataclass
class _Live:
    """One zone's live observations: raw points of the recent hours, compact columns of the final ones."""

    raw: dict[int, float] = field(default_factory=dict)  # point start -> intensity (the later report wins)
    intensity: HourlyColumn = field(default_factory=HourlyColumn)  # final hours: the mean of their points
    newest: int = 0
    mixes: dict[int, dict[str, float]] = field(default_factory=dict)  # recent interval start -> watts per type
    shares: dict[str, HourlyColumn] = field(default_factory=dict)  # final hours: each type's share
    total: HourlyColumn = field(default_factory=HourlyColumn)  # final hours: total watts
    forecasts: dict[str, HourlyColumn] = field(default_factory=dict)  # feature -> the live day-ahead values


class HistoryBook:
    """Per zone, the hourly intensity before `now`, its production mix, and the TSO's day-ahead forecasts.

    `store`: the backfilled days; `recent`: today's backfill (in memory); `replay`: the replay
    provider (its zones read the trace's past); `inputs`: the grid store's inputs (GridStore.current),
    read for the newest live generation mix (A75) and day-ahead forecasts (A69, A65, A71) of each
    zone. What it keeps itself is held in compact hourly columns (hourly.py), at most `max_days`.
    Thread-safe.
    """

    def __init__(self, store: HistoryStore | None = None, *, recent: HistoryStore | None = None,
                 replay: PastSource | None = None, inputs: Callable[[], Inputs] | None = None,
                 max_days: int = MAX_DAYS) -> None:
        if max_days < 1:
            raise ValueError(f"max_days must be at least 1, got {max_days}")
        self.store, self.recent, self.replay, self.inputs = store, recent, replay, inputs
        self.max_days = max_days
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()

    # what the exporter sees

    def observe(self, zone: str, points: Iterable[IntensityPoint | tuple[float, float]], *,
                now: float | None = None) -> int:
        """Record a zone's actual intensity points: forecast points, points starting at or after
        `now` (a replay's series holds its future as actuals), NaN and negative values are skipped;
        a point seen again counts once, its later value winning until its hour is final (3 h behind
        the newest observation). Returns how many were taken. Also remembers the zone's live
        generation mix and day-ahead forecasts, if `inputs` holds them."""
        taken = 0
        with self._lock:
            live = self._live.setdefault(zone, _Live())
            final = live.intensity
            for point in points:
                if isinstance(point, IntensityPoint):
                    if point.forecast:
                        continue
                    start, value = point.start, point.grams_per_kwh
                else:
                    start, value = point
                if not (math.isfinite(start) and _usable(float(value))) or (now is not None and start >= now):
                    continue
                start = int(start)
                hour = start // HOUR
                if final.first_hour <= hour < final.end_hour and math.isfinite(final.values[hour - final.first_hour]):
                    continue  # that hour is final; this is a repeat of what made it
                live.raw[start] = float(value)
                live.newest = max(live.newest, start)
                taken += 1
            self._finalise(live)
        self._remember(zone)
        return taken

    def _finalise(self, live: _Live) -> None:
        final_before = (live.newest - FINAL_AFTER_SECONDS) // HOUR * HOUR
        closing = [start for start in live.raw if start < final_before]
        live.intensity.put(_hourly_points((start, live.raw.pop(start)) for start in closing).items())
        oldest = (live.newest - self.max_days * DAY) // HOUR
        for column in (live.intensity, live.total, *live.shares.values(), *live.forecasts.values()):
            column.drop_before(oldest)

    def _remember(self, zone: str) -> None:
        """The live generation mix and day-ahead forecasts held for the zone, kept as they move on."""
        if self.inputs is None:
            return
        inputs = self.inputs()
        forecasts: Series = {}
        for forecast in TSO_FORECASTS.values():
            one = held(inputs, forecast.dataset.key(zone))
            if one is not None and isinstance(one.value, Profile):
                by_type = _by_type(_ProfileSeries(psr, intervals) for psr, intervals in one.value.series.items())
                forecasts.update(_fuel_series(by_type, forecast.features, None, None))
        generation = held(inputs, grid_datasets.GENERATION.key(zone))
        latest = generation.value if generation is not None and isinstance(generation.value, GenerationMix) else None
        with self._lock:
            live = self._live.setdefault(zone, _Live())
            for name, points in forecasts.items():
                live.forecasts.setdefault(name, HourlyColumn()).put(points)
            if latest is not None:
                live.mixes[latest.timestamp] = {psr: w for psr, w in latest.watts.items() if _usable(w)}
                self._finalise_mixes(live, newest=max(live.mixes))

    def _finalise_mixes(self, live: _Live, *, newest: int) -> None:
        """The mixes of hours 3 h behind the newest become each type's hourly share and the total."""
        final_before = (newest - FINAL_AFTER_SECONDS) // HOUR * HOUR
        closing = {start: live.mixes.pop(start) for start in [s for s in live.mixes if s < final_before]}
        _put_mixes(closing, shares=live.shares, total=live.total)

    # what the forecaster reads

    def history(self, zone: str, now: float) -> History:
        """What the zone's forecaster is fitted on: the hourly intensity of the `max_days` before
        `now`, and each production type's share on the same hours (NaN where an hour has none; None
        for a zone without any, e.g. a replay or provider zone)."""
        first, end = self._span(now)
        values = self._intensity(zone, first, end)
        known = np.flatnonzero(np.isfinite(values))
        shares = {psr: column[known] for psr, column in sorted(self._shares(zone, first, end).items())}
        return History((first + known) * HOUR, values[known], shares or None)

    def intensity(self, zone: str, now: float) -> Points:
        """Hourly gCO2eq/kWh, hours starting before `now`, oldest first, each hour once."""
        history = self.history(zone, now)
        return [(int(t), float(v)) for t, v in zip(history.timestamps, history.values)]

    def mix(self, zone: str, now: float) -> dict[str, dict[int, float]]:
        """Production type -> hour -> its share of the hour's production, hours before `now`."""
        first, end = self._span(now)
        return {psr: {(first + int(k)) * HOUR: float(values[k]) for k in np.flatnonzero(np.isfinite(values))}
                for psr, values in self._shares(zone, first, end).items()}

    def fuel_series(self, zone: str, now: float) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None] | None:
        """(hours, {"wind": [...], "solar": [...], "load": [...], "total_generation": [...]}, actual
        generation) on one hourly axis from `max_days` before `now` to the newest forecast hour, NaN
        where a series has no value (actual generation: the backfilled and live totals, NaN ahead);
        None without any day-ahead forecast. Past and ahead: the forecasts are known before their hours."""
        self._remember(zone)
        first, now_hour = self._span(now)
        with self._lock:
            live = self._live.get(zone)
            live_forecasts = {name: column.copy() for name, column in live.forecasts.items()} if live else {}
            live_totals = [live.total.copy(), _recent_mixes(live)[1]] if live else []
        layers: dict[str, list[HourlyColumn | None]] = {}
        for name in FUEL_NAMES:
            layers[name] = [store.column(zone, name) for store in self._stores()] + [live_forecasts.get(name)]
        layers = {name: columns for name, columns in layers.items() if any(c is not None and len(c) for c in columns)}
        if not layers:
            return None
        end = max(c.end_hour for columns in layers.values() for c in columns if c is not None and len(c))
        forecasts = {name: merged(first, end, columns) for name, columns in layers.items()}
        known = np.flatnonzero(np.any([np.isfinite(v) for v in forecasts.values()], axis=0))
        if len(known) == 0:
            return None
        axis = np.arange(first + known[0], first + known[-1] + 1)
        offset = int(known[0])
        forecasts = {name: values[offset:offset + len(axis)] for name, values in forecasts.items()}
        total = merged(int(axis[0]), int(axis[-1]) + 1,
                       [store.column(zone, GENERATION) for store in self._stores()] + live_totals)
        total[axis >= now_hour] = np.nan
        return axis * HOUR, forecasts, (total if np.isfinite(total).any() else None)

    def fuel(self, zone: str, now: float) -> Fuel | None:
        """fuel_series as the forecaster's Fuel (timestamps, forecasts, generation)."""
        series = self.fuel_series(zone, now)
        if series is None:
            return None
        axis, forecasts, generation = series
        return Fuel(timestamps=axis, forecasts=forecasts, generation=generation)

    def _span(self, now: float) -> tuple[int, int]:
        """The epoch hours [first, end) the forecaster reads: `max_days` before the hour of `now`."""
        end = int(math.ceil(now / HOUR))
        return end - self.max_days * 24, end

    def _stores(self) -> list[HistoryStore]:
        return [store for store in (self.store, self.recent) if store is not None]

    def _intensity(self, zone: str, first: int, end: int) -> np.ndarray:
        """Merge rule: the replay's past, then the backfill, today's backfill, the live final hours,
        the live recent points (each later one winning where it has a value)."""
        layers: list[HourlyColumn | None] = []
        if self.replay is not None and zone in self.replay.zones:
            try:
                past = HourlyColumn()
                past.put(_hourly_points(self.replay.past(zone, end * HOUR, self.max_days * DAY)).items())
                layers.append(past)
            except FetchError as error:
                log.warning("history: no replay past for %s: %s", zone, error.message)
        layers += [store.column(zone, "intensity") for store in self._stores()]
        with self._lock:
            live = self._live.get(zone)
            if live is not None:
                recent = HourlyColumn()
                recent.put(_hourly_points(live.raw.items()).items())
                layers += [live.intensity.copy(), recent]
        values = merged(first, end, layers)
        values[~(values >= 0)] = np.nan
        return values

    def _shares(self, zone: str, first: int, end: int) -> dict[str, np.ndarray]:
        """Production type -> its hourly share over [first, end): the backfill, then the live final hours."""
        layers: dict[str, list[HourlyColumn | None]] = {}
        for store in self._stores():
            for name in store.names(zone):
                if name.startswith(SHARE):
                    layers.setdefault(name.removeprefix(SHARE), []).append(store.column(zone, name))
        with self._lock:
            live = self._live.get(zone)
            if live is not None:
                recent, _ = _recent_mixes(live)
                for psr in live.shares.keys() | recent.keys():
                    layers.setdefault(psr, []).extend([live.shares[psr].copy() if psr in live.shares else None,
                                                       recent.get(psr)])
        return {psr: merged(first, end, columns) for psr, columns in layers.items()}


def _put_mixes(mixes: Mapping[int, Mapping[str, float]], *, shares: dict[str, HourlyColumn], total: HourlyColumn) -> None:
    """Interval start -> watts per type, as each hour's share per type and total watts."""
    by_hour: dict[int, list[Mapping[str, float]]] = {}
    for start, watts in mixes.items():
        by_hour.setdefault(start // HOUR * HOUR, []).append(watts)
    for hour, seen in by_hour.items():
        watts = _mean_mix(seen)
        hour_total = sum(watts.values())
        if hour_total > 0:
            total.put([(hour, hour_total)])
            for psr, value in watts.items():
                shares.setdefault(psr, HourlyColumn(dtype_for(SHARE))).put([(hour, value / hour_total)])


def _recent_mixes(live: _Live) -> tuple[dict[str, HourlyColumn], HourlyColumn]:
    """The recent (not yet final) live mixes as hourly shares and total, copies: (shares, total)."""
    shares: dict[str, HourlyColumn] = {}
    total = HourlyColumn()
    _put_mixes(live.mixes, shares=shares, total=total)
    return shares, total


def _mean_mix(mixes: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each type's mean watts over the intervals seen in an hour (a type missing from one counts as unseen there)."""
    sums: dict[str, float] = {}
    counts: Counter[str] = Counter()
    for one in mixes:
        for psr, watts in one.items():
            sums[psr] = sums.get(psr, 0.0) + watts
            counts[psr] += 1
    return {psr: sums[psr] / counts[psr] for psr in sums}


@dataclass(frozen=True)
class _ProfileSeries:
    psr_type: str
    intervals: Sequence[Interval]


def _hourly_points(points: Iterable[tuple[int, float]]) -> dict[int, float]:
    """hour -> mean of the usable points starting in it."""
    sums: dict[int, float] = {}
    counts: Counter[int] = Counter()
    for start, value in points:
        if _usable(value):
            hour = int(start) // HOUR * HOUR
            sums[hour] = sums.get(hour, 0.0) + value
            counts[hour] += 1
    return {hour: sums[hour] / counts[hour] for hour in sums}


# -- running the backfill at start -----------------------------------------------------------------

def _combined(statuses: Iterable[BackfillStatus], running: bool) -> BackfillStatus:
    total = BackfillStatus(running=running)
    for status in statuses:
        total.planned += status.planned
        total.done += status.done
        total.failed += status.failed
        total.errors.update(status.errors)
    return total


class BackfillRunner:
    """The ENTSO-E backfill in a daemon thread: today so far first (kept in memory, `recent`),
    then the `days` whole days before it, newest first (kept in `store`, in its folder if it has
    one), every request through one RequestPacer (`per_minute`, well inside ENTSO-E's 400; in the
    exporter a share of the one ENTSO-E pacer). Planned again every `rerun_seconds`: what is held
    is not asked again, so a rerun asks only for the new day and the days an outage cost (given up
    after their attempts), at the pacer's pace, without a restart."""

    rerun_seconds = 3600.0

    def __init__(self, *, zones: Sequence[str], fetch: Callable[[Chunk], Series], store: HistoryStore,
                 recent: HistoryStore | None = None, days: int = MAX_DAYS, per_minute: int = 100,
                 pacer: RequestPacer | None = None, clock: Callable[[], float] = time.time,
                 datasets: Sequence[str] = DATASETS, max_attempts: int = 4) -> None:
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        self.zones, self.days, self.datasets = tuple(zones), days, tuple(datasets)
        self.store = store
        self.recent = recent if recent is not None else HistoryStore()
        self.pacer = pacer or RequestPacer(per_minute, clock=clock)
        self.clock = clock
        self._fetch, self._max_attempts = fetch, max_attempts
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runs: list[Backfill] = []
        self._earlier_errors: Counter[str] = Counter()  # of the runs before: the error counter never goes back
        self._lock = threading.Lock()

    @property
    def status(self) -> BackfillStatus:
        """How far it got (a copy): planned, done, failed, pending, errors by reason, running."""
        with self._lock:
            runs = list(self._runs)
        thread = self._thread
        status = _combined((run.status for run in runs), running=thread is not None and thread.is_alive())
        status.errors.update(self._earlier_errors)
        return status

    def start(self) -> BackfillRunner:
        """Start the daemon thread (once); returns at once."""
        if self._thread is None and self.zones:
            self._thread = threading.Thread(target=self._loop, name="grid-backfill", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the backfill to stop (it stops before its next request) and wait up to `timeout`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run()
            self._stop.wait(self.rerun_seconds)

    def run(self) -> BackfillStatus:
        """The whole backfill once, in the calling thread (what the daemon thread runs each rerun)."""
        now = self.clock()
        today = int(now) // DAY * DAY
        recent = Backfill(chunks=[Chunk(zone, dataset, today) for zone in self.zones for dataset in self.datasets],
                          fetch=self._fetch, store=self.recent, pacer=self.pacer, clock=self.clock,
                          max_attempts=self._max_attempts)
        chunks = plan(self.zones, self.datasets, now=now, days=self.days)
        older = Backfill(chunks=chunks, fetch=self._fetch, store=self.store, pacer=self.pacer, clock=self.clock,
                         max_attempts=self._max_attempts)
        with self._lock:
            for run in self._runs:
                self._earlier_errors.update(run.status.errors)
            self._runs = [recent, older]
        asked = len(recent.chunks) + sum(not self.store.has(chunk) for chunk in chunks)
        per_minute = self.pacer.per_minute
        log.info("backfilling %d days of %d zones: %d requests, about %d min at %d a minute "
                 "(today so far, then %d (zone, dataset, day) of the plan not held yet; %d held%s)", self.days, len(self.zones), asked,
                 math.ceil(asked / per_minute), per_minute, asked - len(recent.chunks), len(chunks) - (asked - len(recent.chunks)),
                 f", in {self.store.folder}" if self.store.folder is not None else ", in memory")
        started = self.clock()
        for run in (recent, older):
            if self._stop.is_set():
                break
            run.run(self._stop)
        status = self.status
        status.running = False
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(status.errors.items())) or "none"
        log.log(logging.WARNING if status.failed else logging.INFO,
                "backfill %s after %.0f s: %d of %d (zone, dataset, day) done, %d failed, %d pending; errors by reason: %s",
                "stopped" if self._stop.is_set() else "finished", self.clock() - started,
                status.done, status.planned, status.failed, status.pending, reasons)
        return status
