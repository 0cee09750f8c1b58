"""Frames of an instance on a DICOMweb server, read through WADO-RS ``/frames/N``.

A :class:`WebPath` is the URL of an instance (``.../studies/S/series/R/instances/I``)
that also carries its :class:`~dbdicom._web._server.Server` (and so the
credentials, which are not part of the text): it is what a lazy array's
frame references hold in place of a file path, and it pickles with its
server, so that a dask task reads the frames in any process of a cluster.

The frames are asked for in the transfer syntax the server has them in
(``transfer-syntax=*``); each part of the answer says which one it is:
uncompressed Little Endian bytes are read as from a file, compressed ones
decoded by pydicom's decoder plugins, as for files. An instance whose
frames the server refuses (Orthanc: those stored Deflated or in Big
Endian) is retrieved whole and decoded as a file is (:mod:`._whole`); the
refusal is remembered for the instances of its series of the same format,
whose frames are then asked for whole at once (:func:`~._whole.known_refusal`).

A series read whole (one WADO-RS request, :func:`read_series_frames`) is
kept: each instance as the server sent it, in ``.pixels/`` beside its
headers in the cache folder (:mod:`._cache`), where the next read finds it
(:attr:`WebPath.local`) and reads it as a file, once the server says the
series still has as many instances (QIDO-RS at the series level, one
request): the copy is of the series the headers describe, which is
fetched again, headers and pixels, when that number changes (as at an
open, :mod:`._cache`). A series removed from the archive leaves no pixels
behind. What keeps the number (an instance replaced under its UID, or
one deleted and another added) is seen by neither until the cache folder
is deleted: the instance lists of a series cost the server ~60 times
more (Orthanc: ~125 ms for 200 instances, ~2 ms for the series).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from .._errors import DecoderNotFoundError, InvalidFileError, ServerError, install_hint
from .._files import (
    NotDicomError,
    PixelFormat,
    decode_stream_pydicom_cannot,
    native_frames,
    read_any_header,
    read_dataset,
    undecodable_hint,
)
from ._cache import safe_uid, write_whole
from ._multipart import params, read_body, split_multipart
from ._server import Server, server_error
from ._tables import apply_tables, plain
from ._whole import (
    ACCEPT_DICOM,
    as_part10,
    decode_whole,
    known_refusal,
    read_whole_frames,
    refused,
    retrieve_whole,
)

__all__ = [
    "PIXELS",
    "WebPath",
    "kept_places",
    "read_series_frames",
    "read_web_frames",
    "retrieve_instance",
    "split_multipart",
]

_NATIVE = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"})
_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
_SOP = 0x00080018
#: the tag read of each instance of a series read whole: one mapping, so that the
#: headers after the first are read through their layout (see ``_files._layout``)
_SOP_ONLY = {_SOP: "UI"}
#: the folder, beside a series' headers, of the whole instances read from the server
PIXELS = ".pixels"
#: in it, per instance kept: [offset, length] of its pixel data, [size, mtime_ns] of its file
PLACES = "places.json"
#: frames asked for in one request (a URL has a length limit)
BATCH = 256
#: how an instance decoded from its series read whole was sent (its errors say it)
_WITH_SERIES = "the instance the server sent with its series"
#: bytes as the server sent them, or a part of them (not copied)
Buffer = bytes | memoryview


class WebPath(str):
    """The URL of an instance on a DICOMweb server, with the server (and its credentials) attached.

    Examples
    --------
    >>> import pickle
    >>> s = Server("http://localhost:8042/dicom-web", auth=("alice", "s3cret"))
    >>> p = WebPath(s.url + "/studies/1/series/2/instances/3", s)
    >>> q = pickle.loads(pickle.dumps(p))
    >>> q == p, q.server.auth, "s3cret" in q
    (True, ('alice', 's3cret'), False)
    """

    server: Server
    series_size: int  # instances of its series in the archive (0: not known)
    local: str  # where the whole instance is kept once read ("": nowhere)

    def __new__(cls, url: str, server: Server, series_size: int = 0, local: str = "") -> WebPath:
        made = super().__new__(cls, url)
        made.server = server
        made.series_size = series_size
        made.local = local
        return made

    @property
    def series(self) -> str:
        """The URL of the instance's series."""
        return self.rsplit("/instances/", 1)[0]

    @classmethod
    def of(cls, server: Server, rel: str, series_size: int = 0, root: str = "") -> WebPath:
        """The instance whose headers are at ``rel`` (``study/series/sop.dcm``) of the cache.

        ``root``: the cache folder, where the whole instance is kept once read.

        Examples
        --------
        >>> p = WebPath.of(Server("http://h/dw"), "1.2/3.4/5.6.dcm", root="/c")
        >>> p, p.local.replace(os.sep, "/")
        ('http://h/dw/studies/1.2/series/3.4/instances/5.6', '/c/1.2/3.4/.pixels/5.6.dcm')
        """
        study, series, name = rel.split("/")[-3:]
        sop = name[: -len(".dcm")] if name.endswith(".dcm") else name
        url = f"{server.url}/studies/{study}/series/{series}/instances/{sop}"
        local = os.path.join(root, study, series, PIXELS, f"{sop}.dcm") if root else ""
        return cls(url, server, series_size, local)

    def __reduce__(self) -> tuple[Any, tuple[str, Server, int, str]]:
        return (WebPath, (str(self), self.server, self.series_size, self.local))


def _whole(local: str, place: Any) -> bool:
    """Whether ``local`` is the file kept as ``place`` says: its size and time as written."""
    if not (isinstance(place, list) and len(place) == 4):
        return False
    if not all(type(v) is int for v in place):
        return False
    try:
        st = os.stat(local)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (place[2], place[3]) and place[0] + place[1] <= place[2]


def _places(folder: str, path: WebPath) -> dict[str, list[int]]:
    """:data:`PLACES` of ``folder``, if the server has as many instances in the series now.

    Nothing (so that the instances are asked for) when the number differs,
    or the server cannot be asked: what the headers of a reopen would see.
    """
    try:
        with open(os.path.join(folder, PLACES), "rb") as f:
            found: dict[str, list[int]] = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return found if path.server.series_size(path.series) == len(found) else {}


def _keep(path: WebPath, places: dict[str, tuple[Buffer, int, int]]) -> None:
    """Keep every instance of the series of ``path`` in ``places`` (by SOP Instance UID).

    All the server sent, not only those a block asked for (a series read
    as several arrays, e.g. of two orientations, is kept whole by the
    first). Each file is written whole or not at all, then :data:`PLACES`
    with where their pixel data are. Nothing is kept when the series'
    headers are not in the cache folder of this machine (a worker of a
    cluster elsewhere), or the folder cannot be written (the read goes on;
    the next one asks the server again).
    """
    folder = os.path.dirname(path.local)
    if not path.local or not os.path.isdir(os.path.dirname(folder)):
        return
    found: dict[str, list[int]] = {}
    try:
        os.makedirs(folder, exist_ok=True)
        for sop, (data, offset, length) in places.items():
            if not safe_uid(sop):
                return  # not a UID that names a file: nothing kept
            target = os.path.join(folder, f"{sop}.dcm")
            write_whole(target, data)
            st = os.stat(target)
            found[sop] = [offset, length, st.st_size, st.st_mtime_ns]
        write_whole(os.path.join(folder, PLACES), json.dumps(found).encode())
    except OSError:
        return


def kept_places(paths: Sequence[WebPath]) -> list[tuple[str, int, int, int | None, int | None]]:
    """Per path, its instance kept from an earlier read: (file, offset, length, size, mtime).

    The offset and length of the pixel data and the file's size and
    modification time (ns) as they were written; ``("", -1, -1, None,
    None)`` when the instance is not kept, or its series has another number
    of instances on the server now (asked once for each series: see the
    module's notes), or the server cannot be asked (the reads then say
    so), or the file is not as it was written.
    """
    series: dict[str, dict[str, list[int]]] = {}
    out: list[tuple[str, int, int, int | None, int | None]] = []
    for path in paths:
        if not path.local:
            out.append(("", -1, -1, None, None))
            continue
        folder = os.path.dirname(path.local)
        if folder not in series:
            series[folder] = _places(folder, path)
        place: Any = series[folder].get(os.path.basename(path.local).removesuffix(".dcm"))
        if _whole(path.local, place):
            out.append((path.local, place[0], place[1], place[2], place[3]))
        else:  # not listed by the server now, or not the file kept (changed, cut, swapped)
            out.append(("", -1, -1, None, None))
    return out


def _syntax(content_type: str) -> str:
    """The transfer syntax a part's content type names (Explicit VR Little Endian if none)."""
    value = dict(params(content_type)).get("transfer-syntax", "").strip('"')
    return value or "1.2.840.10008.1.2.1"


def _decode(data: Buffer, syntax: str, fmt: PixelFormat, label: str) -> np.ndarray:
    """One frame's bytes in ``syntax`` as an array of ``fmt.frame_shape``."""
    if syntax in _NATIVE:
        frames = _native_frames(data, fmt, label)
        if len(frames) != 1:
            raise InvalidFileError(
                f"{label}: the server sent {len(data)} bytes for one frame of {fmt.frame_shape} "
                f"at {fmt.bits_allocated} bits: the instance's pixel data do not fit its header."
            )
        return frames[0]
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as exc:
        raise DecoderNotFoundError(
            f"{label}: the server sends its frames in transfer syntax {syntax}, which no "
            f"pydicom decoder handles, even with the jpeg extra's plugins ({install_hint('jpeg')})."
        ) from exc
    if not decoder.is_available:
        raise DecoderNotFoundError(
            f"{label}: frames in transfer syntax {syntax} need a decoder plugin that is "
            f"not installed ({', '.join(decoder.missing_dependencies)}): {install_hint('jpeg')}."
        )
    try:
        array, _ = decoder.as_array(encapsulate([bytes(data)]), **_options(fmt, 1))
        return np.asarray(array).reshape(fmt.frame_shape)
    except (RuntimeError, ValueError, NotImplementedError) as exc:  # what the plugins raise
        decoded = decode_stream_pydicom_cannot(bytes(data), fmt, syntax)
        if decoded is not None:
            return decoded
        raise InvalidFileError(
            f"{label}: the frame the server sent in transfer syntax {syntax} cannot be "
            f"decoded: {exc}. {undecodable_hint(decoder)}"
        ) from exc


def _options(fmt: PixelFormat, frames: int) -> dict[str, Any]:
    """The description of ``frames`` frames of ``fmt`` for a pydicom decoder."""
    return dict(
        rows=fmt.rows,
        columns=fmt.columns,
        samples_per_pixel=fmt.samples,
        bits_allocated=fmt.bits_allocated,
        bits_stored=fmt.bits_stored or fmt.bits_allocated,
        pixel_representation=fmt.pixel_representation,
        photometric_interpretation=fmt.photometric,
        planar_configuration=fmt.planar_configuration,
        number_of_frames=frames,
        pixel_keyword="PixelData",
    )


def _native_frames(data: Buffer, fmt: PixelFormat, label: str) -> np.ndarray:
    """Every frame of uncompressed bytes from the server, in RGB where they are YCbCr.

    As a file is read (pydicom's decoder, YCbCr made RGB, 4:2:2 expanded);
    other frames as :func:`~dbdicom._files.native_frames` reads them.
    """
    if not fmt.photometric.upper().startswith("YBR"):
        return native_frames(data, fmt, label)
    from pydicom.pixels import get_decoder
    from pydicom.uid import ExplicitVRLittleEndian

    frame_bytes = fmt.frame_bytes
    if fmt.photometric.upper() in ("YBR_FULL_422", "YBR_PARTIAL_422"):
        frame_bytes = frame_bytes * 2 // 3  # two chroma values per two pixels
    n = len(data) // frame_bytes if frame_bytes else 0
    try:
        array, _ = get_decoder(ExplicitVRLittleEndian).as_array(
            bytes(data[: n * frame_bytes]), **_options(fmt, n)
        )
    except (RuntimeError, ValueError) as exc:
        raise InvalidFileError(
            f"{label}: the {len(data)} bytes the server sent cannot be read as frames of "
            f"{fmt.frame_shape} {fmt.photometric}: {exc}."
        ) from exc
    return np.asarray(array).reshape(n, *fmt.frame_shape)


def read_web_frames(path: WebPath, frames: Sequence[int], fmt: PixelFormat) -> np.ndarray:
    """Stored values of some frames (0-based) of the instance at ``path``, via WADO-RS.

    Returns ``(len(frames), *fmt.frame_shape)``, as :func:`dbdicom._files.read_frames`
    does for a file: through the instance's palette or Modality LUT where
    ``fmt`` says (fetched as bulk data, :mod:`._tables`). Repeated frames
    are asked for once. Frames the server refuses (:func:`~._whole.refused`)
    are read from the instance retrieved whole (:func:`~._whole.read_whole_frames`).

    Raises
    ------
    dbdicom.ServerError
        The server cannot be reached, does not hold the instance now, or
        refuses its frames and the instance whole (the message names the URL
        and the way out); :class:`dbdicom.ServerAccessError` for 401 and 403.
    dbdicom.InvalidFileError
        A frame, or the instance retrieved whole, cannot be decoded.
    """
    if fmt.palette_bits or fmt.modality_lut_bits:  # the stored values, through the tables
        found, whole = _read_frames(path, frames, plain(fmt), fmt)
        # (an instance read whole went through its own tables, at hand: no request for them)
        return found if whole else apply_tables(path, found, fmt)
    return _read_frames(path, frames, fmt, fmt)[0]


def _read_frames(
    path: WebPath, frames: Sequence[int], fmt: PixelFormat, full: PixelFormat
) -> tuple[np.ndarray, bool]:
    """:func:`read_web_frames` of frames decoded as ``fmt``; True if read from the instance whole.

    ``full``: the format of the frames of the instance read whole (where the
    server refuses them: :func:`~._whole.read_whole_frames`), its own tables applied.
    """
    import requests

    known = known_refusal(path, full) if len(frames) else ""
    if known:  # refused before for its series and format: not asked again (see known_refusal)
        return read_whole_frames(path, frames, full, known), True
    wanted = sorted({int(k) for k in frames})
    got: dict[int, np.ndarray] = {}
    session = path.server.session()
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        url = f"{path}/frames/{','.join(str(k + 1) for k in batch)}"
        try:
            response = session.get(url, headers={"Accept": _ACCEPT}, timeout=60, stream=True)
            with response:  # closed whatever happens (streamed: else held open on an error)
                response.raise_for_status()
                body = read_body(response)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            reason = exc.response.reason if exc.response is not None else ""
            if status == 404:
                raise ServerError(
                    f"reading frames {[k + 1 for k in batch]} of {path} failed: the server "
                    "answered 404 to WADO-RS /frames: it does not hold this instance now "
                    "(deleted or replaced since the database was opened), or does not give "
                    "its frames. Open the archive again, or call database.refresh(full=True), "
                    "and build the array again."
                ) from None
            if refused(status):  # (Orthanc: Deflated, Big Endian, some YBR_FULL_422)
                why = f"{status} {reason}".strip()
                return read_whole_frames(path, frames, full, why), True
            raise server_error(exc, path.server, f"reading frames of {path} from") from None
        except requests.RequestException as exc:
            raise server_error(exc, path.server, f"reading frames of {path} from") from None
        parts = split_multipart(body, response.headers.get("Content-Type", ""))
        if len(parts) != len(batch):
            raise ServerError(
                f"reading frames of {path}: {len(batch)} asked for, the server sent "
                f"{len(parts)}. The server does not answer WADO-RS frame requests as the "
                "standard says; use one that does, or copy the series to a folder."
            )
        for k, (kind, data) in zip(batch, parts, strict=True):
            got[k] = _decode(data, _syntax(kind), fmt, f"{path}/frames/{k + 1}")
    if not frames:
        return np.empty((0, *fmt.frame_shape), fmt.dtype), False
    return np.stack([got[int(k)] for k in frames]), False


def retrieve_instance(server: Server, rel: str) -> Dataset:
    """The whole instance (pixels too) whose headers are at ``rel`` of the cache (WADO-RS).

    What a copy or an export of a DICOMweb database's record writes: the
    instance as the archive holds it (its transfer syntax: without one asked
    for, Orthanc transcodes to Explicit VR Little Endian with its own
    decoders), read as the scan reads a file (one stored without preamble
    and file meta too: dicomweb-client's pydicom refused it).
    """
    study, series, name = rel.split("/")[-3:]
    sop = name.removesuffix(".dcm")
    path = WebPath(f"{server.url}/studies/{study}/series/{series}/instances/{sop}", server)
    data = retrieve_whole(path, "a copy or an export retrieves it whole")
    try:
        return read_dataset(io.BytesIO(data))
    except (NotDicomError, EOFError, ValueError) as exc:
        raise InvalidFileError(
            f"{path}: the instance the server sends cannot be read: {exc}. It is damaged on "
            "the archive: send it again from its source."
        ) from None


def read_series_frames(
    paths: Sequence[WebPath], frames: Sequence[Sequence[int]], fmts: Sequence[PixelFormat]
) -> Iterator[np.ndarray] | None:
    """Frames of every instance of one series, retrieved in one WADO-RS request.

    One request for the whole series costs the server far less than one
    ``/frames`` request per instance (Orthanc: ~0.2 s against ~0.5 s for 200
    slices), so it is made when ``paths`` are all the instances of their
    series (a block that spans the series); the files' pixel data are read
    where their headers say, and each instance is kept for the next read
    (:attr:`WebPath.local`, :func:`kept_places`). Instances whose pixel
    data are not uncompressed Little Endian (compressed, Deflated, Big
    Endian: Orthanc refuses ``/frames`` of the last two) are decoded from the
    bytes sent, as files are (:func:`~._whole.decode_whole`), not asked for
    again; a series with any of them is not kept. None when it does not
    apply (then ``/frames`` is used): instances of several series or not
    all of one, or an instance missing from the answer.

    Returns
    -------
    iterator of numpy.ndarray or None
        Per path, the stored values of its ``frames`` (read as they are taken).
    """
    import requests

    first = paths[0]
    if len(paths) < 2 or first.series_size != len(paths):
        return None
    if len({p.series for p in paths}) != 1:
        return None
    try:
        response = first.server.session().get(
            first.series, headers={"Accept": ACCEPT_DICOM}, timeout=300, stream=True
        )
        with response:  # closed whatever happens (streamed: else held open on an error)
            response.raise_for_status()
            body = read_body(response)
    except requests.RequestException:
        return None  # the frames are asked for one instance at a time, which says why
    parts = split_multipart(body, response.headers.get("Content-Type", ""))
    places: dict[str, tuple[Buffer, int, int]] = {}
    others: dict[str, Buffer] = {}  # compressed, Deflated, Big Endian: decoded as files
    for _, data in parts:
        data = as_part10(data)  # (given a preamble: its pixel data found where they are)
        try:
            header = read_any_header(first.series, _SOP_ONLY, data)
        except (NotDicomError, EOFError):
            return None
        sop = str(header.values.get(_SOP))
        if header.encapsulated or header.transfer_syntax not in _NATIVE:
            others[sop] = data
        else:
            places[sop] = (data, header.pixel_offset, header.pixel_length)
    del response, parts, body  # the parts' bytes are kept in places and others
    uids = [path.rsplit("/", 1)[1] for path in paths]
    if any(uid not in others and (uid not in places or places[uid][1] < 0) for uid in uids):
        return None
    if not others:  # (kept files are read where their pixel data are: Little Endian only)
        _keep(first, places)
    return _native(places, others, uids, paths, frames, fmts)


def _native(
    places: dict[str, tuple[Buffer, int, int]],
    others: dict[str, Buffer],
    uids: list[str],
    paths: Sequence[WebPath],
    frames: Sequence[Sequence[int]],
    fmts: Sequence[PixelFormat],
) -> Iterator[np.ndarray]:
    """Per instance, its frames, each file's bytes let go once read.

    Those of ``others`` are decoded as files are (:func:`~._whole.decode_whole`),
    through their own tables, as an instance read whole where ``/frames`` is refused.
    """
    for uid, path, wanted, fmt in zip(uids, paths, frames, fmts, strict=True):
        if uid in others:
            yield decode_whole(path, others.pop(uid), wanted, fmt, _WITH_SERIES)
            continue
        data, offset, length = places.pop(uid)
        found = _native_frames(data[offset : offset + length], plain(fmt), str(path))
        every = list(wanted) == list(range(len(found)))  # (one frame of one: no copy)
        yield apply_tables(path, found if every else found[list(wanted)], fmt)
