"""Assemble the action service: Kubernetes client, alert book, reconciler, webhook, metrics."""

from __future__ import annotations

import copy
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from kubernetes import client as k8s
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from gridshift.actions.alerts import AlertBook
from gridshift.actions.decisions import DecisionLog
from gridshift.actions.executor import DryRun, Executor, dry_run_mode
from gridshift.actions.instruments import ActionInstruments
from gridshift.actions import kinds
from gridshift.actions.kube.api import KubeApi
from gridshift.actions.kube.cache import CachedKube, WatchCache
from gridshift.actions.kube.client import Kube
from gridshift.actions.kube.lease import LeaseElector
from gridshift.actions.kube.writes import WriteGate
from gridshift.actions.policy import protected_namespaces
from gridshift.actions.reconcile import Reconciler
from gridshift.actions.upstreams import Alertmanager, Intensities
from gridshift.actions.webhook import create_webhook
from gridshift.config import ActionsSettings, Config
from gridshift.web import create_app

log = logging.getLogger(__name__)


class CannotStart(Exception):
    """The service refuses to start as configured (the message says why)."""


class InsecureRefused(CannotStart):
    """No webhook token and no --insecure."""


@dataclass
class ActionService:
    app: Flask
    reconciler: Reconciler
    book: AlertBook
    decisions: DecisionLog
    registry: CollectorRegistry
    kube: Kube
    # The HTTP server's body cap, twice the webhook's own: a body a little over the webhook's
    # limit is refused (and counted) by the webhook, a far larger one by the server before it is read.
    served_body_limit: int
    elector: LeaseElector | None = None  # with actions.leader_election.enabled
    cache: WatchCache | None = None  # with actions.watch_cache (cluster-wide)

    @property
    def loop(self) -> ServiceLoop:
        """What runs beside the HTTP server: the watch cache and the leader election, if on, and the reconciler."""
        return ServiceLoop(self.reconciler, self.elector, self.cache)


@dataclass(frozen=True)
class ServiceLoop:
    reconciler: Reconciler
    elector: LeaseElector | None
    cache: WatchCache | None = None

    def start(self) -> None:
        if self.cache is not None:
            self.cache.start()
        if self.elector is not None:
            self.elector.start()
        self.reconciler.start()

    def stop(self) -> None:
        """The pass in flight finishes first; then the Lease is given up, so the other replica
        takes over at once instead of after a lease duration."""
        self.reconciler.stop()
        if self.elector is not None:
            self.elector.stop()
        if self.cache is not None:
            self.cache.stop()


def build_action_service(config: Config, *, api_client: k8s.ApiClient, insecure: bool = False,
                         release_namespace: str = "", clock: Callable[[], float] = time.time,
                         on_kube_call: Callable[[str, str, str], None] | None = None,
                         dry_run: DryRun | None = None, identity: str = "") -> ActionService:
    """`dry_run` ("", "client", "server") overrides `actions.dry_run` (which can only say client);
    `identity`: this replica's name in the leader Lease (the pod's name; default the host name)."""
    settings = config.actions
    mode = dry_run_mode(settings.dry_run) if dry_run is None else dry_run
    if settings.webhook_token is None and not insecure:
        raise InsecureRefused(
            "GRIDSHIFT_WEBHOOK_TOKEN (or GRIDSHIFT_WEBHOOK_TOKEN_FILE) is not set: refusing to accept "
            "unauthenticated webhooks. Set a token, or pass --insecure (never in production)."
        )
    if settings.webhook_token is None:
        log.warning("--insecure: webhooks are accepted WITHOUT a token; anyone who reaches the port can hold and "
                    "restore workloads (never in production)")
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    instruments = ActionInstruments(registry)
    elector = _elector(config, api_client, release_namespace, identity)
    writes = WriteGate(settings.max_writes_per_second, is_leader=elector.is_leader if elector else None,
                       on_wait=instruments.kube_write_wait.inc)
    kube = Kube(api_client, timeout_seconds=settings.request_timeout_seconds, on_call=on_kube_call, writes=writes,
                on_write=instruments.kube_writes.inc)
    cache = _watch_cache(settings, api_client, on_kube_call)
    reads: KubeApi = kube if cache is None else CachedKube(kube, cache)
    book = AlertBook()
    decisions = DecisionLog(keep=settings.decisions_kept, instruments=instruments, clock=clock)
    protected = protected_namespaces(settings.protected_namespaces, release_namespace)
    exporter = Intensities(settings.exporter_url, timeout_seconds=settings.request_timeout_seconds) if settings.exporter_url else None
    reconciler = Reconciler(
        kube=reads, book=book, settings=settings, cluster=config.cluster, decisions=decisions, instruments=instruments,
        executor=Executor(reads, dry_run=mode, clock=clock), protected=protected, clock=clock,
        alertmanager=Alertmanager(settings.alertmanager_url, timeout_seconds=settings.request_timeout_seconds)
        if settings.alertmanager_url else None,
        intensities=exporter, forecasts=exporter, leadership=elector.is_leader if elector else None,
    )
    if elector is not None:
        elector.on_change = lambda leading: reconciler.trigger() if leading else None

    def readiness() -> tuple[bool, dict[str, Any]]:
        # Ready once a pass has succeeded: a later pass that fails (the API server flapping) keeps
        # the pod in its Service, so webhooks still reach the book; /readyz shows the last error.
        # A follower is ready once it knows who leads: it serves webhooks into its own book.
        leading = elector is None or elector.is_leader()
        ready = reconciler.passes > 0 if leading else bool(elector and elector.holder)
        return ready, {
            "reconcile_passes": reconciler.passes, "last_error": reconciler.last_error, "dry_run": bool(mode),
            "dry_run_mode": mode or "none", "insecure": settings.webhook_token is None,
            "role": "leader" if leading else "follower", "leader": elector.holder if elector else None}

    app = create_app(registry=registry, readiness=readiness, name="gridshift-actions",
                     serve_metrics=not settings.metrics_port)
    app.register_blueprint(create_webhook(
        token=settings.webhook_token, book=book, trigger=reconciler.trigger, decisions=decisions,
        instruments=instruments, max_body_bytes=settings.max_body_bytes,
    ))
    return ActionService(app=app, reconciler=reconciler, book=book, decisions=decisions, registry=registry, kube=kube,
                         served_body_limit=2 * settings.max_body_bytes, elector=elector, cache=cache)


def _watch_cache(settings: ActionsSettings, api_client: k8s.ApiClient,
                 on_kube_call: Callable[[str, str, str], None] | None) -> WatchCache | None:
    if not settings.watch_cache or settings.target_namespaces:
        return None
    cached = (*kinds.WORKLOAD_KINDS, kinds.HPA, kinds.SCALED_OBJECT)
    if settings.karmada_clusters:
        cached += (kinds.PROPAGATION_POLICY,)
    # The watches hold their connections open: a pool of their own, so the passes' requests keep theirs.
    configuration = copy.copy(api_client.configuration)
    configuration.connection_pool_maxsize = len(cached) + WatchCache.CORE_RESOURCES + 1
    watches = Kube(k8s.ApiClient(configuration), timeout_seconds=settings.request_timeout_seconds, on_call=on_kube_call)
    return WatchCache(watches, cached, resync_seconds=settings.cache_resync_seconds)


def _elector(config: Config, api_client: k8s.ApiClient, release_namespace: str, identity: str) -> LeaseElector | None:
    election = config.actions.leader_election
    if not election.enabled:
        return None
    namespace = election.lease_namespace or release_namespace
    if not namespace:
        raise CannotStart("actions.leader_election is enabled but neither lease_namespace nor $POD_NAMESPACE "
                          "names the namespace of its Lease")
    return LeaseElector(api_client, election, namespace=namespace, identity=identity or socket.gethostname(),
                        timeout_seconds=min(config.actions.request_timeout_seconds, election.renew_deadline_seconds / 2))
