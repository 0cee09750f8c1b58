"""Records keyed from tags that an edit changed: the handles held on them follow.

A patient without PatientID, a study without StudyInstanceUID or a series
without SeriesInstanceUID is keyed from other tags of its files (see
:func:`dbdicom._index.assign_keys`): from its SeriesDescription, say. An
edit of one of them gives it another key, and the handle the edit was made
through said the record was not in the database.

No key made from anything an edit leaves alone would do: the files of one
series must share it, so it cannot come from one file's path (the key of
an instance without a SOPInstanceUID does), and it must not change when
one of several files is removed, so it cannot come from the path of its
first file, nor from the set of its files. Which files make the series is
decided by those tags themselves. So an edit notes each key it changed
(old and new, both ways: a ``restore()`` changes them back), the handles
it was made through take the new key, and any other handle whose key is
gone finds its record under the key it has now (:meth:`Renamed.follow`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .._index import Index

__all__ = ["Renamed"]

#: the levels whose keys an edit of tags can change, and their key column
_LEVELS = ("patient", "study", "series")
#: the tag a record's key is, unless its files lack it
_UID_OF = {"patient": "PatientID", "study": "StudyInstanceUID", "series": "SeriesInstanceUID"}
Keys = dict[str, np.ndarray]


class Renamed:
    """The keys edits changed in one database: ``(level, key)`` -> the keys it had since.

    Examples
    --------
    >>> renamed = Renamed()
    >>> renamed.note_pairs("series", [("1.2.3", "1.2.4")])
    {('series', '1.2.3'): '1.2.4'}
    >>> sorted(renamed.links)
    [('series', '1.2.3'), ('series', '1.2.4')]
    """

    def __init__(self) -> None:
        self.links: dict[tuple[str, str], set[str]] = {}

    @staticmethod
    def keys(index: Index, rows: np.ndarray) -> Keys:
        """The patient, study and series keys of ``rows`` (before an edit)."""
        return {level: index.array(f"_{level}", rows) for level in _LEVELS}

    def note(self, index: Index, rows: np.ndarray, before: Keys) -> dict[tuple[str, str], str]:
        """Note the keys of ``rows`` that changed since ``before``: old -> new.

        A key whose files now have several keys has no one new key: it is not noted.
        """
        out: dict[tuple[str, str], str] = {}
        for level, old in before.items():
            new = index.array(f"_{level}", rows)
            pairs = [(str(a), str(b)) for a, b in zip(old, new, strict=True) if a != b]
            out.update(self.note_pairs(level, pairs))
        return out

    def note_pairs(
        self, level: str, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """Note ``(old, new)`` keys of files of ``level``; those old keys of one new key."""
        news: dict[str, set[str]] = {}
        for old, new in pairs:
            news.setdefault(old, set()).add(new)
        out = {}
        for old, new_keys in news.items():
            if len(new_keys) == 1:
                new = next(iter(new_keys))
                self.links.setdefault((level, old), set()).add(new)
                self.links.setdefault((level, new), set()).add(old)
                out[(level, old)] = new
        return out

    def follow(self, index: Index, level: str, key: str) -> np.ndarray | None:
        """The rows of the record once keyed ``key`` (at ``level``), under its key now."""
        seen, todo = {key}, [key]
        while todo:
            for other in self.links.get((level, todo.pop(0)), ()):
                if other in seen:
                    continue
                seen.add(other)
                ok = index.ok
                rows = ok[index.array(f"_{level}", ok) == other]
                if len(rows):
                    return rows
                todo.append(other)
        return None

    def why_gone(self, level: str, key: str) -> str:
        """What to add to the error for a record of ``key`` not found ("" if nothing)."""
        if (level, key) not in self.links:
            return ""
        return (
            f" Its key came from other tags of its files (they have no {_UID_OF[level]}) "
            "and changed when those were edited, and no record has its new key either."
        )
