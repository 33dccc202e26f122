"""The report as Markdown (report.md) and its figures as JSON (report.json), beside the charts.

Evidence discipline: the range and the time of generation in UTC, where the data came from,
every figure with its unit and how it was made, what was missing said as such (never an empty
chart), the decision log when asked for, and every query that was run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gridshift import __version__
from gridshift.report import units
from gridshift.report.collect import ReportData
from gridshift.report.method import method_section
from gridshift.report.plans import PlanRow, planned_against_actual
from gridshift.report.widths import widths_over_time
from gridshift.report.series import integral, mean
from gridshift.report.timerange import iso

MARKDOWN, JSON = "report.md", "report.json"
DECISION_ROWS = 50


def write(data: ReportData, charts: Mapping[str, Path], folder: Path, *, seconds_taken: float) -> Path:
    (folder / JSON).write_text(json.dumps(figures_json(data, charts), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    text = "\n".join(_header(data, seconds_taken) + _summary(data) + _sections(data, charts) + _plans(data) + _widths(data) + _decisions(data)
                     + method_section(data.sources) + _measured(data))
    path = folder / MARKDOWN
    path.write_text(text, encoding="utf-8")
    return path


def figures_json(data: ReportData, charts: Mapping[str, Path]) -> dict[str, Any]:
    return {"namespace": data.namespace, "from": iso(data.span.start), "to": iso(data.span.end),
            "step_seconds": data.span.step, "prometheus": data.prometheus_url, "generated": iso(data.generated_at),
            "zones": list(data.zones), "figures": asdict(data.figures), "charts": sorted(p.name for p in charts.values()),
            "plans": None if data.decisions is None else [row.as_dict() for row in _plan_rows(data)],
            "widths": None if data.decisions is None else [row.as_dict() for row in widths_over_time(data.decisions, data.span)]}


def _plan_rows(data: ReportData) -> list[PlanRow]:
    return planned_against_actual(data.decisions or [], data.intensity, data.span)


def _plans(data: ReportData) -> list[str]:
    """Planned against actual: when each planned workload was to run, when it did, and how green."""
    if data.decisions is None:
        return []
    rows = _plan_rows(data)
    lines = ["## Plans: planned against actual", ""]
    if not rows:
        return lines + ["No workload of the namespace waited for a planned window in the decisions the service kept.", ""]
    lines += ["From the decision log: the first plan made for each workload, the last before it ran, when it ran, and "
              "the forecast's mean intensity over the planned run against running at once, beside the intensity "
              "Prometheus measured when it was released.", "",
              "| workload | planned at | first planned release | last planned release | released | late | "
              "forecast g/kWh: planned / at once | measured g/kWh at release |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        late = row.late_seconds
        lines.append(f"| {row.kind} {row.name} | {iso(row.planned_at)} | {iso(row.first_release)} | {iso(row.last_release)} | "
                     f"{iso(row.released_at) if row.released_at is not None else 'still waiting'} | "
                     f"{'' if late is None else units.human(late, units.DURATION) if late >= 0 else '-' + units.human(-late, units.DURATION)} | "
                     f"{row.expected_grams_per_kwh:.0f} / {row.at_once_grams_per_kwh:.0f} | "
                     f"{_number(row.measured_grams_per_kwh, '')} |")
    return lines + [""]


def _widths(data: ReportData) -> list[str]:
    """Elastic work: each workload's width over time, as the decision log recorded the changes."""
    if data.decisions is None:
        return []
    rows = widths_over_time(data.decisions, data.span)
    lines = ["## Elastic work: width over time", ""]
    if not rows:
        return lines + ["gridshift changed the width of no elastic workload of the namespace in the decisions the "
                        "service kept.", ""]
    lines += ["From the decision log: the width gridshift set at each change (the first, each resize, the restore to "
              "its own width), and the time-weighted mean width over the range.", "",
              "| workload | own width | mean width | changes | widths set (UTC) |", "|---|---|---|---|---|"]
    for row in rows:
        shown = ", ".join(f"{iso(t)[11:16]} {iso(t)[:10]}: {w}" for t, w in row.changes[:12])
        more = f", and {len(row.changes) - 12} more" if len(row.changes) > 12 else ""
        lines.append(f"| {row.kind} {row.name} | {row.own_width} | {row.mean_width():.2f} | {len(row.changes)} | "
                     f"{shown}{more} |")
    return lines + [""]


def _header(data: ReportData, seconds_taken: float) -> list[str]:
    span = data.span
    return [f"# gridshift report: namespace `{data.namespace}`", "",
            "| | |", "|---|---|",
            f"| range | {iso(span.start)} to {iso(span.end)} ({units.human(span.seconds, units.DURATION)}), "
            f"a point every {span.step:g} s |",
            f"| generated | {iso(data.generated_at)} by gridshift {__version__} in {seconds_taken:.1f} s |",
            f"| data | Prometheus at {data.prometheus_url} |",
            f"| zone(s) of its nodes | {', '.join(data.zones) or 'none seen'} |", "",
            "All times are UTC. The figures are also in `report.json`; the method is at the end.", ""]


def _summary(data: ReportData) -> list[str]:
    f = data.figures
    actions = sum(f.actions.values())
    return ["## Summary", "", "| figure | value | how |", "|---|---|---|",
            f"| energy | {_both(f.energy_joules, units.ENERGY, 'J')} | rises of gridshift_namespace_energy_joules_total |",
            f"| emissions | {_both(f.emissions_grams, units.MASS, 'g')} | rises of gridshift_namespace_emissions_grams_total |",
            f"| mean power | {units.human(f.mean_power_watts, units.POWER)} | mean of gridshift_namespace_power_watts "
            "summed over nodes, 0 W while none of its containers ran |",
            f"| intensity of its energy | {_number(f.effective_intensity, 'gCO2eq/kWh')} | emissions / energy |",
            f"| actions | {actions} | rises of gridshift_actions_total, by action and result below |",
            f"| time with workloads held | {units.human(f.held_seconds, units.DURATION)} "
            f"({units.human(f.held_workload_seconds, units.DURATION)} workload-time) | gridshift_held_workloads |",
            f"| estimated avoided emissions | {_both(f.avoided_grams, units.MASS, 'g')} | an estimate: see the method |", ""]


def _sections(data: ReportData, charts: Mapping[str, Path]) -> list[str]:
    lines: list[str] = []
    for name, title, missing, extra in (
        ("energy", "Power and energy", "no energy or power series of the namespace in the range", []),
        ("emissions", "Emissions", "no emissions in the range (no energy, or the zone's intensity was unknown)", []),
        ("intensity", "Intensity of its zone", "no intensity of the namespace's zone in the range", _intensity_tables(data)),
        ("actions", "Actions and time held", "gridshift took no action on the namespace and held nothing in the range",
         _action_tables(data)),
        ("avoided", "Estimated avoided emissions", "nothing held in the range, so nothing avoided", []),
    ):
        lines += [f"## {title}", ""]
        lines += [f"![{title}]({charts[name].name})", ""] if name in charts else [f"No chart: {missing}.", ""]
        lines += extra
    return lines


def _intensity_tables(data: ReportData) -> list[str]:
    lines = []
    if data.intensity:
        lines += ["| zone | mean | min | max (gCO2eq/kWh) |", "|---|---|---|---|"]
        for zone, grid in sorted(data.intensity.items()):
            present = [v for v in grid if v is not None]
            lines.append(f"| {zone} | {_number(mean(grid), '')} | {_number(min(present, default=None), '')} | "
                         f"{_number(max(present, default=None), '')} |")
        lines.append("")
    if data.thresholds:
        lines += ["Alert thresholds at the end of the range (gridshift_carbon_intensity_threshold_grams_per_kwh):", "",
                  "| zone | level | gCO2eq/kWh |", "|---|---|---|"]
        lines += [f"| {zone} | {level} | {_number(_last(grid), '')} |" for (zone, level), grid in sorted(data.thresholds.items())]
        lines.append("")
    return lines


def _action_tables(data: ReportData) -> list[str]:
    f, lines = data.figures, []
    if f.actions:
        lines += ["| action | result | count |", "|---|---|---|"]
        lines += [f"| {key.split(' ')[0]} | {key.split(' ')[1]} | {count} |" for key, count in f.actions.items()]
        lines.append("")
    if data.held:
        lines += ["| held by | workload-time held | peak workloads held |", "|---|---|---|"]
        for action, grid in sorted(data.held.items()):
            workload_seconds = integral(grid, data.span.step)
            peak = max((v for v in grid if v is not None), default=0.0)
            lines.append(f"| {action} | {units.human(workload_seconds, units.DURATION)} | {peak:g} |")
        lines.append("")
    return lines


def _decisions(data: ReportData) -> list[str]:
    lines = ["## Decisions", ""]
    if data.decisions is None:
        return lines + ["Not read: give `--actions-url` to include the action service's decision log.", ""]
    if not data.decisions:
        return lines + ["The action service's log has no decision on the namespace in the range (it keeps the most "
                        "recent ones only, `actions.decisions_kept`).", ""]
    shown = data.decisions[:DECISION_ROWS]
    lines += [f"From the action service's GET /api/v1/decisions, newest first ({len(shown)} of {len(data.decisions)}):", "",
              "| time | workload | decision | action | result | reason |", "|---|---|---|---|---|---|"]
    lines += [f"| {d.get('time', '')} | {d.get('kind', '')} {d.get('name', '')} | {d.get('decision', '')} | "
              f"{d.get('action') or ''} | {d.get('result', '')} | {_cell(str(d.get('reason', '')))} |" for d in shown]
    return lines + [""]


def _measured(data: ReportData) -> list[str]:
    lines = ["## What was measured", "", f"Queries run against Prometheus at {data.prometheus_url}, range queries over "
             f"{iso(data.span.start)} to {iso(data.span.end)} every {data.span.step:g} s, instant ones at its end:", "",
             "| kind | series | points | PromQL |", "|---|---|---|---|"]
    lines += [f"| {a.kind} | {a.series} | {a.points} | `{_cell(a.expr)}` |" for a in data.asked]
    return lines + [""]


def _both(value: float, scale: units.Units, base: str) -> str:
    """Readable, then exact in the base unit (the figure as Prometheus gives it)."""
    readable = units.human(value, scale)
    return readable if readable.endswith(f" {base}") and abs(value) >= 100 else f"{readable} ({value:.6g} {base})"


def _number(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:.0f} {unit}".rstrip()


def _last(grid: list[float | None]) -> float | None:
    return next((v for v in reversed(grid) if v is not None), None)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
