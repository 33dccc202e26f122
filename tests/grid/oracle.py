"""Expected values read independently of gridshift's parser: entsoe-py's own pandas parsers."""

from __future__ import annotations

import pandas as pd
from entsoe import parsers
from entsoe.mappings import PSRTYPE_MAPPINGS

PSR_BY_NAME = {name: code for code, name in PSRTYPE_MAPPINGS.items()}


def generation_at(xml_text: str, epoch: int) -> dict[str, float]:
    """psr_type -> watts of "Actual Aggregated" generation at one interval start."""
    frame = parsers.parse_generation(xml_text)
    if isinstance(frame.columns, pd.MultiIndex):
        frame = frame.xs("Actual Aggregated", axis=1, level=-1)
    row = frame.loc[pd.Timestamp(epoch, unit="s", tz="UTC")]
    return {PSR_BY_NAME[name]: float(value) * 1e6 for name, value in row.items() if pd.notna(value)}


def newest_generation_timestamp(xml_text: str) -> int:
    frame = parsers.parse_generation(xml_text)
    return int(frame.dropna().index.max().timestamp())


def load_series(xml_text: str) -> pd.Series:
    return parsers.parse_loads(xml_text, process_type="A16")
