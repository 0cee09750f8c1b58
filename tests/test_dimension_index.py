"""Enhanced files organised by a Dimension Index open with the dims the index defines.

The files (see ``dimension_index_files.py``) are a cine whose trigger delays
differ from slice to slice, a diffusion series whose b0 frames have no
gradient direction, and two stacks: none of them fits a grid of the tags
of ``AUTO_DIMS``. Every frame of the DataArray is checked against what
pydicom reads from the file: pixels, position, trigger delay, b-value and
direction; the NIfTI export voxel by voxel against the positions the
frames' ImagePositionPatient and ImageOrientationPatient give, and against
dcm2niix where it writes the same volumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import pydicom
import pytest
import xarray as xr
from dcm2niix_compare import DCM2NIIX, INSTALL, TOLERANCE_MM, compare, dcm2niix, volumes
from dimension_index_files import (
    BVALUE,
    GRADIENT,
    IN_STACK,
    STACK,
    TRIGGER,
    Frame,
    ReadFrame,
    cine_frames,
    dwi_frames,
    pydicom_frames,
    two_stack_frames,
    write_file,
)

import dbdicom as db

CINE = [STACK, TRIGGER, IN_STACK]
DWI = [STACK, IN_STACK, BVALUE, GRADIENT]
STACKS = [STACK, IN_STACK]


def _series(folder: Path, frames: list[Frame], pointers: list[tuple[str, str]]) -> db.Series:
    write_file(folder / "enhanced.dcm", frames, pointers, SeriesDescription=folder.name)
    (series,) = db.database(folder).series()
    return series


def _point(da: xr.DataArray, k: int) -> dict[str, int]:
    """The grid point (dim -> index) of frame ``k`` of the file."""
    where = np.argwhere(np.asarray(da["frame"].values) == k)
    assert len(where) == 1, f"frame {k} is at {len(where)} grid points"
    return dict(zip(da.dims[:-2], (int(i) for i in where[0]), strict=True))


def _value(da: xr.DataArray, name: str, point: dict[str, int]) -> Any:
    """The coordinate ``name`` at the grid point ``point``."""
    coord = da[name]
    return coord.isel({d: point[d] for d in coord.dims}).values.item()


def _check_frames(da: xr.DataArray, read: list[ReadFrame]) -> list[dict[str, int]]:
    """Every frame at its own point, with its pixels, position and index values."""
    assert int(np.prod(da.shape[:-2])) == len(read)
    points = []
    for k, frame in enumerate(read):
        point = _point(da, k)
        assert np.array_equal(da.isel(point).values, frame.pixels), f"frame {k}: pixels"
        position = [_value(da, f"ImagePositionPatient[{i}]", point) for i in range(3)]
        assert position == pytest.approx(frame.position), f"frame {k}: position"
        assert _value(da, "SliceLocation", point) == pytest.approx(frame.position[2])
        for i, v in enumerate(frame.index):
            assert _value(da, f"DimensionIndexValues[{i}]", point) == v
        points.append(point)
    return points


def test_a_cine_whose_trigger_delays_differ_by_slice(tmp_path: Path) -> None:
    series = _series(tmp_path / "cine", cine_frames(jitter=1.3), CINE)
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "cardiac_phase", "row", "column")
    assert da.shape == (4, 3, 12, 10)
    assert da["cardiac_phase"].values.tolist() == [1, 2, 3]
    assert da["TriggerTime"].dims == ("SliceLocation", "cardiac_phase")  # as in the file
    read = pydicom_frames(series.files()[0])
    for frame, point in zip(read, _check_frames(da, read), strict=True):
        assert _value(da, "TriggerTime", point) == pytest.approx(frame.trigger)
        assert point["cardiac_phase"] == frame.index[1] - 1


def test_a_cine_of_one_trigger_delay_per_phase_keeps_its_dims(tmp_path: Path) -> None:
    series = _series(tmp_path / "cine", cine_frames(jitter=0.0), CINE)
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "TriggerTime", "row", "column")
    assert da["TriggerTime"].values.tolist() == [0.0, 50.0, 100.0]
    read = pydicom_frames(series.files()[0])
    for frame, point in zip(read, _check_frames(da, read), strict=True):
        assert da["TriggerTime"].values[point["TriggerTime"]] == frame.trigger


def test_a_diffusion_series_with_b0_frames_without_direction(tmp_path: Path) -> None:
    series = _series(tmp_path / "dwi", dwi_frames(), DWI)
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "diffusion", "row", "column")
    assert da.shape == (3, 4, 12, 10)
    assert da["DiffusionBValue"].dims == ("diffusion",)
    assert da["DiffusionBValue"].values.tolist() == [0.0, 1000.0, 1000.0, 1000.0]
    gradient = np.stack([da[f"DiffusionGradientOrientation[{i}]"].values for i in range(3)], 1)
    assert np.isnan(gradient[0]).all()  # b0: no direction, none invented
    assert gradient[1:].tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    read = pydicom_frames(series.files()[0])
    for frame, point in zip(read, _check_frames(da, read), strict=True):
        assert _value(da, "DiffusionBValue", point) == frame.bvalue
        found = [_value(da, f"DiffusionGradientOrientation[{i}]", point) for i in range(3)]
        if frame.gradient is None:
            assert np.isnan(found).all()
        else:
            assert found == list(frame.gradient)


def test_two_stacks_at_the_same_positions_are_a_stack_dim(tmp_path: Path) -> None:
    series = _series(tmp_path / "stacks", two_stack_frames(), STACKS)
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "StackID", "row", "column")
    assert da["StackID"].values.tolist() == ["1", "2"]
    read = pydicom_frames(series.files()[0])
    for frame, point in zip(read, _check_frames(da, read), strict=True):
        assert da["StackID"].values[point["StackID"]] == frame.stack


def test_two_stacks_apart_are_slices_of_one_dim(tmp_path: Path) -> None:
    series = _series(tmp_path / "apart", two_stack_frames(offset=30.0), STACKS)
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "row", "column")
    assert da["StackID"].dims == ("SliceLocation",)
    read = pydicom_frames(series.files()[0])
    _check_frames(da, read)


def test_index_dims_given_by_hand(tmp_path: Path) -> None:
    cine = _series(tmp_path / "cine", cine_frames(), CINE)
    da = cine.to_xarray(dims=["cardiac_phase", "SliceLocation"])
    assert da.dims == ("cardiac_phase", "SliceLocation", "row", "column")
    xr.testing.assert_identical(
        da.transpose("SliceLocation", ...).compute(), cine.to_xarray().compute()
    )
    with pytest.raises(db.GridError, match="cardiac_phase.*SliceLocation"):
        _series(tmp_path / "dwi", dwi_frames(), DWI).to_xarray(dims=["cardiac_phase"])


def test_tags_given_as_dims_are_placed_by_them(tmp_path: Path) -> None:
    series = _series(tmp_path / "dwi", dwi_frames(), DWI)
    with pytest.raises(db.GridError, match="more than one frame"):
        series.to_xarray(dims=["SliceLocation", "DiffusionBValue"])
    da = series.to_xarray(dims=["SliceLocation", "frame"], fill=True)
    assert da.sizes["frame"] == 12  # the user's dims, as before


def test_an_index_that_does_not_say_its_tags_is_refused_by_name(tmp_path: Path) -> None:
    """Three index values per frame, two items in the sequence: no guess at the third."""
    series = _series(tmp_path / "cine", cine_frames(), STACKS)
    with pytest.raises(db.GridError) as error:
        series.to_xarray()
    text = str(error.value)
    for part in ("(0020,9157)", "DimensionIndexValues", "of 3 values", "2 items", "enhanced.dcm"):
        assert part in text
    way_out = ["SliceLocation", "DimensionIndexValues[1]"]
    assert f"dims={way_out}" in text  # the way out, which works:
    da = series.to_xarray(dims=way_out)
    assert da.dims == (*way_out, "row", "column")
    assert da["DimensionIndexValues[1]"].values.tolist() == [1.0, 2.0, 3.0]
    read = pydicom_frames(series.files()[0])
    for frame, point in zip(read, _check_frames(da, read), strict=True):
        assert _value(da, "TriggerTime", point) == pytest.approx(frame.trigger)


def test_one_value_of_a_tag_of_several_as_a_dim(tmp_path: Path) -> None:
    series = _series(tmp_path / "dwi", dwi_frames(), DWI)
    da = series.to_xarray(dims=["SliceLocation", "DimensionIndexValues[3]"])
    assert da["DimensionIndexValues[3]"].values.tolist() == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(db.GridError, match="3 of 12 frames have no 'DiffusionGradientOrientation"):
        series.to_xarray(dims=["SliceLocation", "DiffusionGradientOrientation[0]"])


def test_an_index_that_leaves_holes_falls_back_to_the_tags(tmp_path: Path) -> None:
    frames = cine_frames(jitter=0.0)[:-1]  # the last slice misses its last phase
    series = _series(tmp_path / "cine", frames, CINE)
    with pytest.raises(db.GridError, match="do not fill the grid"):
        series.to_xarray()
    da = series.to_xarray(dims=["SliceLocation", "TriggerTime"], fill=True)
    assert int(np.isnan(da.values).all(axis=(-2, -1)).sum()) == 1


def _misplaced(nifti: Path, path: Path, volume: list[int]) -> int:
    """The pixels of the file's frames that the NIfTI file does not hold where they are.

    Each pixel's RAS position comes from its frame's ImagePositionPatient,
    the ImageOrientationPatient and PixelSpacing (read with pydicom); frame
    ``k`` must be in volume ``volume[k]`` of the file, at those voxels.
    """
    image = nibabel.load(nifti)
    data = np.asarray(image.dataobj)
    data = data[..., None] if data.ndim == 3 else data
    inverse = np.linalg.inv(image.affine)
    shared = pydicom.dcmread(path, stop_before_pixels=True).SharedFunctionalGroupsSequence[0]
    cosines = np.array(shared.PlaneOrientationSequence[0].ImageOrientationPatient, float)
    spacing = np.array(shared.PixelMeasuresSequence[0].PixelSpacing, float)
    wrong = 0
    for frame, v in zip(pydicom_frames(path), volume, strict=True):
        rows, columns = np.meshgrid(*map(np.arange, frame.pixels.shape), indexing="ij")
        lps = (
            np.array(frame.position)
            + columns[..., None] * spacing[1] * cosines[:3]
            + rows[..., None] * spacing[0] * cosines[3:]
        )
        ijk = np.einsum("ij,...j->...i", inverse[:3, :3], lps * [-1, -1, 1]) + inverse[:3, 3]
        voxel = np.rint(ijk).astype(int)
        inside = (np.abs(ijk - voxel).max(-1) < 0.01) & np.all(
            (voxel >= 0) & (voxel < data.shape[:3]), -1
        )
        voxel = np.where(inside[..., None], voxel, 0)
        found = data[voxel[..., 0], voxel[..., 1], voxel[..., 2], v]
        wrong += int((~inside | (found != frame.pixels)).sum())
    return wrong


def _volume_of_frames(da: xr.DataArray) -> list[int]:
    """Per frame of the file, the NIfTI volume it belongs to: its place along the other dims."""
    others = [d for d in da.dims[:-2] if d != "SliceLocation"]
    volumes = []
    for k in range(int(np.prod(da.shape[:-2]))):
        point = _point(da, k)
        at = tuple(point[d] for d in others)
        volumes.append(int(np.ravel_multi_index(at, [da.sizes[d] for d in others])))
    return volumes


CASES = {
    "cine": (cine_frames(), CINE, (10, 12, 4, 3)),
    "dwi": (dwi_frames(), DWI, (10, 12, 3, 4)),
    "stacks": (two_stack_frames(), STACKS, (10, 12, 4, 2)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_nifti_export_puts_every_voxel_where_the_file_says(tmp_path: Path, name: str) -> None:
    frames, pointers, shape = CASES[name]
    series = _series(tmp_path / name, frames, pointers)
    (nifti,) = sorted(series.export_as_nifti(tmp_path / "out").rglob("*.nii.gz"))
    assert nibabel.load(nifti).shape == shape
    volume = _volume_of_frames(series.to_xarray())
    assert _misplaced(nifti, Path(series.files()[0]), volume) == 0
    assert _misplaced(nifti, Path(series.files()[0]), volume[::-1]) > 0  # the check can fail


@pytest.mark.skipif(DCM2NIIX is None, reason=INSTALL)
@pytest.mark.parametrize("name", list(CASES))
def test_nifti_export_agrees_with_dcm2niix(tmp_path: Path, name: str) -> None:
    """dcm2niix writes the cine as one file per phase (its trigger delays differ by slice)."""
    frames, pointers, _ = CASES[name]
    series = _series(tmp_path / name, frames, pointers)
    ours = sorted(series.export_as_nifti(tmp_path / "ours").rglob("*.nii.gz"))
    theirs, log = dcm2niix(series.files(), tmp_path / "theirs")
    assert len(theirs) == (3 if name == "cine" else 1), log
    found = compare(volumes(ours), volumes(theirs), False, True)
    assert not found.unmatched_ours and not found.unmatched_theirs, f"{found}\n{log}"
    for match in found.matches:
        assert match.mm <= TOLERANCE_MM and match.values, f"{match}\n{log}"


def test_an_array_of_index_dims_writes_back(tmp_path: Path) -> None:
    """``cardiac_phase`` is written as no tag; the trigger delays along it are, frame by frame."""
    series = _series(tmp_path / "cine", cine_frames(), CINE)
    da = series.to_xarray()
    out = series.new_sibling(SeriesDescription="copy").set_xarray(da)
    back = out.to_xarray(dims=["SliceLocation", "TriggerTime"], fill=True)
    assert int(np.isfinite(back.values).all(axis=(-2, -1)).sum()) == 12
    for s in range(4):
        for p in range(3):
            trigger = float(da["TriggerTime"].values[s, p])
            at = {"SliceLocation": da["SliceLocation"].values[s], "TriggerTime": trigger}
            got = back.sel(at, method="nearest")  # (written as DS text: 3.9, not 3.90...04)
            assert float(got["TriggerTime"]) == pytest.approx(trigger)
            assert np.array_equal(got.values, da.isel(SliceLocation=s, cardiac_phase=p).values)


def test_an_enhanced_diffusion_series_exports_bval_and_bvec(tmp_path: Path) -> None:
    series = _series(tmp_path / "dwi", dwi_frames(), DWI)
    out = Path(series.export_as_nifti(tmp_path / "out"))
    (bval,) = out.rglob("*.bval")
    assert bval.read_text().split() == ["0", "1000", "1000", "1000"]
    bvec = np.loadtxt(next(out.rglob("*.bvec")))
    assert bvec.shape == (3, 4) and (bvec[:, 0] == 0).all()
    assert np.allclose(np.linalg.norm(bvec[:, 1:], axis=0), 1)
    bids = Path(series.export_as_nifti(tmp_path / "bids", bids=True))
    assert [p.name for p in bids.rglob("dwi/*.bval")] == ["sub-01_ses-1_dwi.bval"]


def test_diffusion_as_a_dim_of_an_enhanced_file_without_an_index(tmp_path: Path) -> None:
    """No Dimension Index to number the volumes: their b-values do, as for single-frame files."""
    series = _series(tmp_path / "dwi", dwi_frames(), DWI)
    (path,) = (tmp_path / "dwi").glob("*.dcm")
    ds = pydicom.dcmread(path)
    del ds.DimensionIndexSequence
    for item in ds.PerFrameFunctionalGroupsSequence:
        del item.FrameContentSequence[0].DimensionIndexValues
    ds.save_as(path)
    (series,) = db.database(tmp_path / "dwi").series()
    da = series.to_xarray(dims=["SliceLocation", "diffusion"])
    assert da.shape[:2] == (3, 4)
    assert da["DiffusionBValue"].values.tolist() == [0.0, 1000.0, 1000.0, 1000.0]


def test_one_enhanced_frame_keeps_its_slice_location(tmp_path: Path) -> None:
    series = _series(tmp_path / "one", dwi_frames()[:1], DWI)
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "row", "column")
