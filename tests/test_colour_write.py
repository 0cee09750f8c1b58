"""Colour (RGB) arrays written back, and grey ones derived from colour or multi-frame sources.

Sources are files shipped with pydicom and pydicom-data that dbdicom did
not write: RGB Secondary Captures and ultrasound, a palette ultrasound cine
(its 16-bit palette gives 16-bit RGB), JPEG YBR ultrasound frames, and an
MR image made colour by hand. What is written is read back by dbdicom, by
pydicom (``pixel_array``) and by GDCM, and checked by dciodvfy: a derived
frame adds no error to those of its source, and takes a SOP class whose IOD
holds it (Secondary Capture where its source's does not).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import xarray as xr
from pydicom import uid
from pydicom.data import get_testdata_file
from validators import dciodvfy, dciodvfy_errors, gdcm_read

import dbdicom as db
from dbdicom._records._write import set_xarray

SC = str(uid.SecondaryCaptureImageStorage)
US = str(uid.UltrasoundImageStorage)

#: source -> (what it is, the SOP class of a colour frame derived from it)
COLOUR = {
    "SC_rgb.dcm": ("Secondary Capture, RGB", SC),
    "US1_UNCR.dcm": ("ultrasound, RGB", US),
    "OBXXXX1A_2frame.dcm": ("ultrasound cine, 16-bit palette: 16-bit RGB", SC),
    "examples_ybr_color.dcm": ("ultrasound cine, JPEG Baseline YBR_FULL_422", US),
    "MR_small.dcm": ("MR, grey: made colour here", SC),
}


def _database(tmp_path: Path, name: str) -> db.Database:
    path = get_testdata_file(name)
    assert path is not None, f"{name} is not shipped with pydicom / pydicom-data"
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(path, folder / name)
    database = db.database(folder)
    database.mute()
    return database


def _colour(da: Any) -> Any:
    """``da`` itself if it is colour, else a made-up RGB of its values (uint8)."""
    if "channel" in da.dims:
        return da
    grey = (da - da.min()) * (255 / max(float(da.max() - da.min()), 1.0))
    scaled = grey.round().astype("uint8").expand_dims(channel=3, axis=-1)
    return (scaled // (np.arange(3) + 1)).astype("uint8")


def _new_errors(written: Path, source: Path) -> set[str]:
    """dciodvfy's errors of ``written`` that its source does not have.

    UIDs of a root that is not registered are the source's (a derived frame
    refers to its source by them): not counted. Nor is the frame number by
    which a frame refers to a source of several frames whose class is a
    single-frame one (pydicom's OBXXXX1A_2frame: two frames, Ultrasound
    Image Storage): dciodvfy goes by the class; the number is the truth.
    """
    errors = {e for e in dciodvfy_errors(written) if "Illegal root for UID" not in e}
    ds = pydicom.dcmread(source, stop_before_pixels=True)
    if int(ds.get("NumberOfFrames", 1) or 1) > 1 and ds.SOPClassUID == US:
        errors = {e for e in errors if "<ReferencedFrameNumber>" not in e}
    return errors - set(dciodvfy_errors(source))


def _frames(da: Any) -> np.ndarray:
    """The frames of ``da`` (its dims before row and column flattened)."""
    values = np.asarray(da.values)
    pixel_dims = 3 if "channel" in da.dims else 2
    return values.reshape(-1, *values.shape[values.ndim - pixel_dims :])


@pytest.mark.parametrize("name", sorted(COLOUR), ids=lambda n: n.split(".")[0])
def test_colour_is_written_back_as_rgb(tmp_path: Path, name: str) -> None:
    database = _database(tmp_path, name)
    source = database.series()[0]
    da = _colour(source.to_xarray())
    out = source.new_sibling(SeriesDescription="colour")
    out.set_xarray(da)
    back = out.to_xarray()
    assert back.dims == da.dims and back.dtype == da.dtype
    np.testing.assert_array_equal(back.values, da.values)
    bits = 8 * da.dtype.itemsize
    source_file = Path(source.files()[0])
    expected = {tuple(f.ravel()[:64]) for f in _frames(da)}
    for path in out.files():
        ds = pydicom.dcmread(path)
        assert ds.SOPClassUID == COLOUR[name][1], ds.SOPClassUID.name
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
        assert (ds.PhotometricInterpretation, ds.SamplesPerPixel) == ("RGB", 3)
        assert (ds.PlanarConfiguration, ds.BitsAllocated, ds.BitsStored) == (0, bits, bits)
        for absent in ("RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth"):
            assert absent not in ds, absent
        assert "RedPaletteColorLookupTableData" not in ds
        assert "PaletteColorLookupTableUID" not in ds
        # pydicom reads the frame the array holds
        assert tuple(ds.pixel_array.ravel()[:64]) in expected
        assert not _new_errors(Path(path), source_file)
    # another toolkit reads the pixels alike
    first = out.instances()[0]
    found = gdcm_read(first.files()[0])
    assert found.pixels is not None, found.why
    np.testing.assert_array_equal(found.pixels, pydicom.dcmread(first.files()[0]).pixel_array)
    database.close()


def test_numpy_and_dask_colour_write_the_same(tmp_path: Path) -> None:
    database = _database(tmp_path, "examples_ybr_color.dcm")
    source = database.series()[0]
    lazy = source.to_xarray()
    assert lazy.chunks is not None  # dask
    from_dask = source.new_sibling(SeriesDescription="dask")
    from_dask.set_xarray(lazy)
    from_numpy = source.new_sibling(SeriesDescription="numpy")
    from_numpy.set_xarray(lazy.compute())
    through_pydicom = source.new_sibling(SeriesDescription="pydicom")
    set_xarray(through_pydicom, lazy, serialiser="pydicom")  # every header through pydicom
    for out in (from_dask, from_numpy, through_pydicom):
        np.testing.assert_array_equal(out.to_xarray().values, lazy.values)
    database.close()


@pytest.mark.parametrize(
    "name", ["SC_rgb.dcm", "US1_UNCR.dcm", "OBXXXX1A_2frame.dcm"], ids=lambda n: n.split(".")[0]
)
def test_one_channel_is_written_as_a_valid_grey_image(tmp_path: Path, name: str) -> None:
    """A grey frame from a colour source: no PlanarConfiguration; 16 bits: not ultrasound."""
    database = _database(tmp_path, name)
    source = database.series()[0]
    red = source.to_xarray().isel(channel=0)
    out = source.new_sibling(SeriesDescription="red")
    out.set_xarray(red)
    back = out.to_xarray()
    assert back.dims == red.dims
    np.testing.assert_array_equal(back.values, red.values)
    for path in out.files():
        ds = pydicom.dcmread(path)
        assert (ds.PhotometricInterpretation, ds.SamplesPerPixel) == ("MONOCHROME2", 1)
        assert "PlanarConfiguration" not in ds
        # ultrasound images are 8-bit: a 16-bit grey frame is a Secondary Capture
        assert ds.SOPClassUID == (SC if name != "SC_rgb.dcm" else ds.SOPClassUID)
        assert not _new_errors(Path(path), Path(source.files()[0]))
    database.close()


def test_a_grey_frame_of_a_multi_frame_source_is_a_single_frame_class(tmp_path: Path) -> None:
    """Ultrasound Multi-frame needs NumberOfFrames: a derived single frame is not one."""
    database = _database(tmp_path, "examples_ybr_color.dcm")
    source = database.series()[0]
    assert pydicom.dcmread(source.files()[0]).SOPClassUID == uid.UltrasoundMultiFrameImageStorage
    grey = source.to_xarray().mean("channel").isel(frame=slice(0, 3))
    out = source.new_sibling(SeriesDescription="grey")
    out.set_xarray(grey)
    for path in out.files():
        ds = pydicom.dcmread(path)
        assert ds.SOPClassUID == SC and ds.ConversionType == "WSD"
        assert "NumberOfFrames" not in ds
        assert not _new_errors(Path(path), Path(source.files()[0]))
    np.testing.assert_allclose(out.to_xarray().values, grey.values, atol=0.01)
    database.close()


def test_colour_that_dicom_cannot_store_is_refused_with_the_way_out(tmp_path: Path) -> None:
    database = _database(tmp_path, "SC_rgb.dcm")
    source = database.series()[0]
    da = source.to_xarray()
    out = source.new_sibling(SeriesDescription="refused")
    with pytest.raises(db.InvalidValueError, match=r"whole numbers of 0 to 255.*\* 255"):
        out.set_xarray(da / 255.0)  # values of 0 to 1
    with pytest.raises(db.InvalidValueError, match="whole numbers.*from -1"):
        out.set_xarray(da.astype("int16") - 1)
    rgba = da.pad(channel=(0, 1), constant_values=255)
    with pytest.raises(db.InvalidValueError, match=r"3 channels.*has 4.*isel\(channel=slice"):
        out.set_xarray(rgba)
    with pytest.raises(db.InvalidValueError, match=r"transpose\(\.\.\., 'row', 'column'"):
        out.set_xarray(da.transpose("channel", "row", "column"))
    with pytest.raises(db.InvalidValueError, match="single-frame images"):
        out.set_xarray(da, kind="segmentation")
    assert not out.instances()  # nothing was written
    assert not list((tmp_path / "db").rglob("*.dcm"))[1:]  # the source alone
    database.close()


def _set_array_warnings(tmp_path: Path, array: np.ndarray) -> tuple[db.Series, list[str]]:
    series = db.database(tmp_path).new_patient().new_study().new_series()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        series.set_array(array)
    return series, [str(w.message) for w in said if issubclass(w.category, db.DicomWarning)]


def test_a_numpy_array_that_looks_like_colour_says_how_to_write_colour(tmp_path: Path) -> None:
    """A trial: a uint8 (20, 30, 3) array given to set_array was written as 20 grey
    frames of 30 x 3 pixels without a word. It still is (a numpy array has no colour
    dim), with a warning whose way out, followed, writes one RGB image.
    """
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3)).astype(np.uint8)
    series, said = _set_array_warnings(tmp_path, rgb)
    assert len(series.instances()) == 20 and series.Columns == [3]  # as asked
    hint = [text for text in said if "colour" in text]
    assert len(hint) == 1
    assert "series.set_xarray(xr.DataArray(array, dims=('row', 'column', 'channel')))" in hint[0]
    colour = series.new_sibling().set_xarray(xr.DataArray(rgb, dims=("row", "column", "channel")))
    assert colour.instances()[0].PhotometricInterpretation == "RGB"
    assert (colour.to_xarray().values.reshape(rgb.shape) == rgb).all()


def test_a_stack_of_rgba_images_is_told_its_dims_and_to_drop_alpha(tmp_path: Path) -> None:
    _, said = _set_array_warnings(tmp_path, np.zeros((2, 20, 30, 4), np.uint8))
    (hint,) = [text for text in said if "colour" in text]
    assert (
        "xr.DataArray(array[..., :3], dims=('SliceLocation', 'row', 'column', 'channel'))" in hint
    )


@pytest.mark.parametrize("shape", [(3, 64, 64), (64, 64), (4, 8, 3), (20, 30, 5)])
def test_grey_arrays_given_to_set_array_are_not_taken_for_colour(
    tmp_path: Path, shape: tuple[int, ...]
) -> None:
    _, said = _set_array_warnings(tmp_path, np.zeros(shape, np.uint16))
    assert not [text for text in said if "colour" in text]


#: what the MR and CT templates hold of their acquisition: no Secondary Capture has it
_ACQUISITION = ("RepetitionTime", "EchoTime", "ScanningSequence", "FlipAngle", "KVP", "Exposure")


@pytest.mark.parametrize("modality", [None, "MR", "CT"])
def test_a_colour_array_without_sources_is_a_secondary_capture_without_acquisition(
    tmp_path: Path, modality: str | None
) -> None:
    """A trial: a colour array written from no source took the MR template's acquisition
    (RepetitionTime, EchoTime, FlipAngle...) into a Secondary Capture, which dciodvfy says
    are "not present in standard DICOM IOD"; a grey one keeps the MR Image template
    (its Type 2 acquisition attributes present, empty: no scanner measured them)."""
    database = db.database(tmp_path)
    database.mute()
    study = database.new_patient(PatientName="X^Y").new_study()
    rgb = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    attrs = {} if modality is None else {"Modality": modality}
    colour = xr.DataArray(rgb, dims=("row", "column", "channel"), attrs=attrs)
    grey = xr.DataArray(
        np.arange(80, dtype=np.uint16).reshape(1, 8, 10), dims=("z", "row", "column")
    )
    written = {}
    for name, da in [("colour", colour), ("grey", grey)]:
        (path,) = study.new_series(SeriesDescription=name).set_xarray(da).files()
        written[name] = pydicom.dcmread(path)
        errors, warnings_ = dciodvfy(path)
        assert errors == [] and not [w for w in warnings_ if "not present in standard" in w]
    ds = written["colour"]
    assert ds.SOPClassUID == SC and ds.PhotometricInterpretation == "RGB"
    assert ds.Modality == (modality or "MR")
    assert [k for k in _ACQUISITION if k in ds] == []
    np.testing.assert_array_equal(ds.pixel_array, rgb)
    grey_ds = written["grey"]
    assert grey_ds.SOPClassUID == uid.MRImageStorage
    assert grey_ds["RepetitionTime"].is_empty and grey_ds["EchoTime"].is_empty
    database.close()
