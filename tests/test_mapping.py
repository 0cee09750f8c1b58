"""Resampling a series onto another's grid (map_to, map_mask_to) and NIfTI import.

The phantoms are written with known affines, so that the value expected at
every target voxel is known exactly: copies, shifts, 2 x 2 x 2 block means,
90-degree rotations, a linear ramp evaluated at oblique voxel positions.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import dbdicom as db
from dbdicom import DicomError, GeometryError, InvalidValueError
from dbdicom._arrays import affine_of

DIMS = ("SliceLocation", "row", "column")


@pytest.fixture
def study() -> Iterator[db.Study]:
    database = db.database()
    database.mute()
    yield database.new_patient(PatientName="Phantom^Geometry").new_study(
        StudyDescription="geometry"
    )
    database.close()


def affine(
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
    rotation: np.ndarray | None = None,
) -> np.ndarray:
    """(column, row, slice) indices -> LPS: ``rotation`` columns are the axes."""
    out = np.eye(4)
    axes = np.eye(3) if rotation is None else np.asarray(rotation, dtype=float)
    out[:3, :3] = axes * np.asarray(spacing, dtype=float)
    out[:3, 3] = origin
    return out


def rotation(x: float, y: float, z: float) -> np.ndarray:
    """Rotation by angles (degrees) about x, then y, then z."""
    a, b, c = np.deg2rad([x, y, z])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def phantom(study: db.Study, data: np.ndarray, matrix: np.ndarray, name: str, **attrs) -> db.Series:
    da = xr.DataArray(data, dims=DIMS, attrs={"affine": matrix, **attrs})
    return study.new_series(SeriesDescription=name).set_xarray(da)


def positions(matrix: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """LPS (x, y, z) of every voxel of a (slice, row, column) grid: (3, *shape)."""
    s, r, c = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    index = np.stack([c.ravel(), r.ravel(), s.ravel(), np.ones(c.size)])
    return (matrix @ index)[:3].reshape(3, *shape)


def integers(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 1000, shape).astype(np.uint16)


# ------------------------------------------------------------------ map_to
def test_identity_copies_the_values(study: db.Study) -> None:
    data = integers((4, 6, 5))
    grid = affine((0.8, 1.2, 3.0), (-10.0, 20.0, 5.0))
    source = phantom(study, data, grid, "source")
    target = phantom(study, np.zeros_like(data), grid, "target")
    for order in (0, 1, 3):
        mapped = source.map_to(target, order=order)
        assert mapped.SeriesDescription == "source mapped to target"
        assert mapped.parent == target.parent
        back = mapped.to_xarray()
        assert back.dims == DIMS
        np.testing.assert_allclose(back.values, data, atol=1e-3 * (order == 3))
        np.testing.assert_allclose(back.dicom.affine, grid, atol=1e-5)
        np.testing.assert_allclose(back.SliceLocation, target.to_xarray().SliceLocation)


def test_oblique_identity_is_exact(study: db.Study) -> None:
    data = integers((3, 7, 6), seed=1)
    grid = affine((1.1, 0.9, 2.5), (3.0, -4.0, 7.0), rotation(25, -10, 40))
    source = phantom(study, data, grid, "oblique")
    back = source.map_to(source).to_xarray()
    np.testing.assert_array_equal(back.values, data)


def test_shift_by_whole_voxels(study: db.Study) -> None:
    data = integers((4, 6, 5), seed=2)
    spacing = (0.8, 1.2, 3.0)
    source = phantom(study, data, affine(spacing), "source")
    # the target starts 2 columns, 1 row and 1 slice further
    shifted = affine(spacing, (2 * 0.8, 1 * 1.2, 1 * 3.0))
    target = phantom(study, np.zeros_like(data), shifted, "target")
    expected = np.zeros_like(data)
    expected[:-1, :-1, :-2] = data[1:, 1:, 2:]  # beyond the source: 0
    for order in (0, 1):
        back = source.map_to(target, order=order).to_xarray()
        np.testing.assert_array_equal(back.values, expected)


def test_twice_coarser_gives_block_means(study: db.Study) -> None:
    data = integers((4, 8, 6), seed=3)
    spacing = (1.5, 1.5, 2.0)
    source = phantom(study, data, affine(spacing, (10.0, -5.0, 0.0)), "fine")
    # voxel centres midway between 2 x 2 x 2 source voxels
    coarse = affine((3.0, 3.0, 4.0), (10.0 + 0.75, -5.0 + 0.75, 1.0))
    target = phantom(study, np.zeros((2, 4, 3), np.uint16), coarse, "coarse")
    back = source.map_to(target).to_xarray()
    blocks = data.reshape(2, 2, 4, 2, 3, 2).astype(float).mean(axis=(1, 3, 5))
    bound = (blocks.max() - blocks.min()) / 65535  # float values: 16-bit encoding
    np.testing.assert_allclose(back.values, blocks, atol=bound * 1.001)
    assert float(back.values[1, 2, 0]) == pytest.approx(data[2:4, 4:6, 0:2].mean(), abs=bound)
    # nearest neighbour keeps source values
    nearest = source.map_to(target, order=0).to_xarray().values
    assert np.isin(nearest, data).all()


def test_rotation_by_90_degrees_reindexes(study: db.Study) -> None:
    data = integers((3, 4, 5), seed=4)  # (slice, row, column)
    source = phantom(study, data, affine(), "axial")
    # target columns along +y (the source's rows), target rows along -x
    axes = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    turned = affine(rotation=axes, origin=(4.0, 0.0, 0.0))
    target = phantom(study, np.zeros((3, 5, 4), np.uint16), turned, "turned")
    # target voxel (s, r, c) is at x = 4 - r, y = c: source column 4 - r, row c
    expected = np.transpose(data, (0, 2, 1))[:, ::-1, :]
    for order in (0, 1, 3):
        back = source.map_to(target, order=order).to_xarray()
        np.testing.assert_allclose(back.values, expected, atol=0.02 * (order == 3))


def test_oblique_target_samples_a_linear_ramp(study: db.Study) -> None:
    shape = (20, 40, 40)
    grid = affine((2.0, 2.0, 2.5), (-40.0, -40.0, -25.0))
    x, y, z = positions(grid, shape)
    ramp = 1000 + 2.0 * x - 3.0 * y + 5.0 * z
    source = phantom(study, ramp.astype(np.float32), grid, "ramp")
    # an oblique grid well inside the source
    oblique = affine((1.7, 2.3, 3.1), (-10.0, -5.0, -8.0), rotation(30, 20, -35))
    target = phantom(study, np.zeros((5, 9, 8), np.float32), oblique, "oblique")
    back = source.map_to(target).to_xarray()
    x, y, z = positions(back.dicom.affine, back.shape)
    truth = 1000 + 2.0 * x - 3.0 * y + 5.0 * z
    bound = 2 * float(ramp.max() - ramp.min()) / 65535  # two 16-bit encodings
    np.testing.assert_allclose(back.values, truth, atol=bound + 1e-3)


def test_extra_dims_are_kept_and_each_volume_resampled(study: db.Study) -> None:
    data = np.stack([integers((3, 4, 5), seed=5), integers((3, 4, 5), seed=6)], axis=1)
    da = xr.DataArray(
        data,
        dims=("SliceLocation", "FlipAngle", "row", "column"),
        coords={"FlipAngle": [5.0, 10.0]},
        attrs={"affine": affine(), "EchoTime": 2.5, "RepetitionTime": 6.0},
    )
    source = study.new_series(SeriesDescription="vfa").set_xarray(da)
    target = phantom(study, np.zeros((3, 4, 5), np.uint16), affine(origin=(1.0, 0, 0)), "t")
    mapped = source.map_to(target)
    back = mapped.to_xarray()
    assert back.dims == ("SliceLocation", "FlipAngle", "row", "column")
    assert back.FlipAngle.values.tolist() == [5.0, 10.0]
    assert mapped.EchoTime == [2.5] and mapped.RepetitionTime == [6.0]
    np.testing.assert_array_equal(back.values[..., :-1], data[..., 1:])
    np.testing.assert_array_equal(back.values[..., -1], 0)


def test_target_in_another_study_and_frame_of_reference(study: db.Study) -> None:
    source = phantom(study, integers((2, 4, 4)), affine(), "source")
    other = study.new_pibling(StudyDescription="other").new_series(SeriesDescription="grid")
    other.set_xarray(xr.DataArray(np.zeros((2, 4, 4)), dims=DIMS, attrs={"affine": affine()}))
    mapped = source.map_to(other)
    assert mapped.parent == other.parent != source.parent
    assert mapped.FrameOfReferenceUID == other.FrameOfReferenceUID


def test_demo_series_onto_each_other(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    t2w = demo.series(SeriesDescription="T2w")[0]
    same = vfa.map_to(t2w).to_xarray()  # the same grid: a copy
    np.testing.assert_array_equal(same.values, vfa.to_xarray().values)
    assert same.FlipAngle.values.tolist() == [2.0, 5.0, 10.0, 15.0]
    ct = demo.series(SeriesDescription="CT phantom")[0]
    on_mr = ct.map_to(t2w).to_xarray()
    assert on_mr.shape == t2w.to_xarray().shape
    assert -1100 < float(on_mr.min()) and float(on_mr.max()) < 800  # HU


# ------------------------------------------------------------------ masks
def test_mask_box_gives_a_box(study: db.Study) -> None:
    mask = np.zeros((16, 16, 16), np.uint8)
    mask[4:12, 4:12, 4:12] = 1  # voxels 4..11: [3.5, 11.5] mm
    source = phantom(study, mask, affine(), "box")
    # 2 mm voxels centred at 0.5, 2.5, ...: voxel j covers [2j - 0.5, 2j + 1.5]
    coarse = affine((2.0, 2.0, 2.0), (0.5, 0.5, 0.5))
    target = phantom(study, np.zeros((8, 8, 8), np.uint8), coarse, "coarse")
    mapped = source.map_mask_to(target)
    assert mapped.SeriesDescription == "box mapped to coarse"
    back = mapped.to_xarray()
    assert back.dtype.kind in "iu"
    expected = np.zeros((8, 8, 8), np.uint8)
    expected[2:6, 2:6, 2:6] = 1
    np.testing.assert_array_equal(back.values, expected)


def test_mask_half_voxel_rule(study: db.Study) -> None:
    mask = np.zeros((4, 6, 10), np.uint8)
    mask[:, :, 3:7] = 7  # any non-zero value is in
    source = phantom(study, mask, affine(), "mask")
    # shifted by half a column: centres at 0.5, 1.5, ...
    target = phantom(study, np.zeros((4, 6, 9), np.uint8), affine(origin=(0.5, 0, 0)), "half")
    back = source.map_mask_to(target).to_xarray().values
    # columns 2.5 and 6.5 are half in (0.5): in; 1.5 and 7.5 are out
    assert back[0, 0].tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0]
    assert set(np.unique(back).tolist()) == {0, 1}
    # a quarter of a voxel beyond the edge: out
    quarter = phantom(study, np.zeros((4, 6, 9), np.uint8), affine(origin=(0.75, 0, 0)), "q")
    # centres 1.75 (0) 2.75 (0.75, in) ... 5.75 (in) 6.75 (0.25, out)
    expected = [0, 0, 1, 1, 1, 1, 0, 0, 0]
    assert source.map_mask_to(quarter).to_xarray().values[0, 0].tolist() == expected


def test_rotated_mask(study: db.Study) -> None:
    mask = np.zeros((3, 6, 8), np.uint8)
    mask[1, 1:3, 2:7] = 1
    source = phantom(study, mask, affine(), "mask")
    axes = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    target = phantom(
        study, np.zeros((3, 8, 6), np.uint8), affine(rotation=axes, origin=(7, 0, 0)), "t"
    )
    back = source.map_mask_to(target).to_xarray().values
    np.testing.assert_array_equal(back, np.transpose(mask, (0, 2, 1))[:, ::-1, :])


# ------------------------------------------------------------------ no overlap
def test_no_overlap_is_an_error(study: db.Study) -> None:
    source = phantom(study, integers((3, 4, 4)), affine(), "here")
    far = phantom(study, np.zeros((3, 4, 4), np.uint16), affine(origin=(0, 0, 100.0)), "far")
    before = len(study.series())
    with pytest.raises(GeometryError, match="do not overlap"):
        source.map_to(far)
    with pytest.raises(GeometryError, match="do not overlap"):
        source.map_mask_to(far)
    assert len(study.series()) == before  # nothing written
    # just beyond half a voxel from the last slice: still no overlap
    edge = phantom(study, np.zeros((1, 4, 4), np.uint16), affine(origin=(0, 0, 2.51)), "edge")
    with pytest.raises(GeometryError, match="do not overlap"):
        source.map_to(edge)
    # within half a voxel: the edge slice's values
    near = phantom(study, np.zeros((1, 4, 4), np.uint16), affine(origin=(0, 0, 2.49)), "near")
    np.testing.assert_array_equal(
        source.map_to(near).to_xarray().values[0], source.to_xarray().values[2]
    )


# ------------------------------------------------------------------ bad input
def test_bad_input(study: db.Study, demo: db.Database, monkeypatch: pytest.MonkeyPatch) -> None:
    source = phantom(study, integers((3, 4, 4)), affine(), "source")
    with pytest.raises(DicomError, match="target must be a series; got a study"):
        source.map_to(study)
    with pytest.raises(DicomError, match="target must be a series; got a ndarray"):
        source.map_to(np.eye(4))
    for order in (5, -1, 1.0, True, "linear"):
        with pytest.raises(InvalidValueError, match="order must be one of"):
            source.map_to(source, order=order)
    localiser = demo.series(SeriesDescription="localiser")[0]  # 3 orientations
    t2w = demo.series(SeriesDescription="T2w")[0]
    with pytest.raises(GeometryError, match="source series '1: localiser'.*3 different sizes"):
        localiser.map_to(t2w)
    with pytest.raises(GeometryError, match="target series '1: localiser'.*not one volume"):
        t2w.map_mask_to(localiser)
    flat = phantom(study, integers((3, 4, 4)), affine(), "no geometry")
    flat.ImagePositionPatient = None
    with pytest.raises(GeometryError, match="source series '.*no geometry' has no affine"):
        flat.map_to(source)
    with pytest.raises(GeometryError, match="has no affine"):
        source.map_to(flat)
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(ImportError, match=r"needs scipy: pip install 'scipy>="):
        source.map_to(source)


# ------------------------------------------------------------------ NIfTI
def _exported(series: db.Series, folder: Path) -> Path:
    (file,) = series.export_as_nifti(folder).rglob("*.nii.gz")
    return file


@pytest.mark.parametrize("description", ["T2w", "VFA", "T2w sag", "CT phantom"])
def test_nifti_round_trip_of_demo_series(
    demo: db.Database, tmp_path: Path, description: str
) -> None:
    series = demo.series(SeriesDescription=description)[0]
    file = _exported(series, tmp_path / "nifti")
    back = demo.import_nifti(file, reference=series)
    assert back.parent == series.parent
    assert back.SeriesDescription == file.name[: -len(".nii.gz")]
    assert back.FrameOfReferenceUID == series.FrameOfReferenceUID
    old, new = series.to_xarray(), back.to_xarray()
    assert new.dims == old.dims
    np.testing.assert_array_equal(new.values, old.values)
    np.testing.assert_allclose(new.dicom.affine, old.dicom.affine, atol=1e-4)
    np.testing.assert_allclose(new.SliceLocation, old.SliceLocation, atol=1e-4)
    if description == "VFA":
        assert new.FlipAngle.values.tolist() == [2.0, 5.0, 10.0, 15.0]


@pytest.mark.parametrize("flip", [False, True])
def test_nifti_round_trip_of_an_oblique_phantom(
    study: db.Study, tmp_path: Path, flip: bool
) -> None:
    matrix = affine((0.9, 1.3, 2.7), (12.0, -30.0, 4.5), rotation(15, -25, 50))
    if flip:  # slices stepping against the normal: stored, then read, in reverse
        matrix[:3, 2] *= -1
    data = integers((5, 7, 6), seed=7)
    series = phantom(study, data, matrix, "oblique")
    old = series.to_xarray()
    file = _exported(series, tmp_path / "nifti")
    back = study.database.import_nifti(file, reference=series).to_xarray()
    np.testing.assert_array_equal(back.values, old.values)
    np.testing.assert_allclose(back.dicom.affine, old.dicom.affine, atol=1e-4)
    np.testing.assert_array_equal(old.values, data[::-1] if flip else data)


def test_nifti_round_trip_of_two_tag_dims_and_of_one_slice(study: db.Study, tmp_path: Path) -> None:
    """Two tag dims flatten to one 4th dim; the sidecar's lists bring both back."""
    data = integers((3, 2, 3, 4, 5), seed=8)
    dims = ("SliceLocation", "FlipAngle", "EchoTime", "row", "column")
    matrix = affine((0.7, 0.7, 2.0), (1.0, 2.0, 3.0), rotation(0, 0, 30))
    da = xr.DataArray(
        data,
        dims=dims,
        coords={"FlipAngle": [5.0, 10.0], "EchoTime": [1.0, 2.0, 3.0]},
        attrs={"affine": matrix},
    )
    series = study.new_series(SeriesDescription="two dims").set_xarray(da)
    file = _exported(series, tmp_path / "two")
    back = study.database.import_nifti(file, reference=series).to_xarray()
    assert back.dims == dims
    assert back.EchoTime.values.tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(back.values, data)
    np.testing.assert_allclose(back.dicom.affine, matrix, atol=1e-4)
    # one slice: its thickness gives the third column of the affine
    one = phantom(study, data[:1, 0, 0], matrix, "one slice", SliceThickness=2.0)
    file = _exported(one, tmp_path / "one")
    back = study.database.import_nifti(file, reference=one).to_xarray()
    np.testing.assert_array_equal(back.values, data[:1, 0, 0])
    np.testing.assert_allclose(back.dicom.affine, matrix, atol=1e-4)


@pytest.mark.parametrize("flip", [False, True])
def test_nifti_file_from_scratch(tmp_path: Path, flip: bool) -> None:
    """A file not written by dbdicom: RAS affine, float values with a NaN, no reference."""
    nibabel = pytest.importorskip("nibabel")
    ras = np.array(
        [[-2.0, 0.0, 0.0, 50.0], [0.0, -1.5, 0.0, -20.0], [0.0, 0.0, 3.0, 10.0], [0, 0, 0, 1]]
    )
    if flip:  # LPS axes left-handed: the slices step against the normal
        ras[1, 1] = 1.5
    voxels = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)  # (i, j, k)
    voxels[0, 0, 0] = np.nan
    nibabel.save(nibabel.Nifti1Image(voxels, ras), tmp_path / "scratch.nii")
    database = db.database()
    database.mute()
    series = database.import_nifti(tmp_path / "scratch.nii")
    assert series.SeriesDescription == "scratch"
    assert len(database.patients()) == 1
    da = series.to_xarray()
    assert da.shape == (3, 5, 4)  # (slice k, row j, column i)
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras
    expected = np.nan_to_num(np.transpose(voxels, (2, 1, 0)))
    if flip:  # read in increasing SliceLocation: the slices in reverse, at the same places
        expected = expected[::-1]
        lps = lps @ [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, 2], [0, 0, 0, 1]]
    np.testing.assert_allclose(da.dicom.affine, lps, atol=1e-5)
    bound = float(np.nanmax(voxels)) / 65535
    np.testing.assert_allclose(da.values, expected, atol=bound * 1.001)
    # the voxel at a given LPS position holds the file's value there
    i, j, k = 3, 2, (0 if flip else 1)
    position = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras @ [i, j, k, 1]
    c, r, s = np.rint(np.linalg.solve(da.dicom.affine, position)[:3]).astype(int)
    assert float(da.values[s, r, c]) == pytest.approx(float(voxels[i, j, k]), abs=bound)
    database.close()


def test_nifti_four_dims_without_sidecar_stacks_frames(demo: db.Database, tmp_path: Path) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    file = _exported(vfa, tmp_path / "nifti")
    sidecar = file.with_name(file.name.replace(".nii.gz", ".json"))
    assert json.loads(sidecar.read_text())["FlipAngle"] == [2.0, 5.0, 10.0, 15.0]
    sidecar.unlink()
    back = demo.import_nifti(file, reference=vfa)
    array, _ = back.array(["SliceLocation"])  # (slice, n, row, column)
    old = vfa.to_xarray()
    np.testing.assert_array_equal(array, old.values)
    # nothing but InstanceNumber tells the volumes apart: they read back along
    # ``frame``, in the order they were written
    again = back.to_xarray()
    assert again.dims == ("SliceLocation", "frame", "row", "column")
    np.testing.assert_array_equal(again.values, old.values)


def test_nifti_bad_input(
    demo: db.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t2w = demo.series(SeriesDescription="T2w")[0]
    with pytest.raises(FileNotFoundError, match="not a file"):
        demo.import_nifti(tmp_path / "missing.nii.gz")
    (tmp_path / "junk.nii").write_bytes(b"not a nifti file")
    with pytest.raises(InvalidValueError, match="cannot be read as NIfTI"):
        demo.import_nifti(tmp_path / "junk.nii")
    with pytest.raises(DicomError, match="reference must be a series"):
        demo.import_nifti(tmp_path / "junk.nii", reference=t2w.instances()[0])
    monkeypatch.setitem(sys.modules, "nibabel", None)
    with pytest.raises(ImportError, match=r"needs nibabel: pip install 'nibabel>="):
        demo.import_nifti(tmp_path / "junk.nii")


def test_unevenly_spaced_slices_get_no_affine(tmp_path: Path) -> None:
    from dbdicom._templates import mr_image, new_uid, write_dataset

    study, series = new_uid(), new_uid()
    for i, z in enumerate([0.0, 5.0, 10.0, 20.0]):  # the slice at 15 is missing
        ds = mr_image(
            np.full((8, 8), i, np.uint16),
            StudyInstanceUID=study,
            SeriesInstanceUID=series,
            ImagePositionPatient=[0.0, 0.0, z],
            InstanceNumber=i + 1,
        )
        write_dataset(ds, tmp_path / "gap" / f"im{i}")
    from recorders import Recorder

    status = Recorder()
    database = db.database(tmp_path / "gap", status=status)
    gapped = database.series()[0]
    da = gapped.to_xarray()
    assert da.sizes["SliceLocation"] == 4 and affine_of(da) is None
    with pytest.raises(db.GridError, match="not evenly spaced"):  # the series asked for
        gapped.export_as_nifti(tmp_path / "nifti")
    assert not list((tmp_path / "nifti").rglob("*.nii.gz"))


def test_a_map_with_nan_is_mapped_as_a_parametric_map(study: db.Study) -> None:
    """A second trial: map_to of a parametric map with NaN was refused with 'da.fillna(0)',
    which the user cannot apply to the resampled array."""
    data = integers((3, 6, 5)).astype(np.float32) / 7
    data[1, 2, 2] = np.nan  # a fit that failed
    grid = affine((1.0, 1.0, 2.0))
    da = xr.DataArray(data, dims=DIMS, attrs={"affine": grid})
    source = study.new_series(SeriesDescription="T1").set_xarray(da, kind="parametric map")
    target = phantom(study, np.zeros((3, 6, 5), np.uint16), grid, "target")
    with pytest.raises(InvalidValueError, match=r"NaN.*map_to\(target, kind='parametric map'\)"):
        source.map_to(target, order=0)
    mapped = source.map_to(target, order=0, kind="parametric map")
    assert mapped.instances()[0].NumberOfFrames == 3
    np.testing.assert_array_equal(mapped.to_xarray().values, data)  # NaN where it was
    with pytest.raises(InvalidValueError, match="map_mask_to"):
        source.map_to(target, kind="segmentation")
