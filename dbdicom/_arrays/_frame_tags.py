"""DataArray -> the inputs of header plans: the tag values of each frame.

A write turns an :class:`xarray.DataArray` into one instance per frame
(every index of the dims before ``row`` and ``column``); this module
gives the tag values each frame's header plan (:mod:`dbdicom._dataset`)
is built from:

* dim coordinates and non-dimension coordinates become tag values of each
  frame, attrs tags shared by all frames, read back from the plain values
  of :mod:`._plain`: times (VR TM) given as seconds since midnight are
  written as ``HHMMSS.ffffff`` (those past midnight with the date of their
  day: see :mod:`._day_times`), dates and date-times (``datetime64``) as
  DA and DT, text of several values joined by a backslash as those values,
  and the coordinates ``Keyword[0]`` ... ``Keyword[n-1]`` as the ``n``
  values of ``Keyword`` (NaN: no value);
* the ``affine`` attr gives the geometry tags a frame lacks: its
  ImagePositionPatient, ImageOrientationPatient, PixelSpacing,
  SpacingBetweenSlices and SliceLocation. The affine maps (column, row,
  slice) indices to patient LPS millimetres; the slice index of a frame is
  its index along the ``SliceLocation`` dim, else along the one frame dim
  named by no DICOM keyword (``z``; not ``frame``); a dim of another
  keyword (``AcquisitionTime``, ``InstanceNumber``) holds frames at one place (see
  :func:`_slice_axis_of`). An affine
  whose row and column directions are not perpendicular is refused: no
  DICOM image has them. Geometry given as coordinates is kept as given,
  but a SliceLocation coordinate that gives the slices another spacing or
  order than the affine is refused (see :mod:`._affine_slices`);
* ``Rows``/``Columns`` follow the data, and the pixel encoding is the
  writer's own (see :func:`dbdicom._dataset.choose_encoding`): such attrs
  are not copied.

A coordinate or attr whose name is not a DICOM keyword is refused
(:class:`~dbdicom.InvalidValueError`), never silently dropped; except the
attrs of :data:`DISPLAY_ATTRS` (``units``, ``long_name``...), which xarray
code sets routinely and which are not written.
"""

from __future__ import annotations

import datetime
import functools
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from pydicom.datadict import dictionary_VR

from .._checks import suggest
from .._errors import DicomWarning, InvalidValueError
from .._files import FORMAT_KEYWORDS
from .._interaction import user_stacklevel
from .._keywords import tag_for_keyword
from ._affine_slices import AffineSlices
from ._dimension_index import INDEX_DIMS
from ._frames import DAY
from ._plain import SEPARATOR, split_component

__all__ = [
    "WRITER_TAGS",
    "check_names",
    "colour_samples",
    "FrameTags",
    "DISPLAY_ATTRS",
    "NOT_TAG_COORDS",
    "frames_of",
    "shared_values",
    "to_tag_value",
]

#: Tags the writer sets itself (from the data and the encoding): never copied
#: from attrs, coordinates or source headers.
WRITER_TAGS: frozenset[str] = FORMAT_KEYWORDS | frozenset(
    {
        "RescaleSlope",
        "RescaleIntercept",
        "RescaleType",
        "DoseGridScaling",
        "NumberOfFrames",
        "SmallestImagePixelValue",
        "LargestImagePixelValue",
        "WindowCenter",
        "WindowWidth",
        "SOPClassUID",  # the source header's or the template's: it says what the file holds
        "SOPInstanceUID",
        "SeriesInstanceUID",
        "TransferSyntaxUID",
        "PixelData",
    }
)
#: attrs that describe an array to xarray and its readers (the CF conventions'
#: ``units``, ``long_name``, ``standard_name``; ``description``, ``comment``),
#: set by fits and plots as a matter of course: they are not DICOM keywords and
#: are not written into the headers, but do not stop a write either (a
#: Parametric Map keeps ``units`` as its measurement units: see ``_multiframe``)
DISPLAY_ATTRS = frozenset({"units", "long_name", "standard_name", "description", "comment"})
# attrs made by to_xarray that are not tags, and those of xarray's above
_NOT_TAGS = frozenset({"affine"}) | DISPLAY_ATTRS
#: coordinates made by to_xarray that are not tags: ``frame``, the (0-based)
#: number of a frame in its multi-frame file, which with ``SOPInstanceUID``
#: names the source frame (the writer refers to it, and writes no tag for it);
#: ``frame_row`` and ``frame_column``, the stored rows and columns of the
#: pixels (the writer applies them to the geometry: see ``in_plane_applied``);
#: the dims that number the points of an enhanced file's Dimension Index
#: (``cardiac_phase``...: see :mod:`._dimension_index`), whose tags are
#: coordinates of their own
NOT_TAG_COORDS: frozenset[str] = frozenset({"frame", "frame_row", "frame_column"}) | INDEX_DIMS
_GEOMETRY = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceLocation")
# VRs whose one value may hold a backslash, and VRs of numbers
_TEXT_VRS = frozenset({"ST", "LT", "UT", "UR"})
_NUMBER_VRS = frozenset({"DS", "IS", "FL", "FD", "US", "SS", "UL", "SL", "SV", "UV"})


def check_names(da: Any) -> None:
    """Refuse coordinates and attrs that are not DICOM keywords.

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> check_names(xr.DataArray(np.zeros((2, 3, 3)), dims=("FlipAngle", "row", "column")))
    >>> check_names(xr.DataArray(np.zeros((2, 3, 3)), dims=("n", "row", "column")))  # no coords
    >>> check_names(xr.DataArray(np.zeros((1, 3, 3)), dims=("fit", "row", "column"),
    ...                          coords={"fit": [1]}))
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: the coordinate 'fit' is not a DICOM keyword: ...

    The attrs xarray code sets to describe an array are not tags, and pass:

    >>> da = xr.DataArray(np.zeros((3, 3)), dims=("row", "column"))
    >>> check_names(da.assign_attrs(units="ms", long_name="T1"))
    >>> check_names(da.assign_attrs(RepetitionTim=5.0))
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: the attr 'RepetitionTim' is not a DICOM keyword: ...
    """
    samples = colour_samples(da)
    pixels = da.dims[:-1] if samples != 1 else da.dims
    if tuple(pixels[-2:]) == ("column", "row"):
        raise InvalidValueError(
            f"the last two dims must be 'row' and 'column' (the pixels); got {da.dims}. "
            "For the images transposed in the plane, swap the names of the pixel dims "
            "(da.rename(row='column', column='row')): their frame_row and frame_column "
            "coordinates turn the geometry with them. Else transpose back "
            "(da.transpose(..., 'row', 'column'))."
        )
    if tuple(pixels[-2:]) != ("row", "column"):
        raise InvalidValueError(
            f"the last two dims must be 'row' and 'column' (the pixels); got {da.dims}. "
            "Rename them (da.rename(...)) or transpose (da.transpose(..., 'row', 'column'))."
        )
    for name in da.coords:
        if name in ("row", "column", "channel") or name in NOT_TAG_COORDS:
            continue
        parts = split_component(str(name))
        if tag_for_keyword(parts[0] if parts else str(name)) is None:
            raise InvalidValueError(
                f"the coordinate {name!r} is not a DICOM keyword: it cannot be written into "
                "the headers. Rename it to a keyword (da.rename({...: 'AcquisitionTime'})) "
                "or drop it (da.drop_vars(...)); a dim without coordinate can be "
                "dropped with isel or squeezed."
            )
    for name in da.attrs:
        if name not in _NOT_TAGS and tag_for_keyword(str(name)) is None:
            raise InvalidValueError(
                f"the attr {name!r} is not a DICOM keyword: it cannot be written into the "
                f"headers.{suggest(str(name))} Remove it (del da.attrs[...]) or use a keyword."
            )


def colour_samples(da: Any) -> int:
    """Values per pixel of the array ``da`` to write: 1 (grey-scale), or 3 (RGB).

    A colour array has a last dim ``channel`` of 3 (red, green, blue), after
    ``row`` and ``column``, as ``to_xarray`` reads colour images.

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> colour_samples(xr.DataArray(np.zeros((2, 3, 3)), dims=("FlipAngle", "row", "column")))
    1
    >>> rgb = ("row", "column", "channel")
    >>> colour_samples(xr.DataArray(np.zeros((2, 2, 3), np.uint8), dims=rgb))
    3
    >>> colour_samples(xr.DataArray(np.zeros((2, 2, 4)), dims=rgb))
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: a colour image has 3 channels (red, green, blue); ...
    """
    if "channel" not in da.dims:
        return 1
    if tuple(da.dims[-3:]) != ("row", "column", "channel"):
        raise InvalidValueError(
            f"the dims of a colour image end with 'row', 'column', 'channel'; got {da.dims}. "
            "Transpose it: da.transpose(..., 'row', 'column', 'channel')."
        )
    count = int(da.sizes["channel"])
    if count != 3:
        raise InvalidValueError(
            f"a colour image has 3 channels (red, green, blue); this array has {count}. "
            "Keep the first three (da.isel(channel=slice(0, 3)), e.g. RGBA without its "
            "alpha), or write one as a grey-scale image (da.isel(channel=0))."
        )
    return 3


def frames_of(da: Any) -> Iterator[tuple[int, ...]]:
    """Indices of the frames (the dims before ``row``/``column``), in C order.

    Examples
    --------
    >>> import xarray as xr
    >>> list(frames_of(xr.DataArray(np.zeros((2, 2, 3, 3)), dims=("a", "b", "row", "column"))))
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    shape = tuple(int(n) for n in da.shape[:-2])
    yield from np.ndindex(*shape) if shape else iter([()])


@functools.lru_cache(maxsize=1024)
def _vr(keyword: str) -> str:
    """The VR of ``keyword`` (its first, where the dictionary gives several): once per keyword."""
    tag = tag_for_keyword(keyword)
    return str(dictionary_VR(tag)).split(" or ")[0] if tag is not None else "UN"


def to_tag_value(keyword: str, value: Any) -> Any:
    r"""A coordinate or attr value as a tag value (None: leave the tag out).

    Examples
    --------
    >>> to_tag_value("AcquisitionTime", 45296.5), to_tag_value("InstanceNumber", 3.0)
    ('123456.500000', 3)
    >>> to_tag_value("ImagePositionPatient", (1.0, 2.0, 3.0))
    [1.0, 2.0, 3.0]
    >>> to_tag_value("ImageType", "DERIVED\\SECONDARY"), to_tag_value("StudyDate", np.datetime64("2024-01-15"))
    (['DERIVED', 'SECONDARY'], datetime.date(2024, 1, 15))
    >>> to_tag_value("PixelSpacing", "0.5\\0.25"), to_tag_value("SeriesDescription", "")
    ([0.5, 0.25], None)
    >>> to_tag_value("ContentDate", np.datetime64("2024-01-15T00:00:00", "ns"))
    datetime.date(2024, 1, 15)
    >>> to_tag_value("StudyTime", 86400.0)  # no time of day: see dated_times for those with a date
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: StudyTime 86400.0 s is not a time of day: ...
    """  # noqa: E501
    if isinstance(value, np.ndarray | np.datetime64) and value.dtype.kind == "M":
        value = value.astype("datetime64[us]")  # .item() of nanoseconds is an int
    if isinstance(value, np.ndarray):
        value = value.tolist() if value.ndim else value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    vr = _vr(keyword)
    if vr == "DA" and isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, str) and SEPARATOR in value and vr not in _TEXT_VRS:
        items = value.split(SEPARATOR)  # several values, joined as DICOM stores them
        if vr in _NUMBER_VRS:
            try:
                return [to_tag_value(keyword, float(x)) for x in items]
            except ValueError:
                return items  # the writer says what the VR cannot hold
        return items
    if vr == "TM" and isinstance(value, int | float):
        return _time_of_day(keyword, value)
    if vr in ("IS", "US", "SS", "UL", "SL") and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _time_of_day(keyword: str, value: float) -> str:
    """Seconds since midnight as a DICOM time (``HHMMSS.ffffff``); refused outside one day."""
    seconds = round(float(value), 6)  # as written: to the microsecond
    if not 0.0 <= seconds < DAY:
        raise InvalidValueError(
            f"{keyword} {value} s is not a time of day: a DICOM time (VR TM) holds 0 to "
            f"86399.999999 s (seconds since midnight). Give the time of day "
            f"(da.assign_coords({keyword}=da.{keyword} % 86400)) with the date of its "
            "day (a time past midnight of AcquisitionTime, ContentTime or SeriesTime is "
            "written with the next day's AcquisitionDate, ContentDate or SeriesDate "
            "where the array gives the date), or drop it (da.drop_vars(...))."
        )
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h):02d}{int(m):02d}{s:09.6f}"


def shared_values(da: Any) -> dict[str, Any]:
    """Tag values from the attrs (writer-owned tags and ``affine`` left out).

    Examples
    --------
    >>> import xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 2)), dims=("row", "column"),
    ...                   attrs={"Rows": 2, "AcquisitionTime": 60.0, "affine": np.eye(4)})
    >>> shared_values(da)
    {'AcquisitionTime': '000100.000000'}
    """
    out = {}
    for name, value in da.attrs.items():
        if name in _NOT_TAGS or name in WRITER_TAGS:
            continue
        converted = to_tag_value(name, value)
        if converted is not None:
            out[name] = converted
    return out


class FrameTags:
    """The tag values of every frame of ``da``, from its coordinates and its ``affine``.

    They are converted once (a write asks for them frame by frame).

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> affine = np.diag([0.5, 0.5, 3.0, 1.0]); affine[:3, 3] = [10, 20, 30]
    >>> da = xr.DataArray(np.zeros((2, 2, 4, 4)), dims=("SliceLocation", "FlipAngle", "row", "column"),
    ...                   coords={"FlipAngle": [2, 20], "AcquisitionTime": ("FlipAngle", [60.0, 61.5])},
    ...                   attrs={"affine": affine})
    >>> tags = FrameTags(da)
    >>> tags.values((1, 1))
    {'FlipAngle': 20, 'AcquisitionTime': '000101.500000'}
    >>> g = tags.geometry((1, 0), {})
    >>> g["ImagePositionPatient"], g["PixelSpacing"], g["SliceLocation"]
    ([10.0, 20.0, 33.0], [0.5, 0.5], 33.0)

    The coordinates of a tag of several values give its values:

    >>> da = da.assign_coords({f"ImagePositionPatient[{i}]": ("SliceLocation", [i, 9.5])
    ...                        for i in range(3)})
    >>> FrameTags(da).values((1, 0))["ImagePositionPatient"]
    [9.5, 9.5, 9.5]
    """  # noqa: E501

    def __init__(self, da: Any) -> None:
        dims = tuple(da.dims[:-2])
        # per coordinate: the frame axes it varies along, its values converted
        self._coords: list[tuple[str, tuple[int, ...], tuple[int, ...], list[Any]]] = []
        # per tag of several values: its coordinates Keyword[i], by i
        self._vectors: dict[str, dict[int, tuple[tuple[int, ...], tuple[int, ...], list[Any]]]]
        self._vectors = {}
        for name, coord in da.coords.items():
            if name in WRITER_TAGS or name in ("row", "column") or name in NOT_TAG_COORDS:
                continue
            if any(d not in dims for d in coord.dims):
                continue
            values = np.asarray(coord.values)
            axes = tuple(dims.index(d) for d in coord.dims)
            flat = values.reshape(-1) if values.ndim else [values]
            parts = split_component(str(name))
            if parts is not None:
                numbers = [float(v) for v in np.asarray(flat, dtype=float).tolist()]
                # each value as a tag value, converted once (None: NaN, no value)
                items = [to_tag_value(parts[0], x) for x in numbers]
                entry = (axes, tuple(values.shape), items)
                self._vectors.setdefault(parts[0], {})[parts[1]] = entry
                continue
            converted = [to_tag_value(str(name), v) for v in flat]
            self._coords.append((str(name), axes, tuple(values.shape), converted))
        _say_partial(self._vectors)
        self._shape = tuple(int(da.sizes[d]) for d in dims)
        self._geometry: dict[int, dict[str, Any]] = {}
        affine = da.attrs.get("affine")
        self._slice_axis = _slice_axis_of(dims) if affine is not None else None
        slices = 1 if self._slice_axis is None else self._shape[self._slice_axis]
        self._affine = None if affine is None else AffineSlices(affine, slices)
        self._slices = slices
        if self._affine is not None:  # where the coordinate says the slices are: the same
            placed = ~np.isnan(self._from_coords("ImagePositionPatient", 3)).any(axis=1)
            self._affine.check_locations(
                self._given("SliceLocation"),
                self.numbers("ImagePositionPatient", 3),
                self.numbers("ImageOrientationPatient", 6),
                placed,
            )
        # the first dim without coordinates (that of Series.set_array), but ``frame``:
        # the frames of a point (a cine), which read back along ``frame`` where they
        # share their position
        plain = [k for k, d in enumerate(dims) if d not in da.coords and d != "frame"]
        self._stack_axis = plain[0] if plain else None

    def stack_index(self, index: tuple[int, ...]) -> int:
        """The slice of the frame at ``index`` in a stack made without positions.

        It is the frame's index along the first dim without coordinates, else
        0. Not along ``frame``, whose frames share a point: at one position,
        they read back along ``frame``.

        Examples
        --------
        >>> import xarray as xr, numpy as np
        >>> FrameTags(xr.DataArray(np.zeros((3, 2, 2)), dims=("SliceLocation", "row", "column"))).stack_index((2,))
        2
        >>> FrameTags(xr.DataArray(np.zeros((3, 2, 2)), dims=("frame", "row", "column"))).stack_index((2,))
        0
        """  # noqa: E501
        return 0 if self._stack_axis is None else int(index[self._stack_axis])

    def values(self, index: tuple[int, ...]) -> dict[str, Any]:
        """Tag values of the frame at ``index`` from the coordinates.

        Writer-owned tags and empty values are left out.
        """
        out: dict[str, Any] = {}
        for name, axes, shape, converted in self._coords:
            value = converted[_position(index, axes, shape)]
            if value is not None:
                out[name] = value
        for keyword, parts in self._vectors.items():
            items = [
                parts[i][2][_position(index, parts[i][0], parts[i][1])] if i in parts else None
                for i in range(max(parts) + 1)
            ]
            while items and items[-1] is None:
                items.pop()  # a frame with fewer values than others
            if items and all(x is not None for x in items):
                out[keyword] = items
        return out

    def _given(self, keyword: str) -> np.ndarray:
        """The value of the coordinate ``keyword`` (of one number) at every frame; NaN: none."""
        out = np.full(int(np.prod(self._shape, dtype=np.int64)), np.nan)
        for name, axes, shape, converted in self._coords:
            if name == keyword:
                numbers = [_number(v) for v in converted]
                out = self._spread(axes, shape, np.asarray(numbers, dtype=float))
        return out

    def numbers(self, keyword: str, n: int) -> np.ndarray:
        """The ``n`` numbers of ``keyword`` of every frame (C order), as :meth:`values` and :meth:`geometry` give them.

        Shape ``(frames, n)``, from the coordinates, else the ``affine``; NaN
        where a frame has none of them. All frames at once (no per-frame
        work): what a write places its frames by.

        Examples
        --------
        >>> import xarray as xr, numpy as np
        >>> da = xr.DataArray(np.zeros((2, 3, 4, 4)), dims=("FlipAngle", "SliceLocation", "row", "column"),
        ...                   coords={f"ImagePositionPatient[{i}]": ("SliceLocation", [0.0, 1.0, 3.0]) for i in range(3)})
        >>> FrameTags(da).numbers("ImagePositionPatient", 3)[:4].tolist()
        [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [3.0, 3.0, 3.0], [0.0, 0.0, 0.0]]
        >>> FrameTags(da).numbers("ImageOrientationPatient", 6)[0].tolist()
        [nan, nan, nan, nan, nan, nan]
        """  # noqa: E501
        out = self._from_coords(keyword, n)
        count = len(out)
        if self._affine is not None:  # the frames the coordinates do not place
            k = np.indices(self._shape).reshape(len(self._shape), count)  # () : one frame
            slices = k[self._slice_axis] if self._slice_axis is not None else np.zeros(count, int)
            found = self._affine.numbers(keyword, slices)
            if found is not None:
                empty = np.isnan(out).any(axis=1)
                out[empty] = found[empty]
        return out

    def _from_coords(self, keyword: str, n: int) -> np.ndarray:
        """:meth:`numbers` the coordinates give, without the ``affine``'s."""
        count = int(np.prod(self._shape)) if self._shape else 1
        out = np.full((count, n), np.nan)
        for i, (axes, shape, items) in self._vectors.get(keyword, {}).items():
            if i < n:
                numbers = [np.nan if v is None else float(v) for v in items]
                out[:, i] = self._spread(axes, shape, np.asarray(numbers, dtype=float))
        for name, axes, shape, converted in self._coords:
            if name == keyword:  # one coordinate of n values a frame
                rows = [
                    v if isinstance(v, list) and len(v) == n else [np.nan] * n for v in converted
                ]
                block = np.asarray(rows, dtype=float).reshape(*shape, n)
                for i in range(n):
                    out[:, i] = self._spread(axes, shape, block[..., i])
        out[np.isnan(out).any(axis=1)] = np.nan  # a frame given some of its values: none
        return out

    def _spread(
        self, axes: tuple[int, ...], shape: tuple[int, ...], values: np.ndarray
    ) -> np.ndarray:
        """Values on the frame ``axes`` (of ``shape``) at every frame, in C order."""
        values = values.reshape(shape)
        order = np.argsort(axes) if axes else np.array([], int)
        values = np.transpose(values, order) if axes else values
        sorted_axes = sorted(axes)
        view = values.reshape(
            [self._shape[a] if a in sorted_axes else 1 for a in range(len(self._shape))]
        )
        return np.broadcast_to(view, self._shape).reshape(-1)

    def geometry(self, index: tuple[int, ...], given: dict[str, Any]) -> dict[str, Any]:
        """Geometry tags of the frame at ``index`` from the ``affine`` attr (those not ``given``).

        The slice index is the frame's index along the slice dim (see
        :func:`slice_axis`; 0 without one).
        """
        if self._affine is None:
            return {}
        k = index[self._slice_axis] if self._slice_axis is not None else 0
        found = self._geometry.get(k)
        if found is None:
            if not self._geometry:  # all slices at once: most writes need them all
                self._geometry = dict(enumerate(self._affine.all(self._slices)))
            found = self._geometry.get(k)
            if found is None:
                found = self._geometry[k] = self._affine.of(k)
        out = {key: v for key, v in found.items() if key not in given}
        if "SliceLocation" in out and given.get("ImagePositionPatient") is not None:
            # placed by its coordinates, not the affine: its own position's location
            at = self._affine.location(given["ImagePositionPatient"], given)
            if at is None:
                del out["SliceLocation"]
            else:
                out["SliceLocation"] = at
        return out


def _slice_axis_of(dims: tuple[Any, ...]) -> int | None:
    """Which of the frame ``dims`` (those before ``row``, ``column``) an ``affine``'s slice axis runs along.

    ``SliceLocation`` where it is one of them; else the one dim that may hold
    slices: one whose name is no DICOM keyword (``z``, ``slice``; not
    ``frame``, the frames of a cine at one point). A dim named by another
    keyword (``InstanceNumber``, ``AcquisitionTime``, ``FlipAngle``) holds
    what its frames differ in, at one place: with no dim that may hold
    slices (or a 2-D array), every frame is at the affine's first slice.
    Several that may, none ``SliceLocation``, are refused: a wrong guess misplaces frames.

    Examples
    --------
    >>> _slice_axis_of(("FlipAngle", "SliceLocation")), _slice_axis_of(("z",)), _slice_axis_of(())
    (1, 0, None)
    >>> _slice_axis_of(("z", "FlipAngle")), _slice_axis_of(("AcquisitionTime",))
    (0, None)
    >>> _slice_axis_of(("z", "echo"))
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: the array has an 'affine' and the frame dims ('z', 'echo'), ...
    """  # noqa: E501
    if "SliceLocation" in dims:
        return dims.index("SliceLocation")
    maybe = [k for k, d in enumerate(dims) if d != "frame" and tag_for_keyword(str(d)) is None]
    if len(maybe) < 2:
        return maybe[0] if maybe else None
    named = tuple(str(dims[k]) for k in maybe)
    raise InvalidValueError(
        f"the array has an 'affine' and the frame dims {tuple(str(d) for d in dims)}, none "
        f"of them SliceLocation: which of {named} runs along the affine's slice (3rd) axis is "
        "not known, and a guess could put every frame in the wrong place. Name the slice dim "
        f"SliceLocation (da.rename({{{named[0]!r}: 'SliceLocation'}}) if {named[0]!r} "
        "holds the slices); for frames of one slice, add a SliceLocation dim of one "
        "(da.expand_dims('SliceLocation'))."
    )


def _say_partial(vectors: dict[str, dict[int, Any]]) -> None:
    """Warn of tags whose coordinates ``Keyword[i]`` give only some of their values.

    Such a tag is not written from them (the source's value, if any, stays):
    its values cannot be made up.
    """
    for keyword, parts in vectors.items():
        missing = [i for i in range(max(parts) + 1) if i not in parts]
        if missing:
            given = ", ".join(f"{keyword}[{i}]" for i in sorted(parts))
            warnings.warn(
                f"the coordinates {given} give only some of the values of {keyword}: "
                f"{keyword} is not written from them (the source's stays, if there is one). "
                f"Give {keyword}[0] to {keyword}[{max(parts)}] (the missing: "
                f"{', '.join(f'{keyword}[{i}]' for i in missing)}), or drop them "
                "(da.drop_vars(...)).",
                DicomWarning,
                stacklevel=user_stacklevel(),
            )


def _number(value: Any) -> float:
    """A tag value as a number; NaN where it is none (no value, several)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _position(index: tuple[int, ...], axes: tuple[int, ...], shape: tuple[int, ...]) -> int:
    """Where the frame at ``index`` is in the flat values of a coordinate on ``axes``."""
    if len(axes) == 1:  # most coordinates belong to one dim
        return int(index[axes[0]])
    if axes:
        return int(np.ravel_multi_index(tuple(index[a] for a in axes), shape))
    return 0
