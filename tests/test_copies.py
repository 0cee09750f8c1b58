"""Two copies of one image in a folder: the refusal to stack them says what they are."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut

import dbdicom as db


def test_copies_of_one_image_are_named_and_one_can_be_kept(tmp_path: Path) -> None:
    """pydicom-data ships gdcm-US-ALOKA-16 twice (little and big endian): one SOP Instance UID.

    The refusal said "Tags that vary: none" and no way out.
    """
    for name in ("gdcm-US-ALOKA-16.dcm", "gdcm-US-ALOKA-16_big.dcm"):
        shutil.copy(get_testdata_file(name), tmp_path / name)
    database = db.database(tmp_path)
    assert any("duplicate (0008,0018)" in p for p in database.problems()["problem"])
    (series,) = database.series()
    with pytest.raises(db.GridError, match="alike in every tag.*instance.remove"):
        series.to_xarray()
    series.instances()[1].remove()
    values = series.to_xarray().values
    ds = pydicom.dcmread(get_testdata_file("gdcm-US-ALOKA-16.dcm"))
    expected = apply_color_lut(ds.pixel_array, ds)  # a PALETTE COLOR image: read as RGB
    assert np.array_equal(values.reshape(expected.shape), expected)
    database.restore()
    assert len(series.instances()) == 2
