"""`gridshift report` against the real end-to-end Prometheus of the demo loop (the session's loop).

Once team-batch has been paused and restored, the report over the loop's history must carry the
figures Prometheus and the action service hold (energy and emissions: the counters' values at
the end of the range, which start from nothing in the loop; actions: the counters and the
decision log), five PNG charts that are real images with something drawn, and the decision log.
A namespace without data is an error that names the namespaces with data (test_errors.py: the rest).
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
import requests
from matplotlib import image

from gridshift.cli import main
from gridshift.demo.loop import Loop, wait_for
from gridshift.report import units
from gridshift.report.timerange import iso

CHARTS = ("energy", "emissions", "intensity", "actions", "avoided")
PNG = b"\x89PNG\r\n\x1a\n"


def _instant(loop: Loop, expr: str, at: float) -> list[dict]:
    answer = requests.get(f"{loop.prometheus.url}/api/v1/query", params={"query": expr, "time": at}, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


@pytest.fixture(scope="module")
def report(loop, tmp_path_factory):
    """team-batch from the loop's start to 5 s after its first restore: a quiet moment (the next
    evening peak is some 20 s later), so Prometheus and the decision log agree at the end."""
    assert wait_for(lambda: loop.restored("team-batch"), timeout=150, every=1), "team-batch was never held and restored"
    restored = min(datetime_seconds(d["time"]) for d in loop.decisions()
                   if d["namespace"] == "team-batch" and d["result"] == "restored")
    time.sleep(max(0.0, restored + 8 - time.time()))  # the end has been scraped
    start, end = iso(loop.started_at), iso(restored + 5)
    out = tmp_path_factory.mktemp("report")
    started = time.monotonic()
    status = main(["report", "--namespace", "team-batch", "--from", start, "--to", end, "--step", "1s",
                   "--prometheus", loop.prometheus.url, "--actions-url", loop.actions_url, "--out", str(out)])
    print(f"\nreport generated in {time.monotonic() - started:.2f} s")
    assert status == 0
    return out, json.loads((out / "report.json").read_text()), (out / "report.md").read_text()


pytestmark = pytest.mark.e2e


def test_energy_and_emissions_are_what_prometheus_holds(loop, report):
    _, summary, markdown = report
    end = datetime_seconds(summary["to"])
    for name, figure, scale in (("energy_joules", "energy_joules", units.ENERGY),
                                ("emissions_grams", "emissions_grams", units.MASS)):
        [held] = _instant(loop, f'sum(gridshift_namespace_{name}_total{{namespace="team-batch"}})', end)
        assert summary["figures"][figure] == pytest.approx(float(held["value"][1]), rel=1e-9), name
        assert summary["figures"][figure] > 0
        assert units.human(summary["figures"][figure], scale) in markdown
    assert 300 < summary["figures"]["effective_intensity"] < 600  # the replayed German day, g/kWh


def test_actions_match_the_action_service(loop, report):
    _, summary, markdown = report
    end = datetime_seconds(summary["to"])
    counters = {f"{r['metric']['action']} {r['metric']['result']}": round(float(r["value"][1]))
                for r in _instant(loop, 'gridshift_actions_total{namespace="team-batch"}', end)}
    assert summary["figures"]["actions"] == counters
    logged: dict[str, int] = {}
    for decision in loop.decisions():
        if decision["namespace"] == "team-batch" and decision["time"] <= summary["to"]:
            key = f"{decision['action']} {decision['result']}"
            logged[key] = logged.get(key, 0) + 1
    assert counters == logged and counters["pause applied"] >= 2 and counters["pause restored"] >= 2
    assert "| pause | applied |" in markdown and "| Deployment trainer | restore | pause | restored |" in markdown
    assert summary["figures"]["held_seconds"] > 0 and summary["figures"]["avoided_grams"] > 0


def test_the_charts_are_real_images_with_something_drawn(report):
    out, summary, markdown = report
    assert summary["charts"] == sorted(f"{name}.png" for name in CHARTS)
    for name in CHARTS:
        path = out / f"{name}.png"
        assert path.read_bytes()[:8] == PNG, name
        assert 20_000 < path.stat().st_size < 500_000, name
        pixels = image.imread(path)
        assert pixels.shape[0] >= 400 and pixels.shape[1] >= 800, name
        assert pixels[..., :3].std() > 0.05, f"{name}: blank"
        assert f"]({name}.png)" in markdown


def test_the_report_states_its_range_sources_method_and_queries(report):
    _, summary, markdown = report
    assert f"{summary['from']} to {summary['to']}" in markdown
    assert "| DE | replay | provider |" in markdown  # the intensity behind the figures
    assert "| B02 | fossil_brown_coal_lignite | 820 |" in markdown  # the lifecycle factors
    assert "## Method and emission factors" in markdown and "dynamic" in markdown
    assert 'gridshift_namespace_energy_joules_total{namespace="team-batch"}' in markdown


def test_an_unknown_namespace_is_an_error_that_names_those_with_data(loop, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["report", "--namespace", "nobody-here", "--from", iso(loop.started_at), "--prometheus",
                   loop.prometheus.url, "--out", str(out)])
    error = capsys.readouterr().err
    assert status == 1 and "no data about namespace 'nobody-here'" in error and "team-batch" in error
    assert not out.exists()


def datetime_seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
