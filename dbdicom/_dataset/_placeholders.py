r"""The template's made-up values of a new frame, made true where the write knows them.

A frame made from the template (no source frame) starts with its placeholder
dates and times (2024-01-15), SliceThickness (5 mm) and acquisition values
(an MR's FlipAngle 15, EchoTime 2 ms, RepetitionTime 5 ms, 1.5 T...; a CT's
120 kVp...). Where the array gives none of them (no coordinate, no attr),
they become what the write knows: the series, acquisition and content dates
and times are those of the study (its StudyDate and StudyTime), and the
slice thickness is the spacing of the slices (the ``affine``'s, one slice
too; else the step of the grid the frames are written on). The acquisition
values no one knows: those the IOD of the frame's class wants present (Type
2) are present without a value, the others (Type 3) are left out; so are
its BodyPartExamined (HEAD, ABDOMEN), with the Laterality present without a
value (Type 2C: of a paired body part, which no one knows it is not), and
its PatientOrientation (L\P, needed only by images without an Image Plane
module). The ScanningSequence and SequenceVariant of an MR image are Type 1
(a value is needed): the template's (GR, SP: a spoiled gradient echo) become
RM (research mode, the defined term of a sequence that is none of the
others) and NONE. The equipment is the software that made the frame, not a
scanner: the template's Manufacturer (Type 2 in the General Equipment
module), ManufacturerModelName and SoftwareVersions name dbdicom and its
version (a Secondary Capture's device too); its institution, station and
serial number (Type 3) are left out, and so are the BurnedInAnnotation (NO: no one
knows what the array shows) and the PatientPosition (HFS) of a CT or MR
image, which is present without a value (Type 2C). A source's values are
never changed: frames with a source are not asked.

A study without a date (or time) gives none: the template's is not true of
the frame. The content date and time (Type 2C in the General Image module
of the MR, CT and Secondary Capture Image IODs) are then present without a
value; the series and acquisition ones (Type 3) are left out. Slices on no
grid (and one slice without an ``affine``) have a SliceThickness (Type 2 in
the Image Plane module) without a value.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydicom.uid import CTImageStorage, MRImageStorage, SecondaryCaptureImageStorage

from .._checks import plain_number_text, resolve_tag, to_dicom
from .._files import encode_element
from .._version import VERSION
from ._elements import REMOVE, encode_values, number_element
from ._equipment import SOFTWARE

__all__ = ["made_up", "new_file_placeholders", "study_when", "true_placeholders"]

#: placeholder -> the study's attribute it defaults to
_WHEN = {
    "SeriesDate": "StudyDate",
    "AcquisitionDate": "StudyDate",
    "ContentDate": "StudyDate",
    "SeriesTime": "StudyTime",
    "AcquisitionTime": "StudyTime",
    "ContentTime": "StudyTime",
}
#: those an image made from the template keeps, empty, where the study has no value
_TYPE2 = frozenset({"ContentDate", "ContentTime"})
_THICKNESS = 0x00180050
#: BodyPartExamined, and the Laterality (Type 2C in the General Series module: of a
#: paired body part) that a new frame without one has, empty: no one knows if it is
_BODY_PART, _LATERALITY = 0x00180015, 0x00200060
_NO_LATERALITY = encode_element(_LATERALITY, "CS", "")
_IMAGE_TYPE, _SEQUENCE, _INVERSION = 0x00080008, 0x00180020, 0x00180082
_INVERSION_RECOVERY = encode_element(_SEQUENCE, "CS", "IR")

#: the acquisition values of the MR and CT templates (no scanner measured them), by
#: class: those its IOD makes Type 2 (PS3.3 C.8.3.1 MR Image, C.8.2.1 CT Image
#: modules), then those it makes Type 3 (those modules, General Image C.7.6.1,
#: General Series C.7.3.1). The MR's RepetitionTime is Type 2C: needed but for EP
#: without SK, which may have it. With them the template's PatientOrientation (L\P,
#: untrue of a frame its affine turns): Type 2C, needed only without an Image Plane;
#: its PatientPosition (HFS; Type 2C in General Series: needed by CT and MR images
#: without a Patient Orientation Code Sequence); its BurnedInAnnotation (NO: the
#: array may show text, no one looked); and the scanner of the General Equipment
#: module (C.7.5.1, all Type 3 but the Manufacturer), which no one knows
_EQUIPMENT = ("InstitutionName", "StationName", "DeviceSerialNumber")
_IMAGE = ("BurnedInAnnotation", *_EQUIPMENT)
_ACQUISITION: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    MRImageStorage: (
        ("MRAcquisitionType", "RepetitionTime", "EchoTime", "EchoTrainLength", "PatientPosition"),
        ("SequenceName", "FlipAngle", "NumberOfAverages", "ImagingFrequency", "ImagedNucleus",
         "EchoNumbers", "MagneticFieldStrength", "PixelBandwidth", "AcquisitionNumber",
         "BodyPartExamined", "PatientOrientation", *_IMAGE),
    ),
    CTImageStorage: (
        ("KVP", "AcquisitionNumber", "PatientPosition"),
        ("ConvolutionKernel", "XRayTubeCurrent", "ExposureTime", "DataCollectionDiameter",
         "BodyPartExamined", "PatientOrientation", *_IMAGE),
    ),
    SecondaryCaptureImageStorage: ((), _IMAGE),
}  # fmt: skip
#: what a frame made by dbdicom says of the software that made it, whatever its class:
#: the Manufacturer (Type 2), ManufacturerModelName and SoftwareVersions (Type 3) of the
#: General Equipment module (PS3.3 C.7.5.1: "the equipment that produced the Composite
#: Instances")
_SOFTWARE = SOFTWARE
#: their tags: they say whose the equipment is, together. Where the series or the
#: array gives one (new_series(Manufacturer="Acme")), the others are not dbdicom's
#: (an Acme model named 'dbdicom'): the Manufacturer empty (Type 2), the others left out
_SOFTWARE_TAGS = frozenset(resolve_tag(keyword)[0] for keyword in _SOFTWARE)
_MANUFACTURER = 0x00080070
_NO_MANUFACTURER = encode_element(_MANUFACTURER, "LO", "")
#: those of a class: an MR image's sequence (Type 1 in C.8.3.1; RM, "research mode",
#: is the defined term of none of the others: no sequence ran), a Secondary Capture
#: device's (Type 3 in C.8.6.1 SC Equipment)
_TRUE: dict[str, dict[str, str]] = {
    MRImageStorage: {"ScanningSequence": "RM", "SequenceVariant": "NONE"},
    SecondaryCaptureImageStorage: {
        "SecondaryCaptureDeviceManufacturer": "dbdicom",
        "SecondaryCaptureDeviceManufacturerModelName": "dbdicom",
        "SecondaryCaptureDeviceSoftwareVersions": f"dbdicom {VERSION}",
    },
}


@functools.lru_cache(maxsize=8)
def made_up(sop_class: str) -> dict[int, bytes | None]:
    """The template's made-up values a new frame of ``sop_class`` has, as elements.

    Its acquisition, scanner and patient-position values: present without a
    value (an empty element) where the class's IOD makes them Type 2, else
    left out (None). Those that say what made the frame, and an MR image's
    sequence (Type 1): what is true (dbdicom, its version; no sequence). A
    class without a template (an Enhanced MR): none.

    Examples
    --------
    >>> found = made_up(str(MRImageStorage))
    >>> found[0x00181314] is None, len(found[0x00180081])  # FlipAngle, EchoTime
    (True, 8)
    >>> found[0x00180020][8:], found[0x00080070][8:], found[0x00080080]  # RM; Institution
    (b'RM', b'dbdicom ', None)
    >>> 0x00180081 in made_up(str(CTImageStorage)), made_up("1.2.840.10008.5.1.4.1.1.4.1")
    (False, {})
    """
    if sop_class not in _ACQUISITION:
        return {}
    type2, type3 = _ACQUISITION[sop_class]
    out: dict[int, bytes | None] = {}
    for keyword in type2:
        number, _, vr = resolve_tag(keyword)
        out[number] = encode_element(number, vr, "")
    out.update((resolve_tag(keyword)[0], None) for keyword in type3)
    for keyword, value in {**_SOFTWARE, **_TRUE.get(sop_class, {})}.items():
        number, _, vr = resolve_tag(keyword)
        out[number] = encode_element(number, vr, value)
    return out


def study_when(target: Mapping[str, Any]) -> dict[int, bytes | None]:
    """The placeholder dates and times of a new frame from the study's, as elements.

    Where ``target`` (the study's values) has no StudyDate or StudyTime
    (empty or :data:`REMOVE`), the placeholders that default to it go (None),
    or are emptied where the image IODs want them present (ContentDate,
    ContentTime). A ``target`` without the keyword says nothing: the
    template's stay.

    Examples
    --------
    >>> sorted(hex(tag) for tag in study_when({"StudyDate": "20240229"}))
    ['0x80021', '0x80022', '0x80023']
    >>> found = study_when({"StudyDate": REMOVE})
    >>> found[0x00080021], found[0x00080022], len(found[0x00080023])  # an empty element
    (None, None, 8)
    >>> study_when({})
    {}
    """
    values = []
    out: dict[int, bytes | None] = {}
    for keyword, study in _WHEN.items():
        if study not in target:
            continue
        number, _, vr = resolve_tag(keyword)
        value = target[study]
        if value is not None and value is not REMOVE and value != "":
            values.append((number, vr, value))
        else:  # no date is known: none is made up
            out[number] = encode_element(number, vr, "") if keyword in _TYPE2 else None
    return {**out, **encode_values(values)}


def true_placeholders(
    delta: dict[int, bytes | None],
    given: Collection[int],
    when: Mapping[int, bytes | None],
    geometry: Mapping[str, Any],
    step: float | None,
    sop_class: str | None = None,
    series: Collection[int] = (),
) -> None:
    """Set in ``delta`` (a new frame's own elements) the true values of its placeholders.

    ``given``: the tags of the attrs (they stay); ``when``: see
    :func:`study_when`; ``geometry``: the frame's from the ``affine``;
    ``step``: that of the grid the frames are written on (None: none);
    ``sop_class``: the frame's (its template's, see :func:`made_up`; None:
    no acquisition values are asked). An MR frame given an InversionTime (a
    coordinate's, an attr's, the series') and no ScanningSequence: IR, which the
    InversionTime needs (Type 2C in the MR Image module: only with IR).
    ``series``: the tags the series gives (its values win), which say, with
    ``given``, whose equipment it is: given a Manufacturer, a model or a
    software version, the others are not dbdicom's.

    Examples
    --------
    >>> delta = {}
    >>> true_placeholders(delta, (), {}, {}, 3.0)
    >>> delta[_THICKNESS][-4:]
    b'3.0 '
    >>> delta = {0x00180050: None}  # a coordinate's: it stays
    >>> true_placeholders(delta, (), {}, {"SpacingBetweenSlices": 4.0}, None)
    >>> delta
    {1572944: None}
    >>> delta = {}
    >>> true_placeholders(delta, {0x00181314}, {}, {}, None, str(MRImageStorage))
    >>> 0x00181314 in delta, delta[0x00180081] is not None, len(delta[_THICKNESS])
    (False, True, 8)
    >>> true_placeholders(delta, {_INVERSION}, {}, {}, None, str(MRImageStorage))
    >>> delta[_SEQUENCE][8:]
    b'IR'
    >>> delta = {}  # new_series(Manufacturer="Acme"): no 'dbdicom' model of Acme's
    >>> true_placeholders(delta, (), {}, {}, None, str(MRImageStorage), {_MANUFACTURER})
    >>> delta[_MANUFACTURER][8:], delta[0x00081090], delta[0x00181020]
    (b'dbdicom ', None, None)
    """
    acquisition = made_up(sop_class) if sop_class is not None else {}
    theirs = {tag for tag in _SOFTWARE_TAGS if tag in given or tag in series or tag in delta}
    for tag, element in (*when.items(), *acquisition.items()):
        if tag not in delta and tag not in given:
            delta[tag] = element
    for tag in _SOFTWARE_TAGS - theirs if theirs else ():
        if tag in acquisition and delta.get(tag) == acquisition[tag]:
            delta[tag] = _NO_MANUFACTURER if tag == _MANUFACTURER else None
    if delta.get(_BODY_PART, b"") is None and _LATERALITY not in delta and _LATERALITY not in given:
        delta[_LATERALITY] = _NO_LATERALITY
    inversion = _INVERSION in given or _INVERSION in series or len(delta.get(_INVERSION) or b"") > 8
    if inversion and _SEQUENCE in acquisition and delta.get(_SEQUENCE) == acquisition[_SEQUENCE]:
        delta[_SEQUENCE] = _INVERSION_RECOVERY
    if _THICKNESS in delta or _THICKNESS in given:
        return
    spacing = geometry.get("SpacingBetweenSlices", step)
    if spacing is None:  # on no grid: no thickness is known
        delta[_THICKNESS] = encode_element(_THICKNESS, "DS", "")
        return
    text = plain_number_text(_THICKNESS, "DS", float(spacing))
    value = text if text is not None else str(to_dicom("SliceThickness", float(spacing)))
    delta[_THICKNESS] = number_element(_THICKNESS, "DS", value)


def new_file_placeholders(
    sop_class: str,
    given: Collection[int],
    study: Mapping[str, Any],
    image_type: Sequence[str],
    series: Collection[int] = (),
) -> dict[int, bytes | None]:
    r"""The true values of the placeholders of a new file made from the template, as elements.

    A file made without an array (``series.new_instance()``) follows the
    rules of a frame written from one (see :func:`true_placeholders`), on
    no grid (its SliceThickness is present without a value); ``study``: the
    study's values (see :func:`study_when`: a study without a date or time
    makes the template's StudyDate or StudyTime, Type 2, empty); ``image_type``: the template's
    ImageType, whose values 3 on follow DERIVED\SECONDARY (the pixels were
    made, not acquired), as those of a written frame do; ``series``: the tags
    the series gives.

    Examples
    --------
    >>> found = new_file_placeholders(str(MRImageStorage), (), {}, ["ORIGINAL", "PRIMARY", "OTHER"])
    >>> found[0x00181314], found[0x00080008][8:], len(found[_THICKNESS])  # FlipAngle: left out
    (None, b'DERIVED\\SECONDARY\\OTHER ', 8)
    >>> found = new_file_placeholders(str(MRImageStorage), (), {"StudyDate": REMOVE}, [])
    >>> len(found[0x00080020]), found[0x00080021]  # StudyDate empty, SeriesDate left out
    (8, None)
    """
    delta: dict[int, bytes | None] = {}
    if _IMAGE_TYPE not in given:
        delta[_IMAGE_TYPE] = encode_element(
            _IMAGE_TYPE, "CS", ["DERIVED", "SECONDARY", *image_type[2:]]
        )
    for keyword in ("StudyDate", "StudyTime"):
        value = study.get(keyword, "")
        if keyword in study and (value is None or value is REMOVE or value == ""):
            number, _, vr = resolve_tag(keyword)
            delta[number] = encode_element(number, vr, "")
    true_placeholders(delta, given, study_when(study), {}, None, sop_class, series)
    return delta
