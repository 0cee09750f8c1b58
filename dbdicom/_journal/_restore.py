"""Putting files back: a restore, finished whole after a kill, that keeps other programs' files.

The part of :class:`~dbdicom._journal.Journal` that restores (see the
module :mod:`dbdicom._journal._journal` for the log and the marker). A
file is put back (or a new one deleted) only while it is as dbdicom left it
(:meth:`Entry.left <dbdicom._journal._entry.Entry.left>`): a file another
program wrote, rewrote or removed since is left as that program left it,
its kept original is moved to ``journal/conflicts/`` and a
:class:`~dbdicom.DicomWarning` names both and the way out. The move is a
rename to a place fixed by the entry, so that a restore killed after it and
finished later finds it there, and says so again.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from collections.abc import Iterable
from pathlib import Path

from .._errors import DicomWarning
from ._entry import Entry, Stamp, fsync_dir, same, state

__all__ = ["CONFLICTS", "RESTORING", "Restoring"]

#: the marker of a restore under way (see Restoring.restore)
RESTORING = "restoring"
#: where a restore puts the kept originals of files another program changed since
CONFLICTS = "conflicts"
_BINARY = getattr(os, "O_BINARY", 0)


class Restoring:
    """Restore, and finish a restore cut short, for a :class:`~dbdicom._journal.Journal`."""

    root: Path
    folder: Path
    originals: Path
    tmp: Path
    entries: dict[str, Entry]
    #: where files a restore could not prove dbdicom's were set aside (see _set_aside)
    _asides: dict[str, Path]

    def load(self) -> None:  # pragma: no cover - defined by the Journal
        raise NotImplementedError

    def _chosen(self, paths: Iterable[str] | None) -> dict[str, Entry]:  # pragma: no cover
        raise NotImplementedError

    def _rewrite(self, entries: dict[str, Entry]) -> None:  # pragma: no cover
        raise NotImplementedError

    def restore(self, paths: Iterable[str] | None = None) -> list[str]:
        """Put ``paths`` (all by default) back as they were saved; the paths restored.

        A new file announced (:meth:`created`) but never written, by a write
        cut short, has nothing to undo: it is not among the paths returned.

        A restore cut short before is finished first (:meth:`finish_restore`).
        The paths are recorded in the marker before the first original goes
        back, so a kill at any moment leaves a restore that the next
        :meth:`recover`, :meth:`save` or :meth:`restore` finishes whole.
        """
        self.finish_restore()
        chosen = self._chosen(paths)
        if not chosen:
            return []
        self._mark_restore(None if paths is None else list(chosen))
        lost, undone = self._restore(chosen)
        if lost:
            more = f" (and {len(lost) - 1} more)" if len(lost) > 1 else ""
            warnings.warn(
                f"{self.root / lost[0]}{more}: its original is not in the journal "
                f"({self.originals}): deleted by another program. The file is left as it "
                "is now: check it.",
                DicomWarning,
                stacklevel=3,
            )
        return undone

    def finish_restore(self) -> list[str]:
        """Finish a restore cut short (killed, or stopped by an error); the paths put back.

        The paths its marker lists (every entry of the log for an empty
        marker) are put back; an original put back already is not an error.
        Nothing when no restore is under way (one ``stat``).
        """
        marker = self.folder / RESTORING
        if not marker.exists():
            return []
        self.load()
        try:
            listed = json.loads(marker.read_text() or "null")
        except (OSError, ValueError):
            listed = None  # (written whole by a rename: never torn) restore to the last save
        if not isinstance(listed, list):
            listed = None
        chosen = self._chosen(None if listed is None else [str(p) for p in listed])
        return self._restore(chosen)[1]

    def _mark_restore(self, paths: list[str] | None) -> None:
        """Record durably that a restore of ``paths`` (None: every entry) is under way.

        The marker of a restore of everything is an empty file, which needs
        no free space; the paths of a restore of some are written whole into
        a temporary file first, then renamed into place (on a full disk it
        fails before anything is put back).
        """
        marker = self.folder / RESTORING
        if paths is None:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o644)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            self.tmp.mkdir(parents=True, exist_ok=True)
            tmp = self.tmp / f"{RESTORING}.{uuid.uuid4().hex}"
            try:
                with open(tmp, "wb") as f:
                    f.write(json.dumps(paths).encode())
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, marker)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        fsync_dir(self.folder)

    def _restore(self, chosen: dict[str, Entry]) -> tuple[list[str], list[str]]:
        """Put the files of ``chosen`` back, drop their entries, delete the marker.

        Returns the paths whose original was missing (put back before, or
        deleted by another program: their files are left as they are), and
        the paths undone: those of ``chosen`` but the new files announced and
        never written (a write cut short), which had nothing to undo, and
        those another program changed since dbdicom did (left as that
        program left them, their originals moved aside, and a warning says
        where: see :meth:`_put_back`). The marker goes last: a kill before
        leaves it for :meth:`finish_restore`.
        """
        unwritten = {
            p for p, e in chosen.items() if e.kind == "new" and not os.path.lexists(self.root / p)
        }
        emptied: set[Path] = set()
        done = {e.path: self._put_back(e, emptied) for e in chosen.values()}
        rest = {p: e for p, e in self.entries.items() if p not in chosen}
        self._rewrite(rest)
        (self.folder / RESTORING).unlink(missing_ok=True)
        fsync_dir(self.folder)
        self._remove_empty(emptied)
        self._tell([chosen[p] for p, how in done.items() if how == "conflict"], 6)
        self._tell_aside([chosen[p] for p, how in done.items() if how == "aside"], 6)
        lost = [p for p, how in done.items() if how == "lost"]
        return lost, [p for p, how in done.items() if p not in unwritten and how != "conflict"]

    def _put_back(self, entry: Entry, emptied: set[Path], ours: bool = False) -> str:
        """Put the file of ``entry`` back as saved (its folder, maybe emptied, in ``emptied``).

        Returns ``"done"``; ``"lost"``: its original is not in the journal
        (the file is left as it is); ``"conflict"``: another program changed
        the file since dbdicom did (see :attr:`Entry.stamps`): it is left as
        that program left it, or put back as that program left it before
        dbdicom wrote over it again (:attr:`Entry.theirs`), and the original
        is moved to :meth:`conflict` (where it is found again when a restore
        killed after the move is finished); ``"aside"``: done, but the file
        taken out of the folder may not be dbdicom's (its stamp is not
        recorded: see :meth:`Entry.proven`): it is moved into ``conflicts/``,
        not deleted. ``ours``: the entry was announced by the change an
        :meth:`undo` takes back, in this process, moments ago: a new file
        at its path is that change's own (written before its stamp was
        recorded), and is deleted.
        """
        target = self.root / entry.path
        now = state(target)
        if entry.theirs and os.path.lexists(self.originals / entry.theirs):
            return self._put_theirs(entry, now)
        if entry.kind == "new":
            if now is None:  # never written: the folder made for it may be left empty
                emptied.add(target.parent)
                return "done"
            if not entry.left(now):
                return "conflict"  # nothing of dbdicom's to keep: the file is the other's
            emptied.add(target.parent)
            if not (ours or entry.proven(now)):
                self._set_aside(target, entry)
                return "aside"
            target.unlink()
            return "done"
        kept = self.originals / entry.original
        if not kept.exists():
            return "conflict" if os.path.lexists(self.conflict(entry)) else "lost"
        if now is not None and same(kept, target):
            kept.unlink()  # never rewritten: the file is its original already
            return "done"
        if not entry.left(now):
            self._move(kept, self.conflict(entry))
            return "conflict"
        how = "done"
        if now is not None and not entry.proven(now):  # (a log of an older dbdicom)
            self._set_aside(target, entry)
            how = "aside"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(kept, target)
        return how

    def _put_theirs(self, entry: Entry, now: Stamp | None) -> str:
        """Put back the version of another program that dbdicom wrote over (or removed).

        The original (of a file kept) goes to :meth:`conflict` first, then
        that version goes back in place when the file is as dbdicom left it;
        when another program changed it again since, the file is left as it
        is and that version goes aside too (``conflicts/<its name>/...``).
        Each step is a rename that a restore killed in between and finished
        later does not repeat.
        """
        target = self.root / entry.path
        theirs = self.originals / entry.theirs
        kept = self.originals / entry.original
        if entry.kind == "kept" and os.path.lexists(kept):
            self._move(kept, self.conflict(entry))
        if entry.left(now):
            self._move(theirs, target)
        else:
            self._move(theirs, self.folder / CONFLICTS / entry.theirs / entry.path)
        return "conflict"

    @staticmethod
    def _move(source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def _set_aside(self, target: Path, entry: Entry) -> None:
        """Move ``target``, which may be another program's file, into ``conflicts/``."""
        aside = self.folder / CONFLICTS / f"aside-{uuid.uuid4().hex}" / entry.path
        self._move(target, aside)
        self._asides[entry.path] = aside  # (for the warning: see _tell_aside)

    def conflict(self, entry: Entry) -> Path:
        """Where a restore puts the original of ``entry`` when another program changed its file.

        One place per entry (its original's name, then the file's path), so
        that a restore killed after the move and finished later finds it.
        """
        return self.folder / CONFLICTS / entry.original / entry.path

    def _tell(self, conflicts: list[Entry], stacklevel: int) -> None:
        """Warn of the files a restore or an undo left as another program left them."""
        if not conflicts:
            return
        first = conflicts[0]
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        kept = [e for e in conflicts if e.kind == "kept"]
        where = (
            f"The file as it was at the last save is kept in {self.conflict(kept[0])}"
            f"{' (the others in ' + str(self.folder / CONFLICTS) + ')' if len(kept) > 1 else ''}"
            ": copy it back to put it back, or delete it."
            if kept
            else "It was a new file of dbdicom's: nothing of the last save is lost."
        )
        warnings.warn(
            f"{self.root / first.path}{more} was changed by another program after dbdicom "
            "changed it (unsaved): it was not put back as saved, so as not to undo that "
            f"program's change, and is as that program left it. {where}",
            DicomWarning,
            stacklevel=stacklevel,
        )

    def _tell_aside(self, entries: list[Entry], stacklevel: int) -> None:
        """Warn of the files a restore or an undo took out of the folder and set aside."""
        if not entries:
            return
        first = entries[0]
        more = f" (and {len(entries) - 1} more)" if len(entries) > 1 else ""
        aside = self._asides.pop(first.path, self.folder / CONFLICTS)
        for entry in entries:
            self._asides.pop(entry.path, None)
        warnings.warn(
            f"{self.root / first.path}{more}: dbdicom has no record of leaving it as it is "
            "now (written by dbdicom in a change cut short, or by another program since), "
            f"so the restore did not delete it but set it aside, in {aside}"
            f"{' (the others in ' + str(self.folder / CONFLICTS) + ')' if more else ''}: "
            "delete it, or copy it back to keep it.",
            DicomWarning,
            stacklevel=stacklevel,
        )

    def _remove_empty(self, folders: set[Path]) -> None:
        """Remove the folders that removing new files left empty, and parents left empty then.

        Parents are removed up to the database folder, which is kept.
        """
        root = self.root.resolve()
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            current = folder
            while current.resolve() != root and root in current.resolve().parents:
                try:
                    current.rmdir()  # only an empty folder goes
                except OSError:
                    break
                current = current.parent
