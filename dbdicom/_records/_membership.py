"""``in`` and iteration on records.

A record reads tags with ``record[tag]``, so without these Python would
answer ``'Rows' in record`` and ``for x in record`` by calling
``record[0]``, ``record[1]``... as tag numbers, forever (each one a read
of the files). ``in`` asks whether the record's files hold a tag (or
whether a record is below this one); a record is not iterable: its
records below are listed by ``patients()``, ``studies()``, ``series()``
and ``instances()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from .._custom import custom
from .._index import check_tag, holds_unread, tag_number
from ._attributes import LEVELS
from ._parents import empty_parent, is_empty
from ._structure import _exists

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["Membership"]

# what to iterate instead of a record of each level
_BELOW = {
    "database": "patients",
    "patient": "studies",
    "study": "series",
    "series": "instances",
}


class Membership:
    """``tag in record``, ``record in record`` and a clear refusal to iterate."""

    __slots__ = ()

    def __contains__(self, item: object) -> bool:
        r"""Whether a file of the record holds a value of the tag ``item``, or ``item`` is below it.

        ``item`` is a tag as :meth:`~dbdicom.Record.get` takes it (keyword,
        number, ``(group, element)``, custom attribute): True when any file
        of the record holds a value for it (what ``record.unique(item)``
        finds is not empty), the files of all its series and instances for a
        record above an instance; or a value that is read as none, listed in
        ``problems()`` (SliceThickness ``"1.0\2.0"``, of one value). An
        element present with an empty value is no value, as ``get`` reads
        it (``None``). ``item`` a record: True when it is below this record
        (an instance in its series, study, patient and database).

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> "FlipAngle" in vfa, "ImageComments" in vfa, (0x0028, 0x0010) in vfa
        (True, False, True)
        >>> vfa.instances()[0] in vfa, vfa in database, vfa in vfa
        (True, True, False)
        """
        return _contains(self, item)

    def __iter__(self) -> NoReturn:
        """Refused: a record is not a list (records below it, and tags, are asked for)."""
        _refuse_iteration(self)


def _contains(record: Any, item: object) -> bool:
    """``item in record`` (see :meth:`Membership.__contains__`)."""
    if isinstance(item, Membership):
        return _below(item, record)
    if isinstance(item, list | set | frozenset | dict):
        raise TypeError(
            f"'in' takes one tag, not a {type(item).__name__}: for several, "
            "all(tag in record for tag in tags)."
        )
    if record.unique(item):
        return True
    return _held_unread(record, item)


def _held_unread(record: Any, item: Any) -> bool:
    r"""Whether a file of ``record`` holds a value of tag ``item`` that is read as none.

    SliceThickness ``"1.0\2.0"`` is read as no value (a problem): the
    element is in the file, with a value, all the same.
    """
    if isinstance(item, str) and custom(item) is not None:
        return False
    if record.level != "database" and is_empty(record):
        return False
    tag = tag_number(check_tag(item))
    return any(holds_unread(w, tag) for w in record._db.index.array("_warning", record._rows()))


def _refuse_iteration(record: Any) -> NoReturn:
    """The TypeError of ``for x in record``, saying what to go through instead."""
    name = type(record).__name__
    below = _BELOW.get(record.level)
    if below is None:
        hint = (
            "an instance is one file: read its tags by keyword (instance.Rows, "
            "instance['Rows']), or go through its elements with pydicom: "
            "pydicom.dcmread(instance.files()[0])"
        )
    else:
        hint = f"go through {record.level}.{below}() (or {record.level}.children())"
    raise TypeError(f"{'an' if name[0] in 'AEIOU' else 'a'} {name} is not iterable: {hint}.")


def _below(item: Any, record: Record) -> bool:
    """Whether ``item`` is a record of the database of ``record``, at a level below it."""
    if item._db is not record._db or LEVELS.index(item.level) <= LEVELS.index(record.level):
        return False
    if not is_empty(item) and not _exists(item._db, item.level, item.uid):
        return False  # removed: in nothing
    above: Any = item
    while above is not None and above.level != record.level:
        above = empty_parent(above) if is_empty(above) else above.parent
    return bool(above == record)
