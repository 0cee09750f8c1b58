"""Edits and copies keep a file's character set when it encodes the new text.

Switching to UTF-8 re-encodes the text elements pydicom knows, but not those
it reads as bytes (private elements of an Implicit VR file, read as UN): their
Latin-1 bytes would then read as other characters.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import ImplicitVRLittleEndian, generate_uid

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


def test_text_in_sequence_items_switches_to_utf8_with_the_rest(tmp_path: Path) -> None:
    """Switched to UTF-8, the Latin-1 text of sequence items was written as it was read:
    'Röntgen' read back as 'R\ufffdntgen'."""
    ds = mr_image(np.zeros((4, 4), np.uint16), PatientID="P", PatientName="Größe^Jörg")
    ds.SpecificCharacterSet = "ISO_IR 100"
    item = pydicom.Dataset()
    item.CodeValue, item.CodeMeaning = "X", "Röntgen"
    ds.ProcedureCodeSequence = [item]
    write_dataset(ds, tmp_path / "latin1.dcm")
    database = db.database(tmp_path)
    database.instances()[0].PatientName = "Παπαδόπουλος^Γιώργος"
    back = pydicom.dcmread(tmp_path / "latin1.dcm")
    assert back.SpecificCharacterSet == "ISO_IR 192"
    assert back.ProcedureCodeSequence[0].CodeMeaning == "Röntgen"
    assert str(back.PatientName) == "Παπαδόπουλος^Γιώργος"


def _unknown_vr(path: Path, value: bytes | None = None) -> bytes:
    """Give the PixelSpacing of ``path`` the VR 'XX' (and ``value``); its bytes as written."""
    data = bytearray(path.read_bytes())
    at = data.find(b"\x28\x00\x30\x00DS")
    data[at + 4 : at + 6] = b"XX"
    length = int.from_bytes(data[at + 6 : at + 8], "little")
    if value is not None:
        data[at + 8 : at + 8 + len(value)] = value
    path.write_bytes(bytes(data))
    return bytes(data[at : at + 8 + length])


def _ct_files(folder: Path, names: list[str]) -> None:
    for k, name in enumerate(names):
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.SOPInstanceUID = generate_uid()
        ds.ImagePositionPatient[2] = float(k)
        ds.save_as(folder / name)


def test_an_element_of_an_unknown_vr_with_ascii_bytes_is_kept_by_a_switch(
    tmp_path: Path,
) -> None:
    """A trial: a name Latin-1 cannot hold, set on a patient one of whose files has an
    element of VR 'XX', raised pydicom's NotImplementedError. Its bytes are ASCII, which
    read the same in UTF-8: they are kept byte for byte, as an ASCII edit keeps them."""
    _ct_files(tmp_path, ["a.dcm", "bad_vr.dcm", "c.dcm"])
    kept = _unknown_vr(tmp_path / "bad_vr.dcm")
    database = db.database(tmp_path)
    patient = database.patients()[0]
    patient.PatientName = "Ŝtrange^Jöse"
    assert patient.PatientName == "Ŝtrange^Jöse"
    for path in sorted(tmp_path.glob("*.dcm")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert (ds.SpecificCharacterSet, str(ds.PatientName)) == ("ISO_IR 192", "Ŝtrange^Jöse")
    assert kept in (tmp_path / "bad_vr.dcm").read_bytes()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.dcm")}


def test_an_element_of_an_unknown_vr_beyond_ascii_refuses_a_switch_and_leaves_no_trace(
    tmp_path: Path,
) -> None:
    """Its bytes could be Latin-1 text, which UTF-8 would read as other characters: a
    DicomError names the file and the element; the files written before it are put back."""
    _ct_files(tmp_path, ["a.dcm", "b.dcm", "z_bad.dcm"])
    _unknown_vr(tmp_path / "z_bad.dcm", b"\xe9")
    before = _snapshot(tmp_path)
    database = db.database(tmp_path)
    patient = database.patients()[0]
    with pytest.raises(db.InvalidFileError, match=r"z_bad.dcm: \(0028,0030\) 'Pixel Spacing'.*"
                       r"VR 'XX'.*\(0x0028, 0x0030\)"):  # fmt: skip
        patient.PatientName = "Ŝtrange^Jöse"
    assert _snapshot(tmp_path) == before and not database.unsaved
    assert patient.PatientName == "CompressedSamples^CT1"
    # the way out: a valid value for the element, then the name
    bad = next(i for i in database.instances() if i.path.endswith("z_bad.dcm"))
    bad[(0x0028, 0x0030)] = [0.5, 0.5]
    patient.PatientName = "Ŝtrange^Jöse"
    ds = pydicom.dcmread(tmp_path / "z_bad.dcm")
    assert (ds.PixelSpacing, str(ds.PatientName)) == ([0.5, 0.5], "Ŝtrange^Jöse")


def test_a_refused_switch_leaves_files_changed_before_as_they_were(tmp_path: Path) -> None:
    """Review: the undo put back only the files the refused call touched first; one with
    an unsaved edit from before kept the refused name, which save() then wrote."""
    _ct_files(tmp_path, ["a.dcm", "b.dcm", "z_bad.dcm"])
    _unknown_vr(tmp_path / "z_bad.dcm", b"\xe9")
    database = db.database(tmp_path)
    a = next(i for i in database.instances() if i.path.endswith("a.dcm"))
    a.ImageComments = "an earlier edit"
    before, changes = _snapshot(tmp_path), database.changes().to_dict("records")
    with pytest.raises(db.InvalidFileError, match="z_bad.dcm"):
        database.patients()[0].PatientName = "Ŝtrange^Jöse"
    assert _snapshot(tmp_path) == before
    assert database.changes().to_dict("records") == changes
    assert a.PatientName == "CompressedSamples^CT1" and a.ImageComments == "an earlier edit"
    assert not list((tmp_path / ".dbdicom").rglob("stash-*"))  # what the undo kept: gone
    database.save()
    assert pydicom.dcmread(tmp_path / "a.dcm").PatientName == "CompressedSamples^CT1"


def test_a_refused_switch_leaves_the_datasets_read_into_memory_as_they_were(
    tmp_path: Path,
) -> None:
    """Review: after database.read(), a refused switch had changed the datasets in memory
    before the refusal: unsaved was True and save() wrote the refused name."""
    _ct_files(tmp_path, ["a.dcm", "b.dcm", "z_bad.dcm"])
    _unknown_vr(tmp_path / "z_bad.dcm", b"\xe9")
    database = db.database(tmp_path)
    before = _snapshot(tmp_path)
    for instance in database.instances():
        if not instance.path.endswith("z_bad.dcm"):
            instance.read()  # held in memory; z_bad.dcm is rewritten on disk
    assert not database.unsaved
    with pytest.raises(db.InvalidFileError, match="z_bad.dcm"):
        database.patients()[0].PatientName = "Ŝtrange^Jöse"
    assert not database.unsaved
    assert {i.PatientName for i in database.instances()} == {"CompressedSamples^CT1"}
    database.save()
    assert _snapshot(tmp_path) == before


def test_text_its_own_character_set_does_not_decode_refuses_a_switch(tmp_path: Path) -> None:
    """Review: a byte the file's character set does not define (0xA1 in ISO_IR 127) was
    decoded as U+FFFD by pydicom (with a warning naming neither file nor element) and
    written so in UTF-8: the text was lost. The switch is refused, the file kept."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.SpecificCharacterSet = "ISO_IR 127"
    ds.save_as(tmp_path / "b.dcm")
    data = bytearray((tmp_path / "b.dcm").read_bytes())
    at = data.find(b"\x08\x00\x30\x10LO")  # (0008,1030) Study Description
    data[at + 8] = 0xA1  # not a character of ISO 8859-6
    (tmp_path / "b.dcm").write_bytes(bytes(data))
    before = _snapshot(tmp_path)
    database = db.database(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's, when it decodes the description
        with pytest.raises(db.InvalidFileError, match=r"b.dcm: \(0008,1030\).*does not decode"):
            database.instances()[0].InstitutionName = "Ŝtrange 山"
    assert _snapshot(tmp_path) == before and not database.unsaved


def _charset_files(folder: Path, *names: str) -> None:
    charsets = Path(pydicom.__file__).parent / "data" / "charset_files"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_bytes((charsets / name).read_bytes())


def test_a_character_set_that_cannot_hold_the_text_is_refused(tmp_path: Path) -> None:
    """Trial L: ISO_IR 100 set on a Cyrillic header was taken: 'Люкceмбypг' was written
    '???ce??yp?' (only pydicom's UserWarning said so), and save() kept it. Refused now,
    naming the file and the element, before anything is written."""
    _charset_files(tmp_path, "chrRuss.dcm")
    before = _snapshot(tmp_path)
    database = db.database(tmp_path)
    (instance,) = database.instances()
    with pytest.raises(db.InvalidFileError, match=r"chrRuss.dcm: \(0010,0010\) \"Patient's Name\""
                       r" holds text that ISO_IR 100 does not encode.*ISO_IR 192"):  # fmt: skip
        instance.SpecificCharacterSet = "ISO_IR 100"
    with pytest.raises(db.InvalidFileError, match="the default set, ASCII"):
        instance.SpecificCharacterSet = None
    assert _snapshot(tmp_path) == before and not database.unsaved
    instance.SpecificCharacterSet = "ISO_IR 192"  # UTF-8 holds it: the text is kept
    database.save()
    ds = pydicom.dcmread(tmp_path / "chrRuss.dcm")
    assert (ds.SpecificCharacterSet, str(ds.PatientName)) == ("ISO_IR 192", "Люкceмбypг")


def test_a_character_set_that_holds_the_text_re_encodes_it(tmp_path: Path) -> None:
    """Latin-1 text set to UTF-8 and back, and ASCII text to the default: each value kept."""
    _charset_files(tmp_path, "chrFren.dcm")
    database = db.database(tmp_path)
    (instance,) = database.instances()
    name = instance.PatientName
    assert not name.isascii()
    for charset in ("ISO_IR 192", "ISO_IR 100"):
        instance.SpecificCharacterSet = charset
        ds = pydicom.dcmread(tmp_path / "chrFren.dcm")
        assert (ds.SpecificCharacterSet, str(ds.PatientName)) == (charset, name)
    instance.PatientName = "Buc^Jerome"
    instance.SpecificCharacterSet = None  # the default set: ASCII holds it
    ds = pydicom.dcmread(tmp_path / "chrFren.dcm")
    assert "SpecificCharacterSet" not in ds and str(ds.PatientName) == "Buc^Jerome"
    assert database.restore() == 1
