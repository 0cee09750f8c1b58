"""Two copies of one image in a folder: the refusal to stack them says what they are."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut

import dbdicom as db
from dbdicom._records._structure import copy_instances
from dbdicom._templates import mr_image, write_dataset


def test_copies_of_one_image_are_named_and_one_can_be_kept(tmp_path: Path) -> None:
    """pydicom-data ships gdcm-US-ALOKA-16 twice (little and big endian): one SOP Instance UID.

    The refusal said "Tags that vary: none" and no way out.
    """
    for name in ("gdcm-US-ALOKA-16.dcm", "gdcm-US-ALOKA-16_big.dcm"):
        shutil.copy(get_testdata_file(name), tmp_path / name)
    database = db.database(tmp_path)
    assert any("duplicate (0008,0018)" in p for p in database.problems()["problem"])
    (series,) = database.series()
    with pytest.raises(db.GridError, match="hold the same instance.*instance.remove"):
        series.to_xarray()
    series.instances()[1].remove()
    values = series.to_xarray().values
    ds = pydicom.dcmread(get_testdata_file("gdcm-US-ALOKA-16.dcm"))
    expected = apply_color_lut(ds.pixel_array, ds)  # a PALETTE COLOR image: read as RGB
    assert np.array_equal(values.reshape(expected.shape), expected)
    database.restore()
    assert len(series.instances()) == 2


def test_a_folder_a_series_was_copied_into_opens_again(tmp_path: Path) -> None:
    """A trial: copy_to a series into an empty folder, save, reopen: a raw pyarrow error
    (dictionaries of nulls in two parts of the index cannot be joined by pyarrow)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "out").mkdir()
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "src")
    series = db.database(tmp_path / "src").series()[0]
    out = db.database(tmp_path / "out")
    series.copy_to(out.new_patient().new_study())
    out.save()
    for _ in range(2):  # a second object while the first is open, then after it closed
        again = db.database(tmp_path / "out")
        assert len(again.series()) == 1
        np.testing.assert_array_equal(
            again.series()[0].to_xarray().values, series.to_xarray().values
        )
        again.close()
    out.close()


def test_a_copy_of_one_slice_is_named_in_the_refusal(tmp_path: Path) -> None:
    """A trial: a copy of one slice of a 3-slice series (same SOPInstanceUID) made the
    series unreadable with 'no set of tags puts the 4 frames on a full grid', naming
    neither file, and its way out (fill=True) failed too."""
    base = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    for k in range(3):
        base.SOPInstanceUID = f"1.2.3.4.{k + 1}"
        base.InstanceNumber = k + 1
        base.ImagePositionPatient = [0.0, 0.0, 5.0 * k]
        base.SliceLocation = 5.0 * k
        base.save_as(tmp_path / f"s{k}.dcm", enforce_file_format=False)
    shutil.copy(tmp_path / "s1.dcm", tmp_path / "s1_copy.dcm")
    database = db.database(tmp_path)
    (series,) = database.series()
    for kwargs in ({}, {"fill": True}):
        with pytest.raises(db.GridError, match=r"s1.dcm and s1_copy.dcm hold the same instance"):
            series.to_xarray(**kwargs)
    (tmp_path / "s1_copy.dcm").unlink()
    database.refresh()
    assert database.series()[0].to_xarray().sizes["SliceLocation"] == 3


@pytest.mark.parametrize("level", ["series", "study"])
def test_a_copy_under_its_own_parent_keeps_each_files_values_above(
    tmp_path: Path, level: str
) -> None:
    """A trial: two slices de-identified one second apart (DeidentificationMethod differs,
    a patient-level value) copied with series.copy(): both copies got the first's value."""
    for i in range(2):
        ds = mr_image(np.full((4, 4), i, np.uint16), PatientID="P", InstanceNumber=i + 1)
        ds.DeidentificationMethod = f"tool:2010032317264{i}"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3", "1.2.3.4"
        write_dataset(ds, tmp_path / f"{i}.dcm")
    database = db.database(tmp_path)
    record = database.series()[0] if level == "series" else database.studies()[0]
    copy = record.copy()
    database.save()
    found = {
        int(d.InstanceNumber): d.DeidentificationMethod
        for d in (pydicom.dcmread(p, stop_before_pixels=True) for p in copy.files())
    }
    assert found == {1: "tool:20100323172640", 2: "tool:20100323172641"}
    other = database.new_patient(PatientName="Other^Patient")
    if level == "series":
        other = other.new_study(StudyDescription="other")
    moved = record.copy_to(other)  # under another patient: its values
    assert set(moved.unique("PatientName")) == {"Other^Patient"}


def _contents(series: db.Series) -> list[tuple[int, list[tuple[str, str]]]]:
    """Each file of ``series``: its InstanceNumber and its elements but UIDs, in number order."""
    out = []
    for path in series.files():
        ds = pydicom.dcmread(path)
        kept = sorted((str(e.tag), repr(e.value)) for e in ds if e.VR != "UI")
        out.append((int(ds.InstanceNumber), kept))
    return sorted(out)


def test_subseries_writes_what_copies_one_at_a_time_write(demo: db.Database) -> None:
    """subseries copies its instances in one pass (it copied them one by one, 22 ms each, the
    index updated and the new series' first file read again for every copy): the files and
    their InstanceNumbers are those the one-at-a-time copies gave, into an empty series and
    into one with files."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    chosen = vfa.instances(FlipAngle=10)
    with pytest.warns(db.DicomWarning):
        batch, one_by_one = vfa.subseries(FlipAngle=99), vfa.subseries(FlipAngle=99)
    copy_instances(chosen, batch)
    for instance in chosen:
        instance.copy_to(one_by_one)
    mine, theirs = _contents(batch), _contents(one_by_one)
    assert [n for n, _ in mine] == list(range(13, 19))  # the first keeps its own, the rest follow
    strip = {"(0020,0011)"}  # SeriesNumber: each series its own
    assert [[e for e in kept if e[0] not in strip] for _, kept in mine] == [
        [e for e in kept if e[0] not in strip] for _, kept in theirs
    ]
    copy_instances(chosen[:2], batch)  # into a series with files: after its last
    for instance in chosen[:2]:
        instance.copy_to(one_by_one)
    assert [n for n, _ in _contents(batch)] == [n for n, _ in _contents(one_by_one)]
    assert [n for n, _ in _contents(batch)][-2:] == [19, 20]
    assert demo.restore() > 0


def test_an_import_says_which_files_of_a_known_instance_hold_other_content(
    tmp_path: Path,
) -> None:
    """An overlapping export: a slice sent again unchanged, and one sent again corrected.

    Both were skipped with one message, "already in the database", so that the
    corrected file (or, in one folder, a complete file after a truncated copy of
    it) was dropped without a word that its content differed.
    """
    incoming, database_folder = tmp_path / "incoming", tmp_path / "database"
    database_folder.mkdir()
    ds = mr_image(np.full((8, 8), 7, np.uint16), PatientID="IMP")
    write_dataset(ds, incoming / "a.dcm")
    shutil.copyfile(incoming / "a.dcm", incoming / "b_same.dcm")
    ds.PixelData = np.full((8, 8), 9, np.uint16).tobytes()
    write_dataset(ds, incoming / "c_other.dcm")
    database = db.database(database_folder)
    with pytest.warns(db.DicomWarning) as said:
        (new,) = database.import_dicom(incoming)
    texts = [str(w.message) for w in said]
    (same,) = [t for t in texts if "b_same.dcm" in t]
    assert "other content" not in same and f"as {incoming / 'a.dcm'}" in same
    (other,) = [t for t in texts if "c_other.dcm" in t]
    assert other.startswith("1 file(s) not imported: their SOPInstanceUID is already")
    assert f"differs from {incoming / 'a.dcm'}" in other and ".remove()" in other
    assert int(pydicom.dcmread(new.path).pixel_array.max()) == 7

    (again,) = [w.message for w in _imported(database, incoming / "c_other.dcm")]
    assert f"differs from {new.path}" in str(again)  # the database's file
    assert not [w for w in _imported(database, incoming / "b_same.dcm") if "other" in str(w)]
    new.remove()  # the way out the message gives
    (fixed,) = database.import_dicom(incoming / "c_other.dcm")
    assert int(pydicom.dcmread(fixed.path).pixel_array.max()) == 9


def test_an_import_says_when_its_files_name_another_person_of_a_known_patient_id(
    tmp_path: Path,
) -> None:
    """Two hospitals' exports: one PatientID, two people (trial S): said at the import.

    They were merged into one patient without a word (print() and problems()
    showed it later), and the next write below that patient would refuse.
    """
    database_folder, jane, john = tmp_path / "db", tmp_path / "jane", tmp_path / "john"
    for folder, name, born in (
        (database_folder, "Doe^John", "19700101"),
        (jane, "Smith^Jane", "19851212"),
    ):
        ds = mr_image(np.zeros((4, 4), np.uint16), PatientID="P001", PatientName=name)
        ds.PatientBirthDate = born
        write_dataset(ds, folder / "a.dcm")
    database = db.database(database_folder)
    with pytest.warns(db.DicomWarning, match="another patient") as said:
        database.import_dicom(jane)
    (text,) = [str(w.message) for w in said]
    assert "'P001': PatientName 'Smith^Jane', not 'Doe^John'" in text
    assert "PatientBirthDate '19851212', not '19700101'" in text and "restore()" in text
    assert len(database.patients()) == 1  # one PatientID: one patient, as documented
    database.restore()
    ds = mr_image(np.zeros((4, 4), np.uint16), PatientID="P001", PatientName="Doe^John")
    ds.PatientBirthDate = "19700101"
    write_dataset(ds, john / "b.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("error", db.DicomWarning)
        database.import_dicom(john)  # the same person: nothing to say


def test_an_import_of_a_name_with_trailing_empty_components_names_no_other_person(
    tmp_path: Path,
) -> None:
    """'DOE^JOHN^^' is 'Doe^John' (PS3.5 6.2; the case says no other person): no warning."""
    database_folder, incoming = tmp_path / "db", tmp_path / "incoming"
    for folder, name in ((database_folder, "Doe^John"), (incoming, "DOE^JOHN^^")):
        ds = mr_image(np.zeros((4, 4), np.uint16), PatientID="P001", PatientName=name)
        write_dataset(ds, folder / "a.dcm")
    write_dataset(
        mr_image(np.zeros((4, 4), np.uint16), PatientID="P002", PatientName="Roe^Ann"),
        incoming / "b.dcm",
    )
    write_dataset(
        mr_image(np.zeros((4, 4), np.uint16), PatientID="P002", PatientName="Roe^Ann^"),
        incoming / "c.dcm",
    )
    database = db.database(database_folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", db.DicomWarning)
        database.import_dicom(incoming)


def test_an_import_says_when_it_puts_a_known_study_under_another_patient(
    tmp_path: Path,
) -> None:
    """A new series of a study the database holds, under another PatientID (trial S).

    A study stays whole under the patient its first file by path names: the
    imported file's name (by its UIDs) may sort first, and the study then
    moved to the imported file's patient without a word.
    """
    database_folder, incoming = tmp_path / "db", tmp_path / "incoming"
    ds = mr_image(np.zeros((4, 4), np.uint16), PatientID="P001")
    write_dataset(ds, database_folder / "zz" / "a.dcm")
    study = str(ds.StudyInstanceUID)
    other = mr_image(np.zeros((4, 4), np.uint16), PatientID="H2-778")
    other.StudyInstanceUID = study
    write_dataset(other, incoming / "b.dcm")
    database = db.database(database_folder)
    with pytest.warns(db.DicomWarning, match="another parent") as said:
        database.import_dicom(incoming)
    assert [
        str(w.message)
        for w in said
        if f"study {study}: PatientID 'H2-778', not 'P001'" in str(w.message)
    ]
    database.restore()
    fresh = mr_image(np.zeros((4, 4), np.uint16), PatientID="H2-778")  # a study of its own
    write_dataset(fresh, incoming / "b.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("error", db.DicomWarning)
        database.import_dicom(incoming)


def test_a_known_instance_whose_file_meta_alone_differs_holds_no_other_content(
    tmp_path: Path,
) -> None:
    """The same dataset passed through another tool (a PACS's export), which wrote its own
    file meta (ImplementationVersionName): said to hold other content, with the advice to
    give it a new SOPInstanceUID, which would have made a second copy of one image."""
    database_folder, incoming = tmp_path / "db", tmp_path / "incoming"
    ds = mr_image(np.arange(16, dtype=np.uint16).reshape(4, 4), PatientID="P001")
    write_dataset(ds, database_folder / "a.dcm")
    other = pydicom.dcmread(database_folder / "a.dcm")
    other.file_meta.ImplementationVersionName = "OTHER_PACS_2"
    other.preamble = b"\x01" * 128
    incoming.mkdir()
    other.save_as(incoming / "a.dcm")
    assert (incoming / "a.dcm").read_bytes() != (database_folder / "a.dcm").read_bytes()
    database = db.database(database_folder)
    said = [str(w.message) for w in _imported(database, incoming / "a.dcm")]
    assert [m for m in said if "already in the database" in m]
    assert not [m for m in said if "other content" in m]


def _imported(database: db.Database, path: Path) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert database.import_dicom(path) == []
    return said


def _advised(message: str, start: str) -> str:
    """The call ``message`` advises, from ``start`` to its closing parenthesis."""
    at = message.index(start)
    depth = 0
    for end in range(at, len(message)):
        depth += {"(": 1, ")": -1}.get(message[end], 0)
        if depth == 0 and message[end] == ")":
            return message[at : end + 1]
    raise AssertionError(f"no whole call {start}... in {message!r}")


@pytest.mark.parametrize("exists", [False, True], ids=["new-folder", "a-database"])
def test_the_call_advised_for_a_copy_to_a_folder_works_as_written(
    demo: db.Database, tmp_path: Path, exists: bool
) -> None:
    """A trial: series.copy_to(folder) said to call series.copy_to(db.database(folder)...),
    which raises DatabaseNotFoundError for a folder that does not exist yet; the call advised
    is run as written, into a new folder and into a database that exists."""
    folder = tmp_path / "into"
    if exists:
        folder.mkdir()
    series = demo.series(SeriesDescription="T2w")[0]
    with pytest.raises(db.InvalidValueError) as info:
        series.copy_to(str(folder))  # type: ignore[arg-type]
    advised = _advised(str(info.value), "series.copy_to(")
    names = {"db": db, "series": series, "folder": str(folder)}  # (as a user would fill in)
    copied = eval(advised, names)  # noqa: S307 - the message's code
    assert copied.SeriesDescription == "T2w"
    assert [s.SeriesDescription for s in db.database(folder).series()] == ["T2w"]


def test_a_copy_of_a_file_without_sop_class_says_so(tmp_path: Path) -> None:
    """A trial: pydicom's meta_missing_tsyntax.dcm (in the tree: no SOP Class UID, no
    Transfer Syntax UID) stopped a copy with a bare ``AttributeError: 'FileDataset'
    object has no attribute 'SOPClassUID'``: the meta of a copy, a Part 10 file, must
    name its SOP class. Refused now with the file and the way out, nothing written."""
    shutil.copy(get_testdata_file("meta_missing_tsyntax.dcm"), tmp_path / "a.dcm")
    database = db.database(tmp_path)
    (series,) = database.series()
    with pytest.raises(db.InvalidFileError, match=r"a\.dcm.*SOP Class UID.*SOPClassUID = "):
        series.copy()
    assert not database.unsaved and len(database.files()) == 1
    series.instances()[0].SOPClassUID = pydicom.uid.SecondaryCaptureImageStorage
    copy = series.copy()
    database.save()
    ds = pydicom.dcmread(copy.files()[0])  # a Part 10 file
    assert ds.file_meta.MediaStorageSOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
