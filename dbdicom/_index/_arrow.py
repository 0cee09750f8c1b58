"""The saved index as a reopen holds it: Arrow columns, made numpy arrays when asked.

A reopen that finds nothing changed needs a few columns of the index (the
hierarchy keys, the paths, the tags of one series) as numpy arrays, not a
pandas frame of all of them: :class:`SavedTable` gives each column as
:meth:`Index.array <dbdicom._index.Index.array>` does, straight from the
Arrow table, and pandas is imported only when a frame is needed (a query,
``table()``, a change to the index: :meth:`SavedTable.frame`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._facade import pyarrow as pa
from ._order import factorize, number_sort_key
from ._store import decoded, one_chunk, table_frame

__all__ = ["SavedTable"]


class SavedTable:
    """A table of :func:`~dbdicom._index._store.load_table` and its ``meta``.

    Parameters
    ----------
    table : pyarrow.Table
        As stored: categories as dictionaries, JSON columns as text.
    info : dict
        Its ``meta`` (``json_columns``, ``empty_columns``...).

    Examples
    --------
    >>> import pandas as pd
    >>> from dbdicom._index._store import save_frame, load_table
    >>> import tempfile, pathlib
    >>> frame = pd.DataFrame({"_path": ["a", "b"], "Rows": [4.0, None]})
    >>> frame["Modality"] = pd.Categorical(["MR", None])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "index.arrow"
    >>> save_frame(frame, path)
    >>> saved = SavedTable(*load_table(path))
    >>> saved.array("Modality", None).tolist(), saved.array("Rows", np.array([0])).tolist()
    (['MR', None], [4.0])
    """

    def __init__(self, table: pa.Table, info: dict[str, Any]) -> None:
        self.table = table
        self.info = info
        self.json_columns = frozenset(info.get("json_columns", ())) & set(table.column_names)
        self._texts: dict[str, np.ndarray] = {}  # text columns converted whole

    def __len__(self) -> int:
        return int(self.table.num_rows)

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    def n_words(self, name: str) -> int | None:
        """The number of distinct values of a dictionary column (None: not one)."""
        column = self.table.column(name)
        if not pa.types.is_dictionary(column.type):
            return None
        return len(self._codes(column)[0])

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The words of a dictionary column and each row's code (-1: null); None for others."""
        column = self.table.column(name)
        if not pa.types.is_dictionary(column.type):
            return None
        return self._codes(column)

    def frame(self) -> Any:
        """The pandas frame of the table (imports pandas)."""
        return table_frame(self.table, self.info)

    def array(self, name: str, rows: np.ndarray | None) -> np.ndarray | None:
        """Column ``name`` (at ``rows``) as ``Index.array`` gives it (None: a type left to pandas).

        Numbers and booleans as numpy arrays (the table's memory, read-only;
        NaN where null, integers with nulls as floats), text and categories
        as object arrays of ``str`` with None where absent, JSON columns
        decoded.
        """
        column = self.table.column(name)
        kind = column.type
        if rows is not None and rows.dtype == bool:
            rows = np.flatnonzero(rows)
        if name in self.json_columns:
            values = decoded(column)
            return values if rows is None else values[rows]
        if pa.types.is_dictionary(kind):
            words, codes = self._codes(column)
            cats = np.empty(len(words) + 1, dtype=object)
            cats[:-1] = words
            cats[-1] = None
            return cats[codes if rows is None else codes[rows]]  # code -1 picks the None
        if _is_number(kind):
            values = _numbers(one_chunk(column))
            return values if rows is None else values[rows]
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return self._text(name, column, rows)
        return None

    def _text(self, name: str, column: Any, rows: np.ndarray | None) -> np.ndarray:
        """A text column (at ``rows``): a run of rows alone, otherwise all of it, kept."""
        whole = self._texts.get(name)
        if whole is None and rows is not None and len(rows):
            first, last = int(rows.min()), int(rows.max())
            if last - first < 4 * len(rows):  # a series' rows: one run, or nearly
                part = _objects(column.slice(first, last - first + 1).to_pylist())
                return part[rows - first]
        if whole is None:
            whole = self._texts[name] = _objects(column.to_pylist())
        return whole if rows is None else whole[rows]

    def sort_key(self, name: str, rows: np.ndarray) -> list[np.ndarray] | None:
        """The sort keys of column ``name`` at ``rows`` (see :func:`~._order.sort_rows`).

        The same keys as :func:`~._order.series_sort_key` gives for the frame's
        column: dictionary codes (pandas' category codes), numbers, text
        factorized in sorted order. None for a type left to pandas.
        """
        column = self.table.column(name)
        kind = column.type
        if name in self.json_columns:
            return None
        if pa.types.is_dictionary(kind):
            return [self._codes(column)[1][rows]]
        if _is_number(kind):
            return number_sort_key(_numbers(one_chunk(column))[rows])
        values = self.array(name, rows)
        return None if values is None else [factorize(values, sort=True)[0]]

    @staticmethod
    def _codes(column: Any) -> tuple[np.ndarray, np.ndarray]:
        """The words of a dictionary column and each row's code (-1 where null)."""
        array = one_chunk(column)
        indices = array.indices
        codes = _numbers(indices, nulls=False).astype(np.int64)
        valid = _valid(indices)
        if valid is not None:
            codes[~valid] = -1
        return _objects(array.dictionary.to_pylist()), codes


# pyarrow's own ``to_numpy`` (of any type) and ``fill_null`` import pandas (0.2
# s): numbers are read from the array's buffers here instead, text through lists.


def _is_number(kind: Any) -> bool:
    return bool(
        pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind)
    )


def _valid(array: Any) -> np.ndarray | None:
    """Per value of an Arrow array, whether it is not null (None: none is)."""
    if not array.null_count:
        return None
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[array.offset : array.offset + len(array)] > 0


def _numbers(array: Any, nulls: bool = True) -> np.ndarray:
    """A numeric or boolean Arrow array as numpy, as pyarrow's ``to_numpy`` gives it.

    NaN where null (``nulls``): integers with nulls become ``float64``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> _numbers(pa.array([1, None, 3])).tolist(), _numbers(pa.array([True, False])).tolist()
    ([1.0, nan, 3.0], [True, False])
    """
    kind, n, offset = array.type, len(array), array.offset
    data = array.buffers()[1]
    if pa.types.is_boolean(kind):
        bits = np.frombuffer(data, dtype=np.uint8) if n else np.zeros(0, np.uint8)
        values = np.unpackbits(bits, bitorder="little")[offset : offset + n] > 0
    else:
        code = (
            "f" if pa.types.is_floating(kind) else "i" if pa.types.is_signed_integer(kind) else "u"
        )
        dtype = np.dtype(f"{code}{kind.bit_width // 8}")
        if not n:
            return np.zeros(0, dtype)
        values = np.frombuffer(data, dtype=dtype, count=n, offset=offset * dtype.itemsize)
    valid = _valid(array) if nulls else None
    if valid is None:
        return values
    if values.dtype.kind == "b":
        out = values.astype(object)
        out[~valid] = None
        return out
    out = values.astype(np.float64)
    out[~valid] = np.nan
    return out


def _objects(values: list[Any]) -> np.ndarray:
    """A list as a 1-d object array.

    Text leaves Arrow as a list: pyarrow's ``to_numpy`` of text imports
    pandas (0.2 s), which this module is here to avoid.
    """
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
