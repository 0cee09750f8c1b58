"""Whole rescale slopes keep integers integers (Siemens stores 12-bit MR with slope 2)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

STORED = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 16


@pytest.mark.parametrize(
    "slope, intercept, dtype",
    [
        (2, -4096, "int32"),
        (1, -1024, "int32"),
        (3, 0, "uint32"),
        (0.5, 0, "float32"),
        (1.5, -3.25, "float32"),
        # float32 would round 100000.001 .. 100000.003 to 100000.0 (a new user's trial)
        (0.001, 100000, "float64"),
        (0.003, 63.87e6, "float64"),
    ],
)
def test_physical_values_and_their_type(
    tmp_path: Path, slope: float, intercept: float, dtype: str
) -> None:
    ds = mr_image(STORED, PatientID="P", RescaleSlope=slope, RescaleIntercept=intercept)
    write_dataset(ds, tmp_path / "a.dcm")
    da = db.database(tmp_path).series()[0].to_xarray()
    assert da.dtype == np.dtype(dtype)
    expected = STORED.astype(np.int64) * slope + intercept
    if da.dtype.kind in "iu":
        assert np.array_equal(da.values.reshape(16, 16), expected)
    else:  # as exact as its type allows: within a 16th of a stored step
        assert np.abs(da.values.reshape(16, 16) - expected).max() <= slope / 16
        assert len(np.unique(da.values)) == len(np.unique(STORED))


@pytest.mark.parametrize("name", ["rtdose.dcm", "rtdose_rle_1frame.dcm", "rtdose_expb.dcm"])
def test_rt_dose_values_are_doses(tmp_path: Path, name: str) -> None:
    """Stored values times DoseGridScaling (3004,000E), in DoseUnits; derived: scaling 1.

    pydicom's and dcm2niix's values are the stored integers (1,254,000 for
    a dose of 1.254 here): a million times the dose.
    """
    import shutil

    import pydicom
    from pydicom.data import get_testdata_file

    source = get_testdata_file(name)
    assert source is not None
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(source, folder / name)
    ds = pydicom.dcmread(source)
    doses = ds.pixel_array * float(ds.DoseGridScaling)
    assert float(ds.DoseGridScaling) == 1e-6
    database = db.database(folder)
    database.mute()
    series = database.series()[0]
    da = series.to_xarray()
    np.testing.assert_allclose(da.values.reshape(doses.shape), doses, rtol=1e-6)
    # the header's, as RescaleSlope is: the values are doses already (the writer ignores it)
    assert da.attrs["DoseGridScaling"] == 1e-6
    # a derived dose is an RT Dose as the standard reads it: stored x DoseGridScaling, no
    # rescale (a review: a rescale with DoseGridScaling 1 read 65535 Gy elsewhere)
    out = series.new_sibling(SeriesDescription="doubled")
    out.set_xarray(da * 2)
    back = out.to_xarray(dims=["InstanceNumber"])
    np.testing.assert_allclose(back.values.reshape(doses.shape), doses * 2, rtol=1e-4)
    standard = []
    for path in out.files():
        ds = pydicom.dcmread(path)
        assert ds.SOPClassUID == pydicom.uid.RTDoseStorage and "RescaleSlope" not in ds
        assert "GridFrameOffsetVector" not in ds  # of the source's many frames
        standard.append(ds.pixel_array * float(ds.DoseGridScaling))
    assert max(float(a.max()) for a in standard) == pytest.approx(doses.max() * 2, rel=1e-4)
    # a difference of doses (negative values) needs an intercept: a Secondary Capture
    diff = series.new_sibling(SeriesDescription="difference")
    diff.set_xarray(da - 1.0)
    for path in diff.files():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
        assert "DoseGridScaling" not in ds and "RescaleIntercept" in ds
    back = diff.to_xarray(dims=["InstanceNumber"]).values.reshape(doses.shape)
    np.testing.assert_allclose(back, doses - 1.0, atol=1e-4)
    database.close()


def _labels_source(tmp_path: Path) -> db.Series:
    for k in range(2):
        ds = mr_image(
            STORED,
            PatientID="P",
            InstanceNumber=k + 1,
            SeriesInstanceUID="1.2.3",
            ImagePositionPatient=[0.0, 0.0, 5.0 * k],
        )
        write_dataset(ds, tmp_path / f"{k}.dcm")
    return db.database(tmp_path).series()[0]


def test_whole_numbers_wider_than_16_bits_one_step_apart_are_exact(tmp_path: Path) -> None:
    """Labels -50, -40, ... 199,950: 20,001 steps of 10 fit 16 bits with RescaleSlope 10.

    They were stored with slope (max - min) / 65535 and read back as floats.
    """
    source = _labels_source(tmp_path)
    da = source.to_xarray(dims=["InstanceNumber"])
    rng = np.random.default_rng(0)
    labels = da.copy(data=rng.integers(0, 20001, da.shape).astype(np.int32) * 10 - 50)
    labels[0, 0, 0], labels[1, 0, 0] = -50, 199950
    out = source.new_sibling(SeriesDescription="labels")
    with warnings.catch_warnings():
        warnings.simplefilter("error", db.DicomWarning)
        out.set_xarray(labels)
    back = out.to_xarray(dims=["InstanceNumber"])
    assert back.dtype.kind == "i" and np.array_equal(back.values, labels.values)
    assert out.instances()[0].RescaleSlope == 10


def test_whole_numbers_that_16_bits_cannot_hold_are_written_with_a_warning(
    tmp_path: Path,
) -> None:
    """Labels 0..100,000 read back as 90907.234 for 90908, with nothing said: now a warning.

    It names the range and the largest error, which the values read back
    keep, and the ways to exact values; a parametric map is one.
    """
    source = _labels_source(tmp_path)
    da = source.to_xarray(dims=["InstanceNumber"])
    rng = np.random.default_rng(0)
    labels = da.copy(data=rng.integers(0, 100001, da.shape).astype(np.int32))
    labels[0, 0, 0], labels[1, 0, 0] = 0, 100000
    out = source.new_sibling(SeriesDescription="labels")
    with pytest.warns(db.DicomWarning, match="from 0 to 100000") as caught:
        out.set_xarray(labels)
    (said,) = [str(w.message) for w in caught if issubclass(w.category, db.DicomWarning)]
    assert "kind='parametric map'" in said and "kind='segmentation'" in said
    bound = float(said.split("read back as floats up to ")[1].split()[0])
    error = np.abs(out.to_xarray(dims=["InstanceNumber"]).values - labels.values)
    assert 0 < error.max() <= bound
    exact = source.new_sibling(SeriesDescription="labels map")
    exact.set_xarray(labels.transpose(..., "row", "column"), kind="parametric map")
    back = exact.to_xarray(dims=["SliceLocation"])
    assert np.array_equal(back.values.reshape(labels.shape), labels.values)


def test_an_intercept_or_slope_a_ds_cannot_hold_is_not_called_exact(tmp_path: Path) -> None:
    """Review: whether a RescaleIntercept or RescaleSlope reads back as written was checked
    on the number a DSfloat was made of, never on its 16-character text: 0 and 2**47 were
    stored as exact with a slope written '1.4073748835e+14' and read back 4672 off, with
    nothing said. Now such values are not exact, and said so."""
    source = _labels_source(tmp_path)
    da = source.to_xarray(dims=["InstanceNumber"])
    values = da.copy(data=np.zeros(da.shape, np.int64))
    values[1] = 2**47
    out = source.new_sibling(SeriesDescription="wide")
    with pytest.warns(db.DicomWarning, match="read back as floats up to"):
        out.set_xarray(values)


def test_frames_of_very_different_slopes_are_each_judged_by_their_own(tmp_path: Path) -> None:
    """A review: PET-like slices whose slopes span five orders of magnitude read as float64,
    the largest value of one slice judged against the smallest slope of another."""
    series = "1.2.826.0.1.3680043.8.498.99"
    for k, slope in enumerate([1e-4, 10.0]):
        ds = mr_image(STORED.astype(np.int16), PatientID="P", SeriesInstanceUID=series)
        ds.SOPInstanceUID = f"{series}.{k + 1}"
        ds.PixelRepresentation, ds.ImagePositionPatient = 1, [0.0, 0.0, 5.0 * k]
        ds.RescaleSlope, ds.RescaleIntercept, ds.InstanceNumber = slope, 0, k + 1
        write_dataset(ds, tmp_path / f"{k}.dcm")
    da = db.database(tmp_path).series()[0].to_xarray()
    assert da.dtype == np.float32
    for k, slope in enumerate([1e-4, 10.0]):
        got = da.isel(SliceLocation=k).values.astype(float)
        assert np.abs(got - STORED * slope).max() <= slope / 16
