"""Kubernetes API calls the action service makes, as plain JSON over the official client.

Objects are plain dicts (the API's JSON), so the policy reads the same shape for every kind and
kinds stay data (actions/kinds.py). Writes are JSON patches under the field manager `gridshift`.
Every verb used here is listed in VERBS; the chart's RBAC is checked against it. A server dry
run (`dry_run=True`) is the same request with `dryRun=All`: the same verbs, nothing persisted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import urllib3
from kubernetes import client as k8s

from gridshift import names
from gridshift.actions.kinds import Kind
from gridshift.actions.kube.api import KubeApi
from gridshift.actions.kube.errors import NotFound, classify
from gridshift.actions.kube.writes import WriteGate

# (api group, resource) -> verbs this module calls. tests/actions check the chart's RBAC against it.
# watch: the watch cache (kube/cache.py) lists once and then watches what the passes read.
VERBS: dict[tuple[str, str], frozenset[str]] = {
    ("", "namespaces"): frozenset({"list", "watch"}),
    ("", "nodes"): frozenset({"list", "watch"}),
    ("", "pods"): frozenset({"list"}),
    ("", "events"): frozenset({"create"}),
    ("apps", "deployments"): frozenset({"list", "watch", "get", "patch"}),
    ("apps", "statefulsets"): frozenset({"list", "watch", "get", "patch"}),
    ("batch", "cronjobs"): frozenset({"list", "watch", "get", "patch"}),
    ("batch", "jobs"): frozenset({"list", "watch", "get", "patch"}),
    ("autoscaling", "horizontalpodautoscalers"): frozenset({"list", "watch", "get", "patch"}),
    # KEDA: listed every pass (a 404, no KEDA CRD, is fine); patched to hold what it scales.
    ("keda.sh", "scaledobjects"): frozenset({"list", "watch", "get", "patch"}),
}
# Only with actions.karmada_clusters set (and the chart's karmada.enabled).
KARMADA_VERBS: dict[tuple[str, str], frozenset[str]] = {
    ("policy.karmada.io", "propagationpolicies"): frozenset({"list", "watch", "get", "patch"}),
}


WRITE_VERBS = frozenset({"patch", "create"})
WATCH_READ_SLACK_SECONDS = 10.0  # a watch's read timeout past its own timeoutSeconds


@dataclass(frozen=True)
class Collection:
    items: list[dict[str, Any]]
    resource_version: str


class WatchStream:
    """An open watch: its events (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR) as they arrive;
    `shutdown()` from another thread ends a read that waits for the next one."""

    def __init__(self, resource: str, response: urllib3.BaseHTTPResponse) -> None:
        self.resource, self.response = resource, response

    def events(self) -> Iterator[dict[str, Any]]:
        try:
            for line in self.response:
                if line.strip():
                    yield json.loads(line)
        except (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ProtocolError, OSError):
            return  # quiet for the whole watch, closed by the server or shut down: watch again
        except ValueError as error:
            raise classify(error, f"watch {self.resource}") from error
        finally:
            # A watch ends unread (it never ends by itself): its connection is closed, not handed
            # back to the pool with the rest of the stream in it.
            self.response.close()
            self.response.release_conn()

    def shutdown(self) -> None:
        try:
            self.response.shutdown()
        except (ValueError, RuntimeError, OSError):
            pass  # already ended and its connection released to the pool: nothing to interrupt


class Kube:
    def __init__(self, api: k8s.ApiClient, *, timeout_seconds: float,
                 on_call: Callable[[str, str, str], None] | None = None, writes: WriteGate | None = None,
                 on_write: Callable[[], None] | None = None) -> None:
        self.api = api
        self.timeout_seconds = timeout_seconds
        self.on_call = on_call  # (verb, group, resource): for the RBAC check in tests
        self.writes = writes  # paces writes and, with leader election, lets only the leader send them
        self.on_write = on_write  # counts each write sent

    def list_namespaces(self) -> list[dict[str, Any]]:
        return self._items("list", "", "namespaces", "/api/v1/namespaces")

    def list_nodes(self) -> list[dict[str, Any]]:
        return self._items("list", "", "nodes", "/api/v1/nodes")

    def list_pods(self, namespace: str) -> list[dict[str, Any]]:
        return self._items("list", "", "pods", f"/api/v1/namespaces/{namespace}/pods")

    def list_pending_pods(self, namespaces: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Pods waiting to be scheduled or started (phase Pending), in `namespaces` (all when empty)."""
        query = "?fieldSelector=status.phase%3DPending"
        if not namespaces:
            return self._items("list", "", "pods", f"/api/v1/pods{query}")
        return [pod for namespace in namespaces
                for pod in self._items("list", "", "pods", f"/api/v1/namespaces/{namespace}/pods{query}")]

    def list_objects(self, kind: Kind, namespace: str) -> list[dict[str, Any]]:
        return self._items("list", _group(kind), kind.plural, _path(kind, namespace))

    def list_all(self, kind: Kind) -> list[dict[str, Any]]:
        """Every object of a kind, across namespaces: one request per kind per reconcile."""
        prefix = "/apis" if "/" in kind.group_version else "/api"
        return self._items("list", _group(kind), kind.plural, f"{prefix}/{kind.group_version}/{kind.plural}")

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        return self._call("get", _group(kind), kind.plural, "GET", f"{_path(kind, namespace)}/{name}")

    def patch(self, kind: Kind, namespace: str, name: str, operations: list[dict[str, Any]], *,
              dry_run: bool = False) -> dict[str, Any]:
        return self._call("patch", _group(kind), kind.plural, "PATCH", f"{_path(kind, namespace)}/{name}",
                          query=[("fieldManager", names.FIELD_MANAGER), *_dry_run(dry_run)], body=operations,
                          content_type="application/json-patch+json")

    def create_event(self, *, obj: dict[str, Any], kind: Kind, reason: str, message: str, warning: bool = False,
                     dry_run: bool = False, name: str | None = None) -> None:
        """An Event on `obj`; named `name` when given (a second create of it is a Conflict), else generated."""
        metadata = obj.get("metadata", {})
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {**({"name": name} if name else {"generateName": f"{metadata.get('name', 'gridshift')}."}),
                         "namespace": metadata.get("namespace")},
            "involvedObject": {"apiVersion": kind.group_version, "kind": kind.name, "name": metadata.get("name"),
                               "namespace": metadata.get("namespace"), "uid": metadata.get("uid"),
                               "resourceVersion": metadata.get("resourceVersion")},
            "reason": reason, "message": message[:1024], "type": "Warning" if warning else "Normal",
            "source": {"component": "gridshift"}, "reportingComponent": "gridshift",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        self._call("create", "", "events", "POST", f"/api/v1/namespaces/{metadata.get('namespace')}/events", body=event,
                   query=_dry_run(dry_run))

    def list_collection(self, group: str, resource: str, path: str) -> Collection:
        """A whole collection and its resourceVersion, where a watch of it starts."""
        body = self._call("list", group, resource, "GET", path)
        return Collection(list(body.get("items") or []), str((body.get("metadata") or {}).get("resourceVersion") or ""))

    def watch(self, group: str, resource: str, path: str, *, resource_version: str,
              timeout_seconds: float) -> WatchStream:
        """One watch of a collection from `resource_version`, open; its events until the server
        ends it or `timeout_seconds` pass quietly (WatchStream.events)."""
        query = [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", str(max(1, int(timeout_seconds))))]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if self.on_call is not None:
            self.on_call("watch", group, resource)
        response = self._send("watch", resource, "GET", path, query=query,
                              timeout=(self.timeout_seconds, timeout_seconds + WATCH_READ_SLACK_SECONDS))
        return WatchStream(resource, response.response)

    def _items(self, verb: str, group: str, resource: str, path: str) -> list[dict[str, Any]]:
        return list(self._call(verb, group, resource, "GET", path).get("items") or [])

    def _call(self, verb: str, group: str, resource: str, method: str, path: str, *,
              query: list[tuple[str, str]] | None = None, body: Any = None, content_type: str | None = None) -> dict[str, Any]:
        if self.writes is not None and verb in WRITE_VERBS:
            self.writes.admit(f"{verb} {resource} {path.rsplit('/', 1)[-1]}")
        if self.on_write is not None and verb in WRITE_VERBS:
            self.on_write()
        if self.on_call is not None:
            self.on_call(verb, group, resource)
        response = self._send(verb, resource, method, path, query=query, body=body, content_type=content_type,
                              timeout=self.timeout_seconds)
        try:
            response.read()
            return json.loads(response.data or b"{}")
        except Exception as error:  # every failure leaves here classified (actions/kube/errors.py)
            raise classify(error, f"{verb} {resource} {path.rsplit('/', 1)[-1]}") from error

    def _send(self, verb: str, resource: str, method: str, path: str, *, query: list[tuple[str, str]] | None = None,
              body: Any = None, content_type: str | None = None, timeout: Any) -> Any:
        """Send one request; the response is unread unless it failed (then a KubeError)."""
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            _method, url, headers, serialized, _post = self.api.param_serialize(
                method=method, resource_path=path, query_params=query or [], header_params=headers, body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api.call_api(method, url, header_params=headers, body=serialized, _request_timeout=timeout)
            if not 200 <= response.status < 300:
                response.read()
                raise k8s.ApiException(http_resp=response)
            return response
        except Exception as error:  # every failure leaves here classified (actions/kube/errors.py)
            raise classify(error, f"{verb} {resource} {path.rsplit('/', 1)[-1]}") from error


def list_in(kube: KubeApi, kind: Kind, namespaces: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every object of a kind in `namespaces`, one request each; across all namespaces when empty."""
    if not namespaces:
        return kube.list_all(kind)
    return [obj for namespace in namespaces for obj in kube.list_objects(kind, namespace)]


def list_if_installed(kube: KubeApi, kind: Kind, namespaces: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every object of a kind that comes with a CRD (KEDA, Karmada), in `namespaces` (all when empty);
    none when the CRD is not installed (404)."""
    try:
        return list_in(kube, kind, namespaces)
    except NotFound:
        return []


def _dry_run(dry_run: bool) -> list[tuple[str, str]]:
    return [("dryRun", "All")] if dry_run else []


def _group(kind: Kind) -> str:
    return kind.group_version.split("/")[0] if "/" in kind.group_version else ""


def _path(kind: Kind, namespace: str) -> str:
    prefix = "/apis" if "/" in kind.group_version else "/api"
    return f"{prefix}/{kind.group_version}/namespaces/{namespace}/{kind.plural}"
