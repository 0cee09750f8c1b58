"""Benchmark of writing arrays with dbdicom against a plain pydicom loop, side by side.

Usage::

    python benchmarks/bench_write.py [--quick] [--folder DIR] [--fresh]
                                     [--repeats K] [--json PATH] [--profile]

What is measured (``time.perf_counter`` wall-clock seconds; dbdicom, dask and
xarray imported and the source database opened -- indexed -- before any
timing):

* **a derived series** -- the source is a series of 200 single-frame
  256 x 256 uint16 MR images (``DIR/source``). ``derived =
  (src.to_xarray().astype("float32") * 0.5).compute()`` is made beforehand,
  untimed, and ``out.set_xarray(derived)`` is timed, where ``out =
  src.new_sibling(SeriesDescription=...)`` is a fresh empty series made
  untimed: dbdicom copies each frame's header from its source file (the
  ``SOPInstanceUID`` coordinate), gives new UIDs and the provenance, stores
  the float values as uint16 with RescaleSlope/Intercept and writes every
  file through its journal, then indexes them. The same with a **dask
  input**, ``src.to_xarray().astype("float32") * 0.5`` not computed (built
  untimed, a few ms), so that the write also reads the source pixels --
  once: an array that fits in dask's ``array.chunk-size`` is computed with
  its value range in one pass and written from memory. The **peer** is a
  pydicom loop that computes the slope and intercept once from the array,
  then for each source file ``ds = pydicom.dcmread(path)`` (header and
  pixels), sets new SOPInstanceUID, MediaStorageSOPInstanceUID and
  SeriesInstanceUID, the scaled uint16 pixels with RescaleSlope/Intercept,
  and ``ds.save_as(new_path)`` into a folder of its own (``DIR/peer``).
  Between repetitions, untimed, ``database.restore()`` removes what dbdicom
  wrote (it must remove every file written) and the peer's files are
  deleted.
* **a series 4x larger than a memory limit** -- in a fresh subprocess
  (``python -c``, importing only numpy, dask, xarray and dbdicom), a
  deterministic dask array ``RandomState(seed).random((N, 512, 512),
  chunks=(8, 512, 512)).astype("float32")`` of 4x the limit (1,024 frames,
  1 GiB, for a 256 MiB limit) written with ``series.set_xarray(...)`` into a
  new series of a new patient of an empty database (``DIR/big``), on dask's
  default threaded scheduler. The peak is the kernel's high-water mark of
  the subprocess (``VmHWM``), reset right before the write (``5`` written
  to ``/proc/self/clear_refs``), minus the resident set (``VmRSS``) measured
  just before it: the increase the write causes. A thread sampling
  ``VmRSS`` every 10 ms gives a second figure. ``ru_maxrss`` would not do:
  Linux carries the parent's high-water mark over fork + exec. Time and
  throughput (MiB of float32 input per second) are reported too; then
  ``database.restore()`` removes the files again.

Before every timed write the dirty pages are flushed (``os.sync()``,
untimed), so that no write pays for the previous one's; the source files
are in the OS page cache (read once beforehand). Each contestant makes one
untimed warm-up call (printed). Timings are the best of ``--repeats``
(default 3); every repetition is printed. Correctness is asserted in the
run: what dbdicom wrote reads back (``to_xarray()``) within half a
RescaleSlope of the array, numpy and dask inputs give the same values, the
new instances have new UIDs and point at their source frames, and the
peer's files read back within half its slope; for the big series, the
first and last frames read back within half a slope of the dask array.

The data are made with dbdicom's own templates (``mr_image`` +
``write_dataset``) in ``DIR/source/patient-01/study-1/series-01/IM-NNNNN``
(default ``DIR`` is ``/tmp/dbdicom-bench-write``), kept between runs (a
hidden marker file records the sizes); ``--fresh`` makes them again.
``--quick`` uses small sizes (40 slices; 64 frames of 512 x 512 against a
16 MiB limit), a smoke run whose targets are not judged.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pydicom
import xarray as xr
from _report import (
    CHILD_PRELUDE,
    MIB,
    Row,
    Timing,
    add_timing_options,
    data_args,
    data_parser,
    mark_complete,
    open_muted,
    peer_table,
    profile_top,
    read_files,
    reuse_or_clear,
    rows_json,
    save_report,
)
from _report import (
    timed as timed_,
)
from pydicom.uid import generate_uid
from pydicom.valuerep import DSfloat

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset

# ------------------------------------------------------------------ constants
LAYOUT_VERSION = 1
DEFAULT_ROOT = Path("/tmp/dbdicom-bench-write")
SHAPE = (256, 256)  # the source images
SPACING = 1.0  # mm, in plane
THICKNESS = 1.5  # mm
SOURCE_DESCRIPTION = "T1w 3D, source"
FACTOR = 0.5  # derived = source * FACTOR
SPEEDUP = 4.0  # the target (issue 16): dbdicom at least this much faster than the peer


@dataclass(frozen=True)
class Sizes:
    """The size of every case; the targets are stated for :data:`FULL`."""

    slices: int  # of the source series (and of the derived one)
    big_frames: int  # frames of the large write
    big_side: int  # its frames are big_side x big_side float32
    big_chunk: int  # frames per dask chunk
    limit_mib: int  # the memory limit: the large write is 4x this

    @property
    def big_bytes(self) -> int:
        return self.big_frames * self.big_side * self.big_side * 4


FULL = Sizes(slices=200, big_frames=1024, big_side=512, big_chunk=8, limit_mib=256)
QUICK = Sizes(slices=40, big_frames=64, big_side=512, big_chunk=8, limit_mib=16)


# ------------------------------------------------------------------ generation
def phantom(s: int, n_slices: int, rng: np.random.Generator) -> np.ndarray:
    """An MR head-like slice (an ellipsoid with a brighter core), uint16 with noise."""
    rows, cols = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(np.float32)
    y, x = (rows - SHAPE[0] / 2) / SHAPE[0], (cols - SHAPE[1] / 2) / SHAPE[1]
    u = (s + 0.5) / n_slices * 2 - 1
    r = math.sqrt(max(0.02, 1 - u * u))
    outer = (x / (0.40 * r)) ** 2 + (y / (0.46 * r)) ** 2
    img = np.where(outer <= 1, 900.0, 0.0) + np.where(outer <= 0.45, 500.0, 0.0)
    img = img * (1 + 0.2 * np.cos(9 * x) * np.sin(7 * y))
    noisy = np.hypot(img + rng.normal(0, 20, SHAPE), rng.normal(0, 20, SHAPE))
    return np.rint(noisy).clip(0, 65535).astype(np.uint16)


def source_folder(root: Path) -> Path:
    return root / "source" / "patient-01" / "study-1" / "series-01"


def write_source(root: Path, n_slices: int) -> None:
    """One series of ``n_slices`` files named in slice order: one template, per-file values."""
    folder = source_folder(root)
    folder.mkdir(parents=True)
    ds = mr_image(
        np.zeros(SHAPE, np.uint16),
        PatientName="Write^Bench",
        PatientID="BENCH-WRITE",
        PatientBirthDate="19700101",
        PatientSex="M",
        StudyInstanceUID=new_uid(),
        StudyDescription="Writing benchmark",
        StudyDate="20240315",
        StudyTime="091500",
        StudyID="1",
        FrameOfReferenceUID=new_uid(),
        SeriesInstanceUID=new_uid(),
        SeriesDescription=SOURCE_DESCRIPTION,
        SeriesNumber=1,
        PixelSpacing=[SPACING, SPACING],
        SliceThickness=THICKNESS,
        SpacingBetweenSlices=THICKNESS,
        WindowCenter=800.0,
        WindowWidth=1600.0,
    )
    corner = -(SHAPE[0] - 1) * SPACING / 2
    for k in range(n_slices):
        z = round((k - n_slices / 2) * THICKNESS, 2)
        ds.SOPInstanceUID = new_uid()
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [corner, corner, z]
        ds.SliceLocation = z
        ds.PixelData = phantom(k, n_slices, np.random.default_rng(k)).tobytes()
        write_dataset(ds, folder / f"IM-{k + 1:05d}")


def ensure_data(root: Path, sizes: Sizes, fresh: bool) -> None:
    """Make the source series in ``root`` unless it is there (the marker says so)."""
    wanted = {"slices": sizes.slices, "shape": list(SHAPE), "layout": LAYOUT_VERSION}
    if reuse_or_clear(root, wanted, fresh):
        return
    print(f"Generating {sizes.slices} source files in {root / 'source'}...", flush=True)
    start = time.perf_counter()
    write_source(root, sizes.slices)
    mark_complete(root, wanted)
    print(f"  done in {time.perf_counter() - start:.1f} s")


open_database = open_muted


warm_page_cache = read_files


# ------------------------------------------------------------------ contestants
def as_ds(x: float) -> str:
    """``x`` as a DS string (at most 16 characters): what the file holds."""
    return str(DSfloat(x, auto_format=True))


def pydicom_write(paths: list[str], values: np.ndarray, out: Path) -> None:
    """The peer: frame ``k`` of ``values`` goes into a copy of ``paths[k]`` with new UIDs."""
    low, high = float(values.min()), float(values.max())
    intercept = as_ds(low)
    # 65534 steps: room for the DS rounding of the slope (16 characters)
    slope = as_ds((high - float(intercept)) / 65534 or 1.0)
    offset, step = float(intercept), float(slope)
    series_uid = generate_uid()
    for k, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        uid = generate_uid()
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.SeriesInstanceUID = series_uid
        scaled = np.rint((values[k].astype(np.float64) - offset) / step)
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.PixelData = np.clip(scaled, 0, 65535).astype("<u2").tobytes()
        ds.save_as(out / f"IM-{k + 1:05d}")


def clear_folder(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    """``func()`` timed after flushing dirty pages (writes go to disk)."""
    return timed_(func, sync=True)


@dataclass
class Source:
    """The opened source database and what the writes start from."""

    database: db.Database
    series: Any
    paths: list[str]  # in frame order of ``derived``
    derived: xr.DataArray  # computed (numpy)
    peer_folder: Path


def lazy_derived(series: Any) -> xr.DataArray:
    return series.to_xarray().astype("float32") * FACTOR


def find_source(root: Path, sizes: Sizes) -> Source:
    database = open_database(root / "source")
    if len(database.problems()):
        sys.exit(f"{root}: problems\n{database.problems()}")
    if database.unsaved:
        n = database.restore()
        print(f"  {n} unsaved change(s) left by an interrupted run: restored")
    (series,) = database.series()
    derived = lazy_derived(series).compute()
    if derived.shape != (sizes.slices, *SHAPE) or derived.dims[0] != "SliceLocation":
        sys.exit(f"{root}: unexpected source {derived.dims} {derived.shape}: use --fresh")
    # the files are named in slice order: the peer's frame k is paths[k]
    paths = [str(source_folder(root) / f"IM-{k + 1:05d}") for k in range(sizes.slices)]
    uids = [pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in paths]
    if uids != [str(u) for u in derived.coords["SOPInstanceUID"].values]:
        sys.exit(f"{root}: the files are not in slice order: use --fresh")
    return Source(database, series, paths, derived, root / "peer")


# ------------------------------------------------------------------ checks
def tolerance(slope: float, reference: np.ndarray) -> float:
    """Half a slope (the rounding to stored integers) and float32 rounding."""
    return slope / 2 + 4 * float(np.finfo(np.float32).eps) * max(
        1.0, float(np.abs(reference).max())
    )


def check_dbdicom(src: Source, out: Any, reference: np.ndarray) -> tuple[np.ndarray, str]:
    """What dbdicom wrote: values, UIDs, provenance (raises if wrong)."""
    back = out.to_xarray()
    values = back.values
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in out.files()]
    slope = float(headers[0].RescaleSlope)
    error = float(np.abs(values - reference).max())
    n = len(reference)
    sources = {str(u) for u in src.derived.coords["SOPInstanceUID"].values}
    problems = []
    if values.shape != reference.shape:
        problems.append(f"shape {values.shape}")
    if error > tolerance(slope, reference):
        problems.append(f"error {error} above half the slope {slope}")
    if len({str(h.SOPInstanceUID) for h in headers} - sources) != n:
        problems.append("SOPInstanceUIDs not new and distinct")
    if (
        len({str(h.SeriesInstanceUID) for h in headers}) != 1
        or headers[0].SeriesInstanceUID == src.series.SeriesInstanceUID
    ):
        problems.append("SeriesInstanceUID not one new value")
    referenced = {str(h.SourceImageSequence[0].ReferencedSOPInstanceUID) for h in headers}
    if referenced != sources or any(h.ImageType[0] != "DERIVED" for h in headers):
        problems.append("provenance (SourceImageSequence, ImageType) wrong")
    if problems:
        raise AssertionError("dbdicom's write: " + "; ".join(problems))
    note = (
        f"{n} new instances, new UIDs, each pointing at its source frame; read back "
        f"within {error:.3g} (half the slope: {slope / 2:.3g})"
    )
    return values, note


def check_peer(folder: Path, reference: np.ndarray) -> str:
    paths = sorted(folder.iterdir())
    error, slope = 0.0, 0.0
    for k, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        slope = float(ds.RescaleSlope)
        values = ds.pixel_array * slope + float(ds.RescaleIntercept)
        error = max(error, float(np.abs(values - reference[k]).max()))
    if len(paths) != len(reference) or error > tolerance(slope, reference):
        raise AssertionError(f"the peer's files: {len(paths)} files, error {error}")
    return f"{len(paths)} files read back within {error:.3g} (half the slope: {slope / 2:.3g})"


# ------------------------------------------------------------------ item 1
@dataclass
class Derived:
    numpy: Timing = field(default_factory=Timing)
    dask: Timing = field(default_factory=Timing)
    peer: Timing = field(default_factory=Timing)
    restore: Timing = field(default_factory=Timing)
    checks: list[str] = field(default_factory=list)


def dbdicom_write(src: Source, data: xr.DataArray, label: str) -> tuple[float, Any]:
    """A fresh empty sibling (untimed), ``out.set_xarray(data)`` timed."""
    out = src.series.new_sibling(SeriesDescription=f"{SOURCE_DESCRIPTION} x {FACTOR} ({label})")
    seconds, _ = timed(lambda: out.set_xarray(data))
    return seconds, out


def restore(src: Source, res: Derived | None) -> None:
    """Remove what dbdicom wrote (untimed for the targets; its time is printed)."""
    start = time.perf_counter()
    n = src.database.restore()
    if res is not None:
        res.restore.seconds.append(time.perf_counter() - start)
    if n != len(src.paths) or src.database.unsaved or len(src.database.series()) != 1:
        raise AssertionError(f"restore put back {n} files, not {len(src.paths)}")


def peer_once(src: Source) -> float:
    clear_folder(src.peer_folder)
    values = src.derived.values
    seconds, _ = timed(lambda: pydicom_write(src.paths, values, src.peer_folder))
    return seconds


def measure_derived(src: Source, repeats: int) -> Derived:
    res = Derived()
    reference = src.derived.values
    # warm-ups, untimed for the targets, with the correctness checks
    res.numpy.warmup, out = dbdicom_write(src, src.derived, "numpy")
    values, note = check_dbdicom(src, out, reference)
    res.checks.append("numpy input: " + note)
    restore(src, None)
    res.dask.warmup, out = dbdicom_write(src, lazy_derived(src.series), "dask")
    dask_values, note = check_dbdicom(src, out, reference)
    if not np.array_equal(values, dask_values):
        raise AssertionError("the dask input wrote other values than the numpy input")
    res.checks.append("dask input: " + note + "; the same values as the numpy input")
    restore(src, None)
    res.peer.warmup = peer_once(src)
    res.checks.append("pydicom loop: " + check_peer(src.peer_folder, reference))
    for r in range(repeats):
        print(f"  repetition {r + 1} of {repeats}", flush=True)
        seconds, _ = dbdicom_write(src, src.derived, "numpy")
        res.numpy.seconds.append(seconds)
        restore(src, res)
        lazy = lazy_derived(src.series)  # built untimed (a few ms)
        seconds, _ = dbdicom_write(src, lazy, "dask")
        res.dask.seconds.append(seconds)
        restore(src, res)
        res.peer.seconds.append(peer_once(src))
    clear_folder(src.peer_folder)
    return res


# ------------------------------------------------------------------ item 2
# Runs in a fresh interpreter. argv: folder, frames, side, chunk, seed.
MEMORY_CHILD = (
    CHILD_PRELUDE
    + r"""
out = {"python": status("VmRSS")}
import numpy as np, dask, dask.array as dsa, xarray as xr
import dbdicom as db
out["imported"] = status("VmRSS")
folder, n, side, chunk, seed = sys.argv[1], *map(int, sys.argv[2:6])
os.makedirs(folder, exist_ok=True)
st = db.Status()
st.mute()
database = db.database(folder, status=st)
if database.unsaved:
    database.restore()  # left by an interrupted run
if database.series():
    sys.exit(f"{folder} is not empty")
series = database.new_patient(PatientName="Big^Write").new_series(
    SeriesDescription="4x the memory limit"
)
arr = dsa.random.RandomState(seed).random((n, side, side), chunks=(chunk, side, side))
arr = arr.astype("float32")
da = xr.DataArray(
    arr, dims=("SliceLocation", "row", "column"),
    coords={"SliceLocation": np.arange(n, dtype=float)},
)
out["hwm_reset"] = reset_peak()
out["before"] = status("VmRSS")
out["hwm_before"] = status("VmHWM")
out["maxrss_before"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
with Sampler("VmRSS") as sampler:
    start = time.perf_counter()
    series.set_xarray(da)
    out["seconds"] = time.perf_counter() - start
out["peak"] = status("VmHWM")
out["sampled"] = sampler.peaks["VmRSS"]
out["after"] = status("VmRSS")
out["maxrss_after"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out["threads"] = os.cpu_count()
out["scheduler"] = str(dask.config.get("scheduler", "threads (default)"))
# correctness, after the peak is recorded
files = series.files()
out["files"] = len(files)
out["file_bytes"] = sum(os.path.getsize(p) for p in files)
back = series.to_xarray()
slope = float(series.RescaleSlope[0])
ends = [0, n - 1]
error = float(np.abs(back.isel(SliceLocation=ends).values - arr[ends].compute()).max())
out["error"], out["slope"] = error, slope
tolerance = slope / 2 + 4 * float(np.finfo(np.float32).eps)  # values in [0, 1)
out["checked"] = bool(len(files) == n and back.shape == arr.shape and error <= tolerance)
start = time.perf_counter()
out["restored"] = database.restore()
out["restore_seconds"] = time.perf_counter() - start
print("RESULT " + json.dumps(out))
"""
)


@dataclass
class Memory:
    limit: int
    data: int
    child: dict[str, Any] = field(default_factory=dict)

    @property
    def increase(self) -> int:
        return int(self.child["peak"] - self.child["before"])

    @property
    def mib_per_s(self) -> float:
        return self.data / MIB / self.child["seconds"]


def measure_memory(root: Path, sizes: Sizes) -> Memory:
    mem = Memory(sizes.limit_mib * MIB, sizes.big_bytes)
    folder = root / "big"
    cmd = [
        sys.executable,
        "-c",
        MEMORY_CHILD,
        str(folder),
        str(sizes.big_frames),
        str(sizes.big_side),
        str(sizes.big_chunk),
        "20261124",
    ]
    os.sync()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"the memory subprocess failed ({done.returncode}):\n{done.stderr}")
    mem.child = json.loads(lines[-1][len("RESULT ") :])
    if not mem.child["checked"] or mem.child["restored"] != sizes.big_frames:
        raise AssertionError(f"the large write is wrong: {mem.child}")
    return mem


# ------------------------------------------------------------------ profile
def profile_write(src: Source, n: int = 20) -> str:
    """cProfile of one dbdicom write of the numpy input: top ``n`` by cumulative and own time."""
    out_series = src.series.new_sibling(SeriesDescription="profiled")
    os.sync()
    title = f"set_xarray of {len(src.paths)} frames, numpy input"
    text = profile_top(lambda: out_series.set_xarray(src.derived), title, n)
    restore(src, None)
    return text


# ------------------------------------------------------------------ report
def result_rows(res: Derived, mem: Memory | None, n: int, judged: bool) -> list[Row]:
    def judge(ok: bool) -> bool | None:
        return ok if judged else None

    peer = res.peer.best
    target = f">= {SPEEDUP:g}x faster than the pydicom loop"
    rows = [
        Row(
            f"derived series, {n} x 256x256 float: numpy input",
            "s",
            res.numpy.best,
            (peer,),
            target,
            judge(peer / res.numpy.best >= SPEEDUP),
        ),
        Row(
            f"derived series, {n} x 256x256 float: dask input (reads the source)",
            "s",
            res.dask.best,
            (peer,),
            target,
            judge(peer / res.dask.best >= SPEEDUP),
        ),
    ]
    if mem is not None:
        c = mem.child
        frames = f"{c['files']:,} x {int(math.sqrt(mem.data / c['files'] / 4))}^2"
        rows.append(
            Row(
                f"{frames} float32 dask ({mem.data / MIB:,.0f} MiB): peak RSS increase",
                "MiB",
                mem.increase,
                (None,),
                f"< {mem.limit / MIB:,.0f} MiB (the limit; data / 4)",
                judge(mem.increase < mem.limit),
            )
        )
        rows.append(
            Row(
                f"  the same write: time ({mem.mib_per_s:,.0f} MiB/s of float32 input)",
                "s",
                c["seconds"],
                (None,),
                "- (reported)",
                None,
            )
        )
    return rows


def table(rows: list[Row]) -> str:
    return peer_table(rows, ["pydicom loop"], "peer/dbdicom")


def print_report(
    res: Derived, mem: Memory | None, args: argparse.Namespace, sizes: Sizes, judged: bool
) -> None:
    cores = os.cpu_count() or 1
    n = sizes.slices
    print()
    print(
        f"dbdicom {db.__version__} vs pydicom {pydicom.__version__}; Python "
        f"{platform.python_version()}, numpy {np.__version__}, dask {dask.__version__}, "
        f"xarray {xr.__version__}, {cores} cores"
    )
    print(
        f"Wall-clock, best of {args.repeats}; os.sync() before every timed write; source "
        "files in the page cache; a fresh empty series (or peer folder) for every write, "
        "removed untimed by database.restore(). dbdicom writes dask input on dask's threaded "
        f"scheduler ({cores} threads); the peer in one thread."
    )
    if not judged:
        print("--quick: a smoke run at small sizes; the targets are stated for the full sizes")
    print()
    print(table(result_rows(res, mem, n, judged)))
    print()
    print("correctness (asserted in this run):")
    for note in res.checks:
        print(f"  {note}")
    if mem is not None:
        c = mem.child
        print(
            f"  large write: {c['files']:,} files; the first and last frames read back "
            f"within {c['error']:.3g} (half the slope: {c['slope'] / 2:.3g}, plus float32 "
            "rounding)"
        )
    print()
    print("all repetitions (s); 'warm-up' is the untimed first call of each contestant:")
    for label, timing in (
        ("dbdicom set_xarray, numpy input", res.numpy),
        ("dbdicom set_xarray, dask input", res.dask),
        ("pydicom loop", res.peer),
        ("database.restore() (untimed)", res.restore),
    ):
        per = f"; best {timing.best / n * 1000:.2f} ms per frame" if timing.warmup else ""
        print("  " + timing.line(label, 33, 3, per))
    if mem is not None:
        c = mem.child
        print()
        print(
            f"large write: {c['files']:,} frames, {mem.data / MIB:,.0f} MiB of float32 "
            f"({c['file_bytes'] / MIB:,.0f} MiB of files), {c['seconds']:.1f} s, "
            f"{mem.mib_per_s:,.0f} MiB/s of input, {c['seconds'] / c['files'] * 1000:.1f} ms "
            f"per frame; restore of the files {c['restore_seconds']:.2f} s"
        )
        reset = "reset before the write" if c["hwm_reset"] else "NOT reset (clear_refs refused)"
        print(
            f"  RSS of the subprocess: bare python {c['python'] / MIB:,.0f} MiB, after the "
            f"imports {c['imported'] / MIB:,.0f} MiB, right before the write (baseline) "
            f"{c['before'] / MIB:,.0f} MiB; peak (VmHWM, {reset}) {c['peak'] / MIB:,.0f} MiB, "
            f"sampled every 10 ms {c['sampled'] / MIB:,.0f} MiB; after the write "
            f"{c['after'] / MIB:,.0f} MiB"
        )
        print(
            f"  increase during the write: {mem.increase / MIB:,.0f} MiB (limit "
            f"{mem.limit / MIB:,.0f} MiB); sampled: {(c['sampled'] - c['before']) / MIB:,.0f} "
            f"MiB; still held after it: {(c['after'] - c['before']) / MIB:,.0f} MiB"
        )
        print(
            f"  ru_maxrss, not used (carries the parent's high-water mark over fork + exec): "
            f"{c['maxrss_before'] / MIB:,.0f} MiB before, {c['maxrss_after'] / MIB:,.0f} MiB after"
        )


def write_json(
    path: Path,
    res: Derived,
    mem: Memory | None,
    args: argparse.Namespace,
    sizes: Sizes,
    judged: bool,
    profile: str | None,
) -> None:
    report = {
        "quick": args.quick,
        "folder": str(args.folder),
        "sizes": asdict(sizes),
        "repeats": args.repeats,
        "versions": {
            "dbdicom": db.__version__,
            "pydicom": pydicom.__version__,
            "numpy": np.__version__,
            "dask": dask.__version__,
            "xarray": xr.__version__,
            "python": platform.python_version(),
        },
        "cores": os.cpu_count(),
        "derived": {
            "frames": sizes.slices,
            "dbdicom_numpy": res.numpy.as_dict(),
            "dbdicom_dask": res.dask.as_dict(),
            "pydicom": res.peer.as_dict(),
            "restore": res.restore.seconds,
            "checks": res.checks,
        },
        "memory": None
        if mem is None
        else {
            "limit": mem.limit,
            "data": mem.data,
            "increase": mem.increase,
            "mib_per_s": mem.mib_per_s,
            **mem.child,
        },
        "results": rows_json(result_rows(res, mem, sizes.slices, judged), ["pydicom"]),
        "profile": profile,
    }
    save_report(path, report)


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = data_parser(__doc__, DEFAULT_ROOT)
    add_timing_options(parser, "also print the cProfile top 20 of one dbdicom write (numpy input)")
    parser.add_argument(
        "--no-memory", dest="memory", action="store_false", help="skip the large write"
    )
    return data_args(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    judged = not args.quick
    ensure_data(args.folder, sizes, args.fresh)
    print("Opening (indexing) the source database and computing the derived array, untimed...")
    src = find_source(args.folder, sizes)
    nbytes = warm_page_cache(src.paths)
    print(f"  {len(src.paths)} source files ({nbytes / MIB:,.0f} MiB) read into the page cache")
    print(f"Timing the derived series ({sizes.slices} frames)...", flush=True)
    res = measure_derived(src, args.repeats)
    mem = None
    if args.memory:
        print(
            f"Writing {sizes.big_frames:,} frames ({sizes.big_bytes / MIB:,.0f} MiB of float32) "
            "in a subprocess, measuring its memory...",
            flush=True,
        )
        mem = measure_memory(args.folder, sizes)
    print_report(res, mem, args, sizes, judged)
    profile = None
    if args.profile:
        profile = profile_write(src)
        print(profile)
    if args.json:
        write_json(args.json, res, mem, args, sizes, judged, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
