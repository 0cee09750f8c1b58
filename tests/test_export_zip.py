"""Exports into a zip file: ``export_as_dicom("out.zip")`` made a FOLDER named out.zip.

A user naming a ``.zip`` expects one archive holding what the folder export
holds, at the same relative paths, that ``zipfile`` lists and dbdicom opens;
an existing one replaced whole or not at all; into a bucket, one object.
"""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.fileset import FileSet
from servers import SHARED_BUCKET, SeaweedFS, bucket_fs

import dbdicom as db
from dbdicom._demo import build_demo
from dbdicom._export import export_zip


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> db.Database:
    return db.database(build_demo(tmp_path_factory.mktemp("demo") / "demo"))


def _files(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` by its relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as z:
        assert z.testzip() is None
        return {name: z.read(name) for name in z.namelist()}


@pytest.mark.parametrize("level", ["database", "patient", "study", "series"])
def test_a_zip_holds_what_the_folder_would(demo: db.Database, tmp_path: Path, level: str) -> None:
    ct = demo.series(SeriesDescription="CT phantom")[0]
    record = {"database": demo, "patient": ct.parent.parent, "study": ct.parent, "series": ct}[
        level
    ]
    folder = record.export_as_dicom(tmp_path / "folder")
    archive = record.export_as_dicom(tmp_path / "out.zip")
    assert Path(archive) == tmp_path / "out.zip" and archive.is_file()
    assert archive.exported == folder.exported > 0 and archive.skipped == folder.skipped == ()
    assert _members(archive) == _files(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "out.zip"]  # nothing left
    opened = db.database(archive)  # read-only, the same instances and pixels
    assert opened.read_only
    assert sorted(i.uid for i in opened.instances()) == sorted(i.uid for i in record.instances())
    (same,) = opened.series(SeriesInstanceUID=ct.uid)
    assert np.array_equal(same.to_xarray().values, ct.to_xarray().values)


def test_a_dicomdir_goes_into_the_zip(demo: db.Database, tmp_path: Path) -> None:
    study = demo.studies(Modality="CT")[0]
    medium = study.export_as_dicom(tmp_path / "medium", dicomdir=True)
    archive = study.export_as_dicom(tmp_path / "medium.zip", dicomdir=True)
    members = _members(archive)
    assert "DICOMDIR" in members and members.keys() == _files(medium).keys()
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(archive).extractall(unpacked)
    fileset = FileSet(pydicom.dcmread(unpacked / "DICOMDIR"))
    assert len(fileset) == len(study.instances())
    assert {str(i.SOPInstanceUID) for i in fileset} == {i.uid for i in study.instances()}
    # the files are those the DICOMDIR names (its own bytes differ: its File-set UID is new)
    assert {k: v for k, v in members.items() if k != "DICOMDIR"} == {
        k: v for k, v in _files(medium).items() if k != "DICOMDIR"
    }


def test_an_existing_zip_is_replaced_whole_or_not_at_all(demo: db.Database, tmp_path: Path) -> None:
    out = tmp_path / "out.zip"
    ct = demo.series(SeriesDescription="CT phantom")[0]
    ct.export_as_dicom(out)  # an older export (a file that is no zip file is refused: below)
    ct.export_as_dicom(out)
    assert len(_members(out)) == len(ct.instances())
    before = out.read_bytes()
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    empty_before = empty.read_bytes()
    blank = db.series(np.zeros((2, 4, 4), dtype=np.uint16))  # no StudyDate: no DICOMDIR
    with pytest.raises(db.MediumError, match="Study Date"):
        blank.export_as_dicom(empty, dicomdir=True)  # fails after the export began
    assert empty.read_bytes() == empty_before
    with pytest.raises(db.MediumError, match="not empty"):  # as into the folder it holds
        blank.export_as_dicom(out, dicomdir=True)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.zip", "out.zip"]  # no temporary


def test_a_folder_named_zip_stays_a_folder_and_a_new_zip_gets_its_folder(
    demo: db.Database, tmp_path: Path
) -> None:
    ct = demo.series(SeriesDescription="CT phantom")[0]
    (tmp_path / "folder.zip").mkdir()
    out = ct.export_as_dicom(tmp_path / "folder.zip")
    assert out.is_dir() and len(list(out.rglob("*.dcm"))) == len(ct.instances())
    deep = ct.export_as_dicom(tmp_path / "new" / "deeper" / "CT.ZIP")
    assert deep.is_file() and len(_members(deep)) == len(ct.instances())
    (tmp_path / "a-file").write_text("")
    with pytest.raises(NotADirectoryError):
        ct.export_as_dicom(tmp_path / "a-file" / "x.zip")


def test_other_formats_zip_too(demo: db.Database, tmp_path: Path) -> None:
    study = demo.studies(Modality="MR")[0]
    folder = study.export_as_csv(tmp_path / "csv")
    archive = study.export_as_csv(tmp_path / "csv.zip")
    assert _members(archive) == _files(folder) and all(
        k.endswith(".csv") for k in _members(archive)
    )


def test_a_zip_url_is_one_object_of_the_bucket(
    demo: db.Database, seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    options = seaweedfs.options
    fs = bucket_fs(options)
    prefix = f"{SHARED_BUCKET}/zip-{uuid.uuid4().hex[:10]}"
    ct = demo.series(SeriesDescription="CT phantom")[0]
    url = ct.export_as_dicom(f"s3://{prefix}/results/ct.zip", storage_options=options)
    assert url == f"s3://{prefix}/results/ct.zip" and url.exported == 1
    fs.invalidate_cache()
    assert fs.find(prefix) == [f"{prefix}/results/ct.zip"]
    local = ct.export_as_dicom(tmp_path / "ct.zip")
    assert fs.cat_file(f"{prefix}/results/ct.zip") == local.read_bytes()
    opened = db.database(f"zip://::{url}", storage_options={"s3": options})
    assert sorted(i.uid for i in opened.instances()) == sorted(i.uid for i in ct.instances())
    with pytest.raises(db.ReadOnlyError, match="Give a folder"):
        ct.export_as_dicom(f"zip://::s3://{prefix}/ct.zip", storage_options=options)


def test_a_local_file_named_zip_that_is_not_one_says_so(tmp_path: Path) -> None:
    """Trial H: it said to check that the server is reachable; there is no server."""
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"not a zip file at all")
    with pytest.raises(db.StorageError) as info:
        db.database(fake)
    assert "not a zip file" in str(info.value) and "server" not in str(info.value)


def _with_members(path: Path, members: dict[str, bytes], folder: Path | None = None) -> None:
    """A zip file ``path`` of ``members`` (dated 2001, stored), and the same files in ``folder``."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, (2001, 2, 3, 4, 5, 6)), data)
    for name, data in members.items():
        if folder is not None and not name.endswith("/"):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)


def test_an_export_into_a_zip_keeps_its_other_members_as_one_into_a_folder_keeps_its_files(
    demo: db.Database, tmp_path: Path
) -> None:
    """It replaced the whole zip file: what else the user had in it was lost."""
    ct = demo.series(SeriesDescription="CT phantom")[0]
    clash = sorted(_files(ct.export_as_dicom(tmp_path / "names")))[0]  # a name the export writes
    mine = {"notes/readme.txt": b"keep me\n", "other.dcm": b"DICM" * 40, clash: b"stale"}
    out, folder = tmp_path / "out.zip", tmp_path / "folder"
    _with_members(out, {**mine, "empty/": b""}, folder)
    old = {i.filename: i for i in zipfile.ZipFile(out).infolist()}

    ct.export_as_dicom(folder)
    archive = ct.export_as_dicom(out)
    members = _members(archive)
    assert {k: v for k, v in members.items() if k != "empty/"} == _files(folder)
    assert members["notes/readme.txt"] == b"keep me\n" and members["other.dcm"] == b"DICM" * 40
    assert members[clash] != b"stale" and members[clash] == (folder / clash).read_bytes()
    kept = {i.filename: i for i in zipfile.ZipFile(archive).infolist()}
    for name in ("notes/readme.txt", "other.dcm", "empty/"):  # as they were: date, compression
        assert (kept[name].date_time, kept[name].compress_type, kept[name].CRC) == (
            old[name].date_time,
            old[name].compress_type,
            old[name].CRC,
        )
    assert kept[clash].date_time != old[clash].date_time
    assert len(db.database(archive).instances()) == len(ct.instances())  # other.dcm: no DICOM
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary


def test_a_zarr_store_in_a_zip_is_replaced_whole_as_in_a_folder(
    demo: db.Database, tmp_path: Path
) -> None:
    """A store is one thing: a chunk the old one had and the new one has not would mix them."""
    ct = demo.series(SeriesDescription="CT phantom")[0]
    (store,) = {
        k.split(".zarr/")[0] + ".zarr" for k in _files(ct.export_as_zarr(tmp_path / "names"))
    }
    stale = {f"{store}/stale-chunk": b"old", "keep.txt": b"mine"}
    out, folder = tmp_path / "out.zip", tmp_path / "folder"
    _with_members(out, stale, folder)
    ct.export_as_zarr(folder)
    members = _members(ct.export_as_zarr(out))
    assert f"{store}/stale-chunk" not in members and members["keep.txt"] == b"mine"
    assert members == _files(folder)


def test_a_file_named_zip_that_is_no_zip_file_is_left_as_it_is(
    demo: db.Database, tmp_path: Path
) -> None:
    ct = demo.series(SeriesDescription="CT phantom")[0]
    out = tmp_path / "out.zip"
    out.write_bytes(b"an older export")
    with pytest.raises(db.InvalidFileError, match="not a zip file.*Remove or rename it"):
        ct.export_as_dicom(out)
    assert out.read_bytes() == b"an older export"
    assert [p.name for p in tmp_path.iterdir()] == ["out.zip"]


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ({"a.txt": b"1", "../up.txt": b"2"}, "no folder can hold"),
        ({"/abs.txt": b"1"}, "no folder can hold"),
        ({"a/./b.txt": b"1"}, "no folder can hold"),
        ({"a": b"1", "a/b.txt": b"2"}, "unpacks where another member is"),
    ],
    ids=["parent", "absolute", "dot", "file-and-folder"],
)
def test_a_zip_whose_members_cannot_be_kept_as_they_are_is_refused(
    demo: db.Database, tmp_path: Path, members: dict[str, bytes], why: str
) -> None:
    ct = demo.series(SeriesDescription="CT phantom")[0]
    out = tmp_path / "out.zip"
    _with_members(out, members)
    before = out.read_bytes()
    with pytest.raises(db.InvalidFileError, match=why):
        ct.export_as_dicom(out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.zip"]


def test_a_zip_with_two_members_of_one_name_is_refused(demo: db.Database, tmp_path: Path) -> None:
    ct = demo.series(SeriesDescription="CT phantom")[0]
    out = tmp_path / "out.zip"
    with zipfile.ZipFile(out, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("a.txt", b"first")
        z.writestr("a.txt", b"second")
    before = out.read_bytes()
    with pytest.raises(db.InvalidFileError, match="two members named 'a.txt'"):
        ct.export_as_dicom(out)
    assert out.read_bytes() == before


def test_a_zip_another_program_changes_during_the_export_is_left_as_it_made_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.zip"
    _with_members(out, {"a.txt": b"first"})

    def export(root: Path) -> None:
        (root / "new.txt").write_text("new")
        _with_members(out, {"a.txt": b"the other program's"})  # meanwhile, elsewhere

    with pytest.raises(db.StaleFileError, match="changed by another program"):
        export_zip(out, export)
    assert _members(out) == {"a.txt": b"the other program's"}
    assert [p.name for p in tmp_path.iterdir()] == ["out.zip"]
