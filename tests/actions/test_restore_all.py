"""`gridshift actions restore`: every hold undone from its state annotation, whatever the alerts.

Aspects (held by the real service under a firing alert, then restored by actions/restore.py over the
real client against the emulator):
- every kind the service holds (Deployment, StatefulSet, CronJob, Job, an HPA's lowered bounds, a
  node-affinity migration, a KEDA ScaledObject) is restored exactly, with an Event, one line each and
  a summary, exit 0, while the alert is still firing;
- idempotent: a second run writes nothing and says there is nothing to restore;
- a namespace that has since opted out is restored too; `--namespace N` restores only N;
- a corrupt state: a clear line, that object unchanged, the others restored, exit 1;
- a person's edit while held wins (left, state removed); a protected namespace's copied state is left;
- 409 on a restore patch: re-read and restored; 5xx or a timeout: that object unchanged, a failed
  line, exit 1; 403 on a list: a failed line (what is held there is unknown), exit 1;
- `--dry-run`: nothing sent; `--dry-run=server`: every patch sent with dryRun=All, nothing persisted;
- the calls it makes are in kube/client.py's VERBS (the chart's RBAC for a pre-delete hook).
"""

from __future__ import annotations

import pytest

from gridshift.actions.kube.client import VERBS, Kube
from gridshift.actions.restore import run_restore
from tests.actions.conftest import alert

HIGH = alert("DE_LU", "high")
STATE = "gridshift.io/state"
PAUSED = "autoscaling.keda.sh/paused-replicas"
HELD = [("Deployment", "paused", "web"), ("StatefulSet", "paused", "db"), ("CronJob", "paused", "nightly"),
        ("Job", "paused", "batch"), ("HorizontalPodAutoscaler", "scaled", "api-hpa"), ("Deployment", "moved", "worker"),
        ("ScaledObject", "keda", "consumer-so")]


class Restore:
    """Runs actions/restore.py as `gridshift actions restore` does, collecting what it prints."""

    def __init__(self, api, clock) -> None:
        self.api, self.clock = api, clock
        self.calls: set[tuple[str, str, str]] = set()

    def __call__(self, namespace=None, dry_run="", protected=frozenset(), timeout=3.0):
        printed: list[str] = []
        kube = Kube(self.api, timeout_seconds=timeout, on_call=lambda *call: self.calls.add(call))
        code = run_restore(kube=kube, namespaces=(namespace,) if namespace else (), dry_run=dry_run, karmada=False, protected=protected,
                           clock=self.clock, out=printed.append)
        return code, printed


@pytest.fixture
def restore(api, clock):
    return Restore(api, clock)


@pytest.fixture
def held(make_service, cluster, exporter):
    """Every kind held by the service under a HIGH alert that stays firing; returns the objects as before."""
    service = make_service({"exporter_url": exporter.url})
    cluster.node("de-1", zone="DE_LU")
    cluster.node("fr-1", zone="FR")
    exporter.intensity.update({"DE_LU": 400.0, "FR": 50.0})
    cluster.keda()
    zone = {"gridshift.io/zone": "DE_LU"}
    cluster.namespace("paused", {"gridshift.io/action": "pause", **zone})
    cluster.namespace("scaled", {"gridshift.io/action": "scale-down", **zone})
    cluster.namespace("moved", {"gridshift.io/action": "migrate", **zone})
    cluster.namespace("keda", {"gridshift.io/action": "pause", **zone})
    cluster.deployment("paused", "web", replicas=3)
    cluster.statefulset("paused", "db", replicas=2)
    cluster.cronjob("paused", "nightly")
    cluster.job("paused", "batch")
    cluster.deployment("scaled", "api", replicas=4)
    cluster.hpa("scaled", "api-hpa", "api", min_replicas=4, max_replicas=10)
    cluster.deployment("moved", "worker")
    cluster.deployment("keda", "consumer", replicas=5)
    cluster.scaled_object("keda", "consumer-so", "consumer", annotations={PAUSED: "3"})
    before = {key: cluster.get(*key) for key in HELD}
    service.notify(HIGH)
    service.reconcile()
    assert all(cluster.state(*key) is not None for key in HELD), "the scenario must hold every kind"
    return before


def restored_exactly(cluster, before, key) -> bool:
    """Spec and annotations as before the hold (a Job also keeps its time held, for its max-delay budget)."""
    now = cluster.get(*key)
    annotations = {k: v for k, v in (now["metadata"].get("annotations") or {}).items() if k != "gridshift.io/held-seconds"}
    return now["spec"] == before[key]["spec"] and annotations == (before[key]["metadata"].get("annotations") or {})


def test_every_held_kind_is_restored_with_one_line_each(restore, cluster, held):
    code, printed = restore()
    assert code == 0
    for key in HELD:
        assert restored_exactly(cluster, held, key), key
        assert cluster.events(key[1], key[2], reason="GridshiftRestored"), key
    lines = printed[:-1]
    assert sorted(line.split()[0] for line in lines) == ["restored"] * len(HELD)
    assert {tuple(line.split()[1:3]) for line in lines} == {(kind, f"{ns}/{name}:") for kind, ns, name in HELD}
    normalised = {" ".join(line.split()) for line in lines}
    assert "restored Deployment paused/web: /spec/replicas 0 -> 3" in normalised
    assert ('restored ScaledObject keda/consumer-so: /metadata/annotations/autoscaling.keda.sh~1paused-replicas "0" -> "3"'
            in normalised)
    assert printed[-1] == f"gridshift actions restore: {len(HELD)} held in all namespaces: {len(HELD)} restored"
    assert cluster.annotations("ScaledObject", "keda", "consumer-so") == {PAUSED: "3"}  # the user's value back


def test_a_second_run_restores_nothing_and_says_so(restore, cluster, held):
    assert restore()[0] == 0
    mark = cluster.mark()
    code, printed = restore()
    assert code == 0
    assert cluster.patches(since=mark) == []
    assert printed == ["gridshift actions restore: nothing to restore in all namespaces: no object carries gridshift.io/state"]


def test_a_namespace_that_opted_out_is_restored_too(restore, cluster, held):
    cluster.set("Namespace", None, "paused", lambda ns: ns["metadata"].pop("annotations"))
    assert restore()[0] == 0
    assert restored_exactly(cluster, held, ("Deployment", "paused", "web"))


def test_one_namespace_only(restore, cluster, held):
    code, printed = restore(namespace="scaled")
    assert code == 0
    assert restored_exactly(cluster, held, ("HorizontalPodAutoscaler", "scaled", "api-hpa"))
    assert cluster.state("Deployment", "paused", "web") is not None
    assert printed[-1] == "gridshift actions restore: 1 held in namespace scaled: 1 restored"


def test_a_corrupt_state_is_reported_changes_nothing_and_the_others_are_restored(restore, cluster, held):
    cluster.set("Deployment", "paused", "web", lambda d: d["metadata"]["annotations"].update({STATE: "{broken"}))
    versions = cluster.versions("Deployment", "paused", "web")
    broken = cluster.get("Deployment", "paused", "web")
    code, printed = restore()
    assert code == 1
    assert cluster.get("Deployment", "paused", "web") == broken
    assert cluster.versions("Deployment", "paused", "web") == versions
    assert "failed   Deployment paused/web: state annotation is not JSON; nothing changed on it" in printed
    assert all(restored_exactly(cluster, held, key) for key in HELD if key != ("Deployment", "paused", "web"))
    assert printed[-1].endswith(f"{len(HELD) - 1} restored, 1 failed")


def test_a_persons_edit_while_held_wins(restore, cluster, held):
    cluster.set("Deployment", "paused", "web", lambda d: d["spec"].update(replicas=5))
    code, printed = restore()
    assert code == 0
    web = cluster.get("Deployment", "paused", "web")
    assert web["spec"]["replicas"] == 5 and STATE not in web["metadata"]["annotations"]
    assert any(line.startswith("left     Deployment paused/web:") for line in printed)
    assert cluster.events("paused", "web", reason="GridshiftLeftAsChanged")


def test_a_copied_state_in_a_protected_namespace_is_left(restore, cluster, held):
    copied = cluster.annotations("Deployment", "paused", "web")[STATE]
    cluster.namespace("kube-system")
    cluster.deployment("kube-system", "coredns", replicas=2, annotations={STATE: copied})
    code, printed = restore(protected=frozenset({"kube-system"}))
    assert code == 0
    assert cluster.versions("Deployment", "kube-system", "coredns") == 1
    assert any(line.startswith("skipped  Deployment kube-system/coredns: the namespace is protected") for line in printed)


def test_a_conflict_is_reread_and_restored(restore, cluster, held, k8s):
    fault = k8s.inject("PATCH", "deployments", name="web", status=409)
    assert restore()[0] == 0
    assert fault.hits == 1
    assert restored_exactly(cluster, held, ("Deployment", "paused", "web"))


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 503}, {"status": None, "delay": 1.5}],
                         ids=["500", "503", "timeout"])
def test_an_api_failure_leaves_that_object_and_fails_the_run(restore, cluster, held, k8s, fault):
    k8s.inject("PATCH", "statefulsets", name="db", **fault)
    before = cluster.get("StatefulSet", "paused", "db")
    code, printed = restore(timeout=0.5)
    assert code == 1
    if fault["status"] is not None:
        assert cluster.get("StatefulSet", "paused", "db") == before
    assert any(line.startswith("failed   StatefulSet paused/db:") for line in printed)
    assert restored_exactly(cluster, held, ("Deployment", "paused", "web"))
    code, printed = restore()  # the next run finishes the job
    assert code == 0 and restored_exactly(cluster, held, ("StatefulSet", "paused", "db"))


def test_a_forbidden_list_fails_the_run(restore, cluster, held, k8s):
    k8s.inject("GET", "cronjobs", status=403, times=None)
    code, printed = restore()
    assert code == 1
    assert any(line.startswith("failed   CronJob */*: cannot list cronjobs:") and "403" in line for line in printed)
    assert cluster.state("CronJob", "paused", "nightly") is not None
    assert restored_exactly(cluster, held, ("Deployment", "paused", "web"))


def test_dry_run_sends_nothing(restore, cluster, held):
    mark = cluster.mark()
    code, printed = restore(dry_run="client")
    assert code == 0
    assert cluster.patches(since=mark) == []
    assert all(cluster.state(*key) is not None for key in HELD)
    assert printed[-1] == (f"gridshift actions restore (client dry run: nothing persisted): {len(HELD)} held in all "
                           f"namespaces: {len(HELD)} accepted in a dry run")


def test_server_dry_run_sends_each_patch_with_dry_run_all_and_persists_nothing(restore, cluster, held):
    stored = {key: cluster.get(*key) for key in HELD}
    events = len(cluster.events())
    mark = cluster.mark()
    code, printed = restore(dry_run="server")
    assert code == 0
    patches = cluster.patches(since=mark)
    assert len(patches) == len(HELD) and all(p.params.get("dryRun") == "All" for p in patches)
    assert {key: cluster.get(*key) for key in HELD} == stored
    assert len(cluster.events()) == events
    assert all("server dry run accepted" in line for line in printed[:-1])


def test_restore_calls_are_in_the_verbs_listed(restore, held):
    restore()
    allowed = {(verb, group, resource) for (group, resource), verbs in VERBS.items() for verb in verbs}
    assert restore.calls <= allowed, restore.calls - allowed
