"""Keeping the index on disk: Arrow IPC files, replaced atomically.

Arrow files hold typed columns only, so loading one never runs code (no
pickle) and takes milliseconds. Columns of Python values (tags read on
demand, which may hold tuples) are stored as JSON text and named in the
file's metadata; a cell never read is stored as null, a tag that the file
does not have as the JSON ``null``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from .._facade import pandas as pd
from .._facade import pyarrow as pa
from .._facade import pyarrow_compute as pc
from .._facade import pyarrow_feather as feather
from ._scan import HIDDEN

__all__ = [
    "FORMAT",
    "UNREAD",
    "decoded",
    "load_frame",
    "load_table",
    "save_frame",
    "store_folder",
    "table_frame",
]

# 2: per-frame values of enhanced files no longer come from private sequences
# (an index of format 1 may hold wrong positions: it is rebuilt, not loaded)
# 3: files read by pydicom record the length of native pixel data (_nbytes),
# which tells them from files without pixel data (format 2 gave -1 for both)
# 4: images whose description cannot fit their pixel data are marked (_image),
# and _warning holds whole reasons, one a line
# 5: the index holds each folder's modification time (metadata "folders"), so
# that a reopen lists again only the folders that changed
# 6: an enhanced file's single InversionTimes of a frame is its InversionTime
FORMAT = 6


class _Unread:
    """Marks a cell of an on-demand column whose file has not been read yet."""

    _instance: _Unread | None = None

    def __new__(cls) -> _Unread:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unread>"

    def __reduce__(self) -> str:
        return "UNREAD"


UNREAD = _Unread()

# Loading maps the file rather than reading it: text columns stay in the file's
# pages, read (from the page cache) when first used, so a reopen of 20,000 rows
# does not copy 16 MB it mostly never looks at. Saving replaces the file by a
# new one (os.replace), which leaves a mapped old one intact on POSIX; Windows
# cannot replace a mapped file, so there it is read.
_MAP = os.name == "posix"


def _to_json(value: Any) -> str | None:
    if value is UNREAD:
        return None
    return json.dumps(_jsonable(value))


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return {"t": [_jsonable(v) for v in value]}
    if isinstance(value, bytes):
        return {"b": value.hex()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _from_json(text: Any) -> Any:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return UNREAD
    return _restore(json.loads(text))


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            return tuple(_restore(v) for v in value["t"])
        if "b" in value:
            return bytes.fromhex(value["b"])
    return value


def save_frame(frame: pd.DataFrame, path: Path, meta: dict[str, Any] | None = None) -> None:
    """Write ``frame`` to ``path`` atomically (a temporary file, then rename).

    Not fsynced: the index is a cache of the files, and a damaged one is
    rebuilt from them (:func:`load_frame` returns None).
    """
    out = frame.copy(deep=False)
    json_cols = [c for c in out.columns if out[c].dtype == object]
    for col in json_cols:
        out[col] = pd.array([_to_json(v) for v in out[col]], dtype="str")
    # one thread: saves also run at interpreter exit, when no thread pool can start
    table = pa.Table.from_pandas(out, preserve_index=False, nthreads=1)
    # one record batch: a table made of many pieces (a scan's batches) would be
    # written as that many batches, each with its own dictionaries, which
    # loading then joins again (80 batches of 20,000 rows: 4x the load time)
    table = table.combine_chunks()
    info = {"format": FORMAT, "json_columns": json_cols, **(meta or {})}
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"dbdicom": json.dumps(info).encode()}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            feather.write_feather(
                table, f, compression="uncompressed", chunksize=max(1, table.num_rows)
            )
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_frame(path: Path) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """Read a frame written by :func:`save_frame`; None if absent or unusable.

    With the frame comes what :func:`save_frame` was given as ``meta``, and
    ``empty_columns``: the columns without any value.

    An unusable file (another format version, damaged) is not an error: the
    index can always be rebuilt from the DICOM files.
    """
    loaded = load_table(path)
    if loaded is None:
        return None
    try:
        return table_frame(*loaded), loaded[1]
    except (pa.ArrowException, ValueError, TypeError):  # not a table save_frame wrote
        return None


def load_table(path: Path) -> tuple[pa.Table, dict[str, Any]] | None:
    """The Arrow table of a file of :func:`save_frame`, and its ``meta`` (as :func:`load_frame`).

    The table as it is stored (JSON columns still text): what a reopen holds
    until a pandas frame is needed (:func:`table_frame`).
    """
    try:
        table = feather.read_table(str(path), memory_map=_MAP)
        info = json.loads((table.schema.metadata or {}).get(b"dbdicom", b"{}"))
    except (OSError, pa.ArrowException, ValueError):
        return None
    if info.get("format") != FORMAT:
        return None
    try:
        for column in table.columns:
            if pa.types.is_dictionary(column.type):
                words = _dictionary(column).dictionary
                if pc.count_distinct(words, mode="all").as_py() != len(words):
                    return None  # categories repeat: not a table save_frame wrote
    except pa.ArrowException:
        return None
    # the columns no row has a value in (Arrow counts them): found without a pass
    info["empty_columns"] = [
        n for n, c in zip(table.column_names, table.columns, strict=True) if c.null_count == len(c)
    ]
    return table, info


def table_frame(table: pa.Table, info: dict[str, Any]) -> pd.DataFrame:
    """The pandas frame of a table of :func:`load_table` (its JSON columns decoded)."""
    frame = _to_frame(table)
    for col in info.get("json_columns", []):
        if col in frame.columns:
            frame[col] = pd.Series(decoded(table.column(col)), dtype=object)
    return frame


def decoded(column: pa.ChunkedArray) -> np.ndarray:
    """A column saved as JSON text, decoded; UNREAD where it was not read (null).

    Only the values read are decoded: a tag read on demand for one series
    (a column of 20,000 rows, 40 of them read) costs 40 decodes at a reopen,
    not 20,000 (14 ms).
    """
    out = np.full(len(column), UNREAD, dtype=object)
    # a list, not to_numpy, which imports pandas (see _arrow)
    for row, text in enumerate(column.to_pylist()):
        if text is not None:
            out[row] = _from_json(text)  # one by one: a tuple is one value, not a row of them
    return out


def _dictionary(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """A dictionary column as one array."""
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


# pandas' CategoricalDtype without checking that the categories are unique: an
# Arrow dictionary is made of distinct values (checked below with Arrow), and
# the check costs ~4x the rest of a column's conversion (27 columns: 2 ms of
# a 5 ms reopen). The public constructor where pandas no longer has it.
# Both looked up at the first use, not at import (pandas loads at a first open).
@functools.cache
def _fast_category() -> Any:
    return getattr(pd.CategoricalDtype, "_from_fastpath", None)


@functools.cache
def _str_dtype() -> Any:
    return pd.api.types.pandas_dtype("str")


def _category_dtype(categories: pd.Index) -> pd.CategoricalDtype:
    fast = _fast_category()
    if fast is not None:
        try:
            dtype = fast(categories, False)
            if isinstance(dtype, pd.CategoricalDtype):
                return dtype
        except TypeError:
            pass
    return pd.CategoricalDtype(categories)


def _to_frame(table: pa.Table) -> pd.DataFrame:
    """``table.to_pandas()``, the same frame, in half the time.

    Numbers as numpy arrays (read-only where they are the table's memory:
    the index changes a column by making a new one), text as pandas' ``str`` arrays (Arrow),
    dictionaries as categories of ``str``; other types as pyarrow converts them.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, None], "b": ["x", None], "c": [True, False]})
    >>> frame["d"] = pd.Series(["u", "v"]).astype("category")
    >>> table = pa.Table.from_pandas(frame, preserve_index=False)
    >>> pd.testing.assert_frame_equal(_to_frame(table), table.to_pandas())
    """
    out: dict[str, Any] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            array = _dictionary(column)
            words = array.dictionary
            codes = array.indices
            if codes.null_count:
                codes = codes.fill_null(-1)
            out[name] = pd.Categorical.from_codes(
                codes.to_numpy(zero_copy_only=False),
                dtype=_category_dtype(pd.Index(pd.array(words, dtype=_str_dtype()))),
                validate=False,
            )
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            out[name] = pd.array(column, dtype=_str_dtype())
        elif pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind):
            out[name] = column.to_numpy()  # read-only where it is the file's: changed by copies
        else:
            out[name] = column.to_pandas()
    return pd.DataFrame(out, index=pd.RangeIndex(table.num_rows), copy=False)


def store_folder(root: Path) -> tuple[Path, bool]:
    """Where the index of ``root`` lives, and whether the folder is writable.

    Inside the folder (``.dbdicom/``) when it can be written; otherwise in the
    user's cache folder, under a name made from the folder's absolute path.
    Read-only are: folders whose permission bits grant no write access
    (even to root), read-only mounts and immutable folders.
    """
    hidden = root / HIDDEN
    if _writable(root):
        if hidden.is_dir() and os.access(hidden, os.W_OK):
            return hidden, True
        try:
            hidden.mkdir(exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=hidden, prefix=".probe")
            os.close(fd)
            os.unlink(probe)
            return hidden, True
        except OSError:
            pass
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir("dbdicom")) / digest, False


def _writable(folder: Path) -> bool:
    """Whether dbdicom may write in ``folder``.

    A folder whose permission bits grant nobody write access is read-only
    even to root, who could write there anyway: the owner said so.
    """
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return os.access(folder, os.W_OK) and bool(mode & 0o222)
