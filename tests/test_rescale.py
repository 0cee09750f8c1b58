"""Whole rescale slopes keep integers integers (Siemens stores 12-bit MR with slope 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

STORED = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 16


@pytest.mark.parametrize(
    "slope, intercept, dtype",
    [(2, -4096, "int32"), (1, -1024, "int32"), (3, 0, "uint32"), (0.5, 0, "float32")],
)
def test_physical_values_and_their_type(
    tmp_path: Path, slope: float, intercept: float, dtype: str
) -> None:
    ds = mr_image(STORED, PatientID="P", RescaleSlope=slope, RescaleIntercept=intercept)
    write_dataset(ds, tmp_path / "a.dcm")
    da = db.database(tmp_path).series()[0].to_xarray()
    assert da.dtype == np.dtype(dtype)
    assert np.array_equal(da.values.reshape(16, 16), STORED.astype(np.int64) * slope + intercept)
