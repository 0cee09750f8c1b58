"""The encoding that lets Zarr's JSON metadata hold a DataArray's attrs and coordinates.

Zarr metadata is JSON, which has no tuples, numpy arrays or object arrays,
so values that JSON cannot hold as they are are encoded, and each variable
that needs it (the image and any coordinate) gets an attr
``_dbdicom_encoding``, a JSON object saying what to undo:

``"tuples"``
    names of attrs that were tuples of plain values (``PixelSpacing``,
    ``ImageOrientationPatient``, ``ImageType``...), stored as JSON lists.
``"arrays"``
    ``{name: dtype}`` of attrs that were numeric numpy arrays (the 4 x 4
    ``affine``), stored as nested lists.
``"json"``
    names of attrs holding anything else (nested tuples, non-finite floats,
    bytes, numpy scalars...), stored as text in *dbdicom JSON* (below).
``"values": "json"``
    on a coordinate whose values were Python objects (an object array:
    ``ImagePositionPatient`` of each frame, ``DimensionIndexValues``...):
    stored as an array of strings, each value one dbdicom JSON text, e.g.
    ``"[-118.125, -118.125, -12.5]"``; ``null`` where a frame has none.
``"dtype"``
    on a date, time or fixed-width text coordinate (``SOPInstanceUID``):
    its numpy dtype, restored after reading. Text is stored as Zarr's
    variable-length ``string`` (Zarr 3 has no fixed-width text type).
``"format"``, ``"version"``, ``"name"``
    ``"dbdicom-zarr"``, the version of the layout (1: the DataArray as an
    xarray store; 2: OME-Zarr, see :mod:`dbdicom._export._zarr`) and the
    DataArray's name.

*dbdicom JSON* is JSON in which a JSON array is a tuple; a list is
``{"__list__": [...]}``, a dict ``{"__dict__": [[key, value], ...]}``,
bytes ``{"__bytes__": base64}``, a numpy array ``{"__ndarray__": flat
values, "dtype": ..., "shape": [...]}``, a numpy scalar ``{"__numpy__":
value, "dtype": ...}``; non-finite floats are ``NaN``/``Infinity`` (as
Python's :mod:`json` writes them); other sequences (pydicom's MultiValue)
become tuples. A value of any other type is stored as its text,
``{"__str__": text}``, and read back as that text.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["VERSION", "decode_zarr", "encode_zarr"]

_ENCODING = "_dbdicom_encoding"
#: the version of the layout :func:`dbdicom._export.write_zarr` writes (1 was an xarray store)
VERSION = 2


def _native(value: Any) -> bool:
    """Whether JSON holds ``value`` as it is (and gives back the same Python value)."""
    if isinstance(value, np.generic):
        return False
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_native(v) for v in value)
    return False


def _to_json(value: Any) -> Any:
    """``value`` as *dbdicom JSON* (see the module docs): a JSON array is a tuple."""
    if isinstance(value, np.generic):
        return _numpy_to_json(value)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, list):
        return {"__list__": [_to_json(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[_to_json(k), _to_json(v)] for k, v in value.items()]}
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, complex):
        return {"__complex__": [value.real, value.imag]}
    if isinstance(value, np.ndarray):
        return _ndarray_to_json(value)
    if isinstance(value, Sequence):  # e.g. pydicom's MultiValue: a tuple, as dbdicom gives
        return [_to_json(v) for v in value]
    return {"__str__": str(value)}


def _numpy_to_json(value: np.generic) -> dict[str, Any]:
    """A numpy scalar as *dbdicom JSON*: its value and dtype, or its text (other kinds)."""
    kind = value.dtype.kind
    if kind in "MmU":
        item: Any = str(value)
    elif kind == "c":
        item = [float(np.real(value)), float(np.imag(value))]
    elif kind in "biuf":
        item = value.item()
    else:
        return {"__str__": str(value)}
    return {"__numpy__": item, "dtype": value.dtype.str}


def _ndarray_to_json(value: np.ndarray) -> dict[str, Any]:
    """A numpy array as *dbdicom JSON*: its items (flat), dtype and shape."""
    kind = value.dtype.kind
    if kind in "biuf":
        items: list[Any] = value.ravel().tolist()
    elif kind in "MmU":
        items = value.astype(str).ravel().tolist()
    elif kind == "c":
        items = [[float(v.real), float(v.imag)] for v in value.ravel().tolist()]
    else:
        items = [_to_json(v) for v in value.ravel().tolist()]
    return {"__ndarray__": items, "dtype": value.dtype.str, "shape": list(value.shape)}


def _from_json(value: Any) -> Any:
    """The Python value of *dbdicom JSON* (the inverse of :func:`_to_json`).

    Examples
    --------
    >>> _from_json(json.loads(json.dumps(_to_json((1.5, ("a", None), [2], b"x")))))
    (1.5, ('a', None), [2], b'x')
    """
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    if not isinstance(value, dict):
        return value
    if "__list__" in value:
        return [_from_json(v) for v in value["__list__"]]
    if "__dict__" in value:
        return {_from_json(k): _from_json(v) for k, v in value["__dict__"]}
    if "__bytes__" in value:
        return base64.b64decode(value["__bytes__"])
    if "__complex__" in value:
        return complex(*value["__complex__"])
    if "__str__" in value:
        return str(value["__str__"])
    if "__numpy__" in value:
        dtype = np.dtype(value["dtype"])
        item = value["__numpy__"]
        return np.array(complex(*item) if dtype.kind == "c" else item, dtype=dtype)[()]
    if "__ndarray__" in value:
        return _ndarray_from_json(value)
    return {k: _from_json(v) for k, v in value.items()}


def _ndarray_from_json(value: dict[str, Any]) -> np.ndarray:
    """The numpy array of *dbdicom JSON* ``{"__ndarray__": items, "dtype", "shape"}``."""
    dtype, shape, items = np.dtype(value["dtype"]), value["shape"], value["__ndarray__"]
    if dtype.kind == "c":
        return np.array([complex(*v) for v in items], dtype=dtype).reshape(shape)
    if dtype.kind in "biufMmU":
        return np.array(items, dtype=dtype).reshape(shape)
    out = np.empty(len(items), dtype=dtype)
    for i, item in enumerate(items):
        out[i] = _from_json(item)
    return out.reshape(shape)


def _encode_attrs(attrs: Mapping[Any, Any]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """Attrs JSON holds, and what was done to them (see the module docs)."""
    stored: dict[Any, Any] = {}
    tuples: list[Any] = []
    arrays: dict[Any, str] = {}
    texts: list[Any] = []
    for name, value in attrs.items():
        if _native(value):
            stored[name] = value
        elif isinstance(value, tuple) and all(_native(v) for v in value):
            stored[name] = list(value)
            tuples.append(name)
        elif (
            isinstance(value, np.ndarray)
            and value.dtype.kind in "biuf"
            and bool(np.isfinite(value).all())
        ):
            stored[name] = value.tolist()
            arrays[name] = value.dtype.str
        else:
            stored[name] = json.dumps(_to_json(value))
            texts.append(name)
    encoding = {"tuples": tuples, "arrays": arrays, "json": texts}
    return stored, {k: v for k, v in encoding.items() if v}


def _decode_attrs(attrs: Mapping[Any, Any]) -> dict[Any, Any]:
    encoding = attrs.get(_ENCODING)
    encoding = encoding if isinstance(encoding, dict) else {}
    tuples, arrays = set(encoding.get("tuples", ())), encoding.get("arrays", {})
    texts = set(encoding.get("json", ()))
    out: dict[Any, Any] = {}
    for name, value in attrs.items():
        if name == _ENCODING:
            continue
        if name in tuples:
            value = tuple(value)
        elif name in arrays:
            value = np.array(value, dtype=arrays[name])
        elif name in texts:
            value = _from_json(json.loads(value))
        out[name] = value
    return out


def _texts(texts: list[str], shape: tuple[int, ...]) -> np.ndarray:
    """``texts`` as an object array of ``shape``: Zarr's variable-length strings."""
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out.reshape(shape)


def encode_zarr(da: xr.DataArray) -> xr.DataArray:
    """``da`` with attrs and coordinates Zarr can store (see the module docs).

    The pixel values are not touched (nor computed). :func:`decode_zarr`
    undoes it.

    Examples
    --------
    >>> da = database.series(SeriesDescription="T2w")[0].to_xarray()
    >>> encoded = encode_zarr(da)
    >>> encoded.attrs["PixelSpacing"], encoded.attrs["_dbdicom_encoding"]["arrays"]["PixelSpacing"]
    ([3.75, 3.75], '<f8')
    >>> import xarray as xr
    >>> xr.testing.assert_identical(decode_zarr(encoded), da)
    """
    attrs, encoding = _encode_attrs(da.attrs)
    encoding = {"format": "dbdicom-zarr", "version": VERSION, "name": _to_json(da.name), **encoding}
    out = da.copy(deep=False)
    out.attrs = {**attrs, _ENCODING: encoding}
    coords = {}
    for name, coord in da.coords.items():
        coord_attrs, coord_encoding = _encode_attrs(coord.attrs)
        values = np.asarray(coord.values)
        if values.dtype == object:
            texts = [json.dumps(_to_json(v)) for v in values.ravel().tolist()]
            values = _texts(texts, values.shape)
            coord_encoding["values"] = "json"
        elif values.dtype.kind in "MmU":
            coord_encoding["dtype"] = values.dtype.str
            if values.dtype.kind == "U":
                values = _texts(values.ravel().tolist(), values.shape)
        if coord_encoding:
            coord_attrs[_ENCODING] = coord_encoding
            coords[name] = (coord.dims, values, coord_attrs)
    return out.assign_coords(coords) if coords else out


def decode_zarr(da: xr.DataArray) -> xr.DataArray:
    """Undo :func:`encode_zarr`; a DataArray without the encoding is returned as it is."""
    encoding = da.attrs.get(_ENCODING)
    if not isinstance(encoding, dict):
        return da
    out = da.copy(deep=False)
    out.attrs = _decode_attrs(da.attrs)
    out.name = _from_json(encoding.get("name", da.name))
    coords = {}
    for name, coord in da.coords.items():
        coord_encoding = coord.attrs.get(_ENCODING)
        if not isinstance(coord_encoding, dict):
            continue
        values = np.asarray(coord.values)
        if coord_encoding.get("values") == "json":
            decoded = np.empty(values.size, dtype=object)
            for i, text in enumerate(values.ravel().tolist()):
                decoded[i] = _from_json(json.loads(text))
            values = decoded.reshape(values.shape)
        if "dtype" in coord_encoding:
            values = values.astype(coord_encoding["dtype"])
        coords[name] = (coord.dims, values, _decode_attrs(coord.attrs))
    return out.assign_coords(coords) if coords else out
