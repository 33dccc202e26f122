"""Issue 19 item 2: no secret in any log line or error, checked over everything the suite captured.

Every token the suite hands to the code under test is listed in SECRETS (tests/test_secret_sweep.py
checks that list against the test sources, so a new token cannot be left out). After each test
phase, pytest's report carries what was captured: stdout, stderr, log records (at INFO and above,
see log_level in pyproject.toml). A secret in any of them fails
the session and is named, with the test, in the summary. The processes the tests start report to
their test, which asserts on their output itself (tests/test_logs.py). Metric labels and HTTP
answers are checked where they are produced (tests/test_secret_sweep.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

# Every credential the tests and benchmarks configure (ENTSO-E, Electricity Maps, webhook tokens).
SECRETS: tuple[str, ...] = (
    "test-entsoe-token-5f1c2a",
    "test-entsoe-token-5f1c2a-rotated",
    "test-emaps-token-7c41b9e0",
    "test-webhook-token-3f9a1c7e",
    "readme-webhook-token-3b9d",
    "karmada-test-token",
    "kps-routing-test-token-0123456789",
    "benchmark-entsoe-token-0b7e41",
    "benchmark-webhook-token-5d2c",
)


@dataclass(frozen=True)
class Leak:
    test: str
    where: str
    secret: str


found: list[Leak] = []  # over the session


def sweep(report: pytest.TestReport) -> None:
    """Note every secret in what this report captured (stdout, stderr, log records)."""
    found.extend(Leak(report.nodeid, f"{where} ({report.when})", secret)
                 for where, text in report.sections for secret in SECRETS if secret in text)
