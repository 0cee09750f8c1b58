"""NIfTI export puts every voxel where dcm2niix does, within 1e-3 mm, with the same value.

Every series the tests can make or find is exported with
``series.export_as_nifti`` and converted with ``dcm2niix -z n -b n -p n``
(see ``dcm2niix_compare.py`` for how the volumes are matched: in world
coordinates, whatever the order of the axes): the series of the built test
database and of the demo, series written by dbdicom itself, the templates
(classic MR and CT, enhanced MR in the layouts of three vendors, parametric
map, segmentation, secondary capture), and the files of pydicom and
pydicom-data that have a geometry.

Where the two tools differ, :class:`Known` says how and why; the test then
checks that the difference is the one documented. Who is right follows the
DICOM standard: ImagePositionPatient is the centre of the first pixel,
ImageOrientationPatient the unit vectors of a row and a column, LPS
millimetres; NIfTI's affine is RAS.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import pydicom
import pytest
from dcm2niix_compare import (
    DCM2NIIX,
    INSTALL,
    TOLERANCE_MM,
    Comparison,
    Volume,
    compare,
    dcm2niix,
    volumes,
)
from pydicom.data import get_testdata_file
from vendor_layouts import (
    LAYOUTS,
    Plan,
    classic_series,
    enhanced_series,
    oblique,
    tilted_ct_series,
)

import dbdicom as db
from dbdicom._arrays import affine_of
from dbdicom._templates import parametric_map, secondary_capture, segmentation, write_dataset

needs_dcm2niix = pytest.mark.skipif(DCM2NIIX is None, reason=INSTALL)


@dataclass(frozen=True)
class Known:
    """How dcm2niix's files differ from dbdicom's for one series, and why.

    ``ours``: whether dbdicom writes a volume at all (dcm2niix always does);
    ``extra``: parts of the names of dcm2niix files that have no
    counterpart (overlays, resampled copies); ``stacked``: dcm2niix stacks
    all frames as the slices of one volume, of which only the first is
    where it says (only that one is compared); ``values``: whether the
    voxel values are the same.
    """

    why: str = ""
    ours: bool = True
    extra: tuple[str, ...] = ()
    stacked: bool = False
    values: bool = True


SAME = Known()


def check(series: db.Series, work: Path, known: Known = SAME) -> Comparison:
    """Export ``series`` with both tools and check that they agree as ``known`` says."""
    theirs, log = dcm2niix(series.files(), work)
    assert theirs, f"dcm2niix wrote nothing:\n{log}"
    if not known.ours:  # the series asked for cannot be a volume: an error saying why
        with pytest.raises(db.GridError, match="no affine"):
            series.export_as_nifti(work / "ours")
        assert not list((work / "ours").rglob("*.nii.gz")), f"dbdicom exported it ({known.why})"
        return Comparison(log=log)
    ours = sorted(series.export_as_nifti(work / "ours").rglob("*.nii.gz"))
    kept = [p for p in theirs if not any(x in p.name for x in known.extra)]
    assert len(kept) < len(theirs) or not known.extra, f"no {known.extra} file any more:\n{log}"
    found = compare(volumes(ours), volumes(kept), known.stacked, known.values)
    if known.stacked:  # one volume holding every frame as a slice
        (theirs_volume,) = volumes(kept)
        assert theirs_volume.data.shape[2] == sum(v.data.shape[2] for v in volumes(ours))
    found.log = log
    assert not found.unmatched_theirs, f"dcm2niix volumes not found in ours: {found}\n{log}"
    assert not found.unmatched_ours, f"our volumes dcm2niix did not write: {found}\n{log}"
    for match in found.matches:
        assert match.mm <= TOLERANCE_MM, f"{match} ({known.why or 'no known difference'})\n{log}"
        assert match.values == known.values, f"{match}: values ({known.why})"
    return found


def _only_series(folder: Path) -> db.Series:
    (series,) = db.database(folder).series()
    return series


# ----------------------------------------------------------------------------- built data


@needs_dcm2niix
@pytest.mark.parametrize(
    "description", ["VFA", "ME enhanced", "CT abdomen", "T1w RLE", "PD implicit", "T2w"]
)
def test_built_database(built: db.Database, tmp_path: Path, description: str) -> None:
    # VFA: dcm2niix writes one file per flip angle ("Slices not stacked: flip angle
    # varies"), ME enhanced one per echo; dbdicom one 4-D file: each volume is compared
    check(built.series(SeriesDescription=description)[0], tmp_path)


@needs_dcm2niix
@pytest.mark.parametrize("description", ["localiser", "T2w", "VFA", "CT phantom", "T2w sag"])
def test_demo(demo_database: db.Database, tmp_path: Path, description: str) -> None:
    # the localiser: three orientations, three files from each tool
    check(demo_database.series(SeriesDescription=description)[0], tmp_path)


# ----------------------------------------------------------------------------- layouts

PLANS = {
    "axial": Plan(),
    "oblique, non-square pixels, gap": Plan(
        orientation=oblique(20, -15, 10), spacing=(0.8, 1.3), thickness=4.0, step=5.5
    ),
    "oblique descending": Plan(
        orientation=oblique(-25, 12, 30),
        spacing=(1.2, 0.7),
        thickness=2.0,
        step=2.6,
        descending=True,
    ),
    "sagittal": Plan(orientation=(0, 1, 0, 0, 0, -1), spacing=(0.9, 1.1), step=3.3),
    "coronal descending": Plan(orientation=(1, 0, 0, 0, 0, -1), descending=True),
    "two echoes": Plan(orientation=oblique(10, 5, 0), echoes=(5.0, 15.0)),
    # one slice: the voxel centres agree; the length of the slice axis, which places
    # no voxel, does not: dcm2niix takes SpacingBetweenSlices (4.5) where an enhanced
    # file has it, dbdicom SliceThickness (3.0), the extent of the one slice
    "one slice": Plan(slices=1, orientation=oblique(10, 20, 30), thickness=3.0, step=4.5),
}

KINDS = (*LAYOUTS, "classic MR", "classic CT")

#: dcm2niix v1.0.20260724 splits the echoes of an enhanced file into files _e1,
#: _e2 when it is Philips' or of no known vendor. A Siemens or GE one it sorts by
#: DimensionIndexValues (stack, in-stack position, echo) and writes as one volume
#: of 10 slices, the two echoes of each position one after the other, spaced as
#: if each were a new position: only its first slice is where it says.
ECHOES_STACKED = Known(
    why="dcm2niix interleaves the echoes of a Siemens or GE enhanced file as slices",
    stacked=True,
)


def _layout_known(kind: str, plan: str) -> Known:
    if plan == "two echoes" and kind in ("siemens", "ge"):
        return ECHOES_STACKED
    return SAME


@needs_dcm2niix
@pytest.mark.parametrize(
    ("kind", "plan"),
    [(k, p) for k in KINDS for p in PLANS if not (k == "classic CT" and p == "two echoes")],
)
def test_layouts(tmp_path: Path, kind: str, plan: str) -> None:
    """Enhanced MR as Siemens, Philips and GE lay it out, and classic MR and CT stacks."""
    folder = tmp_path / "dicom"
    if kind in LAYOUTS:
        enhanced_series(folder, PLANS[plan], kind)
    else:
        classic_series(folder, PLANS[plan], modality=kind.split()[1])
    check(_only_series(folder), tmp_path / "work", _layout_known(kind, plan))


def test_one_frame_enhanced_files_have_their_geometry(tmp_path: Path) -> None:
    """An enhanced file of one frame keeps its position in its functional groups."""
    plan = PLANS["one slice"]
    for layout in LAYOUTS:
        enhanced_series(tmp_path / layout, plan, layout)
        da = _only_series(tmp_path / layout).to_xarray()
        assert affine_of(da) is not None, layout
        position = da.dicom.affine @ [0, 0, 0, 1]
        np.testing.assert_allclose(position[:3], plan.positions()[0], atol=1e-6)


def test_stored_cosines_are_made_unit_vectors(tmp_path: Path) -> None:
    """Cosines of 4 decimals are not of length 1: the pixel step stays PixelSpacing."""
    orientation = (1.0, 0.0, 0.0, 0.0, 0.9272, -0.3746)  # length 1.0000125
    classic_series(tmp_path, Plan(orientation=orientation, spacing=(0.431, 0.5), slices=2))
    affine = _only_series(tmp_path).to_xarray().dicom.affine
    np.testing.assert_allclose(np.linalg.norm(affine[:3, :2], axis=0), [0.5, 0.431], rtol=1e-12)


# ----------------------------------------------------------------------------- written by dbdicom


@needs_dcm2niix
def test_series_written_by_dbdicom(tmp_path: Path) -> None:
    """A DataArray of an oblique enhanced series written back as a new series."""
    plan = PLANS["oblique descending"]
    enhanced_series(tmp_path / "dicom", plan, "philips")
    source = _only_series(tmp_path / "dicom")
    da = source.to_xarray()
    written = source.new_sibling(SeriesDescription="written").set_xarray(da)
    found = check(written, tmp_path / "work")
    assert len(found.matches) == 1


# ----------------------------------------------------------------------------- templates


@needs_dcm2niix
def test_parametric_map(tmp_path: Path) -> None:
    plan = Plan(orientation=oblique(12, -8, 20), spacing=(0.9, 1.4), slices=4, step=2.5)
    values = np.random.default_rng(0).random((4, *plan.shape)).astype(np.float32) * 1000
    ds = parametric_map(
        values,
        positions=plan.positions(),
        ImageOrientationPatient=list(plan.orientation),
        PixelSpacing=list(plan.spacing),
        SliceThickness=2.0,
    )
    write_dataset(ds, tmp_path / "dicom" / "map.dcm")
    check(_only_series(tmp_path / "dicom"), tmp_path / "work")


@needs_dcm2niix
def test_segmentation(tmp_path: Path) -> None:
    plan = Plan(orientation=oblique(-5, 15, 0), spacing=(0.7, 0.9), slices=3, step=1.5)
    mask = np.random.default_rng(1).random((3, *plan.shape)) > 0.5
    ds = segmentation(
        mask,
        positions=plan.positions(),
        ImageOrientationPatient=list(plan.orientation),
        PixelSpacing=list(plan.spacing),
        SliceThickness=1.5,
    )
    write_dataset(ds, tmp_path / "dicom" / "seg.dcm")
    check(_only_series(tmp_path / "dicom"), tmp_path / "work")


@needs_dcm2niix
def test_secondary_capture(tmp_path: Path) -> None:
    write_dataset(secondary_capture(np.ones((8, 10), np.uint8)), tmp_path / "dicom" / "sc.dcm")
    known = Known(
        why="a secondary capture has no position or orientation: dbdicom skips it "
        "with a message, dcm2niix writes it with an identity-like affine, without warning",
        ours=False,
    )
    check(_only_series(tmp_path / "dicom"), tmp_path / "work", known)


# ----------------------------------------------------------------------------- gantry tilt


@needs_dcm2niix
def test_gantry_tilted_ct(tmp_path: Path) -> None:
    """Tilted slices stacked along the table: dbdicom's affine is sheared and exact.

    dcm2niix writes two files. ``..._Tilt_1`` is resampled onto an upright
    grid (other voxels: not compared). The other keeps the slices, but its
    sform steps from slice to slice by the distance between the planes
    (``step x cos(tilt)``) along the table, not by ``step``: slice ``k`` is
    ``k x step x (1 - cos(tilt))`` mm too low (0.85 mm at slice 5 for 15
    degrees). DICOM's ImagePositionPatient of each slice says where it is,
    and dbdicom's affine reproduces them all. (A qform cannot hold a shear:
    both tools write a rigid approximation there; dbdicom's sform is exact.)
    """
    tilt, step = 15.0, 5.0
    files = tilted_ct_series(tmp_path / "dicom", tilt=tilt, slices=6, step=step)
    series = _only_series(tmp_path / "dicom")
    affine = series.to_xarray().dicom.affine
    for k, path in enumerate(files):
        position = [float(x) for x in pydicom.dcmread(path).ImagePositionPatient]
        np.testing.assert_allclose((affine @ [0, 0, k, 1])[:3], position, atol=1e-9)

    ours = volumes(series.export_as_nifti(tmp_path / "ours").rglob("*.nii.gz"))
    theirs, log = dcm2niix(files, tmp_path / "work")
    assert any("_Tilt_" in p.name for p in theirs), log
    kept = volumes(p for p in theirs if "_Tilt_" not in p.name)
    (match,) = compare(ours, kept).matches
    assert match.values
    expected = (len(files) - 1) * step * (1 - np.cos(np.radians(tilt)))
    assert match.mm == pytest.approx(expected, abs=1e-3)
    first = compare([_first_slice(v) for v in ours], [_first_slice(v) for v in kept])
    assert first.matches[0].mm <= TOLERANCE_MM  # slice 0: in-plane the same


def _first_slice(volume: Volume) -> Volume:
    return Volume(volume.name, volume.affine, volume.data[:, :, :1])


# ----------------------------------------------------------------------------- shipped files

_OVERLAY = Known(why="dcm2niix also writes the overlay plane as _ROI1", extra=("_ROI",))
_NO_GEOMETRY = Known(
    why="Enhanced MR with no functional groups: no position or orientation at all; "
    "dbdicom skips it with a message, dcm2niix writes an identity-like affine ('Unable "
    "to determine spatial orientation: 0020,0037 missing', 'Bogus spatial matrix')",
    ours=False,
)

#: pydicom / pydicom-data files with a geometry, and how dcm2niix differs.
SHIPPED: dict[str, Known] = {
    "MR_small.dcm": SAME,
    "MR_small_RLE.dcm": SAME,
    "MR_small_jp2klossless.dcm": SAME,
    "MR_small_jpeg_ls_lossless.dcm": SAME,
    "MR_small_implicit.dcm": SAME,
    "MR_small_bigendian.dcm": SAME,
    "MR_small_expb.dcm": SAME,
    "MR_small_padded.dcm": SAME,
    "CT_small.dcm": SAME,
    "MR2_UNCR.dcm": SAME,  # Philips classic, 1024 x 1024
    "MR2_UNCI.dcm": SAME,
    "MR2_J2KR.dcm": SAME,
    "MR2_J2KI.dcm": SAME,
    "693_UNCR.dcm": SAME,
    "693_UNCI.dcm": SAME,
    "693_J2KR.dcm": SAME,
    "693_J2KI.dcm": SAME,
    "bad_sequence.dcm": SAME,
    "explicit_VR-UN.dcm": SAME,
    "MR-SIEMENS-DICOM-WithOverlays.dcm": _OVERLAY,
    "examples_overlay.dcm": _OVERLAY,
    "eCT_Supplemental.dcm": SAME,  # Enhanced CT, 2 frames
    "liver.dcm": SAME,  # Segmentation, 3 frames
    "liver_1frame.dcm": SAME,  # Segmentation, 1 frame, no NumberOfFrames
    "rtdose_1frame.dcm": Known(
        why="dcm2niix writes an RT Dose's stored values (1,254,000); dbdicom the doses, "
        "times DoseGridScaling (1e-6)",
        values=False,
    ),
    # a gantry-tilted CT slice (-22 degrees) whose cosines 0.9272\-0.3746 are not of
    # length 1; its JPEG 2000 stream is unsigned where PixelRepresentation says signed:
    # dcm2niix reads 0..8191, dbdicom (and pydicom) -2000..1896 HU
    "J2K_pixelrep_mismatch.dcm": Known(why="J2K stream unsigned, header signed", values=False),
    "emri_small.dcm": _NO_GEOMETRY,
    "emri_small_RLE.dcm": _NO_GEOMETRY,
    "emri_small_big_endian.dcm": _NO_GEOMETRY,
    "emri_small_jpeg_2k_lossless.dcm": _NO_GEOMETRY,
    "emri_small_jpeg_ls_lossless.dcm": _NO_GEOMETRY,
}


@needs_dcm2niix
@pytest.mark.parametrize("name", list(SHIPPED))
def test_shipped_files(tmp_path: Path, name: str) -> None:
    path = get_testdata_file(name)
    assert path is not None, f"{name} is missing: pip install pydicom-data"
    (tmp_path / "dicom").mkdir()
    shutil.copyfile(path, tmp_path / "dicom" / name)
    check(_only_series(tmp_path / "dicom"), tmp_path / "work", SHIPPED[name])


@needs_dcm2niix
def test_rt_dose(tmp_path: Path) -> None:
    """15 frames at (3004,000C) Grid Frame Offset Vector along the normal: 15 slices 5 mm apart.

    The vector (0, 5, ..., 70) starts at 0: frame k lies offset[k] mm from
    ImagePositionPatient along row x column cosines. dcm2niix does not read
    it ("Unable to determine slice thickness") and steps 1 mm from slice to
    slice: slice 0 agrees, slice 14 is 14 x 4 = 56 mm off.
    """
    (tmp_path / "dicom").mkdir()
    path = tmp_path / "dicom" / "rtdose.dcm"
    shutil.copyfile(get_testdata_file("rtdose.dcm"), path)
    ds = pydicom.dcmread(path)
    series = _only_series(tmp_path / "dicom")
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "row", "column") and da.shape == (15, 10, 10)
    offsets = [float(x) for x in ds.GridFrameOffsetVector]
    start = np.array([float(x) for x in ds.ImagePositionPatient])
    for k, offset in enumerate(offsets):
        at = (da.dicom.affine @ [0, 0, k, 1])[:3]
        np.testing.assert_allclose(at, start + [0, 0, offset], atol=1e-9)
    # doses: stored values times DoseGridScaling (dcm2niix writes the stored values)
    np.testing.assert_allclose(da.values, ds.pixel_array * float(ds.DoseGridScaling), rtol=1e-6)

    ours = volumes(series.export_as_nifti(tmp_path / "ours").rglob("*.nii.gz"))
    theirs, log = dcm2niix([path], tmp_path / "work")
    assert "Unable to determine slice thickness" in log
    (match,) = compare(ours, volumes(theirs), values=False).matches
    assert not match.values and match.mm == pytest.approx(56.0, abs=1e-3)
    first = compare(
        [_first_slice(v) for v in ours], [_first_slice(v) for v in volumes(theirs)], values=False
    )
    assert first.matches[0].mm <= TOLERANCE_MM


@needs_dcm2niix
@pytest.mark.parametrize("name", ["T2w", "CT abdomen", "PD implicit"])
def test_its_file_imported_on_its_reference_lines_up(
    database_folder: tuple[Path, Any], tmp_path: Path, name: str
) -> None:
    """dcm2niix's NIfTI of a series, imported with the series as reference, lines up with it.

    A new-user trial: the import was in the right place but stored the rows
    the other way up (as dcm2niix does), and its float32 SliceLocation made
    ``a - b`` an empty array.
    """
    database = db.database(database_folder[0])
    database.mute()
    series = database.series(SeriesDescription=name)[0]
    (file,) = dcm2niix(series.files(), tmp_path / "work")[0]
    back = database.import_nifti(file, reference=series)
    a, b = series.to_xarray(), back.to_xarray()
    assert b.dims == a.dims
    np.testing.assert_array_equal(b.values, a.values)  # index for index
    np.testing.assert_array_equal(b.SliceLocation.values, a.SliceLocation.values)
    assert (a - b).shape == a.shape and not (a - b).values.any()
    # a file on another grid (every other row) keeps its own, in the right place
    image = nibabel.load(file)
    half = nibabel.Nifti1Image(
        np.asanyarray(image.dataobj)[:, ::2], image.affine @ np.diag([1.0, 2.0, 1.0, 1.0])
    )
    nibabel.save(half, tmp_path / "half.nii.gz")
    other = database.import_nifti(tmp_path / "half.nii.gz", reference=series).to_xarray()
    assert (
        other.sizes["row"] == a.sizes["row"] // 2 or other.sizes["column"] == a.sizes["column"] // 2
    )
    database.restore()
    database.close()
