"""Background refresh: fetch -> parse -> reduce -> snapshot, per zone and dataset, with backoff.

All upstream I/O happens here, never in a scrape. Each (zone, dataset) is a job with its own
schedule and failure count; a small thread pool bounds the requests in flight so forty zones
do not hit ENTSO-E at once. A failed fetch keeps the previous data (the collector decides
whether it is still fresh enough to export) and pushes the job back with exponential backoff.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from gridshift.backoff import backoff_delay
from gridshift.config import EntsoeSettings
from gridshift.exporters.grid import datasets
from gridshift.exporters.grid.datasets import Dataset, DatasetState, GridSnapshot, Reduced
from gridshift.exporters.grid.instruments import GridInstruments
from gridshift.exporters.grid.mix import require_document
from gridshift.exporters.grid.parse import NoDataAcknowledgement, ParseError, RejectedRequest, parse_document
from gridshift.exporters.grid.sources import FetchError

log = logging.getLogger(__name__)


class Source(Protocol):
    name: str

    def fetch(self, *, dataset: str, zone: str, start: datetime, end: datetime) -> str: ...


@dataclass
class Job:
    zone: str
    dataset: Dataset
    next_due: float = 0.0
    failures: int = 0
    attempted: bool = False


class Refresher:
    def __init__(self, *, source: Source, settings: EntsoeSettings, store: GridSnapshot,
                 instruments: GridInstruments, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, dataset_list: Iterable[Dataset] = datasets.ALL) -> None:
        self.source = source
        self.settings = settings
        self.store = store
        self.instruments = instruments
        self.clock = clock
        self.rng = rng or random.Random()
        self.jobs = [Job(zone, dataset) for zone in settings.zones for dataset in dataset_list]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=settings.max_concurrent_requests, thread_name_prefix="entsoe")

    @property
    def first_round_done(self) -> bool:
        return all(job.attempted for job in self.jobs)

    def run_due(self) -> list[Job]:
        """Refresh every job that is due now, concurrently; return them once all are done."""
        now = self.clock()
        due = [job for job in self.jobs if job.next_due <= now]
        list(self._pool.map(self.refresh, due))
        return due

    def refresh(self, job: Job) -> None:
        started = self.clock()
        labels = {"zone": job.zone, "source": self.source.name, "dataset": job.dataset.name}
        try:
            value = self._fetch_and_reduce(job)
        except FetchError as error:
            self._failed(job, error, started)
            self.instruments.upstream_up.labels(**labels).set(0 if error.transient else 1)
        else:
            self.store.put((job.zone, job.dataset.name), DatasetState(value=value, fetched_at=started))
            job.failures = 0
            job.next_due = started + job.dataset.interval_seconds(self.settings)
            self.instruments.last_success.labels(**labels).set(started)
            self.instruments.upstream_up.labels(**labels).set(1)
        finally:
            job.attempted = True
            self.instruments.refresh_duration.labels(self.source.name, job.dataset.name).observe(self.clock() - started)

    def _fetch_and_reduce(self, job: Job) -> Reduced:
        start, end = job.dataset.window(datetime.fromtimestamp(self.clock(), timezone.utc), self.settings)
        text = self.source.fetch(dataset=job.dataset.name, zone=job.zone, start=start, end=end)
        try:
            document = parse_document(text)
            require_document(document, document_type=job.dataset.document_type, process_type=job.dataset.process_type)
            return job.dataset.reduce(document, self.settings)
        except NoDataAcknowledgement as ack:
            raise FetchError("no_data", f"ENTSO-E has no {job.dataset.name} data for {job.zone}: {ack}") from None
        except RejectedRequest as rejected:
            raise FetchError("rejected", f"ENTSO-E rejected the {job.dataset.name} request for {job.zone}: {rejected}") from None
        except ParseError as error:
            raise FetchError("malformed", f"unreadable {job.dataset.name} payload for {job.zone}: {error}") from None
        except Exception as error:  # a bug must not kill the refresher; it is counted and logged
            log.exception("reducing %s of %s failed", job.dataset.name, job.zone)
            raise FetchError("internal", f"{type(error).__name__} while reducing {job.dataset.name} of {job.zone}") from None

    def _failed(self, job: Job, error: FetchError, started: float) -> None:
        self.instruments.fetch_errors.labels(job.zone, self.source.name, error.reason).inc()
        if error.transient:
            job.failures += 1
            delay = backoff_delay(
                job.failures, initial=self.settings.backoff.initial_seconds,
                maximum=self.settings.backoff.max_seconds, rng=self.rng, retry_after=error.retry_after,
            )
        else:
            job.failures = 0
            delay = job.dataset.interval_seconds(self.settings)
        job.next_due = started + delay
        level = logging.WARNING if error.transient else logging.INFO
        log.log(level, "%s (reason=%s; next attempt in %.0f s)", error.message, error.reason, delay)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="grid-refresher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            wait = min((job.next_due for job in self.jobs), default=60.0) - self.clock()
            self._stop.wait(max(0.5, min(wait, 60.0)))
