"""Crash safety by fault injection, and the one-writer-at-a-time rule.

A child process works on a demo database at random (edits at every level,
copies, moves, removals, imports, memory-mode edits, restores and saves)
until it is killed with SIGKILL at a random moment. Whatever that moment,
the folder must open again, say that it has unsaved changes when its files
differ from the last save, and ``restore()`` must bring back exactly the
last saved state (or, for a kill during a save, the state being saved: a
save is all or nothing).

The child keeps, outside the database folder, the sha256 of every file of
the last saved state (``saved.json``): before a save it writes the state it
is about to save (``pending.json``), after the save it renames that over
``saved.json``. Both files are replaced atomically, so at any kill the
parent knows the acceptable outcomes.

A failing trial names its seed; run it again with, e.g.::

    pytest tests/test_crash.py -k "seed-7"

(the kill moment also depends on timing, so a rerun may land elsewhere:
the report lists the operations the child was doing when it was killed).

Also here: a second process may read a folder that a process is changing
but not change it (``ReadOnlyError`` naming the writer's process id), the
lock goes when the writer closes the database or dies, and a read-only
folder can be read but never changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import pytest
from readonly import read_only

import dbdicom as db
from dbdicom._demo import build_demo
from dbdicom._errors import ReadOnlyError

HIDDEN = ".dbdicom"
CI_SEEDS = list(range(12))
SLOW_TRIALS = 150
SLOW_FIRST_SEED = 1000


# ---------------------------------------------------------------- helpers
def manifest(root: Path) -> dict[str, str]:
    """sha256 of every non-hidden file below ``root``, by ``/``-separated path."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def everything(root: Path) -> dict[str, str]:
    """sha256 of every file below ``root``, hidden ones included, and every folder."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            out[rel + "/"] = "folder"
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def journal_state(root: Path) -> dict[str, str]:
    """The journal folder: its log and kept originals, hashed."""
    journal = root / HIDDEN / "journal"
    return everything(journal) if journal.is_dir() else {}


def describe_difference(actual: dict[str, str], expected: dict[str, str], limit: int = 6) -> str:
    only_disk = sorted(actual.keys() - expected.keys())
    missing = sorted(expected.keys() - actual.keys())
    changed = sorted(p for p in actual.keys() & expected.keys() if actual[p] != expected[p])
    parts = []
    for label, paths in (
        ("on disk but not expected", only_disk),
        ("expected but missing", missing),
        ("different bytes", changed),
    ):
        if paths:
            more = f" (+{len(paths) - limit} more)" if len(paths) > limit else ""
            parts.append(f"{len(paths)} {label}: {paths[:limit]}{more}")
    return "; ".join(parts) or "identical"


def readline(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """One line of ``proc``'s stdout (an unbuffered byte pipe), or TimeoutError."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    deadline = time.monotonic() + timeout
    while not buffer.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"no answer from process {proc.pid} in {timeout} s")
        chunk = os.read(fd, 1)  # byte by byte: never read past the line
        if not chunk:
            raise EOFError(f"process {proc.pid} ended (exit code {proc.wait()})")
        buffer += chunk
    return buffer.decode().rstrip("\n")


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo database (never opened), copied for every trial."""
    return build_demo(tmp_path_factory.mktemp("template") / "demo")


# ---------------------------------------------------------------- the child
CHILD = r'''
"""Works on a database at random until killed (argv: folder, source, state, seed)."""
import hashlib
import json
import os
import random
import sys
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

import dbdicom as db

folder, source, state = (Path(a) for a in sys.argv[1:4])
seed = int(sys.argv[4])
rng = random.Random(seed)
templates = sorted(p for p in source.iterdir() if p.is_file())
imports = state / "imports"
oplog = open(state / "ops.log", "a", buffering=1)
counter = 0
MAX_INSTANCES = 160


def manifest():
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith("."):
                path = Path(dirpath) / name
                out[path.relative_to(folder).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return out


def dump(name, data):
    tmp = state / f"{name}.json.tmp"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, state / f"{name}.json")


def value():
    return f"v{rng.randrange(10**6)}"


def op_edit():
    level = rng.choices(["database", "patient", "study", "series", "instance"], [1, 3, 4, 8, 8])[0]
    if level == "database":
        database.ImageComments = value()
        return level
    if level == "patient":
        patient = rng.choice(database.patients())
        if rng.random() < 0.5:
            patient.PatientName = f"Name^{value()}"
        else:
            patient["ImageComments"] = value()
        return f"patient {patient.uid}"
    if level == "study":
        study = rng.choice(database.studies())
        study.StudyDescription = value()
        return f"study {study.uid}"
    if level == "series":
        series = rng.choice(database.series())
        how = rng.randrange(3)
        if how == 0:
            series.SeriesDescription = value()
        elif how == 1:
            series["ImageComments"] = value()
        else:
            series.set_values(EchoTime=rng.choice([10.0, 23.0, 90.0]), ImageComments=value())
        return f"series {series.uid} ({how})"
    instance = rng.choice(database.instances())
    if rng.random() < 0.5:
        instance.EchoTime = rng.choice([5.0, 23.0, 45.5])
    else:
        instance["ImageComments"] = value()
    return f"instance {instance.uid}"


def op_copy():
    if len(database.instances()) > MAX_INSTANCES:
        return op_remove()
    what = rng.choices(["instance", "series", "study"], [4, 4, 1])[0]
    if what == "study":
        studies = [s for s in database.studies() if len(s.instances()) <= 12]
        if not studies:
            return "copy: no small study"
        record = rng.choice(studies)
    else:
        record = rng.choice(database.instances() if what == "instance" else database.series())
    new = record.copy()
    return f"copy {what} {record.uid} -> {new.uid}"


def op_copy_to():
    if len(database.instances()) > MAX_INSTANCES:
        return op_remove()
    if rng.random() < 0.5:
        record, parent = rng.choice(database.series()), rng.choice(database.studies())
    else:
        record, parent = rng.choice(database.instances()), rng.choice(database.series())
    new = record.copy_to(parent)
    return f"copy_to {record.level} {record.uid} -> {parent.uid} as {new.uid}"


def op_move_to():
    what = rng.choice(["instance", "series", "study"])
    if what == "study":
        record, parent = rng.choice(database.studies()), rng.choice(database.patients())
    elif what == "series":
        record, parent = rng.choice(database.series()), rng.choice(database.studies())
    else:
        record, parent = rng.choice(database.instances()), rng.choice(database.series())
    record.move_to(parent)
    return f"move_to {what} {record.uid} -> {parent.uid}"


def op_remove():
    n = len(database.instances())
    if n < 30:
        return "remove: too few instances"
    series = [s for s in database.series() if len(s.instances()) <= n - 25]
    if series and rng.random() < 0.4 and len(database.series()) > 3:
        record = rng.choice(series)
    else:
        record = rng.choice(database.instances())
    record.remove()
    return f"remove {record.level} {record.uid}"


def op_import():
    global counter
    if len(database.instances()) > MAX_INSTANCES:
        return op_remove()
    counter += 1
    where = imports / f"{seed}-{counter}"
    where.mkdir(parents=True)
    study, series = generate_uid(), generate_uid()
    files = []
    template = rng.choice(templates)  # one patient per new study
    for i in range(rng.randint(1, 3)):
        ds = pydicom.dcmread(template)
        uid = generate_uid()
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.InstanceNumber = i + 1
        path = where / f"{i}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    new = database.import_dicom(files if rng.random() < 0.5 else where)
    assert len(new) == len(files), (len(new), len(files))
    return f"import {len(files)} files into series {series}"


def op_write():
    if len(database.instances()) > MAX_INSTANCES - 24:
        return op_remove()
    source = rng.choice([s for s in database.series() if len(s.instances()) <= 24])
    lazy = rng.random() < 0.3
    try:
        da = source.to_xarray(chunks={}) if lazy else source.to_xarray()
    except db.DicomError as exc:  # e.g. frames of several sizes after moves
        return f"write: {source.uid} is not one array ({type(exc).__name__})"
    out = source.new_sibling(SeriesDescription=f"derived {value()}")
    out.set_xarray((da * 2).astype("float32"))
    return f"write {'dask' if lazy else 'numpy'} {source.uid} -> {out.uid}"


def op_memory():
    series = rng.choice(database.series())
    series.read()
    series.FlipAngle = rng.choice([3, 7, 12])
    if rng.random() < 0.5:
        rng.choice(series.instances())["ImageComments"] = value()
    series.clear()
    return f"memory {series.uid}"


def op_restore_series():
    series = rng.choice(database.series())
    try:
        n = series.restore()
    except db.DicomError as exc:  # its study was moved, or a study attribute set, since the
        # save: refused, as documented (restored alone, its files would not fit the others)
        if "moved since the save" not in str(exc) and "alone would give" not in str(exc):
            raise
        return f"restore series {series.uid}: refused"
    return f"restore series {series.uid}: {n}"


def op_restore_database():
    return f"restore database: {database.restore()}"


def op_save():
    dump("pending", manifest())
    database.save()
    os.replace(state / "pending.json", state / "saved.json")
    return "save"


OPS = [
    (op_edit, 24),
    (op_copy, 7),
    (op_copy_to, 6),
    (op_move_to, 8),
    (op_remove, 8),
    (op_import, 7),
    (op_write, 6),
    (op_memory, 7),
    (op_restore_series, 8),
    (op_restore_database, 1),
    (op_save, 14),
]

database = db.database(folder)
database.mute()
print("READY", flush=True)
n = 0
while True:
    op = rng.choices([o for o, _ in OPS], [w for _, w in OPS])[0]
    n += 1
    oplog.write(f"{n} start {op.__name__}\n")
    try:
        done = op()
    except db.DicomError as exc:  # below a patient whose files name two people (an import
        # of the name before an edit): refused before any file is touched, as documented
        if " disagree on Patient" not in str(exc):
            raise
        done = f"{op.__name__}: refused (two people)"
    oplog.write(f"{n} done {done}\n")
'''


@dataclass
class Trial:
    seed: int
    delay: float = 0.0
    saved_states: int = 0
    killed_in_save: bool = False
    unsaved: bool = False
    restored: int = 0
    leaked: int = 0
    committed: bool = False  # killed during a save, after its commit
    instances: int = 0
    problems: list[str] = field(default_factory=list)

    def report(self, state: Path) -> str:
        ops = (state / "ops.log").read_text().splitlines() if (state / "ops.log").exists() else []
        stderr = (state / "stderr").read_text() if (state / "stderr").exists() else ""
        lines = [
            f"seed {self.seed} (killed after {self.delay:.3f} s, {len(ops) // 2} ops):",
            *(f"  - {p}" for p in self.problems),
            "  last operations of the child: " + " | ".join(ops[-6:]),
        ]
        if stderr.strip():
            lines.append("  child stderr: " + stderr.strip()[-1500:])
        return "\n".join(lines)


def run_trial(template: Path, work: Path, seed: int) -> tuple[Trial, Path]:
    """Copy the demo, let a child work on it, kill it at a random moment, check."""
    rng = random.Random(seed)
    trial = Trial(seed, delay=rng.uniform(0.05, 1.5))
    folder, state, source = work / "db", work / "state", work / "source"
    shutil.copytree(template, folder)
    state.mkdir()
    source.mkdir()
    for path in sorted(template.rglob("*"))[::7]:  # a few demo files to import (new UIDs)
        if path.is_file():
            shutil.copyfile(path, source / path.name)
    saved = manifest(folder)
    (state / "saved.json").write_text(json.dumps(saved))
    script = work / "child.py"
    script.write_text(CHILD)
    with open(state / "stderr", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(folder), str(source), str(state), str(seed)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            bufsize=0,
        )
        try:
            line = readline(proc, timeout=60)
            assert line == "READY", f"seed {seed}: the child said {line!r}"
            time.sleep(trial.delay)
            alive = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
    if not alive or code != -signal.SIGKILL:
        trial.problems.append(f"the child ended by itself before the kill (exit code {code})")
        return trial, state
    check_after_kill(folder, state, trial)
    return trial, state


def check_after_kill(folder: Path, state: Path, trial: Trial) -> None:
    problems = trial.problems
    saved = json.loads((state / "saved.json").read_text())
    pending_file = state / "pending.json"
    pending = json.loads(pending_file.read_text()) if pending_file.exists() else None
    trial.killed_in_save = pending is not None
    trial.saved_states = len((state / "ops.log").read_text().split(" done save")) - 1
    accepted = [saved] if pending is None else [saved, pending]
    before = manifest(folder)
    try:
        database = db.database(folder)
    except Exception as exc:  # any error is the finding
        problems.append(f"db.database(folder) raised {type(exc).__name__}: {exc}")
        return
    try:
        database.mute()
        trial.unsaved = database.unsaved
        if before not in accepted and not trial.unsaved:
            problems.append(
                "database.unsaved is False although the files differ from the last save: "
                + describe_difference(before, saved)
            )
        database.changes()  # must not fail
        trial.restored = database.restore()
        after = manifest(folder)
        trial.committed = pending is not None and after == pending != saved
        if after not in accepted:
            text = f"after restore(), vs the saved state: {describe_difference(after, saved)}"
            if pending is not None:
                text += f"; vs the state being saved: {describe_difference(after, pending)}"
            problems.append(text)
        if database.unsaved:
            problems.append(f"database.unsaved is still True after restore(): {database.changes()}")
        trial.leaked = len(kept_originals(folder))
        if trial.leaked:
            problems.append(
                f"kept originals left in the journal after restore(): {kept_originals(folder)} "
                f"(not hard links to a file of the folder: {stray_originals(folder)})"
            )
        if not database.close():
            problems.append("close() after restore() did not close")
    except Exception as exc:
        problems.append(f"restoring raised {type(exc).__name__}: {exc}")
        return
    check_index(folder, trial)


def kept_originals(folder: Path) -> list[str]:
    originals = folder / HIDDEN / "journal" / "originals"
    return sorted(os.listdir(originals)) if originals.is_dir() else []


def stray_originals(folder: Path) -> list[str]:
    """Kept originals that are not hard links to a file of the folder.

    Reported to tell a stray copy (bytes of its own) from a hard link to a
    live file (what a kill between keeping an original and rewriting its
    file leaves; restore() removes those too).
    """
    live = set()
    for rel in manifest(folder):
        st = (folder / rel).stat()
        live.add((st.st_dev, st.st_ino))
    originals = folder / HIDDEN / "journal" / "originals"
    out = []
    for name in kept_originals(folder):
        st = (originals / name).stat()
        if (st.st_dev, st.st_ino) not in live:
            out.append(name)
    return out


def check_index(folder: Path, trial: Trial) -> None:
    """A fresh open agrees with the files on disk, read with pydicom."""
    problems = trial.problems
    database = db.database(folder)
    database.mute()
    on_disk = {str(folder / p) for p in manifest(folder)}
    trial.instances = len(database.instances())
    if trial.instances != len(on_disk):
        problems.append(f"reopened: {trial.instances} instances but {len(on_disk)} files on disk")
    listed = database.files()
    if set(listed) != on_disk or len(listed) != len(on_disk):
        problems.append(
            f"reopened: database.files() lists {len(listed)} files, "
            f"{len(set(listed) - on_disk)} not on disk, {len(on_disk - set(listed))} left out"
        )
    if database.unsaved:
        problems.append("reopened: database.unsaved is True after restore()")
    found = database.problems()
    # records whose files disagree on an attribute of their level are listed
    # too: the random operations make such data on purpose (an imported file
    # keeps its own PatientName), so only the files' own problems count here
    found = found[~found["problem"].str.contains(" disagree on ", regex=False)]
    if len(found):
        problems.append(f"reopened: problems() lists {found.to_dict('records')[:3]}")
    for series in database.series():
        files = series.files()
        headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
        study = series.parent
        patient = study.parent
        keys = {(ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID) for ds in headers}
        if keys != {(patient.uid, study.uid, series.uid)}:
            problems.append(f"reopened: series {series.uid} holds files of {sorted(keys)}")
        for keyword in ("SeriesDescription", "ImageComments", "EchoTime", "FlipAngle"):
            indexed = {_plain(v) for v in series.unique(keyword)}
            in_files = {_plain(ds.get(keyword)) for ds in headers} - {None, ""}
            if indexed != in_files:
                problems.append(
                    f"reopened: series {series.uid} {keyword} is {sorted(map(str, indexed))} "
                    f"in the index, {sorted(map(str, in_files))} in the files"
                )
    # the next writer tidies the journal: nothing to restore, no original kept
    if database.restore() != 0 or kept_originals(folder):
        problems.append(f"a second restore() left kept originals: {kept_originals(folder)}")
    database.close()


def _plain(value: object) -> object:
    """A value from the index or from pydicom, comparable with the other."""
    if value is None:
        return None
    try:
        return round(float(str(value)), 6)  # numbers, DS, IS
    except ValueError:
        return str(value)


def run_trials(template: Path, work: Path, seeds: list[int]) -> list[Trial]:
    trials = []
    failures = []
    for seed in seeds:
        trial, state = run_trial(template, work / f"seed-{seed}", seed)
        trials.append(trial)
        if trial.problems:
            failures.append(trial.report(state))
        else:
            shutil.rmtree(work / f"seed-{seed}", ignore_errors=True)
    if failures:
        pytest.fail(
            f"{len(failures)} of {len(seeds)} trials failed:\n" + "\n".join(failures),
            pytrace=False,
        )
    return trials


def summary(trials: list[Trial]) -> str:
    return (
        f"{len(trials)} trials: unsaved at the kill in {sum(t.unsaved for t in trials)}, "
        f"killed during a save in {sum(t.killed_in_save for t in trials)} "
        f"({sum(t.committed for t in trials)} after its commit), "
        f"{sum(t.saved_states for t in trials)} saves, "
        f"{sum(t.restored for t in trials)} files restored, "
        f"{sum(t.leaked > 0 for t in trials)} left kept originals (hard links) after restore, "
        f"{min(t.instances for t in trials)}-{max(t.instances for t in trials)} instances left"
    )


# ---------------------------------------------------------------- crash tests
@pytest.mark.parametrize("seed", CI_SEEDS, ids=[f"seed-{s}" for s in CI_SEEDS])
def test_kill_at_a_random_moment(demo_template: Path, tmp_path: Path, seed: int) -> None:
    """SIGKILL during random work: the folder opens, and restore() brings back
    the last saved state, byte for byte."""
    run_trials(demo_template, tmp_path, [seed])


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 150 trials of ~1-3 s each: over the suite's 300 s on a busy machine
def test_kill_at_a_random_moment_many_times(demo_template: Path, tmp_path: Path) -> None:
    seeds = list(range(SLOW_FIRST_SEED, SLOW_FIRST_SEED + SLOW_TRIALS))
    start = time.monotonic()
    trials = run_trials(demo_template, tmp_path, seeds)
    print(f"\n{summary(trials)} in {time.monotonic() - start:.0f} s")


# ---------------------------------------------------------------- one writer
WRITER = r'''
"""A second process on a database: one command a line on stdin, one answer a line."""
import os
import sys

import dbdicom as db

answers = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # anything else printed goes to stderr
folder = sys.argv[1]
database = db.database(folder)
database.mute()
answers.write(f"PID {os.getpid()}\n")
for line in sys.stdin:
    command, _, argument = line.strip().partition(" ")
    try:
        if command == "edit":
            database.series(SeriesDescription="T2w")[0].ImageComments = argument
            result = "done"
        elif command == "flip":
            database.series(SeriesDescription="VFA")[0].FlipAngle = float(argument)
            result = "done"
        elif command == "double":
            series = database.series(SeriesDescription="T2w")[0]
            array, headers = series.array(["SliceLocation"])
            series.set_array(array * 2, headers)
            result = "done"
        elif command == "flips":
            result = database.series(SeriesDescription="VFA")[0].FlipAngle
        elif command == "remove":
            database.series(SeriesDescription=argument)[0].remove()
            result = "done"
        elif command == "save":
            result = database.save()
        elif command == "restore":
            result = database.restore()
        elif command == "unsaved":
            result = database.unsaved
        elif command == "close":
            result = database.close()
        elif command == "reopen":
            database = db.database(folder)
            database.mute()
            result = "done"
        elif command == "exit":
            answers.write("OK bye\n")
            break
        else:
            result = f"unknown command {command!r}"
        answers.write(f"OK {result}\n")
    except Exception as exc:
        answers.write(f"ERR {type(exc).__name__}: {' '.join(str(exc).split())}\n")
'''


class Writer:
    """Another process working on the same folder, driven line by line."""

    def __init__(self, folder: Path, work: Path) -> None:
        script = work / "writer.py"
        script.write_text(WRITER)
        self.stderr = open(work / "writer.stderr", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            bufsize=0,
        )
        first = readline(self.proc, timeout=60)
        assert first == f"PID {self.proc.pid}", first

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        return readline(self.proc, timeout=60)

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def writer_of(tmp_path: Path) -> Iterator[Callable[[Path], Writer]]:
    writers: list[Writer] = []

    def start(folder: Path) -> Writer:
        work = tmp_path / f"writer-{len(writers)}"
        work.mkdir()
        writers.append(Writer(folder, work))
        return writers[-1]

    yield start
    for writer in writers:
        writer.stop()


def changes_refused(database: db.Database) -> dict[str, Callable[[], object]]:
    """Every kind of change, one callable each."""
    series = database.series(SeriesDescription="T2w")[0]
    study = database.studies(StudyDescription="CT phantom")[0]
    instance = series.instances()[0]

    def in_memory() -> None:
        series.read()
        try:
            series.FlipAngle = 3
        finally:
            series.clear()

    def item() -> None:
        series["SeriesDescription"] = "x"

    return {
        "database attribute": lambda: setattr(database, "ImageComments", "x"),
        "patient attribute": lambda: setattr(database.patients()[0], "PatientName", "X^Y"),
        "study attribute": lambda: setattr(study, "StudyDescription", "x"),
        "series attribute": lambda: setattr(series, "Rows", 128),
        "series item": item,
        "instance attribute": lambda: setattr(instance, "EchoTime", 23.0),
        "set_values": lambda: series.set_values(EchoTime=1.0, ImageComments="x"),
        "memory mode": in_memory,
        "copy": series.copy,
        "copy_to": lambda: instance.copy_to(database.series(SeriesDescription="VFA")[0]),
        "move_to": lambda: study.move_to(database.patients()[1]),
        "remove": instance.remove,
        "new_patient": database.new_patient,
        "new_instance": series.new_instance,
        "import_dicom": lambda: database.import_dicom([]),
        "save": database.save,
        "restore": database.restore,
        "series.save": series.save,
        "series.restore": series.restore,
    }


def test_one_writer_at_a_time(
    demo_folder: Path,
    writer_of: Callable[[Path], Writer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    initial = manifest(demo_folder)
    writer = writer_of(demo_folder)
    assert writer.ask("edit by-A") == "OK done"  # the writer takes the lock
    edited = manifest(demo_folder)
    assert edited != initial
    journal = journal_state(demo_folder)
    assert journal

    database = db.database(demo_folder)
    # reading is allowed, and sees the other process's (unsaved) changes
    capsys.readouterr()
    database.print()
    assert "48 instances" in capsys.readouterr().out
    assert len(database.patients()) == 2 and len(database.instances()) == 48
    series = database.series(SeriesDescription="T2w")[0]
    assert series.ImageComments == ["by-A"]
    assert database.series(SeriesDescription="VFA")[0].FlipAngle == [2.0, 5.0, 10.0, 15.0]
    assert database.unsaved
    assert set(database.changes()["change"]) == {"changed"} and len(database.changes()) == 6
    assert all(Path(f).is_file() for f in database.files())

    for name, change in changes_refused(database).items():
        with pytest.raises(ReadOnlyError) as caught:
            change()
        message = str(caught.value)
        assert f"process {writer.pid}" in message, (name, message)
        assert "one process at a time" in message, (name, message)
    assert manifest(demo_folder) == edited  # nothing written, nothing corrupted
    assert journal_state(demo_folder) == journal
    assert database.series(SeriesDescription="T2w")[0].ImageComments == ["by-A"]

    # the writer is not disturbed by the refused attempts
    assert writer.ask("edit by-A2") == "OK done"
    assert writer.ask("unsaved") == "OK True"
    assert writer.ask("save") == "OK None"
    saved = manifest(demo_folder)
    assert writer.ask("close") == "OK True"  # the lock goes with close(), not only at exit

    # now this process may change the folder (and sees the writer's last save)
    series = database.series(SeriesDescription="T2w")[0]
    series.ImageComments = "by-B"
    assert {pydicom.dcmread(f).ImageComments for f in series.files()} == {"by-B"}
    assert database.unsaved
    # and the other process is refused in turn, with this process named
    assert writer.ask("reopen") == "OK done"
    answer = writer.ask("edit by-A3")
    assert answer.startswith("ERR ReadOnlyError") and f"process {os.getpid()}" in answer, answer
    assert writer.ask("unsaved") == "OK True"
    assert database.restore() == 6
    assert manifest(demo_folder) == saved
    assert database.series(SeriesDescription="T2w")[0].ImageComments == ["by-A2"]
    assert database.close()
    # the lock went with close(): the writer may change the folder again
    assert writer.ask("edit by-A4") == "OK done"
    assert writer.ask("restore") == "OK 6"
    assert manifest(demo_folder) == saved
    assert writer.ask("exit") == "OK bye"
    assert writer.proc.wait(timeout=30) == 0


def test_a_reader_sees_the_writers_changes_before_it_answers(
    demo_folder: Path, writer_of: Callable[[Path], Writer]
) -> None:
    """Another process's changes, unsaved or saved, are in the reader's next answer.

    The reader opened the folder first: no reopen, no refresh().
    """
    database = db.database(demo_folder)
    vfa = database.series(SeriesDescription="VFA")[0]
    assert vfa.FlipAngle == [2.0, 5.0, 10.0, 15.0]
    t2w = database.series(SeriesDescription="T2w")[0]
    before = t2w.to_xarray().values
    writer = writer_of(demo_folder)

    assert writer.ask("flip 33") == "OK done"  # unsaved
    assert vfa.FlipAngle == [33.0]
    assert [s.SeriesDescription for s in database.series(FlipAngle=33)] == ["VFA"]
    assert database.unsaved and len(database.changes()) == len(vfa.files())
    assert writer.ask("save") == "OK None"
    assert writer.ask("flip 34") == "OK done"
    assert database.series(FlipAngle=34) and vfa.FlipAngle == [34.0]
    assert writer.ask("restore").startswith("OK ")
    assert vfa.FlipAngle == [33.0] and not database.unsaved  # as saved

    assert writer.ask("double") == "OK done"  # new files: the series' own array written back
    (t2w,) = database.series(SeriesDescription="T2w")
    assert np.allclose(t2w.to_xarray().values, 2 * before)
    assert writer.ask("remove VFA") == "OK done"
    assert not database.series(SeriesDescription="VFA")
    assert writer.ask("restore").startswith("OK ")
    assert database.series(SeriesDescription="VFA")[0].FlipAngle == [33.0]
    assert np.array_equal(database.series(SeriesDescription="T2w")[0].to_xarray().values, before)
    assert writer.ask("close") == "OK True"

    # the reader becomes the writer: the other process, open before, sees its changes
    assert writer.ask("reopen") == "OK done"
    assert writer.ask("flips") == "OK [33.0]"
    vfa.FlipAngle = 50
    assert writer.ask("flips") == "OK [50.0]" and writer.ask("unsaved") == "OK True"
    assert database.restore() == len(vfa.files())
    assert writer.ask("flips") == "OK [33.0]" and writer.ask("unsaved") == "OK False"
    assert database.close()


def test_lock_released_when_the_writer_is_killed(
    demo_folder: Path, writer_of: Callable[[Path], Writer]
) -> None:
    initial = manifest(demo_folder)
    writer = writer_of(demo_folder)
    assert writer.ask("edit by-A") == "OK done"
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    with pytest.raises(ReadOnlyError, match=f"process {writer.pid} is changing"):
        series.ImageComments = "by-B"
    assert writer.kill() == -signal.SIGKILL
    # the operating system released the lock: this process may change the folder
    series.ImageComments = "by-B"
    assert {pydicom.dcmread(f).ImageComments for f in series.files()} == {"by-B"}
    assert database.unsaved
    # the killed writer's unsaved changes are still in the journal: restore undoes both
    assert database.restore() == 6
    assert manifest(demo_folder) == initial
    assert not database.unsaved
    assert database.close()
    again = db.database(demo_folder)
    assert not again.unsaved and again.series(SeriesDescription="T2w")[0].ImageComments == []
    again.close()


def test_a_lock_file_deleted_by_hand_lets_no_second_writer_in(
    demo_folder: Path, writer_of: Callable[[Path], Writer]
) -> None:
    """The writer's lock file deleted while held (taken for a stale one): still one writer.

    The other process takes a new lock file; the first one's next change
    finds its lock gone and says who has it, instead of writing beside it.
    """
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    series.ImageComments = "by-A"  # the lock taken
    lock = demo_folder / ".dbdicom" / "lock"
    lock.unlink()
    series.ImageComments = "by-A again"  # no one else: its lock taken afresh
    assert lock.exists()
    writer = writer_of(demo_folder)
    assert writer.ask("edit by-B").startswith("ERR ReadOnlyError")  # the new file is locked
    lock.unlink()
    assert writer.ask("edit by-B") == "OK done"  # the other process took a new file
    with pytest.raises(ReadOnlyError, match=f"process {writer.pid} is changing"):
        series.ImageComments = "by-A, beside B"
    assert {pydicom.dcmread(f).ImageComments for f in series.files()} == {"by-B"}
    writer.kill()
    database.close()


def test_a_lock_taken_afresh_is_kept_when_the_next_change_fails(
    demo_folder: Path, writer_of: Callable[[Path], Writer]
) -> None:
    """The lock taken afresh under unsaved changes is the writer's as before: a change that
    fails (a mistyped value) let it go, as for a lock taken for that change alone, and a
    second process then wrote beside the first one's unsaved changes."""
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    series.ImageComments = "by-A"  # the lock taken, a change unsaved
    (demo_folder / ".dbdicom" / "lock").unlink()
    with pytest.raises(db.InvalidValueError):
        series.EchoTime = "abc"  # the lock taken afresh, the change refused
    writer = writer_of(demo_folder)
    assert writer.ask("edit by-B").startswith("ERR ReadOnlyError")
    assert {pydicom.dcmread(f).ImageComments for f in series.files()} == {"by-A"}
    writer.kill()
    database.restore()
    database.close()


def test_second_database_of_the_same_process_may_write(demo_folder: Path) -> None:
    """The lock is per process: two Database objects of one process share it."""
    first = db.database(demo_folder)
    second = db.database(demo_folder)
    first.series(SeriesDescription="T2w")[0].ImageComments = "first"
    series = second.series(SeriesDescription="T2w")[0]
    series.ImageComments = "second"
    assert {pydicom.dcmread(f).ImageComments for f in series.files()} == {"second"}
    assert first.unsaved and second.unsaved
    assert second.restore() == 6
    assert not first.unsaved
    assert first.close() and second.close()


def test_the_last_database_object_of_a_folder_to_close_lets_its_lock_go(
    demo_folder: Path, writer_of: Callable[[Path], Writer]
) -> None:
    """Closed last, a Database object that had not made the last change kept the
    lock of the folder: another process was refused until this one ended."""
    first = db.database(demo_folder)
    second = db.database(demo_folder)
    first.series(SeriesDescription="T2w")[0].ImageComments = "first"
    second.series(SeriesDescription="VFA")[0].ImageComments = "second"
    assert second.restore() == 6 + 24 and not first.unsaved
    assert second.close()  # first is open: the lock stays
    writer = writer_of(demo_folder)
    assert writer.ask("edit by-A").startswith("ERR ReadOnlyError")
    assert first.close()
    assert writer.ask("edit by-A") == "OK done"  # the lock went with the last close()
    assert writer.ask("restore") == "OK 6"


# ---------------------------------------------------------------- read-only
@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "never-opened"])
@pytest.mark.parametrize("how", ["mode", "immutable"])
def test_read_only_folder(
    demo_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
    indexed: bool,
) -> None:
    """Permission bits (respected even by root) or an immutable folder: reading
    works, every change raises ReadOnlyError, no file changes."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if indexed:
        db.database(demo_folder).close()
    for path in demo_folder.rglob("*"):  # chmod -R a-w
        if path.is_file():
            path.chmod(path.stat().st_mode & ~0o222)
    before = everything(demo_folder)
    with read_only(demo_folder, how):
        database = db.database(demo_folder)
        assert database.read_only
        assert not database.unsaved
        capsys.readouterr()
        database.print()
        assert "48 instances" in capsys.readouterr().out
        assert database.series(SeriesDescription="VFA")[0].FlipAngle == [2.0, 5.0, 10.0, 15.0]
        assert database.series(SeriesDescription="T2w")[0].to_xarray().shape[-2:] == (64, 64)
        for name, change in changes_refused(database).items():
            if name.endswith(("save", "restore")):
                assert not change()  # nothing to save or restore: nothing done, no error
                continue
            with pytest.raises(ReadOnlyError) as caught:
                change()
            message = str(caught.value)
            assert f"{demo_folder} is read-only" in message, (name, message)
            assert "export_as_dicom" in message, (name, message)
        assert not database.unsaved and len(database.changes()) == 0
        assert database.close()
        assert everything(demo_folder) == before
    assert everything(demo_folder) == before


# ---------------------------------------------------------------- library bugs found here
def test_restore_after_a_failed_write_leaves_no_kept_originals(
    demo_folder: Path, tmp_path: Path
) -> None:
    """A write that fails (EFBIG from a file-size limit, as a full disk would)
    after the originals were kept; a SIGKILL between the two does the same."""
    db.database(demo_folder).close()
    initial = manifest(demo_folder)
    script = tmp_path / "fail.py"
    script.write_text(
        "import resource, signal, sys\n"
        "import dbdicom as db\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "database = db.database(sys.argv[1])\n"
        'series = database.series(SeriesDescription="T2w")[0]\n'
        "resource.setrlimit(resource.RLIMIT_FSIZE, (5000, resource.RLIM_INFINITY))\n"
        "try:\n"
        '    series.ImageComments = "x"  # the log fits in 5000 bytes, a file does not\n'
        "except db.DicomError as exc:\n"
        '    print("FAILED", exc)\n'
        "limit = resource.RLIM_INFINITY\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    )
    result = subprocess.run(
        [sys.executable, str(script), str(demo_folder)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "FAILED writing" in result.stdout and "0 of 6 files" in result.stdout, result.stdout
    assert manifest(demo_folder) == initial
    assert len(kept_originals(demo_folder)) == 6  # kept before the write that failed
    database = db.database(demo_folder)
    assert database.unsaved
    assert database.restore() == 6
    assert manifest(demo_folder) == initial and not database.unsaved
    assert kept_originals(demo_folder) == []  # fails: the 6 hard links are still there


def test_read_only_folder_with_unsaved_changes_says_so(
    demo_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    writer_of: Callable[[Path], Writer],
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    writer = writer_of(demo_folder)
    assert writer.ask("edit left-unsaved") == "OK done"
    assert writer.ask("exit") == "OK bye"
    assert writer.proc.wait(timeout=30) == 0
    with read_only(demo_folder, "mode"):
        database = db.database(demo_folder)
        assert database.read_only
        assert database.series(SeriesDescription="T2w")[0].ImageComments == ["left-unsaved"]
        with pytest.raises(ReadOnlyError):
            database.restore()
        assert database.unsaved  # fails: False
        assert len(database.changes()) == 6
