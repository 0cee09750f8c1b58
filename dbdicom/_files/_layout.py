"""Headers like the last ones: walked by comparing bytes, not element by element.

The files of a series repeat most of their header byte for byte: only a
few elements differ from file to file (SOP Instance UID, Instance Number,
positions...). A :class:`Layout` learns, from the files read before, the
sequence of a header's elements and which of them vary; the next header
is then read in *steps*: a run of elements that repeat is one comparison
of bytes (``bytes.startswith``, in C) and gives its kept values at once;
an element that varies is read alone (its tag and VR checked, its length
taken). Where a file departs from the layout (another element, another
value in a run, bytes past the first read), :func:`~._walker.walk` goes
on from the last element that matched, as one walk would have. So what is
read is always what :func:`~._walker.walk` reads from the same bytes: the
same values, the same end, the same elements found out of place.

Each thread has its own layouts (a scan reads in one thread; threads that
read pixels for dask check headers in theirs). A layout is learnt only
from headers held whole in the first window, in
Explicit VR Little Endian, with their tags in order and without
per-frame functional groups or a Modality LUT Sequence; an element that varies must be of defined
length and not a sequence. A header that differs from the one learnt in
a few more elements adds them to those that vary; one that differs in
more (of another series, most likely) is learnt with its own values and
the elements that varied before, a series' files varying as its
neighbours' do (and if the next header differs from it, what differs is
added, however many). Learning walks a header a second time (the
splitter's walk, which keeps every element's bytes), so a folder of files
that all differ would pay it at every file: after each failed try, the
layout waits for twice as many files before learning again (at most
:data:`MAX_WAIT`).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Container
from typing import Any, NamedTuple

from ._walker import HEADER_LENGTH, End, walk
from ._window import Window

__all__ = ["Layout", "MAX_WAIT", "split_element", "walk_explicit"]

# a header that differs from the one learnt in more elements than this (that did not
# vary before) is taken for one of another series
_FEW = 2
#: at most this many headers are read between two tries to learn a layout
MAX_WAIT = 64

_short = struct.Struct("<HH2sH").unpack_from
_ulong = struct.Struct("<L").unpack_from


class _Run(NamedTuple):
    """Elements that repeat: their bytes, the values kept of them, the last tag."""

    raw: bytes
    kept: dict[int, tuple[bytes, bytes]]
    last: int


class _Varies(NamedTuple):
    """An element that varies: its tag, its VR code and the length of its element header."""

    tag: int
    vr: bytes
    head: int


class Layout:
    """What the headers read with one set of kept tags looked like (see the module notes).

    Examples
    --------
    >>> import struct
    >>> def element(elem, value):  # an (0008,eeee) LO element
    ...     return struct.pack("<HH2sH", 8, elem, b"LO", len(value)) + value
    >>> pixels = struct.pack("<HH2sHIH", 0x7FE0, 0x10, b"OW", 0, 2, 0)
    >>> def header(uid):
    ...     return element(0x10, b"same") + element(0x18, uid) + element(0x20, b"also") + pixels
    >>> layout, keep = Layout(), {0x00080018, 0x00080020}
    >>> for uid in (b"1.1 ", b"1.22", b"1.3 "):
    ...     _ = layout.walk(Window(header(uid)), 0, keep, {})
    >>> len(layout.steps)  # a run, the UID, a run
    3
    >>> out = {}
    >>> layout.walk(Window(header(b"1.44")), 0, keep, out).offset, out
    (48, {524312: (b'LO', b'1.44'), 524320: (b'LO', b'also')})
    """

    __slots__ = ("steps", "tags", "elements", "varies", "fresh", "wait", "backoff", "seen")

    def __init__(self) -> None:
        self.steps: list[_Run | _Varies] | None = None
        self.tags: list[int] = []  # of the last header learnt from
        self.elements: list[bytes] = []  # its elements, whole
        self.varies: set[int] = set()  # positions of the elements seen to vary
        self.fresh = False  # learnt from a header of another series, not read through since
        self.wait = 0  # headers to read before learning again
        self.backoff = 1
        self.seen = 0

    def walk(self, win: Window, pos: int, keep: Container[int], out: dict[int, Any]) -> End:
        """:func:`~._walker.walk` of an Explicit VR data set at ``pos``, through the layout."""
        self.seen += 1
        data = win.data
        if self.steps is not None and win.base == 0 and type(data) is bytes:
            end, whole = self._follow(data, win, pos, keep, out)
            if whole:
                self.backoff, self.wait, self.fresh = 1, 0, False
                return end
        else:
            end = walk(win, pos, True, keep, out)
        if self.seen < 2:  # the first header: nothing to compare it with yet
            return end
        if self.wait:
            self.wait -= 1
        else:
            self._learn(win, pos, end, keep)
            self.wait = self.backoff - 1
            self.backoff = min(2 * self.backoff, MAX_WAIT)
        return end

    def _follow(
        self, data: bytes, win: Window, pos: int, keep: Container[int], out: dict[int, Any]
    ) -> tuple[End, bool]:
        """The walk through the steps; True if every step matched."""
        size = len(data)
        previous = 0
        for step in self.steps or ():
            if isinstance(step, _Run):
                if data.startswith(step.raw, pos):
                    out.update(step.kept)
                    pos += len(step.raw)
                    previous = step.last
                    continue
            elif pos + 12 <= size:
                tag, vr, head = step
                group, elem, code, length = _short(data, pos)
                if code == vr and (group << 16) | elem == tag:
                    if head == 12:
                        length = _ulong(data, pos + 8)[0]
                    end = pos + head + length  # past the bytes when undefined (0xFFFFFFFF)
                    if end <= size:
                        if tag in keep:
                            out[tag] = (vr, data[pos + head : end])
                        pos = end
                        previous = tag
                        continue
            return walk(win, pos, True, keep, out, after=previous), False
        return walk(win, pos, True, keep, out, after=previous), True

    def _learn(self, win: Window, pos: int, end: End, keep: Container[int]) -> None:
        """Learn the layout of the header just walked (``end``), if it can be one."""
        self.steps = None
        if (
            end.disorder
            or end.per_frame_groups
            or end.modality_lut  # a flag the steps would not give
            or not end.pixel_tag
            or win.base != 0
            or end.offset > len(win.data)
        ):
            self.tags, self.elements, self.varies = [], [], set()
            return
        found: dict[int, Any] = {}
        walk(Window(bytes(win.data[pos : end.offset])), 0, True, None, found, whole=True)
        tags, elements = list(found), list(found.values())
        if tags != self.tags:  # another sequence of elements: wait for a header like this one
            self.tags, self.elements, self.varies = tags, elements, set()
            return
        differ = {i for i, (a, b) in enumerate(zip(self.elements, elements, strict=True)) if a != b}
        varies = self.varies
        if self.fresh or not varies or len(differ - varies) <= _FEW:
            varies = varies | differ  # a few more elements vary
            self.fresh = False
        else:  # of another series, most likely: its values, varying as the last one's did
            self.fresh = True
        self.tags, self.elements, self.varies = tags, elements, varies
        self.steps = _steps(tags, elements, varies, keep)


def _steps(
    tags: list[int], elements: list[bytes], varies: set[int], keep: Container[int]
) -> list[_Run | _Varies] | None:
    """The steps of a layout (None where an element that varies cannot be a step)."""
    steps: list[_Run | _Varies] = []
    run: list[int] = []
    for i, (tag, raw) in enumerate(zip(tags, elements, strict=True)):
        if i not in varies:
            run.append(i)
            continue
        vr = raw[4:6]
        head = HEADER_LENGTH[vr]
        if vr == b"SQ" or (head == 12 and raw[8:12] == b"\xff\xff\xff\xff"):
            return None
        if run:
            steps.append(_run(run, tags, elements, keep))
            run = []
        steps.append(_Varies(tag, vr, head))
    if run:
        steps.append(_run(run, tags, elements, keep))
    return steps


def _run(run: list[int], tags: list[int], elements: list[bytes], keep: Container[int]) -> _Run:
    kept = {}
    for i in run:
        if tags[i] in keep:
            split = split_element(elements[i])
            if split is not None:
                kept[tags[i]] = split
    return _Run(b"".join(elements[i] for i in run), kept, tags[run[-1]])


# a layout for each set of kept tags read with often (a scan's), per thread (threads
# reading pixels for dask do not share one being learnt); see walk_explicit
_LOCAL = threading.local()


def walk_explicit(win: Window, pos: int, keep: Container[int], out: dict[int, Any]) -> End:
    """:func:`~._walker.walk` of an Explicit VR data set, through the layout of ``keep``.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> from dbdicom._files._walker import read_meta
    >>> with open(get_testdata_file("MR_small.dcm"), "rb") as f:
    ...     win = Window.of_file(f)
    ...     start = read_meta(win)[0]
    ...     walk_explicit(win, start, {0x00280010}, {}).pixel_tag == 0x7FE00010
    True
    """
    layouts: dict[int, tuple[Container[int], Layout]] | None = getattr(_LOCAL, "layouts", None)
    if layouts is None:
        layouts = _LOCAL.layouts = {}
    found = layouts.get(id(keep))
    if found is None or found[0] is not keep:
        if len(layouts) > 16:
            layouts.clear()
        found = layouts[id(keep)] = (keep, Layout())
    return found[1].walk(win, pos, keep, out)


def split_element(raw: bytes) -> tuple[bytes, bytes] | None:
    r"""The VR code and value bytes of one whole explicit VR element.

    Parameters
    ----------
    raw : bytes
        The element as :func:`walk` gives it with ``whole``.

    Returns
    -------
    tuple of (bytes, bytes) or None
        As :func:`walk` gives them without ``whole``; None for an element of
        undefined length, which the reader leaves out.

    Examples
    --------
    >>> split_element(b"\x28\x00\x10\x00US\x02\x00\x40\x00")
    (b'US', b'@\x00')
    """
    vr = raw[4:6]
    if HEADER_LENGTH.get(vr) == 12:
        if raw[8:12] == b"\xff\xff\xff\xff":
            return None
        return vr, raw[12:]
    return vr, raw[8:]
