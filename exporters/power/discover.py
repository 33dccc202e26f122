"""Kubernetes reads of the power exporter: Kepler's endpoints, node labels, pods of a node.

The only module of the power exporter that imports the `kubernetes` client. Every failure
becomes a DiscoveryError with a reason chosen from its class or HTTP status, never its text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from gridshift.exporters.power.records import Target

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
# A static pod's cgroup carries its config hash as UID; its mirror pod names the hash here.
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"

T = TypeVar("T")


class DiscoveryError(Exception):
    def __init__(self, resource: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.resource, self.reason = resource, reason


def load_api_client() -> Any:
    """An ApiClient from the pod's service account, else from $KUBECONFIG or ~/.kube/config.

    DiscoveryError (reason `not_configured`) when there is neither.
    """
    try:
        config.load_incluster_config()
    except config.ConfigException:
        try:
            config.load_kube_config()
        except (config.ConfigException, OSError) as error:
            raise DiscoveryError("config", "not_configured", "no in-cluster service account and no usable "
                                 f"kubeconfig ({type(error).__name__})") from None
    return client.ApiClient()


class KubeInventory:
    def __init__(self, api_client: Any, *, timeout_seconds: float) -> None:
        self._core = client.CoreV1Api(api_client)
        self._discovery = client.DiscoveryV1Api(api_client)
        self.timeout_seconds = timeout_seconds

    def kepler_targets(self, *, namespace: str, service: str, port_name: str, scheme: str, path: str) -> list[Target]:
        slices = _call("endpointslices", lambda: self._discovery.list_namespaced_endpoint_slice(
            namespace, label_selector=f"{SERVICE_NAME_LABEL}={service}", _request_timeout=self.timeout_seconds))
        return targets_from_slices(slices.items or [], port_name=port_name, scheme=scheme, path=path)

    def node_labels(self) -> dict[str, dict[str, str]]:
        nodes = _call("nodes", lambda: self._core.list_node(_request_timeout=self.timeout_seconds))
        return {n.metadata.name: dict(n.metadata.labels or {}) for n in nodes.items or []}

    def pod_namespaces(self, node: str) -> dict[str, str]:
        """Pod UID (and static pods' config hash) -> namespace, for the pods on `node`."""
        pods = _call("pods", lambda: self._core.list_pod_for_all_namespaces(
            field_selector=f"spec.nodeName={node}", _request_timeout=self.timeout_seconds))
        found: dict[str, str] = {}
        for pod in pods.items or []:
            meta = pod.metadata
            found[meta.uid] = meta.namespace
            mirror = (meta.annotations or {}).get(MIRROR_ANNOTATION)
            if mirror:
                found[mirror] = meta.namespace
        return found


def targets_from_slices(slices: Sequence[Any], *, port_name: str, scheme: str, path: str) -> list[Target]:
    """One target per node: its best endpoint (ready before not ready, serving before terminating).

    Endpoints that are not ready are kept: a Kepler that does not answer is reported, not dropped.
    """
    best: dict[str, tuple[tuple[bool, bool], Target]] = {}
    ports_seen: set[str] = set()
    for endpoint_slice in slices:
        ports = {p.name or "": p.port for p in endpoint_slice.ports or [] if p.port}
        ports_seen.update(ports)
        if port_name not in ports:
            continue
        for endpoint in endpoint_slice.endpoints or []:
            if not endpoint.addresses:
                continue
            address = endpoint.addresses[0]
            host = f"[{address}]" if ":" in address else address
            ref = endpoint.target_ref
            node = endpoint.node_name or (ref.name if ref is not None and ref.name else address)
            conditions = endpoint.conditions
            rank = (bool(conditions and conditions.terminating), conditions is not None and conditions.ready is False)
            target = Target(node=node, url=f"{scheme}://{host}:{ports[port_name]}{path}")
            if node not in best or rank < best[node][0]:
                best[node] = (rank, target)
    if slices and not best and ports_seen and port_name not in ports_seen:
        raise DiscoveryError("endpointslices", "no_port",
                             f"no port named {port_name!r} on the Service (ports: {', '.join(sorted(ports_seen))})")
    return [target for _, target in sorted(best.values(), key=lambda item: item[1].node)]


def _call(resource: str, request: Callable[[], T]) -> T:
    try:
        return request()
    except ApiException as error:
        reason = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(error.status or 0, "")
        reason = reason or ("server_error" if (error.status or 0) >= 500 else "client_error")
        raise DiscoveryError(resource, reason, f"listing {resource}: HTTP {error.status} {error.reason}") from None
    except (urllib3.exceptions.TimeoutError, TimeoutError):
        raise DiscoveryError(resource, "timeout", f"listing {resource}: timed out") from None
    except urllib3.exceptions.MaxRetryError as error:
        reason = "timeout" if isinstance(error.reason, urllib3.exceptions.TimeoutError) else "connection"
        raise DiscoveryError(resource, reason, f"listing {resource}: {type(error.reason).__name__}") from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise DiscoveryError(resource, "connection", f"listing {resource}: {type(error).__name__}") from None
    except ValueError as error:  # the client's model validation
        raise DiscoveryError(resource, "malformed", f"listing {resource}: {str(error)[:200]}") from None
