"""NIfTI export of a 200-slice series: dbdicom against dcm2niix, in one run.

    python benchmarks/bench_nifti.py [--slices 200] [--repeats 3]

Makes (once, cached in /tmp/dbdicom-bench-nifti-N) a series of N 256x256
uint16 axial MR slices with dbdicom's templates, then times, interleaved,
``series.export_as_nifti(out)`` and ``dcm2niix -z y -o out folder`` (both
write gzipped NIfTI; the page cache is warm for both). Target: dbdicom no
slower than dcm2niix.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import format_table

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset


def make_series(folder: Path, n: int) -> None:
    marker = folder / ".complete"
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    uids = {"SeriesInstanceUID": new_uid(), "StudyInstanceUID": new_uid()}
    for k in range(n):
        pixels = rng.integers(0, 4000, (256, 256), dtype=np.uint16)
        ds = mr_image(
            pixels,
            **uids,
            PatientID="NIFTI",
            SeriesDescription="axial",
            ImagePositionPatient=[-127.5, -127.5, 1.5 * k],
            InstanceNumber=k + 1,
            PixelSpacing=[1.0, 1.0],
            SliceThickness=1.5,
        )
        write_dataset(ds, folder / f"IM_{k:04d}.dcm")
    marker.write_text("ok")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    exe = Path(sys.executable).with_name("dcm2niix")
    if not exe.exists():
        sys.exit("dcm2niix is not installed: pip install dcm2niix")
    folder = Path(f"/tmp/dbdicom-bench-nifti-{args.slices}")
    make_series(folder, args.slices)
    for path in folder.glob("*.dcm"):
        path.read_bytes()  # warm the page cache for both
    status = db.Status()
    status.mute()
    series = db.database(folder, status=status).series()[0]
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as work:
        for i in range(args.repeats + 1):
            start = time.perf_counter()
            series.export_as_nifti(Path(work) / f"ours{i}")
            ours.append(time.perf_counter() - start)
            out = Path(work) / f"dcm2niix{i}"
            out.mkdir()
            start = time.perf_counter()
            subprocess.run(
                [str(exe), "-z", "y", "-o", str(out), str(folder)], check=True, capture_output=True
            )
            theirs.append(time.perf_counter() - start)
    a, b = min(ours[1:]), min(theirs[1:])  # the first of each is a warm-up
    print(f"NIfTI export of {args.slices} slices of 256x256 uint16, best of {args.repeats}")
    rows = [
        (
            f"export {args.slices} slices to .nii.gz",
            f"{a:.3f} s",
            f"{b:.3f} s",
            f"{b / a:.2f}x",
            "no slower than dcm2niix",
            "yes" if a <= b else "NO",
        )
    ]
    print(
        format_table(
            ("measurement", "dbdicom", "dcm2niix", "dcm2niix/dbdicom", "target", "met"),
            rows,
            numeric=3,
        )
    )
    print(
        "all runs (s): dbdicom",
        [round(x, 3) for x in ours],
        "dcm2niix",
        [round(x, 3) for x in theirs],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
