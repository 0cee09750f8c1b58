"""OME-Zarr export: stores that OME-Zarr tools validate and read, with the right geometry.

Every store is validated by ``ome-zarr-models`` (the pydantic models of
the OME-NGFF specification) and read by ``ngff-zarr``, an OME-Zarr reader
that knows nothing of dbdicom; the values and the world position of every
voxel are checked against the DataArray of the series and its affine.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dask.array
import ngff_zarr
import numpy as np
import pytest
import xarray as xr
import zarr
from builders import Manifest
from ome_zarr_models import open_ome_zarr
from ome_zarr_models.v04.image import Image as Image04
from ome_zarr_models.v05.image import Image as Image05
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom._export import encode_zarr, open_zarr, write_zarr


def _stores(out: Path) -> dict[str, Path]:
    return {p.name: p for p in out.rglob("*.zarr")}


def _dbdicom(store: Path) -> dict[str, Any]:
    """The dbdicom metadata beside the OME metadata of a store."""
    attrs: dict[str, Any] = zarr.open_group(store, mode="r").attrs.asdict()
    return attrs["dbdicom"]


def _validated(store: Path, version: str = "0.5") -> Any:
    """The store's OME image model; raises if the store is not a valid OME-Zarr image."""
    model = open_ome_zarr(zarr.open_group(store, mode="r"))
    assert isinstance(model, Image05 if version == "0.5" else Image04), type(model)
    return model


def _lps(store: Path, level: int, index: np.ndarray) -> np.ndarray:
    """Where the OME metadata alone puts the voxel at ``index`` (z, y, x of ``level``), in LPS.

    Read with ngff-zarr: scale and translation give the point in the
    image's frame, and the frame (dbdicom's metadata beside the OME one)
    turns it into LPS.
    """
    image = ngff_zarr.from_ngff_zarr(str(store)).images[level]
    point = np.array(
        [image.scale[n] * i + image.translation[n] for n, i in zip("zyx", index, strict=True)]
    )
    frame = _dbdicom(store)["frame"]
    axes = np.column_stack([frame["x"], frame["y"], frame["z"]])
    return axes @ point[::-1]  # point is (z, y, x); the frame's columns are x, y, z


def _check_geometry(store: Path, da: xr.DataArray) -> None:
    """Every corner voxel of level 0 is where the affine of the DataArray puts it."""
    affine = da.dicom.affine
    shape = ngff_zarr.from_ngff_zarr(str(store)).images[0].data.shape[-3:]
    for corner in np.ndindex(2, 2, 2):
        index = np.array(corner) * (np.array(shape) - 1)  # (slice, row, column)
        expected = (affine @ [*index[::-1], 1])[:3]
        np.testing.assert_allclose(_lps(store, 0, index), expected, atol=1e-6)


def _dynamic(demo: db.Database) -> db.Series:
    """A 4-D series written by dbdicom: 6 slices x 3 trigger times (0, 1.5, 3 s)."""
    t2 = demo.series(SeriesDescription="T2w")[0]
    da = t2.to_xarray()
    times = xr.DataArray([0.0, 1500.0, 3000.0], dims="TriggerTime")  # ms, as DICOM has them
    dyn = xr.concat([da + 10 * k for k in range(3)], dim=times)
    dyn = dyn.transpose("SliceLocation", "TriggerTime", "row", "column")
    dyn = dyn.drop_vars([c for c in dyn.coords if c not in ("SliceLocation", "TriggerTime")])
    out = t2.new_sibling(SeriesDescription="dynamic")
    out.set_xarray(dyn)
    return out


# -- valid OME-Zarr, read by an OME-Zarr reader ----------------------------------------


def test_every_demo_series_is_a_valid_ome_zarr_image(demo: db.Database, tmp_path: Path) -> None:
    out = demo.export_as_zarr(tmp_path / "zarr")
    stores = _stores(out)
    assert len(stores) == 7
    arrays = {"1_localiser": demo.series(SeriesDescription="localiser")[0].to_xarrays()}
    for name, store in stores.items():
        model = _validated(store)
        (multiscale,) = model.ome_attributes.multiscales
        back = open_zarr(store)
        series = name[:-5].split("_", 1)[1].replace("_", " ")
        if series.startswith("localiser"):
            da = arrays["1_localiser"][int(series[-1]) - 1]
        else:
            da = demo.series(SeriesDescription=series)[0].to_xarray()
        xr.testing.assert_identical(back.compute(), da.compute())
        assert multiscale.name == da.name
        ome = ngff_zarr.from_ngff_zarr(str(store))
        image = ome.images[0]
        assert [(a.name, a.type, a.unit) for a in ome.metadata.axes][-3:] == [
            ("z", "space", "millimeter"),
            ("y", "space", "millimeter"),
            ("x", "space", "millimeter"),
        ]
        expected = da.transpose(
            *[d for d in da.dims if d not in ("SliceLocation", "row", "column")],
            "SliceLocation",
            "row",
            "column",
        ).values
        np.testing.assert_array_equal(np.asarray(image.data), expected)
        _check_geometry(store, da)


def test_geometry_of_the_demo_series(demo: db.Database, tmp_path: Path) -> None:
    """Axial: the frame is LPS; sagittal: the same pixels, in a rotated frame."""
    out = demo.export_as_zarr(tmp_path / "zarr")
    stores = _stores(out)
    ct = ngff_zarr.from_ngff_zarr(str(stores["1_CT_phantom.zarr"])).images[0]
    assert ct.dims == ("z", "y", "x")
    assert ct.scale == {"z": 2.5, "y": 6.0, "x": 6.0}
    assert ct.translation == {"z": -11.25, "y": -189.0, "x": -189.0}
    axial = _dbdicom(stores["1_CT_phantom.zarr"])["frame"]
    assert axial == {"x": [1.0, 0.0, 0.0], "y": [0.0, 1.0, 0.0], "z": [0.0, 0.0, 1.0]}
    sagittal = _dbdicom(stores["1_T2w_sag.zarr"])["frame"]
    # rows along P, columns along F (down), slices towards the patient's right
    assert sagittal == {"x": [0.0, 1.0, 0.0], "y": [0.0, 0.0, -1.0], "z": [-1.0, 0.0, 0.0]}
    sag = ngff_zarr.from_ngff_zarr(str(stores["1_T2w_sag.zarr"])).images[0]
    assert sag.scale == {"z": 5.0, "y": 3.75, "x": 3.75}
    assert sag.translation == {"z": -10.0, "y": -118.125, "x": -118.125}


def test_vfa_is_slices_by_flip_angle(demo: db.Database, tmp_path: Path) -> None:
    """A 4-D series: the flip angles become OME's channel axis."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray()
    assert da.dims == ("SliceLocation", "FlipAngle", "row", "column")
    (store,) = _stores(vfa.export_as_zarr(tmp_path / "vfa")).values()
    _validated(store)
    ome = ngff_zarr.from_ngff_zarr(str(store))
    image = ome.images[0]
    assert image.dims == ("c", "z", "y", "x") and image.data.shape == (4, 6, 64, 64)
    assert [(a.name, a.type) for a in ome.metadata.axes][0] == ("c", "channel")
    for k, flip in enumerate(da["FlipAngle"].values):
        np.testing.assert_array_equal(np.asarray(image.data[k]), da.sel(FlipAngle=flip).values)
    assert _dbdicom(store)["axes"]["c"] == ["FlipAngle"]
    xr.testing.assert_identical(open_zarr(store).compute(), da.compute())


def test_a_time_series_has_a_time_axis_in_seconds(demo: db.Database, tmp_path: Path) -> None:
    dynamic = _dynamic(demo)
    da = dynamic.to_xarray()
    assert da.dims == ("SliceLocation", "TriggerTime", "row", "column")
    (store,) = _stores(dynamic.export_as_zarr(tmp_path / "dyn")).values()
    _validated(store)
    ome = ngff_zarr.from_ngff_zarr(str(store))
    image = ome.images[0]
    assert image.dims == ("t", "z", "y", "x")
    assert ("t", "time", "second") == (
        ome.metadata.axes[0].name,
        ome.metadata.axes[0].type,
        ome.metadata.axes[0].unit,
    )
    assert image.scale["t"] == 1.5 and image.translation["t"] == 0.0  # 1500 ms steps
    np.testing.assert_array_equal(np.asarray(image.data[2]), da.isel(TriggerTime=2).values)
    _check_geometry(store, da)
    xr.testing.assert_identical(open_zarr(store).compute(), da.compute())


def test_templates_mr_ct_and_enhanced_multi_frame(
    database_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """The series dbdicom's templates write: MR (axial, coronal, sagittal), CT, enhanced MR."""
    database = db.database(database_folder[0])
    out = database.export_as_zarr(tmp_path / "all", levels=2)
    stores = _stores(out)
    assert len(stores) == len(database.series()) == 6
    for series in database.series():
        name = f"{series.SeriesNumber}_{series.SeriesDescription.replace(' ', '_')}.zarr"
        store = stores[name]
        model = _validated(store)
        assert len(model.ome_attributes.multiscales[0].datasets) == 2
        da = series.to_xarray()
        xr.testing.assert_identical(open_zarr(store).compute(), da.compute())
        _check_geometry(store, da)
    enhanced = database.series(SeriesDescription="ME enhanced")[0].to_xarray()
    assert enhanced.dims == ("SliceLocation", "EchoTime", "row", "column")
    image = ngff_zarr.from_ngff_zarr(str(stores["2_ME_enhanced.zarr"])).images[0]
    assert image.dims == ("c", "z", "y", "x")  # echo times are not a time series: channels
    np.testing.assert_array_equal(np.asarray(image.data[1]), enhanced.isel(EchoTime=1).values)


def test_an_oblique_real_mr_image(tmp_path: Path) -> None:
    """pydicom's MR2 (an oblique slice): the OME metadata and the frame give the affine."""
    source = get_testdata_file("MR2_UNCR.dcm")
    assert source is not None
    folder = tmp_path / "mr2"
    folder.mkdir()
    shutil.copy(source, folder / "MR2.dcm")
    (series,) = db.database(folder).series()
    da = series.to_xarray()
    (store,) = _stores(series.export_as_zarr(tmp_path / "out")).values()
    _validated(store)
    frame = _dbdicom(store)["frame"]
    orientation = da.attrs["ImageOrientationPatient"]
    np.testing.assert_allclose(frame["x"], orientation[:3], atol=1e-3)
    np.testing.assert_allclose(frame["y"], orientation[3:], atol=1e-3)
    _check_geometry(store, da)
    xr.testing.assert_identical(open_zarr(store).compute(), da.compute())


def test_a_date_before_1677_round_trips(tmp_path: Path) -> None:
    """pydicom's examples_overlay.dcm: an anonymised PatientBirthDate of 1111-11-11.

    Outside datetime64[ns], which xarray decodes dates to by default (then it
    asks for cftime): open_zarr keeps the resolution the DataArray had.
    """
    source = get_testdata_file("examples_overlay.dcm")
    assert source is not None
    folder = tmp_path / "overlay"
    folder.mkdir()
    shutil.copy(source, folder / "overlay.dcm")
    (series,) = db.database(folder).series()
    da = series.to_xarray()
    assert da.PatientBirthDate.values == np.datetime64("1111-11-11")
    (store,) = _stores(series.export_as_zarr(tmp_path / "out")).values()
    xr.testing.assert_identical(open_zarr(store).compute(), da.compute())


# -- the pyramid ---------------------------------------------------------------------


def test_pyramid_levels_average_2x2_blocks(demo: db.Database, tmp_path: Path) -> None:
    ct = demo.series(SeriesDescription="CT phantom")[0]
    da = ct.to_xarray()
    (store,) = _stores(ct.export_as_zarr(tmp_path / "ct", levels=3)).values()
    model = _validated(store)
    assert model.ome_attributes.multiscales[0].type == "local_mean"
    images = ngff_zarr.from_ngff_zarr(str(store)).images
    assert [i.data.shape for i in images] == [(10, 64, 64), (10, 32, 32), (10, 16, 16)]
    values = da.values.astype(float)
    blocks = values.reshape(10, 32, 2, 32, 2).mean(axis=(2, 4))
    np.testing.assert_array_equal(np.asarray(images[1].data), np.rint(blocks).astype(np.int16))
    assert images[1].data.dtype == np.int16
    assert [i.scale["x"] for i in images] == [6.0, 12.0, 24.0]
    assert [i.scale["z"] for i in images] == [2.5, 2.5, 2.5]  # slices are kept
    # a coarse pixel's centre is the centre of the block it averages
    for level, factor in ((1, 2), (2, 4)):
        block_centre = (factor - 1) / 2
        expected = (da.dicom.affine @ [block_centre, block_centre, 0, 1])[:3]
        np.testing.assert_allclose(_lps(store, level, np.array([0, 0, 0])), expected)
    xr.testing.assert_identical(open_zarr(store).compute(), da.compute())


def test_levels_beyond_one_pixel(demo: db.Database, tmp_path: Path) -> None:
    t2 = demo.series(SeriesDescription="T2w")[0]
    with pytest.raises(ValueError, match="at most 7"):
        write_zarr(t2.to_xarray(), tmp_path / "t2.zarr", levels=8)
    with pytest.raises(ValueError, match="levels must be"):
        t2.export_as_zarr(tmp_path / "none", levels=0)
    assert not (tmp_path / "none").exists()
    with pytest.raises(ValueError, match="zarr_format must be"):
        t2.export_as_zarr(tmp_path / "none", zarr_format=4)
    # an export asks for at most so many: a 64 x 64 image gets 7 levels, the last 1 x 1
    (store,) = _stores(t2.export_as_zarr(tmp_path / "many", levels=9)).values()
    images = ngff_zarr.from_ngff_zarr(str(store)).images
    assert len(images) == 7 and images[-1].data.shape == (6, 1, 1)
    _validated(store)


# -- chunks, formats, other arrays ---------------------------------------------------


def test_chunks_for_viewers(tmp_path: Path) -> None:
    """Tiles of at most 256 x 256, one channel and time point a chunk, slices up to 1 MiB."""
    data = dask.array.zeros((3, 40, 600, 520), dtype=np.uint16, chunks=(3, 40, 600, 520))
    da = xr.DataArray(data, dims=["FlipAngle", "SliceLocation", "row", "column"])
    write_zarr(da, tmp_path / "big.zarr")
    image = zarr.open_group(tmp_path / "big.zarr")["0"]
    assert isinstance(image, zarr.Array)
    assert image.chunks == (1, 8, 256, 256)  # 8 x 256 x 256 x 2 bytes = 1 MiB
    assert image.metadata.dimension_names == ("c", "z", "y", "x")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "chunks", [{"SliceLocation": 0}, {"SliceLocation": -3}, {"SliceLocation": 2.5}, "auto", 4]
)
def test_chunks_that_mean_nothing_are_refused(
    demo: db.Database, tmp_path: Path, chunks: Any
) -> None:
    """As to_xarray refuses them: a size of 0 or -3 was one slice a chunk, 2.5 was 2."""
    t2 = demo.series(SeriesDescription="T2w")[0]
    with pytest.raises(db.InvalidValueError, match="chunks"):
        t2.export_as_zarr(tmp_path / "none", chunks=chunks)
    assert not (tmp_path / "none").exists()
    data = dask.array.zeros((3, 40, 60, 52), dtype=np.uint16)
    with pytest.raises(db.InvalidValueError, match="chunks"):
        write_zarr(
            xr.DataArray(data, dims=["FlipAngle", "SliceLocation", "row", "column"]),
            tmp_path / "none.zarr",
            chunks=chunks,
        )
    # None, as dask takes it: the whole dim
    (store,) = _stores(
        t2.export_as_zarr(tmp_path / "whole", chunks={"SliceLocation": None})
    ).values()
    assert zarr.open_group(store, mode="r")["0"].chunks[0] == t2.to_xarray().sizes["SliceLocation"]


def test_several_tag_dims_share_the_channel_axis(tmp_path: Path) -> None:
    """OME has one channel axis: FlipAngle x EchoTime are flattened into it, and back."""
    rng = np.random.default_rng(0)
    values = rng.integers(0, 4000, (2, 3, 2, 4, 8, 8), dtype=np.uint16)
    dims = ["AcquisitionTime", "FlipAngle", "EchoTime", "SliceLocation", "row", "column"]
    coords = {
        "AcquisitionTime": [36000.0, 36030.0],
        "FlipAngle": [2.0, 10.0, 15.0],
        "EchoTime": [5.0, 10.0],
        "SliceLocation": [0.0, 2.0, 4.0, 6.0],
    }
    da = xr.DataArray(values, dims=dims, coords=coords, attrs={"PixelSpacing": (0.5, 0.5)})
    write_zarr(da, tmp_path / "six.zarr")
    _validated(tmp_path / "six.zarr")
    image = ngff_zarr.from_ngff_zarr(str(tmp_path / "six.zarr")).images[0]
    assert image.dims == ("t", "c", "z", "y", "x") and image.data.shape == (2, 6, 4, 8, 8)
    np.testing.assert_array_equal(np.asarray(image.data[1, 3]), values[1, 1, 1])  # c = 2 x 3
    # no affine: spacing from PixelSpacing and SliceLocation, time from AcquisitionTime
    assert image.scale == {"t": 30.0, "c": 1.0, "z": 2.0, "y": 0.5, "x": 0.5}
    assert image.translation["t"] == 36000.0
    xr.testing.assert_identical(open_zarr(tmp_path / "six.zarr").compute(), da)


def test_zarr_format_2_is_ome_zarr_0_4(demo: db.Database, tmp_path: Path) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    out = vfa.export_as_zarr(tmp_path / "v2", zarr_format=2, levels=2)
    (store,) = _stores(out).values()
    assert (store / ".zattrs").exists() and not (store / "zarr.json").exists()
    model = _validated(store, "0.4")
    assert model.attributes.multiscales[0].version == "0.4"
    image = ngff_zarr.from_ngff_zarr(str(store)).images[0]
    assert image.scale == {"c": 1.0, "z": 5.0, "y": 3.75, "x": 3.75}
    xr.testing.assert_identical(open_zarr(store).compute(), vfa.to_xarray().compute())


def test_stores_of_the_earlier_layout_still_open(demo: db.Database, tmp_path: Path) -> None:
    """dbdicom wrote the DataArray as an xarray store (Zarr 2) before: those still open."""
    t2 = demo.series(SeriesDescription="T2w")[0]
    da = t2.to_xarray()
    encoded = encode_zarr(da)
    encoded.attrs["_dbdicom_encoding"]["version"] = 1
    encoded.to_zarr(tmp_path / "old.zarr", zarr_format=2, consolidated=True, mode="w")
    xr.testing.assert_identical(open_zarr(tmp_path / "old.zarr").compute(), da.compute())


def test_times_as_numpy_times(tmp_path: Path) -> None:
    """Times held as timedelta64 (or datetime64) are a time axis in seconds too."""
    times = np.array([0, 2500, 5000], dtype="timedelta64[ms]")
    da = xr.DataArray(
        np.arange(3 * 2 * 4 * 4, dtype=np.int16).reshape(3, 2, 4, 4),
        dims=["AcquisitionTime", "SliceLocation", "row", "column"],
        coords={"AcquisitionTime": times, "SliceLocation": [0.0, 3.0]},
    )
    write_zarr(da, tmp_path / "times.zarr")
    _validated(tmp_path / "times.zarr")
    ome = ngff_zarr.from_ngff_zarr(str(tmp_path / "times.zarr"))
    image = ome.images[0]
    assert image.dims == ("t", "z", "y", "x") and ome.metadata.axes[0].unit == "second"
    assert image.scale["t"] == 2.5 and image.scale["z"] == 3.0
    back = open_zarr(tmp_path / "times.zarr").compute()
    assert back["AcquisitionTime"].dtype == times.dtype
    xr.testing.assert_identical(back, da)


def test_an_ome_zarr_image_dbdicom_did_not_write(tmp_path: Path) -> None:
    image = ngff_zarr.to_ngff_image(np.zeros((8, 8), dtype=np.uint8), dims=["y", "x"])
    ngff_zarr.to_ngff_zarr(str(tmp_path / "other.zarr"), ngff_zarr.to_multiscales(image))
    with pytest.raises(db.InvalidFileError, match="OME-Zarr image that dbdicom did not write"):
        open_zarr(tmp_path / "other.zarr")
