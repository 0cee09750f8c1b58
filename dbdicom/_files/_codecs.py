"""Decoding lossless compressed monochrome frames with imagecodecs, when installed.

pydicom's decoder plugins hold the GIL, so dask's threads decode one frame
at a time. imagecodecs (libjpeg-turbo, CharLS, OpenJPEG) releases it, and is
about twice as fast per frame. It is used only where its output is exactly
pydicom's: lossless JPEG, JPEG-LS and JPEG 2000 of one sample per pixel,
unsigned or with all bits used; everything else goes to pydicom.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["decode_lossless"]

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
    """
    if fmt.samples != 1 or not str(fmt.photometric).startswith("MONOCHROME"):
        return None
    if fmt.pixel_representation == 1 and fmt.bits_stored not in (0, fmt.bits_allocated):
        return None
    decode = _decoder(fmt.transfer_syntax)
    if decode is None:
        return None
    import pydicom
    from pydicom.encaps import generate_frames

    ds = pydicom.dcmread(path)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    wanted = set(indices)
    found: dict[int, np.ndarray] = {}
    for k, data in enumerate(generate_frames(ds.PixelData, number_of_frames=n)):
        if k in wanted:
            try:
                found[k] = decode(data)
            except (RuntimeError, ValueError):  # imagecodecs' errors: pydicom decides, reports
                return None
        if len(found) == len(wanted):
            break
    if len(found) != len(wanted):
        return None
    out = np.empty((len(indices), fmt.rows, fmt.columns), fmt.dtype)
    for i, k in enumerate(indices):
        frame = found[k]
        if frame.shape != (fmt.rows, fmt.columns) or frame.dtype.itemsize != fmt.dtype.itemsize:
            return None
        out[i] = frame.view(fmt.dtype)
    return out
