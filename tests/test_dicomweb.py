"""DICOMweb archives as databases, on a real Orthanc started by the tests (``servers.py``).

The archive holds the demo database and compressed files shipped with
pydicom, stored with STOW-RS; every check compares the archive's database
with the same files opened as a local folder.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests
import xarray as xr
from dicomweb_client.api import DICOMwebClient
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
from pydicom.uid import generate_uid
from servers import PASSWORD, USER, Orthanc, free_port, stored_alone

import dbdicom as db
from dbdicom._demo import build_demo
from dbdicom._files import _header, _layout
from dbdicom._index import Index
from dbdicom._records._web import qido_filters
from dbdicom._web import Server, split_multipart
from dbdicom._web._cache import list_series
from dbdicom._web._frames import _SOP_ONLY

#: compressed files of pydicom's test data: JPEG 2000, JPEG-LS, RLE, JPEG baseline
COMPRESSED = ["JPEG2000.dcm", "emri_small_jpeg_ls_lossless.dcm", "MR_small_RLE.dcm"]


@pytest.fixture(scope="module")
def archive(orthanc: Orthanc, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local folder, and the same files stored in Orthanc: the folder is returned."""
    folder = tmp_path_factory.mktemp("archive") / "local"
    build_demo(folder)
    for name in COMPRESSED:
        shutil.copyfile(get_testdata_file(name), folder / name)
    client = DICOMwebClient(orthanc.url, session=orthanc.session())
    files = sorted(p for p in folder.rglob("*") if p.is_file() and ".dbdicom" not in p.parts)
    client.store_instances([pydicom.dcmread(p) for p in files])
    return folder


@pytest.fixture
def web(orthanc: Orthanc, archive: Path, tmp_path: Path) -> Iterator[db.Database]:
    database = db.dicomweb(orthanc.url, session=orthanc.session(), cache=tmp_path / "cache")
    yield database
    database.close()


def _same_series(web: db.Database, local: db.Database) -> list[tuple[db.Series, db.Series]]:
    pairs = []
    for series in local.series():
        found = web.series(SeriesInstanceUID=series.SeriesInstanceUID)
        assert len(found) == 1, series.SeriesInstanceUID
        pairs.append((found[0], series))
    return pairs


def test_the_tree_queries_and_attributes_are_those_of_the_files(
    web: db.Database, archive: Path
) -> None:
    local = db.database(archive)
    assert len(web.patients()) == len(local.patients())
    assert len(web.studies()) == len(local.studies())
    assert len(_same_series(web, local)) == len(local.series()) == 8
    vfa = web.series(SeriesDescription="VFA")
    assert len(vfa) == 1 and vfa[0].SeriesDescription == "VFA"
    assert sorted(web.studies(StudyDescription="MR phantom T1 mapping")[0].SeriesDescription) == [
        "T2w",
        "VFA",
        "localiser",
    ]
    # tags that are not in the index are read from the archive's headers
    ct, ct_here = web.series(Modality="CT")[0], local.series(Modality="CT")[0]
    assert ct.InstitutionName == ct_here.InstitutionName is not None
    assert ct.WindowCenter == ct_here.WindowCenter
    assert ct.PatientName == ct_here.PatientName


@pytest.mark.parametrize("chunks", [None, False], ids=["dask", "lazy-backend"])
def test_every_series_reads_as_the_local_files(
    web: db.Database, archive: Path, chunks: bool | None
) -> None:
    """Native and compressed (JPEG 2000, JPEG-LS, RLE) frames, through WADO-RS /frames."""
    local = db.database(archive)
    for remote, here in _same_series(web, local):
        if remote.SeriesDescription == "localiser":  # three orientations: one array each

            def key(da: xr.DataArray) -> str:  # groups of one size: in no set order
                return str(da.attrs["ImageOrientationPatient"])

            got_all, expected_all = remote.to_xarrays(), here.to_xarrays()
            pairs = zip(sorted(got_all, key=key), sorted(expected_all, key=key), strict=True)
            for got, expected in pairs:
                xr.testing.assert_identical(got.rename(None), expected.rename(None))
            continue
        expected = here.to_xarray()
        got = remote.to_xarray(chunks=chunks)
        np.testing.assert_array_equal(got.values, expected.values)
        xr.testing.assert_identical(got.rename(None), expected.rename(None))  # name: a token
        np.testing.assert_array_equal(remote.array()[0], here.array()[0])  # the numpy path


def test_the_frames_come_from_the_server_not_the_cache(web: db.Database) -> None:
    """The folder of headers holds no pixel data: only the server can give the values (and
    nothing is kept of them unless asked: keep_pixels=True)."""
    headers = sorted(Path(web.cache).rglob("*.dcm"))
    assert headers and all(b"\xe0\x7f\x10\x00" not in p.read_bytes() for p in headers)
    series = web.series(SeriesDescription="CT phantom")[0]
    assert float(series.to_xarray().max()) > 0
    assert not list(Path(web.cache).rglob(".pixels"))


def test_a_reduction_on_a_local_cluster_of_processes_equals_the_local_one(
    orthanc: Orthanc, archive: Path, tmp_path: Path
) -> None:
    """Tasks carry the instance URLs and the credentials (pickled) to other processes."""
    distributed = pytest.importorskip("distributed")
    web = db.dicomweb(orthanc.db_url, cache=tmp_path / "cache")
    local = db.database(archive)
    expected = local.series(SeriesDescription="VFA")[0].to_xarray().mean("FlipAngle").values
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        da = web.series(SeriesDescription="VFA")[0].to_xarray()
        pids = set(client.run(lambda: __import__("os").getpid()).values())
        got = client.compute(da.mean("FlipAngle")).result().values
    assert len(pids) == 2
    np.testing.assert_array_equal(got, expected)


def test_credentials_stay_out_of_the_cache_and_the_errors(
    orthanc: Orthanc, archive: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    web = db.dicomweb(orthanc.db_url, cache=cache)
    web.series(SeriesDescription="VFA")[0].to_xarray().values  # noqa: B018 - a read
    web.close()
    for path in cache.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    with pytest.raises(db.ServerAccessError) as info:
        db.dicomweb(orthanc.db_url.replace(PASSWORD, "not-the-password"), cache=tmp_path / "x")
    text = str(info.value)
    assert "401" in text and orthanc.url in text and "session" in text
    assert "not-the-password" not in text and USER not in text
    assert not (tmp_path / "x").exists()  # nothing written for a refused archive


def test_an_instance_path_is_its_url_on_the_server(
    orthanc: Orthanc, archive: Path, tmp_path: Path
) -> None:
    """Not the header kept in the cache: the WADO-RS URL, which gives the instance, with no
    credentials (the database was opened with them in the URL)."""
    web = db.dicomweb(orthanc.db_url, cache=tmp_path / "cache")
    instance = web.series(SeriesDescription="VFA")[0].instances()[0]
    url = instance.path
    assert url.startswith(orthanc.url + "/studies/") and PASSWORD not in url
    assert url.endswith(f"/instances/{instance.SOPInstanceUID}")
    answer = orthanc.session().get(
        url, headers={"Accept": 'multipart/related; type="application/dicom"'}, timeout=30
    )
    assert answer.status_code == 200 and instance.SOPInstanceUID.encode() in answer.content
    assert instance.path in set(web.table(columns=["path"])["path"])
    assert instance.files() == [url]  # files() says the same
    # the database's path too: the URL opened, no credentials (it was the cache folder)
    assert web.path == web.label() == f"dicomweb+{orthanc.url}" and PASSWORD not in web.path
    assert web.cache == str(tmp_path / "cache") and db.database(archive).cache is None
    assert web.path in repr(web)
    web.close()


def test_no_credentials_is_a_401_that_says_how_to_pass_them(orthanc: Orthanc) -> None:
    with pytest.raises(db.ServerAccessError) as info:
        db.database("dicomweb+" + orthanc.url)
    assert isinstance(info.value, PermissionError) and isinstance(info.value, db.DicomError)
    assert "db.dicomweb(url, session=session)" in str(info.value)
    assert "user:password@ in the URL" in str(info.value)
    assert "were refused" not in str(info.value)  # none were given


def test_wrong_credentials_in_the_url_are_said_to_be_refused(orthanc: Orthanc) -> None:
    """Trial H: a 401 for a URL's user:password@ only spoke of session.auth."""
    url = orthanc.db_url.replace(f":{PASSWORD}@", ":not-the-password@")
    with pytest.raises(db.ServerAccessError) as info:
        db.database(url)
    assert "The credentials given were refused" in str(info.value)
    assert "not-the-password" not in str(info.value)


def test_an_unreachable_server_names_the_url_without_credentials(tmp_path: Path) -> None:
    url = f"dicomweb+http://bob:hunter2@127.0.0.1:{free_port()}/dicom-web"
    with pytest.raises(db.ServerError) as info:
        db.dicomweb(url, cache=tmp_path / "c")
    text = str(info.value)
    assert isinstance(info.value, ConnectionError)
    assert "127.0.0.1" in text and "hunter2" not in text and "bob" not in text
    assert "server is running" in text


def test_https_to_a_server_that_speaks_http_says_so(tmp_path: Path) -> None:
    """Trial U: dicomweb+https:// to an http server said "no server answers there", though one
    did: the TLS handshake failed (as it does for a certificate not trusted)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Busy,), {"seen": []}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"dicomweb+https://bob:hunter2@127.0.0.1:{server.server_port}/dicom-web"
    try:
        with pytest.raises(db.ServerError) as info:
            db.dicomweb(url, cache=tmp_path / "c")
    finally:
        server.shutdown()
        server.server_close()
    text = str(info.value)
    assert "no server answers" not in text and "hunter2" not in text
    assert "TLS" in text and "http://" in text and "session.verify" in text


class _Busy(BaseHTTPRequestHandler):
    """A DICOMweb root that answers 503 to its first ``busy`` requests, then no series."""

    busy = 0
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append(self.path)
        if len(self.seen) <= self.busy:
            self.send_response(503)
            self.end_headers()
            return
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("busy", [1, 10])
def test_a_busy_server_is_asked_again_a_few_times(tmp_path: Path, busy: int) -> None:
    """503 is retried (3 times, backing off); after that the error says what the server said."""
    handler = type("Handler", (_Busy,), {"busy": busy, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"dicomweb+http://127.0.0.1:{server.server_port}/dicom-web"
    try:
        if busy == 1:  # the second answer is an (empty) list of series
            assert db.dicomweb(url, cache=tmp_path / "c").series() == []
            assert handler.seen[0] == handler.seen[1]
        else:
            with pytest.raises(db.ServerError, match="503"):
                db.dicomweb(url, cache=tmp_path / "c")
            assert len(handler.seen) == 4  # the first request and 3 more
    finally:
        server.shutdown()
        server.server_close()


def test_a_url_that_is_not_dicomweb_is_refused(tmp_path: Path) -> None:
    with pytest.raises(db.ServerError, match="not a DICOMweb URL"):
        db.dicomweb("dicomweb+ftp://host/x", cache=tmp_path / "c")


def test_an_instance_deleted_on_the_server_gives_a_frame_error(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """The server no longer gives the frames (404): the error names the instance and the way out."""
    client = DICOMwebClient(orthanc.url, session=orthanc.session())
    gone = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    client.store_instances([gone])
    web = db.dicomweb(orthanc.url, session=orthanc.session(), cache=tmp_path / "cache")
    series = web.series(SeriesInstanceUID=gone.SeriesInstanceUID)[0]
    da = series.to_xarray()
    # deleted through Orthanc's own REST API (its DICOMweb plugin does not delete)
    session, root = orthanc.session(), orthanc.url.removesuffix("/dicom-web")
    found = session.post(f"{root}/tools/lookup", data=gone.SeriesInstanceUID, timeout=30).json()
    session.delete(f"{root}/series/{found[0]['ID']}", timeout=30).raise_for_status()
    with pytest.raises(db.ServerError) as info:
        da.values  # noqa: B018 - the read
    text = str(info.value)
    assert gone.SOPInstanceUID in text and "404" in text and "WADO-RS" in text
    assert PASSWORD not in text


def test_a_derived_series_stored_with_stow_keeps_its_provenance(
    orthanc: Orthanc, archive: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    shutil.copytree(archive, work, ignore=shutil.ignore_patterns(".dbdicom"))
    local = db.database(work)
    vfa = local.series(SeriesDescription="VFA")[0]
    mean = vfa.to_xarray().mean("FlipAngle")
    out = vfa.new_sibling(SeriesDescription="VFA mean (stored by STOW-RS)")
    out.set_xarray(mean)
    local.save()
    assert out.export_as_dicom(orthanc.db_url) == orthanc.url
    web = db.dicomweb(orthanc.url, session=orthanc.session(), cache=tmp_path / "cache")
    stored = web.series(SeriesDescription="VFA mean (stored by STOW-RS)")
    assert len(stored) == 1
    back = stored[0].to_xarray()
    np.testing.assert_allclose(back.values, out.to_xarray().values)
    first = stored[0].instances()[0]
    assert "DERIVED" in first.ImageType
    sources = {item.ReferencedSOPInstanceUID for item in first.SourceImageSequence}
    assert sources <= set(vfa.SOPInstanceUID) and sources
    assert stored[0].SeriesInstanceUID == out.SeriesInstanceUID != vfa.SeriesInstanceUID


def test_the_archive_is_not_changed_in_place(web: db.Database) -> None:
    series = web.series(SeriesDescription="VFA")[0]
    with pytest.raises(db.ReadOnlyError, match=r"export_as_dicom\(url\)"):
        series.SeriesDescription = "renamed"
    assert series.SeriesDescription == "VFA"


def test_a_reopen_fetches_only_new_series(orthanc: Orthanc, archive: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    db.dicomweb(orthanc.url, session=orthanc.session(), cache=cache).close()
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*.dcm")}
    again = db.dicomweb(orthanc.url, session=orthanc.session(), cache=cache)
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.dcm")} == before
    assert len(again.series(SeriesDescription="VFA")) == 1


def test_a_reopen_reads_the_saved_index_without_writing_it(
    orthanc: Orthanc, archive: Path, tmp_path: Path
) -> None:
    """Where the server's pixels lie is saved with the index at the first open: each reopen
    set them again for every instance and wrote the whole index back (~20 ms a reopen of
    200 instances), because the rows changed were not among the index parts saved."""
    cache = tmp_path / "cache"
    first = db.dicomweb(orthanc.url, session=orthanc.session(), cache=cache)
    expected = first.series(SeriesDescription="VFA")[0].to_xarray().values
    first.close()
    saved = [p for p in cache.rglob("*") if ".dbdicom" in p.parts and p.is_file()]
    before = {p: p.stat().st_mtime_ns for p in saved}
    assert before
    again = db.dicomweb(orthanc.url, session=orthanc.session(), cache=cache)
    np.testing.assert_array_equal(
        again.series(SeriesDescription="VFA")[0].to_xarray().values, expected
    )
    again.close()
    assert {p: p.stat().st_mtime_ns for p in saved if p.exists()} == before
    assert all(p.exists() for p in saved)


def test_a_first_open_writes_its_index_once(
    orthanc: Orthanc, archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The headers fetched at a first open are indexed with the server's pixel data given to
    their rows as they are read, then written: once (the index was written, then given the
    pixel data and written whole again: ~50 ms of a first open of 200 instances)."""
    written: list[Path] = []
    save = Index.save

    def counted(index: Index) -> None:
        written.append(index.root)
        save(index)

    monkeypatch.setattr(Index, "save", counted)
    cache = tmp_path / "cache"
    web = db.dicomweb(orthanc.url, session=orthanc.session(), cache=cache)
    assert written == [cache]
    expected = db.database(archive).series(SeriesDescription="VFA")[0].to_xarray()
    got = web.series(SeriesDescription="VFA")[0].to_xarray()  # the server's pixel data
    np.testing.assert_array_equal(got.values, expected.values)
    web.close()
    assert written.count(cache) == 1


def test_a_session_with_a_wrong_password_is_refused(orthanc: Orthanc, tmp_path: Path) -> None:
    session = requests.Session()
    session.auth = (USER, "wrong")
    with pytest.raises(db.ServerAccessError):
        db.dicomweb(orthanc.url, session=session, cache=tmp_path / "c")


def test_a_copy_to_a_folder_database_brings_the_pixels(web: db.Database, tmp_path: Path) -> None:
    """copy_to and export_as_dicom retrieve the whole instances (WADO-RS), not the headers."""
    series = web.series(SeriesDescription="CT phantom")[0]
    expected = series.to_xarray().values
    (tmp_path / "here").mkdir()
    local = db.database(tmp_path / "here")
    copy = series.copy_to(local.new_patient().new_study())
    local.save()
    np.testing.assert_array_equal(copy.to_xarray().values, expected)
    out = series.export_as_dicom(tmp_path / "export")
    files = sorted(Path(out).rglob("*.dcm"))
    assert len(files) == len(series.instances())
    read = [pydicom.dcmread(f) for f in files]
    assert {ds.SOPInstanceUID for ds in read} == set(series.SOPInstanceUID)
    by_position = sorted(read, key=lambda ds: float(ds.SliceLocation))
    values = np.stack(
        [ds.pixel_array * ds.RescaleSlope + ds.RescaleIntercept for ds in by_position]
    )
    np.testing.assert_array_equal(values, expected)


def test_filters_at_open_go_to_the_server_where_qido_can(
    orthanc: Orthanc, archive: Path, tmp_path: Path
) -> None:
    """Modality is matched by the server: only the CT series' headers are fetched."""
    server = Server.parse(orthanc.url, orthanc.session())
    assert len(list_series(server, qido_filters({"Modality": "CT"}))) == 1
    assert len(list_series(server, qido_filters({}))) >= 8
    cache = tmp_path / "cache"
    web = db.dicomweb(orthanc.url, session=orthanc.session(), cache=cache, Modality="CT")
    assert [s.Modality for s in web.series()] == ["CT"]
    assert len(list(cache.glob("*/*/.series.json"))) == 1


def test_filters_the_server_cannot_match_are_matched_on_the_headers(
    orthanc: Orthanc, archive: Path, tmp_path: Path
) -> None:
    """A function, and an instance-level tag: no QIDO key, matched by dbdicom after the fetch
    (the instance tag holds the matching instances, not their whole series)."""
    web = db.dicomweb(
        orthanc.url,
        session=orthanc.session(),
        cache=tmp_path / "cache",
        SeriesDescription=lambda d: d is not None and d.startswith("T2"),
    )
    assert sorted(web.SeriesDescription) == ["T2w", "T2w sag"]
    local = db.database(archive)
    vfa_angles = local.series(SeriesDescription="VFA")[0].FlipAngle
    web = db.dicomweb(
        orthanc.url, session=orthanc.session(), cache=tmp_path / "c2", FlipAngle=vfa_angles[-1]
    )
    assert sorted(web.SeriesDescription) == sorted(
        s.SeriesDescription for s in local.series(FlipAngle=vfa_angles[-1])
    )
    vfa = web.series(SeriesDescription="VFA")[0]
    assert vfa.FlipAngle == [vfa_angles[-1]]  # those of that flip angle only
    assert len(vfa.instances()) == len(local.instances(FlipAngle=vfa_angles[-1]))


def test_a_wildcard_filter_finds_what_the_local_query_finds(
    orthanc: Orthanc, archive: Path, tmp_path: Path
) -> None:
    """Orthanc's QIDO-RS /series matches a lower-case wildcard against upper-cased values
    (none found): a wildcard is matched by dbdicom on the headers, never left to the server."""
    local = db.database(archive)
    for filters in ({"SeriesDescription": "T2*"}, {"SeriesDescription": "*sag"}):
        web = db.dicomweb(orthanc.url, session=orthanc.session(), cache=tmp_path / "c", **filters)
        found = {str(s.SeriesInstanceUID) for s in web.series()}
        expected = {str(s.SeriesInstanceUID) for s in local.series(**filters)}
        assert expected and expected <= found, filters  # the archive holds other tests' series
        web.close()


@pytest.mark.parametrize(
    "chunks", [{"SliceLocation": 1}, {"SliceLocation": 3}, {}], ids=["one", "some", "auto"]
)
def test_blocks_of_some_instances_and_of_a_whole_series_read_the_same(
    web: db.Database, archive: Path, chunks: dict[str, int]
) -> None:
    """Blocks of part of a series ask each instance for its frames (/frames, 16 at a time);
    a block of the whole series asks for the series in one request: the values are equal."""
    expected = db.database(archive).series(SeriesDescription="VFA")[0].to_xarray()
    got = web.series(SeriesDescription="VFA")[0].to_xarray(chunks=chunks)
    if chunks:
        assert len(got.chunks[0]) > 1
    np.testing.assert_array_equal(got.values, expected.values)
    # a selection reads only its frames, as from files
    np.testing.assert_array_equal(got[1:3, 0].values, expected[1:3, 0].values)


def test_import_dicom_from_an_archive_url(orthanc: Orthanc, archive: Path, tmp_path: Path) -> None:
    """A series URL of the archive imports its whole instances into a folder database."""
    here = db.database(archive).series(SeriesDescription="T2w sag")[0]
    url = orthanc.db_url + f"/studies/{here.StudyInstanceUID}/series/{here.SeriesInstanceUID}"
    (tmp_path / "local").mkdir()
    local = db.database(tmp_path / "local")
    new = local.import_dicom(url)
    assert len(new) == len(here.instances())
    local.save()
    imported = local.series(SeriesInstanceUID=here.SeriesInstanceUID)[0]
    xr.testing.assert_equal(imported.to_xarray(), here.to_xarray())
    # schemes are case-insensitive (RFC 3986; trial K)
    upper = "DICOMWEB+HTTP" + url[len("dicomweb+http") :]
    assert len(db.database().import_dicom(upper)) == len(here.instances())
    with pytest.raises(db.ServerError, match="URL of a study or a series"):
        local.import_dicom(orthanc.db_url)
    with pytest.raises(db.ServerAccessError, match=f"retrieving studies/{here.StudyInstanceUID} "):
        local.import_dicom("dicomweb+" + orthanc.url + f"/studies/{here.StudyInstanceUID}")


@pytest.mark.parametrize("name", ["MR_small_jp2klossless.dcm", "JPGExtended.dcm"])
def test_import_dicom_retrieves_the_instances_as_the_archive_holds_them(
    orthanc: Orthanc, tmp_path: Path, name: str
) -> None:
    """Trial U: import_dicom(series URL) asked the server for Explicit VR Little Endian, so
    Orthanc decoded the instances to import them: a JPEG 2000 one was a 500 ("Cannot
    transcode image"), a 12-bit JPEG (Process 4) came with values off by one from the
    archive's own (its decoder's, not pydicom's). copy_to and the frames ask for the
    transfer syntax the server holds (``transfer-syntax=*``); so does the import now."""
    stored = pydicom.dcmread(get_testdata_file(name))
    stored.SOPInstanceUID = stored.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    stored.SeriesInstanceUID = generate_uid()
    DICOMwebClient(orthanc.url, session=orthanc.session()).store_instances([stored])
    url = orthanc.db_url + f"/studies/{stored.StudyInstanceUID}/series/{stored.SeriesInstanceUID}"
    (imported,) = db.database().import_dicom(url)
    got = pydicom.dcmread(imported.path)
    assert got.file_meta.TransferSyntaxUID == stored.file_meta.TransferSyntaxUID
    assert got.PixelData == stored.PixelData
    archive = db.dicomweb(orthanc.url, session=orthanc.session(), cache=tmp_path / "cache")
    there = archive.series(SeriesInstanceUID=stored.SeriesInstanceUID)[0]
    np.testing.assert_array_equal(imported.parent.to_xarray().values, there.to_xarray().values)


def test_a_series_whose_headers_the_server_cannot_give_is_left_out_with_a_warning(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """One series' WADO-RS metadata answered 404 (here: one study and series UID under two
    patients, which Orthanc lists but cannot retrieve): the others open, the warning names it."""
    session, root = orthanc.session(), orthanc.url.removesuffix("/dicom-web")
    twins = []
    for n, patient in enumerate(["twin-a", "twin-b"]):
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.PatientID, ds.StudyInstanceUID = patient, "1.2.826.0.1.3680043.8.498.4242"
        ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.4243"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"1.2.3.4242.{n}"
        twins.append(ds)
    fine = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    fine.PatientID = "twin-c"
    # UIDs of its own: MR_small.dcm's, stored by another test of the same server under
    # another patient, would make this one a twin too (and the test order matter)
    fine.StudyInstanceUID, fine.SeriesInstanceUID = generate_uid(), generate_uid()
    fine.SOPInstanceUID = fine.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    DICOMwebClient(orthanc.url, session=session).store_instances([*twins, fine])
    try:
        with pytest.warns(db.DicomWarning, match="1.2.826.0.1.3680043.8.498.4243.*404"):
            web = db.dicomweb(orthanc.url, session=session, cache=tmp_path / "cache")
        assert web.series(SeriesInstanceUID=fine.SeriesInstanceUID)
        assert not web.series(SeriesInstanceUID=twins[0].SeriesInstanceUID)
        web.close()
    finally:
        for patient in ("twin-a", "twin-b", "twin-c"):
            for found in session.post(f"{root}/tools/lookup", data=patient, timeout=30).json():
                session.delete(f"{root}{found['Path']}", timeout=30)


@pytest.mark.parametrize("keep", [False, True])
def test_uncompressed_ycbcr_frames_from_the_server_are_rgb(
    orthanc: Orthanc, tmp_path: Path, keep: bool
) -> None:
    """A trial: an uncompressed YBR_FULL image came back over DICOMweb as its stored YCbCr
    values called RGB (255 off), where the file, read locally, is made RGB as pydicom does;
    with keep_pixels, from the server and from the kept copy alike."""
    session, root = orthanc.session(), orthanc.url.removesuffix("/dicom-web")
    ybr = pydicom.dcmread(get_testdata_file("SC_ybr_full_uncompressed.dcm"))
    DICOMwebClient(orthanc.url, session=session).store_instances([ybr])
    try:
        web = db.dicomweb(
            orthanc.url,
            session=session,
            cache=tmp_path / "cache",
            keep_pixels=keep,
            PatientID=ybr.PatientID,
        )
        series = web.series(SeriesInstanceUID=ybr.SeriesInstanceUID)[0]
        for _ in range(2):  # the second read from the kept copy, with keep_pixels
            values = np.squeeze(series.to_xarray().values)
            np.testing.assert_array_equal(values, ybr.pixel_array)
        web.close()
    finally:  # the other tests count the archive's patients
        for found in session.post(f"{root}/tools/lookup", data=ybr.PatientID, timeout=30).json():
            session.delete(f"{root}{found['Path']}", timeout=30)


def test_a_full_refresh_fetches_the_headers_of_an_instance_sent_again(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """A trial: an instance deleted and stored again under its UIDs (a corrected re-send)
    keeps its series' count of instances, so its cached header (the old rescale) was read
    with the new frames, even after refresh(full=True). A full refresh fetches the headers
    of the series held again; the docs say a reopen does not."""
    session, root = orthanc.session(), orthanc.url.removesuffix("/dicom-web")
    old = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    old.PatientID = "RESENT-1"

    def store(ds: pydicom.Dataset) -> str:
        path = tmp_path / "x.dcm"
        ds.save_as(path)
        answer = session.post(f"{root}/instances", data=path.read_bytes(), timeout=30)
        answer.raise_for_status()
        return str(answer.json()["ID"])

    first = store(old)
    try:
        web = db.dicomweb(
            orthanc.url, session=session, cache=tmp_path / "cache", PatientID="RESENT-1"
        )
        series = web.series()[0]
        assert np.array_equal(
            series.to_xarray().values.squeeze(), apply_modality_lut(old.pixel_array, old)
        )
        session.delete(f"{root}/instances/{first}", timeout=30).raise_for_status()
        new = copy.deepcopy(old)
        new.RescaleIntercept = -2000
        new.PixelData = (old.pixel_array[::-1] + 7).astype(old.pixel_array.dtype).tobytes()
        store(new)
        web.refresh(full=True)
        got = web.series()[0].to_xarray().values.squeeze()
        np.testing.assert_array_equal(got, apply_modality_lut(new.pixel_array, new))
        web.close()
    finally:
        for found in session.post(f"{root}/tools/lookup", data="RESENT-1", timeout=30).json():
            session.delete(f"{root}{found['Path']}", timeout=30)


def test_frames_no_decoder_can_read_are_an_error_naming_the_frame_url(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """A 12-bit JPEG Extended frame whose header no decoder takes (JPEG-lossy.dcm with a
    sample precision of 9): an InvalidFileError naming the frame's URL, as for a file, not
    pydicom's RuntimeError."""
    pytest.importorskip("pylibjpeg")
    bad = pydicom.dcmread(get_testdata_file("JPEG-lossy.dcm"))
    stream = bytearray(bad.PixelData)
    stream[stream.find(b"\xff\xc1") + 4] = 9  # the frame header's sample precision
    bad.PixelData = bytes(stream)
    with stored_alone(orthanc, bad, "undecodable", "1.2.3.4243") as session:
        web = db.dicomweb(
            orthanc.url, session=session, cache=tmp_path / "c", PatientID="undecodable"
        )
        with pytest.raises(db.DicomError, match=f"{bad.SOPInstanceUID}/frames/1.*decoded") as info:
            web.series()[0].to_xarray().values  # noqa: B018 - the read
        assert PASSWORD not in str(info.value)


def test_a_12_bit_jpeg_extended_frame_is_decoded_as_from_the_file(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """No pydicom plugin decodes JPEG-lossy.dcm; from the server as from the file."""
    pytest.importorskip("imagecodecs")
    path = get_testdata_file("JPEG-lossy.dcm")
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "a.dcm").write_bytes(Path(path).read_bytes())
    local = db.database(folder).series()[0].to_xarray().values
    assert int(local.max()) == 264
    with stored_alone(orthanc, pydicom.dcmread(path), "twelve-bits", "1.2.3.4244") as session:
        web = db.dicomweb(
            orthanc.url, session=session, cache=tmp_path / "c", PatientID="twelve-bits"
        )
        np.testing.assert_array_equal(web.series()[0].to_xarray().values, local)


def test_xarray_opens_a_dicomweb_url(
    orthanc: Orthanc, archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xr.open_dataarray(url, engine="dbdicom") as db.database(url): not the URL as a path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the headers' cache: not the user's
    expected = db.database(archive).series(SeriesDescription="CT phantom")[0].to_xarray()
    got = xr.open_dataarray(orthanc.db_url, engine="dbdicom", group="CT phantom")
    np.testing.assert_array_equal(got.values, expected.values)
    # a dicomweb+ URL is recognised without engine= (trial G: xarray found no backend)
    guessed = xr.open_dataarray(orthanc.db_url, group="CT phantom")
    np.testing.assert_array_equal(guessed.values, expected.values)
    with pytest.raises(db.GroupError) as info:  # named by its URL (trial H: the cache folder)
        xr.open_dataarray(orthanc.db_url, group="no such series")
    assert f"in dicomweb+{orthanc.url}." in str(info.value) and PASSWORD not in str(info.value)


def test_a_content_length_of_other_digits_is_searched_past() -> None:
    """A length in digits that are not ASCII ('\xb2', superscript two) is no length."""
    body = b"--b\r\nContent-Length: \xb2\r\n\r\nAB\r\n--b--"
    parts = split_multipart(body, 'multipart/related; type="x/y"; boundary=b')
    assert [bytes(data) for _, data in parts] == [b"AB"]


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.tuples(
            st.sampled_from(["application/octet-stream", "image/jls", "application/dicom"]),
            st.binary(max_size=64),
        ),
        max_size=6,
    ),
    preamble=st.binary(max_size=16),
    lengths=st.lists(st.sampled_from([None, 0, -1, 1, 2, 5]), min_size=6, max_size=6),
)
def test_a_multipart_body_splits_into_the_parts_it_was_made_of(
    parts: list[tuple[str, bytes]], preamble: bytes, lengths: list[int | None]
) -> None:
    """What a server sends (a preamble, parts with or without a content type, with or without
    a Content-Length, right or wrong, the closing delimiter) comes back part by part, byte for
    byte."""
    boundary = b"3f1a9c0e2b7d4856"
    assume(boundary not in preamble and all(boundary not in data for _, data in parts))
    body = preamble + b"\r\n"
    for k, (kind, data) in enumerate(parts):
        head = b"" if k % 2 else f"Content-Type: {kind}\r\n".encode()
        if lengths[k] is not None:  # the part's length, or a wrong one
            head += f"Content-Length: {max(0, len(data) + lengths[k])}\r\n".encode()
        body += b"--" + boundary + b"\r\n" + head + b"\r\n" + data + b"\r\n"
    body += b"--" + boundary + b"--\r\n"
    content_type = (
        f'multipart/related; type="application/octet-stream"; boundary={boundary.decode()}'
    )
    expected = [
        ("application/octet-stream" if k % 2 else kind, data)
        for k, (kind, data) in enumerate(parts)
    ]
    assert split_multipart(body, content_type) == expected


def _store_ct_series(
    orthanc: Orthanc, patient: str, n: int, turn_from: int | None = None
) -> tuple[str, list[pydicom.Dataset]]:
    """``n`` copies of CT_small stored in Orthanc as one series of ``patient``, their values
    100 apart; from instance ``turn_from`` on, in another orientation (another array)."""
    source = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    series_uid, instances = generate_uid(), []
    for k in range(n):
        ds = copy.deepcopy(source)
        ds.SeriesInstanceUID, ds.SOPInstanceUID = series_uid, generate_uid()
        ds.PatientID, ds.InstanceNumber = patient, k + 1
        turned = turn_from is not None and k >= turn_from
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1] if turned else [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [5.0 * k, 0.0, 0.0] if turned else [0.0, 0.0, 5.0 * k]
        ds.PixelData = (ds.pixel_array + 100 * k).astype(ds.pixel_array.dtype).tobytes()
        if k == 1:  # sent, and kept by Orthanc, without the 128-byte preamble
            ds.preamble = None
        instances.append(ds)
    DICOMwebClient(orthanc.url, session=orthanc.session()).store_instances(instances)
    return series_uid, instances


def _open_kept(orthanc: Orthanc, tmp_path: Path, patient: str) -> db.Database:
    return db.dicomweb(
        orthanc.url,
        session=orthanc.session(),
        cache=tmp_path / "cache",
        PatientID=patient,
        keep_pixels=True,
    )


def test_a_series_read_whole_is_kept_and_read_from_the_cache_next_time(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """With keep_pixels=True, the first read of a whole series is one WADO-RS request; its
    instances are kept beside
    the headers, and the next read (of a database opened again too) asks the server only how
    many instances the series has (QIDO-RS). When that changed (an instance deleted), the
    instances are asked for, as without the copy, and the deleted one's absence said."""
    session, root = orthanc.session(), orthanc.url.removesuffix("/dicom-web")
    series_uid, instances = _store_ct_series(orthanc, "KEPT", 3)
    expected = np.stack([ds.pixel_array * 1.0 + float(ds.RescaleIntercept) for ds in instances])
    asked: list[tuple[str, str]] = []  # what dbdicom's own session asks the server

    def record(response: requests.Response, *args: object, **kwargs: object) -> None:
        asked.append((response.request.url or "", response.request.headers.get("Accept", "")))

    own = Server.parse(orthanc.url, session).session()
    own.hooks["response"].append(record)
    try:
        web = _open_kept(orthanc, tmp_path, "KEPT")
        series = web.series(SeriesInstanceUID=series_uid)[0]
        np.testing.assert_array_equal(series.to_xarray().values, expected)
        kept = sorted(Path(web.cache).rglob(".pixels/*.dcm"))
        assert [p.stem for p in kept] == sorted(ds.SOPInstanceUID for ds in instances)
        again = _open_kept(orthanc, tmp_path, "KEPT").series(SeriesInstanceUID=series_uid)[0]
        asked.clear()
        np.testing.assert_array_equal(again.to_xarray().values, expected)
        assert len(asked) == 1 and "json" in asked[0][1], asked  # QIDO-RS, no pixel data
        assert "/series" in asked[0][0] and "/instances" not in asked[0][0], asked
        # a kept file that is not as kept (cut, rewritten) is asked for again, never read
        kept[0].write_bytes(kept[0].read_bytes()[:-1000])
        np.testing.assert_array_equal(again.to_xarray().values, expected)
        gone = instances[1].SOPInstanceUID  # deleted through Orthanc's own REST API
        found = session.post(f"{root}/tools/lookup", data=gone, timeout=30).json()
        session.delete(f"{root}{found[0]['Path']}", timeout=30).raise_for_status()
        with pytest.raises(db.ServerError, match="404") as info:
            again.to_xarray().values  # noqa: B018
        assert gone in str(info.value)
    finally:
        own.hooks["response"].remove(record)
        for found in session.post(f"{root}/tools/lookup", data="KEPT", timeout=30).json():
            session.delete(f"{root}{found['Path']}", timeout=30)


def test_a_scan_or_refresh_of_an_archive_reads_as_before(web: db.Database) -> None:
    """The rows read again get the server's pixels again (a scan made every series 'hold no
    image' until the archive was opened again)."""
    series = web.series(SeriesDescription="CT phantom")[0]
    expected = series.to_xarray().values
    web.scan()
    again = web.series(SeriesDescription="CT phantom")[0]
    np.testing.assert_array_equal(again.to_xarray().values, expected)
    for header in Path(web.cache).rglob("*.dcm"):  # every header read again by the refresh
        st = header.stat()
        os.utime(header, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert web.refresh(full=True)
    again = web.series(SeriesDescription="CT phantom")[0]
    np.testing.assert_array_equal(again.to_xarray().values, expected)


def test_a_cache_folder_that_cannot_be_written_says_which(orthanc: Orthanc, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(db.StorageError, match=r"file.*cannot be written.*cache=") as info:
        db.dicomweb(orthanc.url, session=orthanc.session(), cache=tmp_path / "file" / "cache")
    assert PASSWORD not in str(info.value)


OPEN_AND_READ = """
import sys, dbdicom as db
archive = db.dicomweb(sys.argv[1], cache=sys.argv[2])
archive.mute()
for series in archive.series():
    for da in series.to_xarrays():
        da.values
print(len(archive.series()))
"""


def test_an_open_waits_for_another_process_holding_the_cache(
    orthanc: Orthanc, archive: Path, tmp_path: Path
) -> None:
    """While one process holds the cache folder (fetching into it), an open in another waits
    for it, then finds every series (two opening a new cache at once saw a series without its
    files, or both renamed their copies onto one folder: 'Directory not empty')."""
    import subprocess
    import sys
    import time

    from dbdicom._web._cache import held_by_one

    cache = tmp_path / "cache"
    with held_by_one(cache):
        run = subprocess.Popen(
            [sys.executable, "-c", OPEN_AND_READ, orthanc.db_url, str(cache)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)  # imports ~1-2 s, then it waits for the lock
        assert run.poll() is None, run.communicate()
        assert not cache.exists()  # nothing fetched while it waits
    out, err = run.communicate(timeout=240)
    assert run.returncode == 0, err[-2000:]
    assert int(out.split()[-1]) >= len(db.database(archive).series())


def test_a_series_of_several_arrays_is_kept_whole(
    orthanc: Orthanc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A series of two orientations is two arrays: the first read keeps every instance the
    server sent (it kept only its own, so the series never counted as kept). A kept file
    removed between the check and the read (the cache deleted, the series fetched again by
    another process) is read from the server, not a FileGoneError."""
    from dbdicom._arrays import _read

    session, root = orthanc.session(), orthanc.url.removesuffix("/dicom-web")
    series_uid, _ = _store_ct_series(orthanc, "SEVERAL", 4, turn_from=2)
    try:
        web = _open_kept(orthanc, tmp_path, "SEVERAL")
        series = web.series(SeriesInstanceUID=series_uid)[0]
        first = [da.values for da in series.to_xarrays()]
        assert len(first) == 2
        kept = sorted(Path(web.cache).rglob(".pixels/*.dcm"))
        assert len(kept) == 4
        real = _read._web.kept_places

        def then_removed(paths: list) -> list:
            found = real(paths)
            for place in found:
                if place[0] and os.path.exists(place[0]):
                    os.unlink(place[0])
            return found

        monkeypatch.setattr(_read._web, "kept_places", then_removed)
        again = [da.values for da in series.to_xarrays()]
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a, b)
    finally:
        for found in session.post(f"{root}/tools/lookup", data="SEVERAL", timeout=30).json():
            session.delete(f"{root}{found['Path']}", timeout=30)


def test_the_headers_of_a_series_read_whole_are_read_through_one_layout(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """The instances of a series read in one request repeat each other's headers: from the
    second on they are read through the layout learnt from those before, as a folder's files
    are (a mapping made for each instance made a layout for each: ~10 ms of a 75 ms reopen
    of 200 slices), and each instance's pixels still go to its own frame."""
    _, instances = _store_ct_series(orthanc, "LAYOUT", 6)
    web = db.dicomweb(
        orthanc.url, session=orthanc.session(), cache=tmp_path / "c", PatientID="LAYOUT"
    )
    da = web.series()[0].to_xarray()
    assert len(da.chunks[0]) == 1  # one block: the series in one request
    seen = _seen(_SOP_ONLY)
    got = da.compute(scheduler="sync")  # in this thread, whose layouts are looked at
    assert _seen(_SOP_ONLY) - seen == len(instances)
    by_number = {int(ds.InstanceNumber): ds for ds in instances}
    for k, number in enumerate(got.coords["InstanceNumber"].values):
        expected = apply_modality_lut(by_number[int(number)].pixel_array, by_number[int(number)])
        np.testing.assert_array_equal(got.values[k], expected)
    web.close()


def _seen(tags: dict[int, str]) -> int:
    """How many headers the layout of this thread for ``tags`` has read (0: none yet)."""
    found = getattr(_layout._LOCAL, "layouts", {}).get(id(_header._keep(tags)))
    return 0 if found is None else int(found[1].seen)


def test_a_refresh_asks_the_server_as_a_reopen_does(orthanc: Orthanc, tmp_path: Path) -> None:
    """A series stored on the server since the open is held after refresh(), and one deleted
    there is gone, as at a reopen (refresh() did not ask the server: a deleted series stayed
    listed until a frame was read, and a new one was not seen until the next open)."""
    patient = f"REFRESH-{generate_uid()[-8:]}"
    first, _ = _store_ct_series(orthanc, patient, 2)
    web = db.dicomweb(
        orthanc.url, session=orthanc.session(), cache=tmp_path / "c", PatientID=patient
    )
    assert [s.SeriesInstanceUID for s in web.series()] == [first]
    second, instances = _store_ct_series(orthanc, patient, 3)
    assert web.refresh() is True
    assert sorted(str(s.SeriesInstanceUID) for s in web.series()) == sorted([first, second])
    got = web.series(SeriesInstanceUID=second)[0].to_xarray().values
    np.testing.assert_array_equal(
        got[2], apply_modality_lut(instances[2].pixel_array, instances[2])
    )
    root = orthanc.url.removesuffix("/dicom-web")
    session = orthanc.session()
    (found,) = session.post(f"{root}/tools/lookup", data=first, timeout=30).json()
    session.delete(f"{root}{found['Path']}", timeout=30).raise_for_status()
    assert web.refresh() is True
    assert [s.SeriesInstanceUID for s in web.series()] == [second]
    assert web.refresh() is False
    web.close()
    (found,) = session.post(f"{root}/tools/lookup", data=second, timeout=30).json()
    session.delete(f"{root}{found['Path']}", timeout=30).raise_for_status()
