"""Benchmark of loading a series from a DICOMweb archive (Orthanc), against dicomweb-client.

Usage::

    python benchmarks/bench_dicomweb.py [--quick] [--repeats K] [--fresh] [--json PATH]

Needs Orthanc and its DICOMweb plugin (``apt-get install orthanc
orthanc-dicomweb``) and ``dbdicom[dicomweb]``. The benchmark starts its own
Orthanc (``tests/servers.py``: a free localhost port, a temporary storage
folder, HTTP basic authentication) and stores into it, untimed, with
STOW-RS, the ``mr-200`` case of ``bench_arrays.py`` (200 single-frame
256 x 256 uint16 MR files made with dbdicom's templates) and its ``dyn``
case (20 slices x 100 time points, 2,000 files, 250 MiB of pixels).

What is timed, in one process, the contestants interleaved round after round
(``time.perf_counter`` wall clock; min / median / max of ``--repeats``,
default 5):

* **the peer**: ``DICOMwebClient.retrieve_series(study, series)`` (WADO-RS,
  the whole instances in one multipart answer) and
  ``np.stack([ds.pixel_array ...])`` of the datasets sorted by
  InstanceNumber -- given the study and series UIDs, which flatters it;
* **dbdicom, first open**: ``db.dicomweb(url, session=..., cache=<new
  folder>, SeriesInstanceUID=uid)`` (QIDO-RS of that series, its WADO-RS
  metadata, headers written and indexed), ``series()[0].to_xarray().values``
  (one chunk of up to 32 MiB: one WADO-RS request for the whole series);
* **dbdicom, reopen**: the same with the headers kept from the first open
  (QIDO-RS only, then the frames: one WADO-RS request for the series);
* **dbdicom, reopen with ``keep_pixels=True``**: the same from a cache whose
  first open kept the instances of the series read whole (one QIDO-RS
  request for the series' number of instances, then the kept files).

Both must give the same array (checked once before timing).

**Memory**: in a fresh subprocess each, ``series.to_xarray().mean(
"TemporalPositionIdentifier").compute()`` of the ``dyn`` case, once from the
local folder and once from the archive (headers fetched beforehand); peak
RSS (``VmHWM``) of each, against the 250 MiB of pixels: the archive's must
be bounded as the folder's is (target: at most the folder's peak + 25%).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from _report import CHILD_PRELUDE, MIB, Row, peer_table, save_report
from bench_arrays import DEFAULT_ROOT, FULL, QUICK, cases, ensure_case

import dbdicom as db

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from servers import Orthanc, orthanc_missing, start_orthanc  # noqa: E402

MEMORY_CHILD = (
    CHILD_PRELUDE
    + r"""
import requests
import dbdicom as db
source, cache, dim = sys.argv[1], sys.argv[2], sys.argv[3]
st = db.Status()
st.mute()
if source.startswith("http"):
    session = requests.Session()
    session.auth = (sys.argv[4], sys.argv[5])
    database = db.dicomweb(source, session=session, cache=cache, status=st)
else:
    database = db.database(source, status=st)
series = database.series()[0] if len(database.series()) == 1 else database.series(
    SeriesInstanceUID=sys.argv[6])[0]
da = series.to_xarray()
out = {"opened": status("VmRSS"), "nbytes": int(da.nbytes)}
reset_peak()
import dask
start = time.perf_counter()
with dask.config.set(scheduler="threads"):
    mean = da.mean(dim).compute()
out["seconds"] = time.perf_counter() - start
out["peak"] = status("VmHWM")
out["sum"] = float(mean.values.astype("float64").sum())
print("RESULT " + json.dumps(out))
"""
)


def stow(orthanc: Orthanc, paths: list[str]) -> None:
    from dicomweb_client.api import DICOMwebClient

    client = DICOMwebClient(orthanc.url, session=orthanc.session())
    for start in range(0, len(paths), 100):
        client.store_instances([pydicom.dcmread(p) for p in paths[start : start + 100]])


def peer(orthanc: Orthanc, study: str, series: str) -> np.ndarray:
    from dicomweb_client.api import DICOMwebClient

    client = DICOMwebClient(orthanc.url, session=orthanc.session())
    datasets = client.retrieve_series(study, series)
    datasets.sort(key=lambda ds: int(ds.InstanceNumber))
    return np.stack([ds.pixel_array for ds in datasets])


def dbdicom_load(orthanc: Orthanc, cache: Path, uid: str, keep: bool = False) -> np.ndarray:
    status = db.Status()
    status.mute()
    session = orthanc.session()
    archive = db.dicomweb(
        orthanc.url,
        session=session,
        cache=cache,
        status=status,
        keep_pixels=keep,
        SeriesInstanceUID=uid,
    )
    values: np.ndarray = archive.series(SeriesInstanceUID=uid)[0].to_xarray().values
    archive.close()
    return values


def memory(source: str, cache: Path, uid: str) -> dict[str, Any]:
    from servers import PASSWORD, USER

    cmd = [sys.executable, "-c", MEMORY_CHILD, source, str(cache), "TemporalPositionIdentifier"]
    cmd += [USER, PASSWORD, uid]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"the memory subprocess failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def spread(seconds: list[float]) -> str:
    return " / ".join(f"{s:.3f}" for s in (min(seconds), statistics.median(seconds), max(seconds)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, targets not judged")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="make the data again")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    why = orthanc_missing()
    if why:
        sys.exit(why)
    sizes = QUICK if args.quick else FULL
    all_cases = cases(DEFAULT_ROOT, sizes)
    mr, dyn = all_cases["mr"], all_cases["dyn"]
    for case in (mr, dyn):
        ensure_case(case, args.fresh, os.cpu_count() or 1)
    load = [os.getloadavg()[0]]
    home = Path(tempfile.mkdtemp(prefix="dbdicom-bench-dicomweb-"))
    orthanc = start_orthanc(home / "orthanc")
    try:
        print(f"Storing {mr.n_files + dyn.n_files} files into Orthanc (untimed)...", flush=True)
        stow(orthanc, mr.paths() + dyn.paths())
        first = pydicom.dcmread(mr.paths()[0], stop_before_pixels=True)
        study, uid = str(first.StudyInstanceUID), str(first.SeriesInstanceUID)
        expected = peer(orthanc, study, uid)
        got = dbdicom_load(orthanc, home / "check", uid)
        assert got.shape == expected.shape and np.array_equal(got, expected), "values differ"
        times: dict[str, list[float]] = {"peer": [], "first": [], "reopen": [], "kept": []}
        for k in range(args.repeats):
            start = time.perf_counter()
            peer(orthanc, study, uid)
            times["peer"].append(time.perf_counter() - start)
            cache = home / f"cache-{k}"
            start = time.perf_counter()
            dbdicom_load(orthanc, cache, uid)
            times["first"].append(time.perf_counter() - start)
            start = time.perf_counter()
            dbdicom_load(orthanc, cache, uid)
            times["reopen"].append(time.perf_counter() - start)
            kept = home / f"kept-{k}"
            dbdicom_load(orthanc, kept, uid, keep=True)  # untimed: the first open keeps
            start = time.perf_counter()
            got = dbdicom_load(orthanc, kept, uid, keep=True)
            times["kept"].append(time.perf_counter() - start)
            assert np.array_equal(got, expected), "the kept instances read other values"
        dyn_uid = str(pydicom.dcmread(dyn.paths()[0], stop_before_pixels=True).SeriesInstanceUID)
        web_cache = home / "memory-cache"
        headers = db.dicomweb(orthanc.url, session=orthanc.session(), cache=web_cache)
        headers.close()
        local_mem = memory(dyn.folder, web_cache, dyn_uid)
        web_mem = memory(orthanc.url, web_cache, dyn_uid)
        load.append(os.getloadavg()[0])
    finally:
        orthanc.stop()
        shutil.rmtree(home, ignore_errors=True)  # Orthanc's storage and the caches: 0.5 GB
    if not np.isclose(local_mem["sum"], web_mem["sum"]):
        raise AssertionError("the archive's mean differs from the folder's")
    judged = not args.quick
    best = {k: min(v) for k, v in times.items()}
    loads = {"first": "first open", "reopen": "reopen", "kept": "reopen, keep_pixels=True"}
    rows = [
        Row(
            f"load {mr.n_files} slices, {label}",
            "s",
            best[key],
            (best["peer"],),
            ">= 3x",
            best["peer"] / best[key] >= 3 if judged else None,
        )
        for key, label in loads.items()
    ]
    rows += [
        Row(
            f"peak RSS, mean of {dyn.n_files} frames",
            "MiB",
            web_mem["peak"],
            (local_mem["peak"],),
            "<= folder's + 25%",
            web_mem["peak"] <= 1.25 * local_mem["peak"] if judged else None,
            given_ratio=f"{web_mem['peak'] / local_mem['peak']:.2f} of the folder's",
        ),
    ]
    print()
    print(peer_table(rows, ["peer"], "ratio"))
    print()
    print("seconds, min / median / max:")
    for key, label in (
        ("peer", "dicomweb-client retrieve_series + pydicom"),
        ("first", "dbdicom first open + load"),
        ("reopen", "dbdicom reopen + load"),
        ("kept", "dbdicom reopen + load, keep_pixels=True"),
    ):
        print(f"  {label}: {spread(times[key])}  ({', '.join(f'{s:.3f}' for s in times[key])})")
    print(
        f"memory: pixels {web_mem['nbytes'] / MIB:,.0f} MiB; peak RSS archive "
        f"{web_mem['peak'] / MIB:,.0f} MiB ({web_mem['seconds']:.2f} s; "
        f"{web_mem['opened'] / MIB:,.0f} MiB once opened), folder "
        f"{local_mem['peak'] / MIB:,.0f} MiB ({local_mem['seconds']:.2f} s; "
        f"{local_mem['opened'] / MIB:,.0f} MiB once opened)"
    )
    print(f"load average (1 min) before / after: {load[0]:.2f} / {load[-1]:.2f}")
    if args.json:
        save_report(
            args.json,
            {"times": times, "memory": {"archive": web_mem, "folder": local_mem}, "load": load},
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
