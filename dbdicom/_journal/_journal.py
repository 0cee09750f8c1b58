"""Copy-on-write journal: every change reaches the disk at once, reversibly.

Before a file of the database is first rewritten or removed, its original is
kept in the journal folder (a hard link to the same bytes where the file
system allows it, a copy otherwise); files created are recorded. The log
is written *before* the change it announces (write-ahead), so whatever
moment a process is killed at, the folder can be brought back:

* an entry whose kept original is missing announced a change that never
  happened (the process died before keeping it): the file is as it was;
* a kept original is the file's last saved state, byte for byte;
* a file announced as new is deleted by a restore.

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

    journal/log          one JSON object per line: path, kind, original, keys
    journal/originals/   the kept originals
    journal/tmp/         files being written (cleared when a writer starts)
    journal/restoring    a restore under way: its paths, one JSON list
                         (empty file: every entry of the log)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .._errors import DicomWarning

__all__ = ["Entry", "Journal"]

Keys = tuple[str, str, str, str]
# the log's length and the entries at a moment (see Journal.mark)
Mark = tuple[int, dict[str, "Entry"], int]
#: the marker of a restore under way (see Journal.restore)
RESTORING = "restoring"
_BINARY = getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class Entry:
    """The journal's knowledge of one changed file.

    Attributes
    ----------
    path : str
        The file, relative to the database folder (``/``-separated).
    kind : str
        ``"kept"``: the file existed and its original is kept;
        ``"new"``: the file did not exist at the last save.
    original : str
        Name of the kept original in ``originals/`` (``""`` for new files).
    keys : tuple of str
        Patient, study, series and instance keys of the file when the entry
        was made (its place in the hierarchy at the last save).
    """

    path: str
    kind: str
    original: str
    keys: Keys

    def to_json(self) -> str:
        return json.dumps({"p": self.path, "k": self.kind, "o": self.original, "keys": self.keys})

    @classmethod
    def from_json(cls, line: str) -> Entry | None:
        try:
            d = json.loads(line)
            return cls(str(d["p"]), str(d["k"]), str(d["o"]), tuple(d["keys"]))
        except (ValueError, KeyError, TypeError):
            return None  # a line torn by a crash: its change never started


def _same(kept: Path, target: Path) -> bool:
    """Whether ``kept`` and ``target`` are one file (a link compared as the link itself)."""
    a, b = os.lstat(kept), os.lstat(target)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Journal:
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
        # a change under way (see mark): the entries when it began, and the files it
        # rewrote that had unsaved changes already, as they were then (links in tmp)
        self._base: dict[str, Entry] | None = None
        self._stash: dict[str, Path] = {}
        self.load()

    # ------------------------------------------------------------ state
    def load(self) -> None:
        """Read the log (a torn last line, left by a kill, is ignored)."""
        self.entries = {}
        try:
            text = self.log.read_text()
        except (FileNotFoundError, NotADirectoryError):
            return
        for line in text.splitlines():
            entry = Entry.from_json(line)
            if entry is not None:  # a path announced again (see keep) is its last line
                self.entries[entry.path] = entry

    @property
    def unsaved(self) -> bool:
        """Whether any change is waiting for a save or a restore."""
        return bool(self.entries)

    def recover(self) -> list[str]:
        """Tidy up after a crash; run by the writer when it takes the lock.

        Finishes a restore cut short (:meth:`finish_restore`), deletes
        half-written temporary files, forgets entries whose change never
        happened, deletes originals no entry refers to (a save killed after
        its commit) and rewrites the log without torn lines. Returns the
        paths put back by finishing a restore.
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
            used = {e.original for e in live.values()}
            for name in os.listdir(self.originals):
                if name not in used:
                    (self.originals / name).unlink(missing_ok=True)
        try:
            clean = self.log.read_text() == "".join(e.to_json() + "\n" for e in live.values())
        except OSError:
            clean = not live
        if not clean:  # (a clean log is left alone: a full disk still lets a writer in)
            self._rewrite(live)
        return put_back

    def _append(self, entries: list[Entry]) -> None:
        """Add ``entries`` to the log, all or none: a failed write is cut off again.

        (A torn line left before the next one would hide that one's entry.)
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
        for entry in undone:
            self._put_back(entry, emptied)
        back = list(self._stash.items())[stashed:]
        for path, kept in back:  # changed before the change too: as they were then
            os.replace(kept, self.root / path)
            del self._stash[path]
        self._cut(size)
        self.entries = dict(before)
        self._remove_empty(emptied)
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
        _fsync_dir(self.folder)
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
            Entry(path, "kept", uuid.uuid4().hex, keys)
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
        self._append([Entry(p, "new", "", k) for p, k in files if p not in self.entries])

    def remove(self, files: Iterable[tuple[str, Keys]]) -> None:
        """Remove files from the folder, keeping the originals of saved ones."""
        files = list(files)
        new = [Entry(p, "kept", uuid.uuid4().hex, k) for p, k in files if not self._kept(p)]
        self._append(new)
        if new:
            self.originals.mkdir(parents=True, exist_ok=True)
        fresh = {e.path: e for e in new}
        for path, _ in files:
            target = self.root / path
            if path in fresh:
                os.replace(target, self.originals / fresh[path].original)
            else:
                target.unlink(missing_ok=True)

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
                os.replace(tmp, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                near = target.parent / f".dbdicom-{tmp.name}.tmp"  # another file system
                try:
                    shutil.move(str(tmp), near)
                    os.replace(near, target)
                finally:
                    near.unlink(missing_ok=True)
        finally:
            tmp.unlink(missing_ok=True)

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
            if entry.kind == "kept":
                (self.originals / entry.original).unlink(missing_ok=True)
        return list(chosen)

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
        _fsync_dir(self.folder)

    def _restore(self, chosen: dict[str, Entry]) -> tuple[list[str], list[str]]:
        """Put the files of ``chosen`` back, drop their entries, delete the marker.

        Returns the paths whose original was missing (put back before, or
        deleted by another program: their files are left as they are), and
        the paths undone: those of ``chosen`` but the new files announced and
        never written (a write cut short), which had nothing to undo. The
        marker goes last: a kill before leaves it for :meth:`finish_restore`.
        """
        unwritten = {
            p for p, e in chosen.items() if e.kind == "new" and not os.path.lexists(self.root / p)
        }
        emptied: set[Path] = set()
        lost = [e.path for e in chosen.values() if not self._put_back(e, emptied)]
        rest = {p: e for p, e in self.entries.items() if p not in chosen}
        self._rewrite(rest)
        (self.folder / RESTORING).unlink(missing_ok=True)
        _fsync_dir(self.folder)
        self._remove_empty(emptied)
        return lost, [p for p in chosen if p not in unwritten]

    def _put_back(self, entry: Entry, emptied: set[Path]) -> bool:
        """Put the file of ``entry`` back as saved (its folder, maybe emptied, in ``emptied``).

        False: its original is not in the journal (the file is left as it is).
        """
        target = self.root / entry.path
        if entry.kind == "new":
            target.unlink(missing_ok=True)
            emptied.add(target.parent)
            return True
        kept = self.originals / entry.original
        if not kept.exists():
            return False
        if os.path.lexists(target) and _same(kept, target):
            kept.unlink()  # never rewritten: the file is its original already
            return True
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(kept, target)
        return True

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
