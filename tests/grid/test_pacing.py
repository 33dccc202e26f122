"""One limiter for every ENTSO-E request: the refresh jobs, the flows and the backfill share it
(never more than grid.entsoe.requests_per_minute in any minute, counted where the local ENTSO-E
receives them), and a ban any request meets stops them all until it ends. Loopback only, on a
clock the test moves (a wait advances it)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from werkzeug import Request, Response

from gridshift.config import ConfigError, build_config
from gridshift.exporters.grid.app import GridExporter, build_grid_exporter
from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.pacing import WINDOW_SECONDS, RequestPacer, ban_end, ban_notice
from gridshift.exporters.grid.sources.entsoe import EntsoeSource
from gridshift.secrets import Secret
from tests.conftest import TOKEN, FakeEntsoe
from tests.grid.conftest import FI_NEWEST

# ENTSO-E's ban page as API clients quote it: an HTML body, the time quoted, with milliseconds.
BAN_PAGE = "<html><body><p>Requester banned until '2025-10-24T12:25:00.000Z'.</p></body></html>"
BAN_ENDS = 1761308700.0  # 2025-10-24T12:25:00Z
NOW = FI_NEWEST + 1800  # 2025-10-24T12:15Z


class FakeTime:
    """A clock that moves only when the code under test waits (from any thread)."""

    def __init__(self, now: float) -> None:
        self.now = now
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, seconds)


class Arrivals:
    """The local ENTSO-E's answers, each request stamped with the test clock as it arrives."""

    def __init__(self, fake: FakeEntsoe, time: FakeTime) -> None:
        self.fake, self.time = fake, time
        self.times: list[float] = []
        self.answer: Response | None = None  # when set, every request gets it
        fake.server.clear()
        fake.server.expect_request("/api").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        self.times.append(self.time.now)
        return self.answer if self.answer is not None else self.fake.handle(request)

    def most_in_a_minute(self, first: int = 0) -> int:
        """The most requests in any sliding minute, of those from the `first`th on."""
        times = self.times[first:]
        return max((sum(t <= other < t + 60 for other in times) for t in times), default=0)


def exporter(fake: FakeEntsoe, time: FakeTime, *, per_minute: int, backfill_share: int = 100,
             days: int = 2, timeout_seconds: float = 2) -> GridExporter:
    config = build_config({"grid": {
        "entsoe": {"zones": ["FI"], "endpoint": fake.url, "timeout_seconds": timeout_seconds,
                   "requests_per_minute": per_minute},
        "max_concurrent_requests": 1,
        "forecaster": {"history_days": days, "requests_per_minute": backfill_share},
    }}, env={"ENTSOE_API_KEY": TOKEN})
    return build_grid_exporter(config, clock=time.clock, sleep=time.sleep)


def errors(built: GridExporter, reason: str) -> float:
    counter = built.refresher.instruments.fetch_errors.labels("FI", "entsoe", reason)
    return counter._value.get()


def test_refresh_jobs_and_backfill_share_one_limit(fake_entsoe):
    time = FakeTime(NOW)
    arrivals = Arrivals(fake_entsoe, time)
    built = exporter(fake_entsoe, time, per_minute=4, backfill_share=3, days=2)
    built.refresher.run_due()  # five datasets at 4 a minute: the fifth waits for the minute to turn
    assert len(arrivals.times) == 5 and arrivals.most_in_a_minute() == 4
    assert time.now >= NOW + 60
    built.backfill.run()  # 4 datasets x (today + 2 days), 3 a minute
    time.now += 1
    built.refresher.run_due()  # nothing due yet; the next round comes once the clock moves on
    assert len(arrivals.times) == 5 + 12
    assert arrivals.most_in_a_minute() <= 4
    assert arrivals.most_in_a_minute(first=5) == 3  # the backfill's own share of the limit
    assert built.backfill.status.done == 12 and built.backfill.status.failed == 0


def test_a_ban_met_by_any_request_stops_the_refresh_jobs_until_it_ends(fake_entsoe):
    time = FakeTime(NOW)
    arrivals = Arrivals(fake_entsoe, time)
    built = exporter(fake_entsoe, time, per_minute=300, days=1)
    arrivals.answer = Response(BAN_PAGE, 429, content_type="text/html")
    with pytest.raises(FetchError) as met:  # a backfill day, through the source every request takes
        built.entsoe.source.fetch(dataset="generation", zone="FI", start=_utc(NOW - 86400), end=_utc(NOW))
    assert met.value.reason == "rate_limited" and "banned until 2025-10-24T12:25:00.000Z" in met.value.message
    assert built.entsoe.source.pacer.banned_until == BAN_ENDS == built.backfill.pacer.banned_until  # one ban for all
    sent = len(arrivals.times)

    arrivals.answer = None
    built.refresher.run_due()  # during the ban: every job refused here, none sent
    assert len(arrivals.times) == sent
    assert errors(built, "rate_limited") == 5
    assert all(job.next_due >= BAN_ENDS for job in built.refresher.jobs if job.source == "entsoe")

    time.now = BAN_ENDS
    built.refresher.run_due()
    assert len(arrivals.times) == sent + 5 and errors(built, "rate_limited") == 5


def test_a_ban_met_by_a_refresh_job_holds_the_backfill_until_it_ends(fake_entsoe):
    time = FakeTime(NOW)
    arrivals = Arrivals(fake_entsoe, time)
    built = exporter(fake_entsoe, time, per_minute=300, days=1)
    arrivals.answer = Response(BAN_PAGE, 429, content_type="text/html")
    job = next(job for job in built.refresher.jobs if job.dataset == "generation")
    built.refresher.refresh(job)
    assert errors(built, "rate_limited") == 1 and len(arrivals.times) == 1
    arrivals.answer = None
    built.backfill.run()
    assert min(arrivals.times[1:]) >= BAN_ENDS  # the backfill slept the ban out, then asked
    assert built.backfill.status.done == 8 and built.backfill.status.errors["rate_limited"] == 0


@pytest.mark.parametrize("status", [429, 403, 401])
def test_any_answer_that_names_a_ban_is_a_ban(fake_entsoe, status):
    time = FakeTime(NOW)
    arrivals = Arrivals(fake_entsoe, time)
    arrivals.answer = Response(BAN_PAGE, status, content_type="text/html")
    pacer = RequestPacer(300, clock=time.clock, sleep=time.sleep)
    source = EntsoeSource(api_key=Secret(TOKEN), endpoint=fake_entsoe.url, timeout_seconds=2, clock=time.clock, pacer=pacer)
    with pytest.raises(FetchError) as met:
        source.fetch(dataset="load", zone="FI", start=_utc(NOW - 3600), end=_utc(NOW))
    assert met.value.reason == "rate_limited" and pacer.banned_until == BAN_ENDS
    with pytest.raises(FetchError) as refused:
        source.fetch(dataset="load", zone="FI", start=_utc(NOW - 3600), end=_utc(NOW))
    assert "not sent" in refused.value.message and "banned until 2025-10-24T12:25:00Z" in refused.value.message
    assert refused.value.retry_after == BAN_ENDS - NOW and len(arrivals.times) == 1
    assert ban_end(refused.value, time.now) == BAN_ENDS  # the refusal names the same end


def test_the_ban_notice_is_read_from_entsoes_page():
    assert ban_notice("Max allowed requests per minute from each unique IP is max up to 400 only") is None
    assert ban_notice(BAN_PAGE) == "requester banned until 2025-10-24T12:25:00.000Z"


def test_admit_waits_for_a_full_minute_but_refuses_a_ban_at_once():
    time = FakeTime(NOW)
    pacer = RequestPacer(2, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        pacer.admit(WINDOW_SECONDS, "a request")
    assert time.now == NOW + WINDOW_SECONDS  # a minute, and a second for the request to arrive
    pacer.ban(NOW + 600)
    with pytest.raises(FetchError):
        pacer.admit(WINDOW_SECONDS, "a request")
    assert time.now == NOW + WINDOW_SECONDS  # refused without waiting
    share = pacer.share(1000)
    assert share.per_minute == 2 and share.banned_until == NOW + 600


def test_the_limit_is_at_most_entsoes_400():
    with pytest.raises(ConfigError, match="requests_per_minute"):
        build_config({"grid": {"entsoe": {"requests_per_minute": 401}}}, env={})


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)
