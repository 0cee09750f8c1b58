"""What a write makes of the slices of an array: xarray's interp and coarsen along them.

A trial: ``interp`` along SliceLocation made InstanceNumber 1.5, and the write
was refused with a message that gave no way out. InstanceNumber numbers the
frames: where it is not whole numbers, the frames are numbered anew.
"""

from __future__ import annotations

from collections.abc import Iterator

import pydicom
import pytest
import xarray as xr

import dbdicom as db


@pytest.fixture
def ct(demo_database: db.Database) -> Iterator[db.Series]:
    """The demo's CT (10 slices 2.5 mm apart); the database restored after."""
    yield demo_database.series(SeriesDescription="CT phantom")[0]
    demo_database.restore()


def _written(source: db.Series, da: xr.DataArray) -> list[pydicom.Dataset]:
    out = source.new_sibling(SeriesDescription="written")
    out.set_xarray(da)
    return [pydicom.dcmread(path) for path in out.files()]


def test_an_instance_number_xarray_interpolated_is_numbered_anew(ct: db.Series) -> None:
    """A trial: interp made InstanceNumber 1.5, and the write was refused with no way out."""
    da = ct.to_xarray().interp(SliceLocation=[5.0, -2.5, -10.0])  # InstanceNumber 7.5...
    numbers = {float(f.SliceLocation): int(f.InstanceNumber) for f in _written(ct, da)}
    assert numbers == {5.0: 1, -2.5: 2, -10.0: 3}  # in the array's order, as without one
    echoes = da.assign_coords(EchoNumbers=("SliceLocation", [1.0, 1.5, 2.0]))
    with pytest.raises(db.InvalidValueError, match=r"coordinate 'EchoNumbers'.*drop_vars"):
        ct.new_sibling().set_xarray(echoes)
