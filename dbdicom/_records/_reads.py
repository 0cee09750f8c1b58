"""What reading an attribute of a record gives: one value, or the list of values.

The rule (the original README's contract): an attribute of the record's own
level or of a level above it (``series.SeriesDescription``,
``series.PatientName``) is one value, since every file of the record holds
the same one; an attribute of a lower level (``study.SeriesDescription``,
``series.Rows``) is the sorted list of its distinct values. The levels are
those of :mod:`._attributes`, which also decide where a set value lands, so
that reading and writing agree. Files that disagree on a value that should
be single give the sorted list of their values, never a silent pick (and the
record is listed by ``database.problems()``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import TagLike
from .._custom import custom
from .._facade import pandas as pd
from .._index import check_tag, frame_values_by_file, is_among
from ._attributes import KEYS, LEVEL_ATTRIBUTES, is_single, reduce_values, sorted_distinct
from ._structure import empty_values, get_custom, get_empty, is_empty

if TYPE_CHECKING:
    from ._database import Database
    from ._record import Record

__all__ = ["attribute_problems", "read", "read_ahead", "unique"]

_KEY_COLUMNS = {"patient": "_patient", "study": "_study", "series": "_series"}


def read(record: Record, tag: TagLike | list[TagLike]) -> Any:
    """The value of ``tag`` on ``record`` by the level rule (see :meth:`Record.get`)."""
    if isinstance(tag, list):
        read_ahead(record, tag)
        return [read(record, t) for t in tag]
    if isinstance(tag, str) and custom(tag) is not None:
        return get_custom(record, tag)
    column = check_tag(tag)
    if record.level != "database" and is_empty(record):
        return get_empty(record, column)
    rows = record._rows()
    if record.level == "instance":  # one file: its value, or its frames' distinct values
        found = sorted_distinct(_with_frames(record._db, rows, column))
        return found[0] if len(found) == 1 else (found or None)
    values = _with_frames(record._db, rows, column, record._db._distinct)
    return reduce_values(values, is_single(record.level, column))


def unique(record: Record, tag: TagLike) -> list[Any]:
    """The sorted distinct values of ``tag`` over ``record``'s files (see :meth:`Record.unique`)."""
    if isinstance(tag, str) and custom(tag) is not None:
        found = get_custom(record, tag)
        if record.level == "instance":
            found = [] if found is None else [found]
        return sorted_distinct(found)
    column = check_tag(tag)
    if record.level != "database" and is_empty(record):
        return empty_values(record, column)
    return sorted_distinct(_with_frames(record._db, record._rows(), column, record._db._distinct))


def read_ahead(record: Record, tags: Iterable[TagLike]) -> None:
    """Read the ``tags`` the index does not hold from ``record``'s files, each file once.

    What several reads of such tags (``series.unique`` of one, then of
    another) would read one tag at a time, file by file; they then find
    the values in the index. Tags the index holds, sequences and records
    without files read nothing; a custom attribute's tags are read.
    """
    if record.level != "database" and is_empty(record):
        return
    columns: list[str] = []
    for tag in tags:
        attribute = custom(tag) if isinstance(tag, str) else None
        columns.extend(attribute.tags if attribute is not None else [check_tag(tag)])
    record._db.index.read_on_demand(record._rows(), columns)


def _with_frames(
    db: Database,
    rows: np.ndarray,
    column: str,
    quick: Callable[[np.ndarray, str], list[Any]] | None = None,
) -> list[Any]:
    """The values of ``column`` in the files at ``rows``, and in the frames of enhanced files.

    An enhanced multi-frame file keeps most of what it says in functional
    groups (FlipAngle, EchoTime, positions), not at the top of its header:
    where a file has no value of its own, the values of its frames count,
    one per frame (as ``to_xarray`` has them). ``quick``: what gives the
    values when no frame holds the column (the database's distinct values,
    found at once), else every file's value.
    """
    index = db.index  # the frames table made (pandas) only when some of these files have frames
    held = index.frames_hold(column) and bool(
        is_among(index.array("_path", rows), index.frames_array("_path").tolist()).any()
    )
    by_file = frame_values_by_file(index.frames, column) if held else {}
    if not by_file:
        return (quick or db._values)(rows, column)
    values = db._values(rows, column)
    paths = db.index.array("_path", rows)
    out: list[Any] = []
    for path, value in zip(paths, values, strict=True):
        found = by_file.get(path) if value is None else None
        if found:
            out.extend(found)
        else:
            out.append(value)
    return out


def attribute_problems(db: Database) -> pd.DataFrame:
    """The records whose files disagree on an attribute of their level: one row each.

    Found from the index at once: the files of each patient, study and
    series grouped by their key, and the distinct values counted for each
    attribute of that level that is an index column; a count over one is
    confirmed by the read (which then gives the list). Columns ``path`` (the
    record's first file) and ``problem``.

    Examples
    --------
    >>> attribute_problems(database).empty  # the demo database agrees with itself
    True
    """
    frame = db.index.frame
    columns = {
        level: [
            c
            for c in LEVEL_ATTRIBUTES[level]
            if c != KEYS[level] and c in frame.columns and frame[c].dtype != object
        ]
        for level in _KEY_COLUMNS
    }
    needed = [*_KEY_COLUMNS.values(), *(c for cs in columns.values() for c in cs)]
    rows = frame[needed].take(db.index.ok)  # the files in the hierarchy, these columns only
    out: list[tuple[str, str]] = []
    for level, key_column in _KEY_COLUMNS.items():
        if not columns[level] or not len(rows):
            continue
        counts = rows.groupby(key_column, observed=True, sort=False)[columns[level]].nunique()
        many = counts.gt(1).stack()
        for key, column in many[many].index:
            found = _problem(db, level, str(key), str(column))
            if found is not None:
                out.append(found)
    return pd.DataFrame(out, columns=["path", "problem"])


def _problem(db: Database, level: str, key: str, column: str) -> tuple[str, str] | None:
    """The row of ``problems()`` for a record whose files may disagree on ``column``."""
    record = db._class_of(level)(db, key)
    values = read(record, column)
    if not isinstance(values, list):  # the files agree once empty values are left out
        return None
    rows = record._rows()
    first = db._in_order(rows)[0]
    shown = ", ".join(repr(v) for v in values)
    return (
        str(db.index.frame["_path"].iat[int(first)]),
        f"the files of {level} {key!r} disagree on {column} ({shown}): "
        f"{level}.{column} gives the list {values!r}",
    )
