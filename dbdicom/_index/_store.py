"""Keeping the index on disk: Parquet and Arrow files, each replaced atomically.

Both hold typed columns only, so loading one never runs code (no pickle).
The index of a folder is several Parquet files, one per range of paths (see
``_parts.py``), which any Parquet reader (DuckDB, pyarrow.dataset, Polars,
Spark) queries without dbdicom, each with an Arrow copy that a reopen maps
in milliseconds; the per-frame values of enhanced files are one Arrow file
(:func:`save_frame`). Columns of Python values (tags read on
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

from .._errors import IndexDamagedError
from .._facade import pandas as pd
from .._facade import pyarrow as pa
from .._facade import pyarrow_compute as pc
from .._facade import pyarrow_feather as feather
from .._facade import pyarrow_parquet as pq
from ._scan import HIDDEN

__all__ = [
    "FORMAT",
    "UNREAD",
    "decoded",
    "join_tables",
    "load_frame",
    "load_table",
    "read_mapped",
    "read_part",
    "save_frame",
    "store_folder",
    "table_frame",
    "table_of_frame",
    "write_mapped",
    "write_part",
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
# 7: Parquet files, one per range of paths, and a manifest (index/_manifest.json)
# in place of one Arrow file (index.arrow): an index of format 6 is rebuilt
# 8: per-frame values leave out functional-group sequences of several items
# (ReferencedImageSequence), whose first item's values were taken as the frame's
# 9: DS values NaN, inf or '1_0', and a rescale present but empty, are problems
# (read as no value, listed), and an image without PixelRepresentation is not read
# 10: an image followed by a second Pixel Data is not read (the first was, pydicom
# reads the last), nor native colour without a Planar Configuration of 0 or 1 (read as 0)
# 11: the copies of an instance several files hold are keyed <uid>#<mark of the path>
# (they were <uid>, <uid>#2... in path order, numbered again when one was removed)
FORMAT = 11


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
# columns whose values repeat: Parquet stores each distinct value once per file
# (besides the category columns, which are Arrow dictionaries and stored so)
_REPEATED = ("_error", "_warning", "_image", "_patient", "_study", "_series")
# columns Parquet keeps a minimum and maximum of, by which DuckDB and
# pyarrow.dataset skip the files a filter excludes
_STATISTICS = (
    "_path",
    "PatientID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "StudyDate",
    "Modality",
)


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


def _encoded(values: list[Any]) -> list[str | None]:
    """:func:`_to_json` of each of ``values``, each distinct value encoded once.

    A column of 20,000 rows holds a few distinct values (a tag read on
    demand); one ``json.dumps`` a row costs ~0.1 s. Values are told apart by
    type and ``repr`` (text by itself): ``1``, ``1.0``, ``True`` and
    ``-0.0``, equal to Python, are encoded apart, as they are written.
    """
    known: dict[Any, str | None] = {}
    out: list[str | None] = []
    for value in values:
        key = value if type(value) is str else (type(value), repr(value))
        text = known.get(key, _UNSEEN)
        if text is _UNSEEN:
            text = known[key] = _to_json(value)
        out.append(text)  # type: ignore[arg-type]
    return out


_UNSEEN = object()  # (None is the text of UNREAD)


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


def table_of_frame(frame: pd.DataFrame, meta: dict[str, Any] | None = None) -> pa.Table:
    """The index table ``frame`` (or some of its rows) as an Arrow table, as files keep it.

    Python values become JSON text (named in the metadata, with ``meta``);
    categories no row of ``frame`` has are left out, so that a file of a
    few rows does not carry the categories of the whole index.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0], "b": pd.Categorical(["x"], categories=["x", "y"])})
    >>> frame["c"] = pd.Series([("u", 1)], dtype=object)
    >>> table = table_of_frame(frame)
    >>> table.column("b").chunk(0).dictionary.to_pylist(), table.column("c").to_pylist()
    (['x'], ['{"t": ["u", 1]}'])
    """
    out = frame.copy(deep=False)
    json_cols = [c for c in out.columns if out[c].dtype == object]
    for col in json_cols:
        out[col] = pd.array(_encoded(out[col].tolist()), dtype="str")
    for col, dtype in out.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            out[col] = out[col].cat.remove_unused_categories()
    # one thread: saves also run at interpreter exit, when no thread pool can start
    table = pa.Table.from_pandas(out, preserve_index=False, nthreads=1)
    info = {"format": FORMAT, "json_columns": json_cols, **(meta or {})}
    return table.replace_schema_metadata({b"dbdicom": json.dumps(info).encode()})


def write_part(table: pa.Table, path: Path) -> None:
    """Write ``table`` to the Parquet file ``path`` atomically (a temporary file, then rename).

    One row group, no compression (a reopen decodes it fastest);
    dictionaries for the columns whose values repeat; statistics for the
    columns queries filter on. Not fsynced: the index is a cache of the
    files, rebuilt from them when lost.
    """
    names = set(table.column_names)
    dictionary = [
        f.name for f in table.schema if pa.types.is_dictionary(f.type) or f.name in _REPEATED
    ]
    _atomic(
        path,
        lambda f: pq.write_table(
            table,
            f,
            row_group_size=max(1, table.num_rows),
            compression="none",
            use_dictionary=dictionary,
            write_statistics=[c for c in _STATISTICS if c in names],
        ),
    )


def write_mapped(table: pa.Table, path: Path) -> None:
    """Write ``table`` to the Arrow file ``path`` atomically, for :func:`read_mapped`.

    The copy of a partition that a reopen maps rather than decodes: one
    record batch, uncompressed.
    """
    table = table.combine_chunks()
    _atomic(
        path,
        lambda f: feather.write_feather(
            table, f, compression="uncompressed", chunksize=max(1, table.num_rows)
        ),
    )


def _atomic(path: Path, write: Any) -> None:
    """``write(file)`` into a temporary file beside ``path``, then renamed to ``path``.

    The temporary file's name starts with a dot and does not end in
    ``.parquet``: readers of the folder (``*.parquet``, pyarrow.dataset) do
    not see it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_mapped(path: Path, generation: str) -> pa.Table | None:
    """The table :func:`write_mapped` wrote, if it is of ``generation``; None otherwise.

    Mapped, not read: text columns stay in the file's pages, read (from the
    page cache) when first used, so a reopen does not copy what it never
    looks at. Saving replaces the file by a new one (os.replace), which
    leaves a mapped old one intact on POSIX; Windows cannot replace a
    mapped file, so there it is read.
    """
    try:
        table = feather.read_table(str(path), memory_map=_MAP)
        info = json.loads((table.schema.metadata or {}).get(b"dbdicom", b"{}"))
    except (OSError, pa.ArrowException, ValueError):
        return None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        return None
    return table if info.get("generation") == generation else None


def read_part(path: Path) -> tuple[pa.Table, dict[str, Any]]:
    """The table of a file :func:`write_part` wrote, and its metadata.

    Raises :class:`~dbdicom.IndexDamagedError` when the file is missing,
    is not Parquet, or was not written by this version of dbdicom.
    """
    try:
        table = pq.ParquetFile(path).read()
        info = json.loads((table.schema.metadata or {}).get(b"dbdicom", b"{}"))
    except FileNotFoundError as error:
        raise IndexDamagedError(path, "it is missing") from error
    except (OSError, pa.ArrowException, ValueError) as error:
        raise IndexDamagedError(path, f"it cannot be read ({error})") from error
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise IndexDamagedError(path, "dbdicom did not write it, or another version did")
    return table, info


def join_tables(tables: list[pa.Table]) -> pa.Table:
    """Several files' tables as one, one after the other.

    A column some files lack (a tag read on demand) is null there: UNREAD.
    The dictionaries of the category columns are unified (with 32-bit
    codes when the categories of all files need them). Raises ValueError
    (or an Arrow error) for tables of different types.

    Examples
    --------
    >>> a = table_of_frame(pd.DataFrame({"x": pd.Categorical(["u"]), "y": [1.0]}))
    >>> b = table_of_frame(pd.DataFrame({"x": pd.Categorical(["v"]), "y": [np.nan]}))
    >>> table = join_tables([a, b])
    >>> table.column("x").to_pylist(), table.column("y").to_pylist()
    (['u', 'v'], [1.0, None])
    >>> words = [pd.Categorical([f"{i}-{j}" for j in range(100)]) for i in range(3)]
    >>> table = join_tables([table_of_frame(pd.DataFrame({"x": w})) for w in words])
    >>> len(table.column("x").chunk(0).dictionary)  # more than 8-bit codes hold
    300
    """
    if len(tables) == 1:
        return tables[0]
    tables = [t.replace_schema_metadata(None) for t in tables]  # each its own write's
    try:  # files of one kind, with the same columns and codes
        table = pa.concat_tables(tables).unify_dictionaries()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        tables = [_widened(t) for t in tables]
        table = pa.concat_tables(tables, promote_options="permissive").unify_dictionaries()
    # the dictionary columns in one piece: their codes are what a reopen reads first
    for i, column in enumerate(table.columns):
        if pa.types.is_dictionary(column.type) and column.num_chunks > 1:
            whole = pa.chunked_array([one_chunk(column)])
            table = table.set_column(i, table.field(i), whole)
    return table


def _widened(table: pa.Table) -> pa.Table:
    """``table`` with the types of :func:`_wide` (only the columns whose type changes cast)."""
    for i, field in enumerate(table.schema):
        wide = _wide(field)
        if wide.type != field.type:
            table = table.set_column(i, wide, table.column(i).cast(wide.type))
    return table


def _wide(field: pa.Field) -> pa.Field:
    """``field`` as files of every kind can be joined: text large, dictionary codes of 32 bits.

    (Parquet gives back dictionaries of ``string``, Arrow files of
    ``large_string``; the categories of all files may not fit the 8-bit
    codes of one.)
    """
    kind = field.type
    if pa.types.is_dictionary(kind):
        words = pa.large_string() if pa.types.is_string(kind.value_type) else kind.value_type
        return field.with_type(pa.dictionary(pa.int32(), words))
    if pa.types.is_string(kind):
        return field.with_type(pa.large_string())
    return field


def save_frame(frame: pd.DataFrame, path: Path, meta: dict[str, Any] | None = None) -> None:
    """Write ``frame`` to ``path`` atomically (a temporary file, then rename).

    Not fsynced: the index is a cache of the files, and a damaged one is
    rebuilt from them (:func:`load_frame` returns None).
    """
    out = frame.copy(deep=False)
    json_cols = [c for c in out.columns if out[c].dtype == object]
    for col in json_cols:
        out[col] = pd.array(_encoded(out[col].tolist()), dtype="str")
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
    # each distinct text decoded once (a tag read on demand for a whole database: 20,000
    # json.loads of a few texts, ~0.3 s); the values are immutable (numbers, text, tuples,
    # bytes), so rows may share one
    known: dict[str, Any] = {}
    # a list, not to_numpy, which imports pandas (see _arrow)
    for row, text in enumerate(column.to_pylist()):
        if text is not None:
            value = known.get(text, UNREAD)
            if value is UNREAD:
                value = known[text] = _from_json(text)
            out[row] = value  # one by one: a tuple is one value, not a row of them
    return out


def _dictionary(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """A dictionary column as one array."""
    return one_chunk(column)


def one_chunk(column: pa.ChunkedArray) -> Any:
    """``column`` as one array, also a dictionary column of nulls only.

    pyarrow cannot combine chunks of dictionaries of the null type (a column
    that no file of a part of the index has a value in).

    Examples
    --------
    >>> kind = pa.dictionary(pa.int8(), pa.null())
    >>> part = pa.DictionaryArray.from_arrays(pa.nulls(2, pa.int8()), pa.nulls(0))
    >>> one_chunk(pa.chunked_array([part, part], kind)).null_count
    4
    """
    if column.num_chunks == 1:
        return column.chunk(0)
    kind = column.type
    if pa.types.is_dictionary(kind) and pa.types.is_null(kind.value_type):
        return pa.DictionaryArray.from_arrays(pa.nulls(len(column), kind.index_type), pa.nulls(0))
    return column.combine_chunks()


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
