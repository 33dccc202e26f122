"""How nodes map to zones (CONTRACT.md "Zones"): the `cluster:` section, shared by the power
exporter and the action service. Imports nothing from gridshift.config (which imports it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gridshift.checks import not_empty


@dataclass(frozen=True)
class ClusterSettings:
    # The zone of nodes with neither a gridshift.io/zone label nor a mapped region.
    default_zone: str = "unknown"
    # Node label topology.kubernetes.io/region -> zone.
    region_to_zone: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def check(self, path: str) -> list[str]:
        return not_empty(self, path, "default_zone") + [
            f"{path}.region_to_zone.{region}: must not be empty" for region, zone in self.region_to_zone.items() if not zone
        ]
