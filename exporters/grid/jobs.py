"""A refresh job: one (zone, source, dataset), fetched on its own schedule by the refresher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from gridshift.exporters.grid.snapshot import InputKey

T = TypeVar("T")


@dataclass
class Job(Generic[T]):
    """`run(now)` returns what to hold under `key` or raises FetchError."""

    key: InputKey[T]
    interval_seconds: float
    run: Callable[[float], T]
    next_due: float = 0.0
    failures: int = 0
    attempted: bool = False

    @property
    def zone(self) -> str:
        return self.key.zone

    @property
    def source(self) -> str:
        return self.key.source

    @property
    def dataset(self) -> str:
        return self.key.dataset
