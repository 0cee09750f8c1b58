"""Reading the stored values of some frames of one file.

Two paths, one result (the values ``pydicom.dcmread(path).pixel_array`` gives):

- **fast**: uncompressed Little Endian data whose byte offset is known (the
  index records it) are read with one ``seek`` + ``readinto`` per run of
  consecutive frames, straight into the output array; nothing is parsed.
- **pydicom**: everything else (compressed, Big Endian, Deflate, YCbCr colour,
  offset unknown) goes through :func:`pydicom.pixels.iter_pixels`, which decodes
  only the frames asked for, with whatever decoder plugins are installed.

Everything a reader needs is small and picklable (a path, integers, a frozen
:class:`PixelFormat`): reads run in threads or processes, with no state kept.

Values are *stored* values: no rescale slope/intercept, no LUTs;
PALETTE COLOR images are made RGB through their palette (``_colour.py``);
Float and Double Float Pixel Data (parametric maps) come as float32/float64.
Like pydicom, unused high bits (``BitsStored < BitsAllocated``) are cleared
(or sign-extended for signed data), and YCbCr colour data become RGB.
"""

from __future__ import annotations

import dataclasses
import io
import math
import operator
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from io import FileIO
from typing import Any

import numpy as np
from pydicom.uid import DeflatedExplicitVRLittleEndian as DEFLATED
from pydicom.uid import ExplicitVRLittleEndian as EXPLICIT_LE
from pydicom.uid import ImplicitVRLittleEndian as IMPLICIT_LE

from .._errors import InvalidFileError
from ._codecs import decode_lossless
from ._colour import PALETTE, apply_palette, palette_bits
from ._decode import DAMAGED_HINT, PIXEL_DATA, out_of_range, read_with_pydicom
from ._header import NO_TAGS, NeedsPydicom, NotDicomError, deflated_pixel_data, read_header
from ._modality import apply_modality_lut, modality_lut_bits
from ._pydicom import read_any_header
from ._versions import version
from ._window import ViewFile

__all__ = [
    "FORMAT_KEYWORDS",
    "FORMAT_TAGS",
    "PixelFormat",
    "native_frames",
    "pixel_format",
    "read_frames",
    "read_frames_into",
]

NATIVE_LE = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"})
FLOAT_PIXEL_DATA_TAG = b"\xe0\x7f\x08\x00"  # (7FE0,0008) as stored, little endian
NUMBER_OF_FRAMES = 0x00280008

#: Tags that describe the pixel data (tag number -> VR), keyed as in
#: :meth:`PixelFormat.from_keywords` by :data:`_KEYWORDS`.
FORMAT_TAGS: dict[int, str] = {
    0x00280010: "US",  # Rows
    0x00280011: "US",  # Columns
    0x00280002: "US",  # SamplesPerPixel
    0x00280100: "US",  # BitsAllocated
    0x00280101: "US",  # BitsStored
    0x00280103: "US",  # PixelRepresentation
    0x00280006: "US",  # PlanarConfiguration
    0x00280004: "CS",  # PhotometricInterpretation
}
_KEYWORDS = {
    0x00280010: "Rows",
    0x00280011: "Columns",
    0x00280002: "SamplesPerPixel",
    0x00280100: "BitsAllocated",
    0x00280101: "BitsStored",
    0x00280103: "PixelRepresentation",
    0x00280006: "PlanarConfiguration",
    0x00280004: "PhotometricInterpretation",
}
#: the keywords of the pixel description, with HighBit (which follows from BitsStored)
FORMAT_KEYWORDS = frozenset([*_KEYWORDS.values(), "HighBit"])
_FIELDS = {
    "SamplesPerPixel": "samples",
    "BitsAllocated": "bits_allocated",
    "BitsStored": "bits_stored",
    "PixelRepresentation": "pixel_representation",
    "PlanarConfiguration": "planar_configuration",
}


@dataclass(frozen=True, slots=True)
class PixelFormat:
    """How the pixels of a file are stored: everything needed to read a frame.

    Attributes
    ----------
    rows, columns : int
        (0028,0010) Rows and (0028,0011) Columns.
    samples : int
        (0028,0002) Samples per Pixel: 1 for grey-scale, 3 for colour.
    bits_allocated : int
        (0028,0100) Bits Allocated: 1 (bit-packed), 8, 16 or 32.
    pixel_representation : int
        (0028,0103) Pixel Representation: 0 unsigned, 1 signed.
    planar_configuration : int
        (0028,0006) Planar Configuration of colour data: 0 interleaved
        (RGBRGB...), 1 planes (RR...GG...BB...).
    photometric : str
        (0028,0004) Photometric Interpretation.
    transfer_syntax : str
        (0002,0010) Transfer Syntax UID.
    bits_stored : int
        (0028,0101) Bits Stored; 0 (unknown) means all allocated bits are used.
        When smaller than ``bits_allocated`` the unused high bits are cleared
        (or sign-extended), as pydicom does.
    float_bits : int
        32 or 64 for (7FE0,0008) Float or (7FE0,0009) Double Float Pixel Data
        (parametric maps), whose values are IEEE floats; 0 for integers.
    palette_bits : int
        8 or 16 for PALETTE COLOR images whose palette is applied: the bits
        per entry of its tables, the dtype of the RGB values read (frames are
        then ``(rows, columns, 3)``); 0 when the stored values are read.
    modality_lut_bits : int
        8 or 16 for images whose (0028,3000) Modality LUT Sequence is
        applied: the bits of the physical values its table gives, the dtype
        of the values read; 0 when the stored values are read.

    Examples
    --------
    >>> fmt = PixelFormat(rows=256, columns=192)
    >>> fmt.dtype, fmt.frame_shape, fmt.frame_bytes
    (dtype('uint16'), (256, 192), 98304)
    >>> PixelFormat(2, 2, samples=3, bits_allocated=8).frame_shape
    (2, 2, 3)
    """

    rows: int
    columns: int
    samples: int = 1
    bits_allocated: int = 16
    pixel_representation: int = 0
    planar_configuration: int = 0
    photometric: str = "MONOCHROME2"
    transfer_syntax: str = "1.2.840.10008.1.2.1"
    bits_stored: int = 0
    float_bits: int = 0
    palette_bits: int = 0
    modality_lut_bits: int = 0

    @property
    def dtype(self) -> np.dtype:
        """The stored data type (native byte order); ``uint8`` for 1-bit data.

        Raises ``ValueError`` for a Bits Allocated other than 1, 8, 16 or 32.
        """
        bits = self.bits_allocated
        if self.palette_bits or self.modality_lut_bits:
            table = self.palette_bits or self.modality_lut_bits
            return np.dtype(np.uint8 if table == 8 else np.uint16)
        if self.float_bits in (32, 64):
            return np.dtype(np.float32 if self.float_bits == 32 else np.float64)
        if bits == 1:
            return np.dtype(np.uint8)
        if bits not in (8, 16, 32):
            raise ValueError(
                f"(0028,0100) 'Bits Allocated' is {bits}: integer pixel data must "
                "have 1, 8, 16 or 32 bits"
            )
        return np.dtype(f"{'i' if self.pixel_representation == 1 else 'u'}{bits // 8}")

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """``(rows, columns)``, or ``(rows, columns, samples)`` for colour.

        ``(rows, columns, 3)`` for PALETTE COLOR images read as RGB.
        """
        if self.palette_bits:
            return (self.rows, self.columns, 3)
        if self.samples == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples)

    @property
    def frame_bytes(self) -> int:
        """Bytes of one uncompressed frame.

        Rounded up for 1-bit data, whose frames are packed end to end and need
        not start on a byte.
        """
        return (self._frame_bits + 7) // 8

    @property
    def _frame_bits(self) -> int:
        return self.rows * self.columns * self.samples * self.bits_allocated

    @classmethod
    def from_keywords(cls, values: Mapping[str, Any]) -> PixelFormat:
        """The format given by DICOM keywords, e.g. a row of the index.

        Keys are ``Rows``, ``Columns``, ``SamplesPerPixel``, ``BitsAllocated``,
        ``BitsStored``, ``PixelRepresentation``, ``PlanarConfiguration``,
        ``PhotometricInterpretation`` and ``TransferSyntaxUID``; absent, None
        or NaN values take the defaults of the class. ``Rows`` and
        ``Columns`` are required (``KeyError`` otherwise).

        Examples
        --------
        >>> PixelFormat.from_keywords({"Rows": 4, "Columns": 3, "BitsAllocated": 8})
        PixelFormat(rows=4, columns=3, samples=1, bits_allocated=8, \
pixel_representation=0, planar_configuration=0, photometric='MONOCHROME2', \
transfer_syntax='1.2.840.10008.1.2.1', bits_stored=0, float_bits=0, palette_bits=0, \
modality_lut_bits=0)
        """

        def given(key: str) -> Any:
            value = values.get(key)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return None
            return value

        for key in ("Rows", "Columns"):
            if given(key) is None:
                raise KeyError(f"{key} is needed to read pixels but has no value")
        kwargs: dict[str, Any] = {"rows": int(values["Rows"]), "columns": int(values["Columns"])}
        for key, field in _FIELDS.items():
            if given(key) is not None:
                kwargs[field] = int(values[key])
        if given("PhotometricInterpretation"):
            kwargs["photometric"] = str(values["PhotometricInterpretation"]).strip()
        if "TransferSyntaxUID" in values and values["TransferSyntaxUID"] is not None:
            kwargs["transfer_syntax"] = str(values["TransferSyntaxUID"]).strip()  # "": none
        return cls(**kwargs)


def pixel_format(path: str | os.PathLike[str]) -> tuple[PixelFormat, int, int]:
    """Read the pixel format of one file, and where its native pixel data are.

    Returns ``(format, offset, nbytes)`` as the index records them: the byte
    offset and length of uncompressed pixel data, -1 when they are
    compressed or the fast header reader does not handle the file.

    Raises ``KeyError`` when the file has no Rows or Columns (no image), and
    what :func:`dbdicom._files.read_any_header` raises for bad files.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> fmt, offset, nbytes = pixel_format(get_testdata_file("CT_small.dcm"))
    >>> fmt.dtype, fmt.frame_shape, nbytes == fmt.frame_bytes
    (dtype('int16'), (128, 128), True)
    """
    header = read_any_header(os.fspath(path), FORMAT_TAGS)
    values: dict[str, Any] = {_KEYWORDS[t]: v for t, v in header.values.items()}
    values["TransferSyntaxUID"] = header.transfer_syntax
    fmt = PixelFormat.from_keywords(values)
    if header.float_bits:
        fmt = dataclasses.replace(fmt, float_bits=header.float_bits)
    if fmt.photometric == PALETTE:
        fmt = dataclasses.replace(fmt, palette_bits=palette_bits(path))
    if header.has_modality_lut:
        fmt = dataclasses.replace(fmt, modality_lut_bits=modality_lut_bits(path))
    return fmt, header.pixel_offset, header.pixel_length


def read_frames(
    path: str | os.PathLike[str],
    frames: Sequence[int],
    fmt: PixelFormat,
    offset: int = -1,
    nbytes: int = -1,
) -> np.ndarray:
    """Read the stored values of some frames of one file.

    Parameters
    ----------
    path : str or path-like
        The file.
    frames : sequence of int
        0-based frame indices, in the order wanted (repeats allowed).
    fmt : PixelFormat
        How the pixels are stored.
    offset, nbytes : int
        Byte offset and length of the value of uncompressed (7FE0,0010) Pixel
        Data, as the index records them; -1 when unknown or compressed. With
        both known and an uncompressed Little Endian transfer syntax the
        frames are read without parsing the file.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(frames), *fmt.frame_shape)``, writeable. The data type
        is ``fmt.dtype`` for uncompressed integer data, ``float32`` or
        ``float64`` for (7FE0,0008) Float and (7FE0,0009) Double Float Pixel
        Data, and what the decoder gives for compressed data. Equal to the
        frames of ``pydicom.dcmread(path).pixel_array``; with
        ``fmt.palette_bits``, to those frames through pydicom's
        ``apply_color_lut`` (RGB, ``uint8`` or ``uint16``); with
        ``fmt.modality_lut_bits``, to those frames through the file's
        Modality LUT (``uint8`` or ``uint16``, see :mod:`._modality`).

    Raises
    ------
    IndexError
        A frame index is negative or not below the number of frames of the file.
    dbdicom.InvalidFileError
        The pixel data are cut short, corrupt, or not what ``fmt`` says.
    dbdicom.DecoderNotFoundError
        No installed plugin decodes the file's transfer syntax.
    FileNotFoundError
        The file does not exist.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> path = get_testdata_file("emri_small.dcm")          # 10 frames, 64 x 64
    >>> fmt, offset, nbytes = pixel_format(path)
    >>> stack = read_frames(path, [2, 3, 7], fmt, offset, nbytes)
    >>> stack.shape, stack.dtype
    ((3, 64, 64), dtype('uint16'))
    >>> import pydicom, numpy as np
    >>> bool(np.array_equal(stack, pydicom.dcmread(path).pixel_array[[2, 3, 7]]))
    True
    >>> read_frames(path, [10], fmt, offset, nbytes)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    IndexError: frame 10 is out of range: ... has 10 frames (0 to 9)
    """
    path = os.fspath(path)
    indices = [operator.index(k) for k in frames]
    for k in indices:
        if k < 0:
            raise IndexError(f"frame {k} is out of range: frame indices start at 0 ({path})")
    if not indices:
        return np.empty((0, *fmt.frame_shape), fmt.dtype if fmt.bits_allocated <= 32 else "f8")
    if fmt.palette_bits:
        indexed = dataclasses.replace(fmt, palette_bits=0)
        stored = read_frames(path, indices, indexed, offset, nbytes)
        return apply_palette(path, stored, fmt.palette_bits)
    if fmt.modality_lut_bits:
        plain = dataclasses.replace(fmt, modality_lut_bits=0)
        return apply_modality_lut(
            path, read_frames(path, indices, plain, offset, nbytes), fmt.modality_lut_bits
        )
    if _fast(fmt):
        if offset < 0 or nbytes < 0:
            offset, nbytes = _locate(path)
        if offset >= 0:
            with open(path, "rb", buffering=0) as f:
                return _read_native(f, path, indices, fmt, offset, nbytes)
    elif fmt.transfer_syntax == DEFLATED and _fast(replace(fmt, transfer_syntax=EXPLICIT_LE)):
        try:  # inflated in chunks: the pixels kept, not what precedes them
            data = deflated_pixel_data(path)
        except zlib.error as exc:
            raise InvalidFileError(f"{path}: its Deflate stream is corrupt: {exc}") from exc
        return _read_native(io.BytesIO(data), path, indices, fmt, 0, len(data))
    fast = decode_lossless(path, indices, fmt)
    if fast is not None:
        return fast
    return read_with_pydicom(path, indices, fmt)


# ----------------------------------------------------------------------------- fast path


def read_frames_into(
    path: str,
    frames: Sequence[int],
    fmt: PixelFormat,
    offset: int,
    nbytes: int,
    dest: Sequence[np.ndarray],
    known: tuple[int, int] | None = None,
) -> bool:
    """Read frames of uncompressed grey-scale data straight into ``dest``, if that is all it takes.

    The plain case of :func:`read_frames`, with no array made: for each frame
    index of ``frames``, its stored values are read into the matching array
    of ``dest`` (C-contiguous, ``fmt.dtype``, one frame each), one
    ``preadv`` per frame on one open file, unused high bits then cleared (or
    sign-extended) as :func:`read_frames` does.

    Returns False, having read nothing that counts, where more than a copy
    is needed -- another format (compressed, colour, 1-bit, 32-bit, float),
    an unknown offset, a frame beyond the pixel data or the file's end, a
    platform without ``os.preadv`` -- or where the file is not as indexed:
    ``known`` is its ``(size, mtime_ns)`` then, compared with ``fstat`` of
    the file opened (no race with a rename between a ``stat`` and the
    ``open``), or it was rewritten while read (``fstat`` after). The caller
    then reads the frames the general way, which says what is wrong.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> path = get_testdata_file("emri_small.dcm")  # 10 frames, 64 x 64, uint16
    >>> fmt, offset, nbytes = pixel_format(path)
    >>> dest = np.empty((2, 64, 64), fmt.dtype)
    >>> read_frames_into(path, [3, 7], fmt, offset, nbytes, dest)
    True
    >>> bool(np.array_equal(dest, read_frames(path, [3, 7], fmt, offset, nbytes)))
    True
    >>> read_frames_into(path, [10], fmt, offset, nbytes, dest[:1])  # no 11th frame
    False
    """
    bits = fmt.bits_allocated
    if (
        offset < 0
        or bits not in (8, 16)
        or fmt.samples != 1
        or fmt.palette_bits
        or fmt.modality_lut_bits
        or fmt.float_bits
        or not _fast(fmt)
        or not hasattr(os, "preadv")
    ):
        return False
    size = fmt.frame_bytes
    if any(not 0 <= k or (k + 1) * size > nbytes for k in frames):
        return False
    if any(d.dtype != d.dtype.newbyteorder("<") for d in dest):
        return False  # a big-endian host: the Little Endian bytes need a swap (read_frames)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if known is not None and (st.st_size, st.st_mtime_ns) != known:
            return False
        for k, frame in zip(frames, dest, strict=True):
            if os.preadv(fd, [frame.data], offset + k * size) != size:
                return False  # shorter than its header said (a read from the start)
        if version(st) != version(os.fstat(fd)):
            return False  # rewritten in place while read
    finally:
        os.close(fd)
    if 0 < fmt.bits_stored < bits:
        shift = bits - fmt.bits_stored
        for frame in dest:
            np.left_shift(frame, shift, out=frame)
            np.right_shift(frame, shift, out=frame)
    return True


def _fast(fmt: PixelFormat) -> bool:
    """Whether the frames can be read as plain bytes (no decoding, no colour change)."""
    return (
        fmt.transfer_syntax in NATIVE_LE
        and fmt.bits_allocated in (1, 8, 16, 32)
        and (fmt.bits_allocated != 1 or fmt.samples == 1)
        and not fmt.photometric.startswith("YBR")
    )


def _locate(path: str) -> tuple[int, int]:
    """Offset and length of native Little Endian pixel data, (-1, -1) if not that."""
    try:
        header = read_header(path, NO_TAGS)
    except (NeedsPydicom, NotDicomError, EOFError):
        return -1, -1  # pydicom reads it, or says what is wrong
    if header.transfer_syntax not in NATIVE_LE:
        return -1, -1
    return header.pixel_offset, header.pixel_length


def _runs(indices: list[int]) -> Iterator[tuple[int, int, int]]:
    """``(position in output, first frame, count)`` of consecutive frame indices."""
    start = 0
    for i in range(1, len(indices) + 1):
        if i == len(indices) or indices[i] != indices[i - 1] + 1:
            yield start, indices[start], i - start
            start = i


def _read_into(f: FileIO | io.BytesIO | ViewFile, view: memoryview) -> int:
    """Fill ``view`` from ``f``; return the bytes read (fewer at end of file)."""
    done, got = 0, 1
    while done < len(view) and got:
        got = f.readinto(view[done:]) or 0
        done += got
    return done


def _read_native(
    f: FileIO | io.BytesIO | ViewFile,
    path: str,
    indices: list[int],
    fmt: PixelFormat,
    offset: int,
    nbytes: int,
) -> np.ndarray:
    """Frames of uncompressed Little Endian data at a known byte offset of ``f`` (``path``)."""
    n = len(indices)
    bits = fmt.bits_allocated
    frame_bits = fmt._frame_bits
    if frame_bits == 0:
        raise InvalidFileError(f"{path}: the pixel format gives empty frames: {fmt}")
    stored = fmt.dtype.newbyteorder("<")
    packed = bits == 1
    size = frame_bits // 8  # bytes per frame (unpacked bits for 1-bit data)
    out = np.empty(n * (frame_bits if packed else size), np.uint8)
    in_element = nbytes * 8 // frame_bits  # frames wholly inside the element
    if fmt.float_bits:
        stored = np.dtype(f"<f{fmt.float_bits // 8}")
    elif bits == 32 and _is_float_pixel_data(f, offset, fmt.transfer_syntax):
        stored = np.dtype("<f4")  # (7FE0,0008) Float Pixel Data, as pydicom gives it
    for pos, first, count in _runs(indices):
        if first + count > in_element:
            missing = max(first, in_element)
            left = max(0, nbytes - missing * frame_bits // 8)
            detail = f"the element's length ({nbytes} bytes) leaves only {left} for it"
            raise _frame_error(path, missing, fmt, detail)
        lo = first * frame_bits // 8
        hi = -(-(first + count) * frame_bits // 8)
        f.seek(offset + lo)
        if packed:
            raw = f.read(hi - lo)
            got = len(raw)
        else:
            got = _read_into(f, out.data[pos * size : (pos + count) * size])
        if got < hi - lo:
            missing = first + got * 8 // frame_bits
            left = got - (missing - first) * frame_bits // 8
            end = f.seek(0, os.SEEK_END)  # where the file ends, not where the frame starts
            detail = f"the file ends at byte {end}, after only {left} of them"
            raise _frame_error(path, missing, fmt, detail)
        if packed:
            unpacked = np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little")
            skip = first * frame_bits - 8 * lo
            out[pos * frame_bits : (pos + count) * frame_bits] = unpacked[
                skip : skip + count * frame_bits
            ]
    arr: np.ndarray = out.view(stored)
    if fmt.samples > 1 and fmt.planar_configuration == 1:
        arr = arr.reshape(n, fmt.samples, fmt.rows, fmt.columns).transpose(0, 2, 3, 1)
        arr = np.ascontiguousarray(arr)
    else:
        arr = arr.reshape(n, *fmt.frame_shape)
    if 0 < fmt.bits_stored < bits and bits > 1 and stored.kind != "f":
        shift = bits - fmt.bits_stored
        np.left_shift(arr, shift, out=arr)
        np.right_shift(arr, shift, out=arr)  # arithmetic for signed types
    # same bytes, native dtype object (a byte swap only on big-endian machines)
    native = stored.newbyteorder("=")
    return arr.view(native) if arr.dtype.isnative else arr.astype(native)


def native_frames(data: bytes | memoryview, fmt: PixelFormat, label: str) -> np.ndarray:
    """Every frame of uncompressed Little Endian pixel bytes held in memory.

    What :func:`read_frames` does for a file, for bytes from elsewhere (a
    DICOMweb server's answer): ``label`` names them in errors; a read-only
    view of the bytes where no value changes.

    Examples
    --------
    >>> fmt = PixelFormat(rows=2, columns=3)
    >>> native_frames(np.arange(12, dtype="<u2").tobytes(), fmt, "here").shape
    (2, 2, 3)
    """
    n = len(data) * 8 // fmt._frame_bits if fmt._frame_bits else 0
    bits, stored = fmt.bits_allocated, fmt.dtype.newbyteorder("<")
    plain = (fmt.samples == 1 or fmt.planar_configuration == 0) and not fmt.float_bits
    if n and bits in (8, 16) and fmt.bits_stored in (0, bits) and stored.isnative and plain:
        count = n * fmt._frame_bits // bits  # the bytes as they are: viewed, not copied
        return np.frombuffer(data, stored, count=count).reshape(n, *fmt.frame_shape)
    f = ViewFile(data) if isinstance(data, memoryview) else io.BytesIO(data)
    return _read_native(f, label, list(range(n)), fmt, 0, len(data))


def _is_float_pixel_data(f: FileIO | io.BytesIO | ViewFile, offset: int, syntax: str) -> bool:
    """Whether the element whose value starts at ``offset`` is (7FE0,0008) Float Pixel Data.

    The index records the offset of any pixel data element; 32-bit ones may
    hold floats. Explicit VR element headers are 12 bytes, implicit ones 8.
    """
    start = offset - (8 if syntax == IMPLICIT_LE else 12)
    return start >= 0 and f.seek(start) == start and f.read(4) == FLOAT_PIXEL_DATA_TAG


def _number_of_frames(path: str) -> int | None:
    """(0028,0008) Number of Frames of a file (1 when absent), None if unreadable."""
    try:
        value = read_any_header(path, {NUMBER_OF_FRAMES: "IS"}).values.get(NUMBER_OF_FRAMES)
        return int(value) if value else 1
    except (NotDicomError, EOFError, OSError, ValueError, TypeError):
        return None


def _frame_error(path: str, frame: int, fmt: PixelFormat, detail: str) -> Exception:
    """IndexError if ``frame`` is beyond the file's frames, else a truncation error."""
    n_frames = _number_of_frames(path)
    if n_frames is not None and frame >= n_frames:
        return out_of_range(path, frame, n_frames)
    return InvalidFileError(
        f"{path}: frame {frame} is cut short: {PIXEL_DATA} should hold {fmt.frame_bytes} "
        f"bytes for it, but {detail}. {DAMAGED_HINT}"
    )
