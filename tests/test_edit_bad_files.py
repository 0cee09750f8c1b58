"""Edits and copies of bad files the tree holds: refused with the file named, or done.

A trial edited and copied every kind of the bad-file corpus: where pydicom
could not read or write the file, the call stopped with pydicom's own
exception (``zlib.error``, ``RecursionError``, a ``TypeError`` or
``ValueError`` with pydicom's traceback in its message), and the file was
left listed as changed although it was not. Each is now an
:class:`~dbdicom.InvalidFileError` naming the file, and the change is
undone whole.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pydicom
import pytest
from corpus import build_case
from pydicom.data import get_testdata_file

import dbdicom as db

#: kinds whose edit or copy stopped in pydicom (read or write)
KINDS = [
    "deflate_stream_cut",  # zlib.error reading it
    "nested_500_deep",  # RecursionError reading it
    "encapsulated_no_items",  # ValueError writing it
    "encapsulated_offset_table_only",  # NotImplementedError writing its copy
    "item_at_top_level",  # TypeError writing its copy
    "pixel_length_half",  # TypeError writing its copy
]


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and ".dbdicom" not in p.parts
    }


@pytest.mark.parametrize("kind", KINDS)
def test_an_edit_or_copy_pydicom_cannot_do_is_refused_and_undone(tmp_path: Path, kind: str) -> None:
    build_case(tmp_path, kind)
    database = db.database(tmp_path)
    before = _hashes(tmp_path)
    (instance,) = database.instances()
    changes = {
        "edit": lambda: setattr(instance, "ImageComments", "x"),
        "copy": instance.copy,
        "patient": lambda: setattr(instance, "PatientName", "Jürgen"),
    }
    refused = []
    for what, change in changes.items():
        try:
            change()
        except db.DicomError as error:
            assert isinstance(error, db.InvalidFileError), f"{what}: {error!r}"
            assert "bad.dcm" in str(error) and "Traceback" not in str(error), str(error)
            refused.append(what)
            assert not database.unsaved, f"{what}: refused, yet listed as a change"
            assert _hashes(tmp_path) == before
    assert refused, "nothing was refused: the kind no longer needs this test"
    database.restore()
    assert _hashes(tmp_path) == before


@pytest.mark.parametrize("kind", ["j2k_codestream_cut", "jpeg_fragment_cut"])
def test_an_edit_keeps_the_fragments_of_an_odd_last_fragment(tmp_path: Path, kind: str) -> None:
    """A last fragment of odd length (a code stream cut): pydicom pads the pixel data
    whole, after that fragment, so that an edit of the file put a byte between it and
    the sequence delimiter (``fragment 3 ... has the tag (FE00,DDFF)`` at the next open).
    The pad byte now goes in the fragment, as DICOM pads fragments."""
    from pydicom.encaps import generate_fragments

    build_case(tmp_path, kind)
    source = pydicom.dcmread(tmp_path / "bad.dcm")
    database = db.database(tmp_path)
    before = list(database.problems()["problem"])
    database.instances()[0].ImageComments = "x"
    database.save()
    database.close()
    written = pydicom.dcmread(tmp_path / "bad.dcm")
    old = list(generate_fragments(source.PixelData))
    new = list(generate_fragments(written.PixelData))
    assert len(old[-1]) % 2 == 1
    assert new == [*old[:-1], old[-1] + b"\0"]
    assert list(db.database(tmp_path).problems()["problem"]) == before


@pytest.mark.parametrize("kind", ["cut_one_byte_short", "truncated_pixels"])
def test_an_edit_of_a_file_whose_pixels_are_cut_short_is_refused(tmp_path: Path, kind: str) -> None:
    """A trial: an edit of a file cut one byte short wrote its pixel data as pydicom
    read them, padded: the file no longer said it was cut (no problem listed), and
    its last pixel read 255 where the stored one was 1023 -- a made-up value."""
    build_case(tmp_path, kind)
    database = db.database(tmp_path)
    before = _hashes(tmp_path)
    assert any("pixel data truncated" in p for p in database.problems()["problem"])
    (instance,) = database.instances()
    for change in (lambda: setattr(instance, "ImageComments", "x"), instance.copy):
        with pytest.raises(db.InvalidFileError, match=r"\.dcm.*cut short.*nothing was changed"):
            change()
        assert _hashes(tmp_path) == before and not database.unsaved


def test_an_edit_of_a_file_whose_trailing_padding_is_cut_is_done(tmp_path: Path) -> None:
    """pydicom's MR_small.dcm ends with a Data Set Trailing Padding (FFFC,FFFC) of 126
    bytes: cut one byte short, its image is whole (no problem listed), and its padding
    means nothing -- an edit of it was refused as of a file whose pixels are cut."""
    source = Path(get_testdata_file("MR_small.dcm"))
    (tmp_path / "MR_cut.dcm").write_bytes(source.read_bytes()[:-1])
    database = db.database(tmp_path)
    assert len(database.problems()) == 0
    (instance,) = database.instances()
    instance.ImageComments = "edited"
    database.save()
    written = pydicom.dcmread(tmp_path / "MR_cut.dcm")
    assert written.ImageComments == "edited"
    assert written.PixelData == pydicom.dcmread(source).PixelData


def test_an_odd_fragment_before_an_even_last_one_leaves_the_fragments_as_they_are() -> None:
    """Fragments of 3 and 4 bytes (their sum odd): the pad went into the last one,
    which was even, and made it odd -- a byte added to a fragment that was fine."""
    import struct

    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset
    from pydicom.encaps import generate_fragments

    from dbdicom._files import pad_last_fragment

    item = struct.Struct("<II")
    value = item.pack(0xE000FFFE, 0) + item.pack(0xE000FFFE, 3) + b"abc"
    value += item.pack(0xE000FFFE, 4) + b"defg"
    ds = Dataset()
    ds[0x7FE00010] = DataElement(0x7FE00010, "OB", value, is_undefined_length=True)
    pad_last_fragment(ds)
    assert ds.PixelData == value
    assert list(generate_fragments(ds.PixelData)) == [b"", b"abc", b"defg"]
