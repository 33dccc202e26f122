"""A node's grid zone from its labels (CONTRACT.md "Zones"). Pure."""

from __future__ import annotations

from collections.abc import Mapping

ZONE_LABEL = "gridshift.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"


def node_zone(labels: Mapping[str, str], *, region_to_zone: Mapping[str, str], default_zone: str) -> str:
    """`gridshift.io/zone` if set; else the region through `region_to_zone`; else `default_zone`."""
    zone = labels.get(ZONE_LABEL, "").strip()
    if zone:
        return zone
    region = labels.get(REGION_LABEL, "")
    return region_to_zone.get(region, default_zone) if region else default_zone
