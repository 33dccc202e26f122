"""`gridshift report`'s planned-against-actual section, from decision-log entries as the action
service writes them (its own DecisionLog, Decisions and Plans), and bad entries left out."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from gridshift.actions import kinds
from gridshift.actions.decisions import DecisionLog
from gridshift.actions.executor import Outcome, Result
from gridshift.actions.instruments import ActionInstruments
from gridshift.actions.planner import Plan
from gridshift.actions.policy import Decision, Verb
from gridshift.report import markdown
from gridshift.report.collect import ReportData
from gridshift.report.plans import planned_against_actual
from gridshift.report.timerange import TimeRange

HOUR = 3600.0
T0 = 1_795_600_800.0  # 2026-11-25T09:20:00Z, a whole number of steps


def log_of(events: list[tuple[float, Decision, Outcome]]) -> list[dict]:
    clock = [T0]
    log = DecisionLog(keep=100, instruments=ActionInstruments(CollectorRegistry()), clock=lambda: clock[0])
    for moment, decision, outcome in events:
        clock[0] = moment
        log.record(decision, outcome)
    return log.recent(limit=100)


def plan(release: float, expected: float = 150.0, at_once: float = 400.0, now: bool = False) -> Plan:
    return Plan(now, release, expected, at_once, None, release + 5 * HOUR, reason="the greenest window")


def test_a_waiting_job_shows_its_plans_and_when_it_really_started():
    base = {"kind": kinds.JOB, "namespace": "batch", "name": "report", "zone": "DE"}
    decisions = log_of([
        (T0, Decision(Verb.WAIT, reason="waits", plan=plan(T0 + 4 * HOUR), **base), Outcome(Result.SKIPPED, "waits")),
        (T0 + HOUR, Decision(Verb.WAIT, reason="waits", plan=plan(T0 + 5 * HOUR, 140.0), **base), Outcome(Result.SKIPPED, "w")),
        (T0 + 5 * HOUR, Decision(Verb.START, reason="started", plan=plan(T0 + 5 * HOUR, now=True), **base),
         Outcome(Result.APPLIED, "started")),
        (T0, Decision(Verb.SKIP, reason="left alone", kind=kinds.JOB, namespace="batch", name="other"),
         Outcome(Result.SKIPPED, "left alone")),
    ])
    span = TimeRange(T0, T0 + 10 * HOUR, 600.0)
    intensity = {"DE": [300.0 - i for i in range(61)]}
    [row] = planned_against_actual(decisions, intensity, span)
    assert (row.kind, row.name, row.zone) == ("Job", "report", "DE")
    assert row.planned_at == T0 and row.first_release == T0 + 4 * HOUR and row.last_release == T0 + 5 * HOUR
    assert row.released_at == T0 + 5 * HOUR and row.late_seconds == 0
    assert (row.expected_grams_per_kwh, row.at_once_grams_per_kwh) == (150.0, 400.0)
    assert row.measured_grams_per_kwh == 300.0 - 30  # 5 h at 600 s steps


def test_a_job_still_waiting_and_unreadable_entries():
    decisions = [
        {"time": "2026-11-25T09:20:00Z", "kind": "CronJob", "name": "nightly", "decision": "hold", "result": "applied",
         "zone": "FR", "plan": {"release_at": "2026-11-25T15:00:00Z", "expected_grams_per_kwh": 40,
                                "at_once_grams_per_kwh": 70, "runs_now": False}},
        {"time": "not a time", "kind": "Job", "name": "x", "decision": "wait", "plan": {"release_at": "2026-11-25T15:00:00Z"}},
        {"time": "2026-11-25T09:20:00Z", "kind": "Job", "name": "y", "decision": "wait", "plan": {"release_at": "soon"}},
        {"time": "2026-11-25T09:20:00Z", "kind": "Job", "name": "z", "decision": "wait", "plan": "garbled"},
    ]
    span = TimeRange(T0, T0 + 10 * HOUR, 600.0)
    [row] = planned_against_actual(decisions, {}, span)
    assert row.name == "nightly" and row.released_at is None and row.measured_grams_per_kwh is None
    data = ReportData(namespace="batch", span=span, prometheus_url="http://prometheus", power=[], energy=[], emissions=[],
                      zones=("FR",), intensity={}, thresholds={}, sources=[], actions={}, held={}, avoided=[], asked=[],
                      decisions=decisions)
    text = "\n".join(markdown._plans(data))
    assert "## Plans: planned against actual" in text and "| CronJob nightly |" in text and "still waiting" in text
    assert markdown.figures_json(data, {})["plans"][0]["last_planned_release"] == row.last_release
    no_log = ReportData(**{**data.__dict__, "decisions": None})
    assert markdown._plans(no_log) == [] and markdown.figures_json(no_log, {})["plans"] is None
