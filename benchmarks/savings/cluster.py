"""gridshift's own action service, run over a trace: the Reconciler, policy.decide and the
Executor exactly as deployed, against an in-memory API (memkube.py), on a simulated clock.

The simulator plays the rest of the world: the alerts (alerting.py, by the shipped rules'
parameters), the Job controller (a Job runs while not suspended; a Job that cannot checkpoint
loses its work when suspended) and the energy meter. A pass runs whenever something the
decision depends on changes: an alert fires or resolves, a job arrives or finishes, a hold
reaches its max-delay. `decide` is a pure function of the alerts, the objects and the time,
and reads the time only against max-delay, so passes at those moments decide exactly what the
deployed service's passes every `reconcile_seconds` would, without a year of them.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from gridshift import names
from gridshift.actions import kinds
from gridshift.actions.alerts import AlertBook
from gridshift.actions.decisions import DecisionLog
from gridshift.actions.executor import Executor
from gridshift.actions.instruments import ActionInstruments
from gridshift.actions.jobs import START_PLANNED
from gridshift.actions.policy import Workload, effective_policy

try:
    from gridshift.actions.policy import hold_expires_at, hold_from
except ImportError:  # the policy before issue 10, measured for the before/after: a hold ended max-delay
    # after it began, and a CronJob was held at once
    def hold_expires_at(workload: Workload, policy: Any, state: Any) -> float:  # type: ignore[misc]
        return float(state.since + policy.max_delay_seconds)

    def hold_from(workload: Workload, policy: Any, now: float) -> float | None:  # type: ignore[misc]
        return None

from gridshift.actions.planner import Plan
from gridshift.actions.reconcile import Reconciler
from gridshift.actions.state import decode
from gridshift.config import ActionsSettings, ClusterSettings

from benchmarks.savings.alerting import Episode
from benchmarks.savings.forecasts import Source
from benchmarks.savings.grid import HOUR, Grid
from benchmarks.savings.memkube import MemoryKube
from benchmarks.savings.workloads import JobRun, JobSpec, ServiceRun, ServiceSpec, arrivals, service_window

EPSILON = 1e-6
PASSES_AFTER_RESTORE = 3  # the service runs another pass at once after a restore; bounded here


@dataclass
class _Running:
    run: JobRun
    done_seconds: float = 0.0
    was_running: bool = True


@dataclass
class Outcome:
    jobs: dict[str, list[JobRun]] = field(default_factory=dict)  # spec key -> runs
    cronjob_actions: dict[str, int] = field(default_factory=dict)  # spec key -> changes to its CronJob
    service: ServiceRun | None = None
    passes: int = 0


def namespace_annotations(zone: str, slack_hours: float | None, action: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """How a team opts in: hold for at most its slack. A job with no slack does not opt in."""
    annotations = {names.ANNOTATION_ZONE: zone}
    if slack_hours is None or slack_hours > 0:
        annotations[names.ANNOTATION_ACTION] = action
        if slack_hours:
            annotations[names.ANNOTATION_MAX_DELAY] = f"{slack_hours:g}h"
    return {**annotations, **(extra or {})}


def job_namespace_annotations(zone: str, spec: JobSpec) -> dict[str, str]:
    """The team says how long its jobs run (`duration`; only plans read it) and whether they checkpoint."""
    extra = {names.ANNOTATION_DURATION: f"{spec.hours:g}h"}
    if spec.scheduled:
        extra[names.ANNOTATION_INTERRUPTIBLE] = "false"
    return namespace_annotations(zone, spec.slack_hours, "pause", extra)


class ClusterSimulation:
    def __init__(self, grid: Grid, episodes: Sequence[Episode], jobs: Sequence[JobSpec], service: ServiceSpec | None,
                 forecasts: Source | None = None) -> None:
        self.grid, self.episodes, self.specs, self.service_spec = grid, episodes, jobs, service
        self.now = float(grid.start)
        self.kube = MemoryKube()
        self.forecasts = forecasts
        self.reconciler = _reconciler(self.kube, clock=lambda: self.now, forecasts=forecasts)
        self.plans: dict[tuple[str, str, str], Plan] = {}  # the last pass's
        self.wake_at: float | None = None  # when the last pass's plans act next
        self._forecast_changes = sorted(forecasts.changes()) if forecasts is not None else []
        self._policies: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self.running: dict[tuple[str, str], _Running] = {}
        self._expiry_cache: dict[tuple[str, str, str, str], float | None] = {}
        self.missed: dict[tuple[str, str], JobRun] = {}  # CronJob -> the run that fell due while it was suspended
        self.outcome = Outcome(jobs={spec.key: [] for spec in jobs})
        for spec in jobs:
            self.kube.add_namespace(spec.key, job_namespace_annotations(grid.zone, spec))
            for name, schedule in spec.schedules.items() if spec.scheduled else ():
                deadline = int((spec.slack_hours + 1) * HOUR)  # docs/actions.md: beyond max-delay, or the run is skipped
                self.kube.add(kinds.CRONJOB, {"apiVersion": "batch/v1", "kind": "CronJob",
                                              "metadata": {"name": name, "namespace": spec.key},
                                              "spec": {"suspend": False, "schedule": schedule, "startingDeadlineSeconds": deadline,
                                                       "jobTemplate": {"spec": {"template": {"spec": {}}}}}})
        if service is not None:
            self._add_service(service)

    def _add_service(self, spec: ServiceSpec) -> None:
        begin, end = service_window(self.grid)
        annotations = namespace_annotations(self.grid.zone, None, "scale-down", {names.ANNOTATION_MIN_REPLICAS: str(spec.floor)})
        self.kube.add_namespace(spec.key, annotations)
        self.kube.add(kinds.DEPLOYMENT, {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "metadata": {"name": "web", "namespace": spec.key},
                                         "spec": {"replicas": spec.replicas, "template": {"spec": {}}}})
        self.outcome.service = ServiceRun(spec, begin, end)

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> Outcome:
        logging.getLogger("gridshift").setLevel(logging.WARNING)
        changes = sorted([(e.firing_at, i) for i, e in enumerate(self.episodes)] +
                         [(e.resolved_at, i) for i, e in enumerate(self.episodes)])
        pending = sorted(((moment, n, cronjob or "") for n, spec in enumerate(self.specs)
                          for moment, cronjob in arrivals(self.grid, spec)))
        end = self.outcome.service.end if self.outcome.service else max((p[0] for p in pending), default=self.now)
        starts = [p[0] for p in pending] + ([self.outcome.service.begin] if self.outcome.service else [])
        if not starts:
            return self.outcome  # a trace too short for this job: no run
        self.now = min(starts)
        change_at, arrival_at = 0, 0
        while True:
            if arrival_at == len(pending) and not self.running and not self.missed and self.now >= end:
                break  # every job done and the service's year over: later timers change nothing measured
            upcoming = [m for m in (changes[change_at][0] if change_at < len(changes) else None,
                                    pending[arrival_at][0] if arrival_at < len(pending) else None) if m is not None]
            upcoming += self._completions() + self._expiries() + self._replans()
            if not upcoming:
                if self.now >= end:
                    break
                upcoming = [end]
            moment = max(min(upcoming), self.now)
            self._advance(moment)
            while change_at < len(changes) and changes[change_at][0] <= self.now:
                change_at += 1
            while arrival_at < len(pending) and pending[arrival_at][0] <= self.now:
                moment, n, cronjob = pending[arrival_at]
                self._arrive(self.specs[n], moment, cronjob)
                arrival_at += 1
            self._finish_jobs()
            if self._idle():
                continue  # nothing here a pass could change: the deployed service's pass would skip it all
            self.reconciler.book.replace(e.alert(self.grid.zone) for e in self.episodes
                                         if e.firing_at <= self.now < e.resolved_at)
            self._pass()
        self.reconciler.stop()
        self.outcome.cronjob_actions = {spec.key: sum(self.kube.patches[(kinds.CRONJOB.name, spec.key, name)]
                                                      for name in spec.schedules) for spec in self.specs if spec.scheduled}
        return self.outcome

    def _pass(self) -> None:
        for _ in range(PASSES_AFTER_RESTORE):
            result = self.reconciler.run_pass(sync_alertmanager=False)
            self.outcome.passes += 1
            self.plans, self.wake_at = dict(result.plans), result.wake_at
            if not result.needs_another_pass:
                break
        self._observe()

    def _idle(self) -> bool:
        """No Job exists, nothing is held, no run is missed, no service runs, and every CronJob's
        next run is further off than the moment it would be planned or held: every decision a
        pass could make is a skip (tests/savings/test_simulation.py checks the rows are the same)."""
        if self.running or self.missed or self.outcome.service is not None:
            return False
        for cronjob in self.kube.list_all(kinds.CRONJOB):
            if names.ANNOTATION_STATE in (cronjob["metadata"].get("annotations") or {}):
                return False
            start = self._timer(kinds.CRONJOB, cronjob)
            if start is None or start <= self.now:
                return False
        return True

    def _replans(self) -> list[float]:
        """While anything is planned: the plans' own moments, and the next change of the forecast
        (the deployed service plans again at every pass; between these moments nothing it reads changes)."""
        moments = [self.wake_at] if self.wake_at is not None and self.wake_at > self.now else []
        if not self.plans and not moments:
            return []
        following = bisect.bisect_right(self._forecast_changes, self.now)
        if following < len(self._forecast_changes):
            moments.append(self._forecast_changes[following])
        return moments

    # --- the world around the service -------------------------------------------------------------

    def _arrive(self, spec: JobSpec, moment: float, cronjob: str) -> None:
        run = JobRun(spec, moment)
        self.outcome.jobs[spec.key].append(run)
        if cronjob and self._suspended(kinds.CRONJOB, spec.key, cronjob):
            # Kubernetes starts only the latest missed run on resume; none is missed twice here
            # (runs of one CronJob are 3 days apart, max-delay at most 2 days).
            assert (spec.key, cronjob) not in self.missed
            self.missed[(spec.key, cronjob)] = run
        else:
            self._start(run, cronjob)

    def _start(self, run: JobRun, cronjob: str) -> None:
        """A CronJob's run, or a Job created by the team. Under a planner a Job that checkpoints is
        created suspended with `gridshift.io/start: planned` (docs/actions.md "Plans"), for the
        service to start at its window; otherwise it runs at once."""
        name = f"job-{int(run.arrival)}-{cronjob}"
        owners = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cronjob}] if cronjob else []
        planned = self.forecasts is not None and run.spec.checkpoints and not cronjob
        annotations = {names.ANNOTATION_START: START_PLANNED} if planned else {}
        self.kube.add(kinds.JOB, {"apiVersion": "batch/v1", "kind": "Job",
                                  "metadata": {"name": name, "namespace": run.spec.key, "ownerReferences": owners,
                                               "annotations": annotations, "creationTimestamp": self.now},
                                  "spec": {"suspend": planned, "parallelism": 1, "template": {"spec": {}}},
                                  "status": {} if planned else {"active": 1, "startTime": self.now}})
        self.running[(run.spec.key, name)] = _Running(run, was_running=not planned)

    def _suspended(self, kind: kinds.Kind, namespace: str, name: str) -> bool:
        return self.kube.get(kind, namespace, name)["spec"].get("suspend") is True

    def _is_running(self, key: tuple[str, str]) -> bool:
        return not self._suspended(kinds.JOB, *key)

    def _advance(self, moment: float) -> None:
        """Run every unsuspended job and the service from now to `moment`."""
        if moment <= self.now:
            return
        grams = self.grid.grams(self.now, moment)
        seconds = moment - self.now
        for key, state in self.running.items():
            if self._is_running(key):
                state.done_seconds += seconds
                state.run.grams += grams
                state.run.kwh += seconds / HOUR
        service = self.outcome.service
        if service is not None and service.begin <= self.now < service.end:
            replicas = self.kube.get(kinds.DEPLOYMENT, service.spec.key, "web")["spec"]["replicas"]
            service.grams += grams * replicas / service.spec.replicas
            service.replica_hours += replicas * seconds / HOUR
            if replicas < service.spec.replicas:
                service.reduced.append((self.now, moment, service.spec.replicas - replicas))
        self.now = moment

    def _completions(self) -> list[float]:
        return [self.now + max(0.0, s.run.spec.hours * HOUR - s.done_seconds)
                for key, s in self.running.items() if self._is_running(key)]

    def _expiries(self) -> list[float]:
        """When a decision can change with time alone: a hold reaches its max-delay (the service
        restores it then, whatever the alerts), or a CronJob's next run comes near (held from then)."""
        moments = (self._timer(kind, obj) for kind in (kinds.JOB, kinds.CRONJOB, kinds.DEPLOYMENT)
                   for obj in self.kube.list_all(kind))
        return [m for m in moments if m is not None and m > self.now]  # a timer now was this moment's pass

    def _timer(self, kind: kinds.Kind, obj: dict[str, Any]) -> float | None:
        meta = obj["metadata"]
        key = (kind.name, meta["namespace"], meta["name"], meta["resourceVersion"])
        text = (meta.get("annotations") or {}).get(names.ANNOTATION_STATE)
        if text is None and kind is kinds.CRONJOB:  # changes with time, not with the object
            workload = Workload(kind=kind, namespace=meta["namespace"], name=meta["name"], obj=obj)
            return hold_from(workload, self._policy(workload), self.now)
        if key not in self._expiry_cache:  # a hold's expiry changes only when its object does
            expires = None
            if text is not None:
                workload = Workload(kind=kind, namespace=meta["namespace"], name=meta["name"], obj=obj)
                expires = hold_expires_at(workload, self._policy(workload), decode(text))
            self._expiry_cache[key] = expires
        return self._expiry_cache[key]

    def _policy(self, workload: Workload) -> Any:
        own = tuple(sorted((k, v) for k, v in workload.annotations.items() if k not in _BOOKKEEPING))
        key = (workload.namespace, own)
        if key not in self._policies:  # the namespaces' annotations never change here
            self._policies[key] = effective_policy(self.kube.namespaces[workload.namespace]["metadata"]["annotations"],
                                                   workload.annotations)
        return self._policies[key]

    def _finish_jobs(self) -> None:
        for key in [k for k, s in self.running.items()
                    if self._is_running(k) and s.done_seconds >= s.run.spec.hours * HOUR - EPSILON]:
            state = self.running.pop(key)
            state.run.finished = self.now
            state.run.actions = self.kube.patches[(kinds.JOB.name, *key)]
            self.kube.remove(kinds.JOB, *key)  # ttlSecondsAfterFinished

    def _mark_started(self, key: tuple[str, str]) -> None:
        """The Job controller's status of a Job that runs (the planner reads when it started)."""
        job = self.kube.get(kinds.JOB, *key)
        if not (job.get("status") or {}).get("startTime"):
            self.kube.update(kinds.JOB, *key, {**job, "status": {"active": 1, "startTime": self.now}})

    def _observe(self) -> None:
        """The controllers' view after a pass: a suspended Job's pods are gone; a resumed CronJob
        starts the run it missed (startingDeadlineSeconds is set beyond the max-delay)."""
        for key in [key for key in self.missed if not self._suspended(kinds.CRONJOB, *key)]:
            self._start(self.missed.pop(key), key[1])
        for key, state in self.running.items():
            running = self._is_running(key)
            if running and not state.was_running:
                self._mark_started(key)
            if state.was_running and not running and not state.run.spec.checkpoints:
                state.done_seconds = 0.0
                state.run.restarts += 1
            state.was_running = running
        if self.outcome.service is not None:
            self.outcome.service.actions = self.kube.patches[(kinds.DEPLOYMENT.name, self.outcome.service.spec.key, "web")]


_BOOKKEEPING = (names.ANNOTATION_STATE, names.ANNOTATION_RELEASED, names.ANNOTATION_HELD_SECONDS)


def _reconciler(kube: MemoryKube, *, clock: Any, forecasts: Source | None = None) -> Reconciler:
    registry = CollectorRegistry()
    instruments = ActionInstruments(registry)
    settings = ActionsSettings(protected_namespaces=(), workers=1, decisions_kept=10)
    return Reconciler(kube=kube, book=AlertBook(), settings=settings, cluster=ClusterSettings(),
                      executor=Executor(kube, dry_run=False, clock=clock),
                      decisions=DecisionLog(keep=10, instruments=instruments, clock=clock),
                      instruments=instruments, protected=frozenset(), clock=clock, forecasts=forecasts)


def simulate(grid: Grid, episodes: Iterable[Episode], jobs: Sequence[JobSpec], service: ServiceSpec | None,
             forecasts: Source | None = None) -> Outcome:
    """Each workload's namespace in a cluster of its own. The policy decides each namespace from
    its own objects, the alerts and the time alone, so this decides what one cluster of them all
    would; a pass then reads one namespace, not all of them at every other one's moments (a year
    of 76 namespaces is some 50 times faster)."""
    episodes = list(episodes)
    outcome = Outcome()
    for spec in jobs:
        part = ClusterSimulation(grid, episodes, [spec], None, forecasts).run()
        outcome.jobs.update(part.jobs)
        outcome.cronjob_actions.update(part.cronjob_actions)
        outcome.passes += part.passes
    if service is not None:
        part = ClusterSimulation(grid, episodes, [], service, forecasts).run()
        outcome.service, outcome.passes = part.service, outcome.passes + part.passes
    return outcome
