"""Benchmark of the index at archive scale: partitioned Parquet, and its per-instance costs.

Usage::

    python benchmarks/bench_parts.py [--files N] [--folder DIR] [--repeats K]
                                     [--peer PATH] [--json PATH]

The data are ``bench_scale.py``'s (``N`` files of 64 x 64, default 200,000,
one folder per series of 200 files; made if absent). Every measurement runs
in a fresh ``python -c`` process; the page cache is warm. Figures:

* **save after an edit of one series** -- ``series.SeriesDescription = ...``
  on one series of 200 files (its files rewritten through the journal),
  then ``database.index.save()`` timed: writing the partitions that hold
  the series (one) against writing every partition (what the save of one
  file holding every row did), alternating in the same process, then
  ``restore()``. With ``--peer PATH`` (a checkout of dbdicom from before the
  partitions, e.g. ``/work/main``) the same edit and save under that code:
  one Arrow file of every row.
* **per-instance costs**, the inputs of docs/scaling.md:
  header read (``scan_files`` of ``--sample`` files in one process, no
  helper processes), index bytes on disk (the Parquet partitions, the same
  tables written with zstd, as one would keep them in object storage, and
  the Arrow copies a reopen maps), the load of the whole index (every
  partition into the table: from the Arrow copies, as a reopen does, and
  decoded from Parquet, as a reader without them does, the best of 3) and
  its memory,
  a partition's write, and queries of the files by DuckDB
  (``read_parquet`` of every partition: count by SeriesDescription over
  every row; the rows of one SeriesInstanceUID) and by ``pyarrow.dataset``
  (a filter on SeriesInstanceUID), each divided by the rows they cover.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from _report import (
    CHILD_PRELUDE,
    Timing,
    add_timing_options,
    data_args,
    data_parser,
    read_files,
    save_report,
)
from bench_scale import all_files, ensure_data

EDIT = """
import dbdicom as db
muted = db.Status(); muted.mute()
database = db.database(ROOT, status=muted)
index = database.index
out = {"rows": len(index.frame), "parts": len(getattr(getattr(index, "parts", None), "parts", []))}
series = database.series(SeriesDescription="T2w")[-1]
def save(whole):
    if whole:
        index._touched = None
    gc.collect(); start = time.perf_counter(); index.save()
    return time.perf_counter() - start
def written():
    folder = os.path.join(index.store, "index")
    found = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            if name.endswith(".parquet"):
                path = os.path.join(dirpath, name)
                found[path] = os.stat(path).st_mtime_ns
    return found
for k in range(REPEATS):
    series.SeriesDescription = f"edited {k}"
    if PEER:
        out.setdefault("whole", []).append(save(False))
    else:
        before = written()
        out.setdefault("touched", []).append(save(False))
        after = written()
        out["files_written"] = sum(after[p] != before.get(p) for p in after)
        series.SeriesDescription = f"edited again {k}"
        out.setdefault("whole", []).append(save(True))
    database.restore()
database.close()
print(json.dumps(out))
"""

COSTS = """
import numpy as np
import pyarrow.parquet as pq
import dbdicom as db
from dbdicom._index import walk, scan_files
from dbdicom._index._parts import Parts
from dbdicom._index._store import join_tables, read_part, table_frame, table_of_frame
from dbdicom._index._store import write_mapped, write_part
muted = db.Status(); muted.mute()
db.database(ROOT, status=muted).close()
folder = os.path.join(ROOT, ".dbdicom", "index")
out = {}
files = sorted(walk(ROOT).items())[:SAMPLE]
start = time.perf_counter(); scan_files(ROOT, dict(files), workers=1)
out["header_s_per_file"] = (time.perf_counter() - start) / len(files)
names = [d for d in sorted(os.listdir(folder)) if d.startswith("part=")]
parts = [os.path.join(folder, d, "part.parquet") for d in names]
out["parts"] = len(parts)
out["bytes"] = sum(os.path.getsize(p) for p in parts)
out["mapped_bytes"] = sum(os.path.getsize(os.path.join(folder, d, "_part.arrow")) for d in names)
reset_peak(); before = status("VmRSS")
start = time.perf_counter(); table, info = Parts(Path(folder)).load()
out["load_s"] = time.perf_counter() - start
start = time.perf_counter(); frame = table_frame(table, info)
out["frame_s"] = time.perf_counter() - start
out["load_rss"] = status("VmRSS") - before
out["rows"] = len(frame)
out["frame_bytes"] = int(frame.memory_usage(deep=True).sum())
decoded = []
for _ in range(3):  # the first read may find the files out of the page cache: the best of 3
    gc.collect(); start = time.perf_counter()
    joined = join_tables([read_part(Path(p))[0] for p in parts])
    decoded.append(time.perf_counter() - start)
out["parquet_load_s"] = min(decoded)
tables = [pq.read_table(p) for p in parts]
out["zstd_bytes"] = 0
for i, table in enumerate(tables):
    target = os.path.join(TMP, f"z{i}.parquet")
    pq.write_table(table, target, compression="zstd", row_group_size=max(1, table.num_rows))
    out["zstd_bytes"] += os.path.getsize(target)
    os.unlink(target)
piece = frame.iloc[:20000]
start = time.perf_counter(); table = table_of_frame(piece)
write_mapped(table, Path(TMP) / "one.arrow"); write_part(table, Path(TMP) / "one.parquet")
out["write_s"] = time.perf_counter() - start; out["write_rows"] = len(piece)
os.unlink(Path(TMP) / "one.parquet"); os.unlink(Path(TMP) / "one.arrow")
uid = str(frame["SeriesInstanceUID"].iloc[-1])
print(json.dumps({**out, "uid": uid}))
"""

QUERY = """
import duckdb
import pyarrow.dataset as ds
folder = os.path.join(ROOT, ".dbdicom", "index")
out = {}
start = time.perf_counter(); con = duckdb.connect()
out["duckdb_connect"] = time.perf_counter() - start
glob = f"{folder}/*/*.parquet"
def clock(name, sql):
    start = time.perf_counter(); rows = con.sql(sql).fetchall()
    out[name] = time.perf_counter() - start
    return rows
clock("duckdb_first", f"SELECT count(*) FROM read_parquet('{glob}')")
n = clock("duckdb_count_by_description",
          f"SELECT SeriesDescription, count(*) FROM read_parquet('{glob}') GROUP BY ALL")
one = clock("duckdb_one_series",
            f"SELECT _path FROM read_parquet('{glob}') WHERE SeriesInstanceUID = '{UID}'")
start = time.perf_counter()
dataset = ds.dataset(folder, format="parquet", partitioning="hive")
table = dataset.to_table(columns=["_path"], filter=ds.field("SeriesInstanceUID") == UID)
out["dataset_one_series"] = time.perf_counter() - start
out.update(groups=len(n), series_rows=len(one), dataset_rows=table.num_rows, peak=status("VmHWM"))
print(json.dumps(out))
"""


def child(code: str, root: Path, pythonpath: str | None = None, **names: Any) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter (with the prelude); its JSON output."""
    defines = f"ROOT = {str(root)!r}\nfrom pathlib import Path\n" + "".join(
        f"{k} = {v!r}\n" for k, v in names.items()
    )
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    result = subprocess.run(
        [sys.executable, "-c", CHILD_PRELUDE + defines + code],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if result.returncode:
        sys.exit(f"child failed:\n{result.stderr}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = data_parser(__doc__ or "", Path("/tmp/dbdicom-bench-scale"))
    parser.add_argument("--files", type=int, default=200_000, help="files (default 200,000)")
    parser.add_argument("--sample", type=int, default=20_000, help="files of the header read")
    parser.add_argument("--peer", type=str, default=None, help="dbdicom before the partitions")
    add_timing_options(parser, "unused", "edits and fresh query processes")
    args = data_args(parser, argv)
    if args.quick:
        args.files, args.sample = 4_000, 2_000
    root = (
        args.folder
        if args.folder != Path("/tmp/dbdicom-bench-scale").absolute()
        else Path(f"/tmp/dbdicom-bench-scale-{args.files}")
    )
    ensure_data(root, args.files, args.fresh)
    files = all_files(root)
    read_files(files)
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    load = [os.getloadavg()[0]]
    peer = None
    if args.peer:
        print("the peer's edit + save (one file of every row)...", flush=True)
        peer = child(EDIT, root, pythonpath=args.peer, REPEATS=args.repeats, PEER=True)
    print("edit + save, partitions...", flush=True)
    edit = child(EDIT, root, REPEATS=args.repeats, PEER=False)
    print("per-instance costs...", flush=True)
    costs = child(COSTS, root, SAMPLE=args.sample, TMP=str(tmp))
    queries = [child(QUERY, root, UID=costs["uid"]) for _ in range(args.repeats)]
    load.append(os.getloadavg()[0])

    n = costs["rows"]
    per_m = 1e6 / n
    print()
    print(
        f"dbdicom {platform.python_version()}, {os.cpu_count()} cores, {n:,} rows in "
        f"{costs['parts']} partitions; load average {load[0]:.2f} before, {load[1]:.2f} after"
    )
    lines = [
        ("save after editing one series: its partitions", Timing(edit["touched"]).spread()),
        ("  files written", str(edit["files_written"])),
        ("save after editing one series: every partition", Timing(edit["whole"]).spread()),
    ]
    if peer:
        lines.append(("  the peer (one Arrow file of every row)", Timing(peer["whole"]).spread()))
    us = costs["header_s_per_file"] * 1e6
    lines += [
        (f"header read, one process ({args.sample:,} files)", f"{us:.1f} us per file"),
        ("index on disk (uncompressed Parquet)", f"{costs['bytes'] / n:.0f} B per instance"),
        ("  the same tables with zstd", f"{costs['zstd_bytes'] / n:.0f} B per instance"),
        ("  the Arrow copies a reopen maps", f"{costs['mapped_bytes'] / n:.0f} B per instance"),
        (
            "load every partition (Arrow copies, mapped, joined)",
            f"{costs['load_s']:.3f} s; {costs['load_s'] * per_m:.2f} s per million rows",
        ),
        (
            "  the pandas frame of it (a query, a change)",
            f"{costs['frame_s']:.3f} s; {costs['frame_s'] * per_m:.2f} s per million rows",
        ),
        (
            "load every partition (Parquet, decoded, joined)",
            f"{costs['parquet_load_s']:.3f} s; "
            f"{costs['parquet_load_s'] * per_m:.2f} s per million rows",
        ),
        ("  the table in memory", f"{costs['frame_bytes'] / n:.0f} B per row (pandas)"),
        (
            "write one partition (Parquet and Arrow copy)",
            f"{costs['write_s']:.3f} s for {costs['write_rows']:,} rows "
            f"({costs['write_s'] / costs['write_rows'] * 1e6:.1f} us per row)",
        ),
    ]
    for key, note in (
        ("duckdb_first", "DuckDB count(*) (first query of a process)"),
        ("duckdb_count_by_description", "DuckDB count by SeriesDescription, every row"),
        ("duckdb_one_series", "DuckDB the rows of one SeriesInstanceUID"),
        ("dataset_one_series", "pyarrow.dataset, the rows of one SeriesInstanceUID"),
    ):
        timing = Timing([q[key] for q in queries])
        lines.append((note, f"{timing.spread()}; {timing.median * per_m * 1e3:.0f} ms per M rows"))
    width = max(len(a) for a, _ in lines)
    for a, b in lines:
        print(f"{a:<{width}}  {b}")
    print(f"(min / median / max of {args.repeats}; DuckDB and pyarrow in fresh processes)")
    if args.json:
        save_report(
            args.json,
            {"edit": edit, "peer": peer, "costs": costs, "queries": queries, "load": load},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
