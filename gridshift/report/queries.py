"""The PromQL the report runs, with `$namespace` (and `$zones`) left as in the dashboards.

The three expressions marked DASHBOARD are the project dashboard's (grafana/gridshift-project.json)
panel queries, character for character: tests/report/test_queries.py fails if either side
changes alone, so the report and the dashboard have one definition of the intensity of a
namespace's zone and of its estimated avoided emissions. The counters are read raw, at every
step, and their increments added up in the report (gridshift.report.series): a counter that
is born within the range (the first action on a namespace) then counts from zero, which
PromQL's increase() would not.
"""

from __future__ import annotations

NAMESPACE = 'namespace="$namespace"'

# Counters, per series (namespace, node, zone / action, result): increments are added in Python.
ENERGY = f"gridshift_namespace_energy_joules_total{{{NAMESPACE}}}"
EMISSIONS = f"gridshift_namespace_emissions_grams_total{{{NAMESPACE}}}"
ACTIONS = f"gridshift_actions_total{{{NAMESPACE}}}"

# Gauges.
POWER = f"sum(gridshift_namespace_power_watts{{{NAMESPACE}}})"  # DASHBOARD panel "Power"
HELD = f"sum by (action) (gridshift_held_workloads{{{NAMESPACE}}})"  # DASHBOARD panel "Held workloads"

# DASHBOARD panel "Intensity of its zone": the intensity of each zone the namespace's energy was
# attributed to in the last day (its nodes' zones). The zone is read from the energy counter, which
# stays while the namespace is paused (its power series does not).
INTENSITY = ("gridshift:carbon_intensity:grams_per_kwh and on (zone) "
             f"last_over_time(gridshift_namespace_energy_joules_total{{{NAMESPACE}}}[1d])")

_MEAN_POWER = f"avg_over_time(namespace:gridshift_namespace_power_watts:sum{{{NAMESPACE}}}[1d])"
_NOW_POWER = f"namespace:gridshift_namespace_power_watts:sum{{{NAMESPACE}}}"
# DASHBOARD panel "Estimated avoided emissions", g/s: while the namespace has held workloads,
# max(0, its mean power over the last day - its power now (0 if it has none, e.g. paused))
# x the current intensity of its zone / 3.6e6 J/kWh.
AVOIDED = (f"clamp_min({_MEAN_POWER} - ({_NOW_POWER} or 0 * {_MEAN_POWER}), 0)"
           f" * on (namespace) group_left () (sum by (namespace) (gridshift_held_workloads{{{NAMESPACE}}}) > bool 0)"
           f" * on () group_left () scalar(max({INTENSITY})) / 3.6e6")

# The zone's thresholds and the series behind its intensity (source and basis), for the method.
THRESHOLDS = 'gridshift_carbon_intensity_threshold_grams_per_kwh{zone=~"$zones"}'
INTENSITY_SOURCES = 'count by (zone, source, basis) (count_over_time(gridshift_carbon_intensity_grams_per_kwh{zone=~"$zones"}[$window]))'

# Which namespaces have data at all (named in the error for an unknown namespace).
KNOWN_NAMESPACES = "count by (namespace) (gridshift_namespace_energy_joules_total) or count by (namespace) (gridshift_actions_total)"

DASHBOARD_PANELS = {"Power": POWER, "Held workloads": HELD, "Intensity of its zone": INTENSITY,
                    "Estimated avoided emissions": AVOIDED}


def render(template: str, *, namespace: str = "", zones: tuple[str, ...] = (), window: str = "") -> str:
    """The template with `$namespace`, `$zones` (a regular expression of the zones) and `$window`
    (a range selector's duration, e.g. `3600s`) filled in."""
    return (template.replace("$namespace", _quoted(namespace)).replace("$zones", "|".join(map(_regex, zones)))
            .replace("$window", window))


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _regex(zone: str) -> str:
    return "".join(f"\\\\{c}" if c in r".^$*+?()[]{}|\\" else c for c in zone)
