"""Reading frames through pydicom's decoders: compressed data, Big Endian, YCbCr colour...

The path of :func:`dbdicom._files.read_frames` for everything the fast path
does not read, and the errors that say what went wrong when pydicom cannot
decode a frame: the file, the frame, and the way out.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.uid import DeflatedExplicitVRLittleEndian as DEFLATED

from .._errors import DecoderNotFoundError, InvalidFileError, install_hint
from ._codecs import decode_where_pydicom_cannot
from ._pydicom import read_dataset

if TYPE_CHECKING:
    from ._pixels import PixelFormat

__all__ = [
    "DAMAGED_HINT",
    "PIXEL_DATA",
    "out_of_range",
    "read_with_pydicom",
    "undecodable_hint",
]

PIXEL_DATA = "(7FE0,0010) 'Pixel Data'"
INSTALL_HINT = install_hint("jpeg")
DAMAGED_HINT = (
    "The file is damaged: re-export it from its source, or leave it out of the "
    "series with series.subseries(...)."
)


def out_of_range(path: str, frame: int, n_frames: int) -> IndexError:
    """The error for a frame number beyond the ``n_frames`` of the file ``path``.

    Examples
    --------
    >>> out_of_range("a.dcm", 10, 10)
    IndexError('frame 10 is out of range: a.dcm has 10 frames (0 to 9)')
    """
    last = f" (0 to {n_frames - 1})" if n_frames > 1 else " (only frame 0)" if n_frames else ""
    plural = "frame" if n_frames == 1 else "frames"
    return IndexError(f"frame {frame} is out of range: {path} has {n_frames} {plural}{last}")


def read_with_pydicom(
    path: str, indices: list[int], fmt: PixelFormat, whole: bool = False
) -> np.ndarray:
    """Decode the frames with pydicom's plugins, one frame at a time.

    From the file, or (``whole``) from the data set pydicom makes of it: the
    way for files it reads only so (Deflate, no preamble or Transfer Syntax
    UID, a data set in another VR encoding than its meta says), tried too
    when reading from the file fails.
    """
    from pydicom.dataset import Dataset
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import iter_pixels

    found = Dataset()  # filled by pydicom with the file meta and group 0028
    out: np.ndarray | None = None
    current = indices[0]
    try:
        whole = whole or fmt.transfer_syntax in (DEFLATED, "") or not _has_marker(path)
        if whole:
            found = read_dataset(path)
            frames = iter_pixels(found, indices=indices)
        else:
            frames = iter_pixels(path, indices=indices, ds_out=found)
        for i, arr in enumerate(frames):
            if out is None:
                if arr.shape != fmt.frame_shape:
                    raise InvalidFileError(
                        f"{path}: frames are {arr.shape} but {fmt.frame_shape} were "
                        "expected (is the index out of date? refresh the database)"
                    )
                out = np.empty((len(indices), *arr.shape), arr.dtype)
            out[i] = arr
            if i + 1 < len(indices):
                current = indices[i + 1]
    except (
        NotImplementedError,
        RuntimeError,
        ValueError,
        AttributeError,
        KeyError,
        TypeError,  # a value pydicom cannot make (a Transfer Syntax UID of several values)
        EOFError,
        InvalidDicomError,
    ) as exc:
        if isinstance(exc, InvalidFileError):
            raise
        if not whole:
            with contextlib.suppress(InvalidFileError, DecoderNotFoundError):
                return read_with_pydicom(path, indices, fmt, whole=True)
            decoded = decode_where_pydicom_cannot(path, indices, fmt)
            if decoded is None and fmt.bits_allocated == 1:
                decoded = _one_bit_whole(path, indices, fmt)
            if decoded is not None:
                return decoded
        raise _decode_error(path, current, fmt, found, exc) from exc

    assert out is not None
    return out


def _one_bit_whole(path: str, indices: list[int], fmt: PixelFormat) -> np.ndarray | None:
    """1-bit frames unpacked from the whole pixel data, or None if pydicom cannot either.

    pydicom reads a frame of 1-bit data that does not start on a byte (a
    3 x 5 frame is 15 bits) from the whole data only where it is Big Endian
    (its frame by frame reading fails there); the whole is small: 1 bit a pixel.
    """
    try:
        whole = read_dataset(path).pixel_array
    except (NotImplementedError, RuntimeError, ValueError, AttributeError, KeyError, TypeError):
        return None
    whole = whole.reshape(-1, *fmt.frame_shape)
    if max(indices) >= len(whole):
        return None
    return np.ascontiguousarray(whole[indices])


def _has_marker(path: str) -> bool:
    """Whether the file has the ``DICM`` marker of a Part-10 file at byte 128."""
    with open(path, "rb") as f:
        f.seek(128)
        return f.read(4) == b"DICM"


def _decode_error(path: str, frame: int, fmt: PixelFormat, found: Any, exc: Exception) -> Exception:
    """The error to raise when pydicom failed on ``frame`` of ``path``."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    meta = getattr(found, "file_meta", None)
    try:
        syntax = None if meta is None else UID(str(meta.TransferSyntaxUID))
    except (AttributeError, TypeError, ValueError):  # none, or not one UID
        syntax = None
    if syntax is None:  # pydicom stopped before the pixels
        return InvalidFileError(
            f"{path}: its pixel data cannot be read: {exc}. If the file should have "
            "pixels it is damaged: re-export it, or leave it out of the series with "
            "series.subseries(...)."
        )
    name = f"'{syntax.name}' ({syntax})" if syntax.name != syntax else f"'{syntax}'"
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        return DecoderNotFoundError(
            f"{path}: pydicom has no decoder for the transfer syntax {name}; "
            "convert the file to another transfer syntax (e.g. with dcmtk's dcmdjpeg "
            "or gdcmconv --raw) to read its pixels"
        )
    if syntax.is_compressed and not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies)
        return DecoderNotFoundError(
            f"{path}: no installed plugin decodes pixel data in the transfer syntax "
            f"{name}. Install the decoders with: {INSTALL_HINT} (pydicom's plugins "
            f"and what they need: {missing})"
        )
    n_frames = found.get("NumberOfFrames")
    n = int(n_frames) if n_frames not in (None, "") else 1
    if frame >= n:
        return out_of_range(path, frame, n)
    if not syntax.is_compressed:
        return InvalidFileError(
            f"{path}: frame {frame} of {PIXEL_DATA} in transfer syntax {name} cannot be "
            f"read: {exc}. {DAMAGED_HINT}"
        )
    return InvalidFileError(
        f"{path}: frame {frame} of {PIXEL_DATA} in transfer syntax {name} cannot be "
        f"decoded: {exc}. {undecodable_hint(decoder)} If other programs cannot read the "
        "file either, re-export it, or leave it out of the series with series.subseries(...)."
    )


def undecodable_hint(decoder: Any) -> str:
    """What a frame that pydicom's available plugins of ``decoder`` all failed on may be.

    GDCM is suggested only where it is not installed already.

    Examples
    --------
    >>> from pydicom.pixels import get_decoder
    >>> hint = undecodable_hint(get_decoder("1.2.840.10008.1.2.4.51"))
    >>> hint.startswith("The data are corrupt, or of a kind")
    True
    """
    tried = ", ".join(decoder.available_plugins) or "none"
    if "gdcm" in decoder.available_plugins:
        return f"The data are corrupt, or of a kind the installed decoders ({tried}) do not decode."
    return (
        f"The data are corrupt, or of a kind the installed decoders ({tried}) do not "
        "decode: GDCM decodes more kinds (pip install python-gdcm)."
    )
