"""The one byte walker (``dbdicom._files._walker``) that the fast header reader and
the writer's splitter share: against pydicom on every file pydicom and
pydicom-data ship, and on files built to break it."""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pydicom.data
import pydicom.datadict
import pytest
from builders import AXIAL
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from validators import dciodvfy, read_elsewhere

import dbdicom as db
from dbdicom._files import read_any_header, read_with_pydicom
from dbdicom._files._header import read_header
from dbdicom._files._layout import split_element
from dbdicom._files._raw import Layouts, elements, header_of
from dbdicom._files._walker import (
    MAX_NESTING,
    NeedsPydicom,
    NotDicomError,
    Window,
    explicit_vr,
    read_meta,
    walk,
)
from dbdicom._templates import mr_image, new_uid, write_dataset

# ----------------------------------------------------------------------------- the corpus

try:  # pydicom-data installs its files as the package data_store
    import data_store

    _DATA_STORE: Path | None = Path(os.path.dirname(data_store.__file__)) / "data"
except ImportError:  # pragma: no cover - the test extra brings it
    _DATA_STORE = None

_ROOTS = {"pydicom": Path(os.path.dirname(pydicom.__file__)) / "data" / "test_files"}
if _DATA_STORE is not None:
    _ROOTS["pydicom-data"] = _DATA_STORE


def _corpus() -> dict[str, Path]:
    """Every file of pydicom's test files folder and of pydicom-data, and every
    file ``get_testdata_files()`` lists, by a name unique among them."""
    paths = {Path(p).resolve() for p in pydicom.data.get_testdata_files()}
    for root in _ROOTS.values():
        paths.update(p.resolve() for p in root.rglob("*"))
    named = {}
    for path in sorted(p for p in paths if p.is_file()):
        for label, root in _ROOTS.items():
            if path.is_relative_to(root.resolve()):
                named[f"{label}/{path.relative_to(root.resolve()).as_posix()}"] = path
                break
        else:
            named[path.as_posix()] = path
    return named


CORPUS = _corpus()

# Files the walker leaves to pydicom (NeedsPydicom), every one for its transfer
# syntax, which the fast reader does not read:
# - Explicit VR Big Endian (1.2.840.10008.1.2.2), 19 files: DICOMDIR-bigEnd,
#   ExplVR_BigEnd, MR_small_bigendian, MR_small_expb, OBXXXX1A_expb(_2frame),
#   SC_rgb_expb(_2frame, _16bit, _16bit_2frame, _32bit, _32bit_2frame),
#   SC_rgb_small_odd_big_endian, emri_small_big_endian, gdcm-US-ALOKA-16_big,
#   liver_expb(_1frame), rtdose_expb(_1frame);
# Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99, image_dfl) is
# walked as it is inflated: its header values must equal pydicom's.
_LEFT_TO_PYDICOM = {"1.2.840.10008.1.2.2": "big endian"}
_DEFLATED = "1.2.840.10008.1.2.1.99"
_MAX_LEFT_TO_PYDICOM = 20
# cut short on purpose: pydicom reads what there is, the walker says where it ends
_TRUNCATED = {"rtplan_truncated.dcm"}
_IMPLICIT_LE = "1.2.840.10008.1.2"
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)


def _pydicom(path: Path) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, stop_before_pixels=True)


def _walked(path: Path) -> tuple[int, bool, dict[int, tuple[bytes, bytes]], bytes]:
    """The walker's raw reading of ``path``: where the data set starts, whether
    it is explicit VR, every top-level (VR code, value bytes), the file's bytes."""
    data = path.read_bytes()
    win = Window(data)
    start, syntax, _ = read_meta(win)
    explicit = explicit_vr(win, start, syntax != _IMPLICIT_LE)
    raws: dict[int, tuple[bytes, bytes]] = {}
    walk(win, start, explicit, None, raws)
    # the same from the file, through the window that slides over it
    with open(path, "rb") as f:
        sliding: dict[int, tuple[bytes, bytes]] = {}
        walk(Window.of_file(f), start, explicit, None, sliding)
    assert sliding == raws
    return start, explicit, raws, data


def _count_left_to_pydicom() -> list[str]:
    left = []
    for name, path in CORPUS.items():
        try:
            syntax = read_meta(Window(path.read_bytes()))[1]
        except (NotDicomError, NeedsPydicom, EOFError):
            continue
        if syntax in _LEFT_TO_PYDICOM:
            left.append(name)
    return left


def test_the_corpus_is_there_and_few_files_are_left_to_pydicom() -> None:
    assert len(CORPUS) > 200, "install the test extra (pydicom-data)"
    assert _DATA_STORE is not None and any(n.startswith("pydicom-data/") for n in CORPUS)
    left = _count_left_to_pydicom()
    assert 0 < len(left) <= _MAX_LEFT_TO_PYDICOM, left


@pytest.mark.parametrize("name", list(CORPUS), ids=list(CORPUS))
def test_walker_agrees_with_pydicom(name: str) -> None:
    """Each top-level element the walker finds is pydicom's, byte for byte.

    What is compared, and why: the walker's job is to find where each element
    is, not to decode it (``decode_value`` is tested elsewhere). pydicom keeps
    most top-level values as the bytes read (``RawDataElement``): those must
    equal the walker's value bytes, and in explicit VR its VR code too.
    Elements pydicom converts while reading (the character set; sequences of
    undefined length; some empty values) have no raw bytes left: for those
    the walker's bytes must be the file's bytes at pydicom's value offset.
    Elements of undefined length are left out by the reader, and the
    splitter's whole element must read back in pydicom as pydicom's element.
    """
    path = CORPUS[name]
    try:
        ds = _pydicom(path)
    except InvalidDicomError as exc:
        # not Part 10: text, JSON, ICC, gzip and dump files, and data sets with
        # no preamble (ACR-NEMA style), which pydicom reads only when forced
        assert "File Meta Information header or the 'DICM' prefix" in str(exc)
        with pytest.raises((NotDicomError, NeedsPydicom)):
            read_header(str(path), {})
        return  # the walker refuses it too: nothing to compare
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if syntax == _DEFLATED:
        wanted = {int(tag): dictionary_VR(tag) for tag in ds.keys() if dictionary_has_tag(tag)}
        walked = read_header(str(path), wanted).values
        assert walked == read_with_pydicom(str(path), wanted).values
        assert read_header(str(path), wanted, path.read_bytes()).values == walked
        with pytest.raises(NeedsPydicom):  # the byte writer leaves it to pydicom
            Layouts().split_file(path.read_bytes())
        return
    if syntax in _LEFT_TO_PYDICOM:
        with pytest.raises(NeedsPydicom, match="transfer syntax"):
            read_header(str(path), {})
        with pytest.raises(NeedsPydicom):
            Layouts().split_file(path.read_bytes())
        return
    if path.name in _TRUNCATED:
        with pytest.raises(EOFError, match="ends inside"):
            read_header(str(path), {})
        return
    start, explicit, raws, data = _walked(path)
    tags = list(ds.keys())
    undefined = set()
    for tag in tags:
        element = ds.get_item(tag)
        if (
            element.is_undefined_length
            if not isinstance(element, RawDataElement)
            else (element.length == 0xFFFFFFFF)
        ):
            undefined.add(int(tag))
            assert tag not in raws
            continue
        vr, value = raws[tag]
        if isinstance(element, RawDataElement):
            assert value == (element.value or b""), f"{tag}"
            assert element.length == len(value)
            if explicit:
                assert vr.decode() == element.VR, f"{tag}"
        else:
            offset = element.file_tell
            assert data[offset : offset + len(value)] == value, f"{tag}"
    assert set(raws) == set(tags) - undefined
    _reader_agrees(path, ds, raws)
    _splitter_agrees(path, ds, start, explicit, raws, data)


def _reader_agrees(path: Path, ds: Dataset, raws: dict[int, tuple[bytes, bytes]]) -> None:
    """The fast reader, every tag of the file requested: the same elements;
    pydicom's decoded values where both decode alike by definition (numbers,
    UIDs, single text values; not CS, whose padding inside multiple values
    pydicom keeps); and pydicom's pixel facts."""
    every = {int(tag): _vr(int(tag), ds.get_item(tag).VR) for tag in ds.keys()}
    if path.name in _BAD_VALUES:
        # the walker finds them (compared above); NumberOfFrames '1A' is no
        # number: both readers read it as None and say why, never a guess
        for header in (read_header(str(path), every), read_with_pydicom(str(path), every)):
            assert header.values[0x00280008] is None
            assert "IS value '1A' is not a number" in header.problems[0x00280008]
        return
    header = read_header(str(path), every)
    assert set(header.values) == set(raws)
    slow = read_with_pydicom(str(path), every)
    alike = {
        tag
        for tag, vr in every.items()
        if vr in _DECODED_ALIKE and tag in slow.values and tag in header.values
    }
    assert {t: header.values[t] for t in alike} == {t: slow.values[t] for t in alike}
    assert header.has_per_frame_groups == slow.has_per_frame_groups
    if path.name in _PIXELS_CUT_SHORT:  # pydicom, reading to the end, drops them
        assert header.has_pixels and not slow.has_pixels
        return
    assert header.has_pixels == slow.has_pixels
    if header.has_pixels and not header.float_bits:
        assert header.encapsulated == slow.encapsulated


_DECODED_ALIKE = frozenset("DA DS FD FL IS LO SH SL SS TM UI UL US".split())
# an invalid value (IS '1A'), which neither reader decodes
_BAD_VALUES = {"badVR.dcm"}
# compressed pixel data that end before their sequence delimiter
_PIXELS_CUT_SHORT = {"emri_small_jpeg_2k_lossless_too_short.dcm"}


def _vr(tag: int, vr: str | None) -> str:
    """The VR to read ``tag`` as: the file's, else the dictionary's, else UN."""
    if vr is not None and vr != "UN":
        return vr
    try:
        found = str(pydicom.datadict.dictionary_VR(tag))
    except KeyError:
        return "UN"
    return found if found in _DECODED_ALIKE or " " not in found else "UN"


def _splitter_agrees(
    path: Path,
    ds: Dataset,
    start: int,
    explicit: bool,
    raws: dict[int, tuple[bytes, bytes]],
    data: bytes,
) -> None:
    """The splitter cuts the same elements, whole and one after the other; in
    implicit VR (or not Explicit VR Little Endian) it declines."""
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if not explicit:
        with pytest.raises(NeedsPydicom):
            Layouts().split_file(data)
        return
    cut = elements(data, start)
    assert list(cut) == [int(t) for t in ds.keys()]
    pos = start
    for tag, raw in cut.items():
        assert data[pos : pos + len(raw)] == raw
        pos += len(raw)
        split = split_element(raw)
        if split is not None:
            assert split == raws[tag]
            continue
        back = read_dataset(io.BytesIO(raw), is_implicit_VR=False, is_little_endian=True)
        assert back[tag] == ds[tag]
    # the writer's way in: header_of, from the file, up to the pixel values
    header = read_header(str(path), {})
    if syntax == ExplicitVRLittleEndian and header.pixel_offset > 0:
        layouts = Layouts()
        for _ in range(2):  # walked, then the layout reused (where no length is undefined)
            assert header_of(str(path), header.pixel_offset, layouts) == (cut, start)
        assert layouts.reused == (0 if any(split_element(r) is None for r in cut.values()) else 1)
    elif syntax != ExplicitVRLittleEndian:
        with pytest.raises(NeedsPydicom):
            Layouts().split_file(data)


# ----------------------------------------------------------------------------- built to break it


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    """One explicit VR little endian element of defined length."""
    if vr in (b"OB", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _implicit(tag: int, value: bytes) -> bytes:
    """One implicit VR little endian element of defined length."""
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def _undefined(tag: int, vr: bytes | None, items: list[bytes]) -> bytes:
    """An element of undefined length (``vr`` None: implicit VR) holding ``items``."""
    if vr is None:
        head = struct.pack("<HHI", tag >> 16, tag & 0xFFFF, 0xFFFFFFFF)
    else:
        head = struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, 0xFFFFFFFF)
    return head + b"".join(items) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def _item(body: bytes, defined: bool) -> bytes:
    if defined:
        return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
    return (
        struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
        + body
        + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    )


def _private_un() -> bytes:
    """A private creator and a private UN element of undefined length, whose
    content is implicit VR (PS3.5 6.2.2): an item of undefined length holding
    a sequence of undefined length with an item of defined length, then an
    item of defined length."""
    inner = _undefined(0x00081140, None, [_item(_implicit(0x00081155, b"1.2.3.4\0"), defined=True)])
    content = [
        _item(_implicit(0x00080100, b"CODE") + inner, defined=False),
        _item(_implicit(0x00080104, b"MEANING "), defined=True),
    ]
    return _element(0x00090010, b"LO", b"DBDICOM WALKER  ") + _undefined(0x00091001, b"UN", content)


def _insert_before_group_0010(data: bytes, extra: bytes) -> bytes:
    """``data`` (a file pydicom wrote) with ``extra`` inserted before its
    PatientName (0010,0010), the first element of group 0010 it writes."""
    at = data.index(b"\x10\x00\x10\x00PN")
    return data[:at] + extra + data[at:]


def _with_private_un(data: bytes) -> bytes:
    return _insert_before_group_0010(data, _private_un())


def _without_group_length(data: bytes) -> bytes:
    """The file without its File Meta Information Group Length (0002,0000)."""
    assert data[132:140] == b"\x02\x00\x00\x00UL\x04\x00"
    return data[:132] + data[144:]


def _source_series(folder: Path, patch: Any, n: int = 3) -> list[Path]:
    """``n`` axial MR slices of one series (as builders.py makes them), each
    file's bytes changed by ``patch``."""
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 4000, (n, 16, 16), dtype=np.uint16)
    uids = {"StudyInstanceUID": new_uid(), "SeriesInstanceUID": new_uid()}
    paths = []
    for k in range(n):
        ds = mr_image(
            pixels[k],
            **uids,
            PatientID="WALK-001",
            PatientName="Walker^Wanda",
            SeriesDescription="source",
            InstanceNumber=k + 1,
            ImageOrientationPatient=list(AXIAL),
            ImagePositionPatient=[0.0, 0.0, 5.0 * k],
            PixelSpacing=[1.0, 1.0],
            SliceThickness=5.0,
        )
        path = write_dataset(ds, folder / f"IM{k + 1:03d}")
        path.write_bytes(patch(path.read_bytes()))
        paths.append(path)
    return paths


@pytest.mark.parametrize(
    "patch", [_with_private_un, _without_group_length], ids=["private-UN", "no-0002,0000"]
)
def test_derived_series_from_sources_that_broke_the_writer(tmp_path: Path, patch: Any) -> None:
    """Sources that open and read fine gave derived files the writer could not
    split ('an item of undefined length has no end') or with group 0002
    twice (dciodvfy: 'Tags out of order'). Now the derived files are valid
    as far as their sources are, and copy the source's elements as bytes."""
    sources = _source_series(tmp_path / "db", patch)
    source_errors = set(dciodvfy(sources[0])[0])
    database = db.database(tmp_path / "db", dialog=db.TerminalDialog(interactive=False))
    try:
        (series,) = database.series()
        da = series.to_xarray()
        out = series.new_sibling(SeriesDescription="derived")
        out.set_xarray(da + 1)
        derived = [Path(p) for p in out.files()]
        assert len(derived) == len(sources)
        np.testing.assert_array_equal(out.to_xarray().values, da.values + 1)
        source_elements = _split(sources[0].read_bytes())
        for path in derived:
            data = path.read_bytes()
            assert data.count(b"\x02\x00\x10\x00UI") == 1  # one TransferSyntaxUID
            own = _split(data)
            assert all(tag >> 16 > 2 for tag in own)
            if patch is _with_private_un:  # copied byte for byte
                assert own[0x00091001] == source_elements[0x00091001]
                assert own[0x00090010] == source_elements[0x00090010]
            assert set(dciodvfy(path)[0]) <= source_errors, path
            read_elsewhere(path, pydicom.dcmread(path).pixel_array)  # GDCM: the same pixels
    finally:
        database.restore()
        database.close()


def _split(data: bytes) -> dict[int, bytes]:
    start = read_meta(Window(data))[0]
    return elements(data, start)


_ROWS = _element(0x00280010, b"US", b"\x40\x00")


def _retag(element: bytes, tag: int) -> bytes:
    """``element`` (whole) under another tag."""
    return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + element[4:]


def _nestings() -> dict[str, bytes]:
    """Sequences of every kind of length nested in each other, explicit VR."""
    leaf = _element(0x00100020, b"LO", b"ID-1")
    undefined_in_defined = _element(
        0x00081140,
        b"SQ",
        _item(_undefined(0x00081150, b"SQ", [_item(leaf, defined=False)]), defined=True),
    )
    defined_in_undefined = _undefined(
        0x00081140,
        b"SQ",
        [_item(_element(0x00081150, b"SQ", _item(leaf, defined=True)), defined=False)],
    )
    mixed = _undefined(
        0x00081140,
        b"SQ",
        [
            _item(leaf + _retag(undefined_in_defined, 0x00081160), defined=True),
            _item(_retag(defined_in_undefined, 0x00081160), defined=False),
            _item(_element(0x00081160, b"SQ", b""), defined=False),  # an empty sequence
        ],
    )
    un_in_sq = _undefined(
        0x00081140, b"SQ", [_item(_private_un(), defined=False), _item(leaf, defined=True)]
    )
    return {
        "undefined-in-defined": undefined_in_defined,
        "defined-in-undefined": defined_in_undefined,
        "mixed": mixed,
        "UN-in-SQ": un_in_sq,
        "empty-undefined": _undefined(0x00081140, b"SQ", []),
    }


NESTINGS = _nestings()


@pytest.mark.parametrize("name", list(NESTINGS), ids=list(NESTINGS))
def test_nested_lengths_of_every_kind(name: str) -> None:
    """The element after each nesting is found, and the nesting cut whole reads
    back in pydicom as pydicom reads it in place."""
    data = NESTINGS[name] + _ROWS
    expected = read_dataset(io.BytesIO(data), is_implicit_VR=False, is_little_endian=True)
    cut = elements(data)
    assert list(cut) == [int(t) for t in expected.keys()]
    assert cut[0x00280010] == _ROWS
    (tag,) = set(cut) - {0x00280010}
    back = read_dataset(io.BytesIO(cut[tag]), is_implicit_VR=False, is_little_endian=True)
    assert back[tag] == expected[tag]
    raws: dict[int, tuple[bytes, bytes]] = {}
    walk(Window(data), 0, True, {0x00280010}, raws)
    assert raws == {0x00280010: (b"US", b"\x40\x00")}


def _file(dataset: bytes, syntax: str = "1.2.840.10008.1.2.1") -> bytes:
    """A Part-10 file of the encoded ``dataset`` (no pixel data)."""
    uid = syntax.encode() + (b"\0" if len(syntax) % 2 else b"")
    meta = _element(0x00020001, b"OB", b"\0\1") + _element(0x00020010, b"UI", uid)
    length = _element(0x00020000, b"UL", struct.pack("<I", len(meta)))
    return bytes(128) + b"DICM" + length + meta + dataset


def _deep(depth: int) -> bytes:
    """Sequences of undefined length nested ``depth`` deep, each in an item of
    undefined length, then PatientID."""
    inner = _element(0x00100020, b"LO", b"ID-1")
    for _ in range(depth):
        inner = _undefined(0x00091001, b"SQ", [_item(inner, defined=False)])
    return _element(0x00090010, b"LO", b"DBDICOM WALKER  ") + inner


def test_deep_nesting_never_recurses(tmp_path: Path) -> None:
    """Nesting is walked with a stack: as deep as :data:`MAX_NESTING` it is read;
    deeper (2,000 levels) it is left to pydicom, whose RecursionError becomes
    a NotDicomError; never a RecursionError."""
    wanted = {0x00100020: "LO", 0x00280010: "US"}
    ok = tmp_path / "ok.dcm"
    ok.write_bytes(_file(_deep(MAX_NESTING) + _ROWS))
    assert read_header(str(ok), wanted).values == {0x00280010: 64}
    assert list(_split(ok.read_bytes())) == [0x00090010, 0x00091001, 0x00280010]
    deep = tmp_path / "deep.dcm"
    deep.write_bytes(_file(_deep(2000) + _ROWS))
    with pytest.raises(NeedsPydicom, match="nested more than"):
        read_header(str(deep), wanted)
    with pytest.raises(NeedsPydicom, match="nested more than"):
        Layouts().split_file(deep.read_bytes())
    with pytest.raises(NotDicomError, match="nested too deep"):
        read_any_header(str(deep), wanted)


def _truncation_sources(tmp_path: Path) -> dict[str, bytes]:
    un = _source_series(tmp_path, _with_private_un, n=1)[0].read_bytes()
    meta = _source_series(tmp_path / "meta", _without_group_length, n=1)[0].read_bytes()
    sources = {
        "private-UN": un,
        "no-0002,0000": meta,
        "nestings": _file(b"".join(NESTINGS[n] for n in ("defined-in-undefined", "UN-in-SQ"))),
        "implicit": Path(pydicom.data.get_testdata_file("rtplan.dcm")).read_bytes(),
        "MR_small": Path(pydicom.data.get_testdata_file("MR_small.dcm")).read_bytes(),
    }
    return sources


def test_truncated_at_every_offset(tmp_path: Path) -> None:
    """Cut anywhere in its header, a file gives what the reader gave before:
    EOFError, NotDicomError or NeedsPydicom (or, cut between two top-level
    elements, the elements before the cut); never an IndexError or a
    struct.error. The splitter likewise."""
    wanted = {0x00100020: "LO", 0x00280010: "US", 0x00080005: "CS"}
    outcomes: dict[str, int] = {}
    for name, data in _truncation_sources(tmp_path).items():
        full = read_header("", wanted, data)
        end = full.pixel_offset if full.pixel_offset > 0 else len(data)
        for cut in range(0, end):
            part = data[:cut]
            try:
                header = read_header("", wanted, part)
            except (EOFError, NotDicomError, NeedsPydicom) as exc:
                outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
            else:
                outcomes["read"] = outcomes.get("read", 0) + 1
                assert header.values.items() <= full.values.items()
            try:
                Layouts().split_file(part)
            except (EOFError, NotDicomError, NeedsPydicom):
                pass
        # through the window that slides over a file, at a stride
        path = tmp_path / f"{name}.cut"
        for cut in range(0, end, 97):
            path.write_bytes(data[:cut])
            try:
                read_header(str(path), wanted)
            except (EOFError, NotDicomError, NeedsPydicom):
                pass
    assert outcomes["EOFError"] > outcomes["read"] > 0
    assert outcomes["NotDicomError"] > 0


def test_a_data_set_in_implicit_vr_under_an_explicit_vr_meta(tmp_path: Path) -> None:
    """The meta says Explicit VR Little Endian, the data set is Implicit VR: the
    reader reads it (trusting the bytes, as pydicom does) and records its
    pixel offset, so the writer takes it for a byte source; the splitter must
    then decline (it copied implicit elements as explicit ones before)."""

    def implicit(ds: Dataset, path: Path) -> Path:
        return write_dataset(ds, path, transfer_syntax=ImplicitVRLittleEndian)

    path = implicit(mr_image(np.zeros((4, 4), np.uint16)), tmp_path / "a.dcm")
    data = path.read_bytes()
    declared = b"\x02\x00\x10\x00UI\x12\x001.2.840.10008.1.2\x00"
    data = data.replace(declared, b"\x02\x00\x10\x00UI\x14\x001.2.840.10008.1.2.1\x00")
    path.write_bytes(
        data[:140] + struct.pack("<I", struct.unpack_from("<I", data, 140)[0] + 2) + data[144:]
    )
    header = read_header(str(path), {0x00280010: "US"})
    assert header.transfer_syntax == str(ExplicitVRLittleEndian)
    assert header.values == {0x00280010: 4} and header.pixel_offset > 0
    with pytest.raises(NeedsPydicom, match="not explicit VR"):
        header_of(str(path), header.pixel_offset, Layouts())
