"""PALETTE COLOR images: their stored indices made RGB through the file's palette.

A PALETTE COLOR frame stores indices into three lookup tables (red, green,
blue) held in the header, plain or segmented. pydicom's
:func:`pydicom.pixels.apply_color_lut` applies them; here it is given only the
header (read without the pixels) and the frames already read, so a palette
costs one header read per call, whatever the number of frames.

The values are what the tables hold: ``uint8`` or ``uint16`` as the tables
have 8 or 16 bits per entry (tables of 8-bit entries stored one to a 16-bit
word, as some writers did, give ``uint8``). An alpha table, if any, is left out: the result
is RGB.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from pydicom.datadict import dictionary_description, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut

from .._errors import InvalidFileError
from ._pydicom import read_dataset

__all__ = ["PALETTE", "apply_palette", "palette_bits", "palette_rgb"]

#: the Photometric Interpretation of images stored as palette indices
PALETTE = "PALETTE COLOR"


def _palette_header(path: str) -> Any:
    """The header of ``path`` (no pixels), as pydicom reads it."""
    try:
        return read_dataset(path, stop_before_pixels=True)
    except (InvalidDicomError, EOFError, ValueError) as exc:
        raise InvalidFileError(f"{path}: its header cannot be read: {exc}") from exc


#: the way out of a palette that cannot be applied
_WAY_OUT = "Re-export it from its source, or leave it out of the series with series.subseries(...)."


def _label(keyword: str) -> str:
    """``(0028,1201) 'Red Palette Color Lookup Table Data'`` for its keyword."""
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {dictionary_description(tag)!r}"


def _check_tables(path: str, ds: Any) -> None:
    """Refuse, naming the tag, a plain palette table whose length its descriptor denies.

    pydicom takes the bits per entry from the length of the red table over
    the number of entries the descriptor gives: a table cut short makes that
    0, 3 or 7 bits, and numpy's refusal of a 'uint0' type is all it says.
    """
    if "RedPaletteColorLookupTableData" not in ds:
        return  # segmented, or none: pydicom's own messages say it
    for colour in ("Red", "Green", "Blue", "Alpha"):
        desc_kw = f"{colour}PaletteColorLookupTableDescriptor"
        data_kw = f"{colour}PaletteColorLookupTableData"
        if colour == "Alpha" and data_kw not in ds:
            continue
        desc = ds[desc_kw] if desc_kw in ds else None
        data = ds[data_kw] if data_kw in ds else None
        if desc is None or desc.VM != 3:
            raise InvalidFileError(
                f"{path}: it is a {PALETTE} image, but its palette cannot be applied: "
                f"{_label(desc_kw)} is {'missing' if desc is None else repr(desc.value)} "
                f"(three numbers expected: entries, first mapped value, bits). {_WAY_OUT}"
            )
        entries, _, bits = desc.value
        entries = entries or 2**16  # 0 means 65,536
        size = len(data.value or b"") if data is not None else None
        if size not in (entries, 2 * entries):
            found = "missing" if size is None else f"{size} bytes long"
            raise InvalidFileError(
                f"{path}: it is a {PALETTE} image, but its palette cannot be applied: "
                f"{_label(data_kw)} is {found}, while {_label(desc_kw)} "
                f"{list(desc.value)} says {entries} entries of {bits} bits "
                f"({entries * -(-bits // 8)} bytes): the table is cut short or does not "
                f"belong to this descriptor. {_WAY_OUT}"
            )


def _descriptor(ds: Any, colour: str = "Red") -> tuple[int, int, int] | None:
    """(entries, first mapped value, bits) that the descriptor of ``colour`` declares.

    0 entries is 65,536. None where it does not say them (see :func:`_check_tables`).
    """
    desc = ds.get(f"{colour}PaletteColorLookupTableDescriptor")
    try:
        entries, first, bits = (int(v) for v in desc)
    except (TypeError, ValueError):
        return None
    return entries or 2**16, first, bits


def _plain_tables(ds: Any) -> Any:
    """``ds``, or a dataset of its palette alone with the tables as pydicom must be given them.

    pydicom's ``apply_color_lut`` takes the bits per entry from a plain
    table's length and reads its words as little endian. Two tables of
    valid files it misread: those of a big endian file (pydicom keeps an OW
    value as the file's bytes, so each colour had its two bytes swapped,
    65280 read as 255), and an odd number of 8-bit entries, padded to an
    even length as every OW value is (7.9 bits per entry: refused). Those
    are given to it swapped to little endian and without the pad byte, in a
    new dataset of the palette module alone; ``ds`` is left as it is.
    """
    if "RedPaletteColorLookupTableData" not in ds:
        return ds  # segmented, or none: pydicom reads those by their descriptor
    big = getattr(ds, "original_encoding", (None, None))[1] is False
    fixed: dict[str, bytes] = {}
    for colour in ("Red", "Green", "Blue", "Alpha"):
        keyword = f"{colour}PaletteColorLookupTableData"
        value = ds[keyword].value if keyword in ds else None
        if not isinstance(value, bytes):
            continue
        table = value
        if big and len(table) % 2 == 0:
            table = np.frombuffer(table, ">u2").astype("<u2").tobytes()
        said = _descriptor(ds, colour)  # (one 16-bit entry is 2 bytes too: 8 bits only)
        if said and said[2] == 8 and said[0] % 2 and len(table) == said[0] + 1:
            table = table[: said[0]]  # the pad byte of an odd number of 8-bit entries
        if table != value:
            fixed[keyword] = table
    if not fixed:
        return ds
    palette = Dataset()
    for element in ds:  # the palette module, (0028,1101-1224), and what pydicom checks
        in_palette = element.tag >> 16 == 0x0028 and 0x1101 <= element.tag & 0xFFFF <= 0x1224
        if in_palette or element.keyword == "PixelPresentation":
            palette.add(element)
    for keyword, table in fixed.items():
        palette.add_new(keyword, "OW", table)
    return palette


def _lut(path: str, ds: Any, indices: np.ndarray) -> np.ndarray:
    """RGB of ``indices`` through the palette of ``ds`` (pydicom's ``apply_color_lut``)."""
    ds = _plain_tables(ds)
    _check_tables(path, ds)
    try:
        rgb = apply_color_lut(indices, ds)
    except (ValueError, AttributeError, KeyError, TypeError) as exc:
        raise InvalidFileError(
            f"{path}: it is a {PALETTE} image, but its palette (0028,1101-1223) "
            f"cannot be applied: {exc}. {_WAY_OUT}"
        ) from exc
    said = _descriptor(ds)
    if rgb.dtype == np.uint16 and said is not None and said[2] == 8:
        rgb = _eight_bits_in_sixteen(path, ds, rgb)
    return rgb[..., :3]


def _eight_bits_in_sixteen(path: str, ds: Any, rgb: np.ndarray) -> np.ndarray:
    """``rgb`` as the 8-bit entries it holds, from tables of 8-bit entries in 16-bit words.

    PS3.3 C.7.6.3.1.5 notes that some writers stored 8-bit entries one to a
    16-bit word, the high bits zero, which the tables' length (twice the
    number of entries) reveals. pydicom gives those words as ``uint16``, so
    their 0-255 would pass for 16-bit colours (an export to PNG scales
    16-bit colours to 8 bits: all but black). A table whose words exceed
    255 is not that, and is refused rather than cut.
    """
    entries, first, _ = _descriptor(ds) or (0, 0, 0)
    every = np.arange(first, first + entries, dtype=np.int32)
    if int(apply_color_lut(every, ds).max()) > 255:
        raise InvalidFileError(
            f"{path}: it is a {PALETTE} image, but its palette cannot be applied: "
            f"{_label('RedPaletteColorLookupTableDescriptor')} says 8 bits per entry, "
            "while the tables hold 16-bit words with values above 255. "
            f"{_WAY_OUT}"
        )
    return rgb.astype(np.uint8)


def palette_bits(path: str | os.PathLike[str]) -> int:
    """Bits per entry (8 or 16) of the RGB values the palette of ``path`` gives.

    Raises :class:`dbdicom.InvalidFileError` when the palette is missing or
    cannot be applied.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> palette_bits(get_testdata_file("OBXXXX1A.dcm"))
    16
    """
    path = os.fspath(path)
    ds = _palette_header(path)
    return _lut(path, ds, np.zeros(1, np.uint16)).dtype.itemsize * 8


def apply_palette(path: str, stored: np.ndarray, bits: int) -> np.ndarray:
    """RGB values of the stored palette indices ``stored`` of frames of ``path``.

    Shape ``stored.shape + (3,)``, dtype ``uint8`` or ``uint16`` as
    ``bits`` says; :class:`dbdicom.InvalidFileError` if the palette gives
    another (the index is out of date).
    """
    return palette_rgb(path, _palette_header(path), stored, bits)


def palette_rgb(label: str, ds: Any, stored: np.ndarray, bits: int) -> np.ndarray:
    """:func:`apply_palette` with the palette of the dataset ``ds``; ``label`` names it.

    ``bits=0`` gives the values whatever their bits (``palette_rgb(label,
    ds, np.zeros(1, np.uint16), 0).dtype`` says them).

    Examples
    --------
    >>> from pydicom import dcmread
    >>> from pydicom.data import get_testdata_file
    >>> ds = dcmread(get_testdata_file("OBXXXX1A.dcm"), stop_before_pixels=True)
    >>> palette_rgb("OBXXXX1A", ds, np.array([0, 255], np.uint8), 16).tolist()
    [[0, 0, 0], [256, 256, 256]]
    """
    rgb = _lut(label, ds, stored)
    if bits and rgb.dtype.itemsize * 8 != bits:
        raise InvalidFileError(
            f"{label}: its palette gives {rgb.dtype} values, but {bits}-bit ones were "
            "expected (is the index out of date? refresh the database)"
        )
    return np.ascontiguousarray(rgb)
