"""Diffusion series of single-frame files: a ``diffusion`` dim, and .bval/.bvec as dcm2niix.

The series are built from pydicom's MR_small.dcm (see ``diffusion_files.py``):
3 slices x 5 volumes (b=0; b=1000 along x, y, z; b=2000 oblique), the
b-values and directions where each vendor keeps them. The NIfTI files are
compared with dcm2niix's: same b-values in the same order, the same
gradient directions (as each file's voxel axes and FSL's rule make them:
dcm2niix flips the rows, dbdicom does not, so the vectors are compared in
the patient's frame, and against the directions written in the DICOM
files), and the same voxels.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest
from dcm2niix_compare import DCM2NIIX, INSTALL, compare, dcm2niix, volumes
from diffusion_files import (
    AXIAL,
    SAGITTAL,
    VOLUMES,
    read_fsl,
    rotated,
    world_vectors,
    write_dwi,
)

import dbdicom as db

needs_dcm2niix = pytest.mark.skipif(DCM2NIIX is None, reason=INSTALL)

B_VALUES = [b for b, _ in VOLUMES]
#: the directions in patient RAS (NIfTI's world), 0 0 0 for b=0
RAS = np.array([[-g[0], -g[1], g[2]] for _, g in VOLUMES]) + 0.0


def _series(folder: Path) -> db.Series:
    (series,) = db.database(str(folder)).series()
    return series


def _directions(da) -> np.ndarray:
    return np.column_stack([da[f"DiffusionGradientOrientation[{i}]"].values for i in range(3)])


@pytest.mark.parametrize(
    "vendor, implicit",
    [
        ("standard", False),
        ("sequence", False),
        ("siemens", False),
        ("siemens", True),
        ("philips", False),
        ("philips", True),
    ],
    ids=[
        "standard",
        "MRDiffusionSequence",
        "siemens",
        "siemens-implicit",
        "philips",
        "philips-implicit",
    ],
)
def test_diffusion_dims(tmp_path: Path, vendor: str, implicit: bool) -> None:
    paths = write_dwi(tmp_path / "dicom", vendor, implicit=implicit)
    da = _series(tmp_path / "dicom").to_xarray()
    assert da.dims == ("SliceLocation", "diffusion", "row", "column")
    assert da.shape == (3, len(VOLUMES), 6, 8)
    assert "diffusion" not in da.coords  # no tag numbers the volumes
    assert da.DiffusionBValue.dims == ("diffusion",)
    assert da.DiffusionBValue.values.tolist() == B_VALUES
    directions = _directions(da)
    assert np.isnan(directions[0]).all()  # b=0: none is invented
    np.testing.assert_allclose(directions[1:], [g for _, g in VOLUMES[1:]])
    # the frames are where their files say: volume v, slice k is file v * 3 + k
    for v in range(len(VOLUMES)):
        for k in range(3):
            want = pydicom.dcmread(paths[v * 3 + k]).pixel_array
            np.testing.assert_array_equal(da.isel(SliceLocation=k, diffusion=v).values, want)


def test_ge_bias(tmp_path: Path) -> None:
    """GE's (0043,1039) holds the b-value plus 10^9 in multi-b series: taken off."""
    write_dwi(tmp_path / "dicom", "ge")
    da = _series(tmp_path / "dicom").to_xarray()
    assert da.DiffusionBValue.values.tolist() == B_VALUES


def test_ge_directions_not_read(tmp_path: Path) -> None:
    """GE's directions (0019,10BB) are not converted: refused rather than written 0 0 0."""
    paths = write_dwi(tmp_path / "dicom", "ge")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.add_new(0x00190010, "LO", "GEMS_ACQU_01")
        ds.add_new(0x001910BB, "DS", "0.5")
        ds.save_as(path)
    with pytest.raises(db.DiffusionError, match=r"\(0019,10BB\), which dbdicom does not read"):
        _series(tmp_path / "dicom").to_xarray()


def test_slice_major_order_and_repeats(tmp_path: Path) -> None:
    """Files numbered slice after slice; one direction twice (an average): none collide."""
    twice = (*VOLUMES, VOLUMES[1])
    write_dwi(tmp_path / "dicom", "siemens", volumes=twice, slice_major=True)
    da = _series(tmp_path / "dicom").to_xarray()
    assert da.sizes["diffusion"] == len(twice)
    assert da.DiffusionBValue.values.tolist() == [b for b, _ in twice]
    np.testing.assert_allclose(_directions(da)[-1], VOLUMES[1][1])


def test_wrong_creator_refused(tmp_path: Path) -> None:
    write_dwi(tmp_path / "dicom", "siemens", creator="SOMEONE ELSE")
    with pytest.raises(db.DiffusionError, match=r"private creator \(0019,0010\) is 'SOMEONE ELSE'"):
        _series(tmp_path / "dicom").to_xarray()


def test_partial_b_values_refused(tmp_path: Path) -> None:
    paths = write_dwi(tmp_path / "dicom")
    ds = pydicom.dcmread(paths[4])
    del ds.DiffusionBValue
    ds.save_as(paths[4])
    with pytest.raises(db.DiffusionError, match="IM0005.dcm: it has no b-value"):
        _series(tmp_path / "dicom").to_xarray()
    with pytest.raises(db.DiffusionError):
        _series(tmp_path / "dicom").export_as_nifti(str(tmp_path / "out"))
    assert not list((tmp_path / "out").rglob("*.nii.gz"))  # no "time series" either


def test_not_unit_direction_refused(tmp_path: Path) -> None:
    volumes = ((0.0, (0.0, 0.0, 0.0)), (1000.0, (2.0, 0.0, 0.0)))
    write_dwi(tmp_path / "dicom", volumes=volumes)
    with pytest.raises(db.DiffusionError, match="is not a unit vector"):
        _series(tmp_path / "dicom").to_xarray()


def test_explicit_dims_kept(tmp_path: Path) -> None:
    write_dwi(tmp_path / "dicom")
    series = _series(tmp_path / "dicom")
    da = series.to_xarray(dims=["SliceLocation", "InstanceNumber"], fill=True)
    assert da.dims[:2] == ("SliceLocation", "InstanceNumber")
    da = series.to_xarray(dims=["SliceLocation", "diffusion"])
    assert da.DiffusionBValue.values.tolist() == B_VALUES


def test_trace_series_keeps_b_value_dim(tmp_path: Path) -> None:
    """One b-value per volume and no direction: DiffusionBValue is the dim, as before."""
    volumes = ((0.0, (0.0, 0.0, 0.0)), (500.0, (0.0, 0.0, 0.0)), (1000.0, (0.0, 0.0, 0.0)))
    write_dwi(tmp_path / "dicom", volumes=volumes)
    series = _series(tmp_path / "dicom")
    da = series.to_xarray()
    assert da.dims[:2] == ("SliceLocation", "DiffusionBValue")
    out = Path(series.export_as_nifti(str(tmp_path / "out")))
    (nii,) = out.rglob("*.nii.gz")
    bval, bvec = read_fsl(Path(str(nii)[: -len(".nii.gz")]))
    assert bval.tolist() == [0.0, 500.0, 1000.0]
    assert not bvec.any()  # isotropic: 0 0 0, as dcm2niix


def test_round_trip(tmp_path: Path) -> None:
    """Written back (standard tags), read back along the same dims with the same values."""
    write_dwi(tmp_path / "dicom", "siemens")
    series = _series(tmp_path / "dicom")
    da = series.to_xarray()
    copy = series.new_sibling(SeriesDescription="copy")
    copy.set_xarray(da)
    back = copy.to_xarray()
    assert back.dims == da.dims
    assert back.DiffusionBValue.values.tolist() == B_VALUES
    np.testing.assert_array_equal(_directions(back), _directions(da))
    np.testing.assert_array_equal(back.values, da.values)


@needs_dcm2niix
@pytest.mark.parametrize(
    "vendor, orientation",
    [("standard", AXIAL), ("siemens", rotated(25.0)), ("philips", SAGITTAL)],
    ids=["axial-standard", "oblique-siemens", "sagittal-philips"],
)
def test_same_as_dcm2niix(tmp_path: Path, vendor: str, orientation: tuple[float, ...]) -> None:
    paths = write_dwi(tmp_path / "dicom", vendor, orientation, implicit=vendor == "siemens")
    theirs, log = dcm2niix(paths, tmp_path / "theirs")
    assert len(theirs) == 1, log
    series = _series(tmp_path / "dicom")
    out = Path(series.export_as_nifti(str(tmp_path / "ours")))
    (ours,) = out.rglob("*.nii.gz")
    stem = Path(str(ours)[: -len(".nii.gz")])
    bval, bvec = read_fsl(stem)
    their_bval, their_bvec = read_fsl(theirs[0].with_suffix(""))
    assert bval.tolist() == their_bval.tolist() == B_VALUES
    mine, other = nibabel.load(ours), nibabel.load(theirs[0])
    assert mine.shape == other.shape == (8, 6, 3, len(VOLUMES))
    # the same direction in the world, and the one the DICOM files give
    np.testing.assert_allclose(world_vectors(bvec, mine.affine).T, RAS, atol=1e-4)
    np.testing.assert_allclose(world_vectors(their_bvec, other.affine).T, RAS, atol=1e-4)
    # volume by volume: the same voxels at the same places, in the same order
    found = compare(volumes([ours]), volumes(theirs))
    assert not found.unmatched_ours and not found.unmatched_theirs
    assert all(m.values for m in found.matches)
    assert [m.ours.split("[")[1] for m in found.matches] == [
        m.theirs.split("[")[1] for m in found.matches
    ]
    assert found.mm < 1e-3
    sidecar = json.loads(stem.with_name(stem.name + ".json").read_text())
    assert "diffusion" not in sidecar


def test_bids_dwi(tmp_path: Path) -> None:
    write_dwi(tmp_path / "dicom", "siemens")
    database = db.database(str(tmp_path / "dicom"))
    out = Path(database.export_as_nifti(str(tmp_path / "bids"), bids=True))
    names = sorted(p.name for p in out.rglob("*_dwi.*"))
    assert names == [
        "sub-01_ses-1_dwi.bval",
        "sub-01_ses-1_dwi.bvec",
        "sub-01_ses-1_dwi.json",
        "sub-01_ses-1_dwi.nii.gz",
    ]
    bval, bvec = read_fsl(next(out.rglob("*_dwi.nii.gz")).with_suffix("").with_suffix(""))
    assert bval.tolist() == B_VALUES
    assert bvec.shape == (3, len(VOLUMES))
    assert (next(out.rglob("*_dwi.nii.gz")).parent.name) == "dwi"


def test_non_diffusion_unchanged(tmp_path: Path) -> None:
    """An MR series without b-values: its dims and its export as before (no .bval)."""
    volumes = ((0.0, (0.0, 0.0, 0.0)),)
    write_dwi(tmp_path / "dicom", "none", volumes=volumes)
    series = _series(tmp_path / "dicom")
    assert series.to_xarray().dims == ("SliceLocation", "row", "column")
    out = Path(series.export_as_nifti(str(tmp_path / "out")))
    assert not list(out.rglob("*.bval"))


@pytest.mark.parametrize("vendor", ["standard", "siemens", "ge", "philips"])
def test_b_value_zero_everywhere_is_no_diffusion_series(tmp_path: Path, vendor: str) -> None:
    """Philips and GE write a b-value of 0 in every MR image, many exports the standard tag too:
    a dual-echo series with b=0 keeps its EchoTime dim, is no BIDS dwi and gets no .bval."""
    volumes = ((0.0, (0.0, 0.0, 0.0)), (0.0, (0.0, 0.0, 0.0)))
    paths = write_dwi(tmp_path / "dicom", vendor, volumes=volumes)
    for number, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        ds.EchoTime = [10.0, 80.0][number // 3]  # 3 slices a volume
        ds.save_as(path)
    series = _series(tmp_path / "dicom")
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "EchoTime", "row", "column")
    assert da.EchoTime.values.tolist() == [10.0, 80.0]
    out = Path(series.export_as_nifti(str(tmp_path / "out")))
    assert not list(out.rglob("*.bval")) and not list(out.rglob("*.bvec"))
    bids = Path(series.export_as_nifti(str(tmp_path / "bids"), bids=True))
    assert not list(bids.rglob("dwi"))


def test_a_vendor_is_matched_at_a_word_s_start(tmp_path: Path) -> None:
    """GE's private b-value is read for "GE MEDICAL SYSTEMS", not for a name holding "...GE"."""
    paths = write_dwi(tmp_path / "dicom", "ge")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.Manufacturer = "AGFA IMAGE SYSTEMS"
        ds.save_as(path)
    da = _series(tmp_path / "dicom").to_xarray()
    assert "diffusion" not in da.dims and "DiffusionBValue" not in da.coords


def test_diffusion_alone_over_several_slices_is_refused(tmp_path: Path) -> None:
    write_dwi(tmp_path / "dicom")
    series = _series(tmp_path / "dicom")
    with pytest.raises(db.GridError, match="SliceLocation"):
        series.to_xarray(dims=["diffusion"])
    assert series.to_xarray(dims=["SliceLocation", "diffusion"]).shape[:2] == (3, 5)
