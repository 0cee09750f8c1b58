"""What reading an attribute of a record gives: one value, or the list of values.

The rule (the original README's contract): an attribute of the record's own
level or of a level above it (``series.SeriesDescription``,
``series.PatientName``) is one value, since every file of the record holds
the same one; an attribute of a lower level (``study.SeriesDescription``,
``series.Rows``) is the sorted list of its distinct values. The levels are
those of :mod:`._attributes`, which also decide where a set value lands, so
that reading and writing agree. Files that disagree on a value that should
be single give the sorted list of their values, never a silent pick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._custom import custom
from .._index import check_tag
from .._values import TagLike
from ._attributes import is_single, reduce_values, sorted_distinct
from ._structure import empty_values, get_custom, get_empty, is_empty

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["read", "unique"]


def read(record: Record, tag: TagLike | list[TagLike]) -> Any:
    """The value of ``tag`` on ``record`` by the level rule (see :meth:`Record.get`)."""
    if isinstance(tag, list):
        return [read(record, t) for t in tag]
    if isinstance(tag, str) and custom(tag) is not None:
        return get_custom(record, tag)
    column = check_tag(tag)
    if record.level != "database" and is_empty(record):
        return get_empty(record, column)
    values = record._db._values(record._rows(), column)
    if record.level == "instance":  # one file: its value as it is
        return values[0] if values else None
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
    return sorted_distinct(record._db._values(record._rows(), column))
