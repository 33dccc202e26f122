"""ENTSO-E production types (psrType codes): names as entsoe-py maps them, and renewability.

Names come from entsoe-py's `PSRTYPE_MAPPINGS` (ENTSO-E's code list), snake-cased for the
`production_type` label: `B02` 'Fossil Brown coal/Lignite' -> `fossil_brown_coal_lignite`.
"""

from __future__ import annotations

import re

from entsoe.mappings import PSRTYPE_MAPPINGS

# Renewable sources as ENTSO-E and Eurostat count them. Nuclear (B14) is low-carbon but not
# renewable; waste (B17) is partly biogenic but reported as one, so it is not counted; pumped
# storage (B10) re-releases energy taken from the grid, so it is not counted either.
RENEWABLE_PSR_TYPES: frozenset[str] = frozenset(
    {"B01", "B09", "B11", "B12", "B13", "B15", "B16", "B18", "B19"}
)


def production_type_name(psr_type: str) -> str:
    """Snake-case label value of a psrType code; unknown codes keep their code, lower-cased."""
    name = PSRTYPE_MAPPINGS.get(psr_type)
    if name is None:
        return psr_type.lower()
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def is_renewable(psr_type: str) -> bool:
    return psr_type in RENEWABLE_PSR_TYPES
