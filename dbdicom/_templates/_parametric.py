"""Parametric Map Storage: a multi-frame stack of 32-bit float values with units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ParametricMapStorage

from ._common import check_keywords, code_item, set_values
from ._segmentation import (
    REFUSED_MULTIFRAME,
    ReferencedSeries,
    dimensions,
    geometry,
    item,
    multiframe_dataset,
    multiframe_values,
    references,
)


def _float_pixels(pixels: Any) -> np.ndarray:
    array = np.asarray(pixels)
    if array.ndim != 3 or min(array.shape) < 1:
        raise ValueError(
            f"pixels must be a non-empty 3-D array (frames, rows, columns); got shape {array.shape}"
        )
    if array.dtype.kind not in "fiu":
        raise ValueError(f"pixels must be a float32 array; got dtype {array.dtype}")
    return np.ascontiguousarray(array.astype("<f4", copy=False))


def _voi_and_range(array: np.ndarray) -> tuple[Dataset, float, float]:
    """Frame VOI LUT item spanning the finite values, and their (lowest, highest)."""
    finite = array[np.isfinite(array)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    width = high - low
    voi = item(WindowCenter=(low + high) / 2, WindowWidth=width if width > 0 else 1.0)
    if 0 < width < 1:  # LINEAR needs a width of at least 1
        voi.VOILUTFunction = "LINEAR_EXACT"
    return voi, low, high


_PM_DEFAULTS: dict[str, Any] = {
    "ImageType": ["DERIVED", "PRIMARY", "VOLUME", "NONE"],
    "ContentLabel": "MAP",
    "ContentDescription": "Parametric map",
    "ContentCreatorName": "Template^dbdicom",
    "ContentQualification": "RESEARCH",
    "LossyImageCompression": "00",
    "BurnedInAnnotation": "NO",
    "RecognizableVisualFeatures": "NO",
    "PresentationLUTShape": "IDENTITY",
    "SeriesDescription": "Parametric map",
    "SeriesNumber": 200,
}

#: Frame VOI LUT keywords that the caller may give as plain attributes.
VOI = ("WindowCenter", "WindowWidth", "VOILUTFunction")


def parametric_map(
    pixels: np.ndarray,
    positions: Sequence[Sequence[float]] | None = None,
    *,
    units: tuple[str, str, str] = ("1", "UCUM", "no units"),
    quantity: tuple[str, str, str] | None = None,
    anatomy: tuple[str, str, str] = ("12738006", "SCT", "Brain"),
    referenced_series: ReferencedSeries | None = None,
    **attributes: Any,
) -> Dataset:
    r"""Return a valid multi-frame Parametric Map Storage dataset of 32-bit floats.

    Frame ``i`` is ``pixels[i]`` in (row, column) order at ``positions[i]``,
    all in one stack ``"1"`` ordered along the slice normal (row cosines x
    column cosines), like :func:`enhanced_mr_image`.

    Parameters
    ----------
    pixels
        3-D array (frame, row, column) of real-world values, stored as
        ``float32`` in ``FloatPixelData`` (other float or integer dtypes are
        cast). NaN and infinite values are allowed and kept, e.g. for voxels
        where a fit failed; the window and the mapped range ignore them.
    positions
        One ``ImagePositionPatient`` (LPS mm, first pixel) per frame; distinct
        slices. Default: a contiguous stack ``SliceThickness`` apart centred
        on the origin, oriented by ``ImageOrientationPatient`` (axial).
    units
        Measurement units code (value, scheme, meaning) of the Real World
        Value Mapping (slope 1, intercept 0), e.g. ``("ms", "UCUM",
        "millisecond")``; default ``("1", "UCUM", "no units")``.
    quantity
        Optional code of the quantity, e.g. ``("113063", "DCM", "T1")``, put
        in the mapping's ``QuantityDefinitionSequence``.
    anatomy
        Code of the anatomic region of the Frame Anatomy macro.
    referenced_series
        Optional source images in the same study: ``{SeriesInstanceUID:
        [(SOPClassUID, SOPInstanceUID), ...]}``. They go in
        ``ReferencedSeriesSequence`` and, as source images of an "Image
        Processing" derivation, in the shared functional groups.
    **attributes
        DICOM keywords overriding the defaults. ``PixelSpacing`` (default
        1.5 mm), ``SliceThickness`` (5 mm), ``ImageOrientationPatient``,
        ``WindowCenter``, ``WindowWidth`` and ``VOILUTFunction`` go in the
        shared functional groups; the others (``Modality``, default ``"MR"``;
        ``ImageType``, default ``DERIVED\PRIMARY\VOLUME\NONE``, whose
        values also make the frame type; ``ContentLabel``...) on the dataset.

    Returns
    -------
    pydicom.dataset.Dataset
        The dataset, ready for :func:`write_dataset` (uncompressed transfer
        syntaxes only: float pixel data cannot be encapsulated).

    Raises
    ------
    ValueError
        For an unknown or template-controlled keyword, pixels that are not a
        3-D numeric array, or positions of the wrong shape or not distinct.

    Examples
    --------
    >>> import numpy as np
    >>> t1 = np.full((3, 4, 5), 1200.0, np.float32)
    >>> t1[0, 0, 0] = np.nan
    >>> ds = parametric_map(
    ...     t1,
    ...     units=("ms", "UCUM", "millisecond"),
    ...     ImageType=["DERIVED", "PRIMARY", "VOLUME", "QUANTITY"],
    ... )
    >>> ds.SOPClassUID.name, int(ds.NumberOfFrames), int(ds.BitsAllocated)
    ('Parametric Map Storage', 3, 32)
    >>> mapping = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    >>> mapping.MeasurementUnitsCodeSequence[0].CodeMeaning
    'millisecond'
    >>> back = ds.pixel_array
    >>> bool(np.isnan(back[0, 0, 0])), float(back[2, 3, 4])
    (True, 1200.0)
    """
    refused = {k: v for k, v in REFUSED_MULTIFRAME.items() if k != "Modality"}
    check_keywords(attributes, refused)
    array = _float_pixels(pixels)
    n_frames = int(array.shape[0])
    measures, orientation, frame_positions, in_stack = geometry(
        attributes, positions, (n_frames, int(array.shape[1]), int(array.shape[2]))
    )
    top = {k: v for k, v in attributes.items() if k not in VOI}
    values = multiframe_values(str(attributes.get("Modality", "MR")), _PM_DEFAULTS, top)
    values.setdefault("Modality", "MR")

    voi, low, high = _voi_and_range(array)
    set_values(voi, {k: v for k, v in attributes.items() if k in VOI})
    mapping = item(
        LUTExplanation=values["ContentDescription"] or values["ContentLabel"],
        LUTLabel=values["ContentLabel"],
        DoubleFloatRealWorldValueFirstValueMapped=low,
        DoubleFloatRealWorldValueLastValueMapped=high,
        RealWorldValueIntercept=0.0,
        RealWorldValueSlope=1.0,
        MeasurementUnitsCodeSequence=[code_item(*units)],
    )
    if quantity is not None:
        mapping.QuantityDefinitionSequence = [
            item(
                ValueType="CODE",
                ConceptNameCodeSequence=[code_item("246205007", "SCT", "Quantity")],
                ConceptCodeSequence=[code_item(*quantity)],
            )
        ]
    shared = item(
        PixelMeasuresSequence=[measures],
        PlaneOrientationSequence=[orientation],
        FrameAnatomySequence=[
            item(FrameLaterality="U", AnatomicRegionSequence=[code_item(*anatomy)])
        ],
        PixelValueTransformationSequence=[
            item(RescaleIntercept=0.0, RescaleSlope=1.0, RescaleType="US")
        ],
        FrameVOILUTSequence=[voi],
        RealWorldValueMappingSequence=[mapping],
        ParametricMapFrameTypeSequence=[item(FrameType=list(values["ImageType"]))],
    )
    derivation = references(values, referenced_series, ("110001", "DCM", "Image Processing"))
    if derivation is not None:
        shared.DerivationImageSequence = [derivation]
    frames = [
        item(
            FrameContentSequence=[
                item(StackID="1", InStackPositionNumber=n, DimensionIndexValues=[1, n])
            ],
            PlanePositionSequence=[item(ImagePositionPatient=position)],
        )
        for n, position in zip(in_stack, frame_positions, strict=True)
    ]
    content = "FrameContentSequence"
    dimensions(values, [("StackID", content), ("InStackPositionNumber", content)])
    values["AcquisitionContextSequence"] = []
    ds = multiframe_dataset(ParametricMapStorage, values, shared, frames, array.shape)
    ds.BitsAllocated = 32
    ds.add_new(0x7FE00008, "OF", array.tobytes())
    return ds
