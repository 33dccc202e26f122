"""Grid exporter: fetch upstream grid data, keep an immutable snapshot, present it as metrics.

Flow: sources and providers (transport) -> parse, mix (pure) -> refresher (holds what the jobs
return) -> derive (pure: one ZoneView per zone) -> collector and api. See docs/grid-exporter.md.
"""
