"""Editing a database on disk: tags, custom attributes, structure, save/restore.

Every test works on real files written into ``tmp_path`` and checks the
files themselves (with pydicom, and by their bytes), not only what dbdicom
reports.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement
from validators import dciodvfy_errors

import dbdicom as db
from dbdicom import DicomError, InvalidValueError, ReadOnlyError, TerminalDialog
from dbdicom._journal import Journal
from dbdicom._templates import mr_image, new_uid, write_dataset


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file of the database (hidden files left out)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def read(path: str | Path) -> pydicom.Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


# ------------------------------------------------------------------ setting tags
def test_set_a_tag_by_keyword_item_and_tag_number(demo: db.Database) -> None:
    instance = demo.series(SeriesDescription="VFA")[0].instances()[0]
    instance.EchoTime = 23.0
    assert instance.EchoTime == 23.0 and read(instance.path).EchoTime == 23.0
    instance["EchoTime"] = 24.5
    assert read(instance.path).EchoTime == 24.5
    instance[(0x0018, 0x0081)] = 25
    assert instance.EchoTime == 25.0 and read(instance.path).EchoTime == 25
    instance[["Rows", "Columns"]] = [128, 192]
    assert instance[["Rows", "Columns"]] == [128, 192]
    ds = read(instance.path)
    assert (ds.Rows, ds.Columns) == (128, 192)


def test_set_at_series_study_patient_and_database_level(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    vfa.Rows = 128
    assert vfa.Rows == [128]
    assert {read(p).Rows for p in vfa.files()} == {128}
    others = [p for p in demo.files() if p not in vfa.files()]
    assert {read(p).Rows for p in others} != {128}
    study = vfa.parent
    study.InstitutionName = "Sheffield"
    assert {read(p).InstitutionName for p in study.files()} == {"Sheffield"}
    patient = study.parent
    patient.PatientBirthDate = datetime.date(1980, 2, 29)
    assert {read(p).PatientBirthDate for p in patient.files()} == {"19800229"}
    demo.ReferringPhysicianName = "Who^Doctor"
    assert {str(read(p).ReferringPhysicianName) for p in demo.files()} == {"Who^Doctor"}


@pytest.mark.parametrize("keyword", ["RescaleSlope", "DoseGridScaling"])
def test_a_scaling_factor_of_zero_is_refused_at_every_level(
    demo: db.Database, keyword: str
) -> None:
    """A trial: RescaleSlope = 0 was written as "0.0", then read as no value, and the
    series could no longer be read. Refused when set, through every record (set_xarray
    writes the factor of its own encoding, never the attrs')."""
    root = Path(demo.path)
    before = snapshot(root)
    vfa = demo.series(SeriesDescription="VFA")[0]
    targets = [vfa.instances()[0], vfa, vfa.parent, vfa.parent.parent, demo]
    for record in targets:
        for value in (0, 0.0, "0", "-0.0"):
            with pytest.raises(InvalidValueError, match=f"{keyword}.* of 0 maps every"):
                setattr(record, keyword, value)
            with pytest.raises(InvalidValueError, match="set_xarray"):
                record[[keyword, "ImageComments"]] = [value, "never written"]
    with pytest.raises(InvalidValueError, match=keyword):
        vfa.new_sibling(SeriesDescription="zero", **{keyword: 0})
    assert snapshot(root) == before and not demo.unsaved
    vfa.RescaleSlope = 2.5  # any other factor is one
    assert {read(p).RescaleSlope for p in vfa.files()} == {2.5}


def test_values_survive_reopening(demo_folder: Path) -> None:
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    series.AcquisitionTime = datetime.time(12, 30, 15)
    series.SeriesDescription = "T2 weighted"
    database.save()
    database.close()
    again = db.database(demo_folder)
    series = again.series(SeriesDescription="T2 weighted")[0]
    assert series.AcquisitionTime == ["123015"]
    assert not again.unsaved


def test_higher_level_attribute_set_for_the_whole_record_of_its_level(
    demo: db.Database,
) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    patient = vfa.patients()
    vfa.PatientName = "Renamed^Patient"
    # every file of the patient, also the CT study, keeps one name
    assert {str(read(p).PatientName) for p in patient.files()} == {"Renamed^Patient"}
    assert len(demo.patients()) == 2
    assert patient.PatientName == "Renamed^Patient"


def test_keys_are_set_only_at_their_own_level(demo: db.Database) -> None:
    series = demo.series(SeriesDescription="VFA")[0]
    before = snapshot(Path(demo.path))
    with pytest.raises(InvalidValueError, match="key of a patient.*move_to"):
        series.PatientID = "OTHER"
    with pytest.raises(InvalidValueError, match="key of a study"):
        series.StudyInstanceUID = new_uid()
    other = demo.patients()[1]
    with pytest.raises(InvalidValueError, match="already the key"):
        demo.patients()[0].PatientID = other.uid
    assert snapshot(Path(demo.path)) == before
    patient = demo.patients()[0]
    patient.PatientID = "NEW-ID"
    assert patient.uid == "NEW-ID" and patient.PatientID == "NEW-ID"
    assert {read(p).PatientID for p in patient.files()} == {"NEW-ID"}


def test_invalid_value_is_refused_before_anything_is_written(demo: db.Database) -> None:
    series = demo.series(SeriesDescription="VFA")[0]
    before = snapshot(Path(demo.path))
    with pytest.raises(InvalidValueError) as err:
        series.Rows = -5
    message = str(err.value)
    assert "Rows" in message and "(0028,0010)" in message and "US" in message
    assert "-5" in message
    with pytest.raises(InvalidValueError, match="StudyDate"):
        series.StudyDate = "20231345"
    with pytest.raises(InvalidValueError):  # the second value is bad: nothing is set
        series[["SeriesDescription", "EchoTime"]] = ["fine", "not a number"]
    assert snapshot(Path(demo.path)) == before
    assert not demo.unsaved


def test_unknown_names_are_refused_with_a_suggestion(demo: db.Database) -> None:
    series = demo.series()[0]
    with pytest.raises(db.UnknownAttributeError, match="EchoTime"):
        series.EchoTim = 3
    with pytest.raises(db.UnknownTagError, match="EchoTime"):
        series["EchoTimes"] = 3
    with pytest.raises(ValueError, match="2 tags need a list of 2"):
        series[["Rows", "Columns"]] = 3
    assert not demo.unsaved


# ------------------------------------------------------------------ custom attributes
def test_colormap_is_stored_in_the_files_and_survives_reopening(demo_folder: Path) -> None:
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    image = series.instances()[0]
    image.colormap = "YlGnBu"
    assert image.colormap == "YlGnBu"
    assert series.colormap == ["YlGnBu"]
    ds = pydicom.dcmread(image.path)
    assert ds.RedPaletteColorLookupTableDescriptor == [256, 0, 16]
    assert ds.PhotometricInterpretation == "MONOCHROME2"
    database.close()
    again = db.database(demo_folder)
    assert again.series(SeriesDescription="T2w")[0].instances()[0].colormap == "YlGnBu"
    again.restore()


def test_image_type(demo: db.Database) -> None:
    series = demo.series(SeriesDescription="VFA")[0]
    series.image_type = "phase"
    assert series.image_type == ["PHASE"]
    assert {read(p).ImageType[2] for p in series.files()} == {"PHASE"}
    with pytest.raises(InvalidValueError, match="MAGNITUDE"):
        series.image_type = "complex"


# ------------------------------------------------------------------ structure
def test_remove_and_restore(demo: db.Database) -> None:
    root = Path(demo.path)
    before = snapshot(root)
    study = demo.studies(StudyDescription="CT phantom")[0]
    files = study.files()
    study.remove()
    assert not any(os.path.exists(p) for p in files)
    assert [s.StudyDescription for s in demo.studies()] == [
        "MR phantom T1 mapping",
        "MR phantom",
    ]
    with pytest.raises(DicomError, match="removed"):
        study.remove()
    with pytest.raises(DicomError, match="removed"):
        study.StudyDescription = "x"
    instance = demo.series(SeriesDescription="T2w")[0].instances()[0]
    instance.remove()
    assert demo.restore() == len(files) + 1
    assert snapshot(root) == before
    assert len(demo.studies()) == 3


def test_move_study_to_another_patient_rewrites_patient_attributes(demo: db.Database) -> None:
    study = demo.studies(StudyDescription="CT phantom")[0]
    beta = demo.patients(PatientName="Phantom^Beta")[0]
    beta_ds = read(beta.files()[0])
    moved = study.move_to(beta)
    assert moved == study
    assert study.parent == beta
    for path in study.files():
        ds = read(path)
        assert ds.PatientID == beta_ds.PatientID
        assert ds.PatientName == beta_ds.PatientName
        assert ds.get("PatientBirthDate") == beta_ds.get("PatientBirthDate")
    assert sorted(s.StudyDescription for s in beta.studies()) == ["CT phantom", "MR phantom"]


def test_moving_to_the_wrong_level_or_into_itself_is_refused(demo: db.Database) -> None:
    series = demo.series(SeriesDescription="VFA")[0]
    before = snapshot(Path(demo.path))
    with pytest.raises(DicomError, match="a series goes under a study"):
        series.move_to(series.patients())
    study = series.parent
    with pytest.raises(DicomError, match="into itself"):
        study.move_to(study)
    with pytest.raises(DicomError, match="into a record below itself"):
        study.patients().move_to(series)
    with pytest.raises(DicomError, match="a patient goes under a database"):
        demo.patients()[0].move_to(demo.patients()[1])
    assert snapshot(Path(demo.path)) == before


def test_copy_gives_new_uids_under_the_same_parent(demo: db.Database) -> None:
    series = demo.series(SeriesDescription="T2w")[0]
    copy = series.copy()
    assert copy != series and copy.parent == series.parent
    old = {read(p).SOPInstanceUID for p in series.files()}
    new = [read(p) for p in copy.files()]
    assert len(new) == len(old) and not old & {d.SOPInstanceUID for d in new}
    assert {d.SeriesInstanceUID for d in new} == {copy.uid}
    assert {d.SeriesNumber for d in new} == {4}
    for d, path in zip(new, copy.files(), strict=True):
        meta = pydicom.dcmread(path).file_meta
        assert meta.MediaStorageSOPInstanceUID == d.SOPInstanceUID
    study_copy = series.parent.copy()
    assert study_copy.StudyDescription == series.parent.StudyDescription
    assert len(study_copy.series()) == len(series.parent.series())


def test_copy_to_another_patient_and_another_database(demo: db.Database, tmp_path: Path) -> None:
    series = demo.series(SeriesDescription="T2w")[0]
    beta_study = demo.studies(StudyDescription="MR phantom")[0]
    copy = series.copy_to(beta_study)
    assert copy.parent == beta_study
    assert {str(read(p).PatientName) for p in copy.files()} == {"Phantom^Beta"}
    (tmp_path / "other").mkdir()
    other = db.database(tmp_path / "other")  # an empty folder
    patient = other.new_patient(PatientName="Elsewhere")
    study = patient.new_study(StudyDescription="Copied in")
    there = series.copy_to(study)
    assert there.database is other
    assert len(there.instances()) == len(series.instances())
    assert {str(read(p).PatientName) for p in there.files()} == {"Elsewhere"}
    assert series.files()  # the source is untouched
    other.restore()
    assert other.patients() == []


#: what the demo's MR files have at the series level (and the study's, which stays)
_OF_THE_SERIES = ("Modality", "FrameOfReferenceUID", "Manufacturer", "InstitutionName",
                  "PatientPosition", "SeriesDate")  # fmt: skip


def test_instances_copied_or_moved_into_a_new_series_keep_its_values(demo: db.Database) -> None:
    """``instance.copy_to(series.new_sibling())`` removed the copy's Modality and
    FrameOfReferenceUID (Type 1: dciodvfy errors), Manufacturer, PatientPosition...:
    a new series says nothing of what it was not given. Once it has a file, its values
    are that file's."""
    t2w, vfa = demo.series(SeriesDescription="T2w")[0], demo.series(SeriesDescription="VFA")[0]
    vfa.Manufacturer = "Acme"
    source = read(vfa.files()[0])
    copy = vfa.instances()[0].copy_to(vfa.new_sibling(SeriesDescription="one"))
    copied = read(copy.files()[0])
    assert [copied.get(k) for k in _OF_THE_SERIES] == [source.get(k) for k in _OF_THE_SERIES]
    assert (copied.SeriesDescription, copied.StudyInstanceUID) == ("one", vfa.parent.uid)
    assert dciodvfy_errors(copy.files()[0]) == []
    then = t2w.instances()[0].copy_to(copy.parent)  # a T2w file in the series of a VFA one
    assert read(then.files()[0]).Manufacturer == "Acme"
    moved = t2w.instances()[1].move_to(vfa.new_sibling(SeriesDescription="three"))
    assert read(moved.files()[0]).Manufacturer == read(t2w.files()[0]).Manufacturer != "Acme"
    assert dciodvfy_errors(moved.files()[0]) == []


def test_a_subseries_keeps_each_files_own_value_its_series_differ_in(demo_folder: Path) -> None:
    """Files of a series that differ in a series attribute (here PatientPosition): a
    subseries' copies lost it (its new series has none); each keeps its own, none is
    given another file's."""
    paths = [p for p in sorted(demo_folder.rglob("*.dcm")) if read(p).SeriesDescription == "VFA"]
    first = pydicom.dcmread(paths[0])
    first.PatientPosition = "FFS"
    first.save_as(paths[0])
    series = db.database(demo_folder).series(SeriesDescription="VFA")[0]
    sub = series.subseries(FlipAngle=first.FlipAngle)

    def positions(paths: list[str]) -> list[str]:
        return sorted(
            read(p).PatientPosition for p in paths if read(p).FlipAngle == first.FlipAngle
        )

    assert positions(sub.files()) == positions(series.files()) == ["FFS"] + ["HFS"] * 5
    series.database.restore()


def test_copy_or_move_to_a_path_says_what_to_pass(demo: db.Database, tmp_path: Path) -> None:
    """A folder's path where a record is wanted: an error that writes the call to make."""
    series = demo.series(SeriesDescription="T2w")[0]
    out = tmp_path / "out"
    for verb in ("copy_to", "move_to"):
        with pytest.raises(db.InvalidValueError) as info:
            getattr(series, verb)(str(out))
        # (a folder that does not exist: made by save, which db.database(folder) refuses)
        made = f"db.database().save({str(out)!r})"
        assert f"series.{verb}({made}.new_patient().new_study())" in str(info.value)
    with pytest.raises(db.InvalidValueError) as info:
        demo.patients()[0].copy_to(out)
    assert f"patient.copy_to(db.database().save({str(out)!r}))" in str(info.value)
    assert not demo.unsaved and not out.exists()


def test_new_records_inherit_attributes(demo: db.Database) -> None:
    study = demo.studies(StudyDescription="MR phantom T1 mapping")[0]
    series = study.new_child()
    assert series in study.series() and series.SeriesNumber == 4
    t2 = study.new_series(SeriesDescription="T2w")
    assert t2.SeriesDescription == "T2w" and t2.SeriesNumber == 5
    vfa = demo.series(SeriesDescription="VFA")[0]
    sibling = vfa.new_sibling(SeriesDescription="T1 map")
    assert sibling.parent == study
    pibling = vfa.new_pibling(StudyDescription="Parametric maps", StudyDate="20221212")
    assert pibling.parent == vfa.patients() and pibling.StudyDate == "20221212"
    localizer = (
        demo.new_patient(PatientName="James Bond")
        .new_study(StudyDescription="MRI")
        .new_series(SeriesDescription="Localizer")
    )
    assert localizer.PatientName == "James Bond"
    instance = localizer.new_instance(EchoTime=12)
    ds = read(instance.path)
    assert str(ds.PatientName) == "James Bond"
    assert ds.StudyDescription == "MRI" and ds.SeriesDescription == "Localizer"
    assert ds.EchoTime == 12 and ds.InstanceNumber == 1
    assert localizer.instances() == [instance]
    assert instance.patients().PatientName == "James Bond"
    # an instance in an existing series inherits its headers
    new = vfa.new_instance()
    assert read(new.path).SeriesInstanceUID == vfa.uid
    assert read(new.path).InstanceNumber == 25


def test_new_instance_is_valid_dicom(demo: db.Database) -> None:
    series = demo.new_patient(PatientName="New^Patient").new_series(SeriesDescription="New")
    instance = series.new_instance()
    assert dciodvfy_errors(instance.path) == []


# ------------------------------------------------------------------ import
def test_import_dicom_copies_and_reports_duplicates(demo: db.Database, tmp_path: Path) -> None:
    source = tmp_path / "incoming"
    uids = []
    for i in range(3):
        ds = mr_image(np.full((8, 8), i, np.uint16), PatientName="Imported^One", PatientID="IMP")
        write_dataset(ds, source / f"IM{i}")
        uids.append(ds.SOPInstanceUID)
    (source / "notes.txt").write_text("not dicom")
    shutil.copyfile(demo.files()[0], source / "duplicate.dcm")
    before = snapshot(source)
    with pytest.warns(db.DicomWarning) as said:
        imported = demo.import_dicom(source)
    assert sorted(i.SOPInstanceUID for i in imported) == sorted(uids)
    out = "\n".join(str(w.message) for w in said)
    assert "1 file(s) not imported: their SOPInstanceUID is already" in out
    assert "duplicate.dcm" in out and "notes.txt" in out
    assert snapshot(source) == before  # never moved or changed
    assert demo.patients(PatientID="IMP")[0].PatientName == "Imported^One"
    again = demo.import_dicom([source / "IM0"])
    assert again == []
    demo.restore()
    assert demo.patients(PatientID="IMP") == []


# ------------------------------------------------------------------ save/restore
def test_record_save_makes_only_that_record_permanent(demo: db.Database) -> None:
    root = Path(demo.path)
    t2 = demo.series(SeriesDescription="T2w")[0]
    vfa = demo.series(SeriesDescription="VFA")[0]
    t2.SeriesDescription = "T2 saved"
    vfa.SeriesDescription = "VFA unsaved"
    t2.save()
    saved = snapshot(root)
    assert demo.unsaved
    demo.restore()
    after = snapshot(root)
    assert {p for p in t2.files()} and all(
        after[Path(p).relative_to(root).as_posix()] for p in t2.files()
    )
    assert demo.series(SeriesDescription="T2 saved")
    assert demo.series(SeriesDescription="VFA")
    assert not demo.unsaved
    for path in t2.files():
        rel = Path(path).relative_to(root).as_posix()
        assert after[rel] == saved[rel]


def test_restore_is_byte_for_byte(demo: db.Database) -> None:
    root = Path(demo.path)
    before = snapshot(root)
    stats = {p: os.stat(p).st_mtime_ns for p in demo.files()}
    demo.series(SeriesDescription="VFA")[0].Rows = 32
    demo.studies(StudyDescription="CT phantom")[0].move_to(demo.patients()[1])
    demo.series(SeriesDescription="T2w")[0].copy()
    demo.instances()[3].remove()
    assert snapshot(root) != before
    demo.restore()
    assert snapshot(root) == before
    assert {p: os.stat(p).st_mtime_ns for p in demo.files()} == stats
    assert len(demo.instances()) == 48


def test_series_restore_leaves_other_changes(demo: db.Database) -> None:
    t2 = demo.series(SeriesDescription="T2w")[0]
    vfa = demo.series(SeriesDescription="VFA")[0]
    t2.EchoTime = 1
    vfa.EchoTime = 2
    assert t2.restore() == 6
    assert t2.EchoTime != [1.0] and vfa.EchoTime == [2.0]
    assert demo.unsaved


def test_restoring_a_series_of_a_moved_study_alone_is_refused(demo: db.Database) -> None:
    """A study moved to another patient, then one of its series restored alone,
    would leave the study split over two patients: refused, nothing changed;
    restoring the study (or saving first) is the way out."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    study = vfa.parent
    other = next(p for p in demo.patients() if p.uid != study.parent.uid)
    study.move_to(other)
    vfa.FlipAngle = 3  # a change of the series' own too
    before = snapshot(Path(demo.path))
    with pytest.raises(db.DicomError, match="moved since the save.*Restore the record"):
        vfa.restore()
    assert snapshot(Path(demo.path)) == before and demo.problems().empty
    assert study.restore() == len(study.files())
    assert demo.problems().empty and not demo.unsaved
    # a series moved to another study can go back alone: nothing is split
    t2 = demo.series(SeriesDescription="T2w")[0]
    t2.move_to(demo.studies(StudyDescription="MR phantom T1 mapping")[0])
    assert t2.restore() == 6 and demo.problems().empty


def test_a_restore_cut_short_is_counted_by_the_restore_that_finishes_it(
    demo: db.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: the next restore() finished a restore an I/O error had cut short (every
    file back) but returned 0, as if nothing had been unsaved."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    vfa.copy_to(vfa.parent)
    n = len(demo.changes())
    original, calls = Journal._put_back, []

    def failing(self: Journal, entry: Any, emptied: set[Path]) -> bool:
        calls.append(entry)
        if len(calls) == 5:
            raise OSError(5, "Input/output error")
        return original(self, entry, emptied)

    monkeypatch.setattr(Journal, "_put_back", failing)
    with pytest.raises(OSError, match="Input/output"):
        demo.restore()
    monkeypatch.setattr(Journal, "_put_back", original)
    assert demo.restore() == n - 4  # those the first put back before it stopped are not
    assert not demo.unsaved and len(demo.series(SeriesDescription="VFA")) == 1


def test_an_instance_held_for_one_copy_stays_that_copy(tmp_path: Path) -> None:
    """Trial J: three files held one SOP Instance UID, keyed <uid>, <uid>#2, <uid>#3 in path
    order; after the first was removed the keys were numbered again, so the instance held
    for b/ct.dcm named c/ct.dcm, and editing and removing it changed and removed c/ct.dcm.
    And a removed copy, removed again, removed the last one."""
    for sub in ("a", "b", "c"):
        (tmp_path / sub).mkdir()
        shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / sub / "ct.dcm")
    database = db.database(tmp_path)
    first, second, third = database.instances()
    assert [Path(i.path).parent.name for i in (first, second, third)] == ["a", "b", "c"]
    before = snapshot(tmp_path)
    first.remove()
    assert Path(second.path).parent.name == "b" and Path(third.path).parent.name == "c"
    second.ImageComments = "the copy in b"
    assert read(tmp_path / "b" / "ct.dcm").ImageComments == "the copy in b"
    assert snapshot(tmp_path)["c/ct.dcm"] == before["c/ct.dcm"]
    second.remove()
    assert Path(third.path).parent.name == "c"  # now the only copy: keyed by its UID alone
    assert third.ImageComments == read(tmp_path / "c" / "ct.dcm").ImageComments
    with pytest.raises(DicomError, match="it was removed"):
        first.remove()  # not the copy that is left
    assert (tmp_path / "c" / "ct.dcm").is_file()
    assert database.restore() == 2 and snapshot(tmp_path) == before  # a, b (edited, removed)


def test_a_series_keyed_by_its_description_is_never_another_after_restore(
    tmp_path: Path,
) -> None:
    """Series without a SeriesInstanceUID are keyed from their description (trial J: the
    handle of one whose description was edited says it is not in the database). A fix
    that moved the handle to the new key named the other series after restore(), whose
    remove() would have deleted the other's file: reverted; this keeps it so."""
    for name, description in (("a.dcm", "X"), ("b.dcm", "Y")):
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        del ds.SeriesInstanceUID
        ds.SeriesDescription, ds.SOPInstanceUID = description, new_uid()
        ds.save_as(tmp_path / name)
    database = db.database(tmp_path)
    a = database.series(SeriesDescription="X")[0]
    a.SeriesDescription = "Y"  # now one series with b.dcm
    with pytest.raises(DicomError, match="not in|no series"):
        a.files()
    database.restore()
    assert [Path(p).name for p in a.files()] == ["a.dcm"]


def test_reopening_knows_about_unsaved_changes(demo_folder: Path) -> None:
    database = db.database(demo_folder)
    database.series(SeriesDescription="VFA")[0].FlipAngle = 30
    database._editor.release()  # as if the process had ended
    other = db.database(demo_folder)
    assert other.unsaved
    assert set(other.changes()["change"]) == {"changed"}
    assert other.restore() == 24
    assert not other.unsaved


# ------------------------------------------------------------------ memory mode
def test_memory_mode(demo: db.Database) -> None:
    root = Path(demo.path)
    before = snapshot(root)
    vfa = demo.series(SeriesDescription="VFA")[0]
    vfa.read()
    vfa.Rows = 16
    vfa.SeriesDescription = "in memory"
    assert vfa.Rows == [16] and vfa.SeriesDescription == "in memory"
    assert snapshot(root) == before  # nothing on disk yet
    assert set(demo.changes()["change"]) == {"changed in memory"}
    # a saved index never claims values that only memory holds
    demo.index.save()
    other = db.database(root)
    assert other.series(SeriesDescription="VFA")[0].Rows == [64]
    vfa.clear()
    assert {read(p).Rows for p in vfa.files()} == {16}
    assert set(demo.changes()["change"]) == {"changed"}
    demo.restore()
    assert snapshot(root) == before
    # changes only in memory, undone: counted (a trial saw 0)
    vfa.read()
    vfa.SeriesDescription = "in memory again"
    assert demo.restore() == len(vfa.files()) > 0
    assert snapshot(root) == before and vfa.SeriesDescription == "VFA"


def test_memory_edits_are_written_before_pixels_are_read(demo: db.Database) -> None:
    t2 = demo.series(SeriesDescription="T2w")[0]
    before = t2.to_xarray().values.astype(float)
    t2.read()
    t2.RescaleSlope = 2
    t2.RescaleIntercept = 0
    assert np.array_equal(t2.to_xarray().values, 2 * before)
    assert {read(p).RescaleSlope for p in t2.files()} == {2}  # written, still unsaved
    assert demo.unsaved
    t2.clear()
    assert np.array_equal(t2.to_xarray().values, 2 * before)


def test_memory_edits_never_undo_another_programs_change(demo: db.Database) -> None:
    """A trial: after read(), another program removed one file (save() raised a bare
    FileNotFoundError and the edits of the others were lost at exit) or rewrote one
    (clear() put the old dataset back over it, without a word)."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    files = vfa.files()
    vfa.read()
    vfa.ImageComments = "reviewed"
    gone, changed = files[0], files[1]
    uids = [str(read(p).SOPInstanceUID) for p in (gone, changed)]
    ds = read(changed)
    ds.PatientWeight = 77  # another program's edit
    ds.save_as(changed)
    os.remove(gone)
    with pytest.raises(db.StaleFileError, match="removed by another program") as caught:
        demo.save()
    assert "(and 1 more)" in str(caught.value) and ".restore()" in str(caught.value)
    assert not demo.unsaved or set(demo.changes()["change"]) == {"changed in memory"}
    assert read(changed).PatientWeight == 77 and "ImageComments" not in read(files[2])
    # the way out the error gives: drop the edits of those instances, then save the rest
    for uid in uids:
        demo.instances(SOPInstanceUID=uid)[0].restore()
    demo.save()
    assert read(changed).PatientWeight == 77 and "ImageComments" not in read(changed)
    assert all(read(p).ImageComments == "reviewed" for p in files[2:])


def test_memory_edits_at_exit_are_written_where_no_one_else_wrote(demo_folder: Path) -> None:
    """At exit nothing can be asked: the other files' edits are written, a warning names
    the one another program removed."""
    code = textwrap.dedent(
        f"""
        import os
        import dbdicom as db
        database = db.database({str(demo_folder)!r})
        vfa = database.series(SeriesDescription="VFA")[0]
        vfa.read()
        vfa.ImageComments = "reviewed"
        os.remove(vfa.files()[0])
        print(*vfa.files()[1:])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "removed by another program" in done.stderr and "not written at exit" in done.stderr
    rest = done.stdout.split()
    assert rest and all(read(p).ImageComments == "reviewed" for p in rest)
    assert db.database(demo_folder).unsaved  # written unsaved, through the journal


# ------------------------------------------------------------------ close
def test_close_asks_and_cancel_keeps_changes(demo_folder: Path) -> None:
    out = io.StringIO()
    database = db.database(demo_folder, dialog=TerminalDialog(stdout=out, interactive=False))
    database.series()[0].SeriesDescription = "changed"
    assert database.close() is False  # no terminal: cancel, nothing discarded
    assert "unsaved change" in out.getvalue()
    assert database.unsaved
    answer_no = TerminalDialog(stdin=io.StringIO("n\n"), stdout=io.StringIO(), interactive=True)
    database._dialog = answer_no
    assert database.close() is True
    again = db.database(demo_folder)
    assert not again.unsaved and again.series(SeriesDescription="changed") == []


def test_close_can_save(demo_folder: Path) -> None:
    yes = TerminalDialog(stdin=io.StringIO("y\n"), stdout=io.StringIO(), interactive=True)
    database = db.database(demo_folder, dialog=yes)
    database.series()[0].SeriesDescription = "kept"
    assert database.close()
    with pytest.raises(ReadOnlyError, match="closed"):
        database.SeriesDescription = "x"
    again = db.database(demo_folder)
    assert again.series(SeriesDescription="kept") and not again.unsaved


# ------------------------------------------------------------ two Database objects of one folder
def _names(database: db.Database) -> list[str]:
    return [s.SeriesDescription for s in database.series()]


def test_a_restore_by_one_database_object_is_seen_by_another_of_the_folder(
    demo_folder: Path,
) -> None:
    """Trial K: after first.restore(), second said nothing was unsaved but still showed
    both changes, undone on disk: its view disagreed with the folder without a word."""
    first = db.database(demo_folder)
    original = _names(first)
    first.series()[0].SeriesDescription = "changed by first"
    second = db.database(demo_folder)  # as a notebook cell run again
    second.series()[1].SeriesDescription = "changed by second"
    changed = ["changed by first", "changed by second", *original[2:]]
    assert _names(first) == _names(second) == changed  # one folder, seen alike
    assert first.unsaved and second.unsaved and len(first.changes()) == 9
    assert first.restore() == 9  # the folder's changes: both
    assert not second.unsaved and second.changes().empty
    assert _names(second) == original == _names(db.database(demo_folder))
    assert second.restore() == 0
    second.series()[1].SeriesDescription = "again by second"
    assert first.unsaved and _names(first)[1] == "again by second"
    assert second.restore() == 6 and _names(first) == original
    assert first.close() and second.close()


def test_a_record_of_a_view_reads_its_own_values_after_another_view_removed_rows(
    demo_folder: Path,
) -> None:
    """Review: after first removed the series before it in the index, a series second
    held read another series' values (its cached row positions, used before second
    caught up with the folder), or failed with an IndexError."""
    second = db.database(demo_folder)
    rows = second.index.array("SeriesDescription").tolist()
    names = list(dict.fromkeys(rows))  # in the index's order
    held = {name: second.series(SeriesDescription=name)[0] for name in names}
    expected = {name: held[name].SOPInstanceUID for name in names[1:]}
    first = db.database(demo_folder)
    first.series(SeriesDescription=names[0])[0].remove()
    for name in names[1:]:
        assert held[name].SeriesDescription == name
        assert held[name].SOPInstanceUID == expected[name]
    assert names[0] not in [s.SeriesDescription for s in second.series()]
    assert first.restore() and first.close() and second.close()


def test_a_save_by_one_database_object_is_seen_by_another_of_the_folder(
    demo_folder: Path,
) -> None:
    first, second = db.database(demo_folder), db.database(demo_folder)
    assert len(second.series()) == 5  # second's index, read before first's change
    first.series(SeriesDescription="T2w")[0].SeriesDescription = "T2 weighted"
    (t2,) = second.series(SeriesDescription="T2 weighted")
    assert len(second.changes()) == 6
    second.save()  # the folder's changes: first's too
    assert not first.unsaved and not second.unsaved
    t2.SeriesDescription = "T2w, by second"
    assert first.unsaved and len(first.series(SeriesDescription="T2w, by second")) == 1
    assert first.restore() == 6  # back to the save
    assert t2.SeriesDescription == "T2 weighted" and not second.unsaved
    assert first.close() and second.close()
    assert db.database(demo_folder).series(SeriesDescription="T2 weighted")


# ------------------------------------------------------------------ bad input
def test_file_deleted_behind_the_database_back(demo: db.Database) -> None:
    series = demo.series(SeriesDescription="VFA")[0]
    series.Rows = 48  # this process now writes the folder
    victim = series.files()[5]
    os.remove(victim)
    before = snapshot(Path(demo.path))
    with pytest.raises(DicomError, match=rf"{Path(victim).name}.*refresh\(\)"):
        series.Rows = 32
    assert snapshot(Path(demo.path)) == before
    demo.refresh()
    series.Rows = 32
    assert series.Rows == [32]


def test_write_error_in_the_middle_of_an_edit_and_of_a_save(tmp_path: Path) -> None:
    """A file-size limit makes the 3rd write fail (EFBIG, as a full disk would)."""
    root = tmp_path / "db"
    study, series, other = new_uid(), new_uid(), new_uid()
    for i, size in enumerate([8, 8, 256, 256, 8, 8]):
        ds = mr_image(
            np.zeros((size, size), np.uint16),
            PatientID="P",
            StudyInstanceUID=study,
            SeriesInstanceUID=series if i < 4 else other,
            SeriesNumber=1 if i < 4 else 2,
            InstanceNumber=i + 1,
        )
        write_dataset(ds, root / f"im{i}")
    db.database(root).close()
    before = snapshot(root)
    script = textwrap.dedent(
        f"""
        import resource, signal
        import dbdicom as db
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        database = db.database({str(root)!r})
        series, other = database.series()
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, resource.RLIM_INFINITY))
        try:
            series.SeriesDescription = "edited"
        except db.DicomError as exc:
            print("EDIT", exc)
        other.SeriesDescription = "edited too"
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, resource.RLIM_INFINITY))
        try:
            series.save()  # the log keeps the other series' entries: too big
        except db.DicomError as exc:
            print("SAVE", exc)
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        print("UNSAVED", database.unsaved)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "EDIT writing" in result.stdout and "2 of 4 files were changed" in result.stdout
    assert "SAVE saving" in result.stdout and "nothing was saved" in result.stdout
    assert "UNSAVED True" in result.stdout
    database = db.database(root)
    assert database.unsaved
    assert database.restore() == 6  # 4 entries of the first series (2 never changed), 2 others
    assert snapshot(root) == before


def test_read_only_folder(demo_folder: Path) -> None:
    from readonly import read_only

    db.database(demo_folder).close()
    before = snapshot(demo_folder)
    with read_only(demo_folder):
        database = db.database(demo_folder)
        assert database.read_only
        assert len(database.series()) == 5
        with pytest.raises(ReadOnlyError, match="read-only.*export_as_dicom"):
            database.series()[0].SeriesDescription = "x"
        with pytest.raises(ReadOnlyError):
            database.series()[0].remove()
        with pytest.raises(ReadOnlyError):
            database.new_patient()
    assert snapshot(demo_folder) == before


def test_save_and_restore_report_progress(demo_folder: Path) -> None:
    from recorders import Recorder

    status = Recorder()
    database = db.database(demo_folder, status=status)
    database.FlipAngle = 7  # 48 files
    database.series(SeriesDescription="T2w")[0].copy()  # 6 more
    status.steps.clear()
    database.save()
    assert status.steps[-1] == (54, 54, "Saving")
    database.EchoTime = 9
    database.restore()
    assert status.steps[-1] == (54, 54, "Restoring")


def test_a_tag_enhanced_files_keep_per_frame_is_refused_with_the_way_out(
    database_folder: tuple[Path, Any],
) -> None:
    """Set at the top of an Enhanced MR, FlipAngle would not be what its frames say.

    A new-user trial: ``series.FlipAngle = 33`` wrote a top-level FlipAngle;
    the array still read the functional groups' 15, the sidecar said 33.
    """
    database = db.database(database_folder[0])
    database.mute()
    enhanced = database.series(SeriesDescription="ME enhanced")[0]
    before = [hashlib.sha1(Path(f).read_bytes()).hexdigest() for f in enhanced.files()]
    flip = enhanced.to_xarray().attrs.get("FlipAngle")
    for keyword, value in (("FlipAngle", 33), ("EchoTime", 9.0)):
        with pytest.raises(InvalidValueError, match=rf"{keyword} is kept per frame.*assign_attrs"):
            setattr(enhanced, keyword, value)
    assert [hashlib.sha1(Path(f).read_bytes()).hexdigest() for f in enhanced.files()] == before
    assert enhanced.to_xarray().attrs.get("FlipAngle") == flip and not database.unsaved
    enhanced.SeriesDescription = "renamed"  # not a per-frame tag: set as before
    assert enhanced.SeriesDescription == "renamed"
    # classic files of the same patient are edited as before
    vfa = database.series(SeriesDescription="VFA")[0]
    vfa.EchoTime = 9.0
    assert vfa.unique("EchoTime") == [9.0]
    database.restore()
    database.close()


def test_a_restore_whose_original_is_gone_says_so(demo: db.Database) -> None:
    """A trial: an original deleted from the journal (a clean-up tool) and restore()
    reported success, the unsaved edit left in the file without a word."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    vfa.ImageComments = "unsaved"
    originals = Path(demo.path) / ".dbdicom" / "journal" / "originals"
    kept = sorted(p for p in originals.rglob("*") if p.is_file())
    assert kept
    kept[0].unlink()
    with pytest.warns(db.DicomWarning, match="its original is not in the journal"):
        demo.restore()
    assert sum(read(p).get("ImageComments") == "unsaved" for p in vfa.files()) == 1


def test_save_and_restore_of_a_read_only_folder_with_no_change_do_nothing(
    demo_folder: Path,
) -> None:
    """A trial: an analysis of a read-only folder ending in save() raised ReadOnlyError
    though there was nothing to save. A change is still refused; get_values (a name
    users bring from elsewhere) says how attributes are read."""
    from readonly import read_only

    db.database(demo_folder).close()  # indexed while writable
    with read_only(demo_folder, how="mode"):
        database = db.database(demo_folder)
        assert database.read_only
        database.save()  # nothing to save: no error
        assert database.restore() == 0
        with pytest.raises(db.ReadOnlyError):
            database.series()[0].SeriesDescription = "changed"
        with pytest.raises(AttributeError, match=r"record\[\['PatientName', 'StudyDate'\]\]"):
            database.get_values("PatientName")
        database.close()


def test_a_tag_that_describes_the_pixels_set_to_another_value_warns(demo: db.Database) -> None:
    """A trial: series.Rows = 32 made every image unreadable without a word (pydicom even
    read a wrong 32 x 64 image). The original README sets Rows, so it is still set; a
    warning says what it did and the way back."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    rows = vfa.Rows[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same value: nothing to say
        vfa.Rows = rows
    with pytest.warns(db.DicomWarning, match=r"describe images their pixel data do not hold"):
        vfa.Rows = rows // 2
    demo.restore()
    assert vfa.to_xarray().sizes["row"] == rows


def test_a_value_pydicom_cannot_write_is_said_in_one_line(demo: db.Database) -> None:
    """A trial: a private US element of 70000 gave a message of 1,500 characters holding
    pydicom's whole traceback; nothing written (still so)."""
    from pydicom.dataelem import DataElement

    instance = demo.series(SeriesDescription="VFA")[0].instances()[0]
    instance[(0x0019, 0x0010)] = DataElement(0x00190010, "LO", "MYCREATOR")
    with pytest.raises(db.DicomError, match=r"\(0019,1002\).*70000") as caught:
        instance[(0x0019, 0x1002)] = DataElement(0x00191002, "US", [1, 2, 70000])
    assert "Traceback" not in str(caught.value) and "\n" not in str(caught.value)


def test_restoring_or_saving_one_record_alone_keeps_its_parent_whole(demo: db.Database) -> None:
    """A trial: series.SeriesDescription = "new", then instance.restore() (or
    instance.save() and database.restore()) left the series' files disagreeing for good.
    Refused now, naming the attribute and the record to restore or save instead."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    vfa.SeriesDescription = "new"
    one = vfa.instances()[0]
    with pytest.raises(db.DicomError, match=r"SeriesDescription 'VFA'.*Restore its series"):
        one.restore()
    with pytest.raises(db.DicomError, match=r"SeriesDescription 'new'.*Save its series"):
        one.save()
    assert vfa.SeriesDescription == "new" and demo.unsaved  # nothing was changed
    one.ImageComments = "only mine"  # an instance's own attribute: its own to restore
    vfa.restore()
    assert vfa.SeriesDescription == "VFA"
    other = vfa.instances()[1]
    other.ImageComments = "mine"
    other.restore()
    assert other.ImageComments is None


def test_del_removes_an_element_by_the_level_rule(demo_folder: Path) -> None:
    """Trial L: `del instance.PatientName` said the Instance had no attribute PatientName,
    `del instance["PatientName"]` raised AttributeError: __delitem__, and nothing else
    removed an element (None leaves it, empty)."""
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    files = series.files()
    assert all("ImageComments" not in pydicom.dcmread(f) for f in files)
    series.ImageComments = "to go"
    del series.ImageComments
    assert all("ImageComments" not in pydicom.dcmread(f) for f in files)
    instance = series.instances()[0]
    del instance[(0x0018, 0x0050)]  # SliceThickness, of that file only
    assert "SliceThickness" not in pydicom.dcmread(instance.path)
    assert "SliceThickness" in pydicom.dcmread(series.instances()[1].path)
    patient_files = series.parent.parent.files()
    del series.PatientName  # a patient's attribute: from every file of the patient
    assert all("PatientName" not in pydicom.dcmread(f) for f in patient_files)
    assert series.PatientName is None
    with pytest.raises(db.InvalidValueError, match="SeriesInstanceUID cannot be removed"):
        del series.SeriesInstanceUID
    with pytest.raises(db.UnknownAttributeError, match="not a DICOM keyword"):
        del series.ImageComment
    assert database.restore() == len(patient_files)


def test_del_of_an_element_no_file_holds_changes_nothing(demo_folder: Path) -> None:
    """A trial: `del series.SomeKeyword` that no file had rewrote every file (restore() counted
    them, database.unsaved). Now an AttributeError and KeyError, nothing written; where some
    files have it, only those are."""
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    files = series.files()
    stamps = {f: os.stat(f).st_mtime_ns for f in files}
    with pytest.raises(AttributeError, match=r"ImageComments \(0020,4000\) from series"):
        del series.ImageComments
    with pytest.raises(KeyError, match=r"\(0041,1001\)"):
        del series[(0x0041, 0x1001)]
    with pytest.raises(db.ElementNotFoundError):  # one of a list in no file: none removed
        del series[["SliceThickness", "ImageComments"]]
    with pytest.raises(db.ElementNotFoundError, match="patient"):  # by the level rule
        del series.PatientBirthTime
    assert {f: os.stat(f).st_mtime_ns for f in files} == stamps
    assert all("SliceThickness" in read(f) for f in files)
    assert not database.unsaved and database.restore() == 0
    series.instances()[0].ImageComments = "only mine"
    database.save()
    stamps = {f: os.stat(f).st_mtime_ns for f in files}
    del series.ImageComments
    assert [f for f in files if os.stat(f).st_mtime_ns != stamps[f]] == files[:1]
    assert database.restore() == 1
    new = series.new_sibling(SeriesDescription="new")  # no files yet
    del new.SeriesDescription
    with pytest.raises(db.ElementNotFoundError, match="new record has no value"):
        del new.SeriesDescription


def test_a_private_element_needs_its_creator(demo_folder: Path) -> None:
    """Trial L: (0041,1001) was stored in a block without a Private Creator (0041,0010),
    without a word: a file whose element no reader can tell the owner of."""
    database = db.database(demo_folder)
    instance = database.instances()[0]
    before = Path(instance.path).read_bytes()
    with pytest.raises(db.InvalidFileError, match=r"\(0041,1001\) has no Private Creator "
                       r"\(0041,0010\)"):  # fmt: skip
        instance[(0x0041, 0x1001)] = DataElement(0x00411001, "LO", "x")
    assert Path(instance.path).read_bytes() == before and not database.unsaved
    instance[[(0x0041, 0x0010), (0x0041, 0x1001)]] = [
        DataElement(0x00410010, "LO", "MY LAB"),
        DataElement(0x00411001, "LO", "x"),
    ]
    ds = pydicom.dcmread(instance.path)
    assert ds.private_block(0x0041, "MY LAB")[0x01].value == "x"
    del instance[[(0x0041, 0x1001), (0x0041, 0x0010)]]  # private: removed without a VR
    assert 0x00411001 not in pydicom.dcmread(instance.path)
    assert database.restore() == 1


@pytest.mark.parametrize(
    ("vr", "value"), [("DA", 20200101), ("US", "abc"), ("FD", "x"), ("UL", -5)]
)
def test_a_data_element_pydicom_cannot_write_is_the_value_refused(
    demo_folder: Path, vr: str, value: Any
) -> None:
    """A trial: ``instance[tag] = DataElement(tag, "DA", 20200101)`` (a DataElement is
    stored unchecked) stopped in pydicom's writer, and the error blamed the file --
    "pydicom cannot write it ... Repair the file with another tool" -- or told of a
    write that failed, for a file that is fine: the value is refused, before any file
    is read, with its tag and VR."""
    database = db.database(demo_folder)
    instance = database.instances()[0]
    instance[(0x0029, 0x0010)] = DataElement(0x00290010, "LO", "ME")
    database.save()
    before = Path(instance.path).read_bytes()
    with pytest.raises(db.InvalidValueError, match=rf"\(0029,1001\).*{vr}.*value") as error:
        instance[(0x0029, 0x1001)] = DataElement(0x00291001, vr, value)
    assert "Repair the file" not in str(error.value) and "Traceback" not in str(error.value)
    assert Path(instance.path).read_bytes() == before and not database.unsaved


def test_a_data_element_of_an_ambiguous_vr_takes_the_vr_of_the_file(tmp_path: Path) -> None:
    """A trial: ``instance[(0x0028, 0x0106)] = DataElement(0x00280106, "US or SS", 5)`` in
    an Explicit VR file stopped in pydicom's writer, and the error blamed the file ("pydicom
    cannot write it ... Repair the file with another tool"). The VR is the one the file's
    Pixel Representation gives, as pydicom gives it to the elements it reads."""
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "ct.dcm")
    database = db.database(tmp_path)
    (instance,) = database.instances()
    instance[(0x0028, 0x0106)] = DataElement(0x00280106, "US or SS", -5)
    database.save()
    ds = pydicom.dcmread(tmp_path / "ct.dcm")
    assert ds.PixelRepresentation == 1 and ds["SmallestImagePixelValue"].VR == "SS"
    assert ds.SmallestImagePixelValue == -5
    database.close()


def test_a_private_creator_is_not_removed_from_under_its_elements(demo_folder: Path) -> None:
    """A trial: ``del instance[(0x0029, 0x0010)]`` removed Siemens' creator and left the
    CSA headers of its block in the file, owned by no one: the state a new private
    element without its creator is refused for. Refused too now, unless the block's
    elements go in the same call."""
    database = db.database(demo_folder)
    instance = database.instances()[0]
    instance[[(0x0029, 0x0010), (0x0029, 0x1001), (0x0029, 0x1002)]] = [
        DataElement(0x00290010, "LO", "SIEMENS CSA HEADER"),
        DataElement(0x00291001, "LO", "a"),
        DataElement(0x00291002, "LO", "b"),
    ]
    database.save()
    before = Path(instance.path).read_bytes()
    with pytest.raises(db.InvalidFileError, match=r"\(0029,0010\).*2 element"):
        del instance[(0x0029, 0x0010)]
    with pytest.raises(db.InvalidFileError, match=r"\(0029,0010\).*\(0029,1002\)"):
        del instance[[(0x0029, 0x1001), (0x0029, 0x0010)]]
    assert Path(instance.path).read_bytes() == before and not database.unsaved
    del instance[[(0x0029, 0x0010), (0x0029, 0x1001), (0x0029, 0x1002)]]  # the block whole
    assert not any(tag.group == 0x0029 for tag in pydicom.dcmread(instance.path).keys())


def test_an_edit_keeps_the_mode_of_a_read_only_file(demo: db.Database) -> None:
    """A file made read-only (0444) stays read-only when an edit is saved, as ``sed -i`` keeps it;
    a new user's trial found it 0644 after the save."""
    instance = demo.series(SeriesDescription="T2w")[0].instances()[0]
    path = Path(instance.path)
    path.chmod(0o444)
    instance.EchoTime = 31.0
    demo.save()
    assert read(path).EchoTime == 31.0
    assert path.stat().st_mode & 0o777 == 0o444


def test_a_refused_single_restore_names_an_absent_element_as_none(demo: db.Database) -> None:
    """The refusal to restore one file of a series said the others "keep ''" where the element
    had been deleted from them (a new user's trial)."""
    series = demo.series(SeriesDescription="T2w")[0]
    demo.save()
    del series.SeriesDescription
    with pytest.raises(DicomError, match=r"keep none \(no value, or no element\)"):
        series.instances()[0].restore()
    assert demo.restore() > 0


def test_a_patient_whose_files_name_two_people_passes_neither_down(tmp_path: Path) -> None:
    """Two hospitals' exports: one PatientID for two people, and the same person under another.

    Moving the second person's study into the patient of that PatientID gave
    its files the name and birth date of whichever file came first in the
    folder: here the other person's, without a word.
    """
    folder = tmp_path / "db"
    for sub, pid, name, birth in (
        ("a", "P001", "Smith^Jane", "19851212"),
        ("b", "P001", "Doe^John", "19600101"),
        ("c", "H2-778", "Doe^John", "19600101"),
    ):
        ds = mr_image(
            np.zeros((8, 8), np.uint16), PatientID=pid, PatientName=name, PatientBirthDate=birth
        )
        write_dataset(ds, folder / sub / "IM0")
    database = db.database(folder)
    before = snapshot(folder)
    p001 = database.patients(PatientID="P001")[0]
    study = database.patients(PatientID="H2-778")[0].studies()[0]
    with pytest.raises(db.DicomError, match=r"disagree on PatientName \('Doe\^John', 'Smith"):
        study.move_to(p001)
    with pytest.raises(db.DicomError, match="move the studies of the other person"):
        p001.new_study(StudyDescription="follow-up").new_series().new_instance()
    assert snapshot(folder) == before and not database.unsaved
    # the way out: the other person's study to a patient of her own, then the move
    (jane,) = [s for s in database.studies(PatientName="Smith^Jane") if s.instances()]
    jane.move_to(database.new_patient(PatientID="H1-JS", PatientName="Smith^Jane"))
    study.move_to(p001)
    moved = pydicom.dcmread(study.files()[0])
    assert (moved.PatientID, moved.PatientName, moved.PatientBirthDate) == (
        "P001",
        "Doe^John",
        "19600101",
    )
    database.restore()
    assert snapshot(folder) == before


def test_a_name_with_trailing_empty_components_is_one_person(tmp_path: Path) -> None:
    """'Doe^Jane' and 'Doe^Jane^^' are one value of PersonName (PS3.5 6.2: trailing empty
    components and their delimiters may be left out), as two scanners write one patient's
    name: a write below her patient was refused as two people."""
    folder = tmp_path / "db"
    for sub, name in (("a", "Doe^Jane"), ("b", "Doe^Jane^^"), ("c", "Doe^Jane^=")):
        ds = mr_image(np.zeros((8, 8), np.uint16), PatientID="P1", PatientName=name)
        write_dataset(ds, folder / sub / "IM0")
    database = db.database(folder)
    (patient,) = database.patients()
    patient.new_study(StudyDescription="follow-up").new_series().new_instance()
    database.restore()


def test_a_name_differing_in_case_is_one_person(tmp_path: Path) -> None:
    """'DOE^JANE' from one scanner, 'Doe^Jane' from another: one person (a name's case says
    no other person), whose patient refused every write below it as two people. The new
    file takes the first file's spelling."""
    folder = tmp_path / "db"
    for sub, name in (("a", "Doe^Jane"), ("b", "DOE^JANE")):
        ds = mr_image(np.zeros((8, 8), np.uint16), PatientID="P1", PatientName=name)
        write_dataset(ds, folder / sub / "IM0")
    database = db.database(folder)
    (patient,) = database.patients()
    new = patient.new_study(StudyDescription="follow-up").new_series().new_instance()
    assert pydicom.dcmread(new.path).PatientName == "Doe^Jane"
    database.restore()


def test_a_file_below_a_patient_takes_the_persons_values_where_the_first_file_left_them_empty(
    tmp_path: Path,
) -> None:
    """One file of a patient with PatientName and PatientBirthDate left empty (Type 2: an
    export that blanked them), another with them: a new study below the patient took the
    first file's, so the files written for her named no one."""
    folder = tmp_path / "db"
    for sub, name, birth in (("a", "", ""), ("b", "Doe^Jane", "19800101")):
        ds = mr_image(
            np.zeros((8, 8), np.uint16), PatientID="P1", PatientName=name, PatientBirthDate=birth
        )
        write_dataset(ds, folder / sub / "IM0")
    database = db.database(folder)
    (patient,) = database.patients()
    assert pydicom.dcmread(patient.files()[0]).PatientName == ""  # the first file: empty
    new = patient.new_study(StudyDescription="follow-up").new_series().new_instance()
    written = pydicom.dcmread(new.path)
    assert (written.PatientID, written.PatientName, written.PatientBirthDate) == (
        "P1",
        "Doe^Jane",
        "19800101",
    )
    database.restore()


def test_a_study_whose_files_all_leave_the_person_empty_stays_so(tmp_path: Path) -> None:
    """A study of a PatientID anonymised for sharing (PatientName, PatientBirthDate
    blanked in all its files), another study naming her: a series derived below the
    anonymised study named her (the patient's other files' values), in a study shared
    without them. Below a study one of whose files names her, a new series does."""
    folder = tmp_path / "db"
    shared, mixed = new_uid(), new_uid()
    for sub, study, name, birth in (
        ("a0", shared, "", ""),
        ("a1", shared, "", ""),
        ("b0", mixed, "", ""),
        ("b1", mixed, "Doe^Jane", "19800101"),
    ):
        ds = mr_image(
            np.zeros((8, 8), np.uint16),
            PatientID="P1",
            PatientName=name,
            PatientBirthDate=birth,
            StudyInstanceUID=study,
        )
        write_dataset(ds, folder / sub / "IM0")
    database = db.database(folder)
    (anonymised,) = [s for s in database.studies() if s.uid == shared]
    series = anonymised.new_series(SeriesDescription="derived")
    series.set_array(np.ones((2, 8, 8), np.uint16))
    series.new_instance()
    for path in series.files():
        ds = pydicom.dcmread(path)
        assert (ds.PatientID, ds.PatientName, ds.PatientBirthDate) == ("P1", "", "")
    (named,) = [s for s in database.studies() if s.uid == mixed]
    assert pydicom.dcmread(named.files()[0]).PatientName == ""  # its first file: empty
    new = named.new_series().new_instance()
    assert (pydicom.dcmread(new.path).PatientName, pydicom.dcmread(new.path).PatientBirthDate) == (
        "Doe^Jane",
        "19800101",
    )
    database.restore()


def test_a_blank_file_of_a_patient_of_two_people_takes_neither_name(tmp_path: Path) -> None:
    """The files of a PatientID name two people in two studies and a third study's file
    leaves the name empty: a series written below that study takes neither name."""
    folder = tmp_path / "db"
    for sub, name in (("a", ""), ("b", "Doe^Jane"), ("c", "Smith^John")):
        ds = mr_image(np.zeros((8, 8), np.uint16), PatientID="P1", PatientName=name)
        write_dataset(ds, folder / sub / "IM0")
    database = db.database(folder)
    (blank,) = [s for s in database.studies() if s.unique("PatientName") == []]
    new = blank.new_series().new_instance()
    assert pydicom.dcmread(new.path).PatientName == ""
    database.restore()


def test_a_write_from_two_series_of_a_patient_of_two_people_is_not_refused(
    tmp_path: Path,
) -> None:
    """An array stacked from two series, one of whose files name two people, written into
    another patient: refused with "a file ... written below it would take one of them",
    about the source series, below which nothing is written."""
    folder = tmp_path / "db"
    study = new_uid()
    for sub, name, uid, z, flip in (
        ("a", "Doe^Jane", "1.2.3.1", 0.0, 5.0),
        ("b", "Smith^John", "1.2.3.1", 5.0, 5.0),
        ("c", "Doe^Jane", "1.2.3.2", 0.0, 10.0),
        ("d", "Doe^Jane", "1.2.3.2", 5.0, 10.0),
    ):
        ds = mr_image(
            np.full((8, 8), 3, np.uint16),
            PatientID="P1",
            PatientName=name,
            StudyInstanceUID=study,
            SeriesInstanceUID=uid,
            SeriesDescription=f"s{uid[-1]}",
            SliceLocation=z,
            ImagePositionPatient=[0, 0, z],
            FlipAngle=flip,
        )
        write_dataset(ds, folder / sub / "IM0")
    database = db.database(folder)
    da = db.to_xarray(database.series(), dims=["SliceLocation", "FlipAngle"])
    other = database.new_patient(PatientID="P2", PatientName="Other^One").new_study()
    series = other.new_series(SeriesDescription="derived")
    series.set_xarray(da * 2)
    assert {str(pydicom.dcmread(f).PatientName) for f in series.files()} == {"Other^One"}
    with pytest.raises(db.DicomError, match="disagree on PatientName"):  # below it: refused
        database.series(SeriesDescription="s1")[0].new_instance()
    database.restore()
