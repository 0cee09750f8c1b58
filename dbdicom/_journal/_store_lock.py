"""One writer per store prefix: a lock object beside the data, and the write probe.

A database opened writable in a store takes the lock object
``<prefix>/.dbdicom/lock`` at its first change (with ``If-None-Match: *``
on S3, so that two writers cannot both make it) and deletes it when no
change is left unsaved. It names the working folder that holds it (a random
id kept there, the host and the process): the same working folder (this
machine, the same user cache) takes it back after a crash; another one is
refused with the holder's name and the way out. Names starting with ``.``
are not files of the database, so readers never see it.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path

from .._errors import ReadOnlyError, StorageAccessError
from .._files import Store
from ._objects import Conflict, delete, put

__all__ = ["StoreLock", "probe_writes"]

LOCK = ".dbdicom/lock"


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
    try:
        put(store, rel, b"")
        delete(store, rel)
    except PermissionError as exc:
        raise _access_error(store, exc, "when it was opened with writable=True") from exc
    except Exception as exc:  # the store's boundary
        if "403" in str(exc) or "AccessDenied" in str(exc):
            raise _access_error(store, exc, "when it was opened with writable=True") from exc
        raise store.error(exc, "cannot be written") from exc


class StoreLock:
    """The lock object of a store prefix, held for the working folder ``folder``.

    Parameters
    ----------
    store : Store
        The database's store.
    folder : Path
        The hidden folder of the working folder (where its id is kept).
    """

    def __init__(self, store: Store, folder: Path) -> None:
        self.store = store
        self.token = _workspace(folder)
        self.held = False

    @property
    def url(self) -> str:
        return self.store.object(LOCK).name

    def acquire(self) -> None:
        """Take the lock (or find it ours already).

        Raises
        ------
        dbdicom.ReadOnlyError
            Another working folder holds it: the message names it and the way out.
        """
        if self.held:
            return
        mine = {"workspace": self.token, "host": socket.gethostname(), "pid": os.getpid()}
        mine["since"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        fs = self.store.filesystem()[0]
        try:
            if not hasattr(fs, "call_s3"):  # no conditional put: look first (not atomic)
                holder = self._holder()
                if holder and holder.get("workspace") != self.token:
                    raise self._refusal(holder)
                put(self.store, LOCK, json.dumps(mine).encode())
            else:
                try:
                    put(self.store, LOCK, json.dumps(mine).encode(), new=True)
                except Conflict:
                    holder = self._holder()
                    if holder.get("workspace") != self.token:
                        raise self._refusal(holder) from None
        except ReadOnlyError:
            raise
        except PermissionError as exc:
            raise _access_error(self.store, exc, "when dbdicom took its lock") from exc
        self.held = True

    def _holder(self) -> dict[str, object]:
        fs = self.store.filesystem()[0]
        try:
            data = json.loads(fs.cat_file(self.store.path_of(LOCK)))
        except (ValueError, FileNotFoundError):
            return {}
        return data if isinstance(data, dict) else {}

    def _refusal(self, holder: dict[str, object]) -> ReadOnlyError:
        who = f"process {holder.get('pid')} on {holder.get('host')}" if holder else "another writer"
        return ReadOnlyError(
            f"{self.store.name} is being changed by {who} (since {holder.get('since', '?')}; "
            f"its lock object is {self.url}): one writer at a time may change a store "
            "(reading it is fine). Save or restore the changes there, then try again; if "
            "that writer's changes are lost for good, delete the lock object."
        )

    def release(self) -> None:
        """Delete the lock object (when held)."""
        if not self.held:
            return
        if self._holder().get("workspace") == self.token:
            delete(self.store, LOCK)
        self.held = False
