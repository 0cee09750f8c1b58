"""dbdicom speaks through the ecosystem's channels: logging, warnings and tqdm.

Messages reach the logger ``dbdicom`` (printed only where logging is not
set up); what the user should see once is a ``db.DicomWarning``; progress is
a tqdm bar at a terminal, nothing in a pipe, and a GUI's own object when
one is plugged in. pydicom's warnings about a file, raised while the index
is made, are listed with the file instead of leaking to standard error.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from builders import Manifest
from corpus import build_case
from pydicom.data import get_testdata_file
from recorders import Recorder

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, *, terminal: bool) -> tuple[str, str]:
    """Run ``code`` in a fresh Python; stdout from a pipe, stderr from a terminal or a pipe.

    A pseudo-terminal is a real terminal to the child: ``isatty()`` is true,
    and what tqdm draws on it is read back here.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    if not terminal:
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout, out.stderr
    leader, follower = pty.openpty()
    # a terminal of 24 rows and 100 columns (a new pseudo-terminal has 0 x 0)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if select.select([leader], [], [], 0.5)[0]:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        stdout = proc.communicate(timeout=60)[0].decode()
    finally:
        os.close(leader)
    assert proc.returncode == 0, seen.decode(errors="replace")
    return stdout, seen.decode(errors="replace")


# ------------------------------------------------------------------ logging
def test_messages_reach_logging(
    database_folder: tuple[Path, Manifest], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dbdicom")
    database = db.database(database_folder[0])
    series = database.series()[0]
    series.message("Starting calculation...")
    series.mute()
    series.message("not said")
    series.unmute()
    said = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert said == [("dbdicom", logging.INFO, "Starting calculation...")]


def test_a_gui_shows_messages_and_they_are_logged(
    database_folder: tuple[Path, Manifest], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dbdicom")
    status = Recorder()
    database = db.database(database_folder[0], status=status)
    database.message("Hello from dbdicom")
    assert status.messages == ["Hello from dbdicom"]
    assert [r.getMessage() for r in caplog.records] == ["Hello from dbdicom"]


def test_the_library_logs_what_it_says(
    database_folder: tuple[Path, Manifest], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An export that skips a series says so in a message: a log record of the logger."""
    caplog.set_level(logging.INFO, logger="dbdicom")
    root, _ = database_folder
    ds = mr_image(np.zeros((8, 8), np.uint16), PatientID="P-SR", SeriesDescription="no image")
    del ds.PixelData
    write_dataset(ds, root / "sr" / "no_image.dcm")
    database = db.database(root)
    out = database.export_as_npy(tmp_path / "npy")
    assert out.skipped
    logged = [r.getMessage() for r in caplog.records if r.name == "dbdicom"]
    assert any("skipped" in m and "no image" in m for m in logged)


SAY = (
    "import sys, dbdicom as db\n"
    "database = db.database(sys.argv[1] if len(sys.argv) > 1 else {folder!r})\n"
    "database.series()[0].message('Starting calculation...')\n"
)


def test_messages_print_when_logging_is_not_set_up(
    database_folder: tuple[Path, Manifest],
) -> None:
    stdout, stderr = run_python(SAY.format(folder=str(database_folder[0])), terminal=False)
    assert stdout == "Starting calculation...\n"
    assert stderr == ""  # no progress bar drawn in a pipe


def test_messages_go_to_the_logging_the_program_set_up(
    database_folder: tuple[Path, Manifest],
) -> None:
    setup = (
        "import logging; logging.basicConfig(level=logging.INFO, format='%(name)s %(message)s')\n"
    )
    stdout, stderr = run_python(setup + SAY.format(folder=str(database_folder[0])), terminal=False)
    assert stdout == ""  # logging shows it, once: nothing printed besides
    assert "dbdicom Starting calculation...\n" in stderr


# ------------------------------------------------------------------ progress
PROGRESS = (
    "import sys, dbdicom as db\n"
    "{setup}"
    "database = db.database({folder!r}{status})\n"
    "series = database.series()[0]\n"
    "for i in range(1, 4):\n"
    "    series.progress(i, 3, 'Calculating')\n"
    "print('tqdm.auto imported:', 'tqdm.auto' in sys.modules)\n"
)

GUI = (
    "class Bar:\n"
    "    steps = []\n"
    "    def message(self, text): pass\n"
    "    def progress(self, value, total, text=''): self.steps.append((value, total, text))\n"
)


def test_a_terminal_gets_tqdm_bars_on_stderr(database_folder: tuple[Path, Manifest]) -> None:
    folder = str(database_folder[0])
    n = sum(1 for p in Path(folder).rglob("*") if p.is_file())
    stdout, terminal = run_python(
        PROGRESS.format(setup="", folder=folder, status=""), terminal=True
    )
    # the scan of the folder never opened, then the loop: tqdm's own format
    assert "Reading DICOM headers: 100%|" in terminal and f"| {n}/{n} [" in terminal
    assert "Calculating: 100%|" in terminal and "| 3/3 [" in terminal
    assert stdout == "tqdm.auto imported: True\n"  # bars go to stderr only


def test_no_bar_when_stderr_is_not_a_terminal(database_folder: tuple[Path, Manifest]) -> None:
    folder = str(database_folder[0])
    stdout, stderr = run_python(PROGRESS.format(setup="", folder=folder, status=""), terminal=False)
    assert stderr == ""
    assert stdout == "tqdm.auto imported: False\n"  # not even imported


def test_a_gui_status_gets_progress_and_tqdm_is_not_used(
    database_folder: tuple[Path, Manifest],
) -> None:
    folder = str(database_folder[0])
    code = PROGRESS.format(setup=GUI, folder=folder, status=", status=Bar()")
    code += "print(Bar.steps[-3:])\n"
    stdout, terminal = run_python(code, terminal=True)
    assert "%|" not in terminal  # a terminal, where tqdm would have drawn
    lines = stdout.splitlines()
    assert lines[0] == "tqdm.auto imported: False"
    assert lines[1] == "[(1, 3, 'Calculating'), (2, 3, 'Calculating'), (3, 3, 'Calculating')]"


def test_muted_progress_draws_nothing(database_folder: tuple[Path, Manifest]) -> None:
    folder = str(database_folder[0])
    db.database(folder).close()  # indexed: the scan would draw before mute()
    code = PROGRESS.format(setup="", folder=folder, status="").replace(
        "series = database.series()[0]\n", "series = database.series()[0]\nseries.mute()\n"
    )
    stdout, terminal = run_python(code, terminal=True)
    assert "%|" not in terminal
    assert stdout == "tqdm.auto imported: False\n"


def test_the_status_object_follows_the_protocol() -> None:
    status = db.Status()
    assert isinstance(status, db.StatusLike)
    status.progress(0, 0)  # no total: nothing to show, no error
    status.progress(5, 3, "more than the total")  # not a terminal here: nothing drawn


# ------------------------------------------------------------------ warnings
def _duplicate_source(database: db.Database, tmp_path: Path) -> Path:
    source = tmp_path / "incoming"
    source.mkdir()
    shutil.copyfile(database.files()[0], source / "duplicate.dcm")
    return source


def test_what_the_user_should_know_is_a_dicom_warning(
    database_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    database = db.database(database_folder[0])
    source = _duplicate_source(database, tmp_path)
    with pytest.warns(db.DicomWarning, match=r"1 file\(s\) not imported") as caught:
        database.import_dicom(source)
    assert issubclass(db.DicomWarning, UserWarning)
    (warning,) = [w for w in caught if w.category is db.DicomWarning]
    assert warning.filename == __file__  # it points at the user's line, not at dbdicom's


def test_a_gui_sees_the_warnings_and_muted_says_nothing(
    database_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    status = Recorder()
    database = db.database(database_folder[0], status=status)
    source = _duplicate_source(database, tmp_path)
    with pytest.warns(db.DicomWarning):
        database.import_dicom(source)
    assert any("not imported" in m for m in status.messages)
    status.messages.clear()
    database.mute()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        database.import_dicom(source)
    assert not [w for w in caught if w.category is db.DicomWarning]
    assert status.messages == []


def test_warnings_can_be_errors(database_folder: tuple[Path, Manifest], tmp_path: Path) -> None:
    database = db.database(database_folder[0])
    source = _duplicate_source(database, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", db.DicomWarning)
        with pytest.raises(db.DicomWarning, match="already in the database"):
            database.import_dicom(source)


# -------------------------------------------------------- pydicom's warnings
def test_pydicom_warnings_at_the_scan_are_listed_not_leaked(tmp_path: Path) -> None:
    """A file pydicom warns about: its warning is in problems(), not on stderr."""
    folder = tmp_path / "bad"
    build_case(folder, "undefined_length_on_text")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        database = db.database(folder)
    assert caught == []
    (text,) = database.problems()["problem"]
    assert text.startswith("truncated or incomplete")
    assert "(pydicom: End of file reached before delimiter (FFFE,E0DD)" in text


def test_pydicom_warnings_in_scan_workers_are_listed_not_leaked(tmp_path: Path) -> None:
    """A scan on several processes: a worker's warnings would go to its own stderr."""
    folder = tmp_path / "many"
    build_case(folder / "bad", "undefined_length_on_text")
    source = Path(get_testdata_file("MR_small.dcm"))
    for i in range(410):  # more than the scan reads in one process
        shutil.copyfile(source, folder / f"{i:03d}.dcm")
    code = (
        f"import dbdicom as db\ndatabase = db.database({str(folder)!r})\n"
        "p = database.problems()\n"
        "print(p[p['path'] == 'bad/bad.dcm']['problem'].iloc[0])\n"
    )
    stdout, stderr = run_python(code, terminal=False)
    assert "End of file reached before delimiter" in stdout
    assert stderr == ""
