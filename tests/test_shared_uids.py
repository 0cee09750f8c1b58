"""Files that share a SOPInstanceUID: each frame maps back to its own file.

A user's trial: three files of one series, two of them (slices 0 and 5) with
one SOPInstanceUID. ``array()`` gave the second file's header for the first
file's pixels, ``source_instances()`` the second file twice, and
``set_array(a, header)`` rewrote the series as slices 5, 5, 10; a
``set_xarray`` of the series lost the source of both (the lookup went by
UID, which names two files).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset

SHARED = "1.2.3.7.1.1"


@pytest.fixture
def shared(tmp_path: Path) -> db.Database:
    """g1 (slice 0, pixels 11) and g2 (slice 5, pixels 22) share a UID; g3 (slice 10, 33)."""
    series, study, frame = new_uid(), new_uid(), new_uid()
    for name, place, value, uid in [
        ("g1", 0, 11, SHARED),
        ("g2", 5, 22, SHARED),
        ("g3", 10, 33, new_uid()),
    ]:
        ds = mr_image(
            np.full((4, 4), value, np.uint16),
            SeriesDescription="dupsame",
            SeriesInstanceUID=series,
            StudyInstanceUID=study,
            FrameOfReferenceUID=frame,
            PatientID="P1",
            ImagePositionPatient=[0, 0, place],
            SOPInstanceUID=uid,
        )
        write_dataset(ds, str(tmp_path / f"{name}.dcm"))
    return db.database(tmp_path)


def _names(instances: object) -> list[str]:
    return [Path(i.path).name for i in np.ravel(instances)]  # type: ignore[call-overload]


def test_array_headers_are_the_files_of_the_pixels(shared: db.Database) -> None:
    series = shared.series(SeriesDescription="dupsame")[0]
    array, header = series.array(["SliceLocation"])
    assert array[:, 0, 1, 1].tolist() == [11, 22, 33]
    assert _names(header) == ["g1.dcm", "g2.dcm", "g3.dcm"]
    assert [h.SliceLocation for h in np.ravel(header)] == [0.0, 5.0, 10.0]


def test_set_array_with_its_header_keeps_the_geometry(shared: db.Database) -> None:
    series = shared.series(SeriesDescription="dupsame")[0]
    array, header = series.array(["SliceLocation"])
    series.set_array(array * 2, header)
    again, header = series.array(["SliceLocation"])
    assert [h.SliceLocation for h in np.ravel(header)] == [0.0, 5.0, 10.0]
    assert again[:, 0, 1, 1].tolist() == [22, 44, 66]


def test_source_instances_tell_the_files_apart(shared: db.Database) -> None:
    da = shared.series(SeriesDescription="dupsame")[0].to_xarray(["SliceLocation"])
    assert _names(da.dicom.source_instances().values) == ["g1.dcm", "g2.dcm", "g3.dcm"]


def test_source_instances_come_from_the_database_that_holds_the_frames(
    shared: db.Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Another open database holding some of the UIDs (a copy of part of the folder) is not
    the array's: the one that holds most of its frames is (the first found was taken, and a
    full run of the suite, whose earlier tests left such databases open, named None)."""
    part = tmp_path_factory.mktemp("part")
    shutil.copy(Path(shared.path) / "g3.dcm", part / "g3.dcm")
    other = db.database(part)
    try:
        other.instances()  # opened and indexed before the array is made
        da = shared.series(SeriesDescription="dupsame")[0].to_xarray(["SliceLocation"])
        for _ in range(3):  # the open databases are in no particular order
            assert _names(da.dicom.source_instances().values) == ["g1.dcm", "g2.dcm", "g3.dcm"]
            assert {i._db for i in da.dicom.source_instances().values} == {shared}
    finally:
        other.close()


def test_set_xarray_takes_each_frame_from_its_file(shared: db.Database) -> None:
    series = shared.series(SeriesDescription="dupsame")[0]
    da = series.to_xarray(["SliceLocation"])
    out = series.new_sibling(SeriesDescription="out")
    out.set_xarray(da * 3)
    back = out.to_xarray(["SliceLocation"])
    assert back.values[:, 1, 1].tolist() == [33, 66, 99]
    assert back["SliceLocation"].values.tolist() == [0.0, 5.0, 10.0]
    for instance in out.instances():  # each names its source (none did for g1 and g2)
        ds = pydicom.dcmread(instance.path)
        (ref,) = ds.SourceImageSequence
        if ds.SliceLocation != 10:
            assert ref.ReferencedSOPInstanceUID == SHARED


def test_a_uid_the_coordinates_cannot_resolve_is_refused(shared: db.Database) -> None:
    series = shared.series(SeriesDescription="dupsame")[0]
    da = series.to_xarray(["SliceLocation"]).assign_coords(SliceLocation=[1.0, 2.0, 3.0])
    with pytest.raises(db.DicomError, match=r"held by 2 files .*g1\.dcm.*g2\.dcm") as said:
        da.dicom.source_instances()
    assert "generate_uid" in str(said.value) and "header=" in str(said.value)
    out = series.new_sibling(SeriesDescription="out")
    with pytest.raises(db.DicomError, match="held by 2 files"):
        out.set_xarray(da)
    out.set_xarray(da.drop_vars("SOPInstanceUID"))  # the way out the message gives
    assert sorted(out.SliceLocation) == [1.0, 2.0, 3.0]


def test_copies_and_subseries_keep_each_file(shared: db.Database) -> None:
    series = shared.series(SeriesDescription="dupsame")[0]
    copy = series.copy_to(series.parent)
    array, header = copy.array(["SliceLocation"])
    assert array[:, 0, 1, 1].tolist() == [11, 22, 33]
    assert [h.SliceLocation for h in np.ravel(header)] == [0.0, 5.0, 10.0]
    (sub,) = [series.subseries(SliceLocation=0.0)]
    array, header = sub.array()
    assert array[:, 1, 1].tolist() == [11] and np.ravel(header)[0].SliceLocation == 0.0
