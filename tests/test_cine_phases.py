"""A cine of single-frame files whose trigger times differ from slice to slice: cardiac phases.

Scanners acquire each slice a few ms later in the cardiac cycle, so that no
TriggerTime is shared by the slices and it cannot be a dim. The frames of
each slice are then its phases in the order of their TriggerTime (not of
their InstanceNumber, which may number them otherwise), along a
``cardiac_phase`` dim, as an enhanced cine's Dimension Index gives it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

import dbdicom as db

SLICES, PHASES = 3, 4


def _write_cine(
    folder: Path, jitter: float = 2.5, period: float = 40.0, cardiac: bool = True
) -> list[Path]:
    """3 slices x 4 phases, InstanceNumber counting the phases backwards within each slice."""
    folder.mkdir(parents=True)
    base = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    rng = np.random.default_rng(0)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    paths = []
    for t in range(PHASES):
        for k in range(SLICES):
            ds = copy.deepcopy(base)
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.FrameOfReferenceUID = frame
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.ImagePositionPatient = [-5.0, -4.0, 3.0 * k]
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            ds.SliceLocation = 3.0 * k
            ds.TriggerTime = period * t + jitter * k
            if cardiac:
                ds.CardiacNumberOfImages = PHASES
            ds.InstanceNumber = 100 * k + (PHASES - t)
            pixels = rng.integers(0, 3000, (8, 8)).astype(np.int16)
            ds.Rows, ds.Columns = pixels.shape
            ds.PixelData = pixels.tobytes()
            path = folder / f"IM{t}{k}.dcm"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


def _series(folder: Path) -> db.Series:
    (series,) = db.database(folder).series()
    return series


def test_phases_follow_the_trigger_times(tmp_path: Path) -> None:
    paths = _write_cine(tmp_path / "cine")
    da = _series(tmp_path / "cine").to_xarray()
    assert da.dims == ("SliceLocation", "cardiac_phase", "row", "column")
    assert da.shape == (SLICES, PHASES, 8, 8)
    assert da["TriggerTime"].dims == ("SliceLocation", "cardiac_phase")
    times = da["TriggerTime"].values
    assert (np.diff(times, axis=1) > 0).all()  # increasing along the phases at every slice
    for path in paths:  # every frame where its slice and its trigger time say
        ds = pydicom.dcmread(path)
        k, t = round(float(ds.SliceLocation) / 3), round(float(ds.TriggerTime) // 40)
        np.testing.assert_array_equal(da.values[k, t], ds.pixel_array)
        assert times[k, t] == float(ds.TriggerTime)


def test_phases_as_dims_given(tmp_path: Path) -> None:
    _write_cine(tmp_path / "cine")
    series = _series(tmp_path / "cine")
    da = series.to_xarray(dims=["cardiac_phase", "SliceLocation"])
    assert da.dims[:2] == ("cardiac_phase", "SliceLocation")
    xr.testing.assert_equal(da.transpose(*series.to_xarray().dims), series.to_xarray())
    with pytest.raises(db.GridError, match="cardiac_phase"):
        series.to_xarray(dims=["cardiac_phase"])  # 3 frames at each trigger rank: not one each


def test_phases_that_do_not_line_up_stay_frames(tmp_path: Path) -> None:
    """Trigger times 15 ms apart per slice, phases 40 ms apart: no one phase each."""
    _write_cine(tmp_path / "cine", jitter=15.0)
    da = _series(tmp_path / "cine").to_xarray()
    assert da.dims == ("SliceLocation", "frame", "row", "column")


def test_a_cine_writes_back_and_reads_back(tmp_path: Path) -> None:
    _write_cine(tmp_path / "cine")
    series = _series(tmp_path / "cine")
    da = series.to_xarray()
    copy_ = series.new_sibling(SeriesDescription="cine, copy")
    copy_.set_xarray(da.astype("float32") * 2)
    back = copy_.to_xarray()
    assert back.dims == da.dims
    np.testing.assert_allclose(back.values, da.values * 2, atol=0.5 * float(back.max()) / 60000)
    np.testing.assert_array_equal(back["TriggerTime"].values, da["TriggerTime"].values)


def test_trigger_times_of_no_cine_stay_frames(tmp_path: Path) -> None:
    """A dynamic series, or repeats of a triggered image, have trigger times and no phases:
    without CardiacNumberOfImages their frames stay along frame, by InstanceNumber."""
    _write_cine(tmp_path / "dynamic", cardiac=False)
    da = _series(tmp_path / "dynamic").to_xarray()
    assert da.dims == ("SliceLocation", "frame", "row", "column")


def test_a_cine_exported_as_nifti_steps_by_its_phases(tmp_path: Path) -> None:
    nibabel = pytest.importorskip("nibabel")
    _write_cine(tmp_path / "cine")
    series = _series(tmp_path / "cine")
    (nii,) = Path(series.export_as_nifti(tmp_path / "out")).rglob("*.nii.gz")
    image = nibabel.load(nii)
    assert image.shape == (8, 8, SLICES, PHASES)
    assert image.header.get_zooms()[3] == pytest.approx(0.040)  # 40 ms between phases
