"""Finding records: ``patients()``, ``studies()``, ``series()``, ``instances()``, ``children()``.

The filters are parsed and matched by the index layer (``dbdicom._index._query``);
here they are applied to the rows under a record, and to the records
without files (which have no rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._index import match_values
from ._attributes import LEVELS

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["find"]


def find(record: Record, level: str, filters: dict[str, Any]) -> Any:
    """The records of ``level`` under ``record`` matching ``filters`` (the one above, going up)."""
    mine = LEVELS.index(record.level)
    target = LEVELS.index(level)
    db = record._db
    editor = db._editor
    if (
        editor.empty.records
        and record.level != "database"
        and (record.level, record._key) in editor.empty
    ):
        return _find_empty(record, level, filters)
    rows = record._rows()
    if target <= mine:
        if target == mine:
            rows = db._filter(rows, filters)
            return [record] if len(rows) else []
        # going up: the one record above this one
        if filters:
            raise TypeError(
                f"{type(record).__name__}.{level}s() looks up the hierarchy and returns "
                "one record; it takes no filters."
            )
        found = record._records(level, rows)
        return found[0] if found else None
    rows = db._filter(rows, filters)
    found = record._records(level, rows)
    if editor.empty.records:
        found += _empties(record, level, filters)
    return found


def _empties(record: Record, level: str, filters: dict[str, Any]) -> list[Any]:
    """The new records without files of ``level`` below ``record``."""
    db = record._db
    where = None if record.level == "database" else record.level
    cls = db._class_of(level)
    out = []
    for key in db._editor.empty.below(where, record._key, level):
        empty = cls(db, key)
        if all(
            match_values(empty.unique(name) or [None], wanted, name).any()
            for name, wanted in filters.items()
        ):
            out.append(empty)
    return out


def _find_empty(record: Record, level: str, filters: dict[str, Any]) -> Any:
    mine = LEVELS.index(record.level)
    target = LEVELS.index(level)
    db = record._db
    if target == mine:
        return [record]
    if target > mine:
        return _empties(record, level, filters) if level != "instance" else []
    if filters:
        raise TypeError(f"{type(record).__name__}.{level}s() looks up the hierarchy; no filters.")
    for up_level, key in db._editor.empty.ancestors(record.level, record._key):
        above = db._class_of(up_level)(db, key)
        if up_level == level:
            return above
        if (up_level, key) not in db._editor.empty:
            return find(above, level, {})
    return None
