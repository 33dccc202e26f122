"""Bring every opted-in workload to what the active alerts say: hold, keep, or restore.

One pass reads the cluster (nodes, namespaces, and each workload kind across namespaces), asks
Alertmanager which alerts are active (when configured), decides per namespace (policy.py) and
applies through the executor. Passes run one at a time on one thread, so no workload is ever
handled twice at once; within a pass, namespaces are patched by a small pool. A webhook marks the
service dirty and wakes the thread; a timer runs a pass every `reconcile_seconds` anyway, so a
lost notification, a restart, a passed max-delay or a namespace that opted out is handled.
A conflict (the object changed under us) re-reads that namespace and decides again; Kubernetes
5xx and timeouts leave the workload as it was and are retried at the next pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gridshift import names
from gridshift.actions import keda, kinds
from gridshift.actions.alerts import AlertBook
from gridshift.actions.decisions import DecisionLog
from gridshift.actions.executor import Executor, Outcome
from gridshift.actions.instruments import ActionInstruments
from gridshift.actions.kube.client import Kube, list_if_installed, list_in
from gridshift.actions.kube.errors import Conflict, KubeError
from gridshift.actions.jobs import CRONJOB_HOLD_LEAD_SECONDS
from gridshift.actions.policy import (ClusterTarget, Context, Decision, MigrationTarget, NamespaceView, Verb, Workload, decide,
                                      decide_untargeted)
from gridshift.actions.upstreams import Alertmanager, Intensities, UpstreamError
from gridshift.config import ActionsSettings, ClusterSettings
from gridshift.nodezones import node_zone

log = logging.getLogger(__name__)
CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class ClusterRead:
    node_zones: Mapping[str, str]  # node -> zone
    node_labels: Mapping[str, Mapping[str, str]]
    namespaces: Sequence[Mapping[str, Any]]
    objects: Mapping[str, Mapping[str, list[dict[str, Any]]]]  # namespace -> kind name -> objects


class Reconciler:
    def __init__(self, *, kube: Kube, book: AlertBook, settings: ActionsSettings, cluster: ClusterSettings,
                 executor: Executor, decisions: DecisionLog, instruments: ActionInstruments,
                 protected: frozenset[str], alertmanager: Alertmanager | None = None,
                 intensities: Intensities | None = None, clock: Callable[[], float] = time.time) -> None:
        self.kube, self.book, self.settings, self.cluster = kube, book, settings, cluster
        self.executor, self.decisions, self.instruments = executor, decisions, instruments
        self.protected, self.alertmanager, self.intensities, self.clock = protected, alertmanager, intensities, clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="reconcile")
        self.passes = 0
        self.last_error: str | None = None

    # --- scheduling ---------------------------------------------------------------------------

    def trigger(self) -> None:
        """Ask for a pass soon (a webhook changed the active alerts)."""
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._idle.clear()  # the first pass is pending from now on
        self._thread = threading.Thread(target=self._loop, name="reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no pass is pending or running (tests, benchmarks)."""
        return self._idle.wait(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_pass()
            except Exception:  # a bug must not stop reconciling; counted and logged
                self.instruments.reconcile_errors.labels("pass").inc()
                log.exception("reconcile pass failed")
            if not self._wake.is_set():
                self._idle.set()
            self._wake.wait(self.settings.reconcile_seconds)

    # --- one pass -----------------------------------------------------------------------------

    def run_pass(self, *, sync_alertmanager: bool = True) -> None:
        started = time.monotonic()
        if sync_alertmanager:
            self._sync_alertmanager()
        try:
            cluster = self._read_cluster()
        except KubeError as error:
            self.instruments.reconcile_errors.labels("read").inc()
            self.last_error = str(error)
            log.warning("reconcile: cannot read the cluster: %s", error)
            return
        context = Context(now=self.clock(), alerts=self.book.active(), protected=self.protected,
                          migration_targets=self._migration_targets(cluster), cluster_targets=self._cluster_targets(),
                          hold_lead_seconds=max(CRONJOB_HOLD_LEAD_SECONDS, 2 * self.settings.reconcile_seconds))
        views = [view for ns in cluster.namespaces if (view := self._view(ns, cluster)) is not None]
        held: Counter[tuple[str, str]] = Counter()
        for counts in self._pool.map(lambda view: self._namespace(view, context), views):
            held.update(counts)
        self.instruments.set_held(dict(held))
        self._export_alerts(context)
        self.passes += 1
        self.last_error = None
        self.instruments.reconcile_duration.observe(time.monotonic() - started)
        self.instruments.last_reconcile.set(self.clock())

    def _sync_alertmanager(self) -> None:
        if self.alertmanager is None:
            return
        try:
            self.book.replace(self.alertmanager.active_alerts())
        except UpstreamError as error:  # keep what the webhooks said; try again next pass
            self.instruments.reconcile_errors.labels("alertmanager").inc()
            log.warning("reconcile: %s; acting on the alerts received by webhook", error)

    def _read_cluster(self) -> ClusterRead:
        nodes = self.kube.list_nodes()
        labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in nodes}
        zones = {name: node_zone(node_labels, region_to_zone=self.cluster.region_to_zone,
                                 default_zone=self.cluster.default_zone) for name, node_labels in labels.items()}
        objects: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        extra = (kinds.PROPAGATION_POLICY,) if self.settings.karmada_clusters else ()
        targets = self.settings.target_namespaces
        for kind in (*kinds.WORKLOAD_KINDS, kinds.HPA, *extra):
            for obj in list_in(self.kube, kind, targets):
                objects[obj["metadata"]["namespace"]][kind.name].append(obj)
        # Every namespace's (or target's), opted in or not, so an opted-out one's holds are restored.
        for obj in list_if_installed(self.kube, kinds.SCALED_OBJECT, targets):
            objects[obj["metadata"]["namespace"]][kinds.SCALED_OBJECT.name].append(obj)
        namespaces = [n for n in self.kube.list_namespaces() if not targets or n["metadata"]["name"] in targets]
        return ClusterRead(node_zones=zones, node_labels=labels, namespaces=namespaces, objects=objects)

    def _view(self, namespace: Mapping[str, Any], cluster: ClusterRead) -> NamespaceView | None:
        """A namespace worth deciding on: opted in, or holding something gridshift changed."""
        name = namespace["metadata"]["name"]
        if name in self.protected:
            return None  # never touched, not even to undo a state someone copied into it
        annotations = namespace["metadata"].get("annotations") or {}
        objects = cluster.objects.get(name, {})
        holds = any(names.ANNOTATION_STATE in (o["metadata"].get("annotations") or {})
                    for items in objects.values() for o in items)
        opt_in = (names.ANNOTATION_ACTION, names.ANNOTATION_ON_GREEN)
        opted = any(key in annotations for key in opt_in) or any(
            key in (o["metadata"].get("annotations") or {}) for items in objects.values() for o in items for key in opt_in)
        if not (opted or holds):
            return None
        zone = annotations.get(names.ANNOTATION_ZONE) or self._namespace_zone(name, cluster)
        hpas = {_hpa_target(h): h for h in objects.get(kinds.HPA.name, [])}
        scaled = objects.get(kinds.SCALED_OBJECT.name, [])
        targets = {target: so for so in scaled if (target := keda.scale_target(so)) is not None}
        policies = objects.get(kinds.PROPAGATION_POLICY.name, [])
        workloads = tuple(
            Workload(kind=kind, namespace=name, name=o["metadata"]["name"], obj=o,
                     hpa=hpas.get((kind.name, o["metadata"]["name"])),
                     propagation=_propagation_for(policies, kind.name, o["metadata"]["name"]),
                     scaled_object=targets.get((kind.name, o["metadata"]["name"])) if kind.replicas == "/spec/replicas" else None)
            for kind in kinds.WORKLOAD_KINDS for o in objects.get(kind.name, [])
        )
        untargeted = tuple(so for so in scaled if keda.scale_target(so) is None)
        return NamespaceView(name=name, annotations=annotations, zone=zone or None, workloads=workloads,
                             untargeted=untargeted)

    def _namespace_zone(self, namespace: str, cluster: ClusterRead) -> str:
        """The zone most of the namespace's pods run in; the default zone when none runs."""
        try:
            pods = self.kube.list_pods(namespace)
        except KubeError as error:
            log.warning("reconcile: cannot list pods of %s: %s", namespace, error)
            pods = []
        counted = Counter(cluster.node_zones[p["spec"]["nodeName"]] for p in pods
                          if p.get("spec", {}).get("nodeName") in cluster.node_zones)
        if counted:
            return sorted(counted.items(), key=lambda item: (-item[1], item[0]))[0][0]
        return self.cluster.default_zone

    def _migration_targets(self, cluster: ClusterRead) -> dict[str, MigrationTarget]:
        """For each zone under a high or critical alert: the greenest other zone of this cluster's
        nodes that is under no such alert and has a lower current intensity."""
        alerting = {a.zone for a in self.book.active() if a.level in ("high", "critical") and a.zone}
        node_zones = set(cluster.node_zones.values())
        if not alerting or self.intensities is None or len(node_zones) < 2:
            return {}
        intensity = self.intensities.current(node_zones | alerting)
        targets = {}
        for zone in alerting:
            greener = [(g, z) for z, g in intensity.items()
                       if z in node_zones and z not in alerting and g < intensity.get(zone, float("inf"))]
            for grams, best in sorted(greener):
                selector = _zone_selector(best, cluster)
                if selector is not None:  # a zone no node label can select is no target
                    targets[zone] = MigrationTarget(zone=best, label=selector[0], values=selector[1], grams_per_kwh=grams)
                    break
        return targets

    def _cluster_targets(self) -> dict[str, ClusterTarget]:
        """Karmada: for each alerting zone, the member clusters of the greenest other zone."""
        members = self.settings.karmada_clusters
        alerting = {a.zone for a in self.book.active() if a.level in ("high", "critical") and a.zone}
        if not members or not alerting or self.intensities is None:
            return {}
        intensity = self.intensities.current(set(members.values()) | alerting)
        targets = {}
        for zone in alerting:
            greener = [(g, z) for z, g in intensity.items()
                       if z in members.values() and z not in alerting and g < intensity.get(zone, float("inf"))]
            if greener:
                grams, best = min(greener)
                clusters = tuple(sorted(c for c, z in members.items() if z == best))
                targets[zone] = ClusterTarget(zone=best, clusters=clusters, grams_per_kwh=grams)
        return targets

    def _namespace(self, view: NamespaceView, context: Context) -> Counter[tuple[str, str]]:
        """Decide and apply for one namespace; a conflict re-reads the object and decides again."""
        held: Counter[tuple[str, str]] = Counter()
        for scaled_object in view.untargeted:
            self._untargeted(scaled_object)
        for workload in view.workloads:
            for attempt in range(CONFLICT_RETRIES):
                decision = decide(view, workload, context)
                if decision is None:
                    break
                if decision.verb in (Verb.HOLD, Verb.RESTORE, Verb.RESUME):
                    outcome = self.executor.apply(decision)
                    if isinstance(outcome.error, Conflict) and attempt + 1 < CONFLICT_RETRIES:
                        fresh = self._reread(workload)
                        if fresh is None:
                            break
                        if outcome.error.status == 422 and _version(fresh, decision) == _version(workload, decision):
                            # 422 on an unchanged object: the patch is invalid, not raced. Retrying cannot help.
                            self.decisions.record(decision, Outcome("failed", f"refused as invalid: {outcome.error}"))
                            break
                        workload = fresh
                        continue
                    self.decisions.record(decision, outcome)
                    if outcome.result == "applied" or (decision.verb == Verb.RESTORE and outcome.result == "failed"):
                        held[(view.name, decision.action)] += 1
                    if decision.verb == Verb.RESTORE and outcome.result == "restored":
                        self.trigger()  # what replaces a restored hold (on-green, another action) need not wait
                elif decision.verb == Verb.KEEP:
                    held[(view.name, decision.action)] += 1
                else:
                    self.decisions.record(decision, Outcome("skipped", decision.reason))
                break
        return held

    def _untargeted(self, scaled_object: Mapping[str, Any]) -> None:
        """A ScaledObject that names no workload: say so, and undo a hold recorded on it (one try a pass)."""
        decision = decide_untargeted(scaled_object)
        if decision.verb == Verb.RESTORE:
            self.decisions.record(decision, self.executor.apply(decision))
        else:
            self.decisions.record(decision, Outcome("skipped", decision.reason))

    def _reread(self, workload: Workload) -> Workload | None:
        try:
            obj = self.kube.get(workload.kind, workload.namespace, workload.name)
            hpa = self._get(kinds.HPA, workload.namespace, workload.hpa)
            propagation = self._get(kinds.PROPAGATION_POLICY, workload.namespace, workload.propagation)
            scaled_object = self._get(kinds.SCALED_OBJECT, workload.namespace, workload.scaled_object)
        except KubeError as error:
            log.info("re-reading %s/%s after a conflict: %s", workload.namespace, workload.name, error)
            return None
        return Workload(kind=workload.kind, namespace=workload.namespace, name=workload.name, obj=obj, hpa=hpa,
                        propagation=propagation, scaled_object=scaled_object)

    def _get(self, kind: kinds.Kind, namespace: str, known: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None if known is None else self.kube.get(kind, namespace, known["metadata"]["name"])

    def _export_alerts(self, context: Context) -> None:
        counts = Counter((a.zone or "", a.level or "") for a in context.alerts)
        self.instruments.active_alerts.clear()
        for (zone, level), count in counts.items():
            self.instruments.active_alerts.labels(zone, level).set(count)


def _version(workload: Workload, decision: Decision) -> str:
    """The resourceVersion of the object a decision patches."""
    assert decision.target is not None
    return str(workload.target(decision.target.kind).get("metadata", {}).get("resourceVersion", ""))


def _hpa_target(hpa: Mapping[str, Any]) -> tuple[str, str]:
    ref = hpa.get("spec", {}).get("scaleTargetRef") or {}
    return ref.get("kind", ""), ref.get("name", "")


def _propagation_for(policies: Sequence[Mapping[str, Any]], kind: str, name: str) -> Mapping[str, Any] | None:
    """The PropagationPolicy whose resourceSelectors name this workload (by kind and name, or kind alone)."""
    for policy in policies:
        for selector in policy.get("spec", {}).get("resourceSelectors") or []:
            if selector.get("kind") == kind and selector.get("name") in (None, name):
                return policy
    return None


def _zone_selector(zone: str, cluster: ClusterRead) -> tuple[str, tuple[str, ...]] | None:
    """The node label that selects exactly `zone`'s nodes: gridshift.io/zone when they all carry it,
    else their regions when they all have one; None when they are in the zone only by default."""
    members = [labels for node, labels in cluster.node_labels.items() if cluster.node_zones[node] == zone]
    if all(labels.get(names.NODE_ZONE_LABEL) == zone for labels in members):
        return names.NODE_ZONE_LABEL, (zone,)
    if all(names.REGION_LABEL in labels for labels in members):
        return names.REGION_LABEL, tuple(sorted({labels[names.REGION_LABEL] for labels in members}))
    return None

