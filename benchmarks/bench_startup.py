"""Benchmark of a whole script's start-up: import, open and load 200 slices, against pydicom.

Usage::

    python benchmarks/bench_startup.py [--quick] [--folder DIR] [--fresh]
                                       [--rounds K] [--json PATH]

Every measurement is a whole fresh process, ``subprocess.run([sys.executable,
"-c", script])``, timed by the wall clock from the parent (interpreter start
and exit included), the contestants interleaved, round after round (default
7 rounds; min / median / max reported, and the median of the per-round
ratios). The OS page cache is warm (every file read once beforehand) and so
are the modules' compiled ``.pyc`` files, as they are for anyone who
imported a package before: the processes run with ``PYTHONDONTWRITEBYTECODE``
unset and ``PYTHONPYCACHEPREFIX`` set to a folder in the temporary directory
(so that no source tree gets a ``__pycache__``), and one untimed warm-up
round writes them. (Where the calling environment sets ``PYTHONDONTWRITEBYTECODE``,
an editable install has no ``.pyc`` and every dbdicom module is compiled at
every import; the line "(b) as this environment runs it" shows that too.)

* **(a) the pydicom script**: ``import numpy as np, pydicom``, then
  ``np.stack([pydicom.dcmread(p).pixel_array for p in files])`` of the 200
  files, given their names already sorted in slice order (which flatters it).
* **(b) the dbdicom script**: ``import dbdicom as db; database =
  db.database(folder); series = database.series()[0];
  series.to_xarray().values`` -- the database indexed once beforehand, so
  the open is a reopen.
* **(c) the numpy script**: the same with ``pixels, header =
  series.array("SliceLocation")``, the original dbdicom README's way to
  load a series (slices in slice order; its ``n`` axis, of one image per
  slice, dropped for the check): no DataArray, so neither xarray nor dask,
  and after a reopen no pandas either.
* ``python -c pass``, ``import pydicom`` and ``import dbdicom`` alone.
* with ``--baseline DIR``: ``import dbdicom``, (b) and (c) with the dbdicom of
  ``DIR`` (a checkout: ``DIR/dbdicom``), interleaved with the rest, for a
  before/after comparison in one run.
* **(b) with scipy hidden** (``sys.modules["scipy"] = None`` first): what an
  install without the ``geometry`` extra runs -- dask.array imports
  ``scipy.fftpack`` and ``scipy.sparse`` whenever scipy is installed.
* **the import floor**: ``import numpy, pydicom, pandas, pyarrow, xarray,
  dask.array`` and nothing else, the libraries that a dask-backed
  DataArray of a DICOM series needs whatever its code (with scipy installed
  and hidden): the least that (b) can cost before it opens anything.

The **breakdown** of (b) and of (c) comes from the same script run with
``-X importtime`` and ``time.perf_counter`` marks (not timed from outside):
seconds of import, open, find (``series()``), ``to_xarray()`` and
``.values``, and, per heavy library (pandas, pyarrow, xarray, dask,
distributed, scipy), the import time ``-X importtime`` gives its modules and
the phase that imported it. ``-X importtime`` slows imports down a little, so
its figures are for the split, not the totals.

Correctness: (a), (b) and (c) must give the same array (shape, dtype,
bytes), checked once before timing.

The data: the ``mr-200`` case of ``bench_arrays.py`` (200 single-frame
256 x 256 uint16 MR files made with dbdicom's templates), reused from
``DIR/mr-200`` (default ``/tmp/dbdicom-bench-arrays/mr-200``) when that
benchmark made it, otherwise made here with its code. ``--quick`` runs 3
rounds; the targets are then not judged.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _report import Row, Timing, data_args, data_parser, peer_table, read_files, save_report
from bench_arrays import DEFAULT_ROOT, FULL, cases, ensure_case

# ------------------------------------------------------------------ the scripts
#: (a): argv[1:] are the files, in slice order
PYDICOM_SCRIPT = """\
import sys
import numpy as np
import pydicom
files = sys.argv[1:]
pixels = np.stack([pydicom.dcmread(p).pixel_array for p in files])
"""

#: (b): argv[1] is the folder
DBDICOM_SCRIPT = """\
import sys
import dbdicom as db
database = db.database(sys.argv[1])
series = database.series()[0]
pixels = series.to_xarray().values
"""

#: (c): argv[1] is the folder
ARRAY_SCRIPT = """\
import sys
import dbdicom as db
database = db.database(sys.argv[1])
series = database.series()[0]
pixels, header = series.array("SliceLocation")
pixels = pixels[:, 0]  # the n axis: one image per slice location
"""

#: appended to (a), (b) and (c) for the check of their values
CHECK = """
import hashlib
print("CHECK", pixels.shape, pixels.dtype, hashlib.sha1(pixels.tobytes()).hexdigest())
"""

HIDE_SCIPY = 'import sys; sys.modules["scipy"] = None  # as if not installed\n'

#: the libraries of any dask-backed DataArray of a DICOM series
FLOOR_SCRIPT = "import numpy, pydicom, pandas, pyarrow, xarray, dask.array\n"

#: (b) with phase marks; prints them and which libraries each phase imported
BREAKDOWN_SCRIPT = """\
import sys, time, json
t0 = time.perf_counter()
seen = set(sys.modules)
phases, loaded = {}, {}
def mark(name, start):
    global seen
    now = time.perf_counter()
    phases[name] = now - start
    new = set(sys.modules) - seen
    loaded[name] = sorted({m.split(".")[0] for m in new})
    seen |= new
    return now
import dbdicom as db
t = mark("import dbdicom", t0)
database = db.database(sys.argv[1])
t = mark("open", t)
series = database.series()[0]
t = mark("find: series()[0]", t)
da = series.to_xarray()
t = mark("to_xarray()", t)
pixels = da.values
t = mark(".values", t)
print("BREAKDOWN " + json.dumps({"phases": phases, "loaded": loaded}))
"""

#: (c) with the same marks
ARRAY_BREAKDOWN_SCRIPT = BREAKDOWN_SCRIPT.replace(
    """da = series.to_xarray()
t = mark("to_xarray()", t)
pixels = da.values
t = mark(".values", t)
""",
    """pixels, header = series.array("SliceLocation")
t = mark("array()", t)
""",
)

#: the libraries the breakdown follows (top-level package names)
HEAVY = ("pydicom", "numpy", "pandas", "pyarrow", "xarray", "dask", "distributed", "scipy")


@dataclass
class Contestant:
    """One script, run as a whole process."""

    key: str
    label: str
    argv: list[str]
    env: dict[str, str] | None = None  # None: CHILD_ENV
    timing: Timing = field(default_factory=Timing)
    cpu: list[float] = field(default_factory=list)  # user + system seconds


#: the environment of every process: compiled modules cached (see above)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "dbdicom-bench-pycache")
#: the calling environment, if it keeps Python from writing ``.pyc`` files
GIVEN_ENV = dict(os.environ) if os.environ.get("PYTHONDONTWRITEBYTECODE") else None


#: the working directory of every process, set by :func:`main`: an empty folder,
#: since ``python -c`` puts it first on ``sys.path`` and lists it at the first
#: import (a crowded ``/tmp`` that other programs keep changing adds noise)
WORKDIR = {"cwd": "."}


def run(argv: Sequence[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = CHILD_ENV if env is None else env
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, env=env, cwd=WORKDIR["cwd"]
    )
    if done.returncode:
        sys.exit(f"{' '.join(argv[:3])}... failed ({done.returncode}):\n{done.stderr}")
    return done


def timed_run(c: Contestant) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of a run of ``c``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(c.argv, c.env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def baseline_env(source: Path) -> dict[str, str]:
    """:data:`CHILD_ENV` with another dbdicom first on the path (``source`` holds ``dbdicom/``)."""
    path = os.pathsep.join(p for p in (str(source), CHILD_ENV.get("PYTHONPATH")) if p)
    return {**CHILD_ENV, "PYTHONPATH": path}


def contestants(folder: str, files: list[str], baseline: Path | None) -> list[Contestant]:
    py = sys.executable
    given = []
    if GIVEN_ENV is not None:
        label = "(b) as this environment runs it"
        given = [Contestant("dbdicom_given", label, [py, "-c", DBDICOM_SCRIPT, folder], GIVEN_ENV)]
    if baseline is not None:
        env = baseline_env(baseline)
        given += [
            Contestant(
                "baseline_import", "import dbdicom, baseline", [py, "-c", "import dbdicom"], env
            ),
            Contestant("baseline", "(b) baseline", [py, "-c", DBDICOM_SCRIPT, folder], env),
            Contestant("baseline_array", "(c) baseline", [py, "-c", ARRAY_SCRIPT, folder], env),
        ]
    return [
        Contestant("pass", "python -c pass", [py, "-c", "pass"]),
        Contestant("import_pydicom", "import pydicom", [py, "-c", "import pydicom"]),
        Contestant("import_dbdicom", "import dbdicom", [py, "-c", "import dbdicom"]),
        Contestant("pydicom", "(a) pydicom script", [py, "-c", PYDICOM_SCRIPT, *files]),
        Contestant("dbdicom", "(b) dbdicom script", [py, "-c", DBDICOM_SCRIPT, folder]),
        Contestant("array", "(c) numpy script", [py, "-c", ARRAY_SCRIPT, folder]),
        Contestant(
            "dbdicom_noscipy", "(b) scipy hidden", [py, "-c", HIDE_SCIPY + DBDICOM_SCRIPT, folder]
        ),
        Contestant("floor", "import floor", [py, "-c", FLOOR_SCRIPT]),
        Contestant(
            "floor_noscipy", "import floor, scipy hidden", [py, "-c", HIDE_SCIPY + FLOOR_SCRIPT]
        ),
        *given,
    ]


def check_values(folder: str, files: list[str]) -> str:
    """(a), (b) and (c) give the same pixels; what they gave."""
    py = sys.executable
    theirs = run([py, "-c", PYDICOM_SCRIPT + CHECK, *files]).stdout.split("CHECK", 1)[-1].strip()
    for label, script in (("to_xarray()", DBDICOM_SCRIPT), ("array()", ARRAY_SCRIPT)):
        ours = run([py, "-c", script + CHECK, folder]).stdout.split("CHECK", 1)[-1].strip()
        if ours != theirs:
            raise AssertionError(f"dbdicom's {label} gives {ours}, the pydicom loop {theirs}")
    return ours


def import_times(stderr: str) -> dict[str, float]:
    """Seconds of self time per top-level package, from ``-X importtime`` output."""
    out: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        try:
            own = int(parts[0].split(":")[1])
        except ValueError:
            continue  # the header line
        top = parts[2].strip().split(".")[0]
        out[top] = out.get(top, 0.0) + own / 1e6
    return out


def breakdown(folder: str, script: str = BREAKDOWN_SCRIPT) -> dict[str, Any]:
    """One instrumented run of (b) (or of another ``script``): phases, and what each imported."""
    done = run([sys.executable, "-X", "importtime", "-c", script, folder])
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BREAKDOWN "))
    result = json.loads(line[len("BREAKDOWN ") :])
    result["imports"] = import_times(done.stderr)
    return result


# ------------------------------------------------------------------ report
def median_ratio(a: Timing, b: Timing) -> float:
    return statistics.median(x / y for x, y in zip(b.seconds, a.seconds, strict=True))


def print_report(
    runs: dict[str, Contestant],
    parts: dict[str, list[dict[str, Any]]],
    judged: bool,
    load: tuple,
) -> list[Row]:
    t = {k: c.timing for k, c in runs.items()}
    print(f"\nwhole processes, wall clock, {len(t['pass'].seconds)} rounds interleaved")
    width = max(len(c.label) for c in runs.values())
    print(f"  {'':<{width}}  min / median / max{'':<17}CPU (user + system), median")
    for c in runs.values():
        print(f"  {c.label:<{width}}  {c.timing.spread():<34} {statistics.median(c.cpu):.3f} s")
    ratio = median_ratio(t["pydicom"], t["dbdicom"])
    ratio_noscipy = median_ratio(t["pydicom"], t["dbdicom_noscipy"])
    ratio_array = median_ratio(t["pydicom"], t["array"])
    extra = statistics.median(
        d - p for d, p in zip(t["import_dbdicom"].seconds, t["import_pydicom"].seconds, strict=True)
    )
    rows = [
        Row(
            "import dbdicom (median)",
            "s",
            t["import_dbdicom"].median,
            (t["import_pydicom"].median,),
            "<= pydicom + 0.3 s",
            (extra <= 0.3) if judged else None,
            f"+{extra:.3f} s",
        ),
        Row(
            "whole script (median)",
            "s",
            t["dbdicom"].median,
            (t["pydicom"].median,),
            "<= 1.5x pydicom",
            (ratio <= 1.5) if judged else None,
            f"{ratio:.2f}x",
        ),
        Row(
            "whole script, scipy hidden",
            "s",
            t["dbdicom_noscipy"].median,
            (t["pydicom"].median,),
            "<= 1.5x pydicom",
            (ratio_noscipy <= 1.5) if judged else None,
            f"{ratio_noscipy:.2f}x",
        ),
        Row(
            "whole script (c), array()",
            "s",
            t["array"].median,
            (t["pydicom"].median,),
            "<= 1.5x pydicom",
            (ratio_array <= 1.5) if judged else None,
            f"{ratio_array:.2f}x",
        ),
    ]
    print()
    print(peer_table(rows, ["pydicom"], "vs pydicom"))
    print("(ratios and differences: medians of the per-round figures)")
    cpu = {k: statistics.median(c.cpu) for k, c in runs.items()}
    print(
        f"CPU time (less sensitive to a shared machine's load): (c) / (a) "
        f"{cpu['array'] / cpu['pydicom']:.2f}x, (b) / (a) "
        f"{cpu['dbdicom'] / cpu['pydicom']:.2f}x, scipy hidden "
        f"{cpu['dbdicom_noscipy'] / cpu['pydicom']:.2f}x, import floor / (a) "
        f"{cpu['floor'] / cpu['pydicom']:.2f}x, scipy hidden "
        f"{cpu['floor_noscipy'] / cpu['pydicom']:.2f}x (medians)"
    )
    floor = median_ratio(t["pydicom"], t["floor"])
    floor_noscipy = median_ratio(t["pydicom"], t["floor_noscipy"])
    print(
        f"import floor / (a): {floor:.2f}x (scipy hidden: {floor_noscipy:.2f}x) -- "
        "what (b) costs at least, before opening anything"
    )
    if "baseline" in t:
        before = median_ratio(t["pydicom"], t["baseline"])
        gain = statistics.median(
            b - d for b, d in zip(t["baseline"].seconds, t["dbdicom"].seconds, strict=True)
        )
        extra = statistics.median(
            b - p
            for b, p in zip(t["baseline_import"].seconds, t["import_pydicom"].seconds, strict=True)
        )
        print(
            f"baseline: (b) / (a) {before:.2f}x, import dbdicom = import pydicom + {extra:.3f} s; "
            f"(b) is {gain:.3f} s faster than the baseline's (median of the rounds)"
        )
    if "baseline_array" in t:
        before = median_ratio(t["pydicom"], t["baseline_array"])
        gain = statistics.median(
            b - d for b, d in zip(t["baseline_array"].seconds, t["array"].seconds, strict=True)
        )
        print(
            f"baseline: (c) / (a) {before:.2f}x; (c) is {gain:.3f} s faster than the "
            "baseline's (median of the rounds)"
        )
    print_breakdown("(b)", parts["dbdicom"])
    print_breakdown("(c)", parts["array"])
    print(f"load average before {load[0]}, after {os.getloadavg()}")
    return rows


def print_breakdown(label: str, parts: list[dict[str, Any]]) -> None:
    phases = list(parts[0]["phases"])
    print(f"\nbreakdown of {label}, {len(parts)} runs with -X importtime (median seconds):")
    for name in phases:
        seconds = statistics.median(p["phases"][name] for p in parts)
        libs = [lib for lib in parts[0]["loaded"][name] if lib in HEAVY]
        print(f"  {name:<20} {seconds:7.3f}  imports {', '.join(libs) or '-'}")
    print("  import time of each library's own modules (median seconds):")
    for lib in HEAVY:
        values = [p["imports"].get(lib, 0.0) for p in parts]
        where = next((n for n in phases if lib in parts[0]["loaded"][n]), "not imported")
        print(f"    {lib:<12} {statistics.median(values):7.3f}  ({where})")


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = data_parser(__doc__ or "", DEFAULT_ROOT, "3 rounds; targets not judged")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 7; 3 quick)")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="also time the import and (b) with the dbdicom of this folder (e.g. another checkout)",
    )
    args = data_args(parser, argv)
    with tempfile.TemporaryDirectory(prefix="dbdicom-bench-startup-") as cwd:
        WORKDIR["cwd"] = cwd
        return measure(args)


def measure(args: Any) -> int:
    """The run of :func:`main`, in its working directory."""
    rounds = args.rounds or (3 if args.quick else 7)
    judged = not args.quick and rounds >= 7
    case = cases(args.folder, FULL)["mr"]
    ensure_case(case, args.fresh, os.cpu_count() or 1)
    folder, files = case.folder, case.paths()
    print(f"Indexing {folder} once (untimed), warming the page cache...", flush=True)
    run([sys.executable, "-c", "import sys, dbdicom; dbdicom.database(sys.argv[1])", folder])
    read_files(files)
    print("  values checked:", check_values(folder, files))
    runs = {c.key: c for c in contestants(folder, files, args.baseline)}
    load = os.getloadavg()
    for c in runs.values():  # warm-up: .pyc files, page cache
        c.timing.warmup = timed_run(c)[0]
    parts: dict[str, list[dict[str, Any]]] = {"dbdicom": [], "array": []}
    order = list(runs.values())
    for r in range(rounds):
        print(f"round {r + 1}/{rounds}", flush=True)
        for c in order[r % len(order) :] + order[: r % len(order)]:
            wall, cpu = timed_run(c)
            c.timing.seconds.append(wall)
            c.cpu.append(cpu)
        parts["dbdicom"].append(breakdown(folder))
        parts["array"].append(breakdown(folder, ARRAY_BREAKDOWN_SCRIPT))
    rows = print_report(runs, parts, judged, load)
    if args.json:
        save_report(
            args.json,
            {
                "python": sys.version,
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "load_before": load,
                "load_after": os.getloadavg(),
                "timings": {c.key: c.timing.as_dict() for c in runs.values()},
                "cpu_seconds": {c.key: c.cpu for c in runs.values()},
                "breakdown": parts,
                "rows": [r.__dict__ for r in rows],
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
