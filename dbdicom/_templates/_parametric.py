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


#: units as xarray code writes them (CF / udunits spellings and UCUM's own codes),
#: lower case (none two units' spellings in another case: "mM" is not here), to
#: their UCUM code and meaning: what a Parametric Map's Real World Value Mapping
#: can say truthfully
_UCUM: dict[str, tuple[str, str]] = {}
for _code, _meaning, _spellings in (
    ("ms", "millisecond", ("ms", "msec", "millisecond", "milliseconds")),
    ("s", "second", ("s", "sec", "second", "seconds")),
    ("min", "minute", ("min", "minute", "minutes")),
    ("/s", "per second", ("/s", "1/s", "s-1", "s^-1", "per second")),
    ("/ms", "per millisecond", ("/ms", "1/ms", "ms-1", "ms^-1")),
    ("mm2/s", "square millimeter per second", ("mm2/s", "mm^2/s", "mm2 s-1", "mm^2 s^-1")),
    ("um2/ms", "square micrometer per millisecond", ("um2/ms", "um^2/ms", "um2 ms-1")),
    ("mm", "millimeter", ("mm", "millimeter", "millimeters", "millimetre", "millimetres")),
    ("cm", "centimeter", ("cm", "centimeter", "centimeters", "centimetre", "centimetres")),
    ("%", "percent", ("%", "percent")),
    ("deg", "degree", ("deg", "degree", "degrees")),
    ("rad", "radian", ("rad", "radian", "radians")),
    ("Hz", "hertz", ("hz", "hertz")),
    ("[ppm]", "parts per million", ("ppm", "[ppm]")),
    ("[hnsf'U]", "Hounsfield unit", ("hu", "[hnsf'u]", "hounsfield unit")),
    ("mmol/L", "millimole per liter", ("mmol/l", "mmol l-1")),
    ("mL/(100.g)/min", "milliliter per 100 gram per minute", ("ml/100g/min", "ml/(100.g)/min")),
    ("1", "no units", ("1", "", "dimensionless", "unitless")),
):
    for _spelling in _spellings:
        _UCUM.setdefault(_spelling, (_code, _meaning))


def ucum_units(text: Any) -> tuple[str, str, str] | None:
    """The UCUM code of units written as ``text`` (``"ms"``, ``"seconds"``, ``"mm^2/s"``).

    ``(code value, "UCUM", meaning)``, for ``parametric_map(units=...)``;
    None where ``text`` is no units dbdicom knows the UCUM code of.

    Examples
    --------
    >>> ucum_units("ms"), ucum_units("Seconds"), ucum_units("mm^2/s")[0]
    (('ms', 'UCUM', 'millisecond'), ('s', 'UCUM', 'second'), 'mm2/s')
    >>> ucum_units("a.u.") is None, ucum_units(5) is None
    (True, True)
    """
    if not isinstance(text, str):
        return None
    found = _UCUM.get(text.strip().lower())
    return None if found is None else (found[0], "UCUM", found[1])


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
