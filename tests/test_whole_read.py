"""``.values`` of a series read in one call where that pays, with the values dask gives.

``FramesArray.compute`` (what ``.values``, ``numpy.asarray`` and
``.compute()`` of the raw array call) reads an array of one chunk, or of
frames stored uncompressed in local files, in one call into one array,
instead of handing its chunks to dask's threads and joining them: about
twice as fast for a 200-slice series. These tests hold it to what dask
gives: the same values, a new writeable array each time, dask's own
computation wherever the direct read does not apply (compressed frames,
callbacks watching the tasks, a scheduler the user chose), and the frames
of bytes held in memory (a DICOMweb answer) read as views of them, the
same values as read by copying.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dask
import numpy as np
import pytest
from dask.callbacks import Callback
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom._arrays._lazy import FramesArray
from dbdicom._files import PixelFormat, native_frames


class _Tasks(Callback):
    """Counts the dask tasks that run while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.ran = 0

    def _posttask(self, *args: object) -> None:
        self.ran += 1


def _t2w(demo_folder: Path, chunks: object) -> tuple[db.Database, FramesArray]:
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    data = series.to_xarray(chunks=chunks).data
    assert isinstance(data, FramesArray)
    return database, data


@pytest.mark.parametrize("chunks", [-1, 2])
def test_the_values_are_dasks_each_time_a_new_array(demo_folder: Path, chunks: object) -> None:
    database, data = _t2w(demo_folder, chunks)
    assert (data.npartitions == 1) == (chunks == -1)
    assert data._whole() is not None  # uncompressed local files: read in one call
    expected = dask.compute(data, scheduler="sync")[0]  # dask's own, chunk by chunk
    first, second = np.asarray(data), data.compute()
    assert first.dtype == second.dtype == expected.dtype
    assert np.array_equal(first, expected) and np.array_equal(second, expected)
    assert first.flags.writeable and not np.shares_memory(first, second)
    first[...] = 0  # the caller's own: the next read is not changed by it
    assert np.array_equal(data.compute(), expected)
    database.close()


def test_callbacks_and_a_chosen_scheduler_see_dasks_tasks(demo_folder: Path) -> None:
    database, data = _t2w(demo_folder, 2)
    expected = np.asarray(data)
    with _Tasks() as tasks:
        assert np.array_equal(data.compute(), expected)
    assert tasks.ran >= data.npartitions  # a ProgressBar sees the chunks read
    with _Tasks() as tasks:
        assert np.array_equal(data.compute(scheduler="sync"), expected)
    assert tasks.ran >= data.npartitions
    database.close()


def test_compressed_frames_are_decoded_by_dasks_threads(tmp_path: Path) -> None:
    folder = tmp_path / "jpeg"
    folder.mkdir()
    shutil.copy(get_testdata_file("emri_small_jpeg_2k_lossless.dcm"), folder / "a.dcm")
    database = db.database(folder)
    series = database.series()[0]
    data = series.to_xarray(chunks=2).data
    assert isinstance(data, FramesArray) and data.npartitions > 1
    assert data._whole() is None  # several chunks of compressed frames: dask as before
    one = series.to_xarray(chunks=-1).data
    assert np.array_equal(np.asarray(data), np.asarray(one))  # one chunk: one call
    database.close()


@pytest.mark.parametrize("bits_stored", [16, 12])
def test_frames_in_memory_are_views_where_nothing_changes(bits_stored: int) -> None:
    fmt = PixelFormat(rows=2, columns=3, bits_allocated=16, bits_stored=bits_stored)
    stored = np.arange(12, dtype="<u2") | np.uint16(0xF000)  # bits above 12 set
    body = memoryview(b"head" + stored.tobytes() + b"tail")[4:-4]
    frames = native_frames(body, fmt, "here")
    assert frames.shape == (2, 2, 3)
    if bits_stored == 16:  # the bytes as they are: no copy
        assert np.shares_memory(frames, np.frombuffer(body, np.uint8))
        assert np.array_equal(frames.ravel(), stored)
    else:  # the bits above BitsStored cleared: a copy
        assert not np.shares_memory(frames, np.frombuffer(body, np.uint8))
        assert np.array_equal(frames.ravel(), stored & np.uint16(0x0FFF))
    copied = native_frames(bytes(body), fmt, "here")
    assert np.array_equal(frames, copied)
