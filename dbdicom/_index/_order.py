"""Sorting rows of the index and finding rows by value, with array operations.

The index table is kept in path order, so rows given in ascending order are
already in path order: a stable sort by other columns breaks its ties by path
without sorting the paths. Each column becomes one or two integer or float
keys (category codes, numbers with "missing" as a key of its own, text
factorized in sorted order) and :func:`numpy.lexsort` orders the rows: no
Python comparison per row, and only the rows asked for are looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._facade import pandas as pd

__all__ = ["Lookup", "sort_rows"]


def sort_rows(
    column: Callable[[str], pd.Series], rows: np.ndarray, columns: Sequence[str]
) -> np.ndarray:
    """``rows`` sorted by ``columns`` (missing values first), ties in path order.

    ``column(name)`` gives a column of the index table (in path order). The
    order is that of ``frame.sort_values(columns, na_position="first",
    kind="stable")`` restricted to ``rows``: categories in the order of their
    codes (as pandas sorts them), numbers by value, text by character.

    Examples
    --------
    >>> frame = pd.DataFrame(
    ...     {"_path": ["a", "b", "c", "d"], "SeriesNumber": [2.0, None, 1.0, 2.0],
    ...      "Modality": pd.Categorical(["MR", "CT", "MR", "CT"])}
    ... )
    >>> sort_rows(frame.__getitem__, np.array([0, 1, 2, 3]), ["SeriesNumber"]).tolist()
    [1, 2, 0, 3]
    >>> sort_rows(frame.__getitem__, np.array([3, 0, 2]), ["Modality", "SeriesNumber"]).tolist()
    [3, 2, 0]
    """
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    if len(rows) < 2:
        return rows
    keys: list[np.ndarray] = []  # numpy.lexsort: the last key sorts first
    for name in reversed(columns):
        series = column(name)
        if isinstance(series.dtype, pd.CategoricalDtype):
            keys.append(np.asarray(series.array.codes)[rows])  # missing: -1, first
        elif series.dtype.kind in "fiub":
            values = series.to_numpy()[rows].astype(float)
            missing = np.isnan(values)
            keys.append(np.where(missing, 0.0, values))
            keys.append(~missing)  # missing first
        else:
            codes, _ = pd.factorize(series.array.take(rows), sort=True)  # missing: -1
            keys.append(codes)
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
