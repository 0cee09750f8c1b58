"""Decoding raw element values to natural Python values.

The rules follow what pydicom returns when its values are converted to plain
Python: ``DS``/``FL``/``FD`` give ``float``, ``IS``/``US``/``SS``/``UL``/``SL``
give ``int``, text gives ``str`` (trailing padding removed), a value of
multiplicity above one gives a ``tuple``, an empty numeric value gives
``None`` and an empty text value gives ``""``. Dates and times stay DICOM
strings here; the array layer turns them into ``numpy.datetime64``.
"""

from __future__ import annotations

import struct
from typing import Any

from pydicom.charset import decode_bytes, python_encoding
from pydicom.datadict import dictionary_VM

__all__ = [
    "CHARSET_TEXT",
    "DEFAULT_ENCODINGS",
    "SPECIFIC_CHARSET",
    "WHOLE_TEXT_VRS",
    "BadValueError",
    "charset_encodings",
    "decode_value",
    "encodings_for",
    "one_value",
    "several_values",
    "to_python",
]


class BadValueError(ValueError):
    """A value whose bytes are not what its VR allows (an IS of ``"1A"``): no value is guessed."""


_BINARY = {
    "US": ("H", 2),
    "SS": ("h", 2),
    "UL": ("L", 4),
    "SL": ("l", 4),
    "FL": ("f", 4),
    "FD": ("d", 8),
    "SV": ("q", 8),
    "UV": ("Q", 8),
}
# text VRs whose repertoire is the default one (never the specific character set)
_ASCII_TEXT = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "UI", "UR"})
#: text VRs decoded with the specific character set
CHARSET_TEXT = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
# text VRs that never hold several values
_SINGLE_TEXT = frozenset({"LT", "ST", "UT", "UR"})
#: the VRs whose value, where a tag of one value (VM 1) holds several, is read as the text
#: stored, backslash and all (``"A\\B"``): a name, code or UID kept whole keeps its record
#: apart and found. Numbers, dates and times are not: no one of them is the value, and
#: the joined text is none. LT, ST, UT and UR are never split (a backslash is text there).
WHOLE_TEXT_VRS = frozenset({"AE", "AS", "CS", "LO", "PN", "SH", "UC", "UI"})


def several_values(vr: str, value: tuple[Any, ...]) -> tuple[str | None, str]:
    r"""What a tag of one value (VM 1) of VR ``vr`` holding several (``value``) is read as.

    Returns the text stored (:data:`WHOLE_TEXT_VRS`), or None, and why.

    Examples
    --------
    >>> several_values("LO", ("A", "B"))
    ('A\\B', 'it holds 2 values (A\\B), where its VM is 1')
    >>> several_values("DS", (1.0, None))
    (None, 'it holds 2 values (1.0\\), where its VM is 1')
    """
    shown = "\\".join("" if v is None else str(v) for v in value)
    said = f"it holds {len(value)} values ({shown}), where its VM is 1"
    return (shown if vr in WHOLE_TEXT_VRS else None), said


def one_value(tag: int) -> bool:
    """Whether the dictionary gives ``tag`` one value (VM 1), as a private creator has.

    False for a tag it does not know (a private one: its VM is not known).

    Examples
    --------
    >>> one_value(0x00081040), one_value(0x00200032), one_value(0x00090010), one_value(0x00191010)
    (True, False, True, False)
    """
    if tag >> 16 & 1 and 0x0010 <= tag & 0xFFFF <= 0x00FF:  # a private creator (PS3.5 7.8.1)
        return True
    try:
        return bool(dictionary_VM(tag) == "1")
    except KeyError:
        return False


def encodings_for(charset: Any) -> list[str]:
    """Python codecs for a SpecificCharacterSet value (str, tuple or None).

    Examples
    --------
    >>> encodings_for("ISO_IR 192")
    ['UTF8']
    >>> encodings_for(None)
    ['latin_1']
    """
    if not charset:
        return ["latin_1"]
    names = [charset] if isinstance(charset, str) else list(charset)
    out = []
    for name in names:
        codec = python_encoding.get(str(name).strip(), "latin_1")
        # the default repertoire is ASCII; latin_1 is its lossless superset
        out.append("latin_1" if codec == "iso8859" else codec)
    return out


#: (0008,0005) Specific Character Set
SPECIFIC_CHARSET = 0x00080005
#: the codecs of the default character set (this list: see :func:`charset_encodings`)
DEFAULT_ENCODINGS = ["latin_1"]
_ENCODINGS: dict[bytes, list[str]] = {}


def charset_encodings(charset: bytes) -> list[str]:
    """The codecs of a Specific Character Set value (its bytes), found once.

    :data:`DEFAULT_ENCODINGS` itself for the default one.

    Examples
    --------
    >>> charset_encodings(b"ISO_IR 192"), charset_encodings(b"") is DEFAULT_ENCODINGS
    (['UTF8'], True)
    """
    found = _ENCODINGS.get(charset)
    if found is None:
        found = encodings_for(decode_value("CS", charset, DEFAULT_ENCODINGS))
        if found == DEFAULT_ENCODINGS:
            found = DEFAULT_ENCODINGS
        if len(_ENCODINGS) > 256:
            _ENCODINGS.clear()
        _ENCODINGS[charset] = found
    return found


def _text(raw: bytes, vr: str, encodings: list[str]) -> str:
    encodings = encodings or ["latin_1"]
    if vr in CHARSET_TEXT and encodings != ["latin_1"]:
        if len(encodings) == 1 and b"\x1b" not in raw:
            text = raw.decode(encodings[0], errors="replace")
        else:
            text = decode_bytes(raw, encodings, {0x5C, 0x3D, 0x5E} if vr == "PN" else set())
    else:
        text = raw.decode("latin_1")
    return text


def decode_value(vr: str, raw: bytes, encodings: list[str]) -> Any:
    r"""Decode the bytes of one element of value representation ``vr``.

    Raises :class:`BadValueError` for an IS or DS value that is not a number
    (or an IS that is not a whole number), or a binary value (US, FD...)
    whose length is not a whole number of values: the caller reads it as
    missing.

    Examples
    --------
    >>> decode_value("DS", b"1.5\\2 ", ["latin_1"])
    (1.5, 2.0)
    >>> decode_value("US", b"\x00\x01", ["latin_1"])
    256
    >>> decode_value("US", b"\x08\x00\x00", ["latin_1"])
    Traceback (most recent call last):
    ...
    dbdicom._files._values.BadValueError: US value of 3 bytes, not a whole number of 2-byte values
    >>> decode_value("PN", b"Dory^John ", ["latin_1"])
    'Dory^John'
    """
    fast = _FAST.get(vr)
    if fast is not None:
        return fast(raw)
    if vr in _BINARY:
        code, size = _BINARY[vr]
        n, left = divmod(len(raw), size)
        if left:  # a Rows of 3 bytes: its value is no more its first 2 than anything else
            raise BadValueError(
                f"{vr.lstrip('x')} value of {len(raw)} bytes, not a whole number of "
                f"{size}-byte values"
            )
        if n == 0:
            return None
        values = struct.unpack(f"<{n}{code}", raw[: n * size])
        return values[0] if n == 1 else values
    if vr in CHARSET_TEXT:
        text = _text(raw, vr, encodings)
        if vr in _SINGLE_TEXT:
            return text.rstrip(" \x00")
        text = text.rstrip(" \x00")
        if vr == "PN":  # empty trailing component groups are dropped, as pydicom does
            parts = tuple(p.rstrip(" \x00=") for p in text.split("\\"))
            return parts[0] if len(parts) == 1 else parts
        if "\\" not in text:
            return text.strip(" ")
        return tuple(p.strip(" \x00") for p in text.split("\\"))
    if vr == "UR":
        return raw.decode("latin_1").rstrip(" \x00")
    if vr == "AT":
        n = len(raw) // 4
        pairs = struct.unpack(f"<{2 * n}H", raw[: 4 * n])
        tags = tuple((pairs[2 * i] << 16) | pairs[2 * i + 1] for i in range(n))
        return tags[0] if n == 1 else tags
    return bytes(raw)


def _ascii(raw: bytes) -> Any:
    text = raw.decode("latin_1").rstrip(" \x00")
    if "\\" not in text:
        return text.lstrip(" ")
    return tuple(p.strip(" \x00") for p in text.split("\\"))


def _uid(raw: bytes) -> Any:
    text = raw.decode("latin_1").replace("\x00", "").strip(" ")
    if "\\" not in text:
        return text
    return tuple(p.strip(" ") for p in text.split("\\"))


def _number(conv: Any, vr: str) -> Any:
    def decode(raw: bytes) -> Any:
        text = raw.decode("latin_1").strip(" \x00")
        if not text:
            return None
        try:
            if "_" in text:  # Python's int and float read "1_0" as 10: DICOM's never
                raise ValueError(text)
            if "\\" not in text:
                return conv(text)
            return tuple(conv(p) if p.strip() else None for p in text.split("\\"))
        except (ValueError, OverflowError):
            what = "a whole number" if vr == "IS" and _is_float(text) else "a number"
            raise BadValueError(f"{vr} value {_shown(raw)} is not {what}") from None

    return decode


def _is_float(text: str) -> bool:
    """Whether ``text`` holds decimal numbers only (finite, no digits grouped by ``_``)."""
    try:
        return "_" not in text and all(
            _to_float(p) == _to_float(p) for p in text.split("\\") if p.strip()
        )
    except ValueError:
        return False


def _shown(raw: bytes) -> str:
    r"""``raw`` as a value to quote: its text when printable ASCII, else its bytes.

    Examples
    --------
    >>> _shown(b"1A "), _shown(b"\xff\xff")
    ("'1A'", "b'\\xff\\xff'")
    """
    text = raw.decode("latin_1").strip(" \x00")
    if text.isascii() and text.isprintable():
        return repr(text)
    return repr(bytes(raw).strip(b" \x00"))


def _unsigned_short(raw: bytes) -> Any:
    if len(raw) == 2:
        return _US(raw)[0]
    return decode_value("xUS", raw, [])


_US = struct.Struct("<H").unpack


def _to_int(text: str) -> int:
    """An IS value: a whole number, also when written ``"2.0"`` (never ``"2.5"`` cut to 2)."""
    if "_" in text:
        raise ValueError(text)
    try:
        return int(text)
    except ValueError:
        number = _to_float(text)
        if not number.is_integer():
            raise
        return int(number)


def _to_float(text: str) -> float:
    """A DS value: a finite decimal number (Python's float also reads 'nan' and 'inf')."""
    number = float(text)
    if number - number != 0:
        raise ValueError(text)
    return number


_FAST = {
    "CS": _ascii,
    "DA": _ascii,
    "TM": _ascii,
    "DT": _ascii,
    "AS": _ascii,
    "AE": _ascii,
    "UI": _uid,
    "DS": _number(_to_float, "DS"),
    "IS": _number(_to_int, "IS"),
    "US": _unsigned_short,
}
_BINARY["xUS"] = _BINARY["US"]


def to_python(value: Any) -> Any:
    """Turn a value pydicom returns into the plain form :func:`decode_value` gives.

    Examples
    --------
    >>> from pydicom.valuerep import DSfloat
    >>> to_python([DSfloat("1.5"), DSfloat("2")])
    (1.5, 2.0)
    """
    from pydicom.multival import MultiValue
    from pydicom.valuerep import PersonName

    if isinstance(value, MultiValue | list | tuple):
        items = tuple(to_python(v) for v in value)
        if len(items) == 1:
            return items[0]
        return items if items else None
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value
