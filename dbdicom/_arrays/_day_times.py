"""Times past midnight, written with the date of their day: the writer's side of the reader's count.

A DICOM time (VR TM) holds a time of day, 0 to 86399.999999 s. The reader
gives a series acquired across midnight its second day's times counted on
from the first day's midnight (00:00:10 of the next day is 86410 s: see
:meth:`~._frames.Frames`), each frame with its own date. For each time
and the date that goes with it (:data:`DATE_OF`, the reader's pairs), an
array to write with times of 86400 s or more is given, per frame, the date
of the day each time falls on and the time of that day
(:func:`dated_times`):

* dates per frame (a coordinate on the frame dims, as ``to_xarray`` gives
  those of a series across midnight) that go with the times as the reader
  gives them (each frame's date, less the whole days of its time, is one
  day): the frames' own dates, kept; each time becomes a time of day;
* one date for all frames (an attr, a scalar coordinate, or a coordinate
  of one value), and times on both sides of midnight: the date of the day
  the times count from; each frame gets that date plus the whole days of
  its time (86410 s: the next day, 00:00:10).

Refused (:class:`~dbdicom.InvalidValueError`, with the way out), as they
would give a wrong date: such times without a date, every time past the
midnight of one shared date (the frames' own date, as a frame selected
from a series across midnight has, or the day the times count from?), and
dates per frame that go with the times neither way. Other times (VR TM) of
86400 s or more, and negative ones, are refused where they are converted
(:func:`~._frame_tags.to_tag_value`).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import InvalidValueError
from ._frames import DATE_OF, DAY

if TYPE_CHECKING:  # xarray, imported already where a DataArray is written
    from xarray import Variable

__all__ = ["dated_times"]


def dated_times(da: Any) -> Any:
    """``da`` with its times past midnight as times of day, each with the date of its day.

    See the module notes. An array without such times is returned as it is.

    Examples
    --------
    >>> import xarray as xr
    >>> da = xr.DataArray(np.zeros((3, 2, 2)), dims=("SliceLocation", "row", "column"),
    ...                   coords={"AcquisitionTime": ("SliceLocation", [86395.0, 86400.0, 86410.5]),
    ...                           "AcquisitionDate": np.datetime64("2024-01-15")})
    >>> out = dated_times(da)
    >>> out.AcquisitionTime.values.tolist()
    [86395.0, 0.0, 10.5]
    >>> [str(d)[:10] for d in out.AcquisitionDate.values]
    ['2024-01-15', '2024-01-16', '2024-01-16']
    >>> dated_times(da.drop_vars("AcquisitionDate"))
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: AcquisitionTime 86400.0 s is past midnight ...
    """  # noqa: E501
    for time_keyword, date_keyword in DATE_OF.items():
        da = _dated(da, time_keyword, date_keyword)
    return da


def _held(da: Any, keyword: str) -> tuple[Variable | None, bool]:
    """The values of ``keyword`` as a Variable (None: none), and whether they are an attr."""
    if keyword in da.coords:
        return da.coords[keyword].variable, False
    if keyword in da.attrs:
        return type(da.variable)((), np.asarray(da.attrs[keyword])), True
    return None, False


def _days(value: Variable, keyword: str) -> Variable:
    """Dates as ``datetime64[D]`` (from ``datetime64``, ``datetime.date`` or ``YYYYMMDD`` text)."""
    values = np.asarray(value.values)
    if values.dtype.kind != "M":
        flat = [_day(v, keyword) for v in values.reshape(-1).tolist()]
        values = np.asarray(flat, dtype="datetime64[D]").reshape(values.shape)
    return type(value)(value.dims, values.astype("datetime64[D]"))


def _day(value: Any, keyword: str) -> np.datetime64:
    if value is None or value == "":
        return np.datetime64("NaT", "D")
    if isinstance(value, datetime.date):
        return np.datetime64(value.isoformat()[:10], "D")
    text = str(value).strip()
    if len(text) == 8 and text.isdigit():  # DICOM's YYYYMMDD
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return np.datetime64(text, "D")
    except ValueError:
        raise InvalidValueError(
            f"{keyword} {value!r} is not a date: give it as a datetime64 "
            f"(np.datetime64('2024-01-15')), a datetime.date or 'YYYYMMDD'."
        ) from None


def _dated(da: Any, time_keyword: str, date_keyword: str) -> Any:
    """``da`` with ``time_keyword`` past midnight written as times of day with their dates."""
    raw = (
        da.coords[time_keyword].values if time_keyword in da.coords else da.attrs.get(time_keyword)
    )
    raw = np.asarray(raw)
    if raw.dtype.kind not in "iuf" or not (np.round(raw, 6) >= DAY).any():
        return da  # (negative times are refused where they are converted)
    time, time_attr = _held(da, time_keyword)
    assert time is not None
    # to the microsecond, as a time is written: 86399.9999999 is the next day's 00:00:00
    seconds = time.astype(float).round(6)
    date, date_attr = _held(da, date_keyword)
    first = float(np.asarray(seconds.values)[np.asarray(seconds.values) >= DAY][0])
    if date is None:
        raise _no_date(time_keyword, date_keyword, first)
    dates = _days(date, date_keyword)
    # both on the dims of either, in one order
    dims = tuple(dict.fromkeys((*seconds.dims, *dates.dims)))
    sizes = {**seconds.sizes, **dates.sizes}
    t = np.asarray(seconds.set_dims(sizes).transpose(*dims).values)
    d = np.asarray(dates.set_dims(sizes).transpose(*dims).values)
    if (np.isnat(d) & (t >= DAY)).any():
        raise _no_date(time_keyword, date_keyword, first)
    whole = np.floor(np.nan_to_num(t) / DAY).astype("timedelta64[D]")
    known = ~np.isnan(t) & ~np.isnat(d)
    starts = np.unique((d - whole)[known])
    distinct = np.unique(d[~np.isnat(d)])
    # a coordinate of one date is one date, as an attr is
    if len(distinct) > 1 and len(starts) <= 1:
        written = d  # each frame's own date, as to_xarray gives them
    elif len(distinct) <= 1 and not (t[known] >= DAY).all():
        written = d + whole  # the date the times count from, and the days past it
    elif len(distinct) <= 1:
        raise InvalidValueError(
            f"every {time_keyword} ({first} s...) is past the midnight of the one "
            f"{date_keyword} the array gives ({distinct[0] if len(distinct) else 'none'}): "
            f"is that the frames' own date (as a frame selected from a series acquired "
            f"across midnight has) or the day their times count from? Give times of day "
            f"(da.assign_coords({time_keyword}=da.{time_keyword} % 86400)) with the "
            f"frames' date as {date_keyword}."
        )
    else:
        raise InvalidValueError(
            f"the {date_keyword} of the frames ({', '.join(str(x) for x in distinct[:3])}) "
            f"do not go with their {time_keyword} past midnight ({first} s...): to_xarray "
            f"gives each frame its own date, with the times counted on from the first "
            f"day's midnight. Give times of day (da.assign_coords({time_keyword}="
            f"da.{time_keyword} % 86400)) with each frame's date, or one date for all "
            f"frames with the times counted on from its midnight."
        )
    da = _put(da, time_keyword, seconds - np.floor(seconds / DAY) * DAY, time_attr)
    kind = date.dtype if date.dtype.kind == "M" else np.dtype("datetime64[s]")
    written_dates = type(date)(dims, written.astype(kind))
    return _put(da, date_keyword, written_dates, date_attr)


def _no_date(time_keyword: str, date_keyword: str, first: float) -> InvalidValueError:
    return InvalidValueError(
        f"{time_keyword} {first} s is past midnight (86400 s or more: as to_xarray counts "
        f"the times of a series acquired across midnight), and the array gives no "
        f"{date_keyword} to carry the day: a DICOM time holds a time of day only. Give "
        f"the date of the day the times count from (da.assign_coords({date_keyword}="
        f"np.datetime64('2024-01-15'))), or times of day "
        f"(da.assign_coords({time_keyword}=da.{time_keyword} % 86400)) with each "
        f"frame's date."
    )


def _put(da: Any, keyword: str, values: Variable, attr: bool) -> Any:
    """``da`` with ``values`` as ``keyword``: an attr where it was one and is one value."""
    out = da.copy(deep=False)
    out.attrs = {k: v for k, v in da.attrs.items() if k != keyword}
    if attr and not values.dims:
        out.attrs[keyword] = values.values[()]
        return out
    order = [d for d in da.dims if d in values.dims]
    return out.assign_coords({keyword: values.transpose(*order)})
