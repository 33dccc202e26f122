"""Assemble the action service: Kubernetes client, alert book, reconciler, webhook, metrics."""

from __future__ import annotations

import logging
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
from gridshift.actions.kube.client import Kube
from gridshift.actions.policy import protected_namespaces
from gridshift.actions.reconcile import Reconciler
from gridshift.actions.upstreams import Alertmanager, Intensities
from gridshift.actions.webhook import create_webhook
from gridshift.config import Config
from gridshift.web import create_app

log = logging.getLogger(__name__)


class InsecureRefused(Exception):
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


def build_action_service(config: Config, *, api_client: k8s.ApiClient, insecure: bool = False,
                         release_namespace: str = "", clock: Callable[[], float] = time.time,
                         on_kube_call: Callable[[str, str, str], None] | None = None,
                         dry_run: DryRun | None = None) -> ActionService:
    """`dry_run` ("", "client", "server") overrides `actions.dry_run` (which can only say client)."""
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
    kube = Kube(api_client, timeout_seconds=settings.request_timeout_seconds, on_call=on_kube_call)
    book = AlertBook()
    decisions = DecisionLog(keep=settings.decisions_kept, instruments=instruments, clock=clock)
    protected = protected_namespaces(settings.protected_namespaces, release_namespace)
    exporter = Intensities(settings.exporter_url, timeout_seconds=settings.request_timeout_seconds) if settings.exporter_url else None
    reconciler = Reconciler(
        kube=kube, book=book, settings=settings, cluster=config.cluster, decisions=decisions, instruments=instruments,
        executor=Executor(kube, dry_run=mode, clock=clock), protected=protected, clock=clock,
        alertmanager=Alertmanager(settings.alertmanager_url, timeout_seconds=settings.request_timeout_seconds)
        if settings.alertmanager_url else None,
        intensities=exporter, forecasts=exporter,
    )

    def readiness() -> tuple[bool, dict[str, Any]]:
        # Ready once a pass has succeeded: a later pass that fails (the API server flapping) keeps
        # the pod in its Service, so webhooks still reach the book; /readyz shows the last error.
        return reconciler.passes > 0, {
            "reconcile_passes": reconciler.passes, "last_error": reconciler.last_error, "dry_run": bool(mode),
            "dry_run_mode": mode or "none", "insecure": settings.webhook_token is None}

    app = create_app(registry=registry, readiness=readiness, name="gridshift-actions",
                     serve_metrics=not settings.metrics_port)
    app.register_blueprint(create_webhook(
        token=settings.webhook_token, book=book, trigger=reconciler.trigger, decisions=decisions,
        instruments=instruments, max_body_bytes=settings.max_body_bytes,
    ))
    return ActionService(app=app, reconciler=reconciler, book=book, decisions=decisions, registry=registry, kube=kube,
                         served_body_limit=2 * settings.max_body_bytes)
