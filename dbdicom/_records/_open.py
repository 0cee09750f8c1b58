"""Opening databases: ``db.database`` and ``db.dicomweb``.

A folder, an fsspec URL or a new database; a DICOMweb archive (see ``_web``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydicom.datadict import tag_for_keyword

from .._errors import DatabaseNotFoundError, ReadOnlyError
from .._files import WRITABLE, Store, is_url
from .._index import Index, RemoteIndex, StagedIndex
from .._interaction import DialogLike, StatusLike
from .._journal import FolderLock, probe_writes
from ._database import Database
from ._edit import open_databases
from ._web import is_dicomweb, open_archive

__all__ = ["database", "dicomweb"]

# databases without a folder of their own: their temporary folders go at exit,
# those of databases no longer held too (a weak set forgot them: one folder left
# in /tmp by every such database not closed, 540 a run of the tests)
_TEMPORARY: weakref.WeakSet[Database] = weakref.WeakSet()
_TEMPORARY_FOLDERS: list[Path] = []


@atexit.register
def _remove_temporary() -> None:
    for db in list(_TEMPORARY):
        db._closed = True
    for folder in _TEMPORARY_FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


def dicomweb(
    url: str,
    *,
    session: Any = None,
    cache: str | os.PathLike[str] | None = None,
    status: StatusLike | None = None,
    dialog: DialogLike | None = None,
    keep_pixels: bool = False,
    **filters: Any,
) -> Database:
    """Open a DICOMweb archive (Orthanc, dcm4chee, a cloud DICOM store) as a database.

    ``db.database("dicomweb+http://host:port/dicom-web", ...)`` does the
    same, with the same keywords. The series are listed with QIDO-RS, their headers
    fetched with WADO-RS metadata (one request per new series) and kept in
    ``cache``; queries and attributes work as for a folder, and
    ``to_xarray()`` reads the frames from the server when computed, also on
    a dask cluster. Store a series into the archive with
    ``series.export_as_dicom(url)``. Needs the ``dicomweb`` extra; see
    docs/dicomweb.md.

    Parameters
    ----------
    url : str
        The root of the DICOMweb services, ``http(s)://...`` with or without
        ``dicomweb+``; a user name and password in it are taken out of it
        and used as HTTP basic authentication.
    session : requests.Session, optional
        Its ``auth`` and headers (a token) are used for every request, also
        by dask workers in other processes (they must pickle).
    cache : path, optional
        Where the headers are kept (default: the user cache, a folder per URL).
    keep_pixels : bool, default False
        Keep the instances of a series read whole (one WADO-RS request) in
        ``cache``, and read them there next time: a snapshot, used while
        the server says the series has as many instances (so an instance
        deleted and another added, or one replaced under its UID, is not
        seen until the cache is deleted). Without it every read asks the
        server, which says when an instance is gone.
    **filters
        Which instances to hold: those ``database.instances(**filters)``
        would select from the whole archive (the syntax of
        :meth:`Database.instances`). A patient, study or series key
        (``Modality="MR"``, ``StudyDate="20240101-"``,
        ``SeriesDescription="T1*"``) holds whole series; an instance tag
        (``FlipAngle=10``, ``InstanceNumber=3``, ``SOPInstanceUID=...``)
        the instances that match, so a series may be held in part. The
        server matches those QIDO-RS can (one value or date range of a
        patient, study or series key: only those series' headers are
        fetched); dbdicom matches all of them again on the headers. The
        headers of the instances left out stay in ``cache``, set aside: a
        reopen with the same filters fetches none again, one with other
        filters or none puts them back without asking the server (a
        function is matched again at every open). A series held in part
        is read instance by instance, and not kept by ``keep_pixels``. A
        cache folder holds one selection at a time: without ``cache``,
        opens with other filters get a folder each; two given one
        ``cache`` and open at once, the one whose instances the other set
        aside refuses to ``refresh()`` (:class:`dbdicom.StaleFileError`)
        rather than hold fewer (docs/dicomweb.md).

    Raises
    ------
    dbdicom.ServerError
        The server cannot be reached or is not a DICOMweb service;
        :class:`dbdicom.ServerAccessError` when it answers 401 or 403. The
        message names the URL without credentials, the cause and the way out.

    Examples
    --------
    >>> db.dicomweb("dicomweb+http://127.0.0.1:9/dicom-web")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dbdicom._errors.ServerError: listing the series of http://127.0.0.1:9/dicom-web failed: ...
    """

    def make(folder: Path, index: Index) -> Database:
        return Database(folder, status=status, dialog=dialog, index=index)

    return open_archive(url, session, cache, make, filters, keep_pixels)


def database(
    path: str | os.PathLike[str] | None = None,
    *,
    status: StatusLike | None = None,
    dialog: DialogLike | None = None,
    follow_links: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    writable: bool = False,
    session: Any = None,
    cache: str | os.PathLike[str] | None = None,
    keep_pixels: bool = False,
    **filters: Any,
) -> Database:
    """Open a folder of DICOM files as a database (or, without a path, a new one).

    The first time, every file is read (headers only, in parallel) and the
    index is saved in a hidden folder ``.dbdicom`` inside the database folder;
    later, the saved index is loaded and only the folders whose modification
    time changed are listed again: files added, replaced (size or time) or
    removed there are read or dropped. A file rewritten in place (its
    folder's time unchanged) is read again when dbdicom next reads it, or by
    :meth:`Database.refresh` with ``full=True``. Files that are not DICOM,
    or cannot be read, are listed by :meth:`Database.problems` and
    :meth:`Database.print`; no file of the folder is ever modified.

    Parameters
    ----------
    path : str or path-like, optional
        The folder. Sub-folders are included; hidden files and folders
        (names starting with ``.``) are not. Or a URL that fsspec reads
        (``s3://bucket/prefix``, ``gs://``, ``https://``, ``file://``,
        ``zip://::archive.zip``), or a path ending in ``.zip``: a read-only
        database whose headers and frames are read by range (see
        docs/remote.md), unless ``writable``. Without a path: a new, empty
        database that has no folder of its own; it lives in a temporary
        folder, deleted when it is closed or when Python exits, until
        ``database.save(path)`` writes it as a folder. A URL
        ``"dicomweb+http://host:port/dicom-web"`` opens a DICOMweb archive:
        ``db.database(url, ...)`` is :func:`dbdicom.dicomweb` ``(url, ...)``,
        with its keywords ``session``, ``cache``, ``keep_pixels`` and filters.
    status : StatusLike, optional
        Where messages, warnings and progress show: by default
        (:class:`dbdicom.Status`) messages go to the logger ``"dbdicom"``
        and progress to tqdm bars; or a GUI's status bar (any object with
        ``message`` and ``progress``), which then receives them all.
    dialog : DialogLike, optional
        Who asks the user: the terminal by default, or a GUI's pop-ups (any
        object with the methods of :class:`dbdicom.DialogLike`).
    follow_links : bool
        Also read the files that symbolic links lead to outside the folder.
        By default such links are listed by :meth:`Database.problems` and
        not followed. Links to files inside the folder are always read (a
        link to a file that is read under its own path is skipped: one file,
        one instance); links to folders are never followed; named pipes,
        sockets, devices and dangling links are listed and never opened. A
        file reached through a link is never changed: an edit replaces the
        link by the edited file (``restore()`` puts the link back).
    storage_options : mapping, optional
        For a URL: fsspec's options of its file system (credentials,
        ``endpoint_url``...); never stored, printed or raised.
    writable : bool, default False
        For the URL of an object store (``s3://``, ``gs://``, ``az://``):
        open it to be changed, with the editing API of a folder. Changes
        are staged in a working folder of the user data folder (the journal,
        new and rewritten files) and nothing in the store changes until
        ``save()``, which puts new objects first, then the replaced ones,
        and deletes the removed ones last; ``restore()`` drops the staged
        changes. The first change takes a lock object
        (``<prefix>/.dbdicom/store-lock.json``): one writer at a time. A write is tried
        at once (a hidden object, deleted again), so that credentials that
        may not write are a :class:`dbdicom.StorageAccessError` here, not
        at a save. See docs/remote.md.
    session, cache, keep_pixels, **filters
        For a ``dicomweb+`` URL only: as :func:`dbdicom.dicomweb` takes them.

    Returns
    -------
    Database

    Raises
    ------
    TypeError
        A keyword that does not apply to ``path``: those of a DICOMweb
        archive for a folder or another URL, ``follow_links``,
        ``storage_options`` or ``writable`` for a DICOMweb archive. The
        message names the call that takes it.

    Examples
    --------
    >>> import tempfile, dbdicom as db
    >>> from dbdicom._demo import build_demo
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = build_demo(folder)
    ...     database = db.database(folder)
    ...     len(database.patients()) >= 2
    True
    >>> db.database(None, session=object())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: database() takes session= only for a DICOMweb archive: ...
    """
    if is_dicomweb(path):  # a DICOMweb archive: the keywords of dbdicom.dicomweb
        _not_for_archive(follow_links, storage_options, writable)
        return dicomweb(
            str(path),
            session=session,
            cache=cache,
            status=status,
            dialog=dialog,
            keep_pixels=keep_pixels,
            **filters,
        )
    _not_for_folder(session, cache, keep_pixels, filters)
    if path is None:
        folder = Path(tempfile.mkdtemp(prefix="dbdicom-memory-"))
        new = Database(folder, status=status, dialog=dialog)
        new._temporary = True
        _TEMPORARY.add(new)
        _TEMPORARY_FOLDERS.append(folder)
        return new
    if is_url(path):
        store = Store(os.fspath(path), dict(storage_options or {}))
        if writable:
            if "::" in store.url or store.protocol not in WRITABLE:
                raise ReadOnlyError(
                    f"{store.name} cannot be opened writable: dbdicom changes databases in "
                    "local folders and object stores (s3://, gs://, az://), not in "
                    f"{store.protocol}:// URLs. Open it without writable=True (read-only), "
                    "or download it (database.save(folder)) and change the copy."
                )
            probe_writes(store)
        index: RemoteIndex = StagedIndex(store) if writable else RemoteIndex(store)
        try:
            return Database(index.name, status=status, dialog=dialog, index=index)
        except BaseException:
            _discard(index)  # nothing left in the user cache or data folder
            raise
    root = Path(path).expanduser()
    if not root.exists():
        raise DatabaseNotFoundError(
            f"{str(root)!r} does not exist: give the path of a folder of DICOM files."
        )
    if not root.is_dir():
        raise DatabaseNotFoundError(
            f"{str(root)!r} is a file, not a folder: give the folder that holds it "
            f"(db.database({str(root.parent)!r}))."
        )
    return Database(root.absolute(), status=status, dialog=dialog, follow_links=follow_links)


def _not_for_folder(session: Any, cache: Any, keep_pixels: bool, filters: dict[str, Any]) -> None:
    """Refuse the keywords of a DICOMweb archive given for a folder or another URL."""
    given = [
        name
        for name, value in (
            ("session", session is not None),
            ("cache", cache is not None),
            ("keep_pixels", bool(keep_pixels)),
        )
        if value
    ]
    if given:
        said = ", ".join(f"{name}=" for name in given)
        raise TypeError(
            f"database() takes {said} only for a DICOMweb archive: "
            f"db.database('dicomweb+http://host:port/dicom-web', {said}...) or "
            f"db.dicomweb(url, {said}...). A folder or another URL takes follow_links=, "
            "storage_options= and writable= (for an object store's credentials: "
            "storage_options=)."
        )
    if filters:
        name = next(iter(filters))
        if tag_for_keyword(name) is None:  # not a filter: a typo, as Python would say it
            raise TypeError(f"database() got an unexpected keyword argument {name!r}")
        raise TypeError(
            f"database() got an unexpected keyword argument {name!r}: filters at the open "
            f"(db.database(url, {name}=...)) are for a DICOMweb archive, whose URL starts "
            f"with 'dicomweb+'; in a folder, select with database.instances({name}=...)."
        )


def _not_for_archive(
    follow_links: bool, storage_options: Mapping[str, Any] | None, writable: bool
) -> None:
    """Refuse the keywords of a folder or an object store given for a DICOMweb archive."""
    given = [
        name
        for name, value in (
            ("follow_links", follow_links),
            ("storage_options", storage_options),
            ("writable", writable),
        )
        if value
    ]
    if given:
        said = ", ".join(f"{name}=" for name in given)
        raise TypeError(
            f"database() takes {said} only for a folder or the URL of a store, not for a "
            "DICOMweb archive, which takes session= (its credentials), cache=, keep_pixels= "
            "and filters, as db.dicomweb(url, ...) does; an archive is changed by storing "
            "into it (series.export_as_dicom(url)), not in place."
        )


def _discard(index: RemoteIndex) -> None:
    """Take away what an open of ``index`` that failed made (see :meth:`RemoteIndex.discard`).

    All of its folder when this open made it and nothing else uses it: no
    database of this process is open on it, and no other process holds its
    writer's lock (a writable store's, taken at the first change); else
    only its empty folders.
    """
    root = os.path.realpath(index.root)
    shared = any(os.path.realpath(d._index.root) == root for d in open_databases())
    index.discard(whole=index.made and not shared and not _locked(index.store / "lock"))


def _locked(path: Path) -> bool:
    """Whether a process holds the lock file ``path`` (this one too, through another handle)."""
    if not path.exists():
        return False
    lock = FolderLock(path)
    if not lock.acquire():
        return True
    lock.release()
    return False
