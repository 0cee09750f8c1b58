"""Instances without pixel data are not frames, even with Rows and Columns.

A Raw Data Storage object in an MR series (same series UIDs, a size, no
Pixel Data) is left out of every array and export of the series, said in a
message; a series of only such objects gives a clear error.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset
from tests.recorders import Recorder

RAW_DATA = UID("1.2.840.10008.5.1.4.1.1.66")
N = 3


def _raw_data(folder: Path, name: str, uids: dict[str, str], number: int) -> Path:
    """A Raw Data Storage file with the series' UIDs, Rows and Columns, no pixel data."""
    ds = Dataset()
    ds.SOPClassUID = RAW_DATA
    ds.SOPInstanceUID = new_uid()
    ds.Modality = "MR"
    ds.PatientName, ds.PatientID = "Raw^Rita", "RAW-001"
    ds.StudyInstanceUID = uids["StudyInstanceUID"]
    ds.SeriesInstanceUID = uids["SeriesInstanceUID"]
    ds.SeriesDescription = uids["SeriesDescription"]
    ds.InstanceNumber = number
    ds.Rows, ds.Columns = 16, 16
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = RAW_DATA
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = folder / name
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A folder: an MR series of N 16 x 16 slices plus one raw data object in it."""
    root = tmp_path / "data"
    root.mkdir()
    uids = {
        "StudyInstanceUID": new_uid(),
        "SeriesInstanceUID": new_uid(),
        "SeriesDescription": "mixed",
    }
    pixels = np.arange(N * 16 * 16, dtype=np.uint16).reshape(N, 16, 16)
    for k in range(N):
        ds = mr_image(
            pixels[k],
            PatientName="Raw^Rita",
            PatientID="RAW-001",
            InstanceNumber=k + 1,
            ImagePositionPatient=[0.0, 0.0, 5.0 * k],
            **uids,
        )
        write_dataset(ds, root / f"mr{k}.dcm")
    _raw_data(root, "raw.dcm", uids, N + 1)
    return root, pixels


def _open(root: Path) -> tuple[db.Database, db.Series, Recorder]:
    status = Recorder()
    database = db.database(root, status=status)
    (series,) = database.series()
    assert len(series.instances()) == N + 1
    return database, series, status


def _said(status: Recorder) -> bool:
    return any("1 instance(s) without an image skipped" in m for m in status.messages)


def test_to_xarray_leaves_the_raw_data_out(mixed: tuple[Path, np.ndarray]) -> None:
    root, pixels = mixed
    _, series, status = _open(root)
    for chunks in (None, False):
        da = series.to_xarray(chunks=chunks)
        assert da.shape == (N, 16, 16)
        np.testing.assert_array_equal(da.values, pixels)
    assert _said(status)


def test_to_xarrays_and_array_leave_the_raw_data_out(mixed: tuple[Path, np.ndarray]) -> None:
    root, pixels = mixed
    _, series, status = _open(root)
    (da,) = series.to_xarrays()
    np.testing.assert_array_equal(da.values, pixels)
    assert _said(status)
    status.messages.clear()
    array, header = series.array("SliceLocation")
    assert array.shape == (N, 1, 16, 16) and header.shape == (N, 1)
    np.testing.assert_array_equal(array[:, 0], pixels)
    assert _said(status)


def test_exports_leave_the_raw_data_out(mixed: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    root, pixels = mixed
    database, series, status = _open(root)

    out = database.export_as_nifti(tmp_path / "nifti")
    (nii,) = list(out.rglob("*.nii*"))
    image: Any = nibabel.load(nii)
    assert image.shape == (16, 16, N)
    assert _said(status)

    status.messages.clear()
    out = database.export_as_npy(tmp_path / "npy")
    (npy,) = list(out.rglob("*.npy"))
    saved = np.load(npy)
    assert saved.size == pixels.size
    assert sorted(saved.ravel().tolist()) == sorted(pixels.ravel().tolist())
    assert _said(status)

    status.messages.clear()
    out = database.export_as_png(tmp_path / "png")
    assert len(list(out.rglob("*.png"))) == N
    assert _said(status)

    status.messages.clear()
    out = database.export_as_zarr(tmp_path / "zarr")
    (store,) = [p for p in out.rglob("*.zarr") if p.is_dir()]
    back = db.open_zarr(store).compute()
    assert back.shape == (N, 16, 16)
    np.testing.assert_array_equal(back.values, pixels)
    assert _said(status)


def test_a_series_of_only_raw_data_says_it_holds_no_image(tmp_path: Path) -> None:
    root = tmp_path / "raw"
    root.mkdir()
    uids = {
        "StudyInstanceUID": new_uid(),
        "SeriesInstanceUID": new_uid(),
        "SeriesDescription": "raw only",
    }
    for k in range(2):
        _raw_data(root, f"raw{k}.dcm", uids, k + 1)
    status = Recorder()
    database = db.database(root, status=status)
    (series,) = database.series()
    for read in (series.to_xarray, series.to_xarrays, series.array):
        with pytest.raises(db.GridError, match="raw only.*holds no image"):
            read()
    database.export_as_nifti(tmp_path / "nifti")
    assert any("raw only" in m and "holds no image" in m for m in status.messages)


def test_pixel_data_read_by_pydicom_is_a_frame(tmp_path: Path) -> None:
    """A deflated file (read by pydicom, no pixel offset) still holds an image."""
    source = get_testdata_file("image_dfl.dcm")
    assert source is not None
    root = tmp_path / "deflated"
    root.mkdir()
    shutil.copy(source, root / "image_dfl.dcm")
    (series,) = db.database(root).series()
    da = series.to_xarray()
    np.testing.assert_array_equal(da.values.squeeze(), pydicom.dcmread(source).pixel_array)
