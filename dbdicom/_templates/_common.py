"""Pieces shared by every template: keywords, values, identification, geometry, pixels.

Geometry convention used throughout the templates: ``ImageOrientationPatient``
holds the direction cosines of a row (the direction of increasing column
index) followed by those of a column (increasing row index), in the patient
LPS frame; the slice normal is their cross product; ``ImagePositionPatient``
is the LPS centre of the first transmitted pixel (row 0, column 0) in mm.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from pydicom.datadict import dictionary_VR, keyword_dict, tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import DSfloat

from .._version import VERSION

#: Keywords that follow from the pixel array or from the template itself.
FIXED_BY_TEMPLATE: Mapping[str, str] = {
    "Rows": "it follows from the pixel array",
    "Columns": "it follows from the pixel array",
    "BitsAllocated": "it follows from the pixel array",
    "BitsStored": "it follows from the pixel array",
    "HighBit": "it follows from the pixel array",
    "PixelRepresentation": "it follows from the dtype of the pixel array",
    "SamplesPerPixel": "the templates make single-sample (grey-scale) images",
    "PlanarConfiguration": "the templates make single-sample (grey-scale) images",
    "PixelData": "pass the pixels as the first argument",
    "NumberOfFrames": "it follows from the pixel array",
    "SOPClassUID": "it is fixed by the template; pick another template",
    "Modality": "it is fixed by the template; pick another template",
}


def new_uid() -> str:
    """Return a new, globally unique DICOM UID.

    Returns
    -------
    str
        A UID made by :func:`pydicom.uid.generate_uid` (pydicom's root
        ``1.2.826.0.1.3680043.8.498.`` followed by random digits): at most 64
        characters, digits and dots.

    Examples
    --------
    >>> uid = new_uid()
    >>> uid.startswith("1.2.826.0.1.3680043.8.498.") and len(uid) <= 64
    True
    >>> new_uid() == new_uid()
    False
    """
    return str(generate_uid())


#: the root of the UIDs made here (pydicom's), and the decimal digits after it
_ROOT = "1.2.826.0.1.3680043.8.498."
_DIGITS = 64 - len(_ROOT)


def new_uids(n: int) -> list[str]:
    """``n`` new UIDs like :func:`new_uid`'s, from one read of the system's random source.

    Each is pydicom's root followed by a random number below
    ``10 ** (64 - len(root))`` (as :func:`pydicom.uid.generate_uid` makes
    them), taken from 160 random bits: one ``os.urandom`` call, not one a
    UID (writing a series takes a new UID per frame).

    Examples
    --------
    >>> uids = new_uids(3)
    >>> len(set(uids)), all(u.startswith(_ROOT) and len(u) <= 64 for u in uids)
    (3, True)
    >>> all(u[len(_ROOT)] != "0" or len(u) == len(_ROOT) + 1 for u in uids)  # no leading zero
    True
    """
    data = os.urandom(20 * n)
    maximum = 10**_DIGITS
    return [
        f"{_ROOT}{int.from_bytes(data[20 * k : 20 * (k + 1)], 'big') % maximum}" for k in range(n)
    ]


def check_keywords(attributes: Iterable[str], refused: Mapping[str, str]) -> None:
    """Raise ``ValueError`` naming any keyword that is unknown or not settable.

    Parameters
    ----------
    attributes
        The keywords passed by the caller.
    refused
        Keywords the template sets itself, each with the reason why.
    """
    names = list(attributes)
    unknown = [name for name in names if tag_for_keyword(name) is None]
    if unknown:
        parts = []
        for name in unknown:
            close = difflib.get_close_matches(name, keyword_dict.keys(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"{name!r}{hint}")
        raise ValueError(
            f"unknown DICOM keyword(s): {', '.join(parts)}; attributes must be "
            "standard keywords such as 'PatientName' or 'SeriesDescription'"
        )
    for name in names:
        if name in refused:
            raise ValueError(f"{name!r} cannot be set here: {refused[name]}")


def _scalar(vr: str, value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bytes, Dataset)):
        return value
    if vr == "DS":
        return DSfloat(value, auto_format=True)
    if vr == "IS":
        return int(value)
    if vr == "DA" and isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    if vr == "TM" and isinstance(value, (dt.time, dt.datetime)):
        return value.strftime("%H%M%S.%f")
    if vr == "DT" and isinstance(value, dt.datetime):
        return value.strftime("%Y%m%d%H%M%S.%f")
    return value


def dicom_value(keyword: str, value: Any) -> Any:
    """Convert a Python/numpy value to what pydicom stores for ``keyword``.

    Floats for ``DS`` are formatted to fit 16 characters, numpy scalars and
    arrays become Python values, dates and times become DICOM strings.
    """
    vr = dictionary_VR(keyword)
    if vr == "SQ":
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_scalar(vr, item) for item in value]
    return _scalar(vr, value)


def set_values(ds: Dataset, values: Mapping[str, Any]) -> None:
    """Set every keyword of ``values`` on ``ds`` (``None`` makes an empty element)."""
    for keyword, value in values.items():
        setattr(ds, keyword, dicom_value(keyword, value))


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    """Return a Code Sequence Macro item."""
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def identification_defaults(modality: str) -> dict[str, Any]:
    """Realistic patient, study, series and equipment values for ``modality``."""
    return {
        "SpecificCharacterSet": "ISO_IR 100",
        "PatientName": "Doe^Jane",
        "PatientID": "DBD-0001",
        "PatientBirthDate": "19700101",
        "PatientSex": "F",
        "StudyDate": "20240115",
        "StudyTime": "093012",
        "StudyDescription": "Research " + modality,
        "StudyID": "1",
        "AccessionNumber": "ACC0001",
        "ReferringPhysicianName": "Smith^John",
        "SeriesNumber": 1,
        "SeriesDescription": f"{modality} series",
        "PatientPosition": "HFS",
        "PositionReferenceIndicator": "",
        "Manufacturer": "dbdicom",
        "InstitutionName": "dbdicom Test Hospital",
        "StationName": "DBD" + modality + "01",
        "ManufacturerModelName": "dbdicom",
        "DeviceSerialNumber": "0001",
        "SoftwareVersions": f"dbdicom {VERSION}",
        "InstanceNumber": 1,
        "BurnedInAnnotation": "NO",
    }


def complete_identification(values: dict[str, Any]) -> None:
    """Generate missing UIDs and default dates and times to the study's."""
    for keyword in (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "FrameOfReferenceUID",
    ):
        if not values.get(keyword):
            values[keyword] = new_uid()
    for prefix in ("Series", "Acquisition", "Content"):
        values.setdefault(prefix + "Date", values["StudyDate"])
        values.setdefault(prefix + "Time", values["StudyTime"])


def slice_normal(orientation: Any) -> np.ndarray:
    """Return the unit slice normal (row cosines x column cosines) of an orientation."""
    cosines = np.asarray(orientation, dtype=float)
    if cosines.shape != (6,):
        raise ValueError(
            "ImageOrientationPatient needs 6 direction cosines "
            f"(row then column); got {list(cosines.ravel())}"
        )
    normal = np.cross(cosines[:3], cosines[3:])
    length = float(np.linalg.norm(normal))
    if length < 1e-6:
        raise ValueError(f"ImageOrientationPatient {list(cosines)} has parallel row and column")
    return normal / length


def slice_location(position: Any, orientation: Any) -> float:
    """Project ``position`` (LPS mm) on the slice normal of ``orientation``.

    Examples
    --------
    >>> slice_location([10.0, 20.0, -35.5], [1, 0, 0, 0, 1, 0])
    -35.5
    """
    return round(float(np.dot(np.asarray(position, dtype=float), slice_normal(orientation))), 6)


def centred_position(
    shape: tuple[int, int], spacing: Any, orientation: Any, offset: float = 0.0
) -> list[float]:
    """Position of the first pixel so that the image centre lies ``offset`` mm along the normal."""
    cosines = np.asarray(orientation, dtype=float)
    rows, columns = shape
    row_spacing, column_spacing = (float(s) for s in spacing)
    corner = -0.5 * (
        (columns - 1) * column_spacing * cosines[:3] + (rows - 1) * row_spacing * cosines[3:]
    )
    return [round(float(x), 4) for x in corner + offset * slice_normal(orientation)]


def complete_plane(values: dict[str, Any], shape: tuple[int, int]) -> None:
    """Default the Image Plane module: axial, centred, SliceLocation consistent."""
    values.setdefault("ImageOrientationPatient", [1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    values.setdefault("PixelSpacing", [1.5, 1.5])
    values.setdefault("SliceThickness", 5.0)
    values.setdefault(
        "ImagePositionPatient",
        centred_position(shape, values["PixelSpacing"], values["ImageOrientationPatient"]),
    )
    values.setdefault(
        "SliceLocation",
        slice_location(values["ImagePositionPatient"], values["ImageOrientationPatient"]),
    )


def stored_pixels(pixels: Any, ndim: int) -> np.ndarray:
    """Check ``pixels`` and return them as little-endian 16-bit integers.

    Signed input dtypes give ``int16`` (PixelRepresentation 1), unsigned ones
    ``uint16`` (PixelRepresentation 0).
    """
    array = np.asarray(pixels)
    if array.ndim != ndim:
        raise ValueError(f"pixels must be a {ndim}-D array; got shape {array.shape}")
    if min(array.shape) < 1:
        raise ValueError(f"pixels must not be empty; got shape {array.shape}")
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"pixels must be an integer array; got dtype {array.dtype}: round and cast "
            "first, e.g. np.rint(a).astype(np.uint16)"
        )
    target = np.dtype("<i2") if np.issubdtype(array.dtype, np.signedinteger) else np.dtype("<u2")
    info = np.iinfo(target)
    low, high = int(array.min()), int(array.max())
    if low < info.min or high > info.max:
        raise ValueError(
            f"pixel values {low}..{high} do not fit in {target.name} "
            f"({info.min}..{info.max}); rescale them first"
        )
    return np.ascontiguousarray(array.astype(target, copy=False))


def set_pixels(ds: Dataset, array: np.ndarray) -> None:
    """Fill the Image Pixel module of ``ds`` from a checked 16-bit ``array``."""
    ds.Rows, ds.Columns = int(array.shape[-2]), int(array.shape[-1])
    ds.SamplesPerPixel = 1
    if "PhotometricInterpretation" not in ds:
        ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if array.dtype.kind == "i" else 0
    ds.add_new(0x7FE00010, "OW", array.tobytes())


def window(array: np.ndarray) -> tuple[float, float]:
    """A window (centre, width) that spans the pixel values."""
    low, high = float(array.min()), float(array.max())
    return round((low + high) / 2, 1), max(round(high - low, 1), 1.0)


def new_dataset(sop_class_uid: str, values: Mapping[str, Any]) -> Dataset:
    """Return a dataset with ``SOPClassUID`` and ``values`` set."""
    ds = Dataset()
    ds.SOPClassUID = sop_class_uid
    set_values(ds, values)
    ds.file_meta = file_meta(ds)
    return ds


def file_meta(ds: Dataset, transfer_syntax: str = ExplicitVRLittleEndian) -> FileMetaDataset:
    """File meta information matching ``ds`` (pydicom adds the implementation UID)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    return meta
