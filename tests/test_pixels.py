"""Reading frames: the values pydicom gives, by the fast path or through pydicom,
and errors that name the file, the frame and the way out."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pydicom
import pytest
from bad_files import write_truncated
from builders import Manifest
from pydicom.data import get_testdata_file
from pydicom.datadict import keyword_for_tag
from pydicom.pixels import pack_bits

import dbdicom as db
from dbdicom._errors import install_hint
from dbdicom._files import (
    FORMAT_TAGS,
    PixelFormat,
    pixel_format,
    read_any_header,
    read_frames,
    read_frames_into,
)
from dbdicom._templates import mr_image, write_dataset

KEYWORDS = {tag: keyword_for_tag(tag) for tag in FORMAT_TAGS}


def indexed(path: str | Path) -> tuple[PixelFormat, int, int]:
    """Format, offset and length as the index records them (one fast header read)."""
    header = read_any_header(os.fspath(path), FORMAT_TAGS)
    values = {KEYWORDS[tag]: value for tag, value in header.values.items()}
    values["TransferSyntaxUID"] = header.transfer_syntax
    if header.encapsulated:
        assert header.pixel_offset == -1 and header.pixel_length == -1
    return PixelFormat.from_keywords(values), header.pixel_offset, header.pixel_length


def reference(path: str | Path, fmt: PixelFormat) -> np.ndarray:
    """``dcmread(path).pixel_array`` as (frames, *frame_shape)."""
    ds = pydicom.dcmread(path)
    n = int(ds.get("NumberOfFrames") or 1)
    return ds.pixel_array.reshape(n, *fmt.frame_shape)


def shipped(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None, f"{name} is not shipped with pydicom / pydicom-data"
    return os.fspath(path)


def assert_same(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


# ----------------------------------------------------------------------------- PixelFormat


@pytest.mark.parametrize(
    "bits, signed, dtype",
    [
        (1, 0, "uint8"),
        (8, 0, "uint8"),
        (8, 1, "int8"),
        (16, 0, "uint16"),
        (16, 1, "int16"),
        (32, 0, "uint32"),
        (32, 1, "int32"),
    ],
    ids=lambda v: str(v),
)
def test_stored_dtype(bits: int, signed: int, dtype: str) -> None:
    fmt = PixelFormat(4, 6, bits_allocated=bits, pixel_representation=signed)
    assert fmt.dtype == np.dtype(dtype) and fmt.dtype.isnative


def test_frame_shape_and_bytes() -> None:
    assert PixelFormat(4, 6).frame_shape == (4, 6)
    assert PixelFormat(4, 6).frame_bytes == 48
    rgb = PixelFormat(4, 6, samples=3, bits_allocated=8)
    assert rgb.frame_shape == (4, 6, 3) and rgb.frame_bytes == 72
    assert PixelFormat(5, 3, bits_allocated=1).frame_bytes == 2  # 15 bits


def test_unsupported_bits_allocated_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\(0028,0100\) 'Bits Allocated' is 12"):
        _ = PixelFormat(4, 4, bits_allocated=12).dtype


def test_format_is_small_frozen_and_picklable() -> None:
    fmt = PixelFormat(4, 6, samples=3, bits_allocated=8, photometric="RGB")
    assert pickle.loads(pickle.dumps(fmt)) == fmt
    with pytest.raises(AttributeError):
        fmt.rows = 5  # type: ignore[misc]
    assert not hasattr(fmt, "__dict__")


def test_from_keywords_takes_missing_values_as_defaults() -> None:
    row = {"Rows": 4, "Columns": 6, "SamplesPerPixel": float("nan"), "BitsAllocated": None}
    assert PixelFormat.from_keywords(row) == PixelFormat(4, 6)
    with pytest.raises(KeyError, match="Rows"):
        PixelFormat.from_keywords({"Columns": 6})


def test_pixel_format_is_what_the_index_records() -> None:
    path = shipped("emri_small.dcm")
    assert pixel_format(path) == indexed(path)


# ----------------------------------------------------------------------------- fixture files

DESCRIPTIONS = ["VFA", "ME enhanced", "CT abdomen", "T1w RLE", "PD implicit", "T2w"]


@pytest.mark.parametrize("description", DESCRIPTIONS, ids=DESCRIPTIONS)
def test_fixture_series_read_as_written(
    database_folder: tuple[Path, Manifest], description: str
) -> None:
    root, manifest = database_folder
    series = manifest.series_by_description(description)
    for instance in series.instances:
        path = root / instance.path
        fmt, offset, nbytes = indexed(path)
        assert (offset >= 0) == (description != "T1w RLE")  # native data: fast path
        got = read_frames(path, range(instance.n_frames), fmt, offset, nbytes)
        assert_same(got, reference(path, fmt))
        written = instance.pixels.reshape(instance.n_frames, *fmt.frame_shape)
        np.testing.assert_array_equal(got, written)
        assert got.flags.writeable and got.flags.c_contiguous


def test_fast_path_parses_nothing(database_folder: tuple[Path, Manifest], tmp_path: Path) -> None:
    """With the recorded offset, a file whose header is destroyed still reads."""
    root, manifest = database_folder
    instance = manifest.series_by_description("ME enhanced").instances[0]
    fmt, offset, nbytes = indexed(root / instance.path)
    broken = tmp_path / "no_header"
    data = bytearray((root / instance.path).read_bytes())
    data[:offset] = b"\xff" * offset  # no preamble, no DICM, no elements
    broken.write_bytes(bytes(data))
    got = read_frames(broken, [7, 2, 3], fmt, offset, nbytes)
    np.testing.assert_array_equal(got, instance.pixels[[7, 2, 3]])
    with pytest.raises(db.InvalidFileError, match="no_header"):
        read_frames(broken, [0], fmt)  # without the offset it must parse, and cannot


@pytest.mark.parametrize("with_offset", [True, False], ids=["indexed", "no-offset"])
def test_frames_in_any_order_with_repeats(
    database_folder: tuple[Path, Manifest], with_offset: bool
) -> None:
    root, manifest = database_folder
    instance = manifest.series_by_description("ME enhanced").instances[0]
    fmt, offset, nbytes = indexed(root / instance.path)
    if not with_offset:
        offset = nbytes = -1
    order = [5, 6, 7, 0, 1, 1, 3, 2]
    got = read_frames(root / instance.path, order, fmt, offset, nbytes)
    np.testing.assert_array_equal(got, instance.pixels[order])
    empty = read_frames(root / instance.path, [], fmt, offset, nbytes)
    assert empty.shape == (0, 32, 32) and empty.dtype == np.uint16


# ----------------------------------------------------------------------------- shipped files

SHIPPED = {
    "MR_small.dcm": "Explicit VR LE, 16 bit",
    "CT_small.dcm": "signed 16 bit",
    "emri_small.dcm": "Enhanced MR, 10 frames",
    "OBXXXX1A.dcm": "ultrasound, 8 bit",
    "SC_rgb.dcm": "RGB 8 bit, interleaved",
    "color-pl.dcm": "RGB 8 bit, planar configuration 1",
    "SC_rgb_16bit.dcm": "RGB 16 bit",
    "SC_rgb_32bit_2frame.dcm": "RGB 32 bit, 2 frames",
    "SC_ybr_full_uncompressed.dcm": "YBR_FULL native: pydicom converts to RGB",
    "rtdose.dcm": "Implicit VR, 32 bit, 15 frames",
    "liver.dcm": "Segmentation, 1 bit, 3 frames",
    "mlut_18.dcm": "signed, BitsStored 12 < 16 with unused high bits set",
    "MR_small_bigendian.dcm": "Explicit VR Big Endian",
    "emri_small_big_endian.dcm": "Big Endian, 10 frames",
    "image_dfl.dcm": "Deflated Explicit VR LE",
    "MR_small_RLE.dcm": "RLE Lossless",
    "emri_small_RLE.dcm": "RLE Lossless, 10 frames",
    "SC_rgb_rle.dcm": "RLE Lossless, RGB",
    "SC_rgb_jpeg_dcmtk.dcm": "JPEG Baseline, YBR_FULL_422 -> RGB",
    "SC_jpeg_no_color_transform.dcm": "JPEG Baseline, RGB",
    "JPGExtended.dcm": "JPEG Extended 12 bit",
    "JPEG-LL.dcm": "JPEG Lossless SV1, signed",
    "SC_rgb_jpeg_gdcm.dcm": "JPEG Lossless SV1, RGB",
    "MR_small_jpeg_ls_lossless.dcm": "JPEG-LS Lossless, signed",
    "emri_small_jpeg_ls_lossless.dcm": "JPEG-LS Lossless, 10 frames",
    "JPEGLSNearLossless_16.dcm": "JPEG-LS Near-Lossless",
    "JPEG2000.dcm": "JPEG 2000",
    "MR_small_jp2klossless.dcm": "JPEG 2000 Lossless",
    "emri_small_jpeg_2k_lossless.dcm": "JPEG 2000 Lossless, 10 frames",
    "US1_J2KR.dcm": "JPEG 2000 Lossless, RGB",
}


@pytest.mark.parametrize("name", list(SHIPPED), ids=list(SHIPPED))
def test_shipped_files_equal_pydicom(name: str) -> None:
    path = shipped(name)
    fmt, offset, nbytes = indexed(path)
    expected = reference(path, fmt)
    assert_same(read_frames(path, range(len(expected)), fmt, offset, nbytes), expected)
    # without the index's offset (a file indexed by pydicom, or a stale index)
    assert_same(read_frames(path, range(len(expected)), fmt), expected)


#: the shipped files whose frames are a plain copy (read straight into an array)
DIRECT = ("MR_small.dcm", "CT_small.dcm", "emri_small.dcm", "OBXXXX1A.dcm", "mlut_18.dcm")


@pytest.mark.parametrize("name", list(SHIPPED), ids=list(SHIPPED))
def test_read_straight_into_an_array_or_refused(name: str) -> None:
    """Frames read into the caller's array equal pydicom's; what needs more is refused."""
    path = shipped(name)
    fmt, offset, nbytes = indexed(path)
    expected = reference(path, fmt)
    order = list(range(len(expected)))[::-1]  # any order
    dest = np.full((len(order), *fmt.frame_shape), 7, fmt.dtype if fmt.float_bits == 0 else "f8")
    st = os.stat(path)
    done = read_frames_into(path, order, fmt, offset, nbytes, dest, (st.st_size, st.st_mtime_ns))
    assert done == (name in DIRECT)
    if done:
        assert_same(dest, expected[order])  # mlut_18: the unused high bits sign-extended


def test_read_straight_into_an_array_refuses_changed_and_short_files(tmp_path: Path) -> None:
    path = tmp_path / "mr.dcm"
    shutil.copy(shipped("MR_small.dcm"), path)
    fmt, offset, nbytes = indexed(path)
    dest = np.empty((1, *fmt.frame_shape), fmt.dtype)
    st = os.stat(path)
    assert read_frames_into(str(path), [0], fmt, offset, nbytes, dest, (st.st_size, st.st_mtime_ns))
    # another size or time than indexed: not read here (the general read looks again)
    assert not read_frames_into(str(path), [0], fmt, offset, nbytes, dest, (st.st_size + 1, 0))
    assert not read_frames_into(str(path), [1], fmt, offset, nbytes, dest)  # no frame 1
    assert not read_frames_into(str(path), [0], fmt, -1, nbytes, dest)  # offset unknown
    with open(path, "r+b") as f:
        f.truncate(offset + nbytes // 2)  # cut short: the general read says how
    assert not read_frames_into(str(path), [0], fmt, offset, nbytes, dest)
    with pytest.raises(db.InvalidFileError, match="damaged"):
        read_frames(path, [0], fmt, offset, nbytes)


def test_read_straight_into_an_array_is_little_endian_on_any_host() -> None:
    """The stored bytes are Little Endian; ``fmt.dtype`` is native.

    On a big-endian host (s390x) ``fmt.dtype`` is ``>u2``/``>i2``: a raw copy of
    the file's bytes into it gives byte-swapped values, where ``read_frames``
    swaps them (``_read_native``: ``astype(native)``). Simulated here by a
    destination of the big-endian dtype a big-endian host's ``fmt.dtype`` is:
    the values must be right, or the read declined.
    """
    for name in ("CT_small.dcm", "emri_small.dcm"):
        path = shipped(name)
        fmt, offset, nbytes = indexed(path)
        expected = read_frames(path, [0], fmt, offset, nbytes)
        dest = np.zeros((1, *fmt.frame_shape), fmt.dtype.newbyteorder(">"))
        if read_frames_into(path, [0], fmt, offset, nbytes, dest):
            np.testing.assert_array_equal(dest, expected)


@pytest.mark.parametrize(
    "name", ["emri_small.dcm", "emri_small_RLE.dcm", "emri_small_jpeg_2k_lossless.dcm"]
)
def test_only_requested_frames_in_requested_order(name: str) -> None:
    path = shipped(name)
    fmt, offset, nbytes = indexed(path)
    order = [9, 0, 4, 5, 5]
    assert_same(read_frames(path, order, fmt, offset, nbytes), reference(path, fmt)[order])


def _write_raw(path: Path, pixel_bytes: bytes, **attributes: object) -> Path:
    """A valid MR file whose Image Pixel module is replaced by ``attributes``."""
    ds = mr_image(np.zeros((2, 2), np.uint16))
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = pixel_bytes
    ds["PixelData"].VR = "OB" if ds.BitsAllocated <= 8 else "OW"
    return write_dataset(ds, path)


def test_bit_packed_frames_not_on_byte_boundaries(tmp_path: Path) -> None:
    frames = np.random.default_rng(1).integers(0, 2, (5, 5, 3), dtype=np.uint8)  # 15 bits each
    path = _write_raw(
        tmp_path / "bits",
        pack_bits(frames),
        Rows=5,
        Columns=3,
        NumberOfFrames=5,
        BitsAllocated=1,
        BitsStored=1,
        HighBit=0,
        PixelRepresentation=0,
    )
    fmt, offset, nbytes = indexed(path)
    assert offset >= 0
    assert_same(read_frames(path, range(5), fmt, offset, nbytes), reference(path, fmt))
    assert_same(read_frames(path, [3, 1, 2], fmt, offset, nbytes), frames[[3, 1, 2]])


def test_planar_multiframe_colour(tmp_path: Path) -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
    planes = np.ascontiguousarray(rgb.transpose(0, 3, 1, 2))  # frame, sample, row, column
    path = _write_raw(
        tmp_path / "planar",
        planes.tobytes(),
        Rows=4,
        Columns=5,
        NumberOfFrames=3,
        SamplesPerPixel=3,
        PhotometricInterpretation="RGB",
        PlanarConfiguration=1,
        BitsAllocated=8,
        BitsStored=8,
        HighBit=7,
    )
    fmt, offset, nbytes = indexed(path)
    assert fmt.planar_configuration == 1 and offset >= 0
    assert_same(read_frames(path, [2, 0], fmt, offset, nbytes), rgb[[2, 0]])
    assert_same(read_frames(path, range(3), fmt, offset, nbytes), reference(path, fmt))


@pytest.mark.parametrize(
    "keyword, bits, syntax",
    [
        ("FloatPixelData", 32, "1.2.840.10008.1.2.1"),
        ("FloatPixelData", 32, "1.2.840.10008.1.2"),
        ("DoubleFloatPixelData", 64, "1.2.840.10008.1.2.1"),
    ],
    ids=["float-explicit", "float-implicit", "double-explicit"],
)
def test_float_pixel_data(tmp_path: Path, keyword: str, bits: int, syntax: str) -> None:
    values = np.random.default_rng(3).normal(size=(3, 4, 5)).astype(f"<f{bits // 8}")
    ds = mr_image(np.zeros((2, 2), np.uint16))
    for unused in ("PixelData", "BitsStored", "HighBit", "PixelRepresentation"):
        delattr(ds, unused)
    ds.Rows, ds.Columns, ds.NumberOfFrames, ds.BitsAllocated = 4, 5, 3, bits
    setattr(ds, keyword, values.tobytes())
    path = write_dataset(ds, tmp_path / "map", transfer_syntax=syntax)
    fmt, offset, nbytes = indexed(path)
    expected = reference(path, fmt)
    assert expected.dtype == values.dtype.newbyteorder("=")
    assert_same(read_frames(path, range(3), fmt, offset, nbytes), expected)
    assert_same(read_frames(path, [2, 0], fmt), expected[[2, 0]])


# ----------------------------------------------------------------------------- workers


def test_reads_in_threads_and_processes(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    jobs = []
    for instance in manifest.instances:
        path = str(root / instance.path)
        fmt, offset, nbytes = indexed(path)
        jobs.append((path, list(range(instance.n_frames)), fmt, offset, nbytes))
    expected = [
        i.pixels.reshape(i.n_frames, *job[2].frame_shape)
        for i, job in zip(manifest.instances, jobs, strict=True)
    ]
    columns = list(zip(*jobs, strict=True))  # paths, frames, formats, offsets, lengths
    with ThreadPoolExecutor(4) as pool:
        for got, want in zip(pool.map(read_frames, *columns), expected, strict=True):
            np.testing.assert_array_equal(got, want)
    with ProcessPoolExecutor(2) as pool:  # arguments and results cross a pickle
        for got, want in zip(pool.map(read_frames, *columns), expected, strict=True):
            np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("with_offset", [True, False], ids=["indexed", "no-offset"])
def test_truncated_pixel_data(tmp_path: Path, with_offset: bool) -> None:
    _, cut = write_truncated(tmp_path)
    fmt, offset, nbytes = indexed(cut)
    assert offset >= 0 and nbytes == 2048  # the element says 2048, the file has less
    found = cut.stat().st_size - offset
    args = (offset, nbytes) if with_offset else ()
    with pytest.raises(db.InvalidFileError) as info:
        read_frames(cut, [0], fmt, *args)
    message = str(info.value)
    for part in (
        str(cut),
        "frame 0",
        "(7FE0,0010) 'Pixel Data'",
        "2048 bytes",
        f"only {found} of them",
        "damaged",
        "subseries",
    ):
        assert part in message, f"{part!r} not in {message!r}"


def test_truncated_header_is_an_invalid_file(tmp_path: Path) -> None:
    header_cut, _ = write_truncated(tmp_path)
    with pytest.raises(db.InvalidFileError, match="truncated_header"):
        read_frames(header_cut, [0], PixelFormat(32, 32))


def test_multiframe_cut_in_frame_5(database_folder: tuple[Path, Manifest], tmp_path: Path) -> None:
    root, manifest = database_folder
    instance = manifest.series_by_description("ME enhanced").instances[0]
    fmt, offset, nbytes = indexed(root / instance.path)
    cut = tmp_path / "EMR_cut"
    cut.write_bytes((root / instance.path).read_bytes()[: offset + 5 * 2048 + 100])
    np.testing.assert_array_equal(
        read_frames(cut, range(5), fmt, offset, nbytes), instance.pixels[:5]
    )
    with pytest.raises(db.InvalidFileError, match=r"frame 5 is cut short.*only 100 of them"):
        read_frames(cut, [1, 2, 3, 4, 5, 6], fmt, offset, nbytes)
    with pytest.raises(IndexError, match="has 8 frames"):
        read_frames(cut, [8], fmt, offset, nbytes)


@pytest.mark.parametrize(
    "name, frame, n_frames",
    [
        ("MR_small.dcm", 1, 1),
        ("emri_small.dcm", 10, 10),
        ("emri_small_RLE.dcm", 10, 10),
        ("emri_small_jpeg_2k_lossless.dcm", 12, 10),
        ("emri_small_big_endian.dcm", 10, 10),
        ("JPEG2000.dcm", 1, 1),
    ],
    ids=lambda v: str(v),
)
def test_frame_out_of_range(name: str, frame: int, n_frames: int) -> None:
    path = shipped(name)
    fmt, offset, nbytes = indexed(path)
    plural = "frame" if n_frames == 1 else "frames"
    with pytest.raises(IndexError, match=f"frame {frame} .* has {n_frames} {plural}") as info:
        read_frames(path, [0, frame], fmt, offset, nbytes)
    assert path in str(info.value)
    with pytest.raises(IndexError, match="start at 0"):
        read_frames(path, [-1], fmt, offset, nbytes)


def _fragment_offsets(data: bytes) -> list[int]:
    """Byte offsets of the values of the items of encapsulated Pixel Data."""
    pos = data.rfind(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff") + 12
    offsets = []
    while data[pos : pos + 4] == b"\xfe\xff\x00\xe0":
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        offsets.append(pos + 8)
        pos += 8 + length
    return offsets


def test_corrupt_compressed_frame(tmp_path: Path) -> None:
    path = tmp_path / "emri_rle_bad.dcm"
    shutil.copyfile(shipped("emri_small_RLE.dcm"), path)
    data = bytearray(path.read_bytes())
    frame3 = _fragment_offsets(bytes(data))[1 + 3]  # item 0 is the basic offset table
    data[frame3 : frame3 + 4] = (7).to_bytes(4, "little")  # the RLE header: 7 segments
    path.write_bytes(bytes(data))
    fmt, offset, nbytes = indexed(path)
    expected = reference(shipped("emri_small_RLE.dcm"), fmt)
    assert_same(read_frames(path, [0, 1, 2, 4], fmt), expected[[0, 1, 2, 4]])
    with pytest.raises(db.InvalidFileError) as info:
        read_frames(path, [2, 3], fmt)
    message = str(info.value)
    assert str(path) in message and "frame 3" in message
    assert "'RLE Lossless' (1.2.840.10008.1.2.5)" in message and "segments" in message
    assert isinstance(info.value.__cause__, RuntimeError | ValueError)


def test_frames_of_another_shape_are_refused() -> None:
    path = shipped("MR_small_RLE.dcm")
    with pytest.raises(db.InvalidFileError, match=r"frames are \(64, 64\) but \(32, 32\)"):
        read_frames(path, [0], PixelFormat(32, 32, transfer_syntax="1.2.840.10008.1.2.5"))


BLOCKED_DECODERS = """
import json, sys
for name in ("pylibjpeg", "libjpeg", "openjpeg", "rle", "gdcm", "PIL", "jpeg_ls", "imagecodecs"):
    sys.modules[name] = None  # as if not installed
import dbdicom
from dbdicom._files import pixel_format, read_frames
results = {}
for path in sys.argv[1:]:
    fmt, offset, nbytes = pixel_format(path)
    try:
        results[path] = ["decoded", read_frames(path, [0], fmt, offset, nbytes).shape]
    except dbdicom.DecoderNotFoundError as exc:
        kinds = [isinstance(exc, k) for k in (ImportError, dbdicom.DicomError)]
        results[path] = [type(exc).__name__, str(exc), kinds]
print(json.dumps(results))
"""

NEEDS_PLUGIN = {
    "SC_jpeg_no_color_transform.dcm": "JPEG Baseline (Process 1)",
    "JPEG-LL.dcm": "JPEG Lossless, Non-Hierarchical, First-Order Prediction",
    "MR_small_jpeg_ls_lossless.dcm": "JPEG-LS Lossless Image Compression",
    "MR_small_jp2klossless.dcm": "JPEG 2000 Image Compression (Lossless Only)",
}


def test_missing_decoder_names_the_extra_to_install(tmp_path: Path) -> None:
    paths = [shipped(name) for name in NEEDS_PLUGIN] + [shipped("MR_small_RLE.dcm")]
    out = subprocess.run(
        [sys.executable, "-c", BLOCKED_DECODERS, *paths],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    for path, (name, syntax) in zip(paths, NEEDS_PLUGIN.items(), strict=False):
        kind, message, kinds = results[path]
        assert kind == "DecoderNotFoundError" and kinds == [True, True], name
        uid = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        for part in (path, uid, syntax, install_hint("jpeg")):
            assert part in message, f"{part!r} not in {message!r}"
    assert results[paths[-1]] == ["decoded", [1, 64, 64]]  # RLE needs no plugin


def test_a_missing_extra_is_named_by_its_packages_not_by_dbdicom_on_pypi() -> None:
    """The way out of a missing optional package installs that package: the name dbdicom on
    PyPI is another project's, which `pip install "dbdicom[jpeg]"` installed in place of this
    one (trial K)."""
    hint = install_hint("jpeg")
    assert hint.startswith("pip install ") and "dbdicom" not in hint
    for package in ("pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "imagecodecs"):
        assert f"'{package}>=" in hint
    assert "'nibabel>=" in install_hint("nifti")


def _dist_info(folder: Path, requires: str, direct_url: str | None = None) -> Path:
    """An installed distribution named dbdicom in ``folder`` (a dist-info folder, as pip makes)."""
    info = folder / "dbdicom-9.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: dbdicom\nVersion: 9.0\nProvides-Extra: jpeg\n"
        f'Requires-Dist: {requires}; extra == "jpeg"\n'
    )
    (info / "RECORD").write_text("dbdicom/__init__.py,,\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(
            json.dumps({"url": direct_url, "dir_info": {"editable": True}})
        )
    return folder


@pytest.fixture
def fresh_hints() -> Iterator[None]:
    install_hint.cache_clear()
    yield
    install_hint.cache_clear()


def test_another_projects_installed_dbdicom_is_not_read_for_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_hints: None
) -> None:
    """On PyPI dbdicom is another project: installed beside this one run from its source
    folder, its metadata named its own packages for an extra. Trusted only when it is this
    code's (its files, or an editable install of this source folder)."""
    monkeypatch.syspath_prepend(str(_dist_info(tmp_path / "other", "otherpkg>=1")))
    hint = install_hint("jpeg")
    assert "otherpkg" not in hint and "'pylibjpeg>=" in hint
    install_hint.cache_clear()
    source = Path(db.__file__).resolve().parent.parent  # an editable install of this code
    mine = _dist_info(tmp_path / "mine", "minepkg>=2", source.as_uri())
    monkeypatch.syspath_prepend(str(mine))
    assert install_hint("jpeg") == "pip install 'minepkg>=2'"
