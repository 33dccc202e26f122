"""Zone keys (CONTRACT.md "Zones"): ENTSO-E areas by their entsoe-py name."""

from __future__ import annotations

import difflib
from functools import lru_cache

from entsoe.mappings import Area


@lru_cache(maxsize=1)
def entsoe_zone_names() -> frozenset[str]:
    return frozenset(area.name for area in Area)


def entsoe_area_code(zone: str) -> str:
    """The EIC code of an ENTSO-E zone, e.g. `FI` -> `10YFI-1--------U`."""
    return str(Area[zone].code)


def check_entsoe_zone(zone: str, path: str) -> str | None:
    """None when `zone` is a known ENTSO-E area name, else a problem that suggests the nearest."""
    names = entsoe_zone_names()
    if zone in names:
        return None
    close = difflib.get_close_matches(zone, sorted(names), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"{path}: unknown ENTSO-E zone {zone!r}{hint}"
