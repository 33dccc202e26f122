"""Keep well inside an upstream's request limit, and wait out its bans.

ENTSO-E accepts 400 requests a minute per token and per IP; past that it answers 429 and bans the
requester for 10 minutes ("Max allowed requests per minute from each unique IP is max up to 400
only"; a banned requester is told "Requester banned until <time>"). entsoe-py has no limiter and
would retry inside a ban. A `RequestPacer` is shared by everything that calls one upstream: at
most `per_minute` requests in any sliding minute, and none until a ban is over.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone

from gridshift.exporters.grid.errors import FetchError

MINUTE = 60.0
ENTSOE_BAN_SECONDS = 600.0  # ENTSO-E's documented ban after the limit is reached
_BANNED_UNTIL = re.compile(r"banned until\s+(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)", re.I)


class RequestPacer:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self.per_minute = per_minute
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._banned_until = 0.0
        self._lock = threading.Lock()

    @property
    def banned_until(self) -> float:
        return self._banned_until

    def ban(self, until: float) -> None:
        with self._lock:
            self._banned_until = max(self._banned_until, until)

    def wait(self, stop: threading.Event | None = None) -> bool:
        """Block until one more request may go, and count it. False if `stop` was set meanwhile."""
        while True:
            with self._lock:
                delay = self._delay(self._clock())
                if delay <= 0:
                    self._sent.append(self._clock())
                    return True
            if stop is not None:
                if stop.wait(delay):
                    return False
            else:
                self._sleep(delay)

    def _delay(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - MINUTE:
            self._sent.popleft()
        waits = [self._banned_until - now]
        if len(self._sent) >= self.per_minute:
            waits.append(self._sent[0] + MINUTE - now)
        return max(waits)


def ban_end(error: FetchError, now: float) -> float | None:
    """When a rate-limited requester may ask again: the time the upstream names ("banned until"),
    else its Retry-After, else ENTSO-E's 10-minute ban. None for any other failure."""
    if error.reason != "rate_limited":
        return None
    named = _BANNED_UNTIL.search(error.message)
    if named:
        text = named.group(1).replace(" ", "T").replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None:
            return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    if error.retry_after is not None:
        return now + error.retry_after
    return now + ENTSOE_BAN_SECONDS
