"""The headers of a DICOMweb archive are kept as the server sent them, on a real Orthanc.

pydicom's own test files hold values that break a VR's rule (a UID component
with a leading zero, dates written ``1994.11.05``, a CS with a ``/``), and
bulk data inside sequences (an icon's pixels, a waveform): each open printed
pydicom's warnings for them (``Invalid value for VR UI``, ``No bulk data URI
handler``). A folder of the same files opens without a word, and the archive
now does too, with the same values; what dbdicom cannot hold is said by a
:class:`dbdicom.DicomWarning` of its own.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.data import get_testdata_file
from servers import Orthanc

import dbdicom as db

#: pydicom's test files whose headers made pydicom warn, and what in them did
WARNED = {
    "rtdose.dcm": "Invalid value for VR UI (ReferencedSOPInstanceUID 1.2.123.456.78.9.0123...)",
    "color-pl.dcm": "Invalid value for VR DA and TM (1994.11.05, 11:20:00)",
    "gdcm-US-ALOKA-16.dcm": "Invalid value for VR CS (ImageType ABDOM/RAD)",
    "examples_overlay.dcm": "No bulk data URI handler (the icon's pixel data, its LUTs)",
    "waveform_ecg.dcm": "No bulk data URI handler (WaveformData in WaveformSequence)",
    "J2K_pixelrep_mismatch.dcm": "Invalid value for VR CS (ISO 2022 IR 13 text)",
}
#: values compared with those of the folder, file by file
SAME = {
    "rtdose.dcm": ["StudyDate", "Modality", "DoseUnits"],
    "color-pl.dcm": ["StudyDate", "StudyTime", "PhotometricInterpretation"],
    "gdcm-US-ALOKA-16.dcm": ["ImageType", "StudyTime"],
    "examples_overlay.dcm": ["StudyDate", "Rows"],
    "waveform_ecg.dcm": ["StudyDate", "Modality"],
    # ISO 2022 IR 13, whose byte 5Ch (the backslash between values) Orthanc's metadata gives
    # as a yen sign: its ImageType came as one value 'ORIGINAL¥PRIMARY¥AXIAL¥NORMAL', and its
    # PixelSpacing, ImagePositionPatient and WindowCenter as no value at all
    "J2K_pixelrep_mismatch.dcm": [
        "StudyDate",
        "Rows",
        "ImageType",
        "PixelSpacing",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "WindowCenter",
    ],
}


def _store(orthanc: Orthanc, folder: Path, names: list[str], patient: str) -> None:
    """Copies of pydicom's files ``names`` in ``folder`` and in Orthanc, under ``patient``."""
    folder.mkdir(parents=True, exist_ok=True)
    datasets = []
    with warnings.catch_warnings():  # pydicom's, reading and writing its own files
        warnings.simplefilter("ignore")
        for name in names:
            ds = pydicom.dcmread(get_testdata_file(name))
            ds.PatientID = patient
            ds.save_as(folder / name)
            datasets.append(ds)
        DICOMwebClient(orthanc.url, session=orthanc.session()).store_instances(datasets)


def _delete(orthanc: Orthanc, patient: str) -> None:
    session, root = orthanc.session(), orthanc.url.removesuffix("/dicom-web")
    for found in session.post(f"{root}/tools/lookup", data=patient, timeout=30).json():
        session.delete(f"{root}{found['Path']}", timeout=30)


@pytest.fixture(scope="module")
def stored(
    orthanc: Orthanc, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("headers") / "local"
    patient = f"HEADERS-{uuid.uuid4().hex[:8]}"
    _store(orthanc, folder, list(WARNED), patient)
    yield folder, patient
    _delete(orthanc, patient)


def test_an_open_of_files_with_values_pydicom_finds_invalid_says_nothing(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path
) -> None:
    folder, patient = stored
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        local = db.database(folder)
        web = db.dicomweb(
            orthanc.url, session=orthanc.session(), cache=tmp_path / "cache", PatientID=patient
        )
        web.close()
        web = db.dicomweb(
            orthanc.url, session=orthanc.session(), cache=tmp_path / "c2", PatientID=patient
        )
    assert len(web.instances()) == len(local.instances()) == len(WARNED)
    problems = " ".join(web.problems()["problem"])
    assert "pydicom" not in problems and "Invalid value" not in problems, problems


@pytest.mark.parametrize("name", list(SAME))
def test_the_values_are_those_of_the_files(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path, name: str
) -> None:
    """Kept as they are: the invalid ones too, read as dbdicom reads them in the files."""
    folder, patient = stored
    local = db.database(folder)
    web = db.dicomweb(
        orthanc.url, session=orthanc.session(), cache=tmp_path / "cache", PatientID=patient
    )
    here = local.instances()[[Path(i.path).name for i in local.instances()].index(name)]
    there = web.instances(SOPInstanceUID=here.SOPInstanceUID)[0]
    assert there[SAME[name]] == here[SAME[name]]


def test_an_invalid_uid_in_a_sequence_is_kept_as_it_is(
    orthanc: Orthanc, stored: tuple[Path, str], tmp_path: Path
) -> None:
    folder, patient = stored
    web = db.dicomweb(
        orthanc.url, session=orthanc.session(), cache=tmp_path / "cache", PatientID=patient
    )
    dose = web.instances(Modality="RTDOSE")[0]
    with warnings.catch_warnings():  # pydicom's, which finds it invalid
        warnings.simplefilter("ignore")
        header = pydicom.dcmread(next(Path(web.cache).rglob(f"{dose.SOPInstanceUID}.dcm")))
        uid = header.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID
    assert uid == "1.2.123.456.78.9.0123.4567.89012345678901"


def test_uids_that_cannot_name_files_are_said_by_a_dicom_warning(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """bad_sequence.dcm's UIDs are hexadecimal digests: its series was left out without a
    word (and pydicom said its UIDs were invalid, where it was read)."""
    patient = f"BADUID-{uuid.uuid4().hex[:8]}"
    _store(orthanc, tmp_path / "local", ["bad_sequence.dcm", "CT_small.dcm"], patient)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            web = db.dicomweb(
                orthanc.url, session=orthanc.session(), cache=tmp_path / "cache", PatientID=patient
            )
        said = [str(w.message) for w in caught]
        assert [w.category for w in caught] == [db.DicomWarning], said
        assert "not DICOM UIDs" in said[0] and "dbf60361338b6cb0" in said[0], said
        assert [s.Modality for s in web.series()] == ["CT"]
    finally:
        _delete(orthanc, patient)
