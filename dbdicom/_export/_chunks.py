"""How a frame stored in a DICOM file can be a Zarr chunk, read in place — or why not.

A chunk of a virtual Zarr store is a byte range of a file that Zarr reads
as it is, or decodes with one numcodecs codec, viewed as the array's data
type and shaped as the chunk: ``(1, ..., 1, rows, columns[, samples])``.
That must give the stored values dbdicom gives (RescaleSlope and
RescaleIntercept come after, as CF ``scale_factor`` and ``add_offset``).

=====================================  =========================================
transfer syntax                        chunk
=====================================  =========================================
Implicit / Explicit VR Little Endian   the frame's bytes, no codec (``<i2``...)
Explicit VR Big Endian (16, 32 bits)   the frame's bytes, no codec (``>i2``...)
JPEG Baseline, Extended, Lossless      ``imagecodecs_jpeg``
JPEG-LS Lossless and Near-Lossless     ``imagecodecs_jpegls``
JPEG 2000 (Lossless Only, and lossy)   ``imagecodecs_jpeg2k``
High-Throughput JPEG 2000 (HTJ2K)      ``imagecodecs_htj2k``
RLE Lossless (one sample per pixel)    ``imagecodecs_dicomrle``
Deflated Explicit VR Little Endian     refused: one zlib stream for the data set
MPEG-2, MPEG-4, HEVC (video)           refused: frames coded from each other
any other (JPEG XL...)                 refused: no codec known to give dbdicom's
                                       values
=====================================  =========================================

The codecs are those of ``imagecodecs.numcodecs``; a reader registers them
with ``imagecodecs.numcodecs.register_codecs()`` before opening the store.

Refused whatever the transfer syntax, because a chunk read as it is would
give other values than dbdicom's: bit-packed frames (Bits Allocated 1, a
frame need not start on a byte), PALETTE COLOR (dbdicom applies the
palette), a Modality LUT Sequence (dbdicom applies the table),
uncompressed YBR colour (dbdicom converts it to RGB), planar colour
(``RR..GG..BB..``; the array is ``(row, column, channel)``), RLE colour
(decoded as planes) and compressed signed data with unused high bits
(decoders leave the sign to the reader). Native data with unused high bits
(Bits Stored < Bits Allocated) are read to see that those bits are clear
(or repeat the sign): dbdicom clears them, Zarr cannot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydicom.uid import UID
from pydicom.uid import DeflatedExplicitVRLittleEndian as DEFLATED
from pydicom.uid import ExplicitVRBigEndian as BIG_ENDIAN
from pydicom.uid import RLELossless as RLE

from .. import _files
from .._errors import VirtualZarrError

__all__ = ["CODECS", "ChunkEncoding", "check_high_bits", "chunk_encoding"]


#: the numcodecs codec of each compressed transfer syntax whose frames it
#: decodes to the values dbdicom reads
CODECS: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "imagecodecs_jpeg",  # JPEG Baseline (Process 1)
    "1.2.840.10008.1.2.4.51": "imagecodecs_jpeg",  # JPEG Extended (Process 2 and 4)
    "1.2.840.10008.1.2.4.57": "imagecodecs_jpeg",  # JPEG Lossless, Non-Hierarchical
    "1.2.840.10008.1.2.4.70": "imagecodecs_jpeg",  # JPEG Lossless, SV1
    "1.2.840.10008.1.2.4.80": "imagecodecs_jpegls",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81": "imagecodecs_jpegls",  # JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90": "imagecodecs_jpeg2k",  # JPEG 2000 Lossless Only
    "1.2.840.10008.1.2.4.91": "imagecodecs_jpeg2k",  # JPEG 2000
    RLE: "imagecodecs_dicomrle",  # RLE Lossless
    "1.2.840.10008.1.2.4.201": "imagecodecs_htj2k",  # High-Throughput JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.202": "imagecodecs_htj2k",  # HTJ2K with RPCL Lossless
    "1.2.840.10008.1.2.4.203": "imagecodecs_htj2k",  # High-Throughput JPEG 2000
}
#: video: one stream in which frames are coded from each other
VIDEO = ("MPEG", "HEVC")

#: the way out named by every refusal
WAY_OUT = (
    "export a copy instead (series.export_as_zarr(path)), or leave these frames out "
    "(series.subseries(...))"
)

#: ``(zarr dtype, compressor config or None)``: how a chunk is stored
ChunkEncoding = tuple[str, dict[str, Any] | None]


def _syntax(uid: str) -> str:
    """``Name (UID)`` of a transfer syntax."""
    name = UID(uid).name if uid else ""
    return f"{name} ({uid})" if name and name != uid else f"transfer syntax {uid or '(none)'}"


def chunk_encoding(fmt: _files.PixelFormat, path: str) -> ChunkEncoding:
    """The Zarr data type and codec of chunks that are frames stored as ``fmt``.

    Parameters
    ----------
    fmt : PixelFormat
        How the frames of ``path`` are stored.
    path : str
        The file (named in refusals).

    Returns
    -------
    tuple
        ``(dtype, compressor)``: the Zarr v2 data type string (byte order
        as stored: ``"<i2"``, ``">u2"``, ``"|u1"``) and the numcodecs
        config of the codec, or None for native data.

    Raises
    ------
    dbdicom.VirtualZarrError
        The frames cannot be chunks read in place (see the module docs);
        the message names the file, the tag or transfer syntax, why and the
        way out.

    Examples
    --------
    >>> from dbdicom._files import PixelFormat
    >>> chunk_encoding(PixelFormat(64, 64, pixel_representation=1), "a.dcm")
    ('<i2', None)
    >>> chunk_encoding(PixelFormat(64, 64, transfer_syntax="1.2.840.10008.1.2.2"), "a.dcm")
    ('>u2', None)
    >>> chunk_encoding(PixelFormat(8, 8, transfer_syntax="1.2.840.10008.1.2.5"), "a.dcm")
    ('<u2', {'id': 'imagecodecs_dicomrle', 'dtype': '<u2'})
    >>> chunk_encoding(PixelFormat(8, 8, bits_allocated=1), "a.dcm")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dbdicom._errors.VirtualZarrError: a.dcm: (0028,0100) 'Bits Allocated' is 1: ...
    """
    why = _refusal(fmt)
    if why:
        raise VirtualZarrError(f"{path}: {why}: it cannot be a chunk read in place; {WAY_OUT}.")
    syntax = fmt.transfer_syntax
    stored = np.dtype(f"f{fmt.float_bits // 8}") if fmt.float_bits else fmt.dtype
    if syntax in _files.NATIVE:
        return stored.newbyteorder(">" if syntax == BIG_ENDIAN else "<").str, None
    codec = CODECS[syntax]
    little = stored.newbyteorder("<").str
    config: dict[str, Any] = {"id": codec}
    if codec == "imagecodecs_dicomrle":
        config["dtype"] = little
    elif codec == "imagecodecs_jpeg" and fmt.samples == 3:
        # the Photometric Interpretation says what the components are, as
        # pydicom takes it: RGB as stored, YBR converted to RGB
        stored_as = "RGB" if fmt.photometric.upper() == "RGB" else "YCBCR"
        config.update(colorspace_jpeg=stored_as, colorspace_data="RGB")
    return little, config


def _refusal(fmt: _files.PixelFormat) -> str:  # noqa: C901 - one rule a line
    """Why frames stored as ``fmt`` cannot be chunks read in place, or ""."""
    problem = _files.format_problem(fmt)
    if problem:
        return problem
    syntax = fmt.transfer_syntax
    photometric = fmt.photometric.upper()
    native = syntax in _files.NATIVE
    if fmt.bits_allocated == 1:
        return (
            "(0028,0100) 'Bits Allocated' is 1: bit-packed frames need not start on a byte "
            "and unpack to one byte a pixel, which no Zarr chunk does"
        )
    if fmt.palette_bits:
        return (
            "(0028,0004) 'Photometric Interpretation' is PALETTE COLOR: dbdicom gives the "
            "RGB values of its palette, a chunk holds the palette indices"
        )
    if fmt.modality_lut_bits:
        return (
            "(0028,3000) 'Modality LUT Sequence' makes the stored values physical by a "
            "table: dbdicom gives the table's values, a chunk holds the stored ones"
        )
    if syntax == DEFLATED:
        return (
            f"{_syntax(syntax)} compresses the whole data set as one zlib stream: no byte "
            "range of the file is a frame"
        )
    if not native and syntax not in CODECS and any(v in _syntax(syntax) for v in VIDEO):
        return (
            f"{_syntax(syntax)} is a video stream, whose frames are coded from each other: "
            "no frame is a byte range that a codec decodes on its own"
        )
    if not native and syntax not in CODECS:
        known = ", ".join(sorted({_syntax(s) for s in CODECS}))
        return (
            f"{_syntax(syntax)} has no numcodecs codec known to decode its frames to the "
            f"values dbdicom reads (those with one: {known})"
        )
    if native and photometric.startswith("YBR"):
        return (
            f"(0028,0004) 'Photometric Interpretation' is {fmt.photometric}: dbdicom "
            "converts the stored YBR values to RGB, a chunk holds them as stored"
        )
    if native and fmt.samples > 1 and fmt.planar_configuration == 1:
        return (
            "(0028,0006) 'Planar Configuration' is 1: colour planes (RR..GG..BB..) are "
            "not the (row, column, channel) order of the array"
        )
    if syntax == BIG_ENDIAN and fmt.bits_allocated == 8:
        return (
            f"{_syntax(syntax)} stores 8-bit pixels in 16-bit words (OW) whose two bytes "
            "are swapped: a chunk read as bytes has every pixel pair in the wrong order"
        )
    if syntax == RLE and fmt.samples > 1:
        return "RLE Lossless colour decodes to colour planes, not (row, column, channel)"
    signed_short = fmt.pixel_representation == 1 and 0 < fmt.bits_stored < fmt.bits_allocated
    if not native and signed_short and not fmt.float_bits:
        return (
            f"(0028,0101) 'Bits Stored' is {fmt.bits_stored} of {fmt.bits_allocated} "
            "on signed compressed data: decoders leave the sign bit where it was stored, "
            "dbdicom extends it"
        )
    return ""


def check_high_bits(
    path: str,
    fmt: _files.PixelFormat,
    frames: Sequence[int],
    places: Sequence[tuple[int, int]],
    dtype: str,
) -> None:
    """Refuse native frames whose unused high bits are not what dbdicom reads.

    dbdicom clears the bits above (0028,0101) Bits Stored (or repeats the
    sign bit in them, for signed data), as pydicom does; a chunk read in
    place keeps them. So, when Bits Stored < Bits Allocated, each frame is
    read once here and must already be so (as most files are). Nothing is
    read otherwise.

    Raises
    ------
    dbdicom.VirtualZarrError
        A frame has other bits there (an overlay in the high bits, a sign
        not extended); the message names the file and the frame.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> from dbdicom._files import frame_places, pixel_format
    >>> path = get_testdata_file("emri_small.dcm")  # 12 of 16 bits stored
    >>> fmt, offset, nbytes = pixel_format(path)
    >>> check_high_bits(path, fmt, [0], frame_places(path, fmt, [0], offset, nbytes), "<u2")
    """
    bits, stored = fmt.bits_allocated, fmt.bits_stored
    if fmt.float_bits or not 0 < stored < bits or fmt.transfer_syntax not in _files.NATIVE:
        return
    kind = np.dtype(dtype)
    shift = bits - stored
    with open(path, "rb") as f:
        for k, (offset, length) in zip(frames, places, strict=True):
            f.seek(offset)
            raw = np.frombuffer(f.read(length), kind)
            kept = (raw << shift) >> shift if kind.kind == "i" else raw & ((1 << stored) - 1)
            if not np.array_equal(kept, raw):
                raise VirtualZarrError(
                    f"{path}: frame {k} has bits above (0028,0101) 'Bits Stored' {stored} "
                    f"(of {bits} allocated) that are not "
                    f"{'the sign' if kind.kind == 'i' else 'zero'} (an overlay, or a sign "
                    "not extended): dbdicom clears them, a chunk read in place keeps them; "
                    f"{WAY_OUT}."
                )
