"""The numpy face of a series: ``array()`` and ``export_as_npy()``.

A thin layer over :func:`~dbdicom._arrays._xarray.build_dataarray`: the same
grid, with frames that share a grid point enumerated along an extra axis
``n`` instead of refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._index import Index

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["array_and_header", "instance_header"]


def array_and_header(
    da: xr.DataArray, index: Index, make_instance: Any, pixels_first: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Compute ``da`` (dims ``(*tags, n, row, column)``) and its header array.

    The header is an object array shaped like the non-pixel axes holding the
    :class:`~dbdicom.Instance` of each image (None where a grid point has
    fewer images than ``n``).
    """
    values = da.values
    uids = da.coords["SOPInstanceUID"].values
    header = instance_header(uids, index, make_instance)
    if pixels_first:
        n_pixel = values.ndim - uids.ndim
        values = np.moveaxis(values, list(range(uids.ndim, values.ndim)), list(range(n_pixel)))
    return values, header


def instance_header(uids: np.ndarray, index: Index, make_instance: Any) -> np.ndarray:
    """The instance of each SOP Instance UID of ``uids`` (None for ``""`` or a UID not found).

    An object array of the shape of ``uids``; ``make_instance`` makes an
    instance from its key.
    """
    keys = _instance_keys(index)
    header = np.empty(np.shape(uids), dtype=object)
    for pos, uid in np.ndenumerate(np.asarray(uids)):
        key = keys.get(str(uid)) if uid else None
        header[pos] = make_instance(key) if key is not None else None
    return header


def _instance_keys(index: Index) -> dict[str, str]:
    """Instance keys by SOP Instance UID, and by key (a file without a UID has its key)."""
    frame = index.frame
    uids = frame["SOPInstanceUID"].to_numpy(dtype=object)
    keys = frame["_instance"].to_numpy(dtype=object)
    out = {str(k): str(k) for k in keys}
    out.update({str(u): str(k) for u, k in zip(uids, keys, strict=True) if isinstance(u, str)})
    return out
