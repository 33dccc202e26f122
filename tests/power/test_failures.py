"""A node whose Kepler fails is reported (scrape_up 0, a counted reason, one log line), its
counters hold, the others are read as usual, and it is counted from where it was when it answers.

Aspects: closed port, timeout (nodes scraped concurrently), HTTP error status, malformed text
(nothing lost), recovery, no repeated log lines while the reason stays the same.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest

from gridshift.exporters.power import names
from tests.power import kepler_text

ENERGY = f"{names.NAMESPACE_ENERGY_JOULES}_total"
ERRORS = f"{names.KEPLER_SCRAPE_ERRORS}_total"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(targets: dict[str, str], timeout: float = 2.0) -> dict[str, object]:
    return {"default_zone": "FR", "scrape_interval_seconds": 30, "scrape_timeout_seconds": timeout,
            "kepler": {"static_targets": targets}}


def test_a_node_that_does_not_answer_is_reported(fake_kepler, make_exporter, dump, caplog):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    gone = f"http://127.0.0.1:{closed_port()}/metrics"
    running = make_exporter(config({"node-a": fake.url("node-a"), "node-gone": gone}))
    with caplog.at_level(logging.INFO, logger="gridshift"):
        running.cycle()
        running.cycle(30)
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-gone") == 0
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-a") == 1
    assert running.value(ERRORS, node="node-gone", reason="connection") == 2
    assert running.value(names.NODE_ZONE_INFO, node="node-gone", zone="FR") == 1
    assert running.value(names.KEPLER_LAST_SCRAPE, node="node-gone") is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "node node-gone: no reading (reason=connection)" in warnings[0]


def test_a_slow_node_times_out_while_the_others_are_read_concurrently(fake_kepler, make_exporter, dump):
    fake = fake_kepler("node-a", "node-b", "node-slow")
    for node in fake.addresses:
        fake.payload[node] = dump
    fake.delay["node-slow"] = 2.0
    fake.delay["node-b"] = 0.3
    running = make_exporter(config({node: fake.url(node) for node in fake.addresses}, timeout=0.5))
    started = time.monotonic()
    running.cycle()
    elapsed = time.monotonic() - started
    assert elapsed < 1.5  # bounded by the timeout, not by the sum of the delays
    assert running.value(ERRORS, node="node-slow", reason="timeout") == 1
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-slow") == 0
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-b") == 1


def test_a_body_that_drips_in_is_cut_at_the_deadline(fake_kepler, make_exporter, dump):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    fake.drip["node-a"] = 0.3  # each read is quick, the whole body takes 1.5 s
    running = make_exporter(config({"node-a": fake.url("node-a")}, timeout=0.7))
    started = time.monotonic()
    running.cycle()
    assert time.monotonic() - started < 1.4
    assert running.value(ERRORS, node="node-a", reason="timeout") == 1


def test_an_error_status_is_counted(fake_kepler, make_exporter, dump):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = "upstream connect error"
    fake.status["node-a"] = 503
    running = make_exporter(config({"node-a": fake.url("node-a")}))
    running.cycle()
    assert running.value(ERRORS, node="node-a", reason="http_status") == 1


KINDNET_TOTAL = 'kepler_container_joules_total{container_id="9956ac3c6e97000367c00bba879252f85d544c8b4214d245cf18418e3f8cae06"'


def garbage_value(text: str) -> str:
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(KINDNET_TOTAL) and 'mode="dynamic"' in line)
    lines[i] = lines[i].rsplit(" ", 1)[0] + " 1 2 x"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("damage", [
    pytest.param(lambda text: text[: text.index(KINDNET_TOTAL) + 120], id="cut mid-line"),
    pytest.param(garbage_value, id="garbage value"),
    pytest.param(lambda text: "<html>502 Bad Gateway</html>", id="not Kepler"),
])
def test_malformed_text_is_counted_and_nothing_is_lost(fake_kepler, make_exporter, dump, damage, caplog):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    running = make_exporter(config({"node-a": fake.url("node-a")}))
    running.cycle()
    fake.payload["node-a"] = kepler_text.rescaled(dump, 2)
    running.cycle(30)
    held = running.per_namespace(ENERGY)
    damaged = damage(kepler_text.rescaled(dump, 3))
    assert damaged != kepler_text.rescaled(dump, 3)
    fake.payload["node-a"] = damaged
    with caplog.at_level(logging.WARNING, logger="gridshift"):
        running.cycle(30)
    assert running.value(ERRORS, node="node-a", reason="malformed") == 1
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-a") == 0
    assert running.per_namespace(ENERGY) == held
    assert running.series(names.NAMESPACE_POWER_WATTS) == {}  # no current power while it fails
    assert any("reason=malformed" in r.getMessage() for r in caplog.records)
    # The next good scrape counts everything since the last good one: nothing lost.
    fake.payload["node-a"] = kepler_text.rescaled(dump, 4)
    running.cycle(30)
    per_ns = kepler_text.namespace_totals(dump)
    assert running.per_namespace(ENERGY) == pytest.approx({ns: held[ns] + 2 * j for ns, j in per_ns.items()})
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-a") == 1
    # Power over the 60 s since the last good reading.
    assert running.per_namespace(names.NAMESPACE_POWER_WATTS) == pytest.approx({ns: 2 * j / 60 for ns, j in per_ns.items()})
