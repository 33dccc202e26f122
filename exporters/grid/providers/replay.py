"""Replay: a recorded carbon-intensity trace (CSV, see traces.py) mapped onto the present.

For demos and for testing forecast-aware rules without an upstream: the replay knows its future.

Time mapping. `t0` is the provider's start: `clock_start`, else the `now` of its first fetch (any
zone), in whole seconds. A zone's `trace_start` is its `start` (ISO date-time, no offset = UTC;
it must lie within the trace) or else the trace's first point. At wall time `w` the trace is at

    trace time = trace_start + (w - t0) * speed

and a trace point starting at trace time `T` appears at wall time `t0 + (T - trace_start) / speed`
(rounded down to the second), lasting its trace length / speed. The series' resolution is the
trace's resolution / speed, at least 1 s. When a trace point would last less than a wall second
(speed above the trace's resolution), the point that covers the end of each wall second stands
for it, so the series thins the trace out instead of piling points onto one second.

Looping. When the trace ends (the end of its last point's interval) it starts again from its
first point, so trace time is read modulo the trace's span; the jump at the seam is the
recording's own (e.g. 31 December back to 1 January). Gaps in the trace stay gaps.

The series. Points from 1 h of wall time back (at most MAX_POINTS_BACK) to 48 h ahead (at most
MAX_POINTS_AHEAD, so a fast replay covers less than 48 h). Every point is an actual of the
trace, those ahead included: the replay knows its future exactly, and a held series stays right
as wall time moves on between fetches (`IntensitySeries.current` takes the newest started
actual). Basis `provider`: the trace's own (lifecycle for the Electricity Maps and Let's Wait
Awhile recordings).

Files are read once per provider, on the first fetch that needs them, and shared by zones
that name the same file. A file that is missing, unreadable or not a valid trace raises
FetchError("malformed") with the TraceError message at every fetch of that zone (a failed read
is retried at the next fetch, so a fixed file is picked up without a restart); the other zones
are unaffected.
"""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from gridshift.config import ReplaySettings, ReplayZone
from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries, make_series
from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.traces import Trace, TraceError, load_trace, parse_timestamp

NAME = "replay"
HOUR = 3600
BACK_SECONDS = HOUR
AHEAD_SECONDS = 48 * HOUR
MAX_POINTS_BACK = 12
MAX_POINTS_AHEAD = 576  # 48 h of 5-minute points: keeps the forecast-window arithmetic cheap
MAX_POINTS_PAST = 35 * 24 * 12  # `past`: 35 days of 5-minute points


@dataclass(frozen=True)
class ReplayClock:
    """The mapping between wall time and one zone's trace (see the module docstring)."""

    t0: int
    trace_start: int
    speed: float
    first: int  # the trace's first point
    period: int  # the trace's span: first point to the end of the last

    def unrolled(self, wall: float) -> float:
        """Trace time at wall time `wall`, before looping (counts on past the trace's end)."""
        return self.trace_start + (wall - self.t0) * self.speed

    def wall(self, unrolled: float) -> float:
        return self.t0 + (unrolled - self.trace_start) / self.speed

    def looped(self, unrolled: float) -> tuple[int, float]:
        """(loop number, trace time within [first, first + period))."""
        loop = math.floor((unrolled - self.first) / self.period)
        return loop, unrolled - loop * self.period

    def trace_time(self, wall: float) -> float:
        return self.looped(self.unrolled(wall))[1]


class ReplayProvider:
    name = NAME

    def __init__(self, settings: ReplaySettings, clock_start: float | None = None) -> None:
        self._settings = settings
        self.refresh_seconds = settings.refresh_seconds
        self._t0: int | None = None if clock_start is None else math.floor(clock_start)
        self._traces: dict[str, Trace] = {}  # by file
        self._lock = threading.Lock()

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(self._settings.zones)

    @property
    def clock_start(self) -> int | None:
        """t0: the wall time the replay started at; None before the first fetch unless given."""
        return self._t0

    def trace(self, zone: str) -> Trace:
        """The zone's trace, read on first use; FetchError when the zone or its file is bad."""
        return self._trace(self._zone(zone))

    def clock(self, zone: str, now: float) -> ReplayClock:
        """The zone's wall-to-trace mapping; fixes t0 at `now` if the replay has not started yet."""
        replay = self._zone(zone)
        trace = self._trace(replay)
        with self._lock:
            if self._t0 is None:
                self._t0 = math.floor(now)
            t0 = self._t0
        return ReplayClock(t0=t0, trace_start=_trace_start(zone, replay, trace), speed=replay.speed,
                           first=trace.start, period=trace.end - trace.start)

    def fetch(self, zone: str, now: float) -> IntensitySeries:
        clock = self.clock(zone, now)
        trace = self.trace(zone)
        resolution = max(1, round(trace.resolution_seconds / clock.speed))
        return make_series(zone=zone, source=self.name, basis="provider", resolution_seconds=resolution,
                           points=replay_points(trace, clock, now, resolution))

    def past(self, zone: str, now: float, seconds: float, *, max_points: int = MAX_POINTS_PAST) -> list[tuple[int, float]]:
        """The trace's points that started in the `seconds` of wall time before `now`, as (wall start,
        value), oldest first: what the replay has "recorded" so far, for a forecaster's history.

        The same mapping as `fetch` (fixing t0 at `now` if the replay has not started yet), read
        backwards from `now`, so it runs back across the loop seam and before t0 (the trace's end
        precedes its start). Gaps stay gaps; at most `max_points`, the newest; when several trace
        points fall into one wall second (a fast replay), the newest of them stands for it.
        """
        clock = self.clock(zone, now)
        return past_points(self.trace(zone), clock, now, seconds, max_points)

    def _zone(self, zone: str) -> ReplayZone:
        replay = self._settings.zones.get(zone)
        if replay is None:
            raise FetchError("rejected", f"{zone} is not one of the configured replay zones ({', '.join(self.zones)})")
        return replay

    def _trace(self, replay: ReplayZone) -> Trace:
        with self._lock:
            trace = self._traces.get(replay.file)
            if trace is None:
                try:
                    trace = load_trace(replay.file)
                except TraceError as error:
                    raise FetchError("malformed", f"replay trace {error}") from None
                self._traces[replay.file] = trace
            return trace


def _trace_start(zone: str, replay: ReplayZone, trace: Trace) -> int:
    if not replay.start:
        return trace.start
    try:
        start = parse_timestamp(replay.start)
    except ValueError:
        raise FetchError("rejected", f"replay zone {zone}: start {replay.start!r} is not an ISO date-time") from None
    if not trace.start <= start < trace.end:
        raise FetchError("rejected", f"replay zone {zone}: start {replay.start!r} is outside the trace "
                                     f"{_iso(trace.start)} .. {_iso(trace.end)} ({trace.path})")
    return start


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def replay_points(trace: Trace, clock: ReplayClock, now: float, resolution: int) -> list[IntensityPoint]:
    """The trace's points re-timed onto wall time around `now` (see the module docstring)."""
    starts, lengths, count = trace.starts, trace.seconds, len(trace.points)
    # trace time behind now: 1 h of wall time, cut to about MAX_POINTS_BACK points (a kept point
    # spans at least a trace step and at least a wall second)
    back = min(BACK_SECONDS * clock.speed, (MAX_POINTS_BACK + 1) * max(trace.resolution_seconds, clock.speed))
    last = clock.unrolled(now + AHEAD_SECONDS)

    def locate(unrolled: float) -> tuple[int, int]:
        """(loop, index) of the last point that starts before `unrolled` (or the first point)."""
        loop, offset = clock.looped(unrolled)
        return loop, max(bisect.bisect_left(starts, offset) - 1, 0)

    behind: list[IntensityPoint] = []
    ahead: list[IntensityPoint] = []
    loop, index = locate(clock.unrolled(now) - back)
    while len(ahead) < MAX_POINTS_AHEAD:
        unrolled = starts[index] + loop * clock.period
        if unrolled >= last:
            break
        start = math.floor(clock.wall(unrolled))
        end = math.floor(clock.wall(unrolled + lengths[index]))
        following = (loop, index + 1) if index + 1 < count else (loop + 1, 0)
        if end > start:
            seconds = end - start
            point = IntensityPoint(start, trace.points[index][1], seconds=None if seconds == resolution else seconds)
            (ahead if start > now else behind).append(point)
        else:
            # Shorter than a wall second: go straight to the point covering the end of this second.
            following = max(following, locate(clock.unrolled(start + 1)))
        loop, index = following
    return behind[-MAX_POINTS_BACK:] + ahead


def past_points(trace: Trace, clock: ReplayClock, now: float, seconds: float, max_points: int) -> list[tuple[int, float]]:
    """(wall start, value) of the trace points started in [now - seconds, now), oldest first (see `past`)."""
    starts, count, period = trace.starts, len(trace.points), clock.period
    earliest = now - seconds

    def before(unrolled: float) -> tuple[int, int]:
        """(loop, index) of the last point that starts strictly before `unrolled`."""
        loop, offset = clock.looped(unrolled)
        index = bisect.bisect_left(starts, offset) - 1
        return (loop, index) if index >= 0 else (loop - 1, count - 1)

    found: list[tuple[int, float]] = []
    loop, offset = clock.looped(clock.unrolled(now))
    index = bisect.bisect_right(starts, offset) - 1  # the last point started by now (offset >= the first start)
    while len(found) < max_points and seconds > 0:
        wall = math.floor(clock.wall(starts[index] + loop * period))
        if wall < earliest:
            break
        if wall < now:
            found.append((wall, trace.points[index][1]))
        # on to the newest point of an earlier wall second (fast replays skip the rest of this one)
        loop, index = min((loop, index - 1) if index > 0 else (loop - 1, count - 1), before(clock.unrolled(wall)))
    found.reverse()
    return found
