"""The lazy array: dask tasks that carry paths and offsets, never open files.

Tasks hold only plain values (a path, frame number, byte offset and length,
the pixel format and the rescale), so the graph pickles to other processes
and machines (``dask.distributed``). Each task reads a block of frames
(:func:`dbdicom._files.read_frames`); :class:`FramesArray` answers indexing
along the tag dims with a graph of only the selected frames, so a selection
reads only what it selects whatever the chunk size.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
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
    if stored.kind == "f" and np.all(slopes == 1) and np.all(intercepts == 0):
        return stored  # float pixel data (parametric maps): as stored
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


@dataclass(frozen=True)
class Source:
    """Where each frame is read from: per frame (row), what :func:`load_frame` needs."""

    paths: np.ndarray
    frames: np.ndarray
    offsets: np.ndarray
    nbytes: np.ndarray
    fmts: Sequence[_files.PixelFormat]
    slopes: np.ndarray
    intercepts: np.ndarray
    dtype: np.dtype
    token: str = ""

    def item(self, k: int) -> tuple[Any, ...]:
        """What :func:`load_frame` needs for frame ``k``, as plain Python values."""
        return self._items[k]

    @property
    def _items(self) -> list[tuple[Any, ...]]:
        items = self.__dict__.get("_cached_items")
        if items is None:
            items = list(
                zip(
                    [str(p) for p in self.paths],
                    self.frames.tolist(),
                    self.offsets.tolist(),
                    self.nbytes.tolist(),
                    self.fmts,
                    self.slopes.astype(float).tolist(),
                    self.intercepts.astype(float).tolist(),
                    strict=True,
                )
            )
            object.__setattr__(self, "_cached_items", items)
        return items

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return self.fmts[0].frame_shape if len(self.fmts) else (0, 0)


#: the size a chunk aims at when none is asked for
CHUNK_BYTES = 8 * 2**20


def auto_block(shape: tuple[int, ...], frame_bytes: int) -> list[int]:
    """Grid points per chunk: ~:data:`CHUNK_BYTES` each, filling the last dims first.

    Examples
    --------
    >>> auto_block((200,), 2**17)  # 128 kB frames: 64 a chunk
    [64]
    >>> auto_block((128, 10), 2**17)
    [6, 10]
    """
    budget = max(1, CHUNK_BYTES // max(1, frame_bytes))
    block = [1] * len(shape)
    for d in reversed(range(len(shape))):
        take = max(1, min(shape[d], budget))
        block[d] = take
        if take < shape[d]:
            break
        budget //= take
        if budget <= 1:
            break
    return block


class FramesArray(da.Array):
    """A dask array of frames on a grid of tag values.

    It behaves as any dask array, with one addition: indexing it along the
    tag dims (integers, slices, lists of integers) gives a new array of only
    the selected frames, so a selection reads only its frames, whatever the
    chunk size. Everything else (arithmetic, reductions, pickling for
    ``dask.distributed``) is plain dask.
    """

    _grid: np.ndarray
    _source: Source

    def __getitem__(self, key: Any) -> Any:
        split = _split_key(key, self.ndim, self._grid.ndim)
        if split is None:
            return super().__getitem__(key)
        tag_key, pixel_key = split
        grid = self._grid
        axis = 0
        for k in tag_key:
            if isinstance(k, slice):
                grid = grid[(slice(None),) * axis + (k,)]
                axis += 1
            elif isinstance(k, np.ndarray):
                grid = np.take(grid, k, axis=axis)
                axis += 1
            else:
                size = grid.shape[axis]
                if not -size <= k < size:
                    raise IndexError(f"index {k} is out of bounds for axis {axis} with size {size}")
                grid = np.take(grid, k, axis=axis)
        out = frames_array(grid, self._source)
        if all(isinstance(k, slice) and k == slice(None) for k in pixel_key):
            return out
        return da.Array.__getitem__(out, (slice(None),) * grid.ndim + tuple(pixel_key))


def _split_key(key: Any, ndim: int, lead: int) -> tuple[list[Any], list[Any]] | None:
    """The tag part (normalised) and pixel part of an index, or None if not simple."""
    key = key if isinstance(key, tuple) else (key,)
    if any(k is None for k in key):
        return None
    if any(k is Ellipsis for k in key):
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:at] + (slice(None),) * (ndim - len(key) + 1) + key[at + 1 :]
    key = key + (slice(None),) * (ndim - len(key))
    if len(key) != ndim:
        return None
    tags: list[Any] = []
    for k in key[:lead]:
        if isinstance(k, slice):
            tags.append(k)
        elif isinstance(k, int | np.integer) and not isinstance(k, bool | np.bool_):
            tags.append(int(k))
        elif isinstance(k, list | np.ndarray):
            arr = np.asarray(k)
            if arr.ndim != 1 or arr.dtype.kind not in "iu":
                return None
            tags.append(arr)
        else:
            return None
    return tags, list(key[lead:])


def frames_array(
    grid: np.ndarray, source: Source, block: Sequence[int] | None = None
) -> FramesArray:
    """The dask array of the frames at ``grid`` (frame numbers of ``source``, -1 empty).

    Chunks group ``block`` grid points per tag dim (default: :func:`auto_block`).
    """
    shape = grid.shape
    lead = len(shape)
    frame_shape = source.frame_shape
    dtype = source.dtype
    frame_bytes = int(np.prod(frame_shape)) * dtype.itemsize
    sizes = tuple(block) if block else tuple(auto_block(shape, frame_bytes))
    name = f"dbdicom-{source.token}-{uuid.uuid4().hex[:12]}"
    tail = (0,) * len(frame_shape)
    dim_chunks = [
        tuple(min(b, n - s) for s in range(0, n, b)) for n, b in zip(shape, sizes, strict=True)
    ]
    graph: dict[Any, Any] = {}
    if all(b == 1 for b in sizes):
        flat = grid.ravel().tolist()
        index = np.unravel_index(np.arange(len(flat)), shape) if lead else ()
        cells = list(zip(*(i.tolist() for i in index), strict=True)) if lead else [()]
        for cell, k in zip(cells, flat, strict=True):
            if k < 0:
                graph[(name, *cell, *tail)] = (_hole, (1,) * lead + frame_shape, dtype)
            else:
                graph[(name, *cell, *tail)] = (load_frame, *source.item(k), dtype, lead)
    else:
        starts = [np.cumsum((0, *c))[:-1].tolist() for c in dim_chunks]
        for bidx in itertools.product(*(range(len(c)) for c in dim_chunks)):
            where = tuple(
                slice(starts[d][i], starts[d][i] + dim_chunks[d][i]) for d, i in enumerate(bidx)
            )
            sub = grid[where]
            items = [(p, *source.item(k)) for p, k in enumerate(sub.ravel().tolist()) if k >= 0]
            graph[(name, *bidx, *tail)] = (load_block, items, sub.shape, frame_shape, dtype)
    chunks = tuple(dim_chunks) + tuple((n,) for n in frame_shape)
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=())
    out = FramesArray(
        hlg, name, chunks, dtype=dtype, meta=np.empty((0,) * (lead + len(frame_shape)), dtype)
    )
    out._grid = grid
    out._source = source
    return out


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
) -> FramesArray:
    """A dask array of shape ``shape + frame shape`` (see :class:`FramesArray`).

    ``frame_at`` gives, per flat grid cell, the frame (row of the other
    arrays) that fills it, or -1 for an empty cell (NaN, or 0 for integers).
    ``paths`` are absolute; ``fmts`` the pixel format of each frame (all of
    one frame shape). ``block``: grid points per chunk along each tag dim
    (default ~8 MiB chunks, the last dims filled first).
    """
    source = Source(paths, frames, offsets, nbytes, fmts, slopes, intercepts, dtype, token)
    grid = np.asarray(frame_at).reshape(shape)
    return frames_array(grid, source, block)
