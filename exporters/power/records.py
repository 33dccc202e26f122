"""Records that flow through the power exporter, from a Kepler endpoint to the snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gridshift.snapshot import SnapshotStore

# Kepler's two metric generations (the first release of each), and the local estimator.
GENERATION_0_7 = "0.7"  # v0.7 .. v0.9: kepler_container_joules_total{container_namespace, mode}
GENERATION_0_10 = "0.10"  # v0.10+: kepler_pod_cpu_joules_total{pod_namespace, zone, state}
GENERATION_ESTIMATOR = "estimator"


@dataclass(frozen=True)
class Target:
    """One Kepler endpoint and the node it measures."""

    node: str
    url: str


@dataclass(frozen=True, slots=True)
class SeriesEnergy:
    """One container's (or pod's) cumulative energy as its source reports it."""

    namespace: str
    joules: float


@dataclass(frozen=True)
class Reading:
    """One node's energy series, keyed by what identifies a container or pod across scrapes."""

    generation: str | None  # None: the endpoint exports no energy yet (Kepler 0.10 before its first snapshot)
    series: Mapping[str, SeriesEnergy]


@dataclass(frozen=True)
class NodeResult:
    """The outcome of reading one node: a reading, or why there is none (`reason` and `message`)."""

    node: str
    at: float
    reading: Reading | None = None
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class NodePower:
    """What the collector presents for one node."""

    node: str
    zone: str
    watts: Mapping[str, float]  # namespace -> W between the last two readings (empty until two)
    energy: Mapping[tuple[str, str], float]  # (namespace, zone) -> J since first seen
    emissions: Mapping[tuple[str, str], float]  # (namespace, zone) -> gCO2eq; only once an intensity was known
    scrape_up: bool | None  # None: no Kepler endpoint for this node (or the estimator)
    last_success: float | None


@dataclass(frozen=True)
class PowerSnapshot:
    nodes: Mapping[str, NodePower]
    unattributed: Mapping[str, float]  # zone -> J accumulated while no intensity was known
    taken_at: float


# The refresher publishes one PowerSnapshot per cycle under CURRENT; the collector reads it.
PowerStore = SnapshotStore[str, PowerSnapshot]
CURRENT = "current"
