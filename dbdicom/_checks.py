"""Check the values a user assigns to DICOM attributes, before any file is touched.

:func:`to_dicom` turns a natural Python value (an int, a float, a date, a list, a
numpy array...) into what pydicom stores for the VR of the tag, or raises
:class:`~dbdicom._errors.InvalidValueError` naming the tag, the VR and what is
accepted. Characters are not checked against ``SpecificCharacterSet``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import numbers
import re
from collections.abc import Callable
from collections.abc import Sequence as AbcSequence
from typing import Any

import numpy as np
from pydicom import config
from pydicom.datadict import (
    dictionary_VM,
    dictionary_VR,
)
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.valuerep import DSfloat, PersonName, validate_value

from ._errors import InvalidValueError, UnknownTagError
from ._keywords import KEYWORDS, keyword_for_tag, tag_for_keyword

__all__ = ["SCALES", "resolve_tag", "scale_problem", "to_dicom"]

TagLike = str | int | tuple[int, int]


#: what a name like ``get_values`` is after: attributes are read by keyword
READ_HINT = (
    " To read attributes, use the record's keywords: record.PatientName, "
    "record[['PatientName', 'StudyDate']] (one list), or record.unique('PatientName')."
)


def suggest(name: str, extra: AbcSequence[str] = ()) -> str:
    """The hint ``" Did you mean 'X'?"`` for the DICOM keyword nearest ``name``.

    Names in ``extra`` are candidates too.

    Examples
    --------
    >>> suggest("SliceLocaton")
    " Did you mean 'SliceLocation'?"
    >>> suggest("zzzz")
    ''
    """
    pool = list(extra) + list(KEYWORDS)
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.75)
    return f" Did you mean {close[0]!r}?" if close else ""


_VR_NAMES = {
    "AE": "application entity", "AS": "age string", "AT": "attribute tag", "CS": "code string",
    "DA": "date", "DS": "decimal string", "DT": "date time", "FL": "32-bit float",
    "FD": "64-bit float", "IS": "integer string", "LO": "long string", "LT": "long text",
    "OB": "other byte", "OD": "other double", "OF": "other float", "OL": "other long",
    "OV": "other 64-bit very long", "OW": "other word", "PN": "person name",
    "SH": "short string", "SL": "signed long", "SQ": "sequence of items", "SS": "signed short",
    "ST": "short text", "SV": "signed 64-bit very long", "TM": "time",
    "UC": "unlimited characters", "UI": "unique identifier", "UL": "unsigned long",
    "UN": "unknown", "UR": "URI/URL", "US": "unsigned short", "UT": "unlimited text",
    "UV": "unsigned 64-bit very long",
}  # fmt: skip
_RANGES = {
    "US": (0, 2**16 - 1), "SS": (-(2**15), 2**15 - 1), "UL": (0, 2**32 - 1),
    "SL": (-(2**31), 2**31 - 1), "UV": (0, 2**64 - 1), "SV": (-(2**63), 2**63 - 1),
    "IS": (-(2**31), 2**31 - 1),
}  # fmt: skip
_UNIT = {"OB": 1, "UN": 1, "OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}  # bytes per item
_TEXT = {"ST", "LT", "UT"}  # free text: never multi-valued, so backslash and CR/LF are allowed
_CTRL = re.compile(r"[\x00-\x1a\x1c-\x1f]")  # control characters except ESC
_TM = re.compile(r"(\d\d)(?:(:?)(\d\d)(?:\2(\d\d)(\.\d{1,6})?)?)?")  # HHMMSS or HH:MM:SS
_DT = re.compile(r"(\d{4})(?:(\d\d)(?:(\d\d)(?:(\d\d)(?:(\d\d)(?:(\d\d)(\.\d{1,6})?)?)?)?)?)?")
_F32_MAX = float(np.finfo(np.float32).max)
_NOT_A_TIME = " Numbers are not dates or times: give a datetime object or a string."

#: RescaleIntercept, RescaleSlope, DoseGridScaling: what makes stored values physical
SCALES = {0x00281052: "(0028,1052)", 0x00281053: "(0028,1053)", 0x3004000E: "(3004,000E)"}
#: why a factor of 0 is refused when set, and what to set instead
_ZERO_FACTOR = {
    0x00281053: (
        "a slope of 0 maps every pixel to the intercept (physical value = stored value x "
        "RescaleSlope + RescaleIntercept): the stored values would be lost and dbdicom does "
        "not read such an image. Set the factor that turns stored values into physical ones "
        "(1 if they are physical already); to change the pixel values themselves, write an "
        "array (series.new_sibling().set_xarray(da))."
    ),
    0x3004000E: (
        "a scaling of 0 maps every stored value to a dose of 0 (dose in Gy = stored value x "
        "DoseGridScaling): the doses would be lost and dbdicom does not read such a grid. "
        "Set the dose in Gy of one stored unit; to change the doses themselves, write an "
        "array (series.new_sibling().set_xarray(da))."
    ),
}


def scale_problem(tag: int, value: Any) -> str:
    """Why a value of one of :data:`SCALES` cannot be used ("" if it can).

    Read as no value, it would be taken as 1 (or 0), its first value, or a
    slope of 0 would make every value the intercept: numbers other than
    meant, worse than an error. The reader and :func:`to_dicom` share it.

    Examples
    --------
    >>> scale_problem(0x00281053, 0.0), scale_problem(0x00281052, 0.0)
    ('it is 0, which would make every value the same', '')
    >>> scale_problem(0x00281053, (2.0, 1.0))
    'it has 2 values (2.0, 1.0), where one is due'
    """
    if value is None:
        return "the value is empty"
    if isinstance(value, tuple | list):
        return f"it has {len(value)} values {tuple(value)!r}, where one is due"
    if value == 0 and tag != 0x00281052:
        return "it is 0, which would make every value the same"
    return ""


class _Refused(Exception):
    """Internal: a value is refused; ``str(error)`` is a hint that ends the message."""


def _label(number: int) -> str:
    return f"({number >> 16:04X},{number & 0xFFFF:04X})"


def _number(tag: Any) -> int:
    number = _parse(tag)
    if number >> 16 == 0x0002 or number == 0x7FE00010:
        why = (
            "holds the pixels, which are written from an array (as new pixel data), not "
            "edited as an attribute"
            if number == 0x7FE00010
            else "is file meta information (group 0002), which dbdicom rebuilds from the "
            "dataset whenever it writes a file"
        )
        raise InvalidValueError(
            f"{keyword_for_tag(number) or 'Tag'} {_label(number)} {why}: it defines the "
            "structure of the file and cannot be edited."
        )
    return number


def _parse(tag: Any) -> int:
    if isinstance(tag, str):
        number = tag_for_keyword(tag)
        if number is None:
            raise UnknownTagError(f"{tag!r} is not a DICOM keyword.{suggest(tag)}")
        return int(number)
    if isinstance(tag, tuple) and len(tag) == 2 and all(type(x) is int for x in tag):
        if all(0 <= x <= 0xFFFF for x in tag):
            return int(tag[0]) << 16 | int(tag[1])
    elif isinstance(tag, int) and not isinstance(tag, bool) and 0 <= tag <= 0xFFFFFFFF:
        return int(tag)
    raise UnknownTagError(
        f"{tag!r} is not a tag: give a keyword ('EchoTime'), an int (0x00180081) "
        "or a (group, element) pair ((0x0018, 0x0081))."
    )


def resolve_tag(tag: TagLike, vr: str | None = None) -> tuple[int, str, str]:
    """The number, name and VR of a tag whose values dbdicom can check.

    Parameters
    ----------
    tag
        A keyword (``"EchoTime"``), an int (``0x00180081``) or ``(group, element)``.
    vr
        For tags with several possible VRs in the dictionary (``"US or SS"``),
        the one to use; by default the first (``US``), or ``OW`` for ``"OB or OW"``.

    Returns
    -------
    tuple of (int, str, str)
        The tag number, its keyword (or ``"(gggg,eeee)"`` if it has none) and its VR.

    Raises
    ------
    UnknownTagError
        For an unknown keyword (with the nearest keyword as a suggestion), a
        private tag or a tag missing from pydicom's dictionary.
    InvalidValueError
        For tags that define the file structure (``PixelData``, group 0x0002),
        or a ``vr`` that the tag cannot have.

    Examples
    --------
    >>> resolve_tag("EchoTime")
    (1572993, 'EchoTime', 'DS')
    >>> resolve_tag((0x0028, 0x0010))
    (2621456, 'Rows', 'US')
    >>> resolve_tag("SmallestImagePixelValue", vr="SS")[2]
    'SS'
    """
    if isinstance(tag, str | int):  # writers resolve the same few tags per frame
        return _resolved(tag, vr)
    return _resolve(tag, vr)


@functools.lru_cache(maxsize=4096)
def _resolved(tag: str | int, vr: str | None) -> tuple[int, str, str]:
    return _resolve(tag, vr)


def _resolve(tag: TagLike, vr: str | None) -> tuple[int, str, str]:
    number = _number(tag)
    label = _label(number)
    way_out = (
        "dbdicom cannot validate a value without knowing its VR. Give the value as a "
        "pydicom DataElement with the VR the element has in the file (dbdicom info FILE "
        f"shows it), e.g. DataElement({number:#010x}, 'LO', value) for new text: it is then "
        "stored as given, unchecked."
    )
    if (number >> 16) % 2:
        raise UnknownTagError(f"{label} is a private tag: {way_out}")
    try:
        options = str(dictionary_VR(number)).split(" or ")
    except KeyError:
        raise UnknownTagError(f"{label} is not in pydicom's DICOM dictionary: {way_out}") from None
    name = keyword_for_tag(number) or label
    if vr is None:
        vr = "OW" if options == ["OB", "OW"] else options[0]
    elif vr not in options:
        raise InvalidValueError(f"{name} {label} cannot have VR {vr!r}: its VR is {options}.")
    return number, name, vr


@functools.lru_cache(maxsize=1024)
def _vm_allows(count: int, vm: str) -> bool:
    match = re.fullmatch(r"(\d+)(?:-(\d*)(n?))?", vm)
    if match is None or count == 0:
        return True
    low, high, open_ended = int(match[1]), match[2], match[3]
    if high is None:  # "3"
        return count == low
    if not open_ended:  # "1-3"
        return low <= count <= int(high)
    return count >= low and count % int(high or 1) == 0  # "1-n", "2-2n"


@functools.lru_cache(maxsize=1024)
def _vm_of(number: int) -> str:
    return str(dictionary_VM(number))


def plain_number_text(number: int, vr: str, value: Any) -> str | None:
    r"""The text of a DS or IS ``value`` when no judgement is needed.

    ``value`` is a number or a list of numbers. No judgement is needed for
    finite floats whose shortest form fits the 16 characters of a DS,
    integers in the range of an IS, as many as the tag's VM allows; ``None``
    otherwise (:func:`to_dicom` decides). For writers that encode many
    numbers.

    Examples
    --------
    >>> print(plain_number_text(0x00201041, "DS", -12.5), plain_number_text(0x00200032, "DS", [1, 2.5, 3]))
    -12.5 1\2.5\3
    >>> plain_number_text(0x00201041, "DS", 1 / 3) is None  # too long: to_dicom rounds it
    True
    """  # noqa: E501
    if vr not in ("DS", "IS"):
        return None
    items = value if isinstance(value, list | tuple) else [value]
    texts = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        if isinstance(v, int):
            if not -(2**31) <= v < 2**31:
                return None
            texts.append(str(v))
        elif vr == "IS" or not math.isfinite(v) or len(text := repr(v)) > 16:
            return None
        else:
            texts.append(text)
    if not texts or not _vm_allows(len(texts), _vm_of(number)):
        return None
    return "\\".join(texts)


def _pydicom(vr: str, value: Any) -> None:
    try:
        validate_value(vr, value, config.RAISE)
    except ValueError:
        raise _Refused() from None


def _integer(vr: str, v: Any) -> int:
    if isinstance(v, bool):
        raise _Refused(" Booleans are refused: give 0 or 1.")
    if vr == "IS" and isinstance(v, str) and re.fullmatch(r" *[+-]?\d{1,12} *", v):
        v = int(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    low, high = _RANGES[vr]
    if not isinstance(v, int) or not low <= v <= high:
        raise _Refused()
    return int(v)


def _real(vr: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise _Refused()
    try:
        out = float(v)
    except OverflowError:
        raise _Refused() from None
    if vr == "FL" and math.isfinite(out) and abs(out) > _F32_MAX:
        raise _Refused(" The value overflows a 32-bit float.")
    return out


def _decimal(vr: str, v: Any) -> DSfloat:
    if isinstance(v, str):
        _pydicom(vr, v)
        out = DSfloat(v)
    elif math.isfinite(number := _real("FD", v)):
        out = DSfloat(number, auto_format=True)
    else:
        raise _Refused()
    if not math.isfinite(float(str(out))):  # e.g. 1.7976931348e308 rounded up to 16 characters
        raise _Refused(" Its decimal form overflows a 64-bit float.")
    return out


def _date(vr: str, v: Any) -> str:
    if isinstance(v, dt.date):
        return f"{v.year:04d}{v.month:02d}{v.day:02d}"
    match = isinstance(v, str) and re.fullmatch(r"(\d{4})-?(\d\d)-?(\d\d)", v.strip())
    if not match:
        raise _Refused(_NOT_A_TIME if isinstance(v, numbers.Number) else "")
    try:
        return _date("DA", dt.date(*map(int, match.groups())))
    except ValueError:
        raise _Refused(" This day does not exist in the calendar.") from None


def _time(vr: str, v: Any) -> str:
    if isinstance(v, dt.datetime):
        v = v.time()
    if isinstance(v, dt.time):
        fraction = f".{v.microsecond:06d}" if v.microsecond else ""
        return f"{v.hour:02d}{v.minute:02d}{v.second:02d}{fraction}"
    match = isinstance(v, str) and _TM.fullmatch(v.strip())
    if not match:
        raise _Refused(_NOT_A_TIME if isinstance(v, numbers.Number) else "")
    hh, _, mm, ss, fraction = match.groups()
    if int(hh) > 23 or int(mm or 0) > 59 or int(ss or 0) > 60:
        raise _Refused()
    return "".join(x for x in (hh, mm, ss, fraction) if x)


def _datetime(vr: str, v: Any) -> str:
    if isinstance(v, dt.datetime):
        offset = v.utcoffset()
        zone = ""
        if offset is not None:
            minutes = round(offset.total_seconds() / 60)
            zone = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
        return _date("DA", v) + _time("TM", v.time()) + zone
    if isinstance(v, dt.date):
        return _date("DA", v)
    if not isinstance(v, str):
        raise _Refused(_NOT_A_TIME if isinstance(v, numbers.Number) else "")
    s = v.strip()
    zone = s[-5:] if len(s) >= 9 and s[-5] in "+-" and s[-4:].isdigit() else ""
    match = _DT.fullmatch(s[: len(s) - len(zone)])
    if match is None and s[4:5] == "-":
        try:  # ISO 8601, e.g. "2024-05-01T12:30:00+01:00"
            return _datetime(vr, (dt.date if len(s) == 10 else dt.datetime).fromisoformat(s))
        except ValueError:
            raise _Refused() from None
    if match is None:
        raise _Refused()
    try:
        year, month, day, hour, minute = (int(match[i] or d) for i, d in enumerate("11100", 1))
        dt.datetime(year, month, day, hour, minute)
    except ValueError:
        raise _Refused() from None
    if int(match[6] or 0) > 60 or (zone and (int(zone[1:3]) > 14 or int(zone[3:]) > 59)):
        raise _Refused()
    return s


def _string(vr: str, v: Any) -> str:
    if not isinstance(v, str):
        raise _Refused()
    if vr not in _TEXT and "\\" in v:
        raise _Refused(" A backslash separates values: give a list instead.")
    if vr not in _TEXT and _CTRL.search(v):
        raise _Refused(" Control characters (newlines, tabs...) are not allowed.")
    if vr == "CS" and v != v.upper():
        raise _Refused(f" Use upper case: {v.upper()!r}.")
    _pydicom(vr, v)
    return v


def _name(vr: str, v: Any) -> str:
    text = _string(vr, str(v) if isinstance(v, PersonName) else v)  # pydicom checks the groups
    if any(group.count("^") > 4 for group in text.split("=")):
        raise _Refused(" A name has at most 5 components.")
    return text


def _attribute(vr: str, v: Any) -> int:
    if isinstance(v, bool | float):
        raise _Refused()
    try:
        return int(Tag(v))
    except (ValueError, TypeError, OverflowError):
        raise _Refused() from None


def _binary(vr: str, v: Any) -> bytes:
    unit = _UNIT[vr]
    if isinstance(v, np.ndarray):
        kinds = "f" if vr in ("OF", "OD") else "iu" if unit > 1 else v.dtype.kind  # OB: any
        if v.dtype.kind not in kinds or (unit > 1 and v.dtype.itemsize != unit):
            kind = {"OF": "float32", "OD": "float64"}.get(vr, f"{unit * 8}-bit integers")
            raise _Refused(f" Convert the array to {kind} first, e.g. with .astype().")
        v = v.astype(v.dtype.newbyteorder("<")).tobytes()
    if not isinstance(v, bytes | bytearray) or len(v) % unit:
        raise _Refused()
    return bytes(v)


def _nothing(vr: str, v: Any) -> None:
    raise _Refused()


_RULES: dict[str, tuple[Callable[[str, Any], Any], str]] = {
    **{vr: (_integer, f"an integer from {lo} to {hi}") for vr, (lo, hi) in _RANGES.items()},
    "FL": (_real, "a real number within the range of a 32-bit float"),
    "FD": (_real, "a real number"),
    "DS": (_decimal, "a finite number, or a decimal string of at most 16 characters"),
    "DA": (_date, "a datetime.date or a date string 'YYYYMMDD' (or 'YYYY-MM-DD')"),
    "TM": (_time, "a datetime.time or a time string 'HHMMSS.FFFFFF' (or 'HH:MM:SS'); the "
           "trailing parts may be left out"),
    "DT": (_datetime, "a datetime.datetime or a string 'YYYYMMDDHHMMSS.FFFFFF&ZZXX' (the "
           "trailing parts may be left out) or an ISO 8601 date time"),
    "PN": (_name, "a name 'Family^Given^Middle^Prefix^Suffix' (at most 5 components and 64 "
           "characters per group; up to 3 groups separated by '=')"),
    "CS": (_string, "at most 16 characters among upper case letters, digits, space and '_'"),
    "AE": (_string, "at most 16 characters, no backslash"),
    "AS": (_string, "an age: 3 digits then D, W, M or Y, e.g. '045Y'"),
    "UI": (_string, "a UID: at most 64 characters, digits and dots, no leading zeros"),
    "UR": (_string, "a URI or URL without spaces"),
    "AT": (_attribute, "a tag: a keyword, an int or a (group, element) tuple"),
    **{vr: (_string, f"a string of at most {n} characters, no backslash")
       for vr, n in (("SH", 16), ("LO", 64))},
    "UC": (_string, "a string without backslash"),
    **{vr: (_string, f"a string of at most {n} characters") for vr, n in (("ST", 1024),
       ("LT", 10240), ("UT", 2**32 - 2))},
    **{vr: (_binary, f"bytes, bytearray or a numpy array ({n}-byte items)")
       for vr, n in _UNIT.items()},
    "SQ": (_nothing, "a list of pydicom Datasets or a pydicom Sequence"),
}  # fmt: skip


def _scalar(v: Any) -> Any:
    if isinstance(v, np.datetime64):
        return v.astype("datetime64[us]").item()
    return v.item() if isinstance(v, np.generic) else v


def _items(vr: str, value: Any) -> list[Any] | None:
    """The items of a multi-valued value, or None for a single value."""
    if isinstance(value, np.ndarray) and vr not in _UNIT:
        if value.ndim > 1:
            raise _Refused(" Give a 1-D array (flatten it first).")
        return list(value) if value.ndim else None
    if vr == "AT" and isinstance(value, tuple) and len(value) == 2:
        return None  # one (group, element) tag
    if isinstance(value, AbcSequence) and not isinstance(value, str | bytes | bytearray):
        return list(value)
    return None


def to_dicom(tag: TagLike, value: Any, vr: str | None = None) -> Any:
    """The value to store in a pydicom element, checked against the tag's VR.

    Parameters
    ----------
    tag
        A keyword, an int or a ``(group, element)`` pair (see :func:`resolve_tag`).
    value
        A natural value: ``None`` (empty), a number, a string, a date or time, a
        list, tuple or 1-D numpy array of those (several values), bytes or an
        array (for OB, OW...), a list of Datasets (SQ), or a pydicom
        ``DataElement`` of that tag (returned as is, unchecked).
    vr
        The VR to use for tags with several possible VRs (see :func:`resolve_tag`).

    Returns
    -------
    Any
        What to assign, e.g. ``ds.add_new(number, vr, converted)``: ``None`` for an
        empty value (an empty ``Sequence`` for SQ), else one value or a list of
        them (a list if one was given, unless the VM is 1): ``int`` (integer VRs,
        IS, AT), ``float`` (FL, FD), ``DSfloat`` (DS), ``str`` (DA, TM, DT and
        text VRs), ``bytes`` (OB, OW...), ``Sequence`` (SQ) or the DataElement given.

    Raises
    ------
    InvalidValueError
        For a value that the VR (or the VM, the number of values) does not allow;
        the message names the tag, the VR, the value and what is accepted.
    UnknownTagError
        See :func:`resolve_tag`.

    Examples
    --------
    >>> import datetime
    >>> to_dicom("StudyDate", datetime.date(2024, 5, 1)), to_dicom("EchoTime", 1 / 3)
    ('20240501', '0.33333333333333')
    >>> to_dicom("ImageType", ["ORIGINAL", "PRIMARY"])
    ['ORIGINAL', 'PRIMARY']
    >>> to_dicom("Rows", -1)
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: Rows (0028,0010) has VR US (unsigned short) and cannot hold -1: expected an integer from 0 to 65535.
    """  # noqa: E501
    if isinstance(value, DataElement):
        if value.tag != (number := _number(tag)):
            raise InvalidValueError(f"The DataElement {value.tag} is not for tag {_label(number)}.")
        return value
    number, name, vr = resolve_tag(tag, vr)
    label = name if name.startswith("(") else f"{name} {_label(number)}"
    convert, accepted = _RULES.get(vr, (_nothing, "no value: this tag only structures a file"))

    def refuse(bad: Any, hint: str = "", where: str = "") -> InvalidValueError:
        text = repr(bad) if len(repr(bad)) <= 200 else repr(bad)[:197] + "..."
        return InvalidValueError(
            f"{label} has VR {vr} ({_VR_NAMES.get(vr, 'no value')}) and cannot hold "
            f"{text}{where}: expected {accepted}.{hint}"
        )

    if vr == "SQ":
        return _sequence(value, refuse)
    if value is None or (isinstance(value, str) and value == ""):
        return None
    try:
        items = _items(vr, value)
    except _Refused as error:
        raise refuse(value, str(error)) from None
    out = []
    for i, item in enumerate([value] if items is None else items):
        try:
            out.append(convert(vr, _scalar(item)))
        except _Refused as error:
            where = "" if items is None else f" (item {i} of {len(items)})"
            raise refuse(item, str(error), where) from None
    if not _vm_allows(len(out), vm := str(dictionary_VM(number))):
        count = "1 value was" if items is None else f"{len(out)} values were"
        raise refuse(value, f" Its VM (number of values) is {vm}, and {count} given.")
    if not out:
        return None
    if number in _ZERO_FACTOR and len(out) == 1 and scale_problem(number, out[0]):
        raise InvalidValueError(f"{label} cannot be {value!r}: {_ZERO_FACTOR[number]}")
    return out[0] if items is None or (vm == "1" and len(out) == 1) else out


def _sequence(value: Any, refuse: Callable[..., InvalidValueError]) -> Any:
    """The items of an SQ ``value`` (a Dataset, None or several Datasets) as a Sequence.

    ``refuse`` makes the error of :func:`to_dicom` for a value that is not one.
    """
    items = [value] if isinstance(value, Dataset) else [] if value is None else value
    if not isinstance(items, list | tuple | Sequence):
        raise refuse(value)
    for i, item in enumerate(items):
        if not isinstance(item, Dataset):
            raise refuse(item, where=f" (item {i} of {len(items)})")
    return items if isinstance(items, Sequence) else Sequence(list(items))
