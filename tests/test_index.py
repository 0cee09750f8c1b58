"""The folder index: first scan, reopening, refreshing, on-demand tags, storage."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pydicom
import pytest
from builders import Manifest, build_database
from readonly import read_only

import dbdicom as db
from dbdicom._index import HIDDEN, Index


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Content hash and mtime of every user file (the hidden folder left out)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and HIDDEN not in path.parts:
            out[str(path.relative_to(root))] = (
                hashlib.sha1(path.read_bytes()).hexdigest(),
                path.stat().st_mtime_ns,
            )
    return out


def test_first_open_indexes_every_file(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    database = db.database(root)
    frame = database.index.frame
    assert sorted(frame["_path"]) == sorted(manifest.files)
    assert (frame["_error"] == "").all()
    assert len(database.patients()) == manifest.n_patients
    assert len(database.studies()) == manifest.n_studies
    assert len(database.series()) == manifest.n_series
    assert len(database.instances()) == manifest.n_instances
    # the index is kept in the folder, as Parquet files (written in the background)
    database.index.flush()
    assert (root / HIDDEN / "index" / "_manifest.json").is_file()
    table = pq.read_table(root / HIDDEN / "index" / "part=00000" / "part.parquet")
    assert table.num_rows == manifest.n_instances


def test_index_values_match_pydicom(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    database = db.database(root)
    for instance in database.instances():
        ds = pydicom.dcmread(instance.path, stop_before_pixels=True)
        assert instance.SOPInstanceUID == ds.SOPInstanceUID
        assert instance.Rows == ds.Rows
        assert instance.SeriesDescription == ds.SeriesDescription
        if "ImagePositionPatient" in ds:
            assert instance.ImagePositionPatient == tuple(float(x) for x in ds.ImagePositionPatient)
            assert instance.SliceLocation == pytest.approx(float(ds.SliceLocation))
        assert instance.ImageType == tuple(ds.ImageType)


def test_uncompressed_pixel_offsets(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    frame = db.database(root).index.frame
    for _, row in frame.iterrows():
        ds = pydicom.dcmread(root / row["_path"])
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            assert row["_encapsulated"] and row["_offset"] == -1
            continue
        with open(root / row["_path"], "rb") as f:
            f.seek(row["_offset"])
            assert f.read(row["_nbytes"]) == ds.PixelData


def test_reopen_loads_the_saved_index(
    database_folder: tuple[Path, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = database_folder
    db.database(root).close()
    read: list[str] = []
    import dbdicom._index._scan as scan

    original = scan.scan_one
    monkeypatch.setattr(
        scan, "scan_one", lambda r, rel, *a: read.append(rel) or original(r, rel, *a)
    )
    database = db.database(root)
    assert read == []  # nothing read again
    assert len(database.instances()) > 0


def test_reopen_reads_only_changed_files(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    db.database(root).close()
    series = manifest.series_by_description("CT abdomen")
    changed = root / series.files[0]
    ds = pydicom.dcmread(changed)
    ds.SeriesDescription = "CT abdomen edited outside"
    ds.save_as(changed)
    removed = root / series.files[1]
    removed.unlink()
    added = root / "new" / "added.dcm"
    added.parent.mkdir()
    shutil.copy(root / series.files[2], added)
    ds = pydicom.dcmread(added)
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(added)

    index = Index(root)
    index.open()
    paths = set(index.frame["_path"])
    assert series.files[1] not in paths
    assert "new/added.dcm" in paths
    assert len(paths) == manifest.n_instances  # one removed, one added
    database = db.database(root)
    assert "CT abdomen edited outside" in database.SeriesDescription


def test_scan_rebuilds(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    database = db.database(root)
    database.index.flush()
    (root / HIDDEN / "index" / "part=00000" / "part.parquet").write_bytes(b"damaged")
    database.scan()
    assert len(database.instances()) == manifest.n_instances
    database.index.flush()
    # a damaged manifest is not an error: the index is rebuilt from the files
    # (a damaged partition is: tests/test_parts.py)
    (root / HIDDEN / "index" / "_manifest.json").write_bytes(b"damaged")
    assert len(db.database(root).instances()) == manifest.n_instances


def test_opening_never_modifies_user_files(database_folder: tuple[Path, Manifest]) -> None:
    root, _ = database_folder
    before = _snapshot(root)
    database = db.database(root)
    database.print()
    database.instances()[0].get("PatientPosition")  # an on-demand read
    database.scan()
    database.close()
    assert _snapshot(root) == before


def test_tag_not_in_index_is_read_once_and_remembered(
    database_folder: tuple[Path, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, manifest = database_folder
    database = db.database(root)
    series = database.series(SeriesDescription="CT abdomen")[0]
    import dbdicom._index._files as index_module  # where the index reads a file

    calls: list[str] = []
    original = index_module.read_any_header
    monkeypatch.setattr(
        index_module, "read_any_header", lambda p, w: calls.append(p) or original(p, w)
    )
    assert series.PatientPosition == "HFS"
    assert len(calls) == series_len(series)  # only this series' files
    calls.clear()
    assert series.PatientPosition == "HFS"
    assert calls == []  # remembered
    database.close()
    # and kept with the saved index
    reopened = db.database(root)
    assert reopened.series(SeriesDescription="CT abdomen")[0].PatientPosition == "HFS"
    assert calls == []


def series_len(series: db.Series) -> int:
    return len(series.instances())


def test_query_on_a_tag_not_in_the_index(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    database = db.database(root)
    found = database.instances(PatientPosition="HFS", Modality="CT")
    assert len(found) == manifest.series_by_description("CT abdomen").n_instances


def test_enhanced_frames_table(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    database = db.database(root)
    info = manifest.series_by_description("ME enhanced")
    frames = database.index.frames
    mine = frames[frames["_path"] == info.files[0]]
    assert len(mine) == info.n_frames
    expected = sorted(f["EchoTime"] for f in info.instances[0].frames)
    assert sorted(mine["EchoTime"]) == pytest.approx(expected)
    assert mine["ImagePositionPatient[2]"].notna().all()


@pytest.mark.parametrize("how", ["mode", "immutable"])
def test_read_only_folder_keeps_index_in_cache(
    database_folder: tuple[Path, Manifest],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    """Read-only by permission bits (respected even by root) or truly immutable."""
    root, manifest = database_folder
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    before = _snapshot(root)
    root_mtime = root.stat().st_mtime_ns
    with read_only(root, how):
        database = db.database(root)
        assert database.read_only
        assert len(database.instances()) == manifest.n_instances
        assert not (root / HIDDEN).exists()
        database.index.flush()
        assert list(cache.rglob("_manifest.json")) and list(cache.rglob("*.parquet"))
        again = db.database(root)  # reopens from the cache
        assert len(again.series()) == manifest.n_series
        again.close()
    assert _snapshot(root) == before
    assert root.stat().st_mtime_ns == root_mtime  # nothing created, even hidden


def test_parallel_and_serial_scans_agree(tmp_path: Path) -> None:
    from dbdicom._index import scan_files, walk

    manifest = build_database(tmp_path / "db")
    files = walk(str(manifest.root))
    serial, f1 = scan_files(str(manifest.root), files, workers=1)
    import dbdicom._index._scan as scan

    old = scan.PARALLEL_THRESHOLD
    scan.PARALLEL_THRESHOLD = 1
    try:
        parallel, f2 = scan_files(str(manifest.root), files, workers=2)
    finally:
        scan.PARALLEL_THRESHOLD = old
    import pandas as pd

    pd.testing.assert_frame_equal(serial, parallel)
    assert len(serial) == manifest.n_instances
    assert f1 == f2


def test_walk_skips_hidden(tmp_path: Path) -> None:
    from dbdicom._index import walk

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.dcm").write_bytes(b"1")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "y.dcm").write_bytes(b"1")
    (tmp_path / "._z").write_bytes(b"1")
    assert list(walk(str(tmp_path))) == ["a/x.dcm"]


def test_index_memory_is_small(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    frame = db.database(root).index.frame
    # not a timing: a size bound on the table that the benchmark measures at scale
    assert frame.memory_usage(deep=True).sum() / len(frame) < 4096


def test_path_errors(tmp_path: Path) -> None:
    with pytest.raises(db.DatabaseNotFoundError, match="does not exist"):
        db.database(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        db.database(tmp_path / "nowhere")
    file = tmp_path / "f.dcm"
    file.write_bytes(b"x")
    with pytest.raises(db.DatabaseNotFoundError, match="is a file"):
        db.database(file)
    assert not os.path.exists(tmp_path / "nowhere")


class _Recorder(db.Status):
    """A status that remembers what it was told (as a GUI's would)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, int, str]] = []

    def progress(self, value: int, total: int, text: str = "") -> None:
        self.calls.append((value, total, text))


def test_scan_reports_progress(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    status = _Recorder()
    db.database(root, status=status)
    assert status.calls, "a scan reports its progress"
    assert status.calls[-1][:2] == (manifest.n_instances, manifest.n_instances)
    assert [c[0] for c in status.calls] == sorted(c[0] for c in status.calls)
    status.calls.clear()
    db.database(root, status=status)  # nothing to read: nothing to report
    assert status.calls == []


def test_refreshed_index_is_written_at_exit(database_folder: tuple[Path, Manifest]) -> None:
    """Small changes are written when the process exits, even without close()."""
    import subprocess
    import sys

    from dbdicom._index._parts import Parts

    root, manifest = database_folder
    db.database(root).close()
    changed = root / manifest.series_by_description("CT abdomen").files[0]
    ds = pydicom.dcmread(changed)
    ds.SeriesDescription = "changed outside"
    ds.save_as(changed)
    code = f"import dbdicom as db; db.database({str(root)!r}).instances()"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    loaded = Parts(root / HIDDEN / "index").load()
    assert loaded is not None
    assert "changed outside" in set(loaded[0].column("SeriesDescription").to_pylist())


def test_deleting_the_folder_after_opening(tmp_path: Path) -> None:
    """Nothing is written, or recreated, in a folder removed while open."""
    manifest = build_database(tmp_path / "db")
    database = db.database(manifest.root)
    assert database.instances()[0].PatientPosition  # an on-demand read: index now dirty
    shutil.rmtree(manifest.root)
    database.close()
    assert not manifest.root.exists()


def test_parallel_scan_with_other_threads_running(tmp_path: Path) -> None:
    """With threads alive (as after a dask compute) workers are not forked, and the scan works."""
    import threading

    import dbdicom._index._scan as scan
    from dbdicom._index import scan_files, walk

    manifest = build_database(tmp_path / "db")
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, daemon=True)
    worker.start()
    old = scan.PARALLEL_THRESHOLD
    scan.PARALLEL_THRESHOLD = 1
    try:
        assert scan._context().get_start_method() == "forkserver"
        frame, _ = scan_files(str(manifest.root), walk(str(manifest.root)), workers=2)
    finally:
        scan.PARALLEL_THRESHOLD = old
        stop.set()
        worker.join()
    assert len(frame) == manifest.n_instances
    assert (frame["_error"] == "").all()
