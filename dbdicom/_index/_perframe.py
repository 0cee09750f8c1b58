"""The table of per-frame values of enhanced multi-frame files.

One row per frame: ``_path`` (the file), ``_frame`` (0-based frame number)
and a column per keyword found in the functional groups. Columns follow the
main index's storage rules (vectors split into ``Keyword[i]`` components,
numbers as ``float64``, text as strings); anything else is kept as Python
values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._columns import VECTORS

__all__ = ["make_frames_table"]


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
