"""The numpy face of a series: ``array()`` and ``export_as_npy()``.

The frames are placed as :func:`~dbdicom._arrays._xarray.build_dataarray`
places them (:func:`~._layout.layout`: the same grid, with frames that share
a grid point enumerated along an extra axis ``n`` instead of refused), then
read straight into one numpy array (:func:`~._read.read_cells`, one call per
file) without building a DataArray: a script that only wants the array
imports neither xarray nor dask (nor pandas, after a reopen).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .._index import Index
from ._layout import Layout, layout
from ._read import read_cells

__all__ = ["array_and_header", "instance_header", "read_array"]

#: frames of the encapsulated (compressed) kind read per thread task
_TASK_FRAMES = 16


def read_array(
    index: Index, rows: np.ndarray, dims: Sequence[str], *, fill: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The frames of the instances at ``rows`` on the grid of ``dims`` plus ``n``, read.

    Returns the values, shaped ``(*dims, n, *frame shape)`` (physical units;
    NaN, or a float type, where a grid point has fewer frames than ``n``),
    and the SOP Instance UID at each grid point (``""`` at holes).
    """
    placed = layout(index, rows, dims, fill=fill, repeats=True)
    return read_layout(placed), placed.instance_uids()


def read_layout(placed: Layout) -> np.ndarray:
    """All frames of a :class:`~._layout.Layout`, shaped ``grid shape + frame shape``.

    Compressed frames are decoded on threads (the decoders release the
    GIL), uncompressed ones read in this thread (a copy from the page cache
    costs less than handing it to a thread).
    """
    grid = placed.grid
    frame_at = grid.frame_at()
    cells = np.flatnonzero(frame_at >= 0)
    all_refs = placed.refs()
    refs = [all_refs[k] for k in frame_at[cells].tolist()]
    shape, frame_shape, dtype = grid.shape, placed.frame_shape, placed.dtype
    compressed = bool(np.asarray(placed.frames.column("_encapsulated"), dtype=bool).any())
    workers = min(os.cpu_count() or 1, 8)
    if not compressed or workers < 2 or len(cells) <= _TASK_FRAMES:
        return read_cells(cells.tolist(), refs, shape, frame_shape, dtype)
    flat = np.full((grid.size, *frame_shape), np.nan if dtype.kind == "f" else 0, dtype=dtype)
    parts = [slice(i, i + _TASK_FRAMES) for i in range(0, len(cells), _TASK_FRAMES)]

    def read_part(part: slice) -> None:
        at = cells[part]
        flat[at] = read_cells(range(len(at)), refs[part], (len(at),), frame_shape, dtype)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(read_part, parts))  # list(): raises the first error of a task
    return flat.reshape(shape + frame_shape)


def array_and_header(
    values: np.ndarray,
    uids: np.ndarray,
    index: Index,
    make_instance: Any,
    pixels_first: bool = False,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The array of :func:`read_array` and its header array.

    The header is an object array shaped like the non-pixel axes holding the
    :class:`~dbdicom.Instance` of each image (None where a grid point has
    fewer images than ``n``); ``pixels_first`` moves the pixel axes first.
    ``rows``: the index rows the UIDs are looked up in (default: all).
    """
    header = instance_header(uids, index, make_instance, rows)
    if pixels_first:
        n_pixel = values.ndim - uids.ndim
        values = np.moveaxis(values, list(range(uids.ndim, values.ndim)), list(range(n_pixel)))
    return values, header


def instance_header(
    uids: np.ndarray, index: Index, make_instance: Any, rows: np.ndarray | None = None
) -> np.ndarray:
    """The instance of each SOP Instance UID of ``uids`` (None for ``""`` or a UID not found).

    An object array of the shape of ``uids``; ``make_instance`` makes an
    instance from its key. ``rows``: the index rows to look in (default: all).
    """
    keys = _instance_keys(index, rows)
    header = np.empty(np.shape(uids), dtype=object)
    for pos, uid in np.ndenumerate(np.asarray(uids)):
        key = keys.get(str(uid)) if uid else None
        header[pos] = make_instance(key) if key is not None else None
    return header


def _instance_keys(index: Index, rows: np.ndarray | None) -> dict[str, str]:
    """Instance keys by SOP Instance UID, and by key (a file without a UID has its key)."""
    uids = index.array("SOPInstanceUID", rows)
    keys = index.array("_instance", rows)
    out = {str(k): str(k) for k in keys}
    out.update({str(u): str(k) for u, k in zip(uids, keys, strict=True) if isinstance(u, str)})
    return out
