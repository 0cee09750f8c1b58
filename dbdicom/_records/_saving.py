"""Saving and restoring a database's changes, and the table of them.

The part of :class:`~dbdicom._records._edit.Editor` that ends changes: a
save makes them permanent, a restore puts the files back as they were saved
(see :mod:`dbdicom._journal`). A save or restore of one record is refused
when it would no longer fit with the records around it (see ``_fit``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import DicomError
from .._facade import pandas as pd
from .._journal import FolderLock, Journal
from ._attributes import LEVELS
from ._empty import Registry
from ._fit import check_restore, check_save

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from ._database import Database
    from ._record import Record
    from ._staged import StoreEdits

__all__ = ["Saving"]


class Saving:
    """Save, restore and the table of unsaved changes, for an Editor."""

    db: Database
    root: Path
    journal: Journal | None
    lock: FolderLock | None
    store: StoreEdits | None
    memory: dict[str, Dataset]
    pending: set[str]
    empty: Registry
    restored_first: list[str]
    _loose: bool

    # defined by the Editor (and its other parts)
    begin: Callable[[], Journal]
    rels: Callable[[np.ndarray], list[str]]
    write_pending: Callable[..., None]
    indexed: Callable[[Iterable[str]], None]
    told: Callable[..., None]
    catch_up: Callable[[], None]
    _let_go: Callable[[], None]
    _progress: Callable[[int, int, str], None]
    unwritten: Callable[..., Any]

    @property
    def owner(self) -> bool:  # pragma: no cover - defined by Shared
        raise NotImplementedError

    def _journal_paths(self, record: Record) -> list[str] | None:
        """Paths of the journal entries that belong to ``record`` (None: all)."""
        if record.level == "database":
            return None
        assert self.journal is not None
        i = LEVELS.index(record.level) - 1
        paths = {p for p, e in self.journal.entries.items() if e.keys[i] == record.uid}
        try:
            rows = record._rows()
        except DicomError:
            rows = np.array([], dtype=np.int64)
        paths.update(p for p in self.rels(rows) if p in self.journal.entries)
        return sorted(paths)

    def _record_rels(self, record: Record) -> list[str]:
        try:
            return self.rels(record._rows())
        except DicomError:
            return []

    def _nothing_to_do(self) -> bool:
        """A read-only database with no change: save() and restore() have nothing to do."""
        if self.db._closed or self.lock is not None or self.pending or self.memory:
            return False
        return self.journal is None or not self.journal.unsaved

    def save(self, record: Record) -> int:
        if self._nothing_to_do():  # an analysis of a read-only folder ending in save()
            return 0
        journal = self.begin()
        rels = None if record.level == "database" else self._record_rels(record)
        self.write_pending(rels)
        paths = self._journal_paths(record)
        if paths is not None:
            check_save(record, journal, paths)
        n = len(journal.entries) if paths is None else len(paths)
        self._progress(0, n, "Saving")
        if self.store is not None:  # into the store: its errors say how far it went
            n = len(self.store.save(paths, self.memory))
            self._loose = False
            self._progress(n, n, "Saving")
            return n
        try:
            journal.save(paths)
        except OSError as exc:
            self._let_go()
            error = self.unwritten(
                exc,
                "nothing was saved and nothing is lost: the changes are still unsaved.",
                "call save() again (or restore())",
            )
            if error is not None:
                raise error from exc
            raise DicomError(
                f"saving the changes of {self.root} failed ({exc}): nothing was saved and "
                "nothing is lost; the changes are still unsaved (restore() or save() again)."
            ) from exc
        self.told()  # the journal: saved
        self._loose = False
        self._progress(n, n, "Saving")
        return n

    def restore(self, record: Record) -> int:
        if self._nothing_to_do():
            return 0
        journal = self.begin()
        first = set(self.restored_first)  # a restore cut short, finished by begin()
        rels = list(self.memory) if record.level == "database" else self._record_rels(record)
        paths = self._journal_paths(record)
        if paths is not None:  # before anything is dropped: a refusal changes nothing
            check_restore(record, journal, paths)
        dropped = {r for r in rels if r in self.memory}  # changed in memory only
        for r in rels:
            self.memory.pop(r, None)
            self.pending.discard(r)
        stale = [r for r in rels if r not in journal.entries]
        if record.level == "database":
            self.empty.records.clear()
        elif record.level != "instance":
            self.empty.discard(record.level, record.uid)
        chosen = list(journal.entries) if paths is None else paths
        self._progress(0, len(chosen), "Restoring")
        try:
            if self.store is not None:
                self.store.undo()
            done = journal.restore(paths)
            if self.store is not None:
                self.store.restored(chosen, self.memory)
        except OSError as exc:
            self._let_go()
            error = self.unwritten(
                exc,
                "the restore did not finish; nothing is lost (each original is kept until "
                "it is back).",
                "call restore() again",
            )
            if error is not None:
                raise error from exc
            raise
        finally:
            self.indexed(sorted(set(chosen) | set(stale)))
        self._loose = False
        self._progress(len(chosen), len(chosen), "Restoring")
        return len(dropped | set(done) | first)

    def changes(self) -> pd.DataFrame:
        """A table of the unsaved changes: ``path`` and ``change``."""
        out: list[tuple[str, str]] = []
        self.catch_up()
        if self.journal is not None:
            if not self.owner:
                self.journal.load()
            for path, entry in sorted(self.journal.entries.items()):
                if not self.journal.changed(entry):
                    continue  # a new file that is not there: the folder is as saved
                exists = (self.root / path).exists()
                kind = "new" if entry.kind == "new" else "changed" if exists else "removed"
                out.append((path, kind))
        out += [(p, "changed in memory") for p in sorted(self.pending)]
        return pd.DataFrame(out, columns=["path", "change"])
