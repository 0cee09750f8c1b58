"""Private text read as UN (Implicit VR, or UN in Explicit VR) is decoded in the file's set.

Such an element of a creator pydicom's private dictionary knows was read as
its bytes (``b'Spule M\\xc3\\xbcller'`` under ``ISO_IR 192``), where pydicom
gives the text in the file's character set; bytes that the set does not
decode, and elements of creators nobody knows, stay bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

import dbdicom as db
from dbdicom._files import _header
from dbdicom._index import _index
from dbdicom._templates import mr_image, new_uid, write_dataset

COIL = (0x0051, 0x100F)  # "SIEMENS MR HEADER" CoilString, LO
OTHER = (0x0009, 0x1010)  # of a creator nobody knows


def _write(folder: Path, name: str, charset: str, coil: bytes, syntax: str) -> None:
    ds = mr_image(np.zeros((4, 4), np.uint16), PatientID=name, SeriesInstanceUID=new_uid())
    ds.SpecificCharacterSet = charset
    ds.add_new(0x00510010, "LO", "SIEMENS MR HEADER")
    ds.add_new(0x0051100F, "UN", coil)
    ds.add_new(0x00090010, "LO", "ACME 1.0")
    ds.add_new(0x00091010, "UN", "Grüße".encode())
    ds.file_meta.TransferSyntaxUID = syntax
    write_dataset(ds, str(folder / f"{name}.dcm"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    utf8, latin = "Spule Müller".encode(), "Spule Müller".encode("latin-1")
    _write(tmp_path, "explicit", "ISO_IR 192", utf8, ExplicitVRLittleEndian)
    _write(tmp_path, "implicit", "ISO_IR 192", utf8, ImplicitVRLittleEndian)
    _write(tmp_path, "latin", "ISO_IR 100", latin, ImplicitVRLittleEndian)
    _write(tmp_path, "wrong", "ISO_IR 192", latin, ExplicitVRLittleEndian)  # not UTF-8
    return tmp_path


def _coil(database: db.Database, patient: str) -> object:
    return database.instances(PatientID=patient)[0][COIL]


def test_private_text_is_read_in_the_files_character_set(folder: Path) -> None:
    assert pydicom.dcmread(folder / "implicit.dcm")[COIL].value == "Spule Müller"
    database = db.database(folder)
    database.mute()
    for patient in ("explicit", "implicit", "latin"):
        assert _coil(database, patient) == "Spule Müller", patient
    assert _coil(database, "wrong") == "Spule Müller".encode("latin-1")  # kept: no guess
    assert database.instances(PatientID="explicit")[0][OTHER] == "Grüße".encode()
    database.close()


def test_private_text_read_as_bytes_before_is_read_again(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:  # as the reads of version 2 kept it
        patch.setattr(_index, "READS_VERSION", 2)
        patch.setattr(_header, "private_text", lambda *args: None)
        database = db.database(folder)
        assert _coil(database, "implicit") == "Spule Müller".encode()
        database.close()
    database = db.database(folder)
    database.mute()
    assert _coil(database, "implicit") == "Spule Müller"
    database.close()
