"""A fast reader of the header fields of one DICOM file.

It walks the elements of a Part-10 file without building a dataset (with
:func:`dbdicom._files._walker.walk`, which the byte writer's splitter uses
too), keeps the raw bytes of the few tags asked for, skips everything else by
its length, and stops at the pixel data, whose byte offset and length it
records (these make later reads of uncompressed frames a plain ``seek`` +
``read``).

It handles the file meta group, Explicit and Implicit VR Little Endian
datasets, sequences and items of defined or undefined length, and
encapsulated (compressed) pixel data. A Deflate dataset is inflated as it
is walked, a chunk at a time, so its header costs memory of the order of a
chunk, whatever its pixel data inflate to. Anything else (Big Endian, files
without the ``DICM`` marker, layouts the walker declines) raises
:class:`NeedsPydicom`, and the caller falls back to pydicom.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Container, Mapping, Sequence
from typing import Any

from pydicom.uid import UID
from pydicom.uid import DeflatedExplicitVRLittleEndian as DEFLATED
from pydicom.uid import ExplicitVRBigEndian as BIG_ENDIAN
from pydicom.uid import ExplicitVRLittleEndian as EXPLICIT_LE
from pydicom.uid import ImplicitVRLittleEndian as IMPLICIT_LE
from pydicom.uid import RLELossless as RLE

from ._deflate import Inflating
from ._fragments import fragment_problem
from ._layout import split_element, walk_explicit
from ._private import creators_of, private_text
from ._values import DEFAULT_ENCODINGS as _DEFAULT
from ._values import SPECIFIC_CHARSET, BadValueError, decode_value, encodings_for
from ._values import charset_encodings as _encodings
from ._walker import (
    UNDEFINED,
    End,
    NeedsPydicom,
    NotDicomError,
    explicit_vr,
    read_meta,
    walk,
)
from ._window import Window

__all__ = [
    "FRAMES_TAG",
    "Header",
    "NO_TAGS",
    "NeedsPydicom",
    "NotDicomError",
    "deflated_pixel_data",
    "read_header",
    "read_header_at",
    "values_of_elements",
]

# Float Pixel Data and Double Float Pixel Data: bits of each value
_FLOAT_BITS = {0x7FE00008: 32, 0x7FE00009: 64}

PIXEL_DATA = 0x7FE00010
TRANSFER_SYNTAX = 0x00020010
NUMBER_OF_FRAMES = 0x00280008
# tags read of each file of a series, one mapping each: its files are then read through
# one layout (see ``_layout``; a mapping made for each file makes a layout for each)
NO_TAGS: dict[int, str] = {}
FRAMES_TAG = {NUMBER_OF_FRAMES: "IS"}
SAMPLES_PER_PIXEL, BITS_ALLOCATED = 0x00280002, 0x00280100
# transfer syntaxes of native (not encapsulated) pixel data read here
_NATIVE = frozenset({EXPLICIT_LE, IMPLICIT_LE})
# the VR of an explicit VR code, but for UN (then the dictionary's)
_VR_NAMES = {
    code: code.decode("latin_1")
    for code in (
        b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI "
        b"UL UR US UT UV"
    ).split()
}

# bytes a header read reads first: _SHORT after a header that fitted in them, else _LONG
_SHORT, _LONG = 4096, 16384
_first = _LONG

# decoded values by raw bytes; values are immutable (str, numbers, tuples)
_DECODED: dict[tuple[Any, ...], Any] = {}
_CACHE_SIZE = 100_000


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
        the data are encapsulated or absent (pydicom's reading gives the
        length alone, the offset -1).
    encapsulated : bool
        Pixel data are compressed (encapsulated in items).
    items_offset : int
        Where the first item (the Basic Offset Table) of encapsulated pixel
        data starts; -1 for native or absent pixel data, or a Deflate file.
    has_pixels : bool
        The file has a Pixel Data element.
    has_per_frame_groups : bool
        The dataset has a PerFrameFunctionalGroupsSequence (enhanced
        multi-frame objects), whose per-frame values need a full parse.
    has_modality_lut : bool
        The dataset has a (0028,3000) Modality LUT Sequence: its stored
        values are made physical by that table, not by a rescale.
    float_bits : int
        32 or 64 when the pixels are (7FE0,0008) Float or (7FE0,0009) Double
        Float Pixel Data (parametric maps), else 0.
    problems : dict
        By tag number, why a value asked for could not be decoded (an IS of
        ``"1A"``); its value in ``values`` is None, never a guess.
    pixel_problem : str
        Why the pixel data cannot be read although the header describes
        them ("" when they can): encapsulated items that are not laid out as
        the standard says (only checked when Number of Frames is asked for).
    notes : dict
        By tag number, what is odd about the file and how it was read
        anyway (a data set in another encoding than its file meta says,
        elements out of order, a layout only pydicom's tolerant reader
        takes): the values were read, by the rule the note states.
    repeated : tuple of int
        The tags asked for that the file holds more than once with other
        values (the value read is the last, as pydicom reads it): which
        was meant is a guess.
    """

    __slots__ = (
        "values",
        "transfer_syntax",
        "media_sop_class",
        "pixel_offset",
        "pixel_length",
        "encapsulated",
        "items_offset",
        "has_pixels",
        "has_per_frame_groups",
        "has_modality_lut",
        "float_bits",
        "problems",
        "notes",
        "pixel_problem",
        "repeated",
    )

    def __init__(self) -> None:
        self.values: dict[int, Any] = {}
        self.transfer_syntax = ""
        self.media_sop_class: str | None = None
        self.pixel_offset = -1
        self.pixel_length = -1
        self.encapsulated = False
        self.items_offset = -1
        self.has_pixels = False
        self.has_per_frame_groups = False
        self.has_modality_lut = False
        self.float_bits = 0
        self.problems: dict[int, str] = {}
        self.notes: dict[int, str] = {}
        self.pixel_problem = ""
        self.repeated: tuple[int, ...] = ()


def read_header(
    path: str, wanted: Mapping[int, str], data: bytes | memoryview | None = None
) -> Header:
    """Read the header of one DICOM file, decoding only the ``wanted`` tags.

    Parameters
    ----------
    path : str
        The file.
    wanted : mapping of int to str
        Tag numbers (``0xGGGGEEEE``) to decode, each with its dictionary VR
        (used for Implicit VR files and for elements stored as ``UN``).
    data : bytes or memoryview, optional
        The whole file's bytes, when they are at hand (a file just written, a
        part of a server's answer): read from them instead of opening ``path``
        (of a memoryview, only the bytes the walk reaches are copied).

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
    global _first
    if isinstance(data, memoryview):
        return _read(Window.of_view(data), wanted)
    if data is not None:
        return _read(Window(data), wanted)
    # unbuffered: one read per window, no buffer object (nor the terminal check) per file
    with open(path, "rb", buffering=0) as f:
        header = _read(Window.of_file(f, _first), wanted)
    # the files of a folder have headers of similar lengths: read as much first next time
    _first = _SHORT if 0 <= header.pixel_offset <= _SHORT - 256 else _LONG
    return header


def read_header_at(win: Window, wanted: Mapping[int, str]) -> Header:
    """:func:`read_header` of the bytes ``win`` gives: a file's first bytes, more on demand.

    How an object of a remote store is read: its first bytes fetched with
    many others, the rest of a long header by range (``win.f``), never the
    pixel data. Raises as :func:`read_header` does.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> with open(get_testdata_file("MR_small.dcm"), "rb") as f:
    ...     h = read_header_at(Window.of_file(f, 256), {0x00280010: "US"})  # 256 bytes first
    >>> h.values[0x00280010], h.pixel_offset
    (64, 1500)
    """
    return _read(win, wanted)


def _read(win: Window, wanted: Mapping[int, str]) -> Header:
    """:func:`read_header` of the file or bytes in ``win``."""
    header = Header()
    raws: dict[int, tuple[bytes, bytes]] = {}
    pos, ts, header.media_sop_class = read_meta(win, wanted, raws)
    header.transfer_syntax = ts
    if ts == BIG_ENDIAN:
        raise NeedsPydicom(f"transfer syntax {ts}")
    inflating = Inflating(win, pos) if ts == DEFLATED else None
    if inflating is not None:
        win = Window(b"", inflating, sys.maxsize)
    explicit, end = _walk_data(win, pos, ts, inflating is not None, _keep(wanted), raws)
    if not ts:
        found = "Explicit" if explicit else "Implicit"
        header.notes[TRANSFER_SYNTAX] = f"missing: read as {found} VR Little Endian, as found"
    elif explicit != (ts != IMPLICIT_LE):
        said, found = ("Implicit", "Explicit") if explicit else ("Explicit", "Implicit")
        header.notes[TRANSFER_SYNTAX] = (
            f"{UID(ts).name} ({ts}) says {said} VR, but the data set is in {found} VR: "
            f"read as {found} VR"
        )
    _note_disorder(header, end, wanted, raws)
    header.has_per_frame_groups = end.per_frame_groups
    header.has_modality_lut = end.modality_lut
    if end.pixel_tag:
        header.has_pixels = True
        header.float_bits = _FLOAT_BITS.get(end.pixel_tag, 0)
        if end.length == UNDEFINED:
            if ts in _NATIVE:
                raise NeedsPydicom("encapsulated pixel data in a native transfer syntax")
            header.encapsulated = True
            header.items_offset = end.offset if inflating is None else -1
        else:  # where the inflated data are is no place in a deflated file
            header.pixel_offset = end.offset if inflating is None else -1
            header.pixel_length = end.length
            if inflating is None:
                header.pixel_problem = _after_pixels(win, end, explicit)
    if inflating is not None and end.pixel_tag:
        _check_stream(inflating, end.offset, header)
    _decode(raws, wanted, header)
    private_text(header.values, raws, _creators(wanted))
    if header.encapsulated and NUMBER_OF_FRAMES in wanted and inflating is None:
        header.pixel_problem = _fragments(win, end.offset, header)
    return header


def _note_disorder(
    header: Header, end: End, wanted: Container[int], raws: Mapping[int, Any]
) -> None:
    """Note the tags ``end`` found out of place: the first, and each of ``wanted``.

    Each one, not the first alone: a Rescale Slope repeated after a repeated
    Patient's Name is no less a guess. The tags repeated with other values
    (``raws`` holds the last) go to :attr:`Header.repeated`.
    """
    header.repeated = tuple(dict.fromkeys(t for t, v in end.earlier if raws.get(t) != v))
    for tag in dict.fromkeys(end.disorder):
        if tag == end.disorder[0] or tag in wanted:
            header.notes[tag] = (
                "out of place (after a larger or the same tag, or a sequence its first item "
                "overruns): the values near it may not be what was meant"
            )


def _after_pixels(win: Window, end: End, explicit: bool) -> str:
    """Why what follows native pixel data makes them a guess ("" if nothing does).

    Pixel data again after them is a second image appended to the file, one
    of the two a wrong image (pydicom reads the last). What follows is walked
    only when there is something (most files end with their pixels: padding
    and signatures follow in some); zeros end it, as a walk reads them, and
    bytes that are no elements are left as they were.
    """
    after = end.offset + end.length
    if after + 8 > win.size:
        return ""
    try:
        tail = walk(win, after, explicit, (), {}, after=end.pixel_tag)
    except (EOFError, NeedsPydicom):
        return ""
    if not tail.pixel_tag:
        return ""
    return (
        f"(7FE0,{end.pixel_tag & 0xFFFF:04X}) pixel data are followed by "
        f"(7FE0,{tail.pixel_tag & 0xFFFF:04X}) pixel data again: two images in one file, "
        "and which was meant is a guess (pydicom reads the last): neither is read "
        "(rewrite the file with one of them)"
    )


def _walk_data(
    win: Window,
    pos: int,
    ts: str,
    inflated: bool,
    keep: Container[int],
    raws: dict[int, tuple[bytes, bytes]],
) -> tuple[bool, End]:
    """Whether the data set at ``pos`` is in Explicit VR, and where its walk ended.

    Most files are: they are read through the layout of the last headers
    (:mod:`._layout`), which reads what one walk reads.
    """
    try:
        explicit = explicit_vr(win, pos, ts != IMPLICIT_LE)
        if explicit and not inflated:
            return explicit, walk_explicit(win, pos, keep, raws)
        return explicit, walk(win, pos, explicit, keep, raws)
    except zlib.error as exc:
        raise NotDicomError(f"its Deflate-compressed data set cannot be inflated: {exc}") from exc


def _fragments(win: Window, start: int, header: Header) -> str:
    """:func:`fragment_problem` of the encapsulated pixel data at ``start``, as described."""
    frames = header.values.get(NUMBER_OF_FRAMES)
    count = frames if isinstance(frames, int) and frames > 0 else 1
    segments = 0
    bits = header.values.get(BITS_ALLOCATED)
    if header.transfer_syntax == RLE and bits in (8, 16, 32):
        samples = header.values.get(SAMPLES_PER_PIXEL)
        segments = (samples if isinstance(samples, int) and samples > 0 else 1) * bits // 8
    return fragment_problem(win, start, count, segments)


def deflated_pixel_data(path: str) -> bytes:
    """The value of the native pixel data element of a Deflate file, inflated as it is reached.

    Memory: the pixel data and a chunk, however far what lies before them
    inflates. Fewer bytes than the element's length where the stream ends
    early; ``b""`` without pixel data.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> len(deflated_pixel_data(get_testdata_file("image_dfl.dcm")))
    262144
    """
    with open(path, "rb") as f:
        win = Window.of_file(f)
        pos = read_meta(win)[0]
        inflating = Inflating(win, pos)
        win = Window(b"", inflating, sys.maxsize)
        end = walk(win, pos, explicit_vr(win, pos, True), (), {})
        if not end.pixel_tag or end.length == UNDEFINED:
            return b""
        return inflating.pixel_bytes(end.offset, end.length)


def _check_stream(inflating: Inflating, start: int, header: Header) -> None:
    """Inflate the rest of a Deflate stream (in chunks, kept nowhere) to see that it is whole.

    A stream cut short or corrupt inside the pixel data leaves the header
    readable: the pixel length is what the stream holds, so the image is
    refused for what it lacks, and the reason is a problem of the file.
    """
    try:
        whole, total = inflating.drain()
        why = "" if whole else "the Deflate stream ends before its end marker"
    except zlib.error as exc:
        total, why = inflating.inflated, f"the Deflate stream is corrupt ({exc})"
    if why:
        held = max(0, min(header.pixel_length, total - start))
        header.pixel_length = held
        header.problems[PIXEL_DATA] = f"{why}, {held} bytes into the pixel data"


# the tags to keep of each ``wanted`` (and how many it had): its own, the character set
# and the creators of the private ones it asks for as UN, by tag (see ``_private``)
_KEEP: dict[int, tuple[Mapping[int, str], int, Container[int], dict[int, int]]] = {}


def _keep(wanted: Mapping[int, str]) -> Container[int]:
    """The tags :func:`walk` keeps for ``wanted``.

    Those of ``wanted``, the character set and the creators of the private
    elements it asks for as UN (:func:`_creators`).
    """
    return _kept(wanted)[2]


def _creators(wanted: Mapping[int, str]) -> dict[int, int]:
    """:func:`~._private.creators_of` ``wanted``, found once."""
    return _kept(wanted)[3]


def _kept(
    wanted: Mapping[int, str],
) -> tuple[Mapping[int, str], int, Container[int], dict[int, int]]:
    """What :func:`_keep` and :func:`_creators` give, kept by ``wanted``."""
    found = _KEEP.get(id(wanted))
    if found is None or found[0] is not wanted or found[1] != len(wanted):
        if len(_KEEP) > 64:
            _KEEP.clear()
        creators = creators_of(wanted)
        keep: Container[int] = wanted
        if SPECIFIC_CHARSET not in wanted or creators:
            keep = frozenset(wanted) | {SPECIFIC_CHARSET} | frozenset(creators.values())
        found = _KEEP[id(wanted)] = (wanted, len(wanted), keep, creators)
    return found


def _decode(
    raws: dict[int, tuple[bytes, bytes]], wanted: Mapping[int, str], header: Header
) -> None:
    """Decode the ``wanted`` values of ``raws`` into ``header``.

    ``raws`` holds, by tag, the VR code as in the file and the value bytes;
    ``wanted`` gives the VR where the file does not (Implicit VR, UN).

    Most values repeat byte for byte across the files of a series: decoded
    values are kept by their bytes and VR (and the character set, where it
    is not the default one). A value whose VR code the file gives is kept
    under its ``(code, bytes)`` pair itself.
    """
    charset = raws.get(SPECIFIC_CHARSET)
    encodings = _encodings(charset[1]) if charset is not None else _DEFAULT
    cache = _DECODED
    if len(cache) > _CACHE_SIZE:
        cache.clear()
    values = header.values
    every = SPECIFIC_CHARSET in wanted
    if encodings is not _DEFAULT:
        names = _VR_NAMES
        for tag, (code, raw) in raws.items():
            if every or tag in wanted:
                vr = names.get(code) or wanted[tag]
                key: tuple[Any, ...] = (vr, raw, *encodings)
                value = cache.get(key, cache)
                if value is cache:
                    value = _decoded_value(tag, vr, raw, encodings, key, header)
                values[tag] = value
        return
    for tag, item in raws.items():
        if every or tag in wanted:
            value = cache.get(item, cache)
            if value is cache:
                code, raw = item
                named = _VR_NAMES.get(code)
                key = item if named else (wanted[tag], raw)
                value = cache.get(key, cache)
                if value is cache:
                    value = _decoded_value(tag, named or wanted[tag], raw, encodings, key, header)
            values[tag] = value


def _decoded_value(
    tag: int, vr: str, raw: bytes, encodings: list[str], key: tuple[Any, ...], header: Header
) -> Any:
    """The value of ``raw``, kept under ``key``; None where it cannot be decoded (a problem)."""
    try:
        value = _DECODED[key] = decode_value(vr, raw, encodings)
    except BadValueError as exc:
        header.problems[tag] = str(exc)
        return None
    return value


def values_of_elements(
    many: Sequence[Mapping[int, bytes | None]],
    wanted: Mapping[int, str],
    problems: Sequence[dict[int, str]] | None = None,
) -> list[dict[int, Any]]:
    """The ``wanted`` values :func:`read_header` would read from files written from ``many``.

    Each of ``many`` is the encoded top-level elements of one file's dataset
    (explicit VR little endian, as :func:`dbdicom._files._raw.elements` gives
    them; None: left out, as are group lengths and what follows the pixel
    data); the values come from these, without reading the files.

    The files of one write repeat most elements byte for byte: each tag's
    distinct values are decoded once, for each Specific Character Set the
    files have.

    A value that cannot be decoded (an IS of ``"1A"`` copied from a source)
    is None, as :func:`read_header` reads it; ``problems``, one dict per
    file, then receives the reason by tag (as :attr:`Header.problems`).

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
            split = split_element(charset)
            if split is not None:
                encodings = encodings_for(decode_value("CS", split[1], encodings))
        tags = set()
        for k in files:
            tags.update(many[k].keys() & wanted.keys())
        for tag in tags:
            if tag >= 0x7FE00010 or tag < 0x00030000 or not tag & 0xFFFF:
                continue  # not written (see file_header)
            raws = [(k, many[k].get(tag)) for k in files]
            _tag_values(tag, wanted[tag], encodings, raws, out, problems)
    return out


def _tag_values(
    tag: int,
    vr: str,
    encodings: list[str],
    raws: list[tuple[int, bytes | None]],
    out: list[dict[int, Any]],
    problems: Sequence[dict[int, str]] | None,
) -> None:
    """Put the value of ``tag`` in file ``k`` (``raws``: its element's bytes) into ``out[k]``.

    Each distinct element is decoded once; one that cannot be decoded is
    None, and the reason goes into ``problems[k]``.
    """
    decoded: dict[bytes, Any] = {}
    for k, raw in raws:
        if raw is None:
            continue
        value = decoded.get(raw, decoded)
        if value is decoded:
            value = decoded[raw] = _decoded(raw, vr, encodings)
        if isinstance(value, BadValueError):
            out[k][tag] = None
            if problems is not None:
                problems[k][tag] = str(value)
        elif value is not _UNDECODED:
            out[k][tag] = value


_UNDECODED = object()


def _decoded(raw: bytes, vr: str, encodings: list[str]) -> Any:
    """The value of the whole element ``raw``.

    :data:`_UNDECODED` for an element of undefined length (which the reader
    leaves out); the :class:`BadValueError` for a value its VR does not allow.
    """
    split = split_element(raw)
    if split is None:
        return _UNDECODED
    try:
        return decode_value(_VR_NAMES.get(split[0]) or vr, split[1], encodings)
    except BadValueError as exc:
        return exc
