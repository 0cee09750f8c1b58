"""Lazy frames: xarray's backend-array pattern, and dask arrays on the same reads.

:class:`FramesBackendArray` is what xarray's own backends have: a small
:class:`xarray.backends.BackendArray` that knows where each frame of a grid
of tag values is (path, frame number, byte offset and length, pixel format,
rescale) and reads only the frames an index selects. Wrapped in xarray's
``LazilyIndexedArray`` it makes a DataArray that is lazy without dask
(``to_xarray(chunks=False)``, and ``xr.open_dataarray`` without ``chunks``).

:class:`FramesArray` is the dask array of the same frames (the default of
``to_xarray``): its tasks hold only plain values, so a graph pickles to other
processes and machines (``dask.distributed``); its name is a token of the
frames, the selection and the chunks, so the same selection of the same
series gives the same graph; indexing it along the tag dims gives a graph of
only the selected frames, whatever the chunk size.

Both read through :func:`read_cells`, which turns an ``AttributeError`` of a
reader into :class:`dbdicom.InvalidFileError`: xarray reads ``.values`` in a
property, where an ``AttributeError`` would surface as "'DataArray' object
has no attribute 'values'".
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.callbacks import Callback
from dask.highlevelgraph import HighLevelGraph
from xarray.backends import BackendArray
from xarray.core import indexing

from .. import _files
from .._facade import local_scheduler
from ._read import FrameRef, frame_refs, read_cells, read_one

__all__ = [
    "CHUNK_BYTES",
    "WEB_CHUNK_BYTES",
    "FramesArray",
    "FramesBackendArray",
    "Source",
    "auto_block",
    "frames_behind",
    "lazy_frames",
    "preferred_chunks",
    "read_cells",
]

#: pixel dims, after the tag dims
PIXEL_DIMS = ("row", "column", "channel")


@dataclass(frozen=True)
class Source:
    """Where each frame is read from: per frame (row), what :func:`read_cells` needs.

    Holds plain values only (paths, numbers, pixel formats), so it pickles.
    ``token`` names the series in dask keys.
    """

    paths: np.ndarray
    frames: np.ndarray
    offsets: np.ndarray
    nbytes: np.ndarray
    fmts: Sequence[_files.PixelFormat]
    slopes: np.ndarray
    intercepts: np.ndarray
    dtype: np.dtype
    token: str = ""
    sizes: np.ndarray | None = None  # per frame, its file's size and mtime when indexed
    mtimes: np.ndarray | None = None
    uids: np.ndarray | None = None  # per frame, its SOPInstanceUID (checked if the file changed)

    @property
    def refs(self) -> list[FrameRef]:
        """Per frame, where it is read from (see :data:`FrameRef`), as plain Python values."""
        refs = self.__dict__.get("_cached_refs")
        if refs is None:
            refs = frame_refs(
                self.paths,
                self.frames,
                self.offsets,
                self.nbytes,
                self.fmts,
                self.slopes,
                self.intercepts,
                self.sizes,
                self.mtimes,
                self.uids,
            )
            object.__setattr__(self, "_cached_refs", refs)
        return refs

    @property
    def digest(self) -> str:
        """A token of everything read: files, frames, offsets, formats, rescale, dtype."""
        digest = self.__dict__.get("_cached_digest")
        if digest is None:
            files = "\0".join(map(str, self.paths.tolist())).encode()
            ids = np.fromiter(map(id, self.fmts), np.int64, count=len(self.fmts))
            _, first, which = np.unique(ids, return_index=True, return_inverse=True)
            order = np.argsort(first)  # formats in order of first use, not of id
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            digest = tokenize(
                hashlib.blake2b(files, digest_size=16).hexdigest(),
                np.asarray(self.frames),
                np.asarray(self.offsets),
                np.asarray(self.nbytes),
                [repr(self.fmts[int(first[i])]) for i in order],
                rank[which],
                np.asarray(self.slopes, dtype=float),
                np.asarray(self.intercepts, dtype=float),
                str(self.dtype),
                None if self.sizes is None else np.asarray(self.sizes),
                None if self.mtimes is None else np.asarray(self.mtimes),
            )
            object.__setattr__(self, "_cached_digest", digest)
        return digest

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return self.fmts[0].frame_shape if len(self.fmts) else (0, 0)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_cached")}


def _outer(array: np.ndarray, key: Sequence[Any]) -> np.ndarray:
    """``array`` indexed axis by axis (orthogonal indexing, as xarray's OuterIndexer).

    Integers drop their axis; slices and 1-D integer arrays keep it.

    Examples
    --------
    >>> a = np.arange(12).reshape(3, 4)
    >>> _outer(a, (np.array([2, 0]), np.array([1, 3]))).tolist()
    [[9, 11], [1, 3]]
    >>> _outer(a, (-1, slice(None, None, 2))).tolist()
    [8, 10]
    """
    axis = 0
    for k in key:
        if isinstance(k, np.ndarray):
            array = np.take(array, k, axis=axis)
            axis += 1
        else:
            array = array[(slice(None),) * axis + (k,)]
            axis += isinstance(k, slice)
    return array


class FramesBackendArray(BackendArray):
    """The frames on a grid of tag values, read only when indexed (xarray's backend array).

    Parameters
    ----------
    grid : numpy.ndarray of int
        Per grid point, the frame of ``source`` that fills it, or -1 for a hole.
    source : Source
        Where each frame is read from.

    Notes
    -----
    Indexing takes xarray's explicit indexers (basic, outer; vectorized ones
    are reduced to outer ones by xarray): the tag part selects the grid
    points, so only their frames are read; the pixel part slices the frames
    read. It pickles (paths and offsets, never open files). Wrap it in
    ``xarray.core.indexing.LazilyIndexedArray`` for a lazy DataArray.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> from dbdicom._files import pixel_format
    >>> path = get_testdata_file("emri_small.dcm")  # 10 frames of 64 x 64
    >>> fmt, offset, nbytes = pixel_format(path)
    >>> n = 10
    >>> source = Source(np.array([path] * n, dtype=object), np.arange(n), np.full(n, offset),
    ...                 np.full(n, nbytes), [fmt] * n, np.ones(n), np.zeros(n), fmt.dtype)
    >>> frames = FramesBackendArray(np.arange(n).reshape(2, 5), source)
    >>> frames.shape
    (2, 5, 64, 64)
    >>> key = indexing.OuterIndexer((1, np.array([0, 3]), slice(0, 8), slice(None)))
    >>> frames[key].shape  # reads 2 frames
    (2, 8, 64)
    """

    grid: np.ndarray
    source: Source
    shape: tuple[int, ...]
    dtype: np.dtype

    def __init__(self, grid: np.ndarray, source: Source) -> None:
        self.grid = np.asarray(grid)
        self.source = source
        self.shape = tuple(self.grid.shape) + tuple(source.frame_shape)
        self.dtype = np.dtype(source.dtype)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, self._read
        )

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        lead = self.grid.ndim
        selected = self.select(key[:lead])
        out = selected.read()
        pixels = tuple(key[lead:])
        if all(isinstance(k, slice) and k == slice(None) for k in pixels):
            return out
        return _outer(out, (slice(None),) * selected.grid.ndim + pixels)

    def select(self, key: Sequence[Any]) -> FramesBackendArray:
        """The grid points at an outer index of the tag dims (nothing read).

        ``key``: per tag dim (or fewer), an integer, a slice or a 1-D array
        of integers; an integer drops its dim.
        """
        return FramesBackendArray(_outer(self.grid, key), self.source)

    def read(self) -> np.ndarray:
        """All frames of the grid, shaped ``grid.shape + frame shape``."""
        cells, refs = _cells(self.grid, self.source.refs)
        return read_cells(cells, refs, self.grid.shape, self.source.frame_shape, self.dtype)


def _cells(grid: np.ndarray, refs: list[FrameRef]) -> tuple[list[int], list[FrameRef]]:
    """Flat positions of the grid points that have a frame, and where their frames are."""
    flat = grid.ravel().tolist()
    return [p for p, k in enumerate(flat) if k >= 0], [refs[k] for k in flat if k >= 0]


# ----------------------------------------------------------------------------- dask

#: the size a chunk aims at when none is asked for
CHUNK_BYTES = 8 * 2**20
#: the chunks of frames on a DICOMweb server: a chunk that spans a whole series is read
#: with one request, which costs the server (Orthanc) far less than one per instance
#: (200 slices of 256 x 256: ~0.12 s against ~0.5 s); a chunk is held about twice
#: while read (the answer and the array)
WEB_CHUNK_BYTES = 32 * 2**20


def auto_block(
    shape: tuple[int, ...], frame_bytes: int, chunk_bytes: int = CHUNK_BYTES
) -> list[int]:
    """Grid points per chunk: at most ~``chunk_bytes`` each, filling the last dims first.

    A dim split into chunks is split evenly: as many chunks as the size
    allows, of (nearly) equal length, not full ones and a short last one;
    dask's threads then share the work evenly (200 frames of 128 kB: 4
    chunks of 50, not 64, 64, 64 and 8, where one of two threads would
    compute two full chunks while the other waits after the short one).

    Examples
    --------
    >>> auto_block((200,), 2**17)  # 128 kB frames: at most 64 a chunk, 4 chunks of 50
    [50]
    >>> auto_block((256,), 2**17)
    [64]
    >>> auto_block((128, 10), 2**17)
    [6, 10]
    """
    budget = max(1, chunk_bytes // max(1, frame_bytes))
    block = [1] * len(shape)
    for d in reversed(range(len(shape))):
        take = max(1, min(shape[d], budget))
        if take < shape[d]:
            chunks = -(-shape[d] // take)
            block[d] = -(-shape[d] // chunks)  # as even as the chunks can be
            break
        block[d] = take
        budget //= take
        if budget <= 1:
            break
    return block


def preferred_chunks(sizes: Mapping[Any, int]) -> dict[Any, int]:
    """The chunks a backend stores, by dim name: one frame (tag dims 1, pixel dims whole).

    For the ``encoding["preferred_chunks"]`` of xarray's backends: every
    frame is read on its own, so any chunks along the tag dims align with
    them (xarray warns of none); ``chunks={}`` gives one chunk per frame.

    Examples
    --------
    >>> preferred_chunks({"SliceLocation": 200, "row": 256, "column": 256})
    {'SliceLocation': 1, 'row': 256, 'column': 256}
    """
    return {d: (n if d in PIXEL_DIMS else 1) for d, n in sizes.items()}


class FramesArray(da.Array):
    """A dask array of frames on a grid of tag values.

    It behaves as any dask array, with one addition: indexing it along the
    tag dims (integers, slices, one list of integers) gives a new array of
    only the selected frames, with the same chunk sizes, so a selection reads
    only its frames, whatever the chunk size. Everything else (arithmetic,
    reductions, pickling for ``dask.distributed``) is plain dask.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> from dbdicom._files import pixel_format
    >>> path = get_testdata_file("emri_small.dcm")  # 10 frames of 64 x 64
    >>> fmt, offset, nbytes = pixel_format(path)
    >>> source = Source(np.array([path] * 10, dtype=object), np.arange(10), np.full(10, offset),
    ...                 np.full(10, nbytes), [fmt] * 10, np.ones(10), np.zeros(10), fmt.dtype)
    >>> frames = frames_array(FramesBackendArray(np.arange(10).reshape(5, 2), source))
    >>> frames.chunks[:2], frames[[0, 3], 1].chunks  # the selection's graph: its 2 frames
    (((5,), (2,)), ((2,), (64,), (64,)))
    """

    _frames: FramesBackendArray
    _block: list[int] | None
    #: the task of the array's one chunk, where it has one (see :meth:`compute`)
    _single: Any = None

    def compute(self, **kwargs: Any) -> Any:
        """As dask's, without importing ``distributed`` while no Client can exist.

        On dask's threads then (see :func:`dbdicom._facade.local_scheduler`);
        ``.values``, ``numpy.asarray`` and ``.compute()`` of the array come here.
        There, an array of one chunk, or of frames stored uncompressed in
        local files, is read in one call into one array (:meth:`_whole`):
        what dask's threads would do, without the copy that joins their
        chunks (or copies the one chunk, in case the graph held it: this one
        is read afresh), and without two threads taking turns at the
        interpreter between one file's system calls and the next's: 200
        slices of 256 x 256 in ~5 ms, against ~11 ms. Compressed frames
        (decoded on several threads at once) and frames of remote stores or
        DICOMweb servers (a chunk bounds what a request holds) are computed
        by dask as before; so is everything while dask callbacks (a
        ``ProgressBar``, a profiler) are active: they see the tasks run.
        """
        chosen = local_scheduler(self, kwargs)
        if "scheduler" in chosen and chosen["scheduler"] is self.__dask_scheduler__:
            if not set(kwargs) - {"traverse"} and not Callback.active:
                whole = self._whole()
                if whole is not None:
                    return whole()
        return super().compute(**chosen)

    def _whole(self) -> Any:
        """The read of the whole array in one call, where it pays (see :meth:`compute`)."""
        if self._single is not None:
            return self._single
        frames = getattr(self, "_frames", None)
        if frames is None:
            return None
        source = frames.source
        refs = source.refs
        if not all(type(r[0]) is str and r[4].transfer_syntax in _files.NATIVE for r in refs):
            return None  # compressed, or in a store or on a server
        at, cells = _cells(frames.grid, refs)
        return partial(read_cells, at, cells, frames.grid.shape, source.frame_shape, frames.dtype)

    def persist(self, **kwargs: Any) -> Any:
        """As dask's; the scheduler chosen as by :meth:`compute`."""
        return super().persist(**local_scheduler(self, kwargs))

    def __getitem__(self, key: Any) -> Any:
        split = _split_key(key, self.ndim, self._frames.grid.ndim)
        if split is None:
            return super().__getitem__(key)
        tag_key, pixel_key = split
        selected = self._frames.select(tag_key)
        block = None
        if self._block is not None:
            block = [b for b, k in zip(self._block, tag_key, strict=True) if not isinstance(k, int)]
        out = frames_array(selected, block)
        if all(isinstance(k, slice) and k == slice(None) for k in pixel_key):
            return out
        return da.Array.__getitem__(out, (slice(None),) * selected.grid.ndim + tuple(pixel_key))


def frames_behind(data: Any) -> FramesBackendArray | None:
    """The frames a :class:`FramesArray` reads (grid and sources), None for other arrays.

    For what reads the frames in place, not through dask: the virtual Zarr
    references of :mod:`dbdicom._export._virtual`.

    Examples
    --------
    >>> frames_behind(np.zeros(3)) is None
    True
    """
    return data._frames if isinstance(data, FramesArray) else None


def _split_key(key: Any, ndim: int, lead: int) -> tuple[list[Any], list[Any]] | None:
    """The tag part (normalised) and pixel part of an index, or None if not simple.

    Not simple: ``None``, booleans, multi-dimensional arrays, or more than one
    array in the key (numpy would index those pointwise, not outer).
    """
    key = key if isinstance(key, tuple) else (key,)
    if any(k is None for k in key):
        return None
    if sum(isinstance(k, list | np.ndarray | da.Array) for k in key) > 1:
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


def frames_array(frames: FramesBackendArray, block: Sequence[int] | None = None) -> FramesArray:
    """The dask array of the grid points of ``frames``.

    Chunks group ``block`` grid points per tag dim (default: :func:`auto_block`).
    The name is a token of the frames read, the grid and the chunks.
    """
    grid = frames.grid
    source = frames.source
    shape = grid.shape
    lead = len(shape)
    frame_shape = source.frame_shape
    dtype = frames.dtype
    frame_bytes = int(np.prod(frame_shape)) * dtype.itemsize
    sizes = tuple(block) if block else tuple(auto_block(shape, frame_bytes))
    token = tokenize(source.digest, grid, sizes)
    name = f"dbdicom-{source.token}-{token}" if source.token else f"dbdicom-{token}"
    tail = (0,) * len(frame_shape)
    # an empty selection (isel(SliceLocation=[])) is one empty chunk along its dim
    dim_chunks = [
        tuple(min(b, n - s) for s in range(0, n, max(b, 1))) or (0,)
        for n, b in zip(shape, sizes, strict=True)
    ]
    graph: dict[Any, Any] = {}
    refs = source.refs
    if all(b == 1 for b in sizes) and all(n > 0 for n in shape):
        ones = (1,) * lead
        flat = grid.ravel().tolist()
        index = np.unravel_index(np.arange(len(flat)), shape) if lead else ()
        cells = list(zip(*(i.tolist() for i in index), strict=True)) if lead else [()]
        for cell, k in zip(cells, flat, strict=True):
            if k >= 0:
                graph[(name, *cell, *tail)] = (
                    partial(read_one, refs[k], ones, frame_shape, dtype),
                )
            else:
                graph[(name, *cell, *tail)] = (
                    partial(read_cells, (), (), ones, frame_shape, dtype),
                )
    else:
        starts = [np.cumsum((0, *c))[:-1].tolist() for c in dim_chunks]
        for bidx in itertools.product(*(range(len(c)) for c in dim_chunks)):
            where = tuple(
                slice(starts[d][i], starts[d][i] + dim_chunks[d][i]) for d, i in enumerate(bidx)
            )
            sub = grid[where]
            at, sub_refs = _cells(sub, refs)
            # a task of no arguments: dask would walk the references one by one
            # (~30 us per frame) looking for keys of other tasks, which they never are
            task = partial(read_cells, at, sub_refs, sub.shape, frame_shape, dtype)
            graph[(name, *bidx, *tail)] = (task,)
    chunks = tuple(dim_chunks) + tuple((n,) for n in frame_shape)
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=())
    out = FramesArray(
        hlg, name, chunks, dtype=dtype, meta=np.empty((0,) * (lead + len(frame_shape)), dtype)
    )
    out._frames = frames
    out._block = list(block) if block else None
    if len(graph) == 1:
        (out._single,) = graph.values()
        out._single = out._single[0]
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
    block: Sequence[int] | Literal[False] | None = None,
    sizes: np.ndarray | None = None,
    mtimes: np.ndarray | None = None,
    uids: np.ndarray | None = None,
) -> FramesArray | indexing.LazilyIndexedArray:
    """The frames of a grid, lazily: shape ``shape + frame shape``.

    Parameters
    ----------
    shape : tuple of int
        Shape of the grid of tag values.
    frame_at : numpy.ndarray of int
        Per flat grid point, the frame (row of the arrays below) that fills
        it, or -1 for a hole (NaN, or 0 for integers).
    paths, frames, offsets, nbytes : numpy.ndarray
        Per frame: absolute path, frame number in the file, byte offset and
        length of the pixel data (-1 when unknown).
    fmts : sequence of PixelFormat
        Per frame, all of one frame shape.
    slopes, intercepts : numpy.ndarray
        Per frame, the rescale to physical units.
    dtype : numpy.dtype
        Of the values (see :func:`output_dtype`).
    token : str
        Names the series in dask keys.
    block : list of int, False or None
        Grid points per dask chunk along each tag dim; None: ~8 MiB chunks,
        the last dims filled first; False: no dask, a lazily indexed array
        (xarray's ``LazilyIndexedArray`` of a :class:`FramesBackendArray`).
    sizes, mtimes : numpy.ndarray or None
        Per frame, its file's size and modification time (ns) when indexed:
        a changed file is read where its header says now (see
        :func:`~dbdicom._arrays._steady.current_place`); None: not checked.
    uids : numpy.ndarray or None
        Per frame, its SOPInstanceUID: a changed file must still hold it.

    Returns
    -------
    FramesArray or xarray.core.indexing.LazilyIndexedArray

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> from dbdicom._files import pixel_format
    >>> path = get_testdata_file("emri_small.dcm")  # 10 frames of 64 x 64
    >>> fmt, offset, nbytes = pixel_format(path)
    >>> n = 10
    >>> args = ((5, 2), np.arange(n), np.array([path] * n, dtype=object), np.arange(n),
    ...         np.full(n, offset), np.full(n, nbytes), [fmt] * n, np.ones(n), np.zeros(n),
    ...         fmt.dtype)
    >>> lazy_frames(*args).chunks
    ((5,), (2,), (64,), (64,))
    >>> lazy_frames(*args).name == lazy_frames(*args).name  # deterministic
    True
    >>> type(lazy_frames(*args, block=False)).__name__
    'LazilyIndexedArray'
    """
    source = Source(
        paths, frames, offsets, nbytes, fmts, slopes, intercepts, dtype, token, sizes, mtimes, uids
    )
    backend = FramesBackendArray(np.asarray(frame_at).reshape(shape), source)
    if block is False:
        return indexing.LazilyIndexedArray(backend)
    return frames_array(backend, block)
