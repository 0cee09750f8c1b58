"""Images whose values need a lookup table, read from a DICOMweb archive.

A PALETTE COLOR image's tables and a Modality LUT Sequence's LUT Data are
bulk data in WADO-RS metadata (a ``BulkDataURI``): such a series was a
ServerError saying to copy it to a folder. The tables are now fetched from
the server, and the values equal those of the same files in a folder; a
table the server does not give is an error naming the instance, never the
stored values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import requests
import xarray as xr
from pydicom.data import get_testdata_file
from servers import PASSWORD, Orthanc, archive_of, as_one_series, requests_made, stored_files

import dbdicom as db

_ROOT = "1.2.826.0.1.3680043.10.1425"


def _ow_table(ds: pydicom.Dataset, depth: int, shift: int) -> None:
    """The Modality LUT of ``ds`` (mlut_18) as bulk data (OW), ``depth`` bits an entry."""
    item = ds.ModalityLUTSequence[0]
    entries = int(item.LUTDescriptor[0])
    values = (np.arange(entries) * 7 + shift) % (1 << depth)
    item.LUTDescriptor = [entries, int(item.LUTDescriptor[1]), depth]
    item.add_new(0x00283006, "OW", values.astype("<u2").tobytes())


def _palette_shift(ds: pydicom.Dataset, shift: int) -> None:
    """The red table of the palette of ``ds`` rolled by ``shift`` entries (one per instance)."""
    red = np.frombuffer(ds.RedPaletteColorLookupTableData, "<u2")
    ds.RedPaletteColorLookupTableData = np.roll(red, shift).astype("<u2").tobytes()


def _mlut(depth: int) -> Callable[[pydicom.Dataset, int], None]:
    return lambda ds, k: _ow_table(ds, depth, 100 * k)


def _keep(ds: pydicom.Dataset, k: int) -> None:
    pass


#: (file, how each instance's table is made) - differing per instance where a maker is given
CASES: dict[str, tuple[str | Path, Callable[[pydicom.Dataset, int], None]]] = {
    "palette-16": ("OBXXXX1A.dcm", lambda ds, k: _palette_shift(ds, 40 * k)),
    "palette-rle-2frame": ("OBXXXX1A_rle_2frame.dcm", _keep),
    "palette-segmented": ("gdcm-US-ALOKA-16.dcm", _keep),
    "palette-big-endian-2frame": ("OBXXXX1A_expb_2frame.dcm", _keep),  # /frames refused
    "modality-lut-us": ("mlut_18.dcm", _keep),  # LUT Data of VR US: inline in the metadata
    "modality-lut-ow-16": ("mlut_18.dcm", _mlut(16)),  # bulk data
    "modality-lut-ow-8": ("mlut_18.dcm", _mlut(8)),
}


def _series(case: str, n: int) -> list[pydicom.Dataset]:
    """``n`` instances of the case's file, one series of patient ``case``."""
    name, make = CASES[case]
    path = name if isinstance(name, Path) else get_testdata_file(name)
    uid = f"{_ROOT}.{list(CASES).index(case) + 1}"

    def read(k: int) -> pydicom.Dataset:
        ds = pydicom.dcmread(path)
        make(ds, k)
        return ds

    return as_one_series(read, case, uid, n, axial=True)


@pytest.mark.parametrize("keep", [False, True], ids=["asked", "keep_pixels"])
@pytest.mark.parametrize("case", list(CASES))
def test_images_made_by_their_tables_read_as_their_files(
    orthanc: Orthanc, tmp_path: Path, case: str, keep: bool
) -> None:
    """A trial: reading such a series from the archive was a ServerError saying to copy it to
    a folder; the values (RGB through the palette, physical through the Modality LUT, each
    instance through its own table) are those of the files in a folder: the whole series, a
    block an instance, some frames, the numpy API, and again at a second read."""
    series = _series(case, 3)
    with stored_files(orthanc, series, tmp_path / "local"):
        local = db.database(tmp_path / "local").series()[0]
        web = archive_of(orthanc, tmp_path / "cache", case, keep_pixels=keep)
        remote = web.series()[0]
        expected = local.to_xarray()
        assert expected.shape[0] == 3
        if case.startswith("palette"):
            assert expected.shape[-1] == 3  # RGB
        for _ in range(2):
            got = remote.to_xarray()
            xr.testing.assert_identical(got.rename(None).compute(), expected.rename(None).load())
        first = expected.dims[0]
        some = remote.to_xarray(chunks={first: 1})  # a block an instance (dask)
        np.testing.assert_array_equal(some.compute().values, expected.values)
        np.testing.assert_array_equal(
            remote.to_xarray()[{first: slice(1, 3)}].values,
            expected[{first: slice(1, 3)}].values,
        )
        np.testing.assert_array_equal(remote.array()[0], local.array()[0])
        web.close()


def test_an_instance_whose_tables_differ_gives_its_own_values(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """Each instance's table is its own: the instances of one stored image whose tables
    differ give different values from the archive, as from the folder."""
    series = _series("modality-lut-ow-16", 2)
    with stored_files(orthanc, series, tmp_path / "local"):
        web = archive_of(orthanc, tmp_path / "c", series[0].PatientID)
        values = web.series()[0].to_xarray().values
        assert not np.array_equal(values[0], values[1])  # same stored values, other tables
        for k, ds in enumerate(series):
            np.testing.assert_array_equal(
                values[k], pydicom.pixels.apply_modality_lut(ds.pixel_array, ds)
            )
        web.close()


@pytest.mark.parametrize("case", ["palette-16", "modality-lut-ow-16"])
def test_a_table_the_server_refuses_is_an_error_naming_the_instance(
    orthanc: Orthanc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """A table whose BulkDataURI the server answers 404 to: a ServerError naming the
    instance and the way out (copy to a folder), never the stored values."""
    series = _series(case, 1)
    real = requests.Session.get

    def get(self: requests.Session, url: Any, **kwargs: Any) -> requests.Response:
        if "/bulk/0028" in str(url):
            answer = requests.Response()
            answer.status_code, answer.reason, answer.url = 404, "Not Found", str(url)
            answer._content, answer._content_consumed = b"", True
            return answer
        return real(self, url, **kwargs)

    with stored_files(orthanc, series, tmp_path / "local"):
        web = db.dicomweb(
            orthanc.url, session=orthanc.session(), cache=tmp_path / "c", PatientID=case
        )
        monkeypatch.setattr(requests.Session, "get", get)
        with pytest.raises(db.ServerError, match="404") as info:
            web.series()[0].to_xarray().values  # noqa: B018 - the read
        text = str(info.value)
        assert series[0].SOPInstanceUID in text and "copy_to" in text
        assert PASSWORD not in text
        monkeypatch.undo()
        web.close()


@pytest.mark.parametrize("case", ["palette-16", "modality-lut-ow-16"])
def test_the_tables_of_a_series_are_asked_for_together(
    orthanc: Orthanc, tmp_path: Path, case: str
) -> None:
    """A waste: building the array asked for each instance's metadata, then each of its
    tables, one request after the other (~4 an instance: 80 for a 20-instance palette
    series, 1.9 s with 20 ms round trips). The metadata of the series come in one request,
    and the tables of several instances are asked for at once: a table's request is still
    being answered when another's is sent. The values are the folder's."""
    n = 6
    series = _series(case, n)
    lock, second, held = threading.Lock(), threading.Event(), []

    def hold(url: str) -> None:  # the first table's request waits for another to be sent
        if "/bulk/" not in url:
            return
        with lock:
            first = not held
            held.append(url)
        if first:
            held.append(second.wait(10))  # (one after another: never, in 10 s)
        else:
            second.set()

    with stored_files(orthanc, series, tmp_path / "local"):
        expected = db.database(tmp_path / "local").series()[0].to_xarray()
        web = db.dicomweb(
            orthanc.url, session=orthanc.session(), cache=tmp_path / "c", PatientID=case
        )
        remote = web.series()[0]
        with requests_made(hold) as sent:
            got = remote.to_xarray()
        assert True in held  # another table asked for while the first was on its way
        uid = series[0].SeriesInstanceUID
        assert [url for url in sent if url.endswith("/metadata")] == [
            f"{orthanc.url}/studies/{series[0].StudyInstanceUID}/series/{uid}/metadata"
        ]
        assert len(sent) <= 2 + n * (3 if case.startswith("palette") else 1)
        xr.testing.assert_identical(got.rename(None).compute(), expected.rename(None).load())
        web.close()


def test_tables_held_are_not_asked_for_again(orthanc: Orthanc, tmp_path: Path) -> None:
    """A second array of a palette series (its tables held by the process) asked for the
    metadata of the whole series again, and its number of instances, at each build: the
    tables of the instances already held are not fetched for again."""
    n = 4
    series = _series("palette-16", n)
    with stored_files(orthanc, series, tmp_path / "local"):
        web = db.dicomweb(
            orthanc.url, session=orthanc.session(), cache=tmp_path / "c", PatientID="palette-16"
        )
        remote = web.series()[0]
        first = remote.to_xarray().compute()
        with requests_made() as sent:
            again = remote.to_xarray().compute()
        assert [url for url in sent if "/metadata" in url or "/series?" in url] == []
        xr.testing.assert_identical(again, first)
        web.close()
