"""Writes into an object store that refuse to overwrite what another writer made.

On S3 (s3fs) every write of a file up to 256 MB is conditional: a new
object is put only if no object has its name (``If-None-Match: *``), an
object is replaced or deleted only if it is still the one dbdicom fetched
(``If-Match`` the ETag it had then). A store that refuses the condition
answers 412 (read from the error's code, :func:`dbdicom._files.refused`),
raised here as :class:`Conflict`. A larger file is sent by s3fs's multipart
upload, which takes no condition; deletes stay conditional. Other file
systems (GCS, Azure, memory) write without conditions: there the store's
lock object (:mod:`._store_lock`) and the check before a save (every
object's ETag compared with the one it had when fetched) are the guard,
and a write of another program between that check and the write is not
seen.

Whether an object is still the one fetched is told by its ETag, recorded
when it was fetched (:func:`same_etag`); whether it holds bytes written
here, by the ETag the write returned (recorded by the caller), or by its
ETag where that is their MD5 (an object put whole, :func:`is_file`). An
ETag that is no MD5 (a multipart upload's ``...-N``; GCS's, Azure's) and
was not recorded says nothing of the bytes: such an object is never taken
for one written here, whatever its size.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._files import Store, listed_keys, refused

__all__ = ["Conflict", "delete", "digest", "etag", "is_file", "listed", "put", "same_etag"]

#: files up to this size are put by one conditional PUT (larger: s3fs's own upload)
_ONE_PUT = 1 << 28


class Conflict(Exception):
    """The store refused a conditional write: another writer changed the object."""


def digest(path: str | os.PathLike[str]) -> str:
    """The MD5 of a local file (read in chunks)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def etag(info: Mapping[str, Any]) -> str:
    """The object's ETag, without quotes ("" when the store gives none)."""
    return str(info.get("ETag") or info.get("etag") or "").strip('"')


def is_file(info: Mapping[str, Any] | None, md5: str, size: int) -> bool:
    """Whether the object ``info`` holds the bytes of MD5 ``md5`` and ``size``."""
    if info is None or int(info.get("size", -1)) != size:
        return False
    tag = etag(info)
    if not tag:  # a store that gives no ETag (memory): the size is all it says
        return True
    # an ETag that is no MD5 (multipart, GCS, Azure) tells nothing of the bytes: not these
    return len(tag) == 32 and "-" not in tag and tag.lower() == md5


def same_etag(info: Mapping[str, Any] | None, tag: str, size: int) -> bool:
    """Whether the object ``info`` is still the one of ETag ``tag`` and ``size`` (fetched)."""
    return info is not None and int(info.get("size", -1)) == size and etag(info) == tag


def listed(store: Store, rels: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What the store says now of those objects of ``rels`` that exist (one listing a folder)."""
    fs = store.filesystem()[0]
    fs.invalidate_cache()
    wanted = {store.path_of(r): r for r in rels}
    found = listed_keys(fs, list(wanted))
    return {wanted[k]: info for k, info in found.items() if info.get("type", "file") == "file"}


def s3_call(fs: Any) -> Any:
    """s3fs's call of the S3 API, or None for other file systems."""
    return getattr(fs, "call_s3", None) if hasattr(fs, "split_path") else None


def put(
    store: Store,
    rel: str,
    source: str | os.PathLike[str] | bytes,
    if_match: str | None = None,
    new: bool = False,
) -> str:
    """Put the local file (or bytes) ``source`` at ``rel``, maybe on a condition; its ETag.

    Only over the object of ETag ``if_match``, or only where nothing is
    (``new``), where the store can say so (S3). Raises :class:`Conflict`
    when the store refuses the condition. The ETag is the one the PUT
    returned, or (a write without condition) the one the store gives just
    after ("" when it gives none).
    """
    fs = store.filesystem()[0]
    path = store.path_of(rel)
    call = s3_call(fs)
    small = isinstance(source, bytes) or os.path.getsize(source) <= _ONE_PUT
    if call is not None and small and (if_match or new):
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        bucket, key, _ = fs.split_path(path)
        cond = {"IfNoneMatch": "*"} if new else {"IfMatch": f'"{if_match}"'}
        try:
            answer = call("put_object", Bucket=bucket, Key=key, Body=data, **cond)
        except Exception as exc:  # the store's boundary: a refused condition, or else
            if refused(exc):
                raise Conflict(str(exc)) from exc
            raise
        fs.invalidate_cache(path)
        return etag(answer or {})
    if isinstance(source, bytes):
        fs.pipe_file(path, source)
    else:
        fs.put_file(os.fspath(source), path)
    fs.invalidate_cache(path)
    try:
        return etag(fs.info(path))
    except FileNotFoundError:
        return ""


def delete(store: Store, rel: str, if_match: str | None = None) -> None:
    """Delete the object ``rel``; only if its ETag is ``if_match`` (where the store can)."""
    fs = store.filesystem()[0]
    path = store.path_of(rel)
    call = s3_call(fs)
    if call is not None and if_match:
        bucket, key, _ = fs.split_path(path)
        try:
            call("delete_object", Bucket=bucket, Key=key, IfMatch=f'"{if_match}"')
        except Exception as exc:  # the store's boundary
            if refused(exc):
                raise Conflict(str(exc)) from exc
            raise
        return
    try:
        fs.rm_file(path)
    except FileNotFoundError:
        pass
