"""The compact hourly column the history is held in: a later value wins, windows pad with NaN,
it grows both ways, old hours are dropped, shares are float16 and layers merge in order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gridshift.exporters.grid.hourly import SHARE, HourlyColumn, dtype_for, merged

H = 3600
T0 = 1_761_091_200  # an hour


def test_points_land_on_their_hours_and_a_later_value_wins():
    column = HourlyColumn()
    column.put([(T0 + 2 * H, 20.0), (T0, 1.0), (T0 + 2 * H + 900, 21.0)])  # the quarter-hour lands on its hour
    assert column.items() == [(T0, 1.0), (T0 + 2 * H, 21.0)]
    assert len(column) == 2 and column.first_hour == T0 // H and column.end_hour == T0 // H + 3
    column.put([(T0 - 3 * H, 5.0)])  # grows backwards (the backfill arrives newest first)
    assert column.first_hour == T0 // H - 3 and column.items()[0] == (T0 - 3 * H, 5.0)
    column.put([(T0, math.nan), (float("inf"), 3.0)])  # NaN clears; a non-finite time is skipped
    assert [t for t, _ in column.items()] == [T0 - 3 * H, T0 + 2 * H]


def test_a_window_pads_with_nan_and_old_hours_are_dropped():
    column = HourlyColumn()
    column.put([(T0 + k * H, float(k)) for k in range(5)])
    window = column.window(T0 // H - 2, T0 // H + 7)
    assert np.isnan(window[:2]).all() and list(window[2:7]) == [0, 1, 2, 3, 4] and np.isnan(window[7:]).all()
    assert column.window(T0 // H + 10, T0 // H + 10).size == 0
    column.drop_before(T0 // H + 3)
    assert column.items() == [(T0 + 3 * H, 3.0), (T0 + 4 * H, 4.0)]
    column.drop_before(T0 // H + 100)
    assert column.items() == [] and len(column) == 0


def test_shares_are_float16_and_other_series_float32():
    assert dtype_for(SHARE + "B16") is np.float16 and dtype_for("intensity") is np.float32
    share = HourlyColumn(dtype_for(SHARE + "B16"))
    share.put([(T0, 0.123456)])
    assert share.values.dtype == np.float16 and share.items()[0][1] == pytest.approx(0.123456, rel=1e-3)


def test_layers_merge_in_order_each_later_one_winning_where_it_has_a_value():
    old, new = HourlyColumn(), HourlyColumn()
    old.put([(T0, 1.0), (T0 + H, 2.0)])
    new.put([(T0 + H, 20.0), (T0 + 2 * H, 30.0)])
    assert list(merged(T0 // H, T0 // H + 3, [old, None, new])) == [1.0, 20.0, 30.0]
    assert np.isnan(merged(T0 // H, T0 // H + 1, [])).all()
