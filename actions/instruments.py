"""The action service's metrics (CONTRACT.md "Action service", plus reconcile health)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from gridshift import __version__, names
from gridshift.actions.planner import Plan


class ActionInstruments:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.actions = Counter(names.ACTIONS, "Actions by result: applied, restored, skipped, failed, dry_run.",
                               (names.NAMESPACE, "action", "result"), registry=registry)
        self.held = Gauge(names.HELD_WORKLOADS, "Workloads currently paused, scaled down, migrated or scaled up.",
                          (names.NAMESPACE, "action"), registry=registry)
        self.webhook = Counter(names.WEBHOOK_REQUESTS, "Webhook requests by HTTP status.", ("code",), registry=registry)
        self.reconcile_duration = Histogram(names.RECONCILE_DURATION, "Time of one reconcile pass, in seconds.",
                                            registry=registry, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
        self.reconcile_errors = Counter(names.RECONCILE_ERRORS, "Reconcile steps that failed, by stage.",
                                        ("stage",), registry=registry)
        self.last_reconcile = Gauge(names.LAST_RECONCILE, "Unix time the last reconcile pass finished.", registry=registry)
        self.active_alerts = Gauge(names.ACTIVE_ALERTS, "Actionable alerts the service holds as active.",
                                   (names.ZONE, names.LEVEL), registry=registry)
        self.planned_release = Gauge(names.PLANNED_RELEASE, "When a planned workload is to run (next), unix time.",
                                     (names.NAMESPACE, "kind", "workload"), registry=registry)
        self.planned_intensity = Gauge(names.PLANNED_INTENSITY, "Forecast mean intensity of a planned workload's run: "
                                       "as planned (when=\"planned\") and had it run at once (when=\"now\").",
                                       (names.NAMESPACE, "kind", "workload", "when"), registry=registry)
        self.planned_replicas = Gauge(names.PLANNED_REPLICAS, "Elastic work: the width its schedule gives now "
                                      "(replicas, a Job's parallelism).", (names.NAMESPACE, "kind", "workload"),
                                      registry=registry)
        self.leader = Gauge(names.LEADER, "1 while this replica acts (holds the leader Lease, or leader "
                            "election is off), 0 while it follows.", registry=registry)
        self.kube_writes = Counter(names.KUBE_WRITES, "Writes sent to the Kubernetes API (patches, Events), "
                                   "each admitted by the write rate limit.", registry=registry)
        self.kube_write_wait = Counter(names.KUBE_WRITE_WAIT, "Time writes waited for the write rate limit "
                                       "(actions.max_writes_per_second).", registry=registry)
        self.restores_waiting = Gauge(names.RESTORES_WAITING, "Restores decided at the last pass that wait for "
                                      "the resume pacer (actions.max_resumes_per_minute, max_pending_pods).",
                                      registry=registry)
        Info(names.BUILD_INFO, "gridshift build.", registry=registry).info({"version": __version__})

    def set_plans(self, plans: dict[tuple[str, str, str], Plan]) -> None:
        """This pass's plans, by (namespace, kind, name): the series of workloads no longer planned go."""
        self.planned_release.clear()
        self.planned_intensity.clear()
        for (namespace, kind, name), plan in plans.items():
            self.planned_release.labels(namespace, kind, name).set(plan.release_at)
            self.planned_intensity.labels(namespace, kind, name, "planned").set(plan.expected_grams_per_kwh)
            self.planned_intensity.labels(namespace, kind, name, "now").set(plan.now_grams_per_kwh)

    def set_widths(self, widths: dict[tuple[str, str, str], int]) -> None:
        self.planned_replicas.clear()
        for (namespace, kind, name), width in widths.items():
            self.planned_replicas.labels(namespace, kind, name).set(width)

    def set_held(self, counts: dict[tuple[str, str], int]) -> None:
        self.held.clear()
        for (namespace, action), count in counts.items():
            self.held.labels(namespace, action).set(count)
