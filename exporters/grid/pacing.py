"""Keep well inside an upstream's request limit, and wait out its bans.

ENTSO-E accepts 400 requests a minute per token and per IP; past that it answers 429 and bans the
requester for 10 minutes ("Max allowed requests per minute from each unique IP is max up to 400
only"; a banned requester is told "Requester banned until <time>"). entsoe-py has no limiter and
would retry inside a ban. A `RequestPacer` is shared by everything that calls one upstream: at
most `per_minute` requests in any sliding minute (and a second), and none until a ban is over. A `share` of it
paces one consumer (the backfill) at a lower rate of its own and waits out the same bans.

Two ways to ask: `wait` blocks until a request may go (the backfill, which has nothing else to
do); `admit` waits at most so long and otherwise refuses with FetchError("rate_limited") before
anything is sent (a refresh job must not sit out a ten-minute ban on a worker thread).
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
# A request is counted when admitted and reaches the upstream a little later; counting it a second
# longer than a minute keeps a burst and the next minute's apart there too (measured: 304 in a
# sliding 60 s at ENTSO-E for a limit of 300 without it).
WINDOW_SECONDS = MINUTE + 1.0
ENTSOE_BAN_SECONDS = 600.0  # ENTSO-E's documented ban after the limit is reached
# ENTSO-E's ban page: "Requester banned until '2026-07-27T11:06:54.222Z'." (the time is quoted)
_BANNED_UNTIL = re.compile(r"banned until\s+['\"]?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)", re.I)


class RequestPacer:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] | None = None, parent: RequestPacer | None = None) -> None:
        """`sleep`: how a wait passes; None is real time (a stop event then ends it early)."""
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self.per_minute = per_minute
        self._clock, self._sleep = clock, sleep
        self._parent = parent
        self._sent: deque[float] = deque()
        self._banned_until = 0.0
        self._lock = threading.Lock()

    def share(self, per_minute: int) -> RequestPacer:
        """A pacer for one consumer of this upstream: at most `per_minute` of its own (never more
        than this pacer's), and this pacer's bans, seen and set. It counts only its own requests:
        each is still admitted by this pacer where it is sent."""
        return RequestPacer(min(per_minute, self.per_minute), clock=self._clock, sleep=self._sleep, parent=self)

    @property
    def banned_until(self) -> float:
        if self._parent is not None:
            return self._parent.banned_until
        return self._banned_until

    def ban(self, until: float) -> None:
        if self._parent is not None:
            self._parent.ban(until)
            return
        with self._lock:
            self._banned_until = max(self._banned_until, until)

    def wait(self, stop: threading.Event | None = None) -> bool:
        """Block until one more request may go, and count it. False if `stop` was set meanwhile."""
        while True:
            delay = self._take()
            if delay <= 0:
                return True
            if self._pause(delay, stop):
                return False

    def _pause(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Let `seconds` pass; True if `stop` was set meanwhile."""
        if self._sleep is not None:
            self._sleep(seconds)
        elif stop is not None:
            return stop.wait(seconds)
        else:
            time.sleep(seconds)
        return stop is not None and stop.is_set()

    def admit(self, max_wait: float, what: str) -> None:
        """Count one more request once it may go, waiting up to `max_wait` seconds for it; else
        FetchError("rate_limited"), `what` (the request) not sent: during a ban, or a minute full."""
        waited = 0.0  # counted in sleeps, not read off the clock: a test's clock may stand still
        while True:
            delay = self._take()
            if delay <= 0:
                return
            if waited + delay > max_wait:
                raise self._refusal(what, self._clock(), delay)
            self._pause(delay)
            waited += delay

    def _take(self) -> float:
        """Count a request and return 0 if one may go now, else how long until one may."""
        with self._lock:
            now = self._clock()
            delay = self._delay(now)
            if delay <= 0:
                self._sent.append(now)
            return delay

    def _delay(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - WINDOW_SECONDS:
            self._sent.popleft()
        waits = [self.banned_until - now]
        if len(self._sent) >= self.per_minute:
            waits.append(self._sent[0] + WINDOW_SECONDS - now)
        return max(waits)

    def _refusal(self, what: str, now: float, delay: float) -> FetchError:
        until = self.banned_until
        if until > now:
            moment = datetime.fromtimestamp(until, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            why = f"ENTSO-E banned this client; banned until {moment}, no request goes before"
        else:
            why = f"the client-side limit of {self.per_minute} requests a minute is reached"
        return FetchError("rate_limited", f"{what} not sent: {why}", retry_after=delay)


def ban_notice(text: str) -> str | None:
    """The ban an answer names ("Requester banned until '2026-07-27T11:06:54.222Z'"), else None."""
    named = _BANNED_UNTIL.search(text)
    return f"requester banned until {named.group(1)}" if named else None


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
