"""WADO-RS metadata (the DICOM JSON model) as Part 10 header files, values kept as sent.

The headers of an archive are written as small files (see ``_cache``) that
the index then reads as it reads any folder, with its own checks and its
own list of problems (``database.problems()``). So the values are written
as the server sent them, never judged on the way: pydicom's own
validation (``Dataset.from_json`` warns of every value that breaks a VR's
rule: a UID component with a leading zero, a date written ``1997.04.24``)
is off for each element made here, never for the process, and a number
string that is not a number (an IS of ``1A``) is written as its text.
What cannot be written at all (a binary number that is not one, an
attribute tag that is not hexadecimal) is left out of the header and
said, by :class:`Encoder`'s ``lost``, for the caller to report. Bulk data
(pixel data, lookup tables, waveforms: ``BulkDataURI``) stay on the
server, at every depth.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import warnings
from typing import Any

from pydicom import config
from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement, empty_value_for_VR
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_data_element
from pydicom.jsonrep import convert_to_python_number
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from .._files import decode_value, encode_element, encodings_for, file_meta_bytes

__all__ = ["BULK", "Encoder", "Unwritable", "element_of", "misread", "uid_of"]

_SOP, _CLASS, _CHARSET = "00080018", "00080016", "00080005"
#: pixel data elements, and the float bits each means
BULK = {"7FE00010": 0, "7FE00008": 32, "7FE00009": 64}
_NUMBER_TEXT = ("IS", "DS")
#: the VRs whose values are text (numbers strings apart)
_TEXT = frozenset("AE AS CS DA DT LO LT SH ST TM UC UI UR UT".split())
_PLAIN = (str, int, float)
#: the VRs whose values take the default repertoire only (no character set applies)
_DEFAULT_REPERTOIRE = frozenset("AE AS CS DA DS DT IS TM UI UR".split())
#: character sets whose byte 5Ch (the backslash between values) is a yen sign as text
_YEN_SETS = ("ISO_IR 13", "ISO 2022 IR 13")


class Unwritable(ValueError):
    """A value of the JSON model that no element of its VR can hold."""


def uid_of(item: dict[str, Any], tag: str) -> str:
    """The first value of ``tag`` in a DICOM JSON object ("" if none).

    Examples
    --------
    >>> uid_of({"00080018": {"vr": "UI", "Value": ["1.2.3"]}}, "00080018"), uid_of({}, "x")
    ('1.2.3', '')
    """
    value = item.get(tag, {}).get("Value") or [""]
    return str(value[0])


def _value_key(value: dict[str, Any]) -> Any:
    """What tells a DICOM JSON value from another, cheaply: its VR and values.

    The values' types too (a DS of 1 and one of 1.0 encode apart); the JSON
    text where they are not plain (person names, sequences, bulk data).

    Examples
    --------
    >>> _value_key({"vr": "DS", "Value": [1]}) == _value_key({"vr": "DS", "Value": [1.0]})
    False
    >>> _value_key({"vr": "PN", "Value": [{"Alphabetic": "A^B"}]})
    '{"Value": [{"Alphabetic": "A^B"}], "vr": "PN"}'
    """
    values = value.get("Value")
    if len(value) == 2 and isinstance(values, list):
        if all(type(v) in _PLAIN for v in values):
            return (value.get("vr"), *[(type(v), v) for v in values])
    return json.dumps(value, sort_keys=True)


def _person_name(value: Any) -> str:
    """A PN value of the JSON model as DICOM text: its component groups joined by ``=``.

    Examples
    --------
    >>> _person_name({"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎"})
    'Yamada^Tarou=山田^太郎'
    >>> _person_name("Doe^John")  # some servers send the text itself: kept
    'Doe^John'
    """
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    groups = [str(value.get(k) or "") for k in ("Alphabetic", "Ideographic", "Phonetic")]
    while groups and not groups[-1]:
        groups.pop()
    return "=".join(groups)


def _attribute_tag(value: Any) -> int:
    """An AT value of the JSON model (``"00100010"``) as a number."""
    text = str(value)
    if len(text) != 8 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise Unwritable(f"{value!r} is not an attribute tag (8 hexadecimal digits)")
    return int(text, 16)


def element_of(tag: str, value: dict[str, Any]) -> DataElement | None:
    """The element of one attribute of the JSON model, its value as sent; None for bulk data.

    Raises :class:`Unwritable` for a value its VR cannot hold.

    Examples
    --------
    >>> element_of("00080018", {"vr": "UI", "Value": ["1.2.0123"]}).value  # not valid: kept
    '1.2.0123'
    >>> element_of("00280008", {"vr": "IS", "Value": ["1A"]}).value
    '1A'
    >>> element_of("00080008", {"vr": "CS", "Value": ["ORIGINAL", None]}).value
    ['ORIGINAL', '']
    >>> element_of("7FE00010", {"vr": "OW", "BulkDataURI": "http://h/b"}) is None
    True
    """
    vr = str(value.get("vr") or "UN")
    number = int(tag, 16)
    if "BulkDataURI" in value:
        return None  # on the server, as the pixel data are
    if "InlineBinary" in value:
        data = value["InlineBinary"]
        data = data[0] if isinstance(data, list) else data
        return DataElement(number, vr, base64.b64decode(data), validation_mode=config.IGNORE)
    values = value.get("Value")
    if not values:
        return DataElement(number, vr, empty_value_for_VR(vr), validation_mode=config.IGNORE)
    if vr == "SQ":
        items = Sequence([_item(v or {}) for v in values])
        return DataElement(number, vr, items, validation_mode=config.IGNORE)
    if vr == "PN":
        values = [_person_name(v) for v in values]
    elif vr == "AT":
        values = [_attribute_tag(v) for v in values]
    elif vr in _TEXT:  # an empty value among others (null in the JSON model)
        values = ["" if v is None else v for v in values]
    try:
        converted = convert_to_python_number(values, vr)
        single = converted[0] if len(converted) == 1 else converted
        return DataElement(number, vr, single, validation_mode=config.IGNORE)
    except (ValueError, TypeError, OverflowError) as exc:
        if vr not in _NUMBER_TEXT:
            raise Unwritable(f"{values!r} cannot be held by VR {vr}") from exc
    texts = ["" if v is None else str(v) for v in values]  # a number string as its text
    text: Any = texts[0] if len(texts) == 1 else MultiValue(str, texts)
    return DataElement(number, vr, text, validation_mode=config.IGNORE, already_converted=True)


def misread(meta: dict[str, Any]) -> bool:
    """Whether a server may have read this instance's values wrong (its backslash as a yen...).

    In character set ISO 2022 IR 13 (Japanese, JIS X 0201) the byte 5Ch is a
    yen sign as text, but between values it is the backslash that separates
    them, and values of the default repertoire (CS, DS, IS, UI...) take no
    character set at all. Orthanc's DICOMweb metadata reads it as text: a
    multi-valued CS comes as one value ``'ORIGINAL¥PRIMARY'``, and a
    multi-valued DS (PixelSpacing, ImagePositionPatient) as no value. True
    when the instance is in such a character set, or a value of the default
    repertoire holds a yen sign (no valid one does), at any depth.

    Examples
    --------
    >>> misread({"00080008": {"vr": "CS", "Value": ["ORIGINAL¥PRIMARY"]}})
    True
    >>> misread({"00080005": {"vr": "CS", "Value": ["ISO 2022 IR 13", "ISO 2022 IR 87"]}})
    True
    >>> misread({"00080005": {"vr": "CS", "Value": ["ISO 2022 IR 6", "ISO 2022 IR 87"]}})
    True
    >>> misread({"00080008": {"vr": "CS", "Value": ["ORIGINAL", "PRIMARY"]},
    ...          "00100010": {"vr": "PN", "Value": [{"Alphabetic": "¥"}]}})
    False
    """
    charset = [str(v) for v in meta.get(_CHARSET, {}).get("Value") or []]
    if any(name in _YEN_SETS for name in charset):
        return True
    if len(charset) > 1 and charset[0] == "ISO 2022 IR 6":
        # the default repertoire named as a code extension (allowed): Orthanc then
        # gives ISO 2022 IR 87 text as its bytes without their escapes ('$B$d$^...')
        return True
    for value in meta.values():
        values = value.get("Value") or []
        if value.get("vr") == "SQ" and any(misread(item or {}) for item in values):
            return True
        if value.get("vr") in _DEFAULT_REPERTOIRE and any("¥" in str(v) for v in values):
            return True
    return False


def _item(value: dict[str, Any]) -> Dataset:
    """An item of a sequence of the JSON model, as a dataset (bulk data left out)."""
    ds = Dataset()
    for tag in sorted(value):
        made = element_of(tag, value[tag])
        if made is not None:
            ds.add(made)
    return ds


class Encoder:
    """Part 10 bytes of WADO-RS metadata, each distinct element encoded once.

    The instances of a series repeat most of their elements value for
    value: an element is made (:func:`element_of`) and written through
    pydicom (``write_data_element``) the first time its tag, value and
    character set are seen, and its bytes reused after; one equal to the
    previous instance's is found first by comparing the JSON values. Those
    each instance has its own of, mostly UIDs and numbers, are written
    directly (:func:`_plain_element`, the bytes pydicom writes). About 0.05
    ms an instance of 70 attributes (~6 ms each through pydicom, ~0.25 with
    the reuse alone). ``lost`` lists what could not be written: ``(SOP
    Instance UID, tag, why)``.

    Examples
    --------
    >>> meta = {"00080018": {"vr": "UI", "Value": ["1.2.3"]},
    ...         "00080020": {"vr": "DA", "Value": ["1997.04.24"]},
    ...         "00181310": {"vr": "US", "Value": ["wide"]}}
    >>> encoder = Encoder()
    >>> data, bits = encoder.file(meta)
    >>> b"1997.04.24" in data, bits, encoder.lost
    (True, 0, [('1.2.3', '(0018,1310)', "['wide'] cannot be held by VR US")])
    """

    def __init__(self) -> None:
        self.memo: dict[tuple[str, str, str], bytes] = {}
        self.lost: list[tuple[str, str, str]] = []
        # each tag's last value and bytes: most elements equal the previous
        # instance's, which a comparison of the JSON values tells at C speed
        self.last: dict[str, tuple[dict[str, Any], list[str], bytes]] = {}
        self._keys: tuple[str, ...] = ()
        self._order: list[str] = []

    def element(self, tag: str, value: dict[str, Any], charset: list[str]) -> bytes:
        """The bytes of one attribute (Explicit VR Little Endian); raises :class:`Unwritable`."""
        last = self.last.get(tag)
        # equal values (a DS 1 and 1.0 too, which differ only in their text) are one value
        if last is not None and last[0] == value and last[1] == charset:
            return last[2]
        found = _plain_element(tag, value)
        if found is None:
            key = (tag, _value_key(value), "\\".join(charset))
            found = self.memo.get(key)
            if found is None:
                found = self.memo[key] = _in_charset(tag, value, charset)
        self.last[tag] = (value, charset, found)
        return found

    def file(self, meta: dict[str, Any]) -> tuple[bytes, int]:
        """An instance's metadata as a Part 10 file without bulk data, and its float bits.

        In the instance's own character set; in UTF-8 (``ISO_IR 192``, said
        by its SpecificCharacterSet) where pydicom cannot write a text of it
        in that one, or writes another text (see :func:`_in_charset`).
        """
        bits = next((b for tag, b in BULK.items() if tag in meta), 0)
        charset = ["" if v is None else str(v) for v in meta.get(_CHARSET, {}).get("Value") or []]
        try:
            return self._file(meta, charset), bits
        except _NotInCharset:
            return self._file(meta, [_UTF8], utf8=True), bits

    def _file(self, meta: dict[str, Any], charset: list[str], utf8: bool = False) -> bytes:
        """:meth:`file`'s bytes, text written in ``charset`` (``utf8``: said to be UTF-8)."""
        sop_class = uid_of(meta, _CLASS) or "1.2.840.10008.5.1.4.1.1.7"
        sop = uid_of(meta, _SOP)
        head = file_meta_bytes(sop_class, sop, PYDICOM_IMPLEMENTATION_UID)
        parts = [b"\0" * 128, b"DICM", head]
        # the tags in file order, bulk data and file meta left out: the same
        # for the instances of a series, which a server sends with their tags
        # in the same order (one comparison instead of a sort each)
        keys = tuple(meta)
        if keys != self._keys:
            self._keys = keys
            self._order = [t for t in sorted(meta) if t not in BULK and not t.startswith("0002")]
        order = self._order
        if utf8 and _CHARSET not in meta:  # (said where it goes: tags ascending)
            order = sorted([*order, _CHARSET])
        last = self.last
        lost = []
        for tag in order:
            if utf8 and tag == _CHARSET:
                parts.append(_SAY_UTF8)
                continue
            value = meta[tag]
            if "BulkDataURI" in value:
                continue
            held = last.get(tag)  # (element's test, inline: ~70 tags an instance)
            if held is not None and held[0] == value and held[1] == charset:
                parts.append(held[2])
                continue
            try:
                parts.append(self.element(tag, value, charset))
            except Unwritable as exc:
                lost.append((sop, f"({tag[:4]},{tag[4:]})", str(exc)))
        self.lost += lost
        return b"".join(parts)


class _NotInCharset(Exception):
    """A text that pydicom cannot write in the instance's character set, or writes as another."""


def _in_charset(tag: str, value: dict[str, Any], charset: list[str]) -> bytes:
    """:func:`_written`, checked where its text goes beyond ASCII: raises :class:`_NotInCharset`.

    The text is read back from the bytes written, in ``charset``, and
    compared: pydicom writes what a character set cannot hold as ``?``
    (with a warning), in ISO 2022 IR 87 ends a Japanese text with the
    escape to ISO 8859-1 instead of ASCII (``やまだ^たろう`` then reads
    ``やまだ�たろう�`` where the character set does not name ISO 8859-1),
    and fails on some names (``山田^太郎``, an IndexError). A sequence's
    texts, at every depth, are read back by pydicom (which reads them for
    the index); in UTF-8 too, since an item may name a character set of its
    own: one that does not read back there is :class:`Unwritable`.
    """
    vr = value.get("vr")
    sequence = vr == "SQ"
    checked = sequence or (vr in _TEXT_VRS and charset != [_UTF8])
    text = json.dumps(value, ensure_ascii=False) if checked else ""
    if charset == [_UTF8] and f'"{_CHARSET}"' not in text:
        checked = False  # (UTF-8 holds every text: unless an item names a set of its own)
    if not checked or text.isascii():
        return _written(tag, value, charset)
    # pydicom's warnings, as it replaces what it cannot write, held back (one thread at a
    # time: the filters are the process's, and two threads restoring them out of turn
    # would leave them as the other found them)
    with _QUIET, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            data = _written(tag, value, charset)
        except Unwritable:
            if charset == [_UTF8]:
                raise
            raise _NotInCharset(tag) from None
        made = element_of(tag, value)
        if sequence:
            same = made is not None and _sequence_reads_back(made, data, charset)
        else:
            same = _text_reads_back(made, str(vr), data, charset)
    if same:
        return data
    if charset == [_UTF8]:
        raise Unwritable(f"a text of the sequence is not read back as sent (in {charset})")
    raise _NotInCharset(tag)


def _text_reads_back(made: DataElement | None, vr: str, data: bytes, charset: list[str]) -> bool:
    """Whether the text element ``data`` reads back as ``made``'s text (see :func:`_in_charset`).

    Read as dbdicom's index reads it and as pydicom does (the two name the
    default repertoire's codec apart, so that an escape to ISO 8859-1 that
    one reads the other does not: both must give the text).
    """
    start = 12 if vr in ("UC", "UT") else 8
    reads = []
    for encodings in (encodings_for(charset), convert_encodings(charset)):
        try:
            reads.append(decode_value(vr, data[start:], encodings))
        except (ValueError, LookupError, TypeError):
            reads.append(None)
    wanted = made.value if made is not None else None
    texts = [str(v) for v in wanted] if isinstance(wanted, MultiValue) else [str(wanted)]
    return all((list(back) if isinstance(back, tuple) else [back]) == texts for back in reads)


def _sequence_reads_back(made: DataElement, data: bytes, charset: list[str]) -> bool:
    """Whether the sequence ``data`` reads back (pydicom) with the texts of ``made``."""
    try:
        fp = io.BytesIO(_charset_element(charset) + data)
        back = read_dataset(fp, is_implicit_VR=False, is_little_endian=True)
        return _texts(back[made.tag]) == _texts(made)
    except (ValueError, LookupError, TypeError, EOFError, AttributeError):
        return False


def _texts(elem: DataElement) -> Any:
    """The texts in the instance's character set of a sequence, item by item, at every depth."""
    items = []
    for item in elem.value or ():
        found = []
        for sub in item:
            if sub.VR == "SQ":
                found.append((sub.tag, _texts(sub)))
            elif sub.VR in _TEXT_VRS:  # (trailing spaces are padding: read without them)
                v = sub.value
                values = v if isinstance(v, MultiValue) else [v]
                found.append((sub.tag, [str(x).rstrip(" \0") for x in values]))
        items.append(found)
    return items


def _charset_element(charset: list[str]) -> bytes:
    """The SpecificCharacterSet element of ``charset``."""
    return encode_element(int(_CHARSET, 16), "CS", charset)


_QUIET = threading.Lock()
_UTF8 = "ISO_IR 192"
_SAY_UTF8 = _charset_element([_UTF8])
#: the VRs whose text is in the instance's character set (PS3.5 6.1.2.3)
_TEXT_VRS = frozenset({"PN", "SH", "LO", "ST", "LT", "UC", "UT"})


def _written(tag: str, value: dict[str, Any], charset: list[str]) -> bytes:
    """The bytes of one attribute as pydicom writes it; raises :class:`Unwritable`."""
    made = element_of(tag, value)
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    if made is not None:
        try:
            write_data_element(fp, made, encodings_for(charset))
        except (ValueError, TypeError, OverflowError, LookupError) as exc:
            raise Unwritable(str(exc)) from exc
    return bytes(fp.getvalue())


def _plain_element(tag: str, value: dict[str, Any]) -> bytes | None:
    r"""The bytes of a UI, IS or DS element of plain values, as pydicom writes them; else None.

    The values each instance has its own of (SOPInstanceUID, InstanceNumber,
    ImagePositionPatient, SliceLocation...): no pydicom element made and
    written for each (~25 us each: 4 of them a slice). The same bytes:
    pydicom writes a DS of a JSON number as ``str(float(v))`` (``-97`` as
    ``-97.0``), an IS of an integer as ``str(v)``, a UI as sent; padded to
    an even length. Text of another character set, other types (a DS sent
    as text, a boolean), whole numbers beyond 2**53 and infinities: None
    (pydicom's way).

    Examples
    --------
    >>> _plain_element("00201041", {"vr": "DS", "Value": [-97]})[8:]
    b'-97.0 '
    >>> _plain_element("00200013", {"vr": "IS", "Value": [4, 5]})[8:]
    b'4\\5 '
    >>> _plain_element("00201041", {"vr": "DS", "Value": ["1.50"]}) is None
    True
    """
    vr, values = value.get("vr"), value.get("Value")
    if not values or len(value) != 2 or vr not in _DIRECT_VRS:
        return None
    kinds = set(map(type, values))
    if vr == "UI":
        if kinds != {str} or not all(map(str.isascii, values)):
            return None
        text = values
    elif vr == "IS":
        if kinds != {int} or max(map(abs, values)) >= _EXACT:
            return None
        text = [str(v) for v in values]
    else:
        if not kinds <= {int, float} or any(
            abs(v) >= _EXACT if type(v) is int else math.isinf(v) for v in values
        ):
            return None
        text = [str(float(v)) for v in values]
    return encode_element(int(tag, 16), vr, text)


_DIRECT_VRS = frozenset({"UI", "IS", "DS"})
#: whole numbers float64 holds exactly (beyond: pydicom's way)
_EXACT = 2**53
