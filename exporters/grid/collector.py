"""Snapshot -> metric families, built fresh at each scrape. Never fetches.

Absent beats wrong: a value older than the staleness limit is not exported (so no alert acts
on it), but `gridshift_grid_data_timestamp_seconds` stays, so the gap explains itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gridshift import names
from gridshift.exporters.grid import mix
from gridshift.exporters.grid.datasets import GridSnapshot, newest_timestamp
from gridshift.exporters.grid.production_types import is_renewable, production_type_name


class GridCollector(Collector):
    def __init__(self, *, store: GridSnapshot, source: str, staleness_limit_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.source = source
        self.staleness_limit_seconds = staleness_limit_seconds
        self.clock = clock

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        generation, load, renewable, timestamps = families = self._families()
        now = self.clock()
        for (zone, dataset), state in sorted(self.store.current().items()):
            newest = newest_timestamp(state.value)
            if newest is not None:
                timestamps.add_metric([zone, self.source, dataset], newest)
            if newest is None or now - newest > self.staleness_limit_seconds:
                continue
            if isinstance(state.value, mix.GenerationMix):
                self._add_mix(generation, renewable, zone, state.value)
            elif isinstance(state.value, mix.Reading):
                load.add_metric([zone], state.value.watts)
        return iter(families)

    @staticmethod
    def _add_mix(generation: GaugeMetricFamily, renewable: GaugeMetricFamily, zone: str,
                 value: mix.GenerationMix) -> None:
        for psr_type, watts in sorted(value.watts.items()):
            generation.add_metric([zone, psr_type, production_type_name(psr_type)], watts)
        total = value.total_watts
        if total > 0:
            green = sum(watts for psr_type, watts in value.watts.items() if is_renewable(psr_type))
            renewable.add_metric([zone], green / total)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                names.GENERATION_WATTS,
                "Actual generation per production type in the newest complete interval, in watts.",
                labels=[names.ZONE, names.PSR_TYPE, names.PRODUCTION_TYPE],
            ),
            GaugeMetricFamily(names.LOAD_WATTS, "Actual total load, in watts.", labels=[names.ZONE]),
            GaugeMetricFamily(
                names.RENEWABLE_SHARE_RATIO, "Renewable generation / total generation (0..1).", labels=[names.ZONE],
            ),
            GaugeMetricFamily(
                names.GRID_DATA_TIMESTAMP, "Unix time of the newest data point held, per dataset.",
                labels=[names.ZONE, names.SOURCE, names.DATASET],
            ),
        )
