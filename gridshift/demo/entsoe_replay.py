"""A loopback ENTSO-E that replays the recorded real payloads as if they were current.

Each recording is moved in time (whole quarter-hours) so that its newest actual interval is
the current quarter-hour, or its forecast starts at the current hour. Requests are routed by
the same table the tests use (gridshift.recordings); anything else gets ENTSO-E's
"No matching data found" acknowledgement.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask, Response, request

from gridshift.exporters.grid import mix
from gridshift.exporters.grid.parse import parse_document
from gridshift.recordings import ENTSOE_RECORDINGS, NO_MATCHING_DATA, Recording, find_recording, shift_times

QUARTER_HOUR = 900


def _anchor(recording: Recording, text: str) -> int:
    """The moment of a recording that should line up with now."""
    document = parse_document(text)
    if recording.dataset == "generation":
        latest = mix.latest_generation_mix(document, vanished_after_seconds=3 * 3600)
        assert latest is not None
        return latest.timestamp
    starts = [interval.start for series in document.series for interval in series.intervals]
    if recording.dataset == "load":
        return max(starts)
    return min(starts)


def shifted_payloads(data: Path, now: float) -> dict[str, str]:
    current = int(now) // QUARTER_HOUR * QUARTER_HOUR
    payloads = {}
    for recording in ENTSOE_RECORDINGS:
        text = (data / "entsoe" / recording.file).read_text(encoding="utf-8")
        offset = current - _anchor(recording, text)
        if recording.dataset.endswith("forecast"):
            offset -= current % 3600
        payloads[recording.file] = shift_times(text, offset - offset % QUARTER_HOUR)
    return payloads


def create_replay_app(data: Path, now: float | None = None) -> Flask:
    payloads = shifted_payloads(data, time.time() if now is None else now)
    app = Flask("entsoe-replay")

    @app.get("/api")
    def api() -> Response:
        recording = find_recording(request.args.to_dict())
        body = payloads[recording.file] if recording else NO_MATCHING_DATA
        return Response(body, status=200, content_type="text/xml")

    return app
