"""Frames that one affine cannot place are given none, and say what to select.

A new-user trial found positions given wrong without a word: two stacks side
by side in one series (same SliceLocations) had the affine of the first, and
NIfTI wrote the second on top of it; SliceLocations rounded to whole mm put
two slices 0.5 mm apart under one location, half of them misplaced (they are
placed by their positions now, as dcm2niix does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset


def _series(folder: Path, frames: list[dict[str, Any]]) -> Any:
    """The one series of ``folder`` after writing one MR file per dict of ``frames``."""
    uids = {"StudyInstanceUID": new_uid(), "SeriesInstanceUID": new_uid()}
    uids["FrameOfReferenceUID"] = new_uid()
    for k, attributes in enumerate(frames):
        pixels = np.full((4, 4), k, np.uint16)
        values = {"PixelSpacing": [1.0, 1.0], **attributes}
        ds = mr_image(pixels, InstanceNumber=k + 1, **uids, **values)
        write_dataset(ds, folder / "dicom" / f"IM{k:04d}.dcm")
    (series,) = db.database(str(folder / "dicom")).series()
    return series


def _two_stacks(folder: Path) -> Any:
    return _series(
        folder,
        [
            {"ImagePositionPatient": [x, -60.0, 3.0 * k], "SliceLocation": 3.0 * k}
            for x in (-150.0, 30.0)
            for k in range(4)
        ],
    )


def test_stacks_side_by_side_have_no_affine(tmp_path: Path) -> None:
    da = _two_stacks(tmp_path).to_xarray()
    assert da.dims[:2] == ("SliceLocation", "frame")
    with pytest.raises(
        db.GeometryError, match=r"along the dim 'frame'.*side by side.*isel\(frame=0\)"
    ):
        _ = da.dicom.affine
    for k, x in enumerate((-150.0, 30.0)):  # each stack alone has its own
        assert da.isel(frame=k).dicom.affine[0, 3] == x


def test_stacks_side_by_side_are_not_written_one_on_the_other(tmp_path: Path) -> None:
    series = _two_stacks(tmp_path)
    with pytest.raises(db.GridError, match="isel"):
        series.export_as_nifti(str(tmp_path / "nifti"))
    assert not list((tmp_path / "nifti").rglob("*.nii*"))


def test_slices_under_one_rounded_slicelocation_are_placed_by_position(tmp_path: Path) -> None:
    """Slices 0.5 mm apart under SliceLocations rounded to whole mm (as dcm2niix, by position)."""
    frames = [
        {"ImagePositionPatient": [-5.0, -4.0, 0.5 * k], "SliceLocation": float(np.floor(0.5 * k))}
        for k in range(6)
    ]
    series = _series(tmp_path, frames)
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "row", "column")
    assert da["SliceLocation"].values.tolist() == [0.5 * k for k in range(6)]
    assert [int(da[k, 0, 0]) for k in range(6)] == list(range(6))  # frame k at slice k
    assert da.dicom.affine[2, 2] == 0.5 and da.dicom.affine[2, 3] == 0.0
    nib = pytest.importorskip("nibabel")
    out = series.export_as_nifti(str(tmp_path / "nifti"))
    (path,) = out.rglob("*.nii*")
    image = nib.load(path)
    assert image.shape[2] == 6 and abs(image.header.get_zooms()[2] - 0.5) < 1e-6


def test_rounded_slicelocations_of_repeats_and_oblique_slices(tmp_path: Path) -> None:
    """Two flip angles of an oblique stack whose SliceLocations were rounded."""
    normal = np.array([0.0, -np.sin(0.4), np.cos(0.4)])
    orientation = [1.0, 0.0, 0.0, 0.0, np.cos(0.4), np.sin(0.4)]
    frames = [
        {
            "ImagePositionPatient": (np.array([-5.0, -4.0, 2.0]) + 0.5 * k * normal).tolist(),
            "ImageOrientationPatient": orientation,
            "SliceLocation": float(np.floor(0.5 * k)),
            "FlipAngle": (2.0, 15.0)[r],
        }
        for r in range(2)
        for k in range(4)
    ]
    da = _series(tmp_path, frames).to_xarray()
    assert da.dims[:2] == ("SliceLocation", "FlipAngle")
    steps = np.diff(da["SliceLocation"].values)
    assert np.allclose(steps, 0.5)
    assert [int(da[k, r, 0, 0]) for r in range(2) for k in range(4)] == list(range(8))
    assert np.allclose(da.dicom.affine[:3, 2], 0.5 * normal)


def test_positions_a_hair_apart_keep_the_affine(tmp_path: Path) -> None:
    """Repeats of one stack (two flip angles) at positions that differ by 1e-4 mm."""
    frames = [
        {"ImagePositionPatient": [1e-4 * r, 0.0, 3.0 * k], "FlipAngle": (2.0, 15.0)[r]}
        for r in range(2)
        for k in range(3)
    ]
    da = _series(tmp_path, frames).to_xarray()
    assert "FlipAngle" in da.dims
    assert np.allclose(da.dicom.affine[:3, 2], [0.0, 0.0, 3.0])


def test_slicelocation_in_some_files_only_is_computed_for_all(tmp_path: Path) -> None:
    """Stored (z + 100, from a landmark) in odd slices, none in even: not mixed, in order."""
    uids = {"StudyInstanceUID": new_uid(), "SeriesInstanceUID": new_uid()}
    for k in range(6):
        ds = mr_image(
            np.full((4, 4), k, np.uint16),
            InstanceNumber=k + 1,
            ImagePositionPatient=[-5.0, -4.0, 2.0 * k],
            SliceLocation=2.0 * k + 100,
            **uids,
        )
        if k % 2 == 0:
            del ds.SliceLocation
        write_dataset(ds, tmp_path / "dicom" / f"IM{k:04d}.dcm")
    (series,) = db.database(str(tmp_path / "dicom")).series()
    da = series.to_xarray()
    assert da["SliceLocation"].values.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert da["ImagePositionPatient[2]"].values.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert da.isel(row=0, column=0).values.tolist() == [0, 1, 2, 3, 4, 5]
    assert np.allclose(da.dicom.affine[:3, 2], [0.0, 0.0, 2.0])


def test_orientations_a_rounding_boundary_apart_are_one_stack(tmp_path: Path) -> None:
    """Cosines 2e-6 apart either side of 0.99995 (jitter in the 7th decimal) are one stack."""
    frames = []
    for k in range(6):
        orientation = [1.0, 0.0, 0.0, 0.0, 0.9999505 + (1e-6 if k % 2 else -1e-6), -0.0099501]
        normal = np.cross(orientation[:3], orientation[3:])
        position = (np.array([-5.0, -4.0, 0.0]) + 3.0 * k * normal).round(5).tolist()
        frames.append({"ImagePositionPatient": position, "ImageOrientationPatient": orientation})
    series = _series(tmp_path, frames)
    assert [da.shape for da in series.to_xarrays()] == [(6, 4, 4)]
    da = series.to_xarray()
    assert np.allclose(np.linalg.norm(da.dicom.affine[:3, 2]), 3.0)
    out = series.export_as_nifti(str(tmp_path / "nifti"))
    assert len(list(Path(out).rglob("*.nii.gz"))) == 1


def test_orientations_apart_are_still_two_groups(tmp_path: Path) -> None:
    axial = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    tilted = [1.0, 0.0, 0.0, 0.0, 0.9998, -0.0199987]  # about 1 degree
    frames = [
        {"ImagePositionPatient": [0.0, 0.0, 3.0 * k], "ImageOrientationPatient": o}
        for o in (axial, tilted)
        for k in range(2)
    ]
    assert len(_series(tmp_path, frames).to_xarrays()) == 2


def test_pixel_spacings_apart_are_two_groups_each_with_its_affine(tmp_path: Path) -> None:
    """A trial: a field of view changed halfway (1.0 then 1.5 mm pixels): one group, no
    affine, and the NIfTI export of the whole series refused."""
    frames = [
        {"ImagePositionPatient": [0.0, 0.0, 3.0 * k], "PixelSpacing": [s, s]}
        for s in (1.0, 1.5)
        for k in range(2)
    ]
    series = _series(tmp_path, frames)
    arrays = series.to_xarrays()
    assert [da.shape for da in arrays] == [(2, 4, 4), (2, 4, 4)]
    assert sorted(float(da.dicom.affine[0, 0]) for da in arrays) == [1.0, 1.5]
    out = series.export_as_nifti(str(tmp_path / "nifti"))
    assert len(list(Path(out).rglob("*.nii.gz"))) == 2
    near = [*frames[:2], {"ImagePositionPatient": [0.0, 0.0, 6.0], "PixelSpacing": [1.00001] * 2}]
    assert len(_series(tmp_path / "near", near).to_xarrays()) == 1  # within 1e-4: one


def test_siemens_mosaic_has_no_affine_and_is_not_written_to_nifti(tmp_path: Path) -> None:
    """Four 8 x 8 slices tiled in each 16 x 16 image: its pixels are not one slice's."""
    frames = [
        {
            "ImagePositionPatient": [-16.0, -16.0, 0.0],
            "ImageType": ["ORIGINAL", "PRIMARY", "M", "ND", "MOSAIC"],
            "Manufacturer": "SIEMENS",
            "AcquisitionNumber": v + 1,
            "AcquisitionTime": f"1015{2 * v:02d}.000",
        }
        for v in range(3)
    ]
    uids = {"StudyInstanceUID": new_uid(), "SeriesInstanceUID": new_uid()}
    for k, attributes in enumerate(frames):
        ds = mr_image(np.full((16, 16), k, np.uint16), InstanceNumber=k + 1, **uids, **attributes)
        write_dataset(ds, tmp_path / "dicom" / f"IM{k:04d}.dcm")
    (series,) = db.database(str(tmp_path / "dicom")).series()
    da = series.to_xarray()
    assert da.shape == (3, 16, 16)  # read as stored
    assert da.isel(row=0, column=0).values.tolist() == [0, 1, 2]
    with pytest.raises(db.GeometryError, match="Siemens mosaic.*dcm2niix"):
        _ = da.dicom.affine
    with pytest.raises(db.GridError, match="Siemens mosaic"):
        series.export_as_nifti(str(tmp_path / "nifti"))
    assert not list((tmp_path / "nifti").rglob("*.nii*"))


def test_repeats_told_apart_by_acquisition_number_are_a_dim(tmp_path: Path) -> None:
    """A trial: the same slices acquired twice, only AcquisitionNumber telling them apart:
    to_xarray() and the NIfTI export failed (AcquisitionNumber was not a dim tried)."""
    frames = [
        {
            "ImagePositionPatient": [0.0, 0.0, 3.0 * z],
            "AcquisitionNumber": a,
            "SliceLocation": 3.0 * z,
        }
        for a in (1, 2)
        for z in range(3)
    ]
    series = _series(tmp_path, frames)
    da = series.to_xarray()
    assert da.dims[:2] == ("SliceLocation", "AcquisitionNumber") and da.shape[:2] == (3, 2)
    assert da.isel(AcquisitionNumber=1).values[:, 0, 0].tolist() == [3, 4, 5]
    out = series.export_as_nifti(str(tmp_path / "nifti"))
    assert len(list(Path(out).rglob("*.nii.gz"))) == 1
