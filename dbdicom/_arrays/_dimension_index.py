"""The dims an enhanced multi-frame file states itself: its Dimension Index.

An enhanced file (Enhanced MR, CT, PET...) says how its frames are
organised: each item of its (0020,9222) 'Dimension Index Sequence' points
at a tag (StackID, InStackPositionNumber, NominalCardiacTriggerDelayTime,
DiffusionBValue...), and each frame's (0020,9157) 'Dimension Index Values'
holds, per item, the frame's index along that dimension (from 1). Where
dims are not given, :func:`index_dims` makes the grid that index defines:

* the component that counts the slices of a stack (InStackPositionNumber,
  or ImagePositionPatient) is the dim ``SliceLocation``, whose values are
  the positions along the slice normal (one per index value and stack);
* StackID is a dim only where the frames need it to be told apart (two
  stacks at the same positions); otherwise it is a coordinate;
* every other component that varies is a dim named after the tag it
  points at (its classic keyword: ``TriggerTime`` for
  NominalCardiacTriggerDelayTime) when that tag has one value per index
  value and another at each: those values are its coordinate. Otherwise the
  dim is the index itself, named after what it counts (:data:`INDEX_DIMS`:
  ``cardiac_phase``, ``diffusion``, or ``volume``), numbered from 1,
  and the tag's values are coordinates on the dims they vary along (a
  cine whose trigger delays differ from slice to slice has ``TriggerTime``
  on ``(SliceLocation, cardiac_phase)``);
* components that do not fill a grid with the slices when each is a dim
  (a diffusion series indexed by b-value and gradient direction: the b0
  frames have one direction, the others three) are one dim together, their
  combinations numbered 1, 2... in the order of their index values; the b0
  frames, which have no direction, have NaN as its value.

An index that cannot place the frames (values of a length other than the
sequence's, frames that do not fill its grid, positions it does not say)
gives no dims: the reason is returned instead, for the error message of
:func:`~._layout.layout` should the other rules fail too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _files
from .._index import factorize
from .._keywords import keyword_for_tag
from ._diffusion import DIFFUSION
from ._frames import Frames
from ._table import to_coordinate

__all__ = ["CARDIAC_PHASE", "INDEX_DIMS", "IndexDims", "index_dims"]

#: dims that number the points of a dimension of the index (not DICOM tags)
# (a diffusion series' volumes: the dim of the same name as single-frame files', _diffusion.py)
CARDIAC_PHASE, VOLUME = "cardiac_phase", "volume"
INDEX_DIMS: frozenset[str] = frozenset({CARDIAC_PHASE, DIFFUSION, VOLUME})

_SLICE = "SliceLocation"
_STACK = "StackID"
#: pointers that count the slices of a stack
_IN_STACK = frozenset({"InStackPositionNumber", "ImagePositionPatient"})
_SEQUENCE = "DimensionIndexSequence"
_VALUES = "DimensionIndexValues"
_DECIMALS = 4
#: the pointers of each file read so far, by (path, size, mtime)
_POINTERS: dict[tuple[str, float, float], tuple[str, ...] | None] = {}


@dataclass
class IndexDims:
    """The dims of a file's Dimension Index and each one's value at every frame.

    Attributes
    ----------
    dims : list of str
        ``SliceLocation`` first (where the slices vary), then the others in
        the order of the index.
    values : dict of str to numpy.ndarray
        Per dim, its value at each frame (tag values, or index numbers).
    """

    dims: list[str]
    values: dict[str, np.ndarray] = field(default_factory=dict)


def _pointers(frames: Frames) -> tuple[str, ...] | str:
    """The keywords the files' Dimension Index Sequence points at; the reason where none."""
    table = frames.table
    found: set[tuple[str, ...] | None] = set()
    rows, first = np.unique(table["_row"], return_index=True)
    for row, k in zip(rows.tolist(), first.tolist(), strict=True):
        key = (str(table["_path"][k]), float(table["_size"][k]), float(table["_mtime"][k]))
        if key not in _POINTERS:
            if len(_POINTERS) > 256:
                _POINTERS.clear()
            sequence = frames.index.values(np.array([row]), _SEQUENCE)[0]
            _POINTERS[key] = _keywords(sequence)
        found.add(_POINTERS[key])
    if None in found:
        return f"(0020,9222) '{_SEQUENCE}' is missing or empty in {frames.describe(first)}"
    if len(found) > 1:
        return f"the files' (0020,9222) '{_SEQUENCE}' differ ({frames.describe(first)})"
    (pointers,) = found
    assert pointers is not None
    return pointers


def _keywords(sequence: Any) -> tuple[str, ...] | None:
    """The keyword of each item's (0020,9165) Dimension Index Pointer (None: none usable)."""
    if not sequence:
        return None
    out = []
    for item in sequence:
        pointer = item.get("DimensionIndexPointer")
        keyword = keyword_for_tag(int(pointer)) if pointer is not None else ""
        if not keyword:
            return None
        out.append(_files.FRAME_ALIASES.get(keyword, keyword))
    return tuple(out)


def _index_values(frames: Frames, n: int) -> np.ndarray | str:
    """Per frame, its ``n`` Dimension Index Values as integers; the reason where it has not."""
    values = frames.raw(_VALUES, read=False)
    bad = [k for k, v in enumerate(values) if not _of_length(v, n)]
    if bad:
        found = values[bad[0]]
        size = len(found) if isinstance(found, tuple) else (0 if found is None else 1)
        return (
            f"{len(bad)} of {len(values)} frames have (0020,9157) '{_VALUES}' of {size} "
            f"values where (0020,9222) '{_SEQUENCE}' has {n} items "
            f"({frames.describe(np.array(bad))}), so which tag each value indexes is not known"
            f"{_way_out(frames, values)}"
        )
    return np.array([v if isinstance(v, tuple) else (v,) for v in values], dtype=np.int64)


def _way_out(frames: Frames, values: list[Any]) -> str:
    """Dims that place the frames by the values of their index alone, said; else "".

    The values ``DimensionIndexValues[i]`` that vary and do not count the
    slices: with ``SliceLocation`` (where the slices vary), they may fill a
    grid, which the user can then ask for by name.
    """
    lengths = {len(v) if isinstance(v, tuple) else -1 for v in values}
    if len(lengths) != 1 or min(lengths) < 1:
        return ""
    table = np.array(values, dtype=np.int64)
    position = _codes(frames.coordinate(_SLICE))
    space = [] if position is None or len(np.unique(position)) == 1 else [position]
    columns = [c for c in table.T if len(np.unique(c)) > 1]
    kept = [i for i, c in enumerate(table.T) if len(np.unique(c)) > 1]
    kept = [
        i for i, c in zip(kept, columns, strict=True) if not (space and _one_to_one(c, space[0]))
    ]
    if not _fills([*space, *[table[:, i] for i in kept]], len(values)):
        return ""
    dims = [_SLICE] * len(space) + [f"{_VALUES}[{i}]" for i in kept]
    return f". They fill a grid of to_xarray(dims={dims}), if that is what they mean"


def _of_length(value: Any, n: int) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return n == 1
    return isinstance(value, tuple) and len(value) == n and all(isinstance(v, int) for v in value)


def _codes(values: np.ndarray) -> np.ndarray | None:
    """Integer codes of per-frame tag values; None where a frame has none."""
    if values.dtype.kind == "f":
        if np.isnan(values).any():
            return None
        return factorize(np.round(values, _DECIMALS))[0]
    if values.dtype.kind == "M":
        return None if np.isnat(values).any() else factorize(values)[0]
    if any(v is None or v == "" for v in values.tolist()):
        return None
    if values.dtype == object:
        keys = [
            repr(tuple(round(float(x), _DECIMALS) for x in v)) if isinstance(v, tuple) else repr(v)
            for v in values.tolist()
        ]
        return factorize(np.array(keys))[0]
    return factorize(values)[0]


def _one_to_one(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the codes ``a`` and ``b`` pair each value of one with one value of the other."""
    pairs = len(np.unique(a * (int(b.max()) + 1) + b))
    return pairs == len(np.unique(a)) == len(np.unique(b))


def _combine(columns: Sequence[np.ndarray], n: int) -> np.ndarray:
    """One code per frame for the combinations of ``columns`` (sorted: 0, 1, ...)."""
    combined = np.zeros(n, dtype=np.int64)
    for column in columns:
        codes = factorize(column, sort=True)[0]
        combined = combined * (int(codes.max()) + 1) + codes
    return factorize(combined, sort=True)[0]


def _fills(columns: Sequence[np.ndarray], n: int) -> bool:
    """Whether the codes ``columns`` give every frame its own point of a full grid."""
    cells = int(np.prod([len(np.unique(c)) for c in columns], dtype=np.int64))
    return cells == n and len(np.unique(_combine(columns, n))) == n


def _index_name(pointers: Sequence[str]) -> str:
    """The name of a dim that numbers the points of the components ``pointers``."""
    if any(p.startswith("Diffusion") for p in pointers):
        return DIFFUSION
    if any("Cardiac" in p or "Trigger" in p for p in pointers):
        return CARDIAC_PHASE
    return VOLUME


def index_dims(frames: Frames) -> IndexDims | str:
    """The dims of the frames' Dimension Index (see the module notes); the reason where none.

    ``frames`` are those of one geometry group. Frames without (0020,9157)
    Dimension Index Values give none, and no reason (``""``).
    """
    if not frames.per_frame or (frames.table["_fpos"] < 0).any():
        return ""  # frames of classic files: no index to speak of
    values = frames.raw(_VALUES, read=False)  # per frame: no file read for it
    if any(v is None for v in values):
        return ""  # no index: nothing to say
    if len({repr(v) for v in values}) < len(values):  # (no pointers read for them)
        return f"frames share their (0020,9157) '{_VALUES}' ({frames.describe(np.arange(1))})"
    pointers = _pointers(frames)
    if isinstance(pointers, str):
        return pointers
    index = _index_values(frames, len(pointers))
    if isinstance(index, str):
        return index
    n = len(frames)
    stacks = [i for i, p in enumerate(pointers) if p == _STACK]
    stack = _combine([index[:, i] for i in stacks], n) if stacks else np.zeros(n, np.int64)
    space = _slices(frames, pointers, index, stack)
    if isinstance(space, str):
        return space
    others = [
        i
        for i, p in enumerate(pointers)
        if p != _STACK and p not in _IN_STACK and len(np.unique(index[:, i])) > 1
    ]
    choices = [[[i] for i in others], [others]] if len(others) > 1 else [[others] if others else []]
    for groups in choices:
        found = _grid_of(frames, pointers, index, groups, space, stack)
        if found is not None:
            return found
    return (
        f"the frames do not fill the grid their (0020,9157) '{_VALUES}' define "
        f"({', '.join(pointers)})"
    )


def _slices(
    frames: Frames, pointers: Sequence[str], index: np.ndarray, stack: np.ndarray
) -> list[np.ndarray] | str:
    """The codes of the slice positions (none where the frames share one); else the reason.

    The index must count the slices of a stack, each at one position along
    the normal, and each position of a stack counted once.
    """
    position = _codes(frames.coordinate(_SLICE))
    if position is None:
        return "some frames have no position (ImagePositionPatient)"
    if len(np.unique(position)) == 1:
        return []
    slices = [i for i, p in enumerate(pointers) if p in _IN_STACK]
    if len(slices) != 1:
        return f"(0020,9222) '{_SEQUENCE}' ({', '.join(pointers)}) counts no slices"
    counted = _combine([stack, index[:, slices[0]]], len(frames))
    if not _one_to_one(counted, _combine([stack, position], len(frames))):
        return (
            f"the frames of one {pointers[slices[0]]} of a stack are not at one position "
            "along the slice normal, or those of two at one"
        )
    return [position]


def _grid_of(
    frames: Frames,
    pointers: Sequence[str],
    index: np.ndarray,
    groups: Sequence[Sequence[int]],
    space: list[np.ndarray],
    stack: np.ndarray,
) -> IndexDims | None:
    """The dims where each group of components of the index is one; None where they do not fit.

    They fit when the slices and the groups give every frame its own point
    of a full grid, or do so with the stacks as one more dim.
    """
    n = len(frames)
    columns = [*space, *[_combine([index[:, i] for i in g], n) for g in groups]]
    with_stack = not _fills(columns, n)
    if with_stack and not (len(np.unique(stack)) > 1 and _fills([*columns, stack], n)):
        return None
    dims: list[str] = [_SLICE] if space else []
    values: dict[str, np.ndarray] = {}
    for group, code in zip(groups, columns[len(space) :], strict=True):
        name, value = _group_dim(frames, [pointers[i] for i in group], code, index[:, group[0]])
        if name in values:
            return None  # two would have one name: together, they may fit
        dims.append(name)
        values[name] = value
    if with_stack:
        tag = to_coordinate(frames.raw(_STACK, read=False), _STACK)
        codes = _codes(tag)
        stack_of = codes is not None and _one_to_one(codes, stack)
        values[_STACK] = tag if stack_of else stack.astype(float) + 1.0
        dims.append(_STACK)
    return IndexDims(dims, values)


def _group_dim(
    frames: Frames, pointers: Sequence[str], code: np.ndarray, first: np.ndarray
) -> tuple[str, np.ndarray]:
    """The name and per-frame values of the dim of some components of the index.

    Named after the first tag pointed at that has one value per point and
    another at each; else it numbers its points (from 1: the index values
    of one component, the rank of the combination of several).
    """
    for pointer in pointers:
        if pointer in frames.index.frames.columns or f"{pointer}[0]" in frames.index.frames.columns:
            tag = to_coordinate(frames.raw(pointer, read=False), pointer)
            codes = _codes(tag)
            if codes is not None and tag.dtype != object and _one_to_one(codes, code):
                return pointer, tag
    number = first.astype(float) if len(pointers) == 1 else code.astype(float) + 1.0
    return _index_name(pointers), number
