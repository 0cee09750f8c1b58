"""An array stacked from several series finds each frame's source in its own series.

A trial: ``db.to_xarray([a, b])`` or ``xr.concat`` of two series' arrays,
written without its SOPInstanceUID coordinate, found no source frames
(the attrs name no one series): every header came from the MR template,
its made-up RepetitionTime 5 ms said of images acquired at 10 and 20 ms,
and none referenced its source. The ``SeriesInstanceUID`` coordinate names
each frame's series; the frame's source is the frame of that series with
its values of the other dims.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr
from validators import dciodvfy_errors

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset


def _two_series(root: Path) -> None:
    """Series A (RepetitionTime 10) and B (20), three slices each, pixel value = slice."""
    study, frame = new_uid(), new_uid()
    for name, tr in (("A", 10.0), ("B", 20.0)):
        series = new_uid()
        for s in range(3):
            ds = mr_image(
                np.full((8, 8), s + int(tr), np.uint16),
                StudyInstanceUID=study,
                SeriesInstanceUID=series,
                FrameOfReferenceUID=frame,
                ImagePositionPatient=[0, 0, 2.0 * s],
                InstanceNumber=s + 1,
                SeriesDescription=name,
                RepetitionTime=tr,
            )
            write_dataset(ds, root / f"{name}{s}.dcm")


def _stacked(a: db.Series, b: db.Series, how: str) -> xr.DataArray:
    if how == "to_xarray":
        da = db.to_xarray([a, b])
    else:
        parts = [a.to_xarray(), b.to_xarray()]
        da = xr.concat(parts, dim="SeriesInstanceUID", combine_attrs="drop_conflicts")
        da = da.assign_coords(SeriesInstanceUID=[a.uid, b.uid])
    return da.drop_vars("SOPInstanceUID")


@pytest.mark.parametrize("how", ["to_xarray", "concat"])
def test_each_frame_has_the_header_of_its_own_series(tmp_path: Path, how: str) -> None:
    _two_series(tmp_path)
    database = db.database(tmp_path)
    a, b = (database.series(SeriesDescription=name)[0] for name in ("A", "B"))
    sources = {
        i.uid: (float(i.SliceLocation), float(i.RepetitionTime))
        for s in (a, b)
        for i in s.instances()
    }
    out = a.parent.new_series(SeriesDescription="stacked")
    out.set_xarray(_stacked(a, b, how))
    files = [pydicom.dcmread(path) for path in out.files()]
    assert len(files) == 6
    for f in files:
        # the pixel value is the slice plus the source's RepetitionTime
        value = int(f.pixel_array[0, 0])
        place = (float(f.SliceLocation), float(f.RepetitionTime))
        assert value == place[0] / 2 + place[1]
        (item,) = f.SourceImageSequence
        assert sources[item.ReferencedSOPInstanceUID] == place
    for path in out.files():
        assert dciodvfy_errors(path) == []
    database.close()
