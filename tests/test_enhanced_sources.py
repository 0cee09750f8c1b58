"""Frames derived from an enhanced multi-frame source take its frames' geometry, not the template's.

A classic header is made for each derived frame of an Enhanced MR (its own
header describes the whole object); a second new-user trial found that an
array that had lost its attrs (``xr.DataArray(result, coords=da.coords)``,
as scipy results are wrapped) was written with the template's pixel
spacing, slice thickness and orientation -- voxels 12 mm away -- and that
a mean over the slices was placed at the template's made-up position.
Now the functional groups of each source frame give the geometry and
timing; a frame made of all of them keeps only what they share.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import xarray as xr
from builders import Manifest
from validators import dciodvfy_errors

import dbdicom as db
from dbdicom._templates import enhanced_mr_image, write_dataset


def _enhanced(folder: tuple[Path, Manifest]) -> tuple[db.Database, db.Series]:
    database = db.database(folder[0])
    database.mute()
    return database, database.series(SeriesDescription="ME enhanced")[0]


def test_an_array_without_attrs_is_written_where_its_frames_are(
    database_folder: tuple[Path, Manifest],
) -> None:
    database, source = _enhanced(database_folder)
    da = source.to_xarray()
    assert float(da.PixelSpacing[0]) == 1.0  # the template's is 1.5
    bare = xr.DataArray(da.values * 2, coords=da.coords, dims=da.dims)  # attrs lost
    out = source.new_sibling(SeriesDescription="bare")
    out.set_xarray(bare)
    back = out.to_xarray()
    np.testing.assert_allclose(back.dicom.affine, da.dicom.affine, atol=1e-6)
    first = pydicom.dcmread(out.files()[0], stop_before_pixels=True)
    assert [float(x) for x in first.PixelSpacing] == [1.0, 1.0]
    assert float(first.SliceThickness) == 5.0
    assert float(first.EchoTime) in {float(t) for t in da.EchoTime.values}
    database.restore()
    database.close()


def test_a_frame_made_of_all_frames_keeps_what_they_share(
    database_folder: tuple[Path, Manifest],
) -> None:
    database, source = _enhanced(database_folder)
    da = source.to_xarray()
    out = source.new_sibling(SeriesDescription="mean")
    out.set_xarray(da.mean(["SliceLocation", "EchoTime"]))
    (path,) = out.files()
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    # what every frame shares
    assert [float(x) for x in ds.PixelSpacing] == [1.0, 1.0] and float(ds.SliceThickness) == 5.0
    # what differs between them (where, which echo): empty, as for classic sources
    assert ds.ImagePositionPatient is None or ds.ImagePositionPatient == ""
    assert not ds.get("EchoTime")
    assert not [e for e in dciodvfy_errors(path) if "EchoTime" in e or "PixelSpacing" in e]
    database.restore()
    database.close()


def test_each_derived_frame_keeps_its_own_acquisition_time(tmp_path: Path) -> None:
    """A trial: a dynamic Enhanced MR (3 slices x 4 times, FrameAcquisitionDateTime 12:00
    to 12:03) doubled gave every derived file the object's AcquisitionDateTime (09:30:12,
    when the acquisition started): one time for all four time points."""
    times = [f"2024010112{t:02d}00.000000" for t in range(4) for _ in range(3)]
    ds = enhanced_mr_image(
        np.arange(12 * 4 * 4, dtype=np.uint16).reshape(12, 4, 4),
        positions=[(0.0, 0.0, 3.0 * k) for _ in range(4) for k in range(3)],
        per_frame={"FrameAcquisitionDateTime": times},
        AcquisitionDateTime="20240115093012",
    )
    write_dataset(ds, tmp_path / "db" / "dynamic.dcm")
    database = db.database(tmp_path / "db")
    source = database.series()[0]
    da = source.to_xarray()
    out = source.new_sibling(SeriesDescription="doubled")
    out.set_xarray(da * 2)
    found = set()
    for path in out.files():
        header = pydicom.dcmread(path, stop_before_pixels=True)
        found.add((header.AcquisitionDate, header.AcquisitionTime))
    assert found == {("20240101", f"12{t:02d}00.000000") for t in range(4)}
    database.close()
