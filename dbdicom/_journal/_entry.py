"""One entry of the journal's log, and what the journal knows of the file it names.

Each entry records the states dbdicom left its file in (:attr:`Entry.stamps`):
the size and modification time of each version it wrote there, and ``None``
where it left no file. A restore puts a file back only while it is in one of
those states: a file another program wrote, rewrote or removed since is left
as that program left it (see :meth:`Journal.restore
<dbdicom._journal.Journal.restore>`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["Entry", "Keys", "Stamp", "fsync_dir", "same", "state"]

Keys = tuple[str, str, str, str]
# JSON of the log's text, as json.dumps writes it (without its per-call setup)
_text = json.encoder.encode_basestring_ascii
#: a file's size and modification time (ns)
Stamp = tuple[int, int]


def state(path: Path | str) -> Stamp | None:
    """The size and modification time of ``path`` (a link's own), None if there is no file."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_size, st.st_mtime_ns


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
    stamps : tuple or None
        The states dbdicom may have left the file in: ``(size, mtime_ns)``
        of a version it wrote (or of the original, as it was kept), ``None``
        for no file (removed, or new and not written yet). A write records
        its file's stamp before it puts the file in place, so that a kill
        between the two leaves both states known. ``None`` (a log written
        by an older dbdicom): unknown, any state is taken as dbdicom's, but
        a restore sets aside, not deletes, what it takes out of the folder
        (see :meth:`proven`).
    theirs : str
        Name in ``originals/`` of another program's version of the file,
        which dbdicom wrote over or removed after it had changed the file
        itself (another program's edit between two of dbdicom's): a restore
        puts that version back, not the original, so as not to undo that
        program's change. ``""``: none. In the log, an entry with one names
        it as its original (``"o"``), of a file kept (``"k"``), and gives its
        own original and kind in ``"so"`` and ``"sk"``: a dbdicom that knows
        no ``theirs`` (which ignores keys it does not know) then puts that
        version back too, where it would put the original back over it and
        delete that version as an original no entry names.
    """

    path: str
    kind: str
    original: str
    keys: Keys
    stamps: tuple[Stamp | None, ...] | None = None
    theirs: str = ""

    def to_json(self) -> str:
        """The entry as a line of the log (what ``json.dumps`` of its dict gives, made faster).

        Examples
        --------
        >>> entry = Entry("a/b.dcm", "new", "", ("p", "s", "t", "i"), ((4, 5), None))
        >>> entry.to_json() == json.dumps({"p": "a/b.dcm", "k": "new", "o": "",
        ...     "keys": ["p", "s", "t", "i"], "s": [[4, 5], None]})
        True
        >>> Entry.from_json(entry.to_json()) == entry
        True
        >>> theirs = Entry("a/b.dcm", "kept", "k1", ("p", "s", "t", "i"), ((4, 5),), "k2")
        >>> Entry.from_json(theirs.to_json()) == theirs
        True
        >>> json.loads(theirs.to_json())["o"]  # what an older dbdicom puts back (see theirs)
        'k2'
        >>> line = '{"p": "a/b.dcm", "k": "kept", "o": "k1", "keys": [], "t": "k2"}'
        >>> Entry.from_json(line).theirs  # (as the first dbdicom with theirs wrote it)
        'k2'
        """
        keys = ", ".join(map(_text, self.keys))
        kind, original = ("kept", self.theirs) if self.theirs else (self.kind, self.original)
        line = (
            f'{{"p": {_text(self.path)}, "k": {_text(kind)}, "o": {_text(original)}, '
            f'"keys": [{keys}]'
        )
        if self.theirs:
            line += f', "so": {_text(self.original)}, "sk": {_text(self.kind)}'
        if self.stamps is None:
            return line + "}"
        stamps = ", ".join("null" if s is None else f"[{s[0]:d}, {s[1]:d}]" for s in self.stamps)
        return f'{line}, "s": [{stamps}]}}'

    @classmethod
    def from_json(cls, line: str) -> Entry | None:
        try:
            d = json.loads(line)
            s = d.get("s")
            stamps = (
                None
                if s is None
                else tuple(None if x is None else (int(x[0]), int(x[1])) for x in s)
            )
            kind, original, theirs = str(d["k"]), str(d["o"]), str(d.get("t") or "")
            if "so" in d:  # (written so that an older dbdicom puts it back: see theirs)
                kind, original, theirs = str(d["sk"]), str(d["so"]), original
            return cls(str(d["p"]), kind, original, tuple(d["keys"]), stamps, theirs)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None  # a line torn by a crash: its change never started

    def left(self, now: Stamp | None) -> bool:
        """Whether a file in the state ``now`` (None: no file) may be one dbdicom left there.

        A new file whose stamp is not recorded yet is taken as dbdicom's: the
        files of a new series are written in place, then their stamps
        recorded (:meth:`Journal.wrote <dbdicom._journal.Journal.wrote>`), and
        a kill between the two must leave files that a restore takes out of
        the folder. It cannot tell them from another program's writes at
        those paths since (:meth:`proven` is False): a restore sets them
        aside, it does not delete them.
        """
        if self.stamps is None or now in self.stamps:
            return True
        return self.kind == "new" and self.stamps == (None,)

    def proven(self, now: Stamp | None) -> bool:
        """Whether the state ``now`` is one dbdicom recorded leaving its file in.

        Examples
        --------
        >>> entry = Entry("a.dcm", "new", "", ("p", "s", "t", "i"), (None,))
        >>> entry.left((4, 5)), entry.proven((4, 5)), entry.proven(None)
        (True, False, True)
        """
        return self.stamps is not None and now in self.stamps

    def then(self, now: Stamp | None) -> Entry:
        """The entry once dbdicom has left its file in the state ``now`` too."""
        if self.stamps is None:
            return self  # unknown stays unknown (see stamps)
        return replace(self, stamps=(*(s for s in self.stamps if s != now), now))

    def only(self, now: Stamp | None) -> Entry:
        """The entry once its file is known to be in the state ``now`` (a write done)."""
        if self.stamps is None:
            return self
        return replace(self, stamps=(now,))


def same(kept: Path, target: Path) -> bool:
    """Whether ``kept`` and ``target`` are one file (a link compared as the link itself)."""
    a, b = os.lstat(kept), os.lstat(target)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the system allows it)."""
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
