"""How a DICOMweb archive is named and its credentials given: ``db.database`` of a
``dicomweb+`` URL with the keywords of ``db.dicomweb``, on a real Orthanc (``servers.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
from servers import Orthanc, stored_alone

import dbdicom as db

#: the patient these tests store (the other tests count the archive's patients: removed)
PATIENT = "opened-by-name"


@contextlib.contextmanager
def _ct_stored(orthanc: Orthanc) -> Iterator[pydicom.Dataset]:
    """CT_small.dcm stored in the archive as the one instance of :data:`PATIENT`."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    with stored_alone(orthanc, ds, PATIENT, "1.2.826.0.1.3680043.10.1421.9"):
        yield ds


def test_database_of_a_dicomweb_url_takes_the_keywords_of_dicomweb(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """A trial: db.database("dicomweb+http://...", cache=..., session=...) was a TypeError;
    only db.dicomweb took them. Now the same open: the session's credentials, the cache
    folder given, keep_pixels and the filters."""
    with _ct_stored(orthanc) as ds:
        web = db.database(
            f"dicomweb+{orthanc.url}",
            session=orthanc.session(),
            cache=tmp_path / "cache",
            keep_pixels=True,
            PatientID=PATIENT,
        )
        assert [s.SeriesInstanceUID for s in web.series()] == [ds.SeriesInstanceUID]
        assert list((tmp_path / "cache").rglob(f"{ds.SOPInstanceUID}.dcm"))  # its headers
        assert web._index.archive.keep_pixels
        values = web.series()[0].to_xarray().values.squeeze()
        np.testing.assert_array_equal(values, apply_modality_lut(ds.pixel_array, ds))
        web.close()


@pytest.mark.parametrize(
    ("keywords", "said"),
    [
        ({"session": object()}, "session="),
        ({"cache": "somewhere"}, "cache="),
        ({"keep_pixels": True}, "keep_pixels="),
    ],
    ids=["session", "cache", "keep_pixels"],
)
def test_the_keywords_of_an_archive_are_refused_for_a_folder(
    tmp_path: Path, keywords: dict[str, object], said: str
) -> None:
    """Not ignored: a TypeError (as for any keyword database() does not take) that names the
    calls that take it."""
    with pytest.raises(TypeError, match=said) as info:
        db.database(tmp_path, **keywords)  # type: ignore[arg-type]
    assert "db.dicomweb(url" in str(info.value) and "dicomweb+http" in str(info.value)


def test_filters_at_the_open_of_a_folder_say_where_they_apply(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'PatientID'") as info:
        db.database(tmp_path, PatientID="A")
    assert "database.instances(PatientID=...)" in str(info.value)
    with pytest.raises(TypeError, match="unexpected keyword argument 'follow_link'$"):
        db.database(tmp_path, follow_link=True)  # a typo: said as Python says it


def test_the_keywords_of_a_folder_are_refused_for_an_archive(tmp_path: Path) -> None:
    """writable=True and the others were ignored for a dicomweb+ URL: refused, before the
    server is asked (none answers at this port)."""
    with pytest.raises(TypeError, match="writable=") as info:
        db.database("dicomweb+http://127.0.0.1:9/dicom-web", writable=True)
    assert "export_as_dicom(url)" in str(info.value)
    with pytest.raises(TypeError, match="follow_links="):
        db.database("dicomweb+http://127.0.0.1:9/dicom-web", follow_links=True)


def test_import_dicom_from_an_archive_takes_a_session(orthanc: Orthanc, tmp_path: Path) -> None:
    """A trial: import_dicom(url) took credentials only as user:password@ in the URL, where
    db.dicomweb takes a session (a token in its headers, a CA bundle); now import_dicom too."""
    with _ct_stored(orthanc) as ds:
        url = f"dicomweb+{orthanc.url}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        with pytest.raises(db.ServerAccessError):  # no credentials: refused, as before
            db.database().import_dicom(url)
        (imported,) = db.database().import_dicom(url, session=orthanc.session())
        assert imported.SOPInstanceUID == ds.SOPInstanceUID
        got = imported.parent.to_xarray().values.squeeze()
        np.testing.assert_array_equal(got, apply_modality_lut(ds.pixel_array, ds))


def test_a_session_for_files_that_are_not_an_archive_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    with pytest.raises(ValueError, match="session= is for importing a study or series"):
        db.database().import_dicom(folder, session=object())
