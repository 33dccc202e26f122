"""The estimator without Kepler: pod UIDs from cgroup paths, and energy from this machine's real
/proc (psutil) with a fake pod mapping: this test process (or a child) is mapped to a fake pod
UID, whose namespace comes from the Kubernetes emulator's pod list.

Aspects: cgroup v1/v2, cgroupfs/systemd drivers, underscores, static pods, nested kind paths;
dynamic energy = CPU seconds x (max - min) W; a pod whose namespace is learnt later loses
nothing; a pod whose processes end is reported once more, then only its namespace total stays;
the same series from the exporter, zone from the node's label, no scrape status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from gridshift.exporters.power import names
from gridshift.exporters.power.cgroup import pod_uid_from_cgroup, pod_uid_of_pid
from gridshift.exporters.power.estimator import SYSTEM, CpuPowerModel, Estimator

pytestmark = pytest.mark.filterwarnings("ignore:read_binary is deprecated:DeprecationWarning")

UID = "5b1c0a8e-6f1d-4c52-9d7e-0c2f3a4b5c6d"
AWS = CpuPowerModel(min_watts_per_vcpu=0.74, max_watts_per_vcpu=3.5)
ENERGY = f"{names.NAMESPACE_ENERGY_JOULES}_total"


@pytest.mark.parametrize("text", [
    # cgroup v1, cgroupfs driver (one line per hierarchy)
    f"12:pids:/kubepods/burstable/pod{UID}/0123abcd\n4:cpu,cpuacct:/kubepods/burstable/pod{UID}/0123abcd\n",
    # cgroup v1, systemd driver: dashes of the UID written as underscores
    f"4:cpu,cpuacct:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID.replace('-', '_')}.slice/"
    "cri-containerd-0123abcd.scope\n",
    # cgroup v2, systemd driver, guaranteed QoS (no QoS level)
    f"0::/kubepods.slice/kubepods-pod{UID.replace('-', '_')}.slice/cri-containerd-0123abcd.scope\n",
    # cgroup v2, cgroupfs driver, best effort
    f"0::/kubepods/besteffort/pod{UID}/0123abcd\n",
    # kind: kubelet nested in a node container
    f"0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod"
    f"{UID.replace('-', '_')}.slice/cri-containerd-0123abcd.scope\n",
])
def test_pod_uid_from_cgroup_paths(text):
    assert pod_uid_from_cgroup(text) == UID


def test_static_pods_and_processes_outside_pods():
    assert pod_uid_from_cgroup("0::/kubepods/burstable/pod2f4a6cb4e5f3f9d3c1b0a9e8d7c6b5a4/abc\n") == (
        "2f4a6cb4e5f3f9d3c1b0a9e8d7c6b5a4")
    assert pod_uid_from_cgroup("0::/system.slice/containerd.service\n") is None
    assert pod_uid_from_cgroup("0::/\n") is None
    assert pod_uid_from_cgroup(f"0::/user.slice/pod{UID}\n") is None  # not under kubepods


def test_pod_uid_of_pid_reads_the_process_cgroup(tmp_path):
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "cgroup").write_text(f"0::/kubepods/burstable/pod{UID}/abc\n")
    assert pod_uid_of_pid(4242, tmp_path) == UID
    assert pod_uid_of_pid(4243, tmp_path) is None
    assert pod_uid_of_pid(os.getpid()) is None  # this machine runs the tests outside any pod


def burn(cpu_seconds: float) -> None:
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        sum(range(1000))


def test_energy_of_a_pod_is_its_cpu_seconds_times_the_dynamic_watts():
    me = os.getpid()
    estimator = Estimator(model=AWS, pod_of_pid=lambda pid: UID if pid == me else pod_uid_of_pid(pid))
    estimator.pod_namespaces = {UID: "team-a"}
    first = estimator.read()
    assert first.series[UID].joules == 0  # the first sample is the baseline
    started = time.process_time()
    burn(0.5)
    spent = time.process_time() - started
    second = estimator.read()
    assert second.series[UID].namespace == "team-a"
    assert second.series[UID].joules == pytest.approx(spent * (3.5 - 0.74), rel=0.15)
    assert second.series[SYSTEM].namespace == SYSTEM  # the other processes of this machine


def test_a_pod_learnt_later_and_a_pod_whose_processes_end():
    child = subprocess.Popen([sys.executable, "-c", "import time\nend=time.process_time()+0.4\n"
                              "while time.process_time()<end: pass\ntime.sleep(60)"])
    try:
        me = os.getpid()
        mapping = {me: UID, child.pid: "pod-of-child"}
        estimator = Estimator(model=AWS, pod_of_pid=lambda pid: mapping.get(pid))
        estimator.read()
        started = time.process_time()  # this process's CPU, every thread's: what the estimator sees of it
        burn(0.2)
        time.sleep(0.5)  # the child burns its 0.4 s
        reading = estimator.read()
        assert UID not in reading.series and estimator.unresolved == {UID, "pod-of-child"}
        estimator.pod_namespaces = {UID: "team-a", "pod-of-child": "team-b"}
        spent = time.process_time() - started
        reading = estimator.read()
        assert spent >= 0.2
        assert reading.series[UID].joules == pytest.approx(spent * 2.76, rel=0.15)  # nothing lost while unknown
        assert reading.series["pod-of-child"].joules == pytest.approx(0.4 * 2.76, rel=0.3)
        child.kill()
        child.wait()
        assert estimator.read().series["pod-of-child"].joules == reading.series["pod-of-child"].joules  # once more
        assert "pod-of-child" not in estimator.read().series
    finally:
        child.kill()
        child.wait()


def test_the_estimator_exporter_serves_the_same_series(k8s, kube_api, make_exporter):
    k8s.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-est", "labels": {"gridshift.io/zone": "FR"}}})
    running = make_exporter({"estimator": {"enabled": True, "node_name": "node-est"}, "scrape_interval_seconds": 30,
                             "scrape_timeout_seconds": 2}, kube_api=kube_api)
    me = os.getpid()
    running.exporter.refresher.estimator.pod_of_pid = lambda pid: UID if pid == me else None
    running.cycle()
    started = time.process_time()
    burn(0.3)
    running.cycle(30)  # a new unknown pod: the node's pods are listed at once, but it is not in the API yet
    assert "team-a" not in running.per_namespace(ENERGY)
    k8s.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job", "namespace": "team-a", "uid": UID},
             "spec": {"nodeName": "node-est", "containers": [{"name": "job"}]}})
    running.cycle(60)  # pods still unknown are looked up again every minute
    spent = time.process_time() - started
    assert running.per_namespace(ENERGY, node="node-est", zone="FR")["team-a"] == pytest.approx(spent * 2.76, rel=0.2)
    assert running.value(names.NODE_ZONE_INFO, node="node-est", zone="FR") == 1
    assert running.series(names.KEPLER_SCRAPE_UP) == {}
