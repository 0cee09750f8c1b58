"""Colour images read as RGB: PALETTE COLOR through its palette, YBR converted.

Every expected value is pydicom's, frame by frame: ``apply_color_lut`` of the
stored indices for palettes, ``convert_color_space`` (through its decoders'
``as_rgb``) for YBR data.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut, convert_color_space, iter_pixels
from pydicom.uid import ImplicitVRLittleEndian
from recorders import Recorder, count_frame_reads

import dbdicom as db
from dbdicom._files import pixel_format, read_frames

PALETTES = {
    "OBXXXX1A.dcm": "US, 16-bit palette, one frame",
    "OBXXXX1A_2frame.dcm": "US cine, 2 frames",
    "OBXXXX1A_rle_2frame.dcm": "RLE Lossless, 2 frames",
    "OBXXXX1A_expb_2frame.dcm": "Explicit VR Big Endian, 2 frames",
    "gdcm-US-ALOKA-16.dcm": "segmented palette, 16-bit indices",
    "examples_palette.dcm": "pydicom-data's palette example",
}
YBR = {
    "SC_ybr_full_uncompressed.dcm": "YBR_FULL native",
    "SC_ybr_full_422_uncompressed.dcm": "YBR_FULL_422 native (subsampled)",
    "SC_rgb_dcmtk_+eb+cy+np.dcm": "JPEG Baseline, YBR_FULL_422",
    "SC_rgb_dcmtk_+eb+cy+n1.dcm": "JPEG Baseline, YBR_FULL",
    "examples_ybr_color.dcm": "JPEG Baseline, YBR_FULL_422, 30 frames",
}


def _shipped(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None, f"{name} is not shipped with pydicom / pydicom-data"
    return str(path)


def _database(tmp_path: Path, path: str) -> db.Database:
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(path, folder / Path(path).name)
    database = db.database(folder)
    database.mute()
    return database


def _palette_rgb(path: str) -> np.ndarray:
    """pydicom's RGB of every frame, shape (frames, rows, columns, 3)."""
    ds = pydicom.dcmread(path)
    frames = [apply_color_lut(f, ds)[..., :3] for f in iter_pixels(path)]
    return np.stack(frames)


def _ybr_rgb(path: str) -> np.ndarray:
    """pydicom's YBR frames, converted to RGB with ``convert_color_space``."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    photometric = ds.PhotometricInterpretation
    frames = [convert_color_space(f, photometric, "RGB") for f in iter_pixels(path, as_rgb=False)]
    return np.stack(frames)


def _eight_bit_palette(tmp_path: Path) -> str:
    """A PALETTE COLOR file with 8-bit entries (OB tables), first mapped value 2."""
    ds = pydicom.dcmread(_shipped("OBXXXX1A_2frame.dcm"))
    lut = (np.arange(256) * np.array([[1], [3], [7]])) % 256
    for i, colour in enumerate(("Red", "Green", "Blue")):
        ds[f"{colour}PaletteColorLookupTableDescriptor"].value = [256, 2, 8]
        ds[f"{colour}PaletteColorLookupTableData"].value = lut[i].astype(np.uint8).tobytes()
        ds[f"{colour}PaletteColorLookupTableData"].VR = "OW"
    for keyword in ("SegmentedRedPaletteColorLookupTableData", "PaletteColorLookupTableUID"):
        ds.pop(keyword, None)
    path = tmp_path / "palette8.dcm"
    ds.save_as(path)
    return str(path)


def _frames_of(da: Any) -> np.ndarray:
    """The values of ``da`` as (frames, rows, columns, channel)."""
    return np.asarray(da.values).reshape(-1, *da.shape[-3:])


#: big endian files, and their little endian twins: pydicom's apply_color_lut reads the
#: tables of the first as little endian words (65280 as 255), so their RGB is the twin's
TWINS = {
    "OBXXXX1A_expb.dcm": "OBXXXX1A.dcm",
    "OBXXXX1A_expb_2frame.dcm": "OBXXXX1A_2frame.dcm",
}


@pytest.mark.parametrize("name", list(PALETTES), ids=list(PALETTES))
def test_palette_reads_as_rgb_equal_to_pydicom(tmp_path: Path, name: str) -> None:
    path = _shipped(name)
    expected = _palette_rgb(_shipped(TWINS.get(name, name)))
    database = _database(tmp_path, path)
    da = database.series()[0].to_xarray()
    assert da.dims[-3:] == ("row", "column", "channel") and da.sizes["channel"] == 3
    assert da.dtype == expected.dtype
    got = _frames_of(da)
    for k in range(len(expected)):
        np.testing.assert_array_equal(got[k], expected[k])
    database.close()
    # the files layer alone gives the same
    fmt, offset, nbytes = pixel_format(path)
    assert fmt.frame_shape == (fmt.rows, fmt.columns, 3)
    np.testing.assert_array_equal(
        read_frames(path, range(len(expected)), fmt, offset, nbytes), expected
    )


def test_eight_bit_palette_gives_uint8(tmp_path: Path) -> None:
    path = _eight_bit_palette(tmp_path)
    expected = _palette_rgb(path)
    assert expected.dtype == np.uint8
    database = _database(tmp_path, path)
    da = database.series()[0].to_xarray()
    assert da.dtype == np.uint8 and da.sizes["channel"] == 3
    np.testing.assert_array_equal(_frames_of(da), expected)
    database.close()


@pytest.mark.parametrize("name", list(YBR), ids=list(YBR))
def test_ybr_reads_as_rgb_equal_to_pydicom(tmp_path: Path, name: str) -> None:
    path = _shipped(name)
    expected = _ybr_rgb(path)
    database = _database(tmp_path, path)
    da = database.series()[0].to_xarray()
    assert da.dims[-3:] == ("row", "column", "channel") and da.sizes["channel"] == 3
    got = _frames_of(da)
    assert got.dtype == expected.dtype
    for k in range(len(expected)):
        np.testing.assert_array_equal(got[k], expected[k])
    database.close()


@pytest.mark.parametrize("chunks", [False, None], ids=["lazy", "dask"])
def test_selection_reads_only_its_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunks: Any
) -> None:
    path = _shipped("OBXXXX1A_2frame.dcm")
    expected = _palette_rgb(path)
    database = _database(tmp_path, path)
    reads = count_frame_reads(monkeypatch)
    da = database.series()[0].to_xarray(chunks=chunks)
    assert reads == []
    one = da.isel(frame=1).values
    assert [frame for _, frame in reads] == [1]
    np.testing.assert_array_equal(one, expected[1])
    database.close()


def test_png_of_a_palette_series_is_its_rgb(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    pytest.importorskip("matplotlib")
    path = _shipped("OBXXXX1A_2frame.dcm")
    expected = _palette_rgb(path)  # 16-bit entries: 8 bits in the PNG
    database = _database(tmp_path, path)
    out = database.export_as_png(tmp_path / "png")
    pngs = sorted(out.rglob("*.png"))
    assert len(pngs) == len(expected)
    for png, frame in zip(pngs, expected, strict=True):
        with image.open(png) as picture:
            assert picture.mode == "RGB"
            got = np.asarray(picture)
        np.testing.assert_array_equal(got, np.round(frame / 257.0).astype(np.uint8))
    database.close()


def test_png_of_an_eight_bit_palette_is_its_rgb(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    pytest.importorskip("matplotlib")
    path = _eight_bit_palette(tmp_path)
    expected = _palette_rgb(path)
    database = _database(tmp_path, path)
    pngs = sorted(database.export_as_png(tmp_path / "png").rglob("*.png"))
    for png, frame in zip(pngs, expected, strict=True):
        with image.open(png) as picture:
            np.testing.assert_array_equal(np.asarray(picture), frame)
    database.close()


def test_a_palette_series_writes_back_as_its_rgb(tmp_path: Path) -> None:
    """See test_colour_write.py for the headers of what is written."""
    database = _database(tmp_path, _shipped("OBXXXX1A_2frame.dcm"))
    source = database.series()[0]
    da = source.to_xarray()
    rgb = source.new_sibling(SeriesDescription="rgb")
    rgb.set_xarray(da)
    np.testing.assert_array_equal(rgb.to_xarray().values, _palette_rgb(source.files()[0]))
    # one channel is written and read back as grey
    out = source.new_sibling(SeriesDescription="copy")
    red = da.isel(channel=0)
    out.set_xarray(red)
    back = out.to_xarray()
    assert back.dims == red.dims
    np.testing.assert_array_equal(back.values, red.values)
    database.close()


def test_a_broken_palette_is_an_error_never_grey(tmp_path: Path) -> None:
    ds = pydicom.dcmread(_shipped("OBXXXX1A_2frame.dcm"))
    del ds.GreenPaletteColorLookupTableData
    path = tmp_path / "broken.dcm"
    ds.save_as(path)
    (tmp_path / "db").mkdir()
    shutil.copy(path, tmp_path / "db" / "broken.dcm")
    recorder = Recorder()
    database = db.database(tmp_path / "db", status=recorder)
    series = database.series()[0]
    with pytest.raises(db.InvalidFileError, match="PALETTE COLOR.*palette"):
        series.to_xarray()
    pytest.importorskip("matplotlib")
    out = database.export_as_png(tmp_path / "png")
    assert not list(out.rglob("*.png"))
    assert any("palette" in m for m in recorder.messages)
    database.close()


def test_a_palette_file_without_preamble_or_file_meta_reads(tmp_path: Path) -> None:
    """pydicom-data's OT-PAL-8-face.dcm (ACR-NEMA style, no 'DICM'): the scan reads it, so must
    the palette and the pixels (it stopped with "its header cannot be read")."""
    path = get_testdata_file("OT-PAL-8-face.dcm")
    assert path is not None and Path(path).read_bytes()[128:132] != b"DICM"
    shutil.copy(path, tmp_path / "face.dcm")
    values = db.database(tmp_path).series()[0].to_xarray().values
    ds = pydicom.dcmread(path, force=True)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    assert np.array_equal(values.reshape(480, 640, 3), apply_color_lut(ds.pixel_array, ds))


@pytest.mark.parametrize("kept", [0, 2, 100], ids=["empty", "one entry", "100 bytes"])
def test_a_palette_table_shorter_than_its_descriptor_names_the_tag(
    tmp_path: Path, kept: int
) -> None:
    """A table cut short made pydicom ask numpy for a 'uint0' or 'uint3' type, and
    numpy's "Alias 'uint0' was removed in NumPy 2.0" was all the user read."""
    ds = pydicom.dcmread(_shipped("OBXXXX1A_2frame.dcm"))
    for colour in ("Red", "Green", "Blue"):
        element = ds[f"{colour}PaletteColorLookupTableData"]
        element.value = element.value[:kept]
    (tmp_path / "db").mkdir()
    ds.save_as(tmp_path / "db" / "short.dcm")
    database = db.database(tmp_path / "db")
    database.mute()
    with pytest.raises(db.InvalidFileError) as info:
        database.series()[0].to_xarray().load()
    message = str(info.value)
    assert "short.dcm" in message and "cannot be applied" in message
    assert "(0028,1201) 'Red Palette Color Lookup Table Data'" in message
    assert f"is {kept} bytes long" in message and "[256, 0, 16]" in message
    assert "subseries" in message and "uint" not in message
    database.close()


def _eight_bits_in_words(tmp_path: Path, lut: np.ndarray) -> str:
    """A PALETTE COLOR file whose descriptors say 8 bits, with one entry per 16-bit word."""
    ds = pydicom.dcmread(_shipped("OBXXXX1A_2frame.dcm"))
    for i, colour in enumerate(("Red", "Green", "Blue")):
        ds[f"{colour}PaletteColorLookupTableDescriptor"].value = [256, 0, 8]
        ds[f"{colour}PaletteColorLookupTableData"].value = lut[i].astype("<u2").tobytes()
    path = tmp_path / "words.dcm"
    ds.save_as(path)
    return str(path)


def test_eight_bit_entries_in_sixteen_bit_words_are_eight_bit_colours(tmp_path: Path) -> None:
    """PS3.3 C.7.6.3.1.5's note: 8-bit entries one to a 16-bit word (the table twice
    the entries long). pydicom gives the words as uint16, so 0-255 read as 16-bit
    colours, and the PNG export (16-bit colours / 257) wrote an all but black image."""
    lut = (np.arange(256) * np.array([[1], [3], [7]])) % 256
    path = _eight_bits_in_words(tmp_path, lut)
    stored = pydicom.dcmread(path).pixel_array
    expected = np.moveaxis(lut[:, stored], 0, -1)  # (frames, rows, columns, 3)
    database = _database(tmp_path, path)
    series = database.series()[0]
    da = series.to_xarray()
    assert da.dtype == np.uint8
    np.testing.assert_array_equal(_frames_of(da), expected)
    pytest.importorskip("matplotlib")
    image = pytest.importorskip("PIL.Image")
    out = series.export_as_png(tmp_path / "png")
    png = np.asarray(image.open(sorted(out.rglob("*.png"))[0]))
    np.testing.assert_array_equal(png, expected[0])
    database.close()


def test_eight_bit_descriptor_with_words_above_255_is_refused(tmp_path: Path) -> None:
    lut = np.arange(256) * np.array([[1], [3], [200]])
    path = _eight_bits_in_words(tmp_path, lut)
    database = _database(tmp_path, path)
    with pytest.raises(db.InvalidFileError, match=r"\(0028,1101\).*8 bits per entry.*above 255"):
        database.series()[0].to_xarray().load()
    database.close()


@pytest.mark.parametrize("name", list(TWINS), ids=list(TWINS))
def test_a_big_endian_palette_reads_as_its_little_endian_twin(tmp_path: Path, name: str) -> None:
    """The same image in Explicit VR Big Endian: its colours had their two bytes swapped
    (white 65280 read as 255), as pydicom's apply_color_lut gives them."""
    big, little = _shipped(name), _shipped(TWINS[name])
    np.testing.assert_array_equal(
        pydicom.dcmread(big).pixel_array, pydicom.dcmread(little).pixel_array
    )
    expected = _palette_rgb(little)
    database = _database(tmp_path, big)
    got = _frames_of(database.series()[0].to_xarray())
    assert got.dtype == np.uint16 and int(got.max()) == int(expected.max()) == 65280
    np.testing.assert_array_equal(got, expected)
    database.close()


def test_an_odd_number_of_eight_bit_entries_padded_to_even_reads(tmp_path: Path) -> None:
    """255 entries of 8 bits: the OW table is 256 bytes, its last a pad (as every OW
    value is padded to an even length). pydicom's apply_color_lut takes 256 / 255 * 8
    bits per entry and refuses; the table is its 255 entries."""
    ds = pydicom.dcmread(_shipped("OBXXXX1A_2frame.dcm"))
    lut = (np.arange(255) * np.array([[1], [3], [7]])) % 256
    for i, colour in enumerate(("Red", "Green", "Blue")):
        ds[f"{colour}PaletteColorLookupTableDescriptor"].value = [255, 0, 8]
        ds[f"{colour}PaletteColorLookupTableData"].value = lut[i].astype(np.uint8).tobytes() + b"\0"
    path = tmp_path / "odd.dcm"
    ds.save_as(path)
    stored = pydicom.dcmread(path).pixel_array
    expected = np.moveaxis(lut[:, np.clip(stored, 0, 254)], 0, -1)  # beyond the last: the last
    database = _database(tmp_path, str(path))
    da = database.series()[0].to_xarray()
    assert da.dtype == np.uint8
    np.testing.assert_array_equal(_frames_of(da), expected)
    database.close()


def test_a_palette_of_one_sixteen_bit_entry_keeps_its_two_bytes(tmp_path: Path) -> None:
    """One entry of 16 bits: a 2-byte table, which the cut of an odd number of 8-bit
    entries' pad byte took for one entry and its pad (40000 read as 64, its high byte)."""
    ds = pydicom.dcmread(_shipped("OBXXXX1A_2frame.dcm"))
    for colour, value in zip(("Red", "Green", "Blue"), (40000, 300, 65535), strict=True):
        ds[f"{colour}PaletteColorLookupTableDescriptor"].value = [1, 0, 16]
        ds[f"{colour}PaletteColorLookupTableData"].value = np.array([value], "<u2").tobytes()
    path = tmp_path / "one.dcm"
    ds.save_as(path)
    database = _database(tmp_path, str(path))
    got = _frames_of(database.series()[0].to_xarray())
    assert got.dtype == np.uint16
    assert {tuple(v) for v in got.reshape(-1, 3).tolist()} == {(40000, 300, 65535)}
    np.testing.assert_array_equal(got, apply_color_lut(pydicom.dcmread(path).pixel_array, ds))
    database.close()
