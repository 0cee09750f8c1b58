"""A fast reader of the header fields of one DICOM file.

It walks the elements of a Part-10 file without building a dataset, keeps the
raw bytes of the few tags asked for, skips everything else by its length, and
stops at the pixel data, whose byte offset and length it records (these make
later reads of uncompressed frames a plain ``seek`` + ``read``).

It handles the file meta group, Explicit and Implicit VR Little Endian
datasets, sequences and items of defined or undefined length, and
encapsulated (compressed) pixel data. Anything else (Big Endian, Deflate,
files without the ``DICM`` marker) raises :class:`NeedsPydicom`, and the caller
falls back to pydicom.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

from ._values import decode_value, encodings_for

__all__ = ["Header", "NeedsPydicom", "NotDicomError", "read_header"]

ITEM = 0xFFFEE000
ITEM_DELIM = 0xFFFEE00D
SEQ_DELIM = 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
# Float Pixel Data and Double Float Pixel Data: bits of each value
_FLOAT_BITS = {0x7FE00008: 32, 0x7FE00009: 64}
SPECIFIC_CHARSET = 0x00080005
TRANSFER_SYNTAX = 0x00020010
MEDIA_SOP_CLASS = 0x00020002
PER_FRAME_GROUPS = 0x52009230

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
# transfer syntaxes whose dataset is not Explicit/Implicit VR Little Endian
_NOT_LE = frozenset({"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"})

_CHUNK = 16384
# decoded values by raw bytes; values are immutable (str, numbers, tuples)
_DECODED: dict[tuple[Any, ...], Any] = {}
_CACHE_SIZE = 100_000
_short = struct.Struct("<HH2sH").unpack_from
_implicit = struct.Struct("<HHL").unpack_from
_ulong = struct.Struct("<L").unpack_from


class NotDicomError(ValueError):
    """The file is not DICOM; the message says what was found instead."""


class NeedsPydicom(Exception):
    """The file is DICOM but outside what the fast reader handles."""


class Header:
    """What :func:`read_header` found in one file.

    Attributes
    ----------
    values : dict
        Decoded values of the tags asked for that are present, by tag number.
    transfer_syntax : str
        The TransferSyntaxUID of the file meta.
    media_sop_class : str or None
        MediaStorageSOPClassUID of the file meta (DICOMDIR has its own).
    pixel_offset, pixel_length : int
        Byte offset and length of native (uncompressed) pixel data; -1 when
        the data are encapsulated or absent.
    encapsulated : bool
        Pixel data are compressed (encapsulated in items).
    has_pixels : bool
        The file has a Pixel Data element.
    has_per_frame_groups : bool
        The dataset has a PerFrameFunctionalGroupsSequence (enhanced
        multi-frame objects), whose per-frame values need a full parse.
    float_bits : int
        32 or 64 when the pixels are (7FE0,0008) Float or (7FE0,0009) Double
        Float Pixel Data (parametric maps), else 0.
    """

    __slots__ = (
        "values",
        "transfer_syntax",
        "media_sop_class",
        "pixel_offset",
        "pixel_length",
        "encapsulated",
        "has_pixels",
        "has_per_frame_groups",
        "float_bits",
    )

    def __init__(self) -> None:
        self.values: dict[int, Any] = {}
        self.transfer_syntax = ""
        self.media_sop_class: str | None = None
        self.pixel_offset = -1
        self.pixel_length = -1
        self.encapsulated = False
        self.has_pixels = False
        self.has_per_frame_groups = False
        self.float_bits = 0


class _Buffer:
    """A window of the file: bytes ``[base, base + len(data))``."""

    __slots__ = ("f", "data", "base", "eof", "size")

    def __init__(self, f: BinaryIO, size: int | None = None) -> None:
        self.f = f
        self.size = os.fstat(f.fileno()).st_size if size is None else size
        self.data = f.read(_CHUNK)
        self.base = 0
        self.eof = len(self.data) < _CHUNK

    def fetch(self, pos: int, n: int) -> int:
        """Make ``[pos, pos + n)`` available; return its index in ``data``."""
        rel = pos - self.base
        if 0 <= rel and rel + n <= len(self.data):
            return rel
        self.f.seek(pos)
        self.data = self.f.read(max(n, _CHUNK))
        self.base = pos
        self.eof = len(self.data) < max(n, _CHUNK)
        if len(self.data) < n:
            raise EOFError(f"the file ({self.size} bytes) ends inside the element at byte {pos}")
        return 0


def read_header(path: str, wanted: Mapping[int, str], data: bytes | None = None) -> Header:
    """Read the header of one DICOM file, decoding only the ``wanted`` tags.

    Parameters
    ----------
    path : str
        The file.
    wanted : mapping of int to str
        Tag numbers (``0xGGGGEEEE``) to decode, each with its dictionary VR
        (used for Implicit VR files and for elements stored as ``UN``).
    data : bytes, optional
        The whole file's bytes, when they are at hand (a file just written):
        read from them instead of opening ``path``.

    Returns
    -------
    Header

    Raises
    ------
    NotDicomError
        No ``DICM`` marker at byte 128 (or the file is empty).
    NeedsPydicom
        A transfer syntax or layout this reader leaves to pydicom.
    EOFError
        The file ends inside an element (truncated).

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> h = read_header(get_testdata_file("MR_small.dcm"), {0x00280010: "US"})
    >>> h.values[0x00280010], h.pixel_offset > 0, h.encapsulated
    (64, True, False)
    """
    opened = open(path, "rb") if data is None else io.BytesIO(data)
    with opened as f:
        buf = _Buffer(f, None if data is None else len(data))
        data = buf.data
        if len(data) < 132 or data[128:132] != b"DICM":
            if not data:
                raise NotDicomError("the file is empty (0 bytes)")
            # a raw dataset without preamble/meta, as old ACR-NEMA style files
            if len(data) >= 8 and data[0:2] in (b"\x08\x00", b"\x02\x00"):
                raise NeedsPydicom("no file meta header")
            raise NotDicomError("not a DICOM file: no 'DICM' marker at byte 128")
        header = Header()
        pos = _read_meta(buf, 132, header)
        ts = header.transfer_syntax
        if ts in _NOT_LE:
            raise NeedsPydicom(f"transfer syntax {ts}")
        explicit = _vr_encoding(buf, pos, ts != IMPLICIT_LE)
        raws: dict[int, tuple[str, bytes]] = {}
        try:
            _walk(buf, pos, explicit, wanted, raws, header, top=True)
        except struct.error as exc:
            raise EOFError(f"the file ends inside an element ({exc})") from exc
        _decode(raws, wanted, header)
        return header


def _decode(raws: dict[int, tuple[str, bytes]], wanted: Mapping[int, str], header: Header) -> None:
    """Decode the ``wanted`` values of ``raws`` (VR, value bytes) into ``header``."""
    encodings = ["latin_1"]
    if SPECIFIC_CHARSET in raws:
        charset = decode_value("CS", raws[SPECIFIC_CHARSET][1], encodings)
        encodings = encodings_for(charset)
    plain = encodings == ["latin_1"]
    cache = _DECODED
    if len(cache) > _CACHE_SIZE:
        cache.clear()
    for tag, (vr, raw) in raws.items():
        if tag in wanted:
            # most values repeat byte for byte across the files of a series
            key: tuple[Any, ...] = (vr, raw) if plain else (vr, raw, *encodings)
            value = cache.get(key, cache)
            if value is cache:
                value = cache[key] = decode_value(vr, raw, encodings)
            header.values[tag] = value


def values_of_elements(
    many: Sequence[Mapping[int, bytes | None]], wanted: Mapping[int, str]
) -> list[dict[int, Any]]:
    """The ``wanted`` values :func:`read_header` would read from each file written
    from one of ``many``: the encoded top-level elements of its dataset
    (explicit VR little endian, as :func:`dbdicom._files._raw.elements` gives
    them; None: left out, as are group lengths and what follows the pixel
    data), without reading the files.

    The files of one write repeat most elements byte for byte: each tag's
    distinct values are decoded once, for each Specific Character Set the
    files have.

    Examples
    --------
    >>> from pydicom.dataset import Dataset
    >>> from dbdicom._files._raw import dataset_bytes, elements
    >>> a, b = Dataset(), Dataset()
    >>> a.Rows, b.Rows, a.Columns, b.Columns = 4, 4, 5, 6
    >>> values_of_elements([elements(dataset_bytes(ds)) for ds in (a, b)], {0x00280010: "US", 0x00280011: "US"})
    [{2621456: 4, 2621457: 5}, {2621456: 4, 2621457: 6}]
    """  # noqa: E501
    out: list[dict[int, Any]] = [{} for _ in many]
    by_charset: dict[bytes | None, list[int]] = {}
    for k, merged in enumerate(many):
        by_charset.setdefault(merged.get(SPECIFIC_CHARSET), []).append(k)
    for charset, files in by_charset.items():
        encodings = ["latin_1"]
        if charset is not None:
            split = _split_element(charset, "CS")
            if split is not None:
                encodings = encodings_for(decode_value("CS", split[1], encodings))
        tags = set()
        for k in files:
            tags.update(many[k].keys() & wanted.keys())
        for tag in tags:
            if tag >= 0x7FE00010 or not tag & 0xFFFF:
                continue  # not written (see file_header)
            decoded: dict[bytes, Any] = {}
            vr = wanted[tag]
            for k in files:
                raw = many[k].get(tag)
                if raw is None:
                    continue
                value = decoded.get(raw, decoded)
                if value is decoded:
                    split = _split_element(raw, vr)
                    value = _UNDECODED if split is None else decode_value(*split, encodings)
                    decoded[raw] = value
                if value is not _UNDECODED:
                    out[k][tag] = value
    return out


_UNDECODED = object()


def _split_element(raw: bytes, wanted_vr: str) -> tuple[str, bytes] | None:
    """The VR and value bytes of one explicit VR element, as :func:`_walk`
    records them (``wanted_vr`` for UN); None for an undefined length, which
    the reader skips."""
    vrb = raw[4:6]
    if vrb in _LONG_VRS:
        if raw[8:12] == b"\xff\xff\xff\xff":
            return None
        return (vrb.decode("latin_1") if vrb != b"UN" else wanted_vr), raw[12:]
    return vrb.decode("latin_1"), raw[8:]


_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI "
    b"UL UN UR US UT UV".split()
)


def _vr_encoding(buf: _Buffer, pos: int, explicit: bool) -> bool:
    """Whether the dataset really is in explicit VR, judged by its first element.

    Some files declare one encoding and use the other; like pydicom, trust
    the bytes: a valid VR code after the first tag means explicit VR.
    """
    try:
        rel = buf.fetch(pos, 6)
    except EOFError:
        return explicit
    return bytes(buf.data[rel + 4 : rel + 6]) in _VRS


def _read_meta(buf: _Buffer, pos: int, header: Header) -> int:
    """Read group 0002 (always Explicit VR Little Endian); return where it ends."""
    while True:
        rel = buf.fetch(pos, 8)
        group, elem, vr, length = _short(buf.data, rel)
        if group != 0x0002:
            return pos
        if vr in _LONG_VRS:
            rel = buf.fetch(pos, 12)
            length = _ulong(buf.data, rel + 8)[0]
            pos += 12
        else:
            pos += 8
        if length == UNDEFINED:
            raise NeedsPydicom("undefined length in the file meta")
        tag = (group << 16) | elem
        if tag in (TRANSFER_SYNTAX, MEDIA_SOP_CLASS):
            rel = buf.fetch(pos, length)
            text = buf.data[rel : rel + length].decode("latin_1").rstrip(" \x00")
            if tag == TRANSFER_SYNTAX:
                header.transfer_syntax = text
            else:
                header.media_sop_class = text
        pos += length


def _walk(
    buf: _Buffer,
    pos: int,
    explicit: bool,
    wanted: Mapping[int, str],
    raws: dict[int, tuple[str, bytes]],
    header: Header,
    top: bool,
) -> int:
    """Walk the elements of one dataset from ``pos``.

    At the top level it stops at the pixel data or the end of the file; inside
    an item of undefined length it stops after the item delimiter. Returns
    the position after the last element read. This is the hot loop of a
    scan: the window of the file is held in locals and refilled only when an
    element header crosses its end.
    """
    data = buf.data
    base = buf.base
    size = len(data)
    while True:
        rel = pos - base
        if rel + 12 > size:
            try:
                rel = buf.fetch(pos, 12)
            except EOFError:
                if top and pos == buf.size:
                    return pos  # clean end of file: no pixel data
                rel = buf.fetch(pos, 0)
                if len(buf.data) < 8:
                    raise
            data = buf.data
            base = buf.base
            size = len(data)
        if explicit:
            group, elem, vrb, length = _short(data, rel)
            if group == 0xFFFE:  # item / delimiters carry no VR
                length = _ulong(data, rel + 4)[0]
                vrb = b""
                pos += 8
            elif vrb in _LONG_VRS:
                length = _ulong(data, rel + 8)[0]
                pos += 12
            else:
                pos += 8
        else:
            group, elem, length = _implicit(data, rel)
            vrb = b""
            pos += 8
        tag = (group << 16) | elem
        if tag == ITEM_DELIM and not top:
            return pos
        if group >= 0x5200:
            if tag in PIXEL_TAGS and top:
                header.has_pixels = True
                header.float_bits = _FLOAT_BITS.get(tag, 0)
                if length == UNDEFINED:
                    header.encapsulated = True
                else:
                    header.pixel_offset = pos
                    header.pixel_length = length
                return pos
            if tag == PER_FRAME_GROUPS:
                header.has_per_frame_groups = True
        if length == UNDEFINED:
            # a sequence (or UN of undefined length, implicit inside per CP-246)
            pos = _skip_sequence(buf, pos, explicit and vrb != b"UN")
            data = buf.data
            base = buf.base
            size = len(data)
            continue
        if top and (tag in wanted or tag == SPECIFIC_CHARSET):
            rel = pos - base
            if rel + length > size:
                rel = buf.fetch(pos, length)
                data = buf.data
                base = buf.base
                size = len(data)
            vr = vrb.decode("latin_1") if vrb and vrb != b"UN" else wanted.get(tag, "UN")
            raws[tag] = (vr, data[rel : rel + length])
        pos += length


def _skip_sequence(buf: _Buffer, pos: int, explicit: bool) -> int:
    """Skip the items of a sequence of undefined length; return the end."""
    dummy = Header()
    while True:
        rel = buf.fetch(pos, 8)
        group, elem, length = _implicit(buf.data, rel)
        tag = (group << 16) | elem
        pos += 8
        if tag == SEQ_DELIM:
            return pos
        if tag != ITEM:
            raise NeedsPydicom(f"unexpected tag {tag:08X} inside a sequence")
        if length == UNDEFINED:
            pos = _walk(buf, pos, explicit, {}, {}, dummy, top=False)
        else:
            pos += length
