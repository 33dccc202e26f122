"""An immutable snapshot swapped atomically: the one meeting point of refreshers and collectors.

Writers build a new mapping and swap the reference under a lock; readers take `current()`
once per scrape and never see a half-updated state.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class SnapshotStore(Generic[K, V]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: Mapping[K, V] = MappingProxyType({})

    def current(self) -> Mapping[K, V]:
        return self._current

    def put(self, key: K, value: V) -> None:
        with self._lock:
            updated = dict(self._current)
            updated[key] = value
            self._current = MappingProxyType(updated)

    def replace(self, values: Mapping[K, V]) -> None:
        """Swap in a whole new mapping (a copy of `values`)."""
        with self._lock:
            self._current = MappingProxyType(dict(values))
