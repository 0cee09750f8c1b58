"""Writing a numpy array into a series: the numpy face of :func:`._write.set_xarray`.

A numpy array has no dim names: it is ``(..., row, column)`` (``(row,
column, ...)`` with ``pixels_first``), and every 2-D frame becomes a grey
image, numbered in C order, in a stack of slices where no header places it.
Colour needs a DataArray with a ``channel`` dim; an array that looks like
colour images (a last dim of 3 or 4, far shorter than the two before it) is
written as asked, with a :class:`~dbdicom.DicomWarning` that says how to
write colour.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InvalidValueError
from ._record import Record
from ._write import header_array

__all__ = ["colour_hint", "write_array"]


def write_array(
    series: Record,
    array: Any,
    header: Any = None,
    pixels_first: bool = False,
    replace: bool = False,
    kind: str = "image",
) -> Any:
    """Write ``array`` into ``series`` (see :meth:`dbdicom.Series.set_array`); returns it."""
    import xarray as xr  # heavy: not for the rest of the numpy face

    target: Any = series
    values = np.asarray(array)
    hint = None if pixels_first else colour_hint(values.shape)
    if pixels_first and values.ndim > 2:
        values = np.moveaxis(values, (0, 1), (-2, -1))
    if values.ndim < 2:
        raise InvalidValueError(
            f"an image array needs at least 2 dims (row, column); got shape {values.shape}."
        )
    if replace:
        rows, columns = target.unique("Rows"), target.unique("Columns")
        if rows and (rows != [values.shape[-2]] or columns != [values.shape[-1]]):
            raise InvalidValueError(
                f"the images of {target!r} are {rows} x {columns} pixels, the array's "
                f"{values.shape[-2]} x {values.shape[-1]}: to keep both, write the array "
                "into a new series (series.new_sibling().set_array(array))."
            )
    frames = values.reshape(-1, *values.shape[-2:])
    if replace and header is None:
        own = target.instances()  # replacing the images keeps the series' headers
        if len(own) == len(frames):
            header = own
    if header is not None:
        given = header_array(header)
        if given.size not in (1, len(frames)):
            raise InvalidValueError(
                f"the header array has {given.size} item(s) (shape {given.shape}) but the "
                f"array has {len(frames)} frame(s) (shape {values.shape}): give one header "
                "per frame, or one for all."
            )
        header = given.reshape(-1) if given.size == len(frames) else given.reshape(())
    if hint is not None:
        series._warn(hint)
    # a dim without coordinate: made from the template, the frames are a stack
    da = xr.DataArray(frames, dims=("SliceLocation", "row", "column"))
    return target.set_xarray(da, header=header, kind=kind)


def colour_hint(shape: tuple[int, ...]) -> str | None:
    """What to say of a numpy array of ``shape`` that looks like colour images; None: it does not.

    It does where its last dim has 3 or 4 values (RGB, RGBA) and the two
    before it at least 4 times as many: ``set_array`` writes it as grey
    images of that few columns.

    Examples
    --------
    >>> print(colour_hint((20, 30, 3)))  # doctest: +ELLIPSIS
    the array of shape (20, 30, 3) is written as 20 grey-scale images of 30 x 3 pixels...
    >>> colour_hint((3, 64, 64)), colour_hint((64, 64)), colour_hint((8, 30, 3))
    (None, None, None)
    """
    if len(shape) < 3 or shape[-1] not in (3, 4) or min(shape[-3:-1]) < 4 * shape[-1]:
        return None
    frames = int(np.prod(shape[:-2], dtype=np.int64))
    dims = _COLOUR_DIMS.get(len(shape), "(..., 'row', 'column', 'channel')")
    what = "a colour image" if len(shape) == 3 else "colour images"
    rgb = "array[..., :3]" if shape[-1] == 4 else "array"
    return (
        f"the array of shape {shape} is written as {frames} grey-scale images of "
        f"{shape[-2]} x {shape[-1]} pixels (set_array takes (..., row, column)). If it "
        f"holds {what} of {shape[-3]} x {shape[-2]} pixels, write it as colour with a "
        f"'channel' dim last: series.set_xarray(xr.DataArray({rgb}, dims={dims}))"
        + (" (RGB: a DICOM colour image has no alpha)." if shape[-1] == 4 else ".")
    )


_COLOUR_DIMS = {
    3: "('row', 'column', 'channel')",
    4: "('SliceLocation', 'row', 'column', 'channel')",
}
