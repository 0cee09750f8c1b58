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

Reading follows the same table: an attribute of a record's own level or of
a level above it is one value (:func:`reduce_values` with ``single``), an
attribute of a lower level the sorted list of its distinct values.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ELSEWHERE",
    "KEYS",
    "LEVELS",
    "LEVEL_ATTRIBUTES",
    "distinct",
    "is_single",
    "level_of",
    "person_value",
    "reduce_values",
    "sorted_distinct",
]

LEVELS = ("database", "patient", "study", "series", "instance")

_ONE_IMAGE = (
    " An instance's pixels are read through its series: `array, instances = "
    "instance.parent.array()` gives every image of the series with the instance of each, "
    "and `da = instance.parent.to_xarray()` then `da.where(da.SOPInstanceUID == "
    "instance.SOPInstanceUID, drop=True)` the image(s) of this instance as a DataArray."
)
#: what to use instead of a method a level does not have (by level and name)
ELSEWHERE: dict[tuple[str, str], str] = {
    ("instance", "array"): _ONE_IMAGE,
    ("instance", "to_xarray"): _ONE_IMAGE,
    ("instance", "pixel_array"): _ONE_IMAGE,
    ("instance", "set_array"): (
        " Pixels are written for a whole series: series.set_array(array) or "
        "series.set_xarray(da) (instance.parent is its series)."
    ),
}

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


def sorted_distinct(values: list[Any]) -> list[Any]:
    """The distinct values, None left out, sorted (first-seen order if they cannot be).

    Examples
    --------
    >>> sorted_distinct(["VFA", None, "T2w", "VFA"])
    ['T2w', 'VFA']
    >>> sorted_distinct([2.0, "two", 2.0])  # numbers and text: first-seen order
    [2.0, 'two']
    """
    found = distinct(values)
    try:
        return sorted(found)
    except TypeError:  # values of kinds that do not compare (numbers and text, sequences)
        return found


def is_single(level: str, column: str) -> bool:
    """Whether the attribute ``column`` read on a record of ``level`` is one value.

    True for an attribute of ``level`` or of a level above it; private tags
    and tags without a level are the instance's.

    Examples
    --------
    >>> is_single("series", "SeriesDescription"), is_single("series", "PatientName")
    (True, True)
    >>> is_single("study", "SeriesDescription"), is_single("database", "PatientID")
    (False, False)
    >>> is_single("instance", "(0019,1010)")
    True
    """
    return LEVELS.index(level_of(column)) <= LEVELS.index(level)


def reduce_values(values: list[Any], single: bool) -> Any:
    """What a read gives from the values of a record's files.

    ``single``: the one value (None when no file has it), or the sorted list
    of the values when the files disagree. Otherwise the sorted list of
    distinct values.

    Examples
    --------
    >>> reduce_values(["T1", "T1", None], single=True)
    'T1'
    >>> reduce_values([None], single=True) is None
    True
    >>> reduce_values(["T2", "T1"], single=True)  # files that disagree: the list
    ['T1', 'T2']
    >>> reduce_values([10.0, 2.0, 10.0], single=False)
    [2.0, 10.0]
    """
    found = sorted_distinct(values)
    if not single:
        return found
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def person_value(keyword: str, value: Any) -> str:
    """``value`` of ``keyword`` (of who a patient is: ``PERSON``) as compared: one text a value.

    A PatientName's trailing empty components and groups are left out, as
    the standard allows (PS3.5 6.2: ``'Doe^Jane^^'`` is ``'Doe^Jane'``),
    and its case does not count (``'DOE^JANE'``: some systems write names
    in capitals).

    Examples
    --------
    >>> person_value("PatientName", "DOE^Jane^^="), person_value("PatientSex", "F")
    ('doe^jane', 'F')
    """
    text = str(value)
    if keyword != "PatientName":
        return text
    return "=".join(group.rstrip("^ ") for group in text.split("=")).rstrip("=").casefold()
