"""Byte ranges of objects in a store: :func:`cat_ranges`, fast on S3.

What ``fs.cat_ranges(paths, starts, ends, on_error="return")`` gives, for
every fsspec file system; on S3 (``s3fs``) most of the client's time is not
spent waiting for the server but in botocore's machinery, ~1.2 ms of CPU a
request (building, validating, signing and parsing each ``GetObject``), which
bounds an index scan (one ranged read per object) and a load (one per
object). Here each range of an S3 object is a GET of a URL presigned by the
file system's own client (its credentials, refreshed as botocore refreshes
them, its endpoint, region and addressing), fetched with a ``Range`` header
over one ``aiohttp`` session per file system, at most :data:`CONCURRENCY` at
a time, on fsspec's event loop: ~0.3 ms a request, presigning included.

Only where that is the same read: a synchronous ``S3FileSystem`` that is not
version-aware, without requester-pays, without any ``s3_additional_kwargs``
that ``GetObject`` takes (SSE-C customer keys, an expected bucket owner...),
without a client certificate or a proxy (in the client's configuration or
the environment). Any other file system, and any option above, is read by
``fs.cat_ranges`` as before. A range whose request does not end in a clean
HTTP answer (the URL could not be signed, the connection failed or was
reset, a truncated body) is read again by s3fs, which retries and raises as
it does; so is a redirect (another region's endpoint) and a refusal (400,
403): s3fs's signed request confirms it, with its own error, or is given
the bytes, and then a policy refuses query-string signatures and the file
system is read by ``fs.cat_ranges`` from then on. 5xx and 429 answers are
asked again a few times (:data:`ATTEMPTS`, backing off as s3fs does) and
then, like other 4xx answers, become the exception s3fs raises for the same
S3 error code (``FileNotFoundError`` for ``NoSuchKey``, ``OSError`` EINVAL
for ``InvalidRange``...), so that dbdicom's errors stay what they were.

A presigned URL is a credential for as long as it is valid: it is made just
before its request, valid for :data:`EXPIRES` seconds, and never put in an
exception, a message or a log; errors carry the S3 code and message only.
The listings of a prefix are presigned GETs on the same session
(:meth:`_Fetcher.signed_get`, used by :mod:`._listing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import re
import ssl
import threading
import urllib.request
import weakref
from collections.abc import Sequence
from email.utils import formatdate
from typing import Any

__all__ = ["ATTEMPTS", "CONCURRENCY", "EXPIRES", "ObjectChanged", "cat_ranges", "cat_whole"]

#: requests in flight at once on one file system
CONCURRENCY = 32
#: seconds a presigned URL is valid: it is made just before its request
EXPIRES = 300
#: requests of a range answered 5xx or 429 before its error is returned
ATTEMPTS = 5
_CODE = re.compile(rb"<Code>([^<]{1,200})</Code>")
_MESSAGE = re.compile(rb"<Message>([^<]{0,2000})</Message>")
_QUERY = re.compile(r"(https?://[^\s?'\"]*)\?[^\s'\"]*")
_sleep = asyncio.sleep  # (the tests wait less)
_MAKING = threading.Lock()
_FETCHERS: dict[tuple[int, int], _Fetcher | None] = {}


def cat_ranges(
    fs: Any,
    paths: Sequence[str],
    starts: Sequence[int],
    ends: Sequence[int],
    unmodified: Sequence[int | None] | None = None,
) -> list[bytes | Exception]:
    """Bytes ``[start, end)`` of each object, or the exception of its read, in order.

    What ``fs.cat_ranges(paths, starts, ends, on_error="return")`` gives
    (a server's answer as it came: the whole object where it ignored the
    range); on S3, fetched by presigned GETs over one aiohttp session where
    that is the same read (see the module's docstring), else by ``fs``.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
        The file system that holds ``paths``.
    paths : sequence of str
        The objects' paths in ``fs``.
    starts, ends : sequence of int
        The first byte of each range and the byte after its last.
    unmodified : sequence of int or None, optional
        Per range, the object's modification time (ns) as listed: where the
        presigned GETs read, the object must not have changed since
        (``If-Unmodified-Since``), else its place holds an
        :class:`ObjectChanged`. Not checked where ``fs.cat_ranges`` reads.

    Examples
    --------
    >>> import fsspec
    >>> fs = fsspec.filesystem("memory")
    >>> fs.pipe("/ranges-example/a", b"0123456789")
    >>> cat_ranges(fs, ["/ranges-example/a"] * 2, [0, 8], [4, 20])
    [b'0123', b'89']
    """
    if not paths:
        return []
    fetcher = _fetcher(fs)
    if fetcher is None or fetcher.off:
        got = fs.cat_ranges(list(paths), list(starts), list(ends), on_error="return")
        return [g if isinstance(g, bytes | Exception) else bytes(g) for g in got]
    times: list[int | None] = list(unmodified) if unmodified is not None else [None] * len(paths)
    return fetcher.run(list(paths), list(starts), list(ends), times)


def cat_whole(fs: Any, path: str, unmodified: int | None = None) -> bytes:
    """The whole object ``path``: ``fs.cat_file(path)``, on S3 not changed since ``unmodified``.

    Where :func:`cat_ranges` reads by presigned GETs, so is the object, and
    with ``unmodified`` (its modification time as listed, ns) the GET
    carries ``If-Unmodified-Since``, as the ranges do; any other error is
    the one s3fs's ``cat_file`` raises (the object is asked for again).

    Raises
    ------
    ObjectChanged
        The object was modified since ``unmodified``.

    Examples
    --------
    >>> import fsspec
    >>> fs = fsspec.filesystem("memory")
    >>> fs.pipe("/ranges-example/b", b"0123456789")
    >>> cat_whole(fs, "/ranges-example/b")
    b'0123456789'
    """
    fetcher = _fetcher(fs)
    if fetcher is None or fetcher.off or not unmodified:
        return bytes(fs.cat_file(path))
    (got,) = fetcher.run([path], [0], [None], [unmodified])
    if isinstance(got, ObjectChanged):
        raise got
    if isinstance(got, Exception):  # s3fs's read raises its own error, as before
        return bytes(fs.cat_file(path))
    return got


class ObjectChanged(OSError):
    """An object modified since the time it was listed with (see :func:`cat_ranges`)."""


def _fetcher(fs: Any) -> _Fetcher | None:
    """The fast reader of ``fs``, made once; None where ``fs.cat_ranges`` reads."""
    if not type(fs).__module__.startswith("s3fs"):
        return None
    key = (id(fs), os.getpid())
    with _MAKING:
        if key in _FETCHERS:
            found = _FETCHERS[key]
            if found is None or found.fs is fs:
                return found
        try:
            made = _Fetcher.of(fs)
        except Exception:  # no client, an unreadable CA bundle...: s3fs's reads say why
            made = None
        _FETCHERS[key] = made
        weakref.finalize(fs, _forget, key, made)
        return made


def _forget(key: tuple[int, int], fetcher: _Fetcher | None) -> None:
    """Drop the reader of a file system that is gone and close its session."""
    if key in _FETCHERS and _FETCHERS[key] is fetcher:
        del _FETCHERS[key]
    if fetcher is not None:
        fetcher.close()


def _safe(fs: Any) -> bool:
    """Whether a presigned GET with a ``Range`` header is what s3fs's read of ``fs`` does."""
    import s3fs  # optional extra: the file system is s3fs's

    if not isinstance(fs, s3fs.S3FileSystem) or fs.asynchronous or fs.version_aware:
        return False
    if fs.requester_pays or fs.req_kw:
        return False
    client = fs.s3
    config = client.meta.config
    if config.proxies or getattr(config, "client_cert", None):
        return False
    get_object = client.meta.service_model.operation_model("GetObject").input_shape.members
    if any(name in get_object for name in fs.s3_additional_kwargs):
        return False  # SSE-C keys, ExpectedBucketOwner, ChecksumMode...: s3fs sends them
    scheme = str(client.meta.endpoint_url).partition(":")[0].lower()
    return scheme not in urllib.request.getproxies() and "all" not in urllib.request.getproxies()


def _ssl(fs: Any) -> ssl.SSLContext | bool:
    """The TLS settings of ``fs``'s client: its ``verify`` (a CA bundle, False), else botocore's."""
    from botocore.httpsession import get_cert_path  # optional extra: s3fs's

    verify = fs.client_kwargs.get("verify")
    if verify is None and fs.session is not None:
        verify = fs.session.get_config_variable("ca_bundle")
    if verify is False:
        return False
    return ssl.create_default_context(cafile=get_cert_path(True if verify is None else verify))


class _Fetcher:
    """Presigned ranged GETs of the objects of one S3 file system, on its event loop.

    Holds the file system weakly (it is cached by it) and its own aiohttp
    session, made on the loop at the first read and closed when the file
    system goes (or at exit).
    """

    def __init__(self, fs: Any, tls: ssl.SSLContext | bool, timeout: tuple[float, float]) -> None:
        self._fs = weakref.ref(fs)
        self.loop = fs.loop
        self.tls, self.timeout = tls, timeout
        self.session: Any = None
        self.pid = os.getpid()  # a forked child has the session and loop objects, not their thread
        self.slots: asyncio.Semaphore | None = None
        #: set when s3fs read what a presigned GET was refused: fs.cat_ranges from then on
        self.off = False

    @property
    def fs(self) -> Any:
        return self._fs()

    @classmethod
    def of(cls, fs: Any) -> _Fetcher | None:
        if not _safe(fs):
            return None
        config = fs.s3.meta.config
        return cls(fs, _ssl(fs), (config.connect_timeout, config.read_timeout))

    def run(
        self,
        paths: list[str],
        starts: list[int],
        ends: Sequence[int | None],
        times: list[int | None],
    ) -> list[bytes | Exception]:
        import fsspec.asyn  # optional extra: the file system is fsspec's

        return list(fsspec.asyn.sync(self.loop, self._all, self.fs, paths, starts, ends, times))

    async def _all(
        self,
        fs: Any,
        paths: list[str],
        starts: list[int],
        ends: Sequence[int | None],
        times: list[int | None],
    ) -> list[bytes | Exception]:
        await self.ready(fs)
        jobs = (
            self._one(fs, p, s, e, t) for p, s, e, t in zip(paths, starts, ends, times, strict=True)
        )
        return list(await asyncio.gather(*jobs))

    async def ready(self, fs: Any) -> None:
        """Make the session (on the loop, at the first request) and the file system's client."""
        if self.session is None or self.session.closed:
            import aiohttp  # optional extra: s3fs's client is aiobotocore's, on aiohttp

            connect, read = self.timeout
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONCURRENCY, ssl=self.tls),
                timeout=aiohttp.ClientTimeout(sock_connect=connect, sock_read=read),
                auto_decompress=False,
            )
            self.slots = asyncio.Semaphore(CONCURRENCY)
        await fs.set_session()

    async def signed_get(
        self, fs: Any, bucket: str, operation: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        """The status, reason and body of a GET of ``operation`` presigned by ``fs``'s client.

        Raises what signing or the connection raises; its text and frames
        may hold the URL: callers drop it (see :meth:`_one`). Call
        :meth:`ready` first.
        """
        import yarl  # aiohttp's

        assert self.slots is not None and self.session is not None
        async with self.slots:
            client = await fs.get_s3(bucket)
            url = await client.generate_presigned_url(operation, Params=params, ExpiresIn=EXPIRES)
            async with self.session.get(  # as signed: yarl would requote it
                yarl.URL(_as_signed(url), encoded=True), headers=headers, allow_redirects=False
            ) as answer:
                return answer.status, answer.reason or "", await answer.read()

    async def _one(
        self, fs: Any, path: str, start: int, end: int | None, since: int | None = None
    ) -> bytes | Exception:
        """One range: its bytes, the exception s3fs gives for its S3 error, or s3fs's read.

        ``end`` None: the whole object. ``since``: the object's listed
        modification time (ns); changed since, the range is an
        :class:`ObjectChanged`.
        """
        if start < 0 or (end is not None and end < 0):  # relative to the end: s3fs sizes first
            return await self._by_s3fs(fs, path, start, end)
        bucket, key, _ = fs.split_path(path)
        headers = {"Accept-Encoding": "identity"}
        if end is not None:
            headers["Range"] = f"bytes={start}-{end - 1}"
        if since:  # (S3 lists modification times: a stamp here is one, in whole seconds)
            headers["If-Unmodified-Since"] = formatdate(since // 10**9, usegmt=True)
        params = {"Bucket": bucket, "Key": key}
        for attempt in range(ATTEMPTS):
            try:
                status, reason, body = await self.signed_get(
                    fs, bucket, "get_object", params, headers
                )
                answered = True
            except Exception:  # not an HTTP answer (no URL, no connection...): s3fs's read
                answered = False  # (read outside the except: s3fs's error would chain this
                # one, whose text -- aiohttp's ClientResponseError -- and frames hold the URL)
            if not answered:
                return await self._by_s3fs(fs, path, start, end)
            if status in (200, 206):
                return body
            if status == 412 and since:
                return ObjectChanged(path)
            if 300 <= status < 400 or status in (400, 403):
                return await self._refused(fs, path, start, end)
            if (status >= 500 or status == 429) and attempt + 1 < ATTEMPTS:
                await _sleep(min(1.7**attempt * 0.1, 15))  # as s3fs waits
                continue
            break
        return _s3_error(status, reason or "", body)

    async def _refused(self, fs: Any, path: str, start: int, end: int | None) -> bytes | Exception:
        """s3fs's read of a range whose presigned GET was redirected or refused.

        A redirect: another region's endpoint, which s3fs's client follows.
        A refusal (400, 403) that s3fs's signed request does not get: a
        policy on the kind of signature (no query-string authentication),
        which holds for every object: the fast path is turned off.
        """
        got = await self._by_s3fs(fs, path, start, end)
        self.off = self.off or isinstance(got, bytes)
        return got

    @staticmethod
    async def _by_s3fs(fs: Any, path: str, start: int, end: int | None) -> bytes | Exception:
        try:
            if end is None:  # the whole object, as fs.cat_file reads it
                return bytes(await fs._cat_file(path))
            return bytes(await fs._cat_file(path, start=start, end=end))
        except Exception as exc:  # returned in place, as cat_ranges(on_error="return")
            return exc

    def close(self) -> None:
        """Close the session (from any thread; at exit too, while fsspec's loop runs)."""
        session, self.session = self.session, None
        if session is None or session.closed or self.loop.is_closed() or self.pid != os.getpid():
            return  # (in a forked child the loop "runs" with no thread: a wait of 2 s for nothing)
        try:
            if asyncio.get_running_loop() is self.loop:
                self.loop.create_task(session.close())
                return
        except RuntimeError:  # no running loop in this thread
            pass
        if self.loop.is_running():
            with contextlib.suppress(Exception):  # at exit: the socket goes with the process
                asyncio.run_coroutine_threadsafe(session.close(), self.loop).result(2)


def _as_signed(url: str) -> str:
    """The presigned ``url`` with the path its signature covers.

    A request for a bucket itself (a listing) in path-style addressing, signed
    with a signature of version 2 (``Signature=`` in the query, as botocore
    presigns for S3 where its configuration names no version), is signed for
    the path ``/bucket/`` (botocore's auth path, as S3 reads such a request),
    while its URL names ``/bucket``: a server that signs the path it is given,
    as SeaweedFS does, refuses it. The URL then names ``/bucket/``. Other URLs
    (an object's, a signature of version 4, which covers the URL's own path)
    are given as they are.

    Examples
    --------
    >>> _as_signed("http://h:9/b?list-type=2&AWSAccessKeyId=k&Signature=s&Expires=1")
    'http://h:9/b/?list-type=2&AWSAccessKeyId=k&Signature=s&Expires=1'
    >>> _as_signed("http://h:9/b/k.dcm?AWSAccessKeyId=k&Signature=s&Expires=1")
    'http://h:9/b/k.dcm?AWSAccessKeyId=k&Signature=s&Expires=1'
    >>> _as_signed("http://h:9/b?list-type=2&X-Amz-Signature=s")
    'http://h:9/b?list-type=2&X-Amz-Signature=s'
    """
    head, mark, query = url.partition("?")
    fields = {part.partition("=")[0] for part in query.split("&")}
    if "Signature" not in fields or "X-Amz-Signature" in fields:
        return url
    scheme, _, rest = head.partition("://")
    path = rest.partition("/")[2]
    if not path or "/" in path:  # the host's root, or an object of a bucket
        return url
    return f"{head}/{mark}{query}"


def _s3_error(status: int, reason: str, body: bytes) -> Exception:
    """The exception s3fs raises for an S3 error answer (its code and message, no URL)."""
    from botocore.exceptions import ClientError  # optional extra: s3fs's
    from s3fs.errors import translate_boto_error  # optional extra: the file system's

    code = _CODE.search(body)
    message = _MESSAGE.search(body)
    text = html.unescape(message.group(1).decode(errors="replace")) if message else reason
    error = {
        "Error": {
            "Code": html.unescape(code.group(1).decode(errors="replace")) if code else str(status),
            "Message": _QUERY.sub(r"\1?***", text),
        },
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    exc = translate_boto_error(ClientError(error, "GetObject"))
    return exc if isinstance(exc, Exception) else OSError(str(exc))
