"""A full disk: every write path takes nothing, loses nothing and says so.

On a real small file system (a tmpfs mounted for each test: this needs root,
which the tests have here and in CI), filled up with a file: the writer's
lock, an edit, a derived series written half way, a save, a restore, an
export and a copy into a new folder. Each failure is a ``db.DiskFullError``
that names the folder, the files are as they were byte for byte, the lock is
let go, and once space is freed the same call works, in the same process.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from bad_files import write_valid_series

import dbdicom as db

PAGE = 4096
SIZE = 4 * 1024 * 1024


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 4 MiB file system of its own, unmounted after the test."""
    if not sys.platform.startswith("linux"):
        pytest.skip(f"a tmpfs is mounted to fill it: Linux only (this is {sys.platform})")
    if os.geteuid() != 0:
        pytest.skip(
            f"mounting a small tmpfs to fill needs root: running as uid {os.geteuid()} "
            "(the tests run as root in CI)"
        )
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"'mount -t tmpfs' was refused: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode:
            subprocess.run(["umount", "-l", str(mount)], check=True)  # a file left open


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill ``disk`` up, but for ``leave`` bytes; returns the file that fills it."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    todo = max(stat.f_bavail * stat.f_frsize - leave, 0)
    chunk = b"\0" * (1 << 20)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        while todo > 0:
            todo -= os.write(fd, chunk[: min(todo, len(chunk))])
        while not leave:  # and whatever the count missed
            try:
                os.write(fd, chunk[:PAGE])
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    finally:
        os.close(fd)
    return filler


def files_of(root: Path) -> dict[str, bytes]:
    """The folder's files (not the hidden index folder), their bytes, and its links."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".dbdicom") or path.is_dir():
            continue
        out[rel] = path.read_bytes()
    return out


def lock_is_free(root: Path) -> bool:
    """Whether another writer could take the folder's lock now (it writes nothing)."""
    import fcntl

    fd = os.open(root / ".dbdicom" / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # (which lets go of it)
    return True


def _say_full(info: pytest.ExceptionInfo[db.DiskFullError], folder: Path) -> str:
    text = str(info.value)
    assert f"The disk of {folder} is full" in text
    assert "Free some space" in text
    assert info.value.errno == errno.ENOSPC
    assert isinstance(info.value, db.DicomError) and isinstance(info.value, OSError)
    return text


def test_a_lock_that_cannot_be_written_is_let_go(disk: Path) -> None:
    """The process id cannot be written in the lock file: nothing is taken, and later it is."""
    root = disk / "database"
    write_valid_series(root / "valid")
    before = files_of(root)
    database = db.database(root)
    index = index_bytes(root)
    series = database.series()[0]
    filler = fill(disk)
    with pytest.raises(db.DiskFullError) as info:
        series.SeriesDescription = "changed"
    assert "could not take the writer's lock" in _say_full(info, root)
    assert files_of(root) == before
    assert index_bytes(root) == index
    assert lock_is_free(root)
    with pytest.raises(db.DiskFullError):  # again: no "another process is changing"
        series.SeriesDescription = "changed"
    filler.unlink()
    series.SeriesDescription = "changed"
    assert database.series()[0].SeriesDescription == "changed"
    assert not lock_is_free(root)
    fill(disk)
    assert database.restore() == 3  # a whole restore needs no free space
    assert files_of(root) == before
    assert database.close()
    assert lock_is_free(root)


def _derived(series: db.Series) -> db.Series:
    """A derived series of 3 frames of 128 x 128 (about 9 pages a file)."""
    values = np.arange(3 * 128 * 128, dtype=np.uint16).reshape(3, 128, 128)
    return series.new_sibling(SeriesDescription="derived").set_array(values)


def _pages(path: Path) -> int:
    """The pages a file of ``path``'s size takes."""
    return -(-path.stat().st_size // PAGE)


@pytest.mark.parametrize("files", [1, 0], ids=["one-file", "no-file"])
@pytest.mark.parametrize("chunks", [False, True], ids=["numpy", "dask"])
def test_a_series_written_half_way_is_undone(disk: Path, chunks: bool, files: int) -> None:
    """The disk fills up after the first file of a derived series (or before): the series goes.

    Its folder too, though no file was written into it (``files`` 0).
    """
    root = disk / "database"
    write_valid_series(root / "valid")
    before = files_of(root)

    def write(series: db.Series) -> db.Series:
        if not chunks:
            return _derived(series)
        da = series.to_xarray(dims=["InstanceNumber"])
        values = np.arange(3 * 32 * 32, dtype=np.uint16).reshape(3, 32, 32) + 1
        da = da.copy(data=values).chunk({"InstanceNumber": 1})
        return series.new_sibling(SeriesDescription="derived").set_xarray(da)

    with db.database(root) as database:  # the lock file and journal exist from then on
        pages = _pages(Path(write(database.series()[0]).files()[0]))  # of a file, as written
        database.restore()
    database = db.database(root)
    index = index_bytes(root)
    (series,) = database.series()
    # room for the journal's log (a page) and ``files`` files of the three, not one more
    filler = fill(disk, leave=PAGE * (1 + pages * files) + PAGE // 2)
    with pytest.raises(db.DiskFullError) as info:
        write(series)
    assert "the change was undone" in _say_full(info, root)
    assert files_of(root) == before  # not one file of the new series
    assert not (root / "dbdicom").exists()
    assert index_bytes(root) == index
    # the new series is as it was before the write: a record with no instances yet
    assert [(s.SeriesDescription, len(s.files())) for s in database.series()] == [
        ("valid", 3),
        ("derived", 0),
    ]
    assert not database.unsaved
    assert lock_is_free(root)
    filler.unlink()
    _derived(series)
    written = [s.SeriesDescription for s in database.series() if s.files()]
    assert sorted(written) == ["derived", "valid"]
    assert database.restore() == 3
    assert files_of(root) == before
    database.close()


def test_an_edit_of_files_fails_whole(disk: Path) -> None:
    """An edit of many files (each rewritten whole) on a disk with room for some only."""
    root = disk / "database"
    write_valid_series(root / "valid", n=12)
    before = files_of(root)
    database = db.database(root)
    (series,) = database.series()
    series.PatientName = "Warm^Up"  # the lock and the journal's folders exist
    database.restore()
    filler = fill(disk, leave=PAGE * 4)
    with pytest.raises(db.DiskFullError) as info:
        series.ImageComments = "x" * 3000  # a page more per file: the fifth does not fit
    assert "the change was undone" in _say_full(info, root)
    assert files_of(root) == before
    assert not database.unsaved
    assert series.unique("ImageComments") == []
    assert not lock_is_free(root)  # held since the warm-up, as before the change
    filler.unlink()
    series.ImageComments = "x" * 3000
    assert series.unique("ImageComments") == ["x" * 3000]
    database.restore()
    assert files_of(root) == before
    database.close()


def _changed_elsewhere(root: Path) -> None:
    """Change both series of ``root`` in another process, which ends without saving."""
    code = f"""
    import os, dbdicom as db
    database = db.database({str(root)!r})
    for series in database.series():
        series.SeriesDescription = series.SeriesDescription + " changed"
    os._exit(0)  # no close: the changes stay unsaved in the journal
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, timeout=300)


def test_a_save_that_finds_the_disk_full_saves_nothing(disk: Path) -> None:
    root = disk / "database"
    write_valid_series(root / "a")
    write_valid_series(root / "b", "other")
    saved = files_of(root)
    _changed_elsewhere(root)
    changed = files_of(root)
    log = (root / ".dbdicom" / "journal" / "log").read_bytes()
    database = db.database(root)
    assert database.unsaved
    first = database.series(SeriesDescription="valid changed")[0]
    filler = fill(disk)
    with pytest.raises(db.DiskFullError) as info:
        first.save()  # one series: the journal is rewritten without its entries
    assert "nothing was saved and nothing is lost" in _say_full(info, root)
    assert files_of(root) == changed
    assert (root / ".dbdicom" / "journal" / "log").read_bytes() == log
    assert lock_is_free(root)  # taken for the save, let go with it
    filler.unlink()
    first.save()
    assert database.restore() == 3  # the other series, back as it was saved
    now = files_of(root)
    assert {k: v for k, v in now.items() if k.startswith("b/")} == {
        k: v for k, v in saved.items() if k.startswith("b/")
    }
    assert {k: v for k, v in now.items() if k.startswith("a/")} == {
        k: v for k, v in changed.items() if k.startswith("a/")
    }
    database.close()


def test_a_whole_save_and_restore_need_no_free_space(disk: Path) -> None:
    root = disk / "database"
    write_valid_series(root / "a")
    write_valid_series(root / "b", "other")
    saved = files_of(root)
    _changed_elsewhere(root)
    database = db.database(root)
    filler = fill(disk)
    assert database.restore() == 6
    assert files_of(root) == saved
    assert database.close()
    filler.unlink()
    _changed_elsewhere(root)
    changed = files_of(root)
    database = db.database(root)
    fill(disk)
    database.save()
    assert files_of(root) == changed
    assert not database.unsaved
    database.close()


def test_an_export_to_a_full_disk(disk: Path, tmp_path: Path) -> None:
    root = tmp_path / "database"
    write_valid_series(root / "valid")
    database = db.database(root)
    out = disk / "export"
    out.mkdir()
    fill(disk, leave=PAGE * 2)  # two files fit, not three
    with pytest.raises(db.DiskFullError) as info:
        database.export_as_dicom(out)
    assert "the export stopped" in _say_full(info, out)
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]  # no half-written file
    database.close()


def test_a_copy_into_a_new_folder_on_a_full_disk(disk: Path) -> None:
    series = db.series(np.zeros((3, 64, 64), dtype=np.uint16), SeriesDescription="zeros")
    target = disk / "kept"
    filler = fill(disk, leave=PAGE * 4)
    with pytest.raises(db.DiskFullError) as info:
        series.save(target)
    assert "nothing was written there" in _say_full(info, target)
    assert not target.exists()
    filler.unlink()
    kept = series.save(target)
    assert [s.SeriesDescription for s in kept.series()] == ["zeros"]
    kept.close()
    series.database.close()


def test_a_subseries_is_copied_whole_or_not_at_all(disk: Path) -> None:
    """Its instances are copied one by one: the disk fills up after a few, and they go too."""
    root = disk / "database"
    write_valid_series(root / "valid", n=12)
    before = files_of(root)
    database = db.database(root)
    (series,) = database.series()
    series.PatientName = "Warm^Up"  # the lock and the journal's folders exist
    database.restore()
    filler = fill(disk, leave=PAGE * 4)
    with pytest.raises(db.DiskFullError) as info:
        series.subseries(PatientID="GOOD-001")
    assert "the change was undone" in _say_full(info, root)
    assert files_of(root) == before
    assert not database.unsaved
    filler.unlink()
    assert len(series.subseries(PatientID="GOOD-001").instances()) == 12
    database.restore()
    assert files_of(root) == before
    database.close()


def index_bytes(root: Path) -> dict[str, bytes]:
    """The files of the saved index (its manifest and partitions), by name."""
    folder = root / ".dbdicom" / "index"
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
