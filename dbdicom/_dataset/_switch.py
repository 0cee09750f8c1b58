"""A dataset read from a file switched to UTF-8: its text decoded once, from the old set.

pydicom re-encodes a dataset whose character set changed by converting,
as it writes, every element it holds as read. An element of a VR that
DICOM does not define (``XX``) stops it (a raw ``NotImplementedError``),
and the text in sequence items is written as it was read -- in the old
character set, under the new one, where ``Röntgen`` reads ``R�ntgen``.

:func:`switch_to_utf8` converts every element at the switch instead, from
the set it was read in, down into the sequence items. An element it cannot
convert (an unknown VR) is kept as its bytes where they are ASCII, which
read the same in every character set; with bytes beyond ASCII it is
refused: read as UTF-8 they could be other characters, and which ones they
were meant to be is not known (a wrong value is worse than an error). So is
text that the old set does not decode (pydicom would put U+FFFD in its
place, with a warning).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from pydicom.charset import convert_encodings, encode_string
from pydicom.datadict import dictionary_description, keyword_for_tag
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.values import converters

from .._errors import InvalidFileError

__all__ = [
    "UTF8_NAME",
    "UnkeptBytesError",
    "naming",
    "switch_charset",
    "switch_to_utf8",
    "unknown_vr",
]

#: the SpecificCharacterSet of UTF-8, which encodes any text
UTF8_NAME = "ISO_IR 192"
# VRs whose values are text in the character set (PN, SH, LO, ST, LT, UC, UT)
_TEXT = frozenset(["PN", "SH", "LO", "ST", "LT", "UC", "UT"])


class UnkeptBytesError(InvalidFileError):
    """Elements whose bytes cannot be kept in UTF-8; the message does not name the file.

    The records layer adds the file's name (it knows it; this layer does not):
    see :func:`naming`.
    """


@contextlib.contextmanager
def naming(where: Any) -> Iterator[None]:
    """An :class:`UnkeptBytesError` raised in the block is an error that names ``where``.

    Examples
    --------
    >>> with naming("/data/a.dcm"):  # doctest: +ELLIPSIS
    ...     raise UnkeptBytesError("(0028,0030) has VR 'XX'...")
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidFileError: /data/a.dcm: (0028,0030) has VR 'XX'...
    """
    try:
        yield
    except UnkeptBytesError as exc:
        raise InvalidFileError(f"{where}: {exc}") from None


def unknown_vr(elem: Any) -> bool:
    """Whether ``elem`` is an element as read whose VR pydicom cannot convert (``'XX'``).

    Examples
    --------
    >>> from pydicom.dataelem import RawDataElement
    >>> raw = RawDataElement(0x00280030, "XX", 4, b"1.5 ", 0, False, True)
    >>> unknown_vr(raw), unknown_vr(raw._replace(VR="DS")), unknown_vr(raw._replace(VR=None))
    (True, False, False)
    """
    return isinstance(elem, RawDataElement) and elem.VR is not None and elem.VR not in converters


def switch_to_utf8(ds: Dataset) -> None:
    r"""Make ``ds`` UTF-8 (``ISO_IR 192``), its text decoded from the set it was read in.

    Elements of an unknown VR whose bytes are ASCII are written back as
    they are (they read the same in UTF-8); all others are converted now,
    sequence items too, so that pydicom encodes them in UTF-8.

    Raises
    ------
    UnkeptBytesError
        Where an element of an unknown VR has bytes beyond ASCII (or an
        escape, which switches the old character set): which characters
        they are in UTF-8 is not known. ``ds`` keeps its character set.

    Examples
    --------
    >>> from pydicom.dataelem import RawDataElement
    >>> ds = Dataset()
    >>> ds.SpecificCharacterSet = "ISO_IR 100"
    >>> ds[0x00280030] = RawDataElement(0x00280030, "XX", 4, b"1.5 ", 0, False, True)
    >>> switch_to_utf8(ds)
    >>> ds.SpecificCharacterSet, unknown_vr(ds.get_item(0x00280030))
    ('ISO_IR 192', True)
    >>> ds[0x00280030] = RawDataElement(0x00280030, "XX", 2, b"\xe9 ", 0, False, True)
    >>> switch_to_utf8(ds)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dbdicom._dataset._switch.UnkeptBytesError: (0028,0030) 'Pixel Spacing' has VR 'XX'...
    """
    switch_charset(ds, UTF8_NAME)


def _undecoded(ds: Dataset, problems: list[tuple[str, int, str]], name: Any) -> UnkeptBytesError:
    """The refusal of a switch to the set ``name``: ``problems``, elements not decoded."""
    where, tag, vr = problems[0]
    more = f" (and {len(problems) - 1} more element(s))" if len(problems) > 1 else ""
    group, element = tag >> 16, tag & 0xFFFF
    old = ds.get("SpecificCharacterSet") or "the default, ASCII"
    new = "UTF-8 (ISO_IR 192)" if _is_utf8(name) else (name or "the default set, ASCII")
    if vr in converters:  # a known VR: text the file's own character set cannot decode
        return UnkeptBytesError(
            f"{where}{_label(tag)}{more} holds bytes that its character set ({old}) does not "
            f"decode: written in {new} they would be replacement characters (U+FFFD) in "
            "place of the text they were; nothing was changed. Set text the file's "
            "character set encodes, or first give the element a value "
            f"(record[(0x{group:04X}, 0x{element:04X})] = ...)."
        )
    return UnkeptBytesError(
        f"{where}{_label(tag)}{more} has VR {vr!r}, which DICOM does not define, and bytes "
        "beyond ASCII: dbdicom cannot tell whether they are text in the file's character "
        f"set ({old}). Under the new one, {new}, these bytes, kept as they are, could read "
        "as other characters, and re-encoded could become wrong ones; nothing was "
        "changed. Set text the file's character set encodes, or first give the element "
        f"a valid value (record[(0x{group:04X}, 0x{element:04X})] = ...), or remove it "
        "with another tool."
    )


def _is_utf8(name: Any) -> bool:
    """Whether the SpecificCharacterSet value ``name`` is UTF-8 alone."""
    return name == UTF8_NAME or (isinstance(name, list | tuple) and list(name) == [UTF8_NAME])


def _set_charset(ds: Dataset, name: Any) -> None:
    """Give ``ds`` the character set ``name`` (None: the default), its text decoded already."""
    if name:
        ds.SpecificCharacterSet = name
    elif "SpecificCharacterSet" in ds:
        del ds.SpecificCharacterSet
    # as if read in it: pydicom then writes the elements kept as read as they are
    implicit, little = ds.original_encoding
    ds.set_original_encoding(implicit, little, convert_encodings(name or None))


def switch_charset(ds: Dataset, name: Any) -> None:
    """Give ``ds`` the character set ``name``, its text re-encoded; refused where it cannot be.

    ``name``: a SpecificCharacterSet value (None: the default, ASCII).
    pydicom writes characters a set cannot encode as ``?`` (with a warning):
    ``ISO_IR 100`` set on a Cyrillic header turned ``Люкceмбypг`` into
    ``???ce??yp?``, for good once saved.

    Raises
    ------
    UnkeptBytesError
        An element holds text the new set cannot encode (or that the old
        one does not decode: see :func:`switch_to_utf8`). ``ds`` keeps its
        character set.

    Examples
    --------
    >>> ds = Dataset()
    >>> ds.SpecificCharacterSet, ds.PatientName = "ISO_IR 192", "Müller"
    >>> switch_charset(ds, "ISO_IR 100")
    >>> ds.SpecificCharacterSet, str(ds.PatientName)
    ('ISO_IR 100', 'Müller')
    >>> ds.PatientName = "Люкceмбypг"
    >>> switch_charset(ds, "ISO_IR 100")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dbdicom._dataset._switch.UnkeptBytesError: (0010,0010) "Patient's Name" holds text ...
    """
    problems: list[tuple[str, int, str]] = []
    _decode(ds, "", problems)
    if problems:
        raise _undecoded(ds, problems, name)
    lost: list[tuple[str, int, str]] = []
    if not _is_utf8(name):  # (UTF-8 encodes any text)
        encodings = convert_encodings(name) if name else ["ascii"]  # the default: ASCII
        _encodable(ds, "", encodings, lost)
    if lost:
        where, tag, text = lost[0]
        more = f" (and {len(lost) - 1} more element(s))" if len(lost) > 1 else ""
        raise UnkeptBytesError(
            f"{where}{_label(tag)}{more} holds text that {name or 'the default set, ASCII,'} "
            f"does not encode ({text[:40]!r}): written in it, those characters would be lost "
            "('?' in their place); nothing was changed. Give a character set that holds "
            f"them (ISO_IR 192, UTF-8, holds every character), or change that text first."
        )
    _set_charset(ds, name)


def _encodable(
    ds: Dataset, where: str, encodings: list[str], lost: list[tuple[str, int, str]]
) -> None:
    """List the text elements of ``ds`` (and its items') that ``encodings`` cannot encode."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if unknown_vr(raw):
            continue  # ASCII (see switch_to_utf8): the same in every set
        elem = ds[tag]
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                _encodable(item, f"{where}{_label(tag)} item {i + 1} > ", encodings, lost)
        elif elem.VR in _TEXT:
            values = elem.value if isinstance(elem.value, MultiValue | list) else [elem.value]
            for value in values:
                text = "" if value is None else str(value)
                if not text.isascii() and not _encodes(text, encodings):
                    lost.append((where, int(tag), text))
                    break


def _encodes(text: str, encodings: list[str]) -> bool:
    """Whether pydicom writes ``text`` in ``encodings`` without a replacement character."""
    if len(encodings) == 1:  # one code (most sets): as Python encodes it
        try:
            text.encode(encodings[0])
        except (UnicodeError, LookupError):
            return False
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydicom warns where it puts '?' in place
        try:
            encode_string(text, encodings)
        except (UnicodeError, UserWarning, LookupError):
            return False
    return True


def _decode(ds: Dataset, where: str, problems: list[tuple[str, int, str]]) -> None:
    """Convert the elements of ``ds`` (and its items') as read; list those that cannot be."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if unknown_vr(raw):
            data = bytes(raw.value or b"")
            if not data.isascii() or b"\x1b" in data:
                problems.append((where, int(tag), str(raw.VR)))
            continue
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            elem = ds[tag]  # decoded from the character set it was read in
        if any("replacement characters" in str(w.message) for w in said):
            problems.append((where, int(tag), str(elem.VR)))  # (pydicom: U+FFFD in place)
            continue
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                _decode(item, f"{where}{_label(tag)} item {i + 1} > ", problems)


def _label(tag: int) -> str:
    """``(0028,0030) 'Pixel Spacing'``: a tag as pydicom's messages name it."""
    label = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    return f"{label} {dictionary_description(tag)!r}" if keyword_for_tag(tag) else label
