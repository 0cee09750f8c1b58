"""Bad input: every kind is reported with its reason, and the rest still opens."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import pydicom
import pytest
from bad_files import BadFiles, write_missing_sop_uid
from pydicom.data import get_testdata_file
from test_index import _snapshot

import dbdicom as db


@pytest.fixture
def opened(bad_files_folder: tuple[Path, BadFiles]) -> tuple[db.Database, BadFiles]:
    root, bad = bad_files_folder
    return db.database(root), bad


def _problem(database: db.Database, root: Path, path: Path) -> str:
    problems = database.problems()
    rel = path.relative_to(root).as_posix()
    found = problems[problems["path"] == rel]["problem"].tolist()
    assert found, f"{rel} is not reported"
    return " | ".join(found)


def test_valid_files_still_open(opened: tuple[db.Database, BadFiles]) -> None:
    database, bad = opened
    valid = database.series(SeriesDescription="valid")
    assert len(valid) == 1 and len(valid[0].instances()) == len(bad.valid)


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("not_dicom", "not a DICOM file"),
        ("empty", "empty"),
    ],
)
def test_unusable_files_are_listed_not_indexed(
    opened: tuple[db.Database, BadFiles], kind: str, reason: str
) -> None:
    database, bad = opened
    in_tree = {Path(f) for f in database.files()}
    for path in getattr(bad, kind):
        assert reason in _problem(database, bad.root, path)
        assert path not in in_tree


def test_a_valid_dicomdir_is_neither_an_instance_nor_a_problem(
    opened: tuple[db.Database, BadFiles],
) -> None:
    """The directory of a medium agrees with its files: nothing to say (see test_dicomdir.py)."""
    database, bad = opened
    dicomdir, *images = bad.dicomdir
    in_tree = {Path(f) for f in database.files()}
    assert dicomdir not in in_tree and set(images) <= in_tree
    problems = database.problems()
    assert dicomdir.relative_to(bad.root).as_posix() not in set(problems["path"])
    about_media = problems["problem"].str.contains("DICOMDIR|named by|records of")
    assert not about_media.any(), problems[about_media].to_string()


def test_truncated_files(opened: tuple[db.Database, BadFiles]) -> None:
    database, bad = opened
    header_cut = [p for p in bad.truncated if "header" in p.name]
    pixels_cut = [p for p in bad.truncated if "pixel" in p.name]
    assert header_cut and pixels_cut
    in_tree = {Path(f) for f in database.files()}
    for path in header_cut:
        assert "truncated" in _problem(database, bad.root, path)
        assert path not in in_tree
    for path in pixels_cut:  # the header is fine: indexed, and flagged
        assert "pixel data truncated" in _problem(database, bad.root, path)
        assert path in in_tree


def test_a_uid_holding_a_hash_is_not_a_duplicate(tmp_path: Path) -> None:
    """Review: a SOP Instance UID of one file that holds a "#" was listed as a duplicate
    (also in nothing) under a key it did not have; it is an invalid UID, and says so."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.SOPInstanceUID = "1.2.3#4"
    ds.save_as(tmp_path / "x.dcm")
    database = db.database(tmp_path)
    (said,) = database.problems()["problem"]
    assert "is not a valid UID" in said and "duplicate" not in said
    assert database.instances()[0].uid == "1.2.3#4"


def test_missing_uids_placed_by_rule(opened: tuple[db.Database, BadFiles]) -> None:
    database, bad = opened
    (no_pid,) = bad.missing_patient_id
    assert "placed under 'anonymous-" in _problem(database, bad.root, no_pid)
    patient = [p for p in database.patients() if p.uid.startswith("anonymous-")]
    assert len(patient) == 1
    assert {Path(f) for f in patient[0].files()} == {no_pid}
    (no_series,) = bad.missing_series_uid
    assert "Series Instance UID" in _problem(database, bad.root, no_series)
    assert Path(no_series) in {Path(f) for f in database.files()}


def test_duplicate_sop_instance_uids_both_kept(opened: tuple[db.Database, BadFiles]) -> None:
    database, bad = opened
    first, second = sorted(bad.duplicate_sop_uid)
    assert "duplicate (0008,0018)" in _problem(database, bad.root, second)
    files = {Path(f) for f in database.files()}
    assert first in files and second in files
    uids = [i.uid for i in database.instances()]
    assert len(uids) == len(set(uids))


def test_print_lists_problems(
    opened: tuple[db.Database, BadFiles], capsys: pytest.CaptureFixture[str]
) -> None:
    database, bad = opened
    database.print()
    out = capsys.readouterr().out
    assert "Problems" in out
    for path in [*bad.not_dicom, *bad.empty]:
        assert path.relative_to(bad.root).as_posix() in out
    # the medium's directory agrees with its files: not listed
    assert bad.dicomdir[0].relative_to(bad.root).as_posix() not in out


def test_nothing_modified(bad_files_folder: tuple[Path, BadFiles]) -> None:
    root, _ = bad_files_folder
    before = _snapshot(root)
    database = db.database(root)
    database.print()
    database.scan()
    database.close()
    db.database(root)
    assert _snapshot(root) == before


def test_shipped_files_open(shipped_files_folder: Path) -> None:
    """The varied files of pydicom / pydicom-data all open and print."""
    database = db.database(shipped_files_folder)
    files = [
        p for p in shipped_files_folder.rglob("*") if p.is_file() and ".dbdicom" not in p.parts
    ]
    problems = database.problems()
    errors = problems[problems["problem"].str.contains("not a DICOM|truncated|cannot")]
    assert errors.empty, errors.to_string()
    assert len(database.index.frame) == len(files)
    assert len(database.instances()) == len(files)


def test_a_file_without_sop_instance_uid_reads_with_its_header(tmp_path: Path) -> None:
    """Its frame's SOPInstanceUID coordinate is the UID the tree places it under, not 'None'."""
    (path,) = write_missing_sop_uid(tmp_path)
    database = db.database(tmp_path)
    (instance,) = database.instances()
    assert instance.SOPInstanceUID is None
    (series,) = database.series()
    assert series.to_xarray().coords["SOPInstanceUID"].values.tolist() == [instance.uid]
    array, header = series.array()
    assert array.shape[-2:] == (32, 32)
    assert [h.uid for h in header.ravel()] == [instance.uid]


def test_a_zip_file_in_the_folder_says_how_to_read_it(tmp_path: Path) -> None:
    """It was 'no DICM marker' only: now it says it is a zip archive, and what reads it."""
    folder = tmp_path / "db"
    folder.mkdir()
    source = get_testdata_file("MR_small.dcm")
    with zipfile.ZipFile(folder / "archive.zip", "w") as archive:
        archive.write(source, "inner/MR_small.dcm")
    database = db.database(folder)
    said = _problem(database, folder, folder / "archive.zip")
    assert "zip archive" in said and "import_dicom" in said and "db.database" in said
    # the ways out it names do read it
    assert len(db.database(folder / "archive.zip").instances()) == 1
    database.import_dicom(folder / "archive.zip")
    assert len(database.instances()) == 1
    database.restore()


@pytest.mark.parametrize(
    "uid, why",
    [
        ("ABCD6.1.4.1.5962.1.3", "other than digits and dots ('ABCD')"),
        ("1.2.840.0123.4", "'0123' starts with a zero"),
        ("1." * 32 + "9", "65 characters long"),
    ],
    ids=["letters", "leading zero", "too long"],
)
def test_a_uid_that_is_not_valid_is_a_problem_and_the_file_is_read(
    tmp_path: Path, uid: str, why: str
) -> None:
    """Not in problems() at all before; a DICOMDIR export wrote it as it was."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's: invalid value for VR UI
        ds.SeriesInstanceUID = uid
        ds.save_as(tmp_path / "uid.dcm")
    database = db.database(tmp_path)
    said = _problem(database, tmp_path, tmp_path / "uid.dcm")
    assert "(0020,000E) 'Series Instance UID'" in said and why in said
    assert "generate_uid" in said
    (series,) = database.series()  # read as it is, under its own UID
    assert series.SeriesInstanceUID == uid and series.uid == uid
