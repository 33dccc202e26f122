"""Shared by the provider tests: the recorded intensity files, read independently of gridshift.

The GB Carbon Intensity API payloads are served as recorded. Electricity Maps has no recorded
API answer in the shared data, so `FakeElectricityMaps` builds API-shaped JSON from rows of the
real Electricity Maps hourly CSV exports (see test_electricitymaps.py).
"""

from __future__ import annotations

import csv
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

LCA = "Carbon Intensity gCO₂eq/kWh (LCA)"
EMAPS_CSV = {"DE": "emaps_hourly_DE_2022-06-01_2022-06-30.csv", "US-CAL-CISO": "emaps_hourly_US-CAL-CISO_2022-06-01_2022-06-30.csv"}
EMAPS_TOKEN = "test-emaps-token-7c41b9e0"


@pytest.fixture(scope="session")
def intensity_dir(recorded_data: Path) -> Path:
    return recorded_data / "intensity"


@pytest.fixture(scope="session")
def intensity_text(intensity_dir: Path):
    def read(file: str) -> str:
        return (intensity_dir / file).read_text(encoding="utf-8")

    return read


@pytest.fixture(scope="session")
def intensity_json(intensity_text):
    def read(file: str) -> object:
        return json.loads(intensity_text(file))

    return read


@dataclass(frozen=True)
class CsvRow:
    start: int  # epoch seconds of "Datetime (UTC)"
    lca: float  # "Carbon Intensity gCO₂eq/kWh (LCA)"

    @property
    def api_datetime(self) -> str:
        """As the Electricity Maps API writes times: 2022-06-15T12:00:00.000Z."""
        return datetime.fromtimestamp(self.start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture(scope="session")
def emaps_rows(intensity_dir: Path):
    """Zone -> every row of its real hourly CSV export, in file order."""
    cache: dict[str, list[CsvRow]] = {}

    def rows(zone: str) -> list[CsvRow]:
        if zone not in cache:
            with open(intensity_dir / EMAPS_CSV[zone], encoding="utf-8", newline="") as handle:
                cache[zone] = [
                    CsvRow(int(datetime.strptime(row["Datetime (UTC)"], "%Y-%m-%d %H:%M:%S")
                               .replace(tzinfo=timezone.utc).timestamp()), float(row[LCA]))
                    for row in csv.DictReader(handle)
                ]
        return cache[zone]

    return rows


def emaps_latest(zone: str, row: CsvRow) -> dict[str, object]:
    return {"zone": zone, "carbonIntensity": row.lca, "datetime": row.api_datetime,
            "updatedAt": row.api_datetime, "emissionFactorType": "lifecycle", "isEstimated": False,
            "estimationMethod": None}


def emaps_forecast(zone: str, rows: list[CsvRow]) -> dict[str, object]:
    return {"zone": zone, "forecast": [{"carbonIntensity": r.lca, "datetime": r.api_datetime} for r in rows],
            "updatedAt": rows[0].api_datetime if rows else "2022-01-01T00:00:00.000Z"}


@dataclass
class FakeElectricityMaps:
    """A local Electricity Maps API: `latest` is CSV row `index`, `forecast` the next 24 rows.

    `failures` maps "latest" / "forecast" to a Response served instead; `bodies` to a JSON text.
    A request without the right `auth-token` gets 401.
    """

    server: HTTPServer
    rows: dict[str, list[CsvRow]]
    index: int
    failures: dict[str, Response] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url_for("/v3")

    def latest_row(self, zone: str) -> CsvRow:
        return self.rows[zone][self.index]

    def forecast_rows(self, zone: str) -> list[CsvRow]:
        return self.rows[zone][self.index + 1:self.index + 25]

    def handle(self, request: Request) -> Response:
        kind = request.path.rsplit("/", 1)[-1]
        self.requests.append((kind, dict(request.args), dict(request.headers)))
        if request.headers.get("auth-token") != EMAPS_TOKEN:
            return json_response({"message": "Invalid authentication token"}, 401)
        if kind in self.failures:
            return self.failures[kind]
        if kind in self.bodies:
            return Response(self.bodies[kind], 200, content_type="application/json")
        zone = request.args.get("zone", "")
        if zone not in self.rows:
            return json_response({"status": "error", "message": f"Zone '{zone}' does not exist."}, 404)
        if kind == "latest":
            return json_response(emaps_latest(zone, self.latest_row(zone)))
        return json_response(emaps_forecast(zone, self.forecast_rows(zone)))


def json_response(document: object, status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(document), status, headers=headers, content_type="application/json")


@pytest.fixture
def fake_emaps(httpserver: HTTPServer, emaps_rows) -> Iterator[FakeElectricityMaps]:
    # Row 372 of each June 2022 file is 2022-06-16 12:00 UTC (checked in test_electricitymaps.py).
    fake = FakeElectricityMaps(httpserver, {zone: emaps_rows(zone) for zone in EMAPS_CSV}, index=372)
    httpserver.expect_request("/v3/carbon-intensity/latest").respond_with_handler(fake.handle)
    httpserver.expect_request("/v3/carbon-intensity/forecast").respond_with_handler(fake.handle)
    yield fake


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
