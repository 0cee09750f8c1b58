"""Arrays made from scratch placed by their ``affine`` attr: which dim holds the slices.

A 3-D array with an affine is a volume where its one frame dim is called
``slice``, ``z``... (no DICOM keyword, not ``frame``): its frames go one
slice step apart, not all at the affine's origin; a dim of another keyword
(AcquisitionTime, InstanceNumber) holds frames at one place. A 2-D array is one slice at the
origin. Several dims that may hold slices, none SliceLocation, and an
affine whose row and column directions are not
perpendicular (which no DICOM image has: dciodvfy says so of every file)
are refused, with nothing written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr
from validators import dciodvfy_errors

import dbdicom as db

# 1 x 2 mm pixels, slices 3 mm apart, the first pixel at (-10, -20, 50)
AFFINE = np.array([[1.0, 0, 0, -10], [0, 2.0, 0, -20], [0, 0, 3.0, 50], [0, 0, 0, 1.0]])
VOLUME = np.arange(4 * 10 * 12, dtype=float).reshape(4, 10, 12)


@pytest.fixture
def study(tmp_path: Path) -> Iterator[db.Study]:
    database = db.database(tmp_path)
    yield database.new_patient(PatientName="X").new_study()
    database.close()


def _files(series: db.Series) -> list[pydicom.Dataset]:
    files = [pydicom.dcmread(path) for path in series.files()]
    return sorted(files, key=lambda f: int(f.InstanceNumber))


@pytest.mark.parametrize("dim", ["slice", "z", "SliceLocation"])
def test_the_one_frame_dim_of_a_volume_holds_its_slices(study: db.Study, dim: str) -> None:
    da = xr.DataArray(VOLUME, dims=(dim, "row", "column"), attrs={"affine": AFFINE})
    files = _files(study.new_series(SeriesDescription=dim).set_xarray(da))
    assert [[float(x) for x in f.ImagePositionPatient] for f in files] == [
        [-10.0, -20.0, z] for z in (50.0, 53.0, 56.0, 59.0)
    ]
    assert {float(f.SpacingBetweenSlices) for f in files} == {3.0}
    assert [float(f.SliceLocation) for f in files] == [50.0, 53.0, 56.0, 59.0]
    for f, plane in zip(files, VOLUME, strict=True):
        np.testing.assert_array_equal(f.pixel_array, plane)


def test_several_dims_that_may_hold_slices_are_refused(study: db.Study) -> None:
    da = xr.DataArray(
        np.zeros((2, 2, 10, 12)), dims=("z", "echo", "row", "column"), attrs={"affine": AFFINE}
    )
    series = study.new_series(SeriesDescription="ambiguous")
    with pytest.raises(db.InvalidValueError, match=r"\('z', 'echo'\).*SliceLocation"):
        series.set_xarray(da)
    assert series.files() == []
    # named, it is written: the slices along SliceLocation, each at both echoes
    named = da.rename({"z": "SliceLocation", "echo": "EchoNumbers"})
    files = _files(series.set_xarray(named.assign_coords(EchoNumbers=[1, 2])))
    assert sorted(float(f.ImagePositionPatient[2]) for f in files) == [50.0, 50.0, 53.0, 53.0]


def test_a_dim_of_another_tag_holds_frames_at_one_place(study: db.Study) -> None:
    """A dim named by a DICOM keyword other than SliceLocation (AcquisitionTime, FlipAngle)
    is what frames differ in at one place: one slice of a dynamic series with an affine
    stays one slice (a review of the first rule, which spread its times along the slices);
    beside a dim that may hold slices (``z``), that one holds them."""
    times = xr.DataArray(
        VOLUME, dims=("AcquisitionTime", "row", "column"), attrs={"affine": AFFINE}
    ).assign_coords(AcquisitionTime=[36000.0, 36010.0, 36020.0, 36030.0])
    # InstanceNumber as to_xarray(dims=["InstanceNumber"]) gives a single-slice dynamic
    # series, with the affine its accessor works out (the second review); frame: a cine
    numbered = times.rename({"AcquisitionTime": "InstanceNumber"})
    numbered = numbered.assign_coords(InstanceNumber=[1, 2, 3, 4])
    cine = times.drop_vars("AcquisitionTime").rename({"AcquisitionTime": "frame"})
    for name, da in [("dynamic", times), ("numbered", numbered), ("cine", cine)]:
        files = _files(study.new_series(SeriesDescription=name).set_xarray(da))
        assert {tuple(float(x) for x in f.ImagePositionPatient) for f in files} == {
            (-10.0, -20.0, 50.0)
        }, name
    both = xr.DataArray(
        np.zeros((2, 2, 10, 12)),
        dims=("z", "FlipAngle", "row", "column"),
        coords={"FlipAngle": [2.0, 20.0]},
        attrs={"affine": AFFINE},
    )
    files = _files(study.new_series(SeriesDescription="vfa").set_xarray(both))
    assert sorted(float(f.ImagePositionPatient[2]) for f in files) == [50.0, 50.0, 53.0, 53.0]


def test_a_two_dim_array_is_one_slice_at_the_origin(study: db.Study) -> None:
    da = xr.DataArray(VOLUME[0], dims=("row", "column"), attrs={"affine": AFFINE})
    (file,) = _files(study.new_series(SeriesDescription="2-D").set_xarray(da))
    assert [float(x) for x in file.ImagePositionPatient] == [-10.0, -20.0, 50.0]
    assert [float(x) for x in file.PixelSpacing] == [2.0, 1.0]
    np.testing.assert_array_equal(file.pixel_array, VOLUME[0])


def test_a_sheared_plane_is_refused(study: db.Study) -> None:
    sheared = AFFINE.copy()
    sheared[0, 1] = 0.5  # the row step leans towards the column direction
    da = xr.DataArray(VOLUME, dims=("SliceLocation", "row", "column"), attrs={"affine": sheared})
    series = study.new_series(SeriesDescription="sheared")
    with pytest.raises(db.InvalidValueError, match="not perpendicular"):
        series.set_xarray(da)
    assert series.files() == []


def test_a_tilted_slice_axis_is_kept_and_valid(study: db.Study) -> None:
    tilted = AFFINE.copy()
    tilted[1, 2] = 1.0  # each slice 1 mm further back: a gantry tilt
    da = xr.DataArray(VOLUME, dims=("SliceLocation", "row", "column"), attrs={"affine": tilted})
    series = study.new_series(SeriesDescription="tilted").set_xarray(da)
    files = _files(series)
    assert [float(f.ImagePositionPatient[1]) for f in files] == [-20.0, -19.0, -18.0, -17.0]
    orientation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert all([float(x) for x in f.ImageOrientationPatient] == orientation for f in files)
    assert not [e for e in dciodvfy_errors(series.files()[0]) if "rthogonal" in e]


def _slab(locations: list[float], affine: np.ndarray = AFFINE) -> xr.DataArray:
    return xr.DataArray(
        VOLUME[: len(locations)],
        dims=("SliceLocation", "row", "column"),
        coords={"SliceLocation": locations},
        attrs={"affine": affine},
    )


@pytest.mark.parametrize("kind", ["image", "parametric map"])
@pytest.mark.parametrize(
    "locations",
    [[10.0, 20.0, 30.0, 40.0], [50.0, 56.0, 53.0, 59.0], [50.0, 53.0, 56.0, 60.0]],
    ids=["spacing", "order", "one off"],
)
def test_a_slice_location_that_contradicts_the_affine_is_refused(
    study: db.Study, locations: list[float], kind: str
) -> None:
    """A trial: SliceLocation 10, 20, 30 with an affine 3 mm apart was written as given,
    its files saying SliceLocation 10, 20, 30 and ImagePositionPatient 3 mm apart."""
    changes = len(study.database.changes())
    series = study.new_series(SeriesDescription="contradicted")
    with pytest.raises(db.InvalidValueError) as refused:
        series.set_xarray(_slab(locations).astype(np.float32), kind=kind)
    said = str(refused.value)
    assert f"[{', '.join(f'{x:g}' for x in locations)}]" in said  # the coordinate's
    assert "[50, 53, 56, 59]" in said  # the affine's, along the normal
    assert "da.drop_vars('SliceLocation')" in said and "fix the affine" in said
    assert series.files() == [] and len(study.database.changes()) == changes


def test_a_slice_location_from_another_origin_is_kept(study: db.Study) -> None:
    """DICOM's SliceLocation counts from any origin (PS3.3 C.7.6.2.1.2), as scanners'
    do: the same offset at every slice is no contradiction, and is written as given."""
    series = study.new_series().set_xarray(_slab([0.0, 3.0, 6.0, 9.0]))
    files = _files(series)
    assert [float(f.SliceLocation) for f in files] == [0.0, 3.0, 6.0, 9.0]
    assert [float(f.ImagePositionPatient[2]) for f in files] == [50.0, 53.0, 56.0, 59.0]
    assert dciodvfy_errors(series.files()[0]) == []


def test_a_slice_location_counted_against_the_normal_is_kept(study: db.Study) -> None:
    """Scanners' SliceLocation may run against the slice normal (two series of pydicom's
    test files: SliceLocation = -(position . normal)): a round trip of such a series with
    its affine is no contradiction."""
    series = study.new_series().set_xarray(_slab([-50.0, -53.0, -56.0, -59.0]))
    files = _files(series)
    assert [float(f.SliceLocation) for f in files] == [-50.0, -53.0, -56.0, -59.0]
    assert [float(f.ImagePositionPatient[2]) for f in files] == [50.0, 53.0, 56.0, 59.0]


def test_a_slice_location_of_the_table_position_of_oblique_slices_is_kept(
    study: db.Study,
) -> None:
    """A CT with a gantry tilt, and some scanners' oblique slices, count SliceLocation along
    the patient axis nearest the normal (the table): a round trip of such a series with its
    own affine (da.dicom.affine) was refused as a contradiction."""
    oblique = AFFINE.copy()
    oblique[:3, :3] = _rotation(0.35) @ AFFINE[:3, :3]
    positions = oblique[:3, 3] + np.arange(4)[:, None] * oblique[:3, 2]
    table = [round(float(z), 4) for z in positions[:, 2]]
    files = _files(study.new_series().set_xarray(_slab(table, oblique)))
    assert [float(f.SliceLocation) for f in files] == table
    with pytest.raises(db.InvalidValueError, match="SliceLocation"):  # another spacing still
        study.new_series().set_xarray(_slab([x * 1.2 for x in table], oblique))


def test_a_slice_location_within_a_rounding_of_the_affine_is_kept(study: db.Study) -> None:
    oblique = AFFINE.copy()
    oblique[:3, :3] = _rotation(0.3) @ AFFINE[:3, :3]
    positions = oblique[:3, 3] + np.arange(4)[:, None] * oblique[:3, 2]
    normal = np.cross(oblique[:3, 0], oblique[:3, 1])
    along = positions @ (normal / np.linalg.norm(normal))
    da = _slab([round(x, 4) for x in along], oblique)  # as a header's text rounds them
    assert len(study.new_series().set_xarray(da).instances()) == 4


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def _placed(locations: list[float] | None) -> xr.DataArray:
    """A slab whose ImagePositionPatient coordinates put its slices 5 mm apart, with AFFINE."""
    da = _slab([0.0, 1.0, 2.0, 3.0])  # (its SliceLocation values: replaced or dropped)
    at = {"[0]": [-10.0] * 4, "[1]": [-20.0] * 4, "[2]": [0.0, 5.0, 10.0, 15.0]}
    da = da.assign_coords({f"ImagePositionPatient{i}": ("SliceLocation", v) for i, v in at.items()})
    if locations is None:
        return da.drop_vars("SliceLocation")
    return da.assign_coords(SliceLocation=locations)


def test_a_slice_location_contradicting_position_coordinates_names_them(study: db.Study) -> None:
    """A trial: with ImagePositionPatient coordinates and an affine, the refusal said the
    positions were "the 'affine' attr"'s and told the user to fix the affine, which placed
    none of the slices."""
    series = study.new_series(SeriesDescription="contradicted")
    with pytest.raises(db.InvalidValueError) as refused:
        series.set_xarray(_placed([10.0, 20.0, 30.0, 40.0]).astype(np.float32))
    said = str(refused.value)
    assert "[10, 20, 30, 40] mm, but the ImagePositionPatient coordinates at [0, 5, 10, 15]" in said
    assert "'affine' attr at" not in said and "fix the affine" not in said
    assert "da.drop_vars('SliceLocation')" in said and "fix the ImagePositionPatient" in said
    assert series.files() == []


def test_without_slice_location_each_frame_has_its_own_position_s(study: db.Study) -> None:
    """The way out the refusal gives: the SliceLocation of each file is its own position's,
    not the affine's (the files said SliceLocation 50, 53, 56, 59 at z 0, 5, 10, 15)."""
    series = study.new_series().set_xarray(_placed(None).astype(np.float32))
    files = _files(series)
    assert [float(f.ImagePositionPatient[2]) for f in files] == [0.0, 5.0, 10.0, 15.0]
    assert [float(f.SliceLocation) for f in files] == [0.0, 5.0, 10.0, 15.0]
