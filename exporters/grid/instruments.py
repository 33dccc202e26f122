"""The grid exporter's own health: fetch errors, refresh durations, last success, upstream up.

These are ordinary prometheus-client instruments in the exporter's private registry; the grid
data itself is presented by the collector from the snapshot.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from gridshift import __version__, names


class GridInstruments:
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = (names.ZONE, names.SOURCE, names.DATASET)
        self.fetch_errors = Counter(
            names.GRID_FETCH_ERRORS, "Failed upstream fetches, by reason.",
            (names.ZONE, names.SOURCE, names.REASON), registry=registry,
        )
        self.refresh_duration = Histogram(
            names.REFRESH_DURATION, "Wall time to fetch, parse and reduce one dataset of one zone (includes waiting on upstream), in seconds.",
            (names.SOURCE, names.DATASET), registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.last_success = Gauge(
            names.REFRESH_SUCCESS_TIMESTAMP, "Unix time of the last successful refresh.", labels, registry=registry,
        )
        self.upstream_up = Gauge(
            names.UPSTREAM_UP, "1 if the last fetch of this dataset succeeded (or upstream had no new data yet), else 0.",
            labels, registry=registry,
        )
        Info(names.BUILD_INFO, "gridshift build.", registry=registry).info({"version": __version__})
