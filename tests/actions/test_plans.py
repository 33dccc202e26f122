"""Plans (issue 17, docs/actions.md "Plans"): the action service exactly as deployed, the
Kubernetes API emulated (kmock), the grid exporter's forecast replaying two real days of
Electricity Maps' hourly DE intensity (June 2022: a solar dip each midday) from the test clock on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gridshift import names
from gridshift.exporters.grid.traces import load_trace
from tests.actions.conftest import START, alert, iso

HOUR = 3600.0
DATA = Path(__file__).resolve().parents[2] / "data" / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv"
VALUES = [value for _, value in load_trace(DATA).points[:96]]
ZONE = "DE"
OPTED = {names.ANNOTATION_ACTION: "pause", names.ANNOTATION_ZONE: ZONE, names.ANNOTATION_MAX_DELAY: "24h",
         names.ANNOTATION_DURATION: "1h"}


def greenest_hour(first: int, last: int) -> int:
    """The greenest hour index in [first, last] (the earliest of equals), by brute force."""
    return min(range(first, last + 1), key=lambda i: (VALUES[i], i))


@pytest.fixture
def planned(make_service, exporter, alertmanager):
    exporter.forecast[ZONE] = [(START + i * HOUR, value) for i, value in enumerate(VALUES)]
    return make_service({"exporter_url": exporter.url, "alertmanager_url": alertmanager.url})


def waiting_job(cluster, namespace: str, name: str, *, created: float = START, annotations: dict[str, str] | None = None,
                with_created: bool = True) -> dict[str, Any]:
    """A Job created suspended for gridshift to start (`gridshift.io/start: planned`)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace,
                            "annotations": {names.ANNOTATION_START: "planned", **(annotations or {})}}
    if with_created:
        meta["creationTimestamp"] = iso(created)
    return cluster.emu.add({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                            "spec": {"suspend": True, "parallelism": 1, "completions": 1,
                                     "template": {"spec": {"restartPolicy": "Never",
                                                           "containers": [{"name": name, "image": "busybox"}]}}},
                            "status": {}})


def suspended(cluster, kind: str, namespace: str, name: str) -> bool:
    return cluster.get(kind, namespace, name)["spec"].get("suspend") is True


def test_a_job_created_suspended_starts_at_its_greenest_hour(planned, cluster, clock):
    cluster.namespace("batch", OPTED)
    waiting_job(cluster, "batch", "report")
    planned.reconcile()
    best = greenest_hour(0, 24)  # 1 h of work, 24 h of slack, created now
    assert best > 0 and suspended(cluster, "Job", "batch", "report")
    [decision] = planned.decisions(namespace="batch")
    assert decision["decision"] == "wait" and decision["plan"]["release_at"] == iso(START + best * HOUR)
    assert decision["plan"]["expected_grams_per_kwh"] == pytest.approx(VALUES[best], abs=0.1)
    assert decision["plan"]["at_once_grams_per_kwh"] == pytest.approx(VALUES[0], abs=0.1)
    [event] = cluster.events("batch", "report", reason="GridshiftPlanned")
    assert iso(START + best * HOUR)[:16] in event["message"] and "1 h run (gridshift.io/duration)" in event["message"]
    labels = {"namespace": "batch", "kind": "Job", "workload": "report"}
    assert planned.metric(names.PLANNED_RELEASE, **labels) == START + best * HOUR
    assert planned.metric(names.PLANNED_INTENSITY, **labels, when="planned") == pytest.approx(VALUES[best], abs=0.1)

    planned.reconcile()  # the same plan: no new decision, no new Event
    assert len(planned.decisions(namespace="batch")) == 1 and len(cluster.events("batch", "report")) == 1

    clock.advance(best * HOUR)
    planned.reconcile()
    assert not suspended(cluster, "Job", "batch", "report")
    assert planned.decisions(namespace="batch")[0]["decision"] == "start"
    assert cluster.events("batch", "report", reason="GridshiftStarted")
    assert planned.metric(names.PLANNED_RELEASE, **labels) is None
    assert names.ANNOTATION_STATE not in cluster.annotations("Job", "batch", "report")  # nothing to restore


def test_a_waiting_job_starts_by_its_latest_start_whatever_the_forecast(planned, cluster, clock):
    cluster.namespace("batch", OPTED)
    waiting_job(cluster, "batch", "late", created=START - 23.5 * HOUR,  # 30 minutes of slack left
                annotations={names.ANNOTATION_INTERRUPTIBLE: "false"})
    assert greenest_hour(0, 24) > 1
    planned.reconcile()
    [decision] = planned.decisions(namespace="batch")
    assert decision["decision"] == "wait" and decision["plan"]["release_at"] == iso(START + 0.5 * HOUR)
    clock.advance(0.5 * HOUR)
    planned.reconcile()
    assert not suspended(cluster, "Job", "batch", "late")
    assert "no room to wait" in planned.decisions(namespace="batch")[0]["reason"]


def test_an_absolute_deadline_bounds_the_plan(planned, cluster):
    cluster.namespace("batch", OPTED)
    deadline = START + 8 * HOUR
    waiting_job(cluster, "batch", "nightly", annotations={names.ANNOTATION_DEADLINE: iso(deadline),
                                                            names.ANNOTATION_DURATION: "2h"})
    planned.reconcile()
    [decision] = planned.decisions(namespace="batch")
    first = min(range(0, 7), key=lambda i: (VALUES[i] + VALUES[i + 1], i))  # two hours, done by 8 h
    assert decision["plan"]["release_at"] == iso(START + first * HOUR)
    assert decision["plan"]["latest_start"] == iso(deadline - 2 * HOUR)


@pytest.mark.parametrize(("annotations", "reason"), [
    ({names.ANNOTATION_DEADLINE: "tomorrow"}, "annotation unusable (gridshift.io/deadline='tomorrow': expected an RFC 3339 time)"),
    ({names.ANNOTATION_DEADLINE: "2026-11-25T18:00"}, "annotation unusable (gridshift.io/deadline='2026-11-25T18:00': give a time zone"),
    ({names.ANNOTATION_DURATION: "soon"}, "annotation unusable (gridshift.io/duration: "),
    ({names.ANNOTATION_DURATION: "0s"}, "annotation unusable (gridshift.io/duration"),
    ({names.ANNOTATION_DEADLINE: iso(START - 60)}, "its deadline 2026-11-25T08:59:00Z has passed"),
    ({names.ANNOTATION_DEADLINE: iso(START + 1800), names.ANNOTATION_DURATION: "1h"}, "no room to wait"),
])
def test_unusable_plans_start_the_job_at_once_and_say_why(planned, cluster, annotations, reason):
    cluster.namespace("batch", OPTED)
    waiting_job(cluster, "batch", "report", annotations=annotations)
    planned.reconcile()
    assert not suspended(cluster, "Job", "batch", "report")
    [decision] = planned.decisions(namespace="batch")
    assert decision["decision"] == "start" and reason in decision["reason"], decision["reason"]


@pytest.mark.parametrize("failure", ["unknown zone", "exporter 500", "opted out"])
def test_without_a_plan_a_waiting_job_is_never_stranded(planned, cluster, exporter, failure):
    namespace = {**OPTED, names.ANNOTATION_ACTION: "none"} if failure == "opted out" else OPTED
    cluster.namespace("batch", namespace)
    if failure == "unknown zone":
        exporter.forecast.clear()
    if failure == "exporter 500":
        exporter.forecast_status = 500
    waiting_job(cluster, "batch", "report")
    planned.reconcile()
    assert not suspended(cluster, "Job", "batch", "report")
    [decision] = planned.decisions(namespace="batch")
    expected = {"unknown zone": "no forecast for zone DE", "exporter 500": "no forecast for zone DE",
                "opted out": "gridshift.io/action is none or absent"}
    assert decision["decision"] == "start" and expected[failure] in decision["reason"]


def test_a_waiting_job_without_a_creation_time_is_started_at_once():
    """The API server always sets creationTimestamp (the emulator too); without it the slack
    could not be counted, and the Job would wait for ever."""
    from gridshift.actions import kinds, planner
    from gridshift.actions.policy import Context, NamespaceView, Verb, Workload, decide
    job = {"metadata": {"name": "report", "namespace": "batch", "resourceVersion": "1",
                        "annotations": {names.ANNOTATION_START: "planned"}}, "spec": {"suspend": True}, "status": {}}
    forecast = planner.Forecast(ZONE, "forecaster", tuple(planner.Slot(START + i * HOUR, START + (i + 1) * HOUR, v)
                                                          for i, v in enumerate(VALUES)))
    view = NamespaceView("batch", OPTED, ZONE)
    decision = decide(view, Workload(kinds.JOB, "batch", "report", job), Context(now=START, alerts=(), forecasts={ZONE: forecast}))
    assert decision is not None and decision.verb is Verb.START and "no creationTimestamp" in decision.reason


def test_a_misspelt_start_annotation_is_reported_not_guessed(planned, cluster):
    cluster.namespace("batch", OPTED)
    waiting_job(cluster, "batch", "report", annotations={names.ANNOTATION_START: "true"})
    planned.reconcile()
    assert suspended(cluster, "Job", "batch", "report")  # the team's own suspended Job: not started on a guess
    [decision] = planned.decisions(namespace="batch")
    assert decision["decision"] == "skip" and "gridshift.io/start='true': expected planned" in decision["reason"]


def test_an_excluded_job_is_left_suspended(planned, cluster):
    cluster.namespace("batch", OPTED)
    waiting_job(cluster, "batch", "report", annotations={names.ANNOTATION_EXCLUDE: "true"})
    planned.reconcile()
    assert suspended(cluster, "Job", "batch", "report")


def cronjob(cluster, namespace: str, name: str, schedule: str) -> dict[str, Any]:
    return cluster.emu.add({"apiVersion": "batch/v1", "kind": "CronJob",
                            "metadata": {"name": name, "namespace": namespace},
                            "spec": {"schedule": schedule, "suspend": False, "startingDeadlineSeconds": 30 * 3600,
                                     "jobTemplate": {"spec": {"template": {"spec": {
                                         "restartPolicy": "OnFailure", "containers": [{"name": name, "image": "busybox"}]}}}}}})


def test_a_cronjob_run_is_held_until_its_planned_window(planned, cluster, clock):
    cluster.namespace("batch", OPTED)
    cronjob(cluster, "batch", "nightly", "0 10 * * *")  # due at 10:00, an hour from now
    planned.reconcile()
    best = greenest_hour(1, 24)  # from its run (10:00) to 24 h after the hold began (09:00): 24 h of slack
    assert suspended(cluster, "CronJob", "batch", "nightly")
    state = cluster.state("CronJob", "batch", "nightly")
    assert state["action"] == "pause" and state["alert"] == ""  # planned: no alert needed for work not started
    [held] = cluster.events("batch", "nightly", reason="GridshiftHeld")
    assert "planned: the greenest window" in held["message"] and iso(START + best * HOUR)[:16] in held["message"]
    clock.advance(best * HOUR - 60)
    planned.reconcile()
    assert suspended(cluster, "CronJob", "batch", "nightly")
    clock.advance(60)
    planned.reconcile()
    assert not suspended(cluster, "CronJob", "batch", "nightly")  # its missed run starts now
    assert "restored: its planned window" in planned.decisions(namespace="batch")[0]["reason"]


def test_a_cronjob_whose_run_falls_in_its_greenest_hour_is_left_alone(planned, cluster, exporter):
    exporter.forecast[ZONE] = [(START + i * HOUR, 100.0 if i == 1 else 400.0) for i in range(48)]
    cluster.namespace("batch", OPTED)
    cronjob(cluster, "batch", "nightly", "0 10 * * *")
    planned.reconcile()
    assert not suspended(cluster, "CronJob", "batch", "nightly")
    assert not cluster.patches("batch", "nightly")


def running_job(cluster, namespace: str, name: str, *, started: float) -> dict[str, Any]:
    return cluster.emu.add({"apiVersion": "batch/v1", "kind": "Job",
                            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": iso(started)},
                            "spec": {"suspend": False, "parallelism": 1, "completions": 1,
                                     "template": {"spec": {"restartPolicy": "Never",
                                                           "containers": [{"name": name, "image": "busybox"}]}}},
                            "status": {"active": 1, "startTime": iso(started)}})


def test_running_work_is_paused_by_a_plan_only_under_an_alert(planned, cluster, clock, alertmanager):
    cluster.namespace("train", {**OPTED, names.ANNOTATION_DURATION: "4h", names.ANNOTATION_MAX_DELAY: "12h"})
    running_job(cluster, "train", "model", started=START)
    planned.reconcile()
    assert not suspended(cluster, "Job", "train", "model")  # no alert: it runs on
    window = alert(ZONE, "window", name=names.ALERT_WINDOW)
    alertmanager.set_active(window)
    planned.reconcile()
    assert suspended(cluster, "Job", "train", "model")  # its greenest hours lie ahead
    state = cluster.state("Job", "train", "model")
    assert state["alert"].startswith(window["fingerprint"])
    [decision] = [d for d in planned.decisions(namespace="train") if d["decision"] == "hold"]
    release = decision["plan"]["release_at"]
    alertmanager.set_active()  # the alert resolving does not cut the plan short
    planned.reconcile()
    assert suspended(cluster, "Job", "train", "model")
    from datetime import datetime
    clock.now = datetime.fromisoformat(release.replace("Z", "+00:00")).timestamp()
    planned.reconcile()
    assert not suspended(cluster, "Job", "train", "model")
    assert cluster.annotations("Job", "train", "model")[names.ANNOTATION_HELD_SECONDS] == f"{clock.now - START:.0f}"


def test_a_runs_length_comes_from_its_annotation_its_earlier_runs_its_deadline_or_the_default():
    from gridshift.actions import jobs, kinds
    cron = {"metadata": {"name": "nightly"}, "spec": {"jobTemplate": {"spec": {"activeDeadlineSeconds": 7200}}}}

    def finished(name: str, start: float, seconds: float, succeeded: int = 1) -> dict[str, Any]:
        return {"metadata": {"name": name, "ownerReferences": [{"kind": "CronJob", "name": "nightly"}]},
                "status": {"startTime": iso(start), "completionTime": iso(start + seconds), "succeeded": succeeded}}

    earlier = [finished(f"nightly-{i}", START - (10 - i) * 86400, seconds)
               for i, seconds in enumerate([9000, 600, 1200, 1800, 2400, 3000])]  # the oldest (9000 s) is not among the last 5
    earlier.append(finished("nightly-failed", START - 3600, 50_000, succeeded=0))
    learned = jobs.learned_run_seconds(earlier)
    assert learned == {"nightly": 1800.0}
    assert jobs.expected_seconds(kinds.CRONJOB, cron, annotated=5400.0, learned=learned, default=3600) == (5400.0, names.ANNOTATION_DURATION)
    assert jobs.expected_seconds(kinds.CRONJOB, cron, annotated=None, learned=learned, default=3600) == (1800.0, "learned from its earlier runs")
    assert jobs.expected_seconds(kinds.CRONJOB, cron, annotated=None, learned={}, default=3600) == (7200.0, "activeDeadlineSeconds")
    job = {"metadata": {"name": "once"}, "spec": {}}
    assert jobs.expected_seconds(kinds.JOB, job, annotated=None, learned=learned, default=3600) == (3600, "the configured default duration")
    own = {"metadata": {"name": "nightly-7", "ownerReferences": [{"kind": "CronJob", "name": "nightly"}]}, "spec": {}}
    assert jobs.expected_seconds(kinds.JOB, own, annotated=None, learned=learned, default=3600)[0] == 1800.0
