"""Shared fixtures: the recorded real data (the repository's data/), a local ENTSO-E that replays it,
a test clock, and the demo loop (one per session, shared by every end-to-end test).

The suite must run from a clone with nothing beside it: tests/outside.py records every file opened
beside the checkout, by the tests or the processes they start, and the session fails if there is one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gridshift import recordings
from tests import outside, secret_sweep

TOKEN = "test-entsoe-token-5f1c2a"
_GUARD = pytest.StashKey[Path]()
_REACHED = pytest.StashKey[list[str]]()


class Clock:
    """A clock for the code under test: stands at `now` until the test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_GUARD] = outside.watch()
    # The access log of the tests' own stand-ins for upstreams (pytest-httpserver runs on Werkzeug;
    # gridshift serves on waitress): ENTSO-E's URL carries its token, as a real ENTSO-E's log would.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    folder = session.config.stash[_GUARD]
    session.config.stash[_REACHED] = outside.all_reached(folder)
    outside.unwatch(folder)
    if session.config.stash[_REACHED] or secret_sweep.found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    secret_sweep.sweep(report)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    reached = config.stash.get(_REACHED, [])
    if reached:
        terminalreporter.section("reads outside the repository", red=True)
        for path in reached:
            terminalreporter.line(f"FAILED: {path} was read, outside the checkout (tests and the demo use data/ only)")
    if secret_sweep.found:
        terminalreporter.section("secrets in captured output", red=True)
        for leak in secret_sweep.found:
            terminalreporter.line(f"FAILED: {leak.test}: a configured secret ({leak.secret[:6]}...) in {leak.where}")


@pytest.fixture(scope="session")
def recorded_data() -> Path:
    return recordings.REPO_DATA_DIR


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests run last, in their usual order: the session's loop (below) starts with the
    first of them and then runs beside no other test (its threads would load every test after it)."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(scope="session")
def loop(recorded_data: Path) -> Iterator[Any]:
    """The whole loop (gridshift/demo/loop.py) through real Prometheus and Alertmanager, started once
    for the session. The trace plays on day after day (a day in 48 s; each of these June days has an
    evening peak above the High threshold and a green morning), so a test that waits for an event
    sees it whatever the tests before it waited for."""
    from gridshift.demo.loop import Loop, LoopSettings

    with Loop(LoopSettings(trace=recorded_data / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv")) as running:
        yield running


@pytest.fixture(scope="session")
def entsoe_xml(recorded_data: Path):
    def read(file: str) -> str:
        return (recorded_data / "entsoe" / file).read_text(encoding="utf-8")

    return read


class FakeEntsoe:
    """A local ENTSO-E: answers recorded payloads like the real API, or an injected failure."""

    def __init__(self, server: HTTPServer, data: Path) -> None:
        self.server = server
        self.data = data
        self.requests: list[dict[str, str]] = []
        self.overrides: dict[str, str] = {}  # dataset file -> replacement payload
        # (query parameters that must match, payload): answers the recordings lack
        self.extra: list[tuple[dict[str, str], str]] = []
        self.failure: Response | None = None
        self.token = TOKEN  # the one it accepts (a test rotates it)

    @property
    def url(self) -> str:
        return self.server.url_for("/api")

    def handle(self, request: Request) -> Response:
        params = dict(parse_qsl(request.query_string.decode()))
        self.requests.append(params)
        if params.get("securityToken") != self.token:
            return Response("<html><body><h1>Unauthorized</h1></body></html>", status=401, content_type="text/html")
        if self.failure is not None:
            return self.failure
        extra = self._extra(params)
        if extra is not None:
            return Response(extra, status=200, content_type="text/xml")
        recording = recordings.find_recording(params)
        if recording is None:
            return Response(recordings.NO_MATCHING_DATA, status=200, content_type="text/xml")
        body = self.overrides.get(recording.file)
        if body is None:
            body = (self.data / "entsoe" / recording.file).read_text(encoding="utf-8")
        return Response(body, status=200, content_type="text/xml")


    def _extra(self, params: dict[str, str]) -> str | None:
        for wanted, body in self.extra:
            if all(params.get(key) == value for key, value in wanted.items()):
                return body
        return None


@pytest.fixture
def fake_entsoe(httpserver: HTTPServer, recorded_data: Path) -> Iterator[FakeEntsoe]:
    fake = FakeEntsoe(httpserver, recorded_data)
    httpserver.expect_request("/api").respond_with_handler(fake.handle)
    yield fake
