"""ENTSO-E's per-query caps (reason-999 acknowledgements that are not "no matching data"): typed
as QueryTooLarge, the period asked again in parts and the parts merged, never read as empty.

A local ENTSO-E answers the cap for any period longer than a few hours, and the real recorded
payload for shorter ones; the cap texts are ENTSO-E's own (entsoe-py matches the first, the
second was returned for a year of day-ahead prices in November 2025, entsoe-py issue 481)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest
from werkzeug import Request, Response

from gridshift import names, recordings
from gridshift.exporters.grid.backfill import Chunk
from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.history import entsoe_day_fetcher
from gridshift.exporters.grid.parse import NoDataAcknowledgement, QueryTooLarge, RejectedRequest, read_acknowledgement
from gridshift.exporters.grid.sources.entsoe import EntsoeSource
from gridshift.exporters.grid.splitting import parts
from gridshift.secrets import Secret
from tests.conftest import TOKEN

AMOUNT = "The amount of requested data exceeds allowed limit. Allowed: 100 documents. Requested: 243 documents."
INSTANCES = "The number of instances (365) exceeds the allowed maximum (100) for data item ENERGY_PRICES."
NO_DATA_TEXT = "No matching data found for Data item ACTUAL_GENERATION_PER_PRODUCTION_TYPE [17.1.B, 17.1.C] (10YFI-1--------U) and interval 2025-10-24T00:00:00.000Z/2025-10-25T00:00:00.000Z."
FACTORS = {"B01": 230.0, "B04": 490.0, "B05": 820.0, "B06": 650.0, "B14": 12.0, "B16": 41.0, "B19": 11.0}


def acknowledgement(text: str) -> str:
    """ENTSO-E's acknowledgement envelope (the recorded no-data answer) with another reason text."""
    return recordings.NO_MATCHING_DATA.replace(NO_DATA_TEXT, text)


def period_hours(params: dict[str, str]) -> float:
    start, end = (datetime.strptime(params[key], "%Y%m%d%H%M") for key in ("periodStart", "periodEnd"))
    return (end - start) / timedelta(hours=1)


class CappedEntsoe:
    """The local ENTSO-E with a cap: a period over `hours` gets the cap acknowledgement."""

    def __init__(self, fake, *, hours: float, text: str = AMOUNT, status: int = 200) -> None:
        self.fake, self.hours, self.text, self.status = fake, hours, text, status
        self.periods: list[tuple[str, str, float]] = []  # every request: start, end, hours
        self.answered: list[tuple[str, str, float]] = []  # those under the cap
        fake.server.clear()
        fake.server.expect_request("/api").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        params = dict(parse_qsl(request.query_string.decode()))
        self.periods.append((params["periodStart"], params["periodEnd"], period_hours(params)))
        if period_hours(params) > self.hours:
            return Response(acknowledgement(self.text), status=self.status, content_type="text/xml")
        self.answered.append(self.periods[-1])
        return self.fake.handle(request)


def generation_job(running):
    return next(job for job in running.exporter.refresher.jobs if job.dataset == "generation")


def published_generation(make_exporter):
    running = make_exporter()
    running.exporter.refresher.refresh(generation_job(running))
    return running, running.series(names.GENERATION_WATTS)


@pytest.mark.parametrize(("text", "status"), [(AMOUNT, 200), (AMOUNT, 400), (INSTANCES, 200), (INSTANCES, 400)])
def test_a_capped_refresh_is_asked_again_in_parts_and_merged(make_exporter, fake_entsoe, text, status):
    _, uncapped = published_generation(make_exporter)
    assert uncapped
    capped = CappedEntsoe(fake_entsoe, hours=12, text=text, status=status)
    running, merged = published_generation(make_exporter)
    assert merged == uncapped
    first_start, first_end, hours = capped.periods[0]
    answered = capped.answered
    assert hours > 12 and len(answered) >= 2 and all(part <= 12 for _, _, part in answered)
    assert answered[0][0] == first_start and answered[-1][1] == first_end
    assert all(end == start for (_, end, _), (start, _, _) in zip(answered, answered[1:]))  # no gap, no overlap
    assert (running.value(f"{names.GRID_FETCH_ERRORS}_total", zone="FI", source="entsoe", reason="rejected") or 0) == 0


def test_the_acknowledgements_counts_choose_the_parts():
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    year = parts(start, start + timedelta(days=365), QueryTooLarge(INSTANCES, requested=365, allowed=100))
    assert len(year) == 4 and all(end - begin <= timedelta(days=92) for begin, end in year)
    assert len(parts(start, start + timedelta(hours=25), QueryTooLarge(AMOUNT))) == 2  # no counts: halved
    assert parts(start, start + timedelta(hours=1), QueryTooLarge(AMOUNT)) == []  # an hour is not cut


def test_a_cap_that_holds_for_an_hour_is_rejected_never_empty(make_exporter, fake_entsoe):
    running = make_exporter()
    running.exporter.refresher.refresh(generation_job(running))
    held = running.series(names.GENERATION_WATTS)
    capped = CappedEntsoe(fake_entsoe, hours=0)
    job = generation_job(running)
    running.clock.now = job.next_due
    running.exporter.refresher.refresh(job)
    assert running.value(f"{names.GRID_FETCH_ERRORS}_total", zone="FI", source="entsoe", reason="rejected") == 1
    assert running.series(names.GENERATION_WATTS) == held  # what was held stays; nothing published as empty
    assert len(capped.periods) < 64 and min(hours for _, _, hours in capped.periods) == 1


def test_a_capped_backfill_day_is_split_and_equals_the_whole_day(fake_entsoe):
    source = EntsoeSource(api_key=Secret(TOKEN), endpoint=fake_entsoe.url, timeout_seconds=2)
    fetch = entsoe_day_fetcher(source, FACTORS)
    day = Chunk("FI", "generation", 1761264000)  # 2025-10-24
    whole = fetch(day)
    capped = CappedEntsoe(fake_entsoe, hours=6, text=INSTANCES, status=400)
    assert fetch(day) == whole and whole["intensity"]
    assert len(capped.periods) == 1 + 4  # 365 of 100 allowed: four parts of six hours


def test_a_cap_is_typed_apart_from_no_data_and_other_refusals():
    assert isinstance(read_acknowledgement(acknowledgement(AMOUNT)), QueryTooLarge)
    instances = read_acknowledgement(acknowledgement(INSTANCES))
    assert isinstance(instances, QueryTooLarge) and (instances.requested, instances.allowed) == (365, 100)
    assert isinstance(read_acknowledgement(recordings.NO_MATCHING_DATA), NoDataAcknowledgement)
    other = read_acknowledgement(acknowledgement("Delivered time interval is not valid for this Data item."))
    assert isinstance(other, RejectedRequest) and not isinstance(other, QueryTooLarge)
    assert read_acknowledgement("<html>503</html>") is None


def test_an_unsplit_cap_surfaces_as_rejected(fake_entsoe):
    CappedEntsoe(fake_entsoe, hours=0, status=400)
    source = EntsoeSource(api_key=Secret(TOKEN), endpoint=fake_entsoe.url, timeout_seconds=2)
    fetch = entsoe_day_fetcher(source, FACTORS)
    with pytest.raises(FetchError) as raised:
        fetch(Chunk("FI", "generation", 1761264000))
    assert raised.value.reason == "rejected" and "limited to 100" in raised.value.message
