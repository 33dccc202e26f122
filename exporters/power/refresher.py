"""The power exporter's loop: every scrape interval, read every node and publish one snapshot.

All I/O happens here, never in a scrape of /metrics. One cycle:
1. when due, list Kepler's endpoints and the nodes' labels (or the pods of this node, for the
   estimator) and the current intensity of every zone in use; a failure keeps what was known;
2. read every node: Kepler scraped concurrently, or the local estimator;
3. account each reading (or failure) in the accumulator, with the intensity of the node's zone;
4. forget what has been gone too long, and publish the snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from gridshift.exporters.power.accumulate import Accumulator
from gridshift.exporters.power.discover import DiscoveryError, KubeInventory
from gridshift.exporters.power.estimator import Estimator
from gridshift.exporters.power.instruments import PowerInstruments
from gridshift.exporters.power.intensity import Intensity, IntensityClient, IntensityError
from gridshift.exporters.power.records import CURRENT, NodeResult, PowerSnapshot, PowerStore, Target
from gridshift.exporters.power.scrape import KeplerScraper
from gridshift.nodezones import node_zone
from gridshift.power_settings import PowerSettings
from gridshift.zone_settings import ClusterSettings

log = logging.getLogger(__name__)

# The estimator's pods whose namespace is not known yet (their energy is held) are looked up this often.
UNKNOWN_POD_RELIST_SECONDS = 60.0


class PowerRefresher:
    def __init__(self, *, settings: PowerSettings, cluster: ClusterSettings, store: PowerStore, instruments: PowerInstruments,
                 inventory: KubeInventory | None, intensity: IntensityClient | None,
                 scraper: KeplerScraper | None = None, estimator: Estimator | None = None, estimator_node: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        if (scraper is None) == (estimator is None):
            raise ValueError("give a Kepler scraper or an estimator, not both")
        self.settings, self.store, self.instruments, self.clock = settings, store, instruments, clock
        self.cluster = cluster
        self.inventory, self.intensity, self.scraper, self.estimator = inventory, intensity, scraper, estimator
        self.estimator_node = estimator_node
        self.accumulator = Accumulator(forget_after_seconds=settings.forget_after_seconds)
        self.targets: list[Target] = [Target(node, url) for node, url in sorted(settings.kepler.static_targets.items())]
        self.node_labels: dict[str, dict[str, str]] = {}
        self.intensities: dict[str, Intensity] = {}
        self.cycles = 0
        self._due: dict[str, float] = {}
        self._zones: dict[str, str] = {}  # node -> zone it was last seen in
        self._down: dict[str, str] = {}  # node -> reason of its failing reads
        self._asked_about: set[str] = set()  # unresolved pod UIDs the last pod listing was for
        self._pods_listed_at = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def first_cycle_done(self) -> bool:
        return self.cycles > 0

    def run_cycle(self) -> None:
        started = self.clock()
        self._refresh_inventory(started)
        zones = self._current_zones()
        self._refresh_intensities(started, set(zones.values()))
        for result in self._read():
            self._account(result, zones.get(result.node) or self._zone_of(result.node))
        now = self.clock()
        self.accumulator.forget(now, keep=set(zones))
        self._zones = {node: zones.get(node) or self._zones.get(node) or self._zone_of(node)
                       for node in set(zones) | set(self.accumulator.nodes)}
        scraped = {target.node for target in self.targets} if self.scraper is not None else set()
        nodes = {node: self.accumulator.view(node, zone=zone, scraped=node in scraped) for node, zone in self._zones.items()}
        self.store.put(CURRENT, PowerSnapshot(nodes=nodes, unattributed=dict(self.accumulator.unattributed), taken_at=now))
        self.cycles += 1
        self.instruments.cycle_duration.observe(self.clock() - started)

    # ------------------------------------------------------------------ step 1: what to read, where
    def _due_now(self, what: str, now: float, interval: float, *, force: bool = False) -> bool:
        if not force and self._due.get(what, 0.0) > now:
            return False
        self._due[what] = now + interval
        return True

    def _refresh_inventory(self, now: float) -> None:
        if self.inventory is None:
            return
        inventory, kepler, interval = self.inventory, self.settings.kepler, self.settings.node_refresh_seconds
        if self.scraper is not None and not kepler.static_targets and self._due_now(
                "targets", now, kepler.discovery_interval_seconds):
            self._kube(lambda: self._set_targets(inventory.kepler_targets(
                namespace=kepler.namespace, service=kepler.service, port_name=kepler.port_name,
                scheme=kepler.scheme, path=kepler.path)))
        if self._due_now("nodes", now, interval):
            self._kube(lambda: setattr(self, "node_labels", inventory.node_labels()))
        if self.estimator is not None and self._pods_due(now):
            estimator = self.estimator
            self._pods_listed_at, self._asked_about = now, set(estimator.unresolved)
            self._kube(lambda: setattr(estimator, "pod_namespaces", inventory.pod_namespaces(self.estimator_node)))

    def _pods_due(self, now: float) -> bool:
        """Every node refresh; at once for a pod not known at the last listing; every minute while any is unknown."""
        assert self.estimator is not None
        unresolved, since = self.estimator.unresolved, now - self._pods_listed_at
        return (since >= self.settings.node_refresh_seconds or bool(unresolved - self._asked_about)
                or (bool(unresolved) and since >= UNKNOWN_POD_RELIST_SECONDS))

    def _kube(self, update: Callable[[], None]) -> None:
        try:
            update()
        except DiscoveryError as error:
            self.instruments.kube_errors.labels(error.resource, error.reason).inc()
            log.warning("%s (reason=%s); keeping what was known", error, error.reason)

    def _set_targets(self, targets: list[Target]) -> None:
        before, after = {t.node for t in self.targets}, {t.node for t in targets}
        if before != after or not targets:
            log.info("Kepler endpoints of %s/%s: %d node(s)%s%s", self.settings.kepler.namespace,
                     self.settings.kepler.service, len(after), _listed(" added", after - before),
                     _listed(" removed", before - after))
        self.targets = targets

    def _current_zones(self) -> dict[str, str]:
        nodes = set(self.node_labels) | {t.node for t in self.targets}
        if self.estimator is not None:
            nodes = {self.estimator_node}
        return {node: self._zone_of(node) for node in nodes}

    def _zone_of(self, node: str) -> str:
        return node_zone(self.node_labels.get(node, {}), region_to_zone=self.cluster.region_to_zone,
                         default_zone=self.cluster.default_zone)

    def _refresh_intensities(self, now: float, zones: set[str]) -> None:
        if self.intensity is None:
            return
        for zone in sorted(zones):
            if not self._due_now(f"intensity/{zone}", now, self.settings.intensity.refresh_seconds):
                continue
            try:
                self.intensities[zone] = self.intensity.fetch(zone, now=self.clock())
            except IntensityError as error:
                self.instruments.intensity_errors.labels(zone, error.reason).inc()
                level = logging.INFO if error.reason in ("unknown_zone", "no_data") else logging.WARNING
                log.log(level, "%s (reason=%s): energy in %s counts as unattributed until it is known",
                        error, error.reason, zone)

    def _grams_per_kwh(self, zone: str, at: float) -> float | None:
        known = self.intensities.get(zone)
        if known is None or at - known.fetched_at > self.settings.intensity.max_age_seconds:
            return None
        return known.grams_per_kwh

    # ------------------------------------------------------------------ steps 2 and 3: read, account
    def _read(self) -> list[NodeResult]:
        if self.estimator is not None:
            at = self.clock()
            try:
                return [NodeResult(node=self.estimator_node, at=at, reading=self.estimator.read())]
            except Exception as error:  # a bug must not stop the loop: counted as a failed read
                log.exception("estimating power on %s failed", self.estimator_node)
                return [NodeResult(node=self.estimator_node, at=at, reason="internal", message=type(error).__name__)]
        assert self.scraper is not None
        return self.scraper.scrape(self.targets)

    def _account(self, result: NodeResult, zone: str) -> None:
        node = result.node
        if result.reading is not None:
            self.accumulator.add(node, result.reading, at=result.at, zone=zone,
                                 grams_per_kwh=self._grams_per_kwh(zone, result.at))
            if self._down.pop(node, None) is not None:
                log.info("Kepler on node %s answers again", node)
            return
        self.accumulator.failed(node)
        self.instruments.scrape_errors.labels(node, result.reason).inc()
        if self._down.get(node) != result.reason:
            log.warning("node %s: no reading (reason=%s): %s; its counters hold until it answers",
                        node, result.reason, result.message)
        self._down[node] = result.reason

    # ------------------------------------------------------------------ the loop
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="power-refresher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.scrape_timeout_seconds + 10)
        if self.scraper is not None:
            self.scraper.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.run_cycle()
            except Exception:  # a bug must not stop the loop; the next cycle tries again
                log.exception("power cycle failed")
            self._stop.wait(max(0.0, self.settings.scrape_interval_seconds - (time.monotonic() - started)))


def _listed(prefix: str, nodes: set[str]) -> str:
    return f";{prefix}: {', '.join(sorted(nodes))}" if nodes else ""
