"""DICOM media: a folder with a DICOMDIR opens, is checked against it, and is written with one.

The DICOMDIR of a medium is neither an instance nor a problem: its records
are checked against the files the scan reads (the files stay the truth),
and only where they disagree is something listed. ``export_as_dicom(path,
dicomdir=True)`` writes a medium that pydicom, dicom3tools (and dcmtk, when
installed) read back, and that dbdicom opens without a problem.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from bad_files import write_dicomdir, write_valid_series
from pydicom.fileset import FileSet, is_conformant_file_id
from recorders import Recorder
from validators import dciodvfy, program

import dbdicom as db

PYDICOM_MEDIA = Path(pydicom.data.get_testdata_file("DICOMDIR")).parent


def _copy(source: Path, target: Path, lower: bool = False) -> Path:
    """A writable copy of the tree ``source``; with ``lower``, every name lower-cased."""
    for folder, _, files in os.walk(source):
        rel = Path(folder).relative_to(source)
        into = target / Path(str(rel).lower() if lower else rel)
        into.mkdir(parents=True, exist_ok=True)
        for name in files:
            copied = into / (name.lower() if lower else name)
            shutil.copyfile(Path(folder) / name, copied)
            os.chmod(copied, 0o644)
    return target


def _problems(database: db.Database) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    table = database.problems()
    for path, problem in zip(table["path"], table["problem"], strict=True):
        found.setdefault(path, []).append(problem)
    return found


def _media_problems(database: db.Database) -> dict[str, list[str]]:
    """The problems that come from a DICOMDIR (the others are the files' own)."""
    words = ("DICOMDIR", "named by", "records of")
    return {
        path: [p for p in problems if any(w in p for w in words)]
        for path, problems in _problems(database).items()
        if any(any(w in p for w in words) for p in problems)
    }


# ------------------------------------------------------------------ reading


@pytest.fixture
def pydicom_media(tmp_path: Path) -> Path:
    """A copy of pydicom's ``dicomdirtests`` folder: seven DICOMDIRs and TINY_ALPHA's."""
    return _copy(PYDICOM_MEDIA, tmp_path / "dicomdirtests")


def test_pydicom_media_open_with_their_dicomdirs_as_no_problem(pydicom_media: Path) -> None:
    database = db.database(pydicom_media)
    dicomdirs = sorted(p for p in pydicom_media.rglob("DICOMDIR*"))
    assert len(dicomdirs) == 8
    in_tree = {Path(f) for f in database.files()}
    assert not in_tree & set(dicomdirs)
    named = FileSet(pydicom.dcmread(pydicom_media / "DICOMDIR"))
    tiny = FileSet(pydicom.dcmread(pydicom_media / "TINY_ALPHA" / "DICOMDIR"))
    assert {Path(i.path) for i in [*named, *tiny]} == in_tree  # 31 + 50, all read
    assert len(database.instances()) == 81
    problems = _problems(database)
    assert not any(p.startswith("DICOMDIR") or "/DICOMDIR" in p for p in problems), problems
    assert _media_problems(database) == {}


def test_a_lower_cased_copy_of_a_medium_is_the_same_medium(tmp_path: Path) -> None:
    """A CD mounted or copied by a system that lower-cases names: File IDs still match."""
    root = _copy(PYDICOM_MEDIA, tmp_path / "cd", lower=True)
    assert (root / "tiny_alpha" / "pt000000" / "st000000" / "se000000" / "im00001d").is_file()
    assert (root / "dicomdir").is_file() and not (root / "DICOMDIR").exists()
    database = db.database(root)
    assert len(database.instances()) == 81
    assert _media_problems(database) == {}


@pytest.fixture
def medium(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    """A File-set that pydicom's FileSet wrote: (database folder, DICOMDIR, its two files)."""
    root = tmp_path / "db"
    dicomdir, *images = write_dicomdir(root)
    write_valid_series(root / "elsewhere", "not on the medium", n=2)
    return root, dicomdir, images


def test_a_file_the_dicomdir_names_is_missing(medium: tuple[Path, Path, list[Path]]) -> None:
    root, dicomdir, (first, second) = medium
    second.unlink()
    database = db.database(root)
    rel = second.relative_to(root).as_posix()
    (why,) = _media_problems(database)[rel]
    uid = pydicom.dcmread(first).SOPInstanceUID  # the other: still there
    assert "named by 'fileset/DICOMDIR'" in why and "not in the folder" in why
    assert str(uid) not in why
    assert {Path(f) for f in database.series(SeriesDescription="in DICOMDIR")[0].files()} == {first}
    assert len(database.series(SeriesDescription="not on the medium")[0].files()) == 2


def _replace(path: Path, old: str, new: str) -> None:
    """Replace a value in the bytes of ``path`` by one of the same length (offsets kept)."""
    assert len(old) == len(new)
    data = path.read_bytes()
    assert data.count(old.encode()) == 1
    path.write_bytes(data.replace(old.encode(), new.encode()))


def test_uids_that_differ_from_the_dicomdir_are_listed(
    medium: tuple[Path, Path, list[Path]],
) -> None:
    root, dicomdir, (first, second) = medium
    ds = pydicom.dcmread(first)
    sop, series = str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID)
    wrong_sop = sop[:-1] + ("1" if sop[-1] != "1" else "2")
    wrong_series = series[:-1] + ("1" if series[-1] != "1" else "2")
    _replace(dicomdir, sop, wrong_sop)
    _replace(dicomdir, series, wrong_series)
    database = db.database(root)
    problems = _media_problems(database)
    first_rel, second_rel = (p.relative_to(root).as_posix() for p in (first, second))
    assert set(problems) == {first_rel, second_rel}  # both files are in that series
    said = " | ".join(problems[first_rel])
    assert f"(0008,0018) 'SOP Instance UID' '{sop}' differs from '{wrong_sop}'" in said
    assert f"(0020,000E) 'Series Instance UID' '{series}'" in said
    assert "the file's is used" in said
    assert len(problems[second_rel]) == 1 and "Series Instance UID" in problems[second_rel][0]
    # the files are the truth: the tree is theirs
    (in_dicomdir,) = database.series(SeriesDescription="in DICOMDIR")
    assert in_dicomdir.SeriesInstanceUID == series
    assert sorted(i.SOPInstanceUID for i in in_dicomdir.instances()) == sorted(
        str(pydicom.dcmread(p).SOPInstanceUID) for p in (first, second)
    )


def test_a_file_on_the_medium_that_the_dicomdir_does_not_name(
    medium: tuple[Path, Path, list[Path]],
) -> None:
    root, dicomdir, images = medium
    (extra,) = write_valid_series(dicomdir.parent / "EXTRA", "added later", n=1)
    database = db.database(root)
    problems = _media_problems(database)
    (why,) = problems[extra.relative_to(root).as_posix()]
    assert why.startswith("not named by 'fileset/DICOMDIR'") and "indexed all the same" in why
    assert len(problems) == 1  # the series 'elsewhere' is not on the medium
    assert extra in {Path(f) for f in database.files()}


def test_a_dicomdir_whose_records_cannot_be_followed(
    medium: tuple[Path, Path, list[Path]],
) -> None:
    """A first-record offset that points nowhere: the DICOMDIR is listed, the files open."""
    root, dicomdir, images = medium
    data = dicomdir.read_bytes()
    tag = b"\x04\x00\x00\x12UL\x04\x00"  # (0004,1200) UL, 4 bytes, in Explicit VR LE
    at = data.index(tag) + len(tag)
    dicomdir.write_bytes(data[:at] + struct.pack("<I", 7) + data[at + 4 :])
    database = db.database(root)
    (why,) = _media_problems(database)["fileset/DICOMDIR"]
    assert "records cannot be read" in why and "offset (7) points to no directory record" in why
    assert set(images) <= {Path(f) for f in database.files()}


def test_the_check_follows_the_folder(medium: tuple[Path, Path, list[Path]]) -> None:
    """A file removed after the folder was opened: a refresh lists it as missing."""
    root, dicomdir, (first, second) = medium
    database = db.database(root)
    assert _media_problems(database) == {}
    second.unlink()
    database.refresh()
    assert list(_media_problems(database)) == [second.relative_to(root).as_posix()]


# ------------------------------------------------------------------ writing


def _identity(database: db.Database) -> set[tuple[str, str, str, str]]:
    return {
        (i.PatientID, i.StudyInstanceUID, i.SeriesInstanceUID, i.SOPInstanceUID)
        for i in database.instances()
    }


def test_an_export_with_a_dicomdir_round_trips(demo_folder: Path, tmp_path: Path) -> None:
    database = db.database(demo_folder)
    out = database.export_as_dicom(tmp_path / "medium", dicomdir=True)
    assert out == tmp_path / "medium" and out.exported == 5 and out.skipped == ()

    fileset = FileSet(pydicom.dcmread(out / "DICOMDIR"))
    assert len(fileset) == len(database.instances()) == 48
    assert {
        (i.PatientID, i.StudyInstanceUID, i.SeriesInstanceUID, i.SOPInstanceUID) for i in fileset
    } == _identity(database)
    sources = {i.SOPInstanceUID: Path(i.path) for i in database.instances()}
    for instance in fileset:
        assert is_conformant_file_id(Path(instance.FileID)), instance.FileID
        # the files are copied byte for byte
        assert Path(instance.path).read_bytes() == sources[instance.SOPInstanceUID].read_bytes()
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert len(files) == 49 and Path("DICOMDIR") in files  # nothing else is left there

    errors, warnings = dciodvfy(out / "DICOMDIR")
    assert errors == [] and warnings == []
    dumped = subprocess.run(
        [program("dcdirdmp"), str(out / "DICOMDIR")], capture_output=True, text=True, check=True
    )
    listing = dumped.stdout + dumped.stderr  # dicom3tools' own reading of the records
    for instance in fileset:
        assert instance.FileID.replace("/", "\\") in listing
    if shutil.which("dcmdump"):  # dcmtk, when installed (Debian package dcmtk)
        dump = subprocess.run(
            ["dcmdump", str(out / "DICOMDIR")], capture_output=True, text=True, check=True
        )
        assert dump.stdout.count('"Directory Record" IMAGE') == 48

    reopened = db.database(out)
    assert reopened.problems().empty, reopened.problems().to_string()
    assert _identity(reopened) == _identity(database)
    vfa = database.series(SeriesDescription="VFA")[0].to_xarray()
    again = reopened.series(SeriesDescription="VFA")[0].to_xarray()
    np.testing.assert_array_equal(again.values, vfa.values)


def test_a_medium_needs_an_empty_folder(demo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "usb"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    database = db.database(demo_folder)
    with pytest.raises(db.MediumError, match="not empty"):
        database.export_as_dicom(out, dicomdir=True)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_series_the_dicomdir_records_cannot_hold_is_skipped(
    demo_folder: Path, tmp_path: Path
) -> None:
    """No Study ID (Type 2 in an image, Type 1 in a STUDY record): skipped, then fixed."""
    for path in demo_folder.rglob("CT*.dcm"):
        ds = pydicom.dcmread(path)
        del ds.StudyID
        ds.save_as(path)
    status = Recorder()
    database = db.database(demo_folder, status=status)
    (ct,) = database.series(Modality="CT")
    out = database.export_as_dicom(tmp_path / "medium", dicomdir=True)
    assert out.exported == 4 and [s.series for s in out.skipped] == [ct.label()]
    why = out.skipped[0].reason
    assert "(0020,0010) 'Study ID' is missing" in why and "study.StudyID = ..." in why
    assert any(m.startswith(f"Series {ct.label()!r} skipped") for m in status.messages)
    assert len(FileSet(pydicom.dcmread(out / "DICOMDIR"))) == 38
    assert db.database(out).problems().empty

    with pytest.raises(db.MediumError, match=r"'Study ID' is missing") as raised:
        ct.export_as_dicom(tmp_path / "alone", dicomdir=True)
    assert ct.files()[0] in str(raised.value)
    assert not (tmp_path / "alone" / "DICOMDIR").exists()

    ct.studies().StudyID = "7"  # the way out the message gives
    alone = ct.export_as_dicom(tmp_path / "fixed", dicomdir=True)
    assert len(FileSet(pydicom.dcmread(alone / "DICOMDIR"))) == 10
    database.restore()


def test_a_file_without_file_meta_is_written_with_it(demo_folder: Path, tmp_path: Path) -> None:
    """A medium holds PS3.10 files: an old ACR-NEMA-style file gets its preamble and meta."""
    source = Path(db.database(demo_folder).series(SeriesDescription="T2w")[0].files()[0])
    data = source.read_bytes()
    meta_length = struct.unpack("<I", data[140:144])[0]  # (0002,0000) UL
    folder = tmp_path / "old"
    folder.mkdir()
    bare = folder / "bare.dcm"
    bare.write_bytes(data[144 + meta_length :])  # the data set alone
    database = db.database(folder)
    assert len(database.instances()) == 1
    out = database.export_as_dicom(tmp_path / "medium", dicomdir=True)
    (instance,) = FileSet(pydicom.dcmread(out / "DICOMDIR"))
    written = pydicom.dcmread(instance.path)  # no force needed: a PS3.10 file
    assert (
        written.file_meta.TransferSyntaxUID == pydicom.dcmread(source).file_meta.TransferSyntaxUID
    )
    np.testing.assert_array_equal(written.pixel_array, pydicom.dcmread(source).pixel_array)
    assert dciodvfy(instance.path)[0] == dciodvfy(source)[0]


def test_records_chained_thousands_of_levels_deep_are_followed(tmp_path: Path) -> None:
    """A trial: 3,000 levels of lower-level records made problems() raise RecursionError."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    n = 3000
    shutil.copy(pydicom.data.get_testdata_file("CT_small.dcm"), tmp_path / "good.dcm")
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("DICOMDIR"))
    records = []
    for _ in range(n):
        record = Dataset()
        record.OffsetOfTheNextDirectoryRecord = 0
        record.RecordInUseFlag = 0xFFFF
        record.OffsetOfReferencedLowerLevelDirectoryEntity = 0
        record.DirectoryRecordType = "PRIVATE"
        records.append(record)
    ds.DirectoryRecordSequence = Sequence(records)
    path = tmp_path / "DICOMDIR"
    ds.save_as(path, enforce_file_format=False)
    places = [int(r.seq_item_tell) for r in pydicom.dcmread(path).DirectoryRecordSequence]
    for k in range(n - 1):
        ds.DirectoryRecordSequence[k].OffsetOfReferencedLowerLevelDirectoryEntity = places[k + 1]
    ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = places[0]
    ds.save_as(path, enforce_file_format=False)
    database = db.database(tmp_path)
    assert len(database.series()) == 1
    assert "not named by 'DICOMDIR'" in " ".join(database.problems()["problem"])
    database.close()
