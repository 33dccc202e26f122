"""Where a held workload may go: for each zone under a high or critical alert, the greenest other
zone, among this cluster's nodes (migrate) or Karmada's member clusters. Pure."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from gridshift import names
from gridshift.actions.cluster import ClusterRead
from gridshift.actions.policy import ClusterTarget, MigrationTarget


def greener_zones(zone: str, candidates: Collection[str], alerting: Collection[str],
                  intensity: Mapping[str, float]) -> list[tuple[float, str]]:
    """(intensity, zone) of the candidates under no alert and greener than `zone` now, greenest first."""
    here = intensity.get(zone, float("inf"))
    return sorted((g, z) for z, g in intensity.items() if z in candidates and z not in alerting and g < here)


def migration_targets(cluster: ClusterRead, alerting: Collection[str],
                      intensity: Mapping[str, float]) -> dict[str, MigrationTarget]:
    """For each alerting zone: the greenest other zone of this cluster's nodes that a node label can select."""
    node_zones = set(cluster.node_zones.values())
    targets = {}
    for zone in alerting:
        for grams, best in greener_zones(zone, node_zones, alerting, intensity):
            selector = zone_selector(best, cluster)
            if selector is not None:  # a zone no node label can select is no target
                targets[zone] = MigrationTarget(zone=best, label=selector[0], values=selector[1], grams_per_kwh=grams)
                break
    return targets


def cluster_targets(members: Mapping[str, str], alerting: Collection[str],
                    intensity: Mapping[str, float]) -> dict[str, ClusterTarget]:
    """Karmada (`members`: cluster -> zone): for each alerting zone, the member clusters of the greenest other zone."""
    targets = {}
    for zone in alerting:
        greener = greener_zones(zone, set(members.values()), alerting, intensity)
        if greener:
            grams, best = greener[0]
            clusters = tuple(sorted(c for c, z in members.items() if z == best))
            targets[zone] = ClusterTarget(zone=best, clusters=clusters, grams_per_kwh=grams)
    return targets


def zone_selector(zone: str, cluster: ClusterRead) -> tuple[str, tuple[str, ...]] | None:
    """The node label that selects exactly `zone`'s nodes: gridshift.io/zone when they all carry it,
    else their regions when they all have one; None when they are in the zone only by default."""
    members = [labels for node, labels in cluster.node_labels.items() if cluster.node_zones[node] == zone]
    if all(labels.get(names.NODE_ZONE_LABEL) == zone for labels in members):
        return names.NODE_ZONE_LABEL, (zone,)
    if all(names.REGION_LABEL in labels for labels in members):
        return names.REGION_LABEL, tuple(sorted({labels[names.REGION_LABEL] for labels in members}))
    return None
