"""New files: frames encoded, written atomically and indexed; the files they replace removed.

The header plans (:mod:`dbdicom._dataset`) decide what each frame's header
holds; this module turns serialised headers and pixels into files, enters
them in the index and removes the files they replace. A frame comes as a :class:`RawFrame` (element
layers, joined into bytes here) or as a pydicom dataset. Each new file
appears whole or not at all (:func:`store_file`), and its index row is decoded
from the elements written, not read back. The blocks of a dask array are
written by dask tasks (:func:`_write_frames`, which needs no database).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite

from .._dataset import Encoding, RawFrame, encode, file_head, pixel_format
from .._files import MODALITY_LUT, Header, values_of_elements
from .._index import WANTED, Row, header_row, scan_one
from ._edit import PROGRESS_FROM

if TYPE_CHECKING:
    from ._record import Record

__all__ = [
    "Scanned",
    "index_written",
    "remove_previous",
    "store_file",
    "write_all",
]

# a file written: its path, index row and frame rows
Scanned = tuple[str, Row, list[Row]]


# frames encoded at once (fewer calls into numpy than one by one; 2 at a time
# took more CPU time when other processes shared the CPU's caches)
_CHUNK = 8


class _Encoded:
    """The stored values of ``frames``, encoded a few frames at a time as the writing reaches them.

    Each few frames are encoded into the same two buffers (see
    :func:`~dbdicom._dataset.encode`): a frame's stored values are valid
    until the next few frames are asked for, which is after the frame's
    file is written.

    (Encoding on a helper thread was tried: each system call of the writing
    thread then waits for the helper to give the GIL back, which costs about
    what the encoding does, since float32 data are scaled in float32.)
    """

    def __init__(self, frames: np.ndarray, encoding: Encoding) -> None:
        self.frames, self.encoding = frames, encoding
        self.chunk = -1
        self.values: np.ndarray | None = None
        self.per = max(1, min(len(frames), _CHUNK))
        self._out: np.ndarray | None = None
        self._scratch: np.ndarray | None = None

    def __getitem__(self, k: int) -> np.ndarray:
        j = k // self.per
        if j != self.chunk:
            part = self.frames[j * self.per : (j + 1) * self.per]
            self.values, self.chunk = self._encode(part), j
        assert self.values is not None
        return self.values[k % self.per]

    def _encode(self, part: np.ndarray) -> np.ndarray:
        """Stored values of ``part``, little endian, in the buffers where they fit."""
        if self._out is None:
            shape = (self.per, *self.frames.shape[1:])
            self._out = np.empty(shape, np.dtype(self.encoding.dtype).newbyteorder("<"))
            if part.dtype.kind == "f" and part.dtype.itemsize <= 4:
                self._scratch = np.empty(shape, np.float32)
        n = len(part)
        scratch = None if self._scratch is None else self._scratch[:n]
        return encode(part, self.encoding, self._out[:n], scratch)


def _write_frames(
    root: str,
    tmp: str,
    items: Sequence[tuple[str, Any]],
    block: np.ndarray,
    encoding: Encoding,
    report: Callable[[int], None] | None = None,
) -> list[Scanned]:
    """Write the frames of one block (runs in a dask task: no database needed).

    ``report(k)`` after the k-th frame, where there is someone to tell.

    Each frame's header is built, its pixels encoded (see :class:`_Encoded`),
    the file written and its index row read from the elements written.
    Returns the index rows of the files written, read from the bytes written
    (where the task ran: the database does not read the files again).
    """
    folder = getattr(items, "folder", None)  # a series' frames: one folder
    if folder is not None:
        folders = {str(folder)}
    else:
        folders = {os.path.dirname(rel) for rel, _ in items}
    for folder in folders:
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    scanned: list[Scanned] = []
    raw_rows: list[tuple[Row, dict[int, bytes | None], tuple[int, int, str]]] = []
    frames = np.asarray(block).reshape(-1, *block.shape[-2:])
    ahead: _Unnamed | None = None
    with contextlib.ExitStack() as stack:
        stored = _Encoded(frames, encoding)
        for k, (rel, ds) in enumerate(items):
            if k == 1 and len(folders) == 1 and _UNNAMED.get(os.getpid()):
                # the first file showed that unnamed files can be made here
                ahead = stack.enter_context(_Unnamed(os.path.join(root, *folders), len(items) - 1))
            pixels = stored[k]
            if isinstance(ds, RawFrame):
                nbytes = pixels.nbytes
                head, merged = file_head(ds, nbytes)
                store_file(root, tmp, rel, head, pixels, ahead)
                # the index row from the elements just written (below, in bulk)
                row = {"_path": rel, "_size": len(head) + nbytes + nbytes % 2, "_mtime": 0}
                raw_rows.append((row, merged, (len(head), nbytes, ds.sop_class)))
                scanned.append((rel, row, []))
            else:
                head = _dataset_file(ds, pixels, encoding)
                store_file(root, tmp, rel, head, None, ahead)
                scanned.append((rel, *scan_one(root, rel, len(head), 0, head)))
            if report is not None:
                report(k)
        if len(scanned) != len(frames):
            raise ValueError(f"{len(frames)} frames but {len(scanned)} headers")
    # what a scan would read from each file written as bytes, decoded in bulk
    problems: list[dict[int, str]] = [{} for _ in raw_rows]
    values = values_of_elements([merged for _, merged, _ in raw_rows], WANTED, problems)
    for (row, merged, (offset, length, sop_class)), found, bad in zip(
        raw_rows, values, problems, strict=True
    ):
        header = Header()
        header.values = found
        header.problems = bad
        header.transfer_syntax = "1.2.840.10008.1.2.1"
        header.pixel_offset, header.pixel_length = offset, length
        header.has_pixels = True  # the frame follows the head
        header.media_sop_class = sop_class
        header.has_modality_lut = merged.get(MODALITY_LUT) is not None
        header_row(row, header)
    return scanned


def store_file(
    root: str,
    tmp: str,
    rel: str,
    head: bytes,
    pixels: np.ndarray | None,
    ahead: _Unnamed | None = None,
) -> None:
    """Write one new file, ``head`` then the stored ``pixels`` (if any), atomically.

    It appears complete or not at all (see :func:`_create_unnamed`);
    ``ahead``: what makes the unnamed files of its folder.
    """
    parts: list[Any] = [head]
    if pixels is not None:
        parts.append(pixels.data if pixels.flags.c_contiguous else pixels.tobytes())
        if pixels.nbytes % 2:
            parts.append(b"\0")
    target = os.path.join(root, rel)
    if _create_unnamed(target, parts, ahead):
        return
    part = os.path.join(tmp, os.path.basename(rel))
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        fd = os.open(part, flags, 0o666)
        try:
            _write_all_bytes(fd, parts)
        finally:
            os.close(fd)
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        raise


# Linux: a file made without a name in its folder (O_TMPFILE), written, then
# given its name (linkat through /proc/self/fd) -- atomic like a temporary file
# renamed, but one change of one folder instead of two: on ext4, writing a
# derived series this way takes ~0.6x the time. None: not tried yet in this
# process; False: not available (another OS, file system or kernel).
_UNNAMED: dict[int, Any] = {}


def _create_unnamed(target: str, parts: list[Any], ahead: _Unnamed | None = None) -> bool:
    """Create ``target`` from ``parts`` through an unnamed file (made by ``ahead``, where given).

    False where that is not available (the caller then writes a temporary
    file).
    """
    pid = os.getpid()
    proc = _UNNAMED.get(pid)
    if proc is False or not hasattr(os, "O_TMPFILE"):
        return False
    try:
        fd = ahead.take() if ahead is not None else _open_unnamed(os.path.dirname(target))
    except OSError:  # not supported here (EOPNOTSUPP, EISDIR, EINVAL...)
        _UNNAMED[pid] = False
        return False
    try:
        if proc is None:
            try:
                proc = _UNNAMED[pid] = os.open("/proc/self/fd", os.O_RDONLY)
            except OSError:
                _UNNAMED[pid] = False
                return False
        _write_all_bytes(fd, parts)
        try:
            os.link(str(fd), target, src_dir_fd=proc, follow_symlinks=True)
        except FileExistsError:
            return False  # replacing a file: the caller renames a temporary one
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.ENOENT, errno.EOPNOTSUPP):
                _UNNAMED[pid] = False
                return False
            raise
    finally:
        os.close(fd)
    return True


def _open_unnamed(folder: str) -> int:
    return os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o666)


class _Unnamed:
    """Makes the unnamed files of one folder, ``n`` at most.

    It makes them itself, or, once making them is seen to wait for the disk,
    a helper thread makes them a few files ahead.

    Making a file can wait for the disk: the file system's metadata and
    journal work (on this project's test machine, at times, 0.2-0.5 ms per
    file, against ~0.01 ms at others). Made ahead, that wait overlaps the
    encoding and writing of the files before. Where making files does not
    wait, no thread is started: handing the interpreter lock to and fro
    would cost more than it saves. Files not taken are closed on exit:
    unnamed, they leave nothing behind.
    """

    def __init__(self, folder: str, n: int, depth: int = 8) -> None:
        self.folder, self.left, self.depth = folder, n, depth
        self.made, self.waited = 0, 0.0
        self._queue: queue.Queue[int | BaseException] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self) -> int:
        """The next file (raises what making it raised)."""
        self.left -= 1
        if self._queue is not None:
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            return item
        start = time.perf_counter()
        fd = _open_unnamed(self.folder)
        self.waited += time.perf_counter() - start
        self.made += 1
        if self.waited > _WAITS * max(self.made, 8) and self.left > self.depth:
            self._start()
        return fd

    def _start(self) -> None:
        self._queue = queue.Queue(maxsize=self.depth)
        self._thread = threading.Thread(target=self._make, args=(self.left,), daemon=True)
        self._thread.start()

    def _make(self, n: int) -> None:
        assert self._queue is not None
        try:
            for _ in range(n):
                if self._stop.is_set():
                    return
                self._queue.put(_open_unnamed(self.folder))
        except BaseException as exc:  # whatever stopped it, the taker raises
            self._queue.put(exc)

    def __enter__(self) -> _Unnamed:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop making files and close those not taken."""
        if self._thread is None or self._queue is None:
            return
        self._stop.set()
        while True:
            ended = not self._thread.is_alive()
            while True:  # taking them lets a helper waiting to put one go on
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(item, BaseException):
                    os.close(item)
            if ended:  # all it made was in the queue
                break
            self._thread.join(0.005)


# making files waits for the disk when it takes longer than this on average
# (seconds per file; not waiting, it takes ~10 us)
_WAITS = 50e-6


def _write_all_bytes(fd: int, parts: list[Any]) -> None:
    """Write ``parts`` (bytes-like) to ``fd``, in one call where the OS allows."""
    views = [memoryview(p).cast("B") for p in parts]
    if hasattr(os, "writev"):
        while views:
            done = os.writev(fd, views)
            while views and done >= len(views[0]):
                done -= len(views[0])
                views.pop(0)
            if views and done:
                views[0] = views[0][done:]
        return
    for view in views:  # pragma: no cover - Windows
        while len(view):
            view = view[os.write(fd, view) :]


def _dataset_file(ds: Dataset, stored: np.ndarray, encoding: Encoding) -> bytes:
    """The bytes of a whole file of a frame built with pydicom."""
    rows, width = stored.shape[-2:]  # colour: its samples side by side in each row
    pixel_format(ds, (rows, width // encoding.samples), encoding, "RescaleSlope" in ds)
    ds.PixelData = np.ascontiguousarray(stored).astype(stored.dtype.newbyteorder("<")).tobytes()
    ds["PixelData"].VR = "OW"
    buffer = io.BytesIO()
    # Explicit VR Little Endian whatever the source was (big endian included)
    dcmwrite(buffer, ds, implicit_vr=False, little_endian=True, enforce_file_format=True)
    del ds.PixelData  # written: do not keep every frame's pixels
    return buffer.getvalue()


def write_all(
    root: str,
    tmp: str,
    items: Sequence[tuple[str, Any]],
    da: Any,
    encoding: Encoding,
    series: Record,
    blocks: list[np.ndarray] | None = None,
) -> list[Scanned]:
    """Write every frame: block by block (in parallel, on the dask scheduler) for dask data.

    ``blocks``: the blocks of ``da``'s dask array, computed already (see
    :func:`~dbdicom._dataset.computed_with_range`; the array's rows and
    columns in one chunk): they are written here, one after the other, as
    numpy data are. (Written by tasks on two threads, 200 frames took
    ~1.4x the time: each system call of one thread waits for the other to
    give the GIL back.)

    Progress goes to the series' status: per frame, or (dask) before and
    after.
    """
    import dask.array as dsa

    data = da.data
    nframes = len(items)

    def report(k: int) -> None:
        if nframes >= PROGRESS_FROM:
            series.progress(k + 1, nframes, "Writing")

    if not isinstance(data, dsa.Array):
        frames = np.asarray(data).reshape(nframes, *da.shape[-2:])
        return _write_frames(root, tmp, items, frames, encoding, report)
    if nframes >= PROGRESS_FROM and blocks is None:
        series.message(f"Writing {nframes} frames, in blocks, on the dask scheduler")
    data = data.rechunk({data.ndim - 2: -1, data.ndim - 1: -1})
    shape = data.shape[:-2]
    order = np.arange(nframes).reshape(shape) if shape else np.arange(1)
    plans: list[tuple[tuple[int, ...], list[int]]] = []
    done: list[Scanned] = []
    for b, block_index in enumerate(np.ndindex(*data.numblocks[:-2]) if shape else [()]):
        slices = tuple(
            slice(sum(c[:i]), sum(c[: i + 1]))
            for c, i in zip(data.chunks[:-2], block_index, strict=True)
        )
        which = [int(i) for i in order[slices].reshape(-1)]
        if blocks is not None:
            done += _write_frames(
                root,
                tmp,
                _Some(items, np.asarray(which)),
                blocks[b],
                encoding,
                functools.partial(_after, report, len(done)),
            )
            continue
        plans.append((tuple(block_index), which))
    if blocks is not None:
        return done
    done = _write_by_tasks(root, tmp, items, data, plans, encoding, series)
    if nframes >= PROGRESS_FROM:
        series.progress(nframes, nframes, "Writing")
    return done


def _write_by_tasks(
    root: str,
    tmp: str,
    items: Sequence[tuple[str, Any]],
    data: Any,
    plans: list[tuple[tuple[int, ...], list[int]]],
    encoding: Encoding,
    series: Record,
) -> list[Scanned]:
    """The blocks ``plans`` of the dask array ``data`` written by tasks on the scheduler.

    Blocks whose task ran where the database's folder is not (see
    :func:`_write_block`) are computed again there and written here, one at
    a time.
    """
    import dask

    probe = os.path.join(tmp, f"here-{uuid.uuid4().hex}")
    with open(probe, "wb"):
        pass
    try:
        tasks = [
            dask.delayed(_write_block)(
                root,
                tmp,
                dask.delayed([items[i] for i in which], traverse=False),  # plain data
                data.blocks[(*block_index, 0, 0)],
                encoding,
                probe,
            )
            for block_index, which in plans
        ]
        results = list(dask.compute(*tasks))
    finally:
        os.remove(probe)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    away = [k for k, result in enumerate(results) if isinstance(result, _Elsewhere)]
    if away:
        series.message(
            f"{len(away)} of {len(plans)} blocks were computed by dask workers that do not "
            f"see the folder {root}: they are written here"
        )
    for k in away:
        block_index, which = plans[k]
        (values,) = dask.compute(data.blocks[(*block_index, 0, 0)])
        results[k] = _write_frames(root, tmp, _Some(items, np.asarray(which)), values, encoding)
    done: list[Scanned] = []
    for result in results:
        assert isinstance(result, list)
        done.extend(result)
    return done


def _after(report: Callable[[int], None], first: int, k: int) -> None:
    report(first + k)


class _Some(Sequence[tuple[str, Any]]):
    """The frames ``which`` of ``items``, each got when asked for (as ``items`` gives them)."""

    def __init__(self, items: Sequence[tuple[str, Any]], which: np.ndarray) -> None:
        self.items, self.which = items, [int(i) for i in which]
        folder = getattr(items, "folder", None)  # a series' frames: one folder
        if folder is not None:
            self.folder = folder

    def __len__(self) -> int:
        return len(self.which)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self.items[i] for i in self.which[k]]
        return self.items[self.which[k]]


class _Elsewhere:
    """What a block's task returns where the database's folder is not: nothing written."""


def _write_block(
    root: str,
    tmp: str,
    items: Sequence[tuple[str, Any]],
    block: np.ndarray,
    encoding: Encoding,
    probe: str,
) -> list[Scanned] | Exception | _Elsewhere:
    """:func:`_write_frames` of one block, or what it raised, returned.

    Returned, not raised: dask raises the first error of a compute at once,
    while the other blocks' tasks write on; a change undone then (see
    :meth:`~dbdicom._records._changes.Changes.changing`) would leave the
    files they write after it. So every block ends before the error is
    raised.

    A worker of a cluster that does not see the database's folder (no
    shared disk: the file ``probe``, made there just before, is not found)
    writes nothing: it would write into a folder of its own machine, and the
    series would be lost. The block is then computed again and written
    where the database is (:func:`write_all`).
    """
    if not os.path.exists(probe):
        return _Elsewhere()
    try:
        return _write_frames(root, tmp, items, block, encoding)
    except Exception as exc:  # raised by write_all once every block has ended
        return exc


def index_written(series: Record, rels: list[str], rows: dict[str, tuple[Row, list[Row]]]) -> None:
    """The files written (``rels``, whether or not all were) enter the index.

    ``rows``: those read from the bytes written (the others are read).
    """
    series._db._editor.indexed(rels, rows)  # the other views of the folder read them too
    series._db._editor.prune()


def remove_previous(series: Record, old: list[str]) -> None:
    """Remove the files ``old``: the series' instances before a write replaced them."""
    if old:
        frame = series._db.index.frame
        series._db._editor.remove_rows(np.flatnonzero(frame["_path"].isin(old).to_numpy()))
