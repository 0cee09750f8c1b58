"""Files rewritten after they were indexed: pixels come from where they are now.

Process A opens a folder and builds a lazy array; process B (or any other
tool) rewrites a file so its header is longer or shorter, which moves the
pixel data. A's reads must not use the old byte offsets: each read compares
the file's size and modification time with the index's, and reads the header
again when they differ. A file whose image no longer fits the array raises
:class:`dbdicom.StaleFileError`.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom import _files
from dbdicom._arrays import _read
from dbdicom._demo import build_demo

REPO = Path(__file__).resolve().parents[1]


def _physical(path: str) -> np.ndarray:
    """The pixels of a file as pydicom reads them, in physical units."""
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array.astype(np.float64)
    return pixels * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))


def _expected(da: Any, files: list[str]) -> np.ndarray:
    """What ``da.values`` must be: each grid point's file read by pydicom now."""
    by_uid = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID): f for f in files}
    uids = np.asarray(da.coords["SOPInstanceUID"].values).ravel()
    frames = [_physical(by_uid[str(u)]) for u in uids]
    return np.stack(frames).reshape(da.shape)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The demo database."""
    return build_demo(tmp_path / "demo")


def _open(folder: Path) -> db.Database:
    return db.database(folder, dialog=db.TerminalDialog(interactive=False))


def _series(database: db.Database) -> Any:
    """A series of several single-frame files."""
    return max(database.series(), key=lambda s: len(s.files()))


LONG = "A much longer series description, written by process B"
WRITER = textwrap.dedent(
    """
    import sys
    import dbdicom as db
    database = db.database(sys.argv[1], dialog=db.TerminalDialog(interactive=False))
    series = max(database.series(), key=lambda s: len(s.files()))
    series.SeriesDescription = sys.argv[2]
    series.save()
    database.close()
    """
)


@pytest.mark.parametrize("chunks", [None, False])
def test_other_process_lengthens_headers(folder: Path, chunks: Any) -> None:
    """B saves a long SeriesDescription; A's array still gives the files' pixels."""
    database = _open(folder)
    try:
        series = _series(database)
        files = series.files()
        before = {f: os.stat(f).st_size for f in files}
        da = series.to_xarray() if chunks is None else series.to_xarray(chunks=False)
        shipped = pickle.dumps(da)  # dask graphs and backend arrays carry the check along
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        subprocess.run(
            [sys.executable, "-c", WRITER, str(folder), LONG],
            check=True,
            env=env,
            timeout=120,
        )
        assert all(os.stat(f).st_size > before[f] for f in files)  # the headers did grow
        expected = _expected(da, files)
        np.testing.assert_array_equal(da.values, expected)
        np.testing.assert_array_equal(pickle.loads(shipped).values, expected)
    finally:
        database.close()


def _rewrite(path: str, change: Any) -> None:
    ds = pydicom.dcmread(path)
    change(ds)
    ds.save_as(path, enforce_file_format=True)


def test_other_tool_shortens_a_file(folder: Path) -> None:
    """A file rewritten with less in its header: read where its pixels are now."""
    database = _open(folder)
    try:
        series = _series(database)
        files = series.files()
        da = series.to_xarray(chunks=False)
        size = os.stat(files[0]).st_size

        def drop(ds: pydicom.Dataset) -> None:
            for keyword in ("StudyDescription", "SeriesDescription", "PatientName", "StudyID"):
                if keyword in ds:
                    delattr(ds, keyword)

        _rewrite(files[0], drop)
        assert os.stat(files[0]).st_size < size
        np.testing.assert_array_equal(da.values, _expected(da, files))
    finally:
        database.close()


def test_image_size_changed_is_an_error(folder: Path) -> None:
    """A file whose image has another size now: a clear error, no numbers."""
    database = _open(folder)
    try:
        series = _series(database)
        files = series.files()
        da = series.to_xarray()

        def crop(ds: pydicom.Dataset) -> None:
            pixels = ds.pixel_array[: ds.Rows // 2]
            ds.Rows = pixels.shape[0]
            ds.PixelData = np.ascontiguousarray(pixels).tobytes()

        _rewrite(files[1], crop)
        with pytest.raises(db.StaleFileError, match="refresh") as caught:
            _ = da.values
        assert isinstance(caught.value, db.DicomError)
        assert os.path.basename(files[1]) in str(caught.value)
    finally:
        database.close()


@pytest.mark.parametrize("chunks", [None, False])
def test_a_file_replaced_by_another_instance_is_an_error(folder: Path, chunks: Any) -> None:
    """Another program puts another image of the same size under a file's name.

    Its pixels would be read under the array's coordinates (the slice the
    array says, the other series' values): a StaleFileError naming the file.
    """
    database = _open(folder)
    try:
        series = _series(database)
        files = series.files()
        da = series.to_xarray() if chunks is None else series.to_xarray(chunks=False)
        other = pydicom.dcmread(files[0])
        other.SOPInstanceUID = pydicom.uid.generate_uid()
        other.file_meta.MediaStorageSOPInstanceUID = other.SOPInstanceUID
        other.PixelData = np.full_like(other.pixel_array, 7).tobytes()
        part = files[1] + ".part"
        other.save_as(part, enforce_file_format=True)
        os.replace(part, files[1])  # as rsync and most tools replace a file
        with pytest.raises(db.StaleFileError, match="another instance") as caught:
            _ = da.values
        assert os.path.basename(files[1]) in str(caught.value)
        assert "refresh" in str(caught.value)
    finally:
        database.close()


def test_a_changed_rescale_is_an_error(folder: Path) -> None:
    """Another tool changes a file's RescaleSlope: the array's scaling is not the file's now."""
    database = _open(folder)
    try:
        series = _series(database)
        files = series.files()
        da = series.to_xarray(chunks=False)
        before = float(pydicom.dcmread(files[2]).get("RescaleSlope", 1))

        def rescale(ds: pydicom.Dataset) -> None:
            ds.RescaleSlope = before * 2
            ds.RescaleIntercept = ds.get("RescaleIntercept", 0)

        _rewrite(files[2], rescale)
        with pytest.raises(db.StaleFileError, match="RescaleSlope") as caught:
            _ = da.values
        assert os.path.basename(files[2]) in str(caught.value)
        fresh = _open(folder)  # the way out: a new array reads the new scaling
        try:
            again = _series(fresh).to_xarray()
            np.testing.assert_allclose(again.values, _expected(again, files), rtol=1e-6)
        finally:
            fresh.close()
    finally:
        database.close()


def test_unchanged_files_are_not_read_again(folder: Path, monkeypatch: Any) -> None:
    """Nothing changed: no header is read, only the frames."""
    database = _open(folder)
    try:
        series = _series(database)
        da = series.to_xarray()
        expected = _expected(da, series.files())

        def fail(path: Any) -> Any:
            raise AssertionError(f"header of {path} read again")

        monkeypatch.setattr(_files, "pixel_format", fail)
        np.testing.assert_array_equal(da.values, expected)
        np.testing.assert_array_equal(series.to_xarray(chunks=False).values, expected)
    finally:
        database.close()


def test_an_array_of_files_a_write_replaced_says_so(tmp_path: Path) -> None:
    """Writing a series' own array back writes new files and removes the old ones: the array
    made before names a file that is gone, a StaleFileError with the way out (it was a bare
    FileNotFoundError)."""
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "ct.dcm")
    database = db.database(tmp_path)
    series = database.series()[0]
    before = series.to_xarray()
    values = before.values
    series.set_xarray(before + 1)
    with pytest.raises(db.FileGoneError, match=r"ct\.dcm: the file is gone.*reopen"):
        before.values  # noqa: B018
    np.testing.assert_array_equal(series.to_xarray().values, values + 1)


def test_a_touched_file_scaled_by_its_table_is_read(tmp_path: Path) -> None:
    """A review: a file made physical by a Modality LUT that also holds a RescaleSlope of 2
    (unused: the table wins) was a StaleFileError after a mere touch."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    item.ModalityLUTType = "HU"
    item.LUTData = list(range(4096))
    item["LUTDescriptor"].VR = "US"
    item["LUTData"].VR = "US"
    ds.ModalityLUTSequence = Sequence([item])
    ds.RescaleSlope, ds.RescaleIntercept = "2", "0"
    folder = tmp_path / "db"
    folder.mkdir()
    ds.save_as(folder / "a.dcm", enforce_file_format=False)
    database = _open(folder)
    da = database.series()[0].to_xarray()
    before = da.values.copy()
    st = os.stat(folder / "a.dcm")
    os.utime(folder / "a.dcm", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(da.values, before)
    database.close()


def test_a_tag_of_a_file_removed_since_is_an_error_not_none(tmp_path: Path) -> None:
    """Trial I: a tag read from the file (not kept in the index), of a file another program
    removed after the open, read as None, as if the file had no such tag; and
    ``series.unique`` left that file out without a word."""
    for name in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copy(get_testdata_file(name), tmp_path / name)
    database = db.database(tmp_path)
    ct = database.instances(Modality="CT")[0]
    mr = database.instances(Modality="MR")[0]
    assert mr.ImagingFrequency is not None  # on demand: not a column of the index
    os.remove(tmp_path / "CT_small.dcm")
    assert mr.ImagingFrequency is not None  # the other files read as before
    with pytest.raises(db.FileGoneError, match=r"CT_small\.dcm: KVP cannot be read.*refresh"):
        ct.KVP  # noqa: B018
    with pytest.raises(FileNotFoundError):  # (a FileGoneError is one)
        ct.parent.unique("KVP")
    database.refresh()
    assert [i.Modality for i in database.instances()] == ["MR"]


def _replace(path: str, comment: str) -> None:
    """Another program's rewrite: a new file written beside and renamed over the old one."""
    ds = pydicom.dcmread(path)
    ds.ImageComments = comment
    ds.save_as(path + ".new", enforce_file_format=True)
    os.replace(path + ".new", path)


@pytest.mark.parametrize("chunks", [None, False])
def test_a_file_replaced_while_its_header_is_read_gives_its_pixels(
    folder: Path, chunks: Any, monkeypatch: Any
) -> None:
    """A rename between the read of a file's header and that of its pixels: the place of
    one version and the bytes of the other gave the image shifted by the difference of
    their header lengths, header bytes in its first pixels. The file is read again."""

    database = _open(folder)
    try:
        series = _series(database)
        files = series.files()
        da = series.to_xarray() if chunks is None else series.to_xarray(chunks=False)
        _replace(files[0], "x")  # changed since indexed: its header is read again
        real, replaced = _read.current_place, []

        def header_then_rename(path: str, *args: Any) -> Any:
            place = real(path, *args)
            if path == files[0] and not replaced:  # the pixels then read are another file's
                replaced.append(path)
                _replace(path, "a much longer comment " * 20)
            return place

        monkeypatch.setattr(_read, "current_place", header_then_rename)
        got = da.values
        assert replaced == [files[0]]
        np.testing.assert_array_equal(got, _expected(da, files))
    finally:
        database.close()


def test_a_file_that_keeps_changing_while_read_is_stale_not_wrong(
    folder: Path, monkeypatch: Any
) -> None:
    """A file replaced during every read of it: a StaleFileError, not some version's
    header with another's pixels."""

    database = _open(folder)
    try:
        series = _series(database)
        files = series.files()
        da = series.to_xarray(chunks=False)
        _replace(files[0], "x")
        real, count = _read.current_place, [0]

        def always_renamed(path: str, *args: Any) -> Any:
            place = real(path, *args)
            if path == files[0]:
                count[0] += 1
                _replace(path, "y" * (2 * count[0]))
            return place

        monkeypatch.setattr(_read, "current_place", always_renamed)
        with pytest.raises(db.StaleFileError, match="changed while it was read"):
            _ = da.values
    finally:
        database.close()


def test_a_file_rewritten_in_place_during_the_fast_read_is_read_again(
    folder: Path, monkeypatch: Any
) -> None:
    """The fast path reads through one open file and compares fstat before and after:
    a file rewritten in place while its frames are read (the same inode) is not taken as
    read (the caller reads it the general way, again where it changed)."""
    copy = str(folder / "emri.dcm")
    shutil.copy(get_testdata_file("emri_small.dcm"), copy)
    fmt, offset, nbytes = _files.pixel_format(copy)
    dest = np.empty((2, 64, 64), fmt.dtype)
    assert _files.read_frames_into(copy, [0, 1], fmt, offset, nbytes, dest)
    real = os.preadv

    def rewritten_meanwhile(fd: int, buffers: Any, at: int) -> int:
        with open(copy, "r+b") as f:  # another program writes into the file
            f.seek(0, os.SEEK_END)
            f.write(b"\0\0")
        return real(fd, buffers, at)

    monkeypatch.setattr(os, "preadv", rewritten_meanwhile)
    assert not _files.read_frames_into(copy, [0, 1], fmt, offset, nbytes, dest)
