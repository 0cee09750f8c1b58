"""Files copied or moved into a new study or patient: its values, one a visit, one a person.

A new study (or patient) without files says nothing of the values it was not
given: the files copied or moved into it lost their StudyDate, StudyTime,
StudyID, AccessionNumber and ReferringPhysicianName (PatientName,
PatientBirthDate, PatientSex below a new patient), Type 2 elements that
dciodvfy requires. The first files written into it now give it those values
(the same to all of them), later ones take its values, given ones win, and a
Type 2 element that a new parent has no value for is emptied, never removed.
An array written into a new study (set_xarray, set_array) takes them from the
first source file of its frames, as copy_to does.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from validators import dciodvfy_errors

import dbdicom as db

FILES = Path(pydicom.__file__).parent / "data" / "test_files"
STUDY = ("StudyDate", "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName")
PERSON = ("PatientName", "PatientBirthDate", "PatientSex")


def _database(path: Path, *names: str) -> db.Database:
    for name in names:
        (path / name[:2]).mkdir()
        shutil.copy(FILES / name, path / name[:2] / name)
        (path / name[:2] / name).chmod(0o644)
    return db.database(path)


def _values(path: str, keywords: tuple[str, ...]) -> dict[str, str | None]:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return {k: (str(ds[k].value) if k in ds else None) for k in keywords}


def _new_errors(written: str, source: str) -> set[str]:
    """dciodvfy's errors of ``written`` that ``source`` does not have (not the UID root's)."""
    errors = {e for e in dciodvfy_errors(written) if "Illegal root for UID" not in e}
    return errors - set(dciodvfy_errors(source))


def _copy(series: db.Series, study: db.Study) -> db.Series:
    return series.copy_to(study)


def _move(series: db.Series, study: db.Study) -> db.Series:
    return series.move_to(study)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
@pytest.mark.parametrize("put", [_copy, _move], ids=["copy_to", "move_to"])
def test_files_into_a_new_study_keep_the_study_values_of_their_source(
    tmp_path: Path, name: str, put: Callable[[db.Series, db.Study], db.Series]
) -> None:
    database = _database(tmp_path, name)
    (series,) = database.series()
    source = str(FILES / name)
    before = _values(source, STUDY)
    assert before["StudyDate"] and before["StudyID"]  # pydicom's file has them
    target = series.parent.parent.new_study()
    written = put(series, target)
    (path,) = written.files()
    assert _values(path, STUDY) == before
    assert written.parent.StudyDate == before["StudyDate"]
    assert not _new_errors(path, source)
    database.restore()


def test_files_into_a_study_made_by_a_first_copy_take_its_values(tmp_path: Path) -> None:
    """One visit, one StudyDate: the second series copied in is the study's, not its own."""
    database = _database(tmp_path, "CT_small.dcm", "MR_small.dcm")
    ct = database.series(Modality="CT")[0]
    mr = database.series(Modality="MR")[0]
    study = ct.parent.parent.new_study(StudyDescription="both")
    ct.copy_to(study)
    mr_copy = mr.copy_to(study)
    ct_values = _values(str(FILES / "CT_small.dcm"), STUDY)
    (path,) = mr_copy.files()
    assert _values(path, STUDY) == ct_values
    assert study.StudyDate == ct_values["StudyDate"]  # one value: the files agree
    assert study.StudyDescription == "both"
    assert not database.problems()["problem"].str.contains("StudyDate").any()
    database.restore()


def test_values_given_to_a_new_study_win_over_the_files(tmp_path: Path) -> None:
    database = _database(tmp_path, "MR_small.dcm")
    (series,) = database.series()
    study = series.parent.parent.new_study(StudyDescription="Given", StudyDate="20200101")
    (path,) = series.copy_to(study).files()
    values = _values(path, (*STUDY, "StudyDescription"))
    assert values["StudyDate"] == "20200101" and values["StudyDescription"] == "Given"
    assert values["StudyTime"] == "185059" and values["StudyID"] == "4MR1"  # not given
    assert not _new_errors(path, str(FILES / "MR_small.dcm"))
    database.restore()


def test_a_study_into_a_new_patient_keeps_who_it_is_of_unless_told(tmp_path: Path) -> None:
    """The new patient's PatientID, and the name given; the source's where not given."""
    database = _database(tmp_path, "CT_small.dcm")
    (study,) = database.studies()
    source = str(FILES / "CT_small.dcm")
    person = _values(source, PERSON)
    named = database.new_patient(PatientID="OTHER", PatientName="Other^Person")
    (path,) = study.copy_to(named).files()
    assert _values(path, ("PatientID", *PERSON)) == {
        **person,
        "PatientID": "OTHER",
        "PatientName": "Other^Person",
    }
    assert not _new_errors(path, source)
    unnamed = database.new_patient()
    moved = study.move_to(unnamed)
    (path,) = moved.files()
    assert _values(path, ("PatientID", *PERSON)) == {**person, "PatientID": unnamed.PatientID}
    assert not _new_errors(path, source)
    database.restore()


def test_a_study_of_two_people_into_a_new_patient_is_refused(tmp_path: Path) -> None:
    """Its first file's name would be written into the other person's file."""
    database = _database(tmp_path, "CT_small.dcm")
    database.close()
    ds = pydicom.dcmread(FILES / "CT_small.dcm")
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.PatientName = "Someone^Else"  # one PatientID, two people: as a merge leaves it
    ds.save_as(tmp_path / "CT" / "other.dcm")
    database = db.database(tmp_path)
    (study,) = database.studies()
    with pytest.raises(db.DicomError, match="disagree on PatientName"):
        study.copy_to(database.new_patient())
    named = study.copy_to(database.new_patient(PatientName="One^Name", PatientBirthDate=""))
    assert named.PatientName == "One^Name"  # told who: not refused
    database.restore()


def test_a_type_2_value_a_study_has_not_is_emptied_not_removed(tmp_path: Path) -> None:
    """A study whose files have no StudyID: a file copied in keeps the element, empty."""
    database = _database(tmp_path, "MR_small.dcm")
    ds = pydicom.dcmread(FILES / "CT_small.dcm")
    del ds.StudyID, ds.AccessionNumber
    (tmp_path / "CT").mkdir()
    ds.save_as(tmp_path / "CT" / "CT_small.dcm")
    database.close()
    database = db.database(tmp_path)
    (ct,) = database.series(Modality="CT")
    (mr,) = database.series(Modality="MR")
    (path,) = mr.copy_to(ct.parent).files()
    values = _values(path, STUDY)
    assert values["StudyID"] == "" and values["AccessionNumber"] == ""
    assert values["StudyDate"] == ds.StudyDate  # the study's
    assert not _new_errors(path, str(FILES / "MR_small.dcm"))
    database.restore()


def _set_xarray(series: db.Series, study: db.Study) -> db.Series:
    out = study.new_series(SeriesDescription="derived")
    return out.set_xarray(series.to_xarray() * 2)


def _set_array(series: db.Series, study: db.Study) -> db.Series:
    out = study.new_series(SeriesDescription="derived")
    array, header = series.array("SliceLocation")
    return out.set_array(array * 2, header)


def _parametric_map(series: db.Series, study: db.Study) -> db.Series:
    out = study.new_series(SeriesDescription="derived")
    return out.set_xarray(series.to_xarray() * 1.5, kind="parametric map")


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
@pytest.mark.parametrize(
    "write",
    [_set_xarray, _set_array, _parametric_map],
    ids=["set_xarray", "set_array", "parametric-map"],
)
def test_an_array_written_into_a_new_study_keeps_the_study_values_of_its_source(
    tmp_path: Path, name: str, write: Callable[[db.Series, db.Study], db.Series]
) -> None:
    """As copy_to does: the frames' source is of one visit, whose values they keep.

    They were emptied (Type 2: present, no value), as of a study no one knew.
    """
    database = _database(tmp_path, name)
    (series,) = database.series()
    source = str(FILES / name)
    copied = series.copy_to(series.parent.parent.new_study())
    written = write(series, series.parent.parent.new_study())
    (path,) = written.files()
    assert _values(path, STUDY) == _values(copied.files()[0], STUDY) == _values(source, STUDY)
    assert written.parent.StudyDate == _values(source, ("StudyDate",))["StudyDate"]
    assert not _new_errors(path, source)
    database.restore()


def test_an_array_written_into_a_new_study_and_patient_keeps_what_it_was_not_given(
    tmp_path: Path,
) -> None:
    """Values given to the new study and patient win; the others are the source's."""
    database = _database(tmp_path, "CT_small.dcm")
    (series,) = database.series()
    source = str(FILES / "CT_small.dcm")
    patient = database.new_patient(PatientName="Other^Person")
    study = patient.new_study(StudyDate="20200101", StudyDescription="Given")
    (path,) = _set_xarray(series, study).files()
    values = _values(path, (*STUDY, *PERSON, "PatientID", "StudyDescription"))
    before = _values(source, (*STUDY, *PERSON))
    assert values["StudyDate"] == "20200101" and values["StudyDescription"] == "Given"
    assert values["PatientName"] == "Other^Person"
    assert values["PatientID"] == patient.PatientID != _values(source, ("PatientID",))["PatientID"]
    for keyword in ("StudyTime", "StudyID", "PatientBirthDate", "PatientSex"):
        assert values[keyword] == before[keyword], keyword
    assert not _new_errors(path, source)
    database.restore()
