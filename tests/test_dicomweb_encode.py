"""Headers made of WADO-RS metadata: written directly where pydicom would write the same bytes.

The first open of an archive writes a header file per instance from the
server's JSON. The values each instance has its own of (UIDs, numbers) were
each made into a pydicom element and written by pydicom (~25 us each); they
are now written directly, and must be byte for byte what pydicom writes:
checked on random values and on the metadata a real Orthanc gives for
pydicom's own test files (every VR, character sets, sequences). The JSON of
that metadata is parsed with Python's garbage collector held off (a full
collection during the parse made it six times slower): checked on the real
request, and that the collector comes back on whatever happens.
"""

from __future__ import annotations

import gc
import io
import json
import math
import random
import types
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.data import get_testdata_file
from servers import Orthanc, stored_alone, stored_files

import dbdicom as db
from dbdicom._web import _encode, _server
from dbdicom._web._encode import Encoder, _plain_element, _written
from dbdicom._web._server import collector_paused

#: pydicom's files of many kinds: numbers of every VR, multi-valued DS, text in
#: other character sets, sequences, an RT dose's GridFrameOffsetVector
FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "rtdose.dcm",
    "rtplan.dcm",
    "examples_overlay.dcm",
    "color-pl.dcm",
    "chrH31.dcm",  # (pydicom's charset files)
    "chrX1.dcm",
    "chrRuss.dcm",
    "liver_1frame.dcm",
    "waveform_ecg.dcm",
    "test-SR.dcm",
]
CHARSETS = Path(pydicom.__file__).parent / "data" / "charset_files"


def _pydicom_bytes(tag: str, value: dict[str, Any]) -> bytes:
    return _written(tag, value, [])


def _random_numbers(rng: random.Random) -> list[Any]:
    special = [0, -0.0, 1, -1, 0.1, 1e-7, 1e20, -97, -127.5, 2**53 - 1, -(2**53) + 1]
    special += [5e-324, 1.7976931348623157e308, float("nan"), 123456789.12345679]
    out = special + [rng.uniform(-1e4, 1e4) for _ in range(300)]
    out += [rng.randint(-(10**9), 10**9) for _ in range(100)]
    out += [rng.random() * 10 ** rng.randint(-30, 30) for _ in range(200)]
    return out


def test_numbers_are_written_as_pydicom_writes_them() -> None:
    rng = random.Random(7)
    numbers = _random_numbers(rng)
    checked = 0
    for k in range(0, len(numbers), 3):
        for values in ([numbers[k]], numbers[k : k + 3]):
            value = {"vr": "DS", "Value": values}
            got = _plain_element("00201041", value)
            assert got is not None, values
            assert got == _pydicom_bytes("00201041", value), values
            checked += 1
            whole = [int(v) for v in values if not math.isnan(v) and abs(v) < 2**53]
            if whole:
                value = {"vr": "IS", "Value": whole}
                assert _plain_element("00200013", value) == _pydicom_bytes("00200013", value)
    assert checked > 400


def test_uids_are_written_as_sent() -> None:
    for uid in [
        "1.2.3",
        "1.2.34",
        str(pydicom.uid.generate_uid()),
        "2.25." + str(uuid.uuid4().int),
    ]:
        value = {"vr": "UI", "Value": [uid]}
        assert _plain_element("00080018", value) == _pydicom_bytes("00080018", value)
    several = {"vr": "UI", "Value": ["1.2.3", "1.2.840.10008.1.2.1"]}
    assert _plain_element("00081150", several) == _pydicom_bytes("00081150", several)


@pytest.mark.parametrize(
    "value",
    [
        {"vr": "DS", "Value": ["1.50"]},  # a number sent as text keeps its text (pydicom's)
        {"vr": "DS", "Value": [True]},
        {"vr": "DS", "Value": [1, None]},
        {"vr": "DS", "Value": [float("inf")]},
        {"vr": "IS", "Value": [2**60]},
        {"vr": "IS", "Value": [1.5]},
        {"vr": "UI", "Value": ["1.2.3é"]},
        {"vr": "UI", "Value": [None]},
        {"vr": "LO", "Value": ["text"]},
        {"vr": "DS", "InlineBinary": "AAAA"},
        {"vr": "DS"},
    ],
)
def test_other_values_are_left_to_pydicom(value: dict[str, Any]) -> None:
    assert _plain_element("00201041", value) is None


def test_the_collector_comes_back_on() -> None:
    assert gc.isenabled()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still holds it off
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("x")
    assert gc.isenabled()
    gc.disable()  # a user's own choice is kept
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.fixture(scope="module")
def metadata(
    orthanc: Orthanc, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[list[dict[str, Any]]]]:
    """The WADO-RS metadata Orthanc gives for each series of :data:`FILES`."""
    folder = tmp_path_factory.mktemp("encode")
    patient = f"encode-{uuid.uuid4().hex[:8]}"
    datasets = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in FILES:
            ds = pydicom.dcmread(get_testdata_file(name) or CHARSETS / name)
            ds.PatientID = patient
            datasets.append(ds)
        with stored_files(orthanc, datasets, folder / "files"):
            client = DICOMwebClient(orthanc.url, session=orthanc.session())
            series = {(d.StudyInstanceUID, d.SeriesInstanceUID) for d in datasets}
            yield [client.retrieve_series_metadata(st, se) for st, se in sorted(series)]


def test_headers_of_real_metadata_are_the_bytes_pydicom_writes(
    metadata: list[list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = [(e := Encoder(), [e.file(m) for m in series], e.lost) for series in metadata]
    monkeypatch.setattr(_encode, "_plain_element", lambda tag, value: None)
    for (_, files, lost), series in zip(fast, metadata, strict=True):
        slow = Encoder()
        assert files == [slow.file(m) for m in series]
        assert lost == slow.lost
    plain = sum(
        v.get("vr") in _encode._DIRECT_VRS
        for series in metadata
        for m in series
        for v in m.values()
    )
    assert plain > 50  # the fast path had values to write


def test_instances_with_tags_in_another_order_keep_their_own(
    metadata: list[list[dict[str, Any]]],
) -> None:
    """The tag order kept from one instance is not used for another of other tags."""
    first, other = metadata[0][0], metadata[1][0]
    encoder = Encoder()
    files = [encoder.file(first), encoder.file(other), encoder.file(dict(reversed(first.items())))]
    alone = [Encoder().file(m) for m in (first, other, first)]
    assert files == alone


def test_metadata_is_parsed_with_the_collector_held_off(
    orthanc: Orthanc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The QIDO-RS listing, and the parse of the WADO-RS metadata (not its request: with
    16 series fetched at a time the collector would be off for a whole sync), run with it
    off; it is on again after, and during the metadata request."""
    seen: list[tuple[str, bool]] = []
    real_search = DICOMwebClient.search_for_series

    def search(self: Any, *args: Any, **kw: Any) -> Any:
        enabled = gc.isenabled()
        answer = real_search(self, *args, **kw)
        seen.append(("listing", enabled and gc.isenabled()))
        return answer

    def loads(text: Any) -> Any:
        seen.append(("parse", gc.isenabled()))
        return json.loads(text)

    real_get = requests.Session.get

    def get(self: Any, url: str, *args: Any, **kw: Any) -> Any:
        if url.endswith("/metadata"):
            seen.append(("request", not gc.isenabled()))  # (on: True is wrong)
        return real_get(self, url, *args, **kw)

    monkeypatch.setattr(DICOMwebClient, "search_for_series", search)
    monkeypatch.setattr(_server, "json", types.SimpleNamespace(loads=loads))
    monkeypatch.setattr(requests.Session, "get", get)
    patient = f"gc-{uuid.uuid4().hex[:8]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    with stored_alone(orthanc, ds, patient, "1.2.826.0.1.3680043.10.9"):
        archive = db.dicomweb(
            orthanc.url, session=orthanc.session(), cache=tmp_path / "cache", PatientID=patient
        )
        try:
            assert len(archive.instances()) == 1
        finally:
            archive.close()
    assert {name for name, _ in seen} == {"listing", "parse", "request"}
    assert not any(wrong for _, wrong in seen)
    assert gc.isenabled()


#: pydicom's character set files Orthanc stores (it refuses the two chrSQEncoding files at
#: STOW-RS). Its metadata gives chrJapMultiExplicitIR6's Japanese name as its ISO 2022 bytes
#: without their escape characters ('$B$d$^$@(B^...'): that instance is read whole
CHARSET_FILES = sorted(
    p.name for p in CHARSETS.glob("chr*.dcm") if not p.name.startswith("chrSQEncoding")
)
TEXT = ["PatientName", "ReferringPhysicianName", "StudyDescription", "InstitutionName"]


def test_text_of_other_character_sets_reads_as_the_folder_does(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    """Every name of pydicom's character set files reads from the archive as from the files.

    The archive did not open at all with chrH31 in it (pydicom's writer
    raised IndexError on its name ``山田^太郎`` in ISO 2022 IR 87), and read
    chrJapMulti's ``やまだ^たろう`` as ``やまだ�たろう�`` (pydicom wrote an escape to
    ISO 8859-1 after the Japanese text): those headers are kept in UTF-8. And
    chrJapMultiExplicitIR6's as ``$B$d$^$@(B^$B$?$m$&(B`` (Orthanc's metadata).
    """
    patient = f"charsets-{uuid.uuid4().hex[:8]}"
    datasets = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's, reading its own files
        for k, name in enumerate(CHARSET_FILES):
            ds = pydicom.dcmread(CHARSETS / name)
            ds.PatientID = patient
            # the files share their UIDs: each its own series here
            ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.1.{k + 1}"
            ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.10.2.{k + 1}"
            ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.3.{k + 1}"
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            datasets.append(ds)
    assert {"chrH31.dcm", "chrJapMulti.dcm", "chrJapMultiExplicitIR6.dcm"} <= set(CHARSET_FILES)
    with stored_files(orthanc, datasets, tmp_path / "files"):
        archive = db.dicomweb(orthanc.url, session=orthanc.session(), cache=tmp_path / "cache")
        folder = db.database(tmp_path / "files")
        try:
            files = folder.instances()
            assert len(files) == len(CHARSET_FILES)
            for local in files:
                (remote,) = archive.instances(SOPInstanceUID=local.SOPInstanceUID)
                for keyword in TEXT:
                    assert remote.get(keyword) == local.get(keyword), (local, keyword)
            names = {str(i.PatientName) for i in archive.instances()}
            assert "Yamada^Tarou=山田^太郎=やまだ^たろう" in names
            assert "やまだ^たろう" in names
        finally:
            archive.close()
            folder.close()


def _read(data: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def test_a_name_no_character_set_holds_is_kept_in_utf8() -> None:
    """Metadata of no SpecificCharacterSet with a Japanese name: the header says UTF-8."""
    meta = {
        "00080016": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.7"]},
        "00080018": {"vr": "UI", "Value": ["1.2.3.4"]},
        "00080020": {"vr": "DA", "Value": ["20240101"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "やまだ^たろう"}]},
        "00100020": {"vr": "LO", "Value": ["P1"]},
    }
    data, _ = Encoder().file(meta)
    ds = _read(data)
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert str(ds.PatientName) == "やまだ^たろう"
    assert [e.tag for e in ds] == sorted(e.tag for e in ds)  # said in its place
    # a name the default (read as ISO 8859-1) holds stays as it was: no character set said
    meta["00100010"] = {"vr": "PN", "Value": [{"Alphabetic": "Buc^Jérôme"}]}
    data, _ = Encoder().file(meta)
    ds = _read(data)
    assert "SpecificCharacterSet" not in ds
    assert ds["PatientName"].value.original_string == "Buc^Jérôme".encode("latin-1")


def test_only_the_instance_that_needs_it_is_kept_in_utf8() -> None:
    """Instances of one series, one of a name its character set fails on: that one alone."""
    charset = {"vr": "CS", "Value": [None, "ISO 2022 IR 87"]}
    base = {
        "00080005": charset,
        "00080016": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.7"]},
        "00100020": {"vr": "LO", "Value": ["P1"]},
    }
    names = ["Yamada^Tarou", "やまだ^たろう", "Yamada^Tarou"]
    metas = [
        {
            **base,
            "00080018": {"vr": "UI", "Value": [f"1.2.3.{k}"]},
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": name}]},
        }
        for k, name in enumerate(names)
    ]
    encoder = Encoder()
    read = [_read(encoder.file(m)[0]) for m in metas]
    assert [str(ds.PatientName) for ds in read] == names
    assert [ds.SpecificCharacterSet for ds in read] == [
        ["", "ISO 2022 IR 87"],
        "ISO_IR 192",
        ["", "ISO 2022 IR 87"],
    ]
    assert encoder.lost == []


@pytest.mark.parametrize("charset", [["ISO 2022 IR 87"], [None, "ISO 2022 IR 87"]])
@pytest.mark.parametrize("name", ["やまだ^たろう", "山田^太郎", "Yamada^Tarou=山田^太郎"])
def test_a_name_in_a_sequence_reads_back_as_sent(charset: list[str | None], name: str) -> None:
    """A Japanese name inside a sequence: read back as sent, not as pydicom wrote it.

    pydicom writes ISO 2022 IR 87 text ending with an escape to ISO 8859-1
    (``やまだ^たろう`` read ``やまだ�たろう`` or ``やまだ\\x1b-A^たろう\\x1b-A``),
    and its own warnings; only the top level was read back before.
    """
    meta = {
        "00080005": {"vr": "CS", "Value": charset},
        "00080016": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.7"]},
        "00080018": {"vr": "UI", "Value": ["1.2.3.4"]},
        "00081111": {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": {"vr": "UI", "Value": ["1.2.840.10008.3.1.2.3.1"]},
                    "00100010": {"vr": "PN", "Value": [{"Alphabetic": name}]},
                }
            ],
        },
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Yamada^Tarou"}]},
    }
    encoder = Encoder()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydicom's held back
        data, _ = encoder.file(meta)
    ds = _read(data)
    assert str(ds[0x00081111].value[0].PatientName) == name
    assert str(ds.PatientName) == "Yamada^Tarou"
    assert encoder.lost == []


def test_a_sequence_its_character_set_holds_keeps_it() -> None:
    """A sequence of a name its character set writes right: the header keeps that set."""
    meta = {
        "00080005": {"vr": "CS", "Value": ["ISO_IR 100"]},
        "00080018": {"vr": "UI", "Value": ["1.2.3.5"]},
        "00081111": {
            "vr": "SQ",
            "Value": [{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Buc^Jérôme"}]}}],
        },
    }
    data = Encoder().file(meta)[0]
    ds = _read(data)
    assert ds.SpecificCharacterSet == "ISO_IR 100"
    assert str(ds[0x00081111].value[0].PatientName) == "Buc^Jérôme"
    assert "Buc^Jérôme".encode("latin-1") in data


def test_a_sequence_that_reads_back_in_no_character_set_is_left_out_and_said() -> None:
    """An item naming ISO 2022 IR 87 itself: pydicom writes its name wrong in any header
    character set; the sequence is left out and said (``lost``), never kept wrong."""
    item = {
        "00080005": {"vr": "CS", "Value": ["ISO 2022 IR 87"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "やまだ^たろう"}]},
    }
    meta = {
        "00080005": {"vr": "CS", "Value": ["ISO_IR 100"]},
        "00080018": {"vr": "UI", "Value": ["1.2.3.6"]},
        "00081111": {"vr": "SQ", "Value": [item]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Buc^Jérôme"}]},
    }
    encoder = Encoder()
    ds = _read(encoder.file(meta)[0])
    assert str(ds.PatientName) == "Buc^Jérôme" and 0x00081111 not in ds
    assert [(sop, tag) for sop, tag, _ in encoder.lost] == [("1.2.3.6", "(0008,1111)")]


@pytest.mark.parametrize("charset", [["ISO_IR 192"], ["ISO_IR 100"], []])
def test_a_sequence_of_padded_and_empty_texts_is_kept(charset: list[str]) -> None:
    """Texts of a sequence read back without their trailing spaces (padding), empty ones,
    empty items and sequences: the sequence is kept, its texts as sent."""
    inner = {
        "00080070": {"vr": "LO", "Value": ["Ärzte  "]},
        "00080080": {"vr": "LO"},
        "00081040": {"vr": "LO", "Value": [None, "x"]},
        "00081032": {"vr": "SQ", "Value": []},
        "00081250": {"vr": "SQ", "Value": [None, {"00081030": {"vr": "LO", "Value": ["ü"]}}]},
        "00321060": {"vr": "UT", "Value": ["línea\r\nzwei"]},
    }
    meta = {
        "00080005": {"vr": "CS", "Value": charset},
        "00080018": {"vr": "UI", "Value": ["1.2.3.7"]},
        "00081111": {"vr": "SQ", "Value": [inner, {}, None]},
    }
    encoder = Encoder()
    ds = _read(encoder.file(meta)[0])
    assert encoder.lost == []
    item = ds[0x00081111].value[0]
    assert (item.Manufacturer, item.RequestedProcedureDescription) == ("Ärzte", "línea\r\nzwei")
    assert item[0x00081250].value[1].StudyDescription == "ü"
    assert (ds.get("SpecificCharacterSet") or "") == (charset[0] if charset else "")
