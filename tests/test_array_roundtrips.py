"""The numpy face on enhanced multi-frame series, and frames written back read the same way."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from builders import AXIAL, Manifest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

import dbdicom as db
from dbdicom._templates import enhanced_mr_image, mr_image, new_uid, write_dataset


def _enhanced(database: db.Database) -> db.Series:
    return database.series(SeriesDescription="ME enhanced")[0]


def test_enhanced_array_matches_to_xarray(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    database = db.database(root)
    series = _enhanced(database)
    info = manifest.series_by_description("ME enhanced")
    uid = info.instances[0].sop_instance_uid
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "EchoTime", "row", "column")

    # the frames sharing a slice are enumerated along n by InstanceNumber, then
    # frame number: echo-major frames give the echoes in increasing order
    array, header = series.array(["SliceLocation"])
    assert array.shape == (4, 2, 32, 32)
    np.testing.assert_array_equal(array, da.values)
    assert header.shape == (4, 2)
    assert all(isinstance(h, db.Instance) for h in header.flat)
    assert {h.SOPInstanceUID for h in header.flat} == {uid}  # one file holds all frames
    assert header[0, 0].SeriesDescription == "ME enhanced"

    both, header2 = series.array(["SliceLocation", "EchoTime"])
    assert both.shape == (4, 2, 1, 32, 32) and header2.shape == (4, 2, 1)
    np.testing.assert_array_equal(both[:, :, 0], da.values)

    first, _ = series.array(["SliceLocation"], pixels_first=True)
    assert first.shape == (32, 32, 4, 2)
    np.testing.assert_array_equal(first, np.moveaxis(array, (2, 3), (0, 1)))

    # the default: every frame along n, in file order
    default, header3 = series.array()
    assert default.shape == (8, 32, 32) and header3.shape == (8,)
    frames = da.transpose("EchoTime", "SliceLocation", "row", "column").values.reshape(8, 32, 32)
    np.testing.assert_array_equal(default, frames)
    assert {h.SOPInstanceUID for h in header3} == {uid}
    database.close()


def _with_vendor_shadow(ds: Dataset) -> Dataset:
    """Give each frame a private copy of a classic header, as Philips does, with other values."""
    for k, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        shadow = Dataset()
        shadow.SOPInstanceUID = new_uid()
        shadow.InstanceNumber = k + 1
        shadow.ImagePositionPatient = [100.0, 100.0, 100.0 + k]
        block = item.private_block(0x2005, "Philips MR Imaging DD 005", create=True)
        block.add_new(0x0F, "SQ", [shadow])
    return ds


def test_enhanced_with_private_per_frame_header(tmp_path: Path) -> None:
    positions = [[-16.0, -16.0, 5.0 * k] for k in range(4)]
    ds = enhanced_mr_image(
        np.arange(4 * 16 * 16, dtype=np.uint16).reshape(4, 16, 16),
        positions=positions,
        PixelSpacing=[1.0, 1.0],
        SliceThickness=5.0,
        ImageOrientationPatient=list(AXIAL),
        SeriesDescription="shadowed",
    )
    write_dataset(_with_vendor_shadow(ds), tmp_path / "db" / "EMR")
    database = db.database(tmp_path / "db")
    series = database.series()[0]
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "row", "column")
    np.testing.assert_allclose(da.SliceLocation, [0.0, 5.0, 10.0, 15.0])  # not the shadow's
    assert set(da.SOPInstanceUID.values.tolist()) == {str(ds.SOPInstanceUID)}
    array, header = series.array(["SliceLocation"])
    np.testing.assert_array_equal(array[:, 0], da.values)
    assert [h.SOPInstanceUID for h in header[:, 0]] == [str(ds.SOPInstanceUID)] * 4
    database.close()


def _copy_of(tmp_path: Path, name: str) -> db.Database:
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(get_testdata_file(name), folder / name)
    database = db.database(folder)
    database.mute()
    return database


def _assert_same(before: xr.DataArray, after: xr.DataArray) -> None:
    assert after.dims == before.dims
    for dim in before.dims[:-2]:
        np.testing.assert_array_equal(after[dim].values, before[dim].values)
    np.testing.assert_array_equal(after.values, before.values)


@pytest.mark.parametrize(
    "name",
    ["emri_small.dcm", "OBXXXX1A_2frame.dcm"],
    ids=["enhanced-mr-without-groups", "ultrasound-cine"],
)
def test_multiframe_cine_round_trip(tmp_path: Path, name: str) -> None:
    database = _copy_of(tmp_path, name)
    source = database.series()[0]
    da = source.to_xarray()
    if "channel" in da.dims:  # the ultrasound is PALETTE COLOR: RGB, written a channel at a time
        assert da.sizes["channel"] == 3
        da = da.isel(channel=0, drop=True)
    assert da.dims == ("frame", "row", "column")
    # a trial: frame (an index into the file) was float64 as a dim, int64 as a coordinate
    assert da.frame.dtype == np.int64
    np.testing.assert_array_equal(da.frame, np.arange(da.sizes["frame"]))
    out = source.new_sibling(SeriesDescription="copy")
    out.set_xarray(da)
    again = out.to_xarray()
    _assert_same(da, again)
    assert again.frame.dtype == np.int64  # frames written one a file: their InstanceNumber order
    # and once more, from what was read back
    third = out.new_sibling(SeriesDescription="copy of copy")
    third.set_xarray(again)
    _assert_same(da, third.to_xarray())
    database.close()


def test_frame_dim_without_source_round_trip(database_folder: tuple[Path, Manifest]) -> None:
    root, _ = database_folder
    database = db.database(root)
    database.mute()
    pixels = np.arange(3 * 4 * 8 * 8, dtype=np.uint16).reshape(3, 4, 8, 8)
    da = xr.DataArray(
        pixels,
        dims=("SliceLocation", "frame", "row", "column"),
        coords={"SliceLocation": [0.0, 5.0, 10.0]},
    )
    series = database.series(SeriesDescription="VFA")[0].new_sibling(SeriesDescription="cine")
    series.set_xarray(da)
    back = series.to_xarray()
    assert back.dims == da.dims
    np.testing.assert_array_equal(back.frame, [0, 1, 2, 3])
    assert back.frame.dtype == np.int64
    np.testing.assert_array_equal(back.values, pixels)
    # the frame dim asked for by name gives the same
    np.testing.assert_array_equal(series.to_xarray(dims=["SliceLocation", "frame"]), back)
    database.close()


def test_refusal_lists_what_varies(tmp_path: Path) -> None:
    # three slices that fit no grid: two flip angles at one position, one at the other
    study = {"StudyInstanceUID": new_uid(), "SeriesInstanceUID": new_uid()}
    at = [(0.0, 2.0), (0.0, 5.0), (5.0, 2.0)]
    for k, (z, flip) in enumerate(at):
        ds = mr_image(
            np.full((8, 8), k, dtype=np.uint16),
            ImagePositionPatient=[0.0, 0.0, z],
            FlipAngle=flip,
            InstanceNumber=k + 1,
            **study,
        )
        write_dataset(ds, tmp_path / "db" / f"IM{k}")
    database = db.database(tmp_path / "db")
    series = database.series()[0]
    with pytest.raises(db.GridError, match="no set of tags") as err:
        series.to_xarray()
    message = str(err.value)
    assert "none" not in message
    for varying in ("SliceLocation (2", "FlipAngle (2", "InstanceNumber (3 values)"):
        assert varying in message
    database.close()


def test_refusal_of_absent_dim_lists_instance_number(tmp_path: Path) -> None:
    database = _copy_of(tmp_path, "OBXXXX1A_2frame.dcm")
    source = database.series()[0]
    out = source.new_sibling(SeriesDescription="copy")
    out.set_xarray(source.to_xarray().isel(channel=0))  # PALETTE COLOR: RGB
    with pytest.raises(db.GridError, match="InstanceNumber \\(2 values\\)") as err:
        out.to_xarray(dims=["SliceLocation"])
    assert "none" not in str(err.value)
    database.close()


def test_refusal_names_the_series_attribute_that_tells_two_acquisitions_apart(
    tmp_path: Path,
) -> None:
    """Two acquisitions at the same positions sent under one SeriesInstanceUID.

    The refusal listed SliceLocation, InstanceNumber and ImagePositionPatient
    (4 values each, for 8 frames) and suggested fill=True, which cannot help:
    not SeriesNumber, the tag that tells them apart, nor that the points of
    SliceLocation hold two frames each.
    """
    uids = {
        "StudyInstanceUID": new_uid(),
        "SeriesInstanceUID": new_uid(),
        "FrameOfReferenceUID": new_uid(),
    }
    for number in (7, 8):
        for k in range(2):
            ds = mr_image(
                np.full((8, 8), number * 10 + k, dtype=np.uint16),
                ImagePositionPatient=[0.0, 0.0, 5.0 * k],
                InstanceNumber=k + 1,
                SeriesNumber=number,
                **uids,
            )
            write_dataset(ds, tmp_path / "db" / f"S{number}" / f"IM{k}")
    database = db.database(tmp_path / "db")
    (series,) = database.series()
    with pytest.raises(db.GridError, match="no set of tags") as err:
        series.to_xarray()
    message = str(err.value)
    assert "2 points of ['SliceLocation'] hold more than one frame" in message
    assert "they differ in SeriesNumber" in message
    assert "SeriesNumber (2 values)" in message and "series.subseries(SeriesNumber=" in message
    with pytest.raises(db.GridError, match="They differ in SeriesNumber: add one"):
        series.to_xarray(dims=["SliceLocation"])
    da = series.to_xarray(dims=["SliceLocation", "SeriesNumber"])
    assert da.sel(SliceLocation=5.0, SeriesNumber=8).values.max() == 81
    # merged so that nothing tells them apart: the way out is to leave frames out
    for instance in series.instances():
        instance.SeriesNumber = 7
    with pytest.raises(db.GridError, match="no tag tells them apart: leave one of each out"):
        series.to_xarray()
    database.restore()
    database.close()
