"""Who made a derived frame: dbdicom, as an item of its Contributing Equipment Sequence.

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
"""

from __future__ import annotations

import struct
from datetime import datetime
from io import BytesIO

from pydicom.charset import convert_encodings
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.sequence import Sequence

from .._version import VERSION
from ._base import Base
from ._elements import encode_values

__all__ = ["CONTRIBUTING", "SOFTWARE", "Contributions"]

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

    ``when``: the date and time of the write (its ContributionDateTime);
    None: now, with the local time's offset from UTC.

    Examples
    --------
    >>> from dbdicom._dataset import example_plan
    >>> base = example_plan().base  # no sequence of its own
    >>> contributions = Contributions(datetime(2026, 1, 2, 3, 4, 5))
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

    def __init__(self, when: datetime | None = None) -> None:
        stamp = when if when is not None else datetime.now().astimezone()
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
        """The items of a base's sequence ``raw`` (text in ``own``) for a frame in ``charset``."""
        if charset is None or charset == own or raw.isascii():
            return _items(raw)
        ds = read_dataset(BytesIO(raw), False, True, parent_encoding=_charset_list(own))
        _read(ds)
        found = encode_values([(CONTRIBUTING, "SQ", ds[CONTRIBUTING])], charset)[CONTRIBUTING]
        assert found is not None
        return _items(found)
