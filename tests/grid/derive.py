"""Derive test payloads from the real recorded ones by one documented edit each.

Every scenario the recordings lack (a late production type, a vanished one, storage charging,
a DST day) is made from a real payload with the smallest edit that produces it, so values,
shapes and quirks stay ENTSO-E's.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

from gridshift.exporters.grid.parse import parse_resolution, parse_time

NS = "urn:iec62325.351:tc57wg16:451-6:generationloaddocument:3:0"
N = {"n": NS}
ET.register_namespace("", NS)


def _root(text: str) -> ET.Element:
    return ET.fromstring(text)


def _dump(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _series(root: ET.Element, psr: str) -> list[ET.Element]:
    return [ts for ts in root.findall("n:TimeSeries", N) if ts.findtext("n:MktPSRType/n:psrType", namespaces=N) == psr]


def _fmt(epoch: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def end_early(text: str, psr: str, slots: int) -> str:
    """Production type `psr` has not reported its last `slots` intervals yet."""
    root = _root(text)
    for ts in _series(root, psr):
        for period in ts.findall("n:Period", N):
            start = parse_time(period.findtext("n:timeInterval/n:start", namespaces=N))
            end_el = period.find("n:timeInterval/n:end", N)
            step = parse_resolution(period.findtext("n:resolution", namespaces=N))
            total = (parse_time(end_el.text) - start) // step
            keep = total - slots
            end_el.text = _fmt(start + keep * step)
            for point in period.findall("n:Point", N):
                if int(point.findtext("n:position", namespaces=N)) > keep:
                    period.remove(point)
    return _dump(root)


def as_storage_consumption(text: str, psr: str) -> str:
    """Add a copy of `psr`'s series as "Actual Consumption" (outBiddingZone), like pumped storage charging."""
    root = _root(text)
    original = _series(root, psr)[0]
    twin = copy.deepcopy(original)
    domain = twin.find("n:inBiddingZone_Domain.mRID", N)
    domain.tag = f"{{{NS}}}outBiddingZone_Domain.mRID"
    root.append(twin)
    return _dump(root)


def shift(text: str, seconds: int) -> str:
    from gridshift.recordings import shift_times

    return shift_times(text, seconds)


def set_process_type(text: str, process_type: str) -> str:
    root = _root(text)
    root.find("n:process.processType", N).text = process_type
    return _dump(root)
