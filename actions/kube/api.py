"""What the action service asks of the Kubernetes API, as a Protocol: kube/client.py's Kube is the
real one; the savings simulator's in-memory API (benchmarks/savings/memkube.py) is another."""

from __future__ import annotations

from typing import Any, Protocol

from gridshift.actions.kinds import Kind


class KubeApi(Protocol):
    def list_namespaces(self) -> list[dict[str, Any]]: ...

    def list_nodes(self) -> list[dict[str, Any]]: ...

    def list_pods(self, namespace: str) -> list[dict[str, Any]]: ...

    def list_pending_pods(self, namespaces: tuple[str, ...] = ()) -> list[dict[str, Any]]: ...

    def list_objects(self, kind: Kind, namespace: str) -> list[dict[str, Any]]: ...

    def list_all(self, kind: Kind) -> list[dict[str, Any]]: ...

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]: ...

    def patch(self, kind: Kind, namespace: str, name: str, operations: list[dict[str, Any]], *,
              dry_run: bool = False) -> dict[str, Any]: ...

    def create_event(self, *, obj: dict[str, Any], kind: Kind, reason: str, message: str, warning: bool = False,
                     dry_run: bool = False, name: str | None = None) -> None: ...
