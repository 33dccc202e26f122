"""Bring every opted-in workload to what the active alerts say: hold, keep, or restore.

One pass reads the cluster (nodes, namespaces, and each workload kind across namespaces), asks
Alertmanager which alerts are active (when configured), decides per namespace (policy.py) and
applies through the executor. Passes run one at a time on one thread, so no workload is ever
handled twice at once; within a pass, namespaces are patched by a small pool. A webhook marks the
service dirty and wakes the thread; a timer runs a pass every `reconcile_seconds` anyway, so a
lost notification, a restart, a passed max-delay or a namespace that opted out is handled.
A conflict (the object changed under us) re-reads that namespace and decides again; Kubernetes
5xx and timeouts leave the workload as it was and are retried at the next pass.

The steps live apart: cluster.py reads the cluster into NamespaceViews, targets.py ranks greener
zones (pure), policy.py decides, executor.py patches; `run_pass` returns a PassResult and the loop
here owns the thread, so a simulator can drive passes without it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from gridshift.actions import elastic_work, kinds
from gridshift.actions.alerts import AlertBook
from gridshift.actions.decisions import DecisionLog
from gridshift.actions.executor import Executor, Outcome, Result
from gridshift.actions.instruments import ActionInstruments
from gridshift.actions.cluster import ClusterRead, namespace_view, read_cluster
from gridshift.actions.kube.api import KubeApi
from gridshift.actions.kube.errors import Conflict, KubeError
from gridshift.actions.kube.writes import NotLeader
from gridshift.actions.resumes import ResumePacer
from gridshift.actions.jobs import CRONJOB_HOLD_LEAD_SECONDS
from gridshift.actions.planner import Forecast, ForecastSource, Plan, PlannerSettings
from gridshift.actions.policy import (ClusterTarget, Context, Decision, MigrationTarget, NamespaceView, Verb, Workload, decide,
                                      decide_untargeted, restore_deadline)
from gridshift.actions.targets import cluster_targets, migration_targets
from gridshift.actions.upstreams import Alertmanager, Intensities, UpstreamError
from gridshift.config import ActionsSettings, ClusterSettings

log = logging.getLogger(__name__)
CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class PassResult:
    """What a pass leaves for the loop: whether another pass should follow at once (a restore
    freed a workload for what replaces its hold: on-green, another action), and why it stopped early."""

    needs_another_pass: bool = False
    error: str | None = None
    plans: Mapping[tuple[str, str, str], Plan] = field(default_factory=dict)  # (namespace, kind, name) -> this pass's plan
    wake_at: float | None = None  # the next moment a plan acts (a release, a pause): a pass is due then


@dataclass
class _NamespaceResult:
    held: Counter[tuple[str, str]] = field(default_factory=Counter)  # (namespace, action) -> workloads held
    restored: bool = False  # something was restored: what replaces its hold need not wait
    plans: dict[tuple[str, str, str], Plan] = field(default_factory=dict)  # (namespace, kind, name) -> its plan
    moments: list[float] = field(default_factory=list)  # when the plans act next
    widths: dict[tuple[str, str, str], int] = field(default_factory=dict)  # elastic: (namespace, kind, name) -> width now
    restores: list[_Restore] = field(default_factory=list)  # decided, waiting for the resume pacer


@dataclass(frozen=True)
class _Restore:
    deadline: float  # the soonest first: max-delay's end or the workload's own deadline
    view: NamespaceView
    workload: Workload
    action: str


class Reconciler:
    def __init__(self, *, kube: KubeApi, book: AlertBook, settings: ActionsSettings, cluster: ClusterSettings,
                 executor: Executor, decisions: DecisionLog, instruments: ActionInstruments,
                 protected: frozenset[str], alertmanager: Alertmanager | None = None,
                 intensities: Intensities | None = None, forecasts: ForecastSource | None = None,
                 leadership: Callable[[], bool] | None = None, clock: Callable[[], float] = time.time) -> None:
        """`leadership`: with leader election, whether this replica leads now; a follower runs no
        pass, it keeps its alert book from Alertmanager, ready to take over."""
        self.kube, self.book, self.settings, self.cluster = kube, book, settings, cluster
        self.forecasts = forecasts
        self.planner = PlannerSettings(interruption_share=settings.plan_interruption_share,
                                       min_gain=settings.plan_min_gain, risk=settings.plan_risk)
        self.executor, self.decisions, self.instruments = executor, decisions, instruments
        self.protected, self.alertmanager, self.intensities, self.clock = protected, alertmanager, intensities, clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="reconcile")
        self.leadership = leadership
        self.resumes = ResumePacer(per_minute=settings.max_resumes_per_minute,
                                   max_pending_pods=settings.max_pending_pods, clock=clock)
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
            wait = self.settings.reconcile_seconds
            if self.leads():
                wait = self._lead(wait)
            else:
                self.follow()
            if not self._wake.is_set():
                self._idle.set()
            self._wake.wait(wait)

    def _lead(self, wait: float) -> float:
        """One pass as the leader; returns how long until the next (a plan may want it sooner)."""
        try:
            result = self.run_pass()
            if result.needs_another_pass:
                self.trigger()
            if result.wake_at is not None:  # a plan acts before the next timed pass: be there
                wait = max(1.0, min(wait, result.wake_at - self.clock()))
        except Exception:  # a bug must not stop reconciling; counted and logged
            self.instruments.reconcile_errors.labels("pass").inc()
            log.exception("reconcile pass failed")
        return wait

    def leads(self) -> bool:
        leading = self.leadership is None or self.leadership()
        self.instruments.leader.set(1 if leading else 0)
        return leading

    def follow(self) -> None:
        """What a follower does each period: keep the book from Alertmanager, so a takeover acts on
        what is active (defect 3: never on an empty book)."""
        self._sync_alertmanager()

    # --- one pass -----------------------------------------------------------------------------

    def run_pass(self, *, sync_alertmanager: bool = True) -> PassResult:
        """One pass: read, decide, apply. Never raises for the cluster or an upstream (counted, logged);
        ends early, nothing more written, when this replica stops leading in the middle of it."""
        try:
            return self._pass(sync_alertmanager=sync_alertmanager)
        except NotLeader as error:
            self.instruments.leader.set(0)
            self.last_error = str(error)
            log.warning("reconcile: pass ended, this replica stopped leading: %s", error)
            return PassResult(error=self.last_error)

    def _pass(self, *, sync_alertmanager: bool) -> PassResult:
        started = time.monotonic()
        if sync_alertmanager:
            self._sync_alertmanager()
        try:
            cluster = self._read_cluster()
        except KubeError as error:
            self.instruments.reconcile_errors.labels("read").inc()
            self.last_error = str(error)
            log.warning("reconcile: cannot read the cluster: %s", error)
            return PassResult(error=self.last_error)
        views = [view for ns in cluster.namespaces if (view := self._view(ns, cluster)) is not None]
        now = self.clock()
        context = Context(now=now, alerts=self.book.active(), protected=self.protected,
                          migration_targets=self._migration_targets(cluster), cluster_targets=self._cluster_targets(),
                          hold_lead_seconds=max(CRONJOB_HOLD_LEAD_SECONDS, 2 * self.settings.reconcile_seconds),
                          forecasts=self._forecasts(views, now), planner=self.planner,
                          default_duration_seconds=self.settings.default_job_duration_seconds,
                          alerts_known=self.book.heard)
        held: Counter[tuple[str, str]] = Counter()
        plans: dict[tuple[str, str, str], Plan] = {}
        widths: dict[tuple[str, str, str], int] = {}
        moments: list[float] = []
        restored = False
        # One worker: no pool to hand work to (the savings simulator runs a year of passes so).
        each = map if self.settings.workers == 1 else self._pool.map
        results = list(each(lambda view: self._namespace(view, context), views))
        paced, room = self._restore_paced([r for result in results for r in result.restores], context)
        if room is not None:
            moments.append(room)
        for result in (*results, paced):
            held.update(result.held)
            plans.update(result.plans)
            widths.update(result.widths)
            moments += result.moments
            restored = restored or result.restored
        self.instruments.set_held(dict(held))
        self.instruments.set_plans(plans)
        self.instruments.set_widths(widths)
        self._export_alerts(context, {view.zone for view in views if view.zone})
        self.passes += 1
        self.last_error = None
        self.instruments.reconcile_duration.observe(time.monotonic() - started)
        self.instruments.last_reconcile.set(self.clock())
        later = [m for m in moments if m > now]
        return PassResult(needs_another_pass=restored, plans=plans, wake_at=min(later) if later else None)

    def _forecasts(self, views: list[NamespaceView], now: float) -> dict[str, Forecast]:
        """The forecast of each zone with a Job or CronJob to plan: one request a zone a pass."""
        if self.forecasts is None:
            return {}
        zones = {view.zone for view in views if view.zone and any(
            w.kind in (kinds.JOB, kinds.CRONJOB) or elastic_work.opted_in(view.annotations, w.annotations)
            for w in view.workloads)}
        found = {}
        for zone in sorted(zones):
            forecast = self.forecasts.forecast(zone, now)
            if forecast is not None:
                found[zone] = forecast
        return found

    def _sync_alertmanager(self) -> None:
        if self.alertmanager is None:
            return
        try:
            self.book.replace(self.alertmanager.active_alerts())
        except UpstreamError as error:  # keep what the webhooks said; try again next pass
            self.instruments.reconcile_errors.labels("alertmanager").inc()
            log.warning("reconcile: %s; acting on the alerts received by webhook", error)

    def _read_cluster(self) -> ClusterRead:
        return read_cluster(self.kube, self.cluster, target_namespaces=self.settings.target_namespaces,
                            karmada=bool(self.settings.karmada_clusters))

    def _view(self, namespace: Mapping[str, Any], cluster: ClusterRead) -> NamespaceView | None:
        return namespace_view(namespace, cluster, kube=self.kube, protected=self.protected,
                              default_zone=self.cluster.default_zone)

    def _alerting_zones(self) -> set[str]:
        return {a.zone for a in self.book.active() if a.level in ("high", "critical") and a.zone}

    def _migration_targets(self, cluster: ClusterRead) -> dict[str, MigrationTarget]:
        """For each zone under a high or critical alert: the greenest other zone of this cluster's
        nodes that is under no such alert and has a lower current intensity."""
        alerting = self._alerting_zones()
        node_zones = set(cluster.node_zones.values())
        if not alerting or self.intensities is None or len(node_zones) < 2:
            return {}
        return migration_targets(cluster, alerting, self.intensities.current(node_zones | alerting))

    def _cluster_targets(self) -> dict[str, ClusterTarget]:
        """Karmada: for each alerting zone, the member clusters of the greenest other zone."""
        members = self.settings.karmada_clusters
        alerting = self._alerting_zones()
        if not members or not alerting or self.intensities is None:
            return {}
        return cluster_targets(members, alerting, self.intensities.current(set(members.values()) | alerting))

    def _namespace(self, view: NamespaceView, context: Context) -> _NamespaceResult:
        """Decide and apply for one namespace; its restores wait for _restore_paced (soonest deadline first)."""
        result = _NamespaceResult()
        for scaled_object in view.untargeted:
            self._untargeted(scaled_object)
        for workload in view.workloads:
            self._workload(view, workload, context, result, defer_restores=True)
        return result

    def _workload(self, view: NamespaceView, workload: Workload, context: Context, result: _NamespaceResult, *,
                  defer_restores: bool) -> None:
        """Decide and apply for one workload; a conflict re-reads the object and decides again."""
        held = result.held
        for attempt in range(CONFLICT_RETRIES):
            decision = decide(view, workload, context)
            if decision is None:
                return
            if decision.verb == Verb.RESTORE and defer_restores:
                assert decision.state is not None, "a restore carries the state it undoes"
                result.restores.append(_Restore(restore_deadline(view, workload, decision.state), view, workload,
                                                decision.action))
                return
            if decision.plan is not None and decision.verb in (Verb.HOLD, Verb.KEEP, Verb.WAIT):
                result.plans[(view.name, workload.kind.name, workload.name)] = decision.plan  # it waits
                result.moments.append(decision.plan.release_at)
            if decision.plan is not None and decision.plan.until is not None:
                result.moments.append(decision.plan.until)
            if decision.elastic is not None:
                result.widths[(view.name, workload.kind.name, workload.name)] = decision.elastic.width_now
                change = decision.elastic.next_change()
                if change is not None:
                    result.moments.append(change)
            if decision.verb in (Verb.HOLD, Verb.RESTORE, Verb.RESUME, Verb.START, Verb.RESIZE):
                outcome = self.executor.apply(decision)
                if isinstance(outcome.error, Conflict) and attempt + 1 < CONFLICT_RETRIES:
                    fresh = self._reread(workload)
                    if fresh is None:
                        return
                    if outcome.error.status == 422 and _version(fresh, decision) == _version(workload, decision):
                        # 422 on an unchanged object: the patch is invalid, not raced. Retrying cannot help.
                        self.decisions.record(decision, Outcome(Result.FAILED, f"refused as invalid: {outcome.error}"))
                        return
                    workload = fresh
                    continue
                self.decisions.record(decision, outcome)
                if decision.verb == Verb.START:
                    pass  # started: nothing held, nothing to restore
                elif outcome.result == Result.APPLIED or (decision.verb == Verb.RESTORE and outcome.result == Result.FAILED):
                    held[(view.name, decision.action)] += 1
                if decision.verb == Verb.RESTORE and outcome.result == Result.RESTORED:
                    result.restored = True  # what replaces a restored hold (on-green, another action) need not wait
            elif decision.verb in (Verb.KEEP, Verb.WAIT):
                if decision.verb == Verb.KEEP:
                    held[(view.name, decision.action)] += 1
                    self.executor.ensure_hold_event(decision)
                if decision.plan is not None and self.decisions.record(decision, Outcome(Result.SKIPPED, decision.reason)):
                    self.executor.announce(decision, workload.kind, workload.obj)  # a new or moved plan
            else:
                self.decisions.record(decision, Outcome(Result.SKIPPED, decision.reason))
            return

    def _restore_paced(self, restores: list[_Restore], context: Context) -> tuple[_NamespaceResult, float | None]:
        """This pass's restores, soonest deadline first, as many as the resume pacer allows; the
        rest stay held until the pass it asks for (the returned moment)."""
        result = _NamespaceResult()
        if not restores:
            return result, None
        pending = self._pending_pods()
        allowed = self.resumes.allowance(pending)
        restores.sort(key=lambda restore: restore.deadline)
        for restore in restores[:allowed]:
            self._workload(restore.view, restore.workload, context, result, defer_restores=False)
            self.resumes.sent()
        waiting = restores[allowed:]
        for restore in waiting:
            result.held[(restore.view.name, restore.action)] += 1
        if waiting:
            self.instruments.restores_waiting.set(len(waiting))
            log.info("reconcile: %d restores wait (at most %d a minute, %d pods pending of at most %d)", len(waiting),
                     self.resumes.per_minute, pending, self.resumes.max_pending_pods)
            return result, self.resumes.next_room(pending)
        self.instruments.restores_waiting.set(0)
        return result, None

    def _pending_pods(self) -> int:
        try:
            return len(self.kube.list_pending_pods(tuple(self.settings.target_namespaces)))
        except KubeError as error:  # unknown: count the cap as reached, try again soon
            log.warning("reconcile: cannot count pending pods: %s", error)
            return self.resumes.max_pending_pods

    def _untargeted(self, scaled_object: Mapping[str, Any]) -> None:
        """A ScaledObject that names no workload: say so, and undo a hold recorded on it (one try a pass)."""
        decision = decide_untargeted(scaled_object)
        if decision.verb == Verb.RESTORE:
            self.decisions.record(decision, self.executor.apply(decision))
        else:
            self.decisions.record(decision, Outcome(Result.SKIPPED, decision.reason))

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

    def _export_alerts(self, context: Context, zones: set[str]) -> None:
        """Per (zone, level) for the zones opted-in namespaces use: an alert for a zone nobody
        opted into adds no series (issue 19 defect 6: /metrics had grown to 6 MB)."""
        counts = Counter((a.zone or "", a.level or "") for a in context.alerts if a.zone in zones)
        self.instruments.active_alerts.clear()
        for (zone, level), count in counts.items():
            self.instruments.active_alerts.labels(zone, level).set(count)


def _version(workload: Workload, decision: Decision) -> str:
    """The resourceVersion of the object a decision patches."""
    assert decision.target is not None
    return str(workload.target(decision.target.kind).get("metadata", {}).get("resourceVersion", ""))
