"""Entries of a database folder that are not plain files: pipes, sockets, devices, links.

None is ever opened (opening a named pipe waits for a writer for ever, reading
``/dev/zero`` never ends): each is listed by ``problems()`` with why, and the
rest of the folder opens. Every open here runs in a child process with a time
limit, so that a hang fails the test instead of blocking the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pydicom
import pytest
from bad_files import SpecialEntries, write_special_entries, write_valid_series

import dbdicom as db

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")

# far longer than any of these opens takes; only reached when something hangs
LIMIT = 120

REASONS = {
    "pipe.dcm": "a named pipe (FIFO), not a file: skipped",
    "socket.dcm": "a socket, not a file: skipped",
    "dangling.dcm": "which does not exist: skipped",
    "zero.dcm": "a symbolic link to /dev/zero outside the folder: not followed",
    "outside.dcm": "outside the folder: not followed (open the folder with "
    "db.database(path, follow_links=True) to read it)",
    "outside_folder": "a folder outside this one: not followed (links to folders never are: "
    "database.import_dicom(path) copies its files in)",
    "same_as_IM_0001.dcm": "a symbolic link to valid/IM_0001.dcm, a file that is read under "
    "its own path: skipped",
}


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, SpecialEntries]:
    root = tmp_path / "database"
    write_valid_series(root / "valid")
    return root, write_special_entries(root, tmp_path / "elsewhere")


def _run(code: str) -> Any:
    """Run ``code`` (which ends by printing one JSON value) in a child process."""
    script = "import json, dbdicom as db\n" + textwrap.dedent(code)
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=LIMIT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"hangs: still running after {LIMIT} s\n{exc.stderr!r}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


_SUMMARY = """
def summary(database):
    problems = database.problems()
    valid = database.series(SeriesDescription="valid")[0]
    return {
        "problems": dict(zip(problems["path"], problems["problem"])),
        "series": sorted(s.SeriesDescription for s in database.series()),
        "valid": valid.to_xarray(dims=["InstanceNumber"]).values.sum().item(),
    }
"""


def _expected_sum(root: Path) -> int:
    # the valid series' pixels, read here from its own files (not through a link)
    import pydicom

    return sum(
        int(pydicom.dcmread(p).pixel_array.sum()) for p in sorted((root / "valid").iterdir())
    )


def _check_listed(problems: dict[str, str]) -> None:
    for path, reason in REASONS.items():
        assert reason in problems[path], (path, problems[path])
    assert problems["outside.dcm"].startswith("a symbolic link to ")
    assert "linked.dcm" not in problems  # a link to a file the walk does not read: read


def test_special_entries_are_listed_never_opened(folder: tuple[Path, SpecialEntries]) -> None:
    root, _ = folder
    out = _run(
        _SUMMARY
        + f"""
database = db.database({str(root)!r})
print(json.dumps(summary(database)))
"""
    )
    _check_listed(out["problems"])
    assert out["series"] == ["linked", "valid"]
    assert out["valid"] == _expected_sum(root)


def test_reopen_refresh_and_scan_keep_them_listed(folder: tuple[Path, SpecialEntries]) -> None:
    """The saved index holds them; a reopen compares them like files and reads nothing again."""
    root, _ = folder
    out = _run(
        _SUMMARY
        + f"""
first = summary(db.database({str(root)!r}))
again = db.database({str(root)!r})
reopened = summary(again)
changed = again.refresh()
refreshed = summary(again)
again.scan()
print(json.dumps([first, reopened, changed, refreshed, summary(again)]))
"""
    )
    first, reopened, changed, refreshed, scanned = out
    assert changed is False
    for each in (first, reopened, refreshed, scanned):
        _check_listed(each["problems"])
        assert each == first


def test_an_entry_that_changes_is_read_again(folder: tuple[Path, SpecialEntries]) -> None:
    """A pipe replaced by a file, a dangling link whose file appears: read at the next refresh."""
    root, entries = folder
    out = _run(
        f"""
database = db.database({str(root)!r})
import os, shutil
os.unlink({str(entries.fifo)!r})
shutil.copyfile({str(entries.outside[1])!r}, {str(entries.fifo)!r})
os.unlink({str(entries.dangling)!r})
os.symlink({str(entries.outside[0])!r}, {str(entries.dangling)!r})
changed = database.refresh()
problems = database.problems()
print(json.dumps([changed, dict(zip(problems["path"], problems["problem"])),
                  sorted(s.SeriesDescription for s in database.series())]))
"""
    )
    changed, problems, series = out
    assert changed is True
    assert "pipe.dcm" not in problems  # a file now: read (the "outside" series)
    assert "outside the folder: not followed" in problems["dangling.dcm"]
    assert series == ["linked", "outside", "valid"]


def test_follow_links_reads_the_files_outside(folder: tuple[Path, SpecialEntries]) -> None:
    root, entries = folder
    out = _run(
        _SUMMARY
        + f"""
database = db.database({str(root)!r}, follow_links=True)
print(json.dumps(summary(database)))
"""
    )
    problems = out["problems"]
    assert out["series"] == ["linked", "outside", "valid"]
    assert out["valid"] == _expected_sum(root)
    assert problems["zero.dcm"] == (
        "a symbolic link to /dev/zero, a character device, not a file: skipped"
    )
    assert "outside.dcm" not in problems
    for path in ("pipe.dcm", "socket.dcm", "dangling.dcm", "outside_folder"):
        assert REASONS[path] in problems[path]


def test_a_file_reached_through_a_link_is_never_changed(
    folder: tuple[Path, SpecialEntries],
) -> None:
    """An edit replaces the link by the edited file; restore puts the link back."""
    root, entries = folder
    target = entries.outside[0]
    before = target.read_bytes()
    out = _run(
        f"""
import os
database = db.database({str(root)!r}, follow_links=True)
(series,) = database.series(SeriesDescription="outside")
series.SeriesDescription = "edited"
link = {str(entries.to_outside)!r}
edited = [os.path.islink(link), len(database.series(SeriesDescription="edited"))]
database.restore()
print(json.dumps(edited + [os.path.islink(link), os.readlink(link)]))
"""
    )
    assert out == [False, 1, True, str(target)]
    assert target.read_bytes() == before


def test_a_link_to_a_folder_is_never_followed(tmp_path: Path) -> None:
    """Not into the folder (its files are read already), not out of it, not around a loop."""
    root = tmp_path / "database"
    write_valid_series(root / "valid")
    (root / "valid" / "up").symlink_to(root, target_is_directory=True)
    (root / "again").symlink_to(root / "valid", target_is_directory=True)
    out = _run(
        f"""
database = db.database({str(root)!r}, follow_links=True)
problems = database.problems()
print(json.dumps([len(database.instances()), dict(zip(problems["path"], problems["problem"]))]))
"""
    )
    n, problems = out
    assert n == 3
    assert "a folder inside this one: not followed" in problems["valid/up"]
    assert "a folder inside this one: not followed" in problems["again"]


def test_import_refuses_a_pipe_without_opening_it(
    folder: tuple[Path, SpecialEntries], tmp_path: Path
) -> None:
    root, entries = folder
    incoming = tmp_path / "incoming"
    write_valid_series(incoming, "imported", n=1)
    os.mkfifo(incoming / "pipe.dcm")
    out = _run(
        f"""
messages = []
class Status:
    def message(self, text): messages.append(text)
    def progress(self, *args): pass
database = db.database({str(root)!r}, status=Status())
new = database.import_dicom({str(incoming)!r})
database.restore()
print(json.dumps([len(new), messages]))
"""
    )
    n, messages = out
    assert n == 1
    assert any("pipe.dcm (not a file)" in m for m in messages), messages


def test_problems_in_process(folder: tuple[Path, SpecialEntries]) -> None:
    """The same, in this process (now known not to hang): the tree leaves them out."""
    root, _ = folder
    database = db.database(root)
    try:
        paths = set(database.index.frame["_path"][database.index.ok])
        assert not paths & set(REASONS)
        assert "linked.dcm" in paths
    finally:
        database.close()


def test_a_name_in_another_encoding_is_left_out_not_the_folder(tmp_path: Path) -> None:
    """A trial: one file named in Latin-1 (``M\\xfcller.dcm``, not UTF-8) made the whole
    folder fail to open (pyarrow cannot store the name). It is left out, with a warning
    that shows its name and how to rename it; the other files open."""
    root = tmp_path / "db"
    good = write_valid_series(root)
    bad = os.fsencode(str(good[0].parent)) + b"/M\xfcller.dcm"
    with open(bad, "wb") as out:
        out.write(good[0].read_bytes())
    (root / os.fsdecode(b"sub\xe9")).mkdir()  # a folder named so: left out too
    with pytest.warns(db.DicomWarning, match=r"M\\xfcller.dcm' and 1 more left out.*convmv"):
        database = db.database(root)
    assert len(database.instances()) == 3
    database.close()


def test_a_file_of_zeros_after_its_marker_is_given_up_at_once(tmp_path: Path) -> None:
    """A trial: 128 zero bytes, 'DICM', then zeros (a sparse file never written to) was
    walked 8 bytes at a time: 200 MB took 5 s, a 20 GiB one many minutes. So were zeros
    after the first elements of an Explicit VR file (a review). It is listed as holding no
    data at once; zeros after a data set's elements end it (trailing padding)."""
    root = tmp_path / "db"
    good = write_valid_series(root)
    with open(root / "zeros.dcm", "wb") as f:
        f.write(b"\0" * 128 + b"DICM")
        f.truncate(20 << 30)  # 20 GiB, sparse: no disk used
    data = good[0].read_bytes()
    start = data.index(b"\x08\x00\x05\x00")  # (0008,0005): the data set's first elements
    with open(root / "cut.dcm", "wb") as f:  # Explicit VR elements, then a sparse 20 GiB
        f.write(data[: start + 200])
        f.truncate(20 << 30)
    header = pydicom.dcmread(good[0], stop_before_pixels=True)
    header.SOPInstanceUID = "1.2.3.4.5.6.7"
    header.save_as(root / "padded.dcm", enforce_file_format=True)  # no pixel data
    with open(root / "padded.dcm", "ab") as f:
        f.write(b"\0" * 4096)  # padded to a block
    database = db.database(root)  # (walked to their ends, these took minutes or hours)
    problems = database.problems().set_index("path")["problem"]
    assert "zeros where its data set should start" in problems["zeros.dcm"]
    assert "cut.dcm" not in [Path(f).name for f in database.files()] or "cut.dcm" in problems
    (padded,) = database.instances(SOPInstanceUID="1.2.3.4.5.6.7")
    assert padded.SeriesDescription == header.SeriesDescription
    database.close()
