"""Backfill and pacing: the plan, the pace (never more than the limit in any minute), bans waited
out, failures retried or given up without losing a day, and resuming from a folder."""

from __future__ import annotations

import json
import threading

import pytest

from gridshift.exporters.grid.backfill import DAY, Backfill, Chunk, HistoryStore, plan
from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.pacing import ENTSOE_BAN_SECONDS, RequestPacer, ban_end

NOW = 1_760_000_000.0  # 2025-10-09 08:53 UTC


class FakeTime:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def test_the_plan_is_every_whole_day_before_today_newest_first():
    chunks = plan(["FI", "SE_4"], ["generation", "wind_solar_forecast"], now=NOW, days=3)
    today = int(NOW) // DAY * DAY
    assert len(chunks) == 12 and len(set(chunks)) == 12
    assert chunks[0] == Chunk("FI", "generation", today - DAY)
    assert {c.start for c in chunks} == {today - DAY, today - 2 * DAY, today - 3 * DAY}
    assert all(c.end - c.start == DAY for c in chunks)


def test_the_pacer_never_lets_more_than_the_limit_through_in_a_minute():
    time = FakeTime()
    pacer = RequestPacer(5, clock=time.clock, sleep=time.sleep)
    sent = []
    for _ in range(17):
        assert pacer.wait()
        sent.append(time.now)
    for i, moment in enumerate(sent):
        assert sum(moment - 60 < other <= moment for other in sent[: i + 1]) <= 5
    assert sent[-1] - sent[0] >= 3 * 60  # 17 requests at 5 a minute take more than three minutes


def test_a_ban_holds_every_request_until_it_ends():
    time = FakeTime()
    pacer = RequestPacer(100, clock=time.clock, sleep=time.sleep)
    pacer.ban(NOW + 600)
    assert pacer.wait() and time.now == NOW + 600


def test_a_stop_ends_the_wait():
    pacer = RequestPacer(1)
    pacer.ban(NOW * 2)  # far ahead
    stop = threading.Event()
    stop.set()
    assert pacer.wait(stop) is False


def test_ban_end_reads_the_named_time_then_retry_after_then_entsoes_ten_minutes():
    named = FetchError("rate_limited", "ENTSO-E answered HTTP 429: Requester banned until 2025-10-09T09:10:00Z")
    assert ban_end(named, NOW) == 1_760_001_000.0
    assert ban_end(FetchError("rate_limited", "429", retry_after=42), NOW) == NOW + 42
    assert ban_end(FetchError("rate_limited", "429"), NOW) == NOW + ENTSOE_BAN_SECONDS
    assert ban_end(FetchError("server_error", "503"), NOW) is None
    with pytest.raises(ValueError):
        RequestPacer(0)


def day_series(chunk: Chunk) -> dict[str, list[tuple[int, float]]]:
    return {"intensity": [(chunk.start + h * 3600, 100.0 + h) for h in range(24)]}


def run(chunks, fetch, store, time, **kwargs):
    pacer = RequestPacer(50, clock=time.clock, sleep=time.sleep)
    return Backfill(chunks=chunks, fetch=fetch, store=store, pacer=pacer, clock=time.clock, **kwargs).run()


def test_failures_are_retried_banned_or_given_up_and_no_day_is_lost(tmp_path):
    time = FakeTime()
    chunks = plan(["FI"], ["generation"], now=NOW, days=6)
    failures = {
        chunks[0]: [FetchError("timeout", "no answer"), None],
        chunks[1]: [FetchError("rate_limited", "429", retry_after=120), None],
        chunks[2]: [FetchError("no_data", "nothing published")],
        chunks[3]: [FetchError("unauthorized", "token refused")],
        chunks[4]: [FetchError("server_error", "503")] * 10,
    }
    asked: list[Chunk] = []

    def fetch(chunk: Chunk):
        asked.append(chunk)
        planned = failures.get(chunk)
        if planned:
            outcome = planned.pop(0)
            if outcome is not None:
                raise outcome
        return day_series(chunk)

    store = HistoryStore(tmp_path)
    status = run(chunks, fetch, store, time, max_attempts=3)
    assert (status.planned, status.done, status.failed, status.pending) == (6, 4, 2, 0)
    assert status.errors == {"timeout": 1, "rate_limited": 1, "no_data": 1, "unauthorized": 1, "server_error": 3}
    assert asked.count(chunks[3]) == 1  # a refusal is not asked again
    assert asked.count(chunks[4]) == 3  # transient: up to max_attempts
    assert time.now >= NOW + 120  # the ban was waited out
    assert store.has(chunks[0]) and store.has(chunks[1]) and store.has(chunks[2]) and not store.has(chunks[3])
    held = store.series("FI", "intensity")
    assert len(held) == 3 * 24 and held == sorted(held)  # days 0, 1 and 5; day 2 had no data


def test_a_restart_resumes_from_the_folder_and_a_broken_file_is_fetched_again(tmp_path):
    time = FakeTime()
    chunks = plan(["FI"], ["generation"], now=NOW, days=3)
    first = HistoryStore(tmp_path)
    run(chunks, day_series, first, time)
    broken = tmp_path / "FI" / "generation" / f"{chunks[1].start}.json"
    broken.write_text("{not json", encoding="utf-8")
    asked: list[Chunk] = []

    def fetch(chunk: Chunk):
        asked.append(chunk)
        return day_series(chunk)

    again = HistoryStore(tmp_path)
    status = run(chunks, fetch, again, time)
    assert asked == [chunks[1]]  # only the unreadable day
    assert status.done == 3 and again.series("FI", "intensity") == first.series("FI", "intensity")
    assert json.loads(broken.read_text())["intensity"][0] == [chunks[1].start, 100.0]
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_bug_in_one_day_is_logged_and_the_rest_goes_on(caplog):
    time = FakeTime()
    chunks = plan(["FI"], ["generation"], now=NOW, days=2)

    def fetch(chunk: Chunk):
        if chunk == chunks[0]:
            raise KeyError("psrType")
        return day_series(chunk)

    status = run(chunks, fetch, HistoryStore(), time)
    assert (status.done, status.failed, status.errors["internal"]) == (1, 1, 1)
    assert "failed unexpectedly" in caplog.text
