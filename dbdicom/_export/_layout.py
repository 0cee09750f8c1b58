"""The layout every export writes: one folder a level, readable safe names.

::

    <path>/<patient>/<study>/<series>/...

``<patient>`` is the PatientName and PatientID, ``<study>`` the
StudyDescription and StudyDate, ``<series>`` the SeriesNumber and
SeriesDescription; a name taken twice gets the record's UID appended.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import _arrays
from .._errors import GridError

__all__ = [
    "frame_rows",
    "image_rows",
    "label",
    "mixed_groups",
    "progress",
    "safe_name",
    "series_folders",
    "series_name",
    "target_folder",
    "unique_name",
]


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text``.

    Examples
    --------
    >>> safe_name("T1 map: ax/5°")
    'T1_map_ax_5'
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return cleaned or "series"


def target_folder(path: str | os.PathLike[str]) -> Path:
    """The export folder, made if needed; a clear error if it cannot be.

    Raises ``NotADirectoryError`` when ``path`` is a file and
    ``PermissionError`` when the folder cannot be written (nothing is
    written then).
    """
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(
            f"cannot export into {str(root)!r}: it is a file. Give a folder (new or existing)."
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermissionError(
            f"cannot export into {str(root)!r}: {exc.strerror or exc}. Give a folder you can write."
        ) from exc
    mode = root.stat().st_mode
    if not os.access(root, os.W_OK) or not mode & 0o222:
        raise PermissionError(
            f"cannot export into {str(root)!r}: the folder is read-only. "
            "Give a folder you can write."
        )
    return root


def label(record: Any) -> str:
    level = record.level
    first = record._db._values(
        record._rows()[:1],
        {
            "patient": "PatientName",
            "study": "StudyDescription",
            "series": "SeriesDescription",
        }.get(level, "InstanceNumber"),
    )[0]
    if level == "patient":
        name = f"{first or 'anonymous'} [{record.uid}]"
    elif level == "study":
        date = record._db._values(record._rows()[:1], "StudyDate")[0]
        name = f"{first or 'study'} {date or ''}"
    elif level == "series":
        number = record._db._values(record._rows()[:1], "SeriesNumber")[0]
        name = f"{number if number is not None else ''} {first or 'series'}"
    else:
        name = f"{first if first is not None else ''}"
    return safe_name(name.strip())


def series_folders(record: Any, root: Path) -> Iterator[tuple[Any, Path]]:
    """Each series below (or at) ``record`` with the folder it exports into."""
    taken: dict[Path, str] = {}

    def place(parent: Path, rec: Any) -> Path:
        folder = parent / label(rec)
        if folder in taken and taken[folder] != rec.uid:
            folder = parent / safe_name(f"{label(rec)}_{rec.uid}")
        taken[folder] = rec.uid
        return folder

    if record.level == "instance":
        series = record.series()
        yield series, root / label(series)
        return
    everything = [record] if record.level == "series" else record.series()
    for series in everything:
        if not len(series._rows()):
            continue  # a new series without files yet: nothing to export
        folder = root
        for level in ("patient", "study"):
            up = series.patients() if level == "patient" else series.studies()
            if _depth(up) <= _depth(record):
                continue  # the exported record and the levels above it get no folder
            folder = place(folder, up)
        yield series, place(folder, series)


def _depth(record: Any) -> int:
    return ("database", "patient", "study", "series", "instance").index(record.level)


def progress(record: Any, what: str) -> Callable[[int, int], None]:
    return lambda done, total: record.progress(done, total, what)


def unique_name(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem_2``, ``stem_3``... if taken; marked as taken."""
    name, k = stem, 1
    while name in taken:
        k += 1
        name = f"{stem}_{k}"
    taken.add(name)
    return name


def mixed_groups(
    record: Any, series: Any, rows: np.ndarray, what: Callable[[int], str]
) -> list[Any]:
    """The geometry groups of the frames at ``rows``, largest first.

    A group has one size and orientation; a message says the series is
    exported as ``what(number of groups)``.
    """
    groups = _arrays.geometry_groups(_arrays.Frames(record._db.index, rows))
    ordered = sorted(groups, key=lambda k: -len(groups[k]))
    record.message(
        f"Series {series.label()!r} mixes {len(ordered)} image sizes or orientations: "
        + what(len(ordered))
        + "."
    )
    return ordered


def image_rows(record: Any, series: Any) -> np.ndarray:
    """The rows of ``record`` (of ``series`` unless it is an instance) that hold an image.

    Instances without pixel data (structured reports, presentation states,
    RT plans...) are left out, with a message.
    """
    rows = record._rows() if record.level == "instance" else series._rows()
    keep = _arrays.has_image(record._db.index, rows)
    skipped = int((~keep).sum())
    if skipped:
        what = f"{record.level.capitalize()} {record.label()!r}"
        if record.level != "instance":
            what = f"Series {series.label()!r}"
        why = "no pixel data: e.g. raw data, a structured report or a presentation state"
        if keep.any():
            record.message(f"{what}: {skipped} instance(s) without an image skipped ({why}).")
        else:
            record.message(f"{what} skipped: it holds no image ({why}).")
    return rows[keep]


def frame_rows(record: Any) -> np.ndarray:
    """The rows of ``record`` (a series or an instance) whose instances hold an image.

    Instances without one are left out, said in a message; a record with
    instances but no image at all raises a :class:`dbdicom.GridError` naming it.
    """
    rows = image_rows(record, record)  # the series is only named when record is one
    if not len(rows) and len(record._rows()):
        what = "Instance" if record.level == "instance" else "Series"
        raise GridError(
            f"{what} {record.label()!r} holds no image: none of its instances has pixel "
            "data (e.g. raw data, a structured report or a presentation state)"
        )
    return rows


def series_name(series: Any) -> str | None:
    """The name of a series' DataArray: its SeriesDescription (None without one)."""
    rows = series._rows()
    if len(rows):
        desc = series._db._values(rows[:1], "SeriesDescription")[0]
    else:  # a new series without files: its own attributes
        found = series.unique("SeriesDescription")
        desc = found[0] if found else None
    return str(desc) if desc else None
