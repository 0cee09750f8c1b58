"""From the frames of a DataArray back to the files they come from.

A DataArray of :meth:`dbdicom.Series.to_xarray` names each frame's source by
its ``SOPInstanceUID`` coordinate. A UID names one instance, but a folder can
hold several files of one UID (copies, or a writer that reused it; listed by
``database.problems()``), and the index keeps each as an instance of its own.
A UID held by one file is that file. Among several, the frame's coordinates
tell which: the file whose values of them are the frame's. Where they do not
(two copies at the same place, or coordinates changed since), the UID names
no file, and that is said, never picked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from .._errors import DicomError
from .._index import Index, text_in

__all__ = ["source_rows"]

#: coordinates that are not values of the index's columns
_NOT_COMPARED = frozenset({"SOPInstanceUID", "frame", "row", "column", "channel"})


def source_rows(index: Index, da: Any, rows: np.ndarray | None = None) -> np.ndarray:
    """The index row of each frame's file, by the ``SOPInstanceUID`` coordinate of ``da``.

    Parameters
    ----------
    index
        The index to look in.
    da : xarray.DataArray
        With a ``SOPInstanceUID`` coordinate (``""`` where a grid point has
        no frame; the key of a file that has no UID names that file).
    rows
        The index rows to look in (default: the files in the tree).

    Returns
    -------
    numpy.ndarray
        ``int64``, shaped like the ``SOPInstanceUID`` coordinate: the row of
        each frame's file, -1 where the UID is in none of ``rows``.

    Raises
    ------
    DicomError
        If several files hold a UID and the frame's coordinates do not tell
        which one the frame comes from: the message names the files and the
        ways out.
    """
    coord = da.coords["SOPInstanceUID"]
    uids = np.asarray(coord.values, dtype=object)
    rows = index.ok if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
    # only the rows that hold one of the UIDs (as UID or as key): one pass in C over
    # each column, not one in Python over every file of the database
    wanted = {str(u) for u in uids.ravel().tolist() if u}
    holding = np.zeros(index.n_rows, dtype=bool)
    if wanted:
        for name in ("SOPInstanceUID", "_instance"):
            holding |= text_in(index.column(name), wanted)
    rows = rows[holding[rows]]
    holders: dict[str, list[int]] = defaultdict(list)
    sop = index.array("SOPInstanceUID", rows)
    keys = index.array("_instance", rows)
    for row, uid, key in zip(rows.tolist(), sop.tolist(), keys.tolist(), strict=True):
        if isinstance(uid, str) and uid:
            holders[uid].append(row)
        if key != uid:  # a file without a UID is named by its key
            holders[str(key)].append(row)
    out = np.full(uids.shape, -1, dtype=np.int64)
    compared: dict[str, np.ndarray] | None = None
    for pos, uid in np.ndenumerate(uids):
        found = holders.get(str(uid), []) if uid else []
        if len(found) == 1:
            out[pos] = found[0]
        elif found:
            if compared is None:
                compared = _compared(index, da, coord)
            out[pos] = _telling(index, found, {k: v[pos] for k, v in compared.items()}, uid)
    return out


def _compared(index: Index, da: Any, coord: Any) -> dict[str, np.ndarray]:
    """The coordinates that tell files apart, on the dims of ``coord``, by column name.

    Numbers and text only (index columns of the same kind): a time of day
    or date coordinate is not the index's text, and is left out.
    """
    names = set(index.frame.columns)
    out = {}
    for name, values in da.coords.items():
        name = str(name)
        if name in _NOT_COMPARED or name.startswith("_") or name not in names:
            continue
        if not set(values.dims) <= set(coord.dims) or values.dtype.kind not in "fiuUO":
            continue
        out[name] = np.asarray(values.broadcast_like(coord).transpose(*coord.dims).values)
    return out


def _telling(index: Index, found: list[int], wanted: dict[str, Any], uid: str) -> int:
    """The one of the rows ``found`` (files of one ``uid``) whose values are ``wanted``."""
    keep = list(found)
    for name, value in wanted.items():
        cells = index.array(name, np.array(keep, dtype=np.int64))
        keep = [row for row, cell in zip(keep, cells.tolist(), strict=True) if _same(cell, value)]
    if len(keep) == 1:
        return keep[0]
    paths = index.locations(index.array("_path", np.array(found, dtype=np.int64)).tolist())
    told = ", ".join(sorted(map(str, paths)))
    why = "at the same place" if keep else "none at the frame's coordinates"
    raise DicomError(
        f"SOPInstanceUID {uid} is held by {len(found)} files ({told}), {why}: the array's "
        "SOPInstanceUID coordinate cannot say which one a frame comes from. Give each file "
        "a UID of its own (instance.SOPInstanceUID = pydicom.uid.generate_uid() on a copy; "
        "database.problems() lists them) or remove the copies, then make the array again; "
        "or give the headers yourself (series.set_xarray(da, header=...)), or drop the "
        "coordinate (da.drop_vars('SOPInstanceUID'))."
    )


def _same(cell: Any, value: Any) -> bool:
    """Whether an index cell holds a coordinate's value (numbers to 1e-6; NaN: no value)."""
    if isinstance(value, str):
        return isinstance(cell, str) and cell == value or (not value and cell is None)
    try:
        a, b = float(cell), float(value)
    except (TypeError, ValueError):
        return False
    if a != a or b != b:
        return a != a and b != b
    return bool(np.isclose(a, b, rtol=0, atol=1e-6))
