"""Printing benchmark tables: one layout for every script in benchmarks/."""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
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


def timed(func: Callable[[], Any], sync: bool = False) -> tuple[float, Any]:
    """``func()`` timed after collecting garbage (and, with ``sync``, flushing dirty
    pages to disk), both untimed; the seconds and the result."""
    if sync:
        os.sync()
    gc.collect()
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


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


def data_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; ``--repeats`` (if the parser has it, and it is set) must be
    at least 1; ``--folder`` becomes absolute."""
    args = parser.parse_args(argv)
    if getattr(args, "repeats", None) is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.folder = args.folder.expanduser().absolute()
    return args
