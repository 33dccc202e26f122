"""The kinds of workload gridshift holds, as data: where each keeps the fields an action changes.

Adding a kind is a row here (and its verbs in the chart's RBAC), not an `if kind == ...` chain.
Field paths are JSON pointers into the object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    name: str  # Deployment
    group_version: str  # apps/v1
    plural: str  # deployments
    replicas: str | None  # the size field, if the kind has one
    suspend: str | None  # the suspend flag, if the kind has one
    pod_spec: str  # where the pod template's spec is (for node affinity)

    @property
    def affinity(self) -> str:
        return f"{self.pod_spec}/affinity"


DEPLOYMENT = Kind("Deployment", "apps/v1", "deployments", replicas="/spec/replicas", suspend=None, pod_spec="/spec/template/spec")
STATEFULSET = Kind("StatefulSet", "apps/v1", "statefulsets", replicas="/spec/replicas", suspend=None, pod_spec="/spec/template/spec")
CRONJOB = Kind("CronJob", "batch/v1", "cronjobs", replicas=None, suspend="/spec/suspend", pod_spec="/spec/jobTemplate/spec/template/spec")
JOB = Kind("Job", "batch/v1", "jobs", replicas="/spec/parallelism", suspend="/spec/suspend", pod_spec="/spec/template/spec")
HPA = Kind("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers", replicas=None, suspend=None, pod_spec="")
# Karmada decides where a workload runs across member clusters; gridshift only retargets its policy.
PROPAGATION_POLICY = Kind("PropagationPolicy", "policy.karmada.io/v1alpha1", "propagationpolicies", replicas=None,
                          suspend=None, pod_spec="")
# KEDA sizes the workloads it scales; gridshift holds them through the ScaledObject's paused-replicas.
SCALED_OBJECT = Kind("ScaledObject", "keda.sh/v1alpha1", "scaledobjects", replicas=None, suspend=None, pod_spec="")

WORKLOAD_KINDS: tuple[Kind, ...] = (DEPLOYMENT, STATEFULSET, CRONJOB, JOB)
# Objects that can carry a hold's state instead of the workload (the object the hold patched).
HOLDER_KINDS: tuple[Kind, ...] = (HPA, SCALED_OBJECT, PROPAGATION_POLICY)
BY_NAME = {kind.name: kind for kind in (*WORKLOAD_KINDS, *HOLDER_KINDS)}

HPA_MIN = "/spec/minReplicas"
HPA_MAX = "/spec/maxReplicas"
CLUSTER_AFFINITY = "/spec/placement/clusterAffinity"
KEDA_PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"


def get_path(obj: Any, pointer: str) -> Any:
    """The value at a JSON pointer, None where any part is missing."""
    value = obj
    for part in pointer.strip("/").split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part.replace("~1", "/").replace("~0", "~"))
    return value


def escape(key: str) -> str:
    """A key as one JSON-pointer segment (`gridshift.io/state` -> `gridshift.io~1state`)."""
    return key.replace("~", "~0").replace("/", "~1")


def annotation_pointer(key: str) -> str:
    return f"/metadata/annotations/{escape(key)}"
