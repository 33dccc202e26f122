"""An in-memory stand-in for gridshift.actions.kube.client.Kube, so the simulator can run the
action service's own Reconciler and Executor for a year of simulated time in seconds.

It keeps the API's contract where gridshift depends on it: JSON patches (RFC 6902, the
`jsonpatch` library) applied atomically, a failed `test` is a Conflict and changes nothing,
every write bumps resourceVersion. The end-to-end tests run the same code against kmock's
emulated API over HTTP; this is only for the benchmark's scale.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import jsonpatch

from gridshift.actions.kinds import Kind
from gridshift.actions.kube.errors import Conflict, NotFound


class MemoryKube:
    def __init__(self) -> None:
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)  # kind -> (ns, name) -> obj
        self.patches: Counter[tuple[str, str, str]] = Counter()  # (kind, namespace, name) -> patches applied
        self.events: Counter[str] = Counter()  # reason -> count
        self._version = 0

    # --- what the simulator does ------------------------------------------------------------------

    def add_namespace(self, name: str, annotations: dict[str, str]) -> None:
        self.namespaces[name] = {"metadata": {"name": name, "annotations": dict(annotations)}}

    def add(self, kind: Kind, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        meta["resourceVersion"] = self._next_version()
        self.objects[kind.name][(meta["namespace"], meta["name"])] = obj

    def remove(self, kind: Kind, namespace: str, name: str) -> None:
        self.objects[kind.name].pop((namespace, name), None)

    def update(self, kind: Kind, namespace: str, name: str, obj: dict[str, Any]) -> None:
        """A write by someone other than gridshift (the Job controller setting status)."""
        obj["metadata"]["resourceVersion"] = self._next_version()
        self.objects[kind.name][(namespace, name)] = obj

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    # --- the Kube interface the Reconciler and Executor call --------------------------------------

    def list_namespaces(self) -> list[dict[str, Any]]:
        return list(self.namespaces.values())

    def list_nodes(self) -> list[dict[str, Any]]:
        return []

    def list_pods(self, namespace: str) -> list[dict[str, Any]]:
        return []

    def list_pending_pods(self, namespaces: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return []  # no scheduler here: the pods of what resumes never wait

    def list_objects(self, kind: Kind, namespace: str) -> list[dict[str, Any]]:
        return [obj for (ns, _), obj in self.objects[kind.name].items() if ns == namespace]

    def list_all(self, kind: Kind) -> list[dict[str, Any]]:
        return list(self.objects[kind.name].values())

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        try:
            return self.objects[kind.name][(namespace, name)]
        except KeyError:
            raise NotFound(f"{kind.name} {namespace}/{name} not found", 404) from None

    def patch(self, kind: Kind, namespace: str, name: str, operations: list[dict[str, Any]], *,
              dry_run: bool = False) -> dict[str, Any]:
        current = self.get(kind, namespace, name)
        try:
            updated = jsonpatch.apply_patch(current, operations)
        except jsonpatch.JsonPatchTestFailed as error:
            raise Conflict(f"{kind.name} {namespace}/{name}: {error}", 422) from None
        if dry_run:  # as Kubernetes' dryRun=All: checked and answered, not kept
            return updated
        self.update(kind, namespace, name, updated)
        self.patches[(kind.name, namespace, name)] += 1
        return updated

    def create_event(self, *, obj: dict[str, Any], kind: Kind, reason: str, message: str, warning: bool = False,
                     dry_run: bool = False, name: str | None = None) -> None:
        if not dry_run:
            self.events[reason] += 1
