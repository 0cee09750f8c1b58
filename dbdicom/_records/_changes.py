"""A change of the folder as a whole: the writer's lock, and a change undone when the disk fills.

:class:`Changes` is the part of :class:`~dbdicom._records._edit.Editor` that
takes the writer's lock and runs each change (:meth:`Changes.changing`): a
change that finds the disk full is undone whole, so that nothing the user
had is lost and nothing half-written stays, and it raises a
:class:`~dbdicom.DiskFullError` that names the folder and the way out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import DiskFullError, InvalidFileError, ReadOnlyError, disk_full
from .._journal import FolderLock, Journal

if TYPE_CHECKING:
    from ._database import Database

__all__ = ["Changes"]


class Changes:
    """Taking the lock, running a change, undoing one that found the disk full."""

    db: Database
    root: Path
    lock: FolderLock | None
    # changes under way (see changing)
    _depth: int
    # the lock was taken, and no change has been made under it yet: a call that
    # fails lets it go again
    _loose: bool
    # the paths the last begin() put back, finishing a restore cut short
    restored_first: list[str]
    # reads paths touched into the index (and tells the other views: see _shared)
    indexed: Callable[[Iterable[str]], None]
    # lets other writers in (see _shared)
    release: Callable[[], None]

    def begin(self) -> Journal:  # pragma: no cover - defined by the Editor
        raise NotImplementedError

    def prune(self) -> None:  # pragma: no cover - defined by the Editor
        raise NotImplementedError

    def _may_change(self) -> None:
        """Refuse a change while a save into a store is cut short (see ``_staged``)."""
        store = getattr(self, "store", None)
        if store is not None:
            store.may_change()

    def _take_lock(self, lock: FolderLock, journal: Journal) -> list[str]:
        """Take the writer's lock and tidy the journal, or take nothing and raise.

        Returns the paths put back by finishing a restore cut short.
        """
        put_back: list[str] = []
        try:
            taken = lock.acquire()
            if taken:
                put_back = journal.recover()
        except OSError as exc:
            lock.release()
            if disk_full(exc):
                raise self.full(
                    exc,
                    "dbdicom could not take the writer's lock of the folder, so nothing "
                    "was changed.",
                ) from exc
            raise
        if not taken:
            pid = lock.holder()
            who = f"process {pid}" if pid else "another process"
            where = self.db.path if self.db._index.remote else self.root
            raise ReadOnlyError(
                f"{who} is changing {where}: one process at a time may change a "
                "database (reading it is fine). Close the database there "
                "(database.close()) and try again."
            )
        self._loose = True
        return put_back

    def _finish_restore(self, journal: Journal, put_back: list[str]) -> None:
        """Finish a restore cut short (see :meth:`Journal.finish_restore`); index its files.

        ``put_back``: the paths the journal's recovery put back already.
        Runs before any other change, save or restore: none is made on a
        folder partly restored.
        """
        done = sorted({*put_back, *journal.finish_restore()})
        self.restored_first = done  # (counted by the restore() that finishes it)
        if not done:
            return
        store = getattr(self, "store", None)
        if store is not None:  # their copies are the store's objects again
            store.index.forget_copies(done, list(getattr(self, "memory", ())))
        self.indexed(done)

    def full(self, exc: OSError, what: str, then: str = "make the change again") -> DiskFullError:
        """The error to raise when ``exc`` found the disk of the folder full."""
        return DiskFullError(
            f"The disk of {self.root} is full ({exc.strerror or exc}): {what} Free some "
            f"space on it, then {then}.",
            exc.errno,
        )

    @contextlib.contextmanager
    def changing(self) -> Iterator[Journal]:
        """One change of the folder: undone whole when the disk fills up during it.

        The files it changed are put back and its journal lines cut off
        (:meth:`Journal.undo`), so the folder and the saved index are as
        they were before it, and a :class:`DiskFullError` says so. A change
        made of others (a series written, then the one it replaced removed)
        is undone whole by the outermost, as is one that finds a file it
        cannot write (see :meth:`_failed`). A change that fails for any reason
        lets go of the lock if it was taken for it (nothing changed under
        it yet).
        """
        if self._depth:
            self._depth += 1
            try:
                yield self.begin()
            finally:
                self._depth -= 1
            return
        journal = self.begin()
        self._may_change()
        mark = journal.mark()
        self._depth = 1
        try:
            yield journal
        except BaseException as exc:
            failure = self._failed(journal, mark, exc)
            if failure is None:
                raise
            raise failure from exc
        else:
            self._loose = False
        finally:
            self._depth = 0
            journal.settle()  # the change is over: what it kept for an undo goes

    def _failed(self, journal: Journal, mark: Any, exc: BaseException) -> DiskFullError | None:
        """After ``exc`` stopped a change: undo it if the disk is full; the error to raise.

        A file the change found it cannot write (an :class:`InvalidFileError`,
        raised before that file was touched) undoes it too: the files written
        before it are put back, and the call leaves no trace.
        """
        failure = None
        if isinstance(exc, InvalidFileError):
            touched = journal.since(mark)
            try:
                touched += journal.undo(mark)
            finally:
                self.indexed(touched)
                self.prune()
        elif isinstance(exc, OSError) and disk_full(exc):
            touched = journal.since(mark)
            try:
                touched += journal.undo(mark)
                failure = self.full(
                    exc, "the change was undone: the files are as they were before it."
                )
            except OSError as again:
                failure = self.full(
                    exc,
                    f"the change could not be undone either ({again}): the files it "
                    "changed are kept unsaved in the journal.",
                    "call database.restore()",
                )
            finally:
                self.indexed(touched)
                self.prune()
        if not journal.since(mark):
            self._let_go()
        return failure

    def _let_go(self) -> None:
        """Let go of a lock taken for a call that failed before it changed anything."""
        if self._loose:
            self._loose = False
            self.release()
