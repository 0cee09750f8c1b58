"""Segmentation Storage: one binary (1-bit) segment over a stack of frames.

Also holds the pieces that the multi-frame derived objects (segmentations and
parametric maps) share: geometry, dimensions and references to source images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.pixels import pack_bits
from pydicom.uid import SegmentationStorage

from ._common import (
    FIXED_BY_TEMPLATE,
    centred_position,
    check_keywords,
    code_item,
    complete_identification,
    identification_defaults,
    new_dataset,
    new_uid,
    set_values,
    slice_normal,
)

#: Referenced series: SeriesInstanceUID -> [(ReferencedSOPClassUID, ReferencedSOPInstanceUID)].
ReferencedSeries = Mapping[str, Sequence[tuple[str, str]]]

_SOURCE_PURPOSE = ("121322", "DCM", "Source image for image processing operation")

#: Keywords of the shared geometry macros that the caller may give, with their defaults.
GEOMETRY: dict[str, Any] = {
    "PixelSpacing": [1.5, 1.5],
    "SliceThickness": 5.0,
    "ImageOrientationPatient": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
}

REFUSED_MULTIFRAME: dict[str, str] = {
    **FIXED_BY_TEMPLATE,
    "ImagePositionPatient": "pass one position per frame as positions=[(x, y, z), ...]",
    "SliceLocation": "it is not part of multi-frame IODs; positions give the geometry",
    "SharedFunctionalGroupsSequence": "the template builds it",
    "PerFrameFunctionalGroupsSequence": "the template builds it",
    "DimensionIndexSequence": "the template builds it",
    "DimensionOrganizationSequence": "the template builds it",
    "DimensionOrganizationType": "the template builds it",
    "ReferencedSeriesSequence": "pass referenced_series={series_uid: [(class_uid, uid), ...]}",
    "PhotometricInterpretation": "it is MONOCHROME2",
    "AcquisitionDate": "multi-frame derived objects have no acquisition date",
    "AcquisitionTime": "multi-frame derived objects have no acquisition time",
}


def item(**values: Any) -> Dataset:
    """Return a sequence item with ``values`` set (keyword -> value)."""
    ds = Dataset()
    set_values(ds, values)
    return ds


def multiframe_values(
    modality: str, defaults: Mapping[str, Any], attributes: Mapping[str, Any]
) -> dict[str, Any]:
    """Top-level values: identification, ``defaults`` and the non-geometry attributes."""
    top = {k: v for k, v in attributes.items() if k not in GEOMETRY}
    values = {**identification_defaults(modality), **defaults, **top}
    complete_identification(values)
    del values["AcquisitionDate"], values["AcquisitionTime"]  # no acquisition module
    return values


def geometry(
    attributes: Mapping[str, Any],
    positions: Sequence[Sequence[float]] | None,
    shape: tuple[int, int, int],
) -> tuple[Dataset, Dataset, np.ndarray, list[int]]:
    """Pixel Measures and Plane Orientation items, frame positions and in-stack ranks.

    Default positions are a contiguous axial stack, ``SliceThickness`` apart,
    centred on the origin. ``InStackPositionNumber`` 1 is the frame with the
    lowest projection on the slice normal; positions must be distinct.
    """
    given = {k: attributes.get(k, default) for k, default in GEOMETRY.items()}
    spacing = [float(x) for x in given["PixelSpacing"]]  # also pydicom MultiValues
    thickness = float(given["SliceThickness"])
    cosines = [float(x) for x in given["ImageOrientationPatient"]]
    measures = item(PixelSpacing=spacing, SliceThickness=thickness)
    orientation = item(ImageOrientationPatient=cosines)
    normal = slice_normal(cosines)
    n_frames = shape[0]
    if positions is None:
        offsets = (np.arange(n_frames) - (n_frames - 1) / 2) * thickness
        array = np.array([centred_position(shape[1:], spacing, cosines, o) for o in offsets])
    else:
        array = np.asarray(positions, dtype=float)
        if array.shape != (n_frames, 3):
            raise ValueError(
                f"positions must hold one (x, y, z) per frame, shape ({n_frames}, 3); "
                f"got shape {array.shape}"
            )
    heights = [round(float(np.dot(p, normal)), 3) for p in array]
    if len(set(heights)) != n_frames:
        raise ValueError(
            "positions must be distinct slices: two frames lie at the same height "
            f"{sorted(heights)} along the slice normal {list(normal)}"
        )
    order = sorted(heights)
    return measures, orientation, array, [order.index(h) + 1 for h in heights]


def multiframe_dataset(
    sop_class: str,
    values: dict[str, Any],
    shared: Dataset,
    frames: list[Dataset],
    shape: tuple[int, ...],
) -> Dataset:
    """The dataset of a multi-frame object, without its bits and pixel data.

    It holds ``values``, the shared and per-frame functional groups, and the
    grey-scale frame layout of ``shape`` (frames, rows, columns); the caller
    adds the bits and the pixel data.
    """
    values["SharedFunctionalGroupsSequence"] = [shared]
    values["PerFrameFunctionalGroupsSequence"] = frames
    values["NumberOfFrames"] = len(frames)
    ds = new_dataset(sop_class, values)
    ds.Rows, ds.Columns = int(shape[1]), int(shape[2])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    return ds


def dimensions(values: dict[str, Any], pointers: Sequence[tuple[str, str]]) -> None:
    """Set the Multi-frame Dimension module: one dimension per (attribute, group) pointer."""
    organization = new_uid()
    values["DimensionOrganizationSequence"] = [item(DimensionOrganizationUID=organization)]
    values["DimensionOrganizationType"] = "3D"
    values["DimensionIndexSequence"] = [
        item(
            DimensionOrganizationUID=organization,
            DimensionIndexPointer=tag_for_keyword(inner),
            FunctionalGroupPointer=tag_for_keyword(group),
            DimensionDescriptionLabel=inner,
        )
        for inner, group in pointers
    ]


def references(
    values: dict[str, Any],
    referenced_series: ReferencedSeries | None,
    derivation: tuple[str, str, str],
) -> Dataset | None:
    """Set the Common Instance Reference module (sources in the same study).

    Returns the Derivation Image macro item naming every referenced instance
    as a source image, for the shared functional groups (``None`` without
    sources): the standard wants each referenced instance to be used.
    """
    if not referenced_series:
        return None
    series, sources = [], []
    for series_uid, instances in referenced_series.items():
        if not instances:
            raise ValueError(f"referenced series {series_uid!r} lists no instances")
        refs = []
        for class_uid, instance_uid in instances:  # (SOPClassUID, SOPInstanceUID) pairs
            uids = {"ReferencedSOPClassUID": class_uid, "ReferencedSOPInstanceUID": instance_uid}
            refs.append(item(**uids))
            purpose = code_item(*_SOURCE_PURPOSE)
            sources.append(item(**uids, PurposeOfReferenceCodeSequence=[purpose]))
        series.append(item(SeriesInstanceUID=series_uid, ReferencedInstanceSequence=refs))
    values["ReferencedSeriesSequence"] = series
    return item(DerivationCodeSequence=[code_item(*derivation)], SourceImageSequence=sources)


#: attributes a segmentation refuses, and what to do instead
REFUSED_SEGMENTATION: dict[str, str] = {
    **REFUSED_MULTIFRAME,
    "SegmentSequence": "pass label=, category=, segment_type= and algorithm=",
    "SegmentationType": "the template makes BINARY segmentations",
}

_SEG_DEFAULTS: dict[str, Any] = {
    "ImageType": ["DERIVED", "PRIMARY"],
    "ContentLabel": "SEGMENTATION",
    "ContentDescription": "Segmentation",
    "ContentCreatorName": "Template^dbdicom",
    "SegmentationType": "BINARY",
    "LossyImageCompression": "00",
    "SeriesDescription": "Segmentation",
    "SeriesNumber": 100,
}

_ANATOMICAL_STRUCTURE = ("91723000", "SCT", "Anatomical structure")
_TISSUE = ("85756007", "SCT", "Tissue")


def _mask(mask: Any) -> np.ndarray:
    array = np.asarray(mask)
    if array.ndim != 3 or array.size == 0 or array.dtype.kind not in "biu":
        raise ValueError(
            "mask must be a non-empty 3-D boolean array (frames, rows, columns); "
            f"got shape {array.shape} and dtype {array.dtype}"
        )
    if array.dtype.kind != "b" and not np.isin(array, (0, 1)).all():
        raise ValueError("an integer mask must hold only 0 and 1")
    return np.ascontiguousarray(array.astype(np.uint8))


def segmentation(
    mask: np.ndarray,
    positions: Sequence[Sequence[float]] | None = None,
    *,
    label: str = "Segment 1",
    algorithm: str | None = None,
    category: tuple[str, str, str] = _ANATOMICAL_STRUCTURE,
    segment_type: tuple[str, str, str] = _TISSUE,
    description: str | None = None,
    referenced_series: ReferencedSeries | None = None,
    **attributes: Any,
) -> Dataset:
    """Return a valid Segmentation Storage dataset: one BINARY segment, 1 bit per pixel.

    Frame ``i`` is ``mask[i]`` in (row, column) order at ``positions[i]``;
    the bits of all frames are packed one after the other (frames do not
    start on a byte boundary when ``rows * columns`` is not a multiple of 8).

    Parameters
    ----------
    mask
        3-D boolean array (frame, row, column); integer arrays holding only
        0 and 1 are accepted too.
    positions
        One ``ImagePositionPatient`` (LPS mm, first pixel) per frame; distinct
        slices. Default: a contiguous axial stack ``SliceThickness`` apart
        centred on the origin, as for :func:`parametric_map`.
    label
        ``SegmentLabel`` of the single segment (number 1).
    algorithm
        ``None`` for a ``MANUAL`` segment, else the ``SegmentAlgorithmName``
        of an ``AUTOMATIC`` one.
    category, segment_type
        Codes (value, scheme, meaning) of the segmented property category and
        type; default SNOMED CT ``91723000`` "Anatomical structure" and
        ``85756007`` "Tissue".
    description
        Optional ``SegmentDescription``.
    referenced_series
        Optional source images in the same study: ``{SeriesInstanceUID:
        [(SOPClassUID, SOPInstanceUID), ...]}``. They go in
        ``ReferencedSeriesSequence`` and, as source images of a
        "Segmentation" derivation, in the shared functional groups.
    **attributes
        DICOM keywords overriding the defaults. ``PixelSpacing``,
        ``SliceThickness`` and ``ImageOrientationPatient`` go in the shared
        functional groups; ``ContentLabel``, ``ContentCreatorName``,
        ``SeriesDescription``, ``FrameOfReferenceUID`` (use the sources')...
        on the dataset.

    Returns
    -------
    pydicom.dataset.Dataset
        The dataset, ready for :func:`write_dataset`.

    Raises
    ------
    ValueError
        For an unknown or template-controlled keyword, a mask that is not
        3-D boolean, or positions of the wrong shape or not distinct.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((2, 3, 5), bool)
    >>> mask[1, 1:, 2:] = True
    >>> ds = segmentation(mask, label="Liver", algorithm="threshold")
    >>> ds.Modality, ds.SegmentationType, int(ds.BitsAllocated), int(ds.NumberOfFrames)
    ('SEG', 'BINARY', 1, 2)
    >>> segment = ds.SegmentSequence[0]
    >>> segment.SegmentLabel, segment.SegmentAlgorithmType, segment.SegmentAlgorithmName
    ('Liver', 'AUTOMATIC', 'threshold')
    >>> bool((ds.pixel_array == mask).all())
    True
    """
    check_keywords(attributes, REFUSED_SEGMENTATION)
    array = _mask(mask)
    n_frames = int(array.shape[0])
    measures, orientation, frame_positions, in_stack = geometry(
        attributes, positions, (n_frames, int(array.shape[1]), int(array.shape[2]))
    )
    values = multiframe_values("SEG", _SEG_DEFAULTS, attributes)
    values["Modality"] = "SEG"
    segment = item(
        SegmentNumber=1,
        SegmentLabel=label,
        SegmentAlgorithmType="MANUAL" if algorithm is None else "AUTOMATIC",
        SegmentedPropertyCategoryCodeSequence=[code_item(*category)],
        SegmentedPropertyTypeCodeSequence=[code_item(*segment_type)],
    )
    if algorithm is not None:
        segment.SegmentAlgorithmName = algorithm
    if description is not None:
        segment.SegmentDescription = description
    values["SegmentSequence"] = [segment]

    shared = item(PixelMeasuresSequence=[measures], PlaneOrientationSequence=[orientation])
    derivation = references(values, referenced_series, ("113076", "DCM", "Segmentation"))
    if derivation is not None:
        shared.DerivationImageSequence = [derivation]
    frames = [
        item(
            FrameContentSequence=[item(DimensionIndexValues=[1, n])],
            PlanePositionSequence=[item(ImagePositionPatient=position)],
            SegmentIdentificationSequence=[item(ReferencedSegmentNumber=1)],
        )
        for n, position in zip(in_stack, frame_positions, strict=True)
    ]
    segment_dimension = ("ReferencedSegmentNumber", "SegmentIdentificationSequence")
    dimensions(values, [segment_dimension, ("ImagePositionPatient", "PlanePositionSequence")])
    ds = multiframe_dataset(SegmentationStorage, values, shared, frames, array.shape)
    ds.BitsAllocated = 1
    ds.BitsStored = 1
    ds.HighBit = 0
    ds.PixelRepresentation = 0
    ds.add_new(0x7FE00010, "OB", pack_bits(array.ravel(), pad=True))
    return ds
