"""Generation mix -> carbon intensity, gCO2eq/kWh. Pure functions.

Production basis: the generation-weighted mean of lifecycle emission factors over the zone's
own generation. Storage discharge (B10, B25) is left out of both sums (it re-releases grid
energy: counting it at the rest of the mix's intensity is the same as leaving it out), and
storage charging is consumption, never generation.

Consumption basis: one step of proportional sharing ("flow tracing"): power flowing into a
zone (its own generation plus physical imports) mixes in one pool, and both its consumption
and its exports take the pool's intensity. Imports carry their origin zone's production-basis
intensity. A zone importing a lot from a coal-heavy neighbour is judged by what it consumes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gridshift.exporters.grid.factors import STORAGE_PSR_TYPES, UNKNOWN


def mix_intensity(watts: Mapping[str, float], factors: Mapping[str, float]) -> float | None:
    """Intensity of a generation mix (psr_type -> W); None without generation."""
    generating = {psr: w for psr, w in watts.items() if psr not in STORAGE_PSR_TYPES and w > 0}
    total = sum(generating.values())
    if total <= 0:
        return None
    return sum(w * factors.get(psr, UNKNOWN) for psr, w in generating.items()) / total


def pooled_intensity(own_watts: float, own_intensity: float, imports: Iterable[tuple[float, float]]) -> float | None:
    """Consumption-basis intensity from own generation and (watts, intensity) of each import."""
    flows = [(own_watts, own_intensity), *((w, i) for w, i in imports if w > 0)]
    total = sum(w for w, _ in flows)
    if total <= 0:
        return None
    return sum(w * i for w, i in flows) / total
