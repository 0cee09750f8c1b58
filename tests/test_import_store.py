"""import_dicom from an object store (SeaweedFS, real, on localhost), a web folder, a zip file.

A user whose data sit in a bucket expects ``import_dicom("s3://bucket/study",
storage_options=...)`` to do what the import of a local folder of the same
files does: the same files copied, the same skips and warnings, the same
journal (undone by ``restore()`` until ``save()``), and the errors of a
database in a store, with no credential in them.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from servers import SHARED_BUCKET, QuietFiles, SeaweedFS, bucket_fs, http_server

import dbdicom as db
from dbdicom._demo import build_demo

s3fs = pytest.importorskip("s3fs")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


@pytest.fixture(scope="module")
def incoming(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database's files, files shipped with pydicom (Big Endian: a duplicate of
    MR_small, and read by pydicom), a text file and a hidden file."""
    folder = tmp_path_factory.mktemp("incoming")
    build_demo(folder / "demo")
    shutil.rmtree(folder / "demo" / ".dbdicom", ignore_errors=True)
    (folder / "shipped").mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm", "MR_small_bigendian.dcm"):
        found = get_testdata_file(name)
        assert found is not None, name
        shutil.copyfile(found, folder / "shipped" / name)
    (folder / "notes.txt").write_text("not DICOM")
    (folder / ".hidden").write_text("never looked at")
    return folder


def _upload(seaweedfs: SeaweedFS, folder: Path) -> str:
    """The files of ``folder`` under a new prefix of the shared bucket: its URL."""
    fs = bucket_fs(seaweedfs.options)
    prefix = f"{SHARED_BUCKET}/import-{uuid.uuid4().hex[:10]}"
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    fs.put([str(p) for p in files], [f"{prefix}/{p.relative_to(folder).as_posix()}" for p in files])
    return f"s3://{prefix}"


def _empty(folder: Path) -> db.Database:
    folder.mkdir()
    return db.database(folder)


def _import(database: db.Database, what: Any, **kwargs: Any) -> tuple[list[Any], list[str]]:
    """The instances imported, and the texts of the warnings said."""
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        new = database.import_dicom(what, **kwargs)
    return new, [str(w.message) for w in said if issubclass(w.category, db.DicomWarning)]


def _counts(texts: list[str]) -> list[str]:
    """What the warnings say, without the names of the files."""
    return sorted(t.split(":")[0] for t in texts)


def _bytes(database: db.Database) -> dict[str, bytes]:
    """Each instance's file, by its SOPInstanceUID."""
    return {i.uid: Path(i.path).read_bytes() for i in database.instances()}


def test_a_prefix_imports_as_its_folder_does(
    seaweedfs: SeaweedFS, incoming: Path, tmp_path: Path
) -> None:
    url = _upload(seaweedfs, incoming)
    local = _empty(tmp_path / "local")
    from_folder, said_local = _import(local, incoming)
    target = _empty(tmp_path / "target")
    new, said = _import(target, url, storage_options=seaweedfs.options)
    assert len(new) == 48 + 2  # the demo, CT_small and one of the two MR_small
    assert sorted(i.uid for i in new) == sorted(i.uid for i in from_folder)
    assert (
        _counts(said)
        == _counts(said_local)
        == [
            "1 file(s) not imported",
            "1 file(s) not imported",
        ]
    )
    assert any(f"{url}/notes.txt" in t for t in said)
    assert any(f"{url}/shipped/MR_small_bigendian.dcm" in t for t in said)  # a duplicate
    assert all("dbdicom-test-secret" not in t for t in said)
    assert _bytes(target) == _bytes(local)  # the objects copied byte for byte
    assert target.unsaved

    target.restore()  # the journal: as a folder's import
    assert target.instances() == []
    new, _ = _import(target, url, storage_options=seaweedfs.options)
    target.save()
    target.close()
    again = db.database(tmp_path / "target")
    assert not again.unsaved and len(again.instances()) == 50
    ct = again.series(SeriesDescription="CT phantom")[0].to_xarray()
    mine = db.database(incoming / "demo").series(SeriesDescription="CT phantom")[0].to_xarray()
    assert (ct.values == mine.values).all()
    assert _import(again, url, storage_options=seaweedfs.options)[0] == []  # all there now


def test_a_list_of_urls_one_object_and_a_local_file(
    seaweedfs: SeaweedFS, incoming: Path, tmp_path: Path
) -> None:
    url = _upload(seaweedfs, incoming / "shipped")
    target = _empty(tmp_path / "target")
    ct = get_testdata_file("CT_small.dcm")
    mr = f"{url}/MR_small.dcm"  # one object, not a prefix
    new, said = _import(target, [mr, ct], storage_options=seaweedfs.options)
    assert said == []
    assert sorted(i.Modality for i in new) == ["CT", "MR"]
    assert Path(new[0].path).read_bytes() == Path(incoming / "shipped/MR_small.dcm").read_bytes()


def test_a_zip_file_and_a_zip_object(seaweedfs: SeaweedFS, incoming: Path, tmp_path: Path) -> None:
    archive = Path(shutil.make_archive(str(tmp_path / "cd"), "zip", incoming / "demo"))
    target = _empty(tmp_path / "target")
    new, said = _import(target, archive)  # not a file refused as not DICOM: its members
    assert len(new) == 48 and said == []
    fs = bucket_fs(seaweedfs.options)
    key = f"{SHARED_BUCKET}/import-{uuid.uuid4().hex[:10]}/cd.zip"
    fs.put(str(archive), key)
    other = _empty(tmp_path / "other")
    new = other.import_dicom(f"zip://::s3://{key}", storage_options={"s3": seaweedfs.options})
    assert _bytes(other) == _bytes(target)
    with pytest.raises(db.StorageAccessError, match=r"storage_options=\{'s3': \{\.\.\.\}\}"):
        db.database(f"zip://::s3://{key}", storage_options=seaweedfs.options)  # not by protocol
    mixed = _empty(tmp_path / "mixed")  # the options are the bucket's; the local zip takes none
    shipped = _upload(seaweedfs, incoming / "shipped")
    new, said = _import(mixed, [archive, shipped], storage_options=seaweedfs.options)
    assert len(new) == 48 + 2 and len(said) == 1  # MR_small_bigendian: a duplicate


def test_what_a_store_database_raises_and_nothing_is_imported(
    seaweedfs: SeaweedFS, incoming: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _empty(tmp_path / "target")
    options = seaweedfs.options
    missing = f"s3://{SHARED_BUCKET}/import-{uuid.uuid4().hex[:10]}"
    with pytest.raises(db.DatabaseNotFoundError, match=missing) as found:
        target.import_dicom(missing, storage_options=options)
    with pytest.raises(db.DatabaseNotFoundError):
        db.database(missing, storage_options=options)  # the same as a database's
    with pytest.raises(db.DatabaseNotFoundError, match="no-such-bucket"):
        target.import_dicom("s3://dbdicom-no-such-bucket/x", storage_options=options)
    url = _upload(seaweedfs, incoming / "shipped")
    wrong = {**options, "secret": "a-wrong-secret-9876"}
    with pytest.raises(db.StorageAccessError) as refused:
        target.import_dicom(url, storage_options=wrong)
    for error in (found.value, refused.value):
        assert "a-wrong-secret" not in str(error) and "dbdicom-test-secret" not in str(error)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    anonymous = {"client_kwargs": options["client_kwargs"]}
    with pytest.raises(db.StorageAccessError):
        target.import_dicom(url, storage_options=anonymous)
    with pytest.raises(ValueError, match="storage_options"):
        target.import_dicom(incoming / "shipped", storage_options=options)
    assert target.instances() == [] and not target.unsaved


def test_a_missing_package_is_named() -> None:
    pytest.importorskip("fsspec")
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("gcsfs is installed")
    database = db.database()
    with pytest.raises(db.StorageBackendError, match="gcsfs"):
        database.import_dicom("gs://bucket/study")
    assert database.instances() == []


@pytest.fixture
def web_folder(incoming: Path) -> Iterator[str]:
    """The files served by Python's own HTTP server, at a URL with a user and password."""
    with http_server(functools.partial(QuietFiles, directory=str(incoming))) as port:
        yield f"http://ann:pa55word@127.0.0.1:{port}/"


def test_a_web_folder_keeps_its_password_out_of_the_warnings(web_folder: str) -> None:
    pytest.importorskip("aiohttp")
    database = db.database()
    new, said = _import(database, web_folder + "shipped/")
    assert sorted(i.Modality for i in new) == ["CT", "MR"]
    assert len(said) == 1 and "MR_small_bigendian.dcm" in said[0]  # the duplicate
    assert "pa55word" not in said[0] and "***@127.0.0.1" in said[0]
    with pytest.raises(db.DatabaseNotFoundError) as info:
        database.import_dicom(web_folder + "nothing-here/")
    assert "pa55word" not in str(info.value)
    # a zip on the server is read through a chained URL (zip://::http://...), whose every
    # part is redacted (review: the password was in the message)
    with pytest.raises(db.DicomError) as info:
        database.import_dicom(web_folder + "no-such.zip")
    assert "pa55word" not in str(info.value) and "***@127.0.0.1" in str(info.value)


class _BasicAuthFiles(QuietFiles):
    """Files served only to requests that carry ann's password (Basic authentication),
    and in ranges (a zip file is read from its end)."""

    def send_head(self) -> Any:
        expected = "Basic " + base64.b64encode(b"ann:pa55word").decode()
        if self.headers.get("Authorization") != expected:
            self.send_error(401, "Unauthorized")
            return None
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not wanted or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        start, end = int(wanted[1]), min(int(wanted[2] or len(data) - 1), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end + 1 - start))
        self.end_headers()
        return io.BytesIO(data[start : end + 1])


def test_a_web_folder_password_goes_in_a_header_not_in_the_logged_urls(
    incoming: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """fsspec logs every URL it reads at DEBUG level: a user:password@ in the URL was
    logged with it; it is sent as the requests' Basic authentication instead."""
    pytest.importorskip("aiohttp")
    shutil.make_archive(str(tmp_path / "www" / "cd"), "zip", incoming / "shipped")
    shutil.copytree(incoming / "shipped", tmp_path / "www" / "shipped")
    caplog.set_level(logging.DEBUG)
    handler = functools.partial(_BasicAuthFiles, directory=str(tmp_path / "www"))
    with http_server(handler) as port:
        url = f"http://ann:pa55word@127.0.0.1:{port}/"
        remote = db.database(url + "shipped/")
        lazy = remote.series(Modality="CT")[0].to_xarray()
        assert "pa55word" not in repr(dict(lazy.data.dask))  # (review: the tasks' repr)
        ct = lazy.values
        local = db.database(incoming / "shipped").series(Modality="CT")[0].to_xarray().values
        assert np.array_equal(ct, local)
        zipped = _import(_empty(tmp_path / "target"), url + "cd.zip")[0]  # zip://::http://
        assert sorted(i.Modality for i in zipped) == ["CT", "MR"]
        with pytest.raises(db.StorageAccessError):  # the server does check
            db.database(f"http://ann:wrong@127.0.0.1:{port}/shipped/")
        for given in ({"headers": {"authorization": "Bearer x"}}, {"auth": ("ann", "x")}):
            with pytest.raises(db.InvalidValueError, match="given twice") as info:
                db.database(url + "shipped/", storage_options={"client_kwargs": given})
            assert "pa55word" not in str(info.value)
    logged = [r.getMessage() for r in caplog.records]
    assert any(f"127.0.0.1:{port}/shipped" in text for text in logged)  # fsspec's DEBUG lines
    assert not [text for text in logged if "pa55word" in text]


def test_more_objects_than_a_batch(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    """The headers are fetched 128 objects at a time: every object is imported once."""
    folder = tmp_path / "many"
    db.series(np.arange(130 * 4 * 4, dtype=np.uint16).reshape(130, 4, 4)).save(folder)
    shutil.rmtree(folder / ".dbdicom", ignore_errors=True)
    url = _upload(seaweedfs, folder)
    target = _empty(tmp_path / "target")
    new = target.import_dicom(url, storage_options=seaweedfs.options)
    assert len(new) == len({i.uid for i in new}) == 130
    (series,) = target.series()
    values = series.to_xarray(dims=["InstanceNumber"]).values
    assert values.shape == (130, 4, 4) and sorted(values[:, 0, 0].tolist()) == list(
        range(0, 130 * 16, 16)
    )
    assert os.listdir(tmp_path / "target")  # written into the database's folder


class _NoWholeObjects(QuietFiles):
    """Lists, answers HEAD and ranged GETs (headers), but not the GET of a whole file."""

    refused = ".dcm"  # the files whose whole GET fails: those whose path ends so

    def do_GET(self) -> None:  # noqa: N802
        if self.path.endswith(self.refused) and "Range" not in self.headers:
            self.send_error(503, "Slow Down")
            return
        super().do_GET()


def test_an_object_that_cannot_be_fetched_is_a_storage_error(
    incoming: Path, tmp_path: Path
) -> None:
    """The headers were read, the copy failed: the store's error, saying what restore() does."""
    pytest.importorskip("aiohttp")
    with http_server(functools.partial(_NoWholeObjects, directory=str(incoming))) as port:
        database = _empty(tmp_path / "target")
        url = f"http://ann:pa55word@127.0.0.1:{port}/shipped/"
        with pytest.raises(db.StorageError, match="restore") as info:
            database.import_dicom(url)
    assert "pa55word" not in str(info.value) and "CT_small.dcm" in str(info.value)
    database.restore()
    assert database.instances() == []


class _NoWholeMR(_NoWholeObjects):
    """As :class:`_NoWholeObjects`, for MR_small.dcm alone: CT_small.dcm is copied first."""

    refused = "/MR_small.dcm"


def test_restore_after_an_import_cut_short_counts_the_files_written(
    incoming: Path, tmp_path: Path
) -> None:
    """Review: restore() counted every file the import had announced (48), not the 38
    written before an object could not be fetched."""
    pytest.importorskip("aiohttp")
    with http_server(functools.partial(_NoWholeMR, directory=str(incoming))) as port:
        database = _empty(tmp_path / "target")
        with pytest.raises(db.StorageError, match="MR_small.dcm"):
            database.import_dicom(f"http://127.0.0.1:{port}/shipped/")
    written = [
        p for p in (tmp_path / "target").rglob("*") if p.is_file() and ".dbdicom" not in p.parts
    ]
    assert len(written) == 1  # CT_small.dcm's copy
    assert database.restore() == 1
    assert database.instances() == [] and not database.unsaved


def test_a_zip_object_url_imports_its_files(
    seaweedfs: SeaweedFS, incoming: Path, tmp_path: Path
) -> None:
    """Trial H: the URL an export to ``s3://.../all.zip`` returns, imported as it is, gave
    nothing but a warning that the object is not DICOM."""
    demo = db.database(incoming / "demo")
    prefix = f"{SHARED_BUCKET}/import-{uuid.uuid4().hex[:10]}"
    url = demo.export_as_dicom(f"s3://{prefix}/all.zip", storage_options=seaweedfs.options)
    target = _empty(tmp_path / "target")
    new, said = _import(target, str(url), storage_options=seaweedfs.options)
    assert len(new) == len(demo.instances()) and said == []
    assert sorted(s.SeriesInstanceUID for s in target.series()) == sorted(
        s.SeriesInstanceUID for s in demo.series()
    )


def test_url_schemes_are_case_insensitive(
    seaweedfs: SeaweedFS, incoming: Path, tmp_path: Path
) -> None:
    """Trial K: ``S3://...`` said that no installed package reads s3:// URLs."""
    demo = db.database(incoming / "demo")
    prefix = f"{SHARED_BUCKET}/import-{uuid.uuid4().hex[:10]}"
    url = str(demo.export_as_dicom(f"S3://{prefix}/all.zip", storage_options=seaweedfs.options))
    assert url == f"s3://{prefix}/all.zip"
    for typed, options in [
        ("S3" + url[2:], {"S3": seaweedfs.options}),
        ("ZIP://::S3" + url[2:], {"S3": seaweedfs.options}),
    ]:
        target = db.database()
        new, said = _import(target, typed, storage_options=options)
        assert len(new) == len(demo.instances()) and said == [], typed


def test_a_list_of_s3_and_web_urls_takes_options_by_protocol(
    seaweedfs: SeaweedFS, incoming: Path, web_folder: str
) -> None:
    """Trial H: one list of an s3:// and an http:// URL gave the bucket's options to the web
    server's client (TypeError: unexpected keyword argument 'endpoint_url'); options keyed
    by protocol, as fsspec takes them for chained URLs, give each its own."""
    pytest.importorskip("aiohttp")
    shipped = _upload(seaweedfs, incoming / "shipped")
    database = db.database()
    new, said = _import(
        database,
        [shipped, web_folder + "demo/"],
        storage_options={"s3": seaweedfs.options, "http": {}},
    )
    assert len(new) == 2 + 48 and len(said) == 1  # MR_small_bigendian: a duplicate
