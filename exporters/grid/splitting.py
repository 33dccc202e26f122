"""ENTSO-E's per-query caps: a query it answers with QueryTooLarge is asked again in parts.

ENTSO-E caps what one answer may carry (a number of documents or instances, a time span) and
says so in a reason-999 acknowledgement, the same code as "no matching data". entsoe-py's
`paginated` decorator halves the period and asks again; so does `fetch_document`, or cuts it in
as many parts as the acknowledgement's own counts say (365 instances, 100 allowed: four parts),
and merges the parts' documents into one. A cap is never read as "no data": a period that
cannot be cut further (an hour) is QueryTooLarge still, which the callers count as `rejected`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from gridshift.exporters.grid.parse import Document, NoDataAcknowledgement, QueryTooLarge, parse_document

log = logging.getLogger(__name__)

SMALLEST_PART = timedelta(hours=1)  # ENTSO-E's periods are whole hours (yyyyMMddHH00)
MOST_PARTS = 24  # one cap cut into at most this many parts at once; a part still too large is cut again

Fetch = Callable[[datetime, datetime], str]


def fetch_document(fetch: Fetch, start: datetime, end: datetime) -> Document:
    """`fetch(start, end)` parsed; over a cap, the period in parts, their documents merged.
    Raises what parse_document raises, and QueryTooLarge when the cap holds for the smallest part."""
    try:
        return parse_document(fetch(start, end))
    except QueryTooLarge as cap:
        bounds = parts(start, end, cap)
        if not bounds:
            raise
        log.info("ENTSO-E capped the query for %s..%s (%s): asked again in %d parts", start, end, cap, len(bounds))
        return merge([_part(fetch, part_start, part_end) for part_start, part_end in bounds])


def _part(fetch: Fetch, start: datetime, end: datetime) -> Document | NoDataAcknowledgement:
    try:
        return fetch_document(fetch, start, end)
    except NoDataAcknowledgement as none:  # one part without data: the others may have some
        return none


def parts(start: datetime, end: datetime, cap: QueryTooLarge) -> list[tuple[datetime, datetime]]:
    """[start, end) cut in whole hours into as many parts as the cap's counts ask (else two); []
    when it cannot be cut."""
    hours = int((end - start) / SMALLEST_PART)
    wanted = math.ceil(cap.requested / cap.allowed) if cap.requested and cap.allowed else 2
    count = min(max(wanted, 2), MOST_PARTS, hours)
    if count < 2:
        return []
    edges = [start + SMALLEST_PART * (hours * i // count) for i in range(count)] + [end]
    return list(zip(edges, edges[1:]))


def merge(answers: list[Document | NoDataAcknowledgement]) -> Document:
    """The parts' documents as one (each TimeSeries kept: the reducers merge series of one type);
    NoDataAcknowledgement when no part had data."""
    documents = [answer for answer in answers if isinstance(answer, Document)]
    if not documents:
        raise next(answer for answer in answers if isinstance(answer, NoDataAcknowledgement))
    first = documents[0]
    return Document(document_type=first.document_type, process_type=first.process_type,
                    series=tuple(series for document in documents for series in document.series))
