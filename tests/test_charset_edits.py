"""Edits and copies keep a file's character set when it encodes the new text.

Switching to UTF-8 re-encodes the text elements pydicom knows, but not those
it reads as bytes (private elements of an Implicit VR file, read as UN): their
Latin-1 bytes would then read as other characters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import ImplicitVRLittleEndian

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

PRIVATE = 0x00291001


def _folder(tmp_path: Path) -> Path:
    ds = mr_image(np.zeros((4, 4), np.uint16), PatientID="P", PatientName="Größe^Jörg")
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.add_new(0x00290010, "LO", "ACME 1.0")
    ds.add_new(PRIVATE, "LO", "Größe")
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian  # the private one: UN when read
    write_dataset(ds, tmp_path / "latin1.dcm", transfer_syntax=ImplicitVRLittleEndian)
    return tmp_path


def _private(path: str) -> tuple[str, str]:
    ds = pydicom.dcmread(path)
    raw = ds[PRIVATE].value
    text = raw.decode("latin_1") if isinstance(raw, bytes) else str(raw)
    return str(ds.SpecificCharacterSet), text.strip(" \0")


def test_a_latin1_edit_keeps_latin1_and_private_text(tmp_path: Path) -> None:
    database = db.database(_folder(tmp_path))
    instance = database.instances()[0]
    instance.PatientName = "Müller^Zoë"
    database.save()
    charset, private = _private(instance.files()[0])
    assert (charset, private) == ("ISO_IR 100", "Größe")
    assert str(pydicom.dcmread(instance.files()[0]).PatientName) == "Müller^Zoë"


def test_copies_keep_latin1_and_private_text(tmp_path: Path) -> None:
    database = db.database(_folder(tmp_path))
    series = database.series()[0]
    copy = series.copy()
    other = database.new_patient(PatientName="Ørsted^Åse").new_study()
    moved = series.copy_to(other)
    database.save()
    assert _private(copy.files()[0]) == ("ISO_IR 100", "Größe")
    assert _private(moved.files()[0]) == ("ISO_IR 100", "Größe")
    assert str(pydicom.dcmread(moved.files()[0]).PatientName) == "Ørsted^Åse"


def test_text_latin1_cannot_hold_switches_to_utf8(tmp_path: Path) -> None:
    database = db.database(_folder(tmp_path))
    instance = database.instances()[0]
    instance.PatientName = "Παπαδόπουλος^Γιώργος"
    database.save()
    ds = pydicom.dcmread(instance.files()[0])
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert str(ds.PatientName) == "Παπαδόπουλος^Γιώργος"
