"""A Kepler for the demo loop: per-node /metrics in Kepler 0.7's text format, whose power follows
what the action service did to the emulated cluster.

What is real, taken from the recorded Kepler dump (../shared/data/kepler/
datadog_kepler_0.7.x_kind_cluster_metrics.txt: a scrape of a real Kepler 0.7.x in a kind cluster):

- the exposition: the `kepler_container_joules_total` family with its HELP and TYPE lines copied
  from the dump and its label set and order (container_id, container_name, container_namespace,
  mode, pod_name, source), so the power exporter reads it with the same code as a real Kepler;
- the power of a busy CPU: the dump's dynamic energy of every container (its
  `kepler_container_joules_total{mode="dynamic"}`, kernel and system processes included) over
  their eBPF CPU time (`kepler_container_bpf_cpu_time_ms_total`): about 4.36 J per CPU-second.

What is derived, and how (the dump is one scrape of other namespaces; it has no time base):

- the demo's namespaces and pods: every Deployment of the emulated cluster has one pod per
  replica in its current `spec.replicas`, read at every scrape, so a paused workload (0
  replicas) draws nothing and a scaled-down one proportionally less; its pods alternate
  between the nodes; CronJobs start no Jobs in the emulator, so they draw nothing;
- each running pod keeps one CPU busy: it draws the dump's power of a busy CPU, constant;
- a pod that comes back after a hold is a new container (a new container_id, from zero), as
  in a real cluster;
- only the `mode="dynamic"` lines are served: gridshift attributes no idle energy (docs/power.md).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort
from prometheus_client.parser import text_string_to_metric_families

FAMILY = "kepler_container_joules_total"
CPU_TIME = "kepler_container_bpf_cpu_time_ms_total"
DUMP = Path("kepler") / "datadog_kepler_0.7.x_kind_cluster_metrics.txt"

Replicas = Callable[[], Mapping[tuple[str, str], int]]  # (namespace, workload) -> running replicas


@dataclass(frozen=True)
class DumpFigures:
    header: tuple[str, str]  # the family's `# HELP` and `# TYPE` lines, as Kepler wrote them
    watts_per_busy_cpu: float  # dynamic joules per CPU-second


def read_dump(text: str) -> DumpFigures:
    header = tuple(line for line in text.splitlines() if line.startswith(("# HELP ", "# TYPE "))
                   and line.split(" ")[2] == FAMILY)
    joules = cpu_ms = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == FAMILY and sample.labels.get("mode") == "dynamic":
                joules += sample.value
            elif sample.name == CPU_TIME:
                cpu_ms += sample.value
    if len(header) != 2 or cpu_ms <= 0:
        raise ValueError(f"not the Kepler 0.7 dump: no {FAMILY} header or no {CPU_TIME}")
    return DumpFigures(header=(header[0], header[1]), watts_per_busy_cpu=joules / (cpu_ms / 1000.0))


@dataclass
class _Pod:
    namespace: str
    workload: str
    index: int
    container_id: str
    joules: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.workload}-{self.index}"


class DemoKepler:
    """The cluster's pods and their cumulative dynamic energy, advanced at every scrape."""

    def __init__(self, figures: DumpFigures, replicas: Replicas, *, nodes: Sequence[str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.figures, self.replicas, self.nodes, self.clock = figures, replicas, tuple(nodes), clock
        self._pods: dict[tuple[str, str, int], _Pod] = {}
        self._incarnations = itertools.count()
        self._last = clock()
        self._lock = threading.Lock()

    def advance(self) -> None:
        """Add the energy since the last call to the pods that ran, then start and stop pods."""
        with self._lock:
            now = self.clock()
            for pod in self._pods.values():
                pod.joules += self.figures.watts_per_busy_cpu * (now - self._last)
            self._last = now
            wanted = {(ns, name, i) for (ns, name), count in self.replicas().items() for i in range(count)}
            for key in self._pods.keys() - wanted:
                del self._pods[key]
            for key in sorted(wanted - self._pods.keys()):
                self._pods[key] = _Pod(*key, container_id=_container_id(key, next(self._incarnations)))

    def node_of(self, pod: _Pod) -> str:
        return self.nodes[pod.index % len(self.nodes)]

    def exposition(self, node: str) -> str:
        self.advance()
        with self._lock:
            pods = sorted((p for p in self._pods.values() if self.node_of(p) == node), key=lambda p: p.container_id)
            lines = [*self.figures.header, *(_line(pod) for pod in pods)]
        return "\n".join(lines) + "\n"

    def app(self) -> Flask:
        """`GET /<node>/metrics`: that node's Kepler."""
        app = Flask("gridshift-demo-kepler")

        @app.get("/<node>/metrics")
        def metrics(node: str) -> Response:
            if node not in self.nodes:
                abort(404)
            return Response(self.exposition(node), mimetype="text/plain; version=0.0.4")

        return app

    def urls(self, base: str) -> Iterator[tuple[str, str]]:
        return ((node, f"{base}/{node}/metrics") for node in self.nodes)


def _container_id(key: tuple[str, str, int], incarnation: int) -> str:
    return hashlib.sha256(f"{key[0]}/{key[1]}-{key[2]}/{incarnation}".encode()).hexdigest()


def _line(pod: _Pod) -> str:
    return (f'{FAMILY}{{container_id="{pod.container_id}",container_name="{pod.workload}",'
            f'container_namespace="{pod.namespace}",mode="dynamic",pod_name="{pod.name}",source=""}} {pod.joules:.3f}')
