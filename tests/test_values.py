"""Values assigned to DICOM attributes: checked before any file is touched.

Every accepted value is written to a real file with pydicom and read back;
every refused value raises an :class:`InvalidValueError` whose message names
the keyword, the tag, the VR and the value.
"""

from __future__ import annotations

import datetime as dt
import math
import string
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid
from pydicom.valuerep import DT

from dbdicom import DicomError, UnknownTagError
from dbdicom._checks import _vm_allows, resolve_tag, to_dicom
from dbdicom._errors import InvalidValueError

FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


def write_read(folder: Path, tag: Any, value: Any, vr: str | None = None) -> Any:
    """Convert ``value``, write it to a Part-10 file and return the value read back."""
    number, _, vr = resolve_tag(tag, vr)
    ds = Dataset()
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.add_new(number, vr, to_dicom(tag, value, vr))
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = folder / "value.dcm"
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return pydicom.dcmread(path)[number].value


def assert_refused(tag: Any, value: Any, keyword: str, label: str, vr: str, bad: Any = None) -> str:
    """``to_dicom`` refuses ``value``; the message names all a user needs."""
    with pytest.raises(InvalidValueError) as info:
        to_dicom(tag, value)
    message = str(info.value)
    for part in (keyword, label, vr, repr(value if bad is None else bad)):
        assert part in message, (part, message)
    return message


# -- resolve_tag ---------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["EchoTime", 0x00180081, (0x0018, 0x0081)])
def test_resolve_tag_forms(tag: Any) -> None:
    assert resolve_tag(tag) == (0x00180081, "EchoTime", "DS")


def test_resolve_tag_ambiguous_vrs() -> None:
    assert resolve_tag("SmallestImagePixelValue")[2] == "US"
    assert resolve_tag("SmallestImagePixelValue", vr="SS")[2] == "SS"
    assert resolve_tag((0x6000, 0x3000))[1:] == ("OverlayData", "OW")  # "OB or OW"
    with pytest.raises(InvalidValueError, match="cannot have VR 'FL'"):
        resolve_tag("SmallestImagePixelValue", vr="FL")


def test_unknown_keyword_suggests() -> None:
    with pytest.raises(UnknownTagError, match="Did you mean 'EchoTime'") as info:
        to_dicom("EchoTme", 5)
    assert isinstance(info.value, KeyError) and isinstance(info.value, DicomError)


@pytest.mark.parametrize("tag", [(0x0009, 0x1001), 0x00291010, (0x0018, 0x1234), "x" * 3, 1.5])
def test_unvalidated_tags_are_refused(tag: Any) -> None:
    with pytest.raises(UnknownTagError) as info:
        to_dicom(tag, "x")
    if isinstance(tag, tuple | int):
        assert "DataElement" in str(info.value)


def test_private_tag_as_data_element(tmp_path: Path) -> None:
    with pytest.raises(UnknownTagError, match="private tag"):
        to_dicom((0x0009, 0x1001), "abc")
    element = DataElement(0x00091001, "LO", "abc")
    assert to_dicom((0x0009, 0x1001), element) is element
    assert to_dicom(0x00091001, element) is element
    with pytest.raises(InvalidValueError, match="not for tag"):
        to_dicom((0x0009, 0x1002), element)


@pytest.mark.parametrize("tag", ["PixelData", (0x7FE0, 0x0010), "TransferSyntaxUID", 0x00020003])
def test_structural_tags_are_refused(tag: Any) -> None:
    with pytest.raises(InvalidValueError, match="structure of the file"):
        to_dicom(tag, b"\0\0")
    with pytest.raises(InvalidValueError, match="structure of the file"):
        to_dicom(tag, DataElement(tag, "OB", b"\0\0"))


def test_person_name_allows_escape_sequences() -> None:
    name = "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"  # ISO 2022 escapes (ESC) are allowed
    assert to_dicom("PatientName", name) == name


def test_rows_and_columns_may_be_set(tmp_path: Path) -> None:
    assert write_read(tmp_path, "Rows", 256) == 256
    assert write_read(tmp_path, (0x0028, 0x0011), np.int64(128)) == 128


# -- accepted values round trip through a file ---------------------------------------------

UID = "1.2.826.0.1.3680043.8.498.12345"
ACCEPTED: list[tuple[Any, Any, Any]] = [
    ("EchoTime", 2.5, 2.5),
    ("EchoTime", np.float32(0.5), 0.5),
    ("EchoTime", "1.5e3", 1500.0),
    ("EchoTime", 1 / 3, float("0.33333333333333")),
    ("Rows", 128.0, 128),
    ("Rows", [512], 512),
    ("InstanceNumber", "12", 12),
    ("InstanceNumber", -(2**31), -(2**31)),
    ("StudyDate", dt.date(2024, 2, 29), "20240229"),
    ("StudyDate", dt.datetime(2024, 5, 1, 13, 0), "20240501"),
    ("StudyDate", "2024-05-01", "20240501"),
    ("StudyDate", np.datetime64("2024-05-01"), "20240501"),
    ("AcquisitionTime", dt.time(12, 30, 5), "123005"),
    ("AcquisitionTime", dt.time(12, 30, 5, 250000), "123005.250000"),
    ("AcquisitionTime", "12:30:05.5", "123005.5"),
    ("AcquisitionTime", "0930", "0930"),
    ("AcquisitionDateTime", "2024-05-01T12:30:00+01:00", "20240501123000+0100"),
    ("AcquisitionDateTime", "2024", "2024"),
    ("AcquisitionDateTime", "20240501123000.5-0500", "20240501123000.5-0500"),
    ("PatientName", "Doe^Jane^M^Dr^PhD", "Doe^Jane^M^Dr^PhD"),
    ("PatientName", pydicom.valuerep.PersonName("Doe^John"), "Doe^John"),
    ("PatientName", "Yamada^Tarou=Yamada^T=Yamada^T", None),
    ("Modality", "MR", "MR"),
    ("ImageType", ["ORIGINAL", "PRIMARY", "M", "ND"], ["ORIGINAL", "PRIMARY", "M", "ND"]),
    ("ImageType", ("DERIVED", "SECONDARY"), ["DERIVED", "SECONDARY"]),
    ("ImagePositionPatient", np.array([-120.5, 3, 1e-3]), [-120.5, 3.0, 0.001]),
    ("PixelSpacing", (0.5, 0.5), [0.5, 0.5]),
    ("VerticesOfThePolygonalShutter", [1, 2, 3, 4], [1, 2, 3, 4]),
    ("SeriesInstanceUID", UID, UID),
    ((0x0010, 0x0010), "Doe^John", "Doe^John"),
    (0x00200011, 7, 7),
    ("PatientAge", "045Y", "045Y"),
    ("StudyDescription", "Brain MRI (T1, contrast)", "Brain MRI (T1, contrast)"),
    ("ImageComments", "line 1\r\nline 2\\3", "line 1\r\nline 2\\3"),
    ("SmallestImagePixelValue", 0, 0),
    ("SimpleFrameList", np.arange(3, dtype=np.uint32), [0, 1, 2]),
    ("DiffusionBValue", 1000, 1000.0),
    ("RecommendedDisplayFrameRateInFloat", 0.25, 0.25),
    ("FrameIncrementPointer", "FrameTime", 0x00181063),
    ("FrameIncrementPointer", (0x0018, 0x1063), 0x00181063),
    ("FrameIncrementPointer", ["FrameTime", 0x00181065], [0x00181063, 0x00181065]),
    ("ICCProfile", bytearray(b"\x01\x02\x03"), b"\x01\x02\x03\x00"),
    ("RetrieveURL", "https://example.com/studies/1", "https://example.com/studies/1"),
]


@pytest.mark.parametrize(("tag", "value", "expected"), ACCEPTED)
def test_accepted_values_round_trip(tmp_path: Path, tag: Any, value: Any, expected: Any) -> None:
    back = write_read(tmp_path, tag, value)
    if expected is None:  # compare with the value itself
        expected = str(value)
    if isinstance(expected, list):
        assert list(back) == expected
    elif isinstance(expected, str):
        assert str(back) == expected
    else:
        assert back == expected


@pytest.mark.parametrize("tag", ["EchoTime", "PatientName", "ImageType", "StudyDate", "Rows"])
@pytest.mark.parametrize("empty", [None, [], ""])
def test_empty_values(tmp_path: Path, tag: str, empty: Any) -> None:
    assert to_dicom(tag, empty) is None
    assert write_read(tmp_path, tag, empty) in (None, "", [])


def test_sequences(tmp_path: Path) -> None:
    item = Dataset()
    item.ReferencedSOPClassUID = MRImageStorage
    item.ReferencedSOPInstanceUID = UID
    assert isinstance(to_dicom("ReferencedImageSequence", [item]), Sequence)
    assert len(to_dicom("ReferencedImageSequence", item)) == 1
    assert len(to_dicom("ReferencedImageSequence", None)) == 0
    back = write_read(tmp_path, "ReferencedImageSequence", Sequence([item, item]))
    assert [x.ReferencedSOPInstanceUID for x in back] == [UID, UID]
    message = assert_refused("ReferencedImageSequence", [item, {"a": 1}], "ReferencedImageSequence",
                             "(0008,1140)", "SQ (sequence of items)", {"a": 1})  # fmt: skip
    assert "item 1 of 2" in message


def test_binary_values(tmp_path: Path) -> None:
    floats = np.array([1.5, -2.0, 3.25], dtype=np.float32)
    back = write_read(tmp_path, "FloatPixelData", floats)
    assert np.array_equal(np.frombuffer(back, dtype="<f4"), floats)
    words = np.array([1, 65535, 7], dtype=">u2")  # big endian in memory, little on file
    back = write_read(tmp_path, "RedPaletteColorLookupTableData", words)
    assert np.array_equal(np.frombuffer(back, dtype="<u2"), words)
    message = assert_refused("FloatPixelData", np.zeros(2), "FloatPixelData", "(7FE0,0008)",
                             "OF (other float)", np.zeros(2))  # fmt: skip
    assert "float32" in message
    assert_refused("FloatPixelData", b"\0\0\0", "FloatPixelData", "(7FE0,0008)", "OF", b"\0\0\0")
    halves = np.zeros(2, np.float16)
    assert_refused(
        "RedPaletteColorLookupTableData", halves, "RedPalette", "(0028,1201)", "OW", halves
    )
    assert_refused("ICCProfile", "text", "ICCProfile", "(0028,2000)", "OB (other byte)")


# -- refused values -------------------------------------------------------------------------

REFUSED: list[tuple[str, str, str, Any, Any, str]] = [
    # tag, (gggg,eeee), VR (name), value, offending item (None: the value), a word of the hint
    ("EchoTime", "(0018,0081)", "DS (decimal string)", float("nan"), None, "finite"),
    ("EchoTime", "(0018,0081)", "DS (decimal string)", math.inf, None, "finite"),
    ("EchoTime", "(0018,0081)", "DS (decimal string)", "fast", None, "16 characters"),
    ("EchoTime", "(0018,0081)", "DS (decimal string)", "1.23456789012345678", None, "16"),
    ("EchoTime", "(0018,0081)", "DS (decimal string)", [1.0, 2.0], None, "VM"),
    ("Rows", "(0028,0010)", "US (unsigned short)", 70000, None, "0 to 65535"),
    ("Rows", "(0028,0010)", "US (unsigned short)", -1, None, "0 to 65535"),
    ("Rows", "(0028,0010)", "US (unsigned short)", 1.5, None, "integer"),
    ("Rows", "(0028,0010)", "US (unsigned short)", True, None, "Booleans"),
    ("Rows", "(0028,0010)", "US (unsigned short)", "256", None, "integer"),
    ("Rows", "(0028,0010)", "US (unsigned short)", [256, 256], None, "VM"),
    ("InstanceNumber", "(0020,0013)", "IS (integer string)", 2**31, None, "2147483647"),
    ("InstanceNumber", "(0020,0013)", "IS (integer string)", "1.5", None, "integer"),
    ("InstanceNumber", "(0020,0013)", "IS (integer string)", "99999999999", None, "integer"),
    ("StudyDate", "(0008,0020)", "DA (date)", "20230230", None, "calendar"),
    ("StudyDate", "(0008,0020)", "DA (date)", "2023-13-01", None, "calendar"),
    ("StudyDate", "(0008,0020)", "DA (date)", "01/05/2024", None, "YYYYMMDD"),
    ("StudyDate", "(0008,0020)", "DA (date)", 20240501, None, "Numbers"),
    ("AcquisitionTime", "(0008,0032)", "TM (time)", 123000, None, "Numbers"),
    ("AcquisitionTime", "(0008,0032)", "TM (time)", 12.5, None, "Numbers"),
    ("AcquisitionTime", "(0008,0032)", "TM (time)", "2500", None, "HHMMSS"),
    ("AcquisitionTime", "(0008,0032)", "TM (time)", "12:3000", None, "HH:MM:SS"),
    ("AcquisitionTime", "(0008,0032)", "TM (time)", "123000.1234567", None, "HHMMSS"),
    ("AcquisitionTime", "(0008,0032)", "TM (time)", dt.date(2024, 1, 1), None, "datetime"),
    ("AcquisitionDateTime", "(0008,002A)", "DT (date time)", "20240230", None, "YYYY"),
    ("AcquisitionDateTime", "(0008,002A)", "DT (date time)", "2024050112300", None, "YYYY"),
    ("AcquisitionDateTime", "(0008,002A)", "DT (date time)", "20240501+1500", None, "ZZXX"),
    ("AcquisitionDateTime", "(0008,002A)", "DT (date time)", 1714560000.0, None, "Numbers"),
    ("PatientName", "(0010,0010)", "PN (person name)", "A^B^C^D^E^F", None, "5 components"),
    ("PatientName", "(0010,0010)", "PN (person name)", "x" * 65, None, "64"),
    ("PatientName", "(0010,0010)", "PN (person name)", "a=b=c=d", None, "3 groups"),
    ("PatientName", "(0010,0010)", "PN (person name)", "Doe\nJohn", None, "Control"),
    ("PatientName", "(0010,0010)", "PN (person name)", "Doe\\John", None, "backslash"),
    ("PatientName", "(0010,0010)", "PN (person name)", 42, None, "Family^Given"),
    ("Modality", "(0008,0060)", "CS (code string)", "mr", None, "'MR'"),
    ("Modality", "(0008,0060)", "CS (code string)", "MAGNETIC_RESONANCE", None, "16"),
    ("Modality", "(0008,0060)", "CS (code string)", "M-R", None, "upper case"),
    ("ImageType", "(0008,0008)", "CS (code string)", ["ORIGINAL", "primary"], "primary", "item 1"),
    ("ImageType", "(0008,0008)", "CS (code string)", "ORIGINAL\\PRIMARY", None, "list"),
    ("ImageType", "(0008,0008)", "CS (code string)", "ORIGINAL", None, "VM"),
    ("ImagePositionPatient", "(0020,0032)", "DS (decimal string)", [1.0, 2.0], None, "VM"),
    ("ImagePositionPatient", "(0020,0032)", "DS (decimal string)", 1.0, None, "VM"),
    ("ImagePositionPatient", "(0020,0032)", "DS (decimal string)", [1, 2, "z"], "z", "item 2"),
    ("ImageOrientationPatient", "(0020,0037)", "DS (decimal string)", np.eye(3)[:2], None, "1-D"),
    ("PixelSpacing", "(0028,0030)", "DS (decimal string)", [0.5, 0.5, 0.5], None, "VM"),
    (
        "VerticesOfThePolygonalShutter",
        "(0018,1620)",
        "IS (integer string)",
        [1, 2, 3],
        None,
        "2-2n",
    ),
    ("SeriesInstanceUID", "(0020,000E)", "UI (unique identifier)", "1.2.03", None, "leading"),
    ("SeriesInstanceUID", "(0020,000E)", "UI (unique identifier)", "1.2.abc", None, "digits"),
    ("SeriesInstanceUID", "(0020,000E)", "UI (unique identifier)", "1." * 33, None, "64"),
    ("PatientAge", "(0010,1010)", "AS (age string)", "45Y", None, "045Y"),
    ("StudyDescription", "(0008,1030)", "LO (long string)", "x" * 65, None, "64"),
    ("StationAETitle", "(0008,0055)", "AE (application entity)", "A" * 17, None, "16"),
    ("DiffusionBValue", "(0018,9087)", "FD (64-bit float)", "1000", None, "real number"),
    ("RecommendedDisplayFrameRateInFloat", "(0008,9459)", "FL (32-bit float)", 1e39, None, "32"),
    ("FrameIncrementPointer", "(0028,0009)", "AT (attribute tag)", "FrameTme", None, "keyword"),
    ("SimpleFrameList", "(0008,1161)", "UL (unsigned long)", [1, -1], -1, "0 to 4294967295"),
]


@pytest.mark.parametrize(("keyword", "label", "vr", "value", "bad", "hint"), REFUSED)
def test_refused_values(keyword: str, label: str, vr: str, value: Any, bad: Any, hint: str) -> None:
    message = assert_refused(keyword, value, keyword, label, vr, bad)
    assert hint in message, message


def test_invalid_value_error_is_a_value_error() -> None:
    assert issubclass(InvalidValueError, ValueError) and issubclass(InvalidValueError, DicomError)


def test_refused_with_tuple_and_int_tags() -> None:
    assert_refused((0x0028, 0x0010), -5, "Rows", "(0028,0010)", "US (unsigned short)")
    assert_refused(0x00080020, "2024-02-30", "StudyDate", "(0008,0020)", "DA (date)")


def test_vm_rules() -> None:
    assert _vm_allows(1, "1") and not _vm_allows(2, "1")
    assert _vm_allows(3, "3") and not _vm_allows(2, "3") and not _vm_allows(4, "3")
    assert _vm_allows(1, "1-n") and _vm_allows(50, "1-n")
    assert _vm_allows(2, "2-n") and not _vm_allows(1, "2-n")
    assert _vm_allows(4, "2-2n") and not _vm_allows(3, "2-2n") and not _vm_allows(0 + 1, "2-2n")
    assert _vm_allows(6, "3-3n") and not _vm_allows(4, "3-3n")
    assert _vm_allows(2, "1-3") and not _vm_allows(4, "1-3")
    assert _vm_allows(0, "3")  # an empty value is always allowed


# -- property tests --------------------------------------------------------------------------


def _refused_everywhere(keyword: str, label: str, vr: str, value: Any) -> None:
    assert_refused(keyword, value, keyword, label, vr)


@FIXTURE_OK
@given(st.integers(0, 2**16 - 1))
def test_us_round_trip(tmp_path: Path, value: int) -> None:
    assert write_read(tmp_path, "Rows", value) == value


@given(st.integers(max_value=-1) | st.integers(min_value=2**16))
def test_us_out_of_range_refused(value: int) -> None:
    _refused_everywhere("Columns", "(0028,0011)", "US (unsigned short)", value)


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()))
def test_fractional_integers_refused(value: float) -> None:
    _refused_everywhere("Rows", "(0028,0010)", "US (unsigned short)", value)


@FIXTURE_OK
@given(st.integers(-(2**15), 2**15 - 1))
def test_ss_round_trip(tmp_path: Path, value: int) -> None:
    assert write_read(tmp_path, "SmallestImagePixelValue", value, vr="SS") == value


@FIXTURE_OK
@given(st.integers(-(2**31), 2**31 - 1), st.booleans())
def test_is_round_trip(tmp_path: Path, value: int, as_text: bool) -> None:
    assert write_read(tmp_path, "InstanceNumber", str(value) if as_text else value) == value


@given(st.integers(max_value=-(2**31) - 1) | st.integers(min_value=2**31))
def test_is_out_of_range_refused(value: int) -> None:
    _refused_everywhere("InstanceNumber", "(0020,0013)", "IS (integer string)", value)


def test_ds_refuses_what_rounds_to_infinity() -> None:
    message = assert_refused("EchoTime", 1.7976931348e308, "EchoTime", "(0018,0081)", "DS")
    assert "overflows" in message


@FIXTURE_OK
@given(st.floats(allow_nan=False, allow_infinity=False, max_value=1.79e308, min_value=-1.79e308))
def test_ds_round_trip(tmp_path: Path, value: float) -> None:
    converted = to_dicom("EchoTime", value)
    assert len(str(converted)) <= 16
    back = write_read(tmp_path, "EchoTime", value)
    assert math.isclose(float(back), value, rel_tol=1e-8, abs_tol=0.0)


@FIXTURE_OK
@given(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3))
def test_ds_multi_valued_round_trip(tmp_path: Path, value: list[float]) -> None:
    back = write_read(tmp_path, "ImagePositionPatient", np.array(value))
    assert all(
        math.isclose(b, v, rel_tol=1e-10, abs_tol=1e-9) for b, v in zip(back, value, strict=True)
    )


@FIXTURE_OK
@given(st.floats(width=32))
def test_fl_round_trip(tmp_path: Path, value: float) -> None:
    back = write_read(tmp_path, "RecommendedDisplayFrameRateInFloat", value)
    assert back == value or (math.isnan(back) and math.isnan(value))


@FIXTURE_OK
@given(st.dates(), st.booleans())
def test_da_round_trip(tmp_path: Path, value: dt.date, as_iso: bool) -> None:
    back = write_read(tmp_path, "StudyDate", value.isoformat() if as_iso else value)
    assert dt.date(int(back[:4]), int(back[4:6]), int(back[6:])) == value


@given(st.dates())
def test_da_impossible_days_refused(day: dt.date) -> None:
    text = f"{day.year:04d}{day.month:02d}{32 + day.day % 60:02d}"
    _refused_everywhere("StudyDate", "(0008,0020)", "DA (date)", text)


@FIXTURE_OK
@given(st.times())
def test_tm_round_trip(tmp_path: Path, value: dt.time) -> None:
    back = write_read(tmp_path, "AcquisitionTime", value)
    assert dt.datetime.strptime(back, "%H%M%S.%f" if "." in back else "%H%M%S").time() == value


@given(st.integers() | st.floats())
def test_tm_numbers_refused(value: float) -> None:
    _refused_everywhere("AcquisitionTime", "(0008,0032)", "TM (time)", value)


OFFSETS = st.integers(-12 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


@FIXTURE_OK
@given(st.datetimes(timezones=st.none() | OFFSETS))
def test_dt_round_trip(tmp_path: Path, value: dt.datetime) -> None:
    back = write_read(tmp_path, "AcquisitionDateTime", value)
    assert DT(back) == value


NAME_PART = st.text(string.ascii_letters + " -'", max_size=10)


@FIXTURE_OK
@given(st.lists(NAME_PART, min_size=1, max_size=5))
def test_pn_round_trip(tmp_path: Path, parts: list[str]) -> None:
    name = "^".join(parts)
    assert str(write_read(tmp_path, "PatientName", name) or "").rstrip() == name.rstrip()


@given(st.lists(NAME_PART, min_size=6, max_size=8))
def test_pn_too_many_components_refused(parts: list[str]) -> None:
    _refused_everywhere("PatientName", "(0010,0010)", "PN (person name)", "^".join(parts))


CODE = st.text(string.ascii_uppercase + string.digits + "_ ", min_size=1, max_size=16)


@FIXTURE_OK
@given(st.lists(CODE.map(str.strip).filter(bool), min_size=2, max_size=4))
def test_cs_round_trip(tmp_path: Path, value: list[str]) -> None:
    assert list(write_read(tmp_path, "ImageType", value)) == value


@given(CODE.filter(lambda s: s.strip()).map(str.lower).filter(lambda s: s != s.upper()))
def test_cs_lower_case_refused(value: str) -> None:
    message = assert_refused("Modality", value, "Modality", "(0008,0060)", "CS (code string)")
    assert "upper case" in message


@FIXTURE_OK
@given(st.just(None).map(lambda _: generate_uid()))
def test_ui_round_trip(tmp_path: Path, value: str) -> None:
    assert write_read(tmp_path, "SeriesInstanceUID", value) == value


@given(st.binary(max_size=64))
def test_ob_accepts_any_bytes(value: bytes) -> None:
    assert to_dicom("ICCProfile", value) == value
