"""A restore never undoes, or deletes, what another process wrote between dbdicom's changes.

The other program here is a separate Python process (pydicom, or plain file
operations), as in real use: a script run beside an open database. Two
cases the restore could not see before: another program's edit of a file
that dbdicom then edited (or removed) again, whose final state is dbdicom's
own; and a new file whose stamp dbdicom never recorded (its writer killed
between writing the files of a new series and recording them), which the
restore took as dbdicom's and deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pydicom
import pytest

import dbdicom as db
from dbdicom._errors import DicomWarning
from dbdicom._journal import Journal

EDIT = r"""
import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
ds.ImageComments = sys.argv[2]
ds.save_as(sys.argv[1])
"""

# a writer of a new series, killed after its files are written, before their
# stamps are recorded (Journal.wrote): the moment a kill or a power cut can hit
WRITER_KILLED = r"""
import os, signal, sys
import dbdicom as db
from dbdicom._journal import Journal


def killed(self, paths):
    os.kill(os.getpid(), signal.SIGKILL)


Journal.wrote = killed
database = db.database(sys.argv[1])
t2 = database.series(SeriesDescription="T2w")[0]
t2.new_sibling(SeriesDescription="T2w copy").set_xarray(t2.to_xarray())
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _other_process_edits(path: Path, comment: str) -> str:
    """Another program (a separate process) rewrites ``path``; the hash of what it left."""
    subprocess.run([sys.executable, "-c", EDIT, str(path), comment], env=_env(), check=True)
    return _sha(path)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): _sha(p)
        for p in root.rglob("*")
        if p.is_file() and ".dbdicom" not in p.parts
    }


def _restore(database: db.Database) -> tuple[int, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        n = database.restore()
    return n, [str(w.message) for w in caught if issubclass(w.category, DicomWarning)]


def _conflicts(folder: Path, rel: str) -> list[Path]:
    return sorted((folder / ".dbdicom" / "journal" / "conflicts").glob(f"*/{rel}"))


def test_an_edit_by_another_process_between_two_edits_of_dbdicom_is_put_back(
    demo_folder: Path,
) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    vfa = database.series(SeriesDescription="VFA")[0]
    vfa.FlipAngle = 33
    path = Path(sorted(vfa.files())[0])
    theirs = _other_process_edits(path, "another program's edit")
    vfa.FlipAngle = 34  # dbdicom writes over the other program's version

    n, told = _restore(database)

    assert _sha(path) == theirs  # as the other program left it, not as saved
    ds = pydicom.dcmread(path)
    assert ds.ImageComments == "another program's edit" and ds.FlipAngle == 33
    rel = path.relative_to(demo_folder).as_posix()
    (kept,) = _conflicts(demo_folder, rel)
    assert _sha(kept) == saved[rel]  # the saved version, where the warning says
    assert len(told) == 1 and str(path) in told[0] and str(kept) in told[0]
    assert "another program" in told[0]
    assert n == 23
    assert {p: h for p, h in _manifest(demo_folder).items() if p != rel} == {
        p: h for p, h in saved.items() if p != rel
    }
    assert not database.unsaved
    database.close()


def test_a_file_another_process_edited_then_dbdicom_removed_comes_back_as_it_left_it(
    demo_folder: Path,
) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    vfa = database.series(SeriesDescription="VFA")[0]
    vfa.FlipAngle = 33
    path = Path(sorted(vfa.files())[0])
    theirs = _other_process_edits(path, "another program's edit")
    (instance,) = [i for i in vfa.instances() if Path(i.files()[0]) == path]
    instance.remove()  # dbdicom removes the other program's version
    assert not path.exists()

    n, told = _restore(database)

    assert _sha(path) == theirs
    rel = path.relative_to(demo_folder).as_posix()
    (kept,) = _conflicts(demo_folder, rel)
    assert _sha(kept) == saved[rel]
    assert len(told) == 1 and str(path) in told[0]
    assert n == 23 and not database.unsaved
    database.close()


def test_a_new_file_another_process_edited_then_dbdicom_edited_again_is_not_deleted(
    demo_folder: Path,
) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    t2 = database.series(SeriesDescription="T2w")[0]
    copy = t2.new_sibling(SeriesDescription="T2w copy")
    copy.set_xarray(t2.to_xarray())
    path = Path(sorted(copy.files())[0])
    theirs = _other_process_edits(path, "another program's edit")
    copy.SeriesDescription = "T2w copy, edited"  # dbdicom rewrites every file of it

    n, told = _restore(database)

    assert _sha(path) == theirs
    assert len(told) == 1 and str(path) in told[0] and "new file" in told[0]
    assert n == 5
    assert set(_manifest(demo_folder)) - set(saved) == {path.relative_to(demo_folder).as_posix()}
    database.close()


def test_a_saved_edit_between_two_of_dbdicom_leaves_nothing_behind(demo_folder: Path) -> None:
    database = db.database(demo_folder)
    vfa = database.series(SeriesDescription="VFA")[0]
    vfa.FlipAngle = 33
    path = Path(sorted(vfa.files())[0])
    _other_process_edits(path, "another program's edit")
    vfa.FlipAngle = 34
    database.save()
    journal = demo_folder / ".dbdicom" / "journal"
    assert not list((journal / "originals").iterdir())  # their version went with the save
    ds = pydicom.dcmread(path)
    assert ds.ImageComments == "another program's edit" and ds.FlipAngle == 34
    assert not database.unsaved and database.restore() == 0
    database.close()


def test_a_new_file_whose_stamp_was_never_recorded_is_set_aside_not_deleted(
    demo_folder: Path, tmp_path: Path
) -> None:
    saved = _manifest(demo_folder)
    script = tmp_path / "writer.py"
    script.write_text(WRITER_KILLED)
    child = subprocess.run([sys.executable, str(script), str(demo_folder)], env=_env())
    assert child.returncode == -9  # killed between writing the files and recording them
    new = sorted(set(_manifest(demo_folder)) - set(saved))
    assert len(new) == 6
    path = demo_folder / new[0]
    theirs = _other_process_edits(path, "another program's edit")  # a file of its own now

    database = db.database(demo_folder)
    assert database.unsaved
    n, told = _restore(database)

    assert _manifest(demo_folder) == saved  # the folder is as saved
    (aside,) = _conflicts(demo_folder, new[0])
    assert _sha(aside) == theirs  # the other program's work is not lost
    assert all(len(_conflicts(demo_folder, rel)) == 1 for rel in new)  # nothing deleted
    assert len(told) == 1 and "(and 5 more)" in told[0]
    (named,) = [rel for rel in new if told[0].startswith(str(demo_folder / rel))]
    assert str(_conflicts(demo_folder, named)[0]) in told[0]  # where it is, said
    assert n == 6 and not database.unsaved
    database.close()


def test_edits_of_another_process_before_and_after_dbdicoms_second_are_all_kept(
    demo_folder: Path,
) -> None:
    saved = _manifest(demo_folder)
    database = db.database(demo_folder)
    vfa = database.series(SeriesDescription="VFA")[0]
    vfa.FlipAngle = 33
    path = Path(sorted(vfa.files())[0])
    first = _other_process_edits(path, "another program's first edit")
    vfa.FlipAngle = 34
    last = _other_process_edits(path, "another program's last edit")

    n, told = _restore(database)

    assert _sha(path) == last  # left as the other program left it
    rel = path.relative_to(demo_folder).as_posix()
    kept = {_sha(p) for p in _conflicts(demo_folder, rel)}
    assert kept == {saved[rel], first}  # the saved version, and that program's first
    assert len(told) == 1 and str(path) in told[0]
    assert n == 23 and not database.unsaved
    database.close()


def test_an_undone_change_over_another_process_edit_leaves_that_edit(tmp_path: Path) -> None:
    root = tmp_path / "db"
    root.mkdir()
    path = root / "a.dcm"
    path.write_bytes(b"saved")
    journal = Journal(root, root / ".dbdicom" / "journal")
    journal.keep([("a.dcm", ("p", "st", "se", "i"))])
    journal.write("a.dcm", lambda tmp: Path(tmp).write_bytes(b"dbdicom's"))
    write = "import sys; open(sys.argv[1], 'r+b').write(b'theirs!!!')"
    subprocess.run([sys.executable, "-c", write, str(path)], check=True)
    mark = journal.mark()
    journal.write("a.dcm", lambda tmp: Path(tmp).write_bytes(b"dbdicom's again"))
    journal.undo(mark)  # the change failed half way (a full disk, say)
    journal.settle()
    assert path.read_bytes() == b"theirs!!!"
    assert len(list(journal.originals.iterdir())) == 1  # the saved original only
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        journal.restore()
    assert path.read_bytes() == b"theirs!!!" and len(caught) == 1
    (kept,) = _conflicts(root, "a.dcm")
    assert kept.read_bytes() == b"saved"


def test_a_new_file_another_process_edited_then_dbdicom_removed_comes_back_as_it_left_it(
    demo_folder: Path,
) -> None:
    database = db.database(demo_folder)
    t2 = database.series(SeriesDescription="T2w")[0]
    copy = t2.new_sibling(SeriesDescription="T2w copy")
    copy.set_xarray(t2.to_xarray())  # new files only: nothing kept in originals/ yet
    path = Path(sorted(copy.files())[0])
    theirs = _other_process_edits(path, "another program's edit")
    (instance,) = [i for i in copy.instances() if Path(i.files()[0]) == path]
    instance.remove()

    n, told = _restore(database)

    assert _sha(path) == theirs
    assert len(told) == 1 and str(path) in told[0] and "new file" in told[0]
    assert n == 5 and not database.unsaved
    database.close()


def _as_an_older_dbdicom_reads_it(folder: Path, rel: str) -> tuple[str, str]:
    """The kind and original of ``rel`` as a dbdicom of before ``theirs`` read its log.

    It knew the keys p, k, o, keys and s only (others ignored): a "kept"
    file it restores by putting ``originals/<o>`` back, a "new" one by
    deleting it, and it deletes every file of ``originals/`` no ``o`` names.
    """
    entries = {}
    for line in (folder / ".dbdicom" / "journal" / "log").read_text().splitlines():
        d = json.loads(line)
        entries[d["p"]] = (d["k"], d["o"])
    return entries[rel]


def test_an_older_dbdicom_restoring_the_journal_puts_back_the_other_programs_version(
    demo_folder: Path,
) -> None:
    # a folder opened by two versions of dbdicom (two environments): the
    # older one's restore must not delete the other program's version kept
    database = db.database(demo_folder)
    t2 = database.series(SeriesDescription="T2w")[0]
    t2.ImageComments = "dbdicom's edit"
    path = Path(sorted(t2.files())[0])
    theirs = _other_process_edits(path, "another program's edit")
    t2.ImageComments = "dbdicom's edit, again"
    copy = t2.new_sibling(SeriesDescription="T2w copy")
    copy.set_xarray(t2.to_xarray())
    new = Path(sorted(copy.files())[0])
    new_theirs = _other_process_edits(new, "another program's edit")
    copy.ImageComments = "dbdicom's edit"
    originals = demo_folder / ".dbdicom" / "journal" / "originals"

    for file, version in ((path, theirs), (new, new_theirs)):
        kind, original = _as_an_older_dbdicom_reads_it(
            demo_folder, file.relative_to(demo_folder).as_posix()
        )
        assert kind == "kept" and _sha(originals / original) == version

    n, told = _restore(database)  # this dbdicom reads it as it wrote it
    assert _sha(path) == theirs and _sha(new) == new_theirs
    database.close()


# a writer killed the moment the log names another program's newer version
# (before its older one, named before, is set aside)
KILLED_AFTER_THEIRS = r"""
import os, sys
import dbdicom as db
from dbdicom._journal import Journal

append = Journal._append


def killed(self, entries, sync=True):
    append(self, entries, sync)
    if any(e.theirs for e in entries):
        os._exit(9)


Journal._append = killed
database = db.database(sys.argv[1])
t2 = database.series(SeriesDescription="T2w")[0]
if sys.argv[2] == "edit":
    t2.ImageComments = "dbdicom's third edit"
else:
    t2.remove()
"""


@pytest.mark.parametrize("third", ["edit", "remove"])
def test_a_kill_as_dbdicom_writes_over_another_programs_second_version_keeps_the_first(
    demo_folder: Path, third: str
) -> None:
    def dbdicom_edits(comment: str) -> None:  # in a process left with its changes unsaved
        edit = "import sys, dbdicom as db; d = db.database(sys.argv[1]); d.mute(); " + (
            "d.series(SeriesDescription='T2w')[0].ImageComments = sys.argv[2]; d.close()"
        )
        subprocess.run([sys.executable, "-c", edit, str(demo_folder), comment], check=True)

    dbdicom_edits("dbdicom's edit")
    path = demo_folder / "Phantom_Alpha" / "MR_20240115" / "02_T2w" / "IM_0001.dcm"
    first = _other_process_edits(path, "another program's first edit")
    dbdicom_edits("dbdicom's second edit")  # keeps that program's first version
    last = _other_process_edits(path, "another program's last edit")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_THEIRS, str(demo_folder), third], env=_env()
    )
    assert killed.returncode == 9

    database = db.database(demo_folder)
    _restore(database)
    database.close()

    assert _sha(path) == last
    rel = path.relative_to(demo_folder).as_posix()
    assert first in {_sha(p) for p in _conflicts(demo_folder, rel)}  # not deleted
