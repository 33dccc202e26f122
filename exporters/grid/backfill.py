"""Backfill: the past weeks a forecaster needs, fetched day by day at start, paced, resumable.

A fresh exporter holds a day of history; a forecaster wants weeks. At start the exporter asks
the upstream for every (zone, dataset, day) of the window that it does not hold yet, one day per
request, through the upstream's shared RequestPacer (well inside ENTSO-E's 400 a minute), and
keeps what each answer gives as named hourly series. With a folder (a volume), each finished day
is written there at once, so a restart, a ban or a crash resumes where it stopped; without one
the history lives in memory for the life of the process.

Failures never stop the exporter and never lose a day: "no_data" marks a day done (nothing was
published), "rate_limited" waits out the ban and asks again, other transient failures (timeouts,
5xx, connection) are retried after the rest of the plan with a bounded number of attempts, and
refusals (token, malformed answers) give up on that day with a log line. `BackfillStatus` says
how far it got, for the metrics and /readyz.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.hourly import HourlyColumn, dtype_for
from gridshift.exporters.grid.pacing import RequestPacer, ban_end

log = logging.getLogger(__name__)
DAY = 86400
Series = dict[str, list[tuple[int, float]]]  # name -> (epoch seconds, value), hourly


@dataclass(frozen=True, order=True)
class Chunk:
    zone: str
    dataset: str
    start: int  # epoch seconds, 00:00 UTC of the day

    @property
    def end(self) -> int:
        return self.start + DAY

    @property
    def key(self) -> str:
        return f"{self.zone}/{self.dataset}/{self.start}"


def plan(zones: Iterable[str], datasets: Iterable[str], *, now: float, days: int) -> list[Chunk]:
    """Every whole UTC day of the `days` before today's, newest first (the most useful days first)."""
    today = int(now) // DAY * DAY
    return [Chunk(zone, dataset, today - back * DAY)
            for back in range(1, days + 1) for zone in zones for dataset in datasets]


class HistoryStore:
    """The backfilled days: which (zone, dataset, day) are held, and their series as one compact
    hourly column per (zone, name) (hourly.py), in memory; and in `folder` when given (one JSON
    file a day, written atomically). A file that cannot be read is logged and that day fetched again."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._held: set[Chunk] = set()
        self._columns: dict[str, dict[str, HourlyColumn]] = {}  # zone -> name -> column
        self._lock = threading.Lock()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self._load(folder)

    def has(self, chunk: Chunk) -> bool:
        with self._lock:
            return chunk in self._held

    def keep(self, chunk: Chunk, series: Series) -> None:
        clean = {name: sorted((int(t), float(v)) for t, v in points) for name, points in series.items()}
        if self.folder is not None:
            self._write(chunk, clean)
        with self._lock:
            self._add(chunk, clean)

    def names(self, zone: str) -> set[str]:
        """The names of the series held for a zone, over every day."""
        with self._lock:
            return set(self._columns.get(zone, {}))

    def series(self, zone: str, name: str) -> list[tuple[int, float]]:
        """One zone's series `name` over every day held, in time order, each hour once."""
        with self._lock:
            column = self._columns.get(zone, {}).get(name)
            return column.items() if column is not None else []

    def column(self, zone: str, name: str) -> HourlyColumn | None:
        """A copy of one zone's series `name` (None if none is held), for reading outside the lock."""
        with self._lock:
            column = self._columns.get(zone, {}).get(name)
            return column.copy() if column is not None else None

    def _add(self, chunk: Chunk, series: Series) -> None:
        self._held.add(chunk)
        columns = self._columns.setdefault(chunk.zone, {})
        for name, points in series.items():
            columns.setdefault(name, HourlyColumn(dtype_for(name))).put(points)

    def _path(self, chunk: Chunk) -> Path:
        assert self.folder is not None
        return self.folder / chunk.zone / chunk.dataset / f"{chunk.start}.json"

    def _write(self, chunk: Chunk, series: Series) -> None:
        path = self._path(chunk)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(series), encoding="utf-8")
        os.replace(partial, path)  # a crash leaves the old file or the new, never half of one

    def _load(self, folder: Path) -> None:
        for path in sorted(folder.glob("*/*/*.json")):
            zone, dataset = path.parent.parent.name, path.parent.name
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                series = {str(name): [(int(t), float(v)) for t, v in points] for name, points in raw.items()}
                chunk = Chunk(zone, dataset, int(path.stem))
            except (OSError, ValueError, TypeError, AttributeError) as error:
                log.warning("backfill: ignoring %s, it cannot be read (%s); that day is fetched again", path, error)
                continue
            self._add(chunk, series)


@dataclass
class BackfillStatus:
    planned: int = 0
    done: int = 0  # held, fetched now or before
    failed: int = 0  # given up: refused, or out of attempts
    running: bool = False
    errors: Counter[str] = field(default_factory=Counter)  # FetchError reason -> count

    @property
    def pending(self) -> int:
        return self.planned - self.done - self.failed


class Backfill:
    """Runs a plan once: `fetch(chunk)` -> the day's named series, kept in `store`."""

    def __init__(self, *, chunks: list[Chunk], fetch: Callable[[Chunk], Series], store: HistoryStore,
                 pacer: RequestPacer, clock: Callable[[], float], max_attempts: int = 4,
                 on_stored: Callable[[Chunk], None] | None = None) -> None:
        self.chunks, self.fetch, self.store, self.pacer, self.clock = chunks, fetch, store, pacer, clock
        self.max_attempts = max_attempts
        self.on_stored = on_stored
        self.status = BackfillStatus(planned=len(chunks))

    def run(self, stop: threading.Event | None = None) -> BackfillStatus:
        status = self.status
        status.running = True
        attempts: Counter[Chunk] = Counter()
        queue = [chunk for chunk in self.chunks if not self.store.has(chunk)]
        status.done = len(self.chunks) - len(queue)
        try:
            while queue:
                chunk = queue.pop(0)
                if not self.pacer.wait(stop):
                    break
                outcome = self._one(chunk, attempts)
                if outcome == "again":
                    queue.append(chunk)
                elif outcome == "done":
                    status.done += 1
                else:
                    status.failed += 1
        finally:
            status.running = False
        return status

    def _one(self, chunk: Chunk, attempts: Counter[Chunk]) -> str:
        attempts[chunk] += 1
        try:
            series = self.fetch(chunk)
        except FetchError as error:
            return self._failed(chunk, error, attempts[chunk])
        except Exception:  # a bug in parsing one day must not end the backfill
            log.exception("backfill: %s failed unexpectedly; given up", chunk.key)
            self.status.errors["internal"] += 1
            return "failed"
        self.store.keep(chunk, series)
        if self.on_stored is not None:
            self.on_stored(chunk)
        return "done"

    def _failed(self, chunk: Chunk, error: FetchError, attempt: int) -> str:
        self.status.errors[error.reason] += 1
        if error.reason == "no_data":
            self.store.keep(chunk, {})  # nothing published for that day: done, and not asked again
            return "done"
        until = ban_end(error, self.clock())
        if until is not None:
            self.pacer.ban(until)
            log.warning("backfill: %s; pausing every request until %.0f s from now", error.message, until - self.clock())
            return "again" if attempt < 3 * self.max_attempts else "failed"
        if error.transient and error.reason not in ("unauthorized", "rejected", "malformed") and attempt < self.max_attempts:
            log.info("backfill: %s (attempt %d of %d); asked again later", error.message, attempt, self.max_attempts)
            return "again"
        log.warning("backfill: %s; %s given up", error.message, chunk.key)
        return "failed"
