"""An archive's headers as a local folder: the index of a DICOMweb database.

The series of the archive are listed with QIDO-RS (one request); the headers
of each series not held yet come with WADO-RS metadata (one request per
series, never one per instance), and are written as small Part 10 files
without pixel data (their values as the server sent them: see ``_encode``),
one per instance, in
``<folder>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``.
The folder is then indexed like any other, so a DICOMweb database has every
query, attribute read and array of a folder; only the pixels stay on the
server, read frame by frame when an array is computed (see ``_frames``).

In each series folder, ``.series.json`` says how many instances it had on
the server and which hold float pixel data; a series whose count on the
server changed is fetched again, one that the server no longer has is
removed. A database opened with filters holds the instances they select
(see ``dbdicom._records._web``): the headers of the others go in
``.others/`` inside their series folder (hidden from the index, never
fetched again for that), and the mark says which filters left them out
(``selection``) and how many are held; an open with other filters, or none,
puts them back first. Likewise whole series: an open whose filters the
server matches (``PatientID="A"``) lists the series they select, and the
series of the folder the listing leaves out (another open's, with
``PatientID="B"``) are set aside in ``.other-series/<study>/<series>``,
their mark saying which filters did, not removed (nor shown): an open with
other filters puts them back before it lists the series, so that the two
opens of one ``cache=`` fetch no header again, and each holds its own.
(Only an open whose listing is the whole archive removes the series it no
longer lists.)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import platformdirs

from .._errors import DicomError, DicomWarning, ServerError, StorageError
from .._interaction import user_stacklevel
from ._encode import Encoder, misread, uid_of
from ._server import COUNT, Server, collector_paused, instance_count, server_error
from ._tables import forget_tables
from ._whole import forget_refusals

__all__ = [
    "MARK",
    "OTHERS",
    "OTHER_SERIES",
    "cache_folder",
    "selections_held",
    "write_whole",
    "float_bits_of",
    "held_by_one",
    "held_in_part",
    "hold_only",
    "safe_uid",
    "sync",
]

MARK = ".series.json"
#: the folder, in a series' folder, of the headers of the instances an open's filters left out
OTHERS = ".others"
#: the folder, in the cache folder, of the series (``<study>/<series>``) an open's filters left out
OTHER_SERIES = ".other-series"
_STUDY, _SERIES, _SOP = "0020000D", "0020000E", "00080018"
#: an instance in the transfer syntax the server holds (none would ask it to transcode)
_AS_HELD = (("application/dicom", "*"),)
#: series whose headers are fetched at the same time
THREADS = 8


try:  # POSIX
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits for the other process

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _lock(fd: int) -> None:
        while True:  # LK_LOCK tries for ~10 s, then raises EDEADLOCK: try again
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
                return
            except OSError as exc:
                if exc.errno != errno.EDEADLOCK:
                    raise


@contextlib.contextmanager
def held_by_one(folder: Path) -> Iterator[None]:
    """Hold the cache ``folder`` for one process at a time, waiting for the one that has it.

    Two processes opening an archive at once would fetch into one folder
    together: one replacing a series' headers while the other indexes them
    (a series seen without its files), or both renaming their copies onto
    it. The lock is the operating system's, on a file beside the folder
    (``.<name>.lock``, never removed: a process waiting on it and one coming
    later lock the same file), released when its process ends, however it
    ends. The folder itself is made by what the lock guards (a refused
    archive leaves none). Where the file system has no locks (some network
    mounts), the folder is used without.

    Raises
    ------
    dbdicom.StorageError
        The lock file cannot be made (a folder that cannot be written).
    """
    lock = folder.parent / f".{folder.name}.lock"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _cannot_write(folder, exc) from exc
    try:
        with contextlib.suppress(OSError):  # no locks here: as before there were any
            _lock(fd)
        yield
    finally:
        os.close(fd)  # releases the lock


def _cannot_write(folder: Path, exc: OSError) -> StorageError:
    return StorageError(
        f"the cache folder {folder} of the archive's headers cannot be written "
        f"({exc.strerror or exc}): give a folder you can write, "
        "db.dicomweb(url, cache=folder), or make this one writable."
    )


def cache_folder(server: Server, selection: str | None = "") -> Path:
    """Where the headers of ``server`` are kept: the user cache, a folder per URL and filters.

    ``selection`` names the filters of the open (:func:`hold_only`): opens
    with other filters set other headers aside, so each has a folder of
    its own (those with functions share one).

    Examples
    --------
    >>> server = Server("http://localhost:8042/dicom-web")
    >>> cache_folder(server).parent.name, cache_folder(server) == cache_folder(server, "ab")
    ('dicomweb', False)
    """
    digest = hashlib.sha1(server.url.encode()).hexdigest()[:16]
    if selection != "":
        digest += "-" + hashlib.sha1(str(selection).encode()).hexdigest()[:8]
    return Path(platformdirs.user_cache_dir("dbdicom")) / "dicomweb" / digest


def selections_held(folder: Path) -> set[str | None]:
    """The filters (their names) that set headers aside in the series of ``folder``."""
    out: set[str | None] = set()
    marks = [*folder.glob(f"*/*/{MARK}"), *folder.glob(f"{OTHER_SERIES}/*/*/{MARK}")]
    for mark in marks:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(mark.read_text())
            if isinstance(data, dict) and "selection" in data:
                out.add(data["selection"])
    return out


def safe_uid(uid: str) -> bool:
    """Whether ``uid`` is a UID that can name a file or folder (digits and dots, <= 64)."""
    return bool(uid) and all(c.isdigit() or c == "." for c in uid) and len(uid) <= 64


def list_series(
    server: Server, filters: dict[str, str] | None = None
) -> list[tuple[str, str, int]]:
    """(study, series, number of instances) of the series of the archive (QIDO-RS).

    ``filters``: QIDO-RS matching keys (keyword -> value, wildcard or range),
    which the server applies (or ignores: the caller filters again).
    """
    return _listing(server, filters)[0]


def _listing(
    server: Server, filters: dict[str, str] | None
) -> tuple[list[tuple[str, str, int]], list[str]]:
    """:func:`list_series`, and the series listed whose UIDs cannot name a folder, said."""
    import requests

    client = server.client()
    try:
        with collector_paused():  # an archive's list can be long: see collector_paused
            found = client.search_for_series(
                fields=[COUNT], search_filters=filters or None, get_remaining=True
            )
    except requests.RequestException as exc:
        raise server_error(exc, server, "listing the series of") from None
    out, unsafe = [], []
    for item in found:
        study, series = uid_of(item, _STUDY), uid_of(item, _SERIES)
        if safe_uid(study) and safe_uid(series):
            out.append((study, series, instance_count(item)))
        else:
            unsafe.append(f"series {series!r} of study {study!r}")
    return out, unsafe


def _fetch(
    server: Server, folder: Path, study: str, series: str, count: int
) -> tuple[str, list[str], list[str]]:
    """Write the headers of one series into ``folder/study/series`` (replacing what was there).

    Returns the reason it is not written ("" when it is) when the server
    lists the series but answers 404 for its headers (deleted since, or a
    UID it cannot resolve): the series is left out, and asked for again at
    the next open. Then, said, the instances left out for a SOP Instance
    UID that cannot name a file, and the values no header can hold (see
    ``_encode``).
    """
    import requests

    what = f"reading the headers of series {series} from"
    try:
        metadata = server.metadata(f"{server.url}/studies/{study}/series/{series}/metadata")
    except requests.RequestException as exc:
        if getattr(getattr(exc, "response", None), "status_code", None) == 404:
            return f"series {series} of study {study} (404 Not Found)", [], []
        raise server_error(exc, server, what) from None
    except ValueError as exc:  # (not JSON)
        raise ServerError(f"{what} {server.url} failed: its answer is no JSON ({exc})") from None
    if not isinstance(metadata, list):
        raise ServerError(f"{what} {server.url} failed: its answer is no list of instances")
    metadata = [_read_again(server, study, series, meta) for meta in metadata]
    target = folder / study / series
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".new-"))
    floats: dict[str, int] = {}
    encoder = Encoder()
    unsafe = []
    for meta in metadata:
        sop = uid_of(meta, _SOP)
        if not safe_uid(sop):
            unsafe.append(f"instance {sop!r} of series {series}")
            continue
        data, bits = encoder.file(meta)
        if bits:
            floats[sop] = bits
        (work / f"{sop}.dcm").write_bytes(data)
    (work / MARK).write_text(json.dumps({"instances": count, "float_bits": floats}))
    if target.exists():
        shutil.rmtree(target)
    os.replace(work, target)
    lost = [f"{tag} of instance {sop}: {why}" for sop, tag, why in encoder.lost]
    return "", unsafe, lost


def _held(folder: Path) -> dict[tuple[str, str], int]:
    """(study, series) -> number of instances, of the series already in ``folder``."""
    out = {}
    for mark in folder.glob(f"*/*/{MARK}"):
        try:
            count = int(json.loads(mark.read_text()).get("instances", -2))
        except (OSError, ValueError):
            count = -2
        out[(mark.parent.parent.name, mark.parent.name)] = count
    return out


def float_bits_of(folder: Path) -> dict[str, int]:
    """SOPInstanceUID -> 32 or 64, for the instances of ``folder`` with float pixel data."""
    out: dict[str, int] = {}
    for mark in folder.glob(f"*/*/{MARK}"):
        out.update(json.loads(mark.read_text()).get("float_bits", {}))
    return out


def _mark_of(series: Path) -> dict[str, Any]:
    """The :data:`MARK` of the folder ``series`` ({} if it has none that reads)."""
    try:
        found = json.loads((series / MARK).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def write_whole(target: str | os.PathLike[str], data: bytes | memoryview) -> None:
    """Write ``target`` whole or not at all (a temporary file renamed; removed if cut short)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".new-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _write_mark(series: Path, mark: dict[str, Any]) -> None:
    """Write the :data:`MARK` of ``series`` whole or not at all."""
    write_whole(series / MARK, json.dumps(mark).encode())


def held_in_part(series: Path) -> bool:
    """Whether the open's filters left some instances of the series folder ``series`` out.

    Its headers are then not all those of the series on the server: a read
    of every instance held is not a read of the series (see ``_frames``).
    """
    return (series / OTHERS).is_dir()


def hold_only(folder: Path, left_out: dict[str, list[str]], selection: str | None) -> bool:
    """Leave the headers ``left_out`` out of the index: moved into :data:`OTHERS`.

    ``left_out``: series folder (``study/series``, relative to ``folder``)
    -> names of header files in it. ``selection`` names the filters that
    left them out (None: filters that cannot be named, a function): an open
    with other filters puts them back first (:func:`_put_back`). True if any
    header was moved.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "1.2" / "1.3").mkdir(parents=True)
    >>> for name in ("1.4.dcm", "1.5.dcm"):
    ...     _ = (folder / "1.2" / "1.3" / name).write_bytes(b"")
    >>> _ = (folder / "1.2" / "1.3" / MARK).write_text('{"instances": 2}')
    >>> hold_only(folder, {"1.2/1.3": ["1.5.dcm"]}, "abc")
    True
    >>> held_in_part(folder / "1.2" / "1.3"), _mark_of(folder / "1.2" / "1.3")
    (True, {'instances': 2, 'selection': 'abc', 'held': 1})
    >>> _put_back(folder, None), held_in_part(folder / "1.2" / "1.3")
    (None, False)
    """
    moved = False
    for rel, names in left_out.items():
        if not names:
            continue
        series = folder / rel
        others = series / OTHERS
        mark = _mark_of(series)
        mark.pop("selection", None)  # until every header is moved: put back if cut short
        _write_mark(series, mark)
        others.mkdir(exist_ok=True)
        for name in names:
            os.replace(series / name, others / name)
        moved = True
        mark["selection"] = selection
        mark["held"] = sum(1 for p in series.glob("*.dcm"))
        _write_mark(series, mark)
    return moved


def _put_back(folder: Path, selection: str | None) -> None:
    """Put back the headers left out by other filters than ``selection`` ("": none).

    Those of the same filters stay out (None, a function, is never the
    same): a reopen with the same filters changes nothing.
    """
    for aside in folder.glob(f"{OTHER_SERIES}/*/*"):
        if selection is not None and _mark_of(aside).get("selection") == selection:
            continue
        home = folder / aside.parent.name / aside.name
        if home.exists():  # fetched since (it moved into the filters' selection): that one
            shutil.rmtree(aside)
        else:
            home.parent.mkdir(exist_ok=True)
            os.replace(aside, home)
        mark = _mark_of(home)
        if "selection" in mark and not held_in_part(home):
            mark.pop("selection", None)
            mark.pop("held", None)
            _write_mark(home, mark)
        with contextlib.suppress(OSError):  # (not empty: others stay aside)
            aside.parent.rmdir()
    for others in folder.glob(f"*/*/{OTHERS}"):
        series = others.parent
        mark = _mark_of(series)
        if selection is not None and mark.get("selection") == selection:
            continue
        mark.pop("selection", None)  # first: a put back cut short is finished next time
        mark.pop("held", None)
        _write_mark(series, mark)
        for path in others.iterdir():
            os.replace(path, series / path.name)
        others.rmdir()


def _set_aside(folder: Path, study: str, series: str, selection: str | None) -> None:
    """Set the series folder ``study/series`` aside in :data:`OTHER_SERIES`, for ``selection``.

    What :func:`_put_back` puts back for an open with other filters.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "1.2" / "1.3").mkdir(parents=True)
    >>> _ = (folder / "1.2" / "1.3" / MARK).write_text('{"instances": 2}')
    >>> _set_aside(folder, "1.2", "1.3", "abc")
    >>> [p.relative_to(folder).as_posix() for p in folder.rglob(MARK)]
    ['.other-series/1.2/1.3/.series.json']
    >>> _put_back(folder, "abc"), (folder / "1.2" / "1.3").is_dir()  # the same filters: aside
    (None, False)
    >>> _put_back(folder, ""), _mark_of(folder / "1.2" / "1.3")  # none: back, as it was
    (None, {'instances': 2})
    """
    aside = folder / OTHER_SERIES / study / series
    if aside.exists():  # left there before it was fetched again: the older copy
        shutil.rmtree(aside)
    aside.parent.mkdir(parents=True, exist_ok=True)
    mark = _mark_of(folder / study / series)
    mark["selection"] = selection
    _write_mark(folder / study / series, mark)
    os.replace(folder / study / series, aside)


def sync(
    server: Server,
    folder: Path,
    progress: Callable[[int, int], None] | None = None,
    filters: dict[str, str] | None = None,
    again: bool = False,
    selection: str | None = "",
) -> bool:
    """Bring ``folder`` up to date with the archive; True if any series was added or removed.

    With ``filters`` (QIDO-RS matching keys), the folder holds the series
    that the server lists for them, and no others. With ``again``, the
    headers of every series the folder holds are fetched again (an
    instance replaced under its UIDs keeps the series' count of
    instances), and no series is added. ``selection`` names all the
    filters of the open ("" for none, None for some that cannot be named):
    the headers that other filters left out are put back (see
    :func:`hold_only`).

    Raises
    ------
    dbdicom.ServerError
        The server cannot be reached, refuses (``ServerAccessError``) or
        does not answer QIDO-RS and WADO-RS metadata requests.
    """
    forget_tables()  # (an instance replaced under its UID: its tables fetched again)
    forget_refusals()  # (and its frames perhaps given now)
    try:
        return _sync(server, folder, progress, filters, again, selection)
    except DicomError:
        raise
    except OSError as exc:  # the folder's, not the server's (ServerError is a DicomError)
        raise _cannot_write(folder, exc) from exc


def _sync(
    server: Server,
    folder: Path,
    progress: Callable[[int, int], None] | None,
    filters: dict[str, str] | None,
    again: bool = False,
    selection: str | None = "",
) -> bool:
    """:func:`sync`, its errors of the folder as they come."""
    # before anything is written: a refusal leaves no folder
    listed, unsafe = _listing(server, filters)
    listed = _once_each(listed)
    folder.mkdir(parents=True, exist_ok=True)
    if not again:  # (fetched again, a series' headers are all put back)
        _put_back(folder, selection)
    held = _held(folder)
    if again:
        todo = [(st, se, n) for st, se, n in listed if (st, se) in held]
    else:
        todo = [(st, se, n) for st, se, n in listed if held.get((st, se)) != n or n < 0]
    gone = set(held) - {(st, se) for st, se, _ in listed}
    for study, series in gone:
        if filters and not again:  # perhaps only not selected: kept aside (see the module)
            _set_aside(folder, study, series, selection)
        else:
            shutil.rmtree(folder / study / series, ignore_errors=True)
    missing: list[str] = []
    lost: list[str] = []
    if todo:
        with ThreadPoolExecutor(min(THREADS, len(todo))) as pool:
            jobs = [pool.submit(_fetch, server, folder, *item) for item in todo]
            for done, job in enumerate(jobs, 1):
                why, left_out, not_kept = job.result()
                missing += [why] if why else []
                unsafe += left_out
                lost += not_kept
                if progress is not None:
                    progress(done, len(jobs))
    _say_left_out(server, unsafe, lost)
    if missing:
        warnings.warn(
            f"{server.url} lists {len(missing)} series whose headers it does not give "
            f"(WADO-RS metadata): {'; '.join(missing[:5])}. They are left out of the "
            "database (open it again to retry; the server's logs say why it refused).",
            DicomWarning,
            stacklevel=user_stacklevel(),
        )
    for study in {st for st, _ in gone}:
        if (folder / study).is_dir() and not any((folder / study).iterdir()):
            (folder / study).rmdir()
    if not listed and not held and not filters:
        _check_empty(server)
    return bool(todo or gone)


def _read_again(server: Server, study: str, series: str, meta: dict[str, Any]) -> dict[str, Any]:
    """An instance's metadata, from the instance itself where the server's may be misread.

    Orthanc's metadata of an instance in character set ISO 2022 IR 13 reads
    the backslash between values as a yen sign (see ``_encode.misread``):
    a multi-valued ImageType came as one value, PixelSpacing and
    ImagePositionPatient as none. Such an instance is retrieved whole
    (WADO-RS, one request) and its values are taken as pydicom reads them.
    """
    import requests

    sop = uid_of(meta, _SOP)
    if not misread(meta) or not safe_uid(sop):
        return meta
    try:
        ds = server.client().retrieve_instance(study, series, sop, media_types=_AS_HELD)
    except requests.RequestException as exc:
        raise server_error(exc, server, f"retrieving instance {sop} from") from None
    with warnings.catch_warnings():  # pydicom's, of values that break a VR's rule: kept
        warnings.simplefilter("ignore")
        read: dict[str, Any] = ds.to_json_dict(1024, lambda _: "retrieved")
    return read


def _say_left_out(server: Server, unsafe: list[str], lost: list[str]) -> None:
    """Warn of the series and instances, and of the values, the headers kept leave out."""
    if unsafe:
        warnings.warn(
            f"{server.url} lists {len(unsafe)} series or instances whose UIDs are not DICOM "
            f"UIDs (digits and dots, at most 64), which cannot name the files of their "
            f"headers: {'; '.join(unsafe[:5])}{' ...' if len(unsafe) > 5 else ''}. They are "
            "left out of the database: retrieve them with the archive's own tools into a "
            "folder, and open that.",
            DicomWarning,
            stacklevel=user_stacklevel(),
        )
    if lost:
        warnings.warn(
            f"{server.url} sent {len(lost)} values that no element of their VR can hold, "
            f"left out of the headers kept: {'; '.join(lost[:5])}"
            f"{' ...' if len(lost) > 5 else ''}. Their instances are held without them; "
            "series.export_as_dicom(folder) retrieves them whole, as the server holds them.",
            DicomWarning,
            stacklevel=user_stacklevel(),
        )


def _once_each(listed: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """Each series of a listing once, its rows' largest number of instances (-1: not said).

    A server may list a series twice (Orthanc does, for a series UID under
    two patients): fetched twice at once into one folder, otherwise.

    Examples
    --------
    >>> _once_each([("1.2", "1.2.3", 3), ("1.2", "1.2.4", -1), ("1.2", "1.2.3", 5)])
    [('1.2', '1.2.3', 5), ('1.2', '1.2.4', -1)]
    """
    found: dict[tuple[str, str], int] = {}
    for study, series, n in listed:
        found[(study, series)] = max(n, found.get((study, series), n))
    return [(study, series, n) for (study, series), n in found.items()]


def _check_empty(server: Server) -> None:
    """An archive that lists no series: say so if its URL is not a DICOMweb root at all."""
    import requests

    try:
        response = server.session().get(server.url + "/studies", timeout=30)
    except requests.RequestException as exc:
        raise server_error(exc, server, "listing the studies of") from None
    if response.status_code >= 400:
        raise ServerError(
            f"{server.url} answers {response.status_code} to QIDO-RS /studies: it is not the "
            "root of a DICOMweb service. Give the URL the server documents (Orthanc: "
            "http://host:8042/dicom-web)."
        )
