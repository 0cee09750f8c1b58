"""A window on the bytes of a file, or of bytes held in memory, that the header walker reads.

:class:`Window` holds some bytes of its source and reads on (seeks) where
an element lies beyond them; :class:`ViewFile` reads a part of a larger
body (a server's answer) without copying the rest.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO, Protocol

__all__ = ["Source", "ViewFile", "Window"]

#: bytes read at a time
_CHUNK = 16384


class Source(Protocol):
    """What a :class:`Window` reads from: a file, or anything that seeks and reads."""

    def seek(self, pos: int, /) -> Any:
        """Move to byte ``pos``."""

    def read(self, n: int, /) -> bytes:
        """Up to ``n`` bytes from the position."""


class ViewFile:
    """A :class:`Source` on a memoryview (a part of a larger body): what is read is copied.

    Examples
    --------
    >>> f = ViewFile(memoryview(b"0123456789"))
    >>> _ = f.seek(3)
    >>> buf = bytearray(4)
    >>> f.readinto(buf), bytes(buf), f.read(10)
    (4, b'3456', b'789')
    """

    __slots__ = ("view", "pos")

    def __init__(self, view: memoryview) -> None:
        self.view, self.pos = view, 0

    def seek(self, pos: int, whence: int = os.SEEK_SET, /) -> int:
        self.pos = pos + (len(self.view) if whence == os.SEEK_END else 0)
        return self.pos

    def read(self, n: int = -1, /) -> bytes:
        stop = len(self.view) if n < 0 else self.pos + n
        out = bytes(self.view[self.pos : stop])
        self.pos += len(out)
        return out

    def readinto(self, buffer: Any, /) -> int:
        target = memoryview(buffer).cast("B")
        got = self.view[self.pos : self.pos + len(target)]
        target[: len(got)] = got
        self.pos += len(got)
        return len(got)


class Window:
    """Bytes ``[base, base + len(data))`` of a file of ``size`` bytes, or of a bytes object.

    Of a bytes object, the window holds the whole of it and ``f`` is None.

    Examples
    --------
    >>> w = Window(b"0123456789")
    >>> rel = w.fetch(4, 3)
    >>> w.data[rel : rel + 3]
    b'456'
    >>> w.fetch(8, 3)
    Traceback (most recent call last):
    ...
    EOFError: the file (10 bytes) ends inside the element at byte 8
    """

    __slots__ = ("f", "data", "base", "size")

    def __init__(self, data: bytes, f: Source | None = None, size: int | None = None) -> None:
        self.data = data
        self.f = f
        self.base = 0
        self.size = len(data) if size is None else size

    @classmethod
    def of_file(cls, f: BinaryIO, first: int = _CHUNK) -> Window:
        """A window on the open file ``f``, holding its first ``first`` bytes.

        Examples
        --------
        >>> from pydicom.data import get_testdata_file
        >>> with open(get_testdata_file("MR_small.dcm"), "rb") as f:
        ...     w = Window.of_file(f)
        ...     w.data[128:132], w.size
        (b'DICM', 9830)
        """
        size = os.fstat(f.fileno()).st_size
        return cls(f.read(first), f, size)

    @classmethod
    def of_view(cls, view: memoryview) -> Window:
        """A window on bytes held as ``view`` (a part of a larger body), copied as read.

        Examples
        --------
        >>> w = Window.of_view(memoryview(b"0123456789"))
        >>> rel = w.fetch(4, 3)
        >>> w.data[rel : rel + 3]
        b'456'
        """
        return cls(bytes(view[:_CHUNK]), ViewFile(view), len(view))

    def fetch(self, pos: int, n: int) -> int:
        """Where ``data`` holds bytes ``[pos, pos + n)``, made available.

        Reads the file from ``pos`` when the window does not hold them.

        Raises ``EOFError`` where the file or bytes end before ``pos + n``.
        """
        rel = pos - self.base
        if 0 <= rel and rel + n <= len(self.data):
            return rel
        if self.f is None or pos + n > self.size:
            raise EOFError(f"the file ({self.size} bytes) ends inside the element at byte {pos}")
        self.f.seek(pos)
        self.data = self.f.read(max(n, _CHUNK))
        self.base = pos
        if len(self.data) < n:
            raise EOFError(f"the file ({self.size} bytes) ends inside the element at byte {pos}")
        return 0
