"""The report's "Method and emission factors" section: how each figure is made, and the lifecycle
emission factors the grid exporter uses (exporters/grid/factors.py, the one table), as Markdown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gridshift.exporters.grid.factors import LIFECYCLE_GRAMS_PER_KWH, STORAGE_PSR_TYPES
from gridshift.exporters.grid.production_types import production_type_name
from gridshift.report import queries

FACTOR_SOURCES = (
    "IPCC AR5 (2014), Working Group III, Annex III, Table A.III.2, lifecycle medians, as Electricity Maps uses "
    "them by default; oil (650) from UK POST (2014) \"Carbon footprint of electricity generation\"; unknown and "
    "other (700) is Electricity Maps' conservative assumption. ENTSO-E production types are grouped as "
    "Electricity Maps' ENTSO-E parser groups them."
)

STEPS = (
    ("Energy", "The namespace power exporter attributes Kepler's *dynamic* energy only (Kepler 0.7-0.9 "
     "`kepler_container_joules_total{mode=\"dynamic\"}`, Kepler 0.10+ pod active energy) or, without Kepler, "
     "the CPU-time estimator's dynamic part. Node idle energy is in no namespace, so a namespace's energy is "
     "its active share, not a share of the whole node (docs/power.md)."),
    ("Emissions", "Each energy increment times the current intensity of its node's zone: grams = joules / "
     "3.6e6 x gCO2eq/kWh, summed by the exporter as it happens. Energy used while the zone's intensity was "
     "unknown has no emissions (it is counted in `gridshift_namespace_emissions_unattributed_joules_total`)."),
    ("Intensity of its zone", "The recording rule `gridshift:carbon_intensity:grams_per_kwh`: the zone's "
     "consumption-basis intensity (imports traced) where it exists, else the highest of its other series; "
     "the zone is that of the namespace's nodes (the `zone` label of its energy; docs/intensity.md)."),
    ("Counting", "Counters (energy, emissions, actions) are read raw at every step and their rises added "
     "up; a fall is a counter reset and a series first seen after the range's start counts from zero (so "
     "the first action on a namespace is counted, which PromQL's increase() would miss). Gauges (power, "
     "held workloads, avoided emissions rate) are taken to hold for the step after each point."),
    ("Estimated avoided emissions", "An estimate, not a measurement, and the same PromQL as the project "
     "dashboard's panel: while the namespace has held workloads, the power it would have drawn is its mean "
     "power over the day before each point; avoided grams per second = max(0, that mean - its power now "
     "(0 when it has none)) x the intensity of its zone / 3.6e6, summed over the range. Deferred work that "
     "runs later is counted in emissions when it runs, so for pause and suspend this is an upper bound; for "
     "scale-down of load-proportional work it is a fair figure."),
)


def method_section(sources: Sequence[Mapping[str, str]]) -> list[str]:
    lines = ["## Method and emission factors", ""]
    lines += [f"- **{name}.** {text}" for name, text in STEPS]
    lines += ["", "The avoided-emissions expression, with the namespace filled in, is listed with every other query "
              "under *What was measured*. Its template:", "", "```promql", queries.AVOIDED, "```", ""]
    lines += _sources_table(sources)
    lines += ["### Lifecycle emission factors (gCO2eq/kWh)", "",
              "Used by the grid exporter when it computes a zone's intensity from ENTSO-E generation (basis "
              "`production` or `consumption`). Intensities with basis `provider` (Electricity Maps, UK National "
              "Grid, a replayed provider trace) use that provider's own factors. " + FACTOR_SOURCES + " These are "
              "the built-in values; a deployment can override any of them (`grid.emission_factors`), which this "
              "report cannot see.", "", "| psrType | production type | gCO2eq/kWh |", "|---|---|---|"]
    lines += [f"| {code} | {production_type_name(code)} | {factor:g} |" for code, factor in sorted(LIFECYCLE_GRAMS_PER_KWH.items())]
    lines += [f"| {code} | {production_type_name(code)} | left out (storage re-releases grid energy) |"
              for code in sorted(STORAGE_PSR_TYPES)]
    return lines + [""]


def _sources_table(sources: Sequence[Mapping[str, str]]) -> list[str]:
    if not sources:
        return ["No intensity series of the namespace's zone was found in the range.", ""]
    rows = [f"| {s.get('zone', '')} | {s.get('source', '')} | {s.get('basis', '')} |" for s in
            sorted(sources, key=lambda s: (s.get("zone", ""), s.get("source", ""), s.get("basis", "")))]
    return ["Intensity series of the namespace's zone(s) in the range (`gridshift_carbon_intensity_grams_per_kwh`):", "",
            "| zone | source | basis |", "|---|---|---|", *rows, ""]
