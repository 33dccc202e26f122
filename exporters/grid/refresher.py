"""Background refresh: each job fetches and reduces one dataset of one zone into the snapshot.

All upstream I/O happens here, never in a scrape. Each job has its own schedule and failure
count; a small thread pool bounds the requests in flight so forty zones do not hit an upstream
at once. A failed fetch keeps the previous data (the collector decides whether it is still
fresh enough to export) and pushes the job back with exponential backoff and jitter.

After each round (every due job done) the zone views are derived from what is held and
published in one swap (`derive.derive`), so a scrape sees either the views before the round or
those after it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from gridshift.backoff import backoff_delay
from gridshift.config import Backoff
from gridshift.exporters.grid.derive import Derivation, derive
from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.instruments import GridInstruments
from gridshift.exporters.grid.jobs import Job
from gridshift.exporters.grid.snapshot import GridStore, Held

log = logging.getLogger(__name__)

T = TypeVar("T")


class Refresher:
    def __init__(self, *, jobs: Sequence[Job[Any]], store: GridStore, derivation: Derivation,
                 instruments: GridInstruments, backoff: Backoff, max_workers: int,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self.jobs = list(jobs)
        self.store = store
        self.derivation = derivation
        self.instruments = instruments
        self.backoff = backoff
        self.clock = clock
        self.rng = rng or random.Random()
        self._derive_lock = threading.Lock()  # a slower derive must not publish older views over newer ones
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grid-fetch")

    @property
    def first_round_done(self) -> bool:
        return all(job.attempted for job in self.jobs)

    def run_due(self) -> list[Job[Any]]:
        """Refresh every job that is due now, concurrently, then derive; return them once all are done."""
        now = self.clock()
        due = [job for job in self.jobs if job.next_due <= now]
        list(self._pool.map(self._fetch, due))
        if due:
            self.derive(changed={job.zone for job in due})
        return due

    def refresh(self, job: Job[Any]) -> None:
        """A round of one job: fetch it, then derive."""
        self._fetch(job)
        self.derive(changed={job.zone})

    def derive(self, changed: Collection[str] | None = None) -> None:
        """Rebuild the zone views from what is held (those `changed` touch, or all), and publish them at once."""
        with self._derive_lock:
            views = derive(self.store.current(), previous=self.store.views(), how=self.derivation, changed=changed)
            self.store.publish(views)

    def _fetch(self, job: Job[T]) -> None:
        started = self.clock()
        labels = {"zone": job.zone, "source": job.source, "dataset": job.dataset}
        try:
            value = self._run(job, started)
        except FetchError as error:
            self._failed(job, error, started)
            self.instruments.upstream_up.labels(**labels).set(0 if error.transient else 1)
        else:
            self.store.put(job.key, Held(value=value, fetched_at=started))
            job.failures = 0
            job.next_due = started + job.interval_seconds
            self.instruments.last_success.labels(**labels).set(started)
            self.instruments.upstream_up.labels(**labels).set(1)
        finally:
            job.attempted = True
            self.instruments.refresh_duration.labels(job.source, job.dataset).observe(self.clock() - started)

    @staticmethod
    def _run(job: Job[T], now: float) -> T:
        try:
            return job.run(now)
        except FetchError:
            raise
        except Exception as error:  # a bug must not kill the refresher; it is counted and logged
            log.exception("refreshing %s of %s from %s failed", job.dataset, job.zone, job.source)
            raise FetchError("internal", f"{type(error).__name__} while refreshing {job.dataset} of {job.zone}") from None

    def _failed(self, job: Job[Any], error: FetchError, started: float) -> None:
        self.instruments.fetch_errors.labels(job.zone, job.source, error.reason).inc()
        if error.transient:
            job.failures += 1
            delay = backoff_delay(
                job.failures, initial=self.backoff.initial_seconds, maximum=self.backoff.max_seconds,
                rng=self.rng, retry_after=error.retry_after,
            )
        else:
            job.failures = 0
            delay = job.interval_seconds
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
