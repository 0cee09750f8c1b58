"""What a tree (``print()``, a notebook's HTML) shows of each record, found for all at once.

A tree of 400 series asked each record for its label, its counts and its
series' facts: some 2,000 look-ups of ~1 ms each over the index. Here they
are found in one pass over the index columns, grouped by key: each record's
first file (whose values label it, as :meth:`Record.label` reads them), each
series' number of instances and frames and its image size, and whether each
patient's files hold its key as PatientID. A record without files (new, not
written yet) is not among them: its callers ask the record itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import numpy as np

from .._facade import pandas as pd
from .._index import factorize, to_plain

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["TreeFacts", "drawing", "facts_of"]

_LEVELS = ("patient", "study", "series")


class TreeFacts:
    """The facts of every patient, study and series of ``db`` with files, found once.

    The records' children are found once each too (:meth:`below`).
    """

    def __init__(self, db: Any) -> None:
        self._db = db
        index = db.index
        self._ok = ok = index.ok
        self._codes: dict[str, np.ndarray] = {}
        self._first: dict[str, dict[str, int]] = {}  # each key's first row (position in ok)
        for level in _LEVELS:
            codes, keys = _hashed(index.array(f"_{level}", ok))
            _, first = np.unique(codes, return_index=True)
            first = first[len(first) - len(keys) :]  # (a row without key: code -1, first)
            self._codes[level] = codes
            self._first[level] = dict(zip(map(str, keys.tolist()), first.tolist(), strict=True))
        self._values: dict[tuple[str, str], dict[str, Any]] = {}
        self._series: dict[str, dict[str, Any]] | None = None
        self._holds_id: dict[str, bool] | None = None
        self._below: dict[tuple[str, str, str], list[Any]] = {}

    def has(self, record: Record) -> bool:
        """Whether ``record`` is one of those found (one with files)."""
        return record._key in self._first.get(record.level, {})

    def first(self, record: Record, keyword: str) -> Any:
        """The value of ``keyword`` in the first file of ``record`` (see ``_levels._first``)."""
        return self._first_values(record.level, keyword)[record._key]

    def _first_values(self, level: str, keyword: str) -> dict[str, Any]:
        """The value of ``keyword`` in the first file of each record of ``level``, by key."""
        found = self._values.get((level, keyword))
        if found is None:
            first = self._first[level]
            rows = self._ok[np.fromiter(first.values(), dtype=np.int64, count=len(first))]
            values = self._db.index.values(rows, keyword)
            found = self._values[(level, keyword)] = dict(zip(first, values, strict=True))
        return found

    def series(self, series: Record) -> dict[str, Any]:
        """:func:`~dbdicom._records._print.series_facts` of ``series``, which has files."""
        if self._series is None:
            self._series = self._all_series()
        return self._series[series._key]

    def holds_id(self, patient: Record) -> bool:
        """Whether a file of ``patient`` holds its key as PatientID."""
        if self._holds_id is None:
            index = self._db.index
            codes, ids = _hashed(index.array("PatientID", self._ok))
            texts = [str(v) if v is not None else None for v in self._plain(ids, "PatientID")]
            keys = list(self._first["patient"])
            found = dict.fromkeys(keys, False)
            for p, i in _pairs(self._codes["patient"], codes):
                if i >= 0 and texts[i] == keys[p]:
                    found[keys[p]] = True
            self._holds_id = found
        return self._holds_id[patient._key]

    def below(self, record: Record, level: str) -> list[Any]:
        """``record``'s records of ``level`` (``record.studies()`` ...), found once."""
        key = (record.level, record._key, level)
        found = self._below.get(key)
        if found is None:
            found = self._below[key] = list(record._find(level, {}))
        return found

    def _plain(self, uniques: np.ndarray, keyword: str) -> list[Any]:
        """The distinct raw values of a column as the Python values ``index.values`` gives."""
        return [to_plain(v, keyword) for v in uniques]

    def _all_series(self) -> dict[str, dict[str, Any]]:
        """The facts of every series: grouped sums and distinct counts over all rows."""
        index = self._db.index
        codes = self._codes["series"]
        keys = list(self._first["series"])
        n = len(keys)
        instances = np.bincount(codes, minlength=n)
        f_codes, f_uniques = factorize(index.array("NumberOfFrames", self._ok))
        each = [int(f) if f else 1 for f in self._plain(f_uniques, "NumberOfFrames")]
        per_row = np.append(np.array(each, dtype=np.int64), 1)[f_codes]  # missing (-1): 1
        frames = np.zeros(n, dtype=np.int64)
        np.add.at(frames, codes, per_row)
        sizes = [self._one_value(codes, n, column) for column in ("Rows", "Columns")]
        modality = self._first_values("series", "Modality")
        out = {}
        for i, key in enumerate(keys):
            height, width = sizes[0][i], sizes[1][i]
            one = height is not None and width is not None
            out[key] = {
                "modality": modality[key] or "?",
                "instances": int(instances[i]),
                "frames": int(frames[i]),
                "size": (int(height), int(width)) if one else None,
            }
        return out

    def _one_value(self, codes: np.ndarray, n: int, column: str) -> list[Any]:
        """Each series' one distinct value of ``column`` (None left out); None if not one."""
        v_codes, uniques = factorize(self._db.index.array(column, self._ok))
        plain = self._plain(uniques, column)
        ids: dict[Any, int] = {}  # equal Python values alike, as ``distinct`` sees them
        same = np.array([ids.setdefault(v, len(ids)) if v is not None else -1 for v in plain])
        value_ids = np.append(same, -1)[v_codes] if len(same) else np.full(len(codes), -1)
        kept = value_ids >= 0
        pairs = _pairs(codes[kept], value_ids[kept])
        count = np.bincount(np.array([p for p, _ in pairs], dtype=np.int64), minlength=n)
        value = dict(pairs)
        back = list(ids)
        return [back[value[i]] if count[i] == 1 else None for i in range(n)]


def _pairs(first: np.ndarray, second: np.ndarray) -> list[tuple[int, int]]:
    """The distinct pairs ``(first[i], second[i])`` of two arrays of codes (-1 or more), sorted."""
    if not len(first):
        return []
    size = int(second.max()) + 2
    joint = np.unique(first.astype(np.int64) * size + (second.astype(np.int64) + 1))
    return [(int(j // size), int(j % size) - 1) for j in joint.tolist()]


def _hashed(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~dbdicom._index.factorize` of text (keys, IDs): by hashing, not sorting.

    The distinct values in the order they first appear, missing ones coded -1;
    sorting 20,000 strings to find them (numpy) costs ~25 ms a column.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


# the facts of the tree being drawn, while it is drawn (see :func:`drawing`)
_DRAWING: ContextVar[TreeFacts | None] = ContextVar("dbdicom_tree_facts", default=None)


@contextmanager
def drawing(db: Any) -> Iterator[TreeFacts]:
    """Find the facts of ``db``'s records once, for what is drawn inside the ``with``."""
    facts = TreeFacts(db)
    token = _DRAWING.set(facts)
    try:
        yield facts
    finally:
        _DRAWING.reset(token)


def facts_of(record: Any) -> TreeFacts | None:
    """The facts of the tree being drawn if ``record`` is among them (one with files), else None."""
    facts = _DRAWING.get()
    if facts is None or facts._db is not record._db or not facts.has(record):
        return None
    return facts
