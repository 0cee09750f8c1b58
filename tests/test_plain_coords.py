"""Coordinates and attrs are plain arrays: netCDF and Zarr store them as they are.

For every series of the demo and for multi-frame data (the Enhanced MR of
the builders, pydicom's enhanced CT, segmentation, RT dose, multi-frame
ultrasound), ``da.to_zarr`` + ``xr.open_zarr`` and ``da.to_netcdf`` +
``xr.open_dataarray`` give back an identical DataArray, with no encoding
of dbdicom's own; and what plain xarray reads back writes back as DICOM.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import xarray as xr
from builders import Manifest
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom._arrays._plain import dt_datetime64

MULTIFRAME = ["emri_small.dcm", "eCT_Supplemental.dcm", "liver.dcm", "rtdose.dcm"]


def _arrays(database: db.Database) -> list[tuple[str, xr.DataArray]]:
    return [
        (f"{s.label()} #{k}", da) for s in database.series() for k, da in enumerate(s.to_xarrays())
    ]


def _assert_plain(da: xr.DataArray) -> None:
    """Every coordinate a numeric, text or datetime array; every attr a plain value."""
    for name, coord in da.coords.items():
        assert coord.dtype.kind in "fiuUM", (name, coord.dtype)
    for name, value in da.attrs.items():
        if isinstance(value, np.ndarray):
            assert value.ndim == 1 and value.dtype == np.float64, name
        else:
            assert type(value) in (str, int, float), (name, type(value))


def _round_trips(da: xr.DataArray, folder: Path, engines: tuple[str, ...]) -> None:
    expected = da.compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr's notes on fixed-width strings in format 3
        da.to_zarr(folder / "da.zarr", mode="w")
        xr.testing.assert_identical(xr.open_zarr(folder / "da.zarr")[da.name].compute(), expected)
        xr.testing.assert_identical(
            xr.open_dataarray(folder / "da.zarr", engine="zarr").compute(), expected
        )
    for engine in engines:
        path = folder / f"da-{engine}.nc"
        da.to_netcdf(path, engine=engine)
        with xr.open_dataarray(path, engine=engine) as back:
            xr.testing.assert_identical(back.load(), expected)


def test_every_demo_series_round_trips_through_zarr_and_netcdf(
    demo: db.Database, tmp_path: Path
) -> None:
    arrays = _arrays(demo)
    assert len(arrays) == 7  # the localiser's three planes, then one per series
    for label, da in arrays:
        _assert_plain(da)
        folder = tmp_path / label.replace(" ", "_").replace(":", "")
        folder.mkdir()
        _round_trips(da, folder, ("h5netcdf", "scipy"))  # netCDF-4 and netCDF-3


def test_multi_frame_data_round_trips(
    database_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    root, _ = database_folder
    built = db.database(root)
    (enhanced,) = built.series(SeriesDescription="ME enhanced")
    arrays = [("ME enhanced", enhanced.to_xarray())]
    for name in MULTIFRAME:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(get_testdata_file(name), folder / name)
        database = db.database(folder)
        database.mute()
        arrays += [(name, da) for _, da in _arrays(database)]
    assert "frame" in arrays[0][1].coords and "DimensionIndexValues[0]" in arrays[0][1].coords
    for label, da in arrays:
        _assert_plain(da)
        out = tmp_path / f"out-{label}"
        out.mkdir()
        _round_trips(da, out, ("h5netcdf",))


def test_the_rules_of_the_values(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0].to_xarray()
    ds = pydicom.dcmread(demo.series(SeriesDescription="VFA")[0].files()[0])
    # several numbers: a float64 array as an attr, Keyword[i] coordinates as coordinates
    np.testing.assert_array_equal(vfa.attrs["PixelSpacing"], [float(x) for x in ds.PixelSpacing])
    assert [f"ImagePositionPatient[{i}]" in vfa.coords for i in range(3)] == [True] * 3
    assert vfa["ImagePositionPatient[2]"].dims == ("SliceLocation",)  # along what it varies
    # several texts: one string joined by backslashes
    assert vfa.attrs["ImageType"] == "\\".join(ds.ImageType)
    # times of day: seconds since midnight, as attrs and as coordinates
    h, m, s = int(ds.StudyTime[:2]), int(ds.StudyTime[2:4]), float(ds.StudyTime[4:])
    assert vfa.attrs["StudyTime"] == h * 3600 + m * 60 + s
    assert vfa["AcquisitionTime"].dtype == np.float64
    # dates: datetime64; shared by all frames, a scalar coordinate
    assert vfa["StudyDate"].ndim == 0
    assert vfa["StudyDate"].values == np.datetime64(
        f"{ds.StudyDate[:4]}-{ds.StudyDate[4:6]}-{ds.StudyDate[6:]}"
    )
    assert "affine" not in vfa.attrs  # worked out from the coordinates: vfa.dicom.affine


def test_date_times_are_datetime64_without_the_offset() -> None:
    assert dt_datetime64("20240115101530.25+0100") == np.datetime64("2024-01-15T10:15:30.25")
    assert dt_datetime64("202401") == np.datetime64("2024-01-01T00:00")
    assert np.isnat(dt_datetime64("not a date"))


def test_what_plain_xarray_reads_back_writes_back(demo: db.Database, tmp_path: Path) -> None:
    """An array read from netCDF (text as objects, dates decoded) is written as the original."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray()
    da.to_netcdf(tmp_path / "vfa.nc", engine="h5netcdf")
    with xr.open_dataarray(tmp_path / "vfa.nc", engine="h5netcdf") as stored:
        stored = stored.load()
    assert stored["StudyDate"].dtype == np.dtype("datetime64[ns]")  # decoded at its own unit
    # other readers give text as objects
    stored = stored.assign_coords(SOPInstanceUID=stored["SOPInstanceUID"].astype(object))
    copy = vfa.new_sibling(SeriesDescription="copy").set_xarray(stored)
    back = copy.to_xarray()
    first = pydicom.dcmread(copy.files()[0])
    source = pydicom.dcmread(vfa.files()[0])
    for keyword in ("StudyDate", "AcquisitionDate", "PixelSpacing", "ImageOrientationPatient"):
        assert first[keyword].value == source[keyword].value, keyword
    assert list(first.ImageType) == ["DERIVED", "SECONDARY", *list(source.ImageType)[2:]]
    np.testing.assert_array_equal(back.values, da.values)
    for name in da.coords:
        if name != "SOPInstanceUID":
            xr.testing.assert_identical(
                back[name].reset_coords(drop=True), da[name].reset_coords(drop=True)
            )
    np.testing.assert_allclose(back.dicom.affine, da.dicom.affine)


def test_a_selection_keeps_its_geometry(demo: db.Database) -> None:
    """Reductions over other dims keep the positions, which lie along SliceLocation only."""
    da = demo.series(SeriesDescription="VFA")[0].to_xarray()
    mean = da.mean("FlipAngle")
    assert "ImagePositionPatient[0]" in mean.coords and "SOPInstanceUID" not in mean.coords
    np.testing.assert_allclose(mean.dicom.affine, da.dicom.affine)
    part = da.isel(SliceLocation=[3, 4])
    np.testing.assert_allclose(part.dicom.affine[:3, 3], (da.dicom.affine @ [0, 0, 3, 1])[:3])
