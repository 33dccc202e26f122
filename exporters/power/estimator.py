"""Without Kepler: energy per pod from CPU time, with a linear watts-per-vCPU model.

The node's power is modelled as Cloud Carbon Footprint does for compute
(https://www.cloudcarbonfootprint.org/docs/methodology, "Compute"):

    watts = vCPUs x (min + utilisation x (max - min))

`min` is drawn whatever runs (idle); the rest grows with the CPU seconds spent, at
`max - min` joules per busy vCPU-second. As with Kepler, only that dynamic part is attributed:
each process's CPU seconds since the last sample x (max - min) joules go to its pod (found from
its cgroup), kernel threads to `kernel`, other processes outside pods to `system`. The result
is a Reading of cumulative joules per pod UID, which the accumulator treats like Kepler's.

Needs the host's processes: run as a DaemonSet with `hostPID: true`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import psutil

from gridshift.exporters.power.cgroup import pod_uid_of_pid
from gridshift.exporters.power.records import GENERATION_ESTIMATOR, Reading, SeriesEnergy

KERNEL = "kernel"
SYSTEM = "system"
_KTHREADD = 2


@dataclass(frozen=True)
class CpuPowerModel:
    min_watts_per_vcpu: float
    max_watts_per_vcpu: float

    def dynamic_joules(self, cpu_seconds: float) -> float:
        return cpu_seconds * (self.max_watts_per_vcpu - self.min_watts_per_vcpu)


class Estimator:
    def __init__(self, *, model: CpuPowerModel, pod_of_pid: Callable[[int], str | None] = pod_uid_of_pid) -> None:
        self.model = model
        self.pod_of_pid = pod_of_pid
        # Pod UID -> namespace for the pods of this node; the refresher keeps it current.
        self.pod_namespaces: Mapping[str, str] = {}
        self.unresolved: set[str] = set()  # pod UIDs with energy but no known namespace yet
        self._cpu: dict[tuple[int, float], float] = {}  # (pid, start time) -> CPU seconds at the last sample
        self._owner: dict[tuple[int, float], str] = {}  # (pid, start time) -> pod UID, KERNEL or SYSTEM
        self._joules: dict[str, float] = {}  # owner -> cumulative J
        self._sampled = False

    def read(self) -> Reading:
        cpu: dict[tuple[int, float], float] = {}
        owners: dict[tuple[int, float], str] = {}
        for process in psutil.process_iter(["pid", "ppid", "create_time", "cpu_times"]):
            info = process.info
            times = info["cpu_times"]
            if times is None or info["create_time"] is None:
                continue  # ended, or not ours to read
            key = (info["pid"], info["create_time"])
            seconds = times.user + times.system
            before = self._cpu.get(key)
            delta = seconds - before if before is not None else (seconds if self._sampled else 0.0)
            owner = self._owner.get(key) or self._owner_of(info["pid"], info["ppid"])
            cpu[key], owners[key] = seconds, owner
            self._joules[owner] = self._joules.get(owner, 0.0) + self.model.dynamic_joules(max(delta, 0.0))
        self._cpu, self._owner, self._sampled = cpu, owners, True
        return self._reading(live=set(owners.values()))

    def _reading(self, *, live: set[str]) -> Reading:
        series: dict[str, SeriesEnergy] = {}
        self.unresolved = set()
        for owner, joules in self._joules.items():
            namespace = owner if owner in (KERNEL, SYSTEM) else self.pod_namespaces.get(owner)
            if namespace is None:
                self.unresolved.add(owner)
            else:
                series[owner] = SeriesEnergy(namespace, joules)
        # An owner without processes has been reported one last time; if its pod runs again, its
        # count restarts from 0, which the accumulator reads as a counter reset.
        self._joules = {owner: joules for owner, joules in self._joules.items() if owner in live}
        return Reading(GENERATION_ESTIMATOR, series)

    def _owner_of(self, pid: int, ppid: int | None) -> str:
        pod = self.pod_of_pid(pid)
        if pod is not None:
            return pod
        return KERNEL if _KTHREADD in (pid, ppid) else SYSTEM
