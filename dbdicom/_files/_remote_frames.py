"""Frames of objects in a remote store, fetched by range (see :mod:`._remote`).

Uncompressed Little Endian frames at the offsets the index recorded: the
byte ranges of all the objects of a read fetched in one ``cat_ranges`` per
store (concurrent on S3, GCS, HTTP), then read by the code that reads local
files (:func:`~dbdicom._files._pixels._read_native`). A range starts at the
pixel data element's tag when the frames are near it, and the tag and
length are checked: an object replaced by one whose pixels moved is a
:class:`~dbdicom.StaleFileError`, never shifted pixels. Other transfer
syntaxes (compressed, Deflate, palettes) are decoded from the whole object,
fetched into a temporary file that the local readers read.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np
from pydicom.uid import ImplicitVRLittleEndian as IMPLICIT_LE

from .._errors import StaleFileError
from ._pixels import PixelFormat, _fast, _read_native, read_frames
from ._ranges import ObjectChanged, cat_ranges
from ._remote import RemoteFile, Store, _as_exception, _ranged, local_copy

__all__ = ["read_remote_frames"]

#: frames this far into the pixel data are fetched from the element's tag, which is checked
CHECK_GAP = 1 << 20
#: (7FE0,0010) Pixel Data, (7FE0,0008) Float and (7FE0,0009) Double Float Pixel Data, as stored
_PIXEL_TAGS = (b"\xe0\x7f\x10\x00", b"\xe0\x7f\x08\x00", b"\xe0\x7f\x09\x00")


class _Span(io.BytesIO):
    """Bytes ``[base, base + len(data))`` of an object of ``size`` bytes, seekable as the object."""

    def __init__(self, data: bytes, base: int, size: int) -> None:
        super().__init__(data)
        self.base, self.size = base, size

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END:
            return self.size  # where the object ends (what an error message says)
        return super().seek(pos - self.base, whence) + self.base


#: one object's read: the object, its frames, format, offset and length of the pixel data
Read = tuple[RemoteFile, list[int], PixelFormat, int, int]


def _element_header(fmt: PixelFormat) -> int:
    """Bytes of the pixel data element's tag and length: 8 in Implicit VR, 12 in Explicit."""
    return 8 if fmt.transfer_syntax == IMPLICIT_LE else 12


def _span(fmt: PixelFormat, frames: list[int], offset: int, nbytes: int) -> tuple[int, int]:
    """The byte range that holds ``frames``, from the pixel data element's tag when near.

    The tag and length are checked (:func:`_moved`); frames more than
    :data:`CHECK_GAP` bytes into the element are fetched alone, unchecked.
    """
    size = fmt.frame_bytes
    start = offset + min(frames) * size
    end = min(offset + (max(frames) + 1) * size, offset + max(nbytes, 0))
    if start - offset <= CHECK_GAP:
        start = max(0, offset - _element_header(fmt))
    return start, max(end, start)


def _moved(data: bytes, start: int, fmt: PixelFormat, offset: int, nbytes: int) -> bool:
    """Whether the bytes before ``offset`` are no longer a pixel data element of ``nbytes``.

    (An object replaced since it was indexed, by one whose header is longer
    or shorter: its pixels are elsewhere now.)
    """
    head = _element_header(fmt)
    at = offset - head - start
    if at < 0 or start + len(data) < offset:
        return False  # not fetched: not checked
    element = data[at : at + head]
    if element[:4] not in _PIXEL_TAGS:
        return True
    return int.from_bytes(element[head - 4 : head], "little") != nbytes


def read_remote_frames(
    reads: Sequence[Read],
    stamps: Sequence[int | None] | None = None,
    sizes: Sequence[int | None] | None = None,
) -> list[np.ndarray]:
    """The stored values of the frames of each read (as :func:`read_frames` gives them).

    Uncompressed Little Endian frames at known offsets: the byte ranges of
    all the objects fetched in one ``cat_ranges`` per store, concurrently;
    the others: each object fetched whole and decoded by the local readers.

    Raises
    ------
    dbdicom.StorageObjectNotFoundError
        An object was deleted since it was indexed.
    dbdicom.StaleFileError
        An object was replaced since it was indexed, by one whose pixel data
        are elsewhere (the element's tag and length, fetched with the
        frames, are checked), or, on S3, at all: ``stamps`` (each object's
        modification time as indexed) go with the requests, which the store
        refuses for an object modified since, whether its frames are read
        by range or the whole object is fetched (compressed, palettes). An
        object fetched whole whose size is not its ``sizes`` entry (its size
        as indexed; None: not checked) was replaced too.
    dbdicom.StorageAccessError, dbdicom.StorageError
        The store refused, or could not be reached.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> from dbdicom._files import pixel_format, read_frames
    >>> path = get_testdata_file("emri_small.dcm")  # 10 frames of 64 x 64
    >>> archive = zip_of({"emri": "emri_small.dcm"})
    >>> fmt, offset, nbytes = pixel_format(path)
    >>> (got,) = read_remote_frames([(Store(archive).object("emri"), [3, 7], fmt, offset, nbytes)])
    >>> bool((got == read_frames(path, [3, 7], fmt, offset, nbytes)).all())
    True
    """
    out: list[np.ndarray | None] = [None] * len(reads)
    ranged: dict[Store, list[int]] = {}
    for i, (obj, _, fmt, offset, nbytes) in enumerate(reads):
        if (
            _fast(fmt)
            and not (fmt.palette_bits or fmt.modality_lut_bits)
            and offset >= 0
            and nbytes >= 0
        ):
            ranged.setdefault(obj.store, []).append(i)
        else:
            size = sizes[i] if sizes is not None else None
            out[i] = _read_whole(*reads[i], size, stamps[i] if stamps is not None else None)
    for store, which in ranged.items():
        fs = store.filesystem()[0]
        spans = [_span(reads[i][2], reads[i][1], reads[i][3], reads[i][4]) for i in which]
        paths = [store.path_of(reads[i][0].rel) for i in which]
        times = [stamps[i] for i in which] if stamps is not None else None
        try:
            got = cat_ranges(fs, paths, [s for s, _ in spans], [e for _, e in spans], times)
        except Exception as exc:  # the store's boundary: see Store.listing
            raise store.error(exc, "cannot be read") from exc
        for i, (start, end), data in zip(which, spans, got, strict=True):
            obj, frames, fmt, offset, nbytes = reads[i]
            if isinstance(data, ObjectChanged):
                raise _changed(obj)
            if not isinstance(data, bytes):
                raise store.error(_as_exception(data), "cannot be read", obj.name)
            data = _ranged(data, start, end)
            if _moved(data, start, fmt, offset, nbytes):
                raise StaleFileError(
                    f"{obj.name} changed since it was indexed: its pixel data are no longer "
                    f"at byte {offset}. database.refresh() takes the change in; then build "
                    "the array again."
                )
            f = _Span(data, start, start + len(data))
            out[i] = _read_native(f, obj.name, frames, fmt, offset, nbytes)
    return [o for o in out if o is not None]


def _read_whole(
    obj: RemoteFile,
    frames: list[int],
    fmt: PixelFormat,
    offset: int,
    nbytes: int,
    size: int | None = None,
    stamp: int | None = None,
) -> np.ndarray:
    """Frames of an object fetched whole, decoded by the readers of local files.

    An object not of ``size`` bytes (as indexed), or, on S3, modified since
    ``stamp`` (its time as indexed, sent as ``If-Unmodified-Since``), is
    another object since: a :class:`~dbdicom.StaleFileError`, never its
    pixels under the old header.
    """
    try:
        with local_copy(obj, stamp) as path:
            return _decoded(obj, path, frames, fmt, size)
    except ObjectChanged:
        raise _changed(obj) from None


def _decoded(
    obj: RemoteFile, path: str, frames: list[int], fmt: PixelFormat, size: int | None
) -> np.ndarray:
    """Frames of the local copy ``path`` of ``obj``, checked against its indexed ``size``."""
    now = os.path.getsize(path)
    if size is not None and size >= 0 and now != size:
        raise _changed(obj, f"{now} bytes, {size} then: ")
    try:
        return read_frames(path, frames, fmt)
    except (IndexError, ValueError, ImportError) as exc:
        text = str(exc).replace(path, obj.name)
        try:
            again = type(exc)(text)
        except TypeError:  # an error made otherwise: raised as it is
            raise exc from None
        raise again from exc


def _changed(obj: RemoteFile, how: str = "") -> StaleFileError:
    """The error of ``obj`` modified in the store since it was indexed (``how``: what tells)."""
    return StaleFileError(
        f"{obj.name} changed in the store since it was indexed ({how}its header may no "
        "longer be the one the array was built from). database.refresh() takes the "
        "change in; then build the array again."
    )
