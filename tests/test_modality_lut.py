"""Images made physical by a (0028,3000) Modality LUT Sequence read as the table's values.

The stored values of such an image are not physical ones: the table maps
them, as Rescale Slope and Intercept do for most images. Reading the stored
values instead was a silent wrong number (pydicom-data's ``mlut_18.dcm``
read as int16 -2048..2047 where pydicom's ``apply_modality_lut`` gives
uint16 0..65535). Every expected value is pydicom's where pydicom applies
the table, else the table looked up entry by entry here.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

import dbdicom as db

MLUT = "mlut_18.dcm"  # pydicom-data: 12-bit signed CR, a 4096-entry 16-bit table from -2048


def _shipped() -> str:
    path = get_testdata_file(MLUT)
    assert path is not None, f"{MLUT} is not shipped with pydicom-data"
    return str(path)


def _pydicom_values(path: str | Path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    return apply_modality_lut(ds.pixel_array, ds)


def _looked_up(stored: np.ndarray, first: int, table: list[int], dtype: str) -> np.ndarray:
    """The table applied entry by entry, as the standard says (the clipping as pydicom's)."""
    last = len(table) - 1
    out = [table[min(max(int(v) - first, 0), last)] for v in stored.ravel()]
    return np.array(out, dtype=dtype).reshape(stored.shape)


def _image(
    stored: np.ndarray,
    series: str,
    number: int,
    lut: tuple[list[int], int, int, str] | None,
    **values: object,
) -> Dataset:
    """A CR image of ``stored`` (int16 when signed), with the table ``(data, first, bits, VR)``."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
    ds.SOPInstanceUID = generate_uid()
    ds.PatientID, ds.PatientName = "LUT", "Lut^Test"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = series
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CR", 1, number
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 1 if stored.dtype.kind == "i" else 0
    if lut is not None:
        data, first, bits, vr = lut
        item = Dataset()
        descriptor = "SS" if first < 0 else "US"  # as the standard says for signed data
        item.add_new(0x00283002, descriptor, [len(data) % 65536, first, bits])
        if vr == "OW":
            item.add_new(0x00283006, "OW", np.asarray(data, "<u2").tobytes())
        else:
            item.add_new(0x00283006, "US", list(data))
        item.ModalityLUTType = "OD"
        ds.ModalityLUTSequence = Sequence([item])
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.PixelData = stored.astype("<i2" if stored.dtype.kind == "i" else "<u2").tobytes()
    return ds


def _save(ds: Dataset, path: Path, syntax: str = ExplicitVRLittleEndian) -> Path:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _only_series(folder: Path) -> db.Series:
    database = db.database(folder)
    database.mute()
    (series,) = database.series()
    return series


def test_pydicom_datas_file_reads_as_pydicoms_modality_lut_gives() -> None:
    """The bug: stored int16 values came back with no warning."""
    path = _shipped()
    expected = _pydicom_values(path)
    assert expected.dtype == np.uint16 and expected.max() > 2047  # not the stored values
    da = xr.open_dataarray(path)
    assert da.dtype == np.uint16
    np.testing.assert_array_equal(np.squeeze(da.values), expected)


def test_a_database_of_it_reads_the_tables_values(tmp_path: Path) -> None:
    shutil.copy(_shipped(), tmp_path / "cr.dcm")
    series = _only_series(tmp_path)
    expected = _pydicom_values(_shipped())
    da = series.to_xarray()
    assert da.dtype == np.uint16
    np.testing.assert_array_equal(np.squeeze(da.values), expected)
    np.testing.assert_array_equal(np.squeeze(series.array()[0]), expected)


def test_from_a_zip_archive_too(tmp_path: Path) -> None:
    """An archive's object is read through a local copy, the table with it."""
    with zipfile.ZipFile(tmp_path / "cr.zip", "w") as z:
        z.write(_shipped(), "cr.dcm")
    database = db.database(tmp_path / "cr.zip")
    database.mute()
    values = database.series()[0].to_xarray().values
    np.testing.assert_array_equal(np.squeeze(values), _pydicom_values(_shipped()))


RAMP = np.arange(-40, 40, dtype=np.int16).reshape(8, 10) * 50  # -2000..1950, some past the table


@pytest.mark.parametrize(
    ("syntax", "undefined", "lut", "dtype"),
    [
        (
            ImplicitVRLittleEndian,
            False,
            ([(3 * i) % 65536 for i in range(40000)], 45536, 16, "OW"),  # 45536: -20000
            "u2",
        ),
        (
            ImplicitVRLittleEndian,
            False,
            ([(7 * i) % 65536 for i in range(3000)], -1500, 16, "OW"),
            "u2",
        ),
        (ImplicitVRLittleEndian, True, ([(3 * i) % 256 for i in range(1000)], -300, 8, "US"), "u1"),
        (ExplicitVRLittleEndian, False, ([i % 4096 for i in range(2048)], -1024, 12, "US"), "u2"),
        (ExplicitVRLittleEndian, True, ([(65535 - i) for i in range(4096)], 63488, 16, "OW"), "u2"),
    ],
    ids=[
        "implicit-40000-entries-read-as-SS-by-pydicom",
        "implicit-defined-length-16bit-OW",
        "implicit-undefined-length-8bit-US",
        "explicit-12bit-entries",
        "explicit-undefined-first-value-stored-unsigned",
    ],
)
def test_tables_built_byte_by_byte(
    tmp_path: Path,
    syntax: str,
    undefined: bool,
    lut: tuple[list[int], int, int, str],
    dtype: str,
) -> None:
    """Both VRs, both sequence encodings, 8, 12 and 16 bits an entry, and a first value
    (-2048) written as US 63488 although the pixels are signed (the standard: SS then)."""
    ds = _image(RAMP, generate_uid(), 1, lut)
    ds["ModalityLUTSequence"].is_undefined_length = undefined
    ds.ModalityLUTSequence[0].is_undefined_length_sequence_item = undefined
    path = _save(ds, tmp_path / "in" / "lut.dcm", syntax)
    raw = path.read_bytes()
    assert (b"\x28\x00\x00\x30" in raw) and ((b"\xff\xff\xff\xff" in raw) == undefined)
    data, first, bits, _ = lut
    first = first - 65536 if first >= 0x8000 else first
    expected = _looked_up(RAMP, first, data, dtype)
    if syntax == ExplicitVRLittleEndian and bits in (8, 16) and first == lut[1]:
        # where pydicom applies the table, it agrees (of Implicit VR it reads the signed
        # first value as unsigned; it makes no dtype of 12 bits)
        np.testing.assert_array_equal(_pydicom_values(path), expected)
    da = _only_series(tmp_path / "in").to_xarray()
    assert da.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.squeeze(da.values), expected)


def test_the_table_wins_over_a_rescale_as_in_pydicom(tmp_path: Path) -> None:
    table = [i * 10 for i in range(100)]
    ds = _image(RAMP // 50, generate_uid(), 1, (table, -40, 16, "US"))
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 3, -7, "US"
    path = _save(ds, tmp_path / "in" / "both.dcm")
    expected = _looked_up(RAMP // 50, -40, table, "u2")
    np.testing.assert_array_equal(_pydicom_values(path), expected)
    np.testing.assert_array_equal(np.squeeze(_only_series(tmp_path / "in").to_xarray()), expected)


@pytest.mark.parametrize("table_first", [True, False], ids=["table-first", "table-last"])
def test_files_with_and_without_a_table_in_one_folder(tmp_path: Path, table_first: bool) -> None:
    """Headers read after a run of like headers go through the layout learnt from those
    (:mod:`dbdicom._files._layout`): each file with the table must be known to have it, and
    each without it not to, whichever come first."""
    uid = generate_uid()
    table = [1000 + 7 * i for i in range(128)]  # small: the header is read in one window
    expected = []
    for k in range(12):
        stored = RAMP // 50 + k
        with_table = (k < 8) == table_first
        ds = _image(stored, uid, k + 1, (table, -64, 16, "OW") if with_table else None)
        ds.ImagePositionPatient = [0, 0, float(k)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        _save(ds, tmp_path / "in" / f"{k:02d}.dcm")
        expected.append(_looked_up(stored, -64, table, "u2") if with_table else stored)
    da = _only_series(tmp_path / "in").to_xarray()
    np.testing.assert_array_equal(da.values.reshape(12, 8, 10), np.stack(expected))


def test_a_table_that_cannot_be_applied_is_an_error_never_the_stored_values(
    tmp_path: Path,
) -> None:
    ds = _image(RAMP, generate_uid(), 1, ([5] * 100, 0, 16, "US"))
    ds.ModalityLUTSequence[0].LUTDescriptor = [4096, 0, 16]  # more entries than the data
    _save(ds, tmp_path / "in" / "short.dcm")
    series = _only_series(tmp_path / "in")
    with pytest.raises(db.InvalidFileError, match=r"short\.dcm.*\(0028,3000\).*4096") as info:
        series.to_xarray().values  # noqa: B018
    assert "subseries" in str(info.value)  # the way out


def test_a_derived_series_does_not_carry_the_table(tmp_path: Path) -> None:
    """Derived values are physical: writing the source's table with them would map them
    again when read back."""
    shutil.copy(_shipped(), tmp_path / "cr.dcm")
    source = _only_series(tmp_path)
    derived = source.to_xarray().astype(np.float32) / 2
    out = source.new_sibling(SeriesDescription="half")
    out.set_xarray(derived)
    np.testing.assert_allclose(out.to_xarray().values, derived.values, rtol=1e-6)
    out.database.save()
    written = [pydicom.dcmread(p) for p in out.files()]
    assert written and not any("ModalityLUTSequence" in ds for ds in written)


def test_a_table_added_by_another_tool_after_the_index_is_a_stale_file(tmp_path: Path) -> None:
    """Indexed without a table, rewritten with one (the same dtype): the array's rescale was
    chosen without it, so a read says the file changed instead of mixing the two."""
    plain = np.abs(RAMP).astype(np.uint16)
    ds = _image(plain, generate_uid(), 1, None)
    path = _save(ds, tmp_path / "in" / "x.dcm")
    series = _only_series(tmp_path / "in")
    da = series.to_xarray()
    ds = pydicom.dcmread(path)
    item = Dataset()
    item.add_new(0x00283002, "US", [4096, 0, 16])
    item.add_new(0x00283006, "US", [4095 - i for i in range(4096)])
    ds.ModalityLUTSequence = Sequence([item])
    ds.save_as(path)
    with pytest.raises(db.StaleFileError, match=r"x\.dcm changed.*\(0028,3000\)"):
        da.values  # noqa: B018


def test_eight_bit_entries_above_255_are_an_error_never_wrapped(tmp_path: Path) -> None:
    """A descriptor of 8 bits with LUT Data up to 511: pydicom raises OverflowError; read
    as uint8 the entries would wrap (331 read as 75)."""
    ds = _image(RAMP // 50, generate_uid(), 1, ([256 + i for i in range(256)], -40, 8, "US"))
    _save(ds, tmp_path / "in" / "wide.dcm")
    with pytest.raises(db.InvalidFileError, match=r"wide\.dcm.*511.*8 bits"):
        _only_series(tmp_path / "in").to_xarray().values  # noqa: B018


def test_an_empty_sequence_leaves_the_rescale_as_pydicom_does(tmp_path: Path) -> None:
    ds = _image(RAMP // 50, generate_uid(), 1, None)
    ds.ModalityLUTSequence = Sequence([])
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 2, -3, "US"
    path = _save(ds, tmp_path / "in" / "empty.dcm")
    expected = _pydicom_values(path)
    np.testing.assert_array_equal(expected, (RAMP // 50) * 2.0 - 3)
    got = _only_series(tmp_path / "in").to_xarray().values
    np.testing.assert_array_equal(np.squeeze(got), expected)
