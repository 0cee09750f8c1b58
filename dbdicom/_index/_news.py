"""What the writer of a folder tells the other processes that have it open.

One process at a time changes a folder (the writer's lock); any number read
it. The writer appends, after each change, save or restore has reached the
disk, the paths of the files it touched to ``.dbdicom/news``: one JSON list
per line, under a first line naming the file's generation. Every open
database of the folder, in any process, compares that file's size, time and
inode with those it last saw before it answers a query or an attribute
(:meth:`FolderNews.read`: one ``stat``, a microsecond or two) and, when they
differ, reads the lines added since and reads those files again -- so a
reader sees the writer's changes as soon as they are made, whatever the
folders' and files' times say.

The file is started anew (a new generation) when it grows past
:data:`LIMIT`; a reader that finds another generation than its own, or a
line it cannot read (a writer killed while appending), is told to compare
the whole folder (``whole``): a refresh. News are best effort: a writer that
cannot write them (a full disk) changes nothing else; its readers then see
its changes at their next ``refresh()`` or reopen. Other programs write no
news: what they change is noticed as a reopen notices it.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._scan import HIDDEN

__all__ = ["LIMIT", "FolderNews", "News"]

#: bytes: a news file longer than this is started anew at the next change
LIMIT = 1 << 20
_BINARY = getattr(os, "O_BINARY", 0)
# a stat of the news file: (size, mtime_ns, inode); None: no file
Stamp = tuple[int, int, int] | None


@dataclass
class News:
    """What changed since a reader last asked: ``paths``; ``whole``: compare the whole folder."""

    paths: list[str]
    whole: bool


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


class FolderNews:
    """The news file of the folder ``root``, and how far this database has read it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> writer, reader = FolderNews(root), FolderNews(root)
    >>> reader.read() is None  # nothing new
    True
    >>> _ = writer.tell(["a/IM-1", "a/IM-2"])
    >>> writer.read() is None  # the writer knows its own news
    True
    >>> news = reader.read()
    >>> news.paths, news.whole
    (['a/IM-1', 'a/IM-2'], False)
    >>> reader.read() is None
    True
    """

    def __init__(self, root: Path) -> None:
        self.path = str(root / HIDDEN / "news")
        # taken before the index is loaded: news written from then on are read
        self.seen, self.generation, self.offset = self._head()

    def _head(self) -> tuple[Stamp, str, int]:
        """The file's stamp, generation and size now: where this database starts reading it."""
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                first = f.readline(256)
        except OSError:
            return None, "", 0
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        return stamp, first.rstrip(b"\n").decode("ascii", "replace"), st.st_size

    def read(self) -> News | None:
        """The news written since this database last read them; None when there are none.

        One ``stat`` when nothing changed.
        """
        now = _stamp(self.path)
        if now == self.seen:
            return None
        fresh = self.seen is None  # no file when last asked: its first generation is all news
        self.seen = now  # before reading: news written from now on are read next time
        try:
            with open(self.path, "rb") as f:
                first = f.readline(256)
                generation = first.rstrip(b"\n").decode("ascii", "replace")
                size = os.fstat(f.fileno()).st_size
                other = generation != self.generation or not len(first) <= self.offset <= size
                start = len(first) if other else self.offset
                f.seek(start)
                data = f.read()
        except OSError:  # removed (the hidden folder deleted): compare the whole folder
            self.generation, self.offset = "", 0
            return News([], True)
        whole = other and not (fresh and generation.startswith("1 "))
        end = data.rfind(b"\n") + 1  # a line being written is read when it is whole
        paths: list[str] = []
        for line in data[:end].splitlines():
            try:
                told = json.loads(line)
            except ValueError:
                whole = True  # a torn line (a writer killed while appending)
                continue
            if isinstance(told, list):
                paths.extend(str(p) for p in told)
        self.generation, self.offset = generation, start + end
        return News(paths, whole)

    def tell(self, paths: Sequence[str]) -> tuple[Stamp, Stamp]:
        """Tell the other databases of the folder that ``paths`` changed (the writer only).

        Returns the file's stamp before and after: a database of this
        process that had read everything before knows these news already
        (:meth:`skip`). A file that cannot be written (a full disk, a
        read-only folder) is left as it is.
        """
        before = _stamp(self.path)
        line = (json.dumps(list(paths)) + "\n").encode()
        with contextlib.suppress(OSError):
            if before is None or before[0] + len(line) > LIMIT:
                self._start()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | _BINARY)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        after = _stamp(self.path)
        self.skip(before, after)
        return before, after

    def skip(self, before: Stamp, after: Stamp) -> None:
        """Take the news between the stamps ``before`` and ``after`` as read, if all before were."""
        if self.seen == before and after is not None:
            if before is None or after[2] != before[2]:  # started anew
                self.generation = self._head()[1]
            self.seen, self.offset = after, after[0]

    def _start(self) -> None:
        """Start the file anew: the next generation (replaces the old one at once).

        A generation is its number and a random name: ``"1 <hex>"`` is the
        first, all of whose lines are news to a reader that found no file.
        """
        number = self._head()[1].partition(" ")[0]
        number = str(int(number) + 1) if number.isdigit() else "1"
        folder = os.path.dirname(self.path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".news-{uuid.uuid4().hex}")
        with open(tmp, "wb") as f:
            f.write(f"{number} {uuid.uuid4().hex}\n".encode())
        os.replace(tmp, self.path)
