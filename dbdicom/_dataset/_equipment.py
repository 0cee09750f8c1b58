"""Who made a frame, and when: dbdicom, the write's date and time.

A frame derived from a source keeps the source's General Equipment module
(PS3.3 C.7.5.1: the Manufacturer, ManufacturerModelName, SoftwareVersions
of the scanner that made the source): it says where the data were acquired,
and readers (dcm2niix, vendor-specific decoding) rely on it. That dbdicom
processed them is said where the standard says it: one item of the
ContributingEquipmentSequence (0018,A001) of the SOP Common module (C.12.1,
Type 3; its items C.12.1.1.5), appended to the items the source has (each
earlier processing step keeps its own), with the purpose (DCM, 109102,
"Processing Equipment"), the software and the date and time of the write.
What was done is the DerivationDescription's, and which images it was done
to, the SourceImageSequence's: the item names who did it, and when.

A frame made from the template (no source) needs no item: its General
Equipment names dbdicom already (see :mod:`._placeholders`).

The frame's InstanceCreationDate and InstanceCreationTime (SOP Common,
Type 3: "the date the SOP Instance was created") are those of the write,
not its source's, in the zone of its TimezoneOffsetFromUTC where it has one
(C.12.1.1.8: the offset applies to every date and time of the instance).
Its SeriesDate and ContentDate stay its source's: the series and pixel
data it was derived from were acquired then, an array read from a series
holds them (its coordinates), and a round trip gives them back.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from io import BytesIO
from typing import Any

from pydicom.charset import convert_encodings
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.sequence import Sequence

from .._version import VERSION
from ._base import Base
from ._elements import encode_values

__all__ = ["CONTRIBUTING", "CREATION", "SOFTWARE", "Contributions"]

#: (0018,A001) Contributing Equipment Sequence
CONTRIBUTING = 0x0018A001
#: what dbdicom says of itself as equipment: the Manufacturer, ManufacturerModelName and
#: SoftwareVersions of the General Equipment module (a frame made from the template) and
#: of a Contributing Equipment item (a frame derived from a source)
SOFTWARE = {
    "Manufacturer": "dbdicom",
    "ManufacturerModelName": "dbdicom",
    "SoftwareVersions": f"dbdicom {VERSION}",
}
#: InstanceCreationDate, InstanceCreationTime
CREATION = (0x00080012, 0x00080013)
_TIMEZONE = 0x00080201
_UNDEFINED = 0xFFFFFFFF
_SEQUENCE_END = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def _items(raw: bytes) -> bytes:
    """The items of an Explicit VR Little Endian sequence element ``raw``, as bytes.

    Without its sequence delimitation item (one of undefined length).
    """
    body = raw[12:]
    if struct.unpack_from("<I", raw, 8)[0] == _UNDEFINED and body.endswith(_SEQUENCE_END):
        body = body[: -len(_SEQUENCE_END)]
    return body


def _sequence(items: bytes) -> bytes:
    """The ContributingEquipmentSequence element of ``items`` (its length defined)."""
    return struct.pack("<HH2sHI", 0x0018, 0xA001, b"SQ", 0, len(items)) + items


def _charset_list(name: str | None) -> list[str]:
    return convert_encodings((name or "ISO_IR 6").split("\\"))


def _read(ds: Dataset) -> None:
    """Read the text of ``ds`` (and its items) in the character set it was read in.

    pydicom writes an element not yet read as the bytes it was read from:
    in the old character set.
    """
    for element in ds:  # each element read (converted) as it is iterated
        if element.VR == "SQ":
            for item in element.value:
                _read(item)


class Contributions:
    """The ContributingEquipmentSequence of the frames of one write.

    ``given``: tag -> value of the attrs of the write (those it gives are
    not set; its TimezoneOffsetFromUTC is that of the frames). ``when``:
    the date and time of the write (its ContributionDateTime); None: now,
    with the local time's offset from UTC.

    Examples
    --------
    >>> from dbdicom._dataset import example_plan
    >>> base = example_plan().base  # no sequence of its own
    >>> contributions = Contributions(when=datetime(2026, 1, 2, 3, 4, 5))
    >>> raw = contributions.element(base, None)
    >>> ds = read_dataset(BytesIO(raw), False, True)
    >>> item = ds.ContributingEquipmentSequence[0]
    >>> code = item.PurposeOfReferenceCodeSequence[0]
    >>> code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning
    ('109102', 'DCM', 'Processing Equipment')
    >>> item.Manufacturer, item.ContributionDateTime
    ('dbdicom', '20260102030405')
    >>> old = _sequence(_items(raw))  # a source derived by an earlier step: one more item
    >>> ds = read_dataset(BytesIO(contributions.element(Base(None, {CONTRIBUTING: old}, None,
    ...     base.sop_class, base.template), None)), False, True)
    >>> len(ds.ContributingEquipmentSequence)
    2
    """

    def __init__(
        self, given: Mapping[int, Any] | None = None, when: datetime | None = None
    ) -> None:
        stamp = when if when is not None else datetime.now().astimezone()
        self.when = stamp
        self.given = dict(given or {})
        self._created: dict[str | None, dict[int, bytes | None]] = {}
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator = "109102", "DCM"
        code.CodeMeaning = "Processing Equipment"
        item = Dataset()
        item.PurposeOfReferenceCodeSequence = Sequence([code])
        for keyword, value in SOFTWARE.items():
            setattr(item, keyword, value)
        item.ContributionDateTime = stamp.strftime("%Y%m%d%H%M%S%z")
        raw = encode_values([(CONTRIBUTING, "SQ", Sequence([item]))])[CONTRIBUTING]
        assert raw is not None
        #: dbdicom's item, as bytes (ASCII: it reads the same in every character set)
        self.item = _items(raw)
        self._found: dict[tuple[bytes | None, str | None], bytes] = {}

    def element(self, base: Base, charset: str | None) -> bytes:
        """The sequence of a frame on ``base``: its own items, then dbdicom's.

        ``charset``: that of the frame's new text (None: the base's own).
        The base's items are copied as they are where their text reads the
        same in it, else re-encoded.
        """
        if base.elements is not None:
            own = base.elements.get(CONTRIBUTING)
            key = (own, charset)
            found = self._found.get(key)
            if found is None:
                items = b"" if own is None else self._own_items(own, base.charset(), charset)
                found = self._found[key] = _sequence(items + self.item)
            return found
        assert base.dataset is not None
        element = base.dataset.get(CONTRIBUTING)
        if element is None or not element.value:
            return _sequence(self.item)
        name = charset or base.charset()
        for item in element.value:
            _read(item)
        raw = encode_values([(CONTRIBUTING, "SQ", element)], name)[CONTRIBUTING]
        assert raw is not None
        return _sequence(_items(raw) + self.item)

    @staticmethod
    def _own_items(raw: bytes, own: str | None, charset: str | None) -> bytes:
        """The items of a base's sequence ``raw`` (text in ``own``) for a frame in ``charset``.

        As they are where they read the same; else read and encoded again: their
        text in another character set, or a sequence stored as UN (its items then
        Implicit VR, which an Explicit VR sequence cannot hold as they are).
        """
        if raw[4:6] == b"SQ" and (charset is None or charset == own or raw.isascii()):
            return _items(raw)
        ds = read_dataset(BytesIO(raw), False, True, parent_encoding=_charset_list(own))
        _read(ds)
        encoded = encode_values([(CONTRIBUTING, "SQ", ds[CONTRIBUTING])], charset or own)
        found = encoded[CONTRIBUTING]
        assert found is not None
        return _items(found)

    def created(self, base: Base) -> dict[int, bytes | None]:
        """The InstanceCreationDate and Time of a frame on ``base``: the write's.

        In the zone of the frame's TimezoneOffsetFromUTC (the attrs', else
        the base's; none: the time of the write as it is, local if it has a
        zone). An offset that is not ``+HHMM`` or ``-HHMM`` names no zone:
        both are left out (Type 3), not written in another. Those the attrs
        give are theirs (not in the result).

        Examples
        --------
        >>> from dbdicom._dataset import example_plan
        >>> base = example_plan().base
        >>> when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        >>> made = Contributions({_TIMEZONE: "-0500"}, when)
        >>> [raw[8:] for raw in made.created(base).values()]
        [b'20260101', b'220405']
        >>> Contributions({_TIMEZONE: "EST"}, when).created(base)
        {524306: None, 524307: None}
        >>> Contributions({CREATION[0]: "20200101"}, when).created(base).keys()
        dict_keys([524307])
        """
        zone = self.given.get(_TIMEZONE)
        offset = str(zone) if zone is not None else _offset_of(base)
        found = self._created.get(offset)
        if found is None:
            stamp: datetime | None = self.when
            if offset is not None:
                zone = _zone(offset)
                stamp = None if zone is None else self.when.astimezone(zone)
            if stamp is None:
                found = dict.fromkeys(CREATION)
            else:
                date, time = stamp.strftime("%Y%m%d"), stamp.strftime("%H%M%S")
                found = encode_values([(CREATION[0], "DA", date), (CREATION[1], "TM", time)])
            for tag in self.given:  # given among the attrs: theirs
                found.pop(tag, None)
            self._created[offset] = found
        return found


def _offset_of(base: Base) -> str | None:
    """The TimezoneOffsetFromUTC of ``base`` (None: none, or empty)."""
    if base.elements is not None:
        raw = base.elements.get(_TIMEZONE)
        text = None if raw is None else raw[8:].decode("ascii", "replace")
    else:
        assert base.dataset is not None
        value = base.dataset.get(_TIMEZONE)
        text = None if value is None else str(value.value or "")
    return text.strip(" \0") or None if text is not None else None


def _zone(offset: str) -> timezone | None:
    """The zone of a TimezoneOffsetFromUTC ``offset`` (``-0500``); None: not one."""
    text = offset.strip()
    if len(text) != 5 or text[0] not in "+-" or not text[1:].isdigit():
        return None
    hours, minutes = int(text[1:3]), int(text[3:])
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
