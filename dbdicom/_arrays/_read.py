"""Reading frames where a file's pixels are now, not where they were when indexed.

:func:`read_cells` reads the frames of a block of grid points, one call per
file, for both the lazily indexed array and the dask tasks.

The index records, per file, the byte offset and length of its pixel data,
and the file's size and modification time when it was read. Another process
(or another tool) may rewrite the file since: a longer or shorter header
moves the pixel data, and reading at the old offset would give shifted
pixels with no error. So before the frames of a file are read, one
``os.stat`` compares its size and modification time with the index's; when
either differs, the file's header is read again for the current format,
offset and length, which must give frames of the same shape and data type
as the array was built for (:class:`dbdicom.StaleFileError` otherwise).

Everything here takes plain values (a path and integers), so it runs in
dask tasks on other processes as well.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from typing import Any

import numpy as np

from .. import _files, _web
from .._errors import InvalidFileError
from ._gone import gone_as_stale
from ._steady import current_place, steady_read

__all__ = [
    "FrameRef",
    "frame_refs",
    "output_dtype",
    "read_cells",
    "read_one",
]


#: where one frame is read from: path, frame number, byte offset and length
#: of the pixel data, pixel format, RescaleSlope, RescaleIntercept, the
#: file's size (bytes) and modification time (ns) when it was indexed (None:
#: not known, not checked) and its SOPInstanceUID (None: not known); an
#: object of a remote store is a RemoteFile, read by range (its size and time
#: are compared at a refresh, not at each read)
FrameRef = tuple[
    str | _files.RemoteFile,
    int,
    int,
    int,
    _files.PixelFormat,
    float,
    float,
    int | None,
    int | None,
    str | None,
]


def _check_format(path: object, fmt: _files.PixelFormat) -> None:
    """A format no frame can have (Bits Allocated 12, RGB with one sample) is an error."""
    problem = _files.format_problem(fmt)
    if problem:
        raise InvalidFileError(
            f"{path}: {problem}: its image cannot be read. Re-export the file from its "
            "source, or leave it out of the series with series.subseries(...)."
        )


def frame_refs(
    paths: np.ndarray,
    frames: np.ndarray,
    offsets: np.ndarray,
    nbytes: np.ndarray,
    fmts: Sequence[_files.PixelFormat],
    slopes: np.ndarray,
    intercepts: np.ndarray,
    sizes: np.ndarray | None = None,
    mtimes: np.ndarray | None = None,
    uids: np.ndarray | None = None,
) -> list[FrameRef]:
    """Per frame, where it is read from (see :data:`FrameRef`), as plain Python values.

    The arrays hold one value per frame: absolute path (an object of a
    remote store: its :class:`~dbdicom._files.RemoteFile`), frame number in the
    file, byte offset and length of the pixel data, pixel format,
    RescaleSlope and RescaleIntercept, the file's size and modification
    time when indexed (None: not checked) and its SOPInstanceUID (None: not
    known).
    """
    n = len(paths)
    return list(
        zip(  # a WebPath (a str) and a RemoteFile kept as they are
            [p if isinstance(p, (str, _files.RemoteFile)) else str(p) for p in paths],
            np.asarray(frames).tolist(),
            np.asarray(offsets).tolist(),
            np.asarray(nbytes).tolist(),
            fmts,
            np.asarray(slopes, dtype=float).tolist(),
            np.asarray(intercepts, dtype=float).tolist(),
            [None] * n if sizes is None else np.asarray(sizes).tolist(),
            [None] * n if mtimes is None else np.asarray(mtimes).tolist(),
            [None] * n if uids is None else [u if isinstance(u, str) else None for u in uids],
            strict=True,
        )
    )


def output_dtype(fmt: _files.PixelFormat, slopes: np.ndarray, intercepts: np.ndarray) -> np.dtype:
    """The dtype of pixel values in physical units.

    Stored integers stay integers when every RescaleSlope and every
    RescaleIntercept is a whole number, in the smallest integer type that
    holds the stored range scaled by the slopes and shifted by the
    intercepts (e.g. CT's ``int16`` with intercept -1024 gives ``int32``; a
    slope of 2 on ``uint16`` ``int32``); otherwise ``float32``, or ``float64``
    where ``float32`` would not keep the values a stored step apart (a small
    slope on a large intercept, 32-bit integers: see :func:`_float_dtype`).

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
    >>> output_dtype(PixelFormat(2, 2), np.array([2.0]), np.array([-4096.0]))
    dtype('int32')
    >>> output_dtype(PixelFormat(2, 2), np.array([0.001]), np.array([100000.0]))
    dtype('float64')
    """
    stored = fmt.dtype
    if stored.kind == "f" and np.all(slopes == 1) and np.all(intercepts == 0):
        return stored  # float pixel data (parametric maps): as stored
    if stored.kind not in "iu":
        return np.result_type(stored, np.float32)
    whole = np.all(slopes == np.round(slopes)) and np.all(slopes != 0)
    if whole and np.all(intercepts == np.round(intercepts)):
        info = np.iinfo(stored)
        ends = np.outer([info.min, info.max], slopes)
        low = float(ends.min()) + float(intercepts.min(initial=0))
        high = float(ends.max()) + float(intercepts.max(initial=0))
        if np.all(slopes == 1) and np.all(intercepts == 0):
            return stored
        for candidate in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64):
            ci = np.iinfo(candidate)
            if ci.min <= low and high <= ci.max:
                return np.dtype(candidate)
    return _float_dtype(fmt, slopes, intercepts)


def _float_dtype(fmt: _files.PixelFormat, slopes: np.ndarray, intercepts: np.ndarray) -> np.dtype:
    """``float32``, or ``float64`` where float32 would blur the rescaled values of integers.

    float32 holds 24 significant bits: at the largest magnitude the stored
    range (its Bits Stored) reaches after the rescale, its rounding must
    stay within 1/16 of its step (its slope), for every frame, so that
    every stored value keeps a value of its own, nearly exact (float32 would
    give 100000.0 for 100000.001 ... 100000.003; pydicom gives float64).

    Examples
    --------
    >>> from dbdicom._files import PixelFormat
    >>> f = PixelFormat(rows=2, columns=2, bits_stored=12)
    >>> _float_dtype(f, np.array([1.5]), np.array([0.0]))
    dtype('float32')
    >>> _float_dtype(f, np.array([0.001]), np.array([100000.0]))
    dtype('float64')
    """
    info = np.iinfo(fmt.dtype)
    low, high = float(info.min), float(info.max)
    bits = fmt.bits_stored
    if 0 < bits < 8 * fmt.dtype.itemsize:  # values masked to their Bits Stored
        half = 2.0 ** (bits - 1)
        low, high = (-half, half - 1) if low < 0 else (0.0, 2 * half - 1)
    ends = np.outer([low, high], slopes) + intercepts  # each frame's own slope and intercept
    half_ulp = np.spacing(np.abs(ends).max(axis=0).astype(np.float32)).astype(float) / 2
    steps = np.abs(np.asarray(slopes, dtype=float))  # each frame judged by its own step
    return np.dtype(np.float32 if np.all((steps > 0) & (half_ulp <= steps / 16)) else np.float64)


def _stored(
    path: str, frames: list[int], fmt: _files.PixelFormat, offset: int, nbytes: int
) -> np.ndarray:
    """Stored values of some frames of one file; a reader's AttributeError made a DicomError.

    A format no frame can have is an :class:`InvalidFileError` before
    anything is read (:func:`_check_format`).
    """
    if isinstance(path, _web.WebPath):  # an instance on a DICOMweb server: WADO-RS frames
        return _web.read_web_frames(path, frames, fmt)
    _check_format(path, fmt)
    try:
        return _files.read_frames(path, frames, fmt, offset, nbytes)
    except AttributeError as error:  # xarray would report it as a missing `.values`
        raise _failed(path, frames, error) from error


def _failed(path: str, frames: list[int], error: Exception) -> InvalidFileError:
    return InvalidFileError(
        f"{path}: reading frames {frames} failed: {type(error).__name__}: {error}"
    )


#: the frames of one file of a block: its location, and per frame its place and FrameRef
_Group = tuple["str | _files.RemoteFile", list[tuple[int, FrameRef]]]


def _group_frames(item: _Group) -> np.ndarray:
    """The stored values of the frames of one file (or instance on a server) of a block."""
    path, group = item
    _, _, offset, nbytes, fmt, _, _, size, mtime, _ = group[0][1]
    if isinstance(path, _files.RemoteFile):  # read with the others of its store
        return _remote_stored({path: group})[path]
    frames = [ref[1] for _, ref in group]
    if isinstance(path, _web.WebPath):
        return _stored(path, frames, fmt, offset, nbytes)

    def read() -> np.ndarray:  # the place and the bytes of one version of the file
        now = current_place(path, fmt, offset, nbytes, size, mtime, group[0][1])
        return _stored(path, frames, *now)

    return steady_read(path, read)


def _place(
    out: np.ndarray,
    groups: list[_Group],
    loaded: Iterable[np.ndarray],
    dtype: np.dtype,
) -> None:
    """Put the stored values of each group's frames into ``out``, in physical units."""
    for (_, group), stored in zip(groups, loaded, strict=True):
        for (pos, ref), frame in zip(group, stored, strict=True):
            _physical(out[pos], frame, ref[5], ref[6], dtype)


def _physical(
    dest: np.ndarray, frame: np.ndarray, slope: float, intercept: float, dtype: np.dtype
) -> None:
    """``frame``'s stored values times ``slope`` plus ``intercept``, in ``dtype``, into ``dest``.

    The values of ``frame.astype(dtype) * slope + intercept`` (both numbers
    of ``dtype``), with no array made.
    """
    if slope == 1 and intercept == 0:
        dest[...] = frame
    elif slope == 1 and dtype.kind != "f":
        np.add(frame, dtype.type(intercept), out=dest, dtype=dtype)
    else:
        np.multiply(frame, dtype.type(slope), out=dest, dtype=dtype)
        np.add(dest, dtype.type(intercept), out=dest)


@gone_as_stale
def read_cells(
    cells: Sequence[int],
    refs: Sequence[FrameRef],
    shape: tuple[int, ...],
    frame_shape: tuple[int, ...],
    dtype: np.dtype,
) -> np.ndarray:
    """Frames of a block of grid points, in physical units, as one array.

    Parameters
    ----------
    cells : sequence of int
        Flat positions in the block of the frames to read; positions not
        listed are holes: NaN (0 for integers).
    refs : sequence of tuple
        Per position of ``cells``, where its frame is (see :data:`FrameRef`):
        path, frame number, byte offset and length of the pixel data, pixel
        format, RescaleSlope and RescaleIntercept, and the file's size and
        modification time when indexed: a file whose size or time differs
        is read where its header says its pixels are now
        (:func:`current_place`).
    shape : tuple of int
        Shape of the block of grid points.
    frame_shape : tuple of int
        ``(rows, columns)`` or ``(rows, columns, samples)``.
    dtype : numpy.dtype
        Of the output (see :func:`output_dtype`).

    Returns
    -------
    numpy.ndarray
        ``shape + frame_shape``. Frames of one file are read in one call.

    Raises
    ------
    dbdicom.StaleFileError
        A file changed since it was indexed and its frames have another
        shape or data type now; :class:`dbdicom.FileGoneError` (also a
        ``FileNotFoundError``) when it is gone (removed, or replaced by a
        write of its own series) since the array was made.
    dbdicom.DicomError
        As the reader raises it (``InvalidFileError``, ``DecoderNotFoundError``);
        an ``AttributeError`` of the reader as ``InvalidFileError``.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> from dbdicom._files import pixel_format
    >>> path = get_testdata_file("emri_small.dcm")  # 10 frames of 64 x 64
    >>> fmt, offset, nbytes = pixel_format(path)
    >>> refs = [(path, 4, offset, nbytes, fmt, 1.0, 0.0, None, None, None)]
    >>> block = read_cells([0], refs, (2,), (64, 64), np.dtype("float32"))
    >>> block.shape, bool(np.isnan(block[1]).all())  # the second point is a hole
    ((2, 64, 64), True)
    """
    n = int(np.prod(shape))
    if len(cells) == n and len(set(cells)) == n:  # no holes: every value is read
        out = np.empty((n, *frame_shape), dtype=dtype)
    else:
        out = np.full((n, *frame_shape), np.nan if dtype.kind == "f" else 0, dtype=dtype)
    web_paths = list({r[0] for r in refs if isinstance(r[0], _web.WebPath)})
    if web_paths:  # instances read whole before are files here, read as files are
        places = dict(zip(web_paths, _web.kept_places(web_paths), strict=True))
        kept = {places[p][0] for p in web_paths if places[p][0]}
        if kept:
            local = [
                (places[r[0]][0], r[1], *places[r[0]][1:3], *r[4:7], *places[r[0]][3:5], r[9])
                if isinstance(r[0], _web.WebPath) and places[r[0]][0]
                else r
                for r in refs
            ]
            try:
                return _read_into(out, cells, local, dtype).reshape(shape + frame_shape)
            except FileNotFoundError as exc:
                if exc.filename not in kept:
                    raise
                # a kept file removed since (the series fetched again, the cache deleted):
                # the server has the instance
    return _read_into(out, cells, refs, dtype).reshape(shape + frame_shape)


def _read_into(
    out: np.ndarray, cells: Sequence[int], refs: Sequence[FrameRef], dtype: np.dtype
) -> np.ndarray:
    """The frames of ``refs`` read into their ``cells`` of ``out`` (see :func:`read_cells`)."""
    files: dict[str | _files.RemoteFile, list[tuple[int, FrameRef]]] = {}  # one a file
    for pos, ref in zip(cells, refs, strict=True):
        files.setdefault(ref[0], []).append((pos, ref))
    groups = list(files.items())
    fetched = _remote_stored(files)  # the objects of remote stores, fetched together
    web = sum(isinstance(path, _web.WebPath) for path in files)
    whole = None
    if web == len(groups) > 1:  # a whole series of a DICOMweb server: one request, if it can
        whole = _web.read_series_frames(
            [path for path, _ in groups],  # type: ignore[misc]
            [[ref[1] for _, ref in group] for _, group in groups],
            [group[0][1][4] for _, group in groups],
        )
    if whole is not None:
        _place(out, groups, whole, dtype)
    elif web > 1:  # requests to a server: many at a time (see _web.POOL)
        asked = {_requests().submit(_group_frames, group): group for group in groups}
        try:
            for done in as_completed(asked):  # placed as they come, not held in order
                _place(out, [asked.pop(done)], [done.result()], dtype)
        finally:
            for left in asked:  # after an error: those not started are not asked for
                left.cancel()
            wait(asked)
    else:
        if not fetched and not web:
            scratch: dict[Any, np.ndarray] = {}
            groups = [g for g in groups if not _read_direct(out, g, dtype, scratch)]
        loaded = (
            fetched[path] if path in fetched else _group_frames((path, group))
            for path, group in groups
        )
        _place(out, groups, loaded, dtype)
    return out


#: per process: the threads that ask a DICOMweb server for frames, shared by all blocks
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _requests() -> ThreadPoolExecutor:
    """The threads of this process for requests to servers (:data:`_web.POOL` of them).

    One set for every block (dask computes several at once), instead of a
    pool started and ended by each block; with the frames placed as their
    requests end, the peak of a lazy mean of 2,000 frames from Orthanc fell
    from 304 to 292 MiB (the folder's: 236 MiB).
    """
    pid = os.getpid()
    with _POOLS_LOCK:
        pool = _POOLS.get(pid)
        if pool is None:
            pool = _POOLS[pid] = ThreadPoolExecutor(_web.POOL, thread_name_prefix="dbdicom-web")
        return pool


def _read_direct(
    out: np.ndarray, item: _Group, dtype: np.dtype, scratch: dict[Any, np.ndarray]
) -> bool:
    """Read the frames of one local file into their places in ``out``, where it can.

    Uncompressed grey-scale frames (see :func:`~dbdicom._files.read_frames_into`)
    are read with no array made per file: straight into ``out`` where the
    physical values are the stored ones, else into a buffer of ``scratch``
    (one per pixel format, kept for the block's other files) and rescaled
    from there. False: not read here (another case, or the file changed
    since it was indexed).
    """
    path, group = item
    _, _, offset, nbytes, fmt, slope, intercept, size, mtime, _ = group[0][1]
    if type(path) is not str or fmt.bits_allocated not in (8, 16):  # see read_frames_into
        return False
    known = None if size is None or mtime is None else (size, mtime)
    frames = [ref[1] for _, ref in group]
    plain = fmt.dtype == dtype and all(ref[5] == 1 and ref[6] == 0 for _, ref in group)
    if plain:
        dest = [out[pos] for pos, _ in group]
    else:
        buffer = scratch.get(fmt)
        if buffer is None or len(buffer) < len(group):
            buffer = scratch[fmt] = np.empty((len(group), *fmt.frame_shape), fmt.dtype)
        dest = list(buffer[: len(group)])
    try:
        if not _files.read_frames_into(path, frames, fmt, offset, nbytes, dest, known):
            return False
    except AttributeError as error:  # as in _stored
        raise _failed(path, frames, error) from error
    if not plain:
        for (pos, ref), frame in zip(group, dest, strict=True):
            _physical(out[pos], frame, ref[5], ref[6], dtype)
    return True


def _remote_stored(
    files: dict[str | _files.RemoteFile, list[tuple[int, FrameRef]]],
) -> dict[_files.RemoteFile, np.ndarray]:
    """Stored values of the frames of the remote objects among ``files``, read together."""
    reads, stamps, sizes = [], [], []
    for path, group in files.items():
        if isinstance(path, _files.RemoteFile):
            _, _, offset, nbytes, fmt, _, _, size, mtime, _ = group[0][1]
            _check_format(path, fmt)
            reads.append((path, [ref[1] for _, ref in group], fmt, offset, nbytes))
            stamps.append(mtime)
            sizes.append(size)
    if not reads:
        return {}
    got = _files.read_remote_frames(reads, stamps, sizes)
    return dict(zip([r[0] for r in reads], got, strict=True))


def read_one(
    ref: FrameRef, shape: tuple[int, ...], frame_shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """One frame (see :func:`read_cells`): the task of a one-frame chunk."""
    return read_cells((0,), (ref,), shape, frame_shape, dtype)
