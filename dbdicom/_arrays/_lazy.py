"""The lazy array: one dask task per frame, each carrying a path and offsets.

Tasks hold only plain values (a path, frame number, byte offset and length,
the pixel format and the rescale), never an open file, so the graph pickles
to other processes and machines (``dask.distributed``). Each task reads its
one frame (:func:`dbdicom._files.read_frames`), so indexing a DataArray
reads only the frames it selects.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph

from .. import _files

__all__ = ["lazy_frames", "output_dtype", "load_frame"]


def output_dtype(fmt: _files.PixelFormat, slopes: np.ndarray, intercepts: np.ndarray) -> np.dtype:
    """The dtype of pixel values in physical units.

    Stored integers stay integers when every RescaleSlope is 1 and every
    RescaleIntercept a whole number, in the smallest integer type that holds
    the stored range shifted by the intercepts (e.g. CT's ``int16`` with
    intercept -1024 gives ``int32``); otherwise ``float32``.

    Examples
    --------
    >>> from dbdicom._files import PixelFormat
    >>> f = PixelFormat(rows=2, columns=2, bits_allocated=16, pixel_representation=1)
    >>> output_dtype(f, np.array([1.0]), np.array([-1024.0]))
    dtype('int32')
    >>> output_dtype(f, np.array([1.0]), np.array([0.0]))
    dtype('int16')
    >>> output_dtype(f, np.array([2.5]), np.array([0.0]))
    dtype('float32')
    """
    stored = fmt.dtype
    if stored.kind not in "iu":
        return np.dtype(np.float32)
    if np.all(slopes == 1) and np.all(intercepts == np.round(intercepts)):
        info = np.iinfo(stored)
        low = info.min + float(intercepts.min(initial=0))
        high = info.max + float(intercepts.max(initial=0))
        if np.all(intercepts == 0):
            return stored
        for candidate in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64):
            ci = np.iinfo(candidate)
            if ci.min <= low and high <= ci.max:
                return np.dtype(candidate)
    return np.dtype(np.float32)


def load_frame(
    path: str,
    frame: int,
    offset: int,
    nbytes: int,
    fmt: _files.PixelFormat,
    slope: float,
    intercept: float,
    dtype: np.dtype,
    lead: int,
) -> np.ndarray:
    """Read one frame in physical units, shaped ``(1,) * lead + frame shape``."""
    stored = _files.read_frames(path, [frame], fmt, offset, nbytes)[0]
    if slope == 1 and intercept == 0:
        out = stored.astype(dtype, copy=False)
    elif dtype.kind == "f":
        out = (stored.astype(dtype) * dtype.type(slope) + dtype.type(intercept)).astype(dtype)
    else:
        out = stored.astype(dtype) + dtype.type(intercept)
    return out.reshape((1,) * lead + out.shape)


def _hole(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return np.full(shape, np.nan if dtype.kind == "f" else 0, dtype=dtype)


def load_block(
    items: list[tuple[int, str, int, int, int, _files.PixelFormat, float, float]],
    shape: tuple[int, ...],
    frame_shape: tuple[int, ...],
    dtype: np.dtype,
) -> np.ndarray:
    """Read the frames of one block of grid points into one array.

    ``items`` hold, per frame, its flat position in the block and what
    :func:`load_frame` needs; positions not listed are empty (NaN, or 0).
    """
    out = _hole((int(np.prod(shape)), *frame_shape), dtype)
    for pos, path, frame, offset, nbytes, fmt, slope, intercept in items:
        out[pos] = load_frame(path, frame, offset, nbytes, fmt, slope, intercept, dtype, 0)
    return out.reshape(shape + frame_shape)


def lazy_frames(
    shape: tuple[int, ...],
    frame_at: np.ndarray,
    paths: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    nbytes: np.ndarray,
    fmts: Sequence[_files.PixelFormat],
    slopes: np.ndarray,
    intercepts: np.ndarray,
    dtype: np.dtype,
    token: str = "",
    block: Sequence[int] | None = None,
) -> da.Array:
    """A dask array of shape ``shape + frame shape``.

    ``frame_at`` gives, per flat grid cell, the frame (row of the other
    arrays) that fills it, or -1 for an empty cell (NaN, or 0 for integers).
    ``paths`` are absolute; ``fmts`` the pixel format of each frame (all of
    one frame shape). By default each chunk is one frame, so a selection
    reads only the frames it selects; ``block`` (grid points per chunk along
    each tag dim) groups frames into fewer, larger tasks, which computes
    whole arrays faster but reads a whole chunk for any part of it.
    """
    name = f"dbdicom-{token}-{uuid.uuid4().hex[:12]}"
    lead = len(shape)
    frame_shape = fmts[0].frame_shape if len(fmts) else (0, 0)
    tail = (0,) * len(frame_shape)
    sizes = tuple(block) if block else (1,) * lead
    dim_chunks = [
        tuple(min(b, n - s) for s in range(0, n, b)) for n, b in zip(shape, sizes, strict=True)
    ]
    grid = frame_at.reshape(shape) if lead else frame_at
    graph: dict[Any, Any] = {}

    def item(k: int) -> tuple[Any, ...]:
        return (
            str(paths[k]),
            int(frames[k]),
            int(offsets[k]),
            int(nbytes[k]),
            fmts[k],
            float(slopes[k]),
            float(intercepts[k]),
        )

    if all(b == 1 for b in sizes):
        index = np.unravel_index(np.arange(len(frame_at)), shape) if lead else ()
        cells = list(zip(*(i.tolist() for i in index), strict=True)) if lead else [()]
        for flat, k in enumerate(frame_at.tolist()):
            key = (name, *cells[flat], *tail)
            if k < 0:
                graph[key] = (_hole, (1,) * lead + frame_shape, dtype)
            else:
                graph[key] = (load_frame, *item(k), dtype, lead)
    else:
        starts = [np.cumsum((0, *c))[:-1].tolist() for c in dim_chunks]
        for bidx in itertools.product(*(range(len(c)) for c in dim_chunks)):
            where = tuple(
                slice(starts[d][i], starts[d][i] + dim_chunks[d][i]) for d, i in enumerate(bidx)
            )
            sub = grid[where]
            items = [(pos, *item(k)) for pos, k in enumerate(sub.ravel().tolist()) if k >= 0]
            graph[(name, *bidx, *tail)] = (load_block, items, sub.shape, frame_shape, dtype)
    chunks = tuple(dim_chunks) + tuple((n,) for n in frame_shape)
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=())
    return da.Array(hlg, name, chunks, dtype=dtype)
