"""Listings of an S3 prefix by presigned ``ListObjectsV2`` GETs: :func:`fast_find`.

A database in an S3 store is listed at every open: the listing is what
tells the index which objects were added, removed or changed. s3fs's
``fs.find(prefix, detail=True)`` spends ~0.1 ms of CPU an object, most of
it in botocore parsing each object's ``LastModified`` with dateutil: 0.2 s
for 2,000 objects, some 20 s for 200,000, paid at each open. Here each page
of the listing is a GET of a URL presigned by the file system's own client,
on the session its byte ranges are read with (:mod:`._ranges`), and its XML
is read by the standard library's parser: the same entries (name, size,
ETag, modification time) in a few microseconds an object.

Where that would not be the same listing, :func:`fast_find` gives None and
the caller lists with ``fs.find`` as before: a file system whose ranges are
not read this way (see :func:`~dbdicom._files._ranges.cat_ranges`), a
prefix without objects (a missing bucket, one object named as the prefix,
no such prefix: s3fs tells which), any answer other than 200 (a refusal,
a busy server: s3fs retries and raises as it does), a request that fails,
an answer not shaped as a ``ListBucketResult``. No presigned URL is kept:
an error of the fast path is dropped before s3fs lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus
from xml.etree import ElementTree

from ._ranges import _Fetcher, _fetcher

__all__ = ["fast_find"]

#: keys asked for a page (S3's most; the tests ask for fewer)
PAGE = 1000


def fast_find(fs: Any, path: str) -> dict[str, dict[str, Any]] | None:
    """Every object below the prefix ``path`` of ``fs``, as ``fs.find(path, detail=True)``.

    Each entry has the keys a listing of s3fs gives and dbdicom reads:
    ``name``, ``size``, ``type`` (``"file"``), ``ETag`` and
    ``LastModified`` (seconds since the epoch, as a float: the timestamp of
    the datetime s3fs gives). None: not listed here; list with ``fs.find``.

    Examples
    --------
    A file system other than s3fs's is listed by itself:

    >>> import fsspec
    >>> fast_find(fsspec.filesystem("memory"), "/any") is None
    True
    """
    fetcher = _fetcher(fs)
    if fetcher is None or fetcher.off:
        return None
    bucket, key, _ = fs.split_path(path)
    if not bucket:
        return None
    prefix = key.lstrip("/") + "/" if key else ""
    try:
        import fsspec.asyn  # optional extra: the file system is fsspec's

        found = fsspec.asyn.sync(fetcher.loop, _pages, fetcher, fs, bucket, prefix)
    except Exception:  # signing, the connection...: s3fs lists, and says why if it fails
        found = None  # (listed outside the except: its error must not chain this one)
    return found or None


async def _pages(
    fetcher: _Fetcher, fs: Any, bucket: str, prefix: str
) -> dict[str, dict[str, Any]] | None:
    """The entries of every page of the listing; None at the first page not read."""
    await fetcher.ready(fs)
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {
        "Bucket": bucket,
        "Prefix": prefix,
        "EncodingType": "url",
        "MaxKeys": PAGE,
    }
    while True:
        status, _, body = await fetcher.signed_get(fs, bucket, "list_objects_v2", params, {})
        page = _page(body, bucket) if status == 200 else None
        if page is None:
            return None
        entries, token = page
        found.update(entries)
        if token is None:
            return found
        params["ContinuationToken"] = token


def _page(body: bytes, bucket: str) -> tuple[dict[str, dict[str, Any]], str | None] | None:
    """The entries of one ``ListBucketResult`` and the token of the next page (None: the last).

    None where the answer is not one, or an entry lacks its key or size or
    has a modification time that does not read.

    Examples
    --------
    >>> body = (
    ...     b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    ...     b"<IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>"
    ...     b"<Contents><Key>ct/a+b%2B.dcm</Key><Size>12</Size>"
    ...     b"<LastModified>2026-12-08T00:31:05.250Z</LastModified>"
    ...     b"<ETag>&quot;9a0364b9e99bb480dd25e1f0284c8555&quot;</ETag></Contents>"
    ...     b"</ListBucketResult>"
    ... )
    >>> entries, token = _page(body, "b")
    >>> entries["b/ct/a b+.dcm"]["size"], entries["b/ct/a b+.dcm"]["ETag"], token
    (12, '"9a0364b9e99bb480dd25e1f0284c8555"', None)
    >>> entries["b/ct/a b+.dcm"]["LastModified"]
    1796689865.25
    >>> _page(b"<Error><Code>AccessDenied</Code></Error>", "b") is None
    True
    """
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    if root.tag != f"{ns}ListBucketResult":
        return None
    # keys are URL-encoded where the answer says so (botocore decodes them then)
    encoded = (root.findtext(f"{ns}EncodingType") or "").lower() == "url"
    entries: dict[str, dict[str, Any]] = {}
    for item in root.iterfind(f"{ns}Contents"):
        key, size = item.findtext(f"{ns}Key"), item.findtext(f"{ns}Size")
        when = item.findtext(f"{ns}LastModified")
        if key is None or size is None or not size.strip().isdigit() or not when:
            return None
        try:
            stamp = datetime.fromisoformat(when.strip())
        except ValueError:
            return None
        if stamp.tzinfo is None:  # (S3 gives UTC: a time without its zone is not S3's)
            return None
        name = f"{bucket}/{unquote_plus(key) if encoded else key}"
        entries[name] = {
            "name": name,
            "size": int(size),
            "type": "file",
            "ETag": item.findtext(f"{ns}ETag"),
            "LastModified": stamp.timestamp(),
        }
    truncated = (root.findtext(f"{ns}IsTruncated") or "").strip().lower() == "true"
    token = root.findtext(f"{ns}NextContinuationToken") if truncated else None
    if truncated and not token:
        return None
    return entries, token
