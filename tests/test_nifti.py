"""NIfTI export: the same affine and voxels as dcm2niix, 4-D series, mixed geometries."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel
import numpy as np
import pytest

import dbdicom as db


def _dcm2niix(files: list[str], work: Path) -> Path:
    source = work / "dicom"
    source.mkdir(parents=True)
    for i, f in enumerate(files):
        shutil.copy(f, source / f"{i:04d}.dcm")
    exe = Path(sys.executable).with_name("dcm2niix")
    assert exe.exists(), "dcm2niix is not installed: pip install -e '.[test]'"
    out = work / "dcm2niix"
    out.mkdir()
    subprocess.run(
        [str(exe), "-z", "y", "-f", "out", "-o", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (image,) = out.glob("*.nii.gz")
    return image


@pytest.mark.parametrize("description", ["CT phantom", "T2w", "T2w sag"])
def test_matches_dcm2niix(demo: db.Database, tmp_path: Path, description: str) -> None:
    series = demo.series(SeriesDescription=description)[0]
    out = series.export_as_nifti(tmp_path / "ours")
    (ours,) = out.rglob("*.nii.gz")
    theirs = _dcm2niix(series.files(), tmp_path / "ref")
    a = nibabel.as_closest_canonical(nibabel.load(ours))
    b = nibabel.as_closest_canonical(nibabel.load(theirs))
    np.testing.assert_allclose(a.affine, b.affine, atol=1e-3)
    np.testing.assert_array_equal(a.get_fdata(), b.get_fdata())


def test_four_dimensional_series_and_sidecar(demo: db.Database, tmp_path: Path) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    out = vfa.export_as_nifti(tmp_path / "vfa")
    (image,) = out.rglob("*.nii.gz")
    data = nibabel.load(image).get_fdata()
    da = vfa.to_xarray()
    assert data.shape == (
        da.sizes["column"],
        da.sizes["row"],
        da.sizes["SliceLocation"],
        da.sizes["FlipAngle"],
    )
    # voxel (i, j, k, t) is column i, row j of slice k at flip angle t
    np.testing.assert_array_equal(data[5, 9, 2, 3], da.values[2, 3, 9, 5])
    sidecar = json.loads(image.with_name(image.name.replace(".nii.gz", ".json")).read_text())
    assert sidecar["FlipAngle"] == [2.0, 5.0, 10.0, 15.0]
    assert sidecar["SeriesDescription"] == "VFA"


def test_mixed_orientations_give_one_file_per_group(demo: db.Database, tmp_path: Path) -> None:
    """The demo's localiser holds three orientations: three files, and a message."""

    class Recorder:
        def __init__(self) -> None:
            self.messages: list[str] = []

        def message(self, text: str) -> None:
            self.messages.append(text)

        def progress(self, value: int, total: int, text: str = "") -> None:
            pass

    status = Recorder()
    database = db.database(demo.path, status=status)
    localiser = database.series(SeriesDescription="localiser")[0]
    out = localiser.export_as_nifti(tmp_path / "loc")
    assert len(list(out.rglob("*.nii.gz"))) == 3
    assert any("one NIfTI file per group" in m for m in status.messages)


def test_whole_database(demo: db.Database, tmp_path: Path) -> None:
    out = demo.export_as_nifti(tmp_path / "all")
    images = sorted(p.name for p in out.rglob("*.nii.gz"))
    assert len(images) == len(demo.series()) + 2  # the localiser gives three files


def test_instance_nifti_is_one_slice(demo: db.Database, tmp_path: Path) -> None:
    instance = demo.series(SeriesDescription="CT phantom")[0].instances()[4]
    out = instance.export_as_nifti(tmp_path / "one")
    (image,) = out.rglob("*.nii.gz")
    data = nibabel.load(image).get_fdata()
    assert data.shape[2] == 1 and data.ndim == 3
    da = instance.series().to_xarray()
    np.testing.assert_array_equal(
        data[:, :, 0].T, da.sel(SliceLocation=instance.SliceLocation).values
    )


def test_32_bit_data_with_an_intercept_are_written(tmp_path: Path) -> None:
    """A trial: signed 32-bit pixels with RescaleIntercept -1024 read as int64, and the
    export raised nibabel's 'Image data has type int64'. Written as int32 where they fit."""
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))  # signed, intercept -1024
    stored = ds.pixel_array.astype(np.int32)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 32, 32, 31
    ds.PixelData = stored.tobytes()
    (tmp_path / "db").mkdir()
    ds.save_as(tmp_path / "db" / "ct32.dcm", enforce_file_format=False)
    series = db.database(tmp_path / "db").series()[0]
    assert series.to_xarray().dtype == np.int64
    series.export_as_nifti(tmp_path / "nifti")
    (found,) = (tmp_path / "nifti").rglob("*.nii.gz")
    image = nibabel.load(found)
    assert image.get_data_dtype() == np.int32
    voxels = np.asarray(image.dataobj).squeeze()
    assert sorted(np.unique(voxels)) == sorted(np.unique(stored.astype(np.int64) - 1024))


def test_the_time_step_is_the_time_between_volumes(tmp_path: Path) -> None:
    """A trial: pixdim[4] was the excitation TR (0.5 s) for a dynamic series whose volumes
    are 4 s apart (dcm2niix: 4), and a time step for volumes of echoes."""
    from dbdicom._templates import mr_image, new_uid, write_dataset

    series = new_uid()
    for t in range(3):
        for k in range(2):
            ds = mr_image(np.full((4, 4), t, np.uint16), SeriesInstanceUID=series)
            ds.SOPInstanceUID = new_uid()
            ds.ImagePositionPatient = [0.0, 0.0, 3.0 * k]
            ds.SliceLocation = 3.0 * k
            ds.RepetitionTime = 500.0
            ds.TemporalPositionIdentifier = t + 1
            ds.AcquisitionTime = f"1030{4 * t:02d}.{k * 3:02d}0000"  # volumes 4 s apart
            write_dataset(ds, tmp_path / "db" / f"{t}{k}.dcm")
    series = db.database(tmp_path / "db").series()[0]
    series.export_as_nifti(tmp_path / "nifti")
    (found,) = (tmp_path / "nifti").rglob("*.nii.gz")
    header = nibabel.load(found).header
    assert header["pixdim"][4] == pytest.approx(4.0)


def test_a_tilted_ct_has_its_affine_in_the_sform_only(tmp_path: Path) -> None:
    """A trial: a CT with gantry tilt (sheared slices) got a qform (code 1) 15 mm off at a
    far slice, which readers that prefer the qform use. The sform holds it alone."""
    from dbdicom._templates import ct_image, new_uid, write_dataset

    series = new_uid()
    for k in range(4):
        ds = ct_image(np.zeros((4, 4), np.int16), SeriesInstanceUID=series)
        ds.SOPInstanceUID = new_uid()
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0.0, 2.0 * k, 5.0 * k]  # tilted: y moves with the slice
        ds.SliceLocation = 5.0 * k
        write_dataset(ds, tmp_path / "db" / f"{k}.dcm")
    series = db.database(tmp_path / "db").series()[0]
    series.export_as_nifti(tmp_path / "nifti")
    (found,) = (tmp_path / "nifti").rglob("*.nii.gz")
    image = nibabel.load(found)
    assert image.header["qform_code"] == 0 and image.header["sform_code"] == 1
    corner = image.affine @ [0, 0, 3, 1]
    assert np.allclose(corner[:3], [0.0, -6.0, 15.0])  # RAS: y negated
