"""Sorting rows of the index and finding rows by value, with array operations.

The index table is kept in path order, so rows given in ascending order are
already in path order: a stable sort by other columns breaks its ties by path
without sorting the paths. Each column becomes one or two integer or float
keys (category codes, numbers with "missing" as a key of its own, text
factorized in sorted order) and :func:`numpy.lexsort` orders the rows: no
Python comparison per row, and only the rows asked for are looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .._facade import pandas as pd

__all__ = [
    "Lookup",
    "SortKey",
    "factorize",
    "is_among",
    "merged_order",
    "number_sort_key",
    "series_sort_key",
    "sort_rows",
]


def factorize(values: np.ndarray, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of ``values`` and their distinct values, without pandas.

    As :func:`pandas.factorize`: missing values (None, NaN, NaT) get the code
    -1; the distinct values come in the order they first appear, or sorted
    with ``sort=True``. Numbers and times are factorized by numpy; other
    values (text, tuples) by hashing, so that values of mixed types work
    (sorted by type name, then value, when they cannot be compared).

    Examples
    --------
    >>> codes, uniques = factorize(np.array(["b", None, "a", "b"], dtype=object))
    >>> codes.tolist(), uniques.tolist()
    ([0, -1, 1, 0], ['b', 'a'])
    >>> codes, uniques = factorize(np.array([2.0, np.nan, 1.0, 2.0]), sort=True)
    >>> codes.tolist(), uniques.tolist()
    ([1, -1, 0, 1], [1.0, 2.0])
    """
    values = np.asarray(values)
    if values.dtype.kind in "fiubmM":
        missing = np.isnan(values) if values.dtype.kind in "fmM" else np.zeros(len(values), bool)
        uniques, first, inverse = np.unique(
            values[~missing], return_index=True, return_inverse=True
        )
        if not sort:  # in order of first appearance
            order = np.argsort(first, kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            uniques, inverse = uniques[order], rank[inverse]
        codes = np.full(len(values), -1, dtype=np.int64)
        codes[~missing] = inverse.reshape(-1)
        return codes, uniques
    seen: dict[Any, int] = {}
    codes = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values.tolist()):
        if v is None or v != v:  # None, NaN
            codes[i] = -1
        else:
            codes[i] = seen.setdefault(v, len(seen))
    uniques = np.empty(len(seen), dtype=object)
    uniques[:] = list(seen)
    if sort and len(seen) > 1:
        try:
            order = np.array(sorted(range(len(seen)), key=uniques.__getitem__), dtype=np.int64)
        except TypeError:  # values that do not compare (text and tuples)
            mixed = [(type(u).__name__, repr(u)) for u in uniques]
            order = np.array(sorted(range(len(seen)), key=mixed.__getitem__), dtype=np.int64)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        uniques = uniques[order]
        codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    return codes, uniques


def is_among(values: np.ndarray, wanted: Iterable[Any]) -> np.ndarray:
    """Whether each of ``values`` (text, such as paths) is one of ``wanted``: a boolean mask.

    What ``numpy.isin`` gives, by hashing: for object arrays ``numpy.isin``
    sorts both sides with a Python comparison per step (~190 ms for the
    21,000 paths of a database against the 800 frames of its enhanced
    files, paid at every attribute read of the database); a set answers
    in ~1 ms. Missing values (None) are found only if ``wanted`` holds None.

    Examples
    --------
    >>> is_among(np.array(["a/1", None, "b/2"], dtype=object), ["b/2", "c"]).tolist()
    [False, False, True]
    >>> is_among(np.array([], dtype=object), {"a"}).tolist()
    []
    """
    found = wanted if isinstance(wanted, set | frozenset) else set(wanted)
    items = np.asarray(values, dtype=object).tolist()
    return np.fromiter((v in found for v in items), dtype=bool, count=len(items))


#: the sort keys of one column at some rows (see :func:`sort_rows`)
SortKey = Callable[[str, np.ndarray], list[np.ndarray]]


def series_sort_key(series: pd.Series, rows: np.ndarray) -> list[np.ndarray]:
    """The :func:`numpy.lexsort` keys of a column of the index table at ``rows``.

    Categories by their codes (as pandas sorts them), numbers by value with
    "missing" as a key of its own (first), text factorized in sorted order
    (missing: -1, first). The last key sorts first.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [np.asarray(series.array.codes)[rows]]  # missing: -1, first
    if series.dtype.kind in "fiub":
        return number_sort_key(series.to_numpy()[rows])
    return [factorize(series.array.take(rows).to_numpy(dtype=object, na_value=None), True)[0]]


def number_sort_key(values: np.ndarray) -> list[np.ndarray]:
    """Sort keys of numbers: by value, missing ones first."""
    values = values.astype(float)
    missing = np.isnan(values)
    return [np.where(missing, 0.0, values), ~missing]


def sort_rows(key: SortKey, rows: np.ndarray, columns: Sequence[str]) -> np.ndarray:
    """``rows`` sorted by ``columns`` (missing values first), ties in path order.

    ``key(name, rows)`` gives the sort keys of a column of the index table
    (in path order) at ``rows``: :meth:`Index.sort_key
    <dbdicom._index.Index.sort_key>`, or :func:`series_sort_key` of a
    table's column. The order is that of ``frame.sort_values(columns,
    na_position="first", kind="stable")`` restricted to ``rows``:
    categories in the order of their codes (as pandas sorts them), numbers
    by value, text by character.

    Examples
    --------
    >>> frame = pd.DataFrame(
    ...     {"_path": ["a", "b", "c", "d"], "SeriesNumber": [2.0, None, 1.0, 2.0],
    ...      "Modality": pd.Categorical(["MR", "CT", "MR", "CT"])}
    ... )
    >>> key = lambda name, rows: series_sort_key(frame[name], rows)
    >>> sort_rows(key, np.array([0, 1, 2, 3]), ["SeriesNumber"]).tolist()
    [1, 2, 0, 3]
    >>> sort_rows(key, np.array([3, 0, 2]), ["Modality", "SeriesNumber"]).tolist()
    [3, 2, 0]
    """
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    if len(rows) < 2:
        return rows
    keys: list[np.ndarray] = []  # numpy.lexsort: the last key sorts first
    for name in reversed(columns):
        keys.extend(key(name, rows))  # its last key sorts first
    return rows[np.lexsort(keys)]


class Lookup:
    """Rows by the exact value of one text column: a hash table, built once.

    For the equality queries on columns of (nearly) unique text, such as
    ``SOPInstanceUID``: finding a value costs a dictionary look-up, not a
    pass over the column.

    Examples
    --------
    >>> lookup = Lookup(pd.Series(["u1", "u2", "u1", None], dtype="str"))
    >>> lookup.rows(["u1", "u3"]).tolist(), lookup.rows([]).tolist()
    ([0, 2], [])
    """

    def __init__(self, column: pd.Series) -> None:
        codes, uniques = pd.factorize(column)
        self._where = pd.Index(uniques)
        self._order = np.argsort(codes, kind="stable")
        # rows of value k: _order[_starts[k]:_starts[k + 1]] (missing values: code -1, first)
        self._starts = np.searchsorted(codes[self._order], np.arange(len(uniques) + 1))

    def rows(self, values: Sequence[Any]) -> np.ndarray:
        """Positions (ascending) of the rows holding any of ``values``."""
        found = self._where.get_indexer(list(values)) if len(values) else np.zeros(0, int)
        parts = [self._order[self._starts[k] : self._starts[k + 1]] for k in found if k >= 0]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate(parts))


def merged_order(paths: np.ndarray, n_sorted: int) -> np.ndarray | None:
    """The order that sorts distinct ``paths`` whose first ``n_sorted`` are sorted already.

    The others (few: rows appended to the index) are placed among them by
    binary search, without sorting the whole. None where they all come
    last in order (nothing to move).

    Examples
    --------
    >>> merged_order(np.array(["a", "c", "d", "b"], dtype=object), 3).tolist()
    [0, 3, 1, 2]
    >>> merged_order(np.array(["a", "c", "e"], dtype=object), 2) is None
    True
    """
    added = paths[n_sorted:]
    order = np.argsort(added, kind="stable")
    slots = np.searchsorted(paths[:n_sorted], added[order]) + np.arange(len(added))
    if not len(added) or (slots[0] == n_sorted and bool((np.diff(order) > 0).all())):
        return None
    out = np.empty(len(paths), dtype=np.int64)
    moved = np.zeros(len(paths), dtype=bool)
    moved[slots] = True
    out[slots] = n_sorted + order
    out[~moved] = np.arange(n_sorted)
    return out
