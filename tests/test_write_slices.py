"""A written series says the slice spacing of its own frames, not its sources'.

A trial: every second slice of a CT whose files say SpacingBetweenSlices 2.5
was written with SpacingBetweenSlices 2.5, its slices 5 mm apart (the NIfTI
pixdim 5, its sidecar 2.5). The writer works out where the frames lie: on
an even grid along their normal, its step; else (uneven gaps) no
SpacingBetweenSlices at all; one slice, which no spacing contradicts, keeps
its source's or attr's. NumberOfSlices (PET, NM) counts the slices
written, and so do the other counts of a series (NumberOfTimeSlices,
ImageIndex, NumberOfTemporalPositions: see dbdicom._dataset._counts);
ImagesInAcquisition (the source acquisition's) is not copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr
from pydicom import uid
from validators import dciodvfy_errors

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset


@pytest.fixture
def ct(demo_database: db.Database) -> Iterator[db.Series]:
    """The demo's CT (10 slices 2.5 mm apart), its files saying so (and more), restored after."""
    series = demo_database.series(SeriesDescription="CT phantom")[0]
    series.SpacingBetweenSlices = 2.5
    series.NumberOfSlices = 10
    series.ImagesInAcquisition = 10
    yield series
    demo_database.restore()


def _written(source: db.Series, da: xr.DataArray) -> list[pydicom.Dataset]:
    out = source.new_sibling(SeriesDescription="written")
    out.set_xarray(da)
    return [pydicom.dcmread(path) for path in out.files()]


def _said(files: list[pydicom.Dataset], keyword: str) -> set[object]:
    return {f.get(keyword) for f in files}


@pytest.mark.parametrize(
    ("select", "spacing", "slices"),
    [
        (lambda da: da.thin(SliceLocation=2), 5.0, 5),
        (lambda da: da.isel(SliceLocation=slice(None, None, -1)), 2.5, 10),
        (lambda da: da.isel(SliceLocation=[0, 1, 3]), None, 3),
        (lambda da: da.isel(SliceLocation=[4]), 2.5, 1),  # one slice: not contradicted
        (lambda da: da.interp(SliceLocation=[-10.0, -2.5, 5.0]), 7.5, 3),
    ],
    ids=["every-second", "reversed", "uneven", "one-slice", "interp"],
)
def test_the_spacing_is_that_of_the_frames_written(
    ct: db.Series, select: object, spacing: float | None, slices: int
) -> None:
    files = _written(ct, select(ct.to_xarray()))  # type: ignore[operator]
    assert _said(files, "SpacingBetweenSlices") == {spacing}
    assert _said(files, "NumberOfSlices") == {slices}
    assert _said(files, "ImagesInAcquisition") == {None}


def test_one_slice_at_several_flip_angles_keeps_its_spacing(ct: db.Series) -> None:
    """A trial: a one-slice series at four flip angles lost the 5 its files said."""
    one = ct.to_xarray().isel(SliceLocation=[4])
    two = xr.concat([one, one], dim=xr.DataArray([2.0, 20.0], dims="FlipAngle", name="FlipAngle"))
    assert _said(_written(ct, two), "SpacingBetweenSlices") == {2.5}
    new = xr.DataArray(
        np.zeros((1, 2, 4, 4), np.uint16),
        dims=("SliceLocation", "FlipAngle", "row", "column"),
        coords={"SliceLocation": [0.0], "FlipAngle": [2.0, 20.0]},
        attrs={"SpacingBetweenSlices": 5.0},  # made from the template: the attr's
    )
    assert _said(_written(ct, new), "SpacingBetweenSlices") == {5.0}


def test_positions_from_the_sources_give_the_spacing(ct: db.Series) -> None:
    """No position coordinates: the frames lie where their source frames do."""
    thin = ct.to_xarray().thin(SliceLocation=2)
    thin = thin.drop_vars([f"ImagePositionPatient[{i}]" for i in range(3)])
    assert _said(_written(ct, thin), "SpacingBetweenSlices") == {5.0}


def test_an_affine_gives_a_new_stack_its_spacing(demo_database: db.Database) -> None:
    study = demo_database.studies()[0]
    affine = np.diag([1.5, 1.5, 4.0, 1.0])
    slab = xr.DataArray(
        np.ones((3, 8, 8), np.uint16),
        dims=("SliceLocation", "row", "column"),
        attrs={"affine": affine, "SpacingBetweenSlices": 2.0},  # an attr: the grid's wins
    )
    try:
        written = study.new_series().set_xarray(slab)
        assert written.SpacingBetweenSlices == [4.0]
        one = study.new_series().set_xarray(slab.isel(SliceLocation=[0]))
        assert one.SpacingBetweenSlices == [2.0]  # one slice: the attr's, not contradicted
    finally:
        demo_database.restore()


def test_an_instance_number_xarray_interpolated_is_numbered_anew(ct: db.Series) -> None:
    """A trial: interp made InstanceNumber 1.5, and the write was refused with no way out."""
    da = ct.to_xarray().interp(SliceLocation=[5.0, -2.5, -10.0])  # InstanceNumber 7.5...
    numbers = {float(f.SliceLocation): int(f.InstanceNumber) for f in _written(ct, da)}
    assert numbers == {5.0: 1, -2.5: 2, -10.0: 3}  # in the array's order, as without one
    echoes = da.assign_coords(EchoNumbers=("SliceLocation", [1.0, 1.5, 2.0]))
    with pytest.raises(db.InvalidValueError, match=r"coordinate 'EchoNumbers'.*drop_vars"):
        ct.new_sibling().set_xarray(echoes)


def test_the_stack_indices_xarray_interpolated_are_dropped(ct: db.Series) -> None:
    """A trial: interp (coarsen) of an enhanced MR's array made its InStackPositionNumber
    and DimensionIndexValues 1.5, and the write was refused three times, once per
    coordinate, with a way out (round them) that gave two frames one stack position.
    Like InstanceNumber, they number frames: where not whole, they are no numbering."""
    slices = ct.to_xarray().sizes["SliceLocation"]
    index = ("SliceLocation", np.arange(1.0, slices + 1))
    da = ct.to_xarray().assign_coords(
        {"InStackPositionNumber": index, "DimensionIndexValues[1]": index}
    )
    between = da.interp(SliceLocation=[-10.0, -5.0, 0.0])
    files = _written(ct, between)
    assert sorted(float(f.SliceLocation) for f in files) == [-10.0, -5.0, 0.0]
    assert _said(files, "InStackPositionNumber") == {None}
    assert _said(files, "DimensionIndexValues") == {None}
    whole = _written(ct, da.isel(SliceLocation=[0, 2]))  # whole numbers: kept
    assert sorted(int(f.InStackPositionNumber) for f in whole) == [1, 3]


def _dynamic(root: Path, modality: str, times: int = 3, slices: int = 4) -> None:
    """A dynamic series (``times`` x ``slices`` files) whose headers count its frames.

    PET: NumberOfSlices, NumberOfTimeSlices, ImageIndex (a PET Image made on
    the MR template); MR: TemporalPositionIdentifier, NumberOfTemporalPositions.
    """
    series, frame = new_uid(), new_uid()
    for t in range(times):
        for s in range(slices):
            ds = mr_image(
                np.full((8, 8), 10 * t + s, np.uint16),
                SeriesInstanceUID=series,
                FrameOfReferenceUID=frame,
                ImagePositionPatient=[0, 0, 2.0 * s],
                InstanceNumber=t * slices + s + 1,
                AcquisitionTime=f"1000{t}0",
            )
            if modality == "PT":
                ds.SOPClassUID = uid.PositronEmissionTomographyImageStorage
                ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
                ds.Modality, ds.SeriesType, ds.Units = "PT", ["DYNAMIC", "IMAGE"], "BQML"
                ds.NumberOfSlices, ds.NumberOfTimeSlices = slices, times
                ds.ImageIndex = t * slices + s + 1
                ds.FrameReferenceTime = 60000.0 * t
            else:
                ds.TemporalPositionIdentifier, ds.NumberOfTemporalPositions = t + 1, times
            write_dataset(ds, root / f"{t}_{s}.dcm")


#: the counts of a series: dciodvfy finds none of them missing or wrong
COUNTS = ("NumberOfSlices", "NumberOfTimeSlices", "ImageIndex", "NumberOfTemporalPositions")


@pytest.mark.parametrize(
    ("select", "slices", "times", "indices"),
    [
        (lambda da: da.isel(FrameReferenceTime=[1]), 4, 1, [1, 2, 3, 4]),
        (lambda da: da.thin(SliceLocation=2), 2, 3, [1, 2, 3, 4, 5, 6]),
        (lambda da: da.isel(FrameReferenceTime=[1, 2]), 4, 2, list(range(1, 9))),
    ],
    ids=["one-time", "every-second-slice", "two-times"],
)
def test_a_pet_series_counts_the_frames_written(
    tmp_path: Path, select: object, slices: int, times: int, indices: list[int]
) -> None:
    """A trial: one time point of a dynamic PET said 3 time slices, ImageIndex 5 to 8."""
    _dynamic(tmp_path, "PT")
    database = db.database(tmp_path)
    pet = database.series()[0]
    da = pet.to_xarray(dims=["SliceLocation", "FrameReferenceTime"])
    files = _written(pet, select(da))  # type: ignore[operator]
    assert _said(files, "NumberOfSlices") == {slices}
    assert _said(files, "NumberOfTimeSlices") == {times}
    assert sorted(int(f.ImageIndex) for f in files) == indices
    # (time slice - 1) x NumberOfSlices + slice, the slice along the normal
    rank = {z: i + 1 for i, z in enumerate(sorted({float(f.SliceLocation) for f in files}))}
    for f in files:
        assert (int(f.ImageIndex) - 1) % slices + 1 == rank[float(f.SliceLocation)]
    for path in pet.new_sibling().set_xarray(select(da)).files():  # type: ignore[operator]
        found = [
            e
            for e in dciodvfy_errors(path)
            if any(c.lower() in e.lower().replace(" ", "") for c in COUNTS)
        ]
        assert found == []
    database.close()


def test_an_mr_series_counts_its_temporal_positions(tmp_path: Path) -> None:
    """A trial: one time point of a dynamic MR said 3 temporal positions."""
    _dynamic(tmp_path, "MR")
    database = db.database(tmp_path)
    mr = database.series()[0]
    da = mr.to_xarray(dims=["SliceLocation", "AcquisitionTime"])
    pairs = {"TemporalPositionIdentifier", "NumberOfTemporalPositions"}

    def said(sub: xr.DataArray) -> set[tuple[object, ...]]:
        return {tuple(f.get(k) for k in sorted(pairs)) for f in _written(mr, sub)}

    # from the sources (no coordinate): renumbered 1 on, and counted
    plain = da.drop_vars(["TemporalPositionIdentifier"])
    assert said(plain.isel(AcquisitionTime=[2])) == {(1, 1)}
    assert said(plain.isel(AcquisitionTime=[0, 2])) == {(2, 1), (2, 2)}
    # the coordinate to_xarray gives (the sources' values) is theirs: renumbered too (a
    # review found one time point of it kept 3 and lost the count)
    assert said(da) == {(3, 1), (3, 2), (3, 3)}
    assert said(da.isel(AcquisitionTime=[2])) == {(1, 1)}
    assert said(da.isel(AcquisitionTime=[0, 2])) == {(2, 1), (2, 2)}
    # a coordinate of other values is the user's: kept, counted where they are 1 to their number
    mine = da.isel(AcquisitionTime=[2])
    mine = mine.assign_coords(TemporalPositionIdentifier=mine.TemporalPositionIdentifier * 0 + 7)
    assert said(mine) == {(None, 7)}
    mine = mine.assign_coords(TemporalPositionIdentifier=mine.TemporalPositionIdentifier * 0 + 1)
    assert said(mine) == {(1, 1)}
    # a mean over time: no temporal position, no number of them
    assert said(da.mean("AcquisitionTime", keep_attrs=True)) == {(None, None)}
    database.close()


def test_headers_of_another_database_are_not_looked_up_by_file_name(tmp_path: Path) -> None:
    """A review: sources of database A, written into database B whose files have the same
    names, took B's files' places and counts (SpacingBetweenSlices 7, three temporal
    positions) by those names."""
    folders = {"a": (0.0, 5.0, "5", 1), "b": (100.0, 7.0, "7", 3)}
    for name, (start, step, spacing, times) in folders.items():
        (tmp_path / name).mkdir()
        series, study = uid.generate_uid(), uid.generate_uid()
        for k in range(3):
            ds = mr_image(
                np.full((4, 4), k, np.uint16),
                PatientID=name,
                StudyInstanceUID=study,
                SeriesInstanceUID=series,
                InstanceNumber=k + 1,
                ImagePositionPatient=[0.0, 0.0, start + step * k],
                SliceLocation=start + step * k,
                SpacingBetweenSlices=spacing,
                TemporalPositionIdentifier=1 + k if times > 1 else 1,
                NumberOfTemporalPositions=times,
            )
            write_dataset(ds, tmp_path / name / f"d{k}.dcm")
    a, b = db.database(tmp_path / "a"), db.database(tmp_path / "b")
    array, header = a.series()[0].array(["SliceLocation"])
    out = b.studies()[0].new_series(SeriesDescription="from a")
    out.set_array(array * 2, header)
    written = sorted((pydicom.dcmread(p) for p in out.files()), key=lambda f: f.SliceLocation)
    assert [float(f.ImagePositionPatient[2]) for f in written] == [0.0, 5.0, 10.0]
    assert {f.get("SpacingBetweenSlices") for f in written} <= {None, 5.0}
    assert {
        (f.get("TemporalPositionIdentifier"), f.get("NumberOfTemporalPositions")) for f in written
    } <= {(1, 1), (1, None), (None, None)}  # A's, never B's (a count not known: left out)
    a.close()
    b.close()
