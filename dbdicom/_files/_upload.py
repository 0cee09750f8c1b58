"""Files of a local folder put into a store fsspec writes (S3, GCS, Azure): what an export sends.

An export into a store is written into a temporary local folder first, as
any export is, then uploaded here with the store's own file system
(:meth:`~dbdicom._files.Store.filesystem`: fsspec's ``put``, concurrent on
asynchronous file systems). Objects of the same names are replaced, as a
local export replaces its files; other objects under the prefix are left.
When the upload fails, the objects it had made that were not there before
are removed, so that no half-exported series stays; an object it had
already replaced is not the old one any more, and the error says how many
were.

Only protocols whose stores take writes are let through (:data:`WRITABLE`);
a zip file, an HTTP server and other read-only ones raise
:class:`~dbdicom.ReadOnlyError` with the way out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from typing import Any

from .._errors import DicomError, ReadOnlyError, StorageAccessError, StorageError
from ._codes import denied
from ._remote import Store
from ._urls import redact

__all__ = ["WRITABLE", "listed_keys", "upload_folder", "writable_store"]

#: the fsspec protocols of stores an export may write into
WRITABLE = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})


def writable_store(url: str, options: Any = None) -> Store:
    """The :class:`Store` at ``url``, if an export may write into it.

    Raises
    ------
    dbdicom.ReadOnlyError
        ``url`` is of a store that takes no writes (a zip file, an HTTP
        server): the message says what to give instead.

    Examples
    --------
    >>> writable_store("s3://bucket/results").name
    's3://bucket/results'
    >>> writable_store("https://host/data")
    Traceback (most recent call last):
    ...
    dbdicom._errors.ReadOnlyError: cannot export into https://host/data: ...
    """
    store = Store(url, dict(options or {}))
    if "::" in url or store.protocol not in WRITABLE:
        raise ReadOnlyError(
            f"cannot export into {store.name}: dbdicom writes exports into local folders, "
            "zip files (a path, or an object store's URL, ending in .zip), object stores "
            "(s3://, gs://, az://) and, for DICOM files, DICOMweb archives "
            "(export_as_dicom('dicomweb+http(s)://host/dicom-web'), with STOW-RS); not into "
            f"{store.protocol}:// URLs. Give a folder, a bucket's URL, or the archive's "
            "dicomweb+ URL."
        )
    return store


def _files_below(folder: str) -> list[str]:
    """Every file below ``folder``, as paths relative to it with ``/``, sorted."""
    found = []
    for dirpath, _, names in os.walk(folder):
        for name in names:
            rel = os.path.relpath(os.path.join(dirpath, name), folder)
            found.append(rel.replace(os.sep, "/"))
    return sorted(found)


def upload_folder(store: Store, folder: str) -> int:
    """Put every file below ``folder`` into ``store``, at the same relative paths.

    Returns the number of objects written.

    Raises
    ------
    dbdicom.StorageAccessError
        The store refused the writes (credentials that may not write).
    dbdicom.StorageError
        Any other failure (the bucket does not exist, the server cannot be
        reached). The objects this upload made are removed first: those
        not there before it began whose size (and MD5, where the store's
        ETag is one) are the file's; the message says which could not be.
    """
    fs, base = store.filesystem()
    rels = _files_below(folder)
    if not rels:
        return 0
    files = {
        (f"{base}/{rel}" if base else rel): os.path.join(folder, *rel.split("/")) for rel in rels
    }
    keys = list(files)
    try:
        fs.invalidate_cache()  # what is there now, not what a listing of this process saw
        before = set(listed_keys(fs, keys))
    except Exception as exc:  # the store's boundary: the listing that says what is there
        raise _write_error(store, exc, 0, []) from exc
    try:
        fs.put(list(files.values()), keys)
    except Exception as exc:  # the store's boundary: a refusal, a lost connection
        left = _remove_own(fs, {k: v for k, v in files.items() if k not in before})
        raise _write_error(store, exc, sum(k in before for k in keys), left) from exc
    fs.invalidate_cache()  # a database opened on the store next lists what is there now
    return len(keys)


def listed_keys(fs: Any, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Those of ``keys`` that are objects of ``fs`` now, with what the store says of them.

    One listing per folder the keys are in (a series' folder): not the whole
    prefix, which may hold a hospital's archive.
    """
    wanted = set(keys)
    found: dict[str, dict[str, Any]] = {}
    for folder in sorted({key.rsplit("/", 1)[0] for key in keys if "/" in key}):
        try:
            listed = fs.ls(folder, detail=True)
        except FileNotFoundError:
            continue
        for info in listed:
            name = str(info.get("name", "")).rstrip("/")
            if name in wanted:
                found[name] = info
    return found


def _own(info: dict[str, Any], path: str) -> bool:
    """Whether the object ``info`` describes is the file at ``path`` (size, and MD5 ETag)."""
    if int(info.get("size", -1)) != os.path.getsize(path):
        return False
    etag = str(info.get("ETag") or info.get("etag") or "").strip('"')
    if len(etag) != 32 or "-" in etag:  # no ETag, or a multipart upload's: the size says
        return True
    with open(path, "rb") as f:  # read in chunks: an export's file may be gigabytes
        digest = hashlib.file_digest(f, lambda: hashlib.md5(usedforsecurity=False))
    return digest.hexdigest() == etag.lower()


def _remove_own(fs: Any, made: dict[str, str]) -> list[str]:
    """Remove the objects of ``made`` (key: local file) that are those files; those left.

    An object another writer made at one of the keys meanwhile is not this
    upload's (another size or content): it stays, and is not counted.
    """
    try:
        fs.invalidate_cache()
        there = listed_keys(fs, list(made))
        own = [key for key, info in there.items() if _own(info, made[key])]
    except Exception:  # the store's boundary: what is there cannot be known
        return list(made)
    if not own:
        return []
    try:
        fs.rm(own)
    except Exception:  # the store's boundary: the error says which are left
        with contextlib.suppress(Exception):
            fs.invalidate_cache()
            return [key for key in own if key in listed_keys(fs, own)]
        return own
    return []


def _write_error(store: Store, exc: BaseException, replaced: int, left: list[str]) -> DicomError:
    """The error of a failed upload into ``store``.

    ``replaced``: objects of the same names that were there before it
    began; ``left``: objects it made that could not be removed.
    """
    cause = store.scrub(f"{type(exc).__name__}: {exc}")
    if left:
        after = (
            f"{len(left)} object(s) this export made could not be removed (e.g. "
            f"{redact(left[0])}): remove them by hand (s3fs: fs.rm([...]))."
        )
    else:
        after = "The objects this export made are removed."
    if replaced:
        after += (
            f" {replaced} object(s) of the same names were there before and may have been "
            "replaced already."
        )
    if denied(exc):
        return StorageAccessError(
            f"cannot export into {store.name}: the store refused the writes ({cause}). Give "
            f"credentials that may write there: export_as_...(url, storage_options={{...}}). "
            f"{after}"
        )
    return StorageError(
        f"cannot export into {store.name} ({cause}): check that the bucket exists, the server "
        f"is reachable and the URL right, then export again. {after}"
    )
