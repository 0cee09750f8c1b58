"""Where a record may be copied or moved: the refusals of a parent it cannot go into."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .._errors import DicomError, InvalidValueError
from ._attributes import LEVELS

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["check_parent", "empty_parent", "is_empty"]


def is_empty(record: Record) -> bool:
    """Whether ``record`` is a new record without files."""
    return record.level != "database" and (record.level, record.uid) in record._db._editor.empty


def _folder_database(given: Any) -> str:
    """The call that opens the folder ``given`` as a database, making it where there is none.

    >>> _folder_database("/no/such/folder")  # (db.database(folder) would refuse it)
    "db.database().save('/no/such/folder')"
    """
    if not isinstance(given, (str, os.PathLike)):
        return "db.database(folder)"
    path = os.fspath(given)
    return f"db.database({path!r})" if os.path.isdir(path) else f"db.database().save({path!r})"


def check_parent(record: Record, parent: Record | None, verb: str) -> None:
    """Refuse to ``verb`` (copy, move) ``record`` into ``parent``, where it cannot go.

    Not a record (a folder's path: the call that makes one is said), the
    record itself or one below it, or a parent of another level than the
    one above ``record``'s.
    """
    if parent is None:
        raise DicomError(f"a database has no parent to {verb} into: database.save(path) copies it.")
    if getattr(parent, "_db", None) is None:  # a folder's path, most often
        into = LEVELS[max(LEVELS.index(record.level) - 1, 0)]
        raise InvalidValueError(
            f"{verb}_to takes the record to {verb} into (a {into}), not a "
            f"{type(parent).__name__} ({parent!r}). Into a folder: "
            f"{record.level}.{verb}_to({_folder_database(parent)}"
            + "".join(f".new_{level}()" for level in LEVELS[1 : LEVELS.index(into) + 1])
            + ")"
        )
    if parent._db is record._db and record.level != "database":
        above = parent
        while above.level != "database":
            if above == record:
                where = "itself" if parent == record else "a record below itself"
                raise DicomError(f"cannot {verb} {record!r} into {where}.")
            up = above.parent if not is_empty(above) else empty_parent(above)
            if up is None:
                break
            above = up
    if record.level == "database":
        raise DicomError(
            f"cannot {verb} a database into a record: {verb} its patients instead "
            f"(patient.{verb}_to(other_database)), or save(path) for a copy of it all."
        )
    want = LEVELS[LEVELS.index(record.level) - 1]
    if parent.level != want:
        if want == "database":
            hint = "the database itself (record.database)"
        else:
            hint = f"a {want}, e.g. {parent.level}.{_plural(want)}()[0]"
            if LEVELS.index(parent.level) < LEVELS.index(want):
                hint += f" or {parent.level}.new_{want}()"
        raise DicomError(
            f"cannot {verb} a {record.level} to a {parent.level}: a {record.level} goes under "
            f"a {want}. Give {hint}."
        )


def _plural(level: str) -> str:
    return {"patient": "patients", "study": "studies", "series": "series"}.get(level, level)


def empty_parent(record: Record) -> Record:
    empty = record._db._editor.empty.get(record.level, record.uid)
    db = record._db
    if empty is None or empty.parent is None:
        return db
    return db._class_of(empty.parent[0])(db, empty.parent[1])
