r"""Private text elements of VR UN (or in Implicit VR) read in the file's character set.

A private element's VR is in no dictionary of DICOM's own: an Implicit VR
file does not give it, and an Explicit VR file often gives ``UN`` (a
converter that did not know it). Such a value is read as its bytes. Where
the block's private creator is one pydicom's private dictionary knows, and
it gives the element a text VR whose text is in the specific character set
(LO, LT, PN, SH, ST, UC, UT), pydicom decodes it in the file's character
set; so does :func:`private_text`: ``Spule Müller`` stored in UTF-8 under
``ISO_IR 192`` reads ``'Spule Müller'``, not ``b'Spule M\xc3\xbcller'``.
Bytes the set does not decode are kept as they are (no value is guessed).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from pydicom.charset import decode_bytes
from pydicom.datadict import private_dictionary_VM, private_dictionary_VR

from ._values import (
    CHARSET_TEXT,
    DEFAULT_ENCODINGS,
    SPECIFIC_CHARSET,
    charset_encodings,
    decode_value,
)

__all__ = ["creators_of", "private_entry", "private_text"]


def _creator(tag: int) -> int | None:
    """The private creator element of the private data element ``tag`` (None if it is none).

    Examples
    --------
    >>> hex(_creator(0x0051100F)), _creator(0x00510010), _creator(0x00181010)
    ('0x510010', None, None)
    """
    group, element = tag >> 16, tag & 0xFFFF
    if not group & 1 or group <= 0x0008 or group == 0xFFFF or element < 0x1000:
        return None
    return (group << 16) | (element >> 8)


def creators_of(wanted: Mapping[int, str]) -> dict[int, int]:
    """The private creator element of each private element ``wanted`` as UN, by its tag.

    Examples
    --------
    >>> {hex(k): hex(v) for k, v in creators_of({0x0051100F: "UN", 0x00280010: "US"}).items()}
    {'0x51100f': '0x510010'}
    """
    found = {}
    for tag, vr in wanted.items():
        creator = _creator(tag) if vr == "UN" else None
        if creator is not None:
            found[tag] = creator
    return found


def private_entry(tag: int, creator: object) -> tuple[str, str] | None:
    """The VR and VM pydicom's private dictionary gives ``tag`` of the block of ``creator``.

    None where it does not know them (or ``creator`` is no name).

    Examples
    --------
    >>> private_entry(0x00291008, "SIEMENS CSA HEADER"), private_entry(0x00291008, None)
    (('CS', '1'), None)
    """
    if not isinstance(creator, str) or not creator:
        return None
    try:
        return private_dictionary_VR(tag, creator), private_dictionary_VM(tag, creator)
    except KeyError:
        return None


def private_text(
    values: dict[int, object], raws: Mapping[int, tuple[bytes, bytes]], creators: Mapping[int, int]
) -> None:
    """Decode, in ``values``, the private text of known creators that is read as bytes.

    ``raws``: by tag, the VR code as in the file (``b""`` in Implicit VR)
    and the value bytes, the character set's too; ``creators``:
    :func:`creators_of` the tags asked for.
    """
    if not creators:  # (the scan's tags: none)
        return
    charset = raws.get(SPECIFIC_CHARSET)
    encodings = charset_encodings(charset[1]) if charset is not None else DEFAULT_ENCODINGS
    for tag, creator in creators.items():
        value, raw = values.get(tag), raws.get(creator)
        if not isinstance(value, bytes) or raw is None or raws[tag][0] not in (b"", b"UN"):
            continue
        name = decode_value("LO", raw[1], encodings)  # a creator is LO (PS3.5 7.8.1)
        if not isinstance(name, str) or not name:
            continue
        try:
            vr = private_dictionary_VR(tag, name)
        except KeyError:  # a creator or element pydicom does not know: no VR, the bytes
            continue
        if vr in CHARSET_TEXT:
            text = _strict(value, vr, encodings)
            if text is not None:
                values[tag] = text


def _strict(raw: bytes, vr: str, encodings: list[str]) -> object:
    r"""The value of text ``raw`` of VR ``vr`` in ``encodings``; None where they do not decode it.

    Examples
    --------
    >>> _strict("Müller ".encode(), "LO", ["UTF8"]), _strict(b"M\xfcller", "LO", ["UTF8"])
    ('Müller', None)
    """
    try:
        if len(encodings) == 1 and b"\x1b" not in raw:
            raw.decode(encodings[0])  # strict: an undecodable byte is no character
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # pydicom warns where it replaces
                decode_bytes(raw, encodings, {0x5C, 0x3D, 0x5E} if vr == "PN" else set())
    except (UnicodeError, UserWarning, LookupError):
        return None
    return decode_value(vr, raw, encodings)
