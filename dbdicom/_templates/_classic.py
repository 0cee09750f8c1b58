"""Single-frame ("classic") image templates: MR Image Storage and CT Image Storage.

:func:`modality_image` picks the template of a Modality: the one place that
decides the SOP class of a new image made without a source header.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, MRImageStorage

from ._common import (
    FIXED_BY_TEMPLATE,
    check_keywords,
    complete_identification,
    complete_plane,
    identification_defaults,
    new_dataset,
    new_uid,
    set_pixels,
    set_values,
    stored_pixels,
    window,
)
from ._secondary import secondary_capture

_MR_DEFAULTS: dict[str, Any] = {
    "ImageType": ["ORIGINAL", "PRIMARY", "OTHER"],
    "ScanningSequence": "GR",
    "SequenceVariant": "SP",
    "ScanOptions": "",
    "MRAcquisitionType": "2D",
    "SequenceName": "fl2d1",
    "RepetitionTime": 5.0,
    "EchoTime": 2.0,
    "FlipAngle": 15.0,
    "EchoTrainLength": 1,
    "NumberOfAverages": 1.0,
    "ImagingFrequency": 63.87,
    "ImagedNucleus": "1H",
    "EchoNumbers": 1,
    "MagneticFieldStrength": 1.5,
    "PixelBandwidth": 260.0,
    "AcquisitionNumber": 1,
    "BodyPartExamined": "HEAD",
    "PatientOrientation": ["L", "P"],
}

_CT_DEFAULTS: dict[str, Any] = {
    "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"],
    "KVP": 120.0,
    "AcquisitionNumber": 1,
    "RescaleIntercept": 0.0,
    "RescaleSlope": 1.0,
    "RescaleType": "HU",
    "ConvolutionKernel": "STANDARD",
    "XRayTubeCurrent": 200,
    "ExposureTime": 1000,
    "DataCollectionDiameter": 500.0,
    "WindowCenter": 40.0,
    "WindowWidth": 400.0,
    "BodyPartExamined": "ABDOMEN",
    "PatientOrientation": ["L", "P"],
}


def _complete_inversion(values: dict[str, Any], attributes: dict[str, Any]) -> None:
    """InversionTime is only allowed with an inversion recovery (IR) scanning sequence."""
    if values.get("InversionTime") is None:
        return
    sequence = values["ScanningSequence"]
    sequence = [sequence] if isinstance(sequence, str) else list(sequence)
    if "IR" in sequence:
        return
    if "ScanningSequence" in attributes:
        raise ValueError(
            f"InversionTime needs 'IR' in ScanningSequence; got {sequence}: "
            "add 'IR' (e.g. ScanningSequence=['GR', 'IR']) or drop InversionTime"
        )
    values["ScanningSequence"] = [*sequence, "IR"]


def _classic_image(
    sop_class_uid: str,
    modality: str,
    defaults: dict[str, Any],
    pixels: np.ndarray,
    attributes: dict[str, Any],
) -> Dataset:
    check_keywords(attributes, FIXED_BY_TEMPLATE)
    array = stored_pixels(pixels, ndim=2)
    values = {**identification_defaults(modality), **defaults, **attributes}
    values["Modality"] = modality
    complete_identification(values)
    complete_plane(values, (array.shape[0], array.shape[1]))
    if modality == "MR":
        _complete_inversion(values, attributes)
    if "WindowCenter" not in values and "WindowWidth" not in values:
        values["WindowCenter"], values["WindowWidth"] = window(array)
    ds = new_dataset(sop_class_uid, values)
    set_pixels(ds, array)
    return ds


def mr_image(pixels: np.ndarray, **attributes: Any) -> Dataset:
    """Return a valid single-frame MR Image Storage dataset.

    Parameters
    ----------
    pixels
        2-D integer array in (row, column) order; unsigned dtypes are stored
        as ``uint16`` and signed ones as ``int16`` (16 bits allocated and
        stored, as the MR Image module requires).
    **attributes
        DICOM keywords that override or add to the defaults (a realistic
        spoiled gradient echo: ``RepetitionTime`` 5 ms, ``EchoTime`` 2 ms,
        ``FlipAngle`` 15 deg; an axial 1.5 mm x 1.5 mm x 5 mm slice centred
        on the origin). UIDs not given are generated; ``SliceLocation``
        defaults to the projection of ``ImagePositionPatient`` on the slice
        normal (row cosines x column cosines, LPS mm). ``InversionTime``
        adds ``"IR"`` to the default ``ScanningSequence``.

    Returns
    -------
    pydicom.dataset.Dataset
        The dataset without file meta information: write it with
        :func:`write_dataset`.

    Raises
    ------
    ValueError
        For a keyword that is not a DICOM keyword (the message names it), a
        keyword that follows from the pixels (``Rows``...), or pixels that
        are not a 2-D integer array fitting in 16 bits.

    Examples
    --------
    >>> import numpy as np
    >>> ds = mr_image(np.zeros((4, 6), np.uint16), SeriesDescription="VFA", FlipAngle=2)
    >>> ds.Modality, ds.Rows, ds.Columns, ds.SeriesDescription, float(ds.FlipAngle)
    ('MR', 4, 6, 'VFA', 2.0)
    >>> float(mr_image(np.ones((2, 2), np.int16), ImagePositionPatient=[0, 0, 7.5]).SliceLocation)
    7.5
    """
    return _classic_image(MRImageStorage, "MR", _MR_DEFAULTS, pixels, attributes)


def ct_image(pixels: np.ndarray, **attributes: Any) -> Dataset:
    """Return a valid single-frame CT Image Storage dataset.

    Parameters
    ----------
    pixels
        2-D integer array in (row, column) order holding the stored values;
        with the default ``RescaleIntercept`` 0 and ``RescaleSlope`` 1 these
        are Hounsfield units. Signed dtypes are stored as ``int16``, unsigned
        ones as ``uint16``.
    **attributes
        DICOM keywords that override or add to the defaults (120 kVp, soft
        tissue window, an axial 1.5 mm x 1.5 mm x 5 mm slice centred on the
        origin). UIDs not given are generated; ``SliceLocation`` defaults to
        the projection of ``ImagePositionPatient`` on the slice normal.

    Returns
    -------
    pydicom.dataset.Dataset
        The dataset without file meta information: write it with
        :func:`write_dataset`.

    Raises
    ------
    ValueError
        For an unknown or template-controlled keyword, or pixels that are not
        a 2-D integer array fitting in 16 bits.

    Examples
    --------
    >>> import numpy as np
    >>> hu = np.full((8, 8), -1000, np.int16)
    >>> ds = ct_image(hu, SeriesDescription="abdomen")
    >>> ds.Modality, ds.PixelRepresentation, ds.RescaleType
    ('CT', 1, 'HU')
    >>> int(ds.pixel_array.min())
    -1000
    """
    return _classic_image(CTImageStorage, "CT", _CT_DEFAULTS, pixels, attributes)


def modality_image(modality: str | None, pixels: np.ndarray) -> Dataset:
    """Return a valid single-frame image whose SOP class is true of ``modality`` and ``pixels``.

    CT: a CT Image (:func:`ct_image`); MR or none: an MR Image
    (:func:`mr_image`); any other (PT, US, OT...), whose classes need
    acquisition attributes no template can make up, and colour pixels of
    any (the CT and MR Image IODs are grey-scale): a Secondary Capture
    Image (:func:`~dbdicom._templates.secondary_capture`) with that
    Modality (MR for none), without the acquisition attributes of the CT or
    MR template, on the image plane and frame of reference of the MR
    template (an image written from an array has a place: an axial 1.5 mm
    x 1.5 mm x 5 mm slice centred on the origin, until its coordinates say
    otherwise).

    Parameters
    ----------
    modality
        The Modality the image is of (None or empty: MR).
    pixels
        2-D integer array in (row, column) order, or (row, column, 3)
        ``uint8`` RGB, as the templates take it.

    Returns
    -------
    pydicom.dataset.Dataset
        The dataset without file meta information.

    Examples
    --------
    >>> import numpy as np
    >>> zeros = np.zeros((4, 4), np.uint16)
    >>> [modality_image(m, zeros).SOPClassUID.name for m in ("CT", "MR", None)]
    ['CT Image Storage', 'MR Image Storage', 'MR Image Storage']
    >>> ds = modality_image("PT", zeros)
    >>> ds.SOPClassUID.name, ds.Modality, ds.ImageOrientationPatient
    ('Secondary Capture Image Storage', 'PT', [1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    >>> ds = modality_image(None, np.zeros((4, 4, 3), np.uint8))
    >>> ds.SOPClassUID.name, ds.Modality, ds.PhotometricInterpretation, "EchoTime" in ds
    ('Secondary Capture Image Storage', 'MR', 'RGB', False)
    """
    grey = np.ndim(pixels) == 2
    if modality == "CT" and grey:
        return ct_image(pixels)
    if (not modality or modality == "MR") and grey:
        return mr_image(pixels)
    ds = secondary_capture(pixels)
    plane: dict[str, Any] = {
        "Modality": modality or "MR",
        "FrameOfReferenceUID": new_uid(),
        "PositionReferenceIndicator": "",
    }
    complete_plane(plane, (int(ds.Rows), int(ds.Columns)))
    set_values(ds, plane)
    return ds
