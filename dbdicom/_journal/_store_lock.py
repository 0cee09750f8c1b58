"""One writer per store prefix: a lock object beside the data, and the write probe.

A database opened writable in a store takes the lock object
``<prefix>/.dbdicom/store-lock.json`` at its first change (with ``If-None-Match: *``
on S3, so that two writers cannot both make it) and deletes it when no
change is left unsaved. It names the working folder that holds it (a random
id kept there, the host and the process): the same working folder (this
machine, the same user cache) takes it back after a crash; another one is
refused with the holder's name and the way out, unless it was taken on this
host by a process that no longer runs and its working folder (whose path
the lock records) holds no unsaved change: then it is taken over, with a
warning. A dead holder's unsaved changes wait in its working folder, so its
lock stays, and the refusal names that folder (restore() there, or delete
it, gives that work up). An object of that name whose content is not such a lock (a
``.dbdicom`` folder uploaded with a database) is no lock. Names starting
with ``.`` are not files of the database, so readers never see it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
import warnings
from pathlib import Path

from .._errors import DicomError, DicomWarning, ReadOnlyError, StorageAccessError, StorageError
from .._files import Store, denied, wrong_credentials
from ._journal import Journal
from ._objects import Conflict, delete, etag, put, s3_call
from ._push import COMMITTED, PLAN

__all__ = ["StoreLock", "probe_writes"]

#: not ``.dbdicom/lock``: that is a local folder's lock file, maybe uploaded with it
LOCK = ".dbdicom/store-lock.json"


def _workspace(folder: Path) -> str:
    """The random id of the working folder ``folder`` (made once, kept there)."""
    path = folder / "workspace"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        path.write_text(token)
        return token


def _access_error(store: Store, exc: BaseException, what: str) -> StorageAccessError:
    cause = store.scrub(f"{type(exc).__name__}: {exc}")
    if wrong_credentials(exc):
        return StorageAccessError(
            f"{store.name} refused the credentials given ({cause}) {what}: they are wrong "
            "(a key the store does not know, or a secret that is not the key's). Check the "
            "key and secret of storage_options."
        )
    return StorageAccessError(
        f"{store.name} refused a write ({cause}) {what}: the credentials given may read it but "
        "not change it. Give credentials that may write there "
        "(db.database(url, storage_options={...}, writable=True)), or open it read-only "
        "(without writable=True) and save(folder) a local copy to change."
    )


def probe_writes(store: Store) -> None:
    """Write and delete a hidden object below the prefix: a refusal is said now, not at a save.

    Raises
    ------
    dbdicom.StorageAccessError
        The store refused the write (403).
    """
    rel = f".dbdicom/probe-{uuid.uuid4().hex}"
    written: str | None = None
    try:
        written = put(store, rel, b"")
    except Exception as exc:  # the store's boundary: nothing was made
        if denied(exc):
            raise _access_error(store, exc, "when it was opened with writable=True") from exc
        raise store.error(exc, "cannot be written") from exc
    finally:  # done, or interrupted (the probe may be there): delete it, only it
        stopped = sys.exc_info()[1]
        if not isinstance(stopped, Exception):
            _unprobe(store, rel, written, quiet=stopped is not None)


def _unprobe(store: Store, rel: str, written: str | None, quiet: bool) -> None:
    """Delete the probe object (only while it is the one put, where the store can say)."""
    try:
        delete(store, rel, written or None)
    except Conflict:
        pass  # not the probe put any more: not ours to delete
    except Exception as exc:  # the store's boundary
        if quiet:
            return  # interrupted already: that is the error to see
        if denied(exc) and not wrong_credentials(exc):
            cause = store.scrub(f"{type(exc).__name__}: {exc}")
            raise StorageAccessError(
                f"{store.name} refused to delete an object ({cause}) when it was opened "
                "with writable=True: the credentials given may write there but not delete. "
                "A save deletes the objects removed, and the lock object when done: give "
                f"credentials that may also delete (the probe {store.object(rel).name} is "
                "left there, hidden: delete it with those)."
            ) from exc
        if denied(exc):
            raise _access_error(store, exc, "when it was opened with writable=True") from exc
        raise store.error(exc, "cannot be written") from exc


def _unsaved(holder: dict[str, object]) -> bool:
    """Whether the working folder of the lock ``holder`` holds changes not saved (or may)."""
    folder = holder.get("folder")
    if not isinstance(folder, str) or not folder:
        return True  # a lock that does not say where its work is: it may wait
    journal = Journal(Path(folder).parent, Path(folder) / "journal")
    return journal.unsaved or any((journal.folder / n).exists() for n in (PLAN, COMMITTED))


def _alive(pid: object) -> bool:
    """Whether the process ``pid`` of this host still runs (True when unknown)."""
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it runs
        return True
    return True


class StoreLock:
    """The lock object of a store prefix, held for the working folder ``folder``.

    Parameters
    ----------
    store : Store
        The database's store.
    folder : Path
        The hidden folder of the working folder (where its id is kept, and
        its journal).
    root : Path, optional
        The working folder (named to another writer that is refused).
    """

    def __init__(self, store: Store, folder: Path, root: Path | None = None) -> None:
        self.store = store
        self.folder = folder
        self.root = root if root is not None else folder
        self.token = _workspace(folder)
        self.held = False

    @property
    def url(self) -> str:
        return self.store.object(LOCK).name

    def _mine(self) -> bytes:
        mine: dict[str, object] = {"dbdicom": "store-lock", "workspace": self.token}
        mine.update(host=socket.gethostname(), pid=os.getpid())
        mine.update(folder=os.path.abspath(self.folder), root=os.path.abspath(self.root))
        mine["since"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return json.dumps(mine).encode()

    def acquire(self) -> None:
        """Take the lock (or find it ours already).

        A lock of another working folder is taken over only when it was
        taken on this host by a process that no longer runs (a
        :class:`~dbdicom.DicomWarning` says so).

        Raises
        ------
        dbdicom.ReadOnlyError
            Another working folder holds it: the message names it and the way out.
        dbdicom.StorageAccessError, dbdicom.StorageError
            The store refused the write, or could not be reached.
        """
        if self.held:
            return
        try:
            self._take()
        except DicomError:
            raise
        except Exception as exc:  # the store's boundary
            raise self._error(exc, "when dbdicom took its lock") from exc
        self.held = True

    def _take(self) -> None:
        conditional = s3_call(self.store.filesystem()[0]) is not None
        if conditional:
            try:
                put(self.store, LOCK, self._mine(), new=True)
                return
            except Conflict:
                pass
        holder, tag = self._holder()
        if holder and holder.get("workspace") == self.token:
            return
        if holder and not self._dead(holder):
            raise self._refusal(holder)
        if holder and _unsaved(holder):
            raise self._waiting(holder)
        if holder:
            warnings.warn(
                f"{self.url} was left by process {holder.get('pid')} of this host, which no "
                "longer runs, with no change unsaved in its working folder "
                f"{holder.get('root')}: dbdicom takes the lock over.",
                DicomWarning,
                stacklevel=4,
            )
        try:  # no lock, a dead one, or an object that is no lock of dbdicom's
            put(self.store, LOCK, self._mine(), if_match=tag or None, new=conditional and not tag)
        except Conflict:  # another writer took it meanwhile
            holder, _ = self._holder()
            raise self._refusal(holder) from None

    def _dead(self, holder: dict[str, object]) -> bool:
        return holder.get("host") == socket.gethostname() and not _alive(holder.get("pid"))

    def _holder(self) -> tuple[dict[str, object], str]:
        """The lock object's content (``{}``: none, or not a lock of dbdicom's) and ETag."""
        fs = self.store.filesystem()[0]
        path = self.store.path_of(LOCK)
        fs.invalidate_cache()
        try:
            tag = etag(fs.info(path))
            data = json.loads(fs.cat_file(path))
        except FileNotFoundError:
            return {}, ""
        except ValueError:
            return {}, tag
        if not isinstance(data, dict) or data.get("dbdicom") != "store-lock":
            return {}, tag
        return data, tag

    def _error(self, exc: BaseException, what: str) -> DicomError:
        if denied(exc):
            return _access_error(self.store, exc, what)
        error = self.store.error(exc, f"cannot be locked ({what})", self.url)
        return error if isinstance(error, DicomError) else StorageError(str(error))

    def _refusal(self, holder: dict[str, object]) -> ReadOnlyError:
        who = f"process {holder.get('pid')} on {holder.get('host')}" if holder else "another writer"
        return ReadOnlyError(
            f"{self.store.name} is being changed by {who} (since {holder.get('since', '?')}; "
            f"its lock object is {self.url}): one writer at a time may change a store "
            "(reading it is fine). Save or restore the changes there, then try again; if "
            "that writer's changes are lost for good, delete the lock object (a lock left "
            "on this host by a process that no longer runs, with no change unsaved, is "
            "taken over by itself)."
        )

    def _waiting(self, holder: dict[str, object]) -> ReadOnlyError:
        root = holder.get("root") or holder.get("folder") or "(not recorded)"
        return ReadOnlyError(
            f"{self.store.name} holds the lock ({self.url}) of process {holder.get('pid')} of "
            f"this host, which no longer runs but left changes unsaved in its working folder "
            f"{root}: they wait there, and one writer at a time may change a store. Open the "
            "database with that working folder (the same user data folder) and save() or "
            "restore() them; or, to give that work up, delete that folder; then try again."
        )

    def check(self) -> None:
        """Refuse when the lock object, held, is no longer ours (deleted or taken over).

        Raises
        ------
        dbdicom.ReadOnlyError
            Another writer holds it now, or nobody does.
        """
        if not self.held:
            return
        try:
            holder, _ = self._holder()
        except Exception as exc:  # the store's boundary
            raise self._error(exc, "when dbdicom checked its lock") from exc
        if holder.get("workspace") != self.token:
            self.held = False
            raise ReadOnlyError(
                f"the lock object of {self.store.name} ({self.url}) was deleted or taken by "
                "another writer while these changes were staged: nothing was saved. Call "
                "save() again to take the lock and save (each object is still checked "
                "against the one fetched), or restore() to drop the changes."
            )

    def release(self) -> None:
        """Delete the lock object (when held and still ours; only that object, on S3)."""
        if not self.held:
            return
        try:
            holder, tag = self._holder()
            if holder.get("workspace") == self.token:
                delete(self.store, LOCK, tag or None)
        except Conflict:
            pass  # replaced meanwhile: not ours any more
        except DicomError:
            raise
        except Exception as exc:  # the store's boundary
            raise self._error(exc, "when dbdicom let its lock go") from exc
        self.held = False
