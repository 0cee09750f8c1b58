"""The one walker of DICOM bytes: the file meta group, then a data set's elements.

The fast header reader (:func:`dbdicom._files._header.read_header`) and the
splitter of the byte writer (:func:`dbdicom._files._raw.elements`) both walk
files with :func:`walk`, so they agree on where every element starts and
ends. It handles Explicit and Implicit VR Little Endian data sets:

- elements with 2-byte lengths, and the VRs with 4-byte lengths (OB, OD, OF,
  OL, OV, OW, SQ, SV, UC, UN, UR, UT, UV);
- sequences and items of defined and of undefined length, nested to any
  depth up to :data:`MAX_NESTING` (walked with a stack, not by recursion);
- UN of undefined length, whose content is Implicit VR Little Endian
  (PS3.5 section 6.2.2), and so is everything nested in it;
- the file meta group with and without its group length (0002,0000);
- the stop at the top-level Pixel Data (or Float / Double Float Pixel Data).

Whatever else it meets (no valid VR where one is due, an item tag out of its
place, nesting beyond the bound) raises :class:`NeedsPydicom`: the callers
then leave the file to pydicom. A file that ends inside an element raises
``EOFError``; never an ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

import struct
from collections.abc import Container
from typing import Any, NamedTuple

from ._sniff import starts_like_dicom
from ._window import Window

__all__ = [
    "MARKER_END",
    "MAX_NESTING",
    "NO_MARKER",
    "End",
    "NeedsPydicom",
    "NotDicomError",
    "TooDeep",
    "explicit_vr",
    "read_meta",
    "walk",
]

UNDEFINED = 0xFFFFFFFF
PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
PER_FRAME_GROUPS = 0x52009230
#: (0028,3000) Modality LUT Sequence: stored values mapped to physical ones by a table
MODALITY_LUT = 0x00283000

#: the bytes of a file's preamble and its 'DICM' marker
MARKER_END = 132
#: why a file of at least :data:`MARKER_END` bytes is not DICOM: it has no marker
NO_MARKER = "no 'DICM' marker at byte 128"

#: sequences nested deeper than this are left to pydicom
MAX_NESTING = 1000
_MAX_STACK = 2 * MAX_NESTING  # a sequence and an item in it: two levels of the stack

#: the length of an explicit VR element header, by VR: 12 for the VRs with a
#: 4-byte length (after 2 reserved bytes), else 8
HEADER_LENGTH = {
    vr.encode(): 12 if vr in "OB OD OF OL OV OW SQ SV UC UN UR UT UV".split() else 8
    for vr in (
        "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI "
        "UL UN UR US UT UV"
    ).split()
}

_short = struct.Struct("<HH2sH").unpack_from
_implicit = struct.Struct("<HHL").unpack_from
_ulong = struct.Struct("<L").unpack_from


class NotDicomError(ValueError):
    """The file is not DICOM; the message says what was found instead."""


class NeedsPydicom(Exception):
    """The file is DICOM but outside what the fast reader handles.

    ``damage``: the tag of the element at which the walker stopped because
    its bytes cannot be what they say (a VR code that does not exist, an
    item among elements), 0 for a layout pydicom is simply there for (Big
    Endian, no file meta).
    """

    def __init__(self, message: str, damage: int = 0) -> None:
        super().__init__(message)
        self.damage = damage


class TooDeep(NeedsPydicom):
    """Sequences nested deeper than :data:`MAX_NESTING`: pydicom, which recurses, cannot either."""


class _Every:
    """Holds every tag."""

    def __contains__(self, tag: object) -> bool:
        return True


_EVERY = _Every()


class End(NamedTuple):
    """Where :func:`walk` stopped.

    ``pixel_tag`` is the tag of the top-level Pixel Data element it stopped
    at (0: the data ended first), ``offset`` where that element's value
    starts (else where the data end) and ``length`` the value's length
    (``0xFFFFFFFF``: encapsulated). ``per_frame_groups``: the data set has
    a Per-frame Functional Groups Sequence. ``disorder``: the tags found
    where they cannot be (not after a smaller tag: repeated or out of
    order; or a sequence of defined length whose first item is longer than
    it), in the order found, empty when none: the values around each may
    not be what was meant. Every one is kept, not the first alone: a
    repeated Rescale Slope after a repeated Patient's Name is no less a
    guess. ``earlier``: for each tag found again (repeated) among those
    kept, the value it had before (as ``out`` held it), in the order found.
    ``modality_lut``: the data set has a Modality LUT Sequence, whose table
    (not a rescale slope and intercept) makes its stored values physical.
    """

    pixel_tag: int
    offset: int
    length: int
    per_frame_groups: bool
    disorder: tuple[int, ...] = ()
    modality_lut: bool = False
    earlier: tuple[tuple[int, Any], ...] = ()


def read_meta(
    win: Window, keep: Container[int] = (), out: dict[int, tuple[bytes, bytes]] | None = None
) -> tuple[int, str, str | None]:
    """Where the data set starts and two UIDs of the file meta, after checking the preamble.

    It reads the file meta group (group 0002, always Explicit VR Little
    Endian), with or without its group length.

    The group ends at the first element of another group, as pydicom reads
    it; the value of (0002,0000) is not trusted.

    Parameters
    ----------
    win : Window
        The file or bytes, from their start.
    keep, out
        The meta elements to keep, and where: ``out[tag] = (VR code, value bytes)``,
        as :func:`walk` keeps elements.

    Returns
    -------
    tuple of (int, str, str or None)
        Where the data set starts, the TransferSyntaxUID ("" when absent) and
        the MediaStorageSOPClassUID (None when absent).

    Raises
    ------
    NotDicomError
        No ``DICM`` marker at byte 128 (or no bytes at all).
    NeedsPydicom
        No preamble but a data set (ACR-NEMA style), or a meta element that is
        not Explicit VR or is of undefined length.
    EOFError
        The file ends inside the file meta.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> with open(get_testdata_file("MR_small.dcm"), "rb") as f:
    ...     read_meta(Window.of_file(f))
    (334, '1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.4')
    """
    data = win.data
    if len(data) < 132 or data[128:132] != b"DICM":
        raise _no_marker(data)
    transfer_syntax = ""
    media: str | None = None
    pos = 132
    base = win.base
    heads = HEADER_LENGTH
    try:
        while True:
            rel = pos - base
            if rel + 12 > len(data):
                rel = win.fetch(pos, 8)
                data, base = win.data, win.base
            group, elem, vr, length = _short(data, rel)
            if group != 0x0002:
                return pos, transfer_syntax, media
            try:
                head = heads[vr]
            except KeyError:
                raise NeedsPydicom(
                    f"file meta element (0002,{elem:04X}) is not explicit VR"
                ) from None
            if head == 12:
                if rel + 12 > len(data):
                    rel = win.fetch(pos, 12)
                    data, base = win.data, win.base
                length = _ulong(data, rel + 8)[0]
                if length == 0xFFFFFFFF:
                    raise NeedsPydicom("undefined length in the file meta")
            if elem == 0x0010:  # TransferSyntaxUID
                transfer_syntax = _meta_text(win, pos + head, length)
            elif elem == 0x0002:  # MediaStorageSOPClassUID
                media = _meta_text(win, pos + head, length)
            _keep_meta(win, pos + head, length, (0x00020000 | elem, vr), keep, out)
            data, base = win.data, win.base
            pos += head + length
    except struct.error as exc:  # pragma: no cover - fetch checks the lengths first
        raise EOFError(f"the file ends inside the file meta ({exc})") from exc


#: how a zip file starts: a local file header, or the end of an empty one's directory
_ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")


def _no_marker(data: bytes) -> Exception:
    r"""The error for a file without DICM: NeedsPydicom for a raw data set, else NotDicomError.

    A zip file (a CD's or a PACS's export, often) says so, with the calls
    that read the DICOM files it holds.

    Examples
    --------
    >>> print(_no_marker(b"PK\x03\x04" + bytes(128)))  # doctest: +ELLIPSIS
    not a DICOM file but a zip archive (no 'DICM' marker at byte 128): ...
    """
    if not data:
        return NotDicomError("the file is empty (0 bytes)")
    if data.startswith(_ZIP_STARTS):
        return NotDicomError(
            f"not a DICOM file but a zip archive ({NO_MARKER}): "
            "database.import_dicom('<its path>') copies the DICOM files it holds into the "
            "database, and db.database('<its path>') opens it as a database of its own"
        )
    if starts_like_dicom(data):
        return NeedsPydicom("no file meta header")
    return NotDicomError(f"not a DICOM file: {NO_MARKER}")


def _keep_meta(
    win: Window,
    pos: int,
    length: int,
    tag_vr: tuple[int, bytes],
    keep: Container[int],
    out: dict[int, tuple[bytes, bytes]] | None,
) -> None:
    """Put the meta element ``tag_vr`` (value at ``pos``) into ``out`` if ``keep`` has it."""
    tag, vr = tag_vr
    if out is not None and tag in keep:
        rel = win.fetch(pos, length)
        out[tag] = (vr, bytes(win.data[rel : rel + length]))


def _meta_text(win: Window, pos: int, length: int) -> str:
    """The text value of ``length`` bytes at ``pos``, without its padding (a file meta UID)."""
    rel = win.fetch(pos, length)
    return win.data[rel : rel + length].decode("latin_1").rstrip(" \x00")


def explicit_vr(win: Window, pos: int, declared: bool) -> bool:
    r"""Whether the data set at ``pos`` really is in explicit VR.

    Some files declare one encoding and use the other; like pydicom, trust
    the bytes: a valid VR code after the first tag means explicit VR.

    Parameters
    ----------
    win : Window
        The file or bytes.
    pos : int
        Where the data set starts.
    declared : bool
        What the transfer syntax says, the answer when there is no element.

    Returns
    -------
    bool

    Examples
    --------
    >>> explicit_vr(Window(b"\x08\x00\x16\x00UI\x02\x001\x00"), 0, False)
    True
    >>> explicit_vr(Window(b"\x08\x00\x16\x00\x02\x00\x00\x001\x00"), 0, True)
    False
    """
    try:
        rel = win.fetch(pos, 6)
    except EOFError:
        return declared
    return bytes(win.data[rel + 4 : rel + 6]) in HEADER_LENGTH


def walk(
    win: Window,
    pos: int,
    explicit: bool,
    keep: Container[int] | None,
    out: dict[int, Any],
    whole: bool = False,
    after: int = 0,
) -> End:
    r"""Where a walk of the data set at ``pos`` stops, with the ``keep`` elements put in ``out``.

    It walks the top-level elements to the data set's end or to its Pixel
    Data; ``keep`` None: all of them.

    Parameters
    ----------
    win : Window
        The file or bytes.
    pos : int
        Where the data set starts (after the file meta, if any).
    explicit : bool
        Explicit VR (else Implicit VR), both Little Endian.
    keep : container of int, or None
        The tags (``0xGGGGEEEE``) to put into ``out``; None: every one.
    out : dict
        Receives, by tag, ``(vr, value)``: the VR code as in the file (b""
        in Implicit VR) and the value's bytes; elements of undefined length
        are left out. With ``whole``, the whole element instead (tag, VR,
        length and value, undefined-length ones to their delimiter), as
        bytes.
    whole : bool
        See ``out``.
    after : int
        The tag of the element before ``pos`` when the walk goes on from
        there (0 at the start): elements out of order are found as in one walk.

    Returns
    -------
    End
        Where it stopped.

    Raises
    ------
    NeedsPydicom
        Something it does not handle: see the module's docstring.
    EOFError
        The data end inside an element.

    Examples
    --------
    >>> import struct
    >>> rows = struct.pack("<HH2sHH", 0x28, 0x10, b"US", 2, 64)
    >>> seq = struct.pack("<HH2sHI", 0x8, 0x1140, b"SQ", 0, 0xFFFFFFFF)
    >>> seq += struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + rows
    >>> seq += struct.pack("<HHIHHI", 0xFFFE, 0xE00D, 0, 0xFFFE, 0xE0DD, 0)
    >>> out = {}
    >>> end = walk(Window(seq + rows), 0, True, None, out)
    >>> end.pixel_tag, end.offset, end.disorder, end.earlier
    (0, 56, (), ())
    >>> out
    {2621456: (b'US', b'@\x00')}
    >>> walk(Window(seq + rows), 0, True, {0x00081140}, out, whole=True).offset
    56
    >>> len(out[0x00081140])
    46
    """
    try:
        return _walk(win, pos, explicit, keep, out, whole, after)
    except struct.error as exc:
        raise EOFError(f"the file ends inside an element ({exc})") from exc


# hot loop, per element of every file: helpers cost +4-5% on walk and read_header (measured)
def _walk(  # noqa: C901
    win: Window,
    pos: int,
    explicit: bool,
    keep: Container[int] | None,
    out: dict[int, Any],
    whole: bool,
    previous: int,
) -> End:
    """:func:`walk`, but for ``struct.error`` at the end of the data.

    This is the hot loop of both indexing and writing, kept flat: the window
    is held in locals, refilled only when an element header crosses its
    end; values of undefined length are walked by :func:`_skip`.
    """
    data = win.data
    base = win.base
    size = len(data)
    end = win.size
    start = -1 if previous else pos  # where the data set starts (a walk on from a tag: not)
    heads = HEADER_LENGTH
    short, implicit, ulong = _short, _implicit, _ulong
    per_frame = lut = False
    disorder: list[int] = []
    earlier: list[tuple[int, Any]] = []
    every = keep is None and whole and win.f is None
    if keep is None:
        keep = _EVERY
    last = size - 12  # the last place in data where a 12-byte element header fits
    while True:
        rel = pos - base
        if rel > last:
            if pos == end:
                return End(0, pos, 0, per_frame, tuple(disorder), lut, tuple(earlier))
            if end - pos < 8:
                raise EOFError(f"the file ({end} bytes) ends inside the element at byte {pos}")
            rel = win.fetch(pos, min(12, end - pos))
            data, base = win.data, win.base
            size = len(data)
            last = size - 12
        if explicit:
            group, elem, vr, length = short(data, rel)
            try:
                head = heads[vr]
            except KeyError:
                if not group and not elem and vr == b"\0\0":  # zeros (see _zeros)
                    return _zeros(pos, start, per_frame, disorder, lut, earlier)
                raise NeedsPydicom(
                    f"({group:04X},{elem:04X}) at byte {pos} has no valid VR",
                    (group << 16) | elem,
                ) from None
            if head == 12:
                length = ulong(data, rel + 8)[0]
        else:
            group, elem, length = implicit(data, rel)
            vr = b""
            head = 8
            if group == 0xFFFE:
                raise NeedsPydicom(
                    f"({group:04X},{elem:04X}) out of place at byte {pos}", (group << 16) | elem
                )
        tag = (group << 16) | elem
        if tag <= previous:
            if not tag and not length:
                return _zeros(pos, start, per_frame, disorder, lut, earlier)
            disorder.append(tag)
            if tag in out:  # repeated: the value it had (the one kept is the last)
                earlier.append((tag, out[tag]))
        previous = tag
        if tag >= 0x00283000:  # one comparison for the many elements before
            if tag >= 0x52000000:
                if tag in PIXEL_TAGS:
                    return End(
                        tag, pos + head, length, per_frame, tuple(disorder), lut, tuple(earlier)
                    )
                if tag == PER_FRAME_GROUPS:
                    per_frame = True
            elif tag == 0x00283000:  # MODALITY_LUT
                lut = True
        if length == 0xFFFFFFFF:  # UNDEFINED
            after = _skip(win, pos + head, explicit and vr != b"UN")
            if whole and (every or tag in keep):
                rel = win.fetch(pos, after - pos)
                out[tag] = win.data[rel : rel + after - pos]
            pos = after
            data, base = win.data, win.base
            size = len(data)
            last = size - 12
            continue
        if vr == b"SQ" and length >= 8 and rel + head + 8 <= size:
            if implicit(data, rel + head)[2] + 8 > length:  # its first item overruns it
                if implicit(data, rel + head)[2] != UNDEFINED:
                    disorder.append(tag)
        length += head  # from here: of the whole element
        if every:  # the splitter: every element, whole, from bytes at hand
            # (an element past the end is cut short here, and the end found next)
            out[tag] = data[rel : rel + length]
        elif tag in keep:
            if rel + length > size:
                rel = win.fetch(pos, length)
                data, base = win.data, win.base
                size = len(data)
                last = size - 12
            out[tag] = data[rel : rel + length] if whole else (vr, data[rel + head : rel + length])
        pos += length


# hot loop, per nested element: helpers cost +5% on the walk of an enhanced CT (measured)
def _zeros(
    pos: int,
    start: int,
    per_frame: bool,
    disorder: list[int],
    lut: bool,
    earlier: list[tuple[int, Any]],
) -> End:
    """Zeros where an element should be, at ``pos``: a file never written to past there.

    The data set ends there (padding after its last element); at its start,
    the file holds none: walked on, a sparse file of gigabytes took minutes.
    """
    if pos == start:
        raise NotDicomError(
            f"zeros where its data set should start (byte {pos}): the file holds "
            "no data (a copy that was never finished?)"
        )
    return End(0, pos, 0, per_frame, tuple(disorder), lut, tuple(earlier))


def _skip(win: Window, pos: int, explicit: bool) -> int:  # noqa: C901
    """Where the value of undefined length at ``pos`` ends.

    That is after the sequence delimiter of its items, walked element by
    element where they are of undefined length too; ``explicit``: the
    encoding of the items' content.

    Nesting is a stack of the open sequences and items (odd lengths: inside
    a sequence), each entry the encoding of its content, not recursion.
    """
    data = win.data
    base = win.base
    size = len(data)
    end = win.size
    head_length = HEADER_LENGTH.get
    short, implicit, ulong = _short, _implicit, _ulong
    stack = [explicit]
    exp = explicit  # the encoding of the item being walked
    while True:
        rel = pos - base
        if rel + 12 > size:
            if end - pos < 8:
                raise EOFError(f"the file ({end} bytes) ends inside the element at byte {pos}")
            rel = win.fetch(pos, min(12, end - pos))
            data, base = win.data, win.base
            size = len(data)
        if len(stack) & 1:  # in a sequence: an item, or the sequence's end
            group, elem, length = implicit(data, rel)
            pos += 8
            if group != 0xFFFE or (elem != 0xE000 and elem != 0xE0DD):
                raise NeedsPydicom(
                    f"({group:04X},{elem:04X}) in a sequence at byte {pos - 8}",
                    (group << 16) | elem,
                )
            if elem == 0xE0DD:
                stack.pop()
                if not stack:
                    return pos
                exp = stack[-1]
            elif length == UNDEFINED:
                stack.append(stack[-1])
            else:
                pos += length
            continue
        # in an item of undefined length: its elements, or its end
        if exp:
            group, elem, vr, length = short(data, rel)
            head = head_length(vr)
            if head is None:
                if group == 0xFFFE and elem == 0xE00D:
                    stack.pop()
                    pos += 8
                    continue
                raise NeedsPydicom(
                    f"({group:04X},{elem:04X}) at byte {pos} has no valid VR", (group << 16) | elem
                )
            if head == 12:
                length = ulong(data, rel + 8)[0]
        else:
            group, elem, length = implicit(data, rel)
            vr = b""
            head = 8
            if group == 0xFFFE:
                if elem == 0xE00D:
                    stack.pop()
                    pos += 8
                    continue
                raise NeedsPydicom(
                    f"({group:04X},{elem:04X}) out of place at byte {pos}", (group << 16) | elem
                )
        pos += head
        if length == UNDEFINED:
            if len(stack) >= _MAX_STACK:
                raise TooDeep(f"sequences nested more than {MAX_NESTING} deep")
            exp = exp and vr != b"UN"  # UN: implicit VR inside (PS3.5 6.2.2)
            stack.append(exp)
        else:
            pos += length
