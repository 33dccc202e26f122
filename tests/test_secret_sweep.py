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
