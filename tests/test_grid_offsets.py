"""RT Dose: frames stacked by (3004,000C) Grid Frame Offset Vector, in both of its forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import dbdicom as db


def _dose(tmp_path: Path, offsets: list[float]) -> pydicom.Dataset:
    ds = pydicom.dcmread(get_testdata_file("rtdose.dcm"))
    ds.GridFrameOffsetVector = offsets
    ds.save_as(tmp_path / "dose.dcm")
    return ds


def _positions(database: db.Database) -> np.ndarray:
    da = database.series()[0].to_xarray()
    return np.array([(da.dicom.affine @ [0, 0, k, 1])[:3] for k in range(da.shape[0])])


def test_relative_and_absolute_offsets_give_the_same_slices(tmp_path: Path) -> None:
    """Starting at 0: offsets from the first frame; starting at its z: z coordinates."""
    ds = _dose(tmp_path, [0.0, 2.5, 5.0])
    ds.NumberOfFrames = 3
    ds.PixelData = ds.PixelData[: 3 * 10 * 10 * 4]
    ds.save_as(tmp_path / "dose.dcm")
    relative = _positions(db.database(tmp_path))
    z0 = float(ds.ImagePositionPatient[2])
    ds.GridFrameOffsetVector = [z0, z0 + 2.5, z0 + 5.0]
    ds.save_as(tmp_path / "dose.dcm")
    absolute = _positions(db.database(tmp_path))
    np.testing.assert_allclose(relative[:, 2] - z0, [0.0, 2.5, 5.0])
    np.testing.assert_allclose(absolute, relative)


@pytest.mark.parametrize(
    "offsets, why",
    [
        ([0.0, 5.0], "2 offsets for 15 frames"),
        ([float(k) for k in range(1, 16)], "starts at 1.0, neither 0 nor the z"),
    ],
)
def test_offsets_that_cannot_place_the_frames_are_a_problem(
    tmp_path: Path, offsets: list[float], why: str
) -> None:
    _dose(tmp_path, offsets)
    database = db.database(tmp_path)
    assert any(why in p for p in database.problems()["problem"])
    assert database.series()[0].to_xarray().dims[0] == "frame"  # no position made up
