"""The table of per-frame values of enhanced multi-frame files.

One row per frame: ``_path`` (the file), ``_frame`` (0-based frame number)
and a column per keyword found in the functional groups. Columns follow the
main index's storage rules (vectors split into ``Keyword[i]`` components,
numbers as ``float64``, text as strings); anything else is kept as Python
values.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .._facade import pandas as pd
from ._columns import INT_VRS, VECTORS, vr_of

__all__ = ["frame_values_by_file", "make_frames_table"]

# per keyword: the frames table it was found in (weakly), and the values by file
_BY_FILE: dict[str, tuple[weakref.ref[pd.DataFrame], dict[str, list[Any]]]] = {}


def make_frames_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Build the frames table from one dict per frame.

    Examples
    --------
    >>> t = make_frames_table([{"_path": "a", "_frame": 0, "EchoTime": 5.0,
    ...                         "ImagePositionPatient": (0.0, 1.0, 2.0)}])
    >>> t["ImagePositionPatient[2]"].iloc[0], t["EchoTime"].iloc[0]
    (np.float64(2.0), np.float64(5.0))
    """
    data: dict[str, Any] = {
        "_path": pd.array([r["_path"] for r in rows], dtype="str"),
        "_frame": np.array([r["_frame"] for r in rows], dtype=np.int64),
    }
    keywords = dict.fromkeys(k for r in rows for k in r if not k.startswith("_"))
    for keyword in keywords:
        values = [r.get(keyword) for r in rows]
        n = VECTORS.get(keyword)
        if n and all(v is None or _is_vector(v, n) for v in values):
            block = np.full((len(rows), n), np.nan)
            for i, v in enumerate(values):
                if v is not None:
                    block[i] = [np.nan if x is None else x for x in v]
            for j in range(n):
                data[f"{keyword}[{j}]"] = block[:, j]
        elif all(v is None or isinstance(v, int | float) for v in values):
            data[keyword] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif all(v is None or isinstance(v, str) for v in values):
            data[keyword] = pd.array(values, dtype="str")
        else:
            data[keyword] = pd.Series(values, dtype=object)
    return pd.DataFrame(data)


def _is_vector(value: Any, n: int) -> bool:
    """Whether ``value`` is a tuple of ``n`` numbers (None for an empty one).

    Examples
    --------
    >>> _is_vector((1.0, None, 2), 3), _is_vector((1.0, "x", 2), 3), _is_vector((1.0,), 3)
    (True, False, False)
    """
    return (
        isinstance(value, tuple)
        and len(value) == n
        and all(x is None or isinstance(x, int | float) for x in value)
    )


def frame_values_by_file(frames: pd.DataFrame, keyword: str) -> dict[str, list[Any]]:
    """Per file with frames that hold ``keyword``: their values, one per frame that has one.

    Values as the index gives them (tuples of floats for vectors, ``int``
    for integer VRs, ``float``, ``str``); the frames table is read once per
    keyword while it is the same table (reads and queries of a record ask
    again and again). Empty when no frame holds the keyword.

    Examples
    --------
    >>> t = make_frames_table([{"_path": "a", "_frame": k, "InStackPositionNumber": k + 1}
    ...                        for k in range(2)])
    >>> frame_values_by_file(t, "InStackPositionNumber"), frame_values_by_file(t, "EchoTime")
    ({'a': [1, 2]}, {})
    """
    kept = _BY_FILE.get(keyword)
    if kept is not None and kept[0]() is frames:
        return kept[1]
    n = VECTORS.get(keyword)
    cells = [f"{keyword}[{i}]" for i in range(n)] if n else [keyword]
    found: dict[str, list[Any]] = {}
    if len(frames) and all(c in frames.columns for c in cells):
        block = frames[cells].to_numpy(dtype=object)
        whole = vr_of(keyword) in INT_VRS
        for path, where in frames.groupby("_path", observed=True, sort=False).indices.items():
            values = [_plain(cell, n, whole) for cell in block[where]]
            found[str(path)] = [v for v in values if v is not None]
    if len(_BY_FILE) > 64:
        _BY_FILE.clear()
    _BY_FILE[keyword] = (weakref.ref(frames), found)
    return found


def _plain(cell: np.ndarray, n: int | None, whole: bool) -> Any:
    """One frame's cells as one value; None when it has none."""
    if any(v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) for v in cell):
        return None
    if n:
        return tuple(float(v) for v in cell)
    value = cell[0]
    if isinstance(value, float | np.floating):
        return int(value) if whole else float(value)
    return value.item() if isinstance(value, np.generic) else value
