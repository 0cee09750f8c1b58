"""Lossless frames decoded by imagecodecs equal pydicom's, or are left to pydicom."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from dbdicom import InvalidFileError
from dbdicom._files import pixel_format, read_frames
from dbdicom._files._codecs import decode_lossless

HANDLED = [
    "JPEG-LL.dcm",  # JPEG lossless SV1, signed 16 bit
    "JPGLosslessP14SV1_1s_1f_8b.dcm",  # 8 bit
    "MR2_J2KR.dcm",  # JPEG 2000 lossless, 12 of 16 bits
    "693_J2KR.dcm",  # JPEG 2000 lossless, signed
    "emri_small_jpeg_2k_lossless.dcm",  # 10 frames
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless, signed
    "emri_small_jpeg_ls_lossless.dcm",  # JPEG-LS, 10 frames
]
LEFT_TO_PYDICOM = [
    "SC_rgb_jpeg_gdcm.dcm",  # colour
    "JPEG2000.dcm",  # lossy JPEG 2000
    "693_J2KI.dcm",  # lossy, signed 14 of 16 bits
]


def _reference(path: str) -> np.ndarray:
    ds = pydicom.dcmread(path)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    return ds.pixel_array.reshape((n, *ds.pixel_array.shape[-2:]))


@pytest.mark.parametrize("name", HANDLED)
def test_handled_frames_equal_pydicom(name: str) -> None:
    path = get_testdata_file(name)
    assert path is not None
    fmt, offset, nbytes = pixel_format(path)
    expected = _reference(path)
    frames = list(range(len(expected)))[::-1]  # any order
    got = decode_lossless(path, frames, fmt)
    assert got is not None, "imagecodecs is installed with the test extra"
    np.testing.assert_array_equal(got, expected[frames])
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(read_frames(path, frames, fmt, offset, nbytes), expected[frames])


@pytest.mark.parametrize("name", LEFT_TO_PYDICOM)
def test_others_are_left_to_pydicom(name: str) -> None:
    path = get_testdata_file(name)
    assert path is not None
    fmt, _, _ = pixel_format(path)
    assert decode_lossless(path, [0], fmt) is None


@pytest.mark.parametrize("name", ["JPEG-LL.dcm", "693_J2KR.dcm", "MR_small_jpeg_ls_lossless.dcm"])
def test_a_code_stream_cut_short_is_refused(name: str, tmp_path: Path) -> None:
    """Decoders fill a stream without its end marker with made-up values: an error instead."""
    data = Path(get_testdata_file(name)).read_bytes()
    end = data.rfind(b"\xfe\xff\xdd\xe0")  # the sequence delimiter after the last fragment
    start = data.rfind(b"\xfe\xff\x00\xe0", 0, end)  # the last fragment's item
    (length,) = struct.unpack_from("<I", data, start + 4)
    keep = length // 2 & ~1
    cut = data[: start + 4] + struct.pack("<I", keep) + data[start + 8 : start + 8 + keep]
    path = tmp_path / name
    path.write_bytes(cut + data[end:])
    fmt, _, _ = pixel_format(path)
    with pytest.raises(InvalidFileError, match="cut short: its code stream does not end"):
        decode_lossless(str(path), [0], fmt)


def test_12_bit_jpeg_extended_no_pydicom_plugin_decodes_is_read_as_gdcm_reads_it() -> None:
    """JPEG-lossy.dcm: pydicom's GDCM and Pillow plugins refuse 12-bit JPEG Extended and
    pylibjpeg's fails on it (a trial found it refused with "install python-gdcm", installed
    already); libjpeg-turbo decodes it to SimpleITK's (GDCM's own reader's) values."""
    sitk = pytest.importorskip("SimpleITK")
    path = get_testdata_file("JPEG-lossy.dcm")
    assert path is not None
    with pytest.raises(RuntimeError, match="Unable to decode"):  # pydicom: no plugin can
        pydicom.dcmread(path).pixel_array  # noqa: B018 - the read
    fmt, offset, nbytes = pixel_format(path)
    expected = sitk.GetArrayFromImage(sitk.ReadImage(path)).reshape(1, fmt.rows, fmt.columns)
    got = read_frames(path, [0], fmt, offset, nbytes)
    assert got.dtype == np.uint16 and int(got.max()) == 264
    np.testing.assert_array_equal(got, expected)


def test_a_frame_no_installed_decoder_reads_says_which_were_tried(tmp_path: Path) -> None:
    """Not "install GDCM" where GDCM is installed and failed too."""
    data = bytearray(Path(get_testdata_file("JPEG-lossy.dcm")).read_bytes())
    start = data.find(b"\xff\xc1")  # the frame header (SOF1) of the code stream
    data[start + 4] = 9  # a sample precision no decoder takes (8 or 12 are JPEG Extended's)
    path = tmp_path / "noise.dcm"
    path.write_bytes(bytes(data))
    fmt, offset, nbytes = pixel_format(path)
    with pytest.raises(InvalidFileError, match=r"noise.dcm: frame 0 .* cannot be decoded") as info:
        read_frames(str(path), [0], fmt, offset, nbytes)
    message = str(info.value)
    assert "the installed decoders (" in message
    if "gdcm" in message.split("installed decoders (")[1].split(")")[0]:
        assert "pip install python-gdcm" not in message


def test_one_bit_big_endian_frames_not_starting_on_a_byte_are_read(tmp_path: Path) -> None:
    """pydicom's frame-by-frame reading fails on the second 15-bit frame (a trial's file:
    "the file is damaged"); its whole pixel_array reads them, and so does dbdicom."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, generate_uid

    bits = np.random.default_rng(1).integers(0, 2, size=(2, 3, 5)).astype(np.uint8)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.1"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.NumberOfFrames, ds.Rows, ds.Columns, ds.SamplesPerPixel = 2, 3, 5, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    packed = np.packbits(bits.ravel(), bitorder="little").tobytes()
    ds.PixelData = packed + b"\0" * (len(packed) % 2)
    ds["PixelData"].VR = "OW"
    path = tmp_path / "be1.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=False, enforce_file_format=True)
    assert np.array_equal(pydicom.dcmread(path).pixel_array, bits)
    fmt, offset, nbytes = pixel_format(path)
    for frames in ([0], [1], [1, 0]):
        np.testing.assert_array_equal(read_frames(path, frames, fmt, offset, nbytes), bits[frames])
