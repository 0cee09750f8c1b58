"""Printing benchmark tables: one layout for every script in benchmarks/."""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def format_table(header: Sequence[str], lines: Sequence[Sequence[str]], numeric: int) -> str:
    """A plain-text table: the first column left-aligned, the next ``numeric``
    right-aligned (figures), the rest left-aligned.

    >>> print(format_table(("name", "s", "met"), [("load", "0.1 s", "yes")], 1))
    name  s      met
    ----  -----  ---
    load  0.1 s  yes
    """
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    sep = "  "
    out = [sep.join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out.append(sep.join("-" * w for w in widths))
    for line in lines:
        cells = [str(line[0]).ljust(widths[0])]
        for i, (cell, w) in enumerate(zip(line[1:], widths[1:], strict=True), start=1):
            cells.append(str(cell).rjust(w) if i <= numeric else str(cell).ljust(w))
        out.append(sep.join(cells).rstrip())
    return "\n".join(out)


MIB = 1 << 20


@dataclass
class Row:
    """One measurement of a table: dbdicom's figure, its peers' (None: not
    measured), the target and whether it is met (None: not judged).

    ``unit``: ``"s"`` (seconds), ``"B"`` (bytes) or ``"MiB"`` (bytes, shown in
    MiB). The ratio is the best peer's figure over dbdicom's, unless
    ``given_ratio`` says otherwise (a ratio of other figures, as text).
    """

    name: str
    unit: str
    dbdicom: float
    peers: tuple[float | None, ...]
    target: str
    met: bool | None
    given_ratio: str | None = None

    @property
    def ratio(self) -> float | None:
        measured = [p for p in self.peers if p is not None]
        if not measured or not self.dbdicom:
            return None
        return min(measured) / self.dbdicom


def fmt(value: float | None, unit: str) -> str:
    """A figure for a table.

    >>> fmt(0.0042, "s"), fmt(0.042, "s"), fmt(4.2, "s"), fmt(2048, "B"), fmt(3 * MIB, "MiB")
    ('4.20 ms', '42.0 ms', '4.200 s', '2,048 B', '3 MiB')
    """
    if value is None:
        return "-"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "MiB":
        return f"{value / MIB:,.0f} MiB"
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    if value < 0.1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def met_text(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def peer_table(rows: Sequence[Row], peers: Sequence[str], ratio: str, digits: int = 2) -> str:
    """The table of ``rows``: dbdicom, each of ``peers``, the ratio (headed
    ``ratio``), the target and whether it is met.

    >>> print(peer_table([Row("open", "s", 0.5, (2.0,), ">= 3x", True)], ["pydicom"], "ratio"))
    measurement  dbdicom  pydicom  ratio  target  met
    -----------  -------  -------  -----  ------  ---
    open         0.500 s  2.000 s  4.00x  >= 3x   yes
    """
    header = ("measurement", "dbdicom", *peers, ratio, "target", "met")
    lines = []
    for r in rows:
        shown = r.given_ratio or ("-" if r.ratio is None else f"{r.ratio:.{digits}f}x")
        figures = [fmt(r.dbdicom, r.unit), *(fmt(p, r.unit) for p in r.peers)]
        lines.append((r.name, *figures, shown, r.target, met_text(r.met)))
    return format_table(header, lines, numeric=len(peers) + 2)


def rows_json(rows: Sequence[Row], peers: Sequence[str]) -> list[dict[str, Any]]:
    """``rows`` for a JSON report (figures in seconds or bytes)."""
    return [
        {
            "measurement": r.name.strip(),
            "unit": "s" if r.unit == "s" else "bytes",
            "dbdicom": r.dbdicom,
            **dict(zip(peers, r.peers, strict=True)),
            "ratio": r.given_ratio or r.ratio,
            "target": r.target,
            "met": r.met,
        }
        for r in rows
    ]


#: What a benchmark's memory-measuring child process runs first (it imports
#: nothing of the benchmarks): ``status(*fields)`` reads /proc/self/status
#: (bytes); ``reset_peak()`` starts the high-water mark ``VmHWM`` again from
#: the current RSS (``ru_maxrss`` would not do: Linux carries the parent's
#: high-water mark over fork + exec); ``Sampler(*fields)`` records the highest
#: value of each field every 10 ms while its ``with`` block runs.
CHILD_PRELUDE = r"""
import gc, json, os, resource, sys, threading, time

def status(*fields):
    found = dict.fromkeys(fields, 0)
    with open("/proc/self/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in found:
                found[name] = int(rest.split()[0]) * 1024
    return found if len(fields) > 1 else found[fields[0]]

def reset_peak():
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

class Sampler:
    def __init__(self, *fields):
        self.fields = fields
        self.peaks = {name: status(name) for name in fields}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            for name in self.fields:
                self.peaks[name] = max(self.peaks[name], status(name))
            self._stop.wait(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
"""


def save_report(path: Path, report: dict[str, Any]) -> None:
    """Write a benchmark's report as JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(f"results written to {path}")


#: marks a folder of generated data as complete, with what it holds
MARKER = ".bench-complete.json"  # hidden: dbdicom does not index it


def reuse_or_clear(root: Path, wanted: dict[str, Any], fresh: bool) -> bool:
    """True if ``root`` already holds the data ``wanted`` describes (and not ``fresh``).

    Otherwise empty ``root`` for new data and return False; a non-empty folder
    that a benchmark did not make is never deleted (the program stops instead).
    Write the marker with :func:`mark_complete` once the data are written.
    """
    marker = root / MARKER
    if marker.exists() and not fresh:
        try:
            if json.loads(marker.read_text()) == wanted:
                return True
        except (OSError, ValueError):
            pass
    if root.exists() and any(root.iterdir()):
        if not marker.exists():
            sys.exit(
                f"{root} is not empty and was not made by this benchmark: "
                "give another --folder (it would be deleted)"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    return False


def mark_complete(root: Path, wanted: dict[str, Any]) -> None:
    """Record that ``root`` holds the data ``wanted`` describes."""
    (root / MARKER).write_text(json.dumps(wanted))


def open_muted(folder: Any) -> Any:
    """``db.database(folder)`` with progress bars and messages muted."""
    import dbdicom as db

    status = db.Status()
    status.mute()
    return db.database(folder, status=status)


def read_files(paths: Any) -> int:
    """Read every file once (to warm the page cache, untimed); the bytes read."""
    total = 0
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                total += len(chunk)
    return total


@dataclass
class Timing:
    """Wall-clock seconds of the repetitions of one measurement."""

    seconds: list[float] = field(default_factory=list)
    warmup: float | None = None

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def worst(self) -> float:
        return max(self.seconds)

    def spread(self) -> str:
        """``min / median / max``, for a report.

        >>> Timing([0.003, 0.001, 0.002]).spread()
        '1.00 ms / 2.00 ms / 3.00 ms'
        """
        return " / ".join(fmt(x, "s") for x in (self.best, self.median, self.worst))

    def as_dict(self) -> dict[str, Any]:
        """For a JSON report."""
        return {
            "seconds": self.seconds,
            "warmup": self.warmup,
            "best": self.best,
            "median": self.median,
            "max": self.worst,
        }

    def line(self, label: str, width: int, digits: int = 4, extra: str = "") -> str:
        """``label``, every repetition and the warm-up, for the report.

        >>> Timing([0.5, 0.25], 0.75).line("open", 6, 2)
        'open   0.50, 0.25  (warm-up 0.75)'
        """
        warm = "" if self.warmup is None else f"  (warm-up {self.warmup:.{digits}f})"
        times = ", ".join(f"{s:.{digits}f}" for s in self.seconds)
        return f"{label:<{width}} {times}{warm}{extra}"


def timed(func: Callable[[], Any], sync: bool = False) -> tuple[float, Any]:
    """``func()`` timed after collecting garbage (and, with ``sync``, flushing dirty
    pages to disk), both untimed; the seconds and the result."""
    if sync:
        os.sync()
    gc.collect()
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def profile_top(func: Callable[[], Any], title: str, n: int = 10) -> str:
    """cProfile of ``func()``: the top ``n`` functions by cumulative and by own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    func()
    profiler.disable()
    out = io.StringIO()
    out.write(f"\n=== profile: {title} ===\n")
    for key in ("cumulative", "tottime"):
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key)
        out.write(f"--- top {n} by {key} ---\n")
        stats.print_stats(n)
    return out.getvalue()


# ------------------------------------------------------------------ options
def data_parser(doc: str, default_root: Path, quick_help: str = "") -> argparse.ArgumentParser:
    """A parser with the options of the benchmarks that make their data in a
    folder: ``--quick``, ``--folder``, ``--fresh`` and ``--json``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=quick_help or "small sizes: a smoke run"
    )
    parser.add_argument(
        "--folder", type=Path, default=default_root, help=f"data folder (default {default_root})"
    )
    parser.add_argument("--fresh", action="store_true", help="generate the data again")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    return parser


def add_timing_options(
    parser: argparse.ArgumentParser, profile_help: str, repeats_help: str = "repetitions"
) -> None:
    """``--repeats`` (default 3) and ``--profile`` (``profile_help``)."""
    parser.add_argument("--repeats", type=int, default=3, help=f"{repeats_help} (default 3)")
    parser.add_argument("--profile", action="store_true", help=profile_help)


def data_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; ``--repeats`` (if the parser has it, and it is set) must be
    at least 1; ``--folder`` becomes absolute."""
    args = parser.parse_args(argv)
    if getattr(args, "repeats", None) is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.folder = args.folder.expanduser().absolute()
    return args
