"""The dims of an array to write, kept: the tags that make them read back, or a refusal.

A write makes one single-frame instance per frame; reading them back, the
dims are chosen from their tags (:func:`~._dims.choose_dims`). Dims that
are tags (``SliceLocation``, ``EchoTime``...) come back by their values;
``StackID`` by the stack each frame is written with. The dims that number
points and are no tags come back only where the frames' tags say so:

* ``cardiac_phase``: the phases of a cine, ranked by their TriggerTime at
  each slice, where the frames have a (0018,1090) CardiacNumberOfImages
  above 1. :func:`kept_layout` gives it (the number of phases) where the
  array does not, and refuses a cine whose TriggerTime does not rank the
  phases as the reader does (none, or not increasing along the phases), or
  names them on its own (the same at every slice: a ``TriggerTime`` dim);
* ``diffusion``: the volumes of a diffusion series, by their b-values
  (DiffusionBValue, above 0 in some) and directions; where one b-value
  per volume and no direction tells them apart, they read back along a
  ``DiffusionBValue`` dim: refused;
* ``volume``: the points of an enhanced file's Dimension Index that no tag
  names; single-frame files have no such index: refused.

Each refusal (:class:`~dbdicom.InvalidValueError`) names what would be lost
and the way out (a tag dim: ``swap_dims``, ``rename``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InvalidValueError
from ._diffusion import B_VALUE, DIFFUSION, DIRECTION
from ._dimension_index import CARDIAC_PHASE, VOLUME

__all__ = ["kept_layout"]

_CARDIAC_NUMBER = "CardiacNumberOfImages"
_TRIGGER = "TriggerTime"
_DECIMALS = 4  # as the reader compares values (_dims._codes)


def kept_layout(da: Any) -> Any:
    """``da`` with what makes its dims read back, else an :class:`~dbdicom.InvalidValueError`.

    See the module notes. Only ``cardiac_phase`` needs a tag added: a
    scalar ``CardiacNumberOfImages`` coordinate, the number of phases, where
    the array gives none.

    Examples
    --------
    >>> import xarray as xr
    >>> cine = xr.DataArray(np.zeros((2, 3, 4, 4)), dims=("SliceLocation", "cardiac_phase", "row", "column"),
    ...                     coords={"SliceLocation": [0.0, 5.0],
    ...                             "TriggerTime": (("SliceLocation", "cardiac_phase"), [[0, 40, 80], [2, 42, 82]])})
    >>> int(kept_layout(cine).CardiacNumberOfImages)
    3
    >>> kept_layout(cine.isel(SliceLocation=0))
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: its TriggerTime names each of its 3 cardiac phases ...
    """  # noqa: E501
    dims = [d for d in da.dims if d not in ("row", "column", "channel")]
    if VOLUME in dims:
        raise InvalidValueError(
            f"the dim {VOLUME!r} numbers the points of an enhanced file's Dimension Index "
            "that no tag names, and the images written (one file per frame) have no such "
            f"index: they would read back along other dims, and the {VOLUME} numbers would "
            "be lost. Name it after the tag that tells the volumes apart (da.swap_dims(volume="
            "'TemporalPositionIndex') where that is a coordinate, or da.rename(volume="
            "'TemporalPositionIdentifier')), or write one series per volume (da.isel(volume=k))."
        )
    if CARDIAC_PHASE in dims:
        da = _cine(da, dims)
    if DIFFUSION in dims:
        _diffusion(da, dims)
    return da


def _coordinate(da: Any, name: str, dim: str, dims: list[str]) -> np.ndarray | None:
    """The numbers of coordinate ``name`` per frame (on ``dims``); None if not on ``dim``."""
    coord = da.coords.get(name)
    if coord is None or dim not in coord.dims or coord.dtype.kind not in "fiu":
        return None
    frame = da.isel({d: 0 for d in ("row", "column", "channel") if d in da.dims}, drop=True)
    return np.asarray(coord.astype(float).broadcast_like(frame).transpose(*dims).values)


def _cine(da: Any, dims: list[str]) -> Any:
    """``da`` with a CardiacNumberOfImages, where its TriggerTime ranks the phases as read."""
    phases = int(da.sizes[CARDIAC_PHASE])
    way_out = (
        f"Give each frame its {_TRIGGER} (a coordinate along {CARDIAC_PHASE!r}, increasing), "
        f"or write the phases along 'frame', which keeps their order "
        f"(da.drop_vars({CARDIAC_PHASE!r}, errors='ignore').rename({CARDIAC_PHASE}='frame'))."
    )
    times = _coordinate(da, _TRIGGER, CARDIAC_PHASE, dims)
    if times is None or np.isnan(times).any():
        raise InvalidValueError(
            f"the {phases} phases of its {CARDIAC_PHASE!r} dim are read back in the order of "
            f"each frame's {_TRIGGER}, and the array gives none along that dim: they would "
            f"read back along another dim. {way_out}"
        )
    axis = dims.index(CARDIAC_PHASE)
    gaps = np.diff(times, axis=axis)
    if phases > 1 and not (gaps > 0).all():
        raise InvalidValueError(
            f"its {_TRIGGER} does not increase along {CARDIAC_PHASE!r} at every slice, and the "
            f"phases read back in the order of their {_TRIGGER}: they would be reordered or "
            f"read along another dim. {way_out}"
        )
    spread = np.ptp(np.moveaxis(times, axis, 0).reshape(phases, -1), axis=1)
    if phases > 1 and spread.max() * 2 >= gaps.min():
        raise InvalidValueError(
            f"the {_TRIGGER} of a phase differs more between the slices than half the time "
            f"between phases: the phases would read back along 'frame'. {way_out}"
        )
    distinct = len(np.unique(np.round(times, _DECIMALS)))
    if phases > 1 and distinct == phases:
        raise InvalidValueError(
            f"its {_TRIGGER} names each of its {phases} cardiac phases on its own (one value "
            f"per phase, at every slice): they would read back along a {_TRIGGER!r} dim, as "
            f"the reader gives such a cine. Write it so: da.swap_dims({CARDIAC_PHASE}="
            f"{_TRIGGER!r}) (or drop_vars({CARDIAC_PHASE!r}) first where it is a coordinate)."
        )
    if phases > 1 and _CARDIAC_NUMBER not in da.coords and _CARDIAC_NUMBER not in da.attrs:
        da = da.assign_coords({_CARDIAC_NUMBER: phases})
    return da


def _diffusion(da: Any, dims: list[str]) -> None:
    """Refuse a ``diffusion`` dim whose b-values and directions would not read back as one."""
    b = _coordinate(da, B_VALUE, DIFFUSION, dims)
    if b is None or not (np.nan_to_num(b) > 0).any():
        raise InvalidValueError(
            f"the volumes of its {DIFFUSION!r} dim are read back by their b-values, and it has "
            f"no {B_VALUE} above 0 along that dim: they would read back along another dim, "
            f"and a .bval would be lost. Give the b-values as a coordinate "
            f"(da.assign_coords({B_VALUE}=({DIFFUSION!r}, [...])), with the "
            f"{DIRECTION}[0..2] of each), or name the dim after a tag."
        )
    components = [_coordinate(da, f"{DIRECTION}[{i}]", DIFFUSION, dims) for i in range(3)]
    directed = any(c is not None and np.isfinite(c).any() for c in components)
    volumes = int(da.sizes[DIFFUSION])
    per_volume = np.moveaxis(b, dims.index(DIFFUSION), 0).reshape(volumes, -1)
    one_each = bool((np.ptp(per_volume, axis=1) == 0).all())
    if volumes > 1 and not directed and one_each and len(np.unique(per_volume[:, 0])) == volumes:
        raise InvalidValueError(
            f"its {volumes} diffusion volumes have no gradient direction and one b-value each: "
            f"they read back along a {B_VALUE!r} dim, as the reader gives such a series. "
            f"Write it so: da.swap_dims({DIFFUSION}={B_VALUE!r}), or give each volume its "
            f"direction ({DIRECTION}[0], [1], [2] coordinates along {DIFFUSION!r})."
        )
