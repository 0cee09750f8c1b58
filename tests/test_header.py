"""The fast header reader agrees with pydicom, and fails clearly on bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_charset_files, get_testdata_file

from dbdicom._files import (
    NeedsPydicom,
    NotDicomError,
    decode_value,
    read_any_header,
    read_header,
    read_with_pydicom,
)
from dbdicom._index import TAGS, tag_of, vr_of

WANTED = {tag_of(k): vr_of(k) for k in TAGS if tag_of(k) is not None}

# shipped files of many kinds: explicit/implicit VR, compressed, multi-frame,
# enhanced (functional groups), non-image (RT plan), private Siemens data
SHIPPED = [
    "MR_small.dcm",
    "CT_small.dcm",
    "rtplan.dcm",
    "emri_small.dcm",
    "eCT_Supplemental.dcm",
    "JPEG2000.dcm",
    "SC_rgb_rle.dcm",
    "MR2_UNCI.dcm",
    "MR2_UNCR.dcm",
    "OBXXXX1A.dcm",
    "JPEG-LL.dcm",
    "MR-SIEMENS-DICOM-WithOverlays.dcm",
    "liver.dcm",
    "ExplVR_BigEnd.dcm",
    "SC_rgb_jpeg.dcm",  # declares explicit VR, is encoded implicit
    "ExplVR_LitEndNoMeta.dcm",
    "image_dfl.dcm",
]


@pytest.mark.parametrize("name", SHIPPED, ids=SHIPPED)
def test_fast_reader_agrees_with_pydicom(name: str) -> None:
    path = get_testdata_file(name)
    assert path is not None, f"{name} is not shipped with pydicom / pydicom-data"
    slow = read_with_pydicom(path, WANTED)
    fast = read_any_header(path, WANTED)
    assert fast.values == slow.values
    assert fast.transfer_syntax == slow.transfer_syntax
    assert fast.encapsulated == slow.encapsulated
    assert fast.has_per_frame_groups == slow.has_per_frame_groups


CHARSETS = [
    "chrFrenMulti.dcm",
    "chrH31.dcm",
    "chrRuss.dcm",
    "chrX1.dcm",
    "chrJapMulti.dcm",
    "chrArab.dcm",
    "chrKoreanMulti.dcm",
]


@pytest.mark.parametrize("name", CHARSETS, ids=CHARSETS)
def test_character_sets_agree_with_pydicom(name: str) -> None:
    """Names in other character sets (ISO 2022 escapes included) decode as pydicom does."""
    path = get_charset_files(name)[0]
    assert read_header(path, WANTED).values == read_with_pydicom(path, WANTED).values


@pytest.mark.parametrize("name", ["MR_small.dcm", "CT_small.dcm", "OBXXXX1A.dcm", "emri_small.dcm"])
def test_pixel_offset_reads_the_pixels(name: str) -> None:
    """The recorded offset and length are exactly pydicom's pixel data bytes."""
    path = get_testdata_file(name)
    header = read_header(path, WANTED)
    with open(path, "rb") as f:
        f.seek(header.pixel_offset)
        raw = f.read(header.pixel_length)
    ds = pydicom.dcmread(path)
    assert raw == ds.PixelData
    # and as an array (native little endian) it equals pydicom's decoding
    if ds.BitsAllocated == 16 and ds.SamplesPerPixel == 1:
        dtype = np.int16 if ds.PixelRepresentation else np.uint16
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        arr = np.frombuffer(raw, dtype=dtype).reshape(frames, ds.Rows, ds.Columns)
        np.testing.assert_array_equal(arr.squeeze(), ds.pixel_array)


def test_big_endian_goes_to_pydicom() -> None:
    with pytest.raises(NeedsPydicom):
        read_header(get_testdata_file("ExplVR_BigEnd.dcm"), WANTED)


def test_deflate_is_walked_as_it_inflates() -> None:
    """The header of a Deflate file equals pydicom's; its pixels have no place in the file."""
    path = get_testdata_file("image_dfl.dcm")
    walked = read_header(path, WANTED)
    assert walked.values == read_with_pydicom(path, WANTED).values
    assert walked.pixel_length == 512 * 512 and walked.pixel_offset == -1


def test_non_dicom_and_empty(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not DICOM\n" * 20)
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(NotDicomError, match="no 'DICM' marker"):
        read_any_header(str(text), WANTED)
    with pytest.raises(NotDicomError, match="empty"):
        read_any_header(str(empty), WANTED)


@pytest.mark.parametrize("cut", [140, 400, 1000, 1499])
def test_truncated_header(tmp_path: Path, cut: int) -> None:
    src = get_testdata_file("MR_small.dcm")
    path = tmp_path / "cut.dcm"
    path.write_bytes(Path(src).read_bytes()[:cut])
    with pytest.raises(EOFError, match="ends inside"):
        read_header(str(path), WANTED)


def test_truncated_pixels_still_give_the_header(tmp_path: Path) -> None:
    src = get_testdata_file("MR_small.dcm")
    path = tmp_path / "cut.dcm"
    data = Path(src).read_bytes()
    offset = read_header(src, WANTED).pixel_offset
    path.write_bytes(data[: offset + 100])
    header = read_header(str(path), WANTED)
    assert header.values[tag_of("Rows")] == 64
    assert header.pixel_offset == offset
    assert header.pixel_offset + header.pixel_length > offset + 100


def test_file_is_not_modified(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm"), path)
    before = path.read_bytes(), path.stat().st_mtime_ns
    read_any_header(str(path), WANTED)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_specific_character_set(tmp_path: Path) -> None:
    """Names in UTF-8 and Latin-1 are decoded with the file's character set."""
    for charset, name in [("ISO_IR 192", "Müller^Jürgen"), ("ISO_IR 100", "Gérard^Façade")]:
        ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
        ds.SpecificCharacterSet = charset
        ds.PatientName = name
        path = tmp_path / f"{charset}.dcm"
        ds.save_as(path, enforce_file_format=True)
        header = read_header(str(path), WANTED)
        assert header.values[tag_of("PatientName")] == name


def test_decode_value_rules() -> None:
    assert decode_value("IS", b"12 ", []) == 12
    assert decode_value("DS", b"", []) is None
    assert decode_value("CS", b"ORIGINAL\\PRIMARY\\M ", []) == ("ORIGINAL", "PRIMARY", "M")
    assert decode_value("UI", b"1.2.3\x00", []) == "1.2.3"
    assert decode_value("FD", np.array([1.5, 2.5]).tobytes(), []) == (1.5, 2.5)
    assert decode_value("LT", b"a\\b ", []) == "a\\b"
