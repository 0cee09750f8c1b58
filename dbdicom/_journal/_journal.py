"""Copy-on-write journal: every change reaches the disk at once, reversibly.

Before a file of the database is first rewritten or removed, its original is
kept in the journal folder (a hard link to the same bytes where the file
system allows it, a copy otherwise); files created are recorded. The log
is written *before* the change it announces (write-ahead), so whatever
moment a process is killed at, the folder can be brought back:

* an entry whose kept original is missing announced a change that never
  happened (the process died before keeping it): the file is as it was;
* a kept original is the file's last saved state, byte for byte;
* a file announced as new is deleted by a restore;
* a file another program wrote, rewrote or removed since dbdicom did is
  left as that program left it (each entry records the states dbdicom left
  its file in: see :mod:`~dbdicom._journal._entry` and ``_restore``); one
  that dbdicom wrote over or removed again after another program's change
  is put back as that program left it (that version is kept, see
  ``Entry.theirs``), and one whose state dbdicom never recorded is set
  aside, not deleted.

Saving a set of files rewrites the log without their entries in one atomic
rename (then deletes their originals), so a save is all or nothing; saving
or restoring everything empties the log in place instead, which needs no
free space.
Restoring first records, durably, which paths it restores (the marker
``journal/restoring``), then puts their originals back with atomic renames,
rewrites the log and deletes the marker. A restore killed or stopped half
way is finished, for the paths the marker lists, before anything else is
done with the journal (:meth:`Journal.recover`, :meth:`Journal.save`,
:meth:`Journal.restore`): an original already put back is missing, which
is expected then. Without the marker, those entries would read as changes
that never happened and the others as unsaved changes, and a save would
commit a state partly restored. Files are
always replaced by renaming a complete temporary file over them: a file of
the database is never half written.

A full disk (``OSError`` ENOSPC or EDQUOT) takes nothing: log lines that
could not be written whole are cut off again, originals that could not all
be kept are let go, temporary files are deleted, and :meth:`Journal.undo`
puts back the files of a change that failed half way, without needing any
free space (renames, deletions, a truncation). The marker of a restore of
everything is an empty file (it needs no free space either); that of a
restore of some paths lists them.

Layout, inside the database's hidden folder::

    journal/log          one JSON object per line: path, kind, original, keys,
                         stamps, theirs
    journal/originals/   the kept originals (and other programs' versions)
    journal/tmp/         files being written (cleared when a writer starts)
    journal/restoring    a restore under way: its paths, one JSON list
                         (empty file: every entry of the log)
    journal/conflicts/   originals of files another program changed, which
                         a restore did not put back (<original>/<path>), and
                         files it could not prove dbdicom's (aside-<id>/<path>)
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from ._entry import Entry, Keys, fsync_dir, same, state
from ._restore import CONFLICTS, Restoring

__all__ = ["Entry", "Journal"]

# the log's length and the entries at a moment (see Journal.mark)
Mark = tuple[int, dict[str, "Entry"], int]
_BINARY = getattr(os, "O_BINARY", 0)


class Journal(Restoring):
    """The unsaved changes of one database folder.

    Parameters
    ----------
    root : Path
        The database folder.
    folder : Path
        The journal folder (inside the database's hidden folder).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "a.dcm").write_bytes(b"saved")
    >>> journal = Journal(root, root / ".dbdicom" / "journal")
    >>> journal.keep([("a.dcm", ("p", "st", "se", "i"))])
    >>> journal.write("a.dcm", lambda tmp: pathlib.Path(tmp).write_bytes(b"changed"))
    >>> (root / "a.dcm").read_bytes(), journal.unsaved
    (b'changed', True)
    >>> journal.restore()
    ['a.dcm']
    >>> (root / "a.dcm").read_bytes(), journal.unsaved
    (b'saved', False)
    """

    def __init__(self, root: Path, folder: Path) -> None:
        self.root = root
        self.folder = folder
        self.log = folder / "log"
        self.originals = folder / "originals"
        self.tmp = folder / "tmp"
        self.entries: dict[str, Entry] = {}
        self._torn = False  # the log has a torn line (see load)
        # a change under way (see mark): the entries when it began, and the files it
        # rewrote that had unsaved changes already, as they were then (links in tmp)
        self._base: dict[str, Entry] | None = None
        self._stash: dict[str, Path] = {}
        self._asides: dict[str, Path] = {}
        self.load()

    # ------------------------------------------------------------ state
    def load(self) -> None:
        """Read the log (a torn last line, left by a kill, is ignored)."""
        self.entries = {}
        self._torn = False
        try:
            text = self.log.read_text()
        except (FileNotFoundError, NotADirectoryError):
            return
        self._torn = bool(text) and not text.endswith("\n")
        for line in text.splitlines():
            entry = Entry.from_json(line)
            if entry is not None:  # a path announced again (see keep) is its last line
                self.entries[entry.path] = entry
            elif line.strip():
                self._torn = True

    @property
    def unsaved(self) -> bool:
        """Whether any change is waiting for a save or a restore (see :meth:`changed`)."""
        return any(self.changed(e) for e in self.entries.values())

    def changed(self, entry: Entry) -> bool:
        """Whether ``entry`` is a change of the folder: not a new file that is not there.

        (Announced and never written, by a write killed early, or written and
        removed again: the folder is as saved at its path.)
        """
        return entry.kind != "new" or os.path.lexists(self.root / entry.path)

    def recover(self) -> list[str]:
        """Tidy up after a crash; run by the writer when it takes the lock.

        Finishes a restore cut short (:meth:`finish_restore`), deletes
        half-written temporary files (of the log too), forgets entries whose
        change never happened (new files not there among them), deletes
        originals no entry refers to (a save killed after its commit) and
        rewrites the log without torn lines. A log without torn lines or
        forgotten entries is left alone when it cannot be rewritten: a full
        disk still lets a writer in. Returns the paths put back by finishing
        a restore. (The writer's lock is held: no one else writes here now.)
        """
        self.load()
        if not self.folder.is_dir():
            return []
        put_back = self.finish_restore()
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        live = {}
        for path, entry in self.entries.items():
            if entry.kind == "kept" and not (self.originals / entry.original).exists():
                continue  # announced, never started: the file is its saved self
            live[path] = entry
        if self.originals.is_dir():
            used = {e.original for e in live.values()} | {e.theirs for e in live.values()}
            for name in os.listdir(self.originals):
                if name not in used:
                    (self.originals / name).unlink(missing_ok=True)
        for stale in self.folder.glob("log.*.tmp"):  # of a rewrite killed before its rename
            stale.unlink(missing_ok=True)
        changes = {p: e for p, e in live.items() if self.changed(e)}
        if self._torn or live != self.entries:
            self._rewrite(changes)
        elif changes != live:  # new files not there (a write killed early): no changes
            with contextlib.suppress(OSError):  # (a full disk still lets a writer in)
                self._rewrite(changes)
        return put_back

    def _append(self, entries: list[Entry], sync: bool = True) -> None:
        """Add ``entries`` to the log, all or none: a failed write is cut off again.

        (A torn line left before the next one would hide that one's entry.)
        Without ``sync``, the lines reach the system, not the disk: they
        outlive a kill of the process, not a power cut (the stamps of files
        written, see :meth:`write`, which cost one line each).
        """
        if not entries:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        data = memoryview("".join(e.to_json() + "\n" for e in entries).encode())
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _BINARY, 0o644)
        try:
            start = os.fstat(fd).st_size
            try:
                while len(data):
                    data = data[os.write(fd, data) :]
                if sync:
                    os.fsync(fd)
            except BaseException:
                os.ftruncate(fd, start)  # frees what the lines took: it needs no room
                raise
        finally:
            os.close(fd)
        for e in entries:
            self.entries[e.path] = e

    def mark(self) -> Mark:
        """Where the journal stands now: what :meth:`undo` goes back to.

        The first mark of a change begins it: until :meth:`settle`, a file
        with unsaved changes from before that the change rewrites is kept
        as it was (a hard link), so that an undo puts it back as it was
        before the change, not as it was saved (or left as the change made it).
        """
        if self._base is None:
            self._base = dict(self.entries)
        size, entries = self._position()
        return size, entries, len(self._stash)

    def _position(self) -> tuple[int, dict[str, Entry]]:
        try:
            size = self.log.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            size = 0
        return size, dict(self.entries)

    def settle(self) -> None:
        """End the change the first :meth:`mark` began: let go of what it kept for an undo."""
        for kept in self._stash.values():
            kept.unlink(missing_ok=True)
        self._stash = {}
        self._base = None

    def since(self, mark: Mark) -> list[str]:
        """The paths announced since ``mark``."""
        return [p for p in self.entries if p not in mark[1]]

    def undo(self, mark: Mark) -> list[str]:
        """Undo the changes announced since ``mark`` (of a change that failed half way).

        Their files are put back as they were before (new files deleted,
        kept originals renamed back over the files) and the log is cut back
        to its length then. It needs no free space (renames, deletions and
        a truncation), so it works on a full disk. Returns the paths put
        back. Killed half way, it leaves what a kill during the change
        would: the next writer's :meth:`recover` or a restore finishes it.
        """
        size, before, stashed = mark
        undone = [e for p, e in self.entries.items() if p not in before]
        emptied: set[Path] = set()
        done = {e.path: self._put_back(e, emptied, ours=True) for e in undone}
        back = list(self._stash.items())[stashed:]
        for path, kept in back:  # changed before the change too: as they were then
            os.replace(kept, self.root / path)
            del self._stash[path]
        for path, entry in self.entries.items():  # another program's versions it kept
            if path in before and entry.theirs and entry.theirs != before[path].theirs:
                theirs, target = self.originals / entry.theirs, self.root / path
                if not os.path.lexists(target):  # removed by the change: back as it was
                    os.replace(theirs, target)
                elif same(theirs, target):  # put back from the stash already
                    theirs.unlink()
        self._cut(size)
        self.entries = dict(before)
        self._remove_empty(emptied)
        self._tell([e for e in undone if done[e.path] == "conflict"], 5)
        self._tell_aside([e for e in undone if done[e.path] == "aside"], 5)
        return [e.path for e in undone] + [path for path, _ in back]

    def _cut(self, size: int) -> None:
        """Cut the log to ``size`` bytes (in place: this needs no free space)."""
        try:
            fd = os.open(self.log, os.O_WRONLY | _BINARY)
        except (FileNotFoundError, NotADirectoryError):
            return
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _rewrite(self, entries: dict[str, Entry]) -> None:
        """Replace the log by ``entries`` in one atomic rename.

        No entries: the log is emptied in place, which needs no free space
        (so a whole save or restore works on a full disk).
        """
        if not entries:
            self._cut(0)
            self.entries = {}
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"log.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write("".join(e.to_json() + "\n" for e in entries.values()).encode())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.log)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(self.folder)
        self.entries = dict(entries)

    # ------------------------------------------------------------ changes
    def _kept(self, path: str) -> bool:
        """Whether ``path`` is announced already, with its original kept (if it had one).

        A "kept" entry whose original is gone announced a change that never
        happened, or was undone since (a restore or :meth:`undo` whose log
        could not be rewritten): its file is its saved self, to be kept
        again before it changes.
        """
        entry = self.entries.get(path)
        if entry is None:
            return False
        return entry.kind == "new" or (self.originals / entry.original).exists()

    def keep(self, files: Iterable[tuple[str, Keys]]) -> None:
        """Keep the originals of files about to be rewritten (once per file).

        All or none: when one cannot be kept (a full disk), those kept are
        let go and their log lines cut off before the error is raised.
        """
        new = [
            Entry(path, "kept", uuid.uuid4().hex, keys, (state(self.root / path),))
            for path, keys in files
            if not self._kept(path)
        ]
        if not new:
            return
        mark = self._position()
        self._append(new)
        try:
            self.originals.mkdir(parents=True, exist_ok=True)
            for entry in new:
                self._link(self.root / entry.path, self.originals / entry.original)
        except BaseException:
            for entry in new:  # the files are untouched: their originals only go
                (self.originals / entry.original).unlink(missing_ok=True)
            self._cut(mark[0])
            self.entries = mark[1]
            raise

    def created(self, files: Iterable[tuple[str, Keys]]) -> None:
        """Announce files about to be created."""
        self._append([Entry(p, "new", "", k, (None,)) for p, k in files if p not in self.entries])

    def remove(self, files: Iterable[tuple[str, Keys]]) -> None:
        """Remove files from the folder, keeping the originals of saved ones."""
        files = list(files)
        new = [
            Entry(p, "kept", uuid.uuid4().hex, k, (state(self.root / p), None))
            for p, k in files
            if not self._kept(p)
        ]
        # those announced already: no file is a state dbdicom leaves them in too; one
        # another program rewrote since dbdicom did is kept, not deleted (see _theirs)
        before = {p: self.entries[p] for p, _ in files if self._kept(p)}
        again = [self._theirs(e).then(None) for e in before.values()]
        for entry in again:  # (before the log names the newer one: see _set_aside_theirs)
            if entry.theirs != before[entry.path].theirs:
                self._set_aside_theirs(before[entry.path])
        self._append(new + again, sync=True)
        if new or any(e.theirs for e in again):
            self.originals.mkdir(parents=True, exist_ok=True)
        for entry in again:
            target = self.root / entry.path
            if entry.theirs != before[entry.path].theirs:
                os.replace(target, self.originals / entry.theirs)
            else:
                target.unlink(missing_ok=True)
        for entry in new:
            os.replace(self.root / entry.path, self.originals / entry.original)

    def _theirs(self, entry: Entry) -> Entry:
        """``entry``, naming a place for its file's version if another program wrote it.

        dbdicom is about to write over (or remove) the file of ``entry``,
        which it changed before: when the file is not as dbdicom left it,
        another program changed it in between, and that version is kept
        (under the name :attr:`Entry.theirs`, in ``originals/``) for a
        restore to put back instead of the original, so as not to undo
        that program's change. Nothing is kept yet: the caller records the
        entry, then links or moves the file there.
        """
        if entry.stamps is None:
            return entry  # (a log of an older dbdicom: unknown)
        now = state(self.root / entry.path)
        if now is None or entry.left(now):
            return entry
        return replace(entry, theirs=uuid.uuid4().hex)

    def _set_aside_theirs(self, entry: Entry) -> None:
        """Move the other program's version ``entry`` kept before into ``conflicts/``.

        (A later one of that program's versions replaces it as the one a
        restore puts back; this one is kept aside, never deleted.) Done
        before the log names the later one: a kill between the two leaves
        this one in ``conflicts/`` (where a restore finds the log's name
        gone, and leaves the file as it is), not in ``originals/``, where
        :meth:`recover` deletes what no entry names.
        """
        if not entry.theirs:
            return
        kept = self.originals / entry.theirs
        if os.path.lexists(kept):
            aside = self.folder / CONFLICTS / entry.theirs / entry.path
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(kept, aside)

    def write(self, path: str, writer: Callable[[str], object]) -> None:
        """Write a file of the folder whole, then put it in place in one rename.

        ``writer(tmp)`` writes it whole, then it replaces the file in one
        rename. Announce it first (:meth:`keep` or :meth:`created`).
        """
        self.tmp.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / uuid.uuid4().hex
        target = self.root / path
        if (
            self._base is not None
            and path in self._base
            and path not in self._stash
            and os.path.lexists(target)
        ):  # unsaved changes of before: kept for an undo of this change (see mark)
            kept = self.tmp / f"stash-{uuid.uuid4().hex}"
            self._link(target, kept)
            self._stash[path] = kept
        try:
            writer(str(tmp))
            with contextlib.suppress(FileNotFoundError):  # a rewrite keeps the mode (0444...)
                os.chmod(tmp, os.stat(target).st_mode & 0o7777)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._put(path, tmp)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                near = target.parent / f".dbdicom-{tmp.name}.tmp"  # another file system
                try:
                    shutil.move(str(tmp), near)
                    self._put(path, near)
                finally:
                    near.unlink(missing_ok=True)
        finally:
            tmp.unlink(missing_ok=True)

    def wrote(self, paths: Iterable[str]) -> None:
        """Record the stamps of new files written in place without :meth:`write` (see Entry)."""
        entries = [self.entries.get(p) for p in paths]
        root = str(self.root)  # (joined as text: a Path made per file costs more than its stat)
        done = [e.only(state(os.path.join(root, e.path))) for e in entries if e is not None]
        self._append([e for e in done if e.stamps is not None], sync=False)

    def _put(self, path: str, source: Path) -> None:
        """Rename ``source`` over the file ``path``, its stamp recorded first (see Entry)."""
        entry = self.entries.get(path)
        now = state(source)
        if entry is not None and entry.stamps is not None:
            before, entry = entry, self._theirs(entry)
            if entry.theirs != before.theirs:  # another program's version: kept first
                self.originals.mkdir(parents=True, exist_ok=True)
                self._link(self.root / path, self.originals / entry.theirs)
                self._set_aside_theirs(before)
            self._append([entry.then(now)], sync=entry.theirs != before.theirs)
        os.replace(source, self.root / path)
        if entry is not None:
            self.entries[path] = entry.only(now)

    def _link(self, source: Path, kept: Path) -> None:
        """Keep ``source`` as ``kept``; a symbolic link is kept as the link, not its file."""
        try:
            if os.link in os.supports_follow_symlinks:
                os.link(source, kept, follow_symlinks=False)
            else:  # pragma: no cover - Windows, whose links are never followed here
                os.link(source, kept)
            return
        except OSError:
            pass  # no hard links here (another file system, FAT, ...): copy
        part = kept.with_suffix(".part")
        try:
            shutil.copy2(source, part, follow_symlinks=False)
            os.replace(part, kept)
        except BaseException:
            part.unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------ save/restore
    def _chosen(self, paths: Iterable[str] | None) -> dict[str, Entry]:
        if paths is None:
            return dict(self.entries)
        return {p: self.entries[p] for p in paths if p in self.entries}

    def save(self, paths: Iterable[str] | None = None) -> list[str]:
        """Make the changes of ``paths`` (all by default) permanent; the paths saved.

        A restore cut short is finished first (:meth:`finish_restore`): a
        save never commits a state partly restored.
        """
        self.finish_restore()
        chosen = self._chosen(paths)
        if not chosen:
            return []
        rest = {p: e for p, e in self.entries.items() if p not in chosen}
        self._rewrite(rest)  # the commit
        for entry in chosen.values():
            for name in (entry.original, entry.theirs):
                if name:  # (one left, by a folder made read-only: see recover)
                    with contextlib.suppress(OSError):
                        (self.originals / name).unlink(missing_ok=True)
        return list(chosen)
