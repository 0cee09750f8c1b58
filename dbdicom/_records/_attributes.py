"""Which attributes belong to which level of the hierarchy.

A patient, a study and a series are not files: their attributes are
repeated in every file below them. These lists say which attributes are
the patient's, the study's and the series' (the information entities of
the DICOM standard, PS3.3 annex A: the Patient, General Study, Patient
Study, General Series, Frame of Reference and General Equipment modules);
every other attribute is the instance's own.

The rule that keeps the hierarchy consistent: an attribute of a level is
always set in all the files of one record of that level. Setting
``PatientName`` on a series sets it for every file of that series' patient;
moving a series to another study rewrites the study's and the patient's
attributes in its files (attributes the new parent does not have are
removed). The keys (``PatientID``, ``StudyInstanceUID``,
``SeriesInstanceUID``, ``SOPInstanceUID``) can only be set on a record of
their own level: to put a record under another parent, use ``move_to``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KEYS", "LEVELS", "LEVEL_ATTRIBUTES", "distinct", "level_of"]

LEVELS = ("database", "patient", "study", "series", "instance")

KEYS: dict[str, str] = {
    "patient": "PatientID",
    "study": "StudyInstanceUID",
    "series": "SeriesInstanceUID",
    "instance": "SOPInstanceUID",
}

LEVEL_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "patient": (
        "PatientID",
        "PatientName",
        "IssuerOfPatientID",
        "TypeOfPatientID",
        "PatientBirthDate",
        "PatientBirthTime",
        "PatientSex",
        "OtherPatientIDsSequence",
        "OtherPatientNames",
        "EthnicGroup",
        "PatientComments",
        "PatientSpeciesDescription",
        "PatientBreedDescription",
        "ResponsiblePerson",
        "ResponsibleOrganization",
        "PatientIdentityRemoved",
        "DeidentificationMethod",
    ),
    "study": (
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "ReferringPhysicianName",
        "StudyID",
        "AccessionNumber",
        "StudyDescription",
        "PhysiciansOfRecord",
        "NameOfPhysiciansReadingStudy",
        "RequestingPhysician",
        "AdmittingDiagnosesDescription",
        "PatientAge",
        "PatientSize",
        "PatientWeight",
        "Occupation",
        "AdditionalPatientHistory",
    ),
    "series": (
        "SeriesInstanceUID",
        "SeriesNumber",
        "SeriesDescription",
        "Modality",
        "SeriesDate",
        "SeriesTime",
        "Laterality",
        "PerformingPhysicianName",
        "ProtocolName",
        "OperatorsName",
        "BodyPartExamined",
        "PatientPosition",
        "FrameOfReferenceUID",
        "PositionReferenceIndicator",
        "Manufacturer",
        "InstitutionName",
        "StationName",
        "ManufacturerModelName",
        "DeviceSerialNumber",
        "SoftwareVersions",
    ),
}

_LEVEL = {kw: level for level, kws in LEVEL_ATTRIBUTES.items() for kw in kws}


def level_of(keyword: str) -> str:
    """The level an attribute belongs to (``"instance"`` unless listed).

    Examples
    --------
    >>> level_of("PatientName"), level_of("StudyDate"), level_of("EchoTime")
    ('patient', 'study', 'instance')
    """
    return _LEVEL.get(keyword, "instance")


def distinct(values: list[Any]) -> list[Any]:
    """The values in first-seen order, each once, without None (unhashable ones compared).

    >>> distinct([2, None, 1, 2, (3, 4), (3, 4)])
    [2, 1, (3, 4)]
    """
    out: list[Any] = []
    seen: set[Any] = set()
    for v in values:
        if v is None:
            continue
        try:
            if v in seen:
                continue
            seen.add(v)
        except TypeError:  # unhashable (a sequence): compare one by one
            if any(v == o for o in out):
                continue
        out.append(v)
    return out
