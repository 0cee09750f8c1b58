"""Bad values and bad structure inside otherwise valid files: one file never stops a folder.

Each bad file is a valid MR file (``mr_image`` + ``write_dataset``) with a few
bytes patched: a value that is not what its VR allows, a VR code that does not
exist, a sequence nested 2,000 deep, a length of 1 GB in a file of 2 kB. They
sit next to a good series. The folder must open (and scan, and refresh), the
good series must read, and every bad file must be in ``problems()`` with a
reason. Files whose values are bad stay in the tree, those values read as
None; files that cannot be read are left out of the tree.
"""

from __future__ import annotations

import io
import shutil
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from corpus_base import deep_sequence, element, patched
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

import dbdicom as db
from dbdicom._files import values_of_elements
from dbdicom._index import _scan
from dbdicom._index._dicomdir import MEDIUM
from dbdicom._templates import mr_image, new_uid, write_dataset

GOOD = 3
SERIES_VALUES = new_uid()  # the files whose values are bad: kept in the tree
SERIES_BROKEN = new_uid()  # the files that cannot be read (or whose pixels cannot)
# file -> what problems() says of it
VALUE_PROBLEMS = {
    "is_1A.dcm": "(0020,0013) 'Instance Number': IS value '1A' is not a number",
    "is_ff.dcm": "(0020,0013) 'Instance Number': IS value b'\\xff\\xff' is not a number",
    "ds_5A.dcm": "(0018,0050) 'Slice Thickness': DS value '5A' is not a number",
    "vr_WS.dcm": "(0020,0013) 'Instance Number': cannot be decoded: Unknown Value Repr",
    "implicit_1A.dcm": "(0020,0013) 'Instance Number': IS value '1A' is not a number",
}
LEFT_OUT = {
    "deep.dcm": "nested too deep",
    "huge_length.dcm": "truncated",
}
PIXELS_CUT = {"huge_pixels.dcm": "pixel data truncated"}


def _dataset(series: str, description: str, number: int) -> Dataset:
    pixels = np.arange(8 * 8, dtype=np.uint16).reshape(8, 8) + number
    return mr_image(
        pixels,
        FrameOfReferenceUID=FRAME,
        ImagePositionPatient=[0.0, 0.0, 5.0 * number],
        PatientID="BAD-VALUES",
        PatientName="Values^Vera",
        StudyInstanceUID=STUDY,
        SeriesInstanceUID=series,
        SeriesDescription=description,
        InstanceNumber=number,
        SliceThickness=5.0,
        EchoTrainLength=1,
    )


STUDY = new_uid()
FRAME = new_uid()


def _valid_bytes(
    series: str, description: str, number: int, tmp: Path, implicit: bool = False
) -> bytes:
    ds = _dataset(series, description, number)
    syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    path = write_dataset(ds, tmp / "valid.tmp", transfer_syntax=syntax)
    data = path.read_bytes()
    path.unlink()
    return data


def _element(data: bytes, tag: int, vr: bytes) -> int:
    """Where the explicit VR element ``tag`` of VR ``vr`` starts in ``data``."""
    found = element(data, tag)
    assert found.vr == vr, f"{tag:08X} is {found.vr!r}, not {vr!r}"
    return found.start


def _pixel_element(data: bytes) -> int:
    return _element(data, 0x7FE00010, b"OW")


def _write_bad_files(folder: Path) -> None:
    """The good series and every bad file, in ``folder``."""
    tmp = folder / "tmp"
    tmp.mkdir(parents=True)
    good_series = new_uid()
    for i in range(GOOD):
        (folder / f"good_{i}.dcm").write_bytes(_valid_bytes(good_series, "good", i + 1, tmp))

    def values(number: int) -> bytes:
        return _valid_bytes(SERIES_VALUES, "bad values", number, tmp)

    data = values(1)  # InstanceNumber '1 '
    at = _element(data, 0x00200013, b"IS")
    (folder / "is_1A.dcm").write_bytes(patched(data, at + 8, b"1A"))
    data = values(2)
    at = _element(data, 0x00200013, b"IS")
    (folder / "is_ff.dcm").write_bytes(patched(data, at + 8, b"\xff\xff"))
    data = values(3)
    at = _element(data, 0x00200013, b"IS")
    (folder / "vr_WS.dcm").write_bytes(patched(data, at + 4, b"WS"))
    data = values(4)  # SliceThickness '5.0 '
    at = _element(data, 0x00180050, b"DS")
    (folder / "ds_5A.dcm").write_bytes(patched(data, at + 8, b"5A  "))
    data = values(5)  # EchoTrainLength, not in the index: read on demand
    at = _element(data, 0x00180091, b"IS")
    (folder / "on_demand_1A.dcm").write_bytes(patched(data, at + 8, b"1A"))
    data = _valid_bytes(SERIES_VALUES, "bad values", 6, tmp, implicit=True)
    at = data.find(struct.pack("<HHI", 0x0020, 0x0013, 2))  # "6 "
    assert at > 0
    (folder / "implicit_1A.dcm").write_bytes(patched(data, at + 8, b"1A"))

    def broken(number: int) -> bytes:
        return _valid_bytes(SERIES_BROKEN, "broken", number, tmp)

    data = broken(1)
    pixels = _pixel_element(data)
    (folder / "deep.dcm").write_bytes(data[:pixels] + deep_sequence(2000) + data[pixels:])
    data = broken(2)
    pixels = _pixel_element(data)
    huge = struct.pack("<HH2s2xI", 0x7FD1, 0x1010, b"OB", 1 << 30) + b"\x00" * 8
    assert len(data) + len(huge) < 2048  # a length of 1 GB in a file of 2 kB
    (folder / "huge_length.dcm").write_bytes(data[:pixels] + huge + data[pixels:])
    data = broken(3)
    (folder / "huge_pixels.dcm").write_bytes(
        patched(data, _pixel_element(data) + 8, struct.pack("<I", 1 << 30))
    )
    shutil.rmtree(tmp)


@pytest.fixture(scope="module")
def bad_values_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad_values") / "folder"
    _write_bad_files(folder)
    return folder


@pytest.fixture
def folder(bad_values_folder: Path, tmp_path: Path) -> Path:
    """A fresh copy of the folder (opening it writes its index)."""
    copy = tmp_path / "copy"
    shutil.copytree(bad_values_folder, copy)
    return copy


def _problems(database: db.Database) -> dict[str, str]:
    out: dict[str, str] = {}
    for path, problem in database.problems().itertuples(index=False):
        out[path] = out.get(path, "") + problem + " | "
    return out


def _check(database: db.Database) -> None:
    """The good series reads; every bad file is listed, in the tree or not as documented."""
    (good,) = database.series(SeriesDescription="good")
    array = good.to_xarray().values
    assert array.shape[0] == GOOD and array.shape[-2:] == (8, 8)
    problems = _problems(database)
    in_tree = {Path(f).name for f in database.files()}
    assert {f"good_{i}.dcm" for i in range(GOOD)} <= in_tree
    assert not any(name.startswith("good") for name in problems)
    for name, reason in {**VALUE_PROBLEMS, **PIXELS_CUT}.items():
        assert reason in problems.get(name, ""), (name, problems.get(name))
        assert name in in_tree
    for name, reason in LEFT_OUT.items():
        assert reason in problems.get(name, ""), (name, problems.get(name))
        assert name not in in_tree


def test_the_folder_opens_and_every_bad_file_is_listed(folder: Path) -> None:
    _check(db.database(folder))


def test_scan_and_refresh_do_not_stop_either(folder: Path) -> None:
    database = db.database(folder)
    database.scan()
    _check(database)
    extra = folder / "later"
    extra.mkdir()
    for name in (*VALUE_PROBLEMS, *LEFT_OUT):
        shutil.copyfile(folder / name, extra / name)
    assert database.refresh()
    _check(database)
    problems = _problems(database)
    for name in (*VALUE_PROBLEMS, *LEFT_OUT):
        assert f"later/{name}" in problems
    database.close()
    _check(db.database(folder))  # and from the saved index


def test_bad_values_read_as_none_never_a_guess(folder: Path) -> None:
    database = db.database(folder)
    by_name = {
        Path(i.files()[0]).name: i
        for i in database.series(SeriesDescription="bad values")[0].instances()
    }
    for name in ("is_1A.dcm", "is_ff.dcm", "vr_WS.dcm", "implicit_1A.dcm"):
        assert by_name[name].InstanceNumber is None
    assert by_name["ds_5A.dcm"].SliceThickness is None
    assert by_name["ds_5A.dcm"].InstanceNumber == 4  # the rest of the file is read
    # a tag not in the index, read on demand: None too, and no ValueError
    assert by_name["on_demand_1A.dcm"].get("EchoTrainLength") is None
    assert by_name["is_1A.dcm"].get("EchoTrainLength") == 1
    assert by_name["vr_WS.dcm"].get("EchoTrainLength") == 1
    series = database.series(SeriesDescription="bad values")[0]
    assert series.unique("EchoTrainLength") == [1]
    # the index itself, asked for tags it does not hold
    index = database.index
    rows = np.flatnonzero(index.frame["_path"].isin(list(VALUE_PROBLEMS)).to_numpy())
    assert index.values(rows, "EchoNumbers") == [1] * len(rows)
    assert index.values(rows, "ReferencedImageSequence") == [None] * len(rows)


def test_what_nobody_expects_is_caught_at_the_scan(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one broad catch, at the boundary of a scan: the type and message are the reason."""
    real = _scan.read_any_header

    def flaky(path: str, *args: object, **kwargs: object) -> object:
        if path.endswith("good_0.dcm"):
            raise RuntimeError("a failure nobody foresaw")
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_scan, "read_any_header", flaky)
    database = db.database(folder)
    problems = _problems(database)
    assert "cannot be read: RuntimeError: a failure nobody foresaw" in problems["good_0.dcm"]
    assert len(database.series(SeriesDescription="good")[0].instances()) == GOOD - 1


def test_the_series_of_bad_values_reads(folder: Path) -> None:
    database = db.database(folder)
    (series,) = database.series(SeriesDescription="bad values")
    assert len(series.instances()) == len(VALUE_PROBLEMS) + 1
    assert np.asarray(series.to_xarray().values).size > 0


def test_pydicom_test_files_folder_opens(tmp_path: Path) -> None:
    """Every file of pydicom's own test folder: the folder opens, the files
    pydicom cannot read are problems left out of the tree, and every other
    file is in the tree, listed, or the DICOMDIR of a medium (which agrees
    with its files: see test_dicomdir.py)."""
    source = Path(pydicom.__file__).parent / "data" / "test_files"
    root = tmp_path / "test_files"
    shutil.copytree(source, root)
    database = db.database(root)
    problems = _problems(database)
    in_tree = {Path(f).relative_to(root).as_posix() for f in database.files()}
    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".dbdicom" not in p.parts
    )
    assert files
    unreadable = [rel for rel in files if not _pydicom_reads(root / rel)]
    frame = database.index.frame
    media = set(frame["_path"][frame["_error"] == MEDIUM])
    assert media == {rel for rel in files if rel.rpartition("/")[2].startswith("DICOMDIR")}
    assert len(media) == 8 and not media & (in_tree | set(problems))
    for rel in files:
        assert rel in in_tree or rel in problems or rel in media, rel
    for rel in unreadable:
        assert rel in problems and rel not in in_tree, rel
    assert len(unreadable) >= 3  # README.txt, test_PN.json, zipMR.gz, ...
    assert "IS value '1A' is not a number" in problems["badVR.dcm"]
    assert "badVR.dcm" in in_tree


def _pydicom_reads(path: Path) -> bool:
    """Whether pydicom reads ``path`` as DICOM.

    As a Part-10 file, or, forced (as dbdicom's fallback forces it), as a
    data set with a SOP Instance UID: forced, pydicom reads a text file as
    one garbage element.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pydicom.dcmread(path)
            return True
        except (InvalidDicomError, ValueError, EOFError, OSError, TypeError, KeyError):
            pass
        try:
            ds = pydicom.dcmread(path, force=True)
        except (InvalidDicomError, ValueError, EOFError, OSError, TypeError, KeyError):
            return False
    return "SOPInstanceUID" in ds


def test_values_of_written_files_as_a_scan_reads_them() -> None:
    """A bad value copied into a file dbdicom writes: None and the reason, as a scan gives."""
    good = struct.pack("<HH2sH", 0x0020, 0x0013, b"IS", 2) + b"7 "
    bad = struct.pack("<HH2sH", 0x0020, 0x0013, b"IS", 2) + b"1A"
    problems: list[dict[int, str]] = [{}, {}, {}]
    values = values_of_elements(
        [{0x00200013: good}, {0x00200013: bad}, {0x00200013: bad}], {0x00200013: "IS"}, problems
    )
    assert values == [{0x00200013: 7}, {0x00200013: None}, {0x00200013: None}]
    assert problems[0] == {}
    assert problems[1] == problems[2] == {0x00200013: "IS value '1A' is not a number"}


def test_a_bad_value_in_the_functional_groups(tmp_path: Path) -> None:
    """Enhanced multi-frame: a position that is not a number is None for its frame, and listed."""
    data = Path(get_testdata_file("eCT_Supplemental.dcm")).read_bytes()
    at = data.find(b"99.5000\\")
    assert at > 0
    (tmp_path / "enhanced.dcm").write_bytes(patched(data, at, b"9A.5"))
    database = db.database(tmp_path)
    problems = _problems(database)
    assert "(0020,0032) 'Image Position (Patient)': DS value" in problems["enhanced.dcm"]
    assert "is not a number" in problems["enhanced.dcm"]
    (instance,) = database.instances()
    assert instance.NumberOfFrames == 2


def test_text_with_a_wrong_vr_where_a_number_is_due(tmp_path: Path) -> None:
    """A position stored as LO '1A\\0\\0' (a wrong VR code): None, listed, the folder opens."""
    data = _valid_bytes(new_uid(), "wrong VR", 1, tmp_path)
    at = _element(data, 0x00200032, b"DS")
    (length,) = struct.unpack("<H", data[at + 6 : at + 8])
    value = b"1A\\0\\0".ljust(length, b" ")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "lo.dcm").write_bytes(
        data[: at + 4] + b"LO" + data[at + 6 : at + 8] + value + data[at + 8 + length :]
    )
    (folder / "good.dcm").write_bytes(_valid_bytes(new_uid(), "good", 1, tmp_path))
    database = db.database(folder)
    assert (
        "(0020,0032) 'Image Position (Patient)': value ('1A', '0', '0') is not a number"
        in (_problems(database)["lo.dcm"])
    )
    assert len(database.instances()) == 2
    (instance,) = [i for i in database.instances() if i.files()[0].endswith("lo.dcm")]
    assert instance.ImagePositionPatient is None


@pytest.mark.parametrize(
    ("name", "stored", "broken"),
    [
        ("CT_small.dcm", b"(\x00S\x10DS\x02\x001 ", b"(\x00S\x10DS\x02\x00ab"),  # RescaleSlope
        ("rtdose_1frame.dcm", b"1.0000000e-6", b"abc         "),  # DoseGridScaling
        # what Python's float() reads but DS has not: NaN, inf, digits grouped with "_"
        ("CT_small.dcm", b"(\x00S\x10DS\x02\x001 ", b"(\x00S\x10DS\x04\x00nan "),
        ("CT_small.dcm", b"(\x00S\x10DS\x02\x001 ", b"(\x00S\x10DS\x04\x001_0 "),
        ("rtdose_1frame.dcm", b"1.0000000e-6", b"inf         "),
        # two values (the first was taken), 0 (every value the intercept)
        ("CT_small.dcm", b"(\x00S\x10DS\x02\x001 ", b"(\x00S\x10DS\x04\x002\\1 "),
        ("CT_small.dcm", b"(\x00S\x10DS\x02\x001 ", b"(\x00S\x10DS\x02\x000 "),
        # there, but empty: the intercept taken as 0 gave CT values 1024 off
        ("CT_small.dcm", b"(\x00R\x10DS\x06\x00-1024 ", b"(\x00R\x10DS\x00\x00"),
    ],
)
def test_a_scale_that_cannot_be_read_is_an_error_not_a_value_of_1(
    tmp_path: Path, name: str, stored: bytes, broken: bytes
) -> None:
    """Read as no value, a RescaleSlope 'ab' or DoseGridScaling 'abc' was taken as 1: stored
    values given as physical ones (a dose of 1,254,000). The file is listed, and its array
    refused with the file, the tag and the way out."""
    raw = Path(str(get_testdata_file(name))).read_bytes()
    assert raw.count(stored) == 1
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / name).write_bytes(raw.replace(stored, broken))
    database = db.database(folder)
    database.mute()
    assert len(database.problems()) == 1
    why = "(not a number|empty|where one is due|is 0)"
    with pytest.raises(db.InvalidFileError, match=rf"{name}: \(....,....\) .*{why}"):
        database.series()[0].to_xarray()
    database.close()


def test_an_image_without_pixel_representation_is_not_read_as_unsigned(tmp_path: Path) -> None:
    """A trial: CT values -896..1167 came back as 0..65535 from a file without
    PixelRepresentation (taken as unsigned); pydicom refuses the file. It is listed, and
    its series is refused with the tag and the way out."""
    raw = Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()
    element = b"(\x00\x03\x01US\x02\x00\x01\x00"  # (0028,0103) US 1: signed
    assert raw.count(element) == 1
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "no_pr.dcm").write_bytes(raw.replace(element, b""))
    database = db.database(folder)
    database.mute()
    problems = database.problems()
    assert "(0028,0103) 'Pixel Representation' is missing" in " ".join(problems["problem"])
    with pytest.raises(db.DicomError, match=r"no_pr.dcm.*Pixel Representation.*1 for signed"):
        database.series()[0].to_xarray()
    database.close()


_SIGNED = b"(\x00\x03\x01US\x02\x00\x01\x00"  # (0028,0103) US 1, as CT_small.dcm has it
_SLOPE = b"(\x00S\x10DS\x02\x001 "  # (0028,1053) DS '1'
_NAME = b"\x10\x00\x10\x00PN\x16\x00CompressedSamples^CT1 "  # (0010,0010)


def _ct_small_patched(folder: Path, *changes: tuple[bytes, bytes]) -> db.Database:
    """A database of CT_small.dcm as ``bad.dcm``, each ``(stored, patch)`` replaced."""
    raw = Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()
    for stored, patch in changes:
        assert raw.count(stored) == 1
        raw = raw.replace(stored, patch)
    folder.mkdir()
    (folder / "bad.dcm").write_bytes(raw)
    database = db.database(folder)
    database.mute()
    return database


def test_a_repeated_pixel_representation_refuses_the_image(tmp_path: Path) -> None:
    """A trial: (0028,0103) 1 then (0028,0103) 0 in one file: the last was read (as pydicom
    does), CT values -896..1167 came back as 0..65535, with a note only. Which of the two
    describes the pixels is a guess: the image is refused with the tag and the way out."""
    database = _ct_small_patched(tmp_path / "db", (_SIGNED, _SIGNED + _SIGNED[:-2] + b"\0\0"))
    found = " ".join(database.problems()["problem"])
    assert "(0028,0103) 'Pixel Representation' is in the file twice, with other values" in found
    series = database.series()[0]
    with pytest.raises(db.GridError, match=r"bad.dcm: \(0028,0103\) .*instance\.PixelRepr"):
        series.to_xarray()
    series.instances()[0].PixelRepresentation = 1  # the way out: the file written in order
    values = series.to_xarray().values
    assert values.min() == -1024 - 896 + 1024 and values.dtype.kind == "i"
    database.restore()
    database.close()


def test_a_repeated_slope_after_another_repeated_tag_is_still_refused(tmp_path: Path) -> None:
    """A trial: only the first tag out of place was noted, so a RescaleSlope of 1 then 2
    after a repeated PatientName was read as 2 (CT values doubled), where alone it is
    refused as a guess."""
    database = _ct_small_patched(
        tmp_path / "db", (_NAME, _NAME + _NAME), (_SLOPE, _SLOPE + _SLOPE[:-2] + b"2 ")
    )
    found = " ".join(database.problems()["problem"])
    assert "(0028,1053) 'Rescale Slope': out of place" in found
    with pytest.raises(db.InvalidFileError, match=r"bad.dcm: \(0028,1053\) 'Rescale Slope'"):
        database.series()[0].to_xarray()
    database.close()


def test_a_binary_value_of_a_length_no_values_fill_is_read_as_none(tmp_path: Path) -> None:
    """A trial: a (0028,0010) Rows US of 3 bytes was read as its first 2 (128), where
    pydicom refuses it; the byte left over says the value is not what was meant. It is
    read as no value and listed, and the image refused, as for a Rows of "1A"."""
    rows = b"(\x00\x10\x00US\x02\x00\x80\x00"  # (0028,0010) US 128
    database = _ct_small_patched(tmp_path / "db", (rows, rows[:6] + b"\x03\x00\x80\x00\x00"))
    found = " ".join(database.problems()["problem"])
    assert "(0028,0010) 'Rows': US value of 3 bytes, not a whole number of 2-byte values" in found
    with pytest.raises(db.GridError, match=r"bad.dcm: \(0028,0010\) 'Rows' is missing"):
        database.series()[0].to_xarray()
    database.close()


def test_a_transfer_syntax_of_several_values_is_a_dicom_error(tmp_path: Path) -> None:
    """A trial: one byte of (0002,0010)'s length changed, so its value swallows the next
    elements and holds backslashes: reading raised pydicom's TypeError ('A UID must be
    created from a string'), no file named. Now an InvalidFileError naming the file."""
    raw = bytearray(Path(str(get_testdata_file("MR_small_RLE.dcm"))).read_bytes())
    assert raw[252] == 0x14  # the length of the Transfer Syntax UID
    raw[252] = 158
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "bad.dcm").write_bytes(bytes(raw))
    database = db.database(folder)
    database.mute()
    assert len(database.problems())
    with pytest.raises(db.InvalidFileError, match=r"bad.dcm: its pixel data cannot be read"):
        _ = database.series()[0].to_xarray().values
    database.close()


def test_an_rle_frame_bigger_than_its_data_can_hold_is_not_read(tmp_path: Path) -> None:
    """A trial: an RLE file claiming 60000 x 60000 made numpy allocate 6.7 GiB (a
    MemoryError under a limit). RLE decodes at most 64 bytes per byte: listed, not read."""
    ds = pydicom.dcmread(get_testdata_file("MR_small_RLE.dcm"))
    ds.Rows = ds.Columns = 60000
    folder = tmp_path / "db"
    folder.mkdir()
    ds.save_as(folder / "bomb.dcm", enforce_file_format=False)
    database = db.database(folder)
    database.mute()
    assert "RLE data of the" in " ".join(database.problems()["problem"])
    with pytest.raises(db.DicomError, match="bomb.dcm"):
        database.series()[0].to_xarray()
    database.close()


def test_a_bad_value_in_one_frames_group_loses_that_value_not_the_file(tmp_path: Path) -> None:
    """A trial: a UL of 2 bytes in one per-frame item of an Enhanced CT left the whole file
    out of the tree, with pydicom's advice about its own settings. The value is listed and
    read as none; the file and its frames are read."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    content = ds.PerFrameFunctionalGroupsSequence[0].FrameContentSequence[0]
    content[0x00209057] = RawDataElement(Tag(0x00209057), "UL", 2, b"\x02\x00", 0, False, True)
    folder = tmp_path / "db"
    folder.mkdir()
    ds.save_as(folder / "bad.dcm", enforce_file_format=False)
    database = db.database(folder)
    database.mute()
    assert "(0020,9057) 'In-Stack Position Number': cannot be decoded" in " ".join(
        database.problems()["problem"]
    )
    values = database.series()[0].to_xarray().values
    expected = pydicom.dcmread(folder / "bad.dcm").pixel_array
    assert values.size == expected.size
    database.close()


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("ImagePositionPatient", [1.0, 2.0]), ("ImageOrientationPatient", [1, 0, 0, 0, 1])],
)
def test_a_position_of_the_wrong_number_of_values_is_listed(
    tmp_path: Path, keyword: str, value: list[float]
) -> None:
    """A trial: an ImagePositionPatient of 2 values was not listed, and the array said the
    images had none. Listed now with the count; read as no value (no affine)."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    setattr(ds, keyword, value)
    folder = tmp_path / "db"
    folder.mkdir()
    ds.save_as(folder / "a.dcm", enforce_file_format=False)
    database = db.database(folder)
    database.mute()
    assert f"it has {len(value)} values, where" in " ".join(database.problems()["problem"])
    with pytest.raises(db.GeometryError):
        _ = database.series()[0].to_xarray().dicom.affine
    database.close()


@pytest.mark.parametrize(("value", "said"), [("0", "it is 0"), (["1", "2"], "2 values")])
def test_a_rescale_in_the_functional_groups_that_cannot_be_used_is_an_error(
    tmp_path: Path, value: Any, said: str
) -> None:
    """A review: a RescaleSlope of 0 in an Enhanced CT's Pixel Value Transformation gave a
    constant image, and one of two values a numpy broadcasting error."""
    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0].RescaleSlope = value
    folder = tmp_path / "db"
    folder.mkdir()
    ds.save_as(folder / "ect.dcm", enforce_file_format=False)
    database = db.database(folder)
    database.mute()
    assert said in " ".join(database.problems()["problem"])
    with pytest.raises(db.InvalidFileError, match=rf"ect.dcm.*{said}"):
        _ = database.series()[0].to_xarray().values
    database.close()


def test_digits_grouped_by_an_underscore_are_no_number_through_pydicom(tmp_path: Path) -> None:
    """A review: pydicom reads '1_0' as 10, so a file read through pydicom (no file meta)
    gave values 10 off. Refused as from the fast reader."""
    raw = Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()
    stored = b"(\x00R\x10DS\x06\x00-1024 "
    folder = tmp_path / "db"
    folder.mkdir()
    ds = pydicom.dcmread(io.BytesIO(raw.replace(stored, b"(\x00R\x10DS\x04\x001_0 ")))
    del ds.file_meta  # written without meta: read by pydicom
    ds.save_as(folder / "nometa.dcm", enforce_file_format=False)
    database = db.database(folder)
    database.mute()
    with pytest.raises(db.InvalidFileError, match="1_0"):
        _ = database.series()[0].to_xarray().values
    database.close()


def test_a_missing_bits_stored_or_photometric_is_listed_or_refused(tmp_path: Path) -> None:
    """A trial: BitsStored or PhotometricInterpretation missing were read by a rule without
    a word (pydicom refuses both). Grey images are read and the rule listed; colour ones,
    whose values could be RGB or YCbCr, are refused with the way out."""
    folder = tmp_path / "db"
    folder.mkdir()
    grey = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    del grey.BitsStored, grey.PhotometricInterpretation
    grey.save_as(folder / "grey.dcm", enforce_file_format=False)
    colour = pydicom.dcmread(get_testdata_file("SC_rgb.dcm"))
    del colour.PhotometricInterpretation
    colour.save_as(folder / "colour.dcm", enforce_file_format=False)
    database = db.database(folder)
    database.mute()
    problems = database.problems().set_index("path")["problem"]
    assert "'Bits Stored' is missing: read as 16 bits" in problems["grey.dcm"]
    assert "read as MONOCHROME2" in problems["grey.dcm"]
    assert "'Photometric Interpretation' is missing" in problems["colour.dcm"]
    (ct,) = database.series(Modality="CT")
    expected = pydicom.dcmread(get_testdata_file("CT_small.dcm")).pixel_array - 1024
    np.testing.assert_array_equal(ct.to_xarray().values.squeeze(), expected)
    with pytest.raises(db.DicomError, match="PhotometricInterpretation = 'RGB'"):
        database.series(Modality="OT")[0].to_xarray()
    database.close()
