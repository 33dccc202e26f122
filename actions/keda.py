"""KEDA ScaledObjects: which workload each scales, and the annotation gridshift holds it with. Pure.

KEDA owns the size of the workload a ScaledObject targets, and the HPA it makes for it: a change
of either is scaled back at KEDA's next poll (kedacore/keda#2160). Its own lever is the
ScaledObject annotation `autoscaling.keda.sh/paused-replicas: "<n>"`: KEDA scales the target to
n and stops autoscaling it until the annotation is removed (keda.sh docs, "Pausing autoscaling";
kube-downscaler's `resources/keda.py` uses it the same way). gridshift sets it in the hold's one
guarded patch with the state on the ScaledObject; a value the user had set is the state's
`original` and is put back on restore, an absent one is removed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridshift.actions.kinds import KEDA_PAUSED_REPLICAS, annotation_pointer

PAUSED_POINTER = annotation_pointer(KEDA_PAUSED_REPLICAS)
DEFAULT_TARGET_KIND = "Deployment"  # KEDA's default for scaleTargetRef.kind


def scale_target(scaled_object: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, name) of the workload a ScaledObject scales; None when it names none."""
    ref = (scaled_object.get("spec") or {}).get("scaleTargetRef")
    if not isinstance(ref, Mapping):
        return None
    name, kind = ref.get("name"), ref.get("kind") or DEFAULT_TARGET_KIND
    if not isinstance(name, str) or not name or not isinstance(kind, str):
        return None
    return kind, name


def paused_replicas(scaled_object: Mapping[str, Any]) -> str | None:
    """The paused-replicas value already on the ScaledObject (the user's, or gridshift's while held)."""
    annotations = (scaled_object.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(KEDA_PAUSED_REPLICAS)
    return value if isinstance(value, str) else None


def untargeted_reason(scaled_object: Mapping[str, Any]) -> str:
    name = (scaled_object.get("metadata") or {}).get("name", "")
    return (f"left alone: ScaledObject {name} has no spec.scaleTargetRef.name, so it scales no workload "
            "gridshift could hold through it")
