"""Readable units for the report's numbers and chart axes: the largest unit the value reaches."""

from __future__ import annotations

from collections.abc import Iterable

Units = tuple[tuple[float, str], ...]  # (size in the base unit, symbol), smallest first

ENERGY: Units = ((1.0, "J"), (3600.0, "Wh"), (3.6e6, "kWh"), (3.6e9, "MWh"))
MASS: Units = ((1e-3, "mg"), (1.0, "g"), (1e3, "kg"), (1e6, "t"))
POWER: Units = ((1e-3, "mW"), (1.0, "W"), (1e3, "kW"), (1e6, "MW"))
DURATION: Units = ((1.0, "s"), (60.0, "min"), (3600.0, "h"), (86400.0, "d"))


def unit_for(values: Iterable[float | None], units: Units) -> tuple[float, str]:
    """The unit in which the largest magnitude among `values` is at least 1 (else the smallest)."""
    largest = max((abs(v) for v in values if v is not None), default=0.0)
    chosen = units[0]
    for unit in units:
        if largest >= unit[0]:
            chosen = unit
    return chosen


def human(value: float | None, units: Units) -> str:
    """`1043.2` J -> `1043 J`, `5400` J -> `1.50 Wh`, `0.0123` g -> `12.3 mg`; None -> `n/a`."""
    if value is None:
        return "n/a"
    size, symbol = unit_for([value], units)
    scaled = value / size
    decimals = 0 if abs(scaled) >= 100 else 1 if abs(scaled) >= 10 else 2
    return f"{scaled:.{decimals}f} {symbol}"
