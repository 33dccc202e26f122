"""Intensity providers: sources that report carbon intensity themselves.

Each provider fetches (or computes) an IntensitySeries for one of its zones and raises
errors.FetchError on any failure, with a reason from errors.REASONS and a message safe to
log. The refresher runs one job per zone with the provider's interval, backoff and counters;
the snapshot keeps the last good series under `provided_key(zone, source)`, the derive step
puts it in the zone's view, and the collector withholds it once stale.
"""

from __future__ import annotations

from typing import Protocol

from gridshift.exporters.grid.jobs import Job
from gridshift.exporters.grid.records import IntensitySeries
from gridshift.exporters.grid.snapshot import provided_key


class IntensityProvider(Protocol):
    name: str  # the `source` label: ukgrid, electricitymaps, static, replay
    refresh_seconds: float

    @property
    def zones(self) -> tuple[str, ...]: ...

    def fetch(self, zone: str, now: float) -> IntensitySeries: ...


def provider_jobs(provider: IntensityProvider) -> list[Job[IntensitySeries]]:
    def job(zone: str) -> Job[IntensitySeries]:
        return Job(key=provided_key(zone, provider.name), interval_seconds=provider.refresh_seconds,
                   run=lambda now: provider.fetch(zone, now))

    return [job(zone) for zone in provider.zones]
