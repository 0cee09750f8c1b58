"""The way out a refusal of a write advises works: the test runs the code it gives.

A refusal that says what to do is run as it says, on the array refused, and
the write then succeeds with the values the user had (no frame merged into
another, no value changed).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import dbdicom as db
from dbdicom._errors import InvalidValueError


def _study(tmp_path: Path) -> db.Study:
    return db.database(tmp_path).new_patient(PatientName="X").new_study()


def _advice(message: str, pattern: str) -> str:
    found = re.search(pattern, message)
    assert found, f"no advice matching {pattern!r} in: {message}"
    return found.group(0)


@pytest.mark.parametrize(
    "keyword", ["InstanceNumber", "AcquisitionNumber", "TemporalPositionIndex"]
)
def test_a_counter_coordinate_given_as_fractions_is_dropped_as_advised(
    tmp_path: Path, keyword: str
) -> None:
    """A trial: the refusal of a coordinate of IS (or UL) counters given as 1.2, 1.4
    advised ``da.assign_coords(K=da.K.round())``, which makes them 1 and 1: two
    frames no longer told apart. Dropping the coordinate (the way out it now gives
    first) keeps every frame, in order."""
    values = np.arange(3 * 4 * 4, dtype=np.uint16).reshape(3, 4, 4)
    da = xr.DataArray(values, dims=(keyword, "row", "column"), coords={keyword: [1.2, 1.4, 1.6]})
    study = _study(tmp_path)
    series = study.new_series()
    with pytest.raises(InvalidValueError) as refused, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series.set_xarray(da)
    message = str(refused.value)
    assert "1.2 and 1.4 one value" in message  # the rounding it mentions says what it does
    code = _advice(message, r"da\.drop_vars\('\w+'\)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series.set_xarray(eval(code, {"da": da}))  # noqa: S307 - the advice, as written
    back = series.to_xarray()
    assert back.shape == (3, 4, 4)
    assert np.array_equal(back.values, values)  # every frame, in its order


def test_nan_values_are_kept_in_a_parametric_map_as_advised(tmp_path: Path) -> None:
    """A trial: the refusal of NaN values advised only replacing them; a parametric
    map (``kind="parametric map"`` of set_xarray and set_array) keeps them."""
    values = np.ones((3, 4, 4), np.float32)
    values[0, 0, 0], values[1, 2, 3] = np.nan, np.inf  # failed fits
    da = xr.DataArray(values, dims=("SliceLocation", "row", "column"))
    series = _study(tmp_path).new_series()
    with pytest.raises(InvalidValueError) as refused:
        series.set_xarray(da)
    code = _advice(str(refused.value), r"series\.set_xarray\(da, kind='parametric map'\)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eval(code, {"series": series, "da": da})  # noqa: S307 - the advice, as written
    assert np.array_equal(series.to_xarray().values, values, equal_nan=True)


def test_nan_values_of_a_numpy_array_are_kept_in_a_parametric_map_as_advised(
    tmp_path: Path,
) -> None:
    values = np.ones((2, 4, 4), np.float32)
    values[1, 0, 0] = np.nan
    series = _study(tmp_path).new_series()
    with pytest.raises(InvalidValueError, match=r"set_array\(\.\.\., kind='parametric map'\)"):
        series.set_array(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series.set_array(values, kind="parametric map")
    assert np.array_equal(series.to_xarray().values, values, equal_nan=True)
