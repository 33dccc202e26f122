"""The derive step: held inputs -> one ZoneView per zone, a pure function.

Aspects: a view per zone held of (neighbour-only zones too); ENTSO-E's mix, renewable share,
load and dataset timestamps in it; the production series from the real Finnish mix; provider
series beside it, ranked by source preference; a derived series that cannot be computed keeps
the one before; only the zones a round touched (and those importing from them) are derived
again; the inputs are typed by their keys.
"""

from __future__ import annotations

from types import MappingProxyType

import pytest

from gridshift.exporters.grid import datasets, mix
from gridshift.exporters.grid.derive import Derivation, derive
from gridshift.exporters.grid.factors import emission_factors
from gridshift.exporters.grid.parse import parse_document
from gridshift.exporters.grid.records import IntensityPoint, make_series
from gridshift.exporters.grid.snapshot import Held, InputKey, held, provided_key
from gridshift.exporters.grid.views import DataTimestamp
from tests.grid.conftest import FI_NEWEST

FI = "emaps_A75_FI_actual_generation_2025-10-21.xml"
FACTORS = emission_factors({})


@pytest.fixture
def fi_mix(entsoe_xml) -> mix.GenerationMix:
    found = mix.latest_generation_mix(parse_document(entsoe_xml(FI)), vanished_after_seconds=3 * 3600)
    assert found is not None and found.timestamp == FI_NEWEST
    return found


def static_series(zone: str, source: str, value: float):
    return make_series(zone=zone, source=source, basis="provider", resolution_seconds=3600,
                       points=[IntensityPoint(FI_NEWEST, value)])


def test_a_view_per_zone_with_the_mix_load_and_timestamps(fi_mix):
    how = Derivation(factors=FACTORS, entsoe_zones=("FI",), neighbours=MappingProxyType({"FI": ("SE_1",)}))
    inputs = {
        datasets.GENERATION.key("FI"): Held(fi_mix, 1.0),
        datasets.LOAD.key("FI"): Held(mix.Reading(FI_NEWEST - 900, 8e9), 1.0),
        datasets.GENERATION.key("SE_1"): Held(fi_mix, 1.0),  # a neighbour, fetched for the consumption basis
    }
    views = derive(inputs, previous={}, how=how)
    assert sorted(views) == ["FI", "SE_1"]
    fi = views["FI"]
    assert fi.generation is fi_mix and fi.load == mix.Reading(FI_NEWEST - 900, 8e9)
    assert fi.renewable_share is not None and 0 < fi.renewable_share < 1
    assert fi.timestamps == (DataTimestamp("entsoe", "generation", FI_NEWEST), DataTimestamp("entsoe", "load", FI_NEWEST - 900))
    [production] = fi.series  # no flows held yet: no consumption basis
    assert (production.source, production.basis, production.points[0].start) == ("entsoe", "production", FI_NEWEST)
    assert views["SE_1"].series == ()  # a neighbour only: its mix, no intensity of its own


def test_provider_series_are_ranked_by_source_preference(fi_mix):
    how = Derivation(factors=FACTORS, entsoe_zones=("FI",))
    inputs = {
        provided_key("FI", "static"): Held(static_series("FI", "static", 250), 1.0),
        provided_key("FI", "electricitymaps"): Held(static_series("FI", "electricitymaps", 90), 1.0),
        datasets.GENERATION.key("FI"): Held(fi_mix, 1.0),
    }
    view = derive(inputs, previous={}, how=how)["FI"]
    assert [s.source for s in view.series] == ["entsoe", "electricitymaps", "static"]
    assert view.intensity("static", "provider") is inputs[provided_key("FI", "static")].value


def test_a_derived_series_that_cannot_be_computed_keeps_the_one_before(fi_mix):
    how = Derivation(factors=FACTORS, entsoe_zones=("FI",))
    first = derive({datasets.GENERATION.key("FI"): Held(fi_mix, 1.0)}, previous={}, how=how)
    # The next generation answer had no complete interval: nothing to compute from.
    later = derive({datasets.GENERATION.key("FI"): Held(None, 2.0)}, previous=first, how=how)
    assert later["FI"].generation is None and later["FI"].timestamps == ()
    assert later["FI"].series == first["FI"].series


def test_only_the_zones_a_round_touched_are_derived_again(fi_mix):
    how = Derivation(factors=FACTORS, entsoe_zones=("FI", "SE_3"), neighbours=MappingProxyType({"SE_3": ("FI",)}))
    inputs = {datasets.GENERATION.key(z): Held(fi_mix, 1.0) for z in ("FI", "SE_3", "NO_1")}
    before = derive(inputs, previous={}, how=how)
    after = derive(inputs, previous=before, how=how, changed={"FI"})
    assert after["NO_1"] is before["NO_1"]  # untouched: the same view
    assert after["FI"] is not before["FI"] and after["SE_3"] is not before["SE_3"]  # SE_3 imports from FI


def test_inputs_are_typed_by_their_keys(fi_mix):
    key = datasets.GENERATION.key("FI")
    assert key == InputKey("FI", "entsoe", "generation") == ("FI", "entsoe", "generation")
    assert datasets.IMPORTS_FLOWS.key("SE_4", "FI") == ("SE_4", "entsoe", "imports_from_FI")
    found = held({key: Held(fi_mix, 1.0)}, key)
    assert found is not None and found.value.timestamp == FI_NEWEST
