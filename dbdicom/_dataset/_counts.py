"""The counts a written frame's header says: of the frames written, never its source's.

A source's header counts the frames of the source series: written from
every second slice or one time point of it, those numbers are untrue. Each
is worked out from the frames of the write, else left out; where a frame's
header does not have one (its source's, or an attr), none is added:

* NumberOfSlices (PET, NM; Type 1): the slices the frames lie in (see
  :meth:`~dbdicom._dataset.PlanBuilder.slices`);
* NumberOfTimeSlices (PET, Type 1C for a DYNAMIC series, so never left
  out): the most frames any slice has (as many as each has, where the
  frames are whole volumes); where the slices are not known, the frame's
  header keeps its own;
* ImageIndex (PET, Type 1): (time slice - 1) x NumberOfSlices + slice, as
  the PET Image module defines it: the slice counted along the normal, the
  time slice the frame's rank among the frames of its slice in the array's
  order; where the slices are not known, the frame's rank in the array;
* NumberOfTemporalPositions (MR, Type 3): the distinct
  TemporalPositionIdentifier values of the frames written; a
  TemporalPositionIdentifier from a source is renumbered to its rank among
  them (1 to that number); a coordinate's or an attr's is the user's and
  stays, and where those are not 1 to their number, NumberOfTemporalPositions
  is left out (its meaning is not clear). Left out where a frame has none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .._files import encode_element

__all__ = ["Counts"]

#: (0054,0081) NumberOfSlices, (0054,0101) NumberOfTimeSlices, (0054,1330) ImageIndex
NUMBER_OF_SLICES, TIME_SLICES, IMAGE_INDEX = 0x00540081, 0x00540101, 0x00541330
#: (0020,0105) NumberOfTemporalPositions, (0020,0100) TemporalPositionIdentifier
TEMPORAL_POSITIONS, TEMPORAL_POSITION = 0x00200105, 0x00200100


def _us(tag: int, value: int) -> bytes | None:
    """A US element of ``value`` (None: it does not fit, the element is left out)."""
    return encode_element(tag, "US", int(value)) if 0 < value < 65536 else None


class Counts:
    r"""The count elements of each frame of one write (frames in the array's C order).

    Examples
    --------
    >>> counts = Counts()
    >>> counts.place(np.array([1, 2, 1, 2]), 2)  # two slices at two times
    >>> counts.temporal([3, 3, 5, 5], given=False)  # the sources' time points 3 and 5
    >>> tags = {IMAGE_INDEX, TIME_SLICES, TEMPORAL_POSITION, TEMPORAL_POSITIONS}
    >>> delta = {}
    >>> counts.frame(3, tags.__contains__, delta)  # slice 2 at the second time
    >>> {hex(tag): value[8:] for tag, value in sorted(delta.items())}
    {'0x200100': b'2 ', '0x200105': b'2 ', '0x540101': b'\x02\x00', '0x541330': b'\x04\x00'}
    """

    def __init__(self) -> None:
        self._slices: bytes | None = None
        self._time_slices: bytes | None = None  # None: the frame's own kept
        self._index: list[bytes | None] = []
        self._temporal: list[bytes | None] = []
        self._positions: bytes | None = None
        self._renumbered = False

    def place(self, numbers: np.ndarray, count: int) -> None:
        """The slice of each frame (1 on; 0: not known) and the number of slices (0: not known)."""
        numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
        self._slices = _us(NUMBER_OF_SLICES, count)
        known = count > 0 and len(numbers) > 0 and bool((numbers > 0).all())
        if not known:  # one time slice a frame, its rank: the source's count is no truer
            self._time_slices = None
            self._index = [_us(IMAGE_INDEX, k + 1) for k in range(len(numbers))]
            return
        # the rank of each frame among those of its slice, in the array's order
        seen: dict[int, int] = {}
        times = np.empty(len(numbers), dtype=np.int64)
        for k, number in enumerate(numbers.tolist()):
            seen[number] = times[k] = seen.get(number, 0) + 1
        # slices of uneven counts (a dynamic cut short): the time slices the frames reach
        # (Type 1C in a DYNAMIC series: never left out), as ImageIndex counts them
        self._time_slices = _us(TIME_SLICES, max(seen.values()))
        self._index = [
            _us(IMAGE_INDEX, (int(t) - 1) * count + int(s))
            for t, s in zip(times.tolist(), numbers.tolist(), strict=True)
        ]

    def temporal(self, values: Sequence[float | None], given: bool) -> None:
        """The TemporalPositionIdentifier of each frame (None: none); ``given``: the user's."""
        self._renumbered = not given
        self._temporal = []
        self._positions = None
        if not values or any(v is None or v != v for v in values):
            return  # a frame without one: no number of them
        distinct = sorted({float(v) for v in values if v is not None})
        if not given:
            rank = {v: i + 1 for i, v in enumerate(distinct)}
            self._temporal = [
                encode_element(TEMPORAL_POSITION, "IS", str(rank[float(v)]))
                for v in values
                if v is not None
            ]
        elif distinct != [float(i + 1) for i in range(len(distinct))]:
            return  # the user's numbers, not 1 to their number: how many is not clear
        self._positions = encode_element(TEMPORAL_POSITIONS, "IS", str(len(distinct)))

    def frame(
        self, k: int | None, held: Callable[[int], bool], delta: dict[int, bytes | None]
    ) -> None:
        """Set in ``delta`` the counts of frame ``k`` (None: not known) its header has.

        ``held``: whether the frame's header has a tag (its base's, or an
        attr's). A count the frame's own values (``delta``: its coordinates)
        give stays, but for a TemporalPositionIdentifier renumbered from the
        sources': their coordinate (``to_xarray``'s) only repeats them.
        """
        if self._slices is not None and held(NUMBER_OF_SLICES):
            delta[NUMBER_OF_SLICES] = self._slices
        if self._time_slices is not None and held(TIME_SLICES) and TIME_SLICES not in delta:
            delta[TIME_SLICES] = self._time_slices
        if k is None:
            return
        if held(IMAGE_INDEX) and IMAGE_INDEX not in delta and k < len(self._index):
            delta[IMAGE_INDEX] = self._index[k]
        if held(TEMPORAL_POSITIONS) and TEMPORAL_POSITIONS not in delta:
            delta[TEMPORAL_POSITIONS] = self._positions
        if self._renumbered and held(TEMPORAL_POSITION) and k < len(self._temporal):
            delta[TEMPORAL_POSITION] = self._temporal[k]
