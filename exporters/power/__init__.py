"""Namespace power exporter: Kepler (or a CPU-time estimator) -> per-namespace power, energy, emissions.

Flow, one module per step (docs/power.md):
discover (Kubernetes: Kepler endpoints, node labels, pods) -> scrape (HTTP, concurrent) ->
parse (Kepler text, both metric generations; pure) -> accumulate (monotonic per-namespace
counters; pure) -> snapshot -> collector. The refresher runs the loop; nothing flows back.
"""
