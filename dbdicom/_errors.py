"""One exception hierarchy for dbdicom.

Every error raised on purpose by dbdicom is a :class:`DicomError`. Subclasses
also inherit the built-in exception that matches their meaning, so that code
written for plain Python (``except KeyError``) keeps working.
"""

from __future__ import annotations

import errno
import functools
import importlib.metadata
import json
import re
import tomllib
import urllib.parse
from pathlib import Path

__all__ = [
    "install_hint",
    "DicomError",
    "DicomWarning",
    "DatabaseNotFoundError",
    "DiskFullError",
    "EmptyRecordError",
    "DecoderNotFoundError",
    "InvalidFileError",
    "InvalidValueError",
    "LabelConflictError",
    "MediumError",
    "UnknownAttributeError",
    "UnknownTagError",
    "ElementNotFoundError",
    "GridError",
    "GeometryError",
    "DiffusionError",
    "GroupError",
    "IndexDamagedError",
    "ReadOnlyError",
    "ServerAccessError",
    "ServerError",
    "StaleFileError",
    "StorageAccessError",
    "StorageBackendError",
    "StorageError",
    "StorageObjectNotFoundError",
    "VirtualZarrError",
    "disk_full",
    "write_refused",
]


class DicomError(Exception):
    """Base class of every error raised on purpose by dbdicom.

    Each one pickles as itself, also with the traceback support that
    ``dask.distributed`` installs (tblib), so that an error raised on a
    cluster's worker reaches the user as the same class: without
    :meth:`__reduce__`, tblib rebuilt those that are also ``OSError`` (a
    :class:`FileGoneError`) with ``RuntimeError.__new__``, which fails, and
    the user got a plain ``Exception``.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self.args, self.__dict__ or None)


class DicomWarning(UserWarning):
    """What dbdicom did that the user should know of, said once through :mod:`warnings`.

    Values changed on the way (NaN written as 0), headers taken from a
    template, files not imported: the call went on, but not quite as asked.
    Python's default filter shows each distinct warning once per place in
    the user's code; ``warnings.filterwarnings("ignore", category=db.DicomWarning)``
    silences them, ``"error"`` makes them exceptions, and
    ``logging.captureWarnings(True)`` sends them to logging.
    """


class DatabaseNotFoundError(DicomError, FileNotFoundError):
    """The folder given as a database does not exist or is not a folder."""


class InvalidFileError(DicomError, ValueError):
    """A file could not be read as DICOM, or as dbdicom wrote it (the message says why)."""


class InvalidValueError(DicomError, ValueError):
    """A value that is not valid for the VR of the tag it is assigned to."""


class LabelConflictError(DicomError, ValueError):
    """Two patients (or studies) would share one label of a BIDS export.

    Two PatientIDs that make one label (``AB-1`` and ``AB_1``: ``sub-AB1``),
    or a label of the export folder that its ``participants.tsv`` gives to
    another patient, or that no row of it names. The message names the
    label, the patients and the way out; nothing is written.
    """


class MediumError(DicomError, ValueError):
    """Records cannot be written as a DICOM medium (files with a DICOMDIR).

    The folder is not empty, or a file lacks a value that a DICOMDIR's
    directory record needs; the message names the file, the tag and the
    way out.
    """


class DecoderNotFoundError(DicomError, ImportError):
    """No installed plugin decodes the compressed pixel data of a file.

    The message names the file, the transfer syntax and the package to install.
    """


class UnknownAttributeError(DicomError, AttributeError):
    """A name is neither a DICOM keyword, a custom attribute nor a method."""


class UnknownTagError(DicomError, KeyError):
    """A tag, keyword or custom attribute name that dbdicom does not know."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep messages readable
        return str(self.args[0]) if self.args else ""


class ElementNotFoundError(DicomError, AttributeError, KeyError):
    """``del record.Keyword`` or ``del record[tag]`` of an element no file of the record has.

    An ``AttributeError`` (as ``del obj.name`` of an absent attribute) and a
    ``KeyError`` (as ``del mapping[key]`` of an absent key): nothing was
    changed.
    """

    def __str__(self) -> str:  # KeyError quotes its argument; keep messages readable
        return str(self.args[0]) if self.args else ""


class GridError(DicomError, ValueError):
    """Frames do not fit the grid of the dims asked for.

    Collisions, holes, a dim no frame has: the message names the values, the
    files and the way out.
    """


class GeometryError(GridError):
    """Frames of different sizes, orientations or pixel spacings would be stacked together."""


class DiffusionError(GridError):
    """The b-values or gradient directions of a diffusion series cannot be trusted.

    Some frames have a b-value and others none, a direction of a weighted
    volume is not a unit vector, a vendor's private tag is in a block whose
    private creator is another's, or the slices disagree on a volume's
    b-value: the message names the file, the tag and the way out. Written
    as it is, the series would be a "time series" with no b-value, or a
    .bval/.bvec with a wrong number.
    """


class GroupError(DicomError, KeyError):
    """A ``group=`` of xarray's open functions names no node of the tree, or several.

    A group is a path in the tree (``/patient/study/series``), a
    SeriesInstanceUID or a SeriesDescription that only one series has; the
    message lists the paths to choose from.
    """

    def __str__(self) -> str:  # KeyError quotes its argument; keep messages readable
        return str(self.args[0]) if self.args else ""


class EmptyRecordError(DicomError, LookupError):
    """A method needs files, and the record has none yet.

    A new patient, study or series lives in memory until a file is written
    below it; the message names what is missing and how to add it.
    """


class ReadOnlyError(DicomError, PermissionError):
    """A change was asked of a database that cannot be changed.

    A read-only folder, another process editing it, or a closed database.
    """


class ServerError(DicomError, ConnectionError):
    """A DICOM archive (a DICOMweb server) cannot be reached, or cannot do what was asked.

    The message names the URL (credentials removed), the cause and the way
    out: start the server, check the URL, or ask the archive for what it
    supports (e.g. frame retrieval through WADO-RS).
    """


class ServerAccessError(ServerError, PermissionError):
    """A DICOM archive refused the request: 401 (no or wrong credentials) or 403 (not allowed).

    The message names the URL (credentials removed) and how to pass
    credentials (``db.dicomweb(url, session=...)``); never the credentials.
    """


class StaleFileError(DicomError, RuntimeError):
    """A file changed since it was indexed, and no longer fits the array built from it.

    Its header now gives another image size or pixel type than the array
    was made for; the message names the file. Reopen the folder, or call
    ``database.refresh()``, and build the array again.
    """


class FileGoneError(StaleFileError, FileNotFoundError):
    """A file an array was built from is gone (removed, or replaced by a write) since.

    A :class:`StaleFileError` and a ``FileNotFoundError``: the message names
    the file; reopen the folder, or call ``database.refresh()``, and build
    the array again.
    """


class IndexDamagedError(DicomError, ValueError):
    """A file of the saved index is missing or cannot be read.

    The DICOM files are not affected: the index is made from them. The
    message names the index file and the way out: delete the index folder
    (the next ``db.database(path)`` reads every file again), or call
    ``database.scan()`` on a database already open.

    Examples
    --------
    >>> print(IndexDamagedError("/data/.dbdicom/index/part=0/part.parquet", "it is missing"))
    the index file /data/.dbdicom/index/part=0/part.parquet is damaged: it is missing. The DICOM \
files are not affected; rebuild the index from them: delete the folder /data/.dbdicom/index \
(the next db.database(path) reads every file again, as database.scan() does)
    """

    def __init__(self, path: object, why: str) -> None:
        self.path, self.why = str(path), why
        self.folder = _index_folder(self.path)
        super().__init__(
            f"the index file {self.path} is damaged: {why}. The DICOM files are not affected; "
            f"rebuild the index from them: delete the folder {self.folder} (the next "
            "db.database(path) reads every file again, as database.scan() does)"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.why))


def _index_folder(path: str) -> str:
    """The index folder (``.../index``) of one of its files, or the file's folder."""
    parts = path.replace("\\", "/").split("/")
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] == "index":
            return "/".join(parts[: i + 1])
    return "/".join(parts[:-1]) or "."


class VirtualZarrError(DicomError, ValueError):
    """Frames that cannot be chunks of a virtual Zarr store read in place.

    A chunk of a reference set is a byte range of a DICOM file that Zarr
    reads as it is, or through one registered numcodecs codec, and must give
    the values dbdicom gives. The message names the file, the tag or
    transfer syntax and why not (bit-packed or Deflate data, a palette or a
    colour conversion to apply, a compressed syntax without such a codec, a
    rescale that differs between frames...), and the way out: a copy with
    ``export_as_zarr``, or leaving those frames out with ``subseries``.
    """


class StorageError(DicomError, OSError):
    """A store of objects (S3, GCS, HTTP, a zip file) could not be read.

    Unreachable, or answering with an error: the message names the URL (its
    credentials removed), the cause and the way out.
    """


class StorageAccessError(StorageError, PermissionError):
    """The store refused access (HTTP 401/403): wrong or missing credentials."""


class StorageObjectNotFoundError(StorageError, FileNotFoundError):
    """An object of the index is gone from its store (deleted since it was indexed)."""


class StorageBackendError(DicomError, ImportError):
    """No installed package reads the URL's protocol; the message names the one to install."""


# the errors of a write that found no room: the disk is full, or the user's quota
_FULL = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says that the disk (or the user's quota) is full.

    Examples
    --------
    >>> disk_full(OSError(errno.ENOSPC, "No space left on device")), disk_full(KeyError())
    (True, False)
    """
    return isinstance(exc, OSError) and exc.errno in _FULL


# the errors of a write the system refuses: a read-only disk, or no permission
_REFUSED = frozenset((errno.EROFS, errno.EACCES, errno.EPERM))


def write_refused(exc: BaseException) -> bool:
    """Whether ``exc`` says that the disk is read-only or the folder may not be written.

    Examples
    --------
    >>> write_refused(OSError(errno.EROFS, "Read-only file system")), disk_full(KeyError())
    (True, False)
    """
    return isinstance(exc, OSError) and exc.errno in _REFUSED


class DiskFullError(DicomError, OSError):
    """A write found the disk (or the user's disk quota) full.

    The message names the folder, what became of the change (undone: the
    files are as they were before it) and the way out: free some space,
    then make the call again. It is an ``OSError`` whose ``errno`` is that
    of the failed write (``ENOSPC`` or ``EDQUOT``).

    Examples
    --------
    >>> exc = DiskFullError("the disk of /data is full: free some space", errno.ENOSPC)
    >>> str(exc), exc.errno == errno.ENOSPC, isinstance(exc, OSError)
    ('the disk of /data is full: free some space', True, True)
    """

    def __init__(self, message: str, code: int | None = errno.ENOSPC) -> None:
        super().__init__(code, message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.strerror, self.errno), self.__dict__ or None)

    def __str__(self) -> str:
        return str(self.strerror)


@functools.cache
def install_hint(extra: str) -> str:
    """The command that installs what dbdicom's optional extra ``extra`` brings.

    It names the packages themselves, not ``dbdicom[extra]``: on PyPI the
    name ``dbdicom`` is another project's, which ``pip install
    "dbdicom[extra]"`` would install in place of this one. The packages
    are those of this code's own list: the installed metadata of a
    distribution named ``dbdicom`` only when it is this code's (its files,
    or the folder of an editable install, are where this package is
    imported from: another project's ``dbdicom`` may be installed while
    this one runs from its source folder), else the ``pyproject.toml`` of
    the source folder this package is in; without either, the extra of
    the source folder.

    Examples
    --------
    >>> install_hint("nifti")
    "pip install 'nibabel>=5'"
    >>> install_hint("no-such-extra").split(" in ")[0]
    'pip install ".[no-such-extra]"'
    """
    package = Path(__file__).resolve().parent
    requires = next(
        (
            d.requires or []
            for d in importlib.metadata.distributions(name="dbdicom")
            if _is_this(d, package)
        ),
        None,
    )
    if requires is not None:
        marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
        packages = sorted(
            req.split(";")[0].strip() for req in requires if ";" in req and marker.search(req)
        )
    else:
        packages = sorted(_source_extras(package.parent / "pyproject.toml").get(extra, []))
    if not packages:
        return f'pip install ".[{extra}]" in the folder of dbdicom\'s source'
    return "pip install " + " ".join(f"'{p}'" for p in packages)


def _is_this(dist: importlib.metadata.Distribution, package: Path) -> bool:
    """Whether the installed distribution ``dist`` is the code of the folder ``package``.

    Its files hold this ``__init__.py`` (an installed wheel), or its
    ``direct_url.json`` names the source folder ``package`` is in (an
    editable install, whose files are a ``.pth`` file).
    """
    for file in dist.files or ():
        if file.parts[-2:] == ("dbdicom", "__init__.py"):
            if Path(str(dist.locate_file(file))).resolve() == package / "__init__.py":
                return True
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return False
    url = urllib.parse.urlparse(str(direct.get("url") or "")) if isinstance(direct, dict) else None
    if url is None or url.scheme != "file":
        return False
    source = Path(urllib.parse.unquote(url.path)).resolve()  # a POSIX file: URL's path
    return package.parent in (source, source / "src")


def _source_extras(pyproject: Path) -> dict[str, list[str]]:
    """The optional dependencies of the ``pyproject.toml`` of dbdicom's source ({} without one)."""
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    if not isinstance(project, dict) or project.get("name") != "dbdicom":
        return {}
    extras = project.get("optional-dependencies", {})
    return extras if isinstance(extras, dict) else {}
