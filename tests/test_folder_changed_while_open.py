"""A folder that becomes read-only, or is renamed, while a database with changes is open.

Every call that would write says so with a :class:`~dbdicom.DicomError`
naming the folder and the way out (a read-only disk: ``ReadOnlyError``; a
folder renamed: ``DatabaseNotFoundError``), never a raw ``OSError``; nothing
is lost, ``close()`` lets the folder go, and the folder reopened where it
is now restores to its last save. Also: what a kill leaves in the journal
(a log being rewritten, new files announced and never written) is tidied
away, not reported as changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import dbdicom as db
from dbdicom._errors import DatabaseNotFoundError, ReadOnlyError


def _manifest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and ".dbdicom" not in p.parts
    }


@contextlib.contextmanager
def _remounted_read_only(folder: Path) -> Iterator[None]:
    """Within the block, ``folder`` is a read-only bind mount of itself (a disk made read-only)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs Linux and root")
    done = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if done.returncode:
        pytest.skip(f"'mount --bind' was refused: {done.stderr.strip()!r}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        assert not os.access(folder, os.W_OK)
        yield
    finally:
        if subprocess.run(["umount", str(folder)], check=False).returncode:
            subprocess.run(["umount", "-l", str(folder)], check=True)  # a file left open


def test_a_folder_that_became_read_only_while_open_says_so_and_loses_nothing(
    demo_folder: Path,
) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    database.series(SeriesDescription="VFA")[0].FlipAngle = 33
    edited = _manifest(demo_folder)
    t2 = database.series(SeriesDescription="T2w")[0]
    da = t2.to_xarray()
    with _remounted_read_only(demo_folder):
        calls = {
            "edit": lambda: setattr(t2, "SeriesDescription", "T2 edited"),
            "set_xarray": lambda: t2.new_sibling(SeriesDescription="X").set_xarray(da),
            "save": database.save,
            "restore": database.restore,
        }
        for name, call in calls.items():
            with pytest.raises(ReadOnlyError, match="cannot be written any more") as info:
                call()
            assert str(demo_folder) in str(info.value) and "writable again" in str(info.value)
            assert name and database.unsaved
        assert _manifest(demo_folder) == edited
    assert database.restore() == 24
    assert _manifest(demo_folder) == saved
    database.close()


def test_a_folder_renamed_while_open_says_so_and_close_lets_it_go(
    demo_folder: Path, tmp_path: Path
) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    database.series(SeriesDescription="VFA")[0].FlipAngle = 33
    t2 = database.series(SeriesDescription="T2w")[0]
    renamed = tmp_path / "renamed"
    os.rename(demo_folder, renamed)

    for call in (database.restore, database.save, lambda: setattr(t2, "EchoTime", 9)):
        with pytest.raises(DatabaseNotFoundError, match="renamed, moved or removed") as info:
            call()
        assert str(demo_folder) in str(info.value) and "db.database(new_path)" in str(info.value)
    assert not demo_folder.exists()  # nothing made again at the old path

    again = db.database(renamed)
    assert again.unsaved
    with pytest.raises(ReadOnlyError, match=f"opened at {demo_folder}"):
        again.restore()  # the same process holds the lock, through the first database
    assert database.close()
    assert again.restore() == 24
    assert _manifest(renamed) == saved
    again.close()


def test_edits_held_in_memory_of_a_folder_renamed_while_open_are_not_dropped_silently(
    demo_folder: Path, tmp_path: Path
) -> None:
    """close() let the folder go and returned True without a word about them."""
    database = db.database(demo_folder)
    t2 = database.series(SeriesDescription="T2w")[0]
    t2.read()
    t2.SeriesDescription = "held in memory"
    os.rename(demo_folder, tmp_path / "renamed")
    with pytest.warns(db.DicomWarning, match="edits held in memory .* are dropped"):
        assert database.close()


CHILD = r"""
import os, signal, sys
import dbdicom as db

folder, stage = sys.argv[1], sys.argv[2]
database = db.database(folder)
if stage == "series save":  # killed between the new log's fsync and its rename
    replace = os.replace

    def killed_at_the_log(src, dst, *args, **kwargs):
        if os.path.basename(str(src)).startswith("log."):
            os.kill(os.getpid(), signal.SIGKILL)
        return replace(src, dst, *args, **kwargs)

    database.series(SeriesDescription="VFA")[0].FlipAngle = 33
    database.series(SeriesDescription="T2w")[0].SeriesDescription = "T2x"
    os.replace = killed_at_the_log
    database.series(SeriesDescription="VFA")[0].save()
elif stage == "set_xarray":  # killed once the new files are announced, before any is written
    import dbdicom._records._write as write

    vfa = database.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray(dims=["SliceLocation", "FlipAngle"]).mean("FlipAngle").compute()
    write.write_all = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
    vfa.new_sibling(SeriesDescription="MEAN").set_xarray(da)
"""


def _killed(folder: Path, tmp_path: Path, stage: str) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.run([sys.executable, str(script), str(folder), stage], env=env)
    assert child.returncode == -9


def test_a_log_rewrite_killed_before_its_rename_leaves_no_litter(
    demo_folder: Path, tmp_path: Path
) -> None:
    saved = _manifest(demo_folder)
    _killed(demo_folder, tmp_path, "series save")
    journal = demo_folder / ".dbdicom" / "journal"
    assert list(journal.glob("log.*.tmp"))  # (what the kill left)
    database = db.database(demo_folder)
    assert database.restore() == 24 + 6
    assert list(journal.glob("log.*.tmp")) == []
    assert _manifest(demo_folder) == saved
    database.close()


def test_new_files_announced_and_never_written_are_no_changes(
    demo_folder: Path, tmp_path: Path
) -> None:
    saved = _manifest(demo_folder)
    _killed(demo_folder, tmp_path, "set_xarray")
    assert (demo_folder / ".dbdicom" / "journal" / "log").stat().st_size  # (announced)
    database = db.database(demo_folder)
    assert not database.unsaved
    assert len(database.changes()) == 0
    assert database.restore() == 0
    database.series(SeriesDescription="T2w")[0].SeriesDescription = "T2x"  # takes the lock
    assert len(database.changes()) == 6  # the T2w files only
    assert database.restore() == 6
    assert _manifest(demo_folder) == saved
    database.close()
