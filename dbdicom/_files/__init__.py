"""The files layer: one file's header values and (later) one frame's pixels.

Knows nothing of the index or the records above it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from ._header import Header, NeedsPydicom, NotDicomError, read_header
from ._pixels import FORMAT_TAGS, PixelFormat, pixel_format, read_frames
from ._pydicom import FRAME_ALIASES, frame_values, read_with_pydicom
from ._values import decode_value, encodings_for, to_python

__all__ = [
    "FORMAT_TAGS",
    "FRAME_ALIASES",
    "Header",
    "NeedsPydicom",
    "NotDicomError",
    "PixelFormat",
    "decode_value",
    "encodings_for",
    "frame_values",
    "pixel_format",
    "read_any_header",
    "read_frames",
    "read_header",
    "read_with_pydicom",
    "to_python",
]


def read_any_header(path: str, wanted: Mapping[int, str], data: bytes | None = None) -> Header:
    """Read ``wanted`` tags: the fast reader first, pydicom where it must.

    ``data``, if given, is the whole file's bytes (read instead of ``path``).
    Raises :class:`NotDicomError` for files that are not DICOM and
    ``EOFError`` for truncated ones.
    """
    try:
        return read_header(path, wanted, data)
    except NeedsPydicom:
        return read_with_pydicom(path if data is None else io.BytesIO(data), wanted)
