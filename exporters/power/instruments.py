"""The power exporter's own health: scrape, Kubernetes and intensity errors, cycle durations.

Ordinary prometheus-client instruments in the exporter's private registry; the energy data
itself is presented by the collector from the snapshot.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, Info

from gridshift import __version__
from gridshift.exporters.power import names
from gridshift.names import BUILD_INFO


class PowerInstruments:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.scrape_errors = Counter(
            names.KEPLER_SCRAPE_ERRORS, "Failed Kepler scrapes, by node and reason.",
            (names.NODE, names.REASON), registry=registry,
        )
        self.kube_errors = Counter(
            names.KUBE_ERRORS, "Failed Kubernetes API reads (endpointslices, nodes, pods), by reason.",
            (names.RESOURCE, names.REASON), registry=registry,
        )
        self.intensity_errors = Counter(
            names.INTENSITY_ERRORS, "Failed reads of a zone's intensity from the grid exporter, by reason.",
            (names.ZONE, names.REASON), registry=registry,
        )
        self.cycle_duration = Histogram(
            names.CYCLE_DURATION, "Wall time of one cycle: discovery and intensity when due, scraping, parsing "
            "and accumulating every node, in seconds.", registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        Info(BUILD_INFO, "gridshift build.", registry=registry).info({"version": __version__})
