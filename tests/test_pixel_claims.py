"""Images whose header cannot describe the pixel data they hold.

A header says how many frames of what size and type follow; the Pixel Data
element holds some number of bytes. When both cannot be true, reading would
give an error at best and plausible wrong numbers at worst. Such a file
stays in the tree (its tags read and edit as any other's), its image is
refused with the reason in ``problems()``, and nothing is allocated for what
the header claims. A disagreement that leaves the values certain (padding,
Bits Stored above Bits Allocated) is read, and listed as a note.
"""

from __future__ import annotations

import copy
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from corpus_base import explicit
from pydicom.data import get_testdata_file
from pydicom.uid import DeflatedExplicitVRLittleEndian

import dbdicom as db
from dbdicom._files._walker import Window, read_meta
from dbdicom._templates import enhanced_mr_image, mr_image, write_dataset

PIXELS = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32)


def _folder(tmp_path: Path, change: Callable[[pydicom.Dataset], None] | None) -> Path:
    """A valid series ``good`` and a file ``bad.dcm`` of series ``bad``, changed by ``change``."""
    write_dataset(mr_image(PIXELS, PatientID="P", SeriesDescription="good"), tmp_path / "good.dcm")
    ds = mr_image(PIXELS, PatientID="P", SeriesDescription="bad")
    if change is not None:
        change(ds)
    write_dataset(ds, tmp_path / "bad.dcm")
    return tmp_path


def _set(**values: Any) -> Callable[[pydicom.Dataset], None]:
    def change(ds: pydicom.Dataset) -> None:
        for key, value in values.items():
            setattr(ds, key, value)

    return change


def _double(ds: pydicom.Dataset) -> None:
    ds.PixelData = ds.PixelData * 2


def _rgb(planar: int | None) -> Callable[[pydicom.Dataset], None]:
    """An 8-bit RGB image of the right length, with ``planar`` (None: without one)."""

    def change(ds: pydicom.Dataset) -> None:
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, "RGB"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = bytes(range(256)) * 12  # 32 x 32 x 3
        if planar is not None:
            ds.PlanarConfiguration = planar

    return change


def _problems(database: db.Database, name: str) -> list[str]:
    table = database.problems()
    return [str(p) for p in table.loc[table["path"] == name, "problem"]]


def _series(database: db.Database, description: str) -> Any:
    return database.series(SeriesDescription=description)[0]


REFUSED = {
    "bits allocated 0": (_set(BitsAllocated=0), "'Bits Allocated' is 0"),
    "bits allocated 7": (_set(BitsAllocated=7), "'Bits Allocated' is 7"),
    "bits allocated 12": (_set(BitsAllocated=12), "'Bits Allocated' is 12"),
    "bits allocated 33": (_set(BitsAllocated=33), "'Bits Allocated' is 33"),
    "bits allocated 64": (_set(BitsAllocated=64), "'Bits Allocated' is 64"),
    "1-bit on 16-bit data": (
        _set(BitsAllocated=1, BitsStored=1, HighBit=0),
        "holds 2048 bytes, 16 times the 128 that 1 frame of 32 x 32 x 1 bits need",
    ),
    "pixel data twice too long": (_double, "holds 4096 bytes, 2 times the 2048"),
    "3 frames in the bytes of 1": (
        _set(NumberOfFrames=3),
        "'Number of Frames' 3 of 32 x 32 x 16 bits need 6144 bytes, but (7FE0,0010) "
        "'Pixel Data' holds 2048",
    ),
    "65535 x 65535 in 2 kB": (
        _set(Rows=65535, Columns=65535),
        "1 frame of 65535 x 65535 x 16 bits needs 8589672450 bytes",
    ),
    "no samples": (_set(SamplesPerPixel=0), "'Samples per Pixel' is 0"),
    "4 samples of grey": (_set(SamplesPerPixel=4), "'Samples per Pixel' is 4"),
    "unknown photometric": (
        _set(PhotometricInterpretation="FOO"),
        "'Photometric Interpretation' 'FOO' is not one dbdicom reads",
    ),
    "RGB without planar configuration": (
        _rgb(None),
        "(0028,0006) 'Planar Configuration' is missing: its colour values could be stored",
    ),
    "RGB of planar configuration 2": (_rgb(2), "(0028,0006) 'Planar Configuration' is 2: 0"),
    "RGB with one sample": (
        _set(PhotometricInterpretation="RGB"),
        "'Samples per Pixel' is 1, but (0028,0004) 'Photometric Interpretation' RGB has 3",
    ),
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_an_impossible_description_is_refused_with_its_reason(tmp_path: Path, kind: str) -> None:
    change, reason = REFUSED[kind]
    database = db.database(_folder(tmp_path, change))
    found = _problems(database, "bad.dcm")
    assert any(reason in p and p.endswith("its image is not read") for p in found), found
    bad = _series(database, "bad")
    assert len(bad.instances()) == 1  # in the tree: its tags read and edit
    with pytest.raises(db.GridError, match="cannot be read as described") as info:
        bad.to_xarray()
    assert reason in str(info.value) and "bad.dcm" in str(info.value)
    with pytest.raises(db.GridError):
        bad.array()
    good = _series(database, "good").to_xarray().values
    assert np.array_equal(good[0], PIXELS)


def test_padding_shorter_than_a_frame_is_read_and_noted(tmp_path: Path) -> None:
    path = get_testdata_file("MR_small_padded.dcm")
    (tmp_path / "padded.dcm").write_bytes(Path(path).read_bytes())
    database = db.database(tmp_path)
    found = _problems(database, "padded.dcm")
    assert found == [
        "(7FE0,0010) 'Pixel Data' holds 128 bytes more than 1 frame(s) of 64 x 64 x 16 "
        "bits need: read without them"
    ]
    expected = pydicom.dcmread(path).pixel_array
    values = database.series()[0].to_xarray().values
    assert np.array_equal(values.reshape(expected.shape), expected)


def test_bits_stored_above_bits_allocated_is_read_and_noted(tmp_path: Path) -> None:
    database = db.database(_folder(tmp_path, _set(BitsStored=20, HighBit=19)))
    assert _problems(database, "bad.dcm") == [
        "(0028,0101) 'Bits Stored' 20 is more than (0028,0100) 'Bits Allocated' 16: read as 16 bits"
    ]
    assert np.array_equal(_series(database, "bad").to_xarray().values[0], PIXELS)


def test_a_high_bit_not_bits_stored_minus_one_is_read_low_and_noted(tmp_path: Path) -> None:
    """Toolkits disagree on such files (dcmtk reads the high bits): a trial's finding."""
    database = db.database(_folder(tmp_path, _set(BitsStored=12, HighBit=15)))
    (found,) = _problems(database, "bad.dcm")
    assert found.startswith("(0028,0102) 'High Bit' is 15, not Bits Stored - 1 (11)")
    assert "read as bits 0 to 11" in found and "dcmtk reads bits 4 to 15" in found
    expected = pydicom.dcmread(tmp_path / "bad.dcm").pixel_array  # the low 12 bits
    assert np.array_equal(_series(database, "bad").to_xarray().values[0], expected)
    assert _problems(database, "good.dcm") == []


def test_a_wrong_edit_refuses_the_image_and_undoing_it_reads_it_again(tmp_path: Path) -> None:
    database = db.database(_folder(tmp_path, None))
    series = _series(database, "bad")
    series.Rows = 64  # the pixel data stay 32 x 32
    assert series.Rows == [64] and len(series.instances()) == 1
    found = _problems(database, "bad.dcm")
    assert any("1 frame of 64 x 32 x 16 bits needs 4096" in p for p in found), found
    with pytest.raises(db.GridError, match="cannot be read as described"):
        series.to_xarray()
    series.Rows = 32
    assert _problems(database, "bad.dcm") == []
    assert np.array_equal(series.to_xarray().values[0], PIXELS)


def test_a_file_rewritten_with_an_impossible_format_is_an_error(tmp_path: Path) -> None:
    database = db.database(_folder(tmp_path, None))
    da = _series(database, "bad").to_xarray()
    ds = pydicom.dcmread(tmp_path / "bad.dcm")
    ds.BitsAllocated = 12
    ds.save_as(tmp_path / "bad.dcm")  # another tool, after the index was made
    os.utime(tmp_path / "bad.dcm", ns=(1, 1))
    with pytest.raises(db.StaleFileError, match="'Bits Allocated' is 12"):
        da.values  # noqa: B018


def _rle_with_frames(tmp_path: Path, frames: int) -> Path:
    ds = pydicom.dcmread(get_testdata_file("MR_small_RLE.dcm"))
    ds.NumberOfFrames = frames
    ds.save_as(tmp_path / "bad.dcm")
    return tmp_path


def test_more_compressed_frames_than_the_file_can_hold_are_refused(tmp_path: Path) -> None:
    database = db.database(_rle_with_frames(tmp_path, 10**9))
    found = _problems(database, "bad.dcm")
    assert any("'Number of Frames' is 1000000000, but the" in p for p in found), found
    with pytest.raises(db.GridError, match="cannot be read as described"):
        database.series()[0].to_xarray()


def _rle_fragment(data: bytearray) -> int:
    """Where the first fragment item of MR_small_RLE.dcm starts."""
    pixel = data.find(b"\xe0\x7f\x10\x00")
    return data.find(b"\xfe\xff\x00\xe0", pixel + 20)  # the item after the offset table


def test_an_rle_header_that_cannot_be_is_refused_at_the_scan(tmp_path: Path) -> None:
    data = bytearray(Path(get_testdata_file("MR_small_RLE.dcm")).read_bytes())
    fragment = _rle_fragment(data)
    data[fragment + 8 : fragment + 12] = (16).to_bytes(4, "little")  # 16 segments: too many
    (tmp_path / "bad.dcm").write_bytes(bytes(data))
    database = db.database(tmp_path)
    reasons = list(database.problems()["problem"])
    assert any(
        "RLE header of frame 1 says 16 segment(s), where the image has 2" in r for r in reasons
    )
    with pytest.raises(db.GridError, match="cannot be read as described"):
        database.series()[0].to_xarray()


def test_corrupt_rle_data_are_an_error_naming_file_and_frame(tmp_path: Path) -> None:
    """Damage inside the segments is found when the frame is decoded: an InvalidFileError."""
    data = bytearray(Path(get_testdata_file("MR_small_RLE.dcm")).read_bytes())
    fragment = _rle_fragment(data)
    noise = np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    data[fragment + 8 + 64 : fragment + 8 + 64 + 2000] = noise  # the header stays whole
    (tmp_path / "bad.dcm").write_bytes(bytes(data))
    database = db.database(tmp_path)
    with pytest.raises(db.InvalidFileError, match=r"bad\.dcm: frame 0 .*RLE Lossless"):
        database.series()[0].to_xarray().values  # noqa: B018


def _deflated(tmp_path: Path, rows: int) -> Path:
    """A valid Deflate file of a zero image ``rows`` x ``rows`` (16 bits): it inflates far."""
    ds = mr_image(np.zeros((4, 4), np.uint16), PatientID="P", SeriesDescription="deflated")
    ds.Rows = ds.Columns = rows
    ds.PixelData = bytes(rows * rows * 2)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    path = tmp_path / "deflated.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_a_deflate_header_is_read_without_inflating_the_pixels(tmp_path: Path) -> None:
    """200 MB of pixels in a 200 kB file: opening it costs no more than a few chunks."""
    path = _deflated(tmp_path, 10_000)
    assert path.stat().st_size < 400_000
    script = textwrap.dedent(
        f"""
        import json, re, tempfile
        import dbdicom as db
        def peak():  # this process's high-water mark (ru_maxrss counts the parent's too)
            status = open("/proc/self/status").read()
            return int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
        with tempfile.TemporaryDirectory() as empty:  # the libraries an open imports
            db.database(empty).close()
        before = peak()
        database = db.database({str(tmp_path)!r})
        after = peak()
        series = database.series()[0]
        print(json.dumps({{"grown_kib": after - before, "rows": series.Rows,
                           "problems": len(database.problems())}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["rows"] == [10_000] and found["problems"] == 0
    assert found["grown_kib"] < 50 * 1024, found  # inflating it all would take 200 MB


def test_a_deflate_file_reads_as_pydicom_reads_it(tmp_path: Path) -> None:
    path = get_testdata_file("image_dfl.dcm")
    (tmp_path / "dfl.dcm").write_bytes(Path(path).read_bytes())
    database = db.database(tmp_path)
    assert database.problems().empty or "Patient ID" in " ".join(database.problems()["problem"])
    expected = pydicom.dcmread(path).pixel_array
    values = database.series()[0].to_xarray().values
    assert np.array_equal(values.reshape(expected.shape), expected)


def test_a_deflate_stream_that_cannot_be_inflated_is_a_problem(tmp_path: Path) -> None:
    path = _deflated(tmp_path, 64)
    data = bytearray(path.read_bytes())
    start = read_meta(Window(bytes(data)))[0]  # where the deflated data set starts
    data[start : start + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    with pytest.raises(zlib.error):  # the bytes are no Deflate stream indeed
        zlib.decompress(bytes(data[start:]), -zlib.MAX_WBITS)
    write_dataset(mr_image(PIXELS, PatientID="P", SeriesDescription="good"), tmp_path / "good.dcm")
    database = db.database(tmp_path)
    assert any("cannot be inflated" in p for p in _problems(database, "deflated.dcm"))
    assert np.array_equal(_series(database, "good").to_xarray().values[0], PIXELS)


HUGE = textwrap.dedent(
    """
    import faulthandler, resource, sys
    faulthandler.dump_traceback_later(240, exit=True)  # a hang shows where it is
    limit = 4 << 30  # address space: imports fit, a claim (7.5 or 8 GiB) would not
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import dbdicom as db
    database = db.database(sys.argv[1])
    reasons = " ".join(database.problems()["problem"])
    for series in database.series():
        try:
            series.to_xarray().values
        except db.DicomError as error:
            print("refused", series.SeriesDescription, type(error).__name__)
        else:
            print("read", series.SeriesDescription)
    print("reasons", reasons)
    """
)


def test_huge_claims_allocate_nothing(tmp_path: Path) -> None:
    """A billion frames in 2 kB, 65535 x 65535 pixels: refused under a 4 GiB address space."""
    for name, change in (
        ("frames", _set(NumberOfFrames=10**9)),
        ("size", _set(Rows=65535, Columns=65535)),
    ):
        folder = tmp_path / name
        folder.mkdir()
        _folder(folder, change)
        out = subprocess.run(
            [sys.executable, "-c", HUGE, str(folder)], capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr[-4000:]
        assert "refused bad GridError" in out.stdout and "read good" in out.stdout, out.stdout
        assert "its image is not read" in out.stdout


def test_a_frame_past_the_end_names_where_the_file_ends(tmp_path: Path) -> None:
    """10 frames of 64 x 64, the file cut inside frame 4: frame 7 says where the file ends."""
    data = Path(get_testdata_file("emri_small.dcm")).read_bytes()
    cut = len(data) - 6 * 64 * 64 * 2 + 100
    (tmp_path / "cut.dcm").write_bytes(data[:cut])
    database = db.database(tmp_path)
    assert any("pixel data truncated" in p for p in database.problems()["problem"])
    da = database.series()[0].to_xarray()
    with pytest.raises(db.InvalidFileError, match=f"the file ends at byte {cut},"):
        da.isel({da.dims[0]: 7}).values  # noqa: B018


APPENDED = {  # what follows the pixel data, and whether they are refused
    "a second image": (explicit(0x7FE00010, b"OW", bytes(2048)), True),
    "a patient's name and a second image": (
        explicit(0x00100010, b"PN", b"Other^Name") + explicit(0x7FE00010, b"OW", b"ab"),
        True,
    ),
    "a patient's name": (explicit(0x00100010, b"PN", b"Other^Name"), False),
    "padding and a second image": (
        explicit(0xFFFCFFFC, b"OB", bytes(8)) + explicit(0x7FE00010, b"OW", bytes(2048)),
        True,
    ),
    "trailing padding": (explicit(0xFFFCFFFC, b"OB", b"\x01" * 10), False),
    "zeros": (bytes(64), False),
}


@pytest.mark.parametrize("kind", list(APPENDED))
def test_pixel_data_again_after_the_pixel_data_refuses_the_image(tmp_path: Path, kind: str) -> None:
    tail, refused = APPENDED[kind]
    folder = _folder(tmp_path, None)
    with open(folder / "bad.dcm", "ab") as f:
        f.write(tail)
    database = db.database(folder)
    found = _problems(database, "bad.dcm")
    bad = _series(database, "bad")
    if not refused:
        assert np.array_equal(bad.to_xarray().values[0], PIXELS)
        return
    assert any("pixel data again: two images in one file" in p for p in found), found
    with pytest.raises(db.GridError, match="which was meant is a guess"):
        bad.to_xarray()
    assert np.array_equal(_series(database, "good").to_xarray().values[0], PIXELS)


def test_a_second_image_after_implicit_vr_pixels_is_refused(tmp_path: Path) -> None:
    raw = Path(get_testdata_file("MR_small_implicit.dcm")).read_bytes()
    (tmp_path / "twice.dcm").write_bytes(raw + struct.pack("<HHI", 0x7FE0, 0x10, 8) + bytes(8))
    found = _problems(db.database(tmp_path), "twice.dcm")
    assert any("followed by (7FE0,0010) pixel data again" in p for p in found), found


def _groups_cut(tmp_path: Path, items: int) -> db.Database:
    """4 frames whose Per-frame Functional Groups hold ``items`` items, and a good series."""
    pixels = np.arange(4 * 6 * 5, dtype=np.uint16).reshape(4, 6, 5)
    ds = enhanced_mr_image(pixels, positions=[(0.0, 0.0, 2.0 * k) for k in range(4)])
    groups = list(ds.PerFrameFunctionalGroupsSequence)
    extra = copy.deepcopy(groups[-1])
    extra.PlanePositionSequence[0].ImagePositionPatient = [0.0, 0.0, 8.0]
    ds.PerFrameFunctionalGroupsSequence = [*groups, extra][:items]
    write_dataset(ds, tmp_path / "bad.dcm")
    write_dataset(mr_image(PIXELS, SeriesDescription="good"), tmp_path / "good.dcm")
    return db.database(tmp_path)


def test_frames_without_a_per_frame_group_refuse_the_image(tmp_path: Path) -> None:
    """A trial: 4 frames and 3 per-frame items gave a GeometryError ("1 frame of 6x5, no
    orientation: use to_xarrays"), and problems() said nothing. The 4th frame has no
    position of its own: the image is refused, with the reason and the way out."""
    database = _groups_cut(tmp_path, 3)
    said = "'Per-frame Functional Groups Sequence' holds 3 items, but (0028,0008)"
    assert any(said in p for p in _problems(database, "bad.dcm"))
    bad = [s for s in database.series() if s.SeriesDescription != "good"][0]
    with pytest.raises(db.GridError, match=re.escape(f"bad.dcm: (5200,9230) {said}")):
        bad.to_xarray()
    assert np.array_equal(_series(database, "good").to_xarray().values[0], PIXELS)


def test_more_per_frame_groups_than_frames_are_read_and_listed(tmp_path: Path) -> None:
    """The frames take the first items (as pydicom-data's liver_1frame.dcm, cut to its
    first frame, needs), and problems() says so: it said nothing before."""
    database = _groups_cut(tmp_path, 5)
    assert any("holds 5 items" in p for p in _problems(database, "bad.dcm"))
    bad = [s for s in database.series() if s.SeriesDescription != "good"][0]
    assert list(bad.to_xarray().coords["ImagePositionPatient[2]"].values) == [0, 2, 4, 6]
