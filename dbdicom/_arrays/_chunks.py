"""What ``chunks=`` asks for, as grid points per dask chunk along the tag dims.

``to_xarray(chunks=...)`` takes what dask and xarray take, along the tag
dims only (the pixel dims ``row``, ``column``, ``channel`` are never
split: a frame is read whole):

* ``None`` or ``True``: chunks of about 8 MiB (:func:`~._lazy.auto_block`);
* ``False``: no dask, a lazily indexed array;
* ``"auto"`` (or a size in bytes, ``"64MiB"``): dask chooses, as
  ``dask.array.core.normalize_chunks`` does from its ``array.chunk-size``;
* an ``int``: that many grid points a chunk along every tag dim (-1: whole);
* a dict of tag dims: per dim an ``int`` (-1 or None: the whole dim) or
  ``"auto"``; tag dims not named have one grid point a chunk, and ``{}``
  is the default (as ``None``).

:func:`chunk_request` checks the argument before anything is read, with an
:class:`~dbdicom.InvalidValueError` that says what ``chunks`` may be;
:func:`chunk_block` turns it into sizes once the grid is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any, Literal, TypeAlias

import numpy as np
from dask.array.core import normalize_chunks
from dask.utils import parse_bytes

from .._errors import GridError, InvalidValueError

__all__ = ["Chunks", "check_chunk_size", "chunk_block", "chunk_request"]

#: what ``chunks=`` of ``to_xarray`` takes
Chunks: TypeAlias = Mapping[str, int | str | None] | int | str | bool | None

#: the kind of a chunk size: a number of grid points, or words for dask to choose
Size: TypeAlias = int | str | None

_WHAT = (
    'chunks may be None (about 8 MiB a chunk), False (no dask), "auto" (dask chooses, '
    'or a size such as "64MiB"), a whole number of grid points a chunk along every tag '
    'dim (-1: the whole dim), or a dict of tag dims to those, e.g. {"SliceLocation": 1, '
    '"FlipAngle": -1}'
)


def check_chunk_size(dim: str, value: Any, words: bool = True) -> Size:
    """One chunk size along ``dim``: a whole number >= 1, -1 or None (the whole dim), or "auto".

    ``words=False`` refuses ``"auto"`` and sizes in bytes (where nothing
    chooses for the caller). Raises :class:`~dbdicom.InvalidValueError`.

    Examples
    --------
    >>> check_chunk_size("SliceLocation", 4), check_chunk_size("SliceLocation", -1)
    (4, -1)
    >>> check_chunk_size("SliceLocation", 0)
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: chunks along 'SliceLocation' is 0: ...
    """
    if value is None or (isinstance(value, str) and words and _is_size_in_words(value)):
        return value
    if isinstance(value, Integral) and not isinstance(value, bool | np.bool_):
        if int(value) >= 1 or int(value) == -1:
            return int(value)
    allowed = (
        'a whole number of grid points (1 or more), -1 or None for the whole dim, or "auto"'
        if words
        else "a whole number of grid points (1 or more), or -1 for the whole dim"
    )
    raise InvalidValueError(f"chunks along {dim!r} is {value!r}: give {allowed}.")


def _is_size_in_words(value: str) -> bool:
    """Whether ``value`` is ``"auto"`` or a size in bytes that dask reads (``"64MiB"``)."""
    if value == "auto":
        return True
    try:
        return parse_bytes(value) > 0
    except ValueError:
        return False


def chunk_request(chunks: Any) -> dict[str, Size] | Size | bool:
    """``chunks`` checked (see the module docs): None, False, or the sizes asked for.

    A ``str`` or an ``int`` is one size for every tag dim; a dict, sizes by
    dim (``{}`` is None: the default).

    Examples
    --------
    >>> chunk_request("auto"), chunk_request({"SliceLocation": None}), chunk_request({})
    ('auto', {'SliceLocation': None}, None)
    >>> chunk_request(2.5)
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: chunks=2.5: chunks may be None ...
    """
    if chunks is None or chunks is True:
        return None
    if chunks is False:
        return False
    if isinstance(chunks, Mapping):
        if not chunks:
            return None
        return {str(d): check_chunk_size(str(d), n) for d, n in chunks.items()}
    if isinstance(chunks, str) and _is_size_in_words(chunks):
        return chunks
    if isinstance(chunks, Integral) and not isinstance(chunks, np.bool_):
        if int(chunks) >= 1 or int(chunks) == -1:
            return int(chunks)
    raise InvalidValueError(f"chunks={chunks!r}: {_WHAT}.")


def chunk_block(
    request: dict[str, Size] | Size | bool,
    dims: Sequence[str],
    shape: tuple[int, ...],
    frame_shape: tuple[int, ...],
    dtype: np.dtype,
    shared: bool = False,
) -> list[int] | Literal[False] | None:
    """Grid points per chunk along each tag dim, for :func:`~._lazy.lazy_frames`.

    ``request`` is what :func:`chunk_request` gives; None (the default
    chunks) and False (no dask) are returned as they are. ``"auto"`` lets
    dask choose along the tag dims, the frames whole. A dict naming a dim
    that is not one of ``dims`` is a :class:`~dbdicom.GridError`, unless it
    is ``shared`` by the arrays of several series (a tree, an export): then
    each array takes the sizes of the dims it has.

    Examples
    --------
    >>> f8 = np.dtype("f8")
    >>> chunk_block({"z": -1}, ["z", "t"], (6, 4), (64, 64), f8)  # t not named: 1
    [6, 1]
    >>> chunk_block(2, ["z", "t"], (6, 4), (64, 64), f8)
    [2, 2]
    >>> chunk_block("auto", ["z", "t"], (6, 4), (64, 64), f8)  # 768 kB: one chunk
    [6, 4]
    >>> chunk_block({"z": "256kiB", "t": -1}, ["z", "t"], (6, 4), (64, 64), f8)  # 32 kiB frames
    [2, 4]
    >>> chunk_block({"z": 2, "FlipAngle": 1}, ["z"], (6,), (64, 64), f8, shared=True)
    [2]
    """
    if request is None or request is False or request is True:
        return None if request is not False else False
    if isinstance(request, dict):
        if shared:
            request = {d: n for d, n in request.items() if d in dims}
        unknown = set(request) - set(dims)
        if unknown:
            raise GridError(
                f"chunks name {sorted(unknown)}, which are not tag dims of this array "
                f"({list(dims)}); pixel dims are never split"
            )
        sizes: list[Size] = [request.get(d, 1) for d in dims]
    else:
        sizes = [request] * len(dims)
    if not dims:
        return []
    if not any(isinstance(s, str) for s in sizes):
        return [n if s in (-1, None) else int(s) for s, n in zip(sizes, shape, strict=True)]
    try:  # dask's own choice, from its array.chunk-size or the size in bytes given
        chosen = normalize_chunks((*sizes, *frame_shape), (*shape, *frame_shape), dtype=dtype)
    except ValueError as exc:  # two different sizes in bytes
        raise InvalidValueError(f"chunks={request!r}: {exc}. {_WHAT}.") from exc
    return [int(c[0]) for c in chosen[: len(dims)]]
