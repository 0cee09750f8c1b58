"""Records of files without their UIDs: keys derived from values, kept through edits.

Files without PatientID (StudyInstanceUID, SeriesInstanceUID) are placed
under a key dbdicom derives from their values (PatientName and birth date,
study date and description, series number and description). Such a key is
the record's identity: an edit of those values keeps it, so that a handle
on the record lives through the edit (it raised "no patient with key ..."
at the next use).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

PIXELS = np.arange(16, dtype=np.uint16).reshape(4, 4)


def _anonymous(folder: Path, name: str, study: str, series: str, number: int, n: int = 2) -> None:
    """``n`` MR files of one series without PatientID, Study and Series Instance UID."""
    for i in range(n):
        ds = mr_image(
            PIXELS,
            PatientName=name,
            PatientBirthDate="19700101",
            StudyDescription=study,
            StudyDate="20200101",
            SeriesDescription=series,
            SeriesNumber=number,
            InstanceNumber=i + 1,
        )
        for keyword in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID"):
            delattr(ds, keyword)
        write_dataset(ds, folder / f"{name}-{study}-{series}-{i}.dcm")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "anonymous"
    root.mkdir()
    _anonymous(root, "Alpha", "head", "t1", 1)
    _anonymous(root, "Alpha", "head", "t2", 2)
    _anonymous(root, "Alpha", "knee", "pd", 1)
    _anonymous(root, "Beta", "head", "t1", 1)
    return root


def _patient(database: db.Database, name: str) -> db.Patient:
    (patient,) = database.patients(PatientName=name)
    return patient


def test_a_patient_handle_lives_through_edits_of_its_own_attributes(folder: Path) -> None:
    database = db.database(folder)
    patient = _patient(database, "Alpha")
    key = patient.uid
    assert key.startswith("anonymous-")
    studies, series = patient.studies(), patient.series()
    patient.PatientName = "Gamma^Delta"  # a tag the key is made of
    patient.PatientSex = "M"  # raised "no patient with key ..."
    patient.PatientBirthDate = "19800202"
    assert patient.uid == key
    assert patient.PatientName == "Gamma^Delta"
    assert patient.PatientSex == "M"
    assert patient.studies() == studies  # the records below keep their keys too
    assert patient.series() == series
    assert len(database.patients()) == 2
    database.close()


def test_series_and_study_handles_live_through_edits_of_their_descriptions(
    folder: Path,
) -> None:
    database = db.database(folder)
    study = _patient(database, "Alpha").studies(StudyDescription="head")[0]
    series = study.series(SeriesDescription="t1")[0]
    instances = series.instances()
    series.SeriesDescription = "named"
    series.SeriesNumber = 7
    assert series.instances() == instances  # raised "no series with key ..."
    assert series.SeriesDescription == "named"
    study.StudyDescription = "brain"
    study.StudyDate = "20210303"
    assert len(study.series()) == 2  # raised "no study with key ..."
    assert series.parent == study
    database.close()


def test_keys_kept_by_an_edit_are_those_of_a_reopen(folder: Path) -> None:
    """The index saved with the files keeps the keys: a reopen finds the same records."""
    database = db.database(folder)
    patient = _patient(database, "Alpha")
    series = patient.series(SeriesDescription="t2")[0]
    patient.PatientName = "Renamed"
    series.SeriesDescription = "renamed"
    keys = (patient.uid, series.uid)
    database.save()
    database.close()
    again = db.database(folder)
    assert (_patient(again, "Renamed").uid, again.series(SeriesDescription="renamed")[0].uid) == (
        keys
    )
    again.refresh(full=True)
    assert _patient(again, "Renamed").uid == keys[0]
    again.close()


def test_a_restored_edit_keeps_the_key(folder: Path) -> None:
    database = db.database(folder)
    patient = _patient(database, "Alpha")
    key = patient.uid
    patient.PatientName = "Gamma"
    database.restore()
    assert patient.uid == key
    assert patient.PatientName == "Alpha"
    assert _patient(database, "Alpha") == patient
    database.close()


def test_a_series_moved_between_derived_studies_joins_its_new_study(folder: Path) -> None:
    database = db.database(folder)
    alpha = _patient(database, "Alpha")
    head = alpha.studies(StudyDescription="head")[0]
    knee = alpha.studies(StudyDescription="knee")[0]
    series = head.series(SeriesDescription="t1")[0]
    moved = series.move_to(knee)
    assert moved.parent == knee
    assert moved in knee.series()
    assert len(knee.series()) == 2 and len(head.series()) == 1
    beta = _patient(database, "Beta")
    other = beta.studies()[0]
    head.series()[0].move_to(other)  # into another patient's study
    assert len(other.series()) == 2
    assert len(alpha.series()) == 2
    database.restore()  # back where they were
    assert sorted(len(st.series()) for st in alpha.studies()) == [1, 2]
    assert head.series(SeriesDescription="t1") and len(beta.series()) == 1
    database.close()


def test_a_copy_into_a_renamed_patient_lands_in_it(folder: Path) -> None:
    database = db.database(folder)
    alpha = _patient(database, "Alpha")
    alpha.PatientName = "Renamed"
    study = alpha.studies(StudyDescription="knee")[0]
    study.StudyDescription = "ankle"
    _patient(database, "Beta").series()[0].copy_to(study)
    assert len(study.series()) == 2
    assert len(database.patients()) == 2
    database.close()


def test_a_scan_from_scratch_derives_the_keys_from_the_values(folder: Path) -> None:
    """Documented: a handle does not live through a scan; the key is made anew."""
    database = db.database(folder)
    patient = _patient(database, "Alpha")
    patient.PatientName = "Renamed"
    database.save()
    database.scan()
    renamed = _patient(database, "Renamed")
    assert renamed.uid.startswith("anonymous-") and renamed.uid != patient.uid
    database.close()


def test_print_names_a_derived_patient_key_as_a_key_not_a_patient_id(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = db.database(folder)
    patient = _patient(database, "Alpha")
    database.print()
    text = capsys.readouterr().out
    assert f"[key {patient.uid} (no PatientID)]" in text
    assert f"PatientID {patient.uid}" not in text
    assert patient.PatientID is None
    database.close()


def test_print_names_a_patient_id_the_files_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = mr_image(PIXELS, PatientID="P-1", PatientName="Named")
    write_dataset(ds, tmp_path / "named.dcm")
    assert pydicom.dcmread(tmp_path / "named.dcm").PatientID == "P-1"
    database = db.database(tmp_path)
    database.print()
    assert "[PatientID P-1]" in capsys.readouterr().out
    database.close()


def test_a_file_arriving_with_a_renamed_patients_old_values_is_another_patient(
    folder: Path,
) -> None:
    """A review: Alpha renamed Gamma kept its key, made of the values Alpha; a file of Alpha
    that another program added then took that key, and the renamed record answered for it."""
    database = db.database(folder)
    renamed = _patient(database, "Alpha")
    renamed.PatientName = "Gamma"
    _anonymous(folder, "Alpha", "head", "t1", 1, n=1)  # written by another program
    (folder / "Alpha-head-t1-0.dcm").rename(folder / "arrived.dcm")
    database.refresh()
    assert not any(path.endswith("arrived.dcm") for path in renamed.files())
    (arrived,) = database.patients(PatientName="Alpha")
    assert arrived.uid != renamed.uid and [p.split("/")[-1] for p in arrived.files()] == [
        "arrived.dcm"
    ]
    database.restore()
    database.close()
