"""The recorded real inputs the repository carries (data/, see data/README.md), the ENTSO-E
responses among them with the requests they answer, and where the benchmarks' large inputs are.

The tests' local ENTSO-E server and the demo's replay server both route by ENTSOE_RECORDINGS,
so both answer the same request with the same real payload. A request with no recording gets
ENTSO-E's own "No matching data found" acknowledgement, as the real API does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from gridshift.zones import entsoe_area_code

SHARED_DATA_ENV = "GRIDSHIFT_SHARED_DATA"
# The repository's own recordings; a wheel does not ship them (only a checkout has data/).
REPO_DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class Recording:
    zone: str
    dataset: str
    document_type: str
    process_type: str
    domain_param: str  # the query parameter that carries the zone's area code
    file: str

    @property
    def area_code(self) -> str:
        return entsoe_area_code(self.zone)


ENTSOE_RECORDINGS: tuple[Recording, ...] = (
    Recording("FI", "generation", "A75", "A16", "in_Domain", "emaps_A75_FI_actual_generation_2025-10-21.xml"),
    Recording("SE_4", "generation", "A75", "A16", "in_Domain", "emaps_A75_SE4_actual_generation_2025-10-20.xml"),
    Recording("DK_1", "load", "A65", "A16", "outBiddingZone_Domain", "emaps_A65_DK1_actual_load_2023-12-28.xml"),
    Recording("FI", "wind_solar_forecast", "A69", "A01", "in_Domain", "emaps_A69_FI_wind_solar_dayahead_2024-02-07.xml"),
    Recording("SE_3", "generation_forecast", "A71", "A01", "in_Domain", "emaps_A71_SE3_generation_forecast_2023-12-27.xml"),
)

# ENTSO-E's acknowledgement when a valid request has no data (Transparency Platform API guide,
# "Acknowledgement document"); the API sends it with HTTP 200 and content type text/xml.
NO_MATCHING_DATA = """<?xml version="1.0" encoding="UTF-8"?>
<Acknowledgement_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0">
\t<mRID>3b8fb8f2-5bd3-4ab3-9b1a-e9b5d6a1e0c2</mRID>
\t<createdDateTime>2025-10-24T13:00:00Z</createdDateTime>
\t<sender_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450</sender_MarketParticipant.mRID>
\t<sender_MarketParticipant.marketRole.type>A32</sender_MarketParticipant.marketRole.type>
\t<receiver_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450</receiver_MarketParticipant.mRID>
\t<receiver_MarketParticipant.marketRole.type>A39</receiver_MarketParticipant.marketRole.type>
\t<received_MarketDocument.createdDateTime>2025-10-24T13:00:00Z</received_MarketDocument.createdDateTime>
\t<Reason>
\t\t<code>999</code>
\t\t<text>No matching data found for Data item ACTUAL_GENERATION_PER_PRODUCTION_TYPE [17.1.B, 17.1.C] (10YFI-1--------U) and interval 2025-10-24T00:00:00.000Z/2025-10-25T00:00:00.000Z.</text>
\t</Reason>
</Acknowledgement_MarketDocument>
"""


def shared_data_dir() -> Path:
    """The benchmarks' large inputs (year-long traces, the forecasting benchmark): `$GRIDSHIFT_SHARED_DATA`,
    else ../shared/data beside the checkout. Tests and the demo never read it: they use REPO_DATA_DIR."""
    configured = os.environ.get(SHARED_DATA_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def find_recording(params: dict[str, str]) -> Recording | None:
    for recording in ENTSOE_RECORDINGS:
        if (
            params.get("documentType") == recording.document_type
            and params.get("processType") == recording.process_type
            and params.get(recording.domain_param) == recording.area_code
        ):
            return recording
    return None


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ")


def shift_times(xml_text: str, seconds: int) -> str:
    """Move every ENTSO-E timestamp in a payload by `seconds` (the demo replays the past as now)."""

    def shifted(match: re.Match[str]) -> str:
        moment = datetime.strptime(match.group(0), "%Y-%m-%dT%H:%MZ").replace(tzinfo=timezone.utc)
        return datetime.fromtimestamp(moment.timestamp() + seconds, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")

    return _TIME.sub(shifted, xml_text)
