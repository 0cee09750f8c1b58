"""Instances whose frames a DICOMweb server refuses, read from the instance whole.

Orthanc (started by the tests, ``servers.py``) answers 500 to WADO-RS
``/frames`` of an instance stored Deflated or in Big Endian: the values
come from the instance retrieved whole, and equal those of the same files
read from a folder; a damaged one is an error, never other values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import requests
import xarray as xr
from pydicom.data import get_testdata_file
from servers import (
    PASSWORD,
    Orthanc,
    _remove_patient,
    archive_of,
    as_one_series,
    requests_made,
    stored_files,
)

import dbdicom as db


def _series_of(name: str, patient: str, uid: str, n: int) -> list[pydicom.Dataset]:
    """``n`` instances of the test file ``name``: one series of patient ``patient``, its
    UIDs under ``uid`` (the test files share theirs with the other tests' archive)."""
    return as_one_series(lambda k: pydicom.dcmread(get_testdata_file(name)), patient, uid, n)


@pytest.mark.parametrize("keep", [False, True], ids=["asked", "keep_pixels"])
@pytest.mark.parametrize(
    ("name", "patient", "uid"),
    [
        ("MR_small_bigendian.dcm", "big-endian", "1.2.826.0.1.3680043.10.1421.1"),
        ("image_dfl.dcm", "deflated", "1.2.826.0.1.3680043.10.1421.2"),
        ("SC_ybr_full_422_uncompressed.dcm", "ybr-422", "1.2.826.0.1.3680043.10.1421.4"),
    ],
    ids=["big-endian", "deflated", "ybr-422"],
)
def test_instances_whose_frames_the_server_refuses_read_as_their_files(
    orthanc: Orthanc, tmp_path: Path, name: str, patient: str, uid: str, keep: bool
) -> None:
    """A trial: reading such a series from the archive was a ServerError (Orthanc's 500 to
    /frames of Big Endian and Deflated instances, 400 of uncompressed YBR_FULL_422) saying to
    copy it to a folder; the values are those of the files in a folder, for a block of one
    instance and one of the whole series (with keep_pixels: read whole, then kept if Little
    Endian) alike, and again at a second read."""
    series = _series_of(name, patient, uid, 3)
    with stored_files(orthanc, series, tmp_path / "local"):
        local = db.database(tmp_path / "local").series()[0]
        web = archive_of(orthanc, tmp_path / "cache", patient, keep_pixels=keep)
        remote = web.series()[0]
        expected = local.to_xarray()
        assert expected.shape[0] == 3
        for _ in range(2):
            got = remote.to_xarray()
            xr.testing.assert_identical(got.rename(None), expected.rename(None))
        some = remote.to_xarray(chunks={expected.dims[0]: 1})  # a block an instance
        np.testing.assert_array_equal(some.values, expected.values)
        np.testing.assert_array_equal(remote.array()[0], local.array()[0])
        # kept (with keep_pixels) when the series read whole is Little Endian
        native = name.startswith("SC_")
        assert len(list((tmp_path / "cache").rglob(".pixels/*.dcm"))) == 3 * (keep and native)
        web.close()


#: series whose frames Orthanc refuses: (test file, patient, UIDs' root)
REFUSED = {
    "big-endian": ("MR_small_bigendian.dcm", "refused-be", "1.2.826.0.1.3680043.10.1421.5"),
    "deflated": ("image_dfl.dcm", "refused-dfl", "1.2.826.0.1.3680043.10.1421.6"),
    "ybr-422": ("SC_ybr_full_422_uncompressed.dcm", "refused-422", "1.2.826.0.1.3680043.10.1421.7"),
}


def _instance_urls(sent: list[str]) -> list[str]:
    """Those of ``sent`` that retrieve an instance whole."""
    return [url for url in sent if url.rsplit("/", 2)[-2] == "instances"]


@pytest.mark.parametrize("keep", [False, True], ids=["asked", "keep_pixels"])
@pytest.mark.parametrize("case", ["big-endian", "deflated"])
def test_a_series_the_server_will_not_cut_is_retrieved_once(
    orthanc: Orthanc, tmp_path: Path, case: str, keep: bool
) -> None:
    """A waste: a read of the whole series retrieved it whole (one request), gave it up for
    its Big Endian or Deflated pixel data, then asked /frames of each instance (refused: an
    error in the server's log each) and retrieved each whole again: 7 requests for 3
    instances, the pixels sent twice. The series retrieved is read: one request, the values
    of the folder's, at each read."""
    name, patient, uid = REFUSED[case]
    series = _series_of(name, patient, uid, 3)
    with stored_files(orthanc, series, tmp_path / "local"):
        expected = db.database(tmp_path / "local").series()[0].to_xarray()
        web = archive_of(orthanc, tmp_path / "cache", patient, keep_pixels=keep)
        remote = web.series()[0]
        for _ in range(2):
            got = remote.to_xarray()
            with requests_made() as sent:
                got = got.load()
            assert sent == [f"{orthanc.url}/studies/{uid}.1/series/{uid}.2"]
            xr.testing.assert_identical(got.rename(None), expected.rename(None))
        web.close()


@pytest.mark.parametrize("case", list(REFUSED))
def test_frames_refused_once_are_not_asked_for_again(
    orthanc: Orthanc, tmp_path: Path, case: str
) -> None:
    """A waste: each read of an instance (a block an instance) asked /frames first, which
    Orthanc refused again (500, or 400 for YBR_FULL_422, an error in its log each time),
    then retrieved it whole. The refusal is remembered for the series' instances of that
    pixel format: a second read retrieves them whole straight away, with the same values."""
    name, patient, uid = REFUSED[case]
    series = _series_of(name, patient, uid, 3)
    with stored_files(orthanc, series, tmp_path / "local"):
        expected = db.database(tmp_path / "local").series()[0].to_xarray()
        web = db.dicomweb(
            orthanc.url, session=orthanc.session(), cache=tmp_path / "cache", PatientID=patient
        )
        blocks = web.series()[0].to_xarray(chunks={expected.dims[0]: 1})  # an instance each
        with requests_made() as first:
            np.testing.assert_array_equal(blocks.values, expected.values)
        assert 1 <= sum("/frames/" in url for url in first) <= 3  # (blocks read at once)
        assert len(_instance_urls(first)) == 3
        with requests_made() as second:
            np.testing.assert_array_equal(blocks.values, expected.values)
        assert not [url for url in second if "/frames/" in url]
        assert sorted(_instance_urls(second)) == sorted(_instance_urls(first))
        web.close()


def test_a_busy_answer_to_frames_is_not_taken_for_a_refusal(
    orthanc: Orthanc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server too busy to answer /frames (503, still so after its retries) refuses nothing:
    the read is a ServerError, and the next one asks /frames again (not the instance whole,
    as for a refusal remembered), with the folder's values."""
    from requests.adapters import HTTPAdapter

    name, patient, uid = REFUSED["big-endian"]
    series = _series_of(name, patient, uid, 1)
    real = HTTPAdapter.send

    def busy(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if "/frames/" not in str(request.url):
            return real(self, request, *args, **kwargs)
        answer = requests.Response()
        answer.status_code, answer.reason, answer.url = 503, "Service Unavailable", request.url
        answer._content, answer._content_consumed, answer.request = b"", True, request
        return answer

    with stored_files(orthanc, series, tmp_path / "local"):
        expected = db.database(tmp_path / "local").series()[0].to_xarray()
        web = db.dicomweb(
            orthanc.url, session=orthanc.session(), cache=tmp_path / "cache", PatientID=patient
        )
        remote = web.series()[0]
        monkeypatch.setattr(HTTPAdapter, "send", busy)
        with pytest.raises(db.ServerError, match="503"):
            remote.to_xarray().values  # noqa: B018 - the read
        monkeypatch.undo()
        with requests_made() as sent:
            np.testing.assert_array_equal(remote.to_xarray().values, expected.values)
        assert ["/frames/" in url for url in sent][:1] == [True]  # asked again, then refused
        web.close()


def test_a_damaged_instance_the_server_refuses_to_cut_is_an_error_naming_it(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """Big Endian pixel data cut to half, which Orthanc stores: /frames is refused and the
    whole instance cannot be decoded either: an InvalidFileError naming the instance and the
    way out, not values (the folder of the same file has no image of it either)."""
    series = _series_of("MR_small_bigendian.dcm", "damaged", "1.2.826.0.1.3680043.10.1421.3", 1)
    series[0].PixelData = series[0].PixelData[: len(series[0].PixelData) // 2]
    with stored_files(orthanc, series, tmp_path / "local"):
        web = db.dicomweb(
            orthanc.url, session=orthanc.session(), cache=tmp_path / "c", PatientID="damaged"
        )
        with pytest.raises(db.InvalidFileError, match="cannot be read") as info:
            web.series()[0].to_xarray().values  # noqa: B018 - the read
        text = str(info.value)
        assert series[0].SOPInstanceUID in text and "refused" in text
        assert "subseries" in text and "send the instance again" in text
        assert PASSWORD not in text and str(tmp_path) not in text


#: pydicom-data's files (the package data_store)
_PYDICOM_DATA = Path(pydicom.__file__).parent.parent / "data_store" / "data"
_TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def test_an_instance_without_file_meta_sent_whole_reads_as_its_file(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """A trial: OT-PAL-8-face.dcm (no preamble, no file meta: Implicit VR from its first byte,
    a group length first) reads from a folder; from Orthanc, whose metadata leave out its
    palette descriptors, the instance retrieved whole for its tables was an InvalidFileError
    ("File is missing DICOM File Meta Information header"). It reads as the folder reads it.
    (Stored as its bytes are: pydicom writes it again without its group lengths.)"""
    source = _PYDICOM_DATA / "OT-PAL-8-face.dcm"
    data = source.read_bytes()
    assert data[128:132] != b"DICM" and data[:4] == b"\x08\x00\x00\x00"  # (the case)
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / source.name).write_bytes(data)
    study = str(pydicom.dcmread(source, force=True).StudyInstanceUID)
    session, root = orthanc.session(), orthanc.url.removesuffix("/dicom-web")
    session.post(f"{root}/instances", data=data, timeout=30).raise_for_status()
    try:
        expected = db.database(tmp_path / "local").series()[0].to_xarray()
        web = db.dicomweb(
            orthanc.url, session=session, cache=tmp_path / "cache", StudyInstanceUID=study
        )
        got = web.series()[0].to_xarray()
        xr.testing.assert_identical(got.rename(None).compute(), expected.rename(None))
        # copied into a folder database, and exported: pydicom's InvalidDicomError was raised
        (tmp_path / "mine").mkdir()
        mine = db.database(tmp_path / "mine")
        copy = web.series()[0].copy_to(mine.new_patient().new_study())
        np.testing.assert_array_equal(copy.to_xarray().values, expected.values)
        web.series()[0].export_as_dicom(tmp_path / "out")
        (written,) = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
        assert pydicom.dcmread(written).Rows == 480  # a Part 10 file
        web.close()
    finally:
        _remove_patient(orthanc, session, study)  # (lookup takes any of its identifiers)


def test_frames_the_header_does_not_count_are_refused_as_in_a_folder(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """A trial: badVR.dcm's Number of Frames is '1A' (no number), its pixel data those of 15
    frames (6000 bytes, 400 a frame). A folder refuses the image (the description does not
    fit the data); from Orthanc (which refuses /frames of it) the instance retrieved whole
    gave its first frame alone, one frame of 15 and no word of the others. It is refused with
    the folder's reason, never read."""
    series = as_one_series(
        lambda k: pydicom.dcmread(_TEST_FILES / "badVR.dcm"),
        "frames-not-counted",
        "1.2.826.0.1.3680043.10.1421.8",
        1,
    )
    with stored_files(orthanc, series, tmp_path / "local"):
        with pytest.raises(db.DicomError, match="15 times the 400"):  # (the folder's refusal)
            db.database(tmp_path / "local").series()[0].to_xarray()
        web = archive_of(orthanc, tmp_path / "cache", "frames-not-counted")
        remote = web.series()[0]
        with pytest.raises(db.InvalidFileError, match="15 times the 400") as error:
            remote.to_xarray().compute()
        assert "instances/1.2.826.0.1.3680043.10.1421.8.3.1" in str(error.value)
        web.close()


_CHARSETS = Path(pydicom.__file__).parent / "data" / "charset_files"


@pytest.mark.filterwarnings("ignore:Failed to encode value")  # pydicom's, saving its own file
def test_an_instance_without_pixel_data_is_no_image_by_the_folder_s_reason(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """A trial: chrJapMulti.dcm and chrKoreanMulti.dcm describe a 32 x 32 image (Rows,
    Columns, Bits Allocated) and hold no Pixel Data. A folder lists them as "no pixel data" and
    builds no array; from Orthanc, the array's read raised an InvalidFileError that blamed
    damaged pixel data on the archive. Orthanc's metadata cannot tell them from images: they
    list no (7FE0,0010), as for a compressed image (JPEG2000.dcm, which reads as its file).
    The instance retrieved whole is judged as a folder judges the file: the folder's reason."""
    patient = "no-pixel-data"
    files = [_CHARSETS / "chrJapMulti.dcm", _CHARSETS / "chrKoreanMulti.dcm"]
    files += [_TEST_FILES / "JPEG2000.dcm", _TEST_FILES / "CT_small.dcm"]
    datasets = []
    for k, source in enumerate(files):
        ds = pydicom.dcmread(source)
        ds.PatientID = patient
        ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.1421.9.{k + 1}.1"
        ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.10.1421.9.{k + 1}.2"
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.1421.9.{k + 1}.3"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.SeriesDescription = source.name
        datasets.append(ds)
    with stored_files(orthanc, datasets, tmp_path / "local"):
        folder = db.database(tmp_path / "local")
        web = archive_of(orthanc, tmp_path / "cache", patient)
        try:
            session = orthanc.session()
            for ds in datasets:  # (what the server lists: no Pixel Data for three of four)
                url = f"{orthanc.url}/studies/{ds.StudyInstanceUID}/series/"
                meta = session.get(f"{url}{ds.SeriesInstanceUID}/metadata", timeout=30).json()
                listed = "7FE00010" in meta[0]
                assert listed == (ds.SeriesDescription == "CT_small.dcm"), ds.SeriesDescription
            problems = folder.problems()
            missing = problems[problems.problem.str.contains("'Pixel Data' is missing")]
            assert sorted(missing.path) == ["0.dcm", "1.dcm"]
            for name in ("chrJapMulti.dcm", "chrKoreanMulti.dcm"):
                with pytest.raises(db.GridError, match="holds no image"):
                    folder.series(SeriesDescription=name)[0].to_xarray()
                (series,) = web.series(SeriesDescription=name)
                with pytest.raises(db.InvalidFileError) as error:
                    series.to_xarray().values  # noqa: B018 - the read
                text = str(error.value)
                assert "'Pixel Data' is missing" in text and "holds no image" in text, text
                assert "damaged" not in text and series.instances()[0].SOPInstanceUID in text
                assert "subseries" in text and PASSWORD not in text
            for name in ("JPEG2000.dcm", "CT_small.dcm"):  # images, read as their files
                expected = folder.series(SeriesDescription=name)[0].to_xarray()
                got = web.series(SeriesDescription=name)[0].to_xarray()
                np.testing.assert_array_equal(got.values, expected.values)
        finally:
            web.close()
            folder.close()
