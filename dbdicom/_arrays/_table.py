"""The frames of a set of instances, and the value of any tag at each frame.

A series is a set of instances; an instance holds one frame or several. The
frame table has one row per frame with where to read it (file, frame number,
byte offset) and where its values live (its index row, and for enhanced
multi-frame files its row of the per-frame table).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._facade import is_na
from .._index import TAGS, VECTORS, Index, is_among, vr_of
from ._plain import dt_datetime64

__all__ = [
    "FRAME",
    "FrameTable",
    "frame_table",
    "frame_values",
    "has_image",
    "to_coordinate",
    "why_no_image",
]

#: the pseudo-tag numbering the frames of a multi-frame file without per-frame values
FRAME = "frame"

#: one row per frame: column name -> numpy array (see :func:`frame_table`)
FrameTable = dict[str, np.ndarray]


def has_image(index: Index, rows: np.ndarray) -> np.ndarray:
    """Per instance at index positions ``rows``, whether it holds an image.

    The one rule of what a frame is: an instance with a size (Rows and
    Columns) and pixel data, (7FE0,0010) Pixel Data native or encapsulated,
    or Float or Double Float Pixel Data, whose description can fit its
    data (the scan's ``_image`` is empty: no Bits Allocated of 12, no billion
    frames in a small file). Raw data, structured reports, presentation
    states... with no pixel data hold no frame, even with Rows.
    """
    sized = np.nan_to_num(np.asarray(index.array("Rows", rows), dtype=float)) > 0
    sized &= np.nan_to_num(np.asarray(index.array("Columns", rows), dtype=float)) > 0
    pixels = (
        (index.array("_offset", rows) >= 0)
        | (index.array("_nbytes", rows) >= 0)
        | np.asarray(index.array("_encapsulated", rows), dtype=bool)
        | (index.array("_float_bits", rows) > 0)
    )
    readable = index.array("_image", rows) == ""
    return np.asarray(sized & pixels & readable, dtype=bool)


def why_no_image(index: Index, rows: np.ndarray) -> str:
    """Why the instances at ``rows`` (which :func:`has_image` leaves out) have no frame.

    Examples
    --------
    ``"2 instance(s) have no pixel data (e.g. raw data, a structured report or
    a presentation state)"``, or for an image refused at the scan:
    ``"1 instance(s) hold an image that cannot be read as described (a/b.dcm:
    (0028,0100) 'Bits Allocated' is 12: ...); database.problems() lists them"``.
    """
    reasons = index.array("_image", rows)
    refused = np.flatnonzero(reasons != "")
    parts = []
    if len(rows) > len(refused):
        parts.append(
            f"{len(rows) - len(refused)} instance(s) have no pixel data (e.g. raw data, "
            "a structured report or a presentation state)"
        )
    if len(refused):
        first = int(rows[refused[0]])
        parts.append(
            f"{len(refused)} instance(s) hold an image that cannot be read as described "
            f"({index.array('_path', np.array([first]))[0]}: {reasons[refused[0]]}); "
            "database.problems() lists them"
        )
    return "; ".join(parts)


def frame_table(index: Index, rows: np.ndarray) -> FrameTable:
    """One row per frame of the instances at index positions ``rows``: a dict of arrays.

    Columns: ``_row`` (index position), ``_frame`` (0-based frame in its
    file), ``_fpos`` (row of the per-frame table, -1 if none), ``_path``,
    ``_offset``, ``_nbytes``, ``_size`` and ``_mtime`` (of the file when
    indexed), ``_instance`` (instance key). Only instances that hold an
    image (:func:`has_image`) have frames.
    """
    rows = rows[has_image(index, rows)]
    n_frames = index.array("NumberOfFrames", rows)
    counts = np.where(np.isnan(n_frames) | (n_frames < 1), 1, n_frames).astype(np.int64)
    row_of = np.repeat(rows, counts)
    if (counts == 1).all():
        frame_no = np.zeros(len(rows), dtype=np.int64)
    else:
        frame_no = np.concatenate([np.arange(c) for c in counts])
    fpos = np.full(len(row_of), -1, dtype=np.int64)
    if index.n_frames:
        # every file with functional groups, also of one frame (NumberOfFrames 1 or
        # missing): its geometry is in them, not at the top level
        frame_paths = index.frames_array("_path")
        paths = index.array("_path", row_of)
        grouped = is_among(paths, frame_paths.tolist())
        if grouped.any():
            lookup = {
                (p, int(f)): i
                for i, (p, f) in enumerate(
                    zip(frame_paths, index.frames_array("_frame"), strict=True)
                )
            }
            for k in np.flatnonzero(grouped):
                fpos[k] = lookup.get((paths[k], int(frame_no[k])), -1)
    return {
        "_row": row_of,
        "_frame": frame_no,
        "_fpos": fpos,
        "_path": index.array("_path", row_of),
        "_offset": index.array("_offset", row_of),
        "_nbytes": index.array("_nbytes", row_of),
        "_size": index.array("_size", row_of),
        "_mtime": index.array("_mtime", row_of),
        "_instance": index.array("_instance", row_of),
    }


def frame_values(index: Index, table: FrameTable, keyword: str, read: bool = True) -> list[Any]:
    """The value of ``keyword`` at every frame of ``table``.

    A per-frame value (functional groups of enhanced multi-frame files) wins
    over the value of the instance; the pseudo-tag ``"frame"`` gives the
    frame number within the file. With ``read=False``, a tag that the index
    does not hold is not read from the files (its instance value is None).
    """
    if keyword == FRAME:
        return [int(f) for f in table["_frame"]]
    rows = table["_row"]
    unique, inverse = np.unique(rows, return_inverse=True)
    if read or keyword in TAGS or index.holds(keyword):
        per_instance = index.values(unique, keyword)
    else:
        per_instance = [None] * len(unique)
    values = [per_instance[i] for i in inverse]
    fpos = table["_fpos"]
    if (fpos >= 0).any():
        frames = index.frames
        n = VECTORS.get(keyword)
        cols = [f"{keyword}[{i}]" for i in range(n)] if n else [keyword]
        if all(c in frames.columns for c in cols):
            where = np.flatnonzero(fpos >= 0)
            at = fpos[where].astype(np.int64)
            # each column taken once at those frames (``frames[c].iat[i]`` per frame was
            # ~40 us, i.e. ~150 ms for a 40-frame enhanced file's to_xarray)
            taken = [frames[c].take(at).to_numpy(dtype=object) for c in cols]
            for j, k in enumerate(where.tolist()):
                cells = [column[j] for column in taken]
                if n:
                    if not any(_missing(c) for c in cells):
                        values[k] = tuple(float(c) for c in cells)
                elif not _missing(cells[0]):
                    values[k] = _plain(cells[0], keyword)
    return values


def _missing(value: Any) -> bool:
    return value is None or is_na(value) or (isinstance(value, float) and np.isnan(value))


def _plain(value: Any, keyword: str) -> Any:
    if isinstance(value, np.floating | float):
        return int(value) if vr_of(keyword) in ("IS", "US", "SS", "UL", "SL") else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def tm_seconds(value: str) -> float:
    """A DICOM time (``HHMMSS.FFFFFF``, parts optional) as seconds since midnight.

    Examples
    --------
    >>> tm_seconds("101530.5")
    36930.5
    """
    text = value.strip().replace(":", "")
    hours = int(text[0:2]) if len(text) >= 2 else 0
    minutes = int(text[2:4]) if len(text) >= 4 else 0
    seconds = float(text[4:]) if len(text) > 4 else 0.0
    return hours * 3600 + minutes * 60 + seconds


def _tm_array(values: list[Any]) -> np.ndarray:
    """:func:`tm_seconds` of many values at once (NaN where absent)."""
    out = np.full(len(values), np.nan)
    seen: dict[str, float] = {}
    for i, v in enumerate(values):
        if v in seen:
            out[i] = seen[v]
        elif v:
            try:  # the common form HHMMSS[.FFFFFF] first
                out[i] = int(v[0:2]) * 3600 + int(v[2:4]) * 60 + float(v[4:] or 0)
            except ValueError:
                out[i] = tm_seconds(v)
            seen[v] = out[i]
    return out


def to_coordinate(values: list[Any], keyword: str) -> np.ndarray:
    """Per-frame values as a coordinate array, in physical units.

    Numbers become ``float64`` (``NaN`` where absent), but ``frame`` (the
    0-based index of a frame in its file, which every frame has) ``int64``; times (VR ``TM``)
    seconds since midnight as ``float64``; dates (``DA``) ``datetime64[D]``;
    date-times (``DT``) ``datetime64[us]`` (see :func:`~._plain.dt_datetime64`);
    vectors and other multi-values an object array of tuples; text an array
    of ``str``. :func:`~._plain.per_frame_arrays` makes the coordinates of
    a DataArray from them.
    """
    if keyword == FRAME:  # an index into a file (every frame has one): an integer
        return np.array(values, dtype=np.int64)
    vr = vr_of(keyword)
    present = [v for v in values if v is not None]
    if vr == "TM" and all(isinstance(v, str) for v in present):
        return _tm_array(values)
    if vr == "DA" and all(isinstance(v, str) for v in present):
        return np.array(
            [
                np.datetime64("NaT") if not v else np.datetime64(f"{v[:4]}-{v[4:6]}-{v[6:8]}")
                for v in values
            ],
            dtype="datetime64[D]",
        )
    if vr == "DT" and present and all(isinstance(v, str) for v in present):
        return np.array(
            [np.datetime64("NaT", "us") if not v else dt_datetime64(v) for v in values],
            dtype="datetime64[us]",
        )
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if all(isinstance(v, str) for v in present) and len(present) == len(values):
        return np.array(values, dtype=str)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
