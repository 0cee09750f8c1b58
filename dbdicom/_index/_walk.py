"""Walking a database folder: its files, and the entries that are not files to read.

A folder may hold more than files: named pipes (FIFOs), sockets, device
files and symbolic links, some dangling, some leading out of the folder.
None of these is ever opened (opening a FIFO waits for a writer that never
comes, reading ``/dev/zero`` never ends); each is listed with a size that
says why it is left out (a negative :data:`SKIPPED` code), which a scan
turns into the row's ``_error`` without touching the entry
(:func:`skip_reason`). Its time is that of the entry itself, so a reopen
compares it like a file's and reads it again only when it changed.

Symbolic links to files are read like the files they lead to when that
file is in the folder and is not itself one of the files the walk reads: a
link to such a file is the same instance twice, and is skipped (the file is
read once, under its own path). Links to files outside the folder are read
only when asked (``follow_links``). Links to folders are never followed,
inside the folder (their files are read under their own paths) or out of
it: a file reached through a link to a folder would be a file outside the
database that a change could replace, while a link to a file is itself
replaced by the edited file, never writing through it. So a walk is
finite whatever the links.

A walk also records the modification time of every folder it lists. A
folder's time changes whenever an entry is added to it, removed from it or
renamed in it -- how dbdicom, and most tools, write a file (a temporary file
renamed over the old one, or a new one linked in). So a later walk
(:func:`rewalk`) lists again only the folders whose time changed, and
compares the files of those alone: what a reopen costs is one ``stat`` per
folder, not one per file. A file rewritten in place (opened and written
over, as ``pydicom``'s ``save_as`` does) leaves its folder's time alone:
that walk does not see it, a full walk (:func:`survey`) does. A folder whose
time is less than :data:`RACY` seconds before the walk (or in the future)
is recorded as -1, listed again next time: a change in the same tick of the
file system's clock (2 s on FAT) would leave its time as it was.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from stat import S_ISBLK, S_ISCHR, S_ISDIR, S_ISFIFO, S_ISREG, S_ISSOCK

from .._errors import DicomWarning

__all__ = ["RACY", "SKIPPED", "Walk", "folder_of", "rewalk", "skip_reason", "survey", "walk"]

Found = dict[str, tuple[int, int]]
#: a folder (its path relative to the root, ``""`` for the root) -> its
#: modification time in ns when it was listed (-1: list it again next time)
Folders = dict[str, int]
#: seconds: a folder whose time is this close to a walk (or later) is listed again next time
RACY = 3.0

# what an entry that is not read is; its size in the walk is the negative code
_KINDS = {
    2: "a named pipe (FIFO)",
    3: "a socket",
    4: "a character device",
    5: "a block device",
    6: "neither a file nor a folder",
}
_LINK = 10  # a link to an entry of kind k: code -(10 + k)
_DANGLING, _BROKEN, _OUTSIDE, _OUTSIDE_OTHER, _COPY, _INNER_FOLDER, _OUTSIDE_FOLDER = range(20, 27)
_LINK_REASONS = {
    _DANGLING: "a symbolic link to {}, which does not exist: skipped",
    _BROKEN: "a symbolic link to {} that cannot be followed (a loop of links, or no "
    "permission): skipped",
    _OUTSIDE: "a symbolic link to {} outside the folder: not followed (open the folder with "
    "db.database(path, follow_links=True) to read it)",
    _OUTSIDE_OTHER: "a symbolic link to {} outside the folder: not followed",
    _COPY: "a symbolic link to {}, a file that is read under its own path: skipped (the "
    "same instance twice otherwise)",
    _INNER_FOLDER: "a symbolic link to {}, a folder inside this one: not followed (its files "
    "are read under their own paths)",
    _OUTSIDE_FOLDER: "a symbolic link to {}, a folder outside this one: not followed (links "
    "to folders never are: database.import_dicom(path) copies its files in)",
}
#: The negative sizes a walk gives entries that are not read, and what each means.
SKIPPED = frozenset(-k for k in (*_KINDS, *(_LINK + k for k in _KINDS), *_LINK_REASONS))


def _kind(mode: int) -> int:
    """The code of an entry that is not a regular file or a folder (see :data:`_KINDS`)."""
    if S_ISFIFO(mode):
        return 2
    if S_ISSOCK(mode):
        return 3
    if S_ISCHR(mode):
        return 4
    if S_ISBLK(mode):
        return 5
    return 6


def skip_reason(root: str, rel: str, code: int) -> str:
    """Why the entry ``rel`` of ``root``, walked with size ``code`` (< 0), is not read.

    Reads at most the link's text (``readlink``): the entry is never opened.

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> os.mkfifo(os.path.join(root, "pipe"))
    >>> os.symlink("/dev/zero", os.path.join(root, "zero.dcm"))
    >>> found = walk(root)
    >>> skip_reason(root, "pipe", found["pipe"][0])
    'a named pipe (FIFO), not a file: skipped'
    >>> skip_reason(root, "zero.dcm", found["zero.dcm"][0])
    'a symbolic link to /dev/zero outside the folder: not followed'
    """
    code = -code
    if code in _KINDS:
        return f"{_KINDS[code]}, not a file: skipped"
    try:
        target = os.readlink(os.path.join(root, rel))
    except OSError:
        target = "?"
    if code - _LINK in _KINDS:
        return f"a symbolic link to {target}, {_KINDS[code - _LINK]}, not a file: skipped"
    return _LINK_REASONS.get(code, "a symbolic link to {}: skipped").format(target)


@dataclass
class Walk:
    """What a walk saw.

    ``found``: the files of the folders it listed, ``{path: (size,
    mtime_ns)}``; ``folders``: every folder's time (:data:`Folders`), to
    compare with at the next :func:`rewalk`; ``listed``: the folders whose
    files ``found`` gives in full, gone folders included (None: every
    folder, a full walk).
    """

    found: Found
    folders: Folders
    listed: frozenset[str] | None = None


def _is_text(name: str) -> bool:
    """Whether ``name`` is text (not bytes of another encoding kept as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def folder_of(path: str) -> str:
    """The folder of a relative path, as :data:`Folders` names it.

    >>> folder_of("a/b/IM-1"), folder_of("IM-1")
    ('a/b', '')
    """
    return path.rpartition("/")[0]


def walk(root: str, follow_links: bool = False) -> Found:
    """Every file below ``root``: ``{relative path: (size, mtime_ns)}``.

    Paths use ``/`` whatever the platform, and come in sorted order within
    each folder (usually the order of the saved index, which makes comparing
    them cheap). The hidden index folder and hidden files (names starting
    with ``.``) are left out. Entries that are not files to read (FIFOs,
    sockets, devices, links that are dangling, that lead to a folder, out of
    the folder, or to a file read anyway) come with a negative size, one of
    :data:`SKIPPED`, and the time of the entry itself; they are never
    opened (see the module notes). ``follow_links``: links to files outside
    the folder are read too.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "a.dcm").write_bytes(b"DICM")
    >>> (root / "b.dcm").symlink_to(root / "a.dcm")
    >>> (root / "c.dcm").symlink_to(root / "nowhere")
    >>> {rel: size for rel, (size, _) in walk(str(root)).items()}
    {'a.dcm': 4, 'b.dcm': -24, 'c.dcm': -20}
    """
    return survey(root, follow_links).found


def survey(root: str, follow_links: bool = False) -> Walk:
    """A full walk (:func:`walk`) that also records every folder's time.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "a").mkdir()
    >>> _ = (root / "a" / "x.dcm").write_bytes(b"DICM")
    >>> seen = survey(str(root))
    >>> list(seen.found), sorted(seen.folders), seen.listed is None
    (['a/x.dcm'], ['', 'a'], True)
    """
    walker = _Walker(root, follow_links)
    try:
        mtime = os.stat(root).st_mtime_ns
    except OSError:
        mtime = -1
    walker.folder("", root, mtime)
    walker.settle_links()
    walker.tell_unnamed()
    return Walk(walker.found, walker.folders)


def rewalk(
    root: str,
    folders: Mapping[str, int],
    follow_links: bool = False,
    also: Collection[str] = (),
    known: Callable[[str], bool] | None = None,
) -> Walk:
    """List again the folders whose time is not the one in ``folders`` (and those in ``also``).

    One ``stat`` per folder; the files of a changed folder are compared one
    by one (a file replaced under the same name changes its folder's time
    but not its name), folders new since are walked in full. A folder gone,
    or no longer a folder, is listed with no files. ``known(path)``: whether
    a file of a folder not listed again is read under its own path (a link
    to it is then skipped, as in a full walk).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "a").mkdir()
    >>> _ = (root / "a" / "x.dcm").write_bytes(b"DICM")
    >>> old = {name: 1 for name in survey(str(root)).folders}  # times long past
    >>> seen = rewalk(str(root), old)
    >>> list(seen.found), sorted(seen.listed)  # every time differs: both listed again
    (['a/x.dcm'], ['', 'a'])
    >>> again = rewalk(str(root), {name: t + 0 for name, t in seen.folders.items()})
    >>> sorted(again.listed) == sorted(n for n, t in seen.folders.items() if t == -1)
    True
    """
    walker = _Walker(root, follow_links)
    listed: set[str] = set()
    for name in sorted(folders):  # a folder comes before the folders in it
        parent = folder_of(name)
        if name and (
            parent in walker.gone
            or (parent in walker.subfolders and name not in walker.subfolders[parent])
        ):
            walker.gone.add(name)  # its folder was listed again, and it is not in it
            listed.add(name)
            continue
        path = os.path.join(root, name) if name else root
        try:  # the root as the first walk took it (through a link); the rest as listed
            st = os.lstat(path) if name else os.stat(path)
        except OSError:
            st = None
        if st is None or not S_ISDIR(st.st_mode):
            walker.gone.add(name)
            listed.add(name)
            continue
        mtime = folders[name]
        if st.st_mtime_ns == mtime and mtime != -1 and name not in also:
            walker.folders[name] = mtime
            continue
        walker.folder(name + "/" if name else "", path, st.st_mtime_ns, known=folders)
        listed.add(name)
    listed.update(walker.new)
    walker.settle_links(known, listed)
    walker.tell_unnamed()
    return Walk(walker.found, walker.folders, frozenset(listed))


class _Walker:
    """One walk (see :func:`walk`): what it found, and the links to files it met."""

    def __init__(self, root: str, follow_links: bool) -> None:
        self.found: Found = {}
        self.folders: Folders = {}
        self.follow = follow_links
        self.real_root = os.path.realpath(root)
        self.since = time.time_ns() - int(RACY * 1e9)  # folder times from then on: racy
        # links to files, read unless the walk reads their file anyway (settled at the end)
        self.links: dict[str, tuple[str, int]] = {}
        self.gone: set[str] = set()  # folders no longer there (rewalk)
        self.new: set[str] = set()  # folders listed that were not known (rewalk)
        self.subfolders: dict[str, set[str]] = {}  # of each folder listed again (rewalk)
        self.unnamed: list[str] = []  # entries whose names are not text (see tell_unnamed)

    def folder(
        self, prefix: str, path: str, mtime: int, known: Mapping[str, int] | None = None
    ) -> None:
        """List the folder ``path`` (``prefix``: its relative path and ``/``) of time ``mtime``.

        Its sub-folders are listed too, except those in ``known`` (a rewalk
        compares their own times).
        """
        name = prefix[:-1]
        # taken before listing: a change made while listing gives a later time
        self.folders[name] = mtime if 0 <= mtime < self.since else -1
        if known is not None:
            self.subfolders[name] = subfolders = set()
            if name not in known:
                self.new.add(name)
        try:
            with os.scandir(path) as it:
                entries = sorted((e for e in it if e.name[0] != "."), key=lambda e: e.name)
        except OSError:
            self.folders[name] = -1  # unreadable now: listed again next time
            return
        found = self.found
        for entry in entries:
            rel = prefix + entry.name
            if not _is_text(rel):
                self.unnamed.append(rel)
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if known is not None:
                        subfolders.add(rel)
                        if rel in known:
                            continue  # compared by its own time
                    self.folder(
                        rel + "/", entry.path, entry.stat(follow_symlinks=False).st_mtime_ns, known
                    )
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if S_ISREG(st.st_mode):
                found[rel] = (st.st_size, st.st_mtime_ns)
            elif entry.is_symlink():
                found[rel] = self.link(rel, entry.path, st.st_mtime_ns)
            else:
                found[rel] = (-_kind(st.st_mode), st.st_mtime_ns)

    def tell_unnamed(self) -> None:
        """Warn of the entries left out because their names are not text.

        A name in another encoding than the file system's (Latin-1 ``Müller.dcm``
        copied from an old disk) has no text form to index: it is left out,
        with a warning, instead of the whole folder failing to open.
        """
        if not self.unnamed:
            return
        shown = os.fsencode(self.unnamed[0])
        more = f" and {len(self.unnamed) - 1} more" if len(self.unnamed) > 1 else ""
        warnings.warn(
            f"{self.real_root}: {shown!r}{more} left out: a name that is not UTF-8 text "
            "(written in another encoding) cannot be indexed. Rename it (e.g. with "
            "`convmv -f latin1 -t utf8`) and call database.refresh().",
            DicomWarning,
            stacklevel=3,
        )

    def link(self, rel: str, path: str, mtime: int) -> tuple[int, int]:
        """What the walk records of a symbolic link (``mtime``: the link's own)."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return -_DANGLING, mtime
        except OSError:
            return -_BROKEN, mtime
        real = os.path.realpath(path)
        inside = _within(real, self.real_root)
        if S_ISDIR(st.st_mode):
            return -(_INNER_FOLDER if inside else _OUTSIDE_FOLDER), mtime
        if not inside and not self.follow:
            return -(_OUTSIDE if S_ISREG(st.st_mode) else _OUTSIDE_OTHER), mtime
        if not S_ISREG(st.st_mode):
            return -(_LINK + _kind(st.st_mode)), mtime
        if inside:
            self.links[rel] = (real, mtime)
        return st.st_size, st.st_mtime_ns

    def settle_links(
        self, known: Callable[[str], bool] | None = None, listed: Collection[str] = ()
    ) -> None:
        """Links to files of the folder: skipped where the walk reads the file itself.

        For a rewalk: ``known(path)`` says whether a file of a folder not in
        ``listed`` (not listed again) is read under its own path.
        """
        for rel, (real, mtime) in self.links.items():
            own = os.path.relpath(real, self.real_root).replace(os.sep, "/")
            if own in self.links:
                continue
            if own in self.found or (
                known is not None and folder_of(own) not in listed and known(own)
            ):
                self.found[rel] = (-_COPY, mtime)


def _within(path: str, folder: str) -> bool:
    """Whether the real path ``path`` is ``folder`` or lies in it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
