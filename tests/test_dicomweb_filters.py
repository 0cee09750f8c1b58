"""The filters of a DICOMweb open say which instances the database holds, on a real Orthanc.

``db.dicomweb(url, **filters)`` holds what ``database.instances(**filters)``
selects on a folder of the same files: whole series for a series, study or
patient key, the matching instances of a series for an instance tag. The
headers of the others stay in the cache, set aside: a reopen with the same
filters fetches nothing, one with other filters or none puts them back
without asking the server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import requests
from builders import build_database
from dicomweb_client.api import DICOMwebClient
from servers import Orthanc

import dbdicom as db
from dbdicom._web import Server


@pytest.fixture(scope="module")
def stored(
    orthanc: Orthanc, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str]]:
    """A folder of the test database (one patient ID of its own) and the same files in Orthanc."""
    folder = tmp_path_factory.mktemp("filters") / "local"
    build_database(folder)
    patient = f"FILTERS-{uuid.uuid4().hex[:8]}"
    files = sorted(p for p in folder.rglob("*") if p.is_file() and ".dbdicom" not in p.parts)
    datasets = []
    for path in files:
        ds = pydicom.dcmread(path)
        ds.PatientID = patient
        ds.save_as(path)
        datasets.append(ds)
    session = orthanc.session()
    DICOMwebClient(orthanc.url, session=session).store_instances(datasets)
    yield folder, patient
    root = orthanc.url.removesuffix("/dicom-web")
    for found in session.post(f"{root}/tools/lookup", data=patient, timeout=30).json():
        session.delete(f"{root}{found['Path']}", timeout=30)


def _open(orthanc: Orthanc, cache: Path, **filters: Any) -> db.Database:
    return db.dicomweb(orthanc.url, session=orthanc.session(), cache=cache, **filters)


def _uids(records: list[Any]) -> set[str]:
    return {str(r.SOPInstanceUID) for r in records}


class _Asked:
    """The URLs dbdicom's own session for ``orthanc`` asks for while in the block."""

    def __init__(self, orthanc: Orthanc) -> None:
        self.session = Server.parse(orthanc.url, orthanc.session()).session()
        self.urls: list[str] = []

    def _record(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self.urls.append(response.request.url or "")

    def __enter__(self) -> list[str]:
        self.session.hooks["response"].append(self._record)
        return self.urls

    def __exit__(self, *exc: object) -> None:
        self.session.hooks["response"].remove(self._record)


FILTERS = [
    {"InstanceNumber": 3},
    {"InstanceNumber": [1, 2, 5]},
    {"FlipAngle": 20.0},
    {"FlipAngle": lambda angle: angle is not None and angle > 5},
    {"SeriesDescription": "T2*"},
    {"Modality": "CT"},
    {"SeriesDescription": "VFA"},
    # Orthanc's DICOMweb plugin (1.7) finds nothing for a space or a ^: matched here alone
    {"SeriesDescription": "CT abdomen"},
    {"PatientName": "Alpha^Anna"},
    {"StudyDescription": "MR knee", "Modality": "MR"},
]


@pytest.mark.parametrize(
    "filters",
    FILTERS,
    ids=[
        "one-number",
        "some-numbers",
        "flip-angle",
        "function",
        "wildcard",
        "qido",
        "plain-word",
        "space",
        "person-name",
        "space-and-qido",
    ],
)
def test_the_database_holds_the_instances_the_filters_select_on_a_folder(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path, filters: dict[str, Any]
) -> None:
    """As database.instances(**filters) on a folder of the same files: an instance tag keeps
    the matching instances of a series, never the whole series (which it did)."""
    folder, patient = stored
    expected = _uids(db.database(folder).instances(**filters))
    assert expected
    web = _open(orthanc, tmp_path / "cache", PatientID=patient, **filters)
    assert _uids(web.instances()) == expected
    web.close()
    again = _open(orthanc, tmp_path / "cache", PatientID=patient, **filters)
    assert _uids(again.instances()) == expected
    whole = _open(orthanc, tmp_path / "cache", PatientID=patient)
    assert _uids(whole.instances()) == _uids(db.database(folder).instances())


def test_an_instance_uid_alone_holds_that_instance(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path
) -> None:
    """No QIDO-RS key: every series of the archive is looked at; one instance is held."""
    folder, _ = stored
    wanted = db.database(folder).series(SeriesDescription="VFA")[0].instances()[5]
    web = _open(orthanc, tmp_path / "cache", SOPInstanceUID=wanted.SOPInstanceUID)
    assert [str(i.SOPInstanceUID) for i in web.instances()] == [wanted.SOPInstanceUID]
    assert len(web.series()) == 1
    expected = wanted.parent.to_xarray(dims=["SliceLocation", "FlipAngle"])
    got = web.series()[0].to_xarray()
    np.testing.assert_array_equal(
        got.values.squeeze(),
        expected.sel(SliceLocation=wanted.SliceLocation, FlipAngle=wanted.FlipAngle).values,
    )


def test_a_reopen_with_the_same_filters_fetches_and_writes_nothing(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path
) -> None:
    """The headers left out stay in the cache, so the series held in part is not fetched again
    (its number of instances on the server is that of its mark); nor is the index rewritten."""
    folder, patient = stored
    cache = tmp_path / "cache"
    _open(orthanc, cache, PatientID=patient, FlipAngle=20.0).close()
    files = [p for p in cache.rglob("*") if p.is_file()]
    before = {p: p.stat().st_mtime_ns for p in files}
    with _Asked(orthanc) as asked:
        again = _open(orthanc, cache, PatientID=patient, FlipAngle=20.0)
    assert not [url for url in asked if "/metadata" in url], asked
    assert {p: p.stat().st_mtime_ns for p in files if p.exists()} == before
    assert len(again.instances()) == len(db.database(folder).instances(FlipAngle=20.0))


def test_a_reopen_without_the_filters_puts_the_instances_back_without_fetching(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path
) -> None:
    folder, patient = stored
    cache = tmp_path / "cache"
    _open(orthanc, cache, PatientID=patient, InstanceNumber=2).close()
    with _Asked(orthanc) as asked:
        whole = _open(orthanc, cache, PatientID=patient)
        other = _open(orthanc, cache, PatientID=patient, InstanceNumber=[3, 4])
    assert not [url for url in asked if "/metadata" in url], asked
    local = db.database(folder)
    assert _uids(whole.instances()) == _uids(local.instances())
    assert _uids(other.instances()) == _uids(local.instances(InstanceNumber=[3, 4]))


def test_the_mark_of_a_series_held_in_part_says_how_many_are_held(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path
) -> None:
    """.series.json keeps the server's number of instances (so a reopen fetches nothing) and
    says how many are held; the headers left out are in .others/, out of the index."""
    folder, patient = stored
    cache = tmp_path / "cache"
    web = _open(orthanc, cache, PatientID=patient, FlipAngle=10.0)
    vfa = web.series(SeriesDescription="VFA")[0]
    series_folder = cache / vfa.StudyInstanceUID / vfa.SeriesInstanceUID
    mark = json.loads((series_folder / ".series.json").read_text())
    assert mark["instances"] == 12 and mark["held"] == 4, mark
    assert len(list((series_folder / ".others").glob("*.dcm"))) == 8
    assert len(vfa.instances()) == 4
    ct = db.database(folder).series(Modality="CT")[0]
    assert not web.series(SeriesInstanceUID=ct.SeriesInstanceUID)  # no flip angle: none held


@pytest.mark.parametrize("keep_pixels", [False, True], ids=["frames", "keep-pixels"])
def test_a_series_held_in_part_reads_as_the_local_selection(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path, keep_pixels: bool
) -> None:
    """Its instances are read one by one (/frames), never as the whole series: the server's has
    more instances than the database holds, and none is kept as the series' snapshot."""
    folder, patient = stored
    local = db.database(folder).series(SeriesDescription="VFA")[0]
    expected = local.to_xarray(dims=["SliceLocation", "FlipAngle"]).sel(FlipAngle=[10.0, 20.0])
    web = db.dicomweb(
        orthanc.url,
        session=orthanc.session(),
        cache=tmp_path / "cache",
        keep_pixels=keep_pixels,
        PatientID=patient,
        FlipAngle=[10.0, 20.0],
    )
    series = web.series(SeriesDescription="VFA")[0]
    with _Asked(orthanc) as asked:
        got = series.to_xarray(dims=["SliceLocation", "FlipAngle"])
        np.testing.assert_array_equal(got.values, expected.values)
    assert all("/frames/" in url for url in asked), asked
    assert not list(Path(web.cache).rglob(".pixels/*.dcm"))


@pytest.mark.parametrize("how", ["refresh", "scan"])
def test_a_full_refresh_or_scan_keeps_the_selection(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path, how: str
) -> None:
    """refresh(full=True) and scan() fetch every series held again, then select again."""
    folder, patient = stored
    web = _open(orthanc, tmp_path / "cache", PatientID=patient, InstanceNumber=[1, 2])
    expected = _uids(db.database(folder).instances(InstanceNumber=[1, 2]))
    assert web.refresh() is False
    if how == "refresh":
        assert web.refresh(full=True)
    else:
        web.scan()
    assert _uids(web.instances()) == expected
    assert _uids(web.series(SeriesDescription="VFA")[0].instances()) <= expected


def test_a_refresh_selects_again_what_another_open_of_the_cache_put_back(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path
) -> None:
    """One cache folder holds one selection at a time: an open without filters puts the headers
    back, and the filtered database's refresh() sets them aside again (it held them all)."""
    folder, patient = stored
    cache = tmp_path / "cache"
    filtered = _open(orthanc, cache, PatientID=patient, FlipAngle=2.0)
    expected = _uids(db.database(folder).instances(FlipAngle=2.0))
    _open(orthanc, cache, PatientID=patient).close()
    assert filtered.refresh()
    assert _uids(filtered.instances()) == expected


def test_an_open_whose_instances_another_open_set_aside_refuses_to_refresh(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path
) -> None:
    """Review: an open without filters, sharing cache= with a filtered one, lost the instances
    the other's refresh() set aside again, without a word (28 -> 5). Its refresh() now says
    so; and opens that do not name a cache= get a folder per filters."""
    folder, patient = stored
    cache = tmp_path / "cache"
    filtered = _open(orthanc, cache, PatientID=patient, InstanceNumber=3)
    whole = _open(orthanc, cache, PatientID=patient)  # puts every header back
    n = len(whole.instances())
    assert n == len(db.database(folder).instances())
    filtered.refresh()  # sets the others aside again
    with pytest.raises(db.StaleFileError, match="other filters"):
        whole.refresh()
    assert len(whole.instances()) == n  # not silently fewer


def test_opens_with_other_filters_get_cache_folders_of_their_own(
    orthanc: Orthanc, stored: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _, patient = stored
    session = orthanc.session()
    plain = db.dicomweb(orthanc.url, session=session, PatientID=patient)
    three = db.dicomweb(orthanc.url, session=session, PatientID=patient, InstanceNumber=3)
    again = db.dicomweb(orthanc.url, session=session, PatientID=patient, InstanceNumber=3)
    assert len({plain.cache, three.cache}) == 2 and again.cache == three.cache


def test_a_misspelt_filter_is_said_before_the_archive_is_read(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    with pytest.raises(db.UnknownTagError, match="FlipAngle"):
        _open(orthanc, tmp_path / "cache", FlipAngel=20.0)
    assert not (tmp_path / "cache").exists()


@pytest.fixture
def two_patients(
    orthanc: Orthanc, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    """Two folders of the test database (UIDs of their own), in Orthanc as two patient IDs
    (for each test: one removes a series from the server)."""
    session = orthanc.session()
    out = {}
    for name in ("A", "B"):
        folder = tmp_path_factory.mktemp(f"patient-{name}") / "local"
        build_database(folder, seed=ord(name))
        patient = f"TWO-{name}-{uuid.uuid4().hex[:8]}"
        datasets = []
        for path in sorted(
            p for p in folder.rglob("*") if p.is_file() and ".dbdicom" not in p.parts
        ):
            ds = pydicom.dcmread(path)
            ds.PatientID = patient
            ds.save_as(path)
            datasets.append(ds)
        DICOMwebClient(orthanc.url, session=session).store_instances(datasets)
        out[patient] = folder
    yield out
    root = orthanc.url.removesuffix("/dicom-web")
    for patient in out:
        for found in session.post(f"{root}/tools/lookup", data=patient, timeout=30).json():
            session.delete(f"{root}{found['Path']}", timeout=30)


def test_opens_of_one_cache_for_other_patients_each_hold_their_own_without_fetching_again(
    orthanc: Orthanc, two_patients: dict[str, Path], tmp_path: Path
) -> None:
    """Review: an open given the cache= of another with other filters the server matches
    (PatientID) removed that one's series from the cache: the first, still open, found its
    headers gone (FileGoneError) and refreshed without a word, and every open fetched all
    its headers again. The series are now set aside, as instances are."""
    (a, folder_a), (b, folder_b) = two_patients.items()
    cache = tmp_path / "cache"
    first = _open(orthanc, cache, PatientID=a)
    assert _uids(first.instances()) == _uids(db.database(folder_a).instances())
    second = _open(orthanc, cache, PatientID=b)
    assert _uids(second.instances()) == _uids(db.database(folder_b).instances())
    with pytest.raises(db.StaleFileError, match="other filters"):
        first.refresh()  # its series set aside by the second: it says so
    with _Asked(orthanc) as asked:
        again = _open(orthanc, cache, PatientID=a)
        other = _open(orthanc, cache, PatientID=b, InstanceNumber=2)
        back = _open(orthanc, cache, PatientID=b)
    assert not [url for url in asked if "/metadata" in url], asked  # no header fetched again
    assert _uids(again.instances()) == _uids(db.database(folder_a).instances())
    assert _uids(other.instances()) == _uids(db.database(folder_b).instances(InstanceNumber=2))
    assert _uids(back.instances()) == _uids(db.database(folder_b).instances())
    assert back.refresh() is False  # its own selection: nothing to do


def test_a_series_removed_from_the_server_while_set_aside_is_not_held_again(
    orthanc: Orthanc, two_patients: dict[str, Path], tmp_path: Path
) -> None:
    (a, folder_a), (b, _) = two_patients.items()
    cache = tmp_path / "cache"
    _open(orthanc, cache, PatientID=a).close()
    _open(orthanc, cache, PatientID=b).close()  # the series of A set aside
    removed = db.database(folder_a).series()[0]
    root = orthanc.url.removesuffix("/dicom-web")
    session = orthanc.session()
    for found in session.post(f"{root}/tools/lookup", data=removed.uid, timeout=30).json():
        session.delete(f"{root}{found['Path']}", timeout=30)
    again = _open(orthanc, cache, PatientID=a)
    assert removed.uid not in {s.uid for s in again.series()}
    assert _uids(again.instances()) == _uids(db.database(folder_a).instances()) - _uids(
        removed.instances()
    )
