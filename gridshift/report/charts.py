"""The report's PNG charts (matplotlib, Agg backend: no display needed).

One figure per subject, each with a title naming the namespace, axes with units, a legend when
there is more than one line, and a UTC time axis. A chart is drawn only when it has data; the
Markdown says so where one is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from gridshift.report import units  # noqa: E402
from gridshift.report.collect import ReportData  # noqa: E402
from gridshift.report.series import Grid, cumulative, summed, times  # noqa: E402

LEVEL_COLOURS = {"low": "tab:green", "high": "tab:orange", "critical": "tab:red"}
HELD_COLOUR = "0.85"


@dataclass(frozen=True)
class Line:
    label: str
    values: Grid | list[float]
    step: bool = False
    style: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    quantity: str  # e.g. "power"
    units: units.Units
    lines: Sequence[Line]
    per_hour: bool = False  # the values are per second: shown per hour, the unit gets "/h"
    integer: bool = False  # counts: whole-number ticks


def draw_all(data: ReportData, folder: Path) -> dict[str, Path]:
    """Every chart that has data -> its file in `folder`, by subject."""
    at = [datetime.fromtimestamp(t, timezone.utc) for t in times(data.span)]
    held = summed(data.held.values(), data.span.points)
    drawn: dict[str, Path] = {}
    for name, title, panels, hlines in _subjects(data):
        if any(v for panel in panels for line in panel.lines for v in line.values):
            drawn[name] = _figure(folder / f"{name}.png", f"{title}: namespace {data.namespace}", at, panels, held, hlines)
    return drawn


def _subjects(data: ReportData) -> list[tuple[str, str, list[Panel], list[tuple[str, Grid]]]]:
    step = data.span.step
    rate = [e / step for e in data.emissions]
    thresholds = [(f"{zone} {level} threshold", grid) for (zone, level), grid in sorted(data.thresholds.items())]
    avoided = [v or 0.0 for v in data.avoided]
    return [
        ("energy", "Power and energy", [
            Panel("power", units.POWER, [Line("power", data.power)]),
            Panel("energy since the start", units.ENERGY, [Line("energy", cumulative(data.energy))])], []),
        ("emissions", "Emissions", [
            Panel("emissions rate", units.MASS, [Line("emissions rate", rate)], per_hour=True),
            Panel("emissions since the start", units.MASS, [Line("emissions", cumulative(data.emissions))])], []),
        ("intensity", "Carbon intensity of its zone", [
            Panel("intensity", ((1.0, "gCO2eq/kWh"),), [Line(zone, grid) for zone, grid in sorted(data.intensity.items())])],
         thresholds),
        ("actions", "Actions and held workloads", [
            Panel("held workloads", ((1.0, "workloads"),),
                  [Line(f"held by {action}", grid, step=True) for action, grid in sorted(data.held.items())], integer=True),
            Panel("actions since the start", ((1.0, "actions"),),
                  [Line(key, cumulative(rises), step=True) for key, rises in sorted(data.actions.items())], integer=True)],
         []),
        ("avoided", "Estimated avoided emissions", [
            Panel("avoided rate", units.MASS, [Line("avoided (estimate)", avoided)], per_hour=True),
            Panel("avoided since the start", units.MASS,
                  [Line("avoided (estimate)", cumulative([v * step for v in avoided]))])], []),
    ]


def _figure(path: Path, title: str, at: list[datetime], panels: Sequence[Panel], held: Grid,
            hlines: list[tuple[str, Grid]]) -> Path:
    figure, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(10, 2.6 + 2.4 * len(panels)), squeeze=False)
    for axis, panel in zip(axes[:, 0], panels):
        _shade_held(axis, at, held, label=axis is axes[0, 0])
        _plot(axis, at, panel)
    for label, grid in hlines:
        _threshold(axes[0, 0], at, label, grid)
    for axis in axes[:, 0]:
        axis.set_ylim(bottom=0)  # after every line is drawn: setting a limit stops autoscaling
        handles, labels = axis.get_legend_handles_labels()
        if labels:
            axis.legend(handles, labels, loc="upper left", fontsize="small", framealpha=0.9)
    bottom = axes[-1, 0]
    locator = mdates.AutoDateLocator(tz=timezone.utc)
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=timezone.utc))
    bottom.set_xlabel("time (UTC)")
    bottom.set_xlim(at[0], at[-1])
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _plot(axis: plt.Axes, at: list[datetime], panel: Panel) -> None:
    factor = 3600.0 if panel.per_hour else 1.0
    size, symbol = units.unit_for((v * factor for line in panel.lines for v in line.values if v is not None), panel.units)
    for line in panel.lines:
        values = [None if v is None else v * factor / size for v in line.values]
        if line.step:
            axis.step(at, [float("nan") if v is None else v for v in values], where="post", label=line.label, **line.style)
        else:
            axis.plot(at, [float("nan") if v is None else v for v in values], label=line.label, **line.style)
    axis.set_ylabel(f"{panel.quantity}\n({symbol}{'/h' if panel.per_hour else ''})")
    if panel.integer:
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(True, alpha=0.3)


def _shade_held(axis: plt.Axes, at: list[datetime], held: Grid, *, label: bool) -> None:
    """Grey behind the steps during which gridshift held workloads of the namespace (one legend entry)."""
    for index in range(len(at) - 1):
        if held[index]:
            axis.axvspan(at[index], at[index + 1], color=HELD_COLOUR, linewidth=0,
                         label="workloads held by gridshift" if label else None)
            label = False


def _threshold(axis: plt.Axes, at: list[datetime], label: str, grid: Grid) -> None:
    level = label.split(" ")[1]
    axis.plot(at, [float("nan") if v is None else v for v in grid], linestyle="--", linewidth=1,
              color=LEVEL_COLOURS.get(level, "tab:gray"), label=label)
