"""Modality LUT Sequence: stored values made physical by a table in the header.

Most images make their stored values physical with (0028,1053) Rescale
Slope and (0028,1052) Rescale Intercept. Some (X-ray angiography, older
CR and US, files converted from them) give a (0028,3000) Modality LUT
Sequence instead: a table whose entry ``v - first`` is the physical value
of stored value ``v``. As pydicom's ``apply_modality_lut`` does, values
below the first mapped one take the first entry, values past the last
entry the last; the result is ``uint8`` for tables of 8 bits per entry,
``uint16`` for more (the third value of (0028,3002) LUT Descriptor, 8 to
16). When a file has both, the table is used and the rescale is not, as
pydicom does.

Written here rather than through pydicom's function because that one
refuses the descriptors of 9 to 15 bits the standard allows (it makes a
``uint12`` dtype), and takes the second descriptor value as written where
the standard says it is signed for signed pixel data.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
from pydicom.errors import InvalidDicomError

from .._errors import InvalidFileError
from ._pydicom import read_dataset

__all__ = ["apply_modality_lut", "look_up", "modality_lut_bits", "modality_table"]

_WHAT = "(0028,3000) 'Modality LUT Sequence'"


def _table(path: str) -> tuple[int, np.ndarray] | None:
    """The first stored value the table maps, and the table, of the file ``path``.

    None when the sequence is empty: the rescale (if any) applies, as in
    pydicom. Kept for the file as it is (its size and time): each block of a
    series read asks for it again.
    """
    st = os.stat(path)
    return _kept_table(path, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _kept_table(path: str, size: int, mtime: int) -> tuple[int, np.ndarray] | None:
    """:func:`_table` of ``path`` when it has that ``size`` and ``mtime``."""
    found = _read_table(path)
    if found is not None:
        found[1].setflags(write=False)
    return found


def _read_table(path: str) -> tuple[int, np.ndarray] | None:
    """:func:`_table`, read from the file."""
    try:
        ds = read_dataset(path, stop_before_pixels=True)
    except (InvalidDicomError, EOFError, ValueError) as exc:
        raise InvalidFileError(f"{path}: its header cannot be read: {exc}") from exc
    return modality_table(path, ds)


def modality_table(label: str, ds: Any) -> tuple[int, np.ndarray] | None:
    """The first stored value the table of the dataset ``ds`` maps, and the table.

    None when its Modality LUT Sequence is empty; an
    :class:`~dbdicom.InvalidFileError` naming ``label`` when the table
    cannot be applied.
    """
    try:
        return _of(ds)
    except (ValueError, AttributeError, KeyError, TypeError, IndexError) as exc:
        raise InvalidFileError(
            f"{label}: its {_WHAT} cannot be applied: {exc}. Its stored values are not "
            "physical ones without it: re-export the file from its source, or leave it "
            "out of the series with series.subseries(...)."
        ) from exc


def _of(ds: Any) -> tuple[int, np.ndarray] | None:
    """:func:`_table` of a pydicom dataset (errors as pydicom and numpy raise them)."""
    if not ds.get("ModalityLUTSequence"):
        return None
    item = ds.ModalityLUTSequence[0]
    # the first and third values are unsigned, the second signed for signed pixel data: as
    # written, whatever VR the file (or pydicom's reading of Implicit VR) gave the element
    entries, first, depth = (int(v) & 0xFFFF for v in item.LUTDescriptor)
    entries = entries or 65536  # 0 stands for 2**16
    if not 8 <= depth <= 16:
        raise ValueError(f"(0028,3002) 'LUT Descriptor' gives {depth} bits an entry, not 8 to 16")
    if int(ds.get("PixelRepresentation", 0) or 0) == 1 and first >= 0x8000:
        first -= 0x10000
    element = item["LUTData"]
    if element.VR == "OW" or isinstance(element.value, bytes):
        little = getattr(ds, "original_encoding", (None, True))[1] is not False
        data = np.frombuffer(element.value, "<u2" if little else ">u2")
    else:
        data = np.atleast_1d(np.asarray(element.value, dtype=np.int64)) & 0xFFFF  # US, as SS
    if len(data) < entries:
        raise ValueError(
            f"(0028,3006) 'LUT Data' holds {len(data)} entries, but its descriptor says {entries}"
        )
    data = data[:entries]
    if int(data.max()) >= 1 << depth:  # pydicom: OverflowError; never wrapped
        raise ValueError(
            f"(0028,3006) 'LUT Data' holds {int(data.max())}, more than the {depth} bits "
            "an entry its descriptor says"
        )
    return first, data.astype(np.uint8 if depth <= 8 else np.uint16)


def modality_lut_bits(path: str | os.PathLike[str]) -> int:
    """Bits (8 or 16) of the physical values the Modality LUT of ``path`` gives.

    0 when its Modality LUT Sequence is empty (the rescale applies).

    Raises :class:`dbdicom.InvalidFileError` when the table is missing or
    cannot be applied.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> path = get_testdata_file("mlut_18.dcm")  # pydicom-data's: 12-bit signed, 16-bit table
    >>> modality_lut_bits(path)
    16
    """
    found = _table(os.fspath(path))
    return 0 if found is None else found[1].dtype.itemsize * 8


def apply_modality_lut(path: str, stored: np.ndarray, bits: int) -> np.ndarray:
    """The physical values of the ``stored`` values of frames of ``path``, through its table.

    Same shape as ``stored``; ``uint8`` or ``uint16`` as ``bits`` says, or
    :class:`dbdicom.InvalidFileError` if the table gives another (the
    index is out of date).

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> path = get_testdata_file("mlut_18.dcm")  # pydicom-data's: 12-bit signed, 16-bit table
    >>> stored = np.array([-2048, 0, 2047, 9999], np.int16)  # the last past the table's end
    >>> apply_modality_lut(path, stored, 16).tolist()  # as pydicom's apply_modality_lut
    [0, 32776, 65535, 65535]
    """
    return look_up(path, _table(path), stored, bits)


def look_up(
    label: str, found: tuple[int, np.ndarray] | None, stored: np.ndarray, bits: int
) -> np.ndarray:
    """The ``stored`` values through the table ``found`` (see :func:`modality_table`).

    ``uint8`` or ``uint16`` as ``bits`` says, or :class:`dbdicom.InvalidFileError`
    naming ``label`` if the table gives another.

    Examples
    --------
    >>> look_up("x", (-2, np.array([5, 6, 7], np.uint8)), np.array([-5, -1, 9]), 8).tolist()
    [5, 6, 7]
    """
    if found is None or found[1].dtype.itemsize * 8 != bits:
        given = "no" if found is None else f"{found[1].dtype}"
        raise InvalidFileError(
            f"{label}: its {_WHAT} gives {given} values, but {bits}-bit ones were "
            "expected (is the index out of date? refresh the database)"
        )
    first, table = found
    where = np.subtract(stored, first, dtype=np.int64)
    np.clip(where, 0, len(table) - 1, out=where)
    return table[where]
