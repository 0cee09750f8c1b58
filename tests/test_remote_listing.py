"""Listings of S3 prefixes by presigned GETs (dbdicom/_files/_listing.py), on real servers.

moto's S3 server (which takes any signature) and SeaweedFS's (which checks
them): the same listing as s3fs's ``find`` -- names, sizes and the stamps
that tell a reopen what changed, so that a database indexed through one
reopens through the other without reading a header again -- over several
pages, with keys that need quoting; the same errors where s3fs lists; and
no request of s3fs's own where the fast path lists.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import build_database
from servers import SHARED_BUCKET

import dbdicom as db
from dbdicom._files import Store
from dbdicom._files import _listing as listing
from dbdicom._files import _ranges as ranges

s3fs = pytest.importorskip("s3fs")
pytest.importorskip("aiohttp")

NAMES = ["a b.dcm", "a+b.dcm", "é.dcm", "a%2Fb.dcm", "a=b&c.dcm", "x/y/z.dcm", "x/dir/", ".hid"]


def _fs(options: dict[str, Any]) -> Any:
    return s3fs.S3FileSystem(skip_instance_cache=True, **options)


def _prefix(options: dict[str, Any], names: list[str]) -> str:
    """A new prefix of the shared bucket holding objects ``names`` (sizes differ): its URL."""
    fs = _fs(options)
    if not fs.exists(SHARED_BUCKET):
        fs.mkdir(SHARED_BUCKET)
    prefix = f"{SHARED_BUCKET}/{uuid.uuid4().hex[:8]}"
    for i, name in enumerate(names):
        fs.pipe_file(f"{prefix}/{name}", b"" if name.endswith("/") else b"x" * (i + 1))
    return f"s3://{prefix}"


@contextlib.contextmanager
def _s3fs_lists() -> Iterator[list[str]]:
    """The paths s3fs's own listing (``_lsdir``) is asked for while in the block."""
    seen: list[str] = []
    real = s3fs.S3FileSystem._lsdir

    async def counting(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(path)
        return await real(self, path, *args, **kwargs)

    s3fs.S3FileSystem._lsdir = counting
    try:
        yield seen
    finally:
        s3fs.S3FileSystem._lsdir = real


@contextlib.contextmanager
def _slow_path() -> Iterator[None]:
    """Every listing by s3fs's ``find``, as before the fast path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("dbdicom._files._remote.fast_find", lambda fs, path: None)
        yield


@contextlib.contextmanager
def _requests() -> Iterator[list[str]]:
    """The operations of the presigned GETs made while in the block."""
    seen: list[str] = []
    real = ranges._Fetcher.signed_get

    async def counting(self: Any, fs: Any, bucket: str, operation: str, *args: Any) -> Any:
        seen.append(operation)
        return await real(self, fs, bucket, operation, *args)

    ranges._Fetcher.signed_get = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        ranges._Fetcher.signed_get = real  # type: ignore[method-assign]


def _listed(url: str, options: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return Store(url, options).listing()


def test_the_same_listing_as_s3fs_over_pages_of_quoted_keys(
    each_s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = NAMES + [f"p/{i:02d}.dcm" for i in range(9)]
    url = _prefix(each_s3, names)
    with _slow_path():
        expected = _listed(url, each_s3)
    assert {rel for rel in expected if "/" not in rel} >= {"a b.dcm", "a+b.dcm", "é.dcm"}
    assert ".hid" not in expected and len(expected) == len(names) - 1
    monkeypatch.setattr(listing, "PAGE", 4)
    with _s3fs_lists() as by_s3fs, _requests() as asked:
        assert _listed(url, each_s3) == expected  # names, sizes and stamps
    assert by_s3fs == []
    assert asked == ["list_objects_v2"] * -(-len(names) // 4)  # one request a page


def test_a_database_indexed_by_s3fs_s_listing_reopens_without_a_read(
    each_s3: dict[str, Any], tmp_path: Path
) -> None:
    """The stamps of the two listings are equal: no object is taken as changed."""
    folder = tmp_path / "db"
    build_database(folder)
    fs = _fs(each_s3)
    url = _prefix(each_s3, [])
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    fs.put(
        [str(p) for p in files], [f"{url[5:]}/{p.relative_to(folder).as_posix()}" for p in files]
    )
    with _slow_path():
        first = db.database(url, storage_options=each_s3)
        n, bad = len(first.index.frame), len(first.problems())
    with _s3fs_lists() as by_s3fs, _requests() as asked:
        again = db.database(url, storage_options=each_s3)
        assert len(again.index.frame) == n
    assert by_s3fs == [] and asked == ["list_objects_v2"]  # no header read again
    fs.pipe_file(f"{url[5:]}/{files[0].relative_to(folder).as_posix()}", b"not dicom")
    with _requests() as asked:
        changed = db.database(url, storage_options=each_s3)
    assert "get_object" in asked  # the object rewritten is read again, and refused
    assert len(changed.index.frame) == n and len(changed.problems()) == bad + 1


def test_where_s3fs_lists_its_errors_are_as_before(each_s3: dict[str, Any]) -> None:
    url = _prefix(each_s3, ["a.dcm", "b/c.dcm"])
    cases = [
        f"s3://no-such-bucket-{uuid.uuid4().hex[:6]}/p",  # no bucket
        f"{url}/missing",  # no such prefix
        f"{url}/a.dcm",  # one object, not a prefix
    ]
    for case in cases:
        with _slow_path(), pytest.raises(db.DicomError) as before:
            _listed(case, each_s3)
        with _requests() as asked, pytest.raises(db.DicomError) as now:
            _listed(case, each_s3)
        assert type(now.value) is type(before.value)
        assert str(now.value) == str(before.value)
        assert asked == ["list_objects_v2"]  # tried once, then s3fs said why


def test_a_wrong_secret_is_s3fs_s_refusal(seaweedfs: Any) -> None:
    url = _prefix(seaweedfs.options, ["a.dcm"])
    wrong = {**seaweedfs.options, "secret": "not-the-secret-43"}
    with _slow_path(), pytest.raises(db.DicomError) as before:
        _listed(url, wrong)
    with pytest.raises(db.DicomError) as now:
        _listed(url, wrong)
    assert type(now.value) is type(before.value) and str(now.value) == str(before.value)
    assert "not-the-secret-43" not in str(now.value) and "Signature" not in str(now.value)


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<Error><Code>SlowDown</Code></Error>",
        b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",  # no token
        b"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",  # no size
        b"<ListBucketResult><Contents><Key>a</Key><Size>1</Size>"
        b"<LastModified>2026-12-08T00:00:00</LastModified></Contents></ListBucketResult>",
    ],
    ids=["not-xml", "error", "truncated-without-token", "no-size", "time-without-zone"],
)
def test_an_answer_not_read_leaves_the_listing_to_s3fs(body: bytes) -> None:
    assert listing._page(body, "b") is None


def test_other_file_systems_are_listed_by_themselves(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    (tmp_path / "a").write_bytes(b"0")
    assert listing.fast_find(fsspec.filesystem("file"), str(tmp_path)) is None
