"""Benchmark of exporting a series larger than memory to Zarr.

Usage::

    python benchmarks/bench_export.py [--limit-mib L] [--quick] [--folder DIR]
                                      [--fresh] [--json PATH]

The target: a Zarr export of a series 4x larger than a set memory limit
stays under that limit.

**The data** -- one series of single-frame, uncompressed (Explicit VR Little
Endian) 512 x 512 uint16 MR images made with dbdicom's own templates
(``mr_image`` + ``write_dataset``), whose pixel data add up to 4x the limit:
8 frames per MiB of limit, 2,048 frames (1 GiB) for the default 256 MiB.
Each frame has its own ImagePositionPatient and SliceLocation (a stack of
axial slices), so the series is one DataArray with dims ``SliceLocation``,
``row``, ``column``. Files are ``DIR/series-N/patient-01/study-1/series-01/
IM-NNNNN`` (default ``DIR`` is ``/tmp/dbdicom-bench-export``), written by
one worker process per core and kept between runs (a hidden marker file
records what is there); ``--fresh`` makes them again.

**What is measured** -- the database is opened (indexed) in this process
first, untimed, and every file is read once so that the export finds them
in the OS page cache. Then a fresh interpreter (``python -c``, importing
numpy, xarray, zarr and dbdicom) opens the database, finds the series and
calls ``series.export_as_zarr(DIR/out)`` on dask's default (threaded)
scheduler. Right before the call it collects garbage, resets the kernel's
high-water mark of its resident set (``5`` written to
``/proc/self/clear_refs``) and reads its ``VmRSS``: the baseline. After the
call ``VmHWM`` is the peak; the increase is the peak minus the baseline. A
thread sampling ``VmRSS`` (and its anonymous and file-backed parts,
``RssAnon`` and ``RssFile``) every 10 ms gives a second figure and says
what the memory was. ``ru_maxrss`` would not do: Linux carries the parent's
high-water mark over fork + exec. The wall-clock time of the call and the
throughput (MiB of pixel data per second) are reported too. The same
process then exports the series a second time, measured the same way: the
first call also pays for what it imports (xarray's Zarr writer brings in
``dask.distributed``) and for the heap that the C allocator keeps, the
second one shows the increase without them. ``os.sync()`` runs, untimed,
before each export.

**Correctness**, asserted in the run after the measurement: ``db.open_zarr``
of the store has the dims, shape and coordinates of ``series.to_xarray()``,
and the first, a middle and the last frames are identical to it
(``xr.testing.assert_identical`` on the computed selections, attrs
included).

``--quick`` is a smoke run against a 16 MiB limit (128 frames, 64 MiB);
its target is not judged.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr
from _report import (
    CHILD_PRELUDE,
    MIB,
    data_args,
    data_parser,
    format_table,
    mark_complete,
    open_muted,
    read_files,
    reuse_or_clear,
    save_report,
)

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset

# ------------------------------------------------------------------ constants
LAYOUT_VERSION = 1
DEFAULT_ROOT = Path("/tmp/dbdicom-bench-export")
SIDE = 512  # frames are SIDE x SIDE uint16
FRAME_BYTES = SIDE * SIDE * 2
FACTOR = 4  # the series is FACTOR x the limit
FULL_LIMIT_MIB = 256
QUICK_LIMIT_MIB = 16
SPACING = 0.5  # mm, in plane
THICKNESS = 1.0  # mm, and the slice step
DESCRIPTION = "4x the memory limit"


def frames_for(limit_mib: int) -> int:
    """Frames whose pixel data add up to FACTOR x ``limit_mib``."""
    return FACTOR * limit_mib * MIB // FRAME_BYTES


# ------------------------------------------------------------------ generation
@dataclass(frozen=True)
class Batch:
    """Frames ``start`` to ``stop`` (0-based, stop excluded) of the series, for one worker."""

    folder: str
    start: int
    stop: int
    total: int
    uids: tuple[str, str, str]  # study, series, frame of reference


def base_image() -> np.ndarray:
    """A body-like ellipse with two brighter discs, 0..1 (float32)."""
    rows, cols = np.mgrid[:SIDE, :SIDE].astype(np.float32)
    y, x = (rows - SIDE / 2) / SIDE, (cols - SIDE / 2) / SIDE
    body = ((x / 0.42) ** 2 + (y / 0.32) ** 2 <= 1).astype(np.float32) * 0.6
    for cx in (-0.18, 0.18):
        body[((x - cx) / 0.07) ** 2 + (y / 0.11) ** 2 <= 1] = 1.0
    return body


def write_batch(batch: Batch) -> int:
    """Write one worker's frames: one template dataset, per-frame values changed."""
    study, series, frame = batch.uids
    ds = mr_image(
        np.zeros((SIDE, SIDE), np.uint16),
        PatientName="Export^Bench",
        PatientID="BENCH-EXPORT",
        PatientBirthDate="19700101",
        PatientSex="F",
        StudyInstanceUID=study,
        StudyDescription="Export benchmark",
        StudyDate="20261124",
        StudyTime="090000",
        StudyID="1",
        FrameOfReferenceUID=frame,
        SeriesInstanceUID=series,
        SeriesDescription=DESCRIPTION,
        SeriesNumber=1,
        PixelSpacing=[SPACING, SPACING],
        SliceThickness=THICKNESS,
        SpacingBetweenSlices=THICKNESS,
        RepetitionTime=5.0,
        EchoTime=2.0,
        FlipAngle=10.0,
        WindowCenter=1500.0,
        WindowWidth=3000.0,
    )
    body = base_image()
    corner = -(SIDE - 1) * SPACING / 2
    folder = Path(batch.folder)
    for k in range(batch.start, batch.stop):
        z = round((k - batch.total / 2) * THICKNESS, 2)
        profile = 1.0 - 0.5 * abs(k - batch.total / 2) / batch.total
        noise = np.random.default_rng(k).normal(0.0, 30.0, (SIDE, SIDE)).astype(np.float32)
        pixels = np.rint(body * (2500.0 * profile) + 100.0 + noise).clip(0, 65535)
        ds.SOPInstanceUID = new_uid()
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [corner, corner, z]
        ds.SliceLocation = z
        ds.PixelData = pixels.astype("<u2").tobytes()
        write_dataset(ds, folder / f"IM-{k + 1:05d}")
    return batch.stop - batch.start


def series_folder(data: Path) -> Path:
    return data / "patient-01" / "study-1" / "series-01"


def ensure_data(data: Path, frames: int, fresh: bool) -> float:
    """Make the series in ``data`` unless it is there (the marker says so); seconds spent."""
    wanted = {"frames": frames, "side": SIDE, "layout": LAYOUT_VERSION}
    if reuse_or_clear(data, wanted, fresh):
        return 0.0
    workers = os.cpu_count() or 1
    folder = series_folder(data)
    folder.mkdir(parents=True)
    uids = (new_uid(), new_uid(), new_uid())
    step = -(-frames // (4 * workers))  # a few batches per worker
    batches = [
        Batch(str(folder), start, min(start + step, frames), frames, uids)
        for start in range(0, frames, step)
    ]
    print(
        f"Generating {frames:,} files ({frames * FRAME_BYTES / MIB:,.0f} MiB of pixels) in "
        f"{data} with {workers} processes...",
        flush=True,
    )
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        written = sum(pool.map(write_batch, batches))
    if written != frames:
        raise AssertionError(f"{written} files written, not {frames}")
    mark_complete(data, wanted)
    seconds = time.perf_counter() - start
    print(f"  done in {seconds:.1f} s ({frames / seconds:.0f} files/s)")
    return seconds


open_database = open_muted


warm_page_cache = read_files


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------------ the export
# Runs in a fresh interpreter. argv: database folder, output folder.
EXPORT_CHILD = (
    CHILD_PRELUDE
    + r"""
out = {"python": status("VmRSS")}
import numpy as np, dask, xarray as xr, zarr
import dbdicom as db
out["imported"] = status("VmRSS")
folder, target = sys.argv[1], sys.argv[2]
st = db.Status()
st.mute()
start = time.perf_counter()
database = db.database(folder, status=st)
out["open_seconds"] = time.perf_counter() - start
(series,) = database.series()
out["opened"] = status("VmRSS")


def measure(target):
    # export into target; the memory figures of the call
    m = {}
    os.sync()  # no export pays for the previous one's dirty pages
    m["hwm_reset"] = reset_peak()
    before = status("VmRSS", "RssAnon", "RssFile")
    m["before"], m["before_anon"], m["before_file"] = before.values()
    m["maxrss_before"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with Sampler("VmRSS", "RssAnon", "RssFile") as sampler:
        start = time.perf_counter()
        series.export_as_zarr(target)
        m["seconds"] = time.perf_counter() - start
    m["peak"] = status("VmHWM")
    peaks = sampler.peaks
    m["sampled"], m["sampled_anon"], m["sampled_file"] = (
        peaks["VmRSS"], peaks["RssAnon"], peaks["RssFile"]
    )
    m["after"] = status("VmRSS")
    m["maxrss_after"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return m


out.update(measure(os.path.join(target, "first")))
# the same export again in this process: the modules it imports are loaded now
out["again"] = measure(os.path.join(target, "again"))
out["threads"] = os.cpu_count()
out["scheduler"] = str(dask.config.get("scheduler", "threads (default)"))
# correctness, after the peak is recorded
first = os.path.join(target, "first")
stores = sorted(p for p, dirs, files in os.walk(first) if p.endswith(".zarr"))
out["stores"] = [os.path.relpath(p, first) for p in stores]
back = db.open_zarr(stores[0])
da = series.to_xarray()
out["dims"], out["shape"] = list(da.dims), list(da.shape)
out["chunks"] = [list(c) for c in da.chunks] if da.chunks else None
out["store_chunks"] = [list(c) for c in back.chunks] if back.chunks else None
problems = []
if back.dims != da.dims or back.shape != da.shape:
    problems.append(f"dims/shape {back.dims} {back.shape}, not {da.dims} {da.shape}")
for name in da.coords:
    if name not in back.coords or not np.array_equal(back[name].values, da[name].values):
        problems.append(f"coordinate {name}")
n = da.sizes[da.dims[0]]
picked = sorted({0, n // 2, n - 1})
try:
    xr.testing.assert_identical(
        back.isel({da.dims[0]: picked}).compute(), da.isel({da.dims[0]: picked}).compute()
    )
except AssertionError as exc:
    problems.append(f"frames {picked}: {exc}")
out["checked_frames"] = picked
out["problems"] = problems
print("RESULT " + json.dumps(out))
"""
)


@dataclass
class Export:
    limit: int
    data: int  # bytes of pixel data
    frames: int
    child: dict[str, Any] = field(default_factory=dict)
    store_bytes: int = 0

    @property
    def increase(self) -> int:
        return int(self.child["peak"] - self.child["before"])

    @property
    def mib_per_s(self) -> float:
        return self.data / MIB / self.child["seconds"]

    @property
    def again_increase(self) -> int:
        again = self.child["again"]
        return int(again["peak"] - again["before"])


def measure_export(data: Path, out: Path, limit_mib: int, frames: int) -> Export:
    res = Export(limit_mib * MIB, frames * FRAME_BYTES, frames)
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-c", EXPORT_CHILD, str(data), str(out)]
    os.sync()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"the export subprocess failed ({done.returncode}):\n{done.stderr}")
    res.child = json.loads(lines[-1][len("RESULT ") :])
    res.store_bytes = folder_bytes(out / "first")
    shutil.rmtree(out)
    if res.child["problems"]:
        raise AssertionError("the export is wrong: " + "; ".join(res.child["problems"]))
    if len(res.child["stores"]) != 1:
        raise AssertionError(f"one Zarr store expected, not {res.child['stores']}")
    if res.child["shape"] != [frames, SIDE, SIDE]:
        raise AssertionError(f"unexpected DataArray shape {res.child['shape']}")
    return res


# ------------------------------------------------------------------ report
def mib(value: float) -> str:
    return f"{value / MIB:,.0f} MiB"


def result_lines(res: Export, judged: bool) -> list[tuple[str, str, str, str]]:
    c = res.child
    met = "-" if not judged else ("yes" if res.increase < res.limit else "NO")
    what = f"{res.frames:,} x {SIDE}x{SIDE} uint16 ({mib(res.data)})"
    return [
        (
            f"export_as_zarr of {what}: peak RSS increase",
            mib(res.increase),
            f"< {mib(res.limit)} (the limit; data / {FACTOR})",
            met,
        ),
        (
            "  the same export: time",
            f"{c['seconds']:.1f} s",
            "- (reported)",
            "-",
        ),
        (
            "  the same export: throughput",
            f"{res.mib_per_s:,.0f} MiB/s",
            "- (reported)",
            "-",
        ),
        (
            "the export again, same process: peak RSS increase",
            mib(res.again_increase),
            "- (reported: without the first call's imports)",
            "-",
        ),
        (
            "  the export again: time",
            f"{c['again']['seconds']:.1f} s",
            "- (reported)",
            "-",
        ),
    ]


def print_report(res: Export, args: argparse.Namespace, judged: bool, generated: float) -> None:
    c = res.child
    cores = os.cpu_count() or 1
    print()
    print(
        f"dbdicom {db.__version__}; Python {platform.python_version()}, numpy "
        f"{np.__version__}, xarray {xr.__version__}, zarr {zarr.__version__}, {cores} cores"
    )
    print(
        "One export in a fresh subprocess; the files in the page cache; dask's "
        f"{c['scheduler']} scheduler ({c['threads']} threads)."
    )
    if not judged:
        print("--quick: a smoke run at small sizes; the target is stated for the full size")
    print()
    header = ("measurement", "dbdicom", "target", "met")
    print(format_table(header, result_lines(res, judged), numeric=1))
    print()
    print("correctness (asserted in this run):")
    print(
        f"  one store, {c['stores'][0]} ({mib(res.store_bytes)} on disk); db.open_zarr gives "
        f"dims {tuple(c['dims'])}, shape {tuple(c['shape'])} and the coordinates of "
        f"series.to_xarray(); frames {c['checked_frames']} identical to it (values, coords, "
        "attrs)"
    )
    print()
    chunk = c["chunks"][0][0] if c["chunks"] else None
    stored = c["store_chunks"][0][0] if c["store_chunks"] else None
    print(
        f"export: {res.frames:,} frames, {mib(res.data)} of pixel data, {c['seconds']:.1f} s, "
        f"{res.mib_per_s:,.0f} MiB/s, {c['seconds'] / res.frames * 1000:.2f} ms per frame; "
        f"dask chunks of {chunk} frames ({mib((chunk or 0) * FRAME_BYTES)}), Zarr chunks of "
        f"{stored} frames"
    )
    reset = "reset before the export" if c["hwm_reset"] else "NOT reset (clear_refs refused)"
    print(
        f"  RSS of the subprocess: bare python {mib(c['python'])}, after the imports "
        f"{mib(c['imported'])}, after opening the database {mib(c['opened'])} (reopen "
        f"{c['open_seconds']:.2f} s), right before the export (baseline) {mib(c['before'])}; "
        f"peak (VmHWM, {reset}) {mib(c['peak'])}; after the export {mib(c['after'])}"
    )
    print(
        f"  sampled every 10 ms: VmRSS {mib(c['sampled'])} (+{mib(c['sampled'] - c['before'])}); "
        f"RssAnon {mib(c['before_anon'])} -> {mib(c['sampled_anon'])}, RssFile "
        f"{mib(c['before_file'])} -> {mib(c['sampled_file'])}"
    )
    print(
        f"  increase during the export: {mib(res.increase)} (limit {mib(res.limit)}); "
        f"still held after it: {mib(c['after'] - c['before'])}"
    )
    print(
        "  ru_maxrss, not used (carries the parent's high-water mark over fork + exec): "
        f"{mib(c['maxrss_before'])} before, {mib(c['maxrss_after'])} after"
    )
    a = c["again"]
    print(
        f"the export again in the same process: {a['seconds']:.1f} s; baseline "
        f"{mib(a['before'])}, peak {mib(a['peak'])} (+{mib(res.again_increase)}), sampled "
        f"RssAnon {mib(a['before_anon'])} -> {mib(a['sampled_anon'])}; after it "
        f"{mib(a['after'])}"
    )
    if generated:
        print(f"  (generating the data took {generated:.1f} s; reruns reuse them)")


def write_json(path: Path, res: Export, args: argparse.Namespace, judged: bool) -> None:
    report = {
        "quick": args.quick,
        "folder": str(args.folder),
        "limit": res.limit,
        "data": res.data,
        "frames": res.frames,
        "side": SIDE,
        "increase": res.increase,
        "mib_per_s": res.mib_per_s,
        "store_bytes": res.store_bytes,
        "met": (res.increase < res.limit) if judged else None,
        "versions": {
            "dbdicom": db.__version__,
            "numpy": np.__version__,
            "xarray": xr.__version__,
            "zarr": zarr.__version__,
            "python": platform.python_version(),
        },
        "cores": os.cpu_count(),
        "child": res.child,
        "table": [
            dict(zip(("measurement", "dbdicom", "target", "met"), line, strict=True))
            for line in result_lines(res, judged)
        ],
    }
    save_report(path, report)


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = data_parser(__doc__, DEFAULT_ROOT, "small sizes: a smoke run, target not judged")
    parser.add_argument(
        "--limit-mib",
        type=int,
        default=None,
        help=f"the memory limit in MiB; the series is {FACTOR}x it "
        f"(default {FULL_LIMIT_MIB}; {QUICK_LIMIT_MIB} with --quick)",
    )
    args = data_args(parser, argv)
    if args.limit_mib is None:
        args.limit_mib = QUICK_LIMIT_MIB if args.quick else FULL_LIMIT_MIB
    if args.limit_mib < 1:
        parser.error("--limit-mib must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    judged = not args.quick
    frames = frames_for(args.limit_mib)
    data = args.folder / f"series-{frames}"
    generated = ensure_data(data, frames, args.fresh)
    print("Opening (indexing) the database and reading the files into the page cache...")
    start = time.perf_counter()
    database = open_database(data)
    seconds = time.perf_counter() - start
    if len(database.problems()) or len(database.series()) != 1:
        sys.exit(f"{data}: not one series\n{database.problems()}")
    paths = database.files()
    if len(paths) != frames:
        sys.exit(f"{data}: {len(paths)} files, not {frames}: use --fresh")
    nbytes = warm_page_cache(paths)
    print(f"  {len(paths):,} files ({mib(nbytes)}), opened in {seconds:.2f} s")
    del database
    print(
        f"Exporting {frames:,} frames ({mib(frames * FRAME_BYTES)}) to Zarr in a subprocess, "
        f"against a {args.limit_mib} MiB limit...",
        flush=True,
    )
    res = measure_export(data, args.folder / "out", args.limit_mib, frames)
    print_report(res, args, judged, generated)
    if args.json:
        write_json(args.json, res, args, judged)
    return 0


if __name__ == "__main__":
    sys.exit(main())
