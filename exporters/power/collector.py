"""Snapshot -> metric families, built fresh at each scrape. Never fetches.

Nothing is exported before the first cycle. Cardinality is namespaces x nodes (x zones a node
has been in), never pods or containers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gridshift.exporters.power import names
from gridshift.exporters.power.records import CURRENT, NodePower, PowerStore

_PER_NAMESPACE = [names.NAMESPACE, names.NODE, names.ZONE]


@dataclass
class _Families:
    power: GaugeMetricFamily
    energy: CounterMetricFamily
    emissions: CounterMetricFamily
    zone_info: GaugeMetricFamily
    unattributed: CounterMetricFamily
    scrape_up: GaugeMetricFamily
    last_scrape: GaugeMetricFamily

    @classmethod
    def empty(cls) -> _Families:
        return cls(
            power=GaugeMetricFamily(names.NAMESPACE_POWER_WATTS, "Power attributed to the namespace's containers on "
                                    "the node (dynamic part only), between the last two readings, in watts.",
                                    labels=_PER_NAMESPACE),
            energy=CounterMetricFamily(names.NAMESPACE_ENERGY_JOULES, "Energy attributed to the namespace's containers "
                                       "on the node (dynamic part only), in joules; survives Kepler restarts.",
                                       labels=_PER_NAMESPACE),
            emissions=CounterMetricFamily(names.NAMESPACE_EMISSIONS_GRAMS, "Each energy increment times the carbon "
                                          "intensity of the node's zone at that time, in grams CO2eq.",
                                          labels=_PER_NAMESPACE),
            zone_info=GaugeMetricFamily(names.NODE_ZONE_INFO, "The grid zone of each node (always 1).",
                                        labels=[names.NODE, names.ZONE]),
            unattributed=CounterMetricFamily(names.EMISSIONS_UNATTRIBUTED_JOULES, "Energy accumulated while the "
                                             "zone's intensity was unknown, so without emissions, in joules.",
                                             labels=[names.ZONE]),
            scrape_up=GaugeMetricFamily(names.KEPLER_SCRAPE_UP, "1 if the node's Kepler answered the last scrape with "
                                        "readable metrics, else 0.", labels=[names.NODE]),
            last_scrape=GaugeMetricFamily(names.KEPLER_LAST_SCRAPE, "Unix time of the node's last successful Kepler "
                                          "scrape.", labels=[names.NODE]),
        )

    def all(self) -> list[Metric]:
        return list(vars(self).values())


class PowerCollector(Collector):
    def __init__(self, *, store: PowerStore) -> None:
        self.store = store

    def describe(self) -> Iterator[Metric]:
        return iter(_Families.empty().all())

    def collect(self) -> Iterator[Metric]:
        families = _Families.empty()
        snapshot = self.store.current().get(CURRENT)
        if snapshot is not None:
            for node in sorted(snapshot.nodes):
                self._add_node(families, snapshot.nodes[node])
            for zone, joules in sorted(snapshot.unattributed.items()):
                families.unattributed.add_metric([zone], joules)
        return iter(families.all())

    @staticmethod
    def _add_node(families: _Families, power: NodePower) -> None:
        node = power.node
        families.zone_info.add_metric([node, power.zone], 1.0)
        for namespace, watts in sorted(power.watts.items()):
            families.power.add_metric([namespace, node, power.zone], watts)
        for (namespace, zone), joules in sorted(power.energy.items()):
            families.energy.add_metric([namespace, node, zone], joules)
        for (namespace, zone), grams in sorted(power.emissions.items()):
            families.emissions.add_metric([namespace, node, zone], grams)
        if power.scrape_up is not None:
            families.scrape_up.add_metric([node], 1.0 if power.scrape_up else 0.0)
        if power.last_success is not None:
            families.last_scrape.add_metric([node], power.last_success)
