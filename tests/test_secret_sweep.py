"""The secret sweep (tests/secret_sweep.py) knows every token the suite configures, and catches one
that reaches captured output; metric labels and HTTP answers carry none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import secret_sweep

ROOT = Path(__file__).resolve().parents[1]
ASSIGNED = re.compile(r'^\s*[A-Z_]*(?:TOKEN|KEY|SECRET)[A-Z_]* = "([^"]{8,})"', re.M)


def test_every_token_the_tests_and_benchmarks_configure_is_swept():
    configured = {match for folder in ("tests", "benchmarks") for path in (ROOT / folder).rglob("*.py")
                  for match in ASSIGNED.findall(path.read_text(encoding="utf-8"))}
    assert configured and configured <= set(secret_sweep.SECRETS)


def test_a_secret_in_captured_output_is_found():
    report = pytest.TestReport("tests/x.py::t", ("x", 1, "t"), {}, "passed", None, "call",
                               sections=[("Captured log call", f"INFO x: token {secret_sweep.SECRETS[2]} used")])
    before = len(secret_sweep.found)
    secret_sweep.sweep(report)
    try:
        [leak] = secret_sweep.found[before:]
        assert leak.test == "tests/x.py::t" and "Captured log call" in leak.where
    finally:
        del secret_sweep.found[before:]


def test_no_secret_in_the_exporters_metrics_answers_or_logs_when_entsoe_echoes_it(fake_entsoe, caplog):
    """A hostile or careless upstream that quotes the request (its URL carries the token) in its
    error page: the token is in no metric label, JSON answer, readiness or log line."""
    from prometheus_client import generate_latest
    from werkzeug import Response

    from tests.conftest import TOKEN
    from tests.grid.test_pacing import NOW, Arrivals, FakeTime, exporter

    time = FakeTime(NOW)
    upstream = Arrivals(fake_entsoe, time)
    built = exporter(fake_entsoe, time, per_minute=100)
    client = built.app.test_client()
    answers = []
    for status in (401, 400, 500, 503):
        upstream.answer = Response(f"<html>{status}: GET /api?securityToken={TOKEN}&documentType=A75 refused "
                                   f"for token {TOKEN}</html>", status, content_type="text/html")
        for job in built.refresher.jobs:
            job.next_due = 0.0
        with caplog.at_level("DEBUG"):
            built.refresher.run_due()
        answers += [client.get(path).get_data(as_text=True) for path in
                    ("/metrics", "/readyz", "/api/v1/intensity?zone=FI", "/api/v1/forecast?zone=FI", "/api/v1/zones")]
    exposition = generate_latest(built.registry).decode()
    assert 'reason="unauthorized"' in exposition  # the errors were seen and counted
    leaked = [text for text in [exposition, *answers, caplog.text] if TOKEN in text]
    assert leaked == []

