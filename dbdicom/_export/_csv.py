"""CSV export: one table per series, a row per instance, a column per tag."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from .._files import read_dataset
from ._layout import (
    progress,
    series_folders,
    target_folder,
    written,
)


def _cell(element: Any) -> str:
    """A CSV cell: the value as text, sequences summarised, bytes by size."""
    if element.VR == "SQ":
        return f"<sequence of {len(element.value)} items>"
    value = element.value
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value)


def export_csv(record: Any, path: str | os.PathLike[str]) -> Path:
    """One CSV file per series: a row per instance, a column per top-level tag."""
    root = target_folder(path)
    pairs = list(series_folders(record, root))
    report = progress(record, "Exporting CSV")
    for i, (series, folder) in enumerate(pairs):
        instances = [record] if record.level == "instance" else series.instances()
        rows: list[dict[str, str]] = []
        columns: dict[str, None] = {}
        for instance in instances:
            ds = read_dataset(instance.path, stop_before_pixels=True, decode=False)
            row = {}
            for element in ds:
                name = element.keyword or f"({element.tag.group:04X},{element.tag.element:04X})"
                row[name] = _cell(element)
                columns.setdefault(name)
            rows.append(row)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with (
            written(folder.parent / f"{folder.name}.csv") as temporary,
            open(temporary, "w", newline="", encoding="utf-8") as f,
        ):
            writer = csv.DictWriter(f, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(rows)
        report(i + 1, len(pairs))
    return root
