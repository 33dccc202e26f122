"""Real Prometheus and Alertmanager processes on loopback (Debian's `prometheus` and
`prometheus-alertmanager` packages), for the demo and the end-to-end tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

INSTALL_HINT = "install them with: sudo apt-get install prometheus prometheus-alertmanager (scripts/bootstrap does)"


class MissingTool(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise MissingTool(f"{binary} not found: {INSTALL_HINT}")
    return path


@dataclass
class Process:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    _closed: bool = field(default=False, repr=False)

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}{path}", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_prometheus(*, workdir: Path, scrape_targets: dict[str, str], rule_files: list[Path],
                     alertmanager_url: str, interval: str = "1s") -> Process:
    """Scrapes each job -> host:port every `interval`, evaluates `rule_files`, alerts Alertmanager."""
    port = free_port()
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(path) for path in rule_files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_url.split("//", 1)[-1]]}]}]},
        "scrape_configs": [
            {"job_name": job, "honor_labels": True, "static_configs": [{"targets": [target]}]}
            for job, target in scrape_targets.items()
        ],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    log = workdir / "prometheus.log"
    process = subprocess.Popen(
        [find("prometheus"), f"--config.file={config_file}", f"--storage.tsdb.path={workdir / 'prometheus-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    running = Process("prometheus", f"http://127.0.0.1:{port}", process, log)
    running.wait_ready("/-/ready")
    return running


def start_alertmanager(*, workdir: Path, webhook_url: str, token: str) -> Process:
    """Routes alerts with a `level` to the webhook (bearer token from a credentials file), quickly."""
    port = free_port()
    token_file = workdir / "webhook-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    config = {
        "route": {"receiver": "blackhole", "group_by": ["alertname", "zone"], "routes": [{
            "receiver": "gridshift-actions", "matchers": ['level=~"high|critical|low"'], "group_by": ["zone"],
            "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1m",
        }]},
        "receivers": [
            {"name": "blackhole"},
            {"name": "gridshift-actions", "webhook_configs": [{
                "url": webhook_url, "send_resolved": True,
                "http_config": {"authorization": {"type": "Bearer", "credentials_file": str(token_file)}},
            }]},
        ],
    }
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config))
    log = workdir / "alertmanager.log"
    process = subprocess.Popen(
        [find("prometheus-alertmanager"), f"--config.file={config_file}", f"--storage.path={workdir / 'alertmanager-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    running = Process("alertmanager", f"http://127.0.0.1:{port}", process, log)
    running.wait_ready("/-/ready")
    return running


def accelerated_rules(source: Path, target: Path, *, pending: str = "2s") -> Path:
    """The project's rules with every `for:` shortened to `pending` and 1 s group intervals, so a
    replayed day plays out in a minute. The rules' own timing is tested with promtool."""
    document = yaml.safe_load(source.read_text())
    for group in document["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = pending
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    return target
