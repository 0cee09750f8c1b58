"""Deflated Explicit VR Little Endian: the data set, inflated as it is read.

A Deflate file's data set is one zlib stream after the file meta. Its
header is walked as the stream is inflated, a chunk at a time, keeping only
what the last read asked for: indexing a 3 MB file that inflates to 3 GiB
costs memory of the order of a chunk. Its pixel data are read the same way,
skipping what lies before them.
"""

from __future__ import annotations

import zlib

from ._walker import NeedsPydicom
from ._window import Source, Window

__all__ = ["Inflating"]

# bytes of a Deflate stream read, and at most inflated, at a time
_INFLATE_CHUNK = 1 << 16


class Inflating:
    """The inflated data set of a Deflate file, as a file to ``seek`` forward in and ``read``.

    Positions count as if the inflated bytes followed the file meta in
    place; the stream is inflated as far as a read needs, a chunk at a time,
    and only the bytes since the last read are kept: memory stays of the
    order of the largest read, however far the data inflate.
    """

    def __init__(self, win: Window, start: int) -> None:
        if win.f is None:
            self._source: Source | None = None
            self._compressed = win.data[start:]
        else:
            win.f.seek(start)
            self._source, self._compressed = win.f, b""
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self._buffer = bytearray()
        self._start = start
        self._base = start  # the position of _buffer[0]
        self._pos = start
        self.inflated = 0  # bytes inflated so far

    def seek(self, pos: int) -> None:
        """Move to ``pos``: forward, or back within what the last read gave."""
        if pos < self._base:
            raise NeedsPydicom("the walker went back in a Deflate stream")
        self._pos = pos

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes from the position; fewer where the stream ends."""
        while True:
            done = min(self._pos - self._base, len(self._buffer))  # what lies before: dropped
            del self._buffer[:done]
            self._base += done
            if self._base == self._pos and len(self._buffer) >= n:
                break
            if not self._inflate():
                break
        if self._base < self._pos:  # the stream ends before the position
            return b""
        return bytes(self._buffer[:n])

    def drain(self) -> tuple[bool, int]:
        """Inflate what is left, keeping nothing: whether the stream ended whole, and its length.

        Raises ``zlib.error`` for a corrupt stream.
        """
        self._buffer.clear()
        while self._inflate():
            self._buffer.clear()
        self._base = self._pos = self._start + self.inflated
        return self._inflater.eof, self.inflated

    def pixel_bytes(self, offset: int, length: int) -> bytes:
        """The ``length`` bytes at ``offset`` (an inflated position), or fewer where it ends."""
        self.seek(offset)
        return self.read(length)

    def _inflate(self) -> bool:
        """Inflate one more chunk into the buffer; False at the end of the stream."""
        if self._inflater.eof:
            return False
        data = self._inflater.unconsumed_tail
        if not data:
            if self._source is not None:
                data = self._source.read(_INFLATE_CHUNK)
            else:
                data, self._compressed = (
                    self._compressed[:_INFLATE_CHUNK],
                    self._compressed[_INFLATE_CHUNK:],
                )
            if not data:
                return False
        more = self._inflater.decompress(data, _INFLATE_CHUNK)
        self.inflated += len(more)
        self._buffer += more
        return True
