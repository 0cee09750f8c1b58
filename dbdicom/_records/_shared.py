"""The Database objects of one folder in one process: views of the same folder.

They share the writer's lock (running ``database = db.database(path)`` again
in a notebook, the old object still alive, must not lock the user out) and
the folder's journal, so each must show the folder as it is, whichever of
them changed, saved or restored it last. Each change, save or restore of one
tells the others which files it touched (:meth:`Shared.indexed`); each reads
those again, and its journal, before it next answers
(:meth:`Shared.catch_up`, called by :attr:`Database.index
<dbdicom.Database.index>`, ``unsaved``, ``changes()`` and every change).
Another process is kept out by the lock (see :mod:`dbdicom._journal`); the
one that holds it tells the others which files it changed through the
folder's news (see :mod:`dbdicom._index._news`), which each reads before it
answers (:meth:`Shared.catch_up`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._journal import FolderLock, Journal

if TYPE_CHECKING:
    from ._database import Database
    from ._staged import StoreEdits

__all__ = ["EDITORS", "Shared", "folder_lock"]

#: the editors of the databases of this process (closed ones too, until collected)
EDITORS: weakref.WeakSet[Shared] = weakref.WeakSet()
# one lock per folder and process, shared by the Database objects of that folder;
# the one that changed the folder last is its owner
_LOCKS: dict[str, FolderLock] = {}
_OWNERS: dict[str, weakref.ref[Shared]] = {}


def folder_lock(key: str, path: Path) -> FolderLock:
    """The writer's lock of the folder ``key`` (its real path): one per process."""
    return _LOCKS.setdefault(key, FolderLock(path))


class Shared:
    """What an :class:`~dbdicom._records._edit.Editor` shares with the other views of its folder."""

    db: Database
    key: str
    journal: Journal | None
    lock: FolderLock | None
    store: StoreEdits | None
    pending: set[str]
    # files another view of the folder touched since this one last caught up
    unseen: set[str]
    # another view changed, saved or restored the folder since then
    behind: bool

    @property
    def owner(self) -> bool:
        """Whether this database made the last change of its folder in this process."""
        owner = _OWNERS.get(self.key)
        return bool(self.lock is not None and self.lock.held and owner and owner() is self)

    def own(self) -> None:
        """Make this database the owner: the one changing its folder now."""
        _OWNERS[self.key] = weakref.ref(self)

    def others(self) -> list[Shared]:
        """The other open views of this folder in this process."""
        return [e for e in EDITORS if e is not self and e.key == self.key and not e.db._closed]

    def release(self) -> None:
        """Let other writers in, unless another open Database of this process shares the lock."""
        if self.lock is None or not self.lock.held:
            return
        owner = _OWNERS.get(self.key)
        if owner is not None and owner() is self:
            _OWNERS.pop(self.key, None)
        if not self.others():  # the last view of the folder: the lock goes, whoever took it
            if self.store is not None:
                self.store.let_go()
            self.lock.release()

    def indexed(
        self, paths: Iterable[str], scanned: Mapping[str, tuple[Any, list[Any]]] | None = None
    ) -> None:
        """Read ``paths`` (touched by this database) into its index; the other views will too.

        ``scanned``: rows already read from the bytes written (see ``Index.update``).
        """
        paths = list(paths)
        self.db.index.update(paths, scanned)
        self.db._changed()
        self.told(paths)

    def told(self, paths: Iterable[str] = ()) -> None:
        """Tell the other views that the journal changed, and ``paths`` with it."""
        paths = set(paths)
        news = self.db._index.news
        told = None
        if paths and news is not None and self.lock is not None and self.lock.held:
            told = news.tell(sorted(paths))  # and other processes, by the folder's news
        for other in self.others():
            other.unseen |= paths
            other.behind = True
            if told is not None and other.db._index.news is not None:
                other.db._index.news.skip(*told)  # known from this process

    def catch_up(self) -> None:
        """Read the journal and the files other views touched: the folder as it is now.

        And the files the writer of another process changed, which it tells
        in the folder's news (see :mod:`dbdicom._index._news`): one ``stat``
        when it told nothing.

        Files with edits held in memory (``read()``) keep them: writing them
        checks that no one changed the file since it was read.
        """
        if self.db._index.take_news(self.pending) and not self.behind:
            self.db._changed()  # what the writer of another process changed
        if not self.behind:
            return
        if self.journal is not None:
            self.journal.load()
        paths = sorted(self.unseen - self.pending)
        self.db._index.update(paths)
        self.unseen, self.behind = set(), False
        self.db._changed()
