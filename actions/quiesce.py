"""Stop the action service before `gridshift actions restore` runs as Helm's pre-delete hook.

While the hook restores, the service would go on reconciling: under a firing alert it would hold
again what was just restored, and then be deleted with those holds in place. So the hook first
scales the service's Deployment to 0 (a guarded patch of its replicas), waits until none of its
pods is left, restores, and scales the service back if the restore failed (the uninstall then
stops, and the service keeps its holds and its way back).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gridshift.actions import kinds
from gridshift.actions.kube.client import Kube
from gridshift.actions.kube.errors import Conflict, KubeError

CONFLICT_RETRIES = 3


class QuiesceError(Exception):
    """The service could not be stopped: restoring beside it would race it, so nothing is restored."""


@dataclass(frozen=True)
class StoppedService:
    namespace: str
    name: str
    replicas: int  # what it ran with before


def stop_service(kube: Kube, namespace: str, name: str, *, wait_seconds: float = 120.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> StoppedService:
    """Scale Deployment namespace/name to 0 and wait until it runs no pod; on failure it runs as before."""
    try:
        deployment = kube.get(kinds.DEPLOYMENT, namespace, name)
    except KubeError as error:
        raise QuiesceError(f"cannot read the action service's deployment {namespace}/{name}: {error}") from error
    stopped = StoppedService(namespace, name, int(deployment.get("spec", {}).get("replicas", 1)))
    try:
        _scale(kube, stopped, 0)
        deadline = clock() + wait_seconds
        while (running := _running(kube.get(kinds.DEPLOYMENT, namespace, name))) > 0:
            if clock() > deadline:
                raise QuiesceError(f"{running} pod(s) still running after {wait_seconds:.0f} s")
            sleep(1.0)
    except (KubeError, QuiesceError) as error:
        try:
            start_service(kube, stopped)
        except KubeError:
            pass  # the error below says what failed first; the hook's failure keeps the uninstall from going on
        raise QuiesceError(f"cannot stop the action service {namespace}/{name}: {error}; nothing restored") from error
    return stopped


def start_service(kube: Kube, stopped: StoppedService) -> None:
    """Put the service back as it ran (after a failed restore, so its holds are not orphaned)."""
    _scale(kube, stopped, stopped.replicas)


def _scale(kube: Kube, service: StoppedService, replicas: int) -> None:
    for attempt in range(CONFLICT_RETRIES):
        deployment = kube.get(kinds.DEPLOYMENT, service.namespace, service.name)
        if deployment.get("spec", {}).get("replicas") == replicas:
            return
        try:
            kube.patch(kinds.DEPLOYMENT, service.namespace, service.name, _replicas_patch(deployment, replicas))
            return
        except Conflict:
            if attempt + 1 == CONFLICT_RETRIES:
                raise


def _running(deployment: dict[str, Any]) -> int:
    return int(deployment.get("status", {}).get("replicas") or 0)


def _replicas_patch(deployment: dict[str, Any], replicas: int) -> list[dict[str, Any]]:
    return [{"op": "test", "path": "/metadata/resourceVersion", "value": deployment["metadata"]["resourceVersion"]},
            {"op": "replace" if "replicas" in deployment.get("spec", {}) else "add", "path": "/spec/replicas",
             "value": replicas}]
