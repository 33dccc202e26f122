"""Issue 19 defect 2: Alertmanager lists every alert of the cluster, and one that is not
gridshift's with a label over 1,024 characters (an error message, say) failed the whole sync,
so a lost "resolved" (a receiver with `send_resolved: false`, a dropped notification) never
healed and workloads stayed held until max-delay. Alerts that are not gridshift's (no `zone` and
known `level`) are ignored, whatever they carry. Against the real `prometheus-alertmanager`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from gridshift.actions.upstreams import Alertmanager, UpstreamError
from gridshift.demo.processes import Process, find, free_port
from tests.actions.conftest import alert

HIGH = alert("DE_LU", "high")
LONG = {"alertname": "KubeJobFailed", "namespace": "ci", "severity": "warning", "message": "x" * 5000}
CONFIG = {"route": {"receiver": "gridshift", "group_wait": "1s"},
          "receivers": [{"name": "gridshift",
                         "webhook_configs": [{"url": "http://127.0.0.1:9/api/v1/alerts", "send_resolved": False}]}]}


@pytest.fixture
def real_alertmanager(tmp_path: Path) -> Iterator[Process]:
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(CONFIG))
    log = tmp_path / "alertmanager.log"
    process = subprocess.Popen([find("prometheus-alertmanager"), f"--config.file={config}",
                                f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                "--cluster.listen-address=", "--log.level=warn"],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    running = Process("alertmanager", f"http://127.0.0.1:{port}", process, log)
    running.wait_ready("/-/ready")
    yield running
    running.stop()


def post(am: Process, *labels: dict[str, str]) -> None:
    response = requests.post(f"{am.url}/api/v2/alerts", json=[{"labels": dict(each)} for each in labels], timeout=5)
    assert response.status_code == 200, response.text


def test_an_unrelated_alert_with_a_long_label_is_ignored(real_alertmanager: Process) -> None:
    post(real_alertmanager, LONG, {"alertname": "GridCarbonIntensityHigh", "zone": "DE_LU", "level": "high"})
    found = Alertmanager(real_alertmanager.url, timeout_seconds=5).active_alerts()
    assert {a.name for a in found if a.actionable} == {"GridCarbonIntensityHigh"}
    assert not any(a.actionable for a in found if a.name != "GridCarbonIntensityHigh")


def test_a_gridshift_alert_with_an_unreadable_label_still_fails_the_sync(real_alertmanager: Process) -> None:
    """What is gridshift's must be read whole, or the book is kept as it was (never half replaced)."""
    post(real_alertmanager, {"alertname": "GridCarbonIntensityHigh", "zone": "DE_LU", "level": "high", "note": "y" * 2000})
    with pytest.raises(UpstreamError, match="at most 1024 characters"):
        Alertmanager(real_alertmanager.url, timeout_seconds=5).active_alerts()


def test_a_lost_resolved_heals_beside_an_unrelated_long_alert(make_service, cluster, real_alertmanager: Process) -> None:
    service = make_service({"alertmanager_url": real_alertmanager.url})
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)  # the webhook's firing; its resolved is never sent
    service.reconciler.run_pass(sync_alertmanager=False)
    assert cluster.get("Deployment", "team-a", "web")["spec"]["replicas"] == 0
    post(real_alertmanager, LONG)  # Alertmanager's view: only the unrelated alert is active
    service.reconcile()  # syncs from Alertmanager: HIGH is no longer active
    assert cluster.get("Deployment", "team-a", "web")["spec"]["replicas"] == 3
