"""`gridshift demo`: gridshift on loopback from recorded real data; no cluster, no token.

Today it runs the grid exporter against a replay of the recorded ENTSO-E payloads and prints
what a Prometheus scrape sees, zone by zone, until Ctrl-C. It grows into the whole loop
(Prometheus, Alertmanager, the action service) as those parts land.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from gridshift import names, recordings
from gridshift.config import build_config
from gridshift.demo.entsoe_replay import create_replay_app
from gridshift.exporters.grid.app import build_grid_exporter
from gridshift.web import Server

DEMO_ZONES = ("FI", "SE_4", "DK_1", "SE_3")
REFRESH_EVERY_SECONDS = 5.0


def run_demo(*, data: str | None, port: int, duration: float = 0) -> int:
    data_dir = Path(data) if data else recordings.shared_data_dir()
    if not (data_dir / "entsoe").is_dir():
        print(f"gridshift demo: recorded data not found in {data_dir}; pass --data or set "
              f"{recordings.SHARED_DATA_ENV}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    replay = Server(create_replay_app(data_dir), "127.0.0.1", 0).start()
    config = build_config(
        {"grid": {"entsoe": {"zones": list(DEMO_ZONES), "endpoint": f"http://127.0.0.1:{replay.port}/api",
                             "refresh": {"actual_seconds": 60, "forecast_seconds": 600}}}},
        env={"ENTSOE_API_KEY": "demo-replay-needs-no-token"},
    )
    exporter = build_grid_exporter(config)
    try:
        server = Server(exporter.app, "127.0.0.1", port).start()
    except OSError as error:
        print(f"gridshift demo: cannot listen on 127.0.0.1:{port} ({error.strerror}); try --port", file=sys.stderr)
        replay.stop()
        return 2
    exporter.refresher.start()
    url = f"http://127.0.0.1:{server.port}/metrics"
    print(f"gridshift demo: replaying recorded ENTSO-E data for {', '.join(DEMO_ZONES)}")
    print(f"  exporter metrics: {url}   (Ctrl-C stops)\n")
    try:
        _timeline(url, duration)
    except KeyboardInterrupt:
        pass
    finally:
        exporter.refresher.stop()
        server.stop()
        replay.stop()
        print("\ngridshift demo: stopped")
    return 0


def _timeline(url: str, duration: float) -> None:
    deadline = time.monotonic() + duration if duration > 0 else None
    shown: dict[str, str] = {}
    print(f"{'time':8}  {'zone':5}  {'intensity':>10}  {'generation':>10}  {'renewable':>9}  {'load':>8}  largest sources")
    while deadline is None or time.monotonic() < deadline:
        clock = time.strftime("%H:%M:%S")
        for zone, row in _rows(requests.get(url, timeout=5).text).items():
            if shown.get(zone) != row:  # a line when a zone's values change
                print(f"{clock:8}  {zone:5}  {row}", flush=True)
                shown[zone] = row
        time.sleep(REFRESH_EVERY_SECONDS if deadline is None else min(1.0, REFRESH_EVERY_SECONDS))


def _rows(text: str) -> dict[str, str]:
    generation: dict[str, dict[str, float]] = {}
    share: dict[str, float] = {}
    load: dict[str, float] = {}
    intensity: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            zone = sample.labels.get(names.ZONE, "")
            if sample.name == names.GENERATION_WATTS:
                generation.setdefault(zone, {})[sample.labels[names.PRODUCTION_TYPE]] = sample.value
            elif sample.name == names.RENEWABLE_SHARE_RATIO:
                share[zone] = sample.value
            elif sample.name == names.LOAD_WATTS:
                load[zone] = sample.value
            elif sample.name == names.CARBON_INTENSITY and sample.labels.get(names.BASIS) == "production":
                intensity[zone] = sample.value
    rows = {}
    for zone in sorted(set(generation) | set(load)):
        mix = generation.get(zone, {})
        total = sum(mix.values())
        top = ", ".join(f"{kind} {watts / total:.0%}" for kind, watts in sorted(mix.items(), key=lambda kv: -kv[1])[:3]) if total else "-"
        renewable = f"{share[zone]:.0%}" if zone in share else "-"
        load_text = f"{load[zone] / 1e9:.2f} GW" if zone in load else "-"
        generation_text = f"{total / 1e9:.2f} GW" if mix else "-"
        grams = f"{intensity[zone]:.0f} g/kWh" if zone in intensity else "-"
        rows[zone] = f"{grams:>10}  {generation_text:>10}  {renewable:>9}  {load_text:>8}  {top}"
    return rows
