"""A restore never undoes another program's write: it keeps that file, and dbdicom's copy.

dbdicom changes files at once and keeps their originals until a save or a
restore. Another program may write in the folder meanwhile: a new file
where dbdicom removed one, an edit in place of a file dbdicom rewrote, a
file of a new series dbdicom wrote. A restore puts back (or deletes) only
the files that are as dbdicom left them; the others stay as the other
program left them, the originals go to ``.dbdicom/journal/conflicts/`` and a
warning names them. A restore killed after that move and run again finds
them there. A save never touches a file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pydicom
import pytest

import dbdicom as db
from dbdicom._errors import DicomWarning


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): _sha(p)
        for p in root.rglob("*")
        if p.is_file() and ".dbdicom" not in p.parts
    }


def _other_program_edits(path: Path, comment: str) -> None:
    """What another program does: pydicom rewrites the file in place."""
    ds = pydicom.dcmread(path)
    ds.ImageComments = comment
    ds.save_as(path)


def _restore(database: db.Database) -> tuple[int, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        n = database.restore()
    return n, [str(w.message) for w in caught if issubclass(w.category, DicomWarning)]


def test_a_file_another_program_wrote_where_dbdicom_removed_one_is_kept(
    demo_folder: Path,
) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    t2 = database.series(SeriesDescription="T2w")[0]
    paths = sorted(Path(p) for p in t2.files())
    other = pydicom.dcmread(paths[1])  # (another program's: a different file)
    t2.remove()
    other.SOPInstanceUID = pydicom.uid.generate_uid()
    other.SeriesDescription = "another program's"
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    other.save_as(paths[0])
    theirs = _sha(paths[0])

    n, told = _restore(database)

    assert _sha(paths[0]) == theirs  # the other program's file stays
    rel = paths[0].relative_to(demo_folder).as_posix()
    (kept,) = (demo_folder / ".dbdicom" / "journal" / "conflicts").glob(f"*/{rel}")
    assert _sha(kept) == saved[rel]  # dbdicom's saved copy is where the warning says
    assert len(told) == 1 and str(paths[0]) in told[0] and str(kept) in told[0]
    now = _manifest(demo_folder)
    assert {p: h for p, h in now.items() if p != rel} == {
        p: h for p, h in saved.items() if p != rel
    }  # everything else is restored
    assert n == len(paths) - 1
    assert not database.unsaved
    assert database.series(SeriesDescription="another program's")
    database.close()


def test_an_edit_in_place_by_another_program_of_a_file_dbdicom_changed_is_kept(
    demo_folder: Path,
) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    vfa = database.series(SeriesDescription="VFA")[0]
    vfa.FlipAngle = 33
    path = Path(sorted(vfa.files())[0])
    _other_program_edits(path, "another program's edit")

    n, told = _restore(database)

    ds = pydicom.dcmread(path)
    assert ds.ImageComments == "another program's edit" and ds.FlipAngle == 33
    rel = path.relative_to(demo_folder).as_posix()
    (kept,) = (demo_folder / ".dbdicom" / "journal" / "conflicts").glob(f"*/{rel}")
    assert _sha(kept) == saved[rel]
    assert len(told) == 1 and str(path) in told[0]
    assert n == 23
    assert {p: h for p, h in _manifest(demo_folder).items() if p != rel} == {
        p: h for p, h in saved.items() if p != rel
    }
    database.close()


def test_a_new_file_of_dbdicom_another_program_edited_is_not_deleted(demo_folder: Path) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    t2 = database.series(SeriesDescription="T2w")[0]
    copy = t2.new_sibling(SeriesDescription="T2w copy")
    copy.set_xarray(t2.to_xarray())
    path = Path(sorted(copy.files())[0])
    _other_program_edits(path, "another program's edit")

    n, told = _restore(database)

    assert pydicom.dcmread(path).ImageComments == "another program's edit"
    assert len(told) == 1 and str(path) in told[0] and "new file" in told[0]
    assert n == 5
    now = _manifest(demo_folder)
    assert set(now) - set(saved) == {path.relative_to(demo_folder).as_posix()}
    database.close()


def test_the_files_no_one_else_touched_are_restored_byte_for_byte(demo_folder: Path) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    t2 = database.series(SeriesDescription="T2w")[0]
    t2.new_sibling(SeriesDescription="T2w copy").set_xarray(t2.to_xarray())
    vfa = database.series(SeriesDescription="VFA")[0]
    vfa.FlipAngle = 33
    vfa.FlipAngle = 34  # rewritten twice
    vfa.instances()[0].remove()  # rewritten, then removed
    database.series(SeriesDescription="CT phantom")[0].remove()
    n, told = _restore(database)
    assert told == [] and n == 6 + 24 + 10
    assert _manifest(demo_folder) == saved
    database.close()


def test_save_leaves_another_programs_file_as_it_is(demo_folder: Path) -> None:
    database = db.database(demo_folder)
    vfa = database.series(SeriesDescription="VFA")[0]
    vfa.FlipAngle = 33
    path = Path(sorted(vfa.files())[0])
    _other_program_edits(path, "another program's edit")
    theirs = _sha(path)
    database.save()
    assert _sha(path) == theirs
    assert not database.unsaved and database.restore() == 0
    assert _sha(path) == theirs
    database.close()


CHILD = r"""
import os, signal, sys
import dbdicom as db

folder, stage = sys.argv[1], sys.argv[2]
if stage == "edit":  # then exits, the change unsaved
    db.database(folder).series(SeriesDescription="VFA")[0].FlipAngle = 33
    os._exit(0)
replace = os.replace


def killed_after_moving_aside(src, dst, *args, **kwargs):
    replace(src, dst, *args, **kwargs)
    if "conflicts" in str(dst):  # the original moved aside: the restore dies here
        os.kill(os.getpid(), signal.SIGKILL)


os.replace = killed_after_moving_aside
db.database(folder).restore()
"""


def test_a_restore_killed_after_moving_an_original_aside_is_finished_and_says_so(
    demo_folder: Path, tmp_path: Path
) -> None:
    saved = _manifest(demo_folder)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = [sys.executable, str(script), str(demo_folder)]
    subprocess.run([*run, "edit"], env=env, check=True)
    reader = db.database(demo_folder)
    path = Path(sorted(reader.series(SeriesDescription="VFA")[0].files())[0])
    reader.close()
    _other_program_edits(path, "another program's edit")
    theirs = _sha(path)
    child = subprocess.run([*run, "restore"], env=env, check=False)
    assert child.returncode == -9
    assert (demo_folder / ".dbdicom" / "journal" / "restoring").exists()

    database = db.database(demo_folder)
    with pytest.warns(DicomWarning, match="changed by another program") as caught:
        database.restore()
    rel = path.relative_to(demo_folder).as_posix()
    (kept,) = (demo_folder / ".dbdicom" / "journal" / "conflicts").glob(f"*/{rel}")
    assert str(kept) in str(caught[0].message) and _sha(kept) == saved[rel]
    assert _sha(path) == theirs
    assert {p: h for p, h in _manifest(demo_folder).items() if p != rel} == {
        p: h for p, h in saved.items() if p != rel
    }
    assert not database.unsaved
    database.close()
