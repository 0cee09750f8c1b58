"""The changes of a database in a writable object store: staged locally, saved into the store.

Opened with ``db.database(url, writable=True)``, a database in a store is
changed as a folder is, through the journal, in a working folder of the
user data folder (:class:`~dbdicom._index.StagedIndex`): nothing in the store
changes until :meth:`save`. The first change takes the store's lock object
(:class:`~dbdicom._journal.StoreLock`); a save sends the changes
(:func:`~dbdicom._journal.save_into`); a restore undoes a save cut short
first (:func:`~dbdicom._journal.undo_push`). The lock object goes when no
change is left unsaved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .._errors import ReadOnlyError
from .._index import StagedIndex
from .._journal import Journal, StoreLock, finish, interrupted, save_into, undo_push

__all__ = ["StoreEdits"]

# one lock object per working folder (so per store) and process, shared by the
# Database objects of that store, as a folder's lock is (see _shared)
_LOCKS: dict[str, StoreLock] = {}


class StoreEdits:
    """What an editor does besides its journal when its database is in a store.

    Parameters
    ----------
    index : StagedIndex
        The database's index (its working folder and store).
    journal : Journal
        The working folder's journal.
    told : callable
        Tells the other Database objects of the store the paths saved into it.
    """

    def __init__(
        self, index: StagedIndex, journal: Journal, told: Callable[[Iterable[str]], None]
    ) -> None:
        self.index = index
        self.journal = journal
        self.told = told
        key = str(index.root)
        if key not in _LOCKS:
            _LOCKS[key] = StoreLock(index.source, index.store, index.root)
        self.lock = _LOCKS[key]
        # the credentials of the latest open (a notebook's refreshed token), for all views
        self.lock.store = index.source
        index.entries = lambda: journal.entries
        if journal.entries:  # changes left unsaved by an earlier session: read them here
            index.update(sorted(journal.entries))

    def begin(self, memory: Iterable[str] = ()) -> None:
        """Take the store's lock object (at the first change); finish a committed save.

        A save killed after its last write but before the journal's commit
        left its plan committed: the store holds it whole, so the journal
        commits it now (it is never undone).
        """
        self.lock.acquire()
        self._finished(finish(self.journal), memory)

    def _finished(self, saved: list[str], memory: Iterable[str]) -> None:
        if saved:
            self.index.forget_copies(saved, list(memory))
            self.index.update(saved)
            self.told(saved)

    def may_change(self) -> None:
        """Refuse a change while a save into the store is cut short."""
        if interrupted(self.journal):
            raise ReadOnlyError(
                f"a save into {self.index.name} was cut short: the store holds part of it. "
                "Call save() to finish it, or restore() to put the store back as it was, "
                "before changing anything else."
            )

    def save(self, paths: Iterable[str] | None, memory: Iterable[str]) -> list[str]:
        """Save ``paths`` (all by default) into the store; the paths saved."""
        if self.lock.held:
            self.lock.check()  # still ours (not deleted or taken over meanwhile)
        self.lock.acquire()
        fetched = self.index.fetched()
        saved = save_into(self.journal, self.index.source, paths, fetched)
        self._finished(saved, memory)
        self.let_go()
        return saved

    def undo(self) -> None:
        """Undo a save cut short (before a restore of the journal)."""
        self.lock.acquire()
        self._finished(finish(self.journal), ())
        if interrupted(self.journal):
            undo_push(self.journal, self.index.source)

    def restored(self, paths: Iterable[str], memory: Iterable[str]) -> None:
        """After a restore: the copies of ``paths`` are the store's objects again."""
        self.index.forget_copies(list(paths), list(memory))
        self.let_go()

    def let_go(self) -> None:
        """Delete the lock object once no change is left unsaved."""
        if not self.journal.unsaved and not interrupted(self.journal):
            self.lock.release()
