"""Grid exporter: fetch upstream grid data, keep an immutable snapshot, present it as metrics.

Flow: sources (transport) -> parse (pure) -> mix (pure) -> snapshot -> collector.
"""
