"""Memory mode: the datasets of a record read into memory, edited there, written at the end.

``record.read()`` reads the files' datasets; edits of those files change the
datasets only, and are written to disk (unsaved, through the journal) when
the pixels are read, at ``save()`` or ``clear()``, and at interpreter exit.
Another program may remove or rewrite one of those files in the meantime:
writing the dataset held in memory over it would undo that program's change
without a word, and a file removed has nothing to write into. So each file's
size and modification time are kept when it is read (its stamp), and a file
whose stamp differs when its edits are written is a
:class:`~dbdicom.StaleFileError` naming it and the way out; nothing is
written then. At exit, where nothing can be asked, the other files are
written and a warning names those that were not.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataset import Dataset

from .._errors import DicomWarning, StaleFileError

if TYPE_CHECKING:
    from ._database import Database

__all__ = ["Memory"]


class Memory:
    """The memory mode of an :class:`~dbdicom._records._edit.Editor`."""

    db: Database
    root: Path
    memory: dict[str, Dataset]
    pending: set[str]
    stamps: dict[str, tuple[int, int]]

    # defined by the Editor
    rels: Callable[[np.ndarray], list[str]]
    keys: Callable[[np.ndarray], list[Any]]
    check_files: Callable[[Sequence[str]], None]
    dataset: Callable[..., Dataset]
    changing: Callable[[], AbstractContextManager[Any]]
    _rewrite: Callable[..., None]
    _progress: Callable[..., None]

    def read(self, rows: np.ndarray) -> None:
        rels = self.rels(rows)
        self.check_files(rels)
        self.db.index.materialise([r for r in rels if r not in self.memory])
        for i, rel in enumerate(rels):
            if rel not in self.memory:
                self.stamp(rel)  # before the read: a rewrite during it is then seen
                self.memory[rel] = self.dataset(rel)
            self._progress(i + 1, len(rels), "Reading")

    def stamp(self, rel: str) -> None:
        """Keep the size and time of the file ``rel`` as its dataset in memory has it."""
        try:
            st = os.stat(self.root / rel)
        except OSError:
            self.stamps.pop(rel, None)
            return
        self.stamps[rel] = (st.st_size, st.st_mtime_ns)

    def sync(self, rows: np.ndarray) -> None:
        """Make the files of ``rows`` and their index rows agree before their pixels are read.

        The memory edits of ``rows`` are written to disk, and files another
        program rewrote since they were indexed (size or time changed) are
        read again (:meth:`~dbdicom._index.Index.check`).
        """
        if self.pending:
            self.write_pending(self.rels(rows))
        if self.db.index.check(rows):
            self.db._changed()

    def write_pending(
        self, rels: Iterable[str] | None = None, forget: bool = False, partial: bool = False
    ) -> None:
        """Write the edits held in memory to disk (unsaved, through the journal).

        A file removed or rewritten by another program since it was read is a
        :class:`StaleFileError` (nothing is written); with ``partial`` (at
        exit) the others are written and a warning names it.
        """
        chosen = list(self.memory) if rels is None else [r for r in rels if r in self.memory]
        todo = [r for r in chosen if r in self.pending]
        clashes = self._clashes(todo)
        if clashes and not partial:
            raise self._clash_error(clashes)
        todo = [r for r in todo if r not in clashes]
        if todo:
            with self.changing() as journal:
                frame = self.db.index.frame
                where = frame["_path"].isin(todo).to_numpy()
                rows = np.flatnonzero(where)
                journal.keep(zip(self.rels(rows), self.keys(rows), strict=True))
                self._rewrite(self.rels(rows), None, "Writing")
            self.pending.difference_update(todo)
        if clashes:
            warnings.warn(str(self._clash_error(clashes, True)), DicomWarning, stacklevel=2)
        if forget:
            for r in chosen:
                self.memory.pop(r, None)
                self.stamps.pop(r, None)

    def _clashes(self, rels: Iterable[str]) -> dict[str, str]:
        """The files of ``rels`` another program removed or rewrote since they were read."""
        out = {}
        for rel in rels:
            try:
                st = os.stat(self.root / rel)
            except FileNotFoundError:
                out[rel] = "removed"
                continue
            stamp = self.stamps.get(rel)
            if stamp is not None and (st.st_size, st.st_mtime_ns) != stamp:
                out[rel] = "rewritten"
        return out

    def _clash_error(self, clashes: dict[str, str], at_exit: bool = False) -> StaleFileError:
        rel, how = next(iter(clashes.items()))
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        uid = self.memory[rel].get("SOPInstanceUID", "")
        if at_exit:
            return StaleFileError(
                f"{self.root / rel}{more} was {how} by another program (or another "
                "Database object of the folder) after it was read into memory (read()): its "
                "edits held in memory were not written at exit (they would have undone that "
                "change); the edits of the other files were written, unsaved."
            )
        return StaleFileError(
            f"{self.root / rel}{more} was {how} by another program (or another Database "
            "object of the folder) after it was read into memory (read()): writing its edits "
            "held in memory would undo that change, so none were written; they are still in "
            "memory. To go on, drop the edits of that instance (database.instances("
            f"SOPInstanceUID='{uid}')[0].restore()) and save() again: the other change "
            "stays. To put your edits on top of it, set them again after that."
        )
