"""Cells of the index table: changed in place, each column in its own type; read as arrays.

And reading one tag that is not in the index from a file.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
from pydicom.datadict import dictionary_VR
from pydicom.errors import InvalidDicomError

from .._errors import UnknownTagError
from .._facade import pandas as pd
from .._facade import pyarrow as pa
from .._facade import pyarrow_compute as pc
from .._files import read_dataset
from ._columns import KEY_COLUMNS, tag_of
from ._store import UNREAD

__all__ = [
    "convert",
    "dict_vr",
    "overwrite_rows",
    "read_sequence",
    "tag_number",
    "text_in",
    "with_cells",
]


def text_in(column: pd.Series, values: Collection[str]) -> np.ndarray:
    """Whether each row's text in ``column`` is one of ``values``, as a numpy mask.

    ``column.isin(values)`` gives the same, but for an Arrow column pandas
    makes an Arrow scalar of every value first (~7 us each: 1.4 ms to find
    the 200 files of a write); here the values become one Arrow array.

    Examples
    --------
    >>> paths = pd.Series(["a/1", "a/2", None, "b/1"], dtype="str")
    >>> text_in(paths, {"a/2", "b/1", "c"}).tolist()
    [False, True, False, True]
    >>> text_in(pd.Series(["a", "b"], dtype=object), ["b"]).tolist()
    [False, True]
    """
    to_arrow = getattr(column.array, "__arrow_array__", None)
    if to_arrow is None or not values:
        return np.asarray(column.isin(values).to_numpy(), dtype=bool)
    chunked = to_arrow()
    found = pc.is_in(chunked, value_set=pa.array(list(values), type=chunked.type))
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def overwrite_rows(frame: pd.DataFrame, pos: np.ndarray, data: Mapping[str, Any]) -> set[str]:
    """Overwrite rows ``pos`` of ``frame`` by the rows of ``data`` (same paths), in place.

    ``data``: columns of plain values, as :func:`~dbdicom._index._columns.column_data`
    makes them (lists of text or None, arrays of numbers). Columns it lacks
    (tags read on demand) are marked unread in those rows; key columns are
    left to the caller. Only the rows ``pos`` of each column are compared;
    a column that changed is made again. Returns the names of those columns.

    Examples
    --------
    >>> frame = pd.DataFrame({"_path": ["a", "b"], "Rows": [1.0, 2.0], "X": [5, 6]})
    >>> frame["X"] = frame["X"].astype(object)
    >>> new = {"_path": ["b"], "Rows": np.array([3.0])}
    >>> sorted(overwrite_rows(frame, np.array([1]), new)), frame["Rows"].tolist()
    (['Rows', 'X'], [1.0, 3.0])
    >>> frame["X"].tolist()
    [5, <unread>]
    """
    pos = pos[np.argsort(convert(frame["_path"], pos), kind="stable")]
    take = np.argsort(np.array(data["_path"], dtype=object), kind="stable").tolist()
    changed: set[str] = set()
    for col in frame.columns:
        if col in KEY_COLUMNS:
            continue
        dst = frame[col]
        src = data.get(str(col))
        if src is None:  # a tag read on demand: read again when asked
            changed.add(col)
            arr = dst.to_numpy(dtype=object).copy()
            arr[pos] = UNREAD
            frame[col] = pd.Series(arr, dtype=object, index=frame.index)
            continue
        values = src[take].tolist() if isinstance(src, np.ndarray) else [src[i] for i in take]
        if not _differs(convert(dst, pos).tolist(), values):
            continue
        changed.add(col)
        if isinstance(dst.dtype, pd.CategoricalDtype):
            cells = [None if v is None or (isinstance(v, float) and v != v) else v for v in values]
            cats = dst.array
            missing = [
                v for v in dict.fromkeys(cells) if v is not None and v not in cats.categories
            ]
            cats = cats.add_categories(missing) if missing else cats.copy()
            cats[pos] = np.array(cells, dtype=object)
            frame[col] = cats
        elif dst.dtype.kind in "fiub":
            arr = dst.to_numpy(copy=True)
            arr[pos] = np.asarray(values, dtype=arr.dtype)
            frame[col] = arr
        else:
            arr = dst.to_numpy(dtype=object, copy=True)
            arr[pos] = np.array(values, dtype=object)
            frame[col] = pd.array(arr, dtype=dst.dtype)
    return changed


def _differs(old: list[Any], new: list[Any]) -> bool:
    """Whether ``new`` holds other values than ``old`` (aligned by position)."""
    for x, y in zip(old, new, strict=True):
        x = None if x is pd.NA or (isinstance(x, float) and x != x) else x
        y = None if y is pd.NA or (isinstance(y, float) and y != y) else y
        if x != y:
            return True
    return False


def with_cells(col: pd.Series, rows: np.ndarray, cell: Any) -> Any:
    """The index column ``col`` with ``cell`` (a stored value) in ``rows``, in its own type.

    A category column gains ``cell`` as a category if new; a float column
    takes it as it is; a text column holds None for an absent value.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        if isinstance(cell, str) and cell not in col.cat.categories:
            col = col.cat.add_categories([cell])
        col = col.copy()
        col.iloc[rows] = None if cell is pd.NA or cell is None else cell
        return col
    if col.dtype.kind == "f":
        values = col.to_numpy(copy=True)
        values[rows] = cell
        return values
    texts = col.astype(object).to_numpy(copy=True)
    texts[rows] = None if cell is pd.NA else cell
    return pd.array(texts, dtype="str")


def tag_number(column: str) -> int:
    """The tag number of an index column: a keyword, or ``(gggg,eeee)`` for a tag without one.

    >>> hex(tag_number("Rows")), hex(tag_number("(0019,1010)"))
    ('0x280010', '0x191010')
    """
    if column.startswith("("):
        g, e = column.strip("()").split(",")
        return (int(g, 16) << 16) | int(e, 16)
    tag = tag_of(column)
    if tag is None:  # a column no keyword names: never a bare KeyError for the user
        raise UnknownTagError(
            f"{column!r} is not a DICOM keyword: give the tag as (group, element), "
            "e.g. (0x0028, 0x0010)."
        )
    return tag


def dict_vr(tag: int) -> str:
    """The VR of ``tag`` in the DICOM dictionary (the first if several), UN if unknown.

    A private creator (gggg,0010-00FF) is LO by definition (PS3.5 7.8.1):
    so it is read in Implicit VR and where a file gives UN.

    >>> dict_vr(0x00280010), dict_vr(0x00191010), dict_vr(0x00090010)
    ('US', 'UN', 'LO')
    """
    if tag >> 16 & 1 and 0x0010 <= tag & 0xFFFF <= 0x00FF:
        return "LO"
    try:
        return str(dictionary_VR(tag)).split(" or ")[0]
    except KeyError:
        return "UN"


def read_sequence(path: str | io.BytesIO, tag: int) -> Any:
    """The sequence ``tag`` of the file at ``path``; None where pydicom cannot read it.

    What pydicom raises on a bad file: see :func:`dbdicom._files.read_with_pydicom`.
    """
    try:
        ds = read_dataset(path, stop_before_pixels=True, specific_tags=[tag], decode=False)
        return ds[tag].value if tag in ds else None
    except (InvalidDicomError, EOFError, OSError, ValueError, TypeError, KeyError):
        return None
    except (NotImplementedError, RecursionError):  # an unknown VR, nesting too deep
        return None


def convert(column: pd.Series, rows: np.ndarray | None) -> np.ndarray:
    """``column`` (at ``rows``) as ``Index.array`` gives it.

    Examples
    --------
    >>> column = pd.Series(["MR", None, "CT"], dtype="category")
    >>> convert(column, np.array([2, 1])).tolist(), convert(column, None).tolist()
    (['CT', None], ['MR', None, 'CT'])
    """
    if rows is not None and rows.dtype == bool:
        rows = np.flatnonzero(rows)
    if isinstance(column.dtype, pd.CategoricalDtype):
        cats = np.array([*column.cat.categories.to_numpy(dtype=object), None], dtype=object)
        codes = np.asarray(column.array.codes)
        return cats[codes if rows is None else codes[rows]]  # code -1 (absent) picks the None
    if column.dtype.kind in "fiub":
        values = column.to_numpy()
        return values if rows is None else values[rows]
    if rows is None:
        return column.to_numpy(dtype=object, na_value=None)
    return column.array.take(rows).to_numpy(dtype=object, na_value=None)
