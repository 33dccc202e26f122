"""Reading the cluster for one pass: nodes and their zones, namespaces, and every workload kind
across namespaces (or the target namespaces), turned into the NamespaceViews the policy decides on."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridshift import names
from gridshift.actions import jobs, keda, kinds
from gridshift.actions.kube.api import KubeApi
from gridshift.actions.kube.client import list_if_installed, list_in
from gridshift.actions.kube.errors import KubeError
from gridshift.actions.policy import NamespaceView, Workload
from gridshift.config import ClusterSettings
from gridshift.nodezones import node_zone

log = logging.getLogger("gridshift.actions.reconcile")


@dataclass(frozen=True)
class ClusterRead:
    node_zones: Mapping[str, str]  # node -> zone
    node_labels: Mapping[str, Mapping[str, str]]
    namespaces: Sequence[Mapping[str, Any]]
    objects: Mapping[str, Mapping[str, list[dict[str, Any]]]]  # namespace -> kind name -> objects


def read_cluster(kube: KubeApi, cluster: ClusterSettings, *, target_namespaces: Collection[str],
                 karmada: bool) -> ClusterRead:
    """One list per kind across namespaces (or per target namespace). Raises KubeError."""
    nodes = kube.list_nodes()
    labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in nodes}
    zones = {name: node_zone(node_labels, region_to_zone=cluster.region_to_zone,
                             default_zone=cluster.default_zone) for name, node_labels in labels.items()}
    objects: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    extra = (kinds.PROPAGATION_POLICY,) if karmada else ()
    targets = tuple(target_namespaces)
    for kind in (*kinds.WORKLOAD_KINDS, kinds.HPA, *extra):
        for obj in list_in(kube, kind, targets):
            objects[obj["metadata"]["namespace"]][kind.name].append(obj)
    # Every namespace's (or target's), opted in or not, so an opted-out one's holds are restored.
    for obj in list_if_installed(kube, kinds.SCALED_OBJECT, targets):
        objects[obj["metadata"]["namespace"]][kinds.SCALED_OBJECT.name].append(obj)
    namespaces = [n for n in kube.list_namespaces() if not targets or n["metadata"]["name"] in targets]
    return ClusterRead(node_zones=zones, node_labels=labels, namespaces=namespaces, objects=objects)


def namespace_view(namespace: Mapping[str, Any], cluster: ClusterRead, *, kube: KubeApi, protected: Collection[str],
                   default_zone: str) -> NamespaceView | None:
    """A namespace worth deciding on: opted in, or holding something gridshift changed."""
    name = namespace["metadata"]["name"]
    if name in protected:
        return None  # never touched, not even to undo a state someone copied into it
    annotations = namespace["metadata"].get("annotations") or {}
    objects = cluster.objects.get(name, {})
    holds = any(names.ANNOTATION_STATE in (o["metadata"].get("annotations") or {})
                for items in objects.values() for o in items)
    opt_in = (names.ANNOTATION_ACTION, names.ANNOTATION_ON_GREEN, names.ANNOTATION_START)
    opted = any(key in annotations for key in opt_in) or any(
        key in (o["metadata"].get("annotations") or {}) for items in objects.values() for o in items for key in opt_in)
    if not (opted or holds):
        return None
    zone = annotations.get(names.ANNOTATION_ZONE) or namespace_zone(kube, name, cluster, default_zone)
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
                         untargeted=untargeted, run_seconds=jobs.learned_run_seconds(objects.get(kinds.JOB.name, [])))


def namespace_zone(kube: KubeApi, namespace: str, cluster: ClusterRead, default_zone: str) -> str:
    """The zone most of the namespace's pods run in; the default zone when none runs."""
    try:
        pods = kube.list_pods(namespace)
    except KubeError as error:
        log.warning("reconcile: cannot list pods of %s: %s", namespace, error)
        pods = []
    counted = Counter(cluster.node_zones[p["spec"]["nodeName"]] for p in pods
                      if p.get("spec", {}).get("nodeName") in cluster.node_zones)
    if counted:
        return sorted(counted.items(), key=lambda item: (-item[1], item[0]))[0][0]
    return default_zone


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
