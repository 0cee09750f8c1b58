"""Benchmark of reading pixels with dbdicom against pydicom and SimpleITK, side by side.

Usage::

    python benchmarks/bench_arrays.py [--quick] [--folder DIR] [--fresh]
                                      [--repeats K] [--json PATH] [--profile]

Needs SimpleITK (the peer) and python-gdcm (to make the JPEG lossless data),
besides dbdicom with its ``jpeg`` extra: ``pip install SimpleITK python-gdcm
-e ".[jpeg]"``.

What is measured, all in one run and one process (dbdicom, pydicom and
SimpleITK are imported before any timing; ``time.perf_counter`` wall-clock
seconds). Every database is opened (indexed) beforehand, untimed: opening is
what ``bench_index.py`` times.

* **200-slice MR series** (256 x 256 uint16, uncompressed):
  ``series.to_xarray().values`` -- building the lazy DataArray *and*
  computing it with dask's default threaded scheduler -- against the
  **pydicom loop** ``np.stack([dcmread(p).pixel_array for p in paths])``
  (rescale applied where the data have one) and **SimpleITK**
  ``ImageSeriesReader`` (``SetFileNames(paths)`` + ``GetArrayFromImage``).
  The peers are handed the file names already sorted in slice order (the
  files are named so), which flatters them: a real loop has to sort by
  position first (SimpleITK's ``GetGDCMSeriesFileNames`` is timed apart).
* **10 slices x 2 flip angles** (20 files):
  ``series.to_xarray(dims=["SliceLocation", "FlipAngle"]).values``; the
  peers read the 20 sorted files and reshape to (10, 2, 256, 256).
* **100-slice CT, JPEG Lossless SV1** (512 x 512 int16 stored values of a HU
  phantom, RescaleIntercept -1024; transfer syntax 1.2.840.10008.1.2.4.70,
  encoded with GDCM): ``to_xarray().values`` against the same two peers,
  once for each pydicom decoder plugin installed (pylibjpeg, which
  ``dbdicom[jpeg]`` installs, and gdcm); the plugin is chosen with
  pydicom's ``Decoder.remove_plugin``/``add_plugin`` and applies to
  dbdicom and the pydicom loop alike. SimpleITK always decodes with its own
  GDCM.
* **building the DataArray without computing it**: ``series.to_xarray()`` on
  series of 200, 2,000 (20 slices x 100 time points) and 12,800 frames, and
  on a 200-frame series of ``bench_index.py``'s 20,000-file database when
  that folder exists.
* **memory**: in a fresh subprocess (``python -c``, importing only dbdicom),
  ``series.to_xarray().mean("TemporalPositionIdentifier").compute()`` with
  dask's threaded scheduler on a series of 128 slices x 100 time points of
  256 x 256 uint16 (1,600 MiB of pixels, 4x the 400 MiB limit). Peak RSS is
  the kernel's high-water mark of the subprocess (``VmHWM`` in
  ``/proc/self/status``; not ``ru_maxrss``, which Linux carries over from
  the parent through fork + exec), reported with the RSS of the
  subprocess at each stage (after ``import dbdicom``, after opening the
  database, after building the DataArray).

The OS page cache is warm for every contestant: every file is read once,
untimed, before the first measurement. Each contestant also makes one
untimed warm-up call per case (first calls pay for lazy imports; the
warm-up times are printed). Timings are the best of ``--repeats`` (default
5; 3 for the CT loops); every repetition is printed. Correctness is checked
in the run: dbdicom's values must equal the pydicom loop's (and SimpleITK's)
for every case, and the mean of the memory case must match a pydicom
computation on two slices -- the run stops if one does not.

The data are made with dbdicom's own templates (``dbdicom._templates``) and
kept in ``/tmp/dbdicom-bench-arrays/<case>/`` (a hidden marker file in each
records what it holds), so reruns skip the generation; ``--fresh`` makes
them again. ``--quick`` uses small sizes (a smoke run of well under a
minute); its targets are then not judged.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pydicom
import xarray as xr
from _report import (
    CHILD_PRELUDE,
    MARKER,
    MIB,
    Row,
    Timing,
    data_args,
    data_parser,
    mark_complete,
    peer_table,
    profile_top,
    reuse_or_clear,
    rows_json,
    save_report,
    timed,
)
from pydicom.pixels import apply_rescale
from pydicom.pixels.decoders import JPEGLosslessSV1Decoder

import dbdicom as db
from dbdicom._templates import ct_image, mr_image, new_uid, write_dataset

try:
    import SimpleITK as sitk
except ImportError:  # pragma: no cover - a benchmark dependency
    sys.exit("bench_arrays.py needs SimpleITK: pip install SimpleITK")

# ------------------------------------------------------------------ constants
LAYOUT_VERSION = 1
DEFAULT_ROOT = Path("/tmp/dbdicom-bench-arrays")
INDEX_BENCH_FOLDER = Path("/tmp/dbdicom-bench-20000")  # made by bench_index.py
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
TIME_DIM = "TemporalPositionIdentifier"
DECODERS = ("pylibjpeg", "gdcm")
_DECODER_PATHS = {
    "gdcm": ("pydicom.pixels.decoders.gdcm", "_decode_frame"),
    "pylibjpeg": ("pydicom.pixels.decoders.pylibjpeg", "_decode_frame"),
}


@dataclass(frozen=True)
class Sizes:
    """The size of every case; the targets are stated for :data:`FULL`."""

    mr_slices: int
    vfa: tuple[int, int]  # slices, flip angles
    ct_slices: int
    dyn: tuple[int, int]  # slices, time points
    big: tuple[int, int]  # slices, time points
    limit_mib: int


FULL = Sizes(
    mr_slices=200, vfa=(10, 2), ct_slices=100, dyn=(20, 100), big=(128, 100), limit_mib=400
)
QUICK = Sizes(mr_slices=40, vfa=(10, 2), ct_slices=12, dyn=(20, 10), big=(16, 25), limit_mib=13)


# ------------------------------------------------------------------ phantoms
def _plane(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised (y, x) coordinates, -1..1 over the image."""
    y, x = np.mgrid[-1 : 1 : shape[0] * 1j, -1 : 1 : shape[1] * 1j]
    return y.astype(np.float32), x.astype(np.float32)


def _ellipse(y: np.ndarray, x: np.ndarray, cy: float, cx: float, ry: float, rx: float):
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1


def head(shape: tuple[int, int], s: int, n_slices: int) -> np.ndarray:
    """An MR head (scalp, skull, grey and white matter, ventricles): 0..1."""
    y, x = _plane(shape)
    u = (s + 0.5) / n_slices * 2 - 1  # -1..1 feet to head
    r = math.sqrt(max(0.0, 1 - u * u))
    img = np.zeros(shape, np.float32)
    if r < 0.05:
        return img
    img[_ellipse(y, x, 0, 0, 0.92 * r, 0.78 * r)] = 0.55  # scalp
    img[_ellipse(y, x, 0, 0, 0.86 * r, 0.72 * r)] = 0.08  # skull
    img[_ellipse(y, x, 0.01, 0, 0.82 * r, 0.68 * r)] = 0.45  # grey matter
    img[_ellipse(y, x, 0.02, 0, 0.62 * r, 0.50 * r)] = 0.32  # white matter
    if abs(u) < 0.45:
        for cx in (-0.09, 0.09):
            img[_ellipse(y, x, -0.05, cx, 0.22 * r, 0.05 * r)] = 1.0  # ventricles
    return img


def abdomen(shape: tuple[int, int], s: int, n_slices: int) -> tuple[np.ndarray, np.ndarray]:
    """An MR abdomen (0..1) and the mask of its kidneys (which enhance)."""
    y, x = _plane(shape)
    body = _ellipse(y, x, 0, 0, 0.62, 0.84).astype(np.float32) * 0.5
    u = (s + 0.5) / n_slices * 2 - 1
    kidneys = np.zeros(shape, bool)
    if abs(u) < 0.7:
        size = math.sqrt(1 - (u / 0.7) ** 2)
        for cx in (-0.36, 0.36):
            kidneys |= _ellipse(y, x, 0.1, cx, 0.22 * size + 0.01, 0.13 * size + 0.01)
    body[kidneys] = 0.7
    return body, kidneys


def torso_hu(shape: tuple[int, int], s: int, n_slices: int, rng: np.random.Generator):
    """A CT torso in Hounsfield units: abdomen at the bottom, lungs at the top."""
    y, x = _plane(shape)
    u = s / max(n_slices - 1, 1)  # 0 = pelvis side, 1 = chest side
    hu = np.full(shape, -1000.0, np.float32)
    hu[_ellipse(y, x, 0.05, 0, 0.58, 0.84)] = -100  # subcutaneous fat
    hu[_ellipse(y, x, 0.05, 0, 0.50, 0.76)] = 40  # muscle, organs
    if u > 0.55:
        grow = (u - 0.55) / 0.45
        for cx in (-0.36, 0.36):
            hu[_ellipse(y, x, -0.02, cx, 0.18 + 0.22 * grow, 0.16 + 0.12 * grow)] = -850
    else:
        hu[_ellipse(y, x, -0.05, -0.32, 0.30, 0.26)] = 60  # liver
        for cx in (-0.42, 0.42):
            hu[_ellipse(y, x, 0.22, cx, 0.12, 0.07)] = 30  # kidneys
    hu[_ellipse(y, x, 0.16, 0.07, 0.05, 0.05)] = 180  # aorta, contrast
    hu[_ellipse(y, x, 0.34, 0, 0.11, 0.11)] = 900  # vertebral body, cortex
    hu[_ellipse(y, x, 0.34, 0, 0.09, 0.09)] = 250  # cancellous bone
    hu[(y > 0.80) & (y < 0.83) & (np.abs(x) < 0.9)] = 300  # table
    hu += rng.normal(0, 12, shape).astype(np.float32)  # quantum noise
    return np.clip(np.rint(hu), -1024, 3071).astype(np.int16)


def _noisy(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude data: |signal + complex Gaussian noise| as uint16."""
    re = img + rng.normal(0, sigma, img.shape).astype(np.float32)
    im = rng.normal(0, sigma, img.shape).astype(np.float32)
    return np.rint(np.hypot(re, im)).clip(0, 65535).astype(np.uint16)


# ------------------------------------------------------------------ generation
@dataclass(frozen=True)
class Case:
    """One generated series, alone in its folder."""

    key: str  # "mr", "vfa", "ct", "dyn", "big"
    folder: str
    n_slices: int
    n_other: int  # flip angles or time points (1 if none)
    shape: tuple[int, int]

    @property
    def n_files(self) -> int:
        return self.n_slices * self.n_other

    def paths(self) -> list[str]:
        """The files in slice order (then flip angle or time): sorted names."""
        return [os.path.join(self.folder, f"IM-{k + 1:05d}") for k in range(self.n_files)]


@dataclass(frozen=True)
class Part:
    """A range of slices of a case, written by one worker."""

    case: Case
    first: int
    stop: int
    uids: tuple[str, str, str]  # study, series, frame of reference


def cases(root: Path, sizes: Sizes) -> dict[str, Case]:
    def case(key: str, name: str, n: int, m: int, shape: tuple[int, int]) -> Case:
        return Case(key, str(root / name), n, m, shape)

    return {
        "mr": case("mr", f"mr-{sizes.mr_slices}", sizes.mr_slices, 1, (256, 256)),
        "vfa": case("vfa", "vfa-{}x{}".format(*sizes.vfa), *sizes.vfa, (256, 256)),
        "ct": case("ct", f"ct-jpeg-{sizes.ct_slices}", sizes.ct_slices, 1, (512, 512)),
        "dyn": case("dyn", "dyn-{}x{}".format(*sizes.dyn), *sizes.dyn, (256, 256)),
        "big": case("big", "big-{}x{}".format(*sizes.big), *sizes.big, (256, 256)),
    }


FLIP_ANGLES = (3.0, 15.0)


def _template(case: Case, uids: tuple[str, str, str]) -> pydicom.Dataset:
    study, series, frame = uids
    common = {
        "StudyInstanceUID": study,
        "SeriesInstanceUID": series,
        "FrameOfReferenceUID": frame,
        "PatientName": "Bench^Arrays",
        "PatientID": "BENCH-ARRAYS",
    }
    if case.key == "ct":
        return ct_image(
            np.zeros(case.shape, np.int16),
            SeriesDescription="CT abdomen-thorax, JPEG lossless",
            RescaleIntercept=-1024.0,
            RescaleSlope=1.0,
            PixelSpacing=[0.78, 0.78],
            SliceThickness=2.5,
            **common,
        )
    descriptions = {
        "mr": "T1 3D head, 200 slices",
        "vfa": "VFA T1 mapping",
        "dyn": "DCE kidneys",
        "big": "DCE kidneys, large",
    }
    extra: dict[str, Any] = {}
    if case.key in ("dyn", "big"):
        extra = {"NumberOfTemporalPositions": case.n_other, "BodyPartExamined": "ABDOMEN"}
    thickness = 1.0 if case.key == "mr" else 5.0
    spacing = 1.0 if case.key == "mr" else 1.5
    return mr_image(
        np.zeros(case.shape, np.uint16),
        SeriesDescription=descriptions[case.key],
        PixelSpacing=[spacing, spacing],
        SliceThickness=thickness,
        SpacingBetweenSlices=thickness,
        WindowCenter=1000.0,
        WindowWidth=2000.0,
        **extra,
        **common,
    )


def _tm(seconds: float) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}{int(m):02d}{s:09.6f}"


def _compress_jpeg_lossless(raw: str, out: str) -> None:
    """Re-encode ``raw`` as JPEG Lossless SV1 with GDCM (pydicom cannot encode it)."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(raw)
    if not reader.Read():
        raise RuntimeError(f"GDCM cannot read {raw}")
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise RuntimeError(f"GDCM cannot compress {raw}")
    writer = gdcm.ImageWriter()
    writer.SetFileName(out)
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise RuntimeError(f"GDCM cannot write {out}")


def write_part(part: Part) -> int:
    """Write slices ``first..stop`` of a case: one template, per-instance values changed."""
    case = part.case
    ds = _template(case, part.uids)
    spacing = float(ds.PixelSpacing[0])
    thickness = float(ds.SliceThickness)
    corner = round(-(case.shape[0] - 1) * spacing / 2, 4)
    paths = case.paths()
    for s in range(part.first, part.stop):
        rng = np.random.default_rng(1000 * s + len(case.key))
        z = round((s - case.n_slices / 2) * thickness, 2)
        base: np.ndarray | None = None
        kidneys: np.ndarray | None = None
        if case.key in ("mr", "vfa"):
            base = head(case.shape, s, case.n_slices)
        elif case.key in ("dyn", "big"):
            base, kidneys = abdomen(case.shape, s, case.n_slices)
        for j in range(case.n_other):
            k = s * case.n_other + j
            ds.SOPInstanceUID = new_uid()
            ds.InstanceNumber = k + 1
            ds.ImagePositionPatient = [corner, corner, z]
            ds.SliceLocation = z
            if case.key == "ct":
                hu = torso_hu(case.shape, s, case.n_slices, rng)
                stored = (hu.astype(np.int32) + 1024).astype(np.int16)
                ds.PixelData = stored.tobytes()
                raw = os.path.join(case.folder, f".raw-{k + 1:05d}")  # hidden: not indexed
                write_dataset(ds, raw)
                _compress_jpeg_lossless(raw, paths[k])
                os.remove(raw)
                back = pydicom.dcmread(paths[k])
                if back.file_meta.TransferSyntaxUID != JPEG_LOSSLESS_SV1 or not np.array_equal(
                    back.pixel_array, stored
                ):
                    raise RuntimeError(f"{paths[k]} does not decode to the values written")
                continue
            assert base is not None
            if case.key == "mr":
                img = base * 1800
            elif case.key == "vfa":
                fa = FLIP_ANGLES[j]
                a, e1 = math.radians(fa), math.exp(-5.0 / 1000.0)
                img = base * (6000 * math.sin(a) * (1 - e1) / (1 - math.cos(a) * e1))
                ds.FlipAngle = fa
                ds.AcquisitionNumber = j + 1
            else:
                assert kidneys is not None
                t = j * 2.5  # s
                enhance = 2.5 * (1 - math.exp(-t / 12)) * math.exp(-t / 150) if j > 4 else 0.0
                img = (base + kidneys * (0.7 * enhance)) * 1200
                ds.TemporalPositionIdentifier = j + 1
                ds.AcquisitionNumber = j + 1
                ds.AcquisitionTime = _tm(9 * 3600 + 15 * 60 + t + 0.04 * s)
            ds.PixelData = _noisy(img, 15.0, rng).tobytes()
            write_dataset(ds, paths[k])
    return (part.stop - part.first) * case.n_other


def ensure_case(case: Case, fresh: bool, workers: int) -> float:
    """Make ``case`` unless its folder holds it; seconds spent."""
    root = Path(case.folder)
    wanted = {**asdict(case), "layout": LAYOUT_VERSION}
    wanted["shape"] = list(case.shape)
    if reuse_or_clear(root, wanted, fresh):
        return 0.0
    uids = (new_uid(), new_uid(), new_uid())
    n_parts = min(case.n_slices, 4 * workers)
    bounds = np.linspace(0, case.n_slices, n_parts + 1).round().astype(int)
    parts = [Part(case, int(a), int(b), uids) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    mb = case.n_files * case.shape[0] * case.shape[1] * 2 / MIB
    print(f"Generating {case.n_files} files in {root} ({mb:,.0f} MiB of pixels)...", flush=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        written = sum(pool.map(write_part, parts))
    assert written == case.n_files, (written, case.n_files)
    mark_complete(root, wanted)
    seconds = time.perf_counter() - start
    print(f"  done in {seconds:.1f} s")
    return seconds


# ------------------------------------------------------------------ contestants
def open_database(folder: str | Path) -> db.Database:
    """``db.database(folder)`` with progress bars and messages muted."""
    status = db.Status()
    status.mute()
    return db.database(folder, status=status)


def warm_page_cache(folders: Sequence[str | Path]) -> int:
    """Read every file once, so that every contestant finds them in memory."""
    total = 0
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                with open(os.path.join(dirpath, name), "rb") as f:
                    while chunk := f.read(1 << 20):
                        total += len(chunk)
    return total


def pydicom_stack(paths: Sequence[str]) -> np.ndarray:
    """The peer: read every file with pydicom, rescale where the data have one."""
    frames = []
    for path in paths:
        ds = pydicom.dcmread(path)
        arr = ds.pixel_array
        if "RescaleSlope" in ds or "RescaleIntercept" in ds:
            arr = apply_rescale(arr, ds)
        frames.append(arr)
    return np.stack(frames)


def sitk_stack(paths: Sequence[str]) -> np.ndarray:
    """The peer: SimpleITK's series reader, given the sorted file names."""
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(list(paths))
    return sitk.GetArrayFromImage(reader.Execute())


def set_decoders(labels: Sequence[str]) -> None:
    """Make ``labels`` pydicom's JPEG Lossless SV1 decoder plugins, in this order.

    Applies to dbdicom and the pydicom loop alike (both decode with pydicom).
    """
    decoder = JPEGLosslessSV1Decoder
    for name in DECODERS:
        try:
            decoder.remove_plugin(name)
        except ValueError:
            pass
    for name in labels:
        decoder.add_plugin(name, _DECODER_PATHS[name])


def available_decoders() -> list[str]:
    """The JPEG Lossless SV1 decoder plugins pydicom can use here, in pydicom's order."""
    return [d for d in JPEGLosslessSV1Decoder.available_plugins if d in DECODERS]


# ------------------------------------------------------------------ timing
@dataclass
class Load:
    """One 'read the pixels' case: dbdicom (build + compute) and the peers."""

    name: str
    frames: int
    build: Timing = field(default_factory=Timing)
    compute: Timing = field(default_factory=Timing)
    total: Timing = field(default_factory=Timing)
    pydicom: Timing = field(default_factory=Timing)
    sitk: Timing = field(default_factory=Timing)
    checks: list[str] = field(default_factory=list)


def measure_load(
    name: str,
    series: Any,
    paths: list[str],
    repeats: int,
    dims: list[str] | None = None,
    grid: tuple[int, ...] | None = None,
    whole: bool = False,
) -> Load:
    """Best of ``repeats`` of dbdicom, the pydicom loop and SimpleITK, interleaved.

    ``whole``: dbdicom reads with one dask chunk per tag dim (``chunks={dim: -1}``)
    instead of one chunk per frame.
    """
    load = Load(name, len(paths))

    def dbdicom_once() -> tuple[float, float, np.ndarray]:
        gc.collect()
        start = time.perf_counter()
        if whole:
            first = series.to_xarray(dims)
            chunks = {d: -1 for d in first.dims if d not in ("row", "column", "channel")}
            start = time.perf_counter()
            da = series.to_xarray(dims, chunks=chunks)
        else:
            da = series.to_xarray(dims)
        built = time.perf_counter()
        values = da.values
        done = time.perf_counter()
        return built - start, done - built, values

    def shaped(arr: np.ndarray) -> np.ndarray:
        return arr.reshape(*grid, *arr.shape[1:]) if grid else arr

    build, compute, ours = dbdicom_once()
    load.total.warmup = build + compute
    load.pydicom.warmup, theirs = timed(lambda: shaped(pydicom_stack(paths)))
    load.sitk.warmup, itk = timed(lambda: shaped(sitk_stack(paths)))
    # correctness: the same values (dtypes may differ: physical units)
    if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
        raise AssertionError(f"{name}: dbdicom's values differ from the pydicom loop's")
    load.checks.append(f"dbdicom == pydicom loop ({ours.dtype} vs {theirs.dtype}, {ours.shape})")
    if itk.shape == theirs.shape and np.array_equal(itk, theirs):
        load.checks.append(f"SimpleITK == pydicom loop ({itk.dtype})")
    else:
        load.checks.append(f"SimpleITK DIFFERS from the pydicom loop ({itk.dtype}, {itk.shape})")
    del ours, theirs, itk
    for _ in range(repeats):
        build, compute, values = dbdicom_once()
        del values
        load.build.seconds.append(build)
        load.compute.seconds.append(compute)
        load.total.seconds.append(build + compute)
        load.pydicom.seconds.append(timed(lambda: pydicom_stack(paths))[0])
        load.sitk.seconds.append(timed(lambda: sitk_stack(paths))[0])
    return load


@dataclass
class Build:
    """``series.to_xarray()`` alone (no pixels read)."""

    name: str
    frames: int
    timing: Timing = field(default_factory=Timing)
    dims: list[str] = field(default_factory=list)


def measure_build(name: str, series: Any, repeats: int) -> Build:
    seconds, da = timed(series.to_xarray)
    build = Build(name, int(np.prod(da.shape[:-2])), Timing(warmup=seconds), list(da.dims))
    for _ in range(repeats):
        build.timing.seconds.append(timed(series.to_xarray)[0])
    return build


# ------------------------------------------------------------------ memory
# Runs in a fresh interpreter that imports only dbdicom (so its RSS is not
# inflated by SimpleITK, gdcm...). argv: folder, dim, slices, time points.
MEMORY_CHILD = (
    CHILD_PRELUDE
    + r"""
def rss():
    return status("VmRSS")

def peak():  # VmHWM: the high-water mark of this process image
    return status("VmHWM")

out = {"python": rss()}
import dbdicom as db
out["imported"] = rss()
out["imported_peak"] = peak()
folder, dim, n_slices, n_t = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
st = db.Status()
st.mute()
database = db.database(folder, status=st)
series = database.series()[0]
out["opened"] = rss()
da = series.to_xarray()
out["built"] = rss()
out["dims"] = list(da.dims)
out["shape"] = list(da.shape)
out["nbytes"] = int(da.nbytes)
out["tasks"] = len(da.data.__dask_graph__())
import dask
start = time.perf_counter()
with dask.config.set(scheduler="threads"):
    mean = da.mean(dim).compute()
out["seconds"] = time.perf_counter() - start
out["peak"] = peak()
out["after"] = rss()
out["result_nbytes"] = int(mean.nbytes)
# correctness, after the peak is recorded: two slices against pydicom
import numpy as np, pydicom
checked = []
for s in (0, n_slices - 1):
    total = np.zeros(mean.shape[-2:], np.float64)
    for t in range(n_t):
        path = os.path.join(folder, f"IM-{s * n_t + t + 1:05d}")
        total += pydicom.dcmread(path).pixel_array
    ok = bool(np.allclose(mean.values[s], total / n_t, rtol=1e-12, atol=1e-9))
    checked.append(ok)
out["checked"] = checked
print("RESULT " + json.dumps(out))
"""
)


@dataclass
class Memory:
    limit: int
    data: int
    child: dict[str, Any] = field(default_factory=dict)

    @property
    def peak(self) -> int:
        return int(self.child["peak"])


def measure_memory(case: Case, limit_mib: int) -> Memory:
    mem = Memory(limit_mib * MIB, case.n_files * case.shape[0] * case.shape[1] * 2)
    cmd = [
        sys.executable,
        "-c",
        MEMORY_CHILD,
        case.folder,
        TIME_DIM,
        str(case.n_slices),
        str(case.n_other),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"the memory subprocess failed ({done.returncode}):\n{done.stderr}")
    mem.child = json.loads(lines[-1][len("RESULT ") :])
    if not all(mem.child["checked"]):
        raise AssertionError("memory case: dbdicom's mean differs from pydicom's")
    return mem


# ------------------------------------------------------------------ profile
def profile_report(series: Any) -> None:
    """cProfile of the 200-slice load, and unprofiled phase times.

    cProfile sees only the thread it runs in, so the load is profiled with
    dask's synchronous scheduler (every frame read in this thread); the
    threaded load then shows only the build and the wait.
    """
    with dask.config.set(scheduler="synchronous"):
        print(
            profile_top(
                lambda: series.to_xarray().values,
                "to_xarray().values, 200 slices, dask synchronous scheduler",
            )
        )
    print(profile_top(series.to_xarray, "to_xarray() alone (the build), 200 slices"))
    times: dict[str, list[float]] = {}
    for _ in range(5):
        seconds, da = timed(series.to_xarray)
        times.setdefault("to_xarray() (build)", []).append(seconds)
        times.setdefault("compute, threaded scheduler (default)", []).append(
            timed(lambda da=da: da.data.compute(scheduler="threads"))[0]
        )
        times.setdefault("compute, synchronous scheduler", []).append(
            timed(lambda da=da: da.data.compute(scheduler="synchronous"))[0]
        )
        graph = da.data.__dask_graph__()
        times.setdefault("dask graph: number of tasks", []).append(float(len(graph)))
    print("=== phases of the 200-slice load (unprofiled, best of 5) ===")
    for name, values in times.items():
        if name.startswith("dask graph"):
            print(f"  {name:<45} {values[0]:9.0f}")
        else:
            print(f"  {name:<45} {min(values) * 1000:9.1f} ms")


# ------------------------------------------------------------------ report
def table(rows: list[Row]) -> str:
    return peer_table(rows, ["pydicom", "SimpleITK"], "peer/dbdicom")


@dataclass
class Results:
    loads: dict[str, Load] = field(default_factory=dict)
    builds: list[Build] = field(default_factory=list)
    memory: Memory | None = None
    sitk_sort: Timing = field(default_factory=Timing)
    decoders: list[str] = field(default_factory=list)


def result_rows(res: Results, judged: bool) -> list[Row]:
    rows: list[Row] = []

    def judge(ok: bool) -> bool | None:
        return ok if judged else None

    for key, load in res.loads.items():
        peer = min(load.pydicom.best, load.sitk.best)
        if key == "mr":
            target, ok = ">= 5x faster than the faster peer", peer / load.total.best >= 5
        elif key == "vfa":
            target, ok = "<= 12 ms", load.total.best <= 0.012
        else:
            target, ok = "no slower than SimpleITK", load.total.best <= load.sitk.best
        best = load.total.best
        rows.append(
            Row(load.name, "s", best, (load.pydicom.best, load.sitk.best), target, judge(ok))
        )
    for build in res.builds:
        limit = 0.005 * build.frames / 1000
        rows.append(
            Row(
                build.name,
                "s",
                build.timing.best,
                (None, None),
                f"<= {limit * 1000:.1f} ms (5 ms per 1,000 frames)",
                judge(build.timing.best <= limit),
            )
        )
    if res.memory is not None:
        m = res.memory
        rows.append(
            Row(
                f"mean over time of {m.data / MIB:,.0f} MiB: peak RSS",
                "MiB",
                m.peak,
                (None, None),
                f"<= {m.limit / MIB:,.0f} MiB (data / 4)",
                judge(m.peak <= m.limit),
            )
        )
    return rows


def print_report(res: Results, args: argparse.Namespace, nbytes: int, judged: bool) -> None:
    cores = os.cpu_count() or 1
    print()
    print(
        f"dbdicom {db.__version__} vs pydicom {pydicom.__version__} and SimpleITK "
        f"{sitk.Version.VersionString()}; Python {platform.python_version()}, numpy "
        f"{np.__version__}, dask {dask.__version__}, xarray {xr.__version__}, {cores} cores"
    )
    print(
        f"Wall-clock, best of {args.repeats} (CT: {args.ct_repeats}); OS page cache warm for "
        f"every contestant ({nbytes / 1e9:.2f} GB read once beforehand); databases opened "
        "beforehand; dbdicom computes with dask's default threaded scheduler "
        f"({cores} threads), the peers in one thread. Peers get the file names pre-sorted."
    )
    print(
        "MR: 256x256 uint16, Explicit VR Little Endian; CT: 512x512 int16 stored, "
        "RescaleIntercept -1024, JPEG Lossless SV1 (1.2.840.10008.1.2.4.70); "
        f"JPEG decoder plugins of pydicom here: {', '.join(res.decoders)}"
    )
    if not judged:
        print("--quick: a smoke run at small sizes; the targets are stated for the full sizes")
    print()
    print(table(result_rows(res, judged)))
    print()
    print("correctness (asserted in this run):")
    for load in res.loads.values():
        print(f"  {load.name}: " + "; ".join(load.checks))
    if res.memory is not None:
        print(
            "  memory case: the mean of the first and last slices equals pydicom's "
            "(np.allclose, rtol 1e-12)"
        )
    print()
    print("all repetitions (s); 'warm-up' is the untimed first call of each contestant:")
    for load in res.loads.values():
        print(f"  {load.name} ({load.frames} files)")
        for label, timing in (
            ("dbdicom to_xarray().values", load.total),
            ("  of which to_xarray()", load.build),
            ("  of which .values", load.compute),
            ("pydicom loop", load.pydicom),
            ("SimpleITK ImageSeriesReader", load.sitk),
        ):
            print("    " + timing.line(label, 30))
    for build in res.builds:
        per = build.timing.best / build.frames * 1000
        print(
            f"  {build.name}: "
            + ", ".join(f"{s:.4f}" for s in build.timing.seconds)
            + f"  (warm-up {build.timing.warmup:.3f}; best {per * 1000:.1f} ms per 1,000 frames;"
            f" dims {build.dims})"
        )
    if res.sitk_sort.seconds:
        print(
            f"  SimpleITK GetGDCMSeriesFileNames (sorting the {res.loads['mr'].frames} MR files, "
            "not in the table): " + ", ".join(f"{s:.4f}" for s in res.sitk_sort.seconds)
        )
    if res.memory is not None:
        m, c = res.memory, res.memory.child
        print()
        print(
            f"memory: {c['shape']} {c['dims']}, {m.data / MIB:,.0f} MiB of pixels, "
            f"{c['tasks']:,} dask tasks, mean over {TIME_DIM} in {c['seconds']:.2f} s "
            f"(threaded scheduler), result {c['result_nbytes'] / MIB:,.1f} MiB"
        )
        print(
            f"  RSS of the subprocess: bare python {c['python'] / MIB:,.0f} MiB; after import "
            f"dbdicom {c['imported'] / MIB:,.0f} MiB (the idle baseline); after opening the "
            f"database {c['opened'] / MIB:,.0f} MiB; after to_xarray() {c['built'] / MIB:,.0f} "
            f"MiB; peak {c['peak'] / MIB:,.0f} MiB (limit {m.limit / MIB:,.0f} MiB); "
            f"at the end {c['after'] / MIB:,.0f} MiB"
        )
        above = c["peak"] - c["built"]
        print(
            f"  the computation itself added {above / MIB:,.0f} MiB above the built state "
            f"({above / (c['shape'][-1] * c['shape'][-2] * 8):,.0f} float64 frames' worth)"
        )
        if m.peak > m.limit:
            print(f"  OVER the limit by {(m.peak - m.limit) / MIB:,.0f} MiB")


def write_json(path: Path, res: Results, args: argparse.Namespace, judged: bool) -> None:
    report = {
        "quick": args.quick,
        "folder": str(args.folder),
        "versions": {
            "dbdicom": db.__version__,
            "pydicom": pydicom.__version__,
            "SimpleITK": sitk.Version.VersionString(),
            "numpy": np.__version__,
            "dask": dask.__version__,
            "xarray": xr.__version__,
            "python": platform.python_version(),
        },
        "cores": os.cpu_count(),
        "page_cache": "warm for every contestant",
        "jpeg_decoders": res.decoders,
        "loads": {
            key: {
                "name": load.name,
                "files": load.frames,
                "dbdicom_total": load.total.as_dict(),
                "dbdicom_build": load.build.as_dict(),
                "dbdicom_compute": load.compute.as_dict(),
                "pydicom": load.pydicom.as_dict(),
                "SimpleITK": load.sitk.as_dict(),
                "checks": load.checks,
            }
            for key, load in res.loads.items()
        },
        "builds": [
            {"name": b.name, "frames": b.frames, "dims": b.dims, **b.timing.as_dict()}
            for b in res.builds
        ],
        "sitk_sort": res.sitk_sort.seconds,
        "memory": None
        if res.memory is None
        else {"limit": res.memory.limit, "data": res.memory.data, **res.memory.child},
        "results": rows_json(result_rows(res, judged), ["pydicom", "SimpleITK"]),
    }
    save_report(path, report)


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = data_parser(__doc__, DEFAULT_ROOT)
    parser.add_argument(
        "--chunks",
        choices=["frame", "whole"],
        default="frame",
        help="dbdicom's dask chunks for the loads: one per frame (default, what to_xarray() "
        "gives) or one per tag dim (to_xarray(chunks={dim: -1}))",
    )
    parser.add_argument("--repeats", type=int, default=None, help="repetitions (default 5)")
    parser.add_argument(
        "--ct-repeats", type=int, default=None, help="repetitions of the CT cases (default 3)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print cProfile top 10 of the MR load"
    )
    parser.add_argument(
        "--no-memory", dest="memory", action="store_false", help="skip the memory case"
    )
    args = data_args(parser, argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.ct_repeats is None:
        args.ct_repeats = min(3, args.repeats)
    if args.repeats < 1 or args.ct_repeats < 1:
        parser.error("--repeats and --ct-repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    judged = not args.quick
    workers = os.cpu_count() or 1
    all_cases = cases(args.folder, sizes)
    if not args.memory:
        del all_cases["big"]
    for case in all_cases.values():
        ensure_case(case, args.fresh, workers)

    print("Opening (indexing) the databases, untimed...")
    series, index_bench = open_series(all_cases)

    print("Warming the OS page cache (one untimed read of every file)...")
    nbytes = warm_page_cache([c.folder for c in all_cases.values()])
    print(f"  {nbytes / 1e9:.2f} GB; the cache is warm for every contestant")

    # SimpleITK warns on every read of the flip-angle series (two files per position)
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    res = Results(decoders=available_decoders())
    time_loads(res, all_cases, series, args)
    if not res.decoders:
        sys.exit('no JPEG lossless decoder for pydicom: pip install -e ".[jpeg]"')
    time_ct_loads(res, all_cases["ct"], series["ct"], args)

    print("Timing to_xarray() alone...", flush=True)
    time_builds(res, all_cases, series, index_bench, args.repeats)
    if "big" in all_cases:
        print("Measuring memory in a subprocess...", flush=True)
        res.memory = measure_memory(all_cases["big"], sizes.limit_mib)

    print_report(res, args, nbytes, judged)
    if args.profile:
        profile_report(series["mr"])
    if args.json:
        write_json(args.json, res, args, judged)
    return 0


def open_series(all_cases: dict[str, Any]) -> tuple[dict[str, Any], tuple[Any, int] | None]:
    """The series of each case; the first series of the index benchmark's database and
    its number of files (None if bench_index.py has not made it)."""
    series: dict[str, Any] = {}
    for key, case in all_cases.items():
        database = open_database(case.folder)
        if len(database.problems()):
            sys.exit(f"{case.folder}: problems\n{database.problems()}")
        (series[key],) = database.series()
    if not (INDEX_BENCH_FOLDER / MARKER).exists():
        return series, None
    database = open_database(INDEX_BENCH_FOLDER)
    return series, (database.series()[0], len(database.instances()))


def time_loads(res: Results, all_cases: dict[str, Any], series: dict[str, Any], args: Any) -> None:
    """Time the MR and flip-angle loads, and SimpleITK's sorting of the MR files."""
    mr, vfa = all_cases["mr"], all_cases["vfa"]
    print(f"Timing the {mr.n_slices}-slice MR load...", flush=True)
    res.loads["mr"] = measure_load(
        f"MR, {mr.n_slices} slices: to_xarray().values",
        series["mr"],
        mr.paths(),
        args.repeats,
        whole=args.chunks == "whole",
    )
    for _ in range(args.repeats):
        res.sitk_sort.seconds.append(
            timed(lambda: sitk.ImageSeriesReader.GetGDCMSeriesFileNames(mr.folder))[0]
        )
    print(f"Timing the {vfa.n_slices} x {vfa.n_other} flip-angle load...", flush=True)
    res.loads["vfa"] = measure_load(
        f"MR, {vfa.n_slices} slices x {vfa.n_other} FA: to_xarray(dims).values",
        series["vfa"],
        vfa.paths(),
        args.repeats,
        dims=["SliceLocation", "FlipAngle"],
        grid=(vfa.n_slices, vfa.n_other),
        whole=args.chunks == "whole",
    )


def time_ct_loads(res: Results, ct: Any, series: Any, args: Any) -> None:
    """Time the JPEG lossless CT load with each decoder, then restore pydicom's order."""
    for decoder in sorted(res.decoders, key=DECODERS.index):  # the extra's first
        print(f"Timing the {ct.n_slices}-slice JPEG lossless CT load ({decoder})...", flush=True)
        set_decoders([decoder])
        res.loads[f"ct-{decoder}"] = measure_load(
            f"CT JPEG lossless, {ct.n_slices} slices ({decoder}): to_xarray().values",
            series,
            ct.paths(),
            args.ct_repeats,
            whole=args.chunks == "whole",
        )
    set_decoders(res.decoders)  # pydicom's own order again


def time_builds(
    res: Results,
    all_cases: dict[str, Any],
    series: dict[str, Any],
    index_bench: tuple[Any, int] | None,
    repeats: int,
) -> None:
    """Time to_xarray() alone on the MR, dynamic, big and index-benchmark series."""
    for key in ("mr", "dyn", "big"):
        if key in all_cases:
            n_files = all_cases[key].n_files
            res.builds.append(
                measure_build(f"to_xarray() only, {n_files:,} frames", series[key], repeats)
            )
    if index_bench is not None:
        index_series, n_index = index_bench
        res.builds.append(
            measure_build(
                f"to_xarray() only, {len(index_series.instances())} frames "
                f"in a {n_index:,}-file db",
                index_series,
                repeats,
            )
        )


if __name__ == "__main__":
    sys.exit(main())
