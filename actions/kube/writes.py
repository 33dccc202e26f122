"""Every write the action service sends to the API server passes one gate: a token bucket
(actions.max_writes_per_second, a burst of one: writes at least 1/rate apart and a little more,
so no second of the API server's sees more than the rate) and, with leader election, the
question "do we still lead?" asked right before the request goes (a leader that lost its Lease
mid-pass sends nothing more). Reads are not paced: the watch cache answers them (issue 19 item 4).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class NotLeader(Exception):
    """This replica does not lead (any more): the write was not sent. Not a KubeError on purpose:
    it ends the pass instead of counting as a failed action."""


class WriteGate:
    def __init__(self, per_second: float, *, is_leader: Callable[[], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[float], None] | None = None) -> None:
        if per_second <= 0:
            raise ValueError(f"per_second must be positive, got {per_second}")
        self.per_second = per_second
        self.is_leader = is_leader
        self._clock, self._sleep, self._on_wait = clock, sleep, on_wait
        self._next = float("-inf")  # when the next write may go
        self._lock = threading.Lock()

    def admit(self, what: str) -> None:
        """Block until one more write may go, then count it; NotLeader if this replica does not lead."""
        self._check(what)
        while (delay := self._take()) > 0:
            if self._on_wait is not None:
                self._on_wait(delay)
            self._sleep(delay)
        self._check(what)  # the wait may have outlasted the lease

    def _check(self, what: str) -> None:
        if self.is_leader is not None and not self.is_leader():
            raise NotLeader(f"{what} not sent: this replica does not hold the leader Lease")

    def _take(self) -> float:
        """0 and the write counted if it may go now, else how long until it may."""
        with self._lock:
            now = self._clock()
            if now < self._next - _RESOLUTION:
                return self._next - now
            self._next = max(now, self._next) + 1 / self.per_second + _SPACING_SLACK_SECONDS
            return 0.0


_RESOLUTION = 1e-9  # a sleep that ends a rounding error short of its turn has reached it
# Writes are spaced when sent and counted where they arrive: 5 ms more than 1/rate between two
# absorbs the variance of their way to the API server (at 20 a second, 21 arrived in one sliding
# second at the emulator without it), and the sleep's rounding (above).
_SPACING_SLACK_SECONDS = 0.005
