r"""Tag values as plain arrays: what netCDF and Zarr store as they are.

The coordinates and attrs of a DataArray made by
:meth:`dbdicom.Series.to_xarray` follow these rules, so that
``da.to_netcdf(...)``, ``da.to_zarr(...)`` and
``xr.testing.assert_identical`` after a round trip work with no encoding
of dbdicom's own:

* A tag whose value is the same at every frame is an attr; one that varies
  is a coordinate, on the tag dims it varies along (``SOPInstanceUID`` and
  ``frame``, which name each frame's source, on all of them).
* Numbers are ``float64`` coordinates (NaN where a frame has none); as
  attrs, ``int`` for the integer VRs and ``float`` otherwise.
* Times of day (VR TM) are seconds since midnight, ``float64``, as
  coordinates and as attrs (``101530.5`` is ``36930.5``); those of the
  second day of a series acquired across midnight count on from the
  first's midnight.
* Dates (DA) are ``datetime64[D]`` and date-times (DT) ``datetime64[us]``
  (local time: a UTC offset is left out); netCDF and Zarr attrs cannot hold
  them, so a date shared by every frame is a scalar (0-d) coordinate.
* Text is ``str`` (``""`` where a frame has none). Text of several values is
  one string, the values separated by a backslash as DICOM stores them
  (``ImageType`` ``"ORIGINAL\\PRIMARY\\AXIAL"``; ``.split("\\")`` gives them).
* Numbers of several values (``PixelSpacing``, ``ImageOrientationPatient``)
  are a 1-D ``float64`` array as an attr. As coordinates, a DataArray's
  coordinates cannot have a dim of their own, so a tag of *n* values is *n*
  coordinates named ``Keyword[0]`` ... ``Keyword[n-1]`` (the index's column
  names): ``ImagePositionPatient[0]``, ``[1]`` and ``[2]`` are the x, y and
  z of each frame's position (patient LPS mm). ``da.dicom.position`` gives
  them as one DataArray with a trailing ``xyz`` dim.
* A multi-valued tag used as a dim has text labels, its values joined by a
  backslash (``"0.0\\0.7071\\0.7071"``).

The writer (:mod:`dbdicom._arrays._frame_tags`) reads all of these back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._index import INT_VRS, vr_of

__all__ = [
    "SEPARATOR",
    "attr_value",
    "base_keyword",
    "component",
    "dt_datetime64",
    "labels",
    "per_frame_arrays",
    "same_along",
    "split_component",
]

#: separates the values of a multi-valued text (DICOM's own separator)
SEPARATOR = "\\"
_COMPONENT = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\[(\d+)\]$")
_DT = re.compile(r"^(\d{4})(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\.\d{1,6})?([+-]\d{4})?$")


def component(keyword: str, i: int) -> str:
    """The name of coordinate ``i`` of a multi-valued tag.

    Examples
    --------
    >>> component("ImagePositionPatient", 2)
    'ImagePositionPatient[2]'
    """
    return f"{keyword}[{i}]"


def split_component(name: str) -> tuple[str, int] | None:
    """``(keyword, i)`` of a coordinate named ``Keyword[i]``, else None.

    Examples
    --------
    >>> split_component("ImagePositionPatient[2]"), split_component("EchoTime")
    (('ImagePositionPatient', 2), None)
    """
    match = _COMPONENT.match(name)
    return (match[1], int(match[2])) if match else None


def base_keyword(name: str) -> str:
    """The keyword a coordinate is of (``Keyword`` for ``Keyword[i]``).

    Examples
    --------
    >>> base_keyword("ImagePositionPatient[0]"), base_keyword("FlipAngle")
    ('ImagePositionPatient', 'FlipAngle')
    """
    parts = split_component(name)
    return parts[0] if parts else name


def dt_datetime64(text: str) -> np.datetime64:
    """A DICOM date-time (``YYYYMMDDHHMMSS.FFFFFF&ZZXX``) as ``datetime64[us]``.

    The UTC offset, if any, is left out (the local time is kept); NaT when
    the text is not a date-time.

    Examples
    --------
    >>> dt_datetime64("20240115101530.5+0100"), dt_datetime64("2024")
    (np.datetime64('2024-01-15T10:15:30.500000'), np.datetime64('2024-01-01T00:00:00.000000'))
    """
    match = _DT.match(text.strip())
    if match is None:
        return np.datetime64("NaT", "us")
    y, mo, d, h, mi, s, fraction, _ = match.groups()
    iso = f"{y}-{mo or '01'}-{d or '01'}T{h or '00'}:{mi or '00'}:{s or '00'}{fraction or ''}"
    try:
        return np.datetime64(iso, "us")
    except ValueError:
        return np.datetime64("NaT", "us")


def _da_datetime64(text: str) -> np.datetime64:
    digits = text.strip().replace("-", "")
    try:
        return np.datetime64(f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}", "D")
    except ValueError:
        return np.datetime64("NaT", "D")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)


def _join(values: Sequence[Any]) -> str:
    return SEPARATOR.join("" if v is None else str(v) for v in values)


def attr_value(keyword: str, value: Any) -> tuple[str, Any]:
    r"""Where a value shared by all frames goes, and as what.

    Returns ``("attr", value)``, ``("coord", value)`` (a date: a scalar
    coordinate) or ``("none", None)`` (no value).

    Examples
    --------
    >>> attr_value("AcquisitionTime", "101530.5"), attr_value("StudyDate", "20240115")
    (('attr', 36930.5), ('coord', np.datetime64('2024-01-15')))
    >>> attr_value("ImageType", ("ORIGINAL", "PRIMARY"))
    ('attr', 'ORIGINAL\\PRIMARY')
    >>> attr_value("PixelSpacing", (0.5, 0.5))
    ('attr', array([0.5, 0.5]))
    """
    if value is None:
        return "none", None
    vr = vr_of(keyword)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return _text_attr(vr, value)
    if isinstance(value, bool):
        return "attr", int(value)
    if isinstance(value, int) or (
        isinstance(value, float) and vr in INT_VRS and value.is_integer()
    ):
        return "attr", int(value)
    if isinstance(value, float):
        return "attr", float(value)
    if isinstance(value, np.ndarray) or (
        isinstance(value, Sequence) and not isinstance(value, bytes | bytearray)
    ):
        items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        if not items:
            return "none", None
        if all(_is_number(v) for v in items):
            return "attr", np.array([float(v) for v in items], dtype=np.float64)
        return "attr", _join(items)
    if isinstance(value, bytes | bytearray):
        return "attr", bytes(value).hex()
    return _text_attr(vr, str(value))  # PersonName, UID... their text


def _text_attr(vr: str, value: str) -> tuple[str, Any]:
    if vr == "TM" and value.strip():
        seconds = _tm_seconds(value)
        return ("attr", seconds) if seconds is not None else ("attr", value)
    if vr == "DA" and value.strip():
        day = _da_datetime64(value)
        return ("coord", day) if not np.isnat(day) else ("attr", value)
    if vr == "DT" and value.strip():
        moment = dt_datetime64(value)
        return ("coord", moment) if not np.isnat(moment) else ("attr", value)
    return "attr", value


def _tm_seconds(value: str) -> float | None:
    text = value.strip().replace(":", "")
    try:
        hours = int(text[0:2])
        minutes = int(text[2:4]) if len(text) >= 4 else 0
        seconds = float(text[4:]) if len(text) > 4 else 0.0
    except ValueError:
        return None
    return hours * 3600 + minutes * 60 + seconds


def per_frame_arrays(keyword: str, values: np.ndarray) -> dict[str, np.ndarray]:
    r"""The coordinate arrays of a tag's values at some frames, by coordinate name.

    ``values`` are as :meth:`Frames.coordinate` gives them: numbers,
    datetimes and text arrive as plain arrays; an object array holds
    tuples (several values), text with gaps (None), or anything else.

    Examples
    --------
    >>> per_frame_arrays("ImagePositionPatient", np.array([(0.0, 1.0, 2.0), None], dtype=object))
    {'ImagePositionPatient[0]': array([ 0., nan]), 'ImagePositionPatient[1]': array([ 1., nan]), 'ImagePositionPatient[2]': array([ 2., nan])}
    >>> per_frame_arrays("ImageType", np.array([("A", "B"), "C", None], dtype=object))["ImageType"]
    array(['A\\B', 'C', ''], dtype='<U3')
    """  # noqa: E501
    if values.dtype != object:
        return {keyword: values}
    items = values.tolist()
    present = [v for v in items if v is not None]
    if all(_is_number(v) for v in present):
        return {keyword: np.array([np.nan if v is None else float(v) for v in items])}
    vectors = [v for v in present if isinstance(v, tuple | list)]
    if len(vectors) == len(present) and all(_is_number(x) for v in vectors for x in v):
        n = max(len(v) for v in vectors)
        block = np.full((len(items), n), np.nan)
        for k, v in enumerate(items):
            if v is not None:
                block[k, : len(v)] = [float(x) for x in v]
        return {component(keyword, i): block[:, i].copy() for i in range(n)}
    text = ["" if v is None else _join(v) if isinstance(v, tuple | list) else str(v) for v in items]
    return {keyword: np.array(text, dtype=str)}


def labels(values: np.ndarray) -> np.ndarray:
    r"""The values of a dim as plain labels (several values joined by a backslash).

    Examples
    --------
    >>> values = np.empty(2, dtype=object)
    >>> values[:] = [("ORIGINAL", "PRIMARY"), ("DERIVED", "SECONDARY")]
    >>> labels(values)
    array(['ORIGINAL\\PRIMARY', 'DERIVED\\SECONDARY'], dtype='<U17')
    >>> labels(np.array([1.5, 2.0]))
    array([1.5, 2. ])
    """
    if values.dtype != object:
        return values
    out = [_join(v) if isinstance(v, tuple | list) else "" if v is None else str(v) for v in values]
    return np.array(out, dtype=str)


def same_along(values: np.ndarray, axis: int) -> bool:
    """Whether ``values`` are the same at every index of ``axis`` (NaN equal to NaN).

    Examples
    --------
    >>> same_along(np.array([[1.0, 2.0], [1.0, 2.0]]), 0), same_along(np.array([[1.0, np.nan]]), 1)
    (True, False)
    """
    first = np.take(values, [0], axis=axis)
    equal = values == first
    if values.dtype.kind == "f":
        equal |= np.isnan(values) & np.isnan(first)
    elif values.dtype.kind in "mM":
        equal |= np.isnat(values) & np.isnat(first)
    return bool(np.all(equal))
