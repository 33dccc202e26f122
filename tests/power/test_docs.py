"""docs/power.md does not drift: every metric the power exporter serves and every `power.` key
is documented there."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gridshift.power_settings import PowerSettings
from tests.power import kepler_text
from tests.test_docs import config_keys

DOC = Path(__file__).resolve().parents[2] / "docs" / "power.md"


def test_every_setting_is_documented():
    text = DOC.read_text()
    missing = [key for key in config_keys(PowerSettings, "power.") if f"`{key}`" not in text]
    assert not missing, f"settings not in docs/power.md: {missing}"


def test_every_metric_served_is_documented(fake_kepler, make_exporter, intensity_api, dump):
    fake = fake_kepler("node-a", "node-b", "node-c")
    fake.payload.update({"node-a": dump, "node-c": dump})
    fake.status["node-b"] = 500
    intensity_api.set("DE_LU", 300.0)
    running = make_exporter({"default_zone": "DE_LU", "intensity": {"url": intensity_api.url},
                             "kepler": {"static_targets": {n: fake.url(n) for n in fake.addresses}}})
    running.exporter.refresher.node_labels = {"node-c": {"gridshift.io/zone": "ATLANTIS"}}  # no intensity known
    running.cycle()
    fake.payload.update({"node-a": kepler_text.rescaled(dump, 2), "node-c": kepler_text.rescaled(dump, 2)})
    running.cycle(30)
    exported = {f.name for f in text_string_to_metric_families(running.text()) if f.name.startswith("gridshift_")}
    assert len(exported) == 12, sorted(exported)  # every family, the kube errors without samples
    documented = set(re.findall(r"`(gridshift_[a-z_]+)`", DOC.read_text()))
    missing = {name for name in exported if not {name, f"{name}_total", f"{name}_info"} & documented}
    assert not missing, f"metrics served but not in docs/power.md: {sorted(missing)}"
