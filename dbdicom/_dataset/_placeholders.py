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
(a value is needed): the template's (GR, SP) stay. A source's values are
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
from collections.abc import Collection, Mapping
from typing import Any

from pydicom.uid import CTImageStorage, MRImageStorage

from .._checks import plain_number_text, resolve_tag, to_dicom
from .._files import encode_element
from ._base import Base
from ._elements import REMOVE, encode_values, number_element

__all__ = ["made_up", "study_when", "true_placeholders"]

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

#: the acquisition values of the MR and CT templates (no scanner measured them), by
#: class: those its IOD makes Type 2 (PS3.3 C.8.3.1 MR Image, C.8.2.1 CT Image
#: modules), then those it makes Type 3 (those modules, General Image C.7.6.1,
#: General Series C.7.3.1). The MR's RepetitionTime is Type 2C: needed but for EP
#: without SK, which may have it. With them the template's PatientOrientation (L\P,
#: untrue of a frame its affine turns): Type 2C, needed only without an Image Plane
_ACQUISITION: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    MRImageStorage: (
        ("MRAcquisitionType", "RepetitionTime", "EchoTime", "EchoTrainLength"),
        ("SequenceName", "FlipAngle", "NumberOfAverages", "ImagingFrequency", "ImagedNucleus",
         "EchoNumbers", "MagneticFieldStrength", "PixelBandwidth", "AcquisitionNumber",
         "BodyPartExamined", "PatientOrientation"),
    ),
    CTImageStorage: (
        ("KVP", "AcquisitionNumber"),
        ("ConvolutionKernel", "XRayTubeCurrent", "ExposureTime", "DataCollectionDiameter",
         "BodyPartExamined", "PatientOrientation"),
    ),
}  # fmt: skip


@functools.lru_cache(maxsize=8)
def made_up(sop_class: str) -> dict[int, bytes | None]:
    """The template's acquisition values a new frame of ``sop_class`` has, as elements.

    Present without a value (an empty element) where the class's IOD makes
    them Type 2, else left out (None). A class without a template of its
    own (a Secondary Capture's has no acquisition values): none.

    Examples
    --------
    >>> found = made_up(str(MRImageStorage))
    >>> found[0x00181314] is None, len(found[0x00180081])  # FlipAngle, EchoTime
    (True, 8)
    >>> 0x00180081 in made_up(str(CTImageStorage)), made_up("1.2.840.10008.5.1.4.1.1.7")
    (False, {})
    """
    type2, type3 = _ACQUISITION.get(sop_class, ((), ()))
    out: dict[int, bytes | None] = {}
    for keyword in type2:
        number, _, vr = resolve_tag(keyword)
        out[number] = encode_element(number, vr, "")
    out.update((resolve_tag(keyword)[0], None) for keyword in type3)
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
    base: Base | None = None,
) -> None:
    """Set in ``delta`` (a new frame's own elements) the true values of its placeholders.

    ``given``: the tags of the attrs (they stay); ``when``: see
    :func:`study_when`; ``geometry``: the frame's from the ``affine``;
    ``step``: that of the grid the frames are written on (None: none);
    ``base``: the frame's (the template's: its ``sop_class``, see
    :func:`made_up`; None: no acquisition values are asked).

    Examples
    --------
    >>> delta = {}
    >>> true_placeholders(delta, (), {}, {}, 3.0)
    >>> delta[0x00180050][-4:]
    b'3.0 '
    >>> delta = {0x00180050: None}  # a coordinate's: it stays
    >>> true_placeholders(delta, (), {}, {"SpacingBetweenSlices": 4.0}, None)
    >>> delta
    {1572944: None}
    >>> delta = {}
    >>> from dbdicom._dataset import example_plan  # a frame from the MR template
    >>> true_placeholders(delta, {0x00181314}, {}, {}, None, example_plan().base)
    >>> 0x00181314 in delta, delta[0x00180081] is not None, len(delta[0x00180050])
    (False, True, 8)
    """
    acquisition = made_up(base.sop_class) if base is not None else {}
    for tag, element in (*when.items(), *acquisition.items()):
        if tag not in delta and tag not in given:
            delta[tag] = element
    if delta.get(_BODY_PART, b"") is None and _LATERALITY not in delta and _LATERALITY not in given:
        delta[_LATERALITY] = _NO_LATERALITY
    if _THICKNESS in delta or _THICKNESS in given:
        return
    spacing = geometry.get("SpacingBetweenSlices", step)
    if spacing is None:  # on no grid: no thickness is known
        delta[_THICKNESS] = encode_element(_THICKNESS, "DS", "")
        return
    text = plain_number_text(_THICKNESS, "DS", float(spacing))
    value = text if text is not None else str(to_dicom("SliceThickness", float(spacing)))
    delta[_THICKNESS] = number_element(_THICKNESS, "DS", value)
