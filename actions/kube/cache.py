"""The API server's view of us (issue 19 item 4): list once, then watch, instead of listing every
namespace and workload each pass.

One informer per resource the passes read (namespaces, nodes, the workload kinds, HPAs, KEDA
ScaledObjects, Karmada PropagationPolicies), the way client-go's and kopf's do it: a list gives
the objects and the collection's resourceVersion, a watch from that version (with bookmarks, so
a quiet resource's version stays fresh) streams what changes; a watch the server ends is resumed
from the last version seen; 410 Gone (the version is too old) and every `resync_seconds` bring a
fresh list, so a missed event is mended within that. A pass reads the informers' memory; before
an informer's first list it reads the API server as before. Every write still carries the
resourceVersion the decision was made on (a JSON patch `test`), so a stale cache can cost a 409 and
a re-read, never a wrong write; the service's own writes go into the cache as the API answers them.

Cluster-wide only: with actions.target_namespaces the passes make a few namespaced lists, and
watches per target namespace and kind would cost more than they save. Pods are not cached (a
cluster's pods are its largest collection): the zone of a namespace without `gridshift.io/zone`
and the pending pods before a wave of restores are asked for when needed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gridshift.actions.kinds import Kind
from gridshift.actions.kube.client import Kube, WatchStream
from gridshift.actions.kube.errors import KubeError, NotFound

log = logging.getLogger(__name__)

GONE = 410
RETRY_SECONDS = 5.0  # after a failed list or watch


@dataclass(frozen=True)
class Resource:
    group: str
    plural: str
    path: str  # the cluster-wide collection, e.g. /apis/apps/v1/deployments

    @classmethod
    def of(cls, kind: Kind) -> Resource:
        prefix = "/apis" if "/" in kind.group_version else "/api"
        group = kind.group_version.split("/")[0] if "/" in kind.group_version else ""
        return cls(group, kind.plural, f"{prefix}/{kind.group_version}/{kind.plural}")


NAMESPACES = Resource("", "namespaces", "/api/v1/namespaces")
NODES = Resource("", "nodes", "/api/v1/nodes")


def _trimmed(obj: dict[str, Any]) -> dict[str, Any]:
    """Without metadata.managedFields, which no decision reads and which is often most of an
    object's size (client-go's informers drop it with a transform for the same reason)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


class Informer:
    """One resource kept in memory: list, then watch; relist on 410 Gone and every resync."""

    def __init__(self, kube: Kube, resource: Resource, *, resync_seconds: float, watch_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kube, self.resource = kube, resource
        self.resync_seconds, self.watch_seconds, self.clock = resync_seconds, watch_seconds, clock
        self._items: dict[tuple[str, str], dict[str, Any]] = {}
        self._version = ""
        self._lock = threading.Lock()
        self.synced = threading.Event()
        self.installed = True  # False: the resource's CRD is not installed (the list was a 404)
        self.lists = 0  # how many times it listed (a test's and a benchmark's measure)
        self._stream: WatchStream | None = None

    # --- what a pass reads ------------------------------------------------------------------

    def items(self, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [obj for (ns, _), obj in self._items.items() if namespace is None or ns == namespace]

    def written(self, obj: Mapping[str, Any]) -> None:
        """The service's own write, as the API answered it: in the cache before its watch event."""
        if obj.get("metadata", {}).get("name"):
            with self._lock:
                self._items[_key(obj)] = _trimmed(dict(obj))

    # --- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._list()
                self._watch_until_resync(stop)
            except NotFound:
                if self.installed:
                    log.info("watch cache: %s is not installed; listed again in %.0f s", self.resource.plural,
                             self.resync_seconds)
                self.installed = False
                self.synced.set()  # known: none
                stop.wait(self.resync_seconds)
            except KubeError as error:
                log.warning("watch cache: %s: %s; again in %.0f s", self.resource.plural, error, RETRY_SECONDS)
                stop.wait(RETRY_SECONDS)

    def _list(self) -> None:
        collection = self.kube.list_collection(self.resource.group, self.resource.plural, self.resource.path)
        with self._lock:
            self._items = {_key(obj): _trimmed(obj) for obj in collection.items}
            self._version = collection.resource_version
        self.installed = True
        self.lists += 1
        self.synced.set()

    def _watch_until_resync(self, stop: threading.Event) -> None:
        resync_at = self.clock() + self.resync_seconds
        while not stop.is_set():
            left = resync_at - self.clock()
            if left <= 0:
                return
            try:
                self._stream = self.kube.watch(self.resource.group, self.resource.plural, self.resource.path,
                                               resource_version=self._version,
                                               timeout_seconds=min(left, self.watch_seconds))
            except KubeError as error:
                if error.status == GONE:
                    log.info("watch cache: %s: resourceVersion too old; listing again", self.resource.plural)
                    return
                raise
            if stop.is_set():
                self._stream.shutdown()
            for event in self._stream.events():
                if stop.is_set() or not self._apply(event):
                    return  # stopping, or 410 Gone: list again

    def shutdown(self) -> None:
        """End the watch in progress (from another thread, when stopping)."""
        stream = self._stream
        if stream is not None:
            stream.shutdown()

    def _apply(self, event: Mapping[str, Any]) -> bool:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == GONE:
                log.info("watch cache: %s: resourceVersion too old; listing again", self.resource.plural)
                return False
            raise KubeError(f"watch {self.resource.plural}: {obj.get('message') or obj}", obj.get("code"))
        version = (obj.get("metadata") or {}).get("resourceVersion")
        with self._lock:
            if kind in ("ADDED", "MODIFIED"):
                self._items[_key(obj)] = _trimmed(obj)
            elif kind == "DELETED":
                self._items.pop(_key(obj), None)
            if version:
                self._version = version  # BOOKMARK carries only this
        return True


class WatchCache:
    CORE_RESOURCES = 2  # namespaces and nodes, besides the kinds

    def __init__(self, kube: Kube, kinds: Iterable[Kind], *, resync_seconds: float = 600.0,
                 watch_seconds: float = 300.0) -> None:
        self.informers = {resource: Informer(kube, resource, resync_seconds=resync_seconds, watch_seconds=watch_seconds)
                          for resource in (NAMESPACES, NODES, *(Resource.of(kind) for kind in kinds))}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> WatchCache:
        for resource, informer in self.informers.items():
            thread = threading.Thread(target=informer.run, args=(self._stop,), name=f"watch-{resource.plural}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for informer in self.informers.values():
            informer.shutdown()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(informer.synced.wait(max(0.0, deadline - time.monotonic())) for informer in self.informers.values())

    def informer(self, resource: Resource) -> Informer | None:
        informer = self.informers.get(resource)
        return informer if informer is not None and informer.synced.is_set() else None


class CachedKube:
    """The KubeApi a pass uses: lists from the watch cache once it has synced, everything else
    (gets, writes, pods) from the API server; its own writes go into the cache."""

    def __init__(self, kube: Kube, cache: WatchCache) -> None:
        self.kube, self.cache = kube, cache

    def list_namespaces(self) -> list[dict[str, Any]]:
        return self._items(NAMESPACES, self.kube.list_namespaces)

    def list_nodes(self) -> list[dict[str, Any]]:
        return self._items(NODES, self.kube.list_nodes)

    def list_all(self, kind: Kind) -> list[dict[str, Any]]:
        return self._items(Resource.of(kind), lambda: self.kube.list_all(kind))

    def list_objects(self, kind: Kind, namespace: str) -> list[dict[str, Any]]:
        informer = self.cache.informer(Resource.of(kind))
        if informer is None:
            return self.kube.list_objects(kind, namespace)
        if not informer.installed:
            raise NotFound(f"list {kind.plural}: not installed")
        return informer.items(namespace)

    def list_pods(self, namespace: str) -> list[dict[str, Any]]:
        return self.kube.list_pods(namespace)

    def list_pending_pods(self, namespaces: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return self.kube.list_pending_pods(namespaces)

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        return self.kube.get(kind, namespace, name)

    def patch(self, kind: Kind, namespace: str, name: str, operations: list[dict[str, Any]], *,
              dry_run: bool = False) -> dict[str, Any]:
        written = self.kube.patch(kind, namespace, name, operations, dry_run=dry_run)
        informer = self.cache.informer(Resource.of(kind))
        if informer is not None and not dry_run:
            informer.written(written)
        return written

    def create_event(self, *, obj: dict[str, Any], kind: Kind, reason: str, message: str, warning: bool = False,
                     dry_run: bool = False, name: str | None = None) -> None:
        self.kube.create_event(obj=obj, kind=kind, reason=reason, message=message, warning=warning, dry_run=dry_run,
                               name=name)

    def _items(self, resource: Resource, fallback: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        informer = self.cache.informer(resource)
        if informer is None:
            return fallback()
        if not informer.installed:
            raise NotFound(f"list {resource.plural}: not installed")
        return informer.items()
