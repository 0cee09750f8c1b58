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

import warnings
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


def test_a_dim_that_an_attr_gives_one_value_is_refused(tmp_path: Path) -> None:
    """A trial: ``xr.concat`` of two series along a new dim named after the tag they
    differ in keeps the attrs of the first (xarray's default), so the attr said
    RepetitionTime 10 of every frame, and the frames of B (20 ms) were written with 10,
    without a word. A dim of several frames without a coordinate, whose name an attr
    gives one value, is refused with the way out; that way out writes each its own."""
    _two_series(tmp_path)
    database = db.database(tmp_path)
    a, b = (database.series(SeriesDescription=name)[0] for name in ("A", "B"))
    stacked = xr.concat([a.to_xarray(), b.to_xarray()], dim="RepetitionTime")
    assert stacked.attrs["RepetitionTime"] == 10.0 and "RepetitionTime" not in stacked.coords
    out = a.new_sibling(SeriesDescription="stacked")
    with pytest.raises(db.InvalidValueError, match=r"assign_coords\(RepetitionTime=") as said:
        out.set_xarray(stacked)
    assert "attrs.pop('RepetitionTime')" in str(said.value)
    assert not out.instances()  # nothing written
    fixed = stacked.assign_coords(RepetitionTime=[10.0, 20.0])
    fixed.attrs.pop("RepetitionTime")
    out.set_xarray(fixed)
    said_tr = sorted(float(pydicom.dcmread(p).RepetitionTime) for p in out.files())
    assert said_tr == [10.0] * 3 + [20.0] * 3
    back = out.to_xarray(dims=["RepetitionTime", "SliceLocation"])
    np.testing.assert_array_equal(back.values, fixed.values)
    one = xr.concat([a.to_xarray()], dim="RepetitionTime")  # one frame along it: the attr's
    assert {float(pydicom.dcmread(p).RepetitionTime) for p in out.set_xarray(one).files()} == {10.0}
    database.close()


def test_a_reduction_over_the_series_stacked_says_it_has_no_sources(
    tmp_path: Path,
) -> None:
    """A trial: the mean over flip angles of two series stacked with db.to_xarray lost
    the SeriesInstanceUID coordinate (it varied along the dim reduced), so no frame had
    a source and the MR template's placeholder FlipAngle 15 was written, without a word
    (the warning was only for arrays with no attrs at all). Now none is made up, but
    the new images still reference none of the images they came from, nor have the
    values the attrs do not hold: that is said."""
    _two_series(tmp_path)
    database = db.database(tmp_path)
    a, b = (database.series(SeriesDescription=name)[0] for name in ("A", "B"))
    stacked = db.to_xarray([a, b])
    reduced = stacked.mean(
        next(d for d in stacked.dims if d not in ("SliceLocation", "row", "column"))
    )
    assert "SeriesInstanceUID" not in reduced.attrs and "SeriesInstanceUID" not in reduced.coords
    out = a.new_sibling(SeriesDescription="mean")
    with pytest.warns(db.DicomWarning, match=r"reference no source images.*header="):
        out.set_xarray(reduced)
    database.close()


def test_a_reduction_over_the_series_stacked_makes_up_no_acquisition_values(
    tmp_path: Path,
) -> None:
    """A trial: the mean over the flip angles of two series stacked (FA 2 and 20) was
    written with the MR template's FlipAngle 15 (and its RepetitionTime, 1.5 T...)."""
    study, frame = new_uid(), new_uid()
    for fa in (2.0, 20.0):
        series = new_uid()
        for s in range(2):
            ds = mr_image(
                np.full((8, 8), s + int(fa), np.uint16),
                StudyInstanceUID=study,
                SeriesInstanceUID=series,
                FrameOfReferenceUID=frame,
                ImagePositionPatient=[0, 0, 2.0 * s],
                SeriesDescription=f"FA{fa:g}",
                FlipAngle=fa,
                RepetitionTime=8.0 if fa == 2.0 else 9.0,
                EchoTime=3.0,
                MagneticFieldStrength=3.0,
            )
            write_dataset(ds, tmp_path / f"{fa:g}_{s}.dcm")
    database = db.database(tmp_path)
    fa2, fa20 = (database.series(SeriesDescription=name)[0] for name in ("FA2", "FA20"))
    stacked = db.to_xarray([fa2, fa20])
    reduced = stacked.mean(
        next(d for d in stacked.dims if d not in ("SliceLocation", "row", "column"))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fa2.new_sibling(SeriesDescription="mean").set_xarray(reduced)
    for path in out.files():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert "FlipAngle" not in ds  # Type 3: left out, not the template's 15
        assert ds["RepetitionTime"].is_empty  # Type 2: present, empty, not 5
        assert float(ds.EchoTime) == 3.0  # what both series say: the attrs keep it
        # not among the attrs (not indexed): not known, so not the template's 1.5 T
        assert "MagneticFieldStrength" not in ds
    assert dciodvfy_errors(out.files()[0]) == []
    database.close()
