"""The classic header of one frame of an enhanced (multi-frame) source.

An enhanced header describes the whole object: a frame derived from it
starts from the template of the single-frame class that holds such a frame
(Enhanced MR: MR Image; Enhanced CT: CT Image; any other: Secondary
Capture), whose values are the source's, never the template's made-up ones.
Each of the template's attributes (other than those of the pixels and the
class, which the write sets) takes, in this order:

1. the source's top-level value;
2. the frame's value in the functional groups (:data:`FROM_GROUPS`, or
   the same keyword), or an enhanced attribute that says the same
   (:data:`RENAMED`: TransmitterFrequency is the ImagingFrequency...);
3. an empty value, for the Type 2 attributes of the classic IODs
   (:data:`TYPE2`), which must be present; a value that follows from the
   enhanced header for the Type 1 ones (ScanningSequence,
   SequenceVariant); else it is left out.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydicom import uid
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.valuerep import DSfloat

from .._files import FORMAT_KEYWORDS
from .._templates import ct_image, mr_image, secondary_capture
from ._elements import TYPE2_PARENTS

__all__ = ["TYPE2", "classic_class", "classic_conditions", "classic_frame"]

#: the single-frame class of a frame of an enhanced class (others: Secondary Capture)
_CLASSIC = {
    str(uid.EnhancedMRImageStorage): str(uid.MRImageStorage),
    str(uid.LegacyConvertedEnhancedMRImageStorage): str(uid.MRImageStorage),
    str(uid.EnhancedCTImageStorage): str(uid.CTImageStorage),
    str(uid.LegacyConvertedEnhancedCTImageStorage): str(uid.CTImageStorage),
}
_MAKERS = {
    str(uid.MRImageStorage): mr_image,
    str(uid.CTImageStorage): ct_image,
    str(uid.SecondaryCaptureImageStorage): secondary_capture,
}
#: the template's attributes a frame keeps: those of its class and its pixels
#: (the write sets the pixels, the rescale, the window and the UIDs), and the
#: Secondary Capture's ConversionType (the frame is made on a workstation)
_OWN = FORMAT_KEYWORDS | {"SOPClassUID", "PixelData", "ConversionType"}
#: Type 2 attributes of the MR, CT and Secondary Capture Image IODs among the
#: templates': present, and empty where the source has no value
TYPE2 = TYPE2_PARENTS | frozenset(
    {
        "SeriesNumber",
        "PatientPosition",
        "Manufacturer",
        "PositionReferenceIndicator",
        "InstanceNumber",
        "ScanOptions",
        "MRAcquisitionType",
        "RepetitionTime",
        "EchoTime",
        "EchoTrainLength",
        "KVP",
        "AcquisitionNumber",
        "SliceThickness",
    }
)
#: classic keyword -> the enhanced one that holds the same (top level or functional groups)
RENAMED = {
    "ImagingFrequency": "TransmitterFrequency",
    "SequenceName": "PulseSequenceName",
    "ImagedNucleus": "ResonantNucleus",
    "ExposureTime": "ExposureTimeInms",
    "XRayTubeCurrent": "XRayTubeCurrentInmA",
    "Exposure": "ExposureInmAs",
}
#: classic date and time pairs -> the enhanced date-times that hold them, the frame's
#: own first: the object's AcquisitionDateTime is when its first frame was acquired, and
#: a frame of a dynamic series given it would be at the time of every other
_DATE_TIMES = {
    ("AcquisitionDate", "AcquisitionTime"): ("FrameAcquisitionDateTime", "AcquisitionDateTime"),
}
#: the value types of the functional groups' plain values a classic element takes as they are
_PLAIN_VRS = frozenset({"CS", "LO", "SH", "ST", "LT", "UT", "IS", "US", "SS", "UL", "SL"})


@functools.lru_cache(maxsize=8)
def _template(sop_class: str, rows: int, columns: int) -> Dataset:
    ds = _MAKERS[sop_class](np.zeros((rows, columns), np.uint16))
    del ds.PixelData
    return ds


def classic_class(sop_class: str) -> str:
    """The single-frame class of a frame of an object of class ``sop_class``.

    Examples
    --------
    >>> classic_class(str(uid.EnhancedCTImageStorage)) == str(uid.CTImageStorage)
    True
    >>> classic_class(str(uid.SegmentationStorage)) == str(uid.SecondaryCaptureImageStorage)
    True
    """
    return _CLASSIC.get(sop_class, str(uid.SecondaryCaptureImageStorage))


def _as_classic(keyword: str, value: Any) -> Any:
    """A functional-group ``value`` as the classic ``keyword`` takes it (None: it cannot)."""
    vr = str(dictionary_VR(keyword)).split(" or ")[0]
    if vr == "DS":
        numbers = value if isinstance(value, tuple | list) else (value,)
        try:
            text = [str(DSfloat(float(v), auto_format=True)) for v in numbers]
        except (TypeError, ValueError):
            return None
        return text if isinstance(value, tuple | list) else text[0]
    if vr == "FD" or vr == "FL":
        return value if isinstance(value, float | int | tuple | list) else None
    if vr in _PLAIN_VRS:
        return list(value) if isinstance(value, tuple) else value
    return None


def _date_time(value: Any) -> tuple[str, str] | None:
    """The date and the time of a DT ``value`` (its offset from UTC left out)."""
    text = str(value or "").strip().split("+")[0].split("-")[0]
    if len(text) < 8 or not text[:8].isdigit():
        return None
    return text[:8], text[8:]


def _values_of(base: Dataset, enhanced: Dataset, frame: Mapping[str, Any]) -> None:
    """Replace the template values of ``base`` by those of ``enhanced`` and its ``frame``.

    Empty where they have none for the :data:`TYPE2` attributes, else left out.
    """
    for element in list(base):
        keyword = element.keyword
        if keyword in _OWN or not keyword:
            continue
        if keyword in enhanced:
            base[keyword] = copy.deepcopy(enhanced[keyword])
            continue
        given = frame.get(keyword, frame.get(RENAMED.get(keyword, keyword)))
        if given is None and keyword in RENAMED:
            given = enhanced.get(RENAMED[keyword])
        value = _as_classic(keyword, given) if given is not None else None
        if value is not None:
            setattr(base, keyword, value)
        elif keyword in TYPE2:
            base[keyword].value = None
        else:
            del base[keyword]


def classic_frame(
    enhanced: Dataset, frame: Mapping[str, Any], levels: Sequence[str], shape: tuple[int, int]
) -> Dataset:
    """The classic header of the frame of ``enhanced`` whose functional-group values are ``frame``.

    ``frame``: keyword -> value (None: the frames differ, the value is not
    the frame's); ``levels``: the patient, study and series attributes,
    copied from the source where it has them; ``shape``: rows and columns.

    Examples
    --------
    >>> enhanced = Dataset()
    >>> enhanced.SOPClassUID = uid.EnhancedMRImageStorage
    >>> enhanced.MagneticFieldStrength, enhanced.PulseSequenceName = 3, "B-TFE"
    >>> enhanced.AcquisitionDateTime = "20210616111515.81000"
    >>> ds = classic_frame(enhanced, {"TransmitterFrequency": 127.7}, (), (4, 4))
    >>> ds.SOPClassUID.name, ds.MagneticFieldStrength, ds.SequenceName, ds.ImagingFrequency
    ('MR Image Storage', '3.0', 'B-TFE', '127.7')
    >>> ds.AcquisitionDate, ds.AcquisitionTime, ds.PatientID, "InstitutionName" in ds
    ('20210616', '111515.81000', None, False)
    >>> frame = {"FrameAcquisitionDateTime": "20210616111744.65"}  # its own: the 2nd of many
    >>> classic_frame(enhanced, frame, (), (4, 4)).AcquisitionTime
    '111744.65'
    """
    sop_class = classic_class(str(enhanced.get("SOPClassUID", "")))
    base = copy.deepcopy(_template(sop_class, *shape))
    _values_of(base, enhanced, frame)
    for keyword in levels:
        if keyword in enhanced:
            base[keyword] = copy.deepcopy(enhanced[keyword])
    for (date, time), sources in _DATE_TIMES.items():
        if date in base:
            continue
        found = next((v for k in sources for v in (frame.get(k), enhanced.get(k)) if v), None)
        pair = _date_time(found)
        if pair is not None:
            setattr(base, date, pair[0])
            setattr(base, time, pair[1])
    if "SpecificCharacterSet" in enhanced:
        base.SpecificCharacterSet = enhanced.SpecificCharacterSet
    if "Modality" in enhanced:
        base.Modality = enhanced.Modality
    return base


#: the Scanning Sequence of a classic MR image from an enhanced one's Echo Pulse Sequence
_SCANNING = {"SPIN": ["SE"], "GRADIENT": ["GR"], "BOTH": ["SE", "GR"]}
#: the Sequence Variant of a classic MR image: enhanced attribute -> (values saying no, variant)
_VARIANTS = (
    ("SegmentedKSpaceTraversal", ("SINGLE", ""), "SK"),
    ("MagnetizationTransfer", ("NONE", ""), "MTC"),
    ("SteadyStatePulseSequence", ("NONE", ""), "SS"),
    ("Spoiling", ("NONE", ""), "SP"),
    ("OversamplingPhase", ("NONE", ""), "OSP"),
)
_INVERSION_TIME = 0x00180082


def classic_conditions(enhanced: Dataset, base: Dataset) -> frozenset[int]:
    """Make ``base`` (the frame of ``enhanced``) meet the classic MR's conditions.

    The Scanning Sequence and Sequence Variant (Type 1) follow from the
    enhanced header: its Echo Pulse Sequence (IR where its MR Modifier
    says Inversion Recovery YES), and its k-space, magnetization transfer,
    steady state, spoiling and oversampling attributes (NONE where none
    says a variant). Inversion Time is allowed only with IR (Type 2C):
    without it, the tag is returned, to be left out of frames whose own
    values do not give it (an enhanced file keeps its inversion times in
    the functional groups; a top-level one, as some vendors write, is not
    part of its IOD). In a base of any class, Laterality (Type 2C for a
    paired body part) is met by Image Laterality from the Frame Laterality
    of its anatomy, else by an empty Laterality.

    Examples
    --------
    >>> enhanced, base = Dataset(), Dataset()
    >>> base.SOPClassUID = uid.MRImageStorage
    >>> enhanced.EchoPulseSequence = "SPIN"
    >>> [hex(t) for t in classic_conditions(enhanced, base)], base.ScanningSequence
    (['0x180082'], 'SE')
    >>> base.SequenceVariant
    'NONE'
    >>> modifier = Dataset(); modifier.InversionRecovery = "YES"; modifier.Spoiling = "RF"
    >>> shared = Dataset(); shared.MRModifierSequence = [modifier]
    >>> enhanced.SharedFunctionalGroupsSequence = [shared]
    >>> sorted(classic_conditions(enhanced, base)), list(base.ScanningSequence)
    ([], ['SE', 'IR'])
    >>> base.SequenceVariant
    'SP'
    """
    groups = [*enhanced.get("SharedFunctionalGroupsSequence", [])]
    groups += [*enhanced.get("PerFrameFunctionalGroupsSequence", [])[:1]]
    items = [
        item for group in groups for seq in group for item in (seq.value or []) if seq.VR == "SQ"
    ]

    def found(keyword: str) -> Any:
        if keyword in enhanced:
            return enhanced.get(keyword)
        return next((item.get(keyword) for item in items if keyword in item), None)

    laterality = found("FrameLaterality")
    if "ImageLaterality" not in base and "Laterality" not in base:
        if laterality:
            base.ImageLaterality = laterality
        else:  # not known: empty (Type 2C)
            base.Laterality = None
    if str(base.get("SOPClassUID", "")) != str(uid.MRImageStorage):
        return frozenset()
    pulse = str(found("EchoPulseSequence") or "").strip().upper()
    sequence = [s for s in _SCANNING.get(pulse, ["GR"]) if s != "IR"]
    inversion = str(found("InversionRecovery") or "").strip().upper() == "YES"
    if inversion:
        sequence.append("IR")
    base.ScanningSequence = sequence
    variants = [
        variant
        for keyword, no, variant in _VARIANTS
        if found(keyword) is not None and str(found(keyword)).strip().upper() not in no
    ]
    base.SequenceVariant = variants or "NONE"
    return frozenset() if inversion else frozenset({_INVERSION_TIME})
