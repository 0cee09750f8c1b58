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

__all__ = ["array_and_header", "read_array"]

#: frames of the encapsulated (compressed) kind read per thread task
_TASK_FRAMES = 16


def read_array(
    index: Index, rows: np.ndarray, dims: Sequence[str], *, fill: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The frames of the instances at ``rows`` on the grid of ``dims`` plus ``n``, read.

    Returns the values, shaped ``(*dims, n, *frame shape)`` (physical units;
    NaN, or a float type, where a grid point has fewer frames than ``n``),
    and the index key of the instance (file) at each grid point (``""`` at
    holes): a key, not a SOPInstanceUID, which files that share one would
    have in common.
    """
    placed = layout(index, rows, dims, fill=fill, repeats=True)
    return read_layout(placed), placed.instance_keys()


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
    keys: np.ndarray,
    make_instance: Any,
    pixels_first: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The array of :func:`read_array` and its header array.

    The header is an object array shaped like the non-pixel axes holding the
    :class:`~dbdicom.Instance` of each image, made by ``make_instance`` from
    its key in ``keys`` (None where a grid point has fewer images than
    ``n``); ``pixels_first`` moves the pixel axes first.
    """
    header = np.empty(np.shape(keys), dtype=object)
    for pos, key in np.ndenumerate(np.asarray(keys)):
        header[pos] = make_instance(str(key)) if key else None
    if pixels_first:
        n_pixel = values.ndim - keys.ndim
        values = np.moveaxis(values, list(range(keys.ndim, values.ndim)), list(range(n_pixel)))
    return values, header
