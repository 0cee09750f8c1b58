"""Series as lazy, labelled :class:`xarray.DataArray` objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from .._errors import GridError
from .._index import LEVEL_TAGS, Index
from ._affine import pixel_coords
from ._chunks import Chunks, chunk_block, chunk_request
from ._diffusion import DIFFUSION
from ._frames import Frames
from ._grid import Grid
from ._layout import INSTANCE_TAGS, Layout, layout
from ._lazy import WEB_CHUNK_BYTES, auto_block, lazy_frames
from ._plain import attr_value, labels, per_frame_arrays, same_along
from ._table import FRAME

__all__ = ["build_dataarray", "stack"]

#: the name of the DataArray of a series without SeriesDescription
UNNAMED = "pixels"
_UPPER = frozenset(LEVEL_TAGS["patient"] + LEVEL_TAGS["study"] + LEVEL_TAGS["series"])


def build_dataarray(
    index: Index,
    rows: np.ndarray,
    dims: str | Sequence[str] | None,
    *,
    fill: bool = False,
    repeats: bool = False,
    name: str | None = None,
    token: str = "",
    group: tuple[Any, ...] | None = None,
    chunks: Chunks = None,
    shared_chunks: bool = False,
) -> xr.DataArray:
    """The lazy DataArray of the frames of the instances at ``rows``.

    ``repeats=True`` enumerates frames sharing a grid point along a last tag
    dim ``n`` (the numpy API); ``group`` selects one key of
    :func:`~._frames.geometry_groups`; ``chunks=False`` gives a lazily indexed array
    without dask, other ``chunks`` as :mod:`._chunks` says (see
    :meth:`dbdicom.Series.to_xarray`); ``shared_chunks``: ``chunks`` is given
    to the arrays of several series, each taking the dims it has.
    """
    request = chunk_request(chunks)  # refused before anything is read
    placed = layout(index, rows, dims, fill=fill, repeats=repeats, group=group)
    grid = placed.grid
    frame_shape = placed.formats[0].frame_shape
    block = chunk_block(request, grid.dims, grid.shape, frame_shape, placed.dtype, shared_chunks)
    return _assemble(placed, name, token, block)


def _assemble(
    placed: Layout,
    name: str | None,
    token: str,
    block: list[int] | Literal[False] | None = None,
) -> xr.DataArray:
    frames, grid, formats = placed.frames, placed.grid, placed.formats
    index = frames.index
    table = frames.table
    frame_at = grid.frame_at()
    present = frame_at >= 0
    pick = frame_at[present]
    if block is None and index.archive is not None:  # frames on a server: larger chunks
        frame_bytes = placed.dtype.itemsize * int(np.prod(formats[0].frame_shape))
        block = auto_block(grid.shape, frame_bytes, WEB_CHUNK_BYTES)
    data = lazy_frames(
        grid.shape,
        frame_at,
        placed.paths(),
        table["_frame"],
        table["_offset"],
        table["_nbytes"],
        [formats[w] for w in placed.which],
        placed.slopes,
        placed.intercepts,
        placed.dtype,
        token=token,
        block=block,
        sizes=table["_size"],
        mtimes=table["_mtime"],
        uids=frames.column("SOPInstanceUID"),
    )
    pixel_dims = ["row", "column"] + (["channel"] if len(formats[0].frame_shape) > 2 else [])
    # the volumes of a diffusion series have no coordinate: their b-values and directions say
    coords: dict[str, Any] = {d: labels(grid.coords[d]) for d in grid.dims if d != DIFFUSION}
    coords["SOPInstanceUID"] = (grid.dims, placed.instance_uids())
    coords.update(pixel_coords(*formats[0].frame_shape[:2]))  # followed by selections
    if (table["_frame"] > 0).any() and FRAME not in grid.dims:
        coords[FRAME] = (grid.dims, _spread(table["_frame"][pick], present, grid, -1))
    attrs: dict[str, Any] = {}
    absent = index.absent() if not frames.per_frame else frozenset()
    derived = {k: v for k, v in placed.derived.items() if k not in grid.dims}
    for keyword in _frame_keywords(frames):
        if keyword in grid.dims or keyword in absent or keyword in derived:
            continue
        _place(keyword, frames, pick, present, grid, attrs, coords)
    for keyword, per_frame in derived.items():  # a diffusion series' b-values, directions
        _varying(coords, keyword, per_frame[pick], present, grid)
    # the patient's, study's and series' own: shared by the frames of one series, but
    # not by those of several stacked (db.to_xarray([a, b])), nor by files that disagree
    for keyword in sorted(_UPPER - absent):
        if keyword not in coords and keyword not in attrs:
            _place(keyword, frames, pick, present, grid, attrs, coords)
    da = xr.DataArray(
        data,
        dims=[*grid.dims, *pixel_dims],
        coords=coords,
        attrs=dict(sorted(attrs.items())),
        name=name,
    )
    # without a description "pixels" (as a DataTree's variable), not the dask graph's
    # name xarray would take (a token; the folder's path from a database's export)
    da.name = name if name is not None else UNNAMED
    return da


def _place(
    keyword: str,
    frames: Frames,
    pick: np.ndarray,
    present: np.ndarray,
    grid: Grid,
    attrs: dict[str, Any],
    coords: dict[str, Any],
) -> None:
    """A tag's values at the frames ``pick``: an attr where all share one, else a coordinate.

    A coordinate on the dims the values vary along (none without tag dims:
    a value the frames do not share is then left out).
    """
    same = frames.constant(keyword)
    if same is None:
        values = frames.raw(keyword, read=False)
        picked = [values[int(k)] for k in pick]
        same = len({repr(v) for v in picked}) == 1
        value = picked[0]
    else:
        value = frames.value_at(keyword, int(pick[0])) if same else None
    if same:
        _shared(keyword, value, attrs, coords)
    elif grid.dims:
        _varying(coords, keyword, frames.coordinate(keyword)[pick], present, grid)


def _varying(
    coords: dict[str, Any], keyword: str, values: np.ndarray, present: np.ndarray, grid: Grid
) -> None:
    """The coordinates of a tag's ``values`` at the present frames, on the dims they vary along."""
    arrays = per_frame_arrays(keyword, values)
    # a value of a tag of several given as a dim (Keyword[i]) is its coordinate
    arrays = {key: arr for key, arr in arrays.items() if key not in grid.dims}
    spread = {key: _spread(arr, present, grid) for key, arr in arrays.items()}
    dims = _varying_dims(list(spread.values()), grid.dims)
    for key, arr in spread.items():
        coords[key] = (dims, _reduce(arr, grid.dims, dims))


def _shared(keyword: str, value: Any, attrs: dict[str, Any], coords: dict[str, Any]) -> None:
    """Put a value shared by all frames in the attrs, or (a date) in the scalar coords."""
    where, plain = attr_value(keyword, value)
    if where == "attr":
        attrs[keyword] = plain
    elif where == "coord":
        coords[keyword] = ((), plain)


def _varying_dims(arrays: list[np.ndarray], dims: Sequence[str]) -> tuple[str, ...]:
    """The dims along which any of ``arrays`` (laid on the grid) varies."""
    return tuple(d for axis, d in enumerate(dims) if not all(same_along(a, axis) for a in arrays))


def _reduce(values: np.ndarray, dims: Sequence[str], keep: Sequence[str]) -> np.ndarray:
    """``values`` (on ``dims``) along the dims ``keep`` only (the same along the others)."""
    index = tuple(slice(None) if d in keep else 0 for d in dims)
    return values[index]


def _spread(values: np.ndarray, present: np.ndarray, grid: Grid, empty: Any = None) -> np.ndarray:
    """Values of the present frames laid on the grid (``empty`` elsewhere)."""
    kind = values.dtype.kind
    if kind == "f":
        out = np.full(grid.size, np.nan)
    elif kind == "M":
        out = np.full(grid.size, np.datetime64("NaT"), dtype=values.dtype)
    elif kind in "iu":
        out = np.full(grid.size, empty if empty is not None else 0, dtype=values.dtype)
    else:
        out = np.full(grid.size, "" if kind == "U" else None, dtype=object)
    out[present] = values
    if kind == "U":
        out = out.astype(str)
    return out.reshape(grid.shape)


def _frame_keywords(frames: Frames) -> list[str]:
    """Tags that may vary per frame: instance tags of the index, and per-frame ones.

    SOPInstanceUID is never one: a frame belongs to the instance of its file.
    """
    keys = list(INSTANCE_TAGS)
    if frames.per_frame:
        columns = [c for c in frames.index.frames.columns if not c.startswith("_")]
        keys += [c.split("[")[0] for c in columns if c != "SOPInstanceUID"]
    return list(dict.fromkeys(keys))


def stack(
    series: Sequence[Any], dims: str | Sequence[str] | None = None, *, fill: bool = False
) -> xr.DataArray:
    """Several series of one database as one DataArray, stacked along tag dims.

    Series that differ by a tag become one dim of it: two series of the same
    slices at flip angles 5 and 10 give ``dims=["SliceLocation", "FlipAngle"]``.
    The frames are placed exactly as the frames of one series would be.
    """
    if not series:
        raise GridError("no series given to stack")
    if len({id(s.database) for s in series}) > 1:
        raise GridError("the series to stack come from different databases")
    db = series[0].database
    rows = np.unique(np.concatenate([s._rows() for s in series]))
    return build_dataarray(db.index, rows, dims, fill=fill, token="stack")
