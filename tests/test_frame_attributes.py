"""Attributes an enhanced multi-frame file keeps per frame read at every level.

Enhanced objects keep positions, echo times, flip angles... in functional
groups, not at the top of the header: ``series.FlipAngle`` gave ``[]`` and
``instance["ImagePositionPatient"]`` None, although ``to_xarray()`` had them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
from builders import build_database
from pydicom.data import get_testdata_file

import dbdicom as db


def test_per_frame_values_of_an_enhanced_ct(tmp_path: Path) -> None:
    path = get_testdata_file("eCT_Supplemental.dcm")
    shutil.copy(path, tmp_path / "ect.dcm")
    (series,) = db.database(tmp_path).series()
    (instance,) = series.instances()
    ds = pydicom.dcmread(path)
    expected = sorted(
        tuple(float(x) for x in f.PlanePositionSequence[0].ImagePositionPatient)
        for f in ds.PerFrameFunctionalGroupsSequence
    )
    assert "ImagePositionPatient" not in ds  # only in the functional groups
    assert series.ImagePositionPatient == expected  # a lower level: the list
    assert instance["ImagePositionPatient"] == expected  # two frames, two positions
    assert series.unique("InStackPositionNumber") == [1, 2]
    assert series.InStackPositionNumber == [1, 2] and isinstance(
        series.InStackPositionNumber[0], int
    )
    position = series.to_xarray().dicom.position.values  # from ImagePositionPatient[0..2]
    assert sorted(tuple(v) for v in position.tolist()) == expected


def test_queries_look_at_the_frames_of_enhanced_files(tmp_path: Path) -> None:
    """database.series(ImagePositionPatient=...) finds the enhanced CT by a frame's position."""
    path = get_testdata_file("eCT_Supplemental.dcm")
    shutil.copy(path, tmp_path / "ect.dcm")
    database = db.database(tmp_path)
    ds = pydicom.dcmread(path)
    frame = ds.PerFrameFunctionalGroupsSequence[1].PlanePositionSequence[0]
    position = tuple(float(x) for x in frame.ImagePositionPatient)
    assert len(database.series(ImagePositionPatient=position)) == 1
    assert database.series(ImagePositionPatient=(0.0, 0.0, 0.0)) == []
    assert len(database.series(InStackPositionNumber=2)) == 1
    assert database.series(InStackPositionNumber=None) == []  # its frames have one
    assert len(database.instances(InStackPositionNumber=lambda n: n is not None and n > 1)) == 1


def test_a_sequence_of_several_items_gives_no_frame_value(tmp_path: Path) -> None:
    """A trial: attrs held ReferencedSOPInstanceUID and ReferencedFrameNumber of the first of
    three ReferencedImageSequence items, as if the frame had one reference. One item: its values.
    """
    from pydicom.dataset import Dataset
    from vendor_layouts import Plan, enhanced_series

    (path,) = enhanced_series(tmp_path / "dicom", Plan(slices=2), "siemens")
    ds = pydicom.dcmread(path)

    def reference(k: int) -> Dataset:
        item = Dataset()
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        item.ReferencedSOPInstanceUID = f"1.2.3.{k}"
        item.ReferencedFrameNumber = k
        return item

    for frame in ds.PerFrameFunctionalGroupsSequence:
        frame.ReferencedImageSequence = [reference(k) for k in (10, 11, 12)]
    ds.save_as(path)
    database = db.database(tmp_path / "dicom")
    da = database.series()[0].to_xarray()
    for keyword in ("ReferencedSOPInstanceUID", "ReferencedFrameNumber"):
        assert keyword not in da.attrs and keyword not in da.coords
    database.close()
    for frame in ds.PerFrameFunctionalGroupsSequence:
        frame.ReferencedImageSequence = [reference(10)]
    ds.save_as(path)
    database = db.database(tmp_path / "dicom")
    assert database.series()[0].to_xarray().attrs["ReferencedFrameNumber"] == 10
    database.close()


def test_edits_next_to_an_enhanced_file_keep_its_frames(tmp_path: Path) -> None:
    """An edit of single-frame files updates their rows in place; the frames table stays whole.

    (Any enhanced file in the folder made every edit rebuild, re-sort and key again the
    whole index; the in-place update is now refused only for files that have frames.)
    """
    root = tmp_path / "database"
    build_database(root)
    database = db.database(root)
    study = database.studies(StudyDescription="MR brain")[0]
    vfa = study.series(SeriesDescription="VFA")[0]
    enhanced = study.series(SeriesDescription="ME enhanced")[0]
    frames_before = database.index.n_frames
    first = vfa.instances()[0]
    first.EchoTime = 7.5
    vfa.SeriesDescription = "VFA edited"
    assert first.EchoTime == 7.5 and vfa.SeriesDescription == "VFA edited"
    assert sorted(vfa.EchoTime) == [2.0, 7.5]
    assert database.index.n_frames == frames_before
    assert enhanced.EchoTime == [5.0, 15.0] and study.EchoTime == [2.0, 5.0, 7.5, 15.0]
    enhanced.SeriesDescription = "ME edited"  # a file with frames: read again whole
    assert enhanced.EchoTime == [5.0, 15.0] and database.index.n_frames == frames_before
    assert enhanced.to_xarray().sizes["EchoTime"] == 2
    database.save()
    database.close()
    again = db.database(root)
    (series,) = again.series(SeriesDescription="VFA edited")
    assert sorted(series.EchoTime) == [2.0, 7.5]
    assert again.series(SeriesDescription="ME edited")[0].EchoTime == [5.0, 15.0]
    assert again.index.n_frames == frames_before
