"""An export killed (SIGKILL) left its temporaries beside the files it wrote, for ever.

A real export in a child process is held while its temporary exists, then
killed; the next export into the same place removes what the dead process
left, and never what an export still running there is writing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import dbdicom as db
from dbdicom._demo import build_demo

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kills with SIGKILL")

#: the child: exports the CT series into argv[2] and stops for ever once a temporary of it
#: exists (inside the copy of an instance, or inside a zip export's folder)
CHILD = """
import sys, time
from pathlib import Path
import dbdicom as db
from dbdicom import _export
from dbdicom._export._dicom import _copy_file

ct = db.database(sys.argv[1]).series(SeriesDescription="CT phantom")[0]

def held(*args):
    while True:
        time.sleep(0.05)

def copy(instance, target):
    _copy_file(instance, target)
    held()

def into_folder(root):
    (root / "part").mkdir(parents=True)
    (root / "part" / "x.txt").write_text("half")
    held()

if sys.argv[2].endswith(".zip"):
    _export.export_zip(sys.argv[2], into_folder)
else:
    _export.export_dicom(ct, sys.argv[2], copy=copy)
"""

#: how long a child may take to start and write its first temporary before the test fails
START = 120.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("killed") / "demo")


def _temporaries(place: Path) -> set[Path]:
    return set(place.rglob(".dbdicom-*"))


def _held_export(
    demo: Path, target: Path, place: Path, known: set[Path]
) -> tuple[subprocess.Popen[bytes], Path]:
    """A child exporting into ``target``, once a temporary of its own exists in ``place``."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(demo), str(target)])
    deadline = time.monotonic() + START
    while not (_temporaries(place) - known):
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the child export ended ({child.returncode}) or wrote no temporary")
        time.sleep(0.02)
    (mine,) = _temporaries(place) - known
    return child, mine


def _killed(child: subprocess.Popen[bytes]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait()


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    running: list[subprocess.Popen[bytes]] = []
    yield running
    for child in running:
        if child.poll() is None:
            _killed(child)


def test_the_next_export_into_a_folder_removes_what_a_killed_one_left(
    demo: Path, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    out = tmp_path / "out"
    first, left = _held_export(demo, out, out, set())
    children.append(first)
    _killed(first)
    assert left.exists()  # (before: it stayed there for ever)

    second, running = _held_export(demo, out, out, {left})  # another export, still running
    children.append(second)
    assert not left.exists() and running.exists()  # the dead one's swept, by the next export

    ct = db.database(demo).series(SeriesDescription="CT phantom")[0]
    done = ct.export_as_dicom(out)  # an export while the other runs: its temporary untouched
    assert running.exists() and len(list(done.rglob("[!.]*.dcm"))) == len(ct.instances())
    _killed(second)
    ct.export_as_dicom(out)
    assert not _temporaries(out)


def test_the_next_export_into_a_zip_removes_the_folder_a_killed_one_left(
    demo: Path, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    out = tmp_path / "out.zip"
    child, left = _held_export(demo, out, tmp_path, set())
    children.append(child)
    assert left.is_dir() and left.parent == tmp_path
    _killed(child)
    ct = db.database(demo).series(SeriesDescription="CT phantom")[0]
    ct.export_as_dicom(out)
    assert not _temporaries(tmp_path) and "part/x.txt" not in zipfile.ZipFile(out).namelist()


def test_temporaries_whose_owner_cannot_be_told_dead_are_kept(
    demo: Path, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    """Another host's (a shared disk), one an older dbdicom named (no owner), one that is no
    temporary of dbdicom's: kept, even where the process of that id is gone."""
    out = tmp_path / "out"
    child, left = _held_export(demo, out, out, set())
    children.append(child)
    _killed(child)
    _, host, pid, start, rest = left.name.split("-", 4)
    other = "0" * 8 if host != "0" * 8 else "1" * 8
    kept = [
        left.with_name(f".dbdicom-{other}-{pid}-{start}-{rest}"),
        left.with_name(".dbdicom-0123456789ab.tmp.dcm"),
        left.with_name(f".dbdicom-notes-{pid}.txt"),
    ]
    for path in kept:
        path.write_bytes(b"")
    ct = db.database(demo).series(SeriesDescription="CT phantom")[0]
    ct.export_as_dicom(out)
    assert not left.exists() and all(p.exists() for p in kept)


def _unshare_works() -> bool:
    """Whether this test may run a process in a PID namespace of its own (root, util-linux)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    done = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, check=False
    )
    return done.returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs root and unshare(1)")
def test_an_export_running_in_another_pid_namespace_is_left_alone(
    demo: Path, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    """A sandbox or container that shares the host's name numbers its processes apart.

    Its export's id (1 there) was taken for one of this namespace (init, started at
    another time): its temporary, being written, was removed by the next export here.
    """
    out = tmp_path / "out"
    command = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable]
    child = subprocess.Popen([*command, "-c", CHILD, str(demo), str(out)])
    children.append(child)
    deadline = time.monotonic() + START
    while not _temporaries(out):
        if child.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the child export ended ({child.returncode}) or wrote no temporary")
        time.sleep(0.02)
    (running,) = _temporaries(out)
    ct = db.database(demo).series(SeriesDescription="CT phantom")[0]
    ct.export_as_dicom(out)
    assert running.exists()
