"""Matching index values against what a query asks for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["match_values"]


def match_values(values: Sequence[Any], wanted: Any) -> np.ndarray:
    """Which ``values`` equal ``wanted`` (numbers by value, sequences item by item)."""
    if callable(wanted):
        fn: Callable[[Any], bool] = wanted
        return np.array([bool(fn(v)) for v in values], dtype=bool)
    if isinstance(wanted, list):
        wanted = tuple(wanted)
    return np.array([_equal(v, wanted) for v in values], dtype=bool)


def _equal(value: Any, wanted: Any) -> bool:
    if value is None:
        return wanted is None
    if isinstance(wanted, tuple) and isinstance(value, tuple):
        return len(value) == len(wanted) and all(
            _equal(a, b) for a, b in zip(value, wanted, strict=True)
        )
    if isinstance(wanted, int | float) and isinstance(value, int | float):
        return bool(np.isclose(float(value), float(wanted), rtol=0, atol=1e-9))
    return bool(value == wanted) if not isinstance(value, pd.DataFrame) else False
