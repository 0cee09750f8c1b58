"""A change of the folder as a whole: the writer's lock, and a change undone when the disk fills.

:class:`Changes` is the part of :class:`~dbdicom._records._edit.Editor` that
takes the writer's lock and runs each change (:meth:`Changes.changing`): a
change that finds the disk full is undone whole, so that nothing the user
had is lost and nothing half-written stays, and it raises a
:class:`~dbdicom.DiskFullError` that names the folder and the way out.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import (
    DatabaseNotFoundError,
    DicomError,
    DicomWarning,
    DiskFullError,
    InvalidFileError,
    ReadOnlyError,
    disk_full,
    write_refused,
)
from .._journal import FolderLock, Journal
from ._shared import EDITORS

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
    # the folder's (device, inode) when it was opened (see moved); None: not a local folder
    identity: tuple[int, int] | None
    # reads paths touched into the index (and tells the other views: see _shared)
    indexed: Callable[[Iterable[str]], None]
    # lets other writers in (see _shared)
    release: Callable[[], None]
    # the files whose edits are held in memory, not written yet (see read())
    pending: set[str]

    def begin(self) -> Journal:  # pragma: no cover - defined by the Editor
        raise NotImplementedError

    def prune(self) -> None:  # pragma: no cover - defined by the Editor
        raise NotImplementedError

    def _may_change(self) -> None:
        """Refuse a change while a save into a store is cut short (see ``_staged``)."""
        store = getattr(self, "store", None)
        if store is not None:
            store.may_change()

    def moved(self) -> bool:
        """Whether the folder was renamed, moved or removed since the database was opened."""
        if self.identity is None:
            return False
        try:
            st = os.stat(self.root)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self.identity

    def let_go_moved(self) -> None:
        """Let the folder go once it was moved (:meth:`moved`): nothing can be written there.

        Its changes went with it (in its journal), not the edits held in memory
        (``read()``): a :class:`~dbdicom.DicomWarning` says they are dropped,
        and how to make them again.
        """
        if self.pending:
            first, n = sorted(self.pending)[0], len(self.pending)
            more = f" (and {n - 1} more)" if n > 1 else ""
            warnings.warn(
                f"the folder {self.root} was renamed, moved or removed while the database "
                f"was open: the edits held in memory (read()) of {first}{more} could not be "
                "written there, and are dropped. Open the folder where it is now "
                "(db.database(new_path)) and make them again.",
                DicomWarning,
                stacklevel=3,
            )
            self.pending.clear()
        self.release()

    def gone(self) -> DatabaseNotFoundError:
        """The error of a change asked after the folder was renamed, moved or removed."""
        return DatabaseNotFoundError(
            f"the folder {self.root} was renamed, moved or removed while the database was "
            "open: nothing was changed. Its files and its unsaved changes (kept in its "
            "journal) went with it. Close this database (database.close() lets the folder "
            "go) and open the folder where it is now: db.database(new_path); there, save() "
            "or restore() decides the unsaved changes."
        )

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
            error = self.unwritten(
                exc, "dbdicom could not take the writer's lock of the folder: nothing was changed."
            )
            if error is not None:
                raise error from exc
            raise
        if not taken:
            pid = lock.holder()
            if pid == os.getpid():
                raise self._held_here()
            who = f"process {pid}" if pid else "another process"
            where = self.db.path if self.db._index.remote else self.root
            raise ReadOnlyError(
                f"{who} is changing {where}: one process at a time may change a "
                "database (reading it is fine). Close the database there "
                "(database.close()) and try again."
            )
        self._loose = True
        return put_back

    def _held_here(self) -> ReadOnlyError:
        """The error when this process changes the folder through a database opened elsewhere.

        (The folder was renamed or moved while a database was open on it, or
        is reached through two paths: a bind mount.)
        """
        assert self.lock is not None
        mine = self.lock.path
        there = [
            e.db.path
            for e in list(EDITORS)
            if e is not self and e.lock is not None and e.lock.holds(mine)
        ]
        where = f"the database opened at {there[0]}" if there else "another Database object"
        return ReadOnlyError(
            f"this process is changing {self.root} through {where} (the folder was renamed "
            "or moved since it was opened there, or is reached by two paths): one Database "
            "object at a time may change it. Close that one (database.close(); a moved "
            "folder's database closes without asking) and try again."
        )

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

    def refused(
        self, exc: OSError, what: str, then: str = "make the change again"
    ) -> ReadOnlyError:
        """The error to raise when the system refused a write of ``exc`` in the folder.

        (A disk that became read-only while the database was open, or a
        permission taken away.)
        """
        where = f" ({exc.filename})" if exc.filename else ""
        return ReadOnlyError(
            f"{self.root} cannot be written any more ({exc.strerror or exc}{where}): the disk "
            "became read-only or the folder's write permission was taken away while the "
            f"database was open; {what} Make it writable again (remount the disk read-write, "
            f"or give back the permission), then {then}."
        )

    def unwritten(
        self, exc: OSError, what: str, then: str = "make the change again"
    ) -> DicomError | None:
        """The error to raise for ``exc`` where the folder could not be written, else None.

        A full disk is a :meth:`full`, a write the system refused a :meth:`refused`.
        """
        if disk_full(exc):
            return self.full(exc, what, then)
        if write_refused(exc):
            return self.refused(exc, what, then)
        return None

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

    def _failed(self, journal: Journal, mark: Any, exc: BaseException) -> DicomError | None:
        """After ``exc`` stopped a change: undo it if the disk is full; the error to raise.

        A file the change found it cannot write (an :class:`InvalidFileError`,
        raised before that file was touched) undoes it too: the files written
        before it are put back, and the call leaves no trace.
        """
        failure: DicomError | None = None
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
        elif isinstance(exc, OSError) and write_refused(exc):
            touched = journal.since(mark)
            failure = self.refused(exc, "the change was not made: nothing is lost.")
            if touched:
                try:
                    touched += journal.undo(mark)
                except OSError:
                    failure = self.refused(
                        exc,
                        "the change stopped half way: the files it changed are kept unsaved "
                        "in the journal, and nothing is lost.",
                        "call database.restore() (or save())",
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
