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
import os
from typing import Any

from .._errors import DicomError, ReadOnlyError, StorageAccessError, StorageError
from ._remote import Store, redact

__all__ = ["WRITABLE", "upload_folder", "writable_store"]

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
            "object stores (s3://, gs://, az://) and, for DICOM files, DICOMweb archives "
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
        reached). The objects this upload made are removed first.
    """
    fs, base = store.filesystem()
    rels = _files_below(folder)
    if not rels:
        return 0
    keys = [f"{base}/{rel}" if base else rel for rel in rels]
    try:
        before = _there(fs, keys)
    except Exception as exc:  # the store's boundary: the listing that says what is there
        raise _write_error(store, exc, 0) from exc
    try:
        fs.put([os.path.join(folder, *rel.split("/")) for rel in rels], keys)
    except Exception as exc:  # the store's boundary: a refusal, a lost connection
        made = [key for key in keys if key not in before]
        with contextlib.suppress(Exception):  # best effort: what cannot go is said below
            fs.invalidate_cache()
            there = _there(fs, made)
            made = [key for key in made if key in there]
            if made:
                fs.rm(made)
        replaced = sum(key in before for key in keys)
        raise _write_error(store, exc, replaced) from exc
    fs.invalidate_cache()  # a database opened on the store next lists what is there now
    return len(keys)


def _there(fs: Any, keys: list[str]) -> set[str]:
    """Those of ``keys`` that are objects of ``fs`` now.

    One listing per folder the keys are in (a series' folder): not the whole
    prefix, which may hold a hospital's archive.
    """
    found: set[str] = set()
    for folder in sorted({key.rsplit("/", 1)[0] for key in keys if "/" in key}):
        try:
            found.update(str(p).rstrip("/") for p in fs.ls(folder, detail=False))
        except FileNotFoundError:
            continue
    return found & set(keys)


def _write_error(store: Store, exc: BaseException, replaced: int) -> DicomError:
    """The error of a failed upload into ``store``; ``replaced``: objects it had overwritten."""
    cause = store.scrub(f"{type(exc).__name__}: {exc}")
    lost = (
        f" {replaced} object(s) of the same names were there before and may have been "
        "replaced already."
        if replaced
        else ""
    )
    if isinstance(exc, PermissionError) or "403" in cause or "AccessDenied" in cause:
        return StorageAccessError(
            f"cannot export into {store.name}: the store refused the writes ({cause}). Give "
            "credentials that may write there: export_as_...(url, storage_options={...}). "
            f"The objects this export made are removed.{lost}"
        )
    where = redact(store.url)
    return StorageError(
        f"cannot export into {where} ({cause}): check that the bucket exists, the server is "
        f"reachable and the URL right, then export again. The objects this export made are "
        f"removed.{lost}"
    )
