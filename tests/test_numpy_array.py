"""``series.array()``: frames read straight into numpy, placed as ``to_xarray()`` places them.

The numpy path shares the grid with the DataArray (one ``layout()``), so
the same series gives the same values in the same places, and the same
errors; compressed frames are decoded on threads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from builders import _patient, _SeriesWriter, _stack, _study

import dbdicom as db
from dbdicom._templates import mr_image


def _rle_series(root: Path, n: int) -> list[Path]:
    """``n`` RLE Lossless MR slices (32 x 32), written in reverse slice order; their paths."""
    common = {**_patient("Rle^Rita", "PAT-RLE", "19700101", "F"), **_study("MR", "1", "20240101")}
    pixels = np.random.default_rng(3).integers(0, 4096, (n, 32, 32), dtype=np.uint16)
    names = [f"S1/IM_{n - k:04d}" for k in range(n)]  # path order is not slice order
    _stack(
        _SeriesWriter(root, common, "RLE", 1, ("SliceLocation",), compression="rle"),
        mr_image,
        pixels,
        names,
    )
    return [root / name for name in names]


def test_compressed_frames_decoded_on_threads_land_where_to_xarray_puts_them(
    tmp_path: Path,
) -> None:
    paths = _rle_series(tmp_path, 40)  # more frames than one thread task holds
    series = db.database(tmp_path).series()[0]
    array, header = series.array("SliceLocation")
    da = series.to_xarray(dims=["SliceLocation"])
    assert array.shape == (40, 1, 32, 32) and header.shape == (40, 1)
    np.testing.assert_array_equal(array[:, 0], da.values)
    by_uid = {str(pydicom.dcmread(p).SOPInstanceUID): p for p in paths}
    for k in (0, 17, 39):  # each frame is its file's pixels
        path = by_uid[header[k, 0].SOPInstanceUID]
        np.testing.assert_array_equal(array[k, 0], pydicom.dcmread(path).pixel_array)
    locations = [h.SliceLocation for h in header[:, 0]]
    assert locations == sorted(locations) == da.SliceLocation.values.tolist()


def test_the_same_errors_as_to_xarray(tmp_path: Path) -> None:
    _rle_series(tmp_path, 3)
    series = db.database(tmp_path).series()[0]
    with pytest.raises(db.GridError, match="no frame of the series has 'InversionTime'"):
        series.array("InversionTime")
    with pytest.raises(db.GridError, match="no frame of the series has 'InversionTime'"):
        series.to_xarray(dims=["InversionTime"])


def test_a_failed_read_on_a_thread_is_raised_as_to_xarray_raises_it(tmp_path: Path) -> None:
    paths = _rle_series(tmp_path, 40)
    series = db.database(tmp_path).series()[0]
    paths[5].unlink()  # gone after it was indexed
    with pytest.raises(OSError, match=paths[5].name) as numpy_error:
        series.array("SliceLocation")
    with pytest.raises(OSError, match=paths[5].name) as xarray_error:
        series.to_xarray(dims=["SliceLocation"]).values  # noqa: B018
    assert type(numpy_error.value) is type(xarray_error.value)
