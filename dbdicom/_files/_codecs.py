"""Decoding compressed monochrome frames with imagecodecs, when installed.

pydicom's decoder plugins hold the GIL, so dask's threads decode one frame
at a time. imagecodecs (libjpeg-turbo, CharLS, OpenJPEG) releases it, and is
about twice as fast per frame. It is used only where its output is exactly
pydicom's: lossless JPEG, JPEG-LS and JPEG 2000 of one sample per pixel,
unsigned or with all bits used; everything else goes to pydicom. And where
pydicom's plugins cannot decode at all: 12-bit grey JPEG Extended.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._errors import InvalidFileError
from ._pydicom import read_dataset

__all__ = [
    "decode_lossless",
    "decode_stream_pydicom_cannot",
    "decode_where_pydicom_cannot",
]

_DECODERS = {
    "1.2.840.10008.1.2.4.57": "jpeg8_decode",  # JPEG Lossless, Non-Hierarchical
    "1.2.840.10008.1.2.4.70": "jpeg8_decode",  # JPEG Lossless, SV1
    "1.2.840.10008.1.2.4.80": "jpegls_decode",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.90": "jpeg2k_decode",  # JPEG 2000 Lossless Only
}


def _decoder(transfer_syntax: str) -> Callable[[bytes], np.ndarray] | None:
    name = _DECODERS.get(transfer_syntax)
    if name is None:
        return None
    try:
        import imagecodecs
    except ImportError:
        return None
    fn: Any = getattr(imagecodecs, name, None)
    return fn


def decode_lossless(path: str, indices: Sequence[int], fmt: Any) -> np.ndarray | None:
    """The frames ``indices`` of an encapsulated file, or None if not handled here.

    Handled: one sample per pixel, MONOCHROME1/2, the lossless transfer
    syntaxes above, and stored bits equal to allocated bits when signed (no
    sign extension needed). The result equals pydicom's ``pixel_array``.
    Encapsulation that cannot be parsed is left to pydicom, which says why.

    Raises
    ------
    dbdicom.InvalidFileError
        A frame's code stream does not end with its end marker: it was cut
        short, and decoders fill what is missing with made-up values.
    """
    if fmt.samples != 1 or not str(fmt.photometric).startswith("MONOCHROME"):
        return None
    if fmt.pixel_representation == 1 and fmt.bits_stored not in (0, fmt.bits_allocated):
        return None
    decode = _decoder(fmt.transfer_syntax)
    if decode is None:
        return None
    streams = _code_streams(path, indices)
    if streams is None:
        return None
    found: dict[int, np.ndarray] = {}
    for k, data in streams.items():
        _check_end(path, k, data, fmt.transfer_syntax)
        try:
            found[k] = decode(data)
        except (RuntimeError, ValueError):  # imagecodecs' errors: pydicom decides, reports
            return None
    out = np.empty((len(indices), fmt.rows, fmt.columns), fmt.dtype)
    for i, k in enumerate(indices):
        frame = found[k]
        if frame.shape != (fmt.rows, fmt.columns) or frame.dtype.itemsize != fmt.dtype.itemsize:
            return None
        out[i] = frame.view(fmt.dtype)
    return out


#: JPEG Extended (Process 2 and 4): 12-bit samples, which pydicom's plugins do not decode
#: (GDCM's and Pillow's refuse 12-bit JPEG Extended; pylibjpeg's fails on some streams)
_LOSSY_12_BIT = {"1.2.840.10008.1.2.4.51": "jpeg8_decode"}


def decode_where_pydicom_cannot(path: str, indices: Sequence[int], fmt: Any) -> np.ndarray | None:
    """The frames ``indices`` decoded by imagecodecs where pydicom's plugins failed, or None.

    Only for 12-bit grey JPEG Extended (see :func:`decode_stream_pydicom_cannot`).
    """
    if not _lossy_12_bit(fmt, fmt.transfer_syntax):
        return None
    streams = _code_streams(path, indices)
    if streams is None:
        return None
    out = np.empty((len(indices), fmt.rows, fmt.columns), fmt.dtype)
    for i, k in enumerate(indices):
        _check_end(path, k, streams[k], fmt.transfer_syntax)
        frame = decode_stream_pydicom_cannot(streams[k], fmt, fmt.transfer_syntax)
        if frame is None:
            return None
        out[i] = frame
    return out


def decode_stream_pydicom_cannot(data: bytes, fmt: Any, transfer_syntax: str) -> np.ndarray | None:
    """One frame's code stream ``data`` decoded by imagecodecs, or None where not handled here.

    Only for 12-bit grey JPEG Extended, which pydicom's plugins do not
    decode (GDCM's and Pillow's refuse it; pylibjpeg's fails on some
    streams): libjpeg-turbo (imagecodecs' ``jpeg8_decode``) decodes 12-bit
    samples to the values GDCM's own reader (SimpleITK) gives. Called only
    after pydicom failed: a lossy stream decodes to values a grey level
    apart from decoder to decoder, and what pydicom reads stays read so. As
    every decoder of lossy JPEG, it decodes a stream damaged in its middle
    without an error; a stream cut short is refused by its end marker.
    """
    if not _lossy_12_bit(fmt, transfer_syntax):
        return None
    try:
        import imagecodecs
    except ImportError:
        return None
    try:
        frame = getattr(imagecodecs, _LOSSY_12_BIT[transfer_syntax])(data)
    except (RuntimeError, ValueError):  # imagecodecs' errors: pydicom's are reported
        return None
    return frame if frame.shape == (fmt.rows, fmt.columns) else None


def _lossy_12_bit(fmt: Any, transfer_syntax: str) -> bool:
    return (
        transfer_syntax in _LOSSY_12_BIT
        and fmt.samples == 1
        and fmt.bits_allocated == 16
        and fmt.bits_stored <= 12
        and str(fmt.photometric).startswith("MONOCHROME")
        and fmt.pixel_representation == 0
    )


def _code_streams(path: str, indices: Sequence[int]) -> dict[int, bytes] | None:
    """The code stream of each frame of ``indices``; None if the encapsulation cannot be parsed.

    pydicom's parser raises ``ValueError`` (an item tag that is not one, a
    fragment past the end), ``struct.error`` (a cut offset table) or
    ``EOFError``; the file is then left to pydicom's decoders, which report it.
    """
    from pydicom.encaps import generate_frames
    from pydicom.errors import InvalidDicomError

    wanted = set(indices)
    streams: dict[int, bytes] = {}
    try:
        ds = read_dataset(path)
        n = int(ds.get("NumberOfFrames", 1) or 1)
        for k, data in enumerate(generate_frames(ds.PixelData, number_of_frames=n)):
            if k in wanted:
                streams[k] = data
            if len(streams) == len(wanted):
                break
    except (ValueError, EOFError, struct.error, AttributeError, InvalidDicomError):
        return None
    return streams if len(streams) == len(wanted) else None


def _check_end(path: str, frame: int, data: bytes, transfer_syntax: str) -> None:
    """Raise if the code stream ``data`` does not end with its end marker (FFD9).

    JPEG and JPEG-LS end with EOI, JPEG 2000 with EOC, both FFD9; encoders may
    pad the last fragment with 00 or FF after it. Decoders decode a stream cut
    short without an error, filling the rest of the frame with made-up values.
    """
    if data.rstrip(b"\x00\xff").endswith(b"\xff\xd9"):
        return
    raise InvalidFileError(
        f"{path}: frame {frame} of (7FE0,0010) 'Pixel Data' (transfer syntax "
        f"{transfer_syntax}) is cut short: its code stream does not end with the "
        f"end-of-image marker FFD9 (it ends with {data[-4:].hex(' ')}). The file is "
        "damaged: re-export it from its source, or leave it out of the series with "
        "series.subseries(...)."
    )
