"""Where each frame's stored bytes are in its file: one byte range a frame.

A virtual Zarr store (``dbdicom._export._virtual``) points each chunk at a
byte range of a DICOM file, to be read as it is (native pixel data) or
decoded by one codec (a compressed frame). :func:`frame_places` finds those
ranges:

- **native** data (Explicit or Implicit VR Little Endian, Explicit VR Big
  Endian): frame ``k`` is the ``k``-th run of ``frame_bytes`` bytes of the
  Pixel Data value. Little Endian offsets come from the index (or the fast
  header reader); Big Endian ones from pydicom, which records where each
  value starts.
- **encapsulated** data: frame ``k`` is the value of the item that holds
  its code stream. A frame whose code stream is split over several
  fragments has no one byte range, and is refused.

Bit-packed frames (Bits Allocated 1) need not start on a byte and Deflate
data have no frame in the file at all: both are refused by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

import pydicom
from pydicom.uid import ExplicitVRBigEndian as BIG_ENDIAN

from .._errors import InvalidFileError, VirtualZarrError
from ._fragments import fragment_places
from ._header import FRAMES_TAG, NO_TAGS, NeedsPydicom, NotDicomError, read_header
from ._pixels import PixelFormat
from ._window import Window

__all__ = ["BIG_ENDIAN", "NATIVE", "frame_places"]

#: the transfer syntaxes of native (uncompressed) pixel data a chunk can point into
NATIVE = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", BIG_ENDIAN})
NUMBER_OF_FRAMES = 0x00280008
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
_SPLIT_HINT = (
    "a chunk is one byte range of the file, so such a frame cannot be read in place; "
    "export a copy with series.export_as_zarr(path) instead"
)


def frame_places(
    path: str, fmt: PixelFormat, frames: Sequence[int], offset: int = -1, nbytes: int = -1
) -> list[tuple[int, int]]:
    """The byte offset and length in ``path`` of each frame of ``frames``.

    Parameters
    ----------
    path : str
        The file.
    fmt : PixelFormat
        How its pixels are stored (Bits Allocated 8, 16, 32 or 64 for
        native data).
    frames : sequence of int
        0-based frame numbers.
    offset, nbytes : int
        Byte offset and length of native Little Endian pixel data as the
        index records them; -1: found here.

    Returns
    -------
    list of tuple
        Per frame, ``(offset, length)``: of its stored values (native), or
        of the value of the item holding its code stream (encapsulated).

    Raises
    ------
    dbdicom.VirtualZarrError
        A compressed frame split over several fragments.
    dbdicom.InvalidFileError
        The pixel data end before a frame, or are not where the header
        says.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> from dbdicom._files import pixel_format
    >>> path = get_testdata_file("emri_small.dcm")  # 10 frames of 64 x 64 x 16 bits
    >>> fmt, offset, nbytes = pixel_format(path)
    >>> [(o - offset, n) for o, n in frame_places(path, fmt, [0, 2], offset, nbytes)]
    [(0, 8192), (16384, 8192)]
    >>> rle = get_testdata_file("emri_small_RLE.dcm")  # one fragment a frame
    >>> len(frame_places(rle, pixel_format(rle)[0], range(10)))
    10
    """
    if fmt.transfer_syntax in NATIVE:
        if offset < 0 or nbytes < 0 or fmt.transfer_syntax == BIG_ENDIAN:
            offset, nbytes = _native_place(path)
        size = fmt.frame_bytes
        places = []
        for k in frames:
            if (k + 1) * size > nbytes:
                raise InvalidFileError(
                    f"{path}: frame {k} of {size} bytes ends at byte {(k + 1) * size} of the "
                    f"(7FE0,0010) 'Pixel Data', which holds {nbytes}: the file is cut short "
                    "or its header is wrong; re-export it from its source"
                )
            places.append((offset + k * size, size))
        return places
    return _encapsulated(path, frames)


def _native_place(path: str) -> tuple[int, int]:
    """Offset and length of the value of a file's native pixel data element."""
    try:
        header = read_header(path, NO_TAGS)
        if header.pixel_offset >= 0:
            return header.pixel_offset, header.pixel_length
    except (NeedsPydicom, NotDicomError, EOFError):
        pass  # Big Endian, or a layout only pydicom reads
    ds = pydicom.dcmread(path, defer_size=64, force=True)
    for tag in _PIXEL_TAGS:
        if tag in ds:
            elem = ds.get_item(tag, keep_deferred=True)
            tell = getattr(elem, "value_tell", None)  # a deferred (raw) element has it
            length = getattr(elem, "length", 0xFFFFFFFF)
            if tell is not None and length != 0xFFFFFFFF:
                return int(tell), int(length)
    raise InvalidFileError(f"{path}: no native (7FE0,0010) 'Pixel Data' value was found")


def _encapsulated(path: str, frames: Sequence[int]) -> list[tuple[int, int]]:
    """The item value holding each frame's code stream, one fragment a frame."""
    try:
        header = read_header(path, FRAMES_TAG)
    except (NeedsPydicom, NotDicomError, EOFError) as exc:
        raise InvalidFileError(
            f"{path}: its encapsulated pixel data cannot be walked: {exc}"
        ) from exc
    if header.pixel_problem or header.items_offset < 0:
        why = header.pixel_problem or "no encapsulated pixel data"
        raise InvalidFileError(f"{path}: {why}")
    count = header.values.get(NUMBER_OF_FRAMES)
    n = count if isinstance(count, int) and count > 0 else 1
    with open(path, "rb") as f:
        try:
            table, fragments = fragment_places(Window.of_file(f), header.items_offset)
        except ValueError as exc:
            raise InvalidFileError(f"{path}: {exc}") from exc
    if len(fragments) == n:
        owner = list(range(n))
    elif len(table) == n:
        first = fragments[0][0] - 8
        starts = [o - 8 - first for o, _ in fragments]
        owner = [sum(1 for t in table if t <= s) - 1 for s in starts]
    else:
        raise VirtualZarrError(
            f"{path}: its {n} frame(s) are split over {len(fragments)} fragments of "
            f"(7FE0,0010) 'Pixel Data' without a Basic Offset Table that says which is "
            f"whose: {_SPLIT_HINT}"
        )
    held_by: dict[int, list[int]] = {}
    for i, k in enumerate(owner):
        held_by.setdefault(k, []).append(i)
    places = []
    for k in frames:
        held = held_by.get(k, [])
        if len(held) != 1:
            raise VirtualZarrError(
                f"{path}: frame {k} is split over {len(held)} fragments of (7FE0,0010) "
                f"'Pixel Data': {_SPLIT_HINT}"
            )
        places.append(fragments[held[0]])
    return places
