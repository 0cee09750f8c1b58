"""The SOP class of a derived frame: its source's, where that class can hold it.

A derived frame is written as a single-frame image, grey-scale in 16 bits or
colour (RGB) in 8 or 16 bits (see :mod:`~dbdicom._dataset._encoding`). Its
source's SOP class is kept where that class's IOD takes such an image; where
it does not, the frame is a Secondary Capture Image, whose IOD takes any
(the source's other attributes stay, as attributes the IOD does not list):

* classes of multi-frame objects only (Ultrasound Multi-frame, the
  multi-frame Secondary Captures, Nuclear Medicine, the video classes),
  whose Multi-frame module needs a NumberOfFrames and a
  FrameIncrementPointer, become their single-frame class (Ultrasound
  Image) or a Secondary Capture;
* colour in a class whose images are grey-scale only (MR, CT, PET...), or
  16-bit colour outside Secondary Capture;
* 16-bit grey-scale in a class of 8-bit images (Ultrasound, Visible Light,
  8-bit Ophthalmic Photography);
* an enhanced multi-frame class whose header is kept as it is (an
  Enhanced MR without functional groups; those with them become classic
  MR images: see :func:`~dbdicom._dataset._base.base_of`);
* an RT Dose whose values need an intercept (negative ones: a difference
  of doses) or colour: RT Dose scales its stored values by DoseGridScaling
  alone (:func:`dose_values`), which a derived RT Dose's encoding sets;
* a PET image whose values need an intercept (its Rescale Intercept is 0:
  the write stores non-negative values with a slope alone, see
  :data:`NO_INTERCEPT`), or that combines several time frames or slices of
  its sources (a mean over time: its FrameReferenceTime, DecayFactor or
  SliceSensitivityFactor, Type 1 or 1C in the PET Image module, would be
  empty, being none of the sources' -- see :data:`PET_FRAME`).

:func:`class_rules` applies the choice to a frame's header.
"""

from __future__ import annotations

from typing import Any

from pydicom import uid

from .._checks import to_dicom
from .._files import encode_element
from ._base import Base
from ._elements import image_type_rest, ui
from ._encoding import Encoding, pixel_values

__all__ = [
    "NO_INTERCEPT",
    "PET",
    "RT_DOSE",
    "SECONDARY_CAPTURE",
    "class_drops",
    "class_rules",
    "derived_class",
    "dose_values",
    "rescaled_class",
]

SECONDARY_CAPTURE = str(uid.SecondaryCaptureImageStorage)
RT_DOSE = str(uid.RTDoseStorage)
PET = str(uid.PositronEmissionTomographyImageStorage)
_SOP_CLASS, _RESCALE_SLOPE, _RESCALE_TYPE = 0x00080016, 0x00281053, 0x00281054
_IMAGE_TYPE = 0x00080008
#: classes whose stored values are scaled by a slope alone (an RT Dose's
#: DoseGridScaling; the PET Image module's Rescale Intercept, which is 0): a
#: write of non-negative values from such sources stores them with no intercept
NO_INTERCEPT = frozenset({RT_DOSE, PET})
#: classes whose image has a rescale, Type 1 (the CT and PET Image modules):
#: a derived frame has one, slope 1 and intercept 0 where its values need none
_RESCALED = frozenset({PET, str(uid.CTImageStorage)})
#: classes whose ImageType Value 2 is PRIMARY alone (the PET Image and
#: Ophthalmic Photography modules): a derived frame is DERIVED\PRIMARY
_PRIMARY = frozenset(
    {
        PET,
        str(uid.OphthalmicPhotography8BitImageStorage),
        str(uid.OphthalmicPhotography16BitImageStorage),
    }
)
#: attributes of :data:`~dbdicom._dataset._elements.DROP` that are true of a
#: frame of these classes, whose IOD has them per image: a PET image's
#: ActualFrameDuration (Type 2 in the PET Image module, its frame's time; in
#: the Cine module of a multi-frame object, the time of frames no longer there)
_KEPT = {PET: (0x00181242,)}
#: (0054,1300) FrameReferenceTime, (0054,1321) DecayFactor, (0054,1320)
#: SliceSensitivityFactor: of one time frame and slice of a PET acquisition,
#: Type 1 or 1C in the PET Image module
PET_FRAME = (0x00541300, 0x00541321, 0x00541320)
#: (3004,000E) DoseGridScaling: an RT Dose's stored values times it are its doses
DOSE_GRID_SCALING = 0x3004000E
#: what a derived Secondary Capture has where its source has none: ConversionType
#: "WSD" (workstation), PatientOrientation, empty (its IOD has no Image Plane
#: module to say it), and a RescaleType "US" (unspecified) where it has a rescale
_SECONDARY_CAPTURE = {
    0x00080064: encode_element(0x00080064, "CS", "WSD"),
    0x00200020: encode_element(0x00200020, "CS", ""),
    _RESCALE_TYPE: encode_element(_RESCALE_TYPE, "LO", "US"),
}

#: classes of the DX Image module, whose rescale is fixed (intercept 0, slope 1):
#: a frame whose values need another is a Secondary Capture
_UNSCALED = frozenset(
    str(c)
    for c in (
        uid.DigitalXRayImageStorageForPresentation,
        uid.DigitalXRayImageStorageForProcessing,
        uid.DigitalMammographyXRayImageStorageForPresentation,
        uid.DigitalMammographyXRayImageStorageForProcessing,
        uid.DigitalIntraOralXRayImageStorageForPresentation,
        uid.DigitalIntraOralXRayImageStorageForProcessing,
    )
)

#: classes whose IOD has the Modality LUT module (or the DX Image module) with
#: its Rescale Type Type 1C where a rescale is present: a derived frame with a
#: rescale and no RescaleType of its source's gets "US" (unspecified)
_RESCALE_TYPED = _UNSCALED | {
    str(uid.ComputedRadiographyImageStorage),
    str(uid.XRayAngiographicImageStorage),
    str(uid.XRayRadiofluoroscopicImageStorage),
}

# the single-frame class of a multi-frame-only one (None: Secondary Capture)
_SINGLE: dict[str, str | None] = {
    str(uid.UltrasoundMultiFrameImageStorage): str(uid.UltrasoundImageStorage),
    str(uid.MultiFrameSingleBitSecondaryCaptureImageStorage): None,
    str(uid.MultiFrameGrayscaleByteSecondaryCaptureImageStorage): None,
    str(uid.MultiFrameGrayscaleWordSecondaryCaptureImageStorage): None,
    str(uid.MultiFrameTrueColorSecondaryCaptureImageStorage): None,
    str(uid.NuclearMedicineImageStorage): None,
    str(uid.VideoEndoscopicImageStorage): None,
    str(uid.VideoMicroscopicImageStorage): None,
    str(uid.VideoPhotographicImageStorage): None,
    # enhanced classes, where the header is kept as it is (no functional groups)
    str(uid.EnhancedMRImageStorage): None,
    str(uid.EnhancedMRColorImageStorage): None,
    str(uid.EnhancedCTImageStorage): None,
    str(uid.EnhancedPETImageStorage): None,
    str(uid.EnhancedXAImageStorage): None,
    str(uid.EnhancedXRFImageStorage): None,
    str(uid.EnhancedUSVolumeStorage): None,
}
# classes whose images may be 8-bit RGB
_COLOUR = frozenset(
    str(c)
    for c in (
        uid.SecondaryCaptureImageStorage,
        uid.UltrasoundImageStorage,
        uid.VLEndoscopicImageStorage,
        uid.VLMicroscopicImageStorage,
        uid.VLSlideCoordinatesMicroscopicImageStorage,
        uid.VLPhotographicImageStorage,
        uid.OphthalmicPhotography8BitImageStorage,
    )
)
# classes whose grey-scale images are 8-bit
_EIGHT_BIT = _COLOUR - {SECONDARY_CAPTURE}


def derived_class(source: str, encoding: Encoding) -> str:
    """The SOP Class UID of a frame derived from one of class ``source``, stored as ``encoding``.

    Examples
    --------
    >>> grey, rgb = Encoding("uint16", 1.0, 0.0, True), Encoding("uint8", 1.0, 0.0, True, 3)
    >>> mr, us = str(uid.MRImageStorage), str(uid.UltrasoundImageStorage)
    >>> derived_class(mr, grey) == mr, derived_class(mr, rgb) == SECONDARY_CAPTURE
    (True, True)
    >>> derived_class(str(uid.UltrasoundMultiFrameImageStorage), rgb) == us
    True
    >>> derived_class(us, grey) == SECONDARY_CAPTURE  # Ultrasound images are 8-bit
    True
    >>> derived_class(RT_DOSE, Encoding("uint16", 0.5, -10.0, False)) == SECONDARY_CAPTURE
    True
    >>> derived_class(PET, Encoding("uint16", 0.5, 0.0, False)) == PET
    True
    >>> derived_class(PET, Encoding("uint16", 0.5, -10.0, False)) == SECONDARY_CAPTURE
    True
    >>> dx = str(uid.DigitalXRayImageStorageForPresentation)
    >>> derived_class(dx, grey) == dx, derived_class(dx, Encoding("uint16", 0.5, 0.0, False))
    (True, '1.2.840.10008.5.1.4.1.1.7')
    """
    single = _SINGLE.get(source, source)
    if single is None:
        return SECONDARY_CAPTURE
    if single in NO_INTERCEPT and (encoding.intercept != 0.0 or encoding.samples != 1):
        return SECONDARY_CAPTURE
    if single in _UNSCALED and (encoding.slope != 1.0 or encoding.intercept != 0.0):
        return SECONDARY_CAPTURE
    if encoding.samples != 1:
        eight = encoding.dtype == "uint8"
        return single if eight and single in _COLOUR else SECONDARY_CAPTURE
    return SECONDARY_CAPTURE if single in _EIGHT_BIT else single


def class_rules(base: Base, delta: dict[int, bytes | None], encoding: Encoding) -> str:
    r"""The SOP class of a frame on ``base`` (:func:`derived_class`); what it asks, in ``delta``.

    The class where it changes; a Secondary Capture's attributes the source
    has not; a RescaleType "US" with a rescale where the class's IOD asks
    for one (Computed Radiography, Digital X-Ray, X-Ray Angiography...);
    no DoseGridScaling outside an RT Dose (it would scale the values
    read); ImageType DERIVED\PRIMARY where Value 2 can be nothing else. A
    PET frame whose :data:`PET_FRAME` values ``delta`` empties (its sources
    differ in them) is a Secondary Capture.
    """
    found = derived_class(base.sop_class, encoding)
    if found == PET and any(_emptied(delta, tag) for tag in PET_FRAME):
        found = SECONDARY_CAPTURE
    if found != base.sop_class:  # what the source's class keeps of DROP goes
        delta.update(dict.fromkeys(_KEPT.get(base.sop_class, ())))
    if found in _PRIMARY and delta.get(_IMAGE_TYPE) is not None:
        rest = image_type_rest(delta[_IMAGE_TYPE])
        delta[_IMAGE_TYPE] = encode_element(_IMAGE_TYPE, "CS", ["DERIVED", "PRIMARY", *rest])
    if found != base.sop_class:
        delta[_SOP_CLASS] = ui(_SOP_CLASS, found)
    if found != RT_DOSE and base.has(DOSE_GRID_SCALING):
        delta[DOSE_GRID_SCALING] = None
    rescaled = encoding.samples == 1 and (
        encoding.slope != 1.0 or encoding.intercept != 0.0 or base.has(_RESCALE_SLOPE)
    )
    if found in _RESCALE_TYPED and rescaled and not base.has(_RESCALE_TYPE):
        delta.setdefault(_RESCALE_TYPE, _SECONDARY_CAPTURE[_RESCALE_TYPE])
    if found == SECONDARY_CAPTURE:
        for tag, element in _SECONDARY_CAPTURE.items():
            if tag not in delta and not base.has(tag) and (tag != _RESCALE_TYPE or rescaled):
                delta[tag] = element
    return found


def _emptied(delta: dict[int, bytes | None], tag: int) -> bool:
    """Whether ``delta`` leaves out ``tag``'s element, or empties it (a short VR's: 8 bytes)."""
    return tag in delta and (delta[tag] is None or len(delta[tag] or b"") == 8)


def rescaled_class(sop_class: str) -> bool:
    """Whether a frame of ``sop_class`` has a rescale whatever its values (CT, PET).

    Examples
    --------
    >>> rescaled_class(PET), rescaled_class(SECONDARY_CAPTURE)
    (True, False)
    """
    return sop_class in _RESCALED


def class_drops(drops: dict[int, bytes | None], sop_class: str) -> dict[int, bytes | None]:
    """The elements ``drops`` a frame of ``sop_class`` leaves out.

    Those of :data:`~dbdicom._dataset._elements.DROP` its IOD has per image
    stay (a PET image's ActualFrameDuration).

    Examples
    --------
    >>> drops = {0x00181242: None, 0x00181063: None}
    >>> list(class_drops(drops, PET)), len(class_drops(drops, SECONDARY_CAPTURE))
    ([1577059], 2)
    """
    kept = _KEPT.get(sop_class)
    if not kept:
        return drops
    return {tag: value for tag, value in drops.items() if tag not in kept}


def dose_values(shape: tuple[int, ...], encoding: Encoding) -> list[tuple[int, str, Any]]:
    """The pixel description of a derived RT Dose frame: its slope as DoseGridScaling.

    RT Dose has no rescale: dose = stored value x DoseGridScaling (its
    encoding has no intercept: :func:`derived_class`).

    Examples
    --------
    >>> from dbdicom._dataset._elements import REMOVE
    >>> found = {t: v for t, _, v in dose_values((2, 2), Encoding("uint16", 2e-5, 0.0, False))}
    >>> found[DOSE_GRID_SCALING], found[_RESCALE_SLOPE] is REMOVE
    ('2e-05', True)
    """
    scale = to_dicom("DoseGridScaling", encoding.slope)
    return [*pixel_values(shape, encoding, False, rescale=False), (DOSE_GRID_SCALING, "DS", scale)]
