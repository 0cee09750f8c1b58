"""Whether encapsulated (compressed) pixel data are laid out as the standard says.

Compressed pixel data are a sequence of items: first the Basic Offset Table
(empty, or one offset per frame, in ascending order), then one or more
fragments, then a sequence delimiter. A reader that trusts a broken layout
decodes the wrong bytes or runs past the end of the file; one that trusts a
shuffled offset table returns the frames in the wrong order. The item
headers are 8 bytes each, read one by one (a seek and 8 bytes a fragment),
so the check costs little even for a thousand frames.
"""

from __future__ import annotations

import struct

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from ._window import Window

__all__ = ["fragment_places", "fragment_problem", "pad_last_fragment"]

_ITEM = 0xE000FFFE  # (FFFE,E000) as read little endian: group first
_END = 0xE0DDFFFE  # (FFFE,E0DD) Sequence Delimitation Item
_HEAD = struct.Struct("<LL")
_MAX_ITEMS = 1 << 20


def _read(win: Window, pos: int, n: int) -> bytes:
    """Bytes ``[pos, pos + n)`` of the file or bytes, fewer where they end."""
    if win.f is None:
        return bytes(win.data[pos : pos + n])
    win.f.seek(pos)
    return win.f.read(n)


def fragment_problem(  # noqa: C901 - one walk
    win: Window, start: int, frames: int, rle_segments: int = 0
) -> str:
    r"""Why the encapsulated pixel data whose first item is at ``start`` cannot be read, or "".

    Parameters
    ----------
    win : Window
        The file or bytes.
    start : int
        Where the first item (the Basic Offset Table) starts.
    frames : int
        Number of Frames (1 when absent).
    rle_segments : int
        For RLE Lossless, the segments each frame must have (Samples per
        Pixel x bytes per sample): the 64-byte RLE header that starts each
        frame's fragment is checked too. 0: not RLE.

    Examples
    --------
    >>> table = _HEAD.pack(_ITEM, 0)
    >>> frame = _HEAD.pack(_ITEM, 4) + b"\xff\xd8\xff\xd9"
    >>> fragment_problem(Window(table + frame + _HEAD.pack(_END, 0)), 0, 1)
    ''
    >>> fragment_problem(Window(table + _HEAD.pack(_END, 0)), 0, 1)
    'the encapsulated pixel data hold no fragment'
    >>> fragment_problem(Window(table + frame), 0, 1)
    'the encapsulated pixel data end at byte 20 without their sequence delimiter (cut short)'
    """
    size = win.size
    head = _read(win, start, 8)
    if len(head) < 8:
        return f"the encapsulated pixel data end at byte {start + len(head)}, before any item"
    tag, length = _HEAD.unpack(head)
    if tag == _END:
        return "the encapsulated pixel data hold no item, not even the offset table"
    if tag != _ITEM:
        return f"the first item of the encapsulated pixel data has the tag {_label(tag)}"
    pos = start + 8 + length
    if pos > size:
        return f"the Basic Offset Table ({length} bytes) runs past the end of the file"
    if length and (length % 4 or length // 4 != frames):
        return (
            f"the first item ({length} bytes) is not a Basic Offset Table of {frames} "
            "frame(s) (4 bytes each): the offset table is missing or damaged"
        )
    offsets = struct.unpack(f"<{length // 4}L", _read(win, start + 8, length)) if length else ()
    count = 0
    first = pos
    while count < _MAX_ITEMS:
        head = _read(win, pos, 8)
        if len(head) < 8:
            return (
                f"the encapsulated pixel data end at byte {pos + len(head)} without their "
                "sequence delimiter (cut short)"
            )
        tag, length = _HEAD.unpack(head)
        if tag == _END:
            break
        if tag != _ITEM:
            return f"fragment {count + 1} of the encapsulated pixel data has the tag {_label(tag)}"
        if pos + 8 + length > size:
            return f"fragment {count + 1} ({length} bytes) runs past the end of the file"
        if rle_segments:
            why = _rle_header(_read(win, pos + 8, min(length, 64)), length, rle_segments)
            if why:
                return f"the RLE header of frame {count + 1} {why}"
        count += 1
        pos += 8 + length
    if count == 0:
        return "the encapsulated pixel data hold no fragment"
    if count < frames:
        return f"the encapsulated pixel data hold {count} fragment(s) for {frames} frames"
    if offsets and (
        offsets[0] != 0
        or any(b <= a for a, b in zip(offsets, offsets[1:], strict=False))
        or offsets[-1] >= pos - first
    ):
        return (
            "the Basic Offset Table's offsets are not ascending from 0 within the fragments: "
            "frames would come from the wrong places"
        )
    return ""


def fragment_places(win: Window, start: int) -> tuple[tuple[int, ...], list[tuple[int, int]]]:
    r"""The Basic Offset Table and where each fragment's bytes are, of well-formed items.

    Parameters
    ----------
    win : Window
        The file or bytes.
    start : int
        Where the first item (the Basic Offset Table) starts.

    Returns
    -------
    tuple
        ``(offsets, fragments)``: the table's offsets (empty when the table
        is), relative to the first fragment's item; per fragment, the byte
        offset and length of its value (the code stream, with the pad byte
        that makes its length even).

    Raises
    ------
    ValueError
        The items are not laid out as the standard says (what
        :func:`fragment_problem` finds).

    Examples
    --------
    >>> table = _HEAD.pack(_ITEM, 0)
    >>> frame = _HEAD.pack(_ITEM, 4) + b"\xff\xd8\xff\xd9"
    >>> fragment_places(Window(table + frame + frame + _HEAD.pack(_END, 0)), 0)
    ((), [(16, 4), (28, 4)])
    """
    head = _read(win, start, 8)
    if len(head) < 8 or _HEAD.unpack(head)[0] != _ITEM:
        raise ValueError(fragment_problem(win, start, 1) or "no Basic Offset Table item")
    length = _HEAD.unpack(head)[1]
    offsets = struct.unpack(f"<{length // 4}L", _read(win, start + 8, length - length % 4))
    pos = start + 8 + length
    places: list[tuple[int, int]] = []
    while len(places) < _MAX_ITEMS:
        head = _read(win, pos, 8)
        if len(head) < 8:
            break
        tag, length = _HEAD.unpack(head)
        if tag == _END:
            return offsets, places
        if tag != _ITEM or pos + 8 + length > win.size:
            break
        places.append((pos + 8, length))
        pos += 8 + length
    raise ValueError(fragment_problem(win, start, max(1, len(places))) or "items cut short")


def pad_last_fragment(ds: Dataset) -> None:
    """Give an odd last fragment of ``ds``'s encapsulated pixel data its pad byte, inside it.

    DICOM pads each fragment to an even length; a code stream cut short can
    leave the last one odd. pydicom pads the pixel data whole, after it, so
    that the byte falls between that fragment and the sequence delimiter, where
    a reader looks for an item tag. Padded inside it, the fragments are as they
    were, the last one a zero byte longer (decoders stop at its end marker, or
    find it missing as before). Pixel data whose items do not walk to the end
    of the value are left as they are.

    Examples
    --------
    >>> from pydicom.dataelem import DataElement
    >>> ds = Dataset()
    >>> ds[0x7FE00010] = DataElement(0x7FE00010, "OB", _HEAD.pack(_ITEM, 0)
    ...                              + _HEAD.pack(_ITEM, 3) + b"abc", is_undefined_length=True)
    >>> pad_last_fragment(ds)
    >>> ds.PixelData[12], ds.PixelData[16:] == b"abc" + bytes(1)  # its length 4, a zero added
    (4, True)
    """
    elem = ds.get_item(0x7FE00010, keep_deferred=True)
    if elem is None:
        return
    if isinstance(elem, RawDataElement):
        undefined = elem.length == 0xFFFFFFFF
    else:
        undefined = elem.is_undefined_length
    if not undefined:
        return
    value = ds[0x7FE00010].value
    if not isinstance(value, bytes) or len(value) % 2 == 0:
        return
    pos, last = 0, -1
    while pos + 8 <= len(value):
        tag, length = _HEAD.unpack_from(value, pos)
        if tag != _ITEM:
            return
        last, pos = pos, pos + 8 + length
    if pos != len(value) or last < 0:
        return
    length = _HEAD.unpack_from(value, last)[1]
    if length % 2 == 0:  # an odd fragment before it: not the one to pad
        return
    ds[0x7FE00010].value = value[:last] + _HEAD.pack(_ITEM, length + 1) + value[last + 8 :] + b"\0"


def _rle_header(head: bytes, length: int, expected: int) -> str:
    """Why an RLE fragment's header is not one of ``expected`` segments within ``length``, or "".

    Examples
    --------
    >>> header = struct.pack("<16L", 2, 64, 100, *[0] * 13)
    >>> _rle_header(header, 200, 2), _rle_header(header, 200, 1)
    ('', 'says 2 segment(s), where the image has 1')
    """
    if len(head) < 64:
        return f"is cut short ({len(head)} of 64 bytes)"
    count, *offsets = struct.unpack("<16L", head)
    if count != expected:
        return f"says {count} segment(s), where the image has {expected}"
    used = offsets[:count]
    if used[0] != 64 or any(b <= a for a, b in zip(used, used[1:], strict=False)):
        return f"has segment offsets {used} that are not ascending from 64"
    if used[-1] >= length:
        return f"has a segment at byte {used[-1]} of a {length}-byte fragment"
    return ""


def _label(tag: int) -> str:
    """``(GGGG,EEEE)`` of a tag read as one little-endian number (group in the low half)."""
    return f"({tag & 0xFFFF:04X},{tag >> 16:04X})"
