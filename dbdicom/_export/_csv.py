"""CSV export: one table per series, a row per instance, a column per tag."""

from __future__ import annotations

import csv
import os
import struct
from pathlib import Path
from typing import Any

from pydicom.errors import InvalidDicomError

from .._errors import InvalidFileError
from .._files import read_dataset, undecodable_as_bytes
from .._keywords import keyword_for_tag
from ._each import ExportedPath, each_series
from ._layout import target_folder, written


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


def _row(path: str, name: str = "") -> dict[str, str]:
    """The CSV cells of one file's header, by column name.

    Read as the scan read it (``force=True``: files without preamble or
    file meta too); a header pydicom cannot read is an
    :class:`dbdicom.InvalidFileError` naming the file (``name``, the
    instance's path or URL where ``path`` is a local copy). A value pydicom
    cannot decode (an FD of 6 bytes), which the scan reads as no value, is
    a cell of its size, as other bytes are.
    """
    try:
        ds = read_dataset(path, stop_before_pixels=True, decode=False)
        undecodable_as_bytes(ds)
        row = {}
        for element in ds:
            tag = int(element.tag)  # (6002,0010) by number: OverlayRows is (6000,0010)
            column = keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
            row[column] = _cell(element)
    except (InvalidDicomError, EOFError, ValueError, struct.error) as exc:
        raise InvalidFileError(f"the header of {name or path} cannot be read: {exc}") from exc
    return row


def export_csv(record: Any, path: str | os.PathLike[str]) -> ExportedPath:
    """One CSV file per series: a row per instance, a column per top-level tag.

    A series whose headers cannot be read is skipped with a message, or
    raises when it is the record exported (see :func:`each_series`).
    """
    root = target_folder(path)

    def write(series: Any, folder: Path) -> None:
        instances = [record] if record.level == "instance" else series.instances()
        rows: list[dict[str, str]] = []
        columns: dict[str, None] = {}
        for instance in instances:
            index = instance._db.index  # a remote store's object is read from a local copy
            with index.local_file(str(index.array("_path", instance._rows())[0])) as local:
                row = _row(local, instance.path)
            columns.update(dict.fromkeys(row))
            rows.append(row)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with (
            written(folder.parent / f"{folder.name}.csv") as temporary,
            open(temporary, "w", newline="", encoding="utf-8") as f,
        ):
            writer = csv.DictWriter(f, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(rows)

    return each_series(record, root, write, "CSV")
