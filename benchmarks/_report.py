"""Printing benchmark tables: one layout for every script in benchmarks/."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
