"""Benchmark of editing with dbdicom against a plain pydicom loop, side by side.

Usage::

    python benchmarks/bench_edit.py [--quick] [--folder DIR] [--fresh]
                                    [--repeats K] [--json PATH] [--profile]

What is measured, all in one run and one process (dbdicom is imported and the
database opened -- indexed -- before any timing; ``time.perf_counter``
wall-clock seconds):

* **on-disk edit** -- ``series.Rows = v`` on a 200-instance series: dbdicom
  keeps each file's original in its journal (a hard link) and rewrites the
  file (a temporary file renamed over it), then reads the headers into its
  index again; against the **pydicom loop** ``ds = pydicom.dcmread(p);
  ds.Rows = v; ds.save_as(p)`` over an identical copy of the 200 files (kept
  in ``DIR/.pydicom-peer``, a hidden folder dbdicom does not index), which
  rewrites in place and keeps nothing. Each repetition sets the other value
  (128, 64, 128...), so the files really change, and ``database.save()`` is
  called after it, untimed: every timed edit is the first after a save, the
  one that pays for keeping the originals.
* **in-memory edit** -- the same edit after ``series.read()``: only
  ``series.Rows = v`` is timed for the target; ``read()`` and ``clear()``
  (which writes the edits to disk, through the journal) are timed apart and
  reported, and ``database.save()`` follows, untimed.
* **save** -- ``database.save()`` after the SeriesDescription of 5 series of
  200 instances (1,000 files) was changed, untimed, through the journal.
* **restore** -- ``database.restore()`` after those 1,000 files were changed
  again. Before the change, the saved files are hashed (SHA-256); after the
  restore they are hashed again and must be the same, byte for byte
  (checked in every repetition, untimed; the run stops if one differs).

The OS page cache is warm for both contestants: every file is read once,
untimed, before the first measurement, and each contestant makes one
untimed warm-up edit (the first change takes the folder's writer lock and
pays for lazy imports; the warm-up times are printed). Timings are the best
of ``--repeats`` (default 3); every repetition is printed.

The data are made with dbdicom's own templates (``mr_image`` +
``write_dataset``): one patient, one study, a series of 200 single-frame
256 x 256 uint16 MR slices (Explicit VR Little Endian, about 130 kB each)
and 5 series of 200 slices (1,000 files), in
``DIR/patient-01/study-1/series-SS/IM-NNNNN`` (default
``/tmp/dbdicom-bench-edit``). The folder is kept between runs, so reruns
skip the generation; at the end of a run the data are put back as generated
(Rows 256, the original descriptions) and saved. ``--fresh`` makes them
again; ``--quick`` uses small sizes (40 instances, 200 files for save and
restore), a smoke run whose targets are not judged.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from _report import (
    Row,
    Timing,
    add_timing_options,
    data_args,
    data_parser,
    mark_complete,
    open_muted,
    peer_table,
    profile_top,
    reuse_or_clear,
    rows_json,
    save_report,
    timed,
)

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset

# ------------------------------------------------------------------ constants
LAYOUT_VERSION = 1
DEFAULT_ROOT = Path("/tmp/dbdicom-bench-edit")
PEER = ".pydicom-peer"  # hidden: dbdicom does not index it
SHAPE = (256, 256)
ROWS = SHAPE[0]  # the value the files are generated (and left) with
VALUES = (128, 64)  # what the edits set, alternately
SPACING = 1.0  # mm, in plane
THICKNESS = 2.0  # mm
EDIT_DESCRIPTION = "T1w 3D, edited"
BULK_DESCRIPTION = "DCE dynamic {}"


@dataclass(frozen=True)
class Sizes:
    """The size of every case; the targets are stated for :data:`FULL`."""

    edit: int  # instances of the edited series
    bulk_series: int  # series changed together for save and restore
    bulk_each: int  # instances of each

    @property
    def bulk(self) -> int:
        return self.bulk_series * self.bulk_each


FULL = Sizes(edit=200, bulk_series=5, bulk_each=200)
QUICK = Sizes(edit=40, bulk_series=5, bulk_each=40)


# ------------------------------------------------------------------ generation
@dataclass(frozen=True)
class SeriesSpec:
    """Everything a worker needs to write one series."""

    folder: str
    n_files: int
    number: int
    description: str
    study_uid: str
    series_uid: str
    frame_uid: str


def series_specs(root: Path, sizes: Sizes) -> list[SeriesSpec]:
    study_uid, frame_uid = new_uid(), new_uid()
    study = root / "patient-01" / "study-1"

    def spec(number: int, n: int, description: str) -> SeriesSpec:
        folder = str(study / f"series-{number:02d}")
        return SeriesSpec(folder, n, number, description, study_uid, new_uid(), frame_uid)

    specs = [spec(1, sizes.edit, EDIT_DESCRIPTION)]
    for i in range(sizes.bulk_series):
        specs.append(spec(i + 2, sizes.bulk_each, BULK_DESCRIPTION.format(i + 1)))
    return specs


def phantom(s: int, n_slices: int) -> np.ndarray:
    """An elliptical body that shrinks towards the ends of the stack: 0..1."""
    rows, cols = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(np.float32)
    y, x = (rows - SHAPE[0] / 2) / SHAPE[0], (cols - SHAPE[1] / 2) / SHAPE[1]
    u = (s + 0.5) / n_slices * 2 - 1
    r = math.sqrt(max(0.05, 1 - u * u))
    body = ((x / (0.42 * r)) ** 2 + (y / (0.32 * r)) ** 2 <= 1).astype(np.float32)
    return body * (0.6 + 0.4 * np.cos(6 * x) * np.cos(6 * y))


def write_series(spec: SeriesSpec) -> int:
    """Write one series: one template dataset, per-instance values changed."""
    ds = mr_image(
        np.zeros(SHAPE, np.uint16),
        PatientName="Edit^Bench",
        PatientID="BENCH-EDIT",
        PatientBirthDate="19700101",
        PatientSex="F",
        StudyInstanceUID=spec.study_uid,
        StudyDescription="Editing benchmark",
        StudyDate="20240315",
        StudyTime="091500",
        StudyID="1",
        AccessionNumber="ACC-EDIT",
        FrameOfReferenceUID=spec.frame_uid,
        SeriesInstanceUID=spec.series_uid,
        SeriesDescription=spec.description,
        SeriesNumber=spec.number,
        PixelSpacing=[SPACING, SPACING],
        SliceThickness=THICKNESS,
        SpacingBetweenSlices=THICKNESS,
        WindowCenter=1000.0,
        WindowWidth=2000.0,
    )
    corner = -(SHAPE[0] - 1) * SPACING / 2
    folder = Path(spec.folder)
    for k in range(spec.n_files):
        z = round((k - spec.n_files / 2) * THICKNESS, 2)
        ds.SOPInstanceUID = new_uid()
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [corner, corner, z]
        ds.SliceLocation = z
        ds.PixelData = np.rint(phantom(k, spec.n_files) * 2000).astype(np.uint16).tobytes()
        write_dataset(ds, folder / f"IM-{k + 1:05d}")
    return spec.n_files


def ensure_data(root: Path, sizes: Sizes, fresh: bool, workers: int) -> float:
    """Make the database and the peer's copy in ``root`` unless they are there."""
    wanted = {**asdict(sizes), "layout": LAYOUT_VERSION}
    if reuse_or_clear(root, wanted, fresh):
        return 0.0
    specs = series_specs(root, sizes)
    n = sizes.edit + sizes.bulk
    print(
        f"Generating {n} files in {root} ({len(specs)} series, {workers} processes), "
        f"and a copy of the first {sizes.edit} for the peer..."
    )
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        written = sum(pool.map(write_series, specs))
    assert written == n, (written, n)
    peer = root / PEER
    peer.mkdir()
    for path in sorted(Path(specs[0].folder).iterdir()):
        shutil.copyfile(path, peer / path.name)  # the same bytes
    mark_complete(root, wanted)
    seconds = time.perf_counter() - start
    print(f"  done in {seconds:.1f} s")
    return seconds


# ------------------------------------------------------------------ contestants
open_database = open_muted


def peer_paths(root: Path) -> list[str]:
    return sorted(str(p) for p in (root / PEER).iterdir())


def pydicom_edit(paths: Sequence[str], value: int) -> None:
    """The peer: read, set, write back in place."""
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.Rows = value
        ds.save_as(path)


def warm_page_cache(root: Path) -> int:
    """Read every file once (the database's and the peer's), untimed."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d == PEER or not d.startswith(".")]
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as f:
                while chunk := f.read(1 << 20):
                    total += len(chunk)
    return total


def hashes(paths: Sequence[str]) -> dict[str, str]:
    out = {}
    for path in paths:
        with open(path, "rb") as f:
            out[path] = hashlib.sha256(f.read()).hexdigest()
    return out


def other(value: int) -> int:
    """The next value to set: never the one the files hold."""
    return VALUES[1] if value == VALUES[0] else VALUES[0]


@dataclass
class Data:
    """The opened database and the records the edits go to."""

    root: Path
    database: db.Database
    edit: Any  # the series of sizes.edit instances
    bulk: list[Any]  # the series changed together
    peer: list[str]  # the peer's copy of the edited series
    bulk_files: list[str] = field(default_factory=list)
    rows: int = ROWS  # the Rows the dbdicom files hold now
    peer_rows: int = ROWS  # the Rows the peer's files hold now


def find_data(root: Path, sizes: Sizes) -> Data:
    database = open_database(root)
    if len(database.problems()):
        sys.exit(f"{root}: problems\n{database.problems()}")
    if database.unsaved:
        n = database.restore()
        print(f"  {n} unsaved change(s) left by an interrupted run: restored")
    by_number = {int(s.SeriesNumber): s for s in database.series()}
    edit = by_number[1]
    bulk = [by_number[i + 2] for i in range(sizes.bulk_series)]
    data = Data(root, database, edit, bulk, peer_paths(root))
    data.bulk_files = [p for s in bulk for p in s.files()]
    n_edit = len(edit.files())
    if n_edit != sizes.edit or len(data.bulk_files) != sizes.bulk or len(data.peer) != n_edit:
        sys.exit(f"{root} does not hold the data expected: use --fresh")
    return data


def put_back(data: Data) -> None:
    """The generated state (Rows 256, the original descriptions), saved; untimed.

    Run before the measurements (in case an earlier run was interrupted) and
    after them, so that every run starts from the same files.
    """
    if data.edit.Rows != [ROWS]:
        data.edit.Rows = ROWS
    for i, series in enumerate(data.bulk):
        description = BULK_DESCRIPTION.format(i + 1)
        if series.SeriesDescription != description:
            series.SeriesDescription = description
    if data.database.unsaved:
        data.database.save()
    data.rows = ROWS
    for path in data.peer:
        if pydicom.dcmread(path, stop_before_pixels=True).Rows != ROWS:
            pydicom_edit([path], ROWS)
    data.peer_rows = ROWS


# ------------------------------------------------------------------ timing
@dataclass
class Results:
    disk: Timing = field(default_factory=Timing)  # dbdicom, series.Rows = v on disk
    peer: Timing = field(default_factory=Timing)  # the pydicom loop
    read: Timing = field(default_factory=Timing)  # series.read()
    memory: Timing = field(default_factory=Timing)  # series.Rows = v in memory
    clear: Timing = field(default_factory=Timing)  # series.clear()
    save: Timing = field(default_factory=Timing)  # database.save() of the bulk
    restore: Timing = field(default_factory=Timing)  # database.restore() of the bulk
    restored: list[int] = field(default_factory=list)  # files restore() reported
    verified: list[bool] = field(default_factory=list)  # byte for byte, each repetition
    checks: list[str] = field(default_factory=list)


def set_rows(data: Data) -> int:
    """dbdicom's edit: the other value of Rows on the edited series."""
    value = other(data.rows)
    data.edit.Rows = value
    data.rows = value
    return value


def set_peer_rows(data: Data) -> int:
    value = other(data.peer_rows)
    pydicom_edit(data.peer, value)
    data.peer_rows = value
    return value


def check_edit(data: Data, n: int, where: str) -> None:
    """The edit is in the index, on disk, and (before the save) in the journal."""
    if data.edit.Rows != [data.rows]:
        raise AssertionError(f"{where}: the index shows Rows {data.edit.Rows}, not {data.rows}")
    for path in data.edit.files()[:: max(1, n // 4)]:
        if pydicom.dcmread(path, stop_before_pixels=True).Rows != data.rows:
            raise AssertionError(f"{where}: {path} does not hold Rows {data.rows}")
    changed = len(data.database.changes())
    if changed != n:
        raise AssertionError(f"{where}: the journal lists {changed} changes, not {n}")


def measure_edits(data: Data, repeats: int, res: Results) -> None:
    """Items 1 and 2: on disk against the pydicom loop, then in memory."""
    n = len(data.peer)
    database = data.database
    res.disk.warmup, _ = timed(lambda: set_rows(data))
    check_edit(data, n, "warm-up edit")
    database.save()
    res.peer.warmup, _ = timed(lambda: set_peer_rows(data))
    print(f"  warm-up: dbdicom {res.disk.warmup:.3f} s, pydicom loop {res.peer.warmup:.3f} s")
    for rep in range(repeats):
        seconds, _ = timed(lambda: set_rows(data))
        res.disk.seconds.append(seconds)
        check_edit(data, n, "on-disk edit")
        database.save()  # untimed: the next edit keeps originals again
        if database.unsaved:
            raise AssertionError("unsaved changes after save()")
        peer_seconds, _ = timed(lambda: set_peer_rows(data))
        res.peer.seconds.append(peer_seconds)
        ds = pydicom.dcmread(data.peer[-1], stop_before_pixels=True)
        assert ds.Rows == data.peer_rows, (ds.Rows, data.peer_rows)
        print(
            f"  on disk {rep + 1}: dbdicom {seconds:.3f} s, pydicom loop {peer_seconds:.3f} s",
            flush=True,
        )
    res.checks.append(
        f"on-disk edit: after each, the index and the files hold the new Rows and the "
        f"journal lists {n} changes; the pydicom loop's files hold the new Rows"
    )

    # memory mode: the first read() is a warm-up too
    for rep in range(-1, repeats):
        read_seconds, _ = timed(data.edit.read)
        seconds, _ = timed(lambda: set_rows(data))
        if data.edit.Rows != [data.rows] or not database.unsaved:
            raise AssertionError("in-memory edit: the index does not show it, or not unsaved")
        clear_seconds, _ = timed(data.edit.clear)
        check_edit(data, n, "in-memory edit, after clear()")
        database.save()
        if rep < 0:
            res.memory.warmup = seconds
            print(
                f"  warm-up: read() {read_seconds:.3f} s, in memory {seconds * 1000:.2f} ms, "
                f"clear() {clear_seconds:.3f} s"
            )
            continue
        res.read.seconds.append(read_seconds)
        res.memory.seconds.append(seconds)
        res.clear.seconds.append(clear_seconds)
        print(
            f"  in memory {rep + 1}: read() {read_seconds:.3f} s, edit {seconds * 1000:.2f} ms, "
            f"clear() {clear_seconds:.3f} s",
            flush=True,
        )
    res.checks.append(
        "in-memory edit: the index shows it at once and the database is unsaved; after "
        f"clear() the files hold it and the journal lists {n} changes"
    )


def change_bulk(data: Data, label: str) -> None:
    """Change the SeriesDescription of every bulk file (through the journal)."""
    for i, series in enumerate(data.bulk):
        series.SeriesDescription = f"{BULK_DESCRIPTION.format(i + 1)} ({label})"


def measure_save_restore(data: Data, repeats: int, res: Results) -> None:
    """Items 3 and 4: save() after changing the bulk files, then restore()."""
    database = data.database
    n = len(data.bulk_files)
    stamp = time.strftime("%H%M%S")
    for rep in range(repeats):
        change_bulk(data, f"saved {stamp}-{rep + 1}")
        changed = len(database.changes())
        if changed != n:
            raise AssertionError(f"the journal lists {changed} changes, not {n}")
        seconds, _ = timed(database.save)
        res.save.seconds.append(seconds)
        if database.unsaved or len(database.changes()):
            raise AssertionError("unsaved changes after save()")
        saved = hashes(data.bulk_files)
        change_bulk(data, f"unsaved {stamp}-{rep + 1}")
        before = hashes(data.bulk_files)
        if any(before[p] == saved[p] for p in data.bulk_files):
            raise AssertionError("a bulk file did not change")
        restore_seconds, count = timed(database.restore)
        res.restore.seconds.append(restore_seconds)
        res.restored.append(int(count))
        after = hashes(data.bulk_files)
        ok = after == saved and count == n and not database.unsaved
        for i, series in enumerate(data.bulk):
            wanted = f"{BULK_DESCRIPTION.format(i + 1)} (saved {stamp}-{rep + 1})"
            ok = ok and series.SeriesDescription == wanted  # the index, too
        res.verified.append(ok)
        print(
            f"  {n} files: save() {seconds:.3f} s, restore() {restore_seconds:.3f} s "
            f"({count} files; {'verified' if ok else 'NOT the saved bytes'})",
            flush=True,
        )
        if not ok:
            raise AssertionError("restore() did not put back the saved files byte for byte")
    res.checks.append(
        f"restore: after each, the {n} files are byte for byte the saved ones (SHA-256), "
        "restore() returned their number, the index shows the saved descriptions and "
        "nothing is unsaved"
    )


# ------------------------------------------------------------------ profile
def profile_report(data: Data) -> None:
    """cProfile of the on-disk edit, the in-memory edit, save() and restore() (one run each)."""
    n = len(data.peer)
    print(profile_top(lambda: set_rows(data), f"series.Rows = v on disk, {n} files", 15))
    data.database.save()
    data.edit.read()
    print(profile_top(lambda: set_rows(data), f"series.Rows = v in memory, {n} files", 15))
    data.edit.clear()
    data.database.save()
    n_bulk = len(data.bulk_files)
    change_bulk(data, "profiled save")
    print(profile_top(data.database.save, f"database.save() after changing {n_bulk} files", 15))
    change_bulk(data, "profiled restore")
    print(profile_top(data.database.restore, f"database.restore() of {n_bulk} files", 15))


# ------------------------------------------------------------------ report
def result_rows(res: Results, sizes: Sizes, judged: bool) -> list[Row]:
    def judge(ok: bool) -> bool | None:
        return ok if judged else None

    disk, peer, memory = res.disk.best, res.peer.best, res.memory.best
    faster = disk / memory if memory > 0 else math.inf
    return [
        Row(
            f"series.Rows = v on disk, {sizes.edit} files (journal incl.)",
            "s",
            disk,
            (peer,),
            "<= 1.5x the pydicom loop",
            judge(disk <= 1.5 * peer),
            f"{disk / peer:.2f}x pydicom",
        ),
        Row(
            f"series.Rows = v in memory, {sizes.edit} files",
            "s",
            memory,
            (None,),
            ">= 20x faster than on disk",
            judge(faster >= 20),
            f"{faster:,.0f}x faster than on disk",
        ),
        Row("series.read() before it (not in the target)", "s", res.read.best, (None,), "-", None),
        Row("series.clear() after it (not in the target)", "s", res.clear.best, (None,), "-", None),
        Row(
            f"database.save() after changing {sizes.bulk:,} files",
            "s",
            res.save.best,
            (None,),
            "<= 1 s",
            judge(res.save.best <= 1.0),
        ),
        Row(
            f"database.restore() of {sizes.bulk:,} changed files",
            "s",
            res.restore.best,
            (None,),
            "<= 2 s",
            judge(res.restore.best <= 2.0),
        ),
    ]


def table(rows: list[Row]) -> str:
    return peer_table(rows, ["pydicom loop"], "ratio")


def print_report(
    res: Results, sizes: Sizes, args: argparse.Namespace, nbytes: int, judged: bool
) -> None:
    cores = os.cpu_count() or 1
    print()
    print(
        f"dbdicom {db.__version__} vs pydicom {pydicom.__version__}; Python "
        f"{platform.python_version()}, {cores} cores; files in {args.folder}"
    )
    print(
        f"Wall-clock, best of {args.repeats}; OS page cache warm for both "
        f"({nbytes / 1e6:,.0f} MB read once beforehand); database opened beforehand; "
        "each contestant made one untimed warm-up edit"
    )
    print(
        "256x256 uint16 MR, Explicit VR Little Endian; every timed on-disk edit is the first "
        "after a save (dbdicom keeps the originals); the pydicom loop rewrites in place"
    )
    if not judged:
        print("--quick: a smoke run at small sizes; the targets are stated for the full sizes")
    print()
    print(table(result_rows(res, sizes, judged)))
    print()
    n_ok = sum(res.verified)
    print(
        f"restore {'verified' if n_ok == len(res.verified) else 'NOT verified'}: in "
        f"{n_ok} of {len(res.verified)} repetitions the {sizes.bulk:,} files after restore() "
        "were byte for byte the saved ones (SHA-256)"
    )
    print("checks (asserted in this run):")
    for check in res.checks:
        print(f"  {check}")
    print()
    per_file = 1000 / sizes.edit
    print(
        f"per file, on disk: dbdicom {res.disk.best * per_file:.2f} ms, pydicom loop "
        f"{res.peer.best * per_file:.2f} ms; in memory {res.memory.best * per_file * 1000:.1f} us"
    )
    print("all repetitions (s); 'warm-up' is the untimed first call:")
    for name, timing in (
        ("dbdicom series.Rows = v on disk", res.disk),
        ("pydicom loop", res.peer),
        ("series.read()", res.read),
        ("series.Rows = v in memory", res.memory),
        ("series.clear()", res.clear),
        ("database.save()", res.save),
        ("database.restore()", res.restore),
    ):
        print("  " + timing.line(name, 32))


def write_json(
    path: Path, res: Results, sizes: Sizes, args: argparse.Namespace, generation: float
) -> None:
    judged = not args.quick

    report = {
        "quick": args.quick,
        "folder": str(args.folder),
        "sizes": {**asdict(sizes), "bulk": sizes.bulk},
        "generation_seconds": generation,
        "versions": {
            "dbdicom": db.__version__,
            "pydicom": pydicom.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "cores": os.cpu_count(),
        "page_cache": "warm for both",
        "timings": {
            "dbdicom_edit_on_disk": res.disk.as_dict(),
            "pydicom_loop": res.peer.as_dict(),
            "dbdicom_read": res.read.as_dict(),
            "dbdicom_edit_in_memory": res.memory.as_dict(),
            "dbdicom_clear": res.clear.as_dict(),
            "dbdicom_save": res.save.as_dict(),
            "dbdicom_restore": res.restore.as_dict(),
        },
        "restored_files": res.restored,
        "restore_verified": res.verified,
        "checks": res.checks,
        "results": rows_json(result_rows(res, sizes, judged), ["pydicom"]),
    }
    save_report(path, report)


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = data_parser(__doc__, DEFAULT_ROOT)
    add_timing_options(
        parser,
        "also print cProfile top 15 of the edits (on disk, in memory), save() and restore()",
    )
    return data_args(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    root: Path = args.folder
    generation = ensure_data(root, sizes, args.fresh, os.cpu_count() or 1)

    print("Opening (indexing) the database, untimed...")
    data = find_data(root, sizes)
    put_back(data)
    print("Warming the OS page cache (one untimed read of every file)...")
    nbytes = warm_page_cache(root)
    print(f"  {nbytes / 1e6:,.0f} MB; the cache is warm for both contestants")

    res = Results()
    print(f"Timing series.Rows = v on {sizes.edit} files, on disk and in memory...", flush=True)
    measure_edits(data, args.repeats, res)
    print(f"Timing save() and restore() of {sizes.bulk:,} files...", flush=True)
    measure_save_restore(data, args.repeats, res)

    print_report(res, sizes, args, nbytes, judged=not args.quick)
    if args.profile:
        profile_report(data)
    put_back(data)
    if not data.database.close():
        print("WARNING: the database could not be closed")
    if args.json:
        write_json(args.json, res, sizes, args, generation)
    return 0


if __name__ == "__main__":
    sys.exit(main())
