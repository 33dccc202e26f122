"""The whole loop through real Prometheus and Alertmanager processes.

A real day of German intensity (Electricity Maps, 2022-06-01 12:00 UTC on) is replayed at an
hour every two seconds by the grid exporter; Prometheus evaluates the project's rules (their
`for:` shortened, see gridshift/demo/processes.py; the rules' own timing is tested by promtool);
Alertmanager posts to the action service, which acts on an emulated cluster. As the evening peak
crosses 500 gCO2eq/kWh the opted-in teams are held; when it falls back they are restored; the
teams that did not opt in, the critical-only team and the protected namespace are never touched.
The alert-to-action latency is measured and written to benchmarks/results/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gridshift.demo.loop import Loop, wait_for

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
UNTOUCHED = ("payments", "kube-system", "team-critical")

pytestmark = pytest.mark.e2e


def alert_firing(loop: Loop, name: str) -> bool:
    return any(a["labels"]["alertname"] == name and a["labels"]["zone"] == "DE" for a in loop.firing_alerts())


def test_hold_restore_and_never_touch(loop):
    # The loop is shared by the session: start from a calm moment, nothing held, no High alert.
    assert wait_for(lambda: not alert_firing(loop, "GridCarbonIntensityHigh")
                    and not any(s["held"] for s in loop.workloads().values()), timeout=60)
    original = loop.workloads()
    assert wait_for(lambda: alert_firing(loop, "GridCarbonIntensityHigh"), timeout=60), "the High alert never fired"
    fired = time.monotonic()
    assert wait_for(lambda: loop.workloads()[("team-batch", "trainer")]["replicas"] == 0, timeout=30)
    held_after = time.monotonic() - fired
    assert wait_for(lambda: loop.workloads()[("team-web", "api")].get("hpa") == (2, 5), timeout=15)
    # namespaces are decided in parallel and a namespace's workloads one after another: the
    # CronJob's patch may land after the other namespace's (a clone-alone run saw the snapshot between)
    assert wait_for(lambda: loop.workloads()[("team-batch", "reports")]["suspend"] is True, timeout=15)
    held = loop.workloads()
    assert held[("team-web", "frontend")]["replicas"] == 3  # ceil(6 x 0.5), above the floor of 2
    assert held[("team-web", "api")]["replicas"] == 4  # its HPA's bounds were lowered instead
    for namespace in UNTOUCHED:
        assert all(state == original[key] for key, state in held.items() if key[0] == namespace), namespace

    assert wait_for(lambda: not alert_firing(loop, "GridCarbonIntensityHigh"), timeout=60), "the High alert never resolved"
    resolved = time.monotonic()
    assert wait_for(lambda: all(not s["held"] for k, s in loop.workloads().items() if k[0] in ("team-batch", "team-web")),
                    timeout=30)
    restored_after = time.monotonic() - resolved
    after = loop.workloads()
    for key in (("team-batch", "trainer"), ("team-batch", "reports"), ("team-web", "frontend"), ("team-web", "api")):
        assert after[key] == original[key], key
    patched = {request.namespace for request in loop.emulator["patch"]}
    assert not patched & set(UNTOUCHED), patched
    _record({"alert_firing_to_workload_held_seconds": round(held_after, 2),
             "alert_resolved_to_workload_restored_seconds": round(restored_after, 2)})


def test_green_surplus_scales_up_and_back(loop):
    assert wait_for(lambda: alert_firing(loop, "GridCarbonIntensityLow"), timeout=90), "the Low alert never fired"
    assert wait_for(lambda: loop.workloads()[("team-green", "crawler")]["replicas"] == 5, timeout=30)
    assert wait_for(lambda: not alert_firing(loop, "GridCarbonIntensityLow"), timeout=60)
    assert wait_for(lambda: loop.workloads()[("team-green", "crawler")]["replicas"] == 1, timeout=30)


def test_every_action_is_an_event_and_a_decision(loop):
    events = [obj for key, obj in loop.emulator.objects.items() if "events" in str(key[0])]
    assert len(events) >= 8  # a hold and a restore on trainer, reports, frontend, api's HPA
    decisions = loop.decisions()
    assert {d["result"] for d in decisions} <= {"applied", "restored", "skipped"}
    assert all(d["alert"] for d in decisions if d["decision"] in ("hold", "restore"))


def _record(figures: dict[str, float]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"e2e_latency-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json").write_text(json.dumps(figures, indent=2))
    print(f"\nalert-to-action latency: {figures}")
