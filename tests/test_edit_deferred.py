"""Datasets read for an edit keep their pixel data deferred until the file is written.

A removal reads up to 2000 files first (to find those that hold the element)
and keeps them for the rewrite, their pixel data deferred. The check for a
last element cut short asked pydicom for that element in a way that reads a
deferred one: every file's pixel data were read then, and held in memory
together, for files that are not written too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import RawDataElement

import dbdicom as db

MR = Path(pydicom.__file__).parent / "data" / "test_files" / "MR_small.dcm"


def _large(folder: Path) -> Path:
    """MR_small.dcm with 256 x 256 pixels (over the editor's defer size), last in the file."""
    path = folder / "mr.dcm"
    shutil.copy(MR, path)
    path.chmod(0o644)
    ds = pydicom.dcmread(path)
    ds.Rows = ds.Columns = 256
    ds.PixelData = np.zeros((256, 256), np.int16).tobytes()
    del ds[0xFFFCFFFC]  # its trailing padding: the pixel data the last element
    ds.save_as(path)
    return path


def test_a_dataset_read_for_an_edit_keeps_its_pixel_data_deferred(tmp_path: Path) -> None:
    _large(tmp_path)
    database = db.database(tmp_path)
    editor = database._editor
    ds = editor.dataset(editor.rels(database.instances()[0]._rows())[0], defer=True)
    elem = ds.get_item(0x7FE00010, keep_deferred=True)
    assert isinstance(elem, RawDataElement) and elem.value is None, "pixel data read"
    database.close()


def test_a_removal_keeps_pixel_data_whole(tmp_path: Path) -> None:
    path = _large(tmp_path)
    before = pydicom.dcmread(path).PixelData
    database = db.database(tmp_path)
    database.series()[0].SeriesDescription = "x"
    del database.series()[0]["SeriesDescription"]
    database.save()
    database.close()
    after = pydicom.dcmread(path)
    assert after.PixelData == before and "SeriesDescription" not in after


def test_a_removal_from_a_file_whose_deferred_pixel_data_are_cut_is_refused(
    tmp_path: Path,
) -> None:
    """A removal reads its files with the pixel data deferred: pydicom then reads
    the bytes that are there when it writes, and wrote the file cut one byte short
    as whole, padded (its last pixel made up), where an edit that set a value was
    refused."""
    path = _large(tmp_path)
    ds = pydicom.dcmread(path)
    ds.ImageComments = "x"
    ds.save_as(path)
    path.write_bytes(path.read_bytes()[:-1])
    before = path.read_bytes()
    database = db.database(tmp_path)
    with pytest.raises(db.InvalidFileError, match=r"mr\.dcm.*cut short.*nothing was changed"):
        del database.series()[0]["ImageComments"]
    assert path.read_bytes() == before and not database.unsaved
    database.close()


def test_a_removal_from_a_file_of_a_private_transfer_syntax(tmp_path: Path) -> None:
    """The check of deferred pixel data asked pydicom whether the transfer syntax is
    deflated, which raises ``ValueError`` for one it does not know (a vendor's): the
    file was refused as one pydicom cannot read, where its edit is done."""
    path = _large(tmp_path)
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.826.0.1.3680043.10.1421.99"  # its data: as before
    ds.ImageComments = "x"
    ds.save_as(path)
    before = pydicom.dcmread(path).PixelData
    database = db.database(tmp_path)
    del database.series()[0]["ImageComments"]
    database.save()
    database.close()
    after = pydicom.dcmread(path)
    assert "ImageComments" not in after and after.PixelData == before
