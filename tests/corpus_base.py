"""What a kind of bad file is, and the byte tools its builders share.

A *kind* is a function that writes one bad file (or a few) into a folder and
returns a :class:`Built`: the paths of the bad files and the pixel values
their series must read as if it reads at all. Its :class:`Expect` states
what the user must see. The kinds live in ``corpus_header.py`` and
``corpus_pixels.py``; ``corpus.py`` gathers them, and ``case_runner.py``
runs them, each in a folder next to a valid series, in a worker process
with a time and a memory limit.

The byte tools read and patch Part-10 files with a small parser of their
own (top-level Explicit VR Little Endian elements): a test oracle that does
not share code with the reader it tests.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian

from dbdicom._templates import mr_image, new_uid, write_dataset

#: the pixels of every template bad file: 32 x 32, unsigned 16 bit, all distinct
PIXELS = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32)
UNDEFINED = 0xFFFFFFFF
# VRs whose explicit VR element header is 12 bytes (2 reserved bytes, 4-byte length)
VR4 = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
ITEM = 0xFFFEE000
ITEM_END = 0xFFFEE00D
SEQ_END = 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
SOP_UID = 0x00080018
SERIES_UID = 0x0020000E
PATIENT_NAME = 0x00100010
INSTANCE_NUMBER = 0x00200013
POSITION = 0x00200032
ROWS = 0x00280010
COLUMNS = 0x00280011
SAMPLES = 0x00280002
PIXEL_SPACING = 0x00280030
WINDOW_WIDTH = 0x00281051
MANUFACTURER = 0x00080070
SOFTWARE = 0x00181020  # Software Versions: not in the index
CHARSET = 0x00080005
TRANSFER_SYNTAX = 0x00020010


@dataclass(frozen=True)
class Expect:
    """What the user must see of one kind of bad file.

    Attributes
    ----------
    listed : bool or None
        True: every bad file is in ``problems()`` with a non-empty reason
        (holding ``reason``). None: it may be (a file that is unusual but
        reads right need not be listed). A file left out of the tree must
        be listed whatever this says.
    reason : str
        Text the reason must hold ("" for any).
    tree : {"in", "out", "any"}
        Whether the bad file must be in the tree (``database.files()``).
    read : {"values", "either", "error"}
        Its series: must read the expected values; must read them or raise a
        ``dbdicom.DicomError``; must raise a ``dbdicom.DicomError``. Any
        other exception, or values other than the expected ones, fails.
    """

    listed: bool | None = True
    reason: str = ""
    tree: Literal["in", "out", "any"] = "any"
    read: Literal["values", "either", "error"] = "either"

    def describe(self) -> str:
        """What the user must see, in a few words.

        Examples
        --------
        >>> Expect(reason="truncated", tree="out").describe()
        "listed ('truncated'), left out of the tree"
        >>> Expect(listed=None, tree="in", read="values").describe()
        'in the tree, reads the right values'
        """
        said = f" ({self.reason!r})" if self.reason else ""
        listed = {True: f"listed{said}", None: ""}[self.listed]
        if self.tree == "out":
            return ", ".join(p for p in (listed, "left out of the tree") if p)
        tree = {"in": "in the tree", "any": ""}[self.tree]
        read = {
            "values": "reads the right values",
            "either": "reads the right values or raises a DicomError",
            "error": "raises a DicomError",
        }[self.read]
        return ", ".join(p for p in (listed, tree, read) if p)


@dataclass(frozen=True)
class Built:
    """The bad files a kind wrote, and what their series must read if it reads.

    ``expected``: the true frames, ``(frames, rows, columns[, samples])``, of
    the file before it was damaged (rescale applied), compared frame by
    frame in any order; None when any values will do (damage no reader can
    see). ``source``: the shipped file (its name) the bad file was made
    from, if any: the reasons ``problems()`` gives for it intact do not count
    as listing the bad file; and with ``reference``, the bad file's series
    must equal dbdicom's reading of it exactly, frame order included
    (multi-frame files, whose frames dbdicom orders by position).
    ``sop_uid``: the file's SOP Instance UID before it was damaged (or one
    for each of ``paths``); when the bad file is in the tree and still holds
    these bytes, its instance must have this UID (not one derived for a
    header that was misread).
    """

    paths: tuple[Path, ...]
    expected: np.ndarray | None = None
    source: str = ""
    reference: bool = False
    sop_uid: str | tuple[str, ...] = ""

    def uids(self) -> dict[Path, str]:
        """The SOP Instance UID of each bad file, by its resolved path ("" if unknown)."""
        uids = (
            self.sop_uid if isinstance(self.sop_uid, tuple) else (self.sop_uid,) * len(self.paths)
        )
        return {p.resolve(): u for p, u in zip(self.paths, uids, strict=True)}


Builder = Callable[[Path], Built]


@dataclass(frozen=True)
class Kind:
    """One kind of bad file: its name, what it is, how to make it, what must happen."""

    name: str
    doc: str
    build: Builder
    expect: Expect = field(default_factory=Expect)
    #: seconds the case may take, where it must do more than the harness's limit allows
    seconds: float | None = None


class Registry:
    """Kinds in the order they are declared, by name."""

    def __init__(self) -> None:
        self.kinds: dict[str, Kind] = {}

    def __call__(self, seconds: float | None = None, **expect: Any) -> Callable[[Builder], Builder]:
        """A decorator: register the function (its name and docstring) as a kind.

        ``seconds``: its own time limit, where its work is long by design.
        """

        def register(build: Builder) -> Builder:
            name = build.__name__
            if name in self.kinds:
                raise ValueError(f"two kinds named {name}")
            doc = " ".join((build.__doc__ or "").split())
            self.kinds[name] = Kind(name, doc, build, Expect(**expect), seconds)
            return build

        return register


# ----------------------------------------------------------------------------- valid files


_LAST_UID: list[str] = [""]


def template(folder: Path, syntax: str = ExplicitVRLittleEndian, **attributes: Any) -> bytes:
    """The bytes of a valid MR file of :data:`PIXELS`, in a series of its own.

    ``compression="rle"`` among the attributes writes RLE Lossless. Its SOP
    Instance UID is then :func:`template_uid` (the builders run one at a time).
    """
    compression = attributes.pop("compression", None)
    defaults = {
        "PatientID": "BAD-001",
        "PatientName": "Broken^Bob",
        "SeriesDescription": "bad file",
        "SeriesInstanceUID": new_uid(),
        "SOPInstanceUID": new_uid(),
    }
    attributes = {**defaults, **attributes}
    _LAST_UID[0] = attributes["SOPInstanceUID"]
    ds = mr_image(PIXELS, **attributes)
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=".template")
    os.close(fd)
    path = write_dataset(ds, name, compression, transfer_syntax=syntax)
    data = path.read_bytes()
    path.unlink()
    return data


def template_uid() -> str:
    """The SOP Instance UID of the last file :func:`template` made."""
    return _LAST_UID[0]


def expected_template() -> np.ndarray:
    """The frames a template file reads as: one frame of :data:`PIXELS`."""
    return PIXELS[np.newaxis]


def shipped_bytes(name: str) -> bytes:
    """The bytes of a file shipped with pydicom or pydicom-data."""
    return Path(os.fspath(get_testdata_file(name))).read_bytes()


def expected_testdata(name: str) -> np.ndarray:
    """The frames of a shipped file as pydicom decodes them, rescaled, frames first."""
    ds = pydicom.dcmread(get_testdata_file(name))
    arr = ds.pixel_array
    if "RescaleSlope" in ds or "RescaleIntercept" in ds:
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        arr = arr * slope + intercept
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return arr if frames > 1 else arr[np.newaxis]


def uid_of(name: str) -> str:
    """The SOP Instance UID of a shipped file."""
    return str(pydicom.dcmread(get_testdata_file(name), stop_before_pixels=True).SOPInstanceUID)


def from_template(folder: Path, data: bytes, name: str = "bad.dcm") -> Built:
    """The bad file ``data``, made from the last template file, in ``folder``.

    Its series must read as the template's frame if it reads at all.
    """
    return Built((write(folder, name, data),), expected_template(), sop_uid=template_uid())


def write(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name``; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Elem:
    """One top-level element: tag, VR code, where it starts, where its value starts, length."""

    tag: int
    vr: bytes
    start: int
    value: int
    length: int

    @property
    def end(self) -> int:
        """Where the next element starts (a defined length only)."""
        return self.value + self.length


def meta_end(data: bytes) -> int:
    """Where the data set starts: after the file meta group of ``data``."""
    if data[128:132] != b"DICM" or data[132:136] != b"\x02\x00\x00\x00":
        raise ValueError("not a Part-10 file that starts with its meta group length")
    return 144 + struct.unpack_from("<I", data, 140)[0]


def elements(data: bytes, start: int | None = None, end: int | None = None) -> list[Elem]:
    """The explicit VR little endian elements from ``start`` (the data set) to ``end``.

    Sequences and encapsulated pixel data of undefined length end the list
    with themselves (their length ``UNDEFINED``): the builders work on files
    that hold neither before the element they patch.
    """
    pos = meta_end(data) if start is None else start
    end = len(data) if end is None else end
    out: list[Elem] = []
    while pos + 8 <= end:
        group, elem = struct.unpack_from("<HH", data, pos)
        vr = data[pos + 4 : pos + 6]
        if vr in VR4:
            length = struct.unpack_from("<I", data, pos + 8)[0]
            value = pos + 12
        else:
            length = struct.unpack_from("<H", data, pos + 6)[0]
            value = pos + 8
        out.append(Elem((group << 16) | elem, vr, pos, value, length))
        if length == UNDEFINED:
            break
        pos = value + length
    return out


def element(data: bytes, tag: int, start: int | None = None) -> Elem:
    """The top-level element ``tag`` of ``data``."""
    for e in elements(data, start):
        if e.tag == tag:
            return e
    raise KeyError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) is not in the data")


def meta_element(data: bytes, tag: int) -> Elem:
    """The element ``tag`` of the file meta group."""
    return element(data[: meta_end(data)], tag, 132)


# ----------------------------------------------------------------------------- encoding


def explicit(tag: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    """An explicit VR little endian element; ``length`` overrides the value's."""
    n = len(value) if length is None else length
    if vr in VR4:
        return struct.pack("<HH2s2xI", tag >> 16, tag & 0xFFFF, vr, n) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, n) + value


def implicit(tag: int, value: bytes, length: int | None = None) -> bytes:
    """An implicit VR little endian element (or item, delimiter)."""
    n = len(value) if length is None else length
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, n) + value


def text(value: str) -> bytes:
    """A text value padded to even length with a space."""
    raw = value.encode("latin_1")
    return raw + b" " * (len(raw) % 2)


def uid(value: str) -> bytes:
    """A UI value padded to even length with a NUL."""
    raw = value.encode("ascii")
    return raw + b"\x00" * (len(raw) % 2)


def patched(data: bytes, at: int, new: bytes) -> bytes:
    """``data`` with the bytes from ``at`` overwritten by ``new``."""
    return data[:at] + new + data[at + len(new) :]


def replaced(data: bytes, tag: int, new: bytes) -> bytes:
    """``data`` with the element ``tag`` replaced by the encoded element ``new``."""
    e = element(data, tag)
    return data[: e.start] + new + data[e.end :]


def set_value(data: bytes, tag: int, value: bytes, vr: bytes | None = None) -> bytes:
    """``data`` with the value (and VR code, if given) of element ``tag`` changed."""
    e = element(data, tag)
    return replaced(data, tag, explicit(tag, vr or e.vr, value))


def set_us(data: bytes, tag: int, number: int) -> bytes:
    """``data`` with the US value of ``tag`` changed to ``number``."""
    return set_value(data, tag, struct.pack("<H", number))


def removed(data: bytes, tag: int) -> bytes:
    """``data`` without the element ``tag``."""
    return replaced(data, tag, b"")


def inserted(data: bytes, before: int, new: bytes) -> bytes:
    """``data`` with ``new`` inserted where the element ``before`` starts."""
    at = element(data, before).start
    return data[:at] + new + data[at:]


def set_length(data: bytes, tag: int, length: int) -> bytes:
    """``data`` with the length field of ``tag`` overwritten (its value left as it is)."""
    e = element(data, tag)
    if e.vr in VR4:
        return patched(data, e.start + 8, struct.pack("<I", length))
    return patched(data, e.start + 6, struct.pack("<H", length))


def with_meta(data: bytes, meta: list[bytes]) -> bytes:
    """``data`` with its file meta group made of ``meta`` (a correct group length)."""
    body = b"".join(meta)
    group = explicit(0x00020000, b"UL", struct.pack("<I", len(body)))
    return data[:132] + group + body + data[meta_end(data) :]


def meta_elements(data: bytes) -> list[bytes]:
    """The encoded elements of the file meta group, but its group length."""
    return [
        data[e.start : e.end] for e in elements(data[: meta_end(data)], 132) if e.tag != 0x00020000
    ]


def set_syntax(data: bytes, syntax: str) -> bytes:
    """``data`` with the Transfer Syntax UID of its meta group changed (nothing else)."""
    meta = [
        explicit(0x00020010, b"UI", uid(syntax)) if m[:4] == b"\x02\x00\x10\x00" else m
        for m in meta_elements(data)
    ]
    return with_meta(data, meta)


def deep_sequence(depth: int) -> bytes:
    """A private sequence (7FD1,1010) of undefined length, ``depth`` sequences deep."""
    seq = struct.pack("<HH2s2xI", 0x7FD1, 0x1010, b"SQ", UNDEFINED)
    item = implicit(ITEM, b"", UNDEFINED)
    inner = struct.pack("<HH2s2xI", 0x7FD1, 0x1011, b"SQ", UNDEFINED)
    item_end = implicit(ITEM_END, b"")
    seq_end = implicit(SEQ_END, b"")
    creator = explicit(0x7FD10010, b"LO", text("DEEP"))
    opening = seq + item + (inner + item) * (depth - 1)
    return creator + opening + (item_end + seq_end) * depth


# ----------------------------------------------------------------------------- encapsulated


@dataclass(frozen=True)
class Fragments:
    """The items of encapsulated pixel data: where the pixel element and each item start.

    ``items``: ``(start of the item tag, value start, length)``; the first is
    the Basic Offset Table. ``end``: where the sequence delimiter starts.
    """

    pixel: int
    items: tuple[tuple[int, int, int], ...]
    end: int


def fragments(data: bytes) -> Fragments:
    """The items of the encapsulated pixel data of an explicit VR little endian file."""
    heads = (b"\xe0\x7f\x10\x00" + vr + b"\x00\x00\xff\xff\xff\xff" for vr in (b"OB", b"OW"))
    pixel = max(data.rfind(head) for head in heads)
    if pixel < 0:
        raise ValueError("no encapsulated (7FE0,0010) Pixel Data")
    pos = pixel + 12
    items = []
    while True:
        group, elem, length = struct.unpack_from("<HHI", data, pos)
        tag = (group << 16) | elem
        if tag == SEQ_END:
            return Fragments(pixel, tuple(items), pos)
        if tag != ITEM:
            raise ValueError(f"unexpected tag {tag:08X} at {pos}")
        items.append((pos, pos + 8, length))
        pos += 8 + length


def first_fragment(data: bytes) -> tuple[int, int]:
    """``(value start, length)`` of the first fragment after the offset table."""
    _, value, length = fragments(data).items[1]
    return value, length


def with_fragment(data: bytes, index: int, content: bytes) -> bytes:
    """``data`` with item ``index`` (0: the offset table) holding ``content`` instead."""
    start, value, length = fragments(data).items[index]
    return data[:start] + implicit(ITEM, content) + data[value + length :]
