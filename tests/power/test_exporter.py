"""The power exporter end to end: local Keplers serve the real dump (and later scrapes derived
from it) over HTTP, the grid exporter's intensity API is a local server, /metrics is scraped.

Expected values are computed from the dump with prometheus-client's parser (kepler_text.oracle).
Aspects: aggregation per namespace x node; both generations; power from two scrapes; counters
through a Kepler restart and a disappearing container; emissions = each energy increment x
the intensity of the zone at that time; unknown intensity; nothing before the first data.
"""

from __future__ import annotations

import pytest
import requests

from gridshift.exporters.power import names
from tests.power import kepler_text

ENERGY = f"{names.NAMESPACE_ENERGY_JOULES}_total"
EMISSIONS = f"{names.NAMESPACE_EMISSIONS_GRAMS}_total"
UNATTRIBUTED = f"{names.EMISSIONS_UNATTRIBUTED_JOULES}_total"
POWER = names.NAMESPACE_POWER_WATTS


def static(fake, *nodes, zone="DE_LU", **more):
    return {"default_zone": zone, "scrape_interval_seconds": 30, "scrape_timeout_seconds": 2,
            "kepler": {"static_targets": {node: fake.url(node) for node in nodes}}, **more}


def test_aggregates_per_namespace_and_node(fake_kepler, make_exporter, dump):
    fake = fake_kepler("node-a", "node-b")
    fake.payload["node-a"] = dump
    fake.payload["node-b"] = dump
    running = make_exporter(static(fake, "node-a", "node-b"))
    running.cycle()  # baseline: energy from before gridshift watched is not attributed
    assert set(running.per_namespace(ENERGY).values()) == {0.0}
    fake.payload["node-a"] = kepler_text.rescaled(dump, 2)
    fake.payload["node-b"] = kepler_text.rescaled(dump, 3)
    running.cycle(30)

    per_ns = kepler_text.namespace_totals(dump)
    assert running.per_namespace(ENERGY, node="node-a") == pytest.approx(per_ns)
    assert running.per_namespace(ENERGY, node="node-b") == pytest.approx({ns: 2 * j for ns, j in per_ns.items()})
    energy = running.series(ENERGY)
    assert len(energy) == 2 * 6  # namespaces x nodes, never containers
    assert {tuple(k for k, _ in labels) for labels in energy} == {("namespace", "node", "zone")}
    assert running.value(names.NODE_ZONE_INFO, node="node-a", zone="DE_LU") == 1
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-b") == 1


def test_power_is_the_energy_rate_between_the_last_two_scrapes(fake_kepler, make_exporter, dump):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    running = make_exporter(static(fake, "node-a"))
    running.cycle()
    assert running.series(POWER) == {}  # one reading: no rate yet
    fake.payload["node-a"] = kepler_text.rescaled(dump, 1.5)
    running.cycle(20)
    per_ns = kepler_text.namespace_totals(dump)
    assert running.per_namespace(POWER) == pytest.approx({ns: 0.5 * j / 20 for ns, j in per_ns.items()})
    assert running.value(POWER, namespace="kernel", node="node-a", zone="DE_LU") == pytest.approx(18107 * 0.5 / 20)


def test_new_generation_end_to_end(fake_kepler, make_exporter, dump):
    """Kepler 0.10+ text built from the real dump's pods (no real 0.10 dump exists): same namespaces,
    energies from the dump's package and dram counters."""
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = kepler_text.new_generation(dump)
    running = make_exporter(static(fake, "node-a"))
    running.cycle()
    fake.payload["node-a"] = kepler_text.new_generation(dump, scale=4)
    running.cycle(30)
    expected = kepler_text.namespace_totals(dump, components=("package", "dram"), skip=("kernel", "system"))
    assert running.per_namespace(ENERGY) == pytest.approx({ns: 3 * j for ns, j in expected.items()})


def test_counters_survive_a_kepler_restart(fake_kepler, make_exporter, dump):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    running = make_exporter(static(fake, "node-a"))
    running.cycle()
    fake.payload["node-a"] = kepler_text.rescaled(dump, 2)
    running.cycle(30)
    before = running.per_namespace(ENERGY)
    # Kepler restarted: every counter is back near 0 and lower than before.
    fake.payload["node-a"] = kepler_text.rescaled(dump, 0.25)
    running.cycle(30)
    after = running.per_namespace(ENERGY)
    per_ns = kepler_text.namespace_totals(dump)
    assert after == pytest.approx({ns: before[ns] + 0.25 * j for ns, j in per_ns.items()})
    assert all(after[ns] >= before[ns] for ns in before)
    fake.payload["node-a"] = kepler_text.rescaled(dump, 0.5)
    running.cycle(30)
    assert running.per_namespace(ENERGY) == pytest.approx({ns: before[ns] + 0.5 * j for ns, j in per_ns.items()})


def test_a_disappearing_container_keeps_its_namespace_total(fake_kepler, make_exporter, dump):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    running = make_exporter(static(fake, "node-a"))
    running.cycle()
    fake.payload["node-a"] = kepler_text.rescaled(dump, 2)
    running.cycle(30)
    kindnet = kepler_text.oracle(dump)["9956ac3c6e97000367c00bba879252f85d544c8b4214d245cf18418e3f8cae06"].total
    kube_system = running.value(ENERGY, namespace="kube-system", node="node-a", zone="DE_LU")
    fake.payload["node-a"] = kepler_text.without_container(kepler_text.rescaled(dump, 2), "kindnet-cni")
    running.cycle(30)
    assert running.value(ENERGY, namespace="kube-system", node="node-a", zone="DE_LU") == kube_system
    # It comes back (a scrape that missed it): only its increase since last seen counts.
    fake.payload["node-a"] = kepler_text.rescaled(dump, 3)
    running.cycle(30)
    others = kepler_text.namespace_totals(dump)["kube-system"] - kindnet
    assert running.value(ENERGY, namespace="kube-system", node="node-a", zone="DE_LU") == pytest.approx(
        kube_system + others + kindnet)


def test_emissions_are_each_increment_times_the_intensity_of_its_time(fake_kepler, make_exporter, intensity_api, dump):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    intensity_api.set("DE_LU", 400.0, basis="production", consumption=350.0, provider=500.0)
    running = make_exporter(static(fake, "node-a", intensity={"url": intensity_api.url, "refresh_seconds": 90}))
    running.cycle()
    fake.payload["node-a"] = kepler_text.rescaled(dump, 2)
    running.cycle(30)
    kernel = 18107.0
    assert running.value(EMISSIONS, namespace="kernel", node="node-a", zone="DE_LU") == pytest.approx(
        kernel / 3.6e6 * 350.0)  # consumption basis preferred
    intensity_api.set("DE_LU", 120.0)
    fake.payload["node-a"] = kepler_text.rescaled(dump, 5)
    running.cycle(30)  # 60 s: the intensity is not due for refresh yet (90 s), the increment still meets 350
    fake.payload["node-a"] = kepler_text.rescaled(dump, 6)
    running.cycle(30)  # 90 s: refreshed before the scrape, 120
    expected = (kernel + 3 * kernel) / 3.6e6 * 350.0 + kernel / 3.6e6 * 120.0
    assert running.value(EMISSIONS, namespace="kernel", node="node-a", zone="DE_LU") == pytest.approx(expected)
    assert running.value(ENERGY, namespace="kernel", node="node-a", zone="DE_LU") == pytest.approx(5 * kernel)
    assert intensity_api.asked == ["DE_LU", "DE_LU"]


def test_unknown_intensity_accumulates_energy_but_no_emissions(fake_kepler, make_exporter, intensity_api, dump):
    fake = fake_kepler("node-a", "node-b")
    fake.payload["node-a"] = dump
    fake.payload["node-b"] = dump
    intensity_api.set("FR", 50.0)
    intensity_api.missing("ATLANTIS")
    raw = static(fake, "node-a", "node-b", zone="ATLANTIS", intensity={"url": intensity_api.url})
    raw["kepler"]["static_targets"] = {"node-a": fake.url("node-a"), "node-b": fake.url("node-b")}
    running = make_exporter(raw)
    running.exporter.refresher.node_labels = {"node-b": {"gridshift.io/zone": "FR"}}  # no API here: set directly
    running.cycle()
    fake.payload["node-a"] = kepler_text.rescaled(dump, 2)
    fake.payload["node-b"] = kepler_text.rescaled(dump, 2)
    running.cycle(30)
    total = sum(kepler_text.namespace_totals(dump).values())
    assert running.per_namespace(ENERGY, node="node-a", zone="ATLANTIS") == pytest.approx(kepler_text.namespace_totals(dump))
    assert running.per_namespace(EMISSIONS, node="node-a") == {}  # absent, not 0
    assert running.value(UNATTRIBUTED, zone="ATLANTIS") == pytest.approx(total)
    assert running.per_namespace(EMISSIONS, node="node-b")["kernel"] == pytest.approx(18107 / 3.6e6 * 50.0)
    assert running.value(UNATTRIBUTED, zone="FR") is None
    assert running.value(f"{names.INTENSITY_ERRORS}_total", zone="ATLANTIS", reason="unknown_zone") == 1


def test_an_intensity_too_old_is_not_used(fake_kepler, make_exporter, intensity_api, dump):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    intensity_api.set("DE_LU", 300.0)
    running = make_exporter(static(fake, "node-a", intensity={"url": intensity_api.url, "refresh_seconds": 60,
                                                                "max_age_seconds": 90}))
    running.cycle()
    intensity_api.missing("DE_LU", status=503)  # the grid exporter has no current data any more
    fake.payload["node-a"] = kepler_text.rescaled(dump, 2)
    running.cycle(120)  # last known value is 120 s old
    # The counter started (at 0) while the intensity was known; the increment without one adds nothing.
    assert running.value(EMISSIONS, namespace="kernel", node="node-a", zone="DE_LU") == 0
    assert running.value(UNATTRIBUTED, zone="DE_LU") == pytest.approx(sum(kepler_text.namespace_totals(dump).values()))


def test_nothing_is_exported_before_the_first_cycle_and_readiness_follows(fake_kepler, make_exporter, dump):
    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    running = make_exporter(static(fake, "node-a"))
    assert running.series(ENERGY) == {} and running.series(names.NODE_ZONE_INFO) == {}
    assert requests.get(f"{running.url}/readyz", timeout=5).status_code == 503
    running.cycle()
    ready = requests.get(f"{running.url}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["nodes_up"] == ["node-a"]


def test_the_refresher_thread_runs_cycles(fake_kepler, make_exporter, dump):
    import time

    fake = fake_kepler("node-a")
    fake.payload["node-a"] = dump
    running = make_exporter(static(fake, "node-a") | {"scrape_interval_seconds": 0.2, "scrape_timeout_seconds": 0.2,
                                                      "forget_after_seconds": 60})
    running.exporter.refresher.start()
    deadline = time.monotonic() + 10
    while running.exporter.refresher.cycles < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    running.exporter.refresher.stop()
    assert running.exporter.refresher.cycles >= 3
    assert fake.hits["node-a"] >= 3
