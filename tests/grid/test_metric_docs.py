"""Every metric the grid exporter serves is documented in docs/metrics.md."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_grid_exporter_metric_is_in_docs_metrics(make_exporter):
    running = make_exporter(zones=["FI"])
    running.exporter.refresher.run_due()
    text = requests.get(f"{running.url}/metrics", timeout=5).text
    exported = {family.name for family in text_string_to_metric_families(text) if family.name.startswith("gridshift_")}
    assert len(exported) >= 9
    documented = set(re.findall(r"`(gridshift_[a-z_]+)`", (DOCS / "metrics.md").read_text()))
    # The text parser names counter families without `_total` and info families without `_info`.
    missing = {name for name in exported if not {name, f"{name}_total", f"{name}_info"} & documented}
    assert not missing, f"metrics exported but not in docs/metrics.md: {sorted(missing)}"
