"""A BIDS export into a folder that holds one already never mixes two patients in a subject.

``participants.tsv`` and ``sub-<label>_sessions.tsv`` record which patient
and which study each label is (see ``dbdicom/_export/_bids_labels.py``): a
new export keeps those labels, gives the others free ones, and refuses a
label it cannot tell is the patient's. Files of an earlier export that this
one does not write again are reported (``out.stale``).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest
from recorders import Recorder
from vendor_layouts import Plan, classic_series

import dbdicom as db
from dbdicom._export._bids_labels import Table
from dbdicom._templates import new_uid

TINY = Plan(slices=2, shape=(4, 4))


def add_patient(folder: Path, patient: str, *series: str, date: str = "20240115") -> None:
    """A patient with one study of ``series`` (descriptions), in ``folder/<patient>/``."""
    study = new_uid()
    for k, description in enumerate(series):
        classic_series(
            folder / f"{patient}-{date}" / str(k),
            TINY,
            PatientID=patient,
            StudyInstanceUID=study,
            StudyDate=date,
            StudyDescription=f"study {date}",
            SeriesDescription=description,
            SeriesNumber=k + 1,
        )


def export(folder: Path, out: Path, **options: object) -> db.ExportedPath:
    """``folder`` opened, exported as BIDS into ``out``, closed."""
    database = db.database(folder)
    try:
        return database.export_as_nifti(out, **{"bids": True, **options})
    finally:
        database.close()


def images(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.nii.gz"))


def test_a_patient_added_gets_a_free_label_not_another_s(tmp_path: Path) -> None:
    """A trial: a patient who sorts first became sub-01, beside the old sub-01's files."""
    dicom, out = tmp_path / "dicom", tmp_path / "bids"
    add_patient(dicom, "P2", "T2w")
    add_patient(dicom, "P3", "PD")
    export(dicom, out)
    first = images(out)
    assert first == [
        "sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz",
        "sub-02/ses-1/anat/sub-02_ses-1_PDw.nii.gz",
    ]
    table = (out / "participants.tsv").read_text()
    again = export(dicom, out)  # the same database again: as it was
    assert images(out) == first and (out / "participants.tsv").read_text() == table
    assert again.stale == ()
    lines = table.splitlines()  # the user adds a column: kept
    aged = [f"{lines[0]}\tage", f"{lines[1]}\t40", f"{lines[2]}\t50"]
    (out / "participants.tsv").write_text("\n".join(aged) + "\n")
    add_patient(dicom, "P1", "T1w")  # sorts first: sub-01 in an empty folder
    export(dicom, out)
    assert images(out) == [*first, "sub-03/ses-1/anat/sub-03_ses-1_T1w.nii.gz"]
    rows = [line.split("\t") for line in (out / "participants.tsv").read_text().splitlines()]
    assert [r[0] for r in rows] == ["participant_id", "sub-01", "sub-02", "sub-03"]
    assert all(r[1].startswith("key-") for r in rows[1:])  # not the PatientID
    assert [r[2] for r in rows] == ["age", "40", "50", "n/a"]
    assert "P1" not in (out / "participants.tsv").read_text()
    assert json.loads((out / "participants.json").read_text())["source_id"]["Description"]


def test_a_study_added_gets_a_free_session(tmp_path: Path) -> None:
    dicom, out = tmp_path / "dicom", tmp_path / "bids"
    add_patient(dicom, "P1", "T2w", date="20240115")
    export(dicom, out)
    add_patient(dicom, "P1", "T1w", date="20230101")  # earlier: ses-1 in an empty folder
    export(dicom, out)
    assert images(out) == [
        "sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz",
        "sub-01/ses-2/anat/sub-01_ses-2_T1w.nii.gz",
    ]
    sessions = (out / "sub-01" / "sub-01_sessions.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in sessions] == ["session_id", "ses-1", "ses-2"]


def test_a_subject_no_row_names_is_refused(tmp_path: Path) -> None:
    """An export made before dbdicom recorded its subjects: whose sub-01 is, nobody knows."""
    dicom, out = tmp_path / "dicom", tmp_path / "bids"
    add_patient(dicom, "P1", "T2w")
    export(dicom, out)
    (out / "participants.tsv").unlink()
    before = sorted(out.rglob("*"))
    with pytest.raises(db.LabelConflictError, match=r"sub-01 is in no row .*empty folder"):
        export(dicom, out)
    assert sorted(out.rglob("*")) == before  # nothing written
    (out / "participants.tsv").write_text("participant_id\tage\nsub-01\t40\n")  # the user's
    with pytest.raises(db.LabelConflictError, match=r"sub-01 has no source_id in participants"):
        export(dicom, out)


def test_runs_an_export_no_longer_writes_are_reported(tmp_path: Path) -> None:
    """A trial: a second T2w made run-1 and run-2, and the old T2w stayed, without a word."""
    dicom, out = tmp_path / "dicom", tmp_path / "bids"
    add_patient(dicom, "P1", "T2w", "T2w b")
    export(dicom, out, bids={"t2w b": None})  # the second one left out
    status = Recorder()
    database = db.database(dicom, status=status)
    done = database.export_as_nifti(out, bids=True)
    database.close()
    assert done.stale == (
        "sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz",
        "sub-01/ses-1/anat/sub-01_ses-1_T2w.json",
    )
    assert any("sub-01_ses-1_T2w.json. Delete those" in m for m in status.messages)
    assert "sub-01/ses-1/anat/sub-01_ses-1_run-2_T2w.nii.gz" in images(out)
    (out / "sub-01/ses-1/anat/sub-01_ses-1_events.tsv").write_text("onset\n")  # the user's
    assert export(dicom, out).stale == done.stale  # still there: said again, nothing else


def test_two_patient_ids_that_make_one_label_are_refused(tmp_path: Path) -> None:
    """A trial: PatientIDs AB-1 and AB_1 were run-1 and run-2 of subject sub-AB1."""
    dicom, out = tmp_path / "dicom", tmp_path / "bids"
    add_patient(dicom, "AB-1", "T2w")
    add_patient(dicom, "AB_1", "T2w")
    with pytest.raises(
        db.LabelConflictError, match=r"'AB-1' and patient 'AB_1' both make .* sub-AB1.*without"
    ):
        export(dicom, out, identifiers=True)
    assert not out.exists() or list(out.iterdir()) == []
    assert len(images(export(dicom, out))) == 2  # without identifiers: sub-01 and sub-02


def test_a_label_of_another_patient_in_the_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "bids"
    for name, patient in [("a", "AB-1"), ("b", "AB_1"), ("c", "AB-1")]:
        add_patient(tmp_path / name, patient, "T2w")
    export(tmp_path / "a", out, identifiers=True)
    with pytest.raises(db.LabelConflictError, match=r"sub-AB1 is another's .*source_id 'AB-1'"):
        export(tmp_path / "b", out, identifiers=True)
    # the same PatientID from another database is that subject: its new study a session
    export(tmp_path / "c", out, identifiers=True)
    assert images(out) == [
        "sub-AB1/ses-1/anat/sub-AB1_ses-1_T2w.nii.gz",
        "sub-AB1/ses-2/anat/sub-AB1_ses-2_T2w.nii.gz",
    ]
    assert "sub-AB1\tAB-1" in (out / "participants.tsv").read_text()


def test_the_user_s_rows_are_kept_as_they_were(tmp_path: Path) -> None:
    """A review: rows were sorted again and the user's empty cells became n/a."""
    path = tmp_path / "participants.tsv"
    path.write_text("participant_id\tsource_id\tage\nsub-b\tkey-2\t\nsub-a\tkey-1\t30\n")
    table = Table.read(path, "participant_id")
    table.add("sub-01", "key-3")
    table.write()
    assert path.read_text().splitlines() == [
        "participant_id\tsource_id\tage",
        "sub-b\tkey-2\t",
        "sub-a\tkey-1\t30",
        "sub-01\tkey-3\tn/a",
    ]


def test_one_patient_in_two_copies_is_one_subject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: each copy of a folder had its secret, so its patients became new subjects."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-a"))  # the user's secret
    dicom, copy, out = tmp_path / "dicom", tmp_path / "copy", tmp_path / "bids"
    add_patient(dicom, "P1", "T2w")
    shutil.copytree(dicom, copy)
    export(dicom, out)
    table = (out / "participants.tsv").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("error", db.DicomWarning)
        export(copy, out)
    assert (out / "participants.tsv").read_text() == table
    assert images(out) == ["sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz"]
    # another user (or the secret deleted): P1 is not known, and that is said
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-b"))
    with pytest.warns(db.DicomWarning, match=r"sub-01 are by keys .* adds sub-02"):
        export(copy, out)
