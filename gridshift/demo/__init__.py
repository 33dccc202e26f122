"""`gridshift demo`: the whole loop on loopback for a person; no cluster, no token.

A real intensity trace (Germany, June 2022 from the 1st at noon, Electricity Maps) replayed at an
hour every two seconds, the recorded ENTSO-E generation mixes, real Prometheus and Alertmanager, and the action
service acting on an emulated cluster of a few teams. It prints a timeline (intensity, alerts,
each action and restore) until Ctrl-C.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path

from gridshift import names, recordings
from gridshift.demo.processes import MissingTool

TRACE = Path("intensity") / "emaps_hourly_DE_2022-06-01_2022-06-30.csv"


def run_demo(*, data: str | None, duration: float = 0, speed: float = 1800.0) -> int:
    from gridshift.demo.loop import Loop, LoopSettings

    data_dir = Path(data) if data else recordings.REPO_DATA_DIR
    if not (data_dir / TRACE).is_file() or not (data_dir / "entsoe").is_dir():
        print(f"gridshift demo: recorded data not found in {data_dir} (a checkout of the repository has it in data/); "
              "pass --data DIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # `kill`, `timeout` and systemd stop with SIGTERM, and a demo started in the background of a
    # script ignores SIGINT: both end it as Ctrl-C does, so Prometheus and Alertmanager are stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with Loop(LoopSettings(trace=data_dir / TRACE, speed=speed)) as loop:
            _introduce(loop)
            _timeline(loop, duration)
    except MissingTool as error:
        print(f"gridshift demo: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    print("\ngridshift demo: stopped")
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _introduce(loop: object) -> None:
    from gridshift.demo.loop import NAMESPACES

    print("gridshift demo: Germany's grid from 1 June 2022 (Electricity Maps, lifecycle), an hour every "
          f"{3600 / loop.settings.speed:g} s")  # type: ignore[attr-defined]
    print(f"  thresholds: {loop.settings.thresholds}")  # type: ignore[attr-defined]
    print(f"  Prometheus:     {loop.prometheus.url}/alerts   (try gridshift_carbon_intensity_grams_per_kwh)")  # type: ignore[attr-defined]
    print(f"  Alertmanager:   {loop.alertmanager.url}")  # type: ignore[attr-defined]
    print(f"  grid exporter:  {loop.exporter_url}/metrics")  # type: ignore[attr-defined]
    print(f"  power exporter: {loop.power_url}/metrics   (Kepler from the real dump: gridshift/demo/kepler.py)")  # type: ignore[attr-defined]
    print(f"  action service: {loop.actions_url}/api/v1/decisions")  # type: ignore[attr-defined]
    print("  teams:")
    for name, wanted in NAMESPACES.items():
        opted = ", ".join(f"{k.split('/')[1]}={v}" for k, v in wanted.items()) or "not opted in"
        print(f"    {name:14} {opted}{'  (protected)' if name == 'kube-system' else ''}")
    print("  Ctrl-C stops.\n")
    print(f"{'time':8}  {'grid time':16}  {'intensity':>10}  alerts / actions")


def _timeline(loop: object, duration: float) -> None:
    deadline = time.monotonic() + duration if duration > 0 else None
    seen = 0
    last_line = ""
    started = time.time()
    while deadline is None or time.monotonic() < deadline:
        decisions = loop.decisions()  # type: ignore[attr-defined]
        fresh, seen = list(reversed(decisions[: len(decisions) - seen])), len(decisions)
        firing = {a["labels"]["alertname"] for a in loop.firing_alerts()}  # type: ignore[attr-defined]
        alerts = sorted(name.replace("GridCarbonIntensity", "") for name in firing if name != names.ALERT_WINDOW)
        alerts += ["greener window ahead"] if names.ALERT_WINDOW in firing else []
        intensity = loop.intensity()  # type: ignore[attr-defined]
        grid_time = _grid_time(loop, time.time() - started)
        line = f"{intensity:6.0f} g/kWh" if intensity is not None else "-"
        state = f"{line:>10}  {'alert: ' + ', '.join(alerts) if alerts else 'no alert'}"
        if state != last_line or fresh:
            print(f"{time.strftime('%H:%M:%S'):8}  {grid_time:16}  {state}", flush=True)
            last_line = state
        for decision in fresh:
            print(f"{'':8}  {'':16}  {'':>10}  -> {decision['namespace']}/{decision['name']}: {decision['decision']} "
                  f"{decision['action']} ({decision['result']}): {decision['reason']}", flush=True)
        time.sleep(1.0)


def _grid_time(loop: object, elapsed: float) -> str:
    from datetime import datetime, timedelta

    start = datetime.fromisoformat(loop.settings.start.replace("Z", "+00:00"))  # type: ignore[attr-defined]
    return (start + timedelta(seconds=elapsed * loop.settings.speed)).strftime("%Y-%m-%d %H:%M")  # type: ignore[attr-defined]
