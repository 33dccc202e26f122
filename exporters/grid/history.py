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

from gridshift.exporters.grid import datasets as grid_datasets
from gridshift.exporters.grid.backfill import DAY, Backfill, BackfillStatus, Chunk, HistoryStore, Series, plan
from gridshift.exporters.grid.errors import FetchError, as_fetch_errors
from gridshift.exporters.grid.forecasting.model import Fuel, History
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

log = logging.getLogger(__name__)

HOUR = 3600
GENERATION = grid_datasets.GENERATION.name
WIND_SOLAR = grid_datasets.WIND_SOLAR_FORECAST.name
LOAD_FORECAST = grid_datasets.LOAD_FORECAST.name
GENERATION_FORECAST = grid_datasets.GENERATION_FORECAST.name
MIX = "mix:"  # prefix of the backfilled production per type: "mix:B16" is solar's hourly watts


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
    watts, "mix:<type>": each production type's watts}; the day-ahead forecasts (process A01 only):
    "wind_solar_forecast" (A69) {"wind": W, "solar": W}, a name only where the document has its
    types; "load_forecast" (A65) {"load": W}; "generation_forecast" (A71) {"total_generation": W}. A
    forecast of another process type (A69's A18 "current", A65's A16 actual load) is ignored: {}.
    Raises ParseError (malformed, wrong document type), NoDataAcknowledgement, RejectedRequest.
    """
    document = parse_document(xml_text)
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
    per_type = {MIX + psr: [(hour, means[hour]) for hour in hours] for psr, means in sorted(hourly.items())}
    return {"intensity": intensity, "generation": total, **per_type}


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
    not kept), ENTSO-E's "no matching data" FetchError("no_data"), a refusal FetchError("rejected")."""

    def fetch(chunk: Chunk) -> Series:
        text = source.fetch(dataset=chunk.dataset, zone=chunk.zone, start=_utc(chunk.start), end=_utc(chunk.end))
        with as_fetch_errors(f"the backfill of {chunk.dataset} for {chunk.zone} on {_utc(chunk.start):%Y-%m-%d}"):
            return day_series(chunk.dataset, text, factors, start=chunk.start, end=chunk.end)

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
class _Observed:
    """One zone's live observations: raw points of the recent hours, hourly means of the final ones."""

    raw: dict[int, float] = field(default_factory=dict)  # point start -> value (the later report wins)
    hourly: dict[int, float] = field(default_factory=dict)  # final hours: hour -> mean
    newest: int = 0


class HistoryBook:
    """Per zone, the hourly intensity before `now`, its production mix, and the TSO's day-ahead forecasts.

    `store`: the backfilled days; `recent`: today's backfill (in memory); `replay`: the replay
    provider (its zones read the trace's past); `inputs`: the grid store's inputs (GridStore.current),
    read for the newest live generation mix (A75) and day-ahead forecasts (A69, A65, A71) of each
    zone. Thread-safe.
    """

    def __init__(self, store: HistoryStore | None = None, *, recent: HistoryStore | None = None,
                 replay: PastSource | None = None, inputs: Callable[[], Inputs] | None = None,
                 max_days: int = MAX_DAYS) -> None:
        if max_days < 1:
            raise ValueError(f"max_days must be at least 1, got {max_days}")
        self.store, self.recent, self.replay, self.inputs = store, recent, replay, inputs
        self.max_days = max_days
        self._observed: dict[str, _Observed] = {}
        self._fuel: dict[str, dict[str, dict[int, float]]] = {}  # zone -> feature -> hour -> live day-ahead value
        self._mix: dict[str, dict[str, dict[int, float]]] = {}  # zone -> production type -> interval start -> live watts
        self._lock = threading.Lock()

    # what the exporter sees

    def observe(self, zone: str, points: Iterable[IntensityPoint | tuple[float, float]], *,
                now: float | None = None) -> int:
        """Record a zone's actual intensity points: forecast points, points starting at or after
        `now` (a replay's series holds its future as actuals), NaN and negative values are skipped;
        a point seen again counts once, its later value winning until its hour is final (3 h behind
        the newest observation). Returns how many were taken. Also remembers the zone's live
        day-ahead wind and solar forecast, if `inputs` holds one."""
        taken = 0
        with self._lock:
            observed = self._observed.setdefault(zone, _Observed())
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
                if start // HOUR * HOUR in observed.hourly:
                    continue  # that hour is final; this is a repeat of what made it
                observed.raw[start] = float(value)
                observed.newest = max(observed.newest, start)
                taken += 1
            self._finalise(observed)
        self._remember_fuel(zone)
        self._remember_mix(zone)
        return taken

    def _finalise(self, observed: _Observed) -> None:
        final_before = (observed.newest - FINAL_AFTER_SECONDS) // HOUR * HOUR
        closing: dict[int, list[float]] = {}
        for start in [s for s in observed.raw if s < final_before]:
            closing.setdefault(start // HOUR * HOUR, []).append(observed.raw.pop(start))
        for hour, values in closing.items():
            observed.hourly[hour] = sum(values) / len(values)
        oldest = observed.newest - self.max_days * DAY
        for hour in [h for h in observed.hourly if h < oldest]:
            del observed.hourly[hour]

    def _remember_fuel(self, zone: str) -> None:
        """The live day-ahead forecasts held for the zone, as hourly feature series, kept as they move on."""
        if self.inputs is None:
            return
        inputs = self.inputs()
        live: Series = {}
        for forecast in TSO_FORECASTS.values():
            one = held(inputs, forecast.dataset.key(zone))
            if one is not None and isinstance(one.value, Profile):
                by_type = _by_type(_ProfileSeries(psr, intervals) for psr, intervals in one.value.series.items())
                live.update(_fuel_series(by_type, forecast.features, None, None))
        if live:
            with self._lock:
                self._keep(self._fuel.setdefault(zone, {}), live)

    def _remember_mix(self, zone: str) -> None:
        """The zone's latest live generation mix (A75), per production type, by interval start."""
        if self.inputs is None:
            return
        one = held(self.inputs(), grid_datasets.GENERATION.key(zone))
        if one is None or not isinstance(one.value, GenerationMix):
            return
        latest = one.value
        live = {psr: [(latest.timestamp, watts)] for psr, watts in latest.watts.items() if _usable(watts)}
        with self._lock:
            self._keep(self._mix.setdefault(zone, {}), live)

    def _keep(self, kept: dict[str, dict[int, float]], new: Series) -> None:
        for name, points in new.items():
            kept.setdefault(name, {}).update(points)
        newest = max((h for hours in kept.values() for h in hours), default=0)
        for hours in kept.values():
            for hour in [h for h in hours if h < newest - self.max_days * DAY]:
                del hours[hour]

    # what the forecaster reads

    def intensity(self, zone: str, now: float) -> Points:
        """Hourly gCO2eq/kWh, hours starting before `now`, oldest first, each hour once."""
        merged: dict[int, float] = {}
        if self.replay is not None and zone in self.replay.zones:
            try:
                merged.update(_hourly_points(self.replay.past(zone, now, self.max_days * DAY)))
            except FetchError as error:
                log.warning("history: no replay past for %s: %s", zone, error.message)
        for store in (self.store, self.recent):
            if store is not None:
                merged.update(store.series(zone, "intensity"))
        with self._lock:
            observed = self._observed.get(zone)
            if observed is not None:
                merged.update(observed.hourly)
                merged.update(_hourly_points(observed.raw.items()))
        return [(hour, value) for hour, value in sorted(merged.items()) if hour < now and _usable(value)]

    def fuel_series(self, zone: str, now: float) -> tuple[list[int], dict[str, list[float]], list[float] | None] | None:
        """(hours, {"wind": [...], "solar": [...], "load": [...], "total_generation": [...]}, actual
        generation) on one hourly axis, NaN where a series has no value (actual generation: the
        backfilled total, NaN ahead); None without any day-ahead forecast. Past and ahead: the
        forecasts are known before their hours."""
        self._remember_fuel(zone)
        names: dict[str, dict[int, float]] = {}
        for store in (self.store, self.recent):
            if store is None:
                continue
            for name in FUEL_NAMES:
                names.setdefault(name, {}).update(store.series(zone, name))
        with self._lock:
            for name, hours in self._fuel.get(zone, {}).items():
                names.setdefault(name, {}).update(hours)
        names = {name: {h: v for h, v in hours.items() if _usable(v)} for name, hours in names.items()}
        names = {name: hours for name, hours in names.items() if hours}
        if not names:
            return None
        axis = sorted(set().union(*names.values()))
        generation: dict[int, float] = {}
        for store in (self.store, self.recent):
            if store is not None:
                generation.update((h, v) for h, v in store.series(zone, GENERATION) if _usable(v) and h < now)
        generation.update(self._live_total(zone, now))
        nan = math.nan
        forecasts = {name: [hours.get(h, nan) for h in axis] for name, hours in names.items()}
        total = [generation.get(h, nan) for h in axis] if any(h in generation for h in axis) else None
        return axis, forecasts, total

    def mix(self, zone: str, now: float) -> dict[str, dict[int, float]]:
        """Production type -> hour -> mean watts, hours before `now`: the backfilled days, then the
        live mixes seen (an hour's mean of the intervals seen in it) winning where both exist."""
        merged: dict[str, dict[int, float]] = {}
        for store in (self.store, self.recent):
            if store is None:
                continue
            for name in store.names(zone):
                if name.startswith(MIX):
                    merged.setdefault(name.removeprefix(MIX), {}).update(store.series(zone, name))
        for psr, hours in self._live_mix(zone).items():
            merged.setdefault(psr, {}).update(hours)
        return {psr: {h: v for h, v in hours.items() if h < now and _usable(v)} for psr, hours in merged.items()}

    def _live_mix(self, zone: str) -> dict[str, dict[int, float]]:
        """Production type -> hour -> mean watts of the live mixes seen in that hour."""
        with self._lock:
            live = {psr: list(starts.items()) for psr, starts in self._mix.get(zone, {}).items()}
        return {psr: _hourly_points(points) for psr, points in live.items()}

    def _live_total(self, zone: str, now: float) -> dict[int, float]:
        """hour -> the live mixes' total watts (the sum of each type's mean over the intervals seen)."""
        total: dict[int, float] = {}
        for hours in self._live_mix(zone).values():
            for hour, watts in hours.items():
                if hour < now:
                    total[hour] = total.get(hour, 0.0) + watts
        return total

    def history(self, zone: str, now: float) -> History:
        """What the zone's forecaster is fitted on: `intensity`, and `mix` on the same hours (NaN
        where an hour has no mix; None for a zone without any, e.g. a replay or provider zone)."""
        points = self.intensity(zone, now)
        hours = [hour for hour, _ in points]
        mix = {psr: [by_hour.get(hour, math.nan) for hour in hours] for psr, by_hour in sorted(self.mix(zone, now).items())}
        return History(hours, [value for _, value in points], mix or None)

    def fuel(self, zone: str, now: float) -> Fuel | None:
        """fuel_series as the forecaster's Fuel (timestamps, forecasts, generation)."""
        series = self.fuel_series(zone, now)
        if series is None:
            return None
        axis, forecasts, generation = series
        return Fuel(timestamps=axis, forecasts=forecasts, generation=generation)


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
    one), every request through one RequestPacer (`per_minute`, well inside ENTSO-E's 400)."""

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
        self._lock = threading.Lock()

    @property
    def status(self) -> BackfillStatus:
        """How far it got (a copy): planned, done, failed, pending, errors by reason, running."""
        with self._lock:
            runs = list(self._runs)
        thread = self._thread
        return _combined((run.status for run in runs), running=thread is not None and thread.is_alive())

    def start(self) -> BackfillRunner:
        """Start the daemon thread (once); returns at once."""
        if self._thread is None and self.zones:
            self._thread = threading.Thread(target=self.run, name="grid-backfill", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the backfill to stop (it stops before its next request) and wait up to `timeout`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> BackfillStatus:
        """The whole backfill in the calling thread (what the daemon thread runs)."""
        now = self.clock()
        today = int(now) // DAY * DAY
        recent = Backfill(chunks=[Chunk(zone, dataset, today) for zone in self.zones for dataset in self.datasets],
                          fetch=self._fetch, store=self.recent, pacer=self.pacer, clock=self.clock,
                          max_attempts=self._max_attempts)
        chunks = plan(self.zones, self.datasets, now=now, days=self.days)
        older = Backfill(chunks=chunks, fetch=self._fetch, store=self.store, pacer=self.pacer, clock=self.clock,
                         max_attempts=self._max_attempts)
        with self._lock:
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
