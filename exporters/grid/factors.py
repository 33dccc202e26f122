"""Lifecycle emission factors per ENTSO-E production type, gCO2eq/kWh. Data, not code.

Source: IPCC AR5 (2014), Working Group III, Annex III, Table A.III.2, lifecycle median values,
as Electricity Maps uses them by default (electricitymaps-contrib, "co2eq_parameters", lifecycle
defaults): coal 820, gas 490, biomass 230, solar 45 (median of utility-scale 48 and rooftop 41),
geothermal 38, hydro 24, nuclear 12, wind 11 (onshore 11, offshore 12). Oil 650 is not in AR5;
Electricity Maps takes it from UK POST (2014) "Carbon footprint of electricity generation".
Unknown/other 700 is Electricity Maps' conservative assumption for unspecified generation.

ENTSO-E codes map to those categories as Electricity Maps' ENTSO-E parser groups them
(ENTSOE_PARAMETER_GROUPS): coal B02 B05 B07 B08, gas B03 B04, biomass B01 B17, hydro B11 B12,
wind B18 B19, unknown B13 B15 B20.

Storage (B10 pumped storage, B25 energy storage) re-releases energy taken from the grid, so it
has no factor of its own: it is left out of the intensity (see intensity.py), which amounts to
assuming it discharges at the intensity of the rest of the mix. Its charging is consumption.
Every value can be overridden in the configuration (`grid.emission_factors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

COAL, GAS, OIL, BIOMASS, GEOTHERMAL, HYDRO, NUCLEAR, SOLAR = 820.0, 490.0, 650.0, 230.0, 38.0, 24.0, 12.0, 45.0
WIND_ONSHORE, WIND_OFFSHORE, UNKNOWN = 11.0, 12.0, 700.0

LIFECYCLE_GRAMS_PER_KWH: Mapping[str, float] = MappingProxyType({
    "B01": BIOMASS,  # Biomass
    "B02": COAL,  # Fossil Brown coal/Lignite
    "B03": GAS,  # Fossil Coal-derived gas
    "B04": GAS,  # Fossil Gas
    "B05": COAL,  # Fossil Hard coal
    "B06": OIL,  # Fossil Oil
    "B07": COAL,  # Fossil Oil shale
    "B08": COAL,  # Fossil Peat
    "B09": GEOTHERMAL,  # Geothermal
    "B11": HYDRO,  # Hydro Run-of-river and pondage
    "B12": HYDRO,  # Hydro Water Reservoir
    "B13": UNKNOWN,  # Marine
    "B14": NUCLEAR,  # Nuclear
    "B15": UNKNOWN,  # Other renewable
    "B16": SOLAR,  # Solar
    "B17": BIOMASS,  # Waste
    "B18": WIND_OFFSHORE,  # Wind Offshore
    "B19": WIND_ONSHORE,  # Wind Onshore
    "B20": UNKNOWN,  # Other
})

STORAGE_PSR_TYPES: frozenset[str] = frozenset({"B10", "B25"})


def emission_factors(overrides: Mapping[str, float]) -> Mapping[str, float]:
    """The built-in table with the configuration's overrides applied."""
    return MappingProxyType({**LIFECYCLE_GRAMS_PER_KWH, **overrides})
