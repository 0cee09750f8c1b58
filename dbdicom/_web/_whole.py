"""Frames of an instance the server will not cut into frames: the instance, retrieved whole.

Orthanc answers 500 to WADO-RS ``/frames`` of an instance stored Deflated
or in Big Endian, 400 to some uncompressed YBR_FULL_422 ones, and a server
may refuse frames of any instance it cannot transcode. The instance itself
(WADO-RS, ``transfer-syntax=*``: as the archive holds it, nothing
transcoded) is then retrieved in one request and its frames decoded by the
readers of local files, from a temporary copy: the values a folder of the
same files gives. What the copy holds is checked first: the instance asked
for, frames of the shape and data type the array was built for; an
instance that cannot be decoded is an error naming its URL, never other
values.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydicom.datadict import keyword_for_tag

from .._errors import (
    DecoderNotFoundError,
    DicomError,
    InvalidFileError,
    ServerError,
    StaleFileError,
)
from .._files import (
    FORMAT_TAGS,
    NotDicomError,
    PixelFormat,
    format_problem,
    image_problem,
    pixel_format,
    read_any_header,
    read_frames,
    repeat_problem,
)
from ._multipart import read_body, split_multipart
from ._server import BUSY, server_error

if TYPE_CHECKING:
    from ._frames import WebPath

__all__ = [
    "ACCEPT_DICOM",
    "as_part10",
    "decode_whole",
    "forget_refusals",
    "known_refusal",
    "read_whole_frames",
    "refused",
    "remember_refusal",
    "retrieve_whole",
]

#: whole instances as the archive holds them (none transcoded)
ACCEPT_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'
_SOP = 0x00080018
#: what the scan of a folder judges an image by (see :func:`_image_refusal`)
_JUDGED = {**FORMAT_TAGS, 0x00280008: "IS", 0x00280102: "US"}  # NumberOfFrames, HighBit
#: what to do about an instance whose pixel data cannot be decoded
_WAY_OUT = (
    "Its pixel data on the archive are damaged, or not what its header says: send the "
    "instance again from its source, or leave it out of the array with "
    "series.subseries(...) (database.refresh(full=True) after the archive is corrected)."
)
#: per (series URL, transfer syntax, photometric): how the server refused ``/frames``
#: (see :func:`known_refusal`)
_REFUSALS: dict[tuple[str, str, str], str] = {}
_REFUSALS_LOCK = threading.Lock()


def refused(status: int) -> bool:
    """Whether ``status``, answered to ``/frames``, refuses what the instance itself may give.

    4xx other than 401 and 403 (credentials: the instance is refused as
    well) and 404 (no such instance), and 5xx other than those of a busy
    server (asked again already: see ``_server.BUSY``).

    Examples
    --------
    >>> [s for s in (400, 401, 403, 404, 406, 500, 501, 503) if refused(s)]
    [400, 406, 500, 501]
    """
    if status in (401, 403, 404) or status in BUSY:
        return False
    return 400 <= status < 600


def as_part10(data: bytes | memoryview) -> memoryview:
    r"""A part of a WADO-RS answer as a Part 10 file: a preamble given where it has none.

    Some servers send what was stored so, the file meta group without the
    128 bytes and ``DICM`` before it.

    Examples
    --------
    >>> bytes(as_part10(b"\x02\x00\x00\x00"))[128:132]
    b'DICM'
    """
    if data[128:132] != b"DICM" and data[:2] == b"\x02\x00":
        return memoryview(bytes(128) + b"DICM" + data)
    return memoryview(data)


def read_whole_frames(
    path: WebPath, frames: Sequence[int], fmt: PixelFormat, refusal: str
) -> np.ndarray:
    """The stored values of ``frames`` of the instance at ``path``, from the instance whole.

    ``refusal`` says how the server answered ``/frames`` (e.g. ``"500
    Internal Server Error"``), for the errors. Returns what
    :func:`~dbdicom._files.read_frames` returns for a file of the instance.
    Once the instance has come, the refusal is remembered (:func:`remember_refusal`).

    Raises
    ------
    dbdicom.ServerError
        The server refuses the instance as well.
    dbdicom.InvalidFileError
        The instance it sends cannot be decoded (the message names its URL
        and the way out), or holds no pixel data (a folder of its file lists
        it as no image); :class:`dbdicom.DecoderNotFoundError` when a
        decoder plugin is missing.
    dbdicom.StaleFileError
        It is another instance now, or its frames have another shape or
        data type than the headers held say.
    """
    data = retrieve_whole(path, f"the server refused its frames ({refusal})")
    remember_refusal(path, fmt, refusal)
    how = f"the server refused to cut it into frames ({refusal}), and the instance it sends whole"
    return decode_whole(path, data, frames, fmt, how)


class _NoImage(InvalidFileError):
    """An instance retrieved whole without pixel data, which its headers describe."""


def decode_whole(
    path: WebPath, data: bytes | memoryview, frames: Sequence[int], fmt: PixelFormat, how: str
) -> np.ndarray:
    """The stored values of ``frames`` of ``data``, the instance at ``path`` sent whole.

    Decoded by the readers of files, from a temporary copy (see
    :func:`read_whole_frames` for what is checked and raised); ``how`` it
    was sent, for the errors (``"the instance the server sends with its
    series"``).
    """
    uid = path.rsplit("/", 1)[1]
    with tempfile.TemporaryDirectory(prefix="dbdicom-instance-") as folder:
        local = os.path.join(folder, "instance.dcm")
        with open(local, "wb") as f:
            f.write(data)
        del data
        try:
            now = _checked_format(path, local, fmt, uid)
            return read_frames(local, frames, now)
        except DecoderNotFoundError as exc:
            raise DecoderNotFoundError(str(exc).replace(local, str(path))) from None
        except _NoImage as exc:  # not damaged: the folder's reason, as it is
            raise InvalidFileError(str(exc)) from None
        except (DicomError, NotDicomError, EOFError, KeyError, ValueError, IndexError) as exc:
            if isinstance(exc, (StaleFileError, ServerError)):
                raise
            text = str(exc).replace(local, "the instance").rstrip(".")
            raise InvalidFileError(
                f"{path}: {how} cannot be read: {type(exc).__name__}: {text}. {_WAY_OUT}"
            ) from None


def _refusal_key(path: WebPath, fmt: PixelFormat) -> tuple[str, str, str]:
    """What a refusal of ``/frames`` is remembered by: the series, transfer syntax, photometric."""
    return (path.series, fmt.transfer_syntax, fmt.photometric.strip().upper())


def remember_refusal(path: WebPath, fmt: PixelFormat, refusal: str) -> None:
    """Remember that the server refused ``/frames`` of ``path`` (see :func:`known_refusal`)."""
    with _REFUSALS_LOCK:
        _REFUSALS[_refusal_key(path, fmt)] = refusal


def known_refusal(path: WebPath, fmt: PixelFormat) -> str:
    """How the server refused ``/frames`` of an instance like ``path`` before ("" if it did not).

    Remembered by this process, per series and pixel format (transfer
    syntax and photometric interpretation: what Orthanc refuses by), once
    the instance refused has come whole: a server too busy to answer
    (:data:`~._server.BUSY`, asked again already) or that refuses the
    instance as well is not remembered. The frames of the series' other
    instances of that format are then asked for whole at once, with no
    ``/frames`` request refused first (and logged as an error by the
    server) at each read. A guess that turns out wrong costs bytes, never
    values: the instance whole gives those of the file. Forgotten at each
    open and refresh of an archive (:func:`forget_refusals`).

    Examples
    --------
    >>> from dbdicom._files import PixelFormat
    >>> from dbdicom._web._frames import WebPath
    >>> from dbdicom._web._server import Server
    >>> s = Server("http://h/dw")
    >>> p, q = (WebPath(f"{s.url}/studies/1/series/2/instances/{k}", s) for k in (3, 4))
    >>> fmt = PixelFormat(2, 2, transfer_syntax="1.2.840.10008.1.2.2")  # Big Endian
    >>> remember_refusal(p, fmt, "500 Internal Server Error")
    >>> known_refusal(q, fmt), known_refusal(q, PixelFormat(2, 2))  # another of the series
    ('500 Internal Server Error', '')
    >>> forget_refusals()
    >>> known_refusal(q, fmt)
    ''
    """
    with _REFUSALS_LOCK:
        return _REFUSALS.get(_refusal_key(path, fmt), "")


def forget_refusals() -> None:
    """Forget the refusals remembered (an instance replaced under its UID may be cut now)."""
    with _REFUSALS_LOCK:
        _REFUSALS.clear()


def retrieve_whole(path: WebPath, why: str) -> memoryview:
    """The bytes of the instance at ``path`` as the server sends it (WADO-RS, one request).

    ``why`` it is asked for whole, which a refusal's error says.
    """
    import requests

    try:
        response = path.server.session().get(
            str(path), headers={"Accept": ACCEPT_DICOM}, timeout=300, stream=True
        )
        with response:  # closed whatever happens (streamed: else held open on an error)
            response.raise_for_status()
            body = read_body(response)
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status in (401, 403):
            raise server_error(exc, path.server, f"retrieving {path} from") from None
        raise ServerError(
            f"reading {path} failed: {why}, and the server refused the instance whole "
            f"as well ({status} "
            f"{exc.response.reason if exc.response is not None else ''}). Its log says why; "
            "if the instance is damaged on the archive, send it again from its source."
        ) from None
    except requests.RequestException as exc:
        raise server_error(exc, path.server, f"retrieving {path} from") from None
    parts = split_multipart(body, response.headers.get("Content-Type", ""))
    if len(parts) != 1:
        raise ServerError(
            f"retrieving {path}: the server sent {len(parts)} parts for one instance. It "
            "does not answer WADO-RS instance requests as the standard says; use one that "
            "does, or copy the series to a folder with the archive's own tools."
        )
    return as_part10(parts[0][1])


def _checked_format(path: WebPath, local: str, fmt: PixelFormat, uid: str) -> PixelFormat:
    """The pixel format of the instance retrieved into ``local``, checked against the array's."""
    header = read_any_header(local, {_SOP: "UI"})
    sent = header.values.get(_SOP)
    hint = "call database.refresh(full=True) and build the array again"
    if isinstance(sent, str) and sent and sent != uid:
        raise StaleFileError(
            f"{path}: the server sent instance {sent} for it, whose pixels would be read as "
            f"this one's: {hint}."
        )
    if not header.has_pixels:  # (metadata, Orthanc's, list no Pixel Data of compressed images)
        raise _NoImage(
            f"{path}: (7FE0,0010) 'Pixel Data' is missing from the instance the server holds "
            "(its header describes an image): it holds no image, as a folder of its file "
            "lists it. Leave it out of the array with series.subseries(...)."
        )
    now, _, _ = pixel_format(local)
    if not (fmt.palette_bits or fmt.modality_lut_bits):  # its stored values are asked for
        now = dataclasses.replace(now, palette_bits=0, modality_lut_bits=0)
    problem = format_problem(now) or _image_refusal(local)
    if problem:
        raise InvalidFileError(f"{path}: {problem}: its image cannot be read.")
    if (now.frame_shape, now.dtype, now.modality_lut_bits) != (
        fmt.frame_shape,
        fmt.dtype,
        fmt.modality_lut_bits,
    ):
        raise StaleFileError(
            f"{path}: the instance the server sends has frames of {now.frame_shape} "
            f"{now.dtype}, the array was built from its headers for {fmt.frame_shape} "
            f"{fmt.dtype}: {hint}."
        )
    return now


def _image_refusal(local: str) -> str:
    """Why the scan of a folder would refuse the image of the file ``local`` ("" if not).

    The headers kept of an archive do not say how many bytes its pixel data
    hold: a Number of Frames that is no number (pydicom's badVR.dcm: '1A',
    the bytes of 15 frames) reads as 1, and the first frame alone would be
    read where a folder refuses the image. The instance at hand, it is
    judged as the scan judges a file.
    """
    header = read_any_header(local, _JUDGED)
    values = {keyword_for_tag(tag): value for tag, value in header.values.items()}
    values.update(
        TransferSyntaxUID=header.transfer_syntax,
        _nbytes=header.pixel_length,
        _encapsulated=header.encapsulated,
        _float_bits=header.float_bits,
        _size=os.path.getsize(local),
    )
    refusal, _ = image_problem(values)
    return refusal or repeat_problem(header.repeated) or header.pixel_problem
