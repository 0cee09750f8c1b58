"""What a reopen notices, and when (the contract of docs/browsing.md).

A reopen lists again only the folders whose modification time changed since
the index was saved (a file added, removed or renamed changes its folder's
time); a file rewritten in place (its folder's time unchanged) is read again
when dbdicom next reads it, and found at once by ``refresh(full=True)`` and
``scan()``. The folders are given times an hour old first, as a folder
changed in the last seconds is listed again whatever its time (the "racy"
rule, tested last).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pydicom
import pytest
from builders import Manifest

import dbdicom as db
from dbdicom._index import HIDDEN, Index
from dbdicom._index import _store as store_module
from dbdicom._index import _walk as walk_module
from dbdicom._index._parts import Parts

HOUR = 3600 * 10**9


def _folders(root: Path) -> list[Path]:
    """Every folder of the database (the hidden index folder left out)."""
    out = [root]
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        out.extend(Path(dirpath) / d for d in dirnames)
    return out


def _age(root: Path) -> int:
    """Give every folder a modification time an hour back; returns it."""
    old = time.time_ns() - HOUR
    for folder in _folders(root):
        os.utime(folder, ns=(old, old))
    return old


@pytest.fixture
def aged(database_folder: tuple[Path, Manifest]) -> tuple[Path, Manifest]:
    """The test database with old folder times, its index saved with them.

    (The first open makes the hidden index folder, which changes the root's time.)
    """
    root, manifest = database_folder
    db.database(root).close()
    _age(root)
    db.database(root).close()
    return root, manifest


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The folders a walk lists (``os.scandir`` calls of the walk module)."""
    calls: list[str] = []
    original = os.scandir

    def recording(path: str) -> object:
        calls.append(str(path))
        return original(path)

    monkeypatch.setattr(walk_module.os, "scandir", recording)
    yield calls


def _rel(root: Path, paths: list[str]) -> set[str]:
    return {Path(p).relative_to(root).as_posix() if Path(p) != root else "" for p in paths}


def _rewrite_in_place(path: Path, **values: object) -> None:
    """Another process rewrites ``path`` in place (pydicom's ``save_as`` to the same name).

    The folder's time is put back as it was, to be sure it tells nothing.
    """
    folder = path.parent.stat()
    code = textwrap.dedent(
        f"""
        import pydicom
        ds = pydicom.dcmread({str(path)!r})
        for keyword, value in {values!r}.items():
            setattr(ds, keyword, value)
        ds.save_as({str(path)!r})
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    os.utime(path.parent, ns=(folder.st_atime_ns, folder.st_mtime_ns))


def test_a_reopen_lists_only_the_folders_that_changed(
    aged: tuple[Path, Manifest], listed: list[str]
) -> None:
    """Added, removed and renamed files, each in another sub-folder, and nothing else."""
    root, manifest = aged
    source = root / manifest.series_by_description("CT abdomen").files[0]
    added = root / manifest.series_by_description("T2w").files[0]
    added = added.parent / "added.dcm"
    ds = pydicom.dcmread(source)
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(added)
    removed = manifest.series_by_description("CT abdomen").files[1]
    (root / removed).unlink()
    vfa = manifest.series_by_description("VFA").files[0]
    renamed = str(Path(vfa).parent / "renamed")
    os.rename(root / vfa, root / renamed)

    database = db.database(root)
    paths = set(database.index.frame["_path"])
    assert _rel(root, listed) == {
        Path(p).parent.as_posix() for p in (added.relative_to(root), removed, renamed)
    }
    assert added.relative_to(root).as_posix() in paths
    assert removed not in paths and vfa not in paths and renamed in paths
    assert len(database.instances()) == manifest.n_instances  # one added, one removed
    assert database.instances(SOPInstanceUID=ds.SOPInstanceUID)[0].path == str(added)


def test_an_unchanged_folder_is_not_listed_and_its_state_is_kept(
    aged: tuple[Path, Manifest], listed: list[str]
) -> None:
    root, manifest = aged
    loaded = Parts(root / HIDDEN / "index").load()
    assert loaded is not None
    saved = loaded[1]["folders"]
    assert set(saved) == _rel(root, [str(f) for f in _folders(root)])
    assert all(t == (root / name).stat().st_mtime_ns for name, t in saved.items())
    listed.clear()  # os.walk above lists them too
    database = db.database(root)
    assert listed == []
    assert database.index.folders == saved
    enhanced = manifest.series_by_description("ME enhanced")
    assert len(database.index.frames) == enhanced.n_frames  # saved beside, loaded again


def test_a_saved_index_without_its_frames_table_is_rebuilt(
    aged: tuple[Path, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-frame values of enhanced files are never silently lost."""
    root, manifest = aged
    (root / HIDDEN / "frames.arrow").unlink()
    import dbdicom._index._scan as scan

    read: list[str] = []
    original = scan.scan_one
    monkeypatch.setattr(
        scan, "scan_one", lambda r, rel, *a: read.append(rel) or original(r, rel, *a)
    )
    database = db.database(root)
    assert sorted(read) == sorted(manifest.files)
    assert len(database.index.frames) == manifest.series_by_description("ME enhanced").n_frames


def test_a_file_rewritten_in_place_is_read_again_when_read(aged: tuple[Path, Manifest]) -> None:
    """The reopen keeps its old row; reading its pixels or a tag not in the index takes it in."""
    root, manifest = aged
    info = manifest.series_by_description("CT abdomen")
    first, second = root / info.files[0], root / info.files[1]
    _rewrite_in_place(first, SeriesDescription="rewritten", ImageComments="now")
    _rewrite_in_place(second, SeriesDescription="rewritten too", PatientPosition="FFS")

    database = db.database(root)
    one = database.instances(SOPInstanceUID=info.sop_instance_uids[0])[0]
    two = database.instances(SOPInstanceUID=info.sop_instance_uids[1])[0]
    assert one.SeriesDescription == two.SeriesDescription == "CT abdomen"  # not looked at
    assert two.PatientPosition == "FFS"  # a tag not in the index: read from the file as it is
    assert two.SeriesDescription == "rewritten too"  # and its row with it
    assert one.SeriesDescription == "CT abdomen"

    series = database.series(SeriesDescription="CT abdomen")[0]
    da = series.to_xarray()  # its files are checked before their pixels are read
    assert one.SeriesDescription == "rewritten"
    assert series.SeriesDescription == ["CT abdomen", "rewritten", "rewritten too"]
    assert da.sizes["SliceLocation"] == info.n_instances
    assert one.ImageComments == "now"
    frame = database.index.frame.set_index("_path")
    for path in (first, second):
        st = path.stat()
        rel = path.relative_to(root).as_posix()
        assert (frame.at[rel, "_size"], frame.at[rel, "_mtime"]) == (st.st_size, st.st_mtime_ns)


def test_refresh_full_and_scan_compare_every_file(aged: tuple[Path, Manifest]) -> None:
    root, manifest = aged
    info = manifest.series_by_description("CT abdomen")
    _rewrite_in_place(root / info.files[0], SeriesDescription="rewritten")
    database = db.database(root)
    assert database.refresh() is False  # no folder's time changed
    assert database.refresh(full=True) is True
    assert database.instances(SOPInstanceUID=info.sop_instance_uids[0])[0].SeriesDescription == (
        "rewritten"
    )
    assert database.refresh(full=True) is False  # nothing more: nothing read again

    _rewrite_in_place(root / info.files[1], SeriesDescription="rewritten by scan")
    database.scan()
    assert database.instances(SOPInstanceUID=info.sop_instance_uids[1])[0].SeriesDescription == (
        "rewritten by scan"
    )


def test_a_folder_replaced_by_a_link_is_not_walked_through(
    aged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """A known folder under a folder that changed is looked for in that folder's listing."""
    root, manifest = aged
    study = Path(manifest.series_by_description("VFA").files[0]).parents[1]
    outside = tmp_path / "outside"
    shutil.copytree(root / study, outside)  # the same sub-folders, outside the database
    shutil.rmtree(root / study)
    (root / study).symlink_to(outside, target_is_directory=True)
    database = db.database(root)
    paths = list(database.index.frame["_path"])
    assert not [p for p in paths if p.startswith(study.as_posix() + "/")]
    problems = database.problems()
    assert "not followed" in problems.set_index("path").at[study.as_posix(), "problem"]


def test_a_database_opened_through_a_link_to_its_folder_keeps_its_files(
    aged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """A trial: ~/data -> /mnt/disk/data opened once gave every file, then an empty
    database at every reopen (the root, a link, was taken for a folder gone); two
    spellings of one folder in one process locked each other out."""
    root, manifest = aged
    link = tmp_path / "link"
    link.symlink_to(root, target_is_directory=True)
    n = len(db.database(root).instances())
    for _ in range(2):  # the first open through the link, then a reopen
        database = db.database(link)
        assert len(database.instances()) == n
        assert database.problems().empty
        database.close()
    first, second = db.database(root), db.database(link)
    try:
        first.series()[0].ImageComments = "first"  # takes the writer's lock
        second.series()[0].ImageComments = "second"  # the same folder: the same lock
        assert second.unsaved
    finally:
        second.restore()
        first.close()
        second.close()


def test_rows_saved_as_not_matching_their_files_are_read_again(
    aged: tuple[Path, Manifest],
) -> None:
    """Edits held in memory are saved with the index as 'read this file again'."""
    root, manifest = aged
    index = Index(root).open()
    row = int(index.ok[0])
    index.set_cells(index.ok[:1], "SeriesDescription", "only in memory")
    index.save()
    again = Index(root).open()
    rel = index.frame["_path"].iat[row]
    assert again.frame.set_index("_path").at[rel, "SeriesDescription"] != "only in memory"


def test_an_index_of_an_older_format_is_rebuilt(
    database_folder: tuple[Path, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, manifest = database_folder
    _age(root)
    monkeypatch.setattr(store_module, "FORMAT", 4)
    db.database(root).close()
    monkeypatch.undo()
    import dbdicom._index._scan as scan

    read: list[str] = []
    original = scan.scan_one
    monkeypatch.setattr(
        scan, "scan_one", lambda r, rel, *a: read.append(rel) or original(r, rel, *a)
    )
    database = db.database(root)
    assert sorted(read) == sorted(manifest.files)
    database.close()
    manifest = json.loads((root / HIDDEN / "index" / "_manifest.json").read_text())
    assert manifest["format"] == store_module.FORMAT
    loaded = Parts(root / HIDDEN / "index").load()
    assert loaded is not None
    assert "" in loaded[1]["folders"]


def _copy_in_progress(source: Path, target: Path, description: str, cut: int) -> bytes:
    """A copy of ``source`` as a new series, of which only the first ``cut`` bytes are written.

    Returns the whole file's bytes (what the copy writes in the end).
    """
    ds = pydicom.dcmread(source)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.SeriesDescription = description
    ds.save_as(target)
    data = target.read_bytes()
    target.write_bytes(data[: cut if cut > 0 else len(data) + cut])
    return data


def test_a_copy_finished_after_the_folder_was_indexed_is_taken_in(
    aged: tuple[Path, Manifest],
) -> None:
    """Files listed as unreadable or truncated are compared at each reopen and refresh.

    The copies are finished in place: their folder's time tells nothing.
    """
    root, manifest = aged
    source = root / manifest.series_by_description("CT abdomen").files[0]
    (root / "incoming").mkdir()
    first, second = root / "incoming" / "A.dcm", root / "incoming" / "B.dcm"
    whole_first = _copy_in_progress(source, first, "incoming A", 100)  # not DICOM yet
    whole_second = _copy_in_progress(source, second, "incoming B", -2000)  # pixels cut
    old = _age(root)
    database = db.database(root)
    found = dict(database.problems().itertuples(index=False))
    assert "not a DICOM file" in found["incoming/A.dcm"]
    assert "pixel data truncated" in found["incoming/B.dcm"]
    database.close()

    with open(first, "r+b") as f:  # the copies end, written in place
        f.seek(100)
        f.write(whole_first[100:])
    os.utime(root / "incoming", ns=(old, old))
    reopened = db.database(root)
    assert reopened.series(SeriesDescription="incoming A")
    assert reopened.problems().path.tolist() == ["incoming/B.dcm"]  # not finished yet
    with open(second, "ab") as f:
        f.write(whole_second[-2000:])
    os.utime(root / "incoming", ns=(old, old))
    assert reopened.refresh() is True
    assert not len(reopened.problems())
    (series,) = reopened.series(SeriesDescription="incoming B")
    assert (series.to_xarray().values == pydicom.dcmread(second).pixel_array).all()
    assert reopened.refresh() is False


def test_files_of_other_kinds_are_not_compared_at_each_refresh(
    aged: tuple[Path, Manifest],
) -> None:
    """A file whose head is there without the DICM marker is no copy under way.

    (A folder may hold many: sidecars, NIfTI files. Comparing them all at
    each reopen and refresh made those ten times slower.) A full refresh
    still reads it again when it changed.
    """
    root, _ = aged
    notes = root / "notes.json"
    notes.write_text('{"comment": "' + "x" * 300 + '"}')
    old = _age(root)
    database = db.database(root)
    assert "not a DICOM file" in dict(database.problems().itertuples(index=False))["notes.json"]
    notes.write_text('{"comment": "' + "y" * 400 + '"}')  # in place: its folder's time kept
    os.utime(root, ns=(old, old))
    assert database.refresh() is False
    assert database.refresh(full=True) is True
    database.close()


def test_a_folder_changed_in_the_last_seconds_is_listed_again(
    database_folder: tuple[Path, Manifest], listed: list[str]
) -> None:
    """Its time may not tell a change made in the same tick of the clock: -1, listed again."""
    root, _ = database_folder  # just written: every folder's time is recent
    db.database(root).close()
    first = len(listed)
    database = db.database(root)
    assert set(database.index.folders.values()) == {-1}
    assert _rel(root, listed[first:]) == set(database.index.folders)


def test_what_a_reopen_loads_is_what_a_scan_finds(aged: tuple[Path, Manifest]) -> None:
    """The loaded table, its tags no file has and its tree, as the files give them."""
    root, _ = aged
    reopened = db.database(root)
    scanned = db.database(root).scan()
    loaded, fresh = reopened.index, scanned.index
    columns = [c for c in fresh.frame.columns if c in loaded.frame.columns]
    pd.testing.assert_frame_equal(loaded.frame[columns], fresh.frame[columns])
    assert loaded.absent() == fresh.absent()
    loaded._absent = None  # worked out from the table instead of the saved file
    assert loaded.absent() == fresh.absent()
    assert [s.uid for s in reopened.series()] == [s.uid for s in scanned.series()]


def test_keys_made_from_other_tags_follow_a_file_read_again(
    aged: tuple[Path, Manifest],
) -> None:
    """A file without its SeriesInstanceUID is keyed from SeriesDescription: reading
    it again with another description keys it again (and only then is the table keyed)."""
    root, manifest = aged
    (root / manifest.series_by_description("ME enhanced").files[0]).unlink()  # rows in place
    path = root / manifest.series_by_description("CT abdomen").files[0]
    ds = pydicom.dcmread(path)
    del ds.SeriesInstanceUID
    ds.save_as(path)
    database = db.database(root)
    assert database.refresh(full=True)  # the index knows it has no SeriesInstanceUID
    before = database.index.frame.set_index("_path").at[
        path.relative_to(root).as_posix(), "_series"
    ]
    _rewrite_in_place(path, SeriesDescription="another description")
    assert database.refresh(full=True)
    scanned = db.database(root).scan()
    for index in (database.index, scanned.index):
        keys = index.frame.set_index("_path")["_series"]
        assert keys[path.relative_to(root).as_posix()] != before
    mine = database.index.frame.set_index("_path")[["_patient", "_study", "_series", "_instance"]]
    fresh = scanned.index.frame.set_index("_path")[["_patient", "_study", "_series", "_instance"]]
    pd.testing.assert_frame_equal(mine.sort_index(), fresh.sort_index())
