"""Whole rescale slopes keep integers integers (Siemens stores 12-bit MR with slope 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

STORED = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 16


@pytest.mark.parametrize(
    "slope, intercept, dtype",
    [(2, -4096, "int32"), (1, -1024, "int32"), (3, 0, "uint32"), (0.5, 0, "float32")],
)
def test_physical_values_and_their_type(
    tmp_path: Path, slope: float, intercept: float, dtype: str
) -> None:
    ds = mr_image(STORED, PatientID="P", RescaleSlope=slope, RescaleIntercept=intercept)
    write_dataset(ds, tmp_path / "a.dcm")
    da = db.database(tmp_path).series()[0].to_xarray()
    assert da.dtype == np.dtype(dtype)
    assert np.array_equal(da.values.reshape(16, 16), STORED.astype(np.int64) * slope + intercept)


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
