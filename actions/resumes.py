"""Restores spread out (issue 19 item 4): when one threshold crossing releases thousands of held
workloads, they resume soonest deadline first, at most `actions.max_resumes_per_minute` in any
sliding minute, and none while `actions.max_pending_pods` pods wait to be scheduled, so the API
server, the scheduler and the nodes do not get them all in the same second (the "thundering
herd" of the literature). What waits stays held, as recorded, and goes at a later pass, which the
reconciler schedules for when the minute has room again."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

MINUTE = 60.0
PENDING_RECHECK_SECONDS = 10.0  # pods pending at the cap: look again this soon


class ResumePacer:
    def __init__(self, *, per_minute: int, max_pending_pods: int, clock: Callable[[], float]) -> None:
        if per_minute < 1 or max_pending_pods < 1:
            raise ValueError("per_minute and max_pending_pods must be at least 1")
        self.per_minute, self.max_pending_pods, self.clock = per_minute, max_pending_pods, clock
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def allowance(self, pending_pods: int) -> int:
        """How many restores may go now, with `pending_pods` pods Pending."""
        with self._lock:
            self._forget(self.clock())
            return max(0, min(self.per_minute - len(self._sent), self.max_pending_pods - pending_pods))

    def sent(self) -> None:
        """One restore went."""
        with self._lock:
            self._sent.append(self.clock())

    def next_room(self, pending_pods: int) -> float:
        """When a restore that waits may be tried again (epoch seconds)."""
        now = self.clock()
        with self._lock:
            self._forget(now)
            if pending_pods >= self.max_pending_pods or len(self._sent) < self.per_minute:
                return now + PENDING_RECHECK_SECONDS
            return self._sent[0] + MINUTE

    def _forget(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - MINUTE:
            self._sent.popleft()
