"""Placing frames on a grid whose axes are DICOM tags.

Each dim's coordinate is the sorted distinct values of its tag; each frame
goes to the cell of its values. The rules (invariant 3: no frame silently
dropped, duplicated or mixed):

* a frame without a value for a dim is refused (the error names the files);
* two frames in one cell are refused, unless the caller asked for an extra
  axis ``n`` enumerating them (the numpy ``array()`` API), in which case they
  are ordered by InstanceNumber, then frame number;
* an empty cell is refused unless ``fill=True`` (then it holds NaN).

Numbers are grouped after rounding to 1e-4 (positions in mm, times in s),
and the coordinate keeps the first value seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import GridError
from .._index import factorize

__all__ = ["Grid", "GridError", "make_grid", "shown"]

_DECIMALS = 4


def shown(value: Any) -> str:
    """A coordinate value as a message shows it: ``5.0``, ``'ax'``, not ``np.float64(5.0)``.

    Examples
    --------
    >>> shown(np.float64(5.0)), shown(np.int64(3)), shown(np.str_("ax")), shown(None)
    ('5.0', '3', "'ax'", 'None')
    >>> shown(np.datetime64("2024-01-02T10:00"))
    '2024-01-02T10:00'
    """
    if isinstance(value, np.datetime64 | np.timedelta64):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


@dataclass
class Grid:
    """Where every frame goes.

    Attributes
    ----------
    dims : list of str
        The tag dims (plus ``"n"`` when repeats are enumerated).
    coords : dict
        The coordinate of each dim (sorted distinct values).
    shape : tuple of int
        The grid's shape.
    cell : numpy.ndarray
        Per frame, its flat position in the grid.
    """

    dims: list[str]
    coords: dict[str, np.ndarray]
    shape: tuple[int, ...]
    cell: np.ndarray

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def frame_at(self) -> np.ndarray:
        """Per flat cell, the frame there (-1 for an empty cell)."""
        out = np.full(self.size, -1, dtype=np.int64)
        out[self.cell] = np.arange(len(self.cell))
        return out


def _codes(
    values: np.ndarray, dim: str, describe: Callable[[np.ndarray], str]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of ``values`` in sorted order, and the distinct values."""
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        keys: Any = np.round(values, _DECIMALS)
    elif values.dtype.kind == "M":
        missing = np.isnat(values)
        keys = values
    else:
        missing = np.array([v is None or v == "" for v in values], dtype=bool)
        keys = values
    if missing.any():
        raise GridError(
            f"{missing.sum()} of {len(values)} frames have no {dim!r} "
            f"({describe(np.flatnonzero(missing))}), so they have no place along that dim. "
            f"Choose dims that every frame has, or leave those frames out."
        )
    codes, uniques = factorize(np.asarray(keys), sort=True)
    first = np.empty(len(uniques), dtype=values.dtype)
    first[codes[::-1]] = values[::-1]
    return codes, first


def make_grid(
    values: dict[str, np.ndarray],
    n_frames: int,
    *,
    repeats: np.ndarray | None = None,
    fill: bool = False,
    describe: Callable[[np.ndarray], str] = lambda idx: f"frames {list(idx[:5])}",
    suggest: Callable[[np.ndarray], Sequence[str]] = lambda idx: (),
) -> Grid:
    """Place ``n_frames`` frames on the grid of the dims in ``values``.

    Parameters
    ----------
    values : dict of str to array
        For each dim, its value at each frame.
    repeats : array, optional
        An order key per frame; when given, frames sharing a cell are
        enumerated along an extra last dim ``"n"`` instead of refused.
    fill : bool
        Allow empty cells.
    describe, suggest : callable
        Name the files of some frames; propose tags that tell frames apart
        (for the error messages).

    Examples
    --------
    >>> g = make_grid({"z": np.array([2.0, 1.0, 2.0, 1.0]), "t": np.array([5., 5., 9., 9.])}, 4)
    >>> g.shape, g.coords["z"].tolist(), g.cell.tolist()
    ((2, 2), [1.0, 2.0], [2, 0, 3, 1])
    """
    dims = list(values)
    codes = []
    coords: dict[str, np.ndarray] = {}
    for dim in dims:
        c, u = _codes(values[dim], dim, describe)
        codes.append(c)
        coords[dim] = u
    shape = tuple(len(coords[d]) for d in dims)
    if dims:
        flat = np.ravel_multi_index(codes, shape) if n_frames else np.array([], dtype=np.int64)
    else:
        flat = np.zeros(n_frames, dtype=np.int64)
    size = int(np.prod(shape, dtype=np.int64))
    counts = np.bincount(flat, minlength=size)
    if repeats is not None and counts.max(initial=0) > 1:
        order = np.lexsort((repeats, flat))
        slot = np.empty(n_frames, dtype=np.int64)
        starts = np.r_[0, np.flatnonzero(np.diff(flat[order])) + 1]
        run = np.arange(n_frames) - np.repeat(starts, np.diff(np.r_[starts, n_frames]))
        slot[order] = run
        n = int(counts.max())
        dims = [*dims, "n"]
        coords["n"] = np.arange(n)
        shape = (*shape, n)
        flat = flat * n + slot
        counts = np.bincount(flat, minlength=size * n)
        size *= n
    elif repeats is not None:
        dims = [*dims, "n"]
        coords["n"] = np.arange(1)
        shape = (*shape, 1)
    collide = np.flatnonzero(counts > 1)
    if len(collide):
        frames = np.flatnonzero(flat == collide[0])
        where = ", ".join(
            f"{d}={shown(coords[d][i])}"
            for d, i in zip(dims, np.unravel_index(collide[0], shape), strict=True)
        )
        hint = list(suggest(frames))
        more = (
            f" They differ in {', '.join(hint)}: add one of these to dims."
            if hint
            else (" Add a dim that tells them apart.")
        )
        raise GridError(
            f"{len(collide)} grid points hold more than one frame: e.g. {where} holds "
            f"{len(frames)} ({describe(frames)}).{more}"
        )
    holes = np.flatnonzero(counts == 0)
    if len(holes) and not fill and repeats is None:
        listed = "; ".join(
            ", ".join(
                f"{d}={shown(coords[d][i])}"
                for d, i in zip(dims, np.unravel_index(h, shape), strict=True)
            )
            for h in holes[:5]
        )
        raise GridError(
            f"the grid of {dims} has {len(holes)} empty points of {size} (e.g. {listed}): "
            "the frames do not form a full grid. Pass fill=True to fill them with NaN, or "
            "choose other dims."
        )
    return Grid(dims=dims, coords=coords, shape=shape, cell=flat)
