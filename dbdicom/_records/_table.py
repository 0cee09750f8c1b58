"""The index as a table: a row per instance (or per frame), public names and types.

The index keeps its values compactly (numbers as floats, vectors split in
components, text as categories) under names of its own (``_path``,
``ImagePositionPatient[0]``...). :func:`instance_table` gives them as a
pandas user expects them; :func:`arrow_table` as Arrow, for DuckDB, Polars
and Parquet.

Columns
-------
Every tag the index holds (:data:`dbdicom._index.TAGS`, and
``TransferSyntaxUID``), named by its DICOM keyword, then dbdicom's own
columns (:data:`OWN_COLUMNS`), named in lower case. Types:

* integer VRs (IS, US, SS, UL, SL...): ``Int64`` (``<NA>`` when absent);
* decimal VRs (DS, FL, FD): ``float64`` (``NaN``);
* dates (DA) and date-times (DT): ``datetime64``; times (TM): ``timedelta64``
  since midnight (``NaT`` when absent or not a valid date or time);
* tags of several values (``ImagePositionPatient``, ``PixelSpacing``,
  ``ImageType``...): a tuple per row, also when a file holds one value
  (Arrow: a list);
* other text: ``str``.

Tags the index does not hold can be asked for by keyword (``columns=``):
they are read from the files once (then kept in the index, as for
``record.get``), and typed as above when their values allow it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _arrays
from .._index import (
    INT_VRS,
    JOINED,
    NUMERIC_VRS,
    TAGS,
    VECTORS,
    check_tag,
    frame_values_by_file,
    is_among,
    vr_of,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["OWN_COLUMNS", "TABLE_TAGS", "arrow_table", "instance_table"]

#: the tags of the default columns, in this order
TABLE_TAGS: tuple[str, ...] = (*TAGS, "TransferSyntaxUID")

#: dbdicom's own columns of a table (after the tags), and what they hold
OWN_COLUMNS: dict[str, str] = {
    "frame": "the frame's number in its file, from 0 (frames=True only; <NA> without an image)",
    "patient_uid": "the key of the instance's patient (patient.uid: its PatientID)",
    "study_uid": "the key of its study (study.uid: its StudyInstanceUID)",
    "series_uid": "the key of its series (series.uid: its SeriesInstanceUID)",
    "instance_uid": "the key of the instance (instance.uid: its SOPInstanceUID)",
    "path": "the file's absolute path, or its URL (instance.path)",
    "size": "the file's size in bytes",
    "mtime": "the file's modification time when it was indexed (UTC)",
    "pixel_offset": "byte offset of the file's native Pixel Data value (<NA>: none or compressed)",
    "pixel_nbytes": "length of that value in bytes (<NA>: none or compressed)",
    "compressed": "whether the pixel data are compressed (encapsulated)",
    "warning": "what the scan noted about the file: values read as missing... (<NA>: nothing)",
}
_KEYS = {"patient_uid": "_patient", "study_uid": "_study", "series_uid": "_series"}
_KEYS["instance_uid"] = "_instance"
_TEMPORAL = frozenset({"DA", "TM", "DT"})


def _names(columns: Sequence[str] | str | None, frames: bool) -> list[str]:
    """The columns asked for, checked: own names and DICOM keywords."""
    if columns is None:
        own = [c for c in OWN_COLUMNS if frames or c != "frame"]
        return [*TABLE_TAGS, *own]
    wanted = [columns] if isinstance(columns, str) else list(columns)
    for name in wanted:
        if name not in OWN_COLUMNS:
            check_tag(name)  # an UnknownTagError with a suggestion
    return wanted


def _expand(index: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: its instance's index row, its number (-1 without image), its per-frame row."""
    import pandas as pd  # heavy: only when a table is asked for

    n = index.array("NumberOfFrames", rows)
    images = _arrays.has_image(index, rows)
    counts = np.where(images & (n >= 1), np.nan_to_num(n, nan=1.0), 1).astype(np.int64)
    take = np.repeat(np.arange(len(rows)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    number = np.arange(len(take)) - starts
    number[~images[take]] = -1
    fpos = np.full(len(take), -1, dtype=np.int64)
    per_frame = index.frames
    if len(per_frame):
        right = pd.DataFrame(
            {"_path": per_frame["_path"].to_numpy(dtype=object), "_frame": per_frame["_frame"]}
        )
        right["_pos"] = np.arange(len(right))
        right = right.drop_duplicates(["_path", "_frame"])
        left = pd.DataFrame({"_path": index.array("_path", rows[take]), "_frame": number})
        found = left.merge(right, how="left", on=["_path", "_frame"])["_pos"].to_numpy()
        fpos = np.where(np.isnan(found), -1, found).astype(np.int64)
    return rows[take], number, fpos


def _overlay(stored: np.ndarray, index: Any, name: str, fpos: np.ndarray | None) -> np.ndarray:
    """``stored`` (an index column at each frame), the frames' own values where they have one."""
    import pandas as pd  # heavy: only when a table is asked for

    if fpos is None or name not in index.frames.columns or not (fpos >= 0).any():
        return stored
    at = np.flatnonzero(fpos >= 0)
    values = index.frames[name].to_numpy(dtype=object)[fpos[at]]
    present = ~np.asarray(pd.isna(values), dtype=bool)
    out = stored.copy() if stored.dtype.kind == "f" else stored.astype(object)
    out[at[present]] = values[present].astype(out.dtype)
    return out


def _numbers(values: np.ndarray, keyword: str) -> Any:
    """Floats as ``Int64`` for an integer VR when all are whole, else ``float64``."""
    import pandas as pd  # heavy: only when a table is asked for

    values = np.asarray(values, dtype=float)
    present = ~np.isnan(values)
    if vr_of(keyword) in INT_VRS and np.all(values[present] == np.round(values[present])):
        return pd.arrays.IntegerArray(np.where(present, values, 0).astype(np.int64), ~present)
    return values


def _temporal(value: str, keyword: str) -> Any:
    """One DA, TM or DT value as datetime64 / timedelta64 (NaT when it is not valid)."""
    try:
        converted = _arrays.to_coordinate([value], keyword)[0]
    except (ValueError, TypeError, IndexError):
        converted = None
    if isinstance(converted, float | np.floating):  # TM: seconds since midnight
        if not np.isfinite(converted):
            return np.timedelta64("NaT", "us")
        return np.timedelta64(int(round(float(converted) * 1e6)), "us")
    if isinstance(converted, np.datetime64 | np.timedelta64):
        return converted
    return np.timedelta64("NaT", "us") if vr_of(keyword) == "TM" else np.datetime64("NaT", "us")


def _texts(values: np.ndarray, keyword: str) -> Any:
    """Text cells (str or None) as the column of a pandas user: str, tuples or times."""
    import pandas as pd  # heavy: only when a table is asked for

    cells = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    uniques = [None if u == "" else u for u in uniques.tolist()]
    if keyword in JOINED:
        made = np.empty(len(uniques) + 1, dtype=object)
        made[:-1] = [None if u is None else tuple(str(u).split("\\")) for u in uniques]
        made[-1] = None
        return made[codes]
    vr = vr_of(keyword)
    if vr in _TEMPORAL:
        converted = [_temporal(u, keyword) if u else None for u in uniques]
        kind = "m" if vr == "TM" else "M"
        dtype = "timedelta64[us]" if kind == "m" else "datetime64[us]"  # years 1 to 9999
        table = np.array(
            [np.array("NaT", dtype=dtype) if c is None else c for c in converted] + ["NaT"],
            dtype=dtype,
        )
        return pd.array(table[codes])
    text = np.array([*uniques, None], dtype=object)[codes]
    return pd.array(text, dtype="str")


def _vectors(blocks: list[np.ndarray]) -> np.ndarray:
    """Component columns as one column of tuples (None where absent)."""
    block = np.column_stack(blocks) if blocks else np.empty((0, 0))
    out = np.empty(len(block), dtype=object)
    absent: list[bool] = np.all(np.isnan(block), axis=1).tolist()  # not a numpy call per row
    rows = block.tolist()
    out[:] = [None if gone else tuple(r) for r, gone in zip(rows, absent, strict=True)]
    return out


def _python_values(values: list[Any], keyword: str) -> Any:
    """Values of a tag not in the index (Python values), typed as the module docs say."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return _numbers(np.array([np.nan if v is None else v for v in values], float), keyword)
    if all(isinstance(v, str) for v in present) and (present or vr_of(keyword) in _TEMPORAL):
        return _texts(np.array(values, dtype=object), keyword)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _tag_column(index: Any, rows: np.ndarray, keyword: str, fpos: np.ndarray | None) -> Any:
    """The public column of a tag at ``rows`` (per frame when ``fpos`` is given).

    Per instance (``fpos`` None), a file without a value of its own whose
    frames all have one and the same (an enhanced file's functional groups)
    gets that value, as its record reports it.
    """
    shared = _shared(index, rows, keyword) if fpos is None else {}
    if keyword in VECTORS:
        names = [f"{keyword}[{i}]" for i in range(VECTORS[keyword])]
        parts = [_overlay(index.array(c, rows), index, c, fpos).copy() for c in names]
        for k, value in shared.items():
            if np.isnan(parts[0][k]):
                for part, item in zip(parts, value, strict=True):
                    part[k] = item
        return _vectors(parts)
    if keyword in TABLE_TAGS:
        stored = _overlay(index.array(keyword, rows), index, keyword, fpos)
        numeric = vr_of(keyword) in NUMERIC_VRS and stored.dtype.kind in "fiu"
        stored = stored.copy() if numeric else stored.astype(object)
        for k, value in shared.items():
            if _missing(stored[k]):
                stored[k] = value if numeric else "\\".join(map(str, _seq(value)))
        return _numbers(stored, keyword) if numeric else _texts(stored, keyword)
    if fpos is not None and (fpos >= 0).any():  # a frame's own value wins
        return _python_values(_arrays.frame_values(index, _frames_of(rows, fpos), keyword), keyword)
    unique, inverse = np.unique(rows, return_inverse=True)
    values = index.values(unique, keyword)
    per_row = [values[i] for i in inverse]
    for k, value in shared.items():
        if per_row[k] is None:
            per_row[k] = value
    return _python_values(per_row, keyword)


def _seq(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _missing(cell: Any) -> bool:
    return cell is None or cell == "" or (isinstance(cell, float) and np.isnan(cell))


def _shared(index: Any, rows: np.ndarray, keyword: str) -> dict[int, Any]:
    """Positions in ``rows`` of files whose frames have one value of ``keyword``: that value."""
    by_file = frame_values_by_file(index.frames, keyword)
    if not by_file:
        return {}
    paths = index.array("_path", rows)
    out = {}
    for k in np.flatnonzero(is_among(paths, by_file.keys())):
        values = by_file[paths[k]]
        if values and all(v == values[0] for v in values):
            out[int(k)] = values[0]
    return out


def _frames_of(rows: np.ndarray, fpos: np.ndarray) -> pd.DataFrame:
    """The frame table :func:`dbdicom._arrays.frame_values` takes (``_frame`` unused)."""
    import pandas as pd  # heavy: only when a table is asked for

    return pd.DataFrame({"_row": rows, "_frame": np.zeros(len(rows), np.int64), "_fpos": fpos})


def _own_column(db: Any, rows: np.ndarray, name: str, number: np.ndarray | None) -> Any:
    """The dbdicom column ``name`` (see :data:`OWN_COLUMNS`) at ``rows``."""
    import pandas as pd  # heavy: only when a table is asked for

    index = db.index
    if name == "frame":
        known = np.zeros(len(rows), dtype=np.int64) if number is None else number
        return pd.arrays.IntegerArray(np.maximum(known, 0), known < 0)
    if name in _KEYS:
        return pd.array(index.array(_KEYS[name], rows), dtype="str")
    if name == "path":
        return pd.array(db._where(index.array("_path", rows)), dtype="str")
    if name == "size":
        return index.array("_size", rows).astype(np.int64)
    if name == "mtime":
        ns = index.array("_mtime", rows).astype(np.int64)
        return pd.to_datetime(ns, unit="ns", utc=True).where(ns >= 0)
    if name in ("pixel_offset", "pixel_nbytes"):
        known = index.array("_offset" if name == "pixel_offset" else "_nbytes", rows)
        known = np.asarray(known, dtype=np.int64)
        return pd.arrays.IntegerArray(np.maximum(known, 0), known < 0)
    if name == "compressed":
        return np.asarray(index.array("_encapsulated", rows), dtype=bool)
    text = np.array([w or None for w in index.array("_warning", rows)], dtype=object)
    return pd.array(text, dtype="str")


def instance_table(
    record: Any, columns: Sequence[str] | str | None = None, frames: bool = False
) -> pd.DataFrame:
    """The instances below ``record`` as a :class:`pandas.DataFrame` (see the module docs).

    A row per instance in the order of the tree (patients, studies, series,
    instances as ``print()`` lists them); with ``frames``, a row per frame of
    every image (an instance without an image keeps one row, ``frame``
    ``<NA>``), whose values are the frame's own where an enhanced file has
    them (functional groups) and the instance's otherwise.
    """
    import pandas as pd  # heavy: only when a table is asked for

    db = record._db
    index = db.index
    names = _names(columns, frames)
    rows = db._in_order(record._rows())
    number = fpos = None
    if frames:
        rows, number, fpos = _expand(index, rows)
    data = {
        name: (
            _own_column(db, rows, name, number)
            if name in OWN_COLUMNS
            else _tag_column(index, rows, name, fpos)
        )
        for name in names
    }
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def arrow_table(
    record: Any, columns: Sequence[str] | str | None = None, frames: bool = False
) -> pa.Table:
    """:func:`instance_table` as a :class:`pyarrow.Table`.

    Tuples become lists (``list<double>`` for positions, orientations and
    spacings, ``list<string>`` for multi-valued text, whatever the rows
    hold); a column of Python values that Arrow cannot type as one is
    stored as text.
    """
    import pyarrow as pa  # heavy: only when a table is asked for

    table = instance_table(record, columns, frames)
    arrays = {}
    for name in table.columns:
        column = table[name]
        if column.dtype != object:
            arrays[name] = pa.Array.from_pandas(column)
            continue
        cells = [None if v is None else v for v in column.tolist()]
        if name in VECTORS:
            arrays[name] = pa.array(cells, type=pa.list_(pa.float64()))
        elif name in JOINED:
            arrays[name] = pa.array(cells, type=pa.list_(pa.string()))
        else:
            try:
                arrays[name] = pa.array(cells)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arrays[name] = pa.array([None if v is None else str(v) for v in cells])
    return pa.table(arrays)
