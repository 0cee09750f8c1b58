"""Databases in a store fsspec reads: an S3 server on localhost (moto's), zip files, file:// URLs.

Every test compares the remote database with the local database of the
same files: the same index, the same problems, the same pixel values.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import logging
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest
from bad_files import build_bad_files
from builders import build_database, pydicom_shipped_files
from pydicom.data import get_testdata_file
from recorders import Recorder
from servers import QuietFiles, http_server, missing_server

import dbdicom as db
from dbdicom._files import RemoteFile
from dbdicom._index import TAGS

s3fs = pytest.importorskip("s3fs")

BUCKET = "dbdicom-tests"
# columns that say where a file is or when it was written, not what it holds
_WHERE = {"_path", "_size", "_mtime", "_error", "_warning"}


def _mixed(root: Path) -> Path:
    """Built series, files shipped with pydicom (compressed, Big Endian, palette) and bad files."""
    build_database(root / "built")
    shipped = root / "shipped"
    shipped.mkdir(parents=True)
    for path in pydicom_shipped_files():
        shutil.copyfile(path, shipped / path.name)
    for name in ("MR_small_bigendian.dcm", "OT-PAL-8-face.dcm", "MR_small_jp2klossless.dcm"):
        found = get_testdata_file(name)
        assert found is not None, name
        shutil.copyfile(found, shipped / name)
    build_bad_files(root / "bad")
    return root


def _fs(options: dict[str, Any]) -> Any:
    return s3fs.S3FileSystem(skip_instance_cache=True, **options)


def _upload(options: dict[str, Any], folder: Path) -> str:
    """Upload ``folder`` to a new prefix of the test bucket; its URL."""
    fs = _fs(options)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    prefix = f"{BUCKET}/{uuid.uuid4().hex[:8]}"
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if ".dbdicom" not in path.parts:
            fs.put_file(str(path), f"{prefix}/{path.relative_to(folder).as_posix()}")
    return f"s3://{prefix}"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _mixed(tmp_path_factory.mktemp("remote") / "mixed")


@pytest.fixture(scope="module")
def mixed_url(s3_server: dict[str, Any], mixed: Path) -> str:
    return _upload(s3_server, mixed)


@pytest.fixture(scope="module")
def local(mixed: Path) -> Iterator[db.Database]:
    database = db.database(mixed)
    yield database
    database.close()


def _table(database: db.Database) -> Any:
    """The index table without the columns of where and when, in path order."""
    frame = database.index.frame
    columns = [c for c in frame.columns if c in TAGS or c in ("_offset", "_nbytes", "_frame")]
    return frame[["_path", *columns]].sort_values("_path", ignore_index=True)


def _same_database(remote: db.Database, local: db.Database) -> None:
    """The same index rows, the same problems (files and texts), the same tree."""
    dbs = (remote, local)
    import pandas.testing as pdt

    pdt.assert_frame_equal(_table(remote), _table(local), check_categorical=False)
    ours, theirs = remote.index.frame, local.index.frame
    assert sorted(ours["_path"]) == sorted(theirs["_path"])
    assert (ours["_error"] == "").tolist() == (theirs["_error"] == "").tolist()
    mine, theirs = ({tuple(p) for p in d.problems()[["path", "problem"]].to_numpy()} for d in dbs)
    assert mine == theirs, (mine - theirs, theirs - mine)
    assert [s.SeriesInstanceUID for s in remote.series()] == [
        s.SeriesInstanceUID for s in local.series()
    ]


def _same_arrays(remote: db.Database, local: db.Database) -> int:
    """Every series read from the store equals the same series read from files; the count."""
    compared = 0
    for theirs, ours in zip(local.series(), remote.series(), strict=True):
        try:
            expected = [da.values for da in theirs.to_xarrays()]
        except db.DicomError as exc:  # the same refusal from the store
            with pytest.raises(type(exc)):
                [da.values for da in ours.to_xarrays()]
            continue
        got = [da.values for da in ours.to_xarrays()]
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
            compared += 1
        if len(expected) == 1:  # the numpy path (series.array) reads the same values
            np.testing.assert_array_equal(ours.array()[0], theirs.array()[0])
    return compared


# ----------------------------------------------------------------------------- S3


def test_s3_prefix_is_the_local_database(
    s3_server: dict[str, Any], mixed_url: str, local: db.Database
) -> None:
    remote = db.database(mixed_url, storage_options=s3_server)
    assert remote.path == mixed_url and remote.read_only
    _same_database(remote, local)
    assert _same_arrays(remote, local) >= 10
    instance = remote.series()[0].instances()[0]
    assert instance.path.startswith(mixed_url + "/")
    # a tag that is not in the index is read from the object when asked
    assert (
        remote.series()[0].instances()[0]["SOPClassUID"]
        == (local.series()[0].instances()[0]["SOPClassUID"])
    )


def test_an_index_reads_header_bytes_only(
    s3_server: dict[str, Any], tmp_path: Path, mixed: Path
) -> None:
    """Native files are indexed from their first bytes: no object is downloaded whole.

    The server's own request log says which objects were fetched whole
    (status 200) or by range (206).
    """
    url = _upload(s3_server, mixed / "built")
    seen: list[str] = []

    class Log(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage()))  # no colours

    log = logging.getLogger("werkzeug")
    handler, level = Log(), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        remote = db.database(url, storage_options=s3_server)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    prefix = url.removeprefix("s3://")
    gets = [line for line in seen if f'"GET /{prefix}/' in line]
    ranged = [g for g in gets if '" 206 ' in g]
    whole = [g for g in gets if '" 200 ' in g]
    rows = remote.index.frame
    assert len(rows) == 28 and len(ranged) >= len(rows)
    # the enhanced MR file is read whole (its per-frame values); nothing else is
    assert len(whole) == 1 and "EMR_0001" in whole[0]


def test_reopen_uses_the_cached_index_and_refresh_sees_changes(
    s3_server: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "folder"
    build_database(folder)
    url = _upload(s3_server, folder)
    first = db.database(url, storage_options=s3_server)
    store = first.index.store
    assert (store / "index" / "_manifest.json").exists()
    again = db.database(url, storage_options=s3_server)
    assert again.index.store == store and not again.refresh()
    fs = _fs(s3_server)
    prefix = url.removeprefix("s3://")
    gone = "ALPHA_ANNA/CT_20230405/S01/IM_0001"
    assert fs.exists(f"{prefix}/{gone}")
    fs.rm(f"{prefix}/{gone}")
    fs.put_file(str(get_testdata_file("CT_small.dcm")), f"{prefix}/new/CT_small.dcm")
    (folder / gone).unlink()
    (folder / "new").mkdir()
    shutil.copyfile(str(get_testdata_file("CT_small.dcm")), folder / "new" / "CT_small.dcm")
    assert again.refresh()
    local = db.database(folder)
    _same_database(again, local)
    _same_database(db.database(url, storage_options=s3_server), local)  # from the cache


def test_credentials_are_never_kept_or_shown(
    s3_server: dict[str, Any], mixed_url: str, tmp_path: Path
) -> None:
    secret = s3_server["secret"]
    remote = db.database(mixed_url, storage_options=s3_server)
    for path in remote.index.store.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert s3_server["key"] not in remote.index.store.name
    da = remote.series(SeriesDescription="VFA")[0].to_xarray()
    assert secret not in repr(da) and secret not in repr(remote.index.locations(["a"])[0])
    with pytest.raises(db.ReadOnlyError, match="save\\(folder\\)"):
        remote.series()[0].SeriesDescription = "changed"


def test_credentials_in_the_url_stay_out_of_the_quoted_causes(
    web_folder: tuple[Path, str], s3_server: dict[str, Any]
) -> None:
    """A library's error quoting the URL (trial G): its user and password were shown there."""
    pytest.importorskip("aiohttp")
    url = web_folder[1].replace("http://", "http://alice:TOPSECRET@") + "missing/"
    s3 = {k: v for k, v in s3_server.items() if k not in ("key", "secret")}
    for given, options in ((url, None), ("s3://AKIAEXAMPLE:TOPSECRET@bucket/x", s3)):
        with pytest.raises(db.DicomError) as info:
            db.database(given, storage_options=options)
        for secret in ("TOPSECRET", "AKIAEXAMPLE", "alice"):
            assert secret not in str(info.value), str(info.value)


def test_save_downloads_into_a_local_folder(s3_server: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    build_database(folder)
    url = _upload(s3_server, folder)
    remote = db.database(url, storage_options=s3_server)
    copy = remote.save(tmp_path / "copy")
    assert not copy.read_only
    for path in folder.rglob("*"):
        if path.is_file() and ".dbdicom" not in path.parts:
            assert (tmp_path / "copy" / path.relative_to(folder)).read_bytes() == path.read_bytes()
    copy.series()[0].SeriesDescription = "changed"  # the copy is a database to change
    copy.save()


def test_a_dask_reduction_on_process_workers_in_other_folders(
    s3_server: dict[str, Any], mixed_url: str, local: db.Database, tmp_path: Path
) -> None:
    """Tasks carry the object's URL, offsets and storage options: no path, no shared disk."""
    distributed = pytest.importorskip("distributed")
    remote = db.database(mixed_url, storage_options=s3_server)
    name = "VFA"
    da = remote.series(SeriesDescription=name)[0].to_xarray(chunks={})
    expected = local.series(SeriesDescription=name)[0].to_xarray().mean(("row", "column"))
    graph = dict(da.data.__dask_graph__())
    places = {
        str(arg)
        for task in graph.values()
        for arg in _leaves(task)
        if isinstance(arg, RemoteFile) or (isinstance(arg, str) and str(local.path) in arg)
    }
    assert places and all(p.startswith(mixed_url) for p in places)
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
            local_directory=str(tmp_path / "scratch"),
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        folders = {}
        for i, worker in enumerate(client.scheduler_info()["workers"]):
            folders[worker] = tmp_path / f"worker{i}"
            folders[worker].mkdir()
            client.run(os.chdir, str(folders[worker]), workers=[worker])
        cwds = client.run(os.getcwd)
        assert len(set(cwds.values())) == 2 and str(local.path) not in "".join(cwds.values())
        got = da.mean(("row", "column")).compute()
    np.testing.assert_allclose(got.values, expected.values, rtol=1e-6)


def _leaves(task: Any) -> Iterator[Any]:
    """Every argument of a dask task, however nested (partials, tuples, task objects)."""
    if isinstance(task, functools.partial):
        yield from _leaves(task.args)
        return
    if isinstance(task, tuple | list):
        for item in task:
            yield from _leaves(item)
        return
    for attr in ("args", "func"):  # dask's Task objects
        inner = getattr(task, attr, None)
        if inner is not None and inner is not task:
            yield from _leaves(inner)
    yield task


# ----------------------------------------------------------------------------- bad input


def test_a_missing_bucket_names_the_url(s3_server: dict[str, Any]) -> None:
    with pytest.raises(db.DatabaseNotFoundError, match="s3://no-such-bucket-here/x"):
        db.database("s3://no-such-bucket-here/x", storage_options=s3_server)


def test_an_object_deleted_after_indexing(s3_server: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    build_database(folder)
    url = _upload(s3_server, folder)
    remote = db.database(url, storage_options=s3_server)
    series = remote.series(SeriesDescription="CT abdomen")[0]
    _fs(s3_server).rm(url.removeprefix("s3://") + "/ALPHA_ANNA/CT_20230405/S01/IM_0002")
    with pytest.raises(db.StorageObjectNotFoundError, match=f"{url}/ALPHA_ANNA.*IM_0002") as info:
        series.to_xarray().values  # noqa: B018
    assert "refresh()" in str(info.value) and s3_server["secret"] not in str(info.value)


def test_a_tag_read_from_an_object_deleted_after_indexing_is_an_error_not_none(
    s3_server: dict[str, Any], tmp_path: Path
) -> None:
    """A tag not in the index, asked of an object gone from the store (or of a store that
    cannot be reached), raises; it is not None, and no None is kept in the index."""
    folder = tmp_path / "folder"
    build_database(folder)
    url = _upload(s3_server, folder)
    remote = db.database(url, storage_options=s3_server)
    instance = remote.series(SeriesDescription="CT abdomen")[0].instances()[0]
    rel = instance.path.removeprefix(url + "/")
    expected = db.database(folder).series(SeriesDescription="CT abdomen")[0].instances()[0]
    assert expected.path.endswith(rel)
    _fs(s3_server).rm(instance.path.removeprefix("s3://"))
    with pytest.raises(db.StorageObjectNotFoundError, match=rel):
        instance["StationName"]  # noqa: B018 - not in the index: read from the object
    _fs(s3_server).put_file(expected.path, instance.path.removeprefix("s3://"))
    assert instance["StationName"] == expected["StationName"] is not None


def test_an_unreachable_server(s3_server: dict[str, Any]) -> None:
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and nobody listens once closed
    options = {
        **s3_server,
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2},
    }
    with pytest.raises(db.StorageError, match="s3://bucket/x.*reachable") as info:
        db.database("s3://bucket/x", storage_options=options)
    assert s3_server["secret"] not in str(info.value)


def test_a_prefix_that_does_not_exist_is_not_an_empty_database(
    s3_server: dict[str, Any], tmp_path: Path
) -> None:
    """A mistyped prefix in an existing bucket is an error, as a missing bucket is."""
    folder = tmp_path / "folder"
    build_database(folder)
    url = _upload(s3_server, folder)
    with pytest.raises(db.DatabaseNotFoundError, match=f"{url}-typo") as info:
        db.database(url + "-typo", storage_options=s3_server)
    assert s3_server["secret"] not in str(info.value)


def test_an_unreachable_web_server_is_not_an_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """... and leaves nothing in the user cache (each failed open left an index folder
    there, and nothing ever removes them: trial K)."""
    pytest.importorskip("aiohttp")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and nobody listens once closed
    for url in (f"http://ann:pa55word@127.0.0.1:{port}/x/", f"http://127.0.0.1:{port}/cd.zip"):
        with pytest.raises(db.StorageError, match=f"127.0.0.1:{port}/.*reachable") as info:
            db.database(url)
        assert "pa55word" not in str(info.value)
        assert "http://***@" in str(info.value) or "ann" not in url
    assert not list((tmp_path / "user-cache").rglob("*.*")), "left in the user cache"


def test_a_zip_object_in_a_store_says_how_to_open_its_files(
    s3_server: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "folder"
    build_database(folder)
    archive = _zipped(folder, tmp_path / "cd.zip")
    fs = _fs(s3_server)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    key = f"{BUCKET}/{uuid.uuid4().hex[:8]}/cd.zip"
    fs.put_file(str(archive), key)
    with pytest.raises(db.DatabaseNotFoundError, match=f"zip://::s3://{key}"):
        db.database(f"s3://{key}", storage_options=s3_server)
    local = db.database(folder)
    remote = db.database(f"zip://::s3://{key}", storage_options={"s3": s3_server})
    assert len(remote.series()) == len(local.series())


@pytest.mark.parametrize(
    "url",
    ["http://ann:pa55word@127.0.0.1:9/dicom-web", "zip://::s3://bucket/exports.zip"],
    ids=["http", "zip"],
)
def test_an_export_to_a_url_is_refused_not_written_to_a_local_folder(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a folder named 'http:' in the working folder: an error that says what to give."""
    folder = tmp_path / "folder"
    build_database(folder)
    monkeypatch.chdir(tmp_path)
    series = db.database(folder).series(SeriesDescription="CT abdomen")[0]
    for export in (series.export_as_dicom, series.export_as_npy):
        with pytest.raises(db.ReadOnlyError, match="dicomweb\\+") as info:
            export(url)
        assert "pa55word" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_save_to_a_url_is_refused_not_written_to_a_local_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "folder"
    build_database(folder)
    remote = db.database(_zipped(folder, tmp_path / "cd.zip"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(db.ReadOnlyError, match="local folder") as info:
        remote.save("http://ann:pa55word@127.0.0.1:9/copy")
    assert "pa55word" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cd.zip", "folder"]


def test_a_protocol_without_its_package_names_it() -> None:
    pytest.importorskip("fsspec")
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        with pytest.raises(db.StorageBackendError, match="gcsfs"):
            db.database("gs://bucket/prefix")
    else:
        pytest.skip("gcsfs is installed")
    with pytest.raises(db.StorageBackendError, match="nosuchproto"):
        db.database("nosuchproto://bucket/prefix")


@pytest.fixture(params=[401, 403])
def refusing_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A real HTTP server on localhost that answers 401 (or 403) to everything."""
    status = int(request.param)

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_error(status, "Unauthorized" if status == 401 else "Forbidden")

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Refuse) as port:
        yield f"http://ann:pa55word@127.0.0.1:{port}/data/"


def test_access_refused(refusing_server: str) -> None:
    pytest.importorskip("aiohttp")
    with pytest.raises(db.StorageAccessError, match="credentials") as info:
        db.database(refusing_server)
    assert "pa55word" not in str(info.value) and "***@127.0.0.1" in str(info.value)


def test_no_credentials_at_all_says_to_give_them(s3_server: dict[str, Any]) -> None:
    """botocore finds none to sign with: it said 'check that the server is reachable' (trial G)."""
    options = {k: v for k, v in s3_server.items() if k not in ("key", "secret")}
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            env.delenv(name, raising=False)
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        env.setenv("AWS_CONFIG_FILE", "/nonexistent")
        with pytest.raises(db.StorageAccessError, match="storage_options"):
            db.database("s3://dbdicom-none/prefix", storage_options=options)


# ----------------------------------------------------------------------------- zip, file://


def _zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and ".dbdicom" not in path.parts:
                z.write(path, path.relative_to(folder).as_posix())
    return target


def test_a_zip_file_and_a_file_url(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    build_database(folder)
    local = db.database(folder)
    archive = _zipped(folder, tmp_path / "cd.zip")
    for url in (str(archive), f"zip://::{archive}", f"file://{folder}"):
        remote = db.database(url)
        assert remote.path == url and remote.read_only
        _same_database(remote, local)
        assert _same_arrays(remote, local) >= 4
        # instance.path is a URL fsspec opens (for a zip: zip://<member>::<the zip>)
        instance = remote.series()[0].instances()[0]
        with fsspec.open(instance.path, "rb") as f:
            assert f.read(132)[128:132] == b"DICM"
        assert instance.path in set(remote.table(columns=["path"])["path"])
        assert instance.files() == [instance.path]
        # the way out of read-only: for a file:// URL, the folder itself (trial G: it said
        # writable=True, which file:// refuses)
        way = rf"db\.database\({str(folder)!r}\)" if url.startswith("file") else "save"
        with pytest.raises(db.ReadOnlyError, match=way):
            remote.series()[0].SeriesDescription = "changed"


def test_csv_export_of_a_zip_and_of_a_store_reads_the_objects(
    s3_server: dict[str, Any], tmp_path: Path
) -> None:
    """The headers are read from local copies of the objects, not from their URLs as paths."""
    folder = tmp_path / "folder"
    build_database(folder)
    expected = db.database(folder).series(SeriesDescription="CT abdomen")[0]

    def csv(series: db.Series, target: Path) -> list[str]:
        series.export_as_csv(target)
        return [p.read_text() for p in sorted(target.rglob("*.csv"))]

    want = csv(expected, tmp_path / "local")
    assert len(want) == 1
    archive = _zipped(folder, tmp_path / "cd.zip")
    url = _upload(s3_server, folder)
    for n, remote in enumerate([db.database(archive), db.database(url, storage_options=s3_server)]):
        series = remote.series(SeriesDescription="CT abdomen")[0]
        assert csv(series, tmp_path / f"csv{n}") == want


@pytest.fixture
def web_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder of the built database, served by Python's own HTTP server (no ranges)."""
    folder = tmp_path / "served"
    build_database(folder)
    with http_server(functools.partial(QuietFiles, directory=str(tmp_path))) as port:
        yield folder, f"http://127.0.0.1:{port}/served/"


def test_a_folder_on_a_web_server(web_folder: tuple[Path, str]) -> None:
    """Listed from its HTML pages, one HEAD per file for its size; ranges asked, all sent."""
    pytest.importorskip("aiohttp")
    folder, url = web_folder
    local = db.database(folder)
    remote = db.database(url)
    assert remote.path == url
    _same_database(remote, local)
    assert _same_arrays(remote, local) >= 4


def test_a_zip_file_on_a_web_server_without_byte_ranges_says_so(tmp_path: Path) -> None:
    """Trial K: a zip file served by ``python -m http.server`` (no ranges) was 'check that
    the server is reachable', and fsspec's advice (block_size=0) 'Cannot seek'."""
    pytest.importorskip("aiohttp")
    folder = tmp_path / "folder"
    build_database(folder)
    _zipped(folder, tmp_path / "cd.zip")
    with http_server(functools.partial(QuietFiles, directory=str(tmp_path))) as port:
        url = f"http://127.0.0.1:{port}/cd.zip"
        attempts = [
            lambda: db.database(f"zip://::{url}"),
            lambda: db.database(f"zip://::{url}", storage_options={"http": {"block_size": 0}}),
            lambda: db.database().import_dicom(url),
        ]
        for attempt in attempts:
            with pytest.raises(db.StorageError, match="byte ranges.*Download") as info:
                attempt()
            assert "reachable" not in str(info.value) and url in str(info.value)
        fsspec.filesystem("http").get(url, str(tmp_path / "local.zip"))  # the way out
    local = db.database(folder)
    _same_database(db.database(tmp_path / "local.zip"), local)
    assert len(db.database().import_dicom(tmp_path / "local.zip")) == len(local.instances())


def test_url_schemes_are_case_insensitive(
    s3_server: dict[str, Any], web_folder: tuple[Path, str], tmp_path: Path
) -> None:
    """Trial K: ``S3://...`` said that no installed package reads s3:// URLs (s3fs was
    installed). Schemes are case-insensitive (RFC 3986): each is fsspec's, in lower case."""
    pytest.importorskip("aiohttp")
    folder, web = web_folder
    local = db.database(folder)
    url = _upload(s3_server, folder)
    archive = _zipped(folder, tmp_path / "cd.zip")
    key = f"{url[5:]}.zip"
    _fs(s3_server).put_file(str(archive), key)
    cases = {  # typed: (the database's path, storage options)
        "S3" + url[2:]: (url, s3_server),
        "HTTP" + web[4:]: (web, None),
        f"FILE://{folder}": (f"file://{folder}", None),
        f"ZIP://::FILE://{archive}": (f"zip://::file://{archive}", None),
        f"Zip://::S3://{key}": (f"zip://::s3://{key}", {"S3": s3_server}),
    }
    for typed, (path, options) in cases.items():
        remote = db.database(typed, storage_options=options)
        assert remote.path == path
        _same_database(remote, local)


def test_a_file_url_with_dot_dot_is_its_local_folder(tmp_path: Path) -> None:
    """Review: ``file:///.../work/../study`` was refused as "a '..' names no parent folder
    (an object store has none)": on a local disk it does."""
    folder = tmp_path / "study"
    build_database(folder)
    (tmp_path / "work").mkdir()
    for typed in (f"file://{tmp_path}/work/../study", f"file://{tmp_path}//work/./../study/"):
        remote = db.database(typed)
        assert remote.path.rstrip("/") == f"file://{folder}"
        _same_database(remote, db.database(folder))


def test_what_reads_whole_files_reads_a_local_copy(
    s3_server: dict[str, Any], tmp_path: Path
) -> None:
    """Datasets, exports and copies of a remote series equal those of the local files."""
    nibabel = pytest.importorskip("nibabel")
    folder = tmp_path / "folder"
    build_database(folder)
    url = _upload(s3_server, folder)
    remote, local = db.database(url, storage_options=s3_server), db.database(folder)
    ours, theirs = (d.series(SeriesDescription="CT abdomen")[0] for d in (remote, local))
    mine, expected = ours.instances()[0], theirs.instances()[0]
    mine.read()  # the dataset in memory, from a local copy of the object
    for tag in ("ImageComments", "SeriesDescription", "ImagePositionPatient"):
        assert mine[tag] == expected[tag]
    ours.export_as_dicom(tmp_path / "dicom")
    copies = sorted((tmp_path / "dicom").rglob("*.dcm"))
    assert len(copies) == 5
    originals = {p.read_bytes() for p in (folder / "ALPHA_ANNA" / "CT_20230405").rglob("IM_*")}
    assert {p.read_bytes() for p in copies} == originals
    ours.export_as_nifti(tmp_path / "nifti")
    theirs.export_as_nifti(tmp_path / "nifti-local")
    (a,), (b,) = (sorted((tmp_path / n).rglob("*.nii*")) for n in ("nifti", "nifti-local"))
    np.testing.assert_array_equal(nibabel.load(a).get_fdata(), nibabel.load(b).get_fdata())
    assert sorted(p.name for p in (tmp_path / "nifti").rglob("*.json")) == sorted(
        p.name for p in (tmp_path / "nifti-local").rglob("*.json")
    )
    copy = ours.copy_to(db.database().new_study())
    np.testing.assert_array_equal(copy.to_xarray().values, theirs.to_xarray().values)
    with pytest.raises(db.VirtualZarrError, match="save\\(folder\\)"):
        ours.to_virtual_zarr(tmp_path / "refs.json")


def test_a_sequence_of_an_object_is_read_as_from_the_file(
    s3_server: dict[str, Any], tmp_path: Path
) -> None:
    """A trial: ReferencedImageSequence, IconImageSequence... of an object read None (the
    whole object's bytes were given to a reader that opens paths)."""
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(get_testdata_file("MR-SIEMENS-DICOM-WithOverlays.dcm"), folder / "a.dcm")
    url = _upload(s3_server, folder)
    remote, local = db.database(url, storage_options=s3_server), db.database(folder)
    ours, theirs = remote.instances()[0], local.instances()[0]
    for keyword in ("ReferencedImageSequence", "IconImageSequence"):
        assert theirs[keyword] is not None
        assert ours[keyword] == theirs[keyword]


def test_zip_paths_that_are_not_zip_files(tmp_path: Path) -> None:
    with pytest.raises(db.DatabaseNotFoundError, match="missing.zip"):
        db.database(tmp_path / "missing.zip")
    (tmp_path / "junk.zip").write_bytes(b"not a zip file" * 10)
    with pytest.raises(db.StorageError, match="junk.zip.*BadZipFile"):
        db.database(tmp_path / "junk.zip")
    build_database(tmp_path / "folder.zip")  # a folder whose name ends in .zip is a folder
    assert not db.database(tmp_path / "folder.zip").read_only


@pytest.mark.parametrize("how", ["moved", "in place"])
def test_an_object_replaced_after_indexing(
    s3_server: dict[str, Any], tmp_path: Path, how: str
) -> None:
    """An object replaced after the open is an error, never other values; refresh() heals.

    Its pixels moved (a longer header): the element's tag, fetched with the frames, is
    not where it was. Its pixels in place (a trial: the new pixels were read with the old
    header's rescale, values of neither file): the ranged GETs carry the object's listed
    time (If-Unmodified-Since), which S3 keeps in whole seconds.
    """
    import time

    import pydicom

    folder = tmp_path / "folder"
    build_database(folder)
    url = _upload(s3_server, folder)
    remote = db.database(url, storage_options=s3_server)
    rel = "ALPHA_ANNA/CT_20230405/S01/IM_0003"
    ds = pydicom.dcmread(folder / rel)
    size = (folder / rel).stat().st_size
    if how == "moved":
        ds.ImageComments = "a longer header " * 20
    else:
        ds.PixelData = bytes(len(ds.PixelData))
    ds.save_as(folder / rel)
    assert ((folder / rel).stat().st_size == size) == (how == "in place")
    time.sleep(1.1)  # a later second than the upload
    _fs(s3_server).put_file(str(folder / rel), f"{url.removeprefix('s3://')}/{rel}")
    series = remote.series(SeriesDescription="CT abdomen")[0]
    with pytest.raises(db.StaleFileError, match=f"{url}/{rel} changed.*refresh"):
        series.to_xarray().values  # noqa: B018
    assert remote.refresh()
    expected = db.database(folder).series(SeriesDescription="CT abdomen")[0].to_xarray()
    got = remote.series(SeriesDescription="CT abdomen")[0].to_xarray()
    np.testing.assert_array_equal(got.values, expected.values)
    assert got.sel(SliceLocation=got.SliceLocation[2]).values.any() == (how == "moved")


def test_a_missing_server_skips_or_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBDICOM_REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install it with pip install 'moto"):
        missing_server("the moto S3 server", "pip install 'moto[server]' s3fs", "not found")
    monkeypatch.setenv("DBDICOM_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="servers are required"):
        missing_server("the moto S3 server", "pip install 'moto[server]' s3fs", "not found")


def test_a_scan_shows_its_progress(s3_server: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    build_database(folder)
    url = _upload(s3_server, folder)
    status = Recorder()
    db.database(url, storage_options=s3_server, status=status)
    steps = [(done, total) for done, total, text in status.steps if "headers" in text]
    assert steps[0] == (0, 28) and steps[-1] == (28, 28)


def test_xarray_opens_a_url(s3_server: dict[str, Any], tmp_path: Path) -> None:
    import xarray as xr

    folder = tmp_path / "folder"
    build_database(folder)
    url = _upload(s3_server, folder)
    tree = xr.open_datatree(url, engine="dbdicom", storage_options=s3_server)
    expected = xr.open_datatree(folder, engine="dbdicom")
    assert sorted(tree.groups) == sorted(expected.groups)
    leaf = [g for g in expected.groups if expected[g].data_vars][0]
    xr.testing.assert_identical(tree[leaf].to_dataset().load(), expected[leaf].to_dataset().load())
