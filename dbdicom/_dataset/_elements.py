"""Elements of a header plan as bytes (Explicit VR Little Endian).

They are what the plan builder encodes once and both serialisers take as
they are.

Values reach this module checked (:func:`dbdicom._checks.to_dicom`): the
elements are made without pydicom's own validation, per element
(``validation_mode``), never by switching it off for the process.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

from pydicom import config
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from .._checks import resolve_tag
from .._errors import InvalidValueError
from .._files import dataset_bytes, elements, encodings_for
from ._source import Source

__all__ = [
    "DROP",
    "VOI",
    "empty_element",
    "CHARSET",
    "Remove",
    "REMOVE",
    "UTF8",
    "charset_of",
    "encode_values",
    "encoding_all",
    "image_type_rest",
    "non_ascii",
    "number_element",
    "reads_same_in",
    "references",
    "refused_coordinate",
    "ui",
]

CHARSET = 0x00080005

#: source attributes that would be wrong in a derived single-frame image
DROP = (
    "PixelData",
    "FloatPixelData",
    "DoubleFloatPixelData",
    "NumberOfFrames",
    "PerFrameFunctionalGroupsSequence",
    "SharedFunctionalGroupsSequence",
    "SmallestImagePixelValue",
    "LargestImagePixelValue",
    "ModalityLUTSequence",  # the derived values are physical: the source's table is applied
    # stored values that mark padding: the derived values are stored by another rescale,
    # so the source's padding value would mark real pixels and not the padding
    "PixelPaddingValue",
    "PixelPaddingRangeLimit",
    "RedPaletteColorLookupTableDescriptor",
    "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData",
    "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData",
    "PaletteColorLookupTableUID",
    "PixelPresentation",
    "SourceImageSequence",
    "ReferencedSeriesSequence",
    "ImagesInAcquisition",  # the images of the source's acquisition: not the derived series
    "DerivationDescription",
    "DerivationCodeSequence",
    # the Multi-frame, Cine and Mask modules: of a source of many frames, not of one
    "FrameIncrementPointer",
    "GridFrameOffsetVector",  # an RT Dose's frames' offsets: of many frames
    "FrameTime",
    "FrameTimeVector",
    "FrameDelay",
    "ActualFrameDuration",
    "RecommendedDisplayFrameRate",
    "CineRate",
    "StartTrim",
    "StopTrim",
    "PreferredPlaybackSequencing",
    "FrameLabelVector",
    "MaskSubtractionSequence",
    "RecommendedViewingMode",
)
#: the VOI LUT module: how grey values are shown (a colour image has none)
VOI = (
    "WindowCenter",
    "WindowWidth",
    "WindowCenterWidthExplanation",
    "VOILUTFunction",
    "VOILUTSequence",
)


class Remove:
    """The type of :data:`REMOVE`.

    Examples
    --------
    >>> REMOVE, isinstance(REMOVE, Remove)
    (REMOVE, True)
    """

    def __repr__(self) -> str:
        return "REMOVE"


#: A value that removes its element from the header.
REMOVE = Remove()


def _struct_element(tag: int, vr: bytes, raw: bytes) -> bytes:
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(raw)) + raw


_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)


def empty_element(tag: int, vr: bytes) -> bytes:
    """An element of ``tag`` and VR ``vr`` with no value (zero length).

    A derived header empties, rather than leaves out, an element its sources
    disagree on: a Type 2 attribute (``EchoTime`` of an MR image) must be
    present, and may be empty; a Type 3 one may be either.

    Examples
    --------
    >>> empty_element(0x00181314, b"DS").hex()
    '1800141344530000'
    >>> len(empty_element(0x00081140, b"SQ"))
    12
    """
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, 0)
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, 0)


def number_element(tag: int, vr: str, text: str) -> bytes:
    """A DS or IS element of ``text`` (plain ASCII).

    Examples
    --------
    >>> number_element(0x00201041, "DS", "1.5")[8:]
    b'1.5 '
    """
    raw = text.encode("ascii")
    if len(raw) % 2:
        raw += b" "
    return _struct_element(tag, vr.encode(), raw)


def ui(tag: int, value: str) -> bytes:
    r"""A UI element.

    Examples
    --------
    >>> ui(0x00080018, "1.2.3")[8:]
    b'1.2.3\x00'
    """
    raw = value.encode("ascii")
    if len(raw) % 2:
        raw += b"\0"
    return _struct_element(tag, b"UI", raw)


UTF8 = _struct_element(CHARSET, b"CS", b"ISO_IR 192")


def _item(body: bytes) -> bytes:
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def _sequence(tag: int, items: Iterable[bytes]) -> bytes:
    body = b"".join(items)
    return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, b"SQ", 0, len(body)) + body


def references(group: Sequence[Source], classes: dict[str, bytes]) -> tuple[bytes, bytes | None]:
    """SourceImageSequence and ReferencedSeriesSequence of the sources ``group``.

    The SourceImageSequence has the frame numbers of multi-frame sources; the
    ReferencedSeriesSequence has each instance once, by series. ``classes``:
    the ReferencedSOPClassUID elements made so far (filled in). A source
    without a SeriesInstanceUID is in the SourceImageSequence only; where
    none has one, there is no ReferencedSeriesSequence (None).

    Examples
    --------
    >>> from io import BytesIO
    >>> from pydicom.filereader import read_dataset
    >>> group = [Source("", "a", "1.2.840.10008.5.1.4.1.1.4", "1.2.3", "1.2", frame=4)]
    >>> source, series = references(group, {})
    >>> ds = read_dataset(BytesIO(source + series), False, True)
    >>> item = ds.SourceImageSequence[0]
    >>> item.ReferencedSOPInstanceUID, item.ReferencedFrameNumber
    ('1.2.3', '4')
    >>> ds.ReferencedSeriesSequence[0].SeriesInstanceUID
    '1.2'
    >>> references([Source("", "a", "1.2.840.10008.5.1.4.1.1.4", "1.2.3", None)], {})[1] is None
    True
    """
    source_items = []
    by_series: dict[str, dict[str, bytes]] = {}
    for s in group:
        sop_class = classes.get(s.sop_class)
        if sop_class is None:
            sop_class = classes[s.sop_class] = ui(0x00081150, s.sop_class)
        instance = sop_class + ui(0x00081155, s.sop_uid)
        frame = b"" if s.frame is None else number_element(0x00081160, "IS", str(s.frame))
        source_items.append(_item(instance + frame))
        if s.series_uid:  # never the text "None" as a UID
            by_series.setdefault(s.series_uid, {})[s.sop_uid] = _item(instance)
    series_items = [
        # (0008,114A) ReferencedInstanceSequence comes before (0020,000E)
        _item(_sequence(0x0008114A, items.values()) + ui(0x0020000E, uid))
        for uid, items in by_series.items()
    ]
    series = _sequence(0x00081115, series_items) if series_items else None
    return _sequence(0x00082112, source_items), series


def encode_values(
    values: Iterable[tuple[int, str, Any]], charset: str | None = None
) -> dict[int, bytes | None]:
    r"""Checked values ``(tag, VR, value)`` as elements, text in ``charset``.

    ``charset`` None: ASCII, or UTF-8 where text needs more. :data:`REMOVE`:
    None (the element is left out). The SpecificCharacterSet element is made
    only where one of the values is it.

    Examples
    --------
    >>> out = encode_values([(0x00100010, "PN", "Gérard"), (0x00080080, "LO", REMOVE)],
    ...                     "ISO_IR 100")
    >>> out[0x00100010][8:], out[0x00080080]
    (b'G\xe9rard', None)
    """
    ds = Dataset()
    if charset is not None:
        ds.SpecificCharacterSet = charset
    out: dict[int, bytes | None] = {}
    given = False
    for tag, vr, value in values:
        if value is REMOVE:
            out[tag] = None
            ds.pop(tag, None)
            continue
        given = given or tag == CHARSET
        if isinstance(value, DataElement):
            ds[value.tag] = value
        else:
            ds[tag] = DataElement(tag, vr, value, validation_mode=config.IGNORE)
    if len(ds):
        found = elements(dataset_bytes(ds))
        if not given:
            found.pop(CHARSET, None)
        out.update(found)
    return out


#: the Type 2 attributes of the Patient and General Study modules: present in a derived
#: header, empty where its parents (or source) have no value, as the IODs ask
TYPE2_PARENTS = frozenset(
    {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyDate",
        "StudyTime",
        "ReferringPhysicianName",
        "StudyID",
        "AccessionNumber",
    }
)


def non_ascii(value: Any) -> bool:
    """Whether ``value`` (text, a person name, or several) has characters beyond ASCII.

    Then its header needs a character set that encodes them.

    Examples
    --------
    >>> non_ascii("Gérard"), non_ascii(["A", "B"]), non_ascii(1.5)
    (True, False, False)
    """
    if isinstance(value, str | PersonName):
        return not str(value).isascii()
    if isinstance(value, MultiValue | list | tuple):
        return any(non_ascii(v) for v in value)
    return False


# character sets of one code each, which new text can be written in as is
_SINGLE_CODE = frozenset(
    ["ISO_IR 192", "GB18030", "GBK"]
    + [f"ISO_IR {n}" for n in (100, 101, 109, 110, 144, 127, 126, 138, 148, 203, 166)]
)
_TEXT_VRS = frozenset(b"LO LT PN SH ST UC UT SQ".split())


def holds_text(charset: Any, value: Any) -> bool:
    """Whether the character set ``charset`` (a SpecificCharacterSet value) encodes ``value``.

    Only a set of one code does: text is written into it as is (no escape
    sequences), so that the header need not switch to UTF-8 -- which would
    leave the bytes of text it cannot re-encode (private elements read as
    UN) in the old set.

    Examples
    --------
    >>> holds_text("ISO_IR 100", "Müller"), holds_text("ISO_IR 100", "Γιώργος")
    (True, False)
    >>> holds_text(None, "Müller"), holds_text("ISO_IR 192", ["Ā", "b"])
    (False, True)
    """
    if not isinstance(charset, str):
        return False
    texts = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    return encoding_all(charset.strip(), texts) is not None


def charset_of(raw: bytes | None) -> str | None:
    """The name in a SpecificCharacterSet element ``raw`` (None: none).

    Examples
    --------
    >>> charset_of(UTF8), charset_of(None)
    ('ISO_IR 192', None)
    """
    if raw is None:
        return None
    return raw[8:].strip(b" \0").decode("ascii", "replace")


def encoding_all(name: str | None, texts: Sequence[Any]) -> str | None:
    """``name`` where it is a character set of one code that encodes all ``texts``, else None.

    Examples
    --------
    >>> encoding_all("ISO_IR 100", ["Gérard"]), encoding_all("ISO_IR 100", ["Ελλάδα"])
    ('ISO_IR 100', None)
    """
    if name not in _SINGLE_CODE:
        return None
    (codec,) = encodings_for(name)
    flat: list[str] = []
    for value in texts:
        flat.extend(str(v) for v in (value if isinstance(value, list | tuple) else [value]))
    try:
        for text in flat:
            text.encode(codec)
    except UnicodeEncodeError:
        return None
    return name


def reads_same_in(own: dict[int, bytes], name: str) -> bool:
    """Whether the header ``own`` (elements) reads the same in the character set ``name``.

    It does where it is in it already, or where its text (and sequences,
    which may hold text) is plain ASCII.

    Examples
    --------
    >>> reads_same_in({CHARSET: UTF8}, "ISO_IR 192"), reads_same_in({}, "ISO_IR 192")
    (True, True)
    """
    if charset_of(own.get(CHARSET)) == name:
        return True
    return all(raw.isascii() for raw in own.values() if raw[4:6] in _TEXT_VRS)


def image_type_rest(raw: bytes | None) -> list[str]:
    """Values 3 on of an ImageType element ``raw``.

    Examples
    --------
    >>> from dbdicom._files._raw import encode_element
    >>> image_type_rest(encode_element(0x00080008, "CS", ["ORIGINAL", "PRIMARY", "M", "ND"]))
    ['M', 'ND']
    """
    if raw is None:
        return []
    text = raw[8:].decode("ascii", "replace").strip(" \0")
    return [v.strip() for v in text.split("\\")][2:]


#: the VRs of whole numbers
_WHOLE = frozenset({"IS", "US", "UL", "SS", "SL", "UV", "SV"})


def refused_coordinate(keyword: str, reason: object) -> InvalidValueError:
    """The refusal of a coordinate ``keyword`` whose value its VR cannot hold (``reason``).

    The way out that always works is to drop the coordinate (the frames keep
    their order); for whole-number VRs, rounding only where the values are
    whole numbers off by a float error: rounding 1.2 and 1.4 makes one
    value of two, frames no longer told apart.

    Examples
    --------
    >>> print(refused_coordinate("InstanceNumber", "cannot hold 1.2."))
    the coordinate 'InstanceNumber': cannot hold 1.2. Drop it (da.drop_vars('InstanceNumber')): \
the frames keep their order. Rounding (da.assign_coords(InstanceNumber=da.InstanceNumber.round())) \
suits only whole numbers off by a float error: it makes 1.2 and 1.4 one value.
    >>> print(refused_coordinate("AcquisitionDate", "cannot hold 'x'."))
    the coordinate 'AcquisitionDate': cannot hold 'x'. Give it values its VR holds, or drop it \
(da.drop_vars('AcquisitionDate')).
    """
    drop = f"da.drop_vars({keyword!r})"
    if resolve_tag(keyword)[2] in _WHOLE:
        advice = (
            f"Drop it ({drop}): the frames keep their order. Rounding "
            f"(da.assign_coords({keyword}=da.{keyword}.round())) suits only whole numbers "
            "off by a float error: it makes 1.2 and 1.4 one value."
        )
    else:
        advice = f"Give it values its VR holds, or drop it ({drop})."
    return InvalidValueError(f"the coordinate {keyword!r}: {reason} {advice}")
