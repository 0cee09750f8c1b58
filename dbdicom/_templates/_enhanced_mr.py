"""Multi-frame Enhanced MR Image Storage with shared and per-frame functional groups."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.uid import EnhancedMRImageStorage

from ._common import (
    FIXED_BY_TEMPLATE,
    centred_position,
    check_keywords,
    code_item,
    complete_identification,
    dicom_value,
    identification_defaults,
    new_dataset,
    new_uid,
    set_pixels,
    set_values,
    slice_normal,
    stored_pixels,
    window,
)

_TIMING = "MRTimingAndRelatedParametersSequence"
_CONTENT = "FrameContentSequence"

#: Keyword given by the caller -> (functional group sequence, attribute inside it).
_MACRO_OF: dict[str, tuple[str, str]] = {
    "PixelSpacing": ("PixelMeasuresSequence", "PixelSpacing"),
    "SliceThickness": ("PixelMeasuresSequence", "SliceThickness"),
    "SpacingBetweenSlices": ("PixelMeasuresSequence", "SpacingBetweenSlices"),
    "ImageOrientationPatient": ("PlaneOrientationSequence", "ImageOrientationPatient"),
    "RepetitionTime": (_TIMING, "RepetitionTime"),
    "FlipAngle": (_TIMING, "FlipAngle"),
    "EchoTrainLength": (_TIMING, "EchoTrainLength"),
    "RFEchoTrainLength": (_TIMING, "RFEchoTrainLength"),
    "GradientEchoTrainLength": (_TIMING, "GradientEchoTrainLength"),
    "EchoTime": ("MREchoSequence", "EffectiveEchoTime"),
    "EffectiveEchoTime": ("MREchoSequence", "EffectiveEchoTime"),
    "InversionTime": ("MRModifierSequence", "InversionTimes"),
    "InversionTimes": ("MRModifierSequence", "InversionTimes"),
    "RescaleIntercept": ("PixelValueTransformationSequence", "RescaleIntercept"),
    "RescaleSlope": ("PixelValueTransformationSequence", "RescaleSlope"),
    "RescaleType": ("PixelValueTransformationSequence", "RescaleType"),
    "WindowCenter": ("FrameVOILUTSequence", "WindowCenter"),
    "WindowWidth": ("FrameVOILUTSequence", "WindowWidth"),
    "NumberOfAverages": ("MRAveragesSequence", "NumberOfAverages"),
    "PixelBandwidth": ("MRImagingModifierSequence", "PixelBandwidth"),
    "TransmitterFrequency": ("MRImagingModifierSequence", "TransmitterFrequency"),
    "ReceiveCoilName": ("MRReceiveCoilSequence", "ReceiveCoilName"),
    "TransmitCoilName": ("MRTransmitCoilSequence", "TransmitCoilName"),
    "DiffusionBValue": ("MRDiffusionSequence", "DiffusionBValue"),
    "FrameAcquisitionDateTime": (_CONTENT, "FrameAcquisitionDateTime"),
    "FrameReferenceDateTime": (_CONTENT, "FrameReferenceDateTime"),
    "FrameAcquisitionDuration": (_CONTENT, "FrameAcquisitionDuration"),
    "FrameAcquisitionNumber": (_CONTENT, "FrameAcquisitionNumber"),
    "TemporalPositionIndex": (_CONTENT, "TemporalPositionIndex"),
    "FrameComments": (_CONTENT, "FrameComments"),
}

_REFUSED: dict[str, str] = {
    **FIXED_BY_TEMPLATE,
    "ImagePositionPatient": "pass one position per frame as positions=[(x, y, z), ...]",
    "SliceLocation": "it is not part of the Enhanced MR Image IOD; positions give the geometry",
    "AcquisitionDate": "use AcquisitionDateTime (DT, e.g. '20240115093012')",
    "AcquisitionTime": "use AcquisitionDateTime (DT, e.g. '20240115093012')",
    "SharedFunctionalGroupsSequence": "the template builds it from the attributes",
    "PerFrameFunctionalGroupsSequence": "the template builds it from per_frame and positions",
    "DimensionIndexSequence": "the template builds it from per_frame",
    "DimensionOrganizationSequence": "the template builds it",
    "StackID": "the template puts all frames in stack '1'",
    "InStackPositionNumber": "it follows from positions",
    "DimensionIndexValues": "it follows from positions and per_frame",
}

_TOP_DEFAULTS: dict[str, Any] = {
    # Enhanced MR Image module
    "ImageType": ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"],
    "PixelPresentation": "MONOCHROME",
    "VolumetricProperties": "VOLUME",
    "VolumeBasedCalculationTechnique": "NONE",
    "ComplexImageComponent": "MAGNITUDE",
    "AcquisitionContrast": "T1",
    "ContentQualification": "RESEARCH",
    "ResonantNucleus": "1H",
    "KSpaceFiltering": "NONE",
    "MagneticFieldStrength": 1.5,
    "ApplicableSafetyStandardAgency": "IEC",
    "LossyImageCompression": "00",
    "PresentationLUTShape": "IDENTITY",
    "AcquisitionNumber": 1,
    "AcquisitionDuration": 60.0,
    "BodyPartExamined": "HEAD",
    # MR Pulse Sequence module
    "PulseSequenceName": "GRE",
    "MRAcquisitionType": "2D",
    "EchoPulseSequence": "GRADIENT",
    "MultiPlanarExcitation": "NO",
    "PhaseContrast": "NO",
    "TimeOfFlightContrast": "NO",
    "SteadyStatePulseSequence": "NONE",
    "EchoPlanarPulseSequence": "NO",
    "SaturationRecovery": "NO",
    "SpectrallySelectedSuppression": "NONE",
    "OversamplingPhase": "NONE",
    "GeometryOfKSpaceTraversal": "RECTILINEAR",
    "RectilinearPhaseEncodeReordering": "LINEAR",
    "SegmentedKSpaceTraversal": "SINGLE",
    "NumberOfKSpaceTrajectories": 1,
}


def _item(**values: Any) -> Dataset:
    item = Dataset()
    set_values(item, values)
    return item


def _default_macros(values: Mapping[str, Any], array: np.ndarray) -> dict[str, Dataset]:
    """The functional group macros (sequence keyword -> item) before overrides."""
    center, width = window(array)
    frame_type = list(values["ImageType"])
    return {
        "PixelMeasuresSequence": _item(PixelSpacing=[1.5, 1.5], SliceThickness=5.0),
        "PlaneOrientationSequence": _item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0]),
        "FrameAnatomySequence": _item(
            FrameLaterality="U",
            AnatomicRegionSequence=[code_item("12738006", "SCT", "Brain")],
        ),
        "PixelValueTransformationSequence": _item(
            RescaleIntercept=0.0, RescaleSlope=1.0, RescaleType="US"
        ),
        "FrameVOILUTSequence": _item(WindowCenter=center, WindowWidth=width),
        "MRImageFrameTypeSequence": _item(
            FrameType=frame_type,
            PixelPresentation=values["PixelPresentation"],
            VolumetricProperties=values["VolumetricProperties"],
            VolumeBasedCalculationTechnique=values["VolumeBasedCalculationTechnique"],
            ComplexImageComponent=values["ComplexImageComponent"],
            AcquisitionContrast=values["AcquisitionContrast"],
        ),
        _TIMING: _item(
            RepetitionTime=5.0,
            FlipAngle=15.0,
            EchoTrainLength=1,
            RFEchoTrainLength=0,
            GradientEchoTrainLength=1,
            SpecificAbsorptionRateSequence=[
                _item(
                    SpecificAbsorptionRateDefinition="IEC_WHOLE_BODY",
                    SpecificAbsorptionRateValue=0.2,
                )
            ],
            GradientOutputType="DB_DT",
            GradientOutput=10.0,
            OperatingModeSequence=[
                _item(OperatingModeType=kind, OperatingMode="IEC_NORMAL")
                for kind in ("STATIC FIELD", "RF", "GRADIENT")
            ],
        ),
        "MRFOVGeometrySequence": _item(
            InPlanePhaseEncodingDirection="ROW",
            MRAcquisitionFrequencyEncodingSteps=int(array.shape[-1]),
            MRAcquisitionPhaseEncodingStepsInPlane=int(array.shape[-2]),
            PercentSampling=100.0,
            PercentPhaseFieldOfView=100.0,
        ),
        "MREchoSequence": _item(EffectiveEchoTime=2.0),
        "MRModifierSequence": _item(
            InversionRecovery="NO",
            FlowCompensation="NONE",
            Spoiling="RF_AND_GRADIENT",
            T2Preparation="NO",
            SpectrallySelectedExcitation="NONE",
            SpatialPresaturation="NONE",
            PartialFourier="NO",
            ParallelAcquisition="NO",
        ),
        "MRImagingModifierSequence": _item(
            MagnetizationTransfer="NONE",
            BloodSignalNulling="NO",
            Tagging="NONE",
            TransmitterFrequency=63.87,
            PixelBandwidth=260.0,
        ),
        "MRReceiveCoilSequence": _item(
            ReceiveCoilName="Head 8ch",
            ReceiveCoilManufacturerName="dbdicom",
            ReceiveCoilType="MULTICOIL",
            QuadratureReceiveCoil="NO",
            MultiCoilDefinitionSequence=[
                _item(MultiCoilElementName="H1", MultiCoilElementUsed="YES")
            ],
        ),
        "MRTransmitCoilSequence": _item(
            TransmitCoilName="Body",
            TransmitCoilManufacturerName="dbdicom",
            TransmitCoilType="BODY",
        ),
        "MRAveragesSequence": _item(NumberOfAverages=1.0),
        "MRDiffusionSequence": _item(DiffusionBValue=0.0, DiffusionDirectionality="NONE"),
    }


def _consistent(sequence: str, item: Dataset) -> None:
    """Keep the flags of a macro consistent with its values."""
    if sequence == "MRModifierSequence":
        has_inversion = "InversionTimes" in item and item.InversionTimes not in (None, "", [])
        item.InversionRecovery = "YES" if has_inversion else "NO"
        if not has_inversion and "InversionTimes" in item:
            del item.InversionTimes
    if sequence == "MRDiffusionSequence":
        b_value = float(item.DiffusionBValue or 0)
        item.DiffusionDirectionality = "ISOTROPIC" if b_value > 0 else "NONE"


def _inner_value(inner: str, value: Any) -> Any:
    if inner == "InversionTimes" and np.ndim(value) == 0:
        value = [value]
    return dicom_value(inner, value)


def _check_per_frame(
    per_frame: Mapping[str, Sequence[Any]], n_frames: int
) -> dict[str, tuple[str, str]]:
    check_keywords(per_frame, _REFUSED)
    targets: dict[str, tuple[str, str]] = {}
    for keyword, values in per_frame.items():
        if keyword not in _MACRO_OF:
            raise ValueError(
                f"per_frame keyword {keyword!r} has no functional group here; "
                f"use one of {sorted(_MACRO_OF)}"
            )
        if len(values) != n_frames:
            raise ValueError(
                f"per_frame[{keyword!r}] has {len(values)} values for {n_frames} frames"
            )
        target = _MACRO_OF[keyword]
        if target in targets.values():
            raise ValueError(f"per_frame sets {target[1]!r} twice (via {keyword!r})")
        targets[keyword] = target
    return targets


def _frame_positions(
    positions: Sequence[Sequence[float]] | None,
    n_frames: int,
    shape: tuple[int, int],
    measures: Dataset,
    orientation: Any,
) -> np.ndarray:
    if positions is None:
        thickness = float(measures.SliceThickness)
        offsets = (np.arange(n_frames) - (n_frames - 1) / 2) * thickness
        return np.array(
            [centred_position(shape, measures.PixelSpacing, orientation, o) for o in offsets]
        )
    array = np.asarray(positions, dtype=float)
    if array.shape != (n_frames, 3):
        raise ValueError(
            f"positions must hold one (x, y, z) per frame, shape ({n_frames}, 3); "
            f"got shape {array.shape}"
        )
    return array


def _rank(values: Sequence[Any]) -> list[int]:
    """1-based rank of each value among the distinct values (sorted)."""
    keys = [tuple(v) if isinstance(v, (list, tuple)) else v for v in values]
    order = sorted(set(keys))
    return [order.index(k) + 1 for k in keys]


def _macros(
    values: Mapping[str, Any], array: np.ndarray, attributes: Mapping[str, Any]
) -> dict[str, Dataset]:
    """The functional group macros (sequence keyword -> item), with the ``attributes`` they hold.

    A keyword of the frame content macro is refused: it is per-frame.
    """
    macros = _default_macros(values, array)
    for keyword, value in attributes.items():
        if keyword in _MACRO_OF:
            sequence, inner = _MACRO_OF[keyword]
            if sequence == _CONTENT:
                raise ValueError(f"{keyword!r} is a per-frame attribute: pass it in per_frame")
            setattr(macros[sequence], inner, _inner_value(inner, value))
    return macros


def _dimensions(
    in_stack: list[int],
    per_frame: Mapping[str, Sequence[Any]],
    targets: Mapping[str, tuple[str, str]],
) -> list[tuple[str, str, list[int]]]:
    """The dimensions as ``(attribute, sequence, index of each frame)``.

    They are the stack, the position in the stack (``in_stack``), then every
    scalar ``per_frame`` value with more than one distinct value, in the
    given order.
    """
    dimensions: list[tuple[str, str, list[int]]] = [
        ("StackID", _CONTENT, [1] * len(in_stack)),
        ("InStackPositionNumber", _CONTENT, in_stack),
    ]
    for keyword, (sequence, inner) in targets.items():
        frame_values = list(per_frame[keyword])
        scalar = all(np.ndim(v) == 0 for v in frame_values)
        if scalar and len(set(frame_values)) > 1 and inner != "ImageOrientationPatient":
            dimensions.append((inner, sequence, _rank(frame_values)))
    return dimensions


def enhanced_mr_image(
    pixels: np.ndarray,
    positions: Sequence[Sequence[float]] | None = None,
    per_frame: Mapping[str, Sequence[Any]] | None = None,
    **attributes: Any,
) -> Dataset:
    """Return a valid multi-frame Enhanced MR Image Storage dataset.

    Geometry convention: frame ``i`` is ``pixels[i]`` in (row, column) order;
    ``positions[i]`` is the LPS position (mm) of its first pixel; the normal
    of ``ImageOrientationPatient`` (row cosines x column cosines) orders the
    frames within the single stack ``"1"``: ``InStackPositionNumber`` 1 is
    the lowest projection on the normal.

    Parameters
    ----------
    pixels
        3-D integer array (frame, row, column), stored as ``uint16`` or
        ``int16`` like :func:`mr_image`.
    positions
        One ``ImagePositionPatient`` per frame. Default: a contiguous stack
        of ``SliceThickness`` spacing centred on the origin.
    per_frame
        Keyword -> one value per frame, put in the per-frame functional group
        macro that holds it: ``EchoTime`` (MR Echo, ``EffectiveEchoTime``),
        ``FlipAngle`` and ``RepetitionTime`` (MR Timing and Related
        Parameters), ``InversionTime`` (MR Modifier), ``DiffusionBValue``,
        ``FrameAcquisitionDateTime``, ``TemporalPositionIndex``... A macro
        with any per-frame value moves whole to the per-frame groups. Each
        scalar keyword with more than one distinct value becomes a dimension
        after ``StackID`` and ``InStackPositionNumber``, in the given order.
    **attributes
        DICOM keywords overriding the defaults. Keywords that live in a
        functional group (``PixelSpacing``, ``SliceThickness``,
        ``ImageOrientationPatient``, ``RepetitionTime``, ``FlipAngle``,
        ``EchoTime``, ``InversionTime``, ``RescaleSlope``, ``WindowCenter``...)
        go into the shared group; the others are set on the dataset.

    Returns
    -------
    pydicom.dataset.Dataset
        The dataset, ready for :func:`write_dataset`.

    Raises
    ------
    ValueError
        For an unknown keyword (the message names it), a keyword that the
        template sets itself (``ImagePositionPatient``, ``SliceLocation``...),
        per-frame lists of the wrong length, or invalid pixels.

    Examples
    --------
    >>> import numpy as np
    >>> pixels = np.zeros((4, 8, 8), np.uint16)
    >>> ds = enhanced_mr_image(
    ...     pixels,
    ...     positions=[(0, 0, 0), (0, 0, 5), (0, 0, 0), (0, 0, 5)],
    ...     per_frame={"EchoTime": [5, 5, 10, 10]},
    ...     SeriesDescription="multi-echo",
    ... )
    >>> int(ds.NumberOfFrames), ds.SOPClassUID.name
    (4, 'Enhanced MR Image Storage')
    >>> frame = ds.PerFrameFunctionalGroupsSequence[2]
    >>> float(frame.MREchoSequence[0].EffectiveEchoTime)
    10.0
    >>> list(frame.FrameContentSequence[0].DimensionIndexValues)
    [1, 1, 2]
    """
    per_frame = dict(per_frame or {})
    check_keywords(attributes, _REFUSED)
    array = stored_pixels(pixels, ndim=3)
    n_frames = int(array.shape[0])
    targets = _check_per_frame(per_frame, n_frames)

    top = {k: v for k, v in attributes.items() if k not in _MACRO_OF}
    values = {**identification_defaults("MR"), **_TOP_DEFAULTS, **top}
    values["Modality"] = "MR"
    complete_identification(values)
    for keyword in ("AcquisitionDate", "AcquisitionTime"):
        del values[keyword]
    values.setdefault("AcquisitionDateTime", values["StudyDate"] + values["StudyTime"])

    macros = _macros(values, array, attributes)

    orientation = [float(x) for x in macros["PlaneOrientationSequence"][0x00200037].value]
    frame_positions = _frame_positions(
        positions,
        n_frames,
        (int(array.shape[1]), int(array.shape[2])),
        macros["PixelMeasuresSequence"],
        orientation,
    )
    heights = [round(float(np.dot(p, slice_normal(orientation))), 3) for p in frame_positions]
    in_stack = _rank(heights)
    dimensions = _dimensions(in_stack, per_frame, targets)

    per_frame_sequences = {sequence for sequence, _ in targets.values()} - {_CONTENT}
    shared = Dataset()
    for sequence, item in macros.items():
        if sequence not in per_frame_sequences:
            _consistent(sequence, item)
            setattr(shared, sequence, [item])
    shared.MRSpatialSaturationSequence = []  # type 2: no saturation slabs

    frames = []
    for index in range(n_frames):
        frame = Dataset()
        content = _item(
            FrameAcquisitionNumber=1,
            FrameReferenceDateTime=values["AcquisitionDateTime"],
            FrameAcquisitionDateTime=values["AcquisitionDateTime"],
            FrameAcquisitionDuration=float(values["AcquisitionDuration"]) * 1000 / n_frames,
            StackID="1",
            InStackPositionNumber=in_stack[index],
            DimensionIndexValues=[d[2][index] for d in dimensions],
        )
        frame.FrameContentSequence = [content]
        frame.PlanePositionSequence = [_item(ImagePositionPatient=frame_positions[index])]
        for sequence in sorted(per_frame_sequences):
            setattr(frame, sequence, [copy.deepcopy(macros[sequence])])
        for keyword, (sequence, inner) in targets.items():
            target = getattr(frame, sequence)[0]
            setattr(target, inner, _inner_value(inner, per_frame[keyword][index]))
        for sequence in per_frame_sequences:
            _consistent(sequence, getattr(frame, sequence)[0])
        frames.append(frame)

    organization = new_uid()
    values["DimensionOrganizationSequence"] = [_item(DimensionOrganizationUID=organization)]
    values["DimensionIndexSequence"] = [
        _item(
            DimensionOrganizationUID=organization,
            DimensionIndexPointer=tag_for_keyword(inner),
            FunctionalGroupPointer=tag_for_keyword(sequence),
            DimensionDescriptionLabel=inner,
        )
        for inner, sequence, _ in dimensions
    ]
    values["AcquisitionContextSequence"] = []
    values["SharedFunctionalGroupsSequence"] = [shared]
    values["PerFrameFunctionalGroupsSequence"] = frames
    values["NumberOfFrames"] = n_frames
    ds = new_dataset(EnhancedMRImageStorage, values)
    set_pixels(ds, array)
    return ds
