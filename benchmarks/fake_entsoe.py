"""A loopback ENTSO-E for benchmarks: every zone gets a real recorded payload.

Unlike the tests' fake (tests/conftest.py), which answers only the zones that were recorded,
this one answers *any* zone, so a benchmark can configure forty zones on four recordings:

- A75/A16 actual generation: the FI payload (15-minute, 12 production types) or the SE4
  payload (hourly, 5 types), alternating by the zone's position in the configured list so
  both resolutions are exercised;
- A65/A16 actual load: the DK1 payload;
- A71/A01 generation forecast: the SE3 payload;
- A69/A01 wind and solar day-ahead forecast: the FI payload;
- anything else (e.g. the A65/A01 load forecast): ENTSO-E's "No matching data" acknowledgement.

It notes when each API request arrives; GET /arrivals returns those times (`RunningFake.arrivals`).

It runs in a spawned child process (`start_in_child`) so that its CPU time and memory do not
count against the exporter being measured; the parent imports nothing heavy from here. Plain
werkzeug, threaded, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FI_GENERATION = "emaps_A75_FI_actual_generation_2025-10-21.xml"
SE4_GENERATION = "emaps_A75_SE4_actual_generation_2025-10-20.xml"
DK1_LOAD = "emaps_A65_DK1_actual_load_2023-12-28.xml"
SE3_GENERATION_FORECAST = "emaps_A71_SE3_generation_forecast_2023-12-27.xml"
FI_WIND_SOLAR_DAYAHEAD = "emaps_A69_FI_wind_solar_dayahead_2024-02-07.xml"

PAYLOAD_FILES = (FI_GENERATION, SE4_GENERATION, DK1_LOAD, SE3_GENERATION_FORECAST, FI_WIND_SOLAR_DAYAHEAD)


def generation_file(index: int) -> str:
    """The generation payload of the zone at `index` in the configured list."""
    return FI_GENERATION if index % 2 == 0 else SE4_GENERATION


class FakeEntsoeApp:
    """WSGI app answering ENTSO-E API requests from payloads held in memory."""

    def __init__(self, *, data_dir: Path, token: str, zones: Sequence[str]) -> None:
        from gridshift import recordings
        from gridshift.zones import entsoe_area_code

        self.token = token
        self.arrivals: list[float] = []  # appended by the server's threads (list.append is atomic)
        self.no_data = recordings.NO_MATCHING_DATA.encode()
        self.payloads = {name: (data_dir / name).read_bytes() for name in PAYLOAD_FILES}
        self.generation_by_area = {entsoe_area_code(zone): generation_file(i) for i, zone in enumerate(zones)}
        self.by_type = {
            ("A65", "A16"): DK1_LOAD,
            ("A71", "A01"): SE3_GENERATION_FORECAST,
            ("A69", "A01"): FI_WIND_SOLAR_DAYAHEAD,
        }

    def choose(self, params: dict[str, str]) -> bytes:
        kind = (params.get("documentType", ""), params.get("processType", ""))
        if kind == ("A75", "A16"):
            name = self.generation_by_area.get(params.get("in_Domain", ""))
        else:
            name = self.by_type.get(kind)
        return self.payloads[name] if name else self.no_data

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        from werkzeug import Request, Response

        request = Request(environ)
        params = request.args.to_dict()
        if request.path == "/arrivals":  # what a benchmark reads back: when each API request came
            return Response(json.dumps(self.arrivals), content_type="application/json")(environ, start_response)
        if request.path == "/api":
            self.arrivals.append(time.time())
        if request.path != "/api":
            response = Response("not found", status=404, content_type="text/plain")
        elif params.get("securityToken") != self.token:
            response = Response("<html><body><h1>Unauthorized</h1></body></html>", status=401, content_type="text/html")
        else:
            # Exactly "text/xml" (no charset), as ENTSO-E sends it: entsoe-py compares the
            # content type verbatim before looking for the no-data acknowledgement.
            response = Response(self.choose(params), status=200, content_type="text/xml")
        return response(environ, start_response)


def _serve(connection: multiprocessing.connection.Connection, data_dir: str, token: str, zones: list[str]) -> None:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    app = FakeEntsoeApp(data_dir=Path(data_dir), token=token, zones=zones)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    connection.send(server.server_port)
    connection.close()
    server.serve_forever()


@dataclass
class RunningFake:
    process: multiprocessing.process.BaseProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def arrivals(self) -> list[float]:
        """When each API request arrived (epoch seconds), in order."""
        import requests

        return list(requests.get(f"http://127.0.0.1:{self.port}/arrivals", timeout=10).json())

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=5)


def start_in_child(*, data_dir: Path, token: str, zones: Sequence[str], timeout: float = 60.0) -> RunningFake:
    """Start the fake ENTSO-E in a spawned child process; return once it listens."""
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe(duplex=False)
    process = context.Process(
        target=_serve, args=(child_end, str(data_dir), token, list(zones)), name="fake-entsoe", daemon=True,
    )
    process.start()
    child_end.close()
    if not parent_end.poll(timeout):
        process.terminate()
        raise RuntimeError("the fake ENTSO-E did not start")
    port = int(parent_end.recv())
    parent_end.close()
    return RunningFake(process=process, port=port)
