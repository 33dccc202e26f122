"""A multi-day ENTSO-E outage, replayed on loopback on a clock the test moves: 503s, then
timeouts, then connection refused, for three days. The exporter keeps asking at its backoff's
pace (bounded), stops exporting the intensity once it is stale (so no alert can act on it) while
the data timestamp stays for the staleness alert, and when ENTSO-E answers again it recovers and
backfills the days it missed, within the one limit, without a restart."""

from __future__ import annotations

import socket
import time as real_time

import entsoe.entsoe as entsoe_module
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from werkzeug import Request, Response

from gridshift import names, recordings
from gridshift.exporters.grid.backfill import DAY, Chunk, HistoryStore
from gridshift.exporters.grid.history import BackfillRunner
from gridshift.exporters.grid.pacing import RequestPacer
from tests.grid.test_pacing import NOW, Arrivals, FakeTime, exporter

FI = "emaps_A75_FI_actual_generation_2025-10-21.xml"
OUTAGE_DAYS = 3
STEP = 300.0  # the refresher woken every five simulated minutes
PER_MINUTE = 20


class Outage(Arrivals):
    def __init__(self, fake, time) -> None:
        super().__init__(fake, time)
        self.slow = False

    def handle(self, request: Request) -> Response:
        if self.slow:
            real_time.sleep(0.4)  # past the exporter's timeout
        return super().handle(request)


def samples(built) -> dict[str, list[dict[str, str]]]:
    text = generate_latest(built.registry).decode()
    found: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample.labels)
    return found


def intensity_exported(built) -> bool:
    return any(labels.get("zone") == "FI" for labels in samples(built).get(names.CARBON_INTENSITY, []))


def refresh_for(built, time: FakeTime, seconds: float) -> None:
    end = time.now + seconds
    while time.now < end:
        built.refresher.run_due()
        time.now += STEP


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_three_day_outage_goes_stale_then_recovers_and_backfills_the_gap(fake_entsoe, entsoe_xml, monkeypatch):
    time = FakeTime(NOW)
    outage = Outage(fake_entsoe, time)
    built = exporter(fake_entsoe, time, per_minute=PER_MINUTE, backfill_share=10, days=2, timeout_seconds=0.2)
    built.refresher.run_due()
    built.backfill.run()
    assert intensity_exported(built) and built.backfill.status.failed == 0
    before = len(outage.times)

    outage.answer = Response("<html>503 Service Unavailable</html>", 503, content_type="text/html")
    refresh_for(built, time, DAY)
    built.backfill.run()  # the hourly rerun, once a day here: the new day fails, nothing else is asked
    assert not intensity_exported(built)  # stale: absent, so no alert acts on it
    assert any(labels.get("zone") == "FI" for labels in samples(built)[names.GRID_DATA_TIMESTAMP])
    outage.answer, outage.slow = None, True
    refresh_for(built, time, 2 * 3600)
    outage.slow = False
    monkeypatch.setattr(entsoe_module, "URL", f"http://127.0.0.1:{closed_port()}/api")
    refresh_for(built, time, (OUTAGE_DAYS - 1) * DAY - 2 * 3600)
    built.backfill.run()
    assert not intensity_exported(built)
    asked_in_outage = len(outage.times) - before  # 362 here (connection refused arrives nowhere)
    assert asked_in_outage < 5 * OUTAGE_DAYS * 60  # backoff: a few an hour a dataset, not one a step

    monkeypatch.setattr(entsoe_module, "URL", fake_entsoe.url)
    shifted = recordings.shift_times(entsoe_xml(FI), int(OUTAGE_DAYS * DAY))
    fake_entsoe.overrides[FI] = shifted  # ENTSO-E is back, with the days it was away
    refresh_for(built, time, 3600)
    assert intensity_exported(built)  # recovered without a restart
    recovered = len(outage.times)
    built.backfill.run()
    today = int(time.now) // DAY * DAY
    missed = [Chunk("FI", "generation", today - back * DAY) for back in (1, 2)]
    assert all(built.backfill.store.has(chunk) for chunk in missed)
    status = built.backfill.status
    assert status.pending == 0 and status.failed == 0 and status.errors["server_error"] > 0
    assert outage.most_in_a_minute(first=recovered) <= 10  # the backfill's share
    assert outage.most_in_a_minute() <= PER_MINUTE


def test_the_backfill_is_planned_again_while_the_exporter_runs():
    time = FakeTime(NOW)
    asked: list[Chunk] = []

    def fetch(chunk: Chunk) -> dict[str, list[tuple[int, float]]]:
        asked.append(chunk)
        return {"intensity": [(chunk.start, 100.0)]}

    runner = BackfillRunner(zones=["FI"], fetch=fetch, store=HistoryStore(), days=1, datasets=["generation"],
                            pacer=RequestPacer(100, clock=time.clock, sleep=time.sleep), clock=time.clock)
    runner.rerun_seconds = 0.01
    runner.start()
    try:
        deadline = real_time.monotonic() + 10
        while len(asked) < 2 and real_time.monotonic() < deadline:
            real_time.sleep(0.01)
        time.now += DAY  # a new day: today so far, and the day that was partial is asked whole
        while len(asked) < 4 and real_time.monotonic() < deadline:
            real_time.sleep(0.01)
    finally:
        runner.stop()
    today = int(NOW) // DAY * DAY
    first, second = asked[:2], asked[2:]
    assert set(first) == {Chunk("FI", "generation", today), Chunk("FI", "generation", today - DAY)}
    assert set(second) == {Chunk("FI", "generation", today + DAY), Chunk("FI", "generation", today)}
    assert runner.store.has(Chunk("FI", "generation", today))  # now whole, kept with the older days
