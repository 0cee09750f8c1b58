"""Records without files yet: new patients, studies and series.

``database.new_patient(PatientName="James Bond")`` makes a patient that has
no instance: the index (one row per file) cannot hold it. Such records live
in a registry of the database, with the attributes given, until the first
file is written below them; then the index takes over. They are not written
to disk: a new record that never receives an instance is gone when the
database is closed (there is nothing to save).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Empty", "Registry"]


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

    def prune(self, present: dict[str, set[str]]) -> None:
        """Forget empty records that now have files (their keys are in the index)."""
        for level, key in list(self.records):
            if key in present.get(level, set()):
                del self.records[(level, key)]
