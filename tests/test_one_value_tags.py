r"""A tag of one value (VM 1) stored with several: read as none and listed, never the first.

A user's trial: a file with (0018,0050) SliceThickness ``"1.0\2.0"`` read as
1.0 (pydicom gives [1.0, 2.0]), ``db.instances(SliceThickness=1)`` matched
it, the array's coordinate said 1.0 and ``problems()`` listed nothing. The
index keeps one value of such a tag, so which one is a guess: it keeps none
and says why, as for an IS or DS value that is not a number.

Text is not a guess: a PatientID ``"A\B"`` read as none made the patient
anonymous (merged with another patient without ID of the same name), a
SeriesDescription ``"T1\T2"`` read as none. Text of several values where
the tag has one is read as the text stored, backslash and all, and listed.
Dates and times, like numbers, are none.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

import dbdicom as db
from dbdicom._files import frame_values
from dbdicom._index import _index, _scan
from dbdicom._templates import mr_image, new_uid, write_dataset

SAID = r"(0018,0050) 'Slice Thickness': it holds 2 values (1.0\2.0), where its VM is 1"


def test_a_one_value_tag_of_two_values_is_none_and_listed(tmp_path: Path) -> None:
    series, study, frame = new_uid(), new_uid(), new_uid()
    for name, place, thickness in [("two", 0, ["1.0", "2.0"]), ("one", 5, "1.0")]:
        ds = mr_image(
            np.zeros((4, 4), np.uint16),
            SeriesInstanceUID=series,
            StudyInstanceUID=study,
            FrameOfReferenceUID=frame,
            PatientID="P1",
            ImagePositionPatient=[0, 0, place],
        )
        ds.SliceThickness = thickness
        write_dataset(ds, str(tmp_path / f"{name}.dcm"))
    database = db.database(tmp_path)
    database.mute()
    (two,) = [i for i in database.instances() if Path(i.path).name == "two.dcm"]
    assert pydicom.dcmread(two.path).SliceThickness == [1.0, 2.0]
    assert two.SliceThickness is None
    assert [Path(i.path).name for i in database.instances(SliceThickness=1)] == ["one.dcm"]
    problems = database.problems()
    assert SAID in " ".join(problems[problems["path"] == "two.dcm"]["problem"])
    da = database.series()[0].to_xarray(["SliceLocation"])
    assert np.isnan(da["SliceThickness"].values[0]) and da["SliceThickness"].values[1] == 1.0
    database.close()


def test_in_the_functional_groups_too(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SliceThickness = ["1.0", "2.0"]
    folder = tmp_path / "db"
    folder.mkdir()
    ds.save_as(folder / "a.dcm", enforce_file_format=False)
    database = db.database(folder)
    database.mute()
    assert f"{SAID} (in the functional groups)" in " ".join(database.problems()["problem"])
    da = database.series()[0].to_xarray()
    thickness = da.coords.get("SliceThickness", da.attrs.get("SliceThickness"))
    assert thickness is None or np.isnan(np.asarray(thickness, dtype=float)).all()
    assert database.instances()[0].SliceThickness is None
    database.close()


def _text_files(folder: Path) -> dict[str, str]:
    """Files whose one-value text tags hold several; ``b.dcm`` has no PatientID, a's name."""
    folder.mkdir(exist_ok=True)
    uids = {"a": f"{new_uid()}\\{new_uid()}", "b": new_uid(), "c": new_uid()}
    for name, patient, description in [("a", "A\\B", "T1\\T2"), ("b", None, "b"), ("c", "C", "c")]:
        ds = mr_image(
            np.zeros((4, 4), np.uint16),
            SeriesInstanceUID=new_uid(),
            StudyInstanceUID=uids[name],
            FrameOfReferenceUID=new_uid(),
            PatientName="Same^Name",
            SeriesDescription=description,
        )
        if patient is None:
            del ds.PatientID
        else:
            ds.PatientID = patient
        if name == "a":
            ds.StudyDate = "20200101\\20200102"
        write_dataset(ds, str(folder / f"{name}.dcm"))
    return uids


def _files(record: db.Series | db.Patient | db.Study) -> list[str]:
    return sorted(Path(i.path).name for i in record.instances())


def test_text_of_several_values_is_read_as_stored_and_listed(tmp_path: Path) -> None:
    uids = _text_files(tmp_path)
    a = pydicom.dcmread(tmp_path / "a.dcm")
    assert isinstance(a.PatientID, MultiValue) and list(a.PatientID) == ["A", "B"]
    database = db.database(tmp_path)
    database.mute()
    (patient,) = database.patients(PatientID="A\\B")
    assert patient.PatientID == "A\\B" and _files(patient) == ["a.dcm"]  # not merged with b
    (series,) = database.series(SeriesDescription="T1\\T2")
    assert series.SeriesDescription == "T1\\T2" and _files(series) == ["a.dcm"]
    (study,) = database.studies(StudyInstanceUID=uids["a"])
    assert study.StudyInstanceUID == uids["a"] and _files(study) == ["a.dcm"]
    assert study.StudyDate is None  # a date of two: none, as a number of two
    problems = " ".join(database.problems()["problem"])
    said = "it holds 2 values ({0}), where its VM is 1: read as the text '{0}'"
    assert "(0010,0020) 'Patient ID': " + said.format("A\\B") in problems
    assert "(0008,103E) 'Series Description': " + said.format("T1\\T2") in problems
    assert "(0020,000D) 'Study Instance UID': " + said.format(uids["a"]) in problems
    assert "is not a valid UID: it has characters other than digits and dots" in problems
    assert (
        "(0008,0020) 'Study Date': it holds 2 values (20200101\\20200102), where its VM "
        "is 1: read as no value" in problems
    )
    database.close()


def test_an_index_that_read_such_text_as_none_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _text_files(tmp_path)
    # an index as the scan of version 2 made it: text of several values read as none
    old = " ".join([*_index.TAGS, *_index.FILE_COLUMNS, *_index.KEY_COLUMNS, "scan-2"])
    with monkeypatch.context() as patch:
        patch.setattr(_index, "TAGS_VERSION", hashlib.sha1(old.encode()).hexdigest()[:12])
        patch.setattr(_scan, "several_values", lambda vr, value: (None, "as before"))
        database = db.database(tmp_path)
        assert database.patients(PatientID="A\\B") == []
        database.close()
    database = db.database(tmp_path)
    database.mute()
    assert [p.PatientID for p in database.patients(PatientID="A\\B")] == ["A\\B"]
    database.close()


def test_text_in_the_functional_groups_too(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    ds.PerFrameFunctionalGroupsSequence[0].FrameContentSequence[0].StackID = ["1", "2"]
    ds.save_as(tmp_path / "a.dcm", enforce_file_format=False)
    problems: dict[int, str] = {}
    notes: dict[int, str] = {}
    frames = frame_values(str(tmp_path / "a.dcm"), problems, notes)
    assert [f["StackID"] for f in frames] == ["1\\2", "1"] and not problems
    said = "it holds 2 values (1\\2), where its VM is 1 (in the functional groups): read as"
    assert notes == {0x00209056: f"{said} the text '1\\2'"}
    database = db.database(tmp_path)
    database.mute()
    assert f"(0020,9056) 'Stack ID': {said}" in " ".join(database.problems()["problem"])
    database.close()


def _by_hand(path: Path) -> None:
    """An MR file written with pydicom alone, whose tags of one value not indexed hold two."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = MRImageStorage
    ds.PatientID, ds.PatientName, ds.Modality = ["P", "Q"], "Hand^Made", "MR"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.InstitutionalDepartmentName = ["A", "B"]  # LO, VM 1: not an index column
    ds.PatientWeight = ["70", "80"]  # DS, VM 1: not an index column
    # private: CS of VM 1 in pydicom's private dictionary, and an element no dictionary knows
    ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True).add_new(0x08, "CS", ["A", "B"])
    ds.private_block(0x0019, "ACME 1.0", create=True).add_new(0x10, "LO", ["X", "Y"])
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelData = np.zeros((2, 2), np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_a_tag_read_on_demand_is_kept_as_an_index_column(tmp_path: Path) -> None:
    _by_hand(tmp_path / "a.dcm")
    assert list(pydicom.dcmread(tmp_path / "a.dcm").InstitutionalDepartmentName) == ["A", "B"]
    for _ in range(2):  # as read, and as kept with the index when reopened
        database = db.database(tmp_path)
        database.mute()
        (instance,) = database.instances()
        assert "InstitutionalDepartmentName" not in _index.TAGS
        assert instance.PatientID == "P\\Q"  # an index column: the text stored
        assert instance.InstitutionalDepartmentName == "A\\B"  # read on demand: the same
        assert instance.PatientWeight is None  # two numbers: none, as SliceThickness's
        assert instance[(0x0029, 0x1008)] == "A\\B"  # private, its VM known: 1
        assert instance[(0x0019, 0x1010)] == ("X", "Y")  # its VM not known: the values
        problems = list(database.problems()["problem"])
        said = "it holds 2 values ({0}), where its VM is 1: read as the text '{0}'"
        assert "(0010,0020) 'Patient ID': " + said.format("P\\Q") in problems
        assert "(0008,1040) 'Institutional Department Name': " + said.format("A\\B") in problems
        weight = '(0010,1030) "Patient\'s Weight": it holds 2 values (70.0\\80.0), where its VM'
        assert f"{weight} is 1: read as no value" in problems
        assert "(0029,1008): " + said.format("A\\B") in problems
        assert len(problems) == len(set(problems)) == 4  # each said once
        assert "PatientWeight" in instance  # held, read as none
        database.close()


def test_a_private_number_of_several_values_keeps_them(tmp_path: Path) -> None:
    """pydicom's private dictionary gives GE's (0043,xx1B) 'Ppscan parameters' (SS) one value;
    GE's files hold five (pydicom's CT_small.dcm). A private dictionary's VM is a guess its
    files contradict: the numbers were read as none and listed as a problem of the file."""
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "ct.dcm").write_bytes(Path(str(get_testdata_file("CT_small.dcm"))).read_bytes())
    database = db.database(folder)
    (instance,) = database.instances()
    assert instance[(0x0043, 0x101B)] == (0, 0, 0, 0, 0)
    assert not [p for p in database.problems()["problem"] if "(0043,101B)" in p]
    database.close()
