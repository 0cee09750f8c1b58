r"""What the index holds: its columns, their types, and how rows are made.

The index is one :class:`pandas.DataFrame` with a row per file. Columns whose
name is a DICOM keyword hold that tag's value; columns whose name starts with
``_`` are dbdicom's own (file facts and hierarchy keys). Values are stored in
compact column types:

* numbers as ``float64`` (``NaN`` when absent); integers come back as ``int``
  when read through :func:`cell_value`;
* vectors of fixed length (``ImagePositionPatient``...) as one ``float64``
  column per component, named ``Keyword[i]``;
* multi-valued text (``ImageType``) joined with ``\`` as in the file;
* text as strings, and as ``category`` for the tags of the patient, study and
  series levels, which repeat across rows.

Tags read later on demand are kept in ``object`` columns of plain Python
values (tuples for multiple values).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from itertools import chain, repeat
from typing import Any

import numpy as np
from pydicom.datadict import (
    dictionary_description,
    dictionary_VR,
)

from .._checks import suggest
from .._errors import UnknownTagError
from .._facade import is_na
from .._facade import pandas as pd
from .._keywords import keyword_for_tag, tag_for_keyword

__all__ = [
    "column_data",
    "check_tag",
    "column_of",
    "append_rows",
    "FILE_COLUMNS",
    "GEOMETRY_KEYWORDS",
    "INT_VRS",
    "JOINED",
    "KEY_COLUMNS",
    "LEVEL_TAGS",
    "NUMERIC_VRS",
    "TAGS",
    "VECTORS",
    "cell_value",
    "keyword_of",
    "frame_of",
    "make_frame",
    "tag_label",
    "tag_of",
    "vr_of",
]

#: the tags that place a frame in the patient (one home: the index, the writer)
GEOMETRY_KEYWORDS = (
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "SliceLocation",
)
LEVEL_TAGS: dict[str, tuple[str, ...]] = {
    "patient": ("PatientID", "PatientName", "PatientBirthDate", "PatientSex"),
    "study": (
        "StudyInstanceUID",
        "StudyDescription",
        "StudyDate",
        "StudyTime",
        "StudyID",
        "AccessionNumber",
        "ReferringPhysicianName",
    ),
    "series": (
        "SeriesInstanceUID",
        "SeriesDescription",
        "SeriesNumber",
        "Modality",
        "SeriesDate",
        "SeriesTime",
        "ProtocolName",
        "BodyPartExamined",
        "FrameOfReferenceUID",
        "Manufacturer",
        "ManufacturerModelName",
    ),
    "instance": (
        "SOPInstanceUID",
        "SOPClassUID",
        "InstanceNumber",
        "AcquisitionNumber",
        "ImageType",
        "Rows",
        "Columns",
        "NumberOfFrames",
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "PlanarConfiguration",
        "RescaleSlope",
        "RescaleIntercept",
        "DoseGridScaling",  # RT Dose: stored values times it are doses
        *GEOMETRY_KEYWORDS,
        "AcquisitionDate",
        "AcquisitionTime",
        "ContentDate",
        "ContentTime",
        "FlipAngle",
        "EchoTime",
        "RepetitionTime",
        "InversionTime",
        "TriggerTime",
        "TemporalPositionIdentifier",
        "DiffusionBValue",
        "ScanningSequence",
        "SpecificCharacterSet",
    ),
}
TAGS: tuple[str, ...] = tuple(k for level in LEVEL_TAGS.values() for k in level)
VECTORS: dict[str, int] = {
    "ImagePositionPatient": 3,
    "ImageOrientationPatient": 6,
    "PixelSpacing": 2,
}
JOINED = frozenset({"ImageType", "ScanningSequence", "SpecificCharacterSet"})
NUMERIC_VRS = frozenset({"DS", "IS", "US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"})
INT_VRS = frozenset({"IS", "US", "SS", "UL", "SL", "SV", "UV"})
_CATEGORY = frozenset(
    [*LEVEL_TAGS["patient"], *LEVEL_TAGS["study"], *LEVEL_TAGS["series"]]
    + [
        "SOPClassUID",
        "ImageType",
        "PhotometricInterpretation",
        "ScanningSequence",
        "SpecificCharacterSet",
        "TransferSyntaxUID",
    ]
) - {"SeriesNumber"}

KEY_COLUMNS = ("_patient", "_study", "_series", "_instance")
FILE_COLUMNS: dict[str, str] = {
    "_path": "str",  # path relative to the database folder, '/'-separated
    "_size": "int64",  # bytes
    "_mtime": "int64",  # modification time, ns
    "_offset": "int64",  # byte offset of native pixel data, -1 if none
    "_nbytes": "int64",  # length of native pixel data, -1 if none (or encapsulated)
    "_encapsulated": "bool",  # pixel data compressed
    "_float_bits": "int64",  # 32, 64: Float / Double Float Pixel Data; 0 integers
    "_modality_lut": "bool",  # a Modality LUT Sequence makes the stored values physical
    "_error": "str",  # why the file is not in the hierarchy ("" when it is)
    "_warning": "str",  # values read as missing, notes on the image: why, one a line ("" none)
    "_image": "str",  # why the image cannot be read as described ("" when it can, or no image)
}


def tag_of(keyword: str) -> int | None:
    """The tag number of a DICOM keyword, or None.

    Examples
    --------
    >>> hex(tag_of("Rows"))
    '0x280010'
    """
    return tag_for_keyword(keyword)


def keyword_of(tag: int) -> str:
    """The keyword of a tag number ('' for private or unknown tags)."""
    return keyword_for_tag(tag)


def tag_label(tag: int) -> str:
    """A tag as problems name it: its number and, when it has one, its name.

    Examples
    --------
    >>> tag_label(0x00200013), tag_label(0x00291010)
    ("(0020,0013) 'Instance Number'", '(0029,1010)')
    """
    number = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    try:
        return f"{number} {dictionary_description(tag)!r}"
    except KeyError:
        return number


@functools.lru_cache(maxsize=4096)
def vr_of(keyword: str) -> str:
    """The dictionary VR of a keyword (first of several, 'UN' if unknown)."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        return "UN"
    return str(dictionary_VR(tag)).split(" or ")[0]


def _columns_of(keyword: str) -> list[str]:
    n = VECTORS.get(keyword)
    return [f"{keyword}[{i}]" for i in range(n)] if n else [keyword]


def make_frame(rows: list[dict[str, Any]], categorical: bool = True) -> pd.DataFrame:
    """Build index rows from dicts of ``{keyword or _column: python value}``.

    Vector values are split into their components, multi-valued text is
    joined, numbers become ``float64``; a tuple in a scalar numeric column
    keeps its first value (such files break the tag's multiplicity rule).
    """
    return frame_of([column_data(rows)], categorical)


def frame_of(parts: list[dict[str, Any]], categorical: bool = True) -> pd.DataFrame:
    """The index rows of several :func:`column_data` results, one after the other.

    A scan reads its files in batches, each turned into columns where it is
    read (in a worker process); the table is made once, of all of them
    (pandas' fixed cost per column is then paid once, not per batch).

    Examples
    --------
    >>> a, b = column_data([{"_path": "a", "Rows": 4}]), column_data([{"_path": "b"}])
    >>> frame = frame_of([a, b])
    >>> list(frame["_path"]), list(frame["Rows"])
    (['a', 'b'], [4.0, nan])
    """
    if len(parts) == 1:
        joined = parts[0]
    else:
        joined = {
            col: (
                list(chain.from_iterable(p[col] for p in parts))
                if isinstance(values, list)
                else np.concatenate([p[col] for p in parts])
            )
            for col, values in parts[0].items()
        }
    data = {
        col: (
            (categorical and col in _CATEGORY and _categories(values))
            or pd.array(values, dtype="str")
        )
        if isinstance(values, list)
        else values
        for col, values in joined.items()
    }
    frame = pd.DataFrame(data)
    return categorize(frame) if categorical else frame


def _categories(values: list[Any]) -> pd.Categorical | None:
    """``values`` (text or None) as ``astype("category")`` of their text array makes them.

    Made from a dictionary of the distinct values, without the text array;
    None where a value is not text (then the text array is made first).
    """
    distinct = set(values)
    distinct.discard(None)
    if not all(type(v) is str for v in distinct):
        return None
    ordered = sorted(distinct)
    lookup: dict[str | None, int] = {v: i for i, v in enumerate(ordered)}
    lookup[None] = -1
    codes = np.fromiter(map(lookup.__getitem__, values), dtype=np.int32, count=len(values))
    dtype = pd.CategoricalDtype(pd.Index(ordered, dtype="str"))
    return pd.Categorical.from_codes(codes, dtype=dtype)


def column_data(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The columns of :func:`make_frame`: arrays, and text as lists of ``str`` or None.

    A column whose values are all plain (numbers or None, text without
    several values) is converted at once; the others value by value.
    """
    data: dict[str, Any] = {}
    n_rows = len(rows)
    for col, dtype in FILE_COLUMNS.items():
        default: Any = "" if dtype == "str" else (False if dtype == "bool" else -1)
        values = list(map(dict.get, rows, repeat(col, n_rows), repeat(default, n_rows)))
        data[col] = values if dtype == "str" else np.array(values, dtype=dtype)
    for col in KEY_COLUMNS + ("TransferSyntaxUID",):
        data[col] = list(map(dict.get, rows, repeat(col, n_rows)))
    for keyword in TAGS:
        values = list(map(dict.get, rows, repeat(keyword, n_rows)))
        types = set(map(type, values))
        n = VECTORS.get(keyword)
        if n:
            block = _vectors(values, types, n)
            for j, col in enumerate(_columns_of(keyword)):
                data[col] = block[:, j]
        elif vr_of(keyword) in NUMERIC_VRS:
            if types <= _NUMBERS:
                data[keyword] = np.array(values, dtype=float)  # None: NaN
            else:
                data[keyword] = np.array([_first_number(v) for v in values], dtype=float)
        elif tuple not in types:
            data[keyword] = values
        elif keyword in JOINED:
            data[keyword] = ["\\".join(v) if isinstance(v, tuple) else v for v in values]
        else:
            data[keyword] = [v[0] if isinstance(v, tuple) else v for v in values]
    return data


def _vectors(values: list[Any], types: set[type], n: int) -> np.ndarray:
    """The rows x ``n`` components of vector ``values`` (NaN: missing, or not ``n`` of them)."""
    if types == {tuple} and set(map(len, values)) == {n} and _plain(chain(*values)):
        return np.array(values, dtype=float).reshape(len(values), n)  # None: NaN
    block = np.full((len(values), n), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, tuple) and len(v) == n:
            block[i] = [np.nan if x is None else x for x in v]
    return block


# the types of plain numbers, converted at once (others: value by value)
_NUMBERS = frozenset({float, int, type(None)})


def _plain(values: Iterable[Any]) -> bool:
    """Whether ``values`` are all numbers or None (then numpy converts them as float() would)."""
    return set(map(type, values)) <= _NUMBERS


def append_rows(kept: pd.DataFrame, rows: list[dict[str, Any]], filler: Any) -> pd.DataFrame:
    """``kept`` (an index frame, categorized) with the index rows of ``rows`` after it.

    ``rows`` are dicts, as :func:`make_frame` takes them. The result is the
    frame ``categorize(pd.concat([kept, make_frame(rows)]))`` would give,
    built column by column so that the categories of ``kept`` are extended,
    not made again (a write of a few hundred files into a large index).

    Columns of ``kept`` that ``rows`` do not give (tags read on demand) get
    ``filler``.

    Examples
    --------
    >>> a = make_frame([{"_path": "a", "Modality": "MR", "Rows": 4}])
    >>> both = append_rows(a, [{"_path": "b", "Modality": "CT"}], None)
    >>> list(both["Modality"]), list(both["Modality"].cat.categories), list(both["Rows"])
    (['MR', 'CT'], ['CT', 'MR'], [4.0, nan])
    >>> list(append_rows(both, [{"_path": "c", "ProtocolName": "T1"}], None)["ProtocolName"])
    [nan, nan, 'T1']
    """
    n = len(rows)
    if not n:
        return kept.reset_index(drop=True)
    new = column_data(rows)
    out: dict[str, Any] = {}
    for col, old in kept.items():
        values = new.get(str(col))
        if values is None:  # a tag read on demand: not read for these rows yet
            values = np.full(n, filler, dtype=object) if old.dtype == object else [None] * n
        if isinstance(old.dtype, pd.CategoricalDtype) and isinstance(values, list):
            out[str(col)] = _extend_categories(old.array, values)
        elif isinstance(old.dtype, np.dtype) and isinstance(values, np.ndarray):
            out[str(col)] = np.concatenate([old.to_numpy(), values.astype(old.dtype, copy=False)])
        elif isinstance(old.dtype, pd.StringDtype) and isinstance(values, list):
            # arrays of one type joined as such (Arrow strings: their chunks)
            array = old.array
            added = pd.array(values, dtype=old.dtype)
            out[str(col)] = _bounded(type(array)._concat_same_type([array, added]))
        else:
            added = pd.array(values, dtype="str") if isinstance(values, list) else values
            out[str(col)] = pd.concat([old, pd.Series(added)], ignore_index=True).array
    return categorize(pd.DataFrame(out))


def _bounded(array: Any) -> Any:
    """``array``, its Arrow chunks (one per append) joined when they are many."""
    arrow = getattr(array, "__arrow_array__", None)
    if arrow is not None:
        chunked = arrow()
        if getattr(chunked, "num_chunks", 1) > _MAX_CHUNKS:
            return pd.array(chunked.combine_chunks(), dtype=array.dtype)
    return array


_MAX_CHUNKS = 16


def _extend_categories(old: pd.Categorical, values: list[Any]) -> pd.Categorical:
    """``old`` followed by ``values`` (str or None), categories kept sorted.

    Categories no row has any more (rows removed since) are dropped.

    Examples
    --------
    >>> old = pd.Categorical(["b", None, "d"], categories=["a", "b", "d", "e"])
    >>> both = _extend_categories(old, ["c", None, "e"])
    >>> list(both.astype(object)), list(both.categories)
    (['b', nan, 'd', 'c', nan, 'e'], ['b', 'c', 'd', 'e'])
    """
    categories = old.categories
    old_codes = np.asarray(old.codes, dtype=np.int64)
    lookup = {v: i for i, v in enumerate(categories)}
    missing = -1
    codes = np.array([missing if v is None else lookup.get(v, -2) for v in values], dtype=np.int64)
    used = np.zeros(len(categories) + 2, dtype=bool)  # a slot each for -1 and -2
    used[old_codes] = used[codes] = True
    if not used[-2] and used[: len(categories)].all():  # the same categories: checked already
        return pd.Categorical.from_codes(np.concatenate([old_codes, codes]), dtype=old.dtype)
    merged = sorted(
        {v for v, i in lookup.items() if used[i]} | {v for v in values if v is not None}
    )
    position = {v: i for i, v in enumerate(merged)}
    # -1 (missing) stays -1: the table gets one more slot for it
    recode = np.array([position.get(v, missing) for v in categories] + [missing])
    old_codes = recode[old_codes]
    codes = np.array([missing if v is None else position[v] for v in values], dtype=np.int64)
    dtype = categories.dtype if len(categories) else "str"
    return pd.Categorical.from_codes(
        np.concatenate([old_codes, codes]),
        dtype=pd.CategoricalDtype(pd.Index(merged, dtype=dtype)),
    )


def stored_value(keyword: str, value: Any) -> Any:
    r"""One value of an index tag (not a vector) as :func:`make_frame` stores it.

    Examples
    --------
    >>> stored_value("Rows", 128), stored_value("ImageType", ("DERIVED", "SECONDARY"))
    (128.0, 'DERIVED\\SECONDARY')
    """
    if vr_of(keyword) in NUMERIC_VRS:
        return _first_number(value)
    if keyword in JOINED and isinstance(value, tuple):
        return "\\".join(value)
    return value[0] if isinstance(value, tuple) else value


def categorize(frame: pd.DataFrame) -> pd.DataFrame:
    """Store the repetitive text columns as ``category`` (in place; returned)."""
    dtypes = frame.dtypes
    for col in _CATEGORY:
        if col in dtypes.index and not isinstance(dtypes[col], pd.CategoricalDtype):
            frame[col] = frame[col].astype("category")
    return frame


def _first_number(v: Any) -> float:
    if v is None:
        return np.nan
    if isinstance(v, tuple):
        v = v[0] if v else None
        if v is None:
            return np.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def cell_value(frame: pd.DataFrame, position: int, keyword: str) -> Any:
    """The value of ``keyword`` in row ``position``, as a plain Python value.

    ``None`` when the file does not have the tag. Vectors come back as tuples
    of floats, multi-valued text as tuples of strings, integer VRs as ``int``.
    """
    n = VECTORS.get(keyword)
    if n:
        cols = _columns_of(keyword)
        vals = [frame[c].iat[position] for c in cols]
        if all(np.isnan(v) for v in vals):
            return None
        return tuple(float(v) for v in vals)
    value = frame[keyword].iat[position]
    return to_plain(value, keyword)


def to_plain(value: Any, keyword: str) -> Any:
    """Convert a stored cell to the value a user sees (``None`` for an empty value)."""
    if value is None or is_na(value) or (isinstance(value, str) and value == ""):
        return None
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return None
        if vr_of(keyword) in INT_VRS:
            return int(value)
        return float(value)
    if isinstance(value, str):
        if keyword in JOINED and "\\" in value:
            return tuple(value.split("\\"))
        return value
    if isinstance(value, np.integer):
        return int(value)
    return value


def column_of(tag: str | int | tuple[int, int]) -> str:
    """The index column of a keyword, tag number or (group, element) pair."""
    if isinstance(tag, str):
        return tag
    if isinstance(tag, tuple):
        tag = (tag[0] << 16) | tag[1]
    return keyword_of(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def check_tag(tag: Any, owner: Any = None) -> str:
    """The index column of a tag given as keyword, number or (group, element).

    Raises :class:`UnknownTagError` (a ``KeyError``) for a name that is not a
    DICOM keyword, with the nearest keyword as a suggestion.
    """
    if isinstance(tag, str):
        if tag_for_keyword(tag) is None:
            raise UnknownTagError(
                f"{tag!r} is not a DICOM keyword.{suggest(tag)} Tags can also be given "
                "as (group, element), e.g. (0x0028, 0x0010)."
            )
        return tag
    if isinstance(tag, tuple) and len(tag) == 2 and all(isinstance(x, int) for x in tag):
        return column_of(tag)
    if isinstance(tag, int) and not isinstance(tag, bool):
        return column_of(tag)
    raise UnknownTagError(
        f"{tag!r} is not a tag: give a keyword ('Rows'), a (group, element) pair "
        "((0x0028, 0x0010)) or a list of those."
    )
