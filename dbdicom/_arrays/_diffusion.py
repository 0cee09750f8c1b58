"""The b-value and gradient direction of each frame of a diffusion series, and its volumes.

A diffusion series of single-frame files has, at every slice, one frame
per diffusion volume (b=0, then b=1000 along each direction...). Its
default dims are the slices and one dim, ``diffusion``, numbering the
volumes in acquisition order; the b-value (``DiffusionBValue``, s/mm²) and
the direction (``DiffusionGradientOrientation[0..2]``, a unit vector in
patient LPS, as the standard's tag) are coordinates along it. A volume
without a direction (b=0, an isotropic "trace" image) has NaN: none is
invented.

Where the values are found, the first that a frame has:

============================================  ===============================
b-value                                       direction
============================================  ===============================
(0018,9087) DiffusionBValue                   (0018,9089) DiffusionGradientOrientation
the same, in (0018,9117) MRDiffusionSequence  its DiffusionGradientDirectionSequence
Siemens (0019,100C), "SIEMENS MR HEADER"      Siemens (0019,100E)
GE (0043,1039) first value, "GEMS_PARM_01"    (refused where GE's (0019,10BB) has one)
Philips (2001,1003), "Philips Imaging DD 001" (refused where Philips' (2005,10B0) has one)
============================================  ===============================

A private tag counts only where the series' Manufacturer is the vendor's
and the private creator of its block ``(gggg,0010)`` is the vendor's; a
GE b-value of 10⁹ or more holds GE's bias of 10⁹ (multi-b and synthetic
series), taken off as dcm2niix does since its issue 602. Anything that
would give a wrong number raises :class:`~dbdicom.DiffusionError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import DiffusionError
from .._index import factorize
from ._frames import Frames

__all__ = ["DIFFUSION", "Diffusion", "VENDORS", "find_diffusion", "volume_numbers"]

#: the dim numbering the volumes of a diffusion series (no tag: no coordinate)
DIFFUSION = "diffusion"
B_VALUE = "DiffusionBValue"
DIRECTION = "DiffusionGradientOrientation"
#: how far from 1 the length of a direction may be
UNIT_TOLERANCE = 1e-2
#: Deflated Explicit VR Little Endian
DEFLATED = "1.2.840.10008.1.2.1.99"
#: GE's bias added to its private b-value in multi-b series (dcm2niix issue 602)
GE_BIAS = 1_000_000_000
#: first files (folder, path, size, mtime) read without a MRDiffusionSequence: the index keeps
#: no sequence, and reading it with pydicom at every to_xarray took ~1.3 ms of 5 (200 slices)
_WITHOUT_SEQUENCE: set[tuple[str, str, Any, Any]] = set()
#: files of a series whose private b-value is read first (spread over the series): a series
#: whose probes all have a b-value of 0 is no diffusion series
PROBES = 8


@dataclass(frozen=True)
class Vendor:
    """Where one vendor keeps the b-value (and direction) of a frame in its private tags.

    ``manufacturer`` is looked for (in upper case, at a word's start) in the series'
    Manufacturer; ``creator`` is the private creator of the block holding
    the tags at ``(group,0010)``; ``unread`` a tag of directions dbdicom
    does not convert (its creator second): where a weighted frame has one
    and no standard direction, the series is refused.
    """

    name: str
    manufacturer: str
    group: int
    creator: str
    b_value: int
    direction: int | None = None
    unread: tuple[int, str] | None = None
    binary: int | None = None  # bytes of the b-value's float (FL: 4), None for text (IS)

    def column(self, element: int) -> str:
        return f"({self.group:04X},{element:04X})"


VENDORS = (
    Vendor("Siemens", "SIEMENS", 0x0019, "SIEMENS MR HEADER", 0x100C, direction=0x100E),
    Vendor("GE", "GE ", 0x0043, "GEMS_PARM_01", 0x1039, unread=(0x001910BB, "GEMS_ACQU_01")),
    Vendor(
        "Philips",
        "PHILIPS",
        0x2001,
        "Philips Imaging DD 001",
        0x1003,
        unread=(0x200510B0, "Philips MR Imaging DD 001"),
        binary=4,
    ),
)


@dataclass
class Diffusion:
    """The b-value (s/mm²) and direction (LPS unit vector, NaN: none) of every frame."""

    b_values: np.ndarray
    directions: np.ndarray

    def coordinates(self) -> dict[str, np.ndarray]:
        """Per-frame coordinate arrays as :meth:`Frames.coordinate` gives tags."""
        vectors = np.empty(len(self.b_values), dtype=object)
        vectors[:] = [
            None if np.isnan(d).any() else tuple(float(x) for x in d) for d in self.directions
        ]
        return {B_VALUE: self.b_values.copy(), DIRECTION: vectors}


def _text(value: Any) -> str | None:
    """A text value (a private creator), also as the raw bytes of an implicit VR file."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return str(value).strip(" \x00")


def numbers(value: Any, binary: int | None = None) -> list[float] | None:
    r"""The numbers of a value as the index gives it: a number, text, a tuple or raw bytes.

    Raw bytes (a private tag of an implicit VR file, VR unknown) are
    little-endian floats of ``binary`` bytes (FD: 8, FL: 4), or text (IS,
    DS) where ``binary`` is None.

    Examples
    --------
    >>> numbers("1000000000\\8\\0\\0"), numbers(b"1000 "), numbers(2.5)
    ([1000000000.0, 8.0, 0.0, 0.0], [1000.0], [2.5])
    >>> numbers(np.array([1.0, 0.0, 0.0]).tobytes(), binary=8)
    [1.0, 0.0, 0.0]
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        if binary is not None:
            if not value or len(value) % binary:
                return None
            return np.frombuffer(value, dtype=f"<f{binary}").astype(float).tolist()
        value = value.decode("latin-1")
    if isinstance(value, str):
        parts = [p.strip(" \x00") for p in value.split("\\")]
        try:
            found = [float(p) for p in parts if p]
        except ValueError:
            return None
        return found or None
    if isinstance(value, list | tuple | np.ndarray):
        return [float(v) for v in value]
    if isinstance(value, int | float | np.number):
        return [float(value)]
    return None


def _refuse(frames: Frames, k: int, text: str) -> DiffusionError:
    return DiffusionError(
        f"{frames.describe(np.array([k]))}: {text}. Its b-values would be wrong or missing "
        "in the array and in a .bval; set the standard tags on the files that lack them "
        "(instance.DiffusionBValue = ..., DiffusionGradientOrientation = [...]; undone by "
        "database.restore()), or give the dims yourself (to_xarray(dims=[...])), which "
        "reads no b-value"
    )


def _manufacturers(frames: Frames) -> set[str]:
    return {str(m).upper() + " " for m in frames.column("Manufacturer").tolist() if m}


def _weighted(vendor: Vendor, values: Sequence[Any]) -> bool:
    """Whether any of ``values`` of the vendor's b-value tag is above 0 (after GE's bias)."""
    for value in values:
        b = (numbers(value, vendor.binary) or [np.nan])[0]
        if vendor.name == "GE" and b >= GE_BIAS:
            b -= GE_BIAS
        if b > 0:
            return True
    return False


def _private(frames: Frames, vendor: Vendor, b: np.ndarray, vectors: np.ndarray) -> None:
    """Fill ``b`` and ``vectors`` (NaN where still unknown) from the vendor's private tags.

    The tags are not in the index: a few files spread over the series are
    read first (:data:`PROBES`), and the others only where one of those has
    a b-value above 0. Philips and GE write a b-value of 0 in every MR image
    (a T1 is no diffusion series), and reading every file of every series
    of theirs took twice the time of a first ``to_xarray`` from S3.
    """
    todo = np.isnan(b)
    column = vendor.column(vendor.b_value)
    sample = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), PROBES)).astype(int))
    if not _weighted(vendor, frames.index.values(np.unique(frames.rows[sample]), column)):
        return
    found = frames.raw(column)
    has = np.array([numbers(v, vendor.binary) is not None for v in found], dtype=bool) & todo
    if not has.any():
        return
    creators = frames.raw(vendor.column(0x0010))
    for k in np.flatnonzero(has).tolist():
        creator = _text(creators[k])
        if creator != vendor.creator:
            raise _refuse(
                frames,
                k,
                f"{vendor.name}'s b-value tag {vendor.column(vendor.b_value)} is in a block "
                f"whose private creator {vendor.column(0x0010)} is {creator!r}, not "
                f"{vendor.creator!r}: it may be another's value",
            )
        value = (numbers(found[k], vendor.binary) or [np.nan])[0]
        if vendor.name == "GE" and value >= GE_BIAS:
            value -= GE_BIAS
        if not np.isfinite(value) or value < 0 or value >= GE_BIAS:
            raise _refuse(
                frames, k, f"{vendor.name}'s b-value {vendor.column(vendor.b_value)} is {value}"
            )
        b[k] = value
    if vendor.direction is not None:
        directions = frames.raw(vendor.column(vendor.direction))
        for k in np.flatnonzero(has & (b > 0)).tolist():
            vector = numbers(directions[k], 8)
            if vector is not None and np.isnan(vectors[k]).all():
                vectors[k] = _three(frames, k, vector, vendor.column(vendor.direction))


def _unread(frames: Frames, vendor: Vendor, b: np.ndarray, vectors: np.ndarray) -> None:
    """Refuse weighted frames whose only direction is in a private tag dbdicom does not read."""
    weighted = (b > 0) & np.isnan(vectors).any(axis=1)
    if vendor.unread is None or not weighted.any():
        return
    tag, creator = vendor.unread
    column = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    values, owners = frames.raw(column), frames.raw(f"({tag >> 16:04X},0010)")
    for k in np.flatnonzero(weighted).tolist():
        if values[k] is not None and _text(owners[k]) == creator:
            raise _refuse(
                frames,
                k,
                f"its gradient direction is in {vendor.name}'s private {column}, which "
                "dbdicom does not read (the standard DiffusionGradientOrientation "
                "(0018,9089) has none)",
            )


def _three(frames: Frames, k: int, vector: Sequence[float], tag: str) -> np.ndarray:
    if len(vector) != 3:
        raise _refuse(frames, k, f"its gradient direction {tag} has {len(vector)} values, not 3")
    return np.asarray(vector, dtype=float)


def _sequence(frames: Frames, b: np.ndarray, vectors: np.ndarray) -> None:
    """Fill ``b`` and ``vectors`` from (0018,9117) MRDiffusionSequence, if the files have it.

    The sequence is read with pydicom (it is not kept in the index): from
    the first file only when that has none, which is remembered (as long as
    that file keeps its size and time). Not from a file
    of Deflate transfer syntax: pydicom inflates its whole data set in
    memory (a private element of gigabytes would exhaust it).
    """
    rows = frames.rows
    syntax = frames.column("TransferSyntaxUID")[0]
    if str(syntax) == DEFLATED:
        return
    key = (
        str(frames.index.root),
        str(frames.column("_path")[0]),
        frames.column("_size")[0],
        frames.column("_mtime")[0],
    )
    if key in _WITHOUT_SEQUENCE:  # the index keeps no sequence: remembered here
        return
    first = frames.index.values(rows[:1], "MRDiffusionSequence")[0]
    if not first:
        if len(_WITHOUT_SEQUENCE) >= 10_000:
            _WITHOUT_SEQUENCE.clear()
        _WITHOUT_SEQUENCE.add(key)
        return
    items = frames.raw("MRDiffusionSequence")
    for k, item in enumerate(items):
        if not item or not np.isnan(b[k]):
            continue
        value = item[0].get("DiffusionBValue")
        if value is not None:
            b[k] = float(value)
        inner = item[0].get("DiffusionGradientDirectionSequence")
        if inner and inner[0].get(DIRECTION) is not None:
            vectors[k] = _three(frames, k, [float(x) for x in inner[0].get(DIRECTION)], DIRECTION)


def find_diffusion(frames: Frames) -> Diffusion | None:
    """The b-value and direction of every frame, or None when no frame has a b-value above 0.

    See the module's docstring for the tags read. Raises
    :class:`~dbdicom.DiffusionError` where some frames have a b-value and
    others none, where a weighted frame's direction is not a unit vector,
    or where a vendor's private tag is not in its block.
    """
    n = len(frames)
    b = frames.coordinate(B_VALUE).astype(float).copy()
    vectors = np.full((n, 3), np.nan)
    is_mr = any(str(m).strip() == "MR" for m in frames.column("Modality").tolist())
    if is_mr and np.isnan(b).any():
        _sequence(frames, b, vectors)
    vendors = []
    if is_mr and np.isnan(b).any():
        makers = _manufacturers(frames)
        vendors = [v for v in VENDORS if any(" " + v.manufacturer in " " + m for m in makers)]
        for vendor in vendors:
            _private(frames, vendor, b, vectors)
    weighted = (b > 0) & np.isnan(vectors).any(axis=1)
    if weighted.any():  # the standard tag, whatever tag gave the b-value
        for k, value in enumerate(frames.raw(DIRECTION)):
            found = numbers(value, 8)
            if weighted[k] and found is not None:
                vectors[k] = _three(frames, k, found, "(0018,9089) DiffusionGradientOrientation")
    for vendor in vendors:
        _unread(frames, vendor, b, vectors)
    if not (np.nan_to_num(b) > 0).any():
        return None  # b=0 everywhere: what Philips and GE write in every MR image
    missing = np.flatnonzero(np.isnan(b))
    if len(missing):
        raise _refuse(
            frames,
            int(missing[0]),
            f"it has no b-value, where {n - len(missing)} of the {n} frames of the series "
            "have one ((0018,9087) DiffusionBValue, or a vendor's private tag)",
        )
    vectors[b <= 0] = np.nan  # b=0 has no direction: none is invented
    length = np.linalg.norm(vectors, axis=1)
    vectors[length == 0] = np.nan  # isotropic (trace): written 0 0 0 by the scanner
    wrong = np.flatnonzero((length > 0) & (np.abs(length - 1) > UNIT_TOLERANCE))
    if len(wrong):
        k = int(wrong[0])
        raise _refuse(
            frames,
            k,
            f"its gradient direction {vectors[k].tolist()} (b={b[k]:g}) is not a unit vector "
            f"(length {length[k]:.4g})",
        )
    return Diffusion(b, vectors)


def volume_numbers(frames: Frames, cells: np.ndarray, found: Diffusion) -> np.ndarray:
    """Per frame, its volume: its rank among the frames of its slice (``cells``).

    Ranked by InstanceNumber, then AcquisitionTime, then file (the order of
    acquisition, whatever the files' order of slices and volumes). Every
    slice must have as many frames, and the frames of one volume the same
    b-value and direction at every slice; else :class:`~dbdicom.DiffusionError`.
    """
    cells = factorize(cells)[0]
    numbers_ = frames.number("InstanceNumber", np.inf)
    times = frames.coordinate("AcquisitionTime")
    times = np.nan_to_num(times, nan=np.inf) if times.dtype.kind == "f" else np.zeros(len(cells))
    paths = factorize(np.asarray(frames.table["_path"], dtype=object))[0]
    order = np.lexsort((frames.table["_frame"], paths, times, numbers_, cells))
    counts = np.bincount(cells)
    if (counts != counts[0]).any():
        small = int(np.argmin(counts))
        at = np.flatnonzero(cells == small)
        raise DiffusionError(
            f"the slices of the diffusion series have {counts.min()} to {counts.max()} frames "
            f"(e.g. {counts[small]} at the slice of {frames.describe(at)}): its volumes cannot "
            "be told apart. A slice's file missing? Give the dims yourself "
            "(to_xarray(dims=['SliceLocation', 'InstanceNumber'], fill=True))."
        )
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.empty(len(cells), dtype=np.int64)
    rank[order] = np.arange(len(cells)) - np.repeat(starts, counts)
    key = np.column_stack([np.round(found.b_values, 3), np.round(found.directions, 4)])
    for volume in range(int(counts[0])):
        at = np.flatnonzero(rank == volume)
        values = key[at]
        same = (values == values[:1]) | (np.isnan(values) & np.isnan(values[:1]))
        if not same.all():
            k = int(at[int(np.flatnonzero(~same.all(axis=1))[0])])
            raise DiffusionError(
                f"volume {volume} of the diffusion series (its frames ranked by InstanceNumber "
                f"at each slice) has b-value {found.b_values[at[0]]:g}, direction "
                f"{found.directions[at[0]].tolist()} in {frames.describe(at[:1])} but "
                f"{found.b_values[k]:g}, {found.directions[k].tolist()} in "
                f"{frames.describe(np.array([k]))}: the InstanceNumbers do not follow the "
                "volumes. Give the dims yourself, e.g. to_xarray(dims=['SliceLocation', "
                "'InstanceNumber'], fill=True)."
            )
    return rank.astype(float)
