"""The tenant view (docs/power.md): our `namespace` label is the workload's own namespace, so a
namespace-scoped Prometheus query {namespace="kube-system"} over our exposition of the real
dump returns kube-system's series and nothing of any other namespace."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gridshift.exporters.power import names
from tests.power import kepler_text


def test_selecting_a_namespace_returns_only_its_series(fake_kepler, make_exporter, intensity_api, dump):
    fake = fake_kepler("node-a", "node-b")
    fake.payload.update({"node-a": dump, "node-b": dump})
    intensity_api.set("DE_LU", 300.0)
    running = make_exporter({"default_zone": "DE_LU", "intensity": {"url": intensity_api.url},
                             "kepler": {"static_targets": {n: fake.url(n) for n in ("node-a", "node-b")}}})
    running.cycle()
    fake.payload.update({"node-a": kepler_text.rescaled(dump, 2), "node-b": kepler_text.rescaled(dump, 3)})
    running.cycle(30)
    samples = [s for family in text_string_to_metric_families(running.text()) for s in family.samples]

    selected = [s for s in samples if s.labels.get("namespace") == "kube-system"]
    assert sorted((s.name, s.labels["node"]) for s in selected) == sorted(
        (name, node) for node in ("node-a", "node-b") for name in (
            names.NAMESPACE_POWER_WATTS, f"{names.NAMESPACE_ENERGY_JOULES}_total", f"{names.NAMESPACE_EMISSIONS_GRAMS}_total"))
    assert all(set(s.labels) == {"namespace", "node", "zone"} for s in selected)
    # No other series mentions kube-system (no pod, container or Kepler label leaks through).
    others = [s for s in samples if s not in selected and "kube-system" in repr(s.labels)]
    assert others == []
    energy = {s.labels["node"]: s.value for s in selected if s.name.startswith(names.NAMESPACE_ENERGY_JOULES)}
    assert energy == {"node-a": kepler_text.namespace_totals(dump)["kube-system"],
                      "node-b": 2 * kepler_text.namespace_totals(dump)["kube-system"]}
    namespaces = {s.labels["namespace"] for s in samples if "namespace" in s.labels}
    assert namespaces == {"kepler", "kernel", "kube-system", "local-path-storage", "monitoring", "system"}
