"""The template's made-up values of a new frame, made true where the write knows them.

A frame made from the template (no source frame) starts with its placeholder
dates and times (2024-01-15) and SliceThickness (5 mm). Where the array
gives none of them (no coordinate, no attr), they become what the write
knows: the series, acquisition and content dates and times are those of the
study (its StudyDate and StudyTime), and the slice thickness is the spacing of the
slices (the ``affine``'s, one slice too; else the step of the grid the
frames are written on; else the template's, which is its stack's step).
A source's values are never changed: frames with a source are not asked.

A study without a date (or time) gives none: the template's is not true of
the frame. The content date and time (Type 2C in the General Image module
of the MR, CT and Secondary Capture Image IODs) are then present without a
value; the series and acquisition ones (Type 3) are left out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .._checks import plain_number_text, resolve_tag, to_dicom
from .._files import encode_element
from ._elements import REMOVE, encode_values, number_element

__all__ = ["study_when", "true_placeholders"]

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
) -> None:
    """Set in ``delta`` (a new frame's own elements) the true values of its placeholders.

    ``given``: the tags of the attrs (they stay); ``when``: see
    :func:`study_when`; ``geometry``: the frame's from the ``affine``;
    ``step``: that of the grid the frames are written on (None: none).

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
    """
    for tag, element in when.items():
        if tag not in delta and tag not in given:
            delta[tag] = element
    spacing = geometry.get("SpacingBetweenSlices", step)
    if spacing is None or _THICKNESS in delta or _THICKNESS in given:
        return
    text = plain_number_text(_THICKNESS, "DS", float(spacing))
    value = text if text is not None else str(to_dicom("SliceThickness", float(spacing)))
    delta[_THICKNESS] = number_element(_THICKNESS, "DS", value)
