"""Byte ranges of S3 objects by presigned GETs (dbdicom/_files/_ranges.py), on real servers.

moto's S3 server (which takes any signature) and SeaweedFS's (which checks
them): the same bytes and the same exceptions as ``fs.cat_ranges``, the
index and arrays of a database read through them, the errors dbdicom
raises (no presigned URL, signature or secret in them), and the reads
that stay s3fs's.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import build_database
from servers import PUBLIC_BUCKET, SHARED_BUCKET, SeaweedFS

import dbdicom as db
from dbdicom._files import RemoteFile, Store, pixel_format, read_remote_frames
from dbdicom._files import _ranges as ranges
from dbdicom._files._ranges import cat_ranges

s3fs = pytest.importorskip("s3fs")
aiohttp = pytest.importorskip("aiohttp")

BUCKET = SHARED_BUCKET
SIZES = [0, 1, 100, 8191, 8192, 8193, 40_000]
LEAKS = ("X-Amz", "Signature=", "Credential=", "?")


def _fs(options: dict[str, Any], **more: Any) -> Any:
    return s3fs.S3FileSystem(skip_instance_cache=True, **options, **more)


def _prefix(fs: Any, bucket: str = BUCKET) -> str:
    """A new prefix of ``bucket`` (made if missing)."""
    if not fs.exists(bucket):
        fs.mkdir(bucket)
    return f"{bucket}/{uuid.uuid4().hex[:8]}"


def _objects(fs: Any, bucket: str = BUCKET) -> list[str]:
    """Objects of the sizes SIZES under a new prefix of ``bucket``; their paths."""
    prefix = _prefix(fs, bucket)
    paths = []
    for size in SIZES:
        path = f"{prefix}/{size:05d}.bin"
        fs.pipe_file(path, np.random.default_rng(size).bytes(size))
        paths.append(path)
    fs.invalidate_cache()
    return paths


def _spans(paths: list[str]) -> tuple[list[str], list[int], list[int]]:
    """Every path with ranges inside, across the end, past the end, empty and whole."""
    spans = [(0, 8192), (0, 1), (10, 20), (8000, 9000), (8192, 16384), (39_990, 50_000)]
    spans += [(50_000, 60_000), (5, 5), (0, 1 << 20)]
    out: tuple[list[str], list[int], list[int]] = ([], [], [])
    for path in [*paths, paths[0].rsplit("/", 1)[0] + "/missing.bin"]:
        for start, end in spans:
            out[0].append(path)
            out[1].append(start)
            out[2].append(end)
    return out


def _same(got: list[Any], expected: list[Any]) -> None:
    """The same bytes; the same exception types, errno and messages."""
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        if isinstance(b, bytes):
            assert a == b, i
        else:
            assert type(a) is type(b) and str(a) == str(b), (i, a, b)
            assert getattr(a, "errno", None) == getattr(b, "errno", None)
            assert not any(leak in str(a) for leak in LEAKS), a


@contextlib.contextmanager
def _counted(fs: Any) -> Iterator[list[str]]:
    """The paths s3fs's own ``_cat_file`` reads while in the block."""
    seen: list[str] = []
    real = fs._cat_file

    async def counting(path: str, **kwargs: Any) -> Any:
        seen.append(path)
        return await real(path, **kwargs)

    fs._cat_file = counting
    try:
        yield seen
    finally:
        del fs._cat_file


def test_the_same_bytes_and_errors_as_cat_ranges(each_s3: dict[str, Any]) -> None:
    fs = _fs(each_s3)
    paths, starts, ends = _spans(_objects(fs))
    expected = _fs(each_s3).cat_ranges(paths, starts, ends, on_error="return")
    with _counted(fs) as by_s3fs:
        got = cat_ranges(fs, paths, starts, ends)
    assert by_s3fs == []  # every range by a presigned GET
    _same(got, expected)
    assert isinstance(got[-1], FileNotFoundError)
    assert [isinstance(g, bytes) for g in got].count(True) >= 30


def test_whole_objects_read_by_presigned_gets_are_s3fs_s(each_s3: dict[str, Any]) -> None:
    """cat_whole with a time: the bytes and errors of fs.cat_file; changed since: ObjectChanged."""
    fs = _fs(each_s3)
    paths = _objects(fs)
    since = [int(fs.info(p)["LastModified"].timestamp()) * 10**9 for p in paths]
    with _counted(fs) as by_s3fs:
        got = [ranges.cat_whole(fs, p, t) for p, t in zip(paths, since, strict=True)]
    assert got == [fs.cat_file(p) for p in paths]
    assert by_s3fs == []
    missing = paths[0].rsplit("/", 1)[0] + "/missing.bin"
    with pytest.raises(FileNotFoundError) as ours:
        ranges.cat_whole(fs, missing, since[0])
    with pytest.raises(FileNotFoundError) as theirs:
        fs.cat_file(missing)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ranges.ObjectChanged):
        ranges.cat_whole(fs, paths[1], since[1] - 10 * 10**9)


def test_a_deleted_object_is_the_same_error_as_before(
    each_s3: dict[str, Any], tmp_path: Path
) -> None:
    """Headers and frames of an object deleted after indexing: dbdicom's errors, no URL."""
    build_database(tmp_path / "db")
    fs = _fs(each_s3)
    url = f"s3://{_prefix(fs)}"
    files = sorted(p for p in (tmp_path / "db").rglob("*") if p.is_file())
    keys = [f"{url[5:]}/{p.relative_to(tmp_path / 'db').as_posix()}" for p in files]
    fs.put([str(p) for p in files], keys)
    store = Store(url, each_s3)
    rels = [k[len(url) - 4 :] for k in keys]
    fs.rm(keys[0])
    heads = store.heads(rels[:3], [p.stat().st_size for p in files[:3]])
    assert isinstance(heads[0], FileNotFoundError) and heads[1][128:132] == b"DICM"
    error = store.error(heads[0], "cannot be read", store.object(rels[0]).name)
    assert isinstance(error, db.StorageObjectNotFoundError)
    assert not any(leak in str(error) for leak in LEAKS[:3])
    fmt, offset, nbytes = pixel_format(str(files[0]))
    with pytest.raises(db.StorageObjectNotFoundError, match="refresh") as info:
        read_remote_frames([(RemoteFile(url, rels[0], each_s3), [0], fmt, offset, nbytes)])
    assert not any(leak in str(info.value) for leak in LEAKS[:3])


def _uploaded(each_s3: dict[str, Any], tmp_path: Path) -> tuple[Path, str]:
    """The test database, in a folder and uploaded under a new prefix: (folder, its URL)."""
    folder = tmp_path / "db"
    build_database(folder)
    fs = _fs(each_s3)
    url = f"s3://{_prefix(fs)}"
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    fs.put(
        [str(p) for p in files], [f"{url[5:]}/{p.relative_to(folder).as_posix()}" for p in files]
    )
    return folder, url


def test_a_database_through_presigned_reads_is_the_local_one(
    each_s3: dict[str, Any], tmp_path: Path
) -> None:
    folder, url = _uploaded(each_s3, tmp_path)
    remote, local = db.database(url, storage_options=each_s3), db.database(folder)
    assert ranges._fetcher(Store(url, each_s3).filesystem()[0]) is not None
    assert sorted(remote.index.frame["_path"]) == sorted(local.index.frame["_path"])
    for ours, theirs in zip(remote.series(), local.series(), strict=True):
        with contextlib.suppress(db.DicomError):
            np.testing.assert_array_equal(ours.array()[0], theirs.array()[0])
    local.close()


def test_a_prefix_typed_with_a_double_slash_or_a_dot_is_the_prefix(
    each_s3: dict[str, Any], tmp_path: Path
) -> None:
    """Trial K: ``s3://b//p`` listed 0 instances, every relative path short of its first
    character (cut with the length of the prefix as typed, not as listed), and
    ``s3://b/./p`` was a Bad Request said to be an unreachable server."""
    _, url = _uploaded(each_s3, tmp_path)
    expected = db.database(url, storage_options=each_s3)
    bucket, prefix = url[5:].split("/", 1)
    for typed in (f"s3://{bucket}//{prefix}", f"s3://{bucket}/./{prefix}//", f"{url}/."):
        remote = db.database(typed, storage_options=each_s3)
        assert remote.path == url + ("/" if typed.endswith("/") else "")
        assert len(remote.problems()) == 0
        assert sorted(remote.index.frame["_path"]) == sorted(expected.index.frame["_path"])
        ours, theirs = remote.series()[0], expected.series()[0]
        np.testing.assert_array_equal(ours.array()[0], theirs.array()[0])
    with pytest.raises(db.InvalidValueError, match=r"'\.\.'.*without it"):
        db.database(f"s3://{bucket}/x/../{prefix}", storage_options=each_s3)


def test_a_wrong_secret_is_refused_without_the_secret(seaweedfs: SeaweedFS) -> None:
    paths = _objects(_fs(seaweedfs.options))
    wrong = {**seaweedfs.options, "secret": "not-the-secret-42"}
    fs = _fs(wrong)
    starts, ends = [0] * len(paths), [100] * len(paths)
    expected = _fs(wrong).cat_ranges(paths, starts, ends, on_error="return")
    with _counted(fs) as by_s3fs:
        got = cat_ranges(fs, paths, starts, ends)
    assert sorted(by_s3fs) == paths  # a refusal is s3fs's to confirm: it is, with its error
    _same(got, expected)
    assert all(isinstance(g, PermissionError) for g in got)
    fetcher = ranges._fetcher(fs)
    assert fetcher is not None and not fetcher.off
    store = Store(f"s3://{paths[0].rsplit('/', 1)[0]}", wrong)
    error = store.error(got[0], "cannot be read", "s3://x/y")
    assert isinstance(error, db.StorageAccessError)
    assert "not-the-secret-42" not in str(error) and "X-Amz" not in str(error)


def test_anonymous_reads_of_a_public_bucket(seaweedfs: SeaweedFS) -> None:
    public = _objects(_fs(seaweedfs.options), PUBLIC_BUCKET)
    private = _objects(_fs(seaweedfs.options))
    anon = {"anon": True, "client_kwargs": seaweedfs.options["client_kwargs"]}
    assert _fs(anon).s3.meta.config.signature_version is not None  # UNSIGNED
    fs = _fs(anon)
    paths = [*public, *private]
    starts, ends = [0] * len(paths), [8192] * len(paths)
    expected = _fs(anon).cat_ranges(paths, starts, ends, on_error="return")
    with _counted(fs) as by_s3fs:
        got = cat_ranges(fs, paths, starts, ends)
    assert sorted(by_s3fs) == private  # refused: s3fs confirms
    _same(got, expected)
    assert all(isinstance(g, bytes) for g in got[1 : len(public)])
    assert all(isinstance(g, PermissionError) for g in got[len(public) :])


@pytest.mark.parametrize(
    "more",
    [
        {"requester_pays": True},
        {"version_aware": True},
        {"s3_additional_kwargs": {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32}},
        {"s3_additional_kwargs": {"ExpectedBucketOwner": "123456789012"}},
        {"config_kwargs": {"proxies": {"http": "http://127.0.0.1:9"}}},
    ],
    ids=["requester-pays", "version-aware", "sse-c", "bucket-owner", "proxy"],
)
def test_reads_that_stay_s3fs_s(s3_server: dict[str, Any], more: dict[str, Any]) -> None:
    fs = _fs(s3_server, **more)
    assert ranges._fetcher(fs) is None
    paths = _objects(_fs(s3_server))
    if "proxies" in str(more) or "SSECustomerKey" in str(more):
        return  # s3fs's own reads of these fail here (no proxy, no customer key)
    with _counted(fs) as by_s3fs:
        got = cat_ranges(fs, paths, [0] * len(paths), [10] * len(paths))
    assert by_s3fs == paths
    _same(got, _fs(s3_server).cat_ranges(paths, [0] * len(paths), [10] * len(paths)))


def test_write_options_and_a_proxy_elsewhere_keep_the_fast_path(
    s3_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ranges._fetcher(_fs(s3_server, s3_additional_kwargs={"ACL": "private"})) is not None
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # the endpoint is http://
    assert ranges._fetcher(_fs(s3_server)) is not None
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert ranges._fetcher(_fs(s3_server)) is None


def test_other_file_systems_read_as_before(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    (tmp_path / "a").write_bytes(b"0123456789")
    fs = fsspec.filesystem("file")
    path = str(tmp_path / "a")
    assert cat_ranges(fs, [path, path], [2, 8], [4, 99]) == [b"23", b"89"]
    assert ranges._fetcher(fs) is None


class _Answers:
    """A session whose GETs of chosen paths fail (a reset) or answer ``status`` first."""

    def __init__(self, session: Any, broken: str, status: int = 0, times: int = 0) -> None:
        self.session, self.broken, self.status, self.times = session, broken, status, times
        self.calls = 0
        self.closed = False

    @contextlib.asynccontextmanager
    async def _answer(self, status: int) -> Any:
        class Answer:
            reason = "Slow Down"

            async def read(self) -> bytes:
                return b"<Error><Code>SlowDown</Code><Message>Reduce your rate.</Message></Error>"

        answer = Answer()
        answer.status = status  # type: ignore[attr-defined]
        yield answer

    async def close(self) -> None:
        await self.session.close()

    def get(self, url: str, **kwargs: Any) -> Any:
        if self.broken not in str(url):
            return self.session.get(url, **kwargs)
        self.calls += 1
        if not self.status:
            raise aiohttp.ServerDisconnectedError()
        if self.calls <= self.times:
            return self._answer(self.status)
        return self.session.get(url, **kwargs)


def _fetcher_with(fs: Any, paths: list[str], **answers: Any) -> _Answers:
    cat_ranges(fs, paths[:1], [0], [1])  # the session made
    fetcher = ranges._fetcher(fs)
    assert fetcher is not None
    fetcher.session = _Answers(fetcher.session, paths[3].rsplit("/", 1)[1], **answers)
    return fetcher.session


def test_a_reset_connection_is_read_again_by_s3fs(s3_server: dict[str, Any]) -> None:
    fs = _fs(s3_server)
    paths = _objects(fs)
    fake = _fetcher_with(fs, paths)
    with _counted(fs) as by_s3fs:
        got = cat_ranges(fs, paths, [0] * len(paths), [9000] * len(paths))
    assert by_s3fs == [paths[3]] and fake.calls == 1
    _same(got, _fs(s3_server).cat_ranges(paths, [0] * len(paths), [9000] * len(paths)))


def test_a_refusal_that_s3fs_is_not_given_turns_the_fast_path_off(
    s3_server: dict[str, Any],
) -> None:
    """(A bucket policy that refuses query-string signatures, as the fake's 403 does.)"""
    fs = _fs(s3_server)
    paths = _objects(fs)
    fake = _fetcher_with(fs, paths, status=403, times=99)
    with _counted(fs) as by_s3fs:
        got = cat_ranges(fs, paths, [0] * len(paths), [9000] * len(paths))
    assert by_s3fs == [paths[3]] and fake.calls == 1
    expected = _fs(s3_server).cat_ranges(paths, [0] * len(paths), [9000] * len(paths))
    _same(got, expected)
    fetcher = ranges._fetcher(fs)
    assert fetcher is not None and fetcher.off
    with _counted(fs) as by_s3fs:
        _same(cat_ranges(fs, paths, [0] * len(paths), [9000] * len(paths)), expected)
    assert sorted(by_s3fs) == paths and fake.calls == 1


def test_5xx_answers_are_asked_again_then_are_s3fs_s_error(
    s3_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def at_once(seconds: float) -> None:
        pass

    monkeypatch.setattr(ranges, "_sleep", at_once)
    fs = _fs(s3_server)
    paths = _objects(fs)
    fake = _fetcher_with(fs, paths, status=503, times=2)
    got = cat_ranges(fs, paths, [0] * len(paths), [9000] * len(paths))
    assert fake.calls == 3
    _same(got, _fs(s3_server).cat_ranges(paths, [0] * len(paths), [9000] * len(paths)))
    fake = _fetcher_with(fs, paths, status=503, times=99)
    got = cat_ranges(fs, paths, [0] * len(paths), [9000] * len(paths))
    assert fake.calls == ranges.ATTEMPTS
    assert isinstance(got[3], OSError) and "Reduce your rate" in str(got[3])
    assert got[3].errno == errno.EBUSY or got[3].errno == errno.EIO
    assert asyncio.iscoroutinefunction(ranges._sleep)


class _Garbled:
    """A session whose GETs of one path get an answer aiohttp cannot parse.

    aiohttp raises ``ClientResponseError`` then (``ClientResponse.start``:
    a bad status line, a header too long...), whose ``str`` names the
    request's URL: here the presigned one, with its signature.
    """

    def __init__(self, session: Any, broken: str) -> None:
        self.session, self.broken, self.closed = session, broken, False

    async def close(self) -> None:
        await self.session.close()

    def get(self, url: str, **kwargs: Any) -> Any:
        if self.broken not in str(url):
            return self.session.get(url, **kwargs)
        from multidict import CIMultiDict, CIMultiDictProxy
        from yarl import URL

        info = aiohttp.RequestInfo(
            URL(str(url)), "GET", CIMultiDictProxy(CIMultiDict()), URL(str(url))
        )
        raise aiohttp.ClientResponseError(info, (), status=400, message="Invalid status line")


def test_no_presigned_url_in_the_chain_of_an_error_s3fs_then_gives(
    s3_server: dict[str, Any],
) -> None:
    """A failed presigned GET read again by s3fs, which fails too: s3fs's error.

    Its ``__context__`` must not be the aiohttp exception of the presigned
    GET (the fallback runs inside ``except``): a traceback prints the chain,
    and aiohttp's ``ClientResponseError`` names the presigned URL.
    """
    import traceback

    fs = _fs(s3_server)
    paths = _objects(fs)
    missing = paths[0].rsplit("/", 1)[0] + "/missing.bin"
    cat_ranges(fs, paths[:1], [0], [1])  # the session made
    fetcher = ranges._fetcher(fs)
    assert fetcher is not None
    fetcher.session = _Garbled(fetcher.session, "missing.bin")
    (got,) = cat_ranges(fs, [missing], [0], [10])
    assert isinstance(got, FileNotFoundError)
    printed = "".join(traceback.format_exception(got))
    assert not any(leak in printed for leak in LEAKS[:3]), printed
    store = Store(f"s3://{paths[0].rsplit('/', 1)[0]}", s3_server)
    try:
        raise store.error(got, "cannot be read", "s3://x/missing.bin") from got
    except db.DicomError as error:
        printed = "".join(traceback.format_exception(error))
    assert not any(leak in printed for leak in LEAKS[:3]), printed


@pytest.mark.parametrize(
    "name",
    ["a b.dcm", "a+b.dcm", "a~b.dcm", "é.dcm", "a%2Fb.dcm", "a=b&c.dcm", "a:b@c!$'()*,;.dcm"],
)
def test_keys_with_characters_quoted_or_not(seaweedfs: SeaweedFS, name: str) -> None:
    """The URL is sent as it was signed (not quoted again): SeaweedFS, which checks
    signatures, accepts it for keys with spaces, reserved and non-ASCII characters."""
    fs = _fs(seaweedfs.options)
    bucket = "dbdicom-ranges"
    if not fs.exists(bucket):
        fs.mkdir(bucket)
    path = f"{bucket}/{uuid.uuid4().hex[:8]}/{name}"
    fs.pipe_file(path, b"0123456789")
    with _counted(fs) as by_s3fs:
        got = cat_ranges(fs, [path], [2], [6])
    assert got == [b"2345"]
    assert by_s3fs == [], "the presigned GET was refused: s3fs read it"
    fetcher: Any = ranges._fetcher(fs)
    assert not fetcher.off


def _rle(divide: int, flip: int = 0) -> bytes:
    """pydicom's MR_small.dcm, RLE Lossless, its pixels divided by ``divide`` (other sizes).

    ``flip``: bits of the low byte flipped in every pixel: other pixels, runs and size the same.
    """
    import io

    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import RLELossless

    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.compress(RLELossless, (ds.pixel_array // divide) ^ flip)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def test_a_compressed_object_replaced_after_indexing(each_s3: dict[str, Any]) -> None:
    """A trial: a compressed object (decoded from the object fetched whole) replaced after the
    open by one of another size gave the new object's pixels under the old one's header, where
    an uncompressed one is a StaleFileError. So is it: the size fetched is the size indexed."""
    fs = _fs(each_s3)
    prefix = _prefix(fs)
    before, after = _rle(1), _rle(7)
    assert len(before) != len(after)
    fs.pipe(f"{prefix}/mr.dcm", before)
    remote = db.database(f"s3://{prefix}", storage_options=each_s3)
    da = remote.series()[0].to_xarray()
    fs.pipe(f"{prefix}/mr.dcm", after)
    with pytest.raises(db.StaleFileError, match=f"s3://{prefix}/mr.dcm changed.*refresh"):
        da.values  # noqa: B018 - the read
    assert remote.refresh()
    import io

    import pydicom

    expected = pydicom.dcmread(io.BytesIO(after)).pixel_array
    np.testing.assert_array_equal(remote.series()[0].to_xarray().values.reshape(64, 64), expected)


def test_a_compressed_object_replaced_by_one_of_the_same_size(each_s3: dict[str, Any]) -> None:
    """A trial: a compressed object (fetched whole) replaced after the open by one of the same
    size gave the new object's pixels under the old header. The whole object's GET carries the
    indexed time (If-Unmodified-Since) as the ranged GETs do: a StaleFileError."""
    import io
    import time

    import pydicom

    fs = _fs(each_s3)
    prefix = _prefix(fs)
    before, after = _rle(1), _rle(1, flip=1)
    assert len(before) == len(after) and before != after
    fs.pipe(f"{prefix}/mr.dcm", before)
    remote = db.database(f"s3://{prefix}", storage_options=each_s3)
    da = remote.series()[0].to_xarray()
    time.sleep(1.1)  # a later second than the upload: S3 keeps whole seconds
    fs.pipe(f"{prefix}/mr.dcm", after)
    with pytest.raises(db.StaleFileError, match=f"s3://{prefix}/mr.dcm changed.*refresh") as err:
        da.values  # noqa: B018 - the read
    assert not any(leak in str(err.value) for leak in LEAKS)
    assert each_s3["secret"] not in str(err.value)
    assert remote.refresh()
    expected = pydicom.dcmread(io.BytesIO(after)).pixel_array
    np.testing.assert_array_equal(remote.series()[0].to_xarray().values.reshape(64, 64), expected)
