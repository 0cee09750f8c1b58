"""Benchmark of dbdicom's index against a plain pydicom loop, side by side.

Usage::

    python benchmarks/bench_index.py [--files N] [--folder DIR] [--fresh]
                                     [--no-keep] [--json PATH] [--profile]
                                     [--cases first,reopen,touched,find]

What is measured, all in one run and one process (dbdicom is imported before
any timing; ``time.perf_counter`` wall-clock seconds):

* **first open** -- ``db.database(DIR)`` with no saved index (``DIR/.dbdicom``
  is deleted first): walk the folder, read every header (dbdicom uses one
  worker process per core), build the table, save it.
* **pydicom loop** (the peer) -- ``os.walk`` + ``pydicom.dcmread(path,
  stop_before_pixels=True)`` of every file in this one process, collecting
  the same tags as dbdicom's index (``dbdicom._index.TAGS``; vectors such as
  ImagePositionPatient as pydicom returns them) into a list of dicts, then a
  :class:`pandas.DataFrame`.
* **reopen, no change** -- ``db.database(DIR)`` again, with the index saved.
* **reopen after touching 1%** of the files -- 1% of the files (spread over
  the folder) are rewritten with a new SeriesDescription, as most tools
  write (a new file renamed over the old one, which changes the folder's
  modification time); then ``db.database(DIR)`` is timed against pydicom
  re-reading just those files (the peer is told which files changed, which
  flatters it). A fresh set of edits is made before every repetition.
* **open + find + load one 40-file series** -- ``db.database(DIR)`` (index
  saved), ``database.series(SeriesInstanceUID=uid)`` and
  ``series.to_xarray().values`` of the last series (4 slices x 10 flip
  angles), against pydicom reading just those 40 files
  (``np.stack([dcmread(p).pixel_array ...])``, the peer is given the file
  names), alternating, in every repetition.
* **index memory per instance** -- ``index.frame.memory_usage(deep=True)``
  summed and divided by the number of rows, next to the same figure for the
  peer's DataFrame.

The OS page cache is warm for both contestants: every file is read once,
untimed, before the first measurement. Cheap measurements are repeated
``--repeats`` times (default 5), the first open and the pydicom loop
``--first-runs`` times (default 2); the table shows the best, the lines
below it min / median / max, and the load average before and after.

The synthetic database: N single-frame 256 x 256 16-bit MR files (Explicit VR
Little Endian, about 130 kB each) made with dbdicom's own templates, over 10
patients x 2 studies x 5 series; in every series the instances span slices x
flip angles; the last series has 40 files, the others share the rest. Files
are nested ``patient-PP/study-S/series-R/IM-NNNNN``. The
folder (default ``/tmp/dbdicom-bench-<N>``) is kept between runs, so reruns
skip the generation; ``--fresh`` makes it again, ``--no-keep`` deletes it at
the end.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydicom
from _report import (
    Row,
    Timing,
    add_timing_options,
    mark_complete,
    peer_table,
    profile_top,
    reuse_or_clear,
    rows_json,
    save_report,
    timed,
)
from pydicom.errors import InvalidDicomError

import dbdicom as db
from dbdicom._index import HIDDEN, TAGS, scan_files, walk
from dbdicom._index import _scan as _scan_module
from dbdicom._templates import mr_image, new_uid, write_dataset

# ------------------------------------------------------------------ constants
N_PATIENTS, N_STUDIES, N_SERIES = 10, 2, 5
FLIP_ANGLES = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0)
SHAPE = (256, 256)
SPACING = 1.5  # mm, in plane
THICKNESS = 5.0  # mm
LAYOUT_VERSION = 2  # 2: the last series has SMALL_SERIES files
REFERENCE_FILES = 20_000  # the size the targets are stated for
CASES = ("first", "reopen", "touched", "find")
SMALL_SERIES = 40  # files of the last series (4 slices x 10 flip angles): found and loaded

PATIENT_NAMES = (
    "Garcia^Maria",
    "Smith^John",
    "Muller^Hans",
    "Rossi^Giulia",
    "Kowalski^Jan",
    "Dubois^Claire",
    "Tanaka^Hiroshi",
    "Okafor^Chinwe",
    "Jensen^Lars",
    "Silva^Ana",
)
SERIES_PROTOCOLS = (  # description, TR (ms), TE (ms)
    ("VFA T1 mapping", 5.0, 2.0),
    ("VFA T1 mapping B1 corrected", 5.5, 2.1),
    ("DCE pre-contrast", 3.8, 1.2),
    ("MT on", 6.2, 2.4),
    ("MT off", 6.2, 2.4),
)
STUDY_DESCRIPTIONS = ("Kidney MRI baseline", "Kidney MRI follow-up")


# ------------------------------------------------------------------ generation
@dataclass(frozen=True)
class SeriesSpec:
    """Everything a worker needs to write one series."""

    folder: str
    n_files: int
    patient: int
    study: int
    series: int
    study_uid: str
    frame_uid: str


def layout(n_files: int) -> list[int]:
    """Number of files of each of the 100 series.

    The last has :data:`SMALL_SERIES` files (at most half of N), the one that
    "open + find + load" looks for; the rest are spread as evenly as possible.
    """
    total = N_PATIENTS * N_STUDIES * N_SERIES
    small = min(SMALL_SERIES, n_files // 2)
    base, extra = divmod(n_files - small, total - 1)
    return [base + (1 if i < extra else 0) for i in range(total - 1)] + [small]


def series_specs(root: Path, n_files: int) -> list[SeriesSpec]:
    """The series to write, with study-level UIDs shared within a study."""
    counts = iter(layout(n_files))
    specs: list[SeriesSpec] = []
    for p in range(N_PATIENTS):
        for s in range(N_STUDIES):
            study_uid, frame_uid = new_uid(), new_uid()
            for r in range(N_SERIES):
                n = next(counts)
                if n == 0:
                    continue
                folder = root / f"patient-{p + 1:02d}" / f"study-{s + 1}" / f"series-{r + 1}"
                specs.append(SeriesSpec(str(folder), n, p, s, r, study_uid, frame_uid))
    return specs


def phantom(patient: int) -> np.ndarray:
    """A smooth elliptical body with two 'kidneys', proton density 0..1."""
    rows, cols = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(float)
    y, x = (rows - SHAPE[0] / 2) / SHAPE[0], (cols - SHAPE[1] / 2) / SHAPE[1]
    body = ((x / 0.42) ** 2 + (y / (0.30 + 0.01 * patient)) ** 2 <= 1).astype(float) * 0.6
    for cx in (-0.18, 0.18):
        body[((x - cx) / 0.07) ** 2 + (y / 0.11) ** 2 <= 1] = 1.0
    return body


def write_series(spec: SeriesSpec) -> int:
    """Write one series: one template dataset, per-instance values changed."""
    description, tr, te = SERIES_PROTOCOLS[spec.series]
    p = spec.patient
    n_fa = min(len(FLIP_ANGLES), spec.n_files)
    n_slices = math.ceil(spec.n_files / n_fa)
    pd_map = phantom(p)
    e1 = math.exp(-tr / 1200.0)
    signal = []
    for fa in FLIP_ANGLES[:n_fa]:
        a = math.radians(fa)
        signal.append(math.sin(a) * (1 - e1) / (1 - math.cos(a) * e1))
    scale = 3000.0 / max(signal)
    study_date = f"2024{(p % 12) + 1:02d}{10 + 7 * spec.study:02d}"
    ds = mr_image(
        np.zeros(SHAPE, np.uint16),
        PatientName=PATIENT_NAMES[p],
        PatientID=f"BENCH-{p + 1:04d}",
        PatientBirthDate=f"19{50 + 3 * p}0{1 + p % 9}15",
        PatientSex="F" if p % 2 else "M",
        StudyInstanceUID=spec.study_uid,
        StudyDescription=STUDY_DESCRIPTIONS[spec.study % len(STUDY_DESCRIPTIONS)],
        StudyDate=study_date,
        StudyTime=f"{8 + p % 9:02d}{15 + 5 * spec.study:02d}00",
        StudyID=str(spec.study + 1),
        AccessionNumber=f"ACC{p + 1:03d}{spec.study + 1}",
        ReferringPhysicianName="Jones^Sarah",
        FrameOfReferenceUID=spec.frame_uid,
        SeriesDescription=description,
        ProtocolName=description.replace(" ", "_"),
        SeriesNumber=spec.series + 1,
        SeriesTime=f"{8 + p % 9:02d}{20 + 5 * spec.series:02d}00",
        BodyPartExamined="ABDOMEN",
        RepetitionTime=tr,
        EchoTime=te,
        PixelSpacing=[SPACING, SPACING],
        SliceThickness=THICKNESS,
        SpacingBetweenSlices=THICKNESS,
        WindowCenter=1500.0,
        WindowWidth=3000.0,
    )
    corner = -(SHAPE[0] - 1) * SPACING / 2
    folder = Path(spec.folder)
    for k in range(spec.n_files):
        s, j = divmod(k, n_fa)
        z = round((s - n_slices / 2) * THICKNESS, 2)
        profile = 1.0 - 0.5 * abs(s - n_slices / 2) / max(n_slices, 1)
        pixels = np.rint(pd_map * (scale * signal[j] * profile)).astype(np.uint16)
        ds.SOPInstanceUID = new_uid()
        ds.InstanceNumber = k + 1
        ds.AcquisitionNumber = j + 1
        ds.FlipAngle = FLIP_ANGLES[j]
        ds.ImagePositionPatient = [corner, corner, z]
        ds.SliceLocation = z
        ds.PixelData = pixels.tobytes()
        write_dataset(ds, folder / f"IM-{k + 1:05d}")
    return spec.n_files


def ensure_database(root: Path, n_files: int, fresh: bool, workers: int) -> float:
    """Make the synthetic database in ``root`` unless it is there; seconds spent."""
    wanted = {"files": n_files, "layout": LAYOUT_VERSION}
    if reuse_or_clear(root, wanted, fresh):
        return 0.0
    specs = series_specs(root, n_files)
    print(f"Generating {n_files} files in {root} ({len(specs)} series, {workers} processes)...")
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        written = sum(pool.map(write_series, specs))
    assert written == n_files, (written, n_files)
    mark_complete(root, wanted)
    seconds = time.perf_counter() - start
    print(f"  done in {seconds:.1f} s ({n_files / seconds:.0f} files/s)")
    return seconds


# ------------------------------------------------------------------ contestants
def all_files(root: Path) -> list[str]:
    """Every non-hidden file below ``root`` (what both contestants index)."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if not f.startswith("."))
    return out


def warm_page_cache(root: Path) -> int:
    """Read every file once, so that both contestants find them in memory."""
    total = 0
    for path in all_files(root):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                total += len(chunk)
    return total


def pydicom_row(path: str) -> dict[str, Any]:
    """The same tags as dbdicom's index, as pydicom returns them."""
    row: dict[str, Any] = {"path": path}
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, EOFError) as exc:
        row["error"] = str(exc)
        return row
    for keyword in TAGS:
        row[keyword] = ds.get(keyword)
    row["TransferSyntaxUID"] = ds.file_meta.get("TransferSyntaxUID")
    return row


def pydicom_loop(root: Path) -> pd.DataFrame:
    """The peer: walk the folder and read every header with pydicom."""
    return pd.DataFrame([pydicom_row(p) for p in all_files(root)])


def pydicom_reread(paths: Iterable[str]) -> pd.DataFrame:
    """The peer, told which files changed: read just those."""
    return pd.DataFrame([pydicom_row(p) for p in paths])


def open_database(root: Path) -> db.Database:
    """``db.database(root)`` with progress bars and messages muted."""
    status = db.Status()
    status.mute()
    return db.database(root, status=status)


def drop_index(root: Path) -> None:
    shutil.rmtree(root / HIDDEN, ignore_errors=True)


def touch_files(paths: list[str], label: str) -> None:
    """Rewrite ``paths`` with a new SeriesDescription, as a new file renamed over each.

    Size and mtime of the files change, and so does their folder's time.
    """
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.SeriesDescription = label
        ds.save_as(path + ".new", enforce_file_format=True)
        os.replace(path + ".new", path)


def small_series(root: Path, n: int, which: int = -1) -> tuple[str, list[str]]:
    """The SeriesInstanceUID and the files (sorted) of a series: the last, the small one,
    or another (``which``: its number in :func:`layout`; 0: one of the large ones)."""
    counts = layout(n)
    p, rest = divmod(range(len(counts))[which], N_STUDIES * N_SERIES)
    s, r = divmod(rest, N_SERIES)
    folder = root / f"patient-{p + 1:02d}" / f"study-{s + 1}" / f"series-{r + 1}"
    files = sorted(str(f) for f in folder.iterdir())
    assert len(files) == counts[which], (folder, len(files))
    uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
    return uid, files


def find_and_load(root: Path, uid: str, dims: list[str] | None = None) -> np.ndarray:
    """dbdicom: open, find the series by its UID, load its pixels (along ``dims``)."""
    database = open_database(root)
    (series,) = database.series(SeriesInstanceUID=uid)
    return series.to_xarray(dims).values


def pydicom_stack(paths: list[str]) -> np.ndarray:
    """The peer: read the files of the series with pydicom, stacked."""
    return np.stack([pydicom.dcmread(p).pixel_array for p in paths])


# ------------------------------------------------------------------ report
def table(rows: list[Row]) -> str:
    return peer_table(rows, ["pydicom"], "pydicom/dbdicom", digits=1)


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=REFERENCE_FILES, help="number of files")
    parser.add_argument(
        "--folder", type=Path, default=None, help="database folder (default /tmp/dbdicom-bench-N)"
    )
    parser.add_argument("--fresh", action="store_true", help="generate the database again")
    parser.add_argument(
        "--keep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the generated folder for the next run (default; --no-keep deletes it)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--first-runs", type=int, default=2, help="repetitions of first open / pydicom loop"
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"the measurements to make, comma-separated (default: all, {','.join(CASES)})",
    )
    add_timing_options(
        parser, "also print cProfile top 10 of the opens", "repetitions of cheap measurements"
    )
    parser.set_defaults(repeats=5)
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error("--files must be at least 1")
    args.cases = [c for c in args.cases.split(",") if c]
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}: choose from {','.join(CASES)}")
    if args.folder is None:
        args.folder = Path(f"/tmp/dbdicom-bench-{args.files}")
    return args


@dataclass
class Measurements:
    """Every timing of one run, and the memory figures."""

    first: Timing = field(default_factory=Timing)
    peer: Timing = field(default_factory=Timing)
    reopen: Timing = field(default_factory=Timing)
    changed: Timing = field(default_factory=Timing)
    reread: Timing = field(default_factory=Timing)
    find: Timing = field(default_factory=Timing)
    find_peer: Timing = field(default_factory=Timing)
    find_big: Timing = field(default_factory=Timing)
    find_big_peer: Timing = field(default_factory=Timing)
    big_files: int = 0
    memory: float = 0.0
    peer_memory: float = 0.0
    touched: list[str] = field(default_factory=list)
    load: list[tuple[float, float, float]] = field(default_factory=list)


def measure_first_open(root: Path, n: int, runs: int, m: Measurements) -> None:
    """First open (no saved index) and the pydicom loop, alternating."""
    for i in range(runs):
        drop_index(root)
        seconds, database = timed(lambda: open_database(root))
        m.first.seconds.append(seconds)
        rows, problems = len(database.index.frame), len(database.problems())
        del database
        if rows != n or problems:
            print(f"WARNING: the index has {rows} rows for {n} files and {problems} problems")
        print(f"  first open {i + 1}: dbdicom {seconds:.3f} s", end="", flush=True)
        seconds, peer_frame = timed(lambda: pydicom_loop(root))
        m.peer.seconds.append(seconds)
        print(f", pydicom loop {seconds:.3f} s")
        m.peer_memory = float(peer_frame.memory_usage(deep=True).sum()) / max(len(peer_frame), 1)
        del peer_frame  # not kept alive (and walked by the GC) while dbdicom is timed


def measure_reopen(root: Path, repeats: int, m: Measurements) -> None:
    """Reopen with the index saved and nothing changed; the index's memory."""
    m.reopen.warmup, database = timed(lambda: open_database(root))
    database.close()  # the first reopen may list folders changed in the last seconds
    for _ in range(repeats):
        seconds, database = timed(lambda: open_database(root))
        m.reopen.seconds.append(seconds)
    frame = database.index.frame
    m.memory = float(frame.memory_usage(deep=True).sum()) / len(frame)


def measure_find(root: Path, n: int, repeats: int, m: Measurements) -> None:
    """Open + find + load the small series, then a large one (~200 files at 20,000),
    vs pydicom reading their files, alternating."""
    # the large series is not a full grid of slices x flip angles (its last slice has
    # 2 of 10): stacked by InstanceNumber (the files' order), as the peer stacks them
    cases = ((-1, m.find, m.find_peer, None), (0, m.find_big, m.find_big_peer, ["InstanceNumber"]))
    for which, ours_t, peer_t, dims in cases:
        uid, files = small_series(root, n, which)
        ours, theirs = find_and_load(root, uid, dims), pydicom_stack(files)  # warm-up, checked
        if ours.shape[-2:] != theirs.shape[-2:] or not np.array_equal(
            ours.reshape(theirs.shape), theirs
        ):
            sys.exit(f"dbdicom's pixels of {uid} differ from pydicom's: {ours.shape}")
        for _ in range(repeats):
            ours_t.seconds.append(timed(partial(find_and_load, root, uid, dims))[0])
            peer_t.seconds.append(timed(partial(pydicom_stack, files))[0])
        m.big_files = len(files)


def measure_touched(root: Path, n: int, repeats: int, m: Measurements) -> None:
    """Reopen after rewriting 1% of the files vs pydicom reading just those."""
    paths = all_files(root)
    n_touch = max(1, n // 100)
    step = len(paths) / n_touch
    m.touched = [paths[int(i * step)] for i in range(n_touch)]
    stamp = time.strftime("%H%M%S")
    for rep in range(repeats):
        label = f"edited {stamp} repetition {rep + 1} of {repeats}"
        touch_files(m.touched, label)
        seconds, database = timed(lambda: open_database(root))
        m.changed.seconds.append(seconds)
        found = int((database.index.frame["SeriesDescription"] == label).sum())
        if found != n_touch:
            print(f"WARNING: {found} rows show the edit, {n_touch} files were edited")
        database.close()  # as a script ends: the index is saved with the edits
        seconds, _ = timed(lambda: pydicom_reread(m.touched))
        m.reread.seconds.append(seconds)


def result_rows(n: int, m: Measurements) -> list[Row]:
    """The table: dbdicom, the peer and the target of each measurement."""
    limit_reopen = max(0.005, 0.020 * n / REFERENCE_FILES)
    n_touch = len(m.touched)
    rows = []
    if m.first.seconds:
        rows.append(
            Row(
                "first open (no saved index)",
                "s",
                m.first.best,
                (m.peer.best,),
                ">= 10x faster than the pydicom loop",
                m.peer.best / m.first.best >= 10,
            )
        )
    if m.reopen.seconds:
        rows.append(
            Row(
                "reopen, no change",
                "s",
                m.reopen.best,
                (None,),
                f"<= {limit_reopen * 1000:.0f} ms (20 ms for {REFERENCE_FILES:,} files, "
                "5 ms for 2,000)",
                m.reopen.best <= limit_reopen,
            )
        )
    if m.changed.seconds:
        rows.append(
            Row(
                f"reopen after touching 1% ({n_touch} file{'s' if n_touch > 1 else ''})",
                "s",
                m.changed.best,
                (m.reread.best,),
                "no slower than pydicom reading those files",
                m.changed.best <= m.reread.best,
            )
        )
    if m.find.seconds:
        rows.append(
            Row(
                f"open + find + load one {SMALL_SERIES}-file series",
                "s",
                m.find.best,
                (m.find_peer.best,),
                "no slower than pydicom reading its files",
                m.find.best <= m.find_peer.best,
            )
        )
    if m.find_big.seconds:
        rows.append(
            Row(
                f"open + find + load one {m.big_files}-file series",
                "s",
                m.find_big.best,
                (m.find_big_peer.best,),
                "no slower than pydicom reading its files",
                m.find_big.best <= m.find_big_peer.best,
            )
        )
    if m.memory:
        rows.append(
            Row(
                "index memory per instance",
                "B",
                m.memory,
                (m.peer_memory or None,),
                "<= 2 KB (2,048 B)",
                m.memory <= 2048,
            )
        )
    return rows


def print_report(
    root: Path, n: int, nbytes: int, args: argparse.Namespace, m: Measurements
) -> None:
    """The table, the figures of every repetition and the load average."""
    cores = os.cpu_count() or 1
    threshold = getattr(_scan_module, "PARALLEL_THRESHOLD", None)
    below = f", in-process below {threshold} files" if threshold else ""
    print()
    print(
        f"dbdicom {db.__version__} vs pydicom {pydicom.__version__}: {n:,} files "
        f"(256x256 16-bit MR, {nbytes / 1e9:.2f} GB) in {root}"
    )
    print(
        f"Python {platform.python_version()}, pandas {pd.__version__}, {cores} cores; "
        f"wall-clock, {args.first_runs} runs (first open, pydicom loop) "
        f"or {args.repeats} (the rest), alternating with the peer; the table gives the best"
    )
    print(
        "OS page cache warm for both (every file read once beforehand); dbdicom reads "
        f"headers in its process and up to {cores - 1} more (one per idle core by the "
        f"load average){below}; the pydicom loop in one process"
    )
    print(
        "load average before and after: "
        + ", ".join(f"{a:.2f} {b:.2f} {c:.2f}" for a, b, c in m.load)
    )
    print()
    print(table(result_rows(n, m)))
    print()
    if m.first.seconds:
        print(
            f"pydicom loop: {n / m.peer.best:,.0f} files/s; "
            f"dbdicom first open: {n / m.first.best:,.0f} files/s"
        )
    print("min / median / max, and all repetitions (s):")
    for name, timing in (
        ("dbdicom first open", m.first),
        ("pydicom loop", m.peer),
        ("dbdicom reopen, no change", m.reopen),
        ("dbdicom reopen after 1% touched", m.changed),
        ("pydicom re-reading the touched files", m.reread),
        (f"dbdicom open + find + load {SMALL_SERIES} files", m.find),
        (f"pydicom reading those {SMALL_SERIES} files", m.find_peer),
        (f"dbdicom open + find + load {m.big_files} files", m.find_big),
        (f"pydicom reading those {m.big_files} files", m.find_big_peer),
    ):
        if timing.seconds:
            print(f"  {name + ':':<42} {timing.spread()}")
            print("    " + timing.line("", 0, 4))


def write_json(
    path: Path, root: Path, n: int, nbytes: int, generation: float, m: Measurements
) -> None:
    report = {
        "files": n,
        "folder": str(root),
        "bytes": nbytes,
        "generation_seconds": generation,
        "versions": {
            "dbdicom": db.__version__,
            "pydicom": pydicom.__version__,
            "pandas": pd.__version__,
            "python": platform.python_version(),
        },
        "cores": os.cpu_count(),
        "page_cache": "warm for both",
        "timings": {
            "dbdicom_first_open": m.first.seconds,
            "pydicom_loop": m.peer.seconds,
            "dbdicom_reopen": m.reopen.seconds,
            "dbdicom_reopen_after_touch": m.changed.seconds,
            "pydicom_reread_touched": m.reread.seconds,
            "dbdicom_open_find_load": m.find.seconds,
            "pydicom_small_series": m.find_peer.seconds,
            "dbdicom_open_find_load_large": m.find_big.seconds,
            "pydicom_large_series": m.find_big_peer.seconds,
        },
        "load_average": m.load,
        "touched_files": len(m.touched),
        "results": rows_json(result_rows(n, m), ["pydicom"]),
    }
    save_report(path, report)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root: Path = args.folder.expanduser().absolute()
    n: int = args.files
    generation = ensure_database(root, n, args.fresh, os.cpu_count() or 1)

    print("Warming the OS page cache (one untimed read of every file)...")
    nbytes = warm_page_cache(root)
    print(f"  {nbytes / 1e9:.2f} GB in {n} files; the cache is warm for both contestants")

    m = Measurements()
    m.load.append(os.getloadavg())
    if "first" in args.cases:
        measure_first_open(root, n, args.first_runs, m)
    else:
        open_database(root).close()  # untimed: the index is made or brought up to date
    if "reopen" in args.cases:
        measure_reopen(root, args.repeats, m)
    if "find" in args.cases:  # before the touched files make their folders recent
        measure_find(root, n, args.repeats, m)
    if "touched" in args.cases:
        measure_touched(root, n, args.repeats, m)
    m.load.append(os.getloadavg())
    print_report(root, n, nbytes, args, m)

    if args.profile:
        phase_report(root)
        profile_report(root, m.touched)
    if args.json:
        write_json(args.json, root, n, nbytes, generation, m)
    if not args.keep:
        shutil.rmtree(root)
        print(f"deleted {root}")
    return 0


def profile_report(root: Path, touched: list[str]) -> None:
    """cProfile of the first open, the header scan in one process and the reopens.

    The first open reads headers in worker processes started by ``fork``: they
    inherit the profiler, so the profiled first open runs several times slower
    than unprofiled, and what they do is not in its statistics. The
    one-process scan of a sample shows their work; :func:`phase_report` gives
    unprofiled times of each phase.
    """
    drop_index(root)
    print(profile_top(lambda: open_database(root), "first open (main process only)"))
    files = walk(str(root))
    sample = dict(sorted(files.items())[:2000])
    print(
        profile_top(
            lambda: scan_files(str(root), sample, workers=1),
            f"header scan of {len(sample)} files in one process (the workers' job)",
        )
    )
    open_database(root)
    print(profile_top(lambda: open_database(root), "reopen, no change"))
    touch_files(touched, f"profiled edit {time.strftime('%H%M%S')}")
    print(profile_top(lambda: open_database(root), f"reopen after touching {len(touched)} files"))


def phase_report(root: Path) -> None:
    """Unprofiled wall-clock time of each phase of a first open and a reopen.

    Replays what ``Index.open`` does with dbdicom's internal functions (so
    this breaks, and says so, if those are renamed).
    """
    try:
        from dbdicom._index import Index, assign_keys
        from dbdicom._index._perframe import make_frames_table
        from dbdicom._index._store import load_frame
        from dbdicom._index._walk import rewalk, survey
    except ImportError as exc:
        print(f"phase breakdown unavailable: {exc}")
        return
    times: dict[str, float] = {}

    def phase(name: str, func: Callable[[], Any]) -> Any:
        seconds, result = timed(func)
        times[name] = seconds
        return result

    drop_index(root)
    index = phase("first open: Index() (store folder)", lambda: Index(root))
    seen = phase("first open: walk (files and folder times)", lambda: survey(str(root)))
    frame, _ = phase(
        "first open: scan_files (worker processes)", lambda: scan_files(str(root), seen.found)
    )
    frame = phase("first open: sort by path", lambda: frame.sort_values("_path", ignore_index=True))
    phase("first open: assign_keys", lambda: assign_keys(frame))
    index.frame, index.frames, index.folders = frame, make_frames_table([]), seen.folders
    phase("first open: save", index.save)
    store = index.store / "index.arrow"
    phase("reopen: load index.arrow (mapped)", lambda: load_frame(store))
    phase("reopen: one stat per folder (rewalk)", lambda: rewalk(str(root), seen.folders))
    phase("refresh(full=True): one stat per file (survey)", lambda: survey(str(root)))
    phase("reopen: whole db.database", lambda: open_database(root))
    print("\n=== phases (unprofiled, one run each) ===")
    for name, seconds in times.items():
        print(f"  {name:<50} {seconds * 1000:9.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
