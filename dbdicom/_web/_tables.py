"""Lookup tables of an instance on a DICOMweb server, fetched through their BulkDataURIs.

A PALETTE COLOR image's red, green and blue tables (0028,1201-1203, or
segmented: 0028,1221-1223), and the (0028,3006) LUT Data of a Modality LUT
Sequence, are bulk data: WADO-RS metadata give a ``BulkDataURI`` for them
(Orthanc gives LUT Data of VR US inline), so the headers dbdicom keeps of
an archive do not hold them. Here the instance's metadata are asked for
(one request, or one for most of a series: :func:`tables_bits`, which
also asks for the tables of several instances at once) and the tables
among its bulk data fetched (one request each; pixel data and other bulk
data are not), or, where the metadata
lack a table or its descriptor (Orthanc leaves out the palette
descriptors of an Implicit VR instance), the instance retrieved whole
and its header read; and the dataset pydicom
makes of them is kept per process, by the instance's URL: the layout asks
for it once to know the bits of the values, each read of frames applies
it to the stored values the server sends, as the readers of files apply
the file's own tables (:mod:`dbdicom._files._colour`,
:mod:`dbdicom._files._modality`): the values a folder of the same files
gives. A task on another process needs only the URL (a ``WebPath``). What
this process holds is let go at each open and refresh of an archive
(:func:`forget_tables`), when the headers are fetched again.

Tables may differ from instance to instance: each instance has its own. A
table the server does not give is an error naming the instance and the
way out, never the stored values for physical ones. Frames read from an
instance retrieved whole (where the server refuses ``/frames``) go through
that instance's own tables, at hand, not these (Orthanc sends the bulk data
of a Big Endian instance Little Endian, as the standard has them: checked
against OBXXXX1A_expb_2frame's twin).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from .._errors import InvalidFileError, ServerError
from .._files import PALETTE, PixelFormat, look_up, modality_table, palette_rgb, read_dataset
from ._multipart import read_body, split_multipart
from ._server import POOL, server_error
from ._whole import retrieve_whole

if TYPE_CHECKING:
    from ._frames import WebPath

__all__ = ["apply_tables", "forget_tables", "plain", "table_bits", "tables_bits"]

#: the bulk data fetched: the palettes (plain and segmented) and a Modality LUT's data
TABLES = frozenset(
    ["00281201", "00281202", "00281203", "00281221", "00281222", "00281223", "00283006"]
)
#: the elements the tables need (the others left out: pydicom warns of a value it reads
#: that breaks its VR's rule, which the headers already report)
_KEPT = TABLES | {
    "00280004",  # Photometric Interpretation
    "00280103",  # Pixel Representation (the first value a table maps)
    "00281101",  # Red, Green, Blue Palette Color Lookup Table Descriptors
    "00281102",
    "00281103",
    "00283000",  # Modality LUT Sequence
}
_RGB = ("Red", "Green", "Blue")
#: per instance URL, its metadata from those of its series (see _prefetch), until used
_SEEN: dict[str, dict[str, Any]] = {}
#: the instance URLs whose dataset has been made (:func:`_dataset`): not prefetched again
_MADE: set[str] = set()
_SEEN_LOCK = threading.Lock()
#: why an instance is retrieved whole for its tables (the errors say it)
_TABLES_REFUSED = "its metadata do not hold its lookup tables and their descriptors"
_OCTETS = 'multipart/related; type="application/octet-stream"'
#: what to do when a table cannot be had from the archive
_WAY_OUT = (
    "Copy the series to a new folder database, which retrieves the whole instances: "
    "copy = series.copy_to(db.database().save(folder).new_patient().new_study()) (into "
    "one that exists: db.database(folder)), and read copy there."
)


def plain(fmt: PixelFormat) -> PixelFormat:
    """``fmt`` with no table applied: the stored values.

    Examples
    --------
    >>> plain(PixelFormat(1, 1, 1, 8, 0, 0, "PALETTE COLOR", palette_bits=16)).dtype
    dtype('uint8')
    """
    return dataclasses.replace(fmt, palette_bits=0, modality_lut_bits=0)


def table_bits(path: WebPath, palette: bool) -> int:
    """Bits (8 or 16) of the values the palette (or Modality LUT) of ``path`` gives.

    0 for an empty Modality LUT Sequence (the rescale applies, as for a file).

    Raises
    ------
    dbdicom.ServerError
        The metadata or a table cannot be had from the server (the
        message names the instance and the way out).
    dbdicom.InvalidFileError
        The table cannot be applied (missing, or not what its descriptor says).
    """
    ds = _dataset(path)
    if palette:
        return int(palette_rgb(str(path), ds, np.zeros(1, np.uint16), 0).dtype.itemsize * 8)
    found = modality_table(str(path), ds)
    return 0 if found is None else int(found[1].dtype.itemsize * 8)


def tables_bits(paths: Sequence[WebPath], palette: bool) -> list[int]:
    """:func:`table_bits` of each of ``paths``, their tables fetched many at a time.

    An instance's metadata and tables are ~4 requests, each waiting for the
    one before: those of :data:`~._server.POOL` instances are asked for at
    once, and the metadata of most of a series in one request
    (:func:`_prefetch`). A 20-instance palette series from Orthanc, each
    request made 20 ms longer (a network's round trip): 80 requests in 1.9
    s one after another, 62 in ~0.2 s so. The first error, in the order of
    ``paths``, is raised; the requests not started by then are not made.
    """
    if len(paths) < 2:
        return [table_bits(path, palette) for path in paths]
    _prefetch(paths)
    pool = ThreadPoolExecutor(min(POOL, len(paths)), thread_name_prefix="dbdicom-tables")
    try:
        asked = [pool.submit(table_bits, path, palette) for path in paths]
        return [done.result() for done in asked]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _prefetch(paths: Sequence[WebPath]) -> None:
    """The metadata of the instances of ``paths``, a series at a time, for :func:`_metadata`.

    Asked for where ``paths`` hold at least half of the instances of their
    series (and 3): one request for the series' metadata (and one, QIDO-RS,
    for its number of instances), in place of one an instance. Where it
    fails, nothing is kept: each instance's metadata are asked for, and that
    request says what is wrong. Instances whose dataset is made already
    (their tables held by :func:`_dataset`) are left out: a second array of
    a series asks for nothing.
    """
    import requests

    by_series: dict[str, list[WebPath]] = {}
    with _SEEN_LOCK:  # (the tables of those made are held: a second array asks for none)
        needed = [path for path in paths if str(path) not in _MADE]
    for path in needed:
        by_series.setdefault(path.series, []).append(path)
    for series, members in by_series.items():
        if len(members) < 3 or 2 * len(members) < members[0].server.series_size(series):
            continue  # (-1 when not said: a series of unknown size is fetched whole)
        try:
            found: Any = members[0].server.metadata(f"{series}/metadata")
        except (requests.RequestException, ValueError):
            continue
        wanted = {str(path) for path in members}
        with _SEEN_LOCK:
            for item in found if isinstance(found, list) else []:
                sop = (item.get("00080018", {}).get("Value") or [""])[0]
                url = f"{series}/instances/{sop}"
                if isinstance(item, dict) and url in wanted:
                    _SEEN[url] = item


def apply_tables(path: WebPath, stored: np.ndarray, fmt: PixelFormat) -> np.ndarray:
    """The values of the ``stored`` values of frames of ``path`` through its tables.

    RGB through the palette for ``fmt.palette_bits``, through the Modality
    LUT for ``fmt.modality_lut_bits`` (see :func:`table_bits` for errors).
    """
    if fmt.palette_bits:
        return palette_rgb(str(path), _dataset(path), stored, fmt.palette_bits)
    if fmt.modality_lut_bits:
        found = modality_table(str(path), _dataset(path))
        return look_up(str(path), found, stored, fmt.modality_lut_bits)
    return stored


def forget_tables() -> None:
    """Let go of the tables this process holds: they are fetched again when next needed."""
    _dataset.cache_clear()
    with _SEEN_LOCK:
        _SEEN.clear()
        _MADE.clear()


@functools.lru_cache(maxsize=256)  # (a 256-entry palette: ~2 KB)
def _dataset(path: WebPath) -> Dataset:
    """The instance's metadata as a dataset, its tables fetched (bulk data otherwise empty)."""
    found = {tag: value for tag, value in _metadata(path).items() if tag.upper() in _KEPT}
    ds = Dataset.from_json(found, functools.partial(_table, path))
    ds.set_original_encoding(False, True)  # bulk data are sent Little Endian
    with _SEEN_LOCK:
        _MADE.add(str(path))
    if _complete(ds):
        return ds
    # (Orthanc leaves out the palette descriptors of an Implicit VR file: their VR is US or SS)
    data = retrieve_whole(path, _TABLES_REFUSED)
    try:  # (read as a file of a folder is: one without preamble and file meta too)
        whole: Dataset = read_dataset(io.BytesIO(data), stop_before_pixels=True)
    except (InvalidDicomError, EOFError, ValueError) as exc:
        raise InvalidFileError(
            f"{path}: {_TABLES_REFUSED}, and the instance the server sends whole cannot "
            f"be read: {str(exc).rstrip('.')}. {_WAY_OUT}"
        ) from None
    return whole


def _metadata(path: WebPath) -> dict[str, Any]:
    """The WADO-RS metadata of the instance at ``path`` (its JSON model).

    Those of its series' fetched by :func:`_prefetch` where they are (taken once).
    """
    import requests

    with _SEEN_LOCK:
        seen = _SEEN.pop(str(path), None)
    if seen is not None:
        return seen
    try:
        found: Any = path.server.metadata(f"{path}/metadata", timeout=60)
    except requests.HTTPError as exc:
        raise _refused(path, "its metadata", exc) from None
    except requests.RequestException as exc:
        raise server_error(exc, path.server, f"reading the tables of {path} from") from None
    except ValueError:
        found = None
    if not (isinstance(found, list) and len(found) == 1 and isinstance(found[0], dict)):
        raise ServerError(
            f"{path}: the server did not send the metadata of one instance for it, so its "
            f"lookup tables, and the values they give, cannot be read. {_WAY_OUT}"
        )
    return found[0]


def _table(path: WebPath, tag: str, vr: str, uri: str) -> bytes | None:
    """The bulk data at ``uri`` if ``tag`` is one of :data:`TABLES` (else None: not fetched)."""
    import requests

    if tag.upper() not in TABLES:
        return None
    try:
        response = path.server.session().get(
            uri, headers={"Accept": _OCTETS}, timeout=60, stream=True
        )
        with response:  # closed whatever happens (streamed: else held open on an error)
            response.raise_for_status()
            body = read_body(response)
    except requests.HTTPError as exc:
        raise _refused(path, f"its table ({tag[:4]},{tag[4:]})", exc) from None
    except requests.RequestException as exc:
        raise server_error(exc, path.server, f"reading the tables of {path} from") from None
    kind = response.headers.get("Content-Type", "")
    if not kind.lower().startswith("multipart/"):
        return body  # (a server that sends the bytes alone)
    parts = split_multipart(body, kind)
    if len(parts) != 1:
        raise ServerError(
            f"{path}: the server sent {len(parts)} parts for its table "
            f"({tag[:4]},{tag[4:]}), whose values cannot be read without it. {_WAY_OUT}"
        )
    return bytes(parts[0][1])


def _complete(ds: Dataset) -> bool:
    """Whether the metadata ``ds`` hold every table, and descriptor, the values need."""
    if str(ds.get("PhotometricInterpretation", "")).strip() == PALETTE:
        if any(ds.get(f"{c}PaletteColorLookupTableDescriptor") is None for c in _RGB):
            return False
        plain = all(ds.get(f"{c}PaletteColorLookupTableData") for c in _RGB)
        if not (plain or all(ds.get(f"Segmented{c}PaletteColorLookupTableData") for c in _RGB)):
            return False
    items = ds.get("ModalityLUTSequence")
    if items:
        item = items[0]
        if item.get("LUTDescriptor") is None or item.get("LUTData") in (None, b"", []):
            return False
    return True


def _refused(path: WebPath, what: str, exc: Any) -> ServerError:
    """The error of a table (or the metadata) the server refuses: the instance, the way out."""
    status = exc.response.status_code if exc.response is not None else 0
    if status in (401, 403):
        return server_error(exc, path.server, f"reading the tables of {path} from")
    reason = exc.response.reason if exc.response is not None else ""
    return ServerError(
        f"{path}: the server refused {what} ({status} {reason}), so the values its lookup "
        f"tables give cannot be read, and its stored values are not them. {_WAY_OUT}"
    )
