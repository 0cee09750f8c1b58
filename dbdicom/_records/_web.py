"""DICOMweb archives as databases, and records stored into one with STOW-RS.

A DICOMweb database is a :class:`~dbdicom.Database` on a folder of the
archive's headers (see :mod:`dbdicom._web`), whose index knows the server:
its arrays read the frames from the server, and it cannot be changed in
place (the archive is changed by storing series into it, with
``export_as_dicom(url)``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pydicom

from .. import _export
from .._errors import ServerError, StaleFileError
from .._files import read_dataset
from .._index import Index, check_tag, parse_query, vr_of
from .._web import (
    Server,
    cache_folder,
    float_bits_of,
    held_by_one,
    hold_only,
    is_dicomweb,
    retrieve_instance,
    selections_held,
    server_error,
    sync,
)

if TYPE_CHECKING:
    from ._database import Database
    from ._record import Record

__all__ = [
    "fetch_again",
    "list_again",
    "hold_matching",
    "qido_filters",
    "attach",
    "export_from_archive",
    "is_dicomweb",
    "open_archive",
    "selection",
    "store_record",
]

_NO_PIXELS = "(7FE0,0010) 'Pixel Data' is missing"
#: instances sent in one STOW-RS request
STOW_BATCH = 64


#: the keys a QIDO-RS server matches series on (PS3.18 table 10.6.1-5: the study's and the
#: patient's for relational queries, the series' own); Orthanc matches its other main tags
#: too, and the others are matched here anyway
QIDO_KEYS = frozenset(
    {
        "PatientID",
        "PatientName",
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "StudyID",
        "AccessionNumber",
        "ReferringPhysicianName",
        "StudyDescription",
        "Modality",
        "SeriesInstanceUID",
        "SeriesNumber",
        "SeriesDescription",
    }
)


#: text a server is sent to match: what servers match alike (see :func:`qido_filters`)
_PLAIN = re.compile(r"[A-Za-z0-9._-]+")


def qido_filters(query: dict[str, Any]) -> dict[str, str]:
    """The QIDO-RS matching keys of a keyword query, for what the server can match.

    One value (a number, a plain word), or one date or time range, of a key
    of :data:`QIDO_KEYS`; everything else (wildcards, lists, functions,
    ``None``, instance-level tags, text with other characters than letters,
    digits, ``.``, ``_`` and ``-``) is left to dbdicom, which matches every
    filter again on the headers. A series the server leaves out is never
    seen again, so only what servers match alike is sent: they match
    wildcards differently (Orthanc's ``/series`` compares them with
    upper-cased values and finds nothing for ``T2*``), and Orthanc's
    DICOMweb plugin (1.7) finds nothing for a value with a space or a ``^``
    (``SeriesDescription="ax 10 flip"``, ``PatientName="Doe^John"``), as
    most names are.

    Examples
    --------
    >>> qido_filters({"Modality": "MR", "SeriesDescription": "T1*", "StudyDate": "20240101-"})
    {'Modality': 'MR', 'StudyDate': '20240101-'}
    >>> qido_filters({"SeriesNumber": 3, "FlipAngle": 5, "PatientID": ["a", "b"]})
    {'SeriesNumber': '3'}
    >>> qido_filters({"PatientName": "Doe^John", "SeriesDescription": "ax 10 flip"})
    {}
    >>> qido_filters({"PatientID": "PAT-01.b_2"})
    {'PatientID': 'PAT-01.b_2'}
    """
    out = {}
    for keyword, wanted in query.items():
        if keyword not in QIDO_KEYS or callable(wanted) or isinstance(wanted, list):
            continue
        parsed = parse_query(keyword, wanted)
        n = len(parsed.equal) + len(parsed.patterns) + len(parsed.ranges)
        if n != 1 or None in parsed.equal:
            continue
        if parsed.ranges:
            start, end = parsed.ranges[0]
            out[keyword] = start if start == end else f"{start}-{end}"
        elif parsed.patterns:
            continue
        elif vr_of(keyword) == "IS":
            out[keyword] = str(int(parsed.equal[0]))
        else:
            text = str(parsed.equal[0])
            if _PLAIN.fullmatch(text):
                out[keyword] = text
    return out


def open_archive(
    url: str,
    session: Any,
    cache: str | os.PathLike[str] | None,
    make: Callable[[Path, Index], Database],
    query: dict[str, Any] | None = None,
    keep_pixels: bool = False,
) -> Database:
    """The database of the archive at ``url``: its headers synced into ``cache``, then opened.

    ``make`` opens a folder as a :class:`~dbdicom.Database` with the index
    given (the caller's status and dialog). ``query``: keyword filters of the instances to
    hold, as :meth:`~dbdicom.Database.instances` takes them: matched by the
    server where QIDO-RS can (:func:`qido_filters`: only those series'
    headers are fetched), then by dbdicom on the headers, where the
    instances they leave out are set aside (:func:`hold_matching`).
    """
    query = dict(query or {})
    for keyword, wanted in query.items():  # a typo is said before the archive is read
        parse_query(check_tag(keyword), wanted)
    server = dataclasses.replace(Server.parse(url, session), keep_pixels=keep_pixels)
    named = selection(query)
    folder = (
        Path(cache).expanduser().absolute() if cache is not None else cache_folder(server, named)
    )
    with held_by_one(folder):  # another process opening it waits: no half-fetched series
        sync(server, folder, filters=qido_filters(query), selection=named)
        index = Index(folder)
        _serve_pixels(index, server)  # before the first scan: whose index is then saved once
        database = make(folder, index)
        attach(database, server)
        if query:
            database._index.archive_query = query
            if hold_matching(database):  # the instances the filters leave out set aside
                database._changed()
    return database


def selection(query: dict[str, Any]) -> str | None:
    """A name of the filters ``query``, the same for filters that select alike.

    "" for no filter; None for filters that cannot be named (a function,
    whose results may change from one open to the next): the instances
    they leave out are looked at again at every open.

    Examples
    --------
    >>> selection({}), selection({"FlipAngle": lambda a: a > 5})
    ('', None)
    >>> selection({"InstanceNumber": 3}) == selection({"InstanceNumber": 3.0})
    True
    >>> selection({"InstanceNumber": 3}) == selection({"InstanceNumber": [3, 4]})
    False
    """
    if not query:
        return ""
    parts = []
    for keyword in sorted(query):
        parsed = parse_query(keyword, query[keyword])
        if parsed.test is not None:
            return None
        parts.append(repr((keyword, parsed.equal, parsed.patterns, parsed.ranges)))
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


def hold_matching(database: Database) -> bool:
    """Set aside the headers of the instances the filters of the open do not select.

    The database of an archive opened with filters holds the instances
    ``database.instances(**filters)`` would select from the whole archive:
    the headers of the others are moved out of the index, in their series'
    folder (``_web.hold_only``), where they stay for the next open with
    the same filters (no series is fetched again for them). Files that
    are not in the hierarchy (problems) stay where they are. True if the
    index changed: what :meth:`~dbdicom.Database.refresh` and
    :meth:`~dbdicom.Database.scan` do last, so that headers another open
    of the cache folder put back are set aside again.
    """
    index = database._index
    query = index.archive_query
    if not query:
        return False
    rows = index.ok
    held = set(index.array("_path", database._filter(rows, query)).tolist())
    left_out: dict[str, list[str]] = {}
    for rel in index.array("_path", rows).tolist():
        if rel not in held:
            series, _, name = str(rel).rpartition("/")
            left_out.setdefault(series, []).append(name)
    if not hold_only(Path(index.root), left_out, selection(query)):
        return False
    return index.refresh()


def check_own_selection(database: Database) -> None:
    """Refuse to refresh ``database`` (an archive's) when another open's filters changed its cache.

    Two opens of one cache folder with other filters set other headers
    aside: the one refreshing last would drop the instances the other put
    back, without a word. (The default folders differ by filters.)

    Raises
    ------
    dbdicom.StaleFileError
        Headers of the folder are set aside by filters other than this open's.
    """
    if database._index.archive is None:
        return
    own = selection(database._index.archive_query or {})
    others = selections_held(Path(database._index.root)) - {own}
    if others:
        raise StaleFileError(
            f"the cache folder {database._index.root} of {database.label()} was opened since "
            "with other filters, which set other instances aside: this database no longer "
            "holds what its filters select. Open it again (db.dicomweb(url, ...)), and give "
            "opens with different filters a cache= folder each."
        )


def list_again(database: Database) -> None:
    """Bring the headers ``database`` (an archive's) holds up to date, as a reopen does.

    What ``refresh()`` does first for an archive: the series are listed
    again (one QIDO-RS request, with the filters of the open the server can
    match), the headers of new series, and of series whose number of
    instances changed, are fetched, and those of series the server no
    longer lists are removed. (The filters of the open then select the
    instances held again: :func:`hold_matching`.)
    """
    server = database._index.archive
    if server is None:
        return
    query = database._index.archive_query or {}
    folder = Path(database._index.root)
    with held_by_one(folder):
        sync(server, folder, filters=qido_filters(query), selection=selection(query))


def fetch_again(database: Database) -> None:
    """Fetch the headers of every series ``database`` (an archive's) holds from its server.

    What ``scan()`` and ``refresh(full=True)`` do first for an archive: an
    instance the server replaced under its UIDs (Orthanc's
    ``OverwriteInstances``) leaves its series' count of instances as it
    was, which is all a reopen compares. (The filters of the open then
    select the instances held again: :func:`hold_matching`.)
    """
    server = database._index.archive
    if server is None:
        return
    folder = Path(database._index.root)
    with held_by_one(folder):
        sync(server, folder, again=True)


def attach(database: Database, server: Server) -> None:
    """Make ``database`` (a folder of ``server``'s headers) read its frames from ``server``.

    The headers hold no pixel data: the files that describe an image (Rows,
    Columns, Bits Allocated) are given the pixel data the server holds for
    them; the database refuses changes, with the way to store a series.
    """
    index = database._index
    _serve_pixels(index, server)
    _pixels_on_server(index)
    index.flush()
    database._editor.archive = partial(retrieve_instance, server)
    database._editor.refusal = (
        f"{server.url} is a DICOMweb archive, read here through the headers kept in "
        f"{index.root}: dbdicom does not change it in place. Store a new or derived "
        "series into it with series.export_as_dicom(url), or copy what you want to change "
        "to a folder (series.export_as_dicom(folder)) and open that."
    )


def _serve_pixels(index: Index, server: Server) -> None:
    """Give the rows ``index`` reads from now on the pixel data ``server`` holds for them.

    A scan, a refresh, a file checked: see :func:`_pixels_on_server`.
    """
    index.archive = server
    index.after_rows = partial(_pixels_on_server, index)


def _pixels_on_server(index: Index) -> None:
    """Give the rows of ``index`` whose image the server holds the pixel data it holds.

    The header files have no Pixel Data: a row that describes an image
    (Rows, Columns, Bits Allocated) and has none gets the offset 0 and the
    length its description gives, its float bits from the series' mark, and
    loses the warning that its pixel data are missing.
    """
    # columns read from the saved table as they are: no pandas frame made at a reopen
    number = {
        name: np.nan_to_num(np.asarray(index.array(name), dtype=float), nan=0)
        for name in ("Rows", "Columns", "BitsAllocated", "SamplesPerPixel", "NumberOfFrames")
    }
    empty = (
        (index.array("_error") == "")
        & (np.asarray(index.array("_offset")) < 0)
        & (np.asarray(index.array("_nbytes")) < 0)
        & (number["Rows"] > 0)
        & (number["Columns"] > 0)
        & (number["BitsAllocated"] > 0)
    )
    rows = np.flatnonzero(empty)
    if len(rows):
        pixels = number["Rows"] * number["Columns"] * np.maximum(number["SamplesPerPixel"], 1)
        bits = pixels * number["BitsAllocated"] * np.maximum(number["NumberOfFrames"], 1)
        floats = float_bits_of(index.root)
        uids = index.array("SOPInstanceUID", rows)
        warnings = [
            "\n".join(w for w in str(text or "").split("\n") if not w.startswith(_NO_PIXELS))
            for text in index.array("_warning", rows)
        ]
        index.set_file_columns(
            rows,
            {
                "_offset": 0,
                "_nbytes": (-(-bits[rows] // 8)).astype(np.int64),
                "_float_bits": np.array([floats.get(str(uid), 0) for uid in uids]),
                "_warning": np.array(warnings, dtype=object),
            },
        )


def store_record(record: Record, url: str, session: Any = None) -> str:
    """Store the instances of ``record`` into the DICOMweb archive at ``url`` (STOW-RS).

    The files are sent as they are (a derived series keeps its references
    to its sources, its UIDs and ``ImageType``). Returns ``url`` without
    credentials.

    Raises
    ------
    dbdicom.ServerError
        The server cannot be reached, refuses (``ServerAccessError``), or
        reports instances it did not store.
    """
    import requests

    server = Server.parse(url, session)
    if record._db._index.archive is not None:
        raise ServerError(
            f"{record.label()} is itself in a DICOMweb archive, whose pixels dbdicom does not "
            "hold: copy it from archive to archive with the archives' own tools, or store a "
            "series made from its array."
        )
    client = server.client()
    with tempfile.TemporaryDirectory(prefix="dbdicom-stow-") as folder:
        _export.export_dicom(record, folder)
        files = sorted(str(p) for p in Path(folder).rglob("*") if p.is_file())
        for start in range(0, len(files), STOW_BATCH):
            batch = [_as_part10(f) for f in files[start : start + STOW_BATCH]]
            try:
                answer = client.store_instances(batch)
            except requests.RequestException as exc:
                raise server_error(exc, server, "storing instances into") from None
            failed = getattr(answer, "FailedSOPSequence", None) if answer is not None else None
            if failed:
                reasons = sorted({str(item.get("FailureReason", "?")) for item in failed})
                raise ServerError(
                    f"storing instances into {server.url}: the server refused {len(failed)} of "
                    f"{len(batch)} (failure reasons {', '.join(reasons)}). Its logs say why; "
                    "instances stored before stay there."
                )
    return server.url


def _as_part10(path: str) -> pydicom.Dataset:
    """The file at ``path`` as the scan read it, to be sent as a Part 10 file (STOW-RS).

    A file without preamble and file meta (pydicom's rtstruct.dcm), or whose
    data set is in another encoding than its meta says (SC_rgb_jpeg.dcm),
    is read as the scan read it (pydicom without ``force`` refused the
    first, its writer the second), given a preamble and the file meta a
    Part 10 file has; its elements are sent as they are.
    """
    ds = read_dataset(path)
    if not ds.preamble:
        ds.preamble = b"\x00" * 128
    meta = ds.file_meta
    if "MediaStorageSOPClassUID" not in meta and "SOPClassUID" in ds:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "MediaStorageSOPInstanceUID" not in meta and "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def export_from_archive(record: Record, path: str | os.PathLike[str], dicomdir: bool) -> Any:
    """The instances of a DICOMweb database's ``record``, retrieved (WADO-RS) into ``path``.

    In the layout of :meth:`~dbdicom.Record.export_as_dicom`, each file as
    the archive gives it (its pixels included).
    """
    if dicomdir:
        raise ServerError(
            f"{record.label()} is in a DICOMweb archive: export it to a folder first "
            "(export_as_dicom(folder)), open that, and export a DICOMDIR from there."
        )
    editor = record._db._editor

    def copy(instance: Any, target: Path) -> None:
        rel = editor.rels(instance._rows())[0]
        editor.dataset(rel).save_as(target, enforce_file_format=True)

    return _export.export_dicom(record, path, copy=copy)


def retrieve_into(url: str, folder: Path, session: Any = None) -> list[Path]:
    """The instances of the study or series at ``url`` written into ``folder`` (WADO-RS).

    ``url``: ``dicomweb+http://host/dicom-web/studies/<uid>`` or
    ``.../studies/<uid>/series/<uid>`` (credentials in it are used, never
    written). ``session``: its auth and headers, as :func:`dbdicom.dicomweb`
    takes them. Returns the files written.

    Raises
    ------
    dbdicom.ServerError
        As :func:`dbdicom.dicomweb` does; also for a URL that names no
        study or series.
    """
    import requests

    root, _, rest = url.partition("/studies/")
    parts = rest.strip("/").split("/")
    server = Server.parse(root, session)
    if not rest or len(parts) not in (1, 3) or (len(parts) == 3 and parts[1] != "series"):
        raise ServerError(
            f"{server.url}: import_dicom needs the URL of a study or a series, "
            "'dicomweb+http://host/dicom-web/studies/<uid>[/series/<uid>]'; to open the "
            "whole archive use db.dicomweb(url)."
        )
    client = server.client()
    # as the server holds them: without a transfer syntax the standard's default is Explicit
    # VR Little Endian, which made Orthanc decode them (a 500 for JPEG 2000, its own values)
    stored = (("application/dicom", "*"),)
    try:
        if len(parts) == 3:
            datasets = client.iter_series(parts[0], parts[2], media_types=stored)
        else:
            datasets = client.iter_study(parts[0], media_types=stored)
        written: list[Path] = []
        for ds in datasets:
            path = folder / f"{len(written):06d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            written.append(path)
    except requests.RequestException as exc:
        raise server_error(exc, server, f"retrieving studies/{'/'.join(parts)} from") from None
    return written
