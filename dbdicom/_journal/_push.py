"""Saving the staged changes of a database in an object store; undoing a save cut short.

The changes wait in the working folder's journal (:class:`~._journal.Journal`,
whose root is the working folder): nothing in the store changes until a
save. :func:`save_into` then, in this order:

1. writes the plan (every object to put or delete, with the MD5 of what is
   put) into ``journal/pushing``: from here on the save is *under way*;
2. checks that every object to replace or delete is still the one that was
   fetched (its original in the journal): one listing per folder; any
   other is refused before anything is written (:class:`StaleFileError`);
3. puts the new objects (``If-None-Match: *`` on S3), then the replaced ones
   (``If-Match`` the original's ETag), then deletes the removed ones
   (``If-Match`` too);
4. commits the journal (its log without those entries: the originals go),
   then deletes the plan.

Each object is written whole (a PUT is atomic): whenever the save stops
(a refusal, a lost connection, a kill), every object of the store is either
as it was or as saved, and the store reads as a database. The plan stays:
until :func:`save_into` finishes it (objects already as saved are skipped)
or :func:`undo_push` undoes it (objects put back from the originals, new
objects of this save deleted), no other change is accepted.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from typing import Any

from .._errors import DicomError, DicomWarning, StaleFileError, StorageAccessError, StorageError
from .._files import Store
from ._journal import Entry, Journal
from ._objects import Conflict, delete, digest, etag, is_file, listed, put

__all__ = ["interrupted", "save_into", "undo_push"]

PLAN = "pushing"
Plan = dict[str, dict[str, Any]]


def interrupted(journal: Journal) -> bool:
    """Whether a save into the store was cut short (its plan is still there)."""
    return (journal.folder / PLAN).exists()


def _load(journal: Journal) -> Plan:
    try:
        plan = json.loads((journal.folder / PLAN).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return plan if isinstance(plan, dict) else {}


def _write(journal: Journal, plan: Plan) -> None:
    path = journal.folder / PLAN
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(plan, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _plan(journal: Journal, entries: Iterable[Entry]) -> Plan:
    plan: Plan = {}
    for entry in entries:
        local = journal.root / entry.path
        here = local.is_file()
        if entry.kind == "new" and not here:
            continue  # made and removed again: nothing for the store
        step: dict[str, Any] = {"kind": "new" if entry.kind == "new" else "put"}
        if not here:
            step["kind"] = "delete"
        if here:
            step["md5"], step["size"] = digest(local), local.stat().st_size
        if entry.kind == "kept":
            original = journal.originals / entry.original
            step["original"] = digest(original)
            step["original_size"] = original.stat().st_size
        plan[entry.path] = step
    return plan


def _is(info: dict[str, Any] | None, step: dict[str, Any], which: str) -> bool:
    if which == "saved":
        return "md5" in step and is_file(info, step["md5"], step["size"])
    return "original" in step and is_file(info, step["original"], step["original_size"])


def _failed(store: Store, exc: BaseException, done: int, total: int) -> DicomError:
    cause = store.scrub(f"{type(exc).__name__}: {exc}")
    after = (
        f"The save stopped after {done} of {total} objects: every object of {store.name} is "
        "whole, either as it was or as saved, and the store reads as a database. Call "
        "save() again to finish the save, or restore() to put the store back as it was."
    )
    if isinstance(exc, Conflict):
        return StaleFileError(
            f"saving into {store.name}: another writer made or changed an object this save "
            f"writes ({cause}); nothing of theirs was overwritten. {after}"
        )
    if isinstance(exc, PermissionError) or "403" in cause or "AccessDenied" in cause:
        return StorageAccessError(
            f"saving into {store.name}: the store refused a write ({cause}). Give credentials "
            f"that may write there. {after}"
        )
    return StorageError(f"saving into {store.name} failed ({cause}). {after}")


def save_into(journal: Journal, store: Store, paths: Iterable[str] | None = None) -> list[str]:
    """Save the changes of ``paths`` (all by default) into ``store``; the paths saved.

    A save cut short before is finished with them (its paths are saved too).

    Raises
    ------
    dbdicom.StaleFileError
        An object to replace or delete was changed in the store by another
        writer since it was fetched (nothing was written), or another writer
        made or changed an object while the save ran (the save stopped).
    dbdicom.StorageError
        A write failed (:class:`~dbdicom.StorageAccessError` when refused):
        the save stopped; the message says how far it went and the way out.
    """
    resumed = _load(journal)
    chosen = journal._chosen(paths)
    plan = {**_plan(journal, chosen.values()), **resumed}
    if not plan and not chosen:
        return []
    _write(journal, plan)
    look = [r for r, s in plan.items() if s["kind"] != "new" or resumed]
    try:
        now = listed(store, look)
    except Exception as exc:  # the store's boundary
        raise _failed(store, exc, 0, len(plan)) from exc

    def as_saved(rel: str, step: dict[str, Any]) -> bool:  # by the save cut short
        gone = step["kind"] == "delete" and rel not in now
        return bool(resumed) and (gone or _is(now.get(rel), step, "saved"))

    stale = [
        r
        for r, s in plan.items()
        if s["kind"] != "new" and not _is(now.get(r), s, "original") and not as_saved(r, s)
    ]
    if stale:
        if not resumed:
            (journal.folder / PLAN).unlink(missing_ok=True)
        more = f" (and {len(stale) - 1} more)" if len(stale) > 1 else ""
        raise StaleFileError(
            f"{store.object(stale[0]).name}{more} was changed or removed in the store by "
            "another writer since dbdicom fetched it: saving would undo their change, so "
            "nothing was written. Your changes stay unsaved: restore() drops them; to keep "
            "theirs and yours, restore() the changed instances, refresh() and make the "
            "changes again."
        )
    order = sorted(plan, key=lambda r: ({"new": 0, "put": 1, "delete": 2}[plan[r]["kind"]], r))
    done = 0
    try:
        for rel in order:
            step, info = plan[rel], now.get(rel)
            if step["kind"] == "delete":
                if info is not None:
                    delete(store, rel, etag(info))
            elif not (resumed and _is(info, step, "saved")):
                local = journal.root / rel
                if step["kind"] == "new":
                    put(store, rel, local, new=True)
                else:
                    put(store, rel, local, if_match=etag(info) if info else None)
            done += 1
    except Exception as exc:  # the store's boundary: the plan stays, for save() or restore()
        raise _failed(store, exc, done, len(plan)) from exc
    finally:
        store.filesystem()[0].invalidate_cache()
    saved = journal.save([*plan, *chosen])  # the commit: the originals go
    (journal.folder / PLAN).unlink(missing_ok=True)
    return saved


def undo_push(journal: Journal, store: Store) -> list[str]:
    """Put the store back as it was before a save that was cut short; the paths put back.

    New objects of that save are deleted; replaced or deleted ones are put
    back from their originals. An object another writer changed meanwhile
    is left as it is, and a :class:`~dbdicom.DicomWarning` names it.
    """
    plan = _load(journal)
    if not plan:
        (journal.folder / PLAN).unlink(missing_ok=True)
        return []
    try:
        now = listed(store, plan)
    except Exception as exc:  # the store's boundary
        raise store.error(exc, "cannot be listed") from exc
    left, back = [], []
    try:
        for rel, step in sorted(plan.items()):
            info = now.get(rel)
            if step["kind"] == "new":
                if info is None:
                    continue
                if not _is(info, step, "saved"):
                    left.append(rel)
                    continue
                delete(store, rel, etag(info))
            else:
                if _is(info, step, "original"):
                    continue
                if info is not None and not _is(info, step, "saved"):
                    left.append(rel)
                    continue
                entry = journal.entries[rel]
                original = journal.originals / entry.original
                put(store, rel, original, if_match=etag(info) if info else None, new=info is None)
            back.append(rel)
    except Exception as exc:  # the store's boundary
        raise _failed(store, exc, len(back), len(plan)) from exc
    finally:
        store.filesystem()[0].invalidate_cache()
    (journal.folder / PLAN).unlink(missing_ok=True)
    if left:
        more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
        warnings.warn(
            f"{store.object(left[0]).name}{more} was changed by another writer after the "
            "save that was cut short: it is left as that writer made it.",
            DicomWarning,
            stacklevel=3,
        )
    return back
