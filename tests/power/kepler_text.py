"""Kepler expositions for the tests, all derived from the real 0.7.x dump.

`rescaled` and `without_container` edit the real text line by line (later scrapes of the same
Kepler); `new_generation` writes the 0.10+ metric set (names and labels of Kepler's
`power_collector.go`, /tmp/kepler-research/NOTES.md section 2) for the dump's own pods, with
energies taken from the dump's component counters. `oracle` reads the real text independently
with prometheus-client's parser.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

DUMP_NODE = "my-cluster-control-plane"  # Kepler's own `instance` label in the dump


def rescaled(text: str, factor: float) -> str:
    """Every energy counter multiplied by `factor` (> 1: later; < 1: after a restart)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("kepler_") and "_joules_total{" in line:
            head, value = line.rsplit(" ", 1)
            line = f"{head} {float(value) * factor!r}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def without_container(text: str, container_name: str) -> str:
    return "\n".join(line for line in text.splitlines() if f'container_name="{container_name}"' not in line) + "\n"


def pod_uid(namespace: str, pod: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kepler-test/{namespace}/{pod}"))


@dataclass(frozen=True)
class Container:
    container_id: str
    name: str
    pod: str
    namespace: str
    total: float  # kepler_container_joules_total{mode="dynamic"}
    components: dict[str, float]  # package, core, dram, ... {mode="dynamic"}


def oracle(text: str) -> dict[str, Container]:
    """The dump's containers by id, read with prometheus-client's parser, nothing else."""
    found: dict[str, dict[str, object]] = defaultdict(lambda: {"components": {}})
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("mode") != "dynamic" or not sample.name.startswith("kepler_container_"):
                continue
            entry = found[labels["container_id"]]
            entry.update(name=labels["container_name"], pod=labels["pod_name"], namespace=labels["container_namespace"])
            if sample.name == "kepler_container_joules_total":
                entry["total"] = sample.value
            else:  # kepler_container_<component>_joules_total
                component = sample.name.removeprefix("kepler_container_").removesuffix("_joules_total")
                entry["components"][component] = sample.value  # type: ignore[index]
    return {cid: Container(container_id=cid, **e) for cid, e in found.items()}  # type: ignore[arg-type]


def new_generation(text: str, *, node: str = DUMP_NODE, scale: float = 1.0) -> str:
    """The dump's real pods in Kepler 0.10+'s metric set: same namespaces, energies from the dump.

    Pod and container CPU joules in zones `package`, `core` (inside package: must not be added)
    and `dram`. Kepler 0.10 reports no `kernel`/`system` pseudo-containers at pod level, so the
    dump's kernel_processes and system_processes are left out.
    """
    containers = [c for c in oracle(text).values() if c.namespace not in ("kernel", "system")]
    out = [
        "# HELP kepler_build_info A metric with a constant '1' value labeled with version information",
        "# TYPE kepler_build_info gauge",
        'kepler_build_info{arch="amd64",branch="",goversion="go1.23.4",revision="unknown",version="v0.10.0"} 1',
    ]
    zones = ("core", "dram", "package")

    def family(name: str, help_text: str, rows: list[tuple[str, float]]) -> None:
        out.extend([f"# HELP {name} {help_text}", f"# TYPE {name} counter"])
        out.extend(f"{name}{{{labels}}} {value * scale!r}" for labels, value in rows)

    container_rows, pod_energy = [], defaultdict(float)
    for c in sorted(containers, key=lambda c: c.container_id):
        uid = pod_uid(c.namespace, c.pod)
        for zone in zones:
            value = c.components.get(zone, 0.0)
            pod_energy[(uid, c.pod, c.namespace, zone)] += value
            container_rows.append((f'container_id="{c.container_id}",container_name="{c.name}",node_name="{node}",'
                                   f'pod_id="{uid}",runtime="containerd",state="running",zone="{zone}"', value))
    family("kepler_container_cpu_joules_total", "Energy consumption of cpu at container level in joules", container_rows)
    pod_rows = [(f'node_name="{node}",pod_id="{uid}",pod_name="{pod}",pod_namespace="{ns}",state="running",zone="{zone}"',
                 value) for (uid, pod, ns, zone), value in sorted(pod_energy.items())]
    family("kepler_pod_cpu_joules_total", "Energy consumption of cpu at pod level in joules", pod_rows)
    node_rows = [(f'node_name="{node}",path="/sys/class/powercap/intel-rapl:0",zone="{zone}"',
                  sum(v for (_, _, _, z), v in pod_energy.items() if z == zone) * 3) for zone in zones]
    family("kepler_node_cpu_joules_total", "Energy consumption of cpu at node level in joules", node_rows)
    return "\n".join(out) + "\n"


def namespace_totals(text: str, *, components: tuple[str, ...] | None = None,
                     skip: tuple[str, ...] = ()) -> dict[str, float]:
    """Per namespace: Kepler's container total, or the sum of the given components (independent read)."""
    totals: dict[str, float] = defaultdict(float)
    for c in oracle(text).values():
        if c.namespace in skip:
            continue
        totals[c.namespace] += c.total if components is None else sum(c.components.get(k, 0.0) for k in components)
    return dict(totals)
