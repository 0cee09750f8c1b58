"""Secondary Capture Image Storage: a single grey-scale or RGB picture without geometry."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import SecondaryCaptureImageStorage

from .._version import VERSION
from ._common import (
    FIXED_BY_TEMPLATE,
    check_keywords,
    complete_identification,
    identification_defaults,
    new_dataset,
    stored_pixels,
    window,
)

_REFUSED: dict[str, str] = {
    **FIXED_BY_TEMPLATE,
    "SamplesPerPixel": "it follows from the pixel array: 2-D grey or (rows, columns, 3) RGB",
    "PlanarConfiguration": "RGB pixels are always stored colour-by-pixel (0)",
    "PhotometricInterpretation": "it follows from the pixel array: MONOCHROME2 or RGB",
    "FrameOfReferenceUID": "a secondary capture image has no frame of reference",
    "ImagePositionPatient": "a secondary capture image has no patient geometry",
    "ImageOrientationPatient": "a secondary capture image has no patient geometry",
}

_SC_DEFAULTS: dict[str, Any] = {
    "ImageType": ["DERIVED", "SECONDARY"],
    "ConversionType": "WSD",
    "PatientOrientation": "",
    "ImageLaterality": "U",
    "SecondaryCaptureDeviceManufacturer": "dbdicom",
    "SecondaryCaptureDeviceManufacturerModelName": "dbdicom",
    "SecondaryCaptureDeviceSoftwareVersions": f"dbdicom {VERSION}",
    "LossyImageCompression": "00",
}

#: identification defaults that belong to modules the SC Image IOD does not have
_NOT_IN_SC = ("PositionReferenceIndicator", "PatientPosition", "FrameOfReferenceUID")


def _sc_pixels(pixels: Any) -> np.ndarray:
    """Check ``pixels``: 2-D integers (grey) or (rows, columns, 3) ``uint8`` (RGB)."""
    array = np.asarray(pixels)
    if array.ndim == 3:
        if array.shape[2] != 3 or array.dtype != np.uint8:
            raise ValueError(
                "RGB pixels must be a (rows, columns, 3) uint8 array; "
                f"got shape {array.shape} and dtype {array.dtype}"
            )
        if min(array.shape) < 1:
            raise ValueError(f"pixels must not be empty; got shape {array.shape}")
        return np.ascontiguousarray(array)
    if array.ndim == 2 and array.dtype == np.uint8:
        if min(array.shape) < 1:
            raise ValueError(f"pixels must not be empty; got shape {array.shape}")
        return np.ascontiguousarray(array)
    if array.ndim != 2:
        raise ValueError(
            "pixels must be a 2-D grey-scale array or a (rows, columns, 3) RGB array; "
            f"got shape {array.shape}"
        )
    return stored_pixels(array, ndim=2)


def _set_sc_pixels(ds: Dataset, array: np.ndarray) -> None:
    """Fill the Image Pixel module: 8 bits for uint8 and RGB, 16 bits otherwise."""
    ds.Rows, ds.Columns = int(array.shape[0]), int(array.shape[1])
    rgb = array.ndim == 3
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    bits = 8 * array.dtype.itemsize
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if array.dtype.kind == "i" else 0
    data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    if len(data) % 2:
        data += b"\x00"
    ds.add_new(0x7FE00010, "OB" if bits == 8 else "OW", data)


def secondary_capture(pixels: np.ndarray, **attributes: Any) -> Dataset:
    r"""Return a valid single-frame Secondary Capture Image Storage dataset.

    A secondary capture image is a picture (a screenshot, a plot, a
    rendered map) with patient and study identity but no patient geometry:
    it has no frame of reference, position or orientation.

    Parameters
    ----------
    pixels
        Either a 2-D integer array (row, column) stored as ``MONOCHROME2``:
        ``uint8`` keeps 8 bits, other unsigned dtypes become ``uint16`` and
        signed ones ``int16``; or a (row, column, 3) ``uint8`` array stored
        as ``RGB`` (8 bits per sample, colour-by-pixel).
    **attributes
        DICOM keywords that override or add to the defaults (``ImageType``
        ``DERIVED\SECONDARY``, ``ConversionType`` ``"WSD"`` (workstation),
        the SC Equipment module's secondary capture device attributes,
        ``ImageLaterality`` ``"U"``); ``Modality`` is always ``"OT"``. UIDs
        not given are generated; a grey-scale image gets a window spanning
        its values unless ``WindowCenter`` or ``WindowWidth`` is given.

    Returns
    -------
    pydicom.dataset.Dataset
        The dataset without file meta information: write it with
        :func:`write_dataset`.

    Raises
    ------
    ValueError
        For an unknown or template-controlled keyword (``Rows``,
        ``PhotometricInterpretation``, ``ImagePositionPatient``...), or pixels
        that are neither a 2-D integer array fitting in 16 bits nor a
        (rows, columns, 3) ``uint8`` array.

    Examples
    --------
    >>> import numpy as np
    >>> ds = secondary_capture(np.zeros((4, 6), np.uint8), SeriesDescription="plot")
    >>> ds.SOPClassUID.name, ds.Modality, ds.ConversionType, int(ds.BitsAllocated)
    ('Secondary Capture Image Storage', 'OT', 'WSD', 8)
    >>> rgb = np.zeros((4, 6, 3), np.uint8)
    >>> rgb[..., 0] = 255
    >>> ds = secondary_capture(rgb)
    >>> ds.PhotometricInterpretation, int(ds.SamplesPerPixel), ds.pixel_array.shape
    ('RGB', 3, (4, 6, 3))
    >>> int(ds.pixel_array[0, 0, 0]), int(ds.pixel_array[0, 0, 1])
    (255, 0)
    """
    check_keywords(attributes, _REFUSED)
    array = _sc_pixels(pixels)
    values = {**identification_defaults("OT"), **_SC_DEFAULTS, **attributes}
    values["Modality"] = "OT"
    complete_identification(values)
    for keyword in _NOT_IN_SC:
        if keyword not in attributes:
            values.pop(keyword, None)
    values.setdefault("DateOfSecondaryCapture", values["ContentDate"])
    values.setdefault("TimeOfSecondaryCapture", values["ContentTime"])
    grey = array.ndim == 2
    if grey and "WindowCenter" not in values and "WindowWidth" not in values:
        values["WindowCenter"], values["WindowWidth"] = window(array)
    if not grey and ("WindowCenter" in values or "WindowWidth" in values):
        raise ValueError("WindowCenter and WindowWidth apply to grey-scale images, not RGB")
    ds = new_dataset(SecondaryCaptureImageStorage, values)
    _set_sc_pixels(ds, array)
    return ds
