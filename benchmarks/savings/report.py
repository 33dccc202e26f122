"""Tables and plots of the savings benchmark's rows; the section of docs/benchmarks.md they fill.

Savings are against carbon-agnostic on the same jobs; "of oracle" is the share of the oracle's
saving a policy achieves. Jobs with no slack are left out of the job figures: no policy can
shift them, and gridshift is not told to (they do not opt in).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Row = Mapping[str, Any]
LABELS = {
    "static-threshold": "static threshold + defer",
    "gridshift-absolute": "gridshift absolute",
    "gridshift-relative": "gridshift relative (persistence forecast)",
    "gridshift-relative-perfect": "gridshift relative (perfect forecast)",
    "gridshift-plan-perfect": "gridshift plan (perfect forecast)",
    "gridshift-plan-persistence": "gridshift plan (persistence forecast)",
    "gridshift-plan-forecast": "gridshift plan (gridshift's forecaster)",
    "oracle": "oracle",
    "elastic-agnostic": "elastic, one replica from arrival",
    "elastic-suspend-resume": "elastic suspend-resume (one replica, true trace)",
    "elastic-best-static": "elastic best static width (true trace)",
    "gridshift-elastic-perfect": "gridshift elastic (perfect forecast)",
    "gridshift-elastic-forecast": "gridshift elastic (gridshift's forecaster)",
    "elastic-oracle": "elastic oracle",
}
SHIFTING = ("static-threshold", "gridshift-absolute", "gridshift-relative", "gridshift-relative-perfect",
            "gridshift-plan-perfect", "gridshift-plan-persistence", "gridshift-plan-forecast")


@dataclass(frozen=True)
class Totals:
    grams: float = 0.0
    agnostic: float = 0.0
    oracle: float = 0.0
    jobs: int = 0
    missed: int = 0
    actions: int = 0
    restarts: int = 0

    def __add__(self, row: Row) -> Totals:
        return Totals(self.grams + row["grams"], self.agnostic + row["agnostic_grams"], self.oracle + row["oracle_grams"],
                      self.jobs + row["jobs"], self.missed + row["missed"], self.actions + row["actions"],
                      self.restarts + row["restarts"])

    @property
    def saving(self) -> float:
        return 1 - self.grams / self.agnostic if self.agnostic else 0.0

    @property
    def oracle_saving(self) -> float:
        return 1 - self.oracle / self.agnostic if self.agnostic else 0.0

    @property
    def of_oracle(self) -> float | None:
        return self.saving / self.oracle_saving if self.oracle_saving > 0 else None

    @property
    def missed_share(self) -> float:
        return self.missed / self.jobs if self.jobs else 0.0

    @property
    def actions_per_job(self) -> float:
        return self.actions / self.jobs if self.jobs else 0.0


def totals(rows: Iterable[Row], key: Callable[[Row], Any], where: Callable[[Row], bool] = lambda r: True) -> dict[Any, Totals]:
    found: dict[Any, Totals] = defaultdict(Totals)
    for row in rows:
        if where(row):
            found[key(row)] = found[key(row)] + row
    return dict(found)


def shiftable(kinds: Sequence[str]) -> Callable[[Row], bool]:
    return lambda r: r["workload"] in kinds and (r["workload"] == "service" or r["slack_hours"] > 0)


def percent(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f} %"


def table(header: Sequence[str], lines: Iterable[Sequence[str]]) -> str:
    rows = [list(header), ["---"] * len(header), *[list(line) for line in lines]]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def traces(rows: Sequence[Row]) -> list[str]:
    return list(dict.fromkeys(r["trace"] for r in rows))


def present(found: Mapping[Any, Totals], policies: Sequence[str]) -> list[str]:
    """The policies the rows have (a run may simulate only some)."""
    have = {key[1] for key in found}
    return [p for p in policies if p in have]


# --- the tables ------------------------------------------------------------------------------

def by_trace(rows: Sequence[Row], kinds: Sequence[str], policies: Sequence[str] = SHIFTING) -> str:
    found = totals(rows, lambda r: (r["trace"], r["policy"]), shiftable(kinds))
    lines = []
    for trace in traces(rows):
        oracle = next((t.oracle_saving for (name, _), t in found.items() if name == trace), 0.0)
        for policy in policies:
            t = found.get((trace, policy))
            if t is None:
                continue
            lines.append([trace, LABELS[policy], percent(t.saving), percent(t.of_oracle, 0), percent(t.missed_share),
                          f"{t.actions_per_job:.2f}", percent(oracle)])
    return table(["trace", "policy", "saved vs carbon-agnostic", "of oracle's saving", "deadlines missed",
                  "actions per job", "oracle saves"], lines)


PLANS = ("gridshift-plan-perfect", "gridshift-plan-persistence", "gridshift-plan-forecast")


def plans(rows: Sequence[Row]) -> str:
    """Issue 17's bar, per trace and workload (slack 6-48 h): each planner's share of the oracle's
    saving, beside static threshold + defer, with the planners' missed deadlines and changes."""
    found = totals(rows, lambda r: (r["trace"], r["workload"], r["policy"]), shiftable(["batch", "training"]))
    lines = []
    for trace in traces(rows):
        for kind in ("batch", "training"):
            oracle = found.get((trace, kind, "oracle"))
            if oracle is None or not any((trace, kind, p) in found for p in PLANS):
                continue
            static = found.get((trace, kind, "static-threshold"))
            planned = [found.get((trace, kind, p)) for p in PLANS]
            missed = sum(t.missed for t in planned if t is not None)
            forecast = planned[-1]
            lines.append([trace, kind, percent(oracle.oracle_saving), percent(static.saving) if static else "n/a",
                          *(f"{percent(t.saving)} ({percent(t.of_oracle, 0)})" if t else "n/a" for t in planned),
                          str(missed), f"{forecast.actions_per_job:.2f}" if forecast else "n/a"])
    return table(["trace", "workload", "oracle saves", "static threshold + defer", "plan, perfect forecast (of oracle)",
                  "plan, persistence (of oracle)", "plan, gridshift's forecaster (of oracle)", "deadlines missed (plans)",
                  "changes per job (forecaster)"], lines)


ELASTIC = ("elastic-suspend-resume", "elastic-best-static", "gridshift-elastic-perfect", "gridshift-elastic-forecast")


def elastic(rows: Sequence[Row]) -> str:
    """Issue 18's bar, per trace (every job length and slack pooled): each elastic policy's saving
    against carbon-agnostic at one replica (and its share of the elastic oracle's), gridshift's
    schedule against suspend-resume and the best static width, its changes and missed deadlines."""
    found = totals(rows, lambda r: (r["trace"], r["policy"]), lambda r: r["workload"] == "elastic")
    lines = []
    for trace in traces(rows):
        oracle = found.get((trace, "elastic-oracle"))
        if oracle is None:
            continue
        got = {p: found.get((trace, p)) for p in ELASTIC}
        forecast = got["gridshift-elastic-forecast"] or got["gridshift-elastic-perfect"]
        lines.append([trace, percent(oracle.oracle_saving),
                      *(f"{percent(t.saving)} ({percent(t.of_oracle, 0)})" if t else "n/a" for t in got.values()),
                      *(percent(_against(got["gridshift-elastic-perfect"], got[base])) for base in
                        ("elastic-suspend-resume", "elastic-best-static")),
                      str(sum(t.missed for t in got.values() if t)),
                      f"{forecast.actions_per_job:.2f}" if forecast else "n/a"])
    return table(["trace", "elastic oracle saves", "suspend-resume (of oracle)", "best static width (of oracle)",
                  "gridshift, perfect forecast (of oracle)", "gridshift, its forecaster (of oracle)",
                  "gridshift perfect vs suspend-resume", "gridshift perfect vs best static", "deadlines missed",
                  "width changes per job (forecaster)"], lines)


def _against(policy: Totals | None, base: Totals | None) -> float | None:
    """The share of `base`'s carbon that `policy` avoids on the same jobs."""
    if policy is None or base is None or base.grams <= 0:
        return None
    return 1 - policy.grams / base.grams


def by_slack(rows: Sequence[Row], kind: str) -> str:
    found = totals(rows, lambda r: (r["slack_hours"], r["policy"]), shiftable([kind]))
    slacks = sorted({s for s, _ in found})
    policies = present(found, [*SHIFTING, "oracle"])
    lines = [[f"{slack:g} h", *(percent(found[(slack, p)].saving) for p in policies),
              percent(sum(found[(slack, p)].missed for p in policies) / max(1, sum(found[(slack, p)].jobs for p in policies)))]
             for slack in slacks]
    return table(["slack", *(LABELS[p] for p in policies), "deadlines missed (all policies)"], lines)


def by_length(rows: Sequence[Row], kind: str) -> str:
    found = totals(rows, lambda r: (r["hours"], r["policy"]), shiftable([kind]))
    lengths = sorted({h for h, _ in found})
    policies = present(found, [*SHIFTING, "oracle"])
    return table(["length", *(LABELS[p] for p in policies)],
                 [[f"{h:g} h", *(percent(found[(h, p)].saving) for p in policies)] for h in lengths])


def service(rows: Sequence[Row]) -> str:
    lines = []
    for row in rows:
        if row["workload"] == "service" and row["policy"] in SHIFTING:
            given_up = 1 - row["kwh"] / row["hours"]
            t = Totals() + row
            lines.append([row["trace"], LABELS[row["policy"]], percent(t.saving), percent(t.oracle_saving),
                          percent(t.of_oracle, 0), percent(given_up), str(row["actions"])])
    return table(["trace", "policy", "saved", "oracle, same capacity given up", "of oracle", "capacity given up",
                  "changes in the year"], lines)


def before_after(before: Sequence[Row], after: Sequence[Row]) -> str:
    lines = []
    for kind in ("batch", "training", "restart"):
        old = totals(before, lambda r: r["policy"], shiftable([kind]))
        new = totals(after, lambda r: r["policy"], shiftable([kind]))
        for policy in ("gridshift-absolute", "gridshift-relative"):
            if policy in old and policy in new:
                o, n = old[policy], new[policy]
                lines.append([kind, LABELS[policy], percent(o.saving), percent(n.saving), percent(o.of_oracle, 0),
                              percent(n.of_oracle, 0), percent(o.missed_share), percent(n.missed_share),
                              f"{o.actions_per_job:.2f}", f"{n.actions_per_job:.2f}"])
    return table(["workload", "policy", "saved before", "saved after", "of oracle before", "of oracle after",
                  "missed before", "missed after", "actions/job before", "actions/job after"], lines)


# --- the plots -------------------------------------------------------------------------------

COLOURS = {"static-threshold": "#888888", "gridshift-absolute": "#1f77b4", "gridshift-relative": "#2ca02c",
           "gridshift-relative-perfect": "#98df8a", "gridshift-plan-perfect": "#c5b0d5",
           "gridshift-plan-persistence": "#ff7f0e", "gridshift-plan-forecast": "#9467bd", "oracle": "#d62728"}


def plot_by_slack(rows: Sequence[Row], path: Path) -> None:
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, kind in zip(axes, ("batch", "training")):
        found = totals(rows, lambda r: (r["slack_hours"], r["policy"]), shiftable([kind]))
        slacks = sorted({s for s, _ in found})
        for policy in present(found, (*SHIFTING, "oracle")):
            axis.plot(slacks, [100 * found[(s, policy)].saving for s in slacks], marker="o", color=COLOURS[policy],
                      label=LABELS[policy], linestyle="--" if policy == "oracle" else "-")
        axis.set_title({"batch": "batch (CronJob start deferred, no checkpoint)",
                        "training": "training (pause / resume from checkpoint)"}[kind], fontsize=10)
        axis.set_xlabel("deadline slack (hours)")
        axis.set_xticks(slacks)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("emissions saved vs carbon-agnostic (%)")
    axes[1].legend(fontsize=8, loc="upper left")
    figure.suptitle("Savings by deadline slack, all five traces and all job lengths (1-48 h) pooled", fontsize=11)
    _save(figure, path)


def plot_by_trace(rows: Sequence[Row], path: Path) -> None:
    plt = _pyplot()
    found = totals(rows, lambda r: (r["trace"], r["policy"]), shiftable(["batch", "training"]))
    names = traces(rows)
    policies = present(found, (*SHIFTING, "oracle"))
    width = 0.8 / len(policies)
    figure, axis = plt.subplots(figsize=(11, 4.8))
    for i, policy in enumerate(policies):
        axis.bar([n + i * width for n in range(len(names))], [100 * found[(t, policy)].saving for t in names],
                 width=width, color=COLOURS[policy], label=LABELS[policy])
    axis.set_xticks([n + width * (len(policies) - 1) / 2 for n in range(len(names))], names)
    axis.set_ylabel("emissions saved vs carbon-agnostic (%)")
    axis.set_title("Batch and training jobs with 6-48 h of slack, per trace", fontsize=11)
    axis.grid(alpha=0.3, axis="y")
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3)
    _save(figure, path)


def plot_week(week: Mapping[str, Any], path: Path) -> None:
    """One week of one trace: intensity, both thresholds, and when the absolute alert fired."""
    plt = _pyplot()
    from datetime import datetime, timezone
    figure, axis = plt.subplots(figsize=(11, 5))
    times = [datetime.fromtimestamp(t, timezone.utc) for t in week["times"]]
    axis.step(times, week["intensity"], where="post", color="black", linewidth=1.2, label="intensity")
    axis.axhline(week["absolute"], color=COLOURS["gridshift-absolute"], linestyle="--",
                 label=f"absolute threshold (trace median, {week['absolute']:.0f})")
    axis.step(times, week["relative"], where="post", color=COLOURS["gridshift-relative"], linestyle=":",
              label=f"relative threshold (p{week['quantile'] * 100:.0f} of the coming 24 h, persistence forecast)")
    for index, (begin, end) in enumerate(week["firing"]):
        axis.axvspan(datetime.fromtimestamp(begin, timezone.utc), datetime.fromtimestamp(end, timezone.utc),
                     color=COLOURS["gridshift-absolute"], alpha=0.12, label="GridCarbonIntensityHigh (absolute) firing" if index == 0 else None)
    axis.set_ylabel("gCO2eq/kWh")
    axis.set_title(week["title"], fontsize=11)
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    axis.grid(alpha=0.3)
    figure.autofmt_xdate()
    _save(figure, path)


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("the savings plots need matplotlib: pip install -e '.[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(figure: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    _pyplot().close(figure)
