"""Records without files yet: new patients, studies and series.

``database.new_patient(PatientName="James Bond")`` makes a patient that has
no instance: the index (one row per file) cannot hold it. Such records live
in a registry of the database, with the attributes given, until the first
file is written below them; then the index takes over. They are not written
to disk: a new record that never receives an instance is gone when the
database is closed (there is nothing to save).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._errors import EmptyRecordError, InvalidValueError
from ._attributes import LEVELS

__all__ = ["Empty", "Registry", "child_level", "parent_of", "require_files"]


def child_level(level: str, verb: str) -> str:
    """The level one below ``level``; an instance has none, which is said clearly.

    Examples
    --------
    >>> child_level("study", "new_child")
    'series'
    """
    i = LEVELS.index(level)
    if i == len(LEVELS) - 1:
        raise InvalidValueError(
            f"an instance has no level below it, so it has no {verb}(): "
            "use instance.new_sibling() for another instance of its series."
        )
    return LEVELS[i + 1]


def parent_of(record: Any, verb: str) -> Any:
    """The record above ``record``; a database has none, which is said clearly.

    Examples
    --------
    >>> parent_of(database.patients()[0], "new_sibling").level
    'database'
    """
    parent = record.parent
    if parent is None:
        raise InvalidValueError(
            f"a database has no parent, so it has no {verb}(): use database.new_patient() "
            "for a new record in it, or db.database() for a new database."
        )
    return parent


def require_files(record: Any, verb: str) -> None:
    """Raise :class:`EmptyRecordError` if ``record`` has no file to ``verb``.

    Examples
    --------
    >>> require_files(database.series()[0], "export")  # files: nothing happens
    """
    if len(record._rows()):
        return
    where = "database" if record.level == "database" else f"new {record.level}"
    raise EmptyRecordError(
        f"the {where} {record.label()!r} has no file yet, so there is nothing to {verb}: "
        "write one below it first (series.set_array(array), series.set_xarray(da), "
        "record.zeros(shape) or record.new_instance())."
    )


@dataclass
class Empty:
    """A record without files.

    Attributes
    ----------
    level : str
        ``"patient"``, ``"study"`` or ``"series"``.
    key : str
        Its key (PatientID, StudyInstanceUID or SeriesInstanceUID).
    parent : tuple of str, optional
        ``(level, key)`` of the record above (None for a patient).
    attrs : dict
        Attributes (keyword -> value ready for pydicom, or a custom
        attribute name -> value) inherited by everything made below it.
    """

    level: str
    key: str
    parent: tuple[str, str] | None
    attrs: dict[str, Any] = field(default_factory=dict)


class Registry:
    """The empty records of one database, by ``(level, key)``."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Empty] = {}

    def __contains__(self, item: tuple[str, str]) -> bool:
        return item in self.records

    def get(self, level: str, key: str) -> Empty | None:
        return self.records.get((level, key))

    def add(self, empty: Empty) -> None:
        self.records[(empty.level, empty.key)] = empty

    def ancestors(self, level: str, key: str) -> list[tuple[str, str]]:
        """``(level, key)`` of the records above an empty one, nearest first."""
        out: list[tuple[str, str]] = []
        empty = self.get(level, key)
        while empty is not None and empty.parent is not None:
            out.append(empty.parent)
            empty = self.get(*empty.parent)
        return out

    def below(self, level: str | None, key: str | None, wanted: str) -> list[str]:
        """Keys of the empty records of level ``wanted`` below ``(level, key)``.

        ``level`` None: below the whole database. In the order they were made.
        """
        out = []
        for empty in self.records.values():
            if empty.level != wanted:
                continue
            if level is None or (level, key) in self.ancestors(empty.level, empty.key):
                out.append(empty.key)
        return out

    def discard(self, level: str, key: str) -> None:
        """Forget a record and the empty records below it."""
        gone = {(level, key)}
        for item in list(self.records):
            if item in gone or (level, key) in self.ancestors(*item):
                self.records.pop(item, None)

    def rekey(self, level: str, old: str, new: str) -> None:
        """Give an empty record a new key (its children follow)."""
        empty = self.records.pop((level, old), None)
        if empty is None:
            return
        empty.key = new
        self.records[(level, new)] = empty
        for other in self.records.values():
            if other.parent == (level, old):
                other.parent = (level, new)

    def copy_tree(
        self,
        level: str,
        key: str,
        parent: tuple[str, str] | None,
        into: Registry,
        new_key: Callable[[str, str], str],
    ) -> str:
        """Copy an empty record and the empty records below it into ``into``.

        The copy goes under ``parent`` (None for a patient) with the key
        ``new_key(level, key)``, its children likewise; returns its key.
        """
        empty = self.get(level, key)
        copied = new_key(level, key)
        into.add(Empty(level, copied, parent, dict(empty.attrs) if empty else {}))
        self.copy_children(level, key, (level, copied), into, new_key)
        return copied

    def copy_children(
        self,
        level: str,
        key: str,
        parent: tuple[str, str],
        into: Registry,
        new_key: Callable[[str, str], str],
    ) -> None:
        """Copy the empty records just below ``(level, key)`` (and theirs) under ``parent``."""
        children = [e for e in self.records.values() if e.parent == (level, key)]
        for child in children:
            self.copy_tree(child.level, child.key, parent, into, new_key)

    def prune(self, present: dict[str, set[str]]) -> None:
        """Forget empty records that now have files (their keys are in the index)."""
        for level, key in list(self.records):
            if key in present.get(level, set()):
                del self.records[(level, key)]
