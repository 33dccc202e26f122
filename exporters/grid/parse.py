"""ENTSO-E XML payload -> typed records. Pure functions of the payload text.

Handles GL_MarketDocument (generation, load, forecasts), Publication_MarketDocument (physical
cross-border flows, A11) and the Acknowledgement_MarketDocument that ENTSO-E sends instead when
it has no data, refuses the request, or caps it (QueryTooLarge: split it, splitting.py). Times
become UTC epoch seconds, so DST days need no special case: ENTSO-E reports in UTC and a 23- or
25-hour local day is just 92 or 100 quarter-hours. Compressed curves (curveType A03) are expanded: a missing position repeats the
value before it, up to the end of its period (ENTSO-E "Introduction of different Timeseries
possibilities (curvetypes)", v1.4).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

Direction = Literal["in", "out"]
# Generation, load and forecasts come as GL documents; cross-border flows as Publication documents.
DOCUMENT_KINDS = ("GL_MarketDocument", "Publication_MarketDocument")
MEGAWATT = 1e6


class ParseError(Exception):
    """The payload is not a document we can read (malformed XML, unexpected shape)."""


class NoDataAcknowledgement(Exception):
    """ENTSO-E answered with an acknowledgement document: no data for the request."""


class RejectedRequest(Exception):
    """ENTSO-E answered with an acknowledgement document that rejects the request."""


class QueryTooLarge(RejectedRequest):
    """ENTSO-E's per-query cap (a reason-999 acknowledgement): the query asks for more than one
    answer may carry ("The amount of requested data exceeds allowed limit", "The number of
    instances (365) exceeds the allowed maximum (100) for data item ..."); the same query over
    shorter periods is answered. `allowed` and `requested` are the counts the text names, if any."""

    def __init__(self, text: str, *, allowed: int | None = None, requested: int | None = None) -> None:
        super().__init__(text)
        self.allowed, self.requested = allowed, requested


@dataclass(frozen=True)
class Interval:
    start: int  # epoch seconds, inclusive
    end: int  # epoch seconds, exclusive
    value: float  # watts


@dataclass(frozen=True)
class Series:
    """One TimeSeries, its periods merged, each point an interval in watts."""

    psr_type: str | None
    direction: Direction  # "in": inBiddingZone (generation, forecasts); "out": outBiddingZone
    business_type: str
    intervals: tuple[Interval, ...]


@dataclass(frozen=True)
class Document:
    document_type: str
    process_type: str
    series: tuple[Series, ...]


def parse_document(text: str | bytes) -> Document:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise ParseError(f"not well-formed XML ({error})") from None
    namespace, _, kind = root.tag.rpartition("}")
    ns = {"n": namespace.lstrip("{")} if namespace else {"n": ""}
    if kind == "Acknowledgement_MarketDocument":
        raise _acknowledgement(root, ns)
    if kind not in DOCUMENT_KINDS:
        raise ParseError(f"unexpected document {kind!r}, expected one of {', '.join(DOCUMENT_KINDS)}")
    return Document(
        document_type=_text(root, "n:type", ns),
        # Publication documents (cross-border flows, A11) carry no process type.
        process_type=root.findtext("n:process.processType", default="", namespaces=ns),
        series=tuple(_parse_series(element, ns) for element in root.findall("n:TimeSeries", ns)),
    )


_CAP = re.compile(r"exceeds? (?:the )?allowed (?:limit|maximum)", re.I)
_INSTANCES = re.compile(r"instances \((\d+)\) exceeds? the allowed maximum \((\d+)\)", re.I)
# ENTSO-E's "Allowed: 100 ... Requested: 243", and entsoe-py's retelling of it ("limited to 100 ... requested for 243")
_ALLOWED = re.compile(r"(?:allowed:?|limited to)\s+(\d+)", re.I)
_REQUESTED = re.compile(r"requested(?::| for)?\s+(\d+)", re.I)


def read_acknowledgement(text: str | bytes) -> Exception | None:
    """What an acknowledgement document says, as the exception parse_document raises for it
    (NoDataAcknowledgement, QueryTooLarge, RejectedRequest); None for any other text. For the
    answers ENTSO-E sends with an HTTP error status."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    namespace, _, kind = root.tag.rpartition("}")
    if kind != "Acknowledgement_MarketDocument":
        return None
    return _acknowledgement(root, {"n": namespace.lstrip("{")})


def _acknowledgement(root: ET.Element, ns: dict[str, str]) -> Exception:
    reason = root.find("n:Reason", ns)
    code = reason.findtext("n:code", default="", namespaces=ns) if reason is not None else ""
    said = (reason.findtext("n:text", default="", namespaces=ns) if reason is not None else "").strip()[:200]
    if code == "999" and "no matching data" in said.lower():
        return NoDataAcknowledgement(said)
    if code == "999" and _CAP.search(said):
        return query_too_large(f"reason {code}: {said}")
    return RejectedRequest(f"reason {code}: {said}")


def query_too_large(text: str) -> QueryTooLarge:
    """The cap `text` names, with its counts when it gives them."""
    instances = _INSTANCES.search(text)
    if instances:
        return QueryTooLarge(text, requested=int(instances.group(1)), allowed=int(instances.group(2)))
    allowed, requested = _ALLOWED.search(text), _REQUESTED.search(text)
    return QueryTooLarge(text, allowed=int(allowed.group(1)) if allowed else None,
                         requested=int(requested.group(1)) if requested else None)


def _parse_series(element: ET.Element, ns: dict[str, str]) -> Series:
    if element.find("n:outBiddingZone_Domain.mRID", ns) is not None:
        direction: Direction = "out"
    else:
        direction = "in"
    unit = element.findtext("n:quantity_Measure_Unit.name", default="MAW", namespaces=ns)
    if unit != "MAW":
        raise ParseError(f"unexpected unit {unit!r}, expected MAW (megawatt)")
    compressed = element.findtext("n:curveType", default="A01", namespaces=ns) == "A03"
    intervals: list[Interval] = []
    for period in element.findall("n:Period", ns):
        intervals.extend(_parse_period(period, ns, compressed))
    intervals.sort(key=lambda interval: interval.start)
    return Series(
        psr_type=element.findtext("n:MktPSRType/n:psrType", default=None, namespaces=ns),
        direction=direction,
        business_type=element.findtext("n:businessType", default="", namespaces=ns),
        intervals=tuple(intervals),
    )


def _parse_period(period: ET.Element, ns: dict[str, str], compressed: bool) -> list[Interval]:
    start = parse_time(_text(period, "n:timeInterval/n:start", ns))
    end = parse_time(_text(period, "n:timeInterval/n:end", ns))
    step = parse_resolution(_text(period, "n:resolution", ns))
    slots = (end - start) // step
    values: dict[int, float] = {}
    # Points are most of a payload: read their children by tag rather than by path lookups.
    point_tag, position_tag, quantity_tag = (f"{{{ns['n']}}}{name}" for name in ("Point", "position", "quantity"))
    for point in period.iter(point_tag):
        fields = {child.tag: child.text or "" for child in point}
        position = _to_number(fields.get(position_tag), "position", int)
        if not 1 <= position <= slots:
            raise ParseError(f"point position {position} outside its period of {slots} slots")
        values[position] = _to_number(fields.get(quantity_tag), "quantity", float) * MEGAWATT
    if compressed:
        _forward_fill(values, slots)
    return [
        Interval(start + (position - 1) * step, start + position * step, value)
        for position, value in sorted(values.items())
    ]


def _forward_fill(values: dict[int, float], slots: int) -> None:
    """A03: each given value holds until the next given position or the period's end."""
    last: float | None = None
    for position in range(1, slots + 1):
        if position in values:
            last = values[position]
        elif last is not None:
            values[position] = last


_RESOLUTION = re.compile(r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$")


def parse_resolution(text: str) -> int:
    """ISO-8601 duration as ENTSO-E uses it (PT15M, PT30M, PT60M, PT1H, P1D) -> seconds."""
    match = _RESOLUTION.match(text.strip())
    seconds = 0
    if match:
        parts = {key: int(value) for key, value in match.groupdict().items() if value}
        seconds = parts.get("days", 0) * 86400 + parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60
    if seconds <= 0:
        raise ParseError(f"unsupported resolution {text!r}")
    return seconds


def parse_time(text: str) -> int:
    """ENTSO-E `2025-10-21T12:00Z` -> epoch seconds (UTC)."""
    try:
        moment = datetime.strptime(text.strip(), "%Y-%m-%dT%H:%MZ")
    except ValueError:
        raise ParseError(f"unexpected time {text!r}, expected YYYY-MM-DDTHH:MMZ") from None
    return int(moment.replace(tzinfo=timezone.utc).timestamp())


def _text(element: ET.Element, path: str, ns: dict[str, str]) -> str:
    value = element.findtext(path, default=None, namespaces=ns)
    if value is None:
        raise ParseError(f"missing element {path.replace('n:', '')}")
    return value


def _to_number(text: str | None, name: str, kind: type[int] | type[float]) -> int | float:
    if text is None:
        raise ParseError(f"missing element Point/{name}")
    try:
        return kind(text.strip())
    except ValueError:
        raise ParseError(f"{name} is not a number: {text[:40]!r}") from None
