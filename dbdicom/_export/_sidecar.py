"""The JSON sidecar of a NIfTI file: the keys, units and rules of dcm2niix's BIDS sidecars.

A sidecar says what a BIDS tool needs to know about the acquisition. Its
keys are BIDS's (and dcm2niix's, the converter every BIDS tool is tried
with), in its units: times in **seconds** where DICOM keeps milliseconds
(``EchoTime``, ``RepetitionTime``, ``InversionTime``, ``ExposureTime``),
``AcquisitionTime`` as ``HH:MM:SS.ffffff``, multi-valued strings joined by
a backslash. Each key is written when the tags it is made of are in the
header, by the rule :data:`RULES` gives it (the rules of dcm2niix
v1.0.20260724, found by running it on the test files; vendor-private
headers, which dcm2niix also reads, are not read here).

Identifiers (names, IDs, UIDs, birth date, the date of the acquisition)
are left out unless asked for (``identifiers=True``), as dcm2niix does by
default (``-ba y``).

Values that change along the fourth axis of the file (one per volume: the
flip angles of a VFA series, the echo times of a multi-echo one) are lists
under their key, in the same units (see :mod:`._sidecar_volumes`).

Examples
--------
>>> header = {"Modality": "MR", "EchoTime": 2.1, "RepetitionTime": 4.43,
...           "ScanningSequence": "GR", "SequenceVariant": ["SK", "SP"],
...           "PatientID": "P-001", "Rows": 64, "Columns": 64}
>>> sidecar = sidecar_values(header)
>>> sidecar["EchoTime"], sidecar["RepetitionTime"], sidecar["PulseSequenceType"]
(0.0021, 0.00443, 'Spoiled Gradient Echo')
>>> "PatientID" in sidecar, sidecar_values(header, identifiers=True)["PatientID"]
(False, 'P-001')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = [
    "RULES",
    "day_seconds",
    "iso_time",
    "sidecar_values",
    "slice_timing",
]

#: A header's values by keyword (see :func:`._header.header_values`).
Header = Mapping[str, Any]
Rule = Callable[[Header], Any]


# ------------------------------------------------------------------ the rules


def _first(header: Header, *keywords: str) -> Any:
    for keyword in keywords:
        value = header.get(keyword)
        if value not in (None, "", []):
            return value
    return None


def _text(*keywords: str) -> Rule:
    """The first of ``keywords`` present, as text (several values joined by a backslash)."""

    def rule(header: Header) -> str | None:
        value = _first(header, *keywords)
        if isinstance(value, list):
            value = "\\".join(str(v) for v in value)
        return None if value is None else str(value).strip() or None

    return rule


def _number(*keywords: str, scale: float = 1.0, minimum: float = 0.0) -> Rule:
    """The first of ``keywords`` present, times ``scale``, if above ``minimum``."""

    def rule(header: Header) -> float | int | None:
        value = _first(header, *keywords)
        if isinstance(value, list):
            value = value[0] if value else None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not number > minimum:
            return None
        return _tidy(number * scale)

    return rule


def _tidy(number: float) -> float | int:
    """``number`` as JSON shows it: an integer when it is one; no 0.1 * 3 noise."""
    rounded = float(f"{number:.12g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def _values(header: Header, keyword: str) -> list[str]:
    value = header.get(keyword)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _xray(header: Header) -> bool:
    """An X-ray exposure without an echo time: dcm2niix then writes no slice spacing."""
    return header.get("Exposure") is not None and not _first(
        header, "EchoTime", "EffectiveEchoTime"
    )


_VENDORS = {
    "SI": "Siemens",
    "CP": "Siemens",
    "GE": "GE",
    "HI": "Hitachi",
    "ME": "Mediso",
    "PH": "Philips",
    "TO": "Toshiba",
    "CA": "Canon",
    "UI": "UIH",
    "BR": "Bruker",
    "MR": "MRSolutions",
    "HY": "Hyperfine",
}


def _manufacturer(header: Header) -> str | None:
    """The vendor's name as BIDS tools know it, from the first letters of (0008,0070)."""
    name = str(header.get("Manufacturer") or "")
    return _VENDORS.get(name[:2].upper())


def _modality(header: Header) -> str | None:
    modality = header.get("Modality")
    return None if not modality or str(modality).startswith("RT") else str(modality)


def _pulse_sequence_type(header: Header) -> str | None:
    """A name for (0018,0020) ScanningSequence and (0018,0021) SequenceVariant."""
    sequence = set(_values(header, "ScanningSequence"))
    if "EP" in sequence:
        return "Spin Echo EPI" if "SE" in sequence else "Gradient Echo EPI"
    if "SE" in sequence:
        return "Inversion Recovery Spin Echo" if "IR" in sequence else "Spin Echo"
    if "GR" in sequence:
        variant = _values(header, "SequenceVariant")
        if "IR" in sequence and "MP" in variant:  # magnetization-prepared, inverted
            return "MPRAGE"
        return "Spoiled Gradient Echo" if "SP" in variant else "Gradient Echo"
    return None


_COMPONENTS = {"M": "MAGNITUDE", "P": "PHASE"}
#: ImageType's real and imaginary parts, spelled out for Siemens files only (as dcm2niix)
_SIEMENS_COMPONENTS = {"R": "REAL", "I": "IMAGINARY"}


def _image_type(header: Header) -> list[str] | None:
    r"""ImageType's values, with the complex component spelled out as dcm2niix adds it.

    As dcm2niix: values are also split at ``_``, empty ones left out; ``M``
    and ``P`` spelled out as ``MAGNITUDE`` and ``PHASE``, and in Siemens
    files ``R`` and ``I`` as ``REAL`` and ``IMAGINARY``, where they are
    neither the first nor the last value (dcm2niix looks for ``_M_`` in the
    values joined by ``_``: ``ORIGINAL\PRIMARY\M`` is no magnitude to it);
    and an enhanced file's (0008,9208) ComplexImageComponent appended,
    except for a Philips file of several echoes.
    """
    values = [part for v in _values(header, "ImageType") for part in v.split("_") if part]
    if not values:
        return None
    components = _COMPONENTS
    if _manufacturer(header) == "Siemens":
        components = {**_COMPONENTS, **_SIEMENS_COMPONENTS}
    extra = [components[v] for v in values[1:-1] if v in components]
    component = header.get("ComplexImageComponent")
    philips_echoes = _manufacturer(header) == "Philips" and header.get("_echoes", 1) > 1
    if component in ("MAGNITUDE", "PHASE") and not philips_echoes:
        extra.append(str(component))
    return values + [e for e in dict.fromkeys(extra) if e not in values]


def _gradient_correction(header: Header) -> bool | None:
    """DIS2D or DIS3D among ImageType's values (split at ``_``, as dcm2niix): corrected; ND not."""
    values = [part for v in _values(header, "ImageType") for part in v.split("_")]
    if any("DIS2D" in v or "DIS3D" in v for v in values):
        return True
    return False if any(v.startswith("ND") for v in values) else None


def _raw_image(header: Header) -> bool | None:
    derived = _values(header, "ImageType")[:1] == ["DERIVED"] or header.get("Modality") == "SEG"
    return False if derived else None


def _acquisition_time(header: Header) -> str | None:
    """``HH:MM:SS.ffffff`` of the acquisition (dcm2niix: only with its date too)."""
    moment = _acquisition_moment(header)
    return None if moment is None else moment[1]


def _acquisition_datetime(header: Header) -> str | None:
    moment = _acquisition_moment(header)
    return None if moment is None else f"{moment[0]}T{moment[1]}"


def _acquisition_moment(header: Header) -> tuple[str, str] | None:
    both = header.get("AcquisitionDateTime") or header.get("FrameAcquisitionDateTime")
    date, time = header.get("AcquisitionDate"), header.get("AcquisitionTime")
    if date and time:
        both = f"{date}{time}"
    if not both or len(str(both)) < 10:
        return None
    text = str(both).split("+")[0].split("-")[0]
    day, clock = text[:8], iso_time(text[8:])
    if clock is None or not day.isdigit():
        return None
    return f"{day[:4]}-{day[4:6]}-{day[6:8]}", clock


def iso_time(value: Any) -> str | None:
    """A time of day as ``HH:MM:SS.ffffff``: from DICOM's ``HHMMSS.ffffff`` or seconds.

    >>> iso_time("083000"), iso_time("120804.06"), iso_time(37810.5), iso_time("x")
    ('08:30:00.000000', '12:08:04.060000', '10:30:10.500000', None)
    >>> iso_time(86410.0)  # seconds from the midnight of an earlier day
    '00:00:10.000000'
    """
    if isinstance(value, int | float):
        hours, rest = divmod(float(value) % 86400, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{int(hours):02d}:{int(minutes):02d}:{seconds:09.6f}"
    text = str(value).strip()
    digits, _, fraction = text.partition(".")
    if not digits.isdigit() or not (fraction.isdigit() or not fraction) or len(digits) < 2:
        return None
    digits = digits.ljust(6, "0")
    seconds = float(f"{digits[4:6]}.{fraction or '0'}")
    return f"{digits[:2]}:{digits[2:4]}:{seconds:09.6f}"


def day_seconds(value: str) -> float:
    """``HH:MM:SS.ffffff`` as seconds since midnight (as dbdicom's time coordinates).

    >>> day_seconds("10:30:10.500000")
    37810.5
    """
    hours, minutes, seconds = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _birth_date(header: Header) -> str | None:
    date = str(header.get("PatientBirthDate") or "")
    return f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 and date.isdigit() else None


def _sex(header: Header) -> str | None:
    sex = str(header.get("PatientSex") or "").strip()
    return sex[0] if sex else None


def _age(header: Header) -> int | None:
    """PatientAge in years (BIDS's unit), from ``nnnY``; other units are left out."""
    age = str(header.get("PatientAge") or "")
    return int(age[:-1]) if len(age) > 1 and age.endswith("Y") and age[:-1].isdigit() else None


def _echo_number(header: Header) -> int | None:
    """EchoNumber, written when the echo is not the first or the series has several volumes.

    As dcm2niix: not for the volumes of a time series (``_in_time``).
    """
    number = _number("EchoNumbers")(header)
    if number is None:
        return None
    several = header.get("_volumes", 1) > 1 and not header.get("_in_time")
    return int(number) if number > 1 or several else None


def _mt_state(header: Header) -> bool | None:
    """(0018,9020) MagnetizationTransfer: ``ON_RESONANCE`` and ``OFF_RESONANCE`` are MT."""
    value = header.get("MagnetizationTransfer")
    return None if value is None else value != "NONE"


_SPOILING = {"RF": "RF", "GRADIENT": "GRADIENT", "RF_AND_GRADIENT": "COMBINED"}


def _spoiling_state(header: Header) -> bool | None:
    """(0018,9016) Spoiling: RF, GRADIENT or both spoil, NONE not; else SequenceVariant SP."""
    spoiling = header.get("Spoiling")
    if spoiling in _SPOILING or (spoiling is None and "SP" in _values(header, "SequenceVariant")):
        return True
    return False if spoiling == "NONE" else None


def _protocol_name(header: Header) -> str | None:
    """ProtocolName, else SeriesDescription, else (not for Siemens) SequenceName."""
    for keyword in ("ProtocolName", "SeriesDescription", "SequenceName"):
        text = _text(keyword)(header)
        if text and (len(text) > 1 or keyword == "ProtocolName"):
            if keyword != "SequenceName" or _manufacturer(header) != "Siemens":
                return text
    return None


def _in_plane(header: Header) -> str | None:
    direction = str(header.get("InPlanePhaseEncodingDirection") or "")
    return {"ROW": "ROW", "COL": "COL"}.get(direction[:3])


def _two_d(header: Header) -> bool:
    return header.get("MRAcquisitionType") != "3D"


def _phase_encoding_axis(header: Header) -> str | None:
    """``i`` (along a row) or ``j`` (along a column) of the NIfTI grid.

    Written for 2-D acquisitions, and for 3-D ones with an echo train that
    are no spin echo (3-D EPI, a turbo field echo, multi-echo GRE), as
    dcm2niix does: not for a 3-D MP-RAGE of one echo or a 3-D SPACE (spin
    echo, long train). Its sign (``PhaseEncodingDirection``) needs the
    polarity, which only vendors' private headers hold.
    """
    train = _number("EchoTrainLength")(header)
    echo_train = train is not None and train > 1 and "SE" not in _values(header, "ScanningSequence")
    if not _two_d(header) and not echo_train:
        return None
    return {"ROW": "i", "COL": "j"}.get(_in_plane(header) or "")


def _phase_lines(header: Header) -> int | None:
    """The phase-encoding lines of (0018,1310) AcquisitionMatrix."""
    matrix = header.get("AcquisitionMatrix")
    if not isinstance(matrix, list) or len(matrix) != 4:
        return None
    return int(matrix[2]) if matrix[2] else (int(matrix[3]) if matrix[3] else None)


def _mr(rule: Rule) -> Rule:
    return lambda header: rule(header) if header.get("Modality") == "MR" else None


def _recon_matrix_pe(header: Header) -> int | None:
    """The reconstructed matrix along the phase-encoding axis (rows or columns)."""
    rows, columns = header.get("Rows"), header.get("Columns")
    if rows and columns:
        if rows == columns or _in_plane(header) == "COL":
            return int(rows)
        if _in_plane(header) == "ROW":
            return int(columns)
    return _phase_lines(header)


def _partial_fourier(header: Header) -> float | None:
    """Siemens 2-D files without a CSA header: echo train length over phase lines."""
    if _manufacturer(header) != "Siemens" or header.get("_csa") or not _two_d(header):
        return None
    lines = _phase_lines(header) or _number("NumberOfPhaseEncodingSteps")(header)
    train = _number("EchoTrainLength")(header)
    if not lines or not train or not lines > train > 1:
        return None
    return _tidy(train / lines)


def _orientation(header: Header) -> list[float] | None:
    values = header.get("ImageOrientationPatient")
    if not isinstance(values, list) or len(values) != 6 or not any(values):
        return None
    return [_tidy(float(f"{float(v):.6g}")) for v in values]


def _not_xray(rule: Rule) -> Rule:
    return lambda header: None if _xray(header) else rule(header)


def _coil(header: Header) -> str | None:
    return None if header.get("_csa") else _text("ReceiveCoilName")(header)


def _software_version() -> str:
    try:
        return version("dbdicom")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


#: BIDS key -> the rule that makes its value from a header (None: not written),
#: in dcm2niix's order. Times in seconds.
RULES: dict[str, Rule] = {
    "Modality": _modality,
    "MagneticFieldStrength": _number("MagneticFieldStrength"),
    "ImagingFrequency": lambda h: (
        None
        if (f := _number("ImagingFrequency", "TransmitterFrequency")(h)) is None or f >= 9e6
        else f
    ),
    "Manufacturer": _manufacturer,
    "ManufacturersModelName": _text("ManufacturerModelName"),
    "InstitutionName": _text("InstitutionName"),
    "InstitutionalDepartmentName": _text("InstitutionalDepartmentName"),
    "InstitutionAddress": _text("InstitutionAddress"),
    "DeviceSerialNumber": _text("DeviceSerialNumber"),
    "StationName": _text("StationName"),
    "BodyPart": _text("BodyPartExamined"),
    "PatientPosition": _text("PatientPosition"),
    "ProcedureStepDescription": _text("PerformedProcedureStepDescription"),
    "SoftwareVersions": _text("SoftwareVersions"),
    "MRAcquisitionType": lambda h: (
        h.get("MRAcquisitionType") if h.get("MRAcquisitionType") in ("2D", "3D") else None
    ),
    "StudyDescription": _text("StudyDescription"),
    "SeriesDescription": _text("SeriesDescription"),
    "ProtocolName": _protocol_name,
    "ScanningSequence": _text("ScanningSequence"),
    "SequenceVariant": _text("SequenceVariant"),
    "PulseSequenceType": _pulse_sequence_type,
    "ScanOptions": _text("ScanOptions"),
    "SequenceName": _text("SequenceName", "PulseSequenceName"),
    "ImageType": _image_type,
    "NonlinearGradientCorrection": _gradient_correction,
    "RawImage": _raw_image,
    "DeidentificationMethod": lambda h: _values(h, "DeidentificationMethod") or None,
    "SeriesNumber": lambda h: None if (n := _number("SeriesNumber")(h)) is None else int(n),
    "AcquisitionTime": _acquisition_time,
    "AcquisitionNumber": lambda h: (
        None if (n := _number("AcquisitionNumber")(h)) is None else int(n)
    ),
    "ImageComments": _text("ImageComments"),
    "ConvolutionKernel": _text("ConvolutionKernel"),
    "ExposureTime": _number("ExposureTime", scale=1e-3),
    "XRayTubeCurrent": _number("XRayTubeCurrent"),
    "XRayExposure": lambda h: _number("Exposure")(h) if _xray(h) else None,
    "SliceThickness": _not_xray(_number("SliceThickness")),
    "SpacingBetweenSlices": _not_xray(_number("SpacingBetweenSlices")),
    "SAR": _number("SAR"),
    "NumberOfAverages": _number("NumberOfAverages", minimum=1.0),
    "EchoNumber": _echo_number,
    "EchoTime": _not_xray(_number("EchoTime", "EffectiveEchoTime", scale=1e-3)),
    "RepetitionTime": _number("RepetitionTime", scale=1e-3),
    "MTState": _mt_state,
    "SpoilingState": _spoiling_state,
    "SpoilingType": lambda h: _SPOILING.get(str(h.get("Spoiling"))),
    "InversionTime": _number("InversionTime", "InversionTimes", scale=1e-3),
    "FlipAngle": _number("FlipAngle"),
    "VariableFlipAngleFlag": lambda h: True if h.get("VariableFlipAngleFlag") == "Y" else None,
    "CoilString": _coil,
    "PartialFourier": _partial_fourier,
    "PercentPhaseFOV": _number("PercentPhaseFieldOfView"),
    "PercentSampling": _number("PercentSampling"),
    "EchoTrainLength": _number("EchoTrainLength", minimum=1.0),
    "PhaseEncodingSteps": _number(
        "NumberOfPhaseEncodingSteps", "MRAcquisitionPhaseEncodingStepsInPlane"
    ),
    "FrequencyEncodingSteps": _number("MRAcquisitionFrequencyEncodingSteps"),
    "PhaseEncodingStepsOutOfPlane": _number("MRAcquisitionPhaseEncodingStepsOutOfPlane"),
    "AcquisitionMatrixPE": _mr(_phase_lines),
    "ReconMatrixPE": _mr(_recon_matrix_pe),
    "ParallelReductionFactorInPlane": _number("ParallelReductionFactorInPlane"),
    "ParallelAcquisitionTechnique": _text("ParallelAcquisitionTechnique"),
    "ParallelReductionFactorOutOfPlane": _number("ParallelReductionFactorOutOfPlane"),
    "AcquisitionDuration": _number("AcquisitionDuration"),
    "NumberOfKSpaceTrajectories": _number("NumberOfKSpaceTrajectories"),
    "PixelBandwidth": _number("PixelBandwidth"),
    "PhaseEncodingAxis": _phase_encoding_axis,
    "ImageOrientationPatientDICOM": _orientation,
    "InPlanePhaseEncodingDirectionDICOM": _in_plane,
    "ConversionSoftware": lambda h: "dbdicom",
    "ConversionSoftwareVersion": lambda h: _software_version(),
}

#: Keys written only with ``identifiers=True`` (dcm2niix ``-ba n``): they name
#: the patient or can be linked to them.
IDENTIFIERS: dict[str, Rule] = {
    "SeriesInstanceUID": _text("SeriesInstanceUID"),
    "StudyInstanceUID": _text("StudyInstanceUID"),
    "StudyID": _text("StudyID"),
    "ReferringPhysicianName": _text("ReferringPhysicianName"),
    "PatientName": _text("PatientName"),
    "PatientID": _text("PatientID"),
    "AccessionNumber": _text("AccessionNumber"),
    "PatientBirthDate": _birth_date,
    "PatientSex": _sex,
    "PatientSize": _number("PatientSize"),
    "PatientWeight": _number("PatientWeight"),
    "PatientAge": _age,
    "AcquisitionDateTime": _acquisition_datetime,
}


def sidecar_values(header: Header, identifiers: bool = False) -> dict[str, Any]:
    """The sidecar of a file whose first image has ``header`` (see :func:`header_values`).

    ``identifiers``: also the keys of :data:`IDENTIFIERS`, inserted where
    dcm2niix puts them.
    """
    out: dict[str, Any] = {}
    for key, rule in RULES.items():
        if key == "BodyPart" and identifiers:
            out.update(_apply(IDENTIFIERS, header))
        value = rule(header)
        if value is not None:
            out[key] = value
    return out


def _apply(rules: Mapping[str, Rule], header: Header) -> dict[str, Any]:
    return {key: value for key, rule in rules.items() if (value := rule(header)) is not None}


def slice_timing(header: Header, times: list[float] | None) -> dict[str, Any]:
    """``SliceTiming`` (s) of a Siemens 2-D MR series, from its slices' AcquisitionTime.

    As dcm2niix derives it for Siemens files without a CSA header: each
    slice's time (``times``, seconds, in the file's slice order) after the
    earliest; with ``MultibandAccelerationFactor``, the number of slices
    that share the first slice's time, when more than one. Nothing when
    the slices share one time (dcm2niix then writes a multiband factor of
    the number of slices, which dbdicom does not), for 3-D acquisitions,
    other makers and other modalities.

    >>> slice_timing({"Modality": "MR", "Manufacturer": "SIEMENS"}, [10.0, 11.0, 10.5, 10.0])
    {'SliceTiming': [0, 1, 0.5, 0], 'MultibandAccelerationFactor': 2}
    """
    if (
        not times
        or len(times) < 2
        or header.get("Modality") != "MR"
        or _manufacturer(header) != "Siemens"
        or header.get("_csa")
        or not _two_d(header)
        or max(times) == min(times)
    ):
        return {}
    out: dict[str, Any] = {"SliceTiming": [_tidy(round(t - min(times), 6)) for t in times]}
    same = sum(1 for t in times if t == times[0])
    if same > 1:
        out["MultibandAccelerationFactor"] = same
    return out
