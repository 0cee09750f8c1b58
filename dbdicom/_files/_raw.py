"""Explicit VR Little Endian files as bytes: split into elements, put together.

The writer of derived series copies most of each source header unchanged.
Parsing every source with pydicom and encoding it again costs more than
the rest of the work together, so for uncompressed Explicit VR Little
Endian sources it works on bytes instead: the top-level elements of the
source header are cut out as they are, the elements that change are
encoded (by pydicom, once for what all frames share), and the file is
joined in tag order.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence

import numpy as np
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import ExplicitVRLittleEndian as _EXPLICIT_LE

from ._walker import HEADER_LENGTH, NeedsPydicom, explicit_vr, read_meta, walk
from ._window import Window

__all__ = [
    "LONG_VRS",
    "Layouts",
    "encode_element",
    "dataset_bytes",
    "elements",
    "file_bytes",
    "file_header",
    "header_of",
    "merge",
]

#: VRs with a 4-byte length (after 2 reserved bytes) in explicit VR
LONG_VRS = frozenset(code for code, head in HEADER_LENGTH.items() if head == 12)
_PREAMBLE = bytes(128) + b"DICM"
_TRANSFER_SYNTAX = 0x00020010


def elements(data: bytes, start: int = 0, stop: int | None = None) -> dict[int, bytes]:
    """The top-level elements of explicit VR little endian ``data[start:stop]``, by tag.

    They go up to its Pixel Data, each as its whole encoding (tag, VR, length
    and value; undefined lengths to their delimiter).

    Raises :class:`NeedsPydicom` where the bytes are not all explicit VR or
    hold what :func:`dbdicom._files._walker.walk` leaves to pydicom, and
    ``EOFError`` where they end inside an element.

    Examples
    --------
    >>> from pydicom.dataset import Dataset
    >>> ds = Dataset(); ds.PatientName = "A^B"; ds.Rows = 4
    >>> {f"{t:08X}": len(b) for t, b in elements(dataset_bytes(ds)).items()}
    {'00100010': 12, '00280010': 10}
    """
    out: dict[int, bytes] = {}
    if stop is not None and stop < len(data):
        data = data[:stop]
    walk(Window(data), start, True, None, out, whole=True)
    return out


_BINARY = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}


def encode_element(tag: int, vr: str, value: object) -> bytes:
    r"""One element in explicit VR little endian.

    Text and number VRs, and SQ given as a list of items, each a list of
    ``(tag, vr, value)``.

    Text values are written as given (``str`` of numbers, so a checked
    ``DSfloat`` keeps its 16-character form); several values are joined
    with ``\``.

    Examples
    --------
    >>> encode_element(0x00280010, "US", 64).hex()
    '28001000555302004000'
    >>> encode_element(0x00200013, "IS", 7)[8:]  # padded to an even length
    b'7 '
    """
    if vr == "SQ":
        assert isinstance(value, list)
        items = b""
        for item in value:
            body = b"".join(encode_element(t, v, x) for t, v, x in sorted(item))
            items += struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, b"SQ", 0, len(items)) + items
    values = value if isinstance(value, list | tuple) else [value]
    if vr in _BINARY:
        raw = struct.pack(f"<{len(values)}{_BINARY[vr]}", *values)
    else:
        text = "\\".join("" if v is None else str(v) for v in values)
        raw = text.encode("utf-8" if not text.isascii() else "ascii")
        if len(raw) % 2:
            raw += b"\0" if vr == "UI" else b" "
    if vr.encode() in LONG_VRS:
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr.encode(), 0, len(raw)) + raw
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(raw)) + raw


def dataset_bytes(ds: Dataset) -> bytes:
    """``ds`` encoded in explicit VR little endian (no preamble, no file meta)."""
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    write_dataset(fp, ds)
    return bytes(fp.getvalue())


class Layouts:
    """Splits headers into elements, remembering the layout of the last one.

    The files of a series mostly have the same elements with values of the
    same lengths: then every element starts where it did in the file before.
    That is checked on the bytes of all element headers (tag, VR, length) at
    once, and the values are cut at the known places; a header of another
    layout is walked element by element, as :func:`elements` does.

    Examples
    --------
    >>> from pydicom.dataset import Dataset
    >>> a, b = Dataset(), Dataset()
    >>> a.PatientName, a.Rows = "A^B", 4
    >>> b.PatientName, b.Rows = "C^D", 5
    >>> layouts = Layouts()
    >>> [layouts.split(dataset_bytes(ds)) == elements(dataset_bytes(ds)) for ds in (a, b)]
    [True, True]
    >>> layouts.reused
    1
    """

    def __init__(self) -> None:
        self._size = -1
        self._start = -1
        self._cuts: list[tuple[int, int, int]] = []  # tag, start, end
        self._where = np.zeros(0, dtype=np.intp)  # positions of element-header bytes
        self._bytes = np.zeros(0, dtype=np.uint8)  # their values
        self._file = False  # the positions cover the file meta too (see split_file)
        self.reused = 0

    def split_file(self, data: bytes) -> tuple[dict[int, bytes], int]:
        """The top-level data set elements of the Part-10 file ``data``, and where they start.

        The elements go to its pixel data at most; the data set starts after
        the file meta.

        The file meta's element headers, its TransferSyntaxUID and ``DICM``
        marker count as the layout too: a file of the layout before is not
        walked at all. Raises :class:`NeedsPydicom` where the data set is not
        explicit VR little endian (or holds what the walker leaves to pydicom).

        Examples
        --------
        >>> from pydicom.data import get_testdata_file
        >>> with open(get_testdata_file("MR_small.dcm"), "rb") as f:
        ...     data = f.read(1488)
        >>> layouts = Layouts()
        >>> [len(layouts.split_file(data)[0]) for _ in range(2)], layouts.reused
        ([71, 71], 1)
        """
        if len(data) == self._size and self._file and len(self._where):
            view = np.frombuffer(data, dtype=np.uint8)
            if np.array_equal(view[self._where], self._bytes):
                self.reused += 1
                return {tag: data[a:b] for tag, a, b in self._cuts}, self._start
        start = _dataset_start(data)
        found = self.split(data, start)
        if self._size == len(data):  # a layout to remember: add the file meta's
            meta: dict[int, bytes] = {}
            walk(Window(data[:start]), 132, True, None, meta, whole=True)
            where = list(range(128, 132))
            pos = 132
            for tag, raw in meta.items():
                head = len(raw) if tag == _TRANSFER_SYNTAX else 12 if raw[4:6] in LONG_VRS else 8
                where.extend(range(pos, pos + head))
                pos += len(raw)
            self._where = np.concatenate([np.array(where, dtype=np.intp), self._where])
            self._bytes = np.frombuffer(data, dtype=np.uint8)[self._where].copy()
            self._file = True
        return found, start

    def split(self, data: bytes, start: int = 0) -> dict[int, bytes]:
        """The top-level elements of ``data[start:]`` (see :func:`elements`)."""
        if len(data) == self._size and start == self._start and len(self._where):
            view = np.frombuffer(data, dtype=np.uint8)
            if np.array_equal(view[self._where], self._bytes):
                self.reused += 1
                return {tag: data[a:b] for tag, a, b in self._cuts}
        found = elements(data, start)
        cuts: list[tuple[int, int, int]] = []
        where: list[int] = []
        pos = start
        for tag, raw in found.items():
            head = 12 if raw[4:6] in LONG_VRS else 8
            if head == 12 and raw[8:12] == b"\xff\xff\xff\xff":
                self._size = -1  # undefined lengths: their items vary, walk each time
                return found
            cuts.append((tag, pos, pos + len(raw)))
            where.extend(range(pos, pos + head))
            pos += len(raw)
        self._size, self._start, self._cuts = len(data), start, cuts
        self._where = np.array(where, dtype=np.intp)
        self._file = False
        self._bytes = np.frombuffer(data, dtype=np.uint8)[self._where].copy()
        return found


def header_of(
    path: str, pixel_offset: int, layouts: Layouts | None = None
) -> tuple[dict[int, bytes], int]:
    r"""The top-level elements of a file's dataset up to its pixel data, and where they start.

    The dataset starts after the file meta.

    ``pixel_offset`` is where the pixel *values* start (as the index records
    it); the Pixel Data element header (12 bytes) is left out. ``layouts``
    remembers the layout of the files read before (see :class:`Layouts`).

    Raises :class:`NeedsPydicom` where the file is not all explicit VR little
    endian or holds what the walker leaves to pydicom: the writer then
    copies the header with pydicom instead.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> own, start = header_of(get_testdata_file("MR_small.dcm"), 1500)
    >>> start, len(own), own[0x00280010][8:]
    (334, 71, b'@\x00')
    """
    # os-level calls: three system calls (open() adds fstat, ioctl and lseek)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        want = pixel_offset - 12
        data = os.read(fd, want)
        while 0 < len(data) < want:
            more = os.read(fd, want - len(data))
            if not more:
                break
            data += more
    finally:
        os.close(fd)
    if layouts is not None:
        return layouts.split_file(data)
    start = _dataset_start(data)
    return elements(data, start), start


def _dataset_start(data: bytes) -> int:
    """Where the data set of the Part-10 file ``data`` starts, after its file meta.

    Raises :class:`NeedsPydicom` where it is not explicit VR little endian.
    """
    win = Window(data)
    start, transfer_syntax, _ = read_meta(win)
    if transfer_syntax != _EXPLICIT_LE or not explicit_vr(win, start, True):
        raise NeedsPydicom("the data set is not explicit VR little endian")
    return start


def file_meta_bytes(sop_class: str, sop_instance: str, implementation: str) -> bytes:
    """The file meta group (0002,xxxx) of an Explicit VR Little Endian file, encoded.

    Examples
    --------
    >>> import io, pydicom
    >>> meta = file_meta_bytes("1.2.840.10008.5.1.4.1.1.4", "1.2.3", "1.2.4")
    >>> ds = pydicom.dcmread(io.BytesIO(bytes(128) + b"DICM" + meta))
    >>> ds.file_meta.MediaStorageSOPInstanceUID, ds.file_meta.TransferSyntaxUID.name
    ('1.2.3', 'Explicit VR Little Endian')
    """

    def uid(tag: int, value: str) -> bytes:
        raw = value.encode()
        if len(raw) % 2:
            raw += b"\0"
        return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, b"UI", len(raw)) + raw

    body = (
        struct.pack("<HH2sHI", 2, 1, b"OB", 0, 2)
        + b"\0\1"
        + uid(0x00020002, sop_class)
        + uid(0x00020003, sop_instance)
        + uid(0x00020010, "1.2.840.10008.1.2.1")
        + uid(0x00020012, implementation)
    )
    return struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(body)) + body


def merge(layers: Sequence[Mapping[int, bytes | None]]) -> dict[int, bytes | None]:
    """The elements of ``layers``, later layers winning (None: left out)."""
    merged: dict[int, bytes | None] = {}
    for layer in layers:
        merged.update(layer)
    return merged


def file_header(
    merged: Mapping[int, bytes | None],
    nbytes: int,
    sop_class: str,
    sop_instance: str,
    implementation: str,
) -> bytes:
    """A Part-10 file up to its pixel values.

    The preamble and file meta, then the elements ``merged`` (see
    :func:`merge`; None: left out) in tag order, then the header of a Pixel
    Data element (OW) of ``nbytes`` bytes (padded to an even length). The
    file is these bytes followed by the pixel values (and a zero byte if
    ``nbytes`` is odd): see :func:`file_bytes`.
    """
    out = [_PREAMBLE, file_meta_bytes(sop_class, sop_instance, implementation)]
    for tag in sorted(merged):
        raw = merged[tag]
        # group lengths (gggg,0000) are left out: they would be wrong after changes;
        # the file meta is file_meta_bytes' alone
        if raw is not None and 0x00030000 <= tag < 0x7FE00010 and tag & 0xFFFF:
            out.append(raw)
    out.append(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, nbytes + nbytes % 2))
    return b"".join(out)


def file_bytes(
    layers: Sequence[Mapping[int, bytes | None]],
    pixels: bytes,
    sop_class: str,
    sop_instance: str,
    implementation: str,
) -> bytes:
    r"""A whole Part-10 file: :func:`file_header`, then the pixel values.

    Examples
    --------
    >>> import pydicom
    >>> from io import BytesIO
    >>> from pydicom.dataset import Dataset
    >>> ds = Dataset(); ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"; ds.SOPInstanceUID = "1.2.3"
    >>> ds.Rows = ds.Columns = 1
    >>> raw = file_bytes([elements(dataset_bytes(ds))], b"\1\0", ds.SOPClassUID, "1.2.3", "1.2.4")
    >>> back = pydicom.dcmread(BytesIO(raw))
    >>> back.SOPInstanceUID, back.file_meta.MediaStorageSOPInstanceUID, back.PixelData
    ('1.2.3', '1.2.3', b'\x01\x00')
    """
    head = file_header(merge(layers), len(pixels), sop_class, sop_instance, implementation)
    return head + pixels + (b"\0" if len(pixels) % 2 else b"")
