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
  8-bit Ophthalmic Photography).
"""

from __future__ import annotations

from pydicom import uid

from ._encoding import Encoding

__all__ = ["CONVERSION_TYPE", "SECONDARY_CAPTURE", "derived_class"]

SECONDARY_CAPTURE = str(uid.SecondaryCaptureImageStorage)
#: (0008,0064) ConversionType, of the SC Equipment module (Type 1 in a Secondary Capture)
CONVERSION_TYPE = 0x00080064

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
    """
    single = _SINGLE.get(source, source)
    if single is None:
        return SECONDARY_CAPTURE
    if encoding.samples != 1:
        eight = encoding.dtype == "uint8"
        return single if eight and single in _COLOUR else SECONDARY_CAPTURE
    return SECONDARY_CAPTURE if single in _EIGHT_BIT else single
