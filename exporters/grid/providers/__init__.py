"""Intensity providers: sources that report carbon intensity themselves.

Each provider fetches (or computes) an IntensitySeries for one of its zones and raises
errors.FetchError on any failure, with a reason from errors.REASONS and a message safe to
log. The refresher runs one job per zone with the provider's interval, backoff and counters;
the snapshot keeps the last good series, and the collector withholds it once stale.
"""

from __future__ import annotations

from typing import Protocol

from gridshift.exporters.grid.records import IntensitySeries
from gridshift.exporters.grid.refresher import Job

DATASET = "intensity"


class IntensityProvider(Protocol):
    name: str  # the `source` label: ukgrid, electricitymaps, static, replay
    refresh_seconds: float

    @property
    def zones(self) -> tuple[str, ...]: ...

    def fetch(self, zone: str, now: float) -> IntensitySeries: ...


def provider_jobs(provider: IntensityProvider) -> list[Job]:
    def job(zone: str) -> Job:
        return Job(zone=zone, source=provider.name, dataset=DATASET, interval_seconds=provider.refresh_seconds,
                   run=lambda now: provider.fetch(zone, now))

    return [job(zone) for zone in provider.zones]
