"""Saving the staged changes of a database in an object store; undoing a save cut short.

The changes wait in the working folder's journal (:class:`~._journal.Journal`,
whose root is the working folder): nothing in the store changes until a
save. :func:`save_into` then, in this order:

1. writes the plan (every object to put or delete, with the MD5 of what is
   put and the ETag each replaced or deleted object had when it was
   fetched) into ``journal/pushing``: from here on the save is *under way*;
2. checks that every object to replace or delete is still the one that was
   fetched (the same ETag): one listing per folder; any other is refused
   before anything is written (:class:`StaleFileError`);
3. puts the new objects (``If-None-Match: *`` on S3), then the replaced ones
   (``If-Match`` the ETag fetched), then deletes the removed ones
   (``If-Match`` too);
   Each write's ETag (the one the PUT returned) is recorded as it is done
   (``journal/pushing.done``, one fsynced line a write): after a save cut
   short, an object is taken as *ours* only by that ETag, or by an ETag
   that is the MD5 of our bytes; any other (a multipart upload's, GCS's,
   Azure's, whatever its size) is another writer's, never overwritten or
   deleted;
4. renames the plan ``journal/pushed``: the save is *committed* (every
   object is as saved); then commits the journal (its log without those
   entries: the originals go) and deletes the plan.

Each object is written whole (a PUT is atomic): whenever the save stops
(a refusal, a lost connection, a kill), every object of the store is either
as it was or as saved, and the store reads as a database. A plan under way
stays until :func:`save_into` finishes it (objects already as saved are
skipped) or :func:`undo_push` undoes it (objects put back from the
originals, new objects of this save deleted); no other change is accepted
meanwhile. A committed plan is only finished (:func:`finish`): the store
holds the save whole, and nothing of it is undone.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from .._errors import DicomError, DicomWarning, StaleFileError, StorageAccessError, StorageError
from .._files import Store, denied, wrong_credentials
from ._journal import Entry, Journal
from ._objects import Conflict, delete, digest, etag, is_file, listed, put, same_etag

__all__ = ["finish", "interrupted", "save_into", "undo_push"]

PLAN = "pushing"
#: the plan of a save whose objects are all written (before the journal's commit)
COMMITTED = "pushed"
#: the ETag each write of the plan returned, one line a write, appended as each is done
DONE = "pushing.done"
Plan = dict[str, dict[str, Any]]
#: what each fetched object was: ``{path: {"etag": ..., "size": ...}}``
Fetched = Mapping[str, Mapping[str, Any]]


def interrupted(journal: Journal) -> bool:
    """Whether a save into the store was cut short (its plan, not committed, is still there)."""
    return (journal.folder / PLAN).exists()


def _load(journal: Journal, name: str = PLAN) -> Plan:
    try:
        plan = json.loads((journal.folder / name).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    if not isinstance(plan, dict):
        return {}
    if name == PLAN:  # with the ETags its writes returned (recorded as each was done)
        for rel, field, tag in _records(journal):
            if rel in plan:
                plan[rel][field] = tag
    return plan


def _records(journal: Journal) -> list[tuple[str, str, str]]:
    try:
        lines = (journal.folder / DONE).read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:  # a line cut short by a kill is no record: its write is not ours
            rel, field, tag = json.loads(line)
        except (ValueError, TypeError):
            continue
        out.append((str(rel), str(field), str(tag)))
    return out


def _record(journal: Journal, rel: str, field: str, tag: str) -> None:
    """Record, durably, the ETag a write of ``rel`` returned.

    ``field``: ``"ours"`` (put as saved) or ``"back"`` (the original put back).
    """
    with open(journal.folder / DONE, "a") as f:
        f.write(json.dumps([rel, field, tag]) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _drop(journal: Journal, *names: str) -> None:
    for name in (*names, DONE):
        (journal.folder / name).unlink(missing_ok=True)


def finish(journal: Journal) -> list[str]:
    """Finish a committed save (its objects all written): commit the journal; the paths saved.

    Nothing when no committed plan is there. A committed plan is left by a
    kill between the last write into the store and the journal's commit.
    """
    path = journal.folder / COMMITTED
    if not path.exists():
        return []
    plan = _load(journal, COMMITTED)
    journal.save(plan)
    path.unlink(missing_ok=True)
    return list(plan)


def _write(journal: Journal, plan: Plan) -> None:
    path = journal.folder / PLAN
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(plan, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _plan(journal: Journal, entries: Iterable[Entry], fetched: Fetched) -> Plan:
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
            seen = fetched.get(entry.path) or {}
            if seen.get("etag") and int(seen.get("size", -1)) == step["original_size"]:
                step["etag"] = str(seen["etag"])
        plan[entry.path] = step
    return plan


def _is(info: dict[str, Any] | None, step: dict[str, Any], which: str) -> bool:
    """Whether the object ``info`` is as ``"saved"`` by this plan, or its ``"original"``.

    As saved: the ETag our PUT returned (recorded), or an ETag that is the
    MD5 of our bytes; an ETag that is no MD5 and not recorded is another
    writer's object, whatever its size.
    """
    if which == "saved":
        if "ours" in step:
            return "md5" in step and same_etag(info, step["ours"], step["size"])
        return "md5" in step and is_file(info, step["md5"], step["size"])
    if "back" in step and same_etag(info, step["back"], step.get("original_size", -1)):
        return True  # put back by a restore() cut short
    if "etag" in step:  # the ETag it had when fetched: any other is another writer's object
        return same_etag(info, step["etag"], step["original_size"])
    return "original" in step and is_file(info, step["original"], step["original_size"])


def _match(step: dict[str, Any], info: dict[str, Any] | None) -> str | None:
    """The ETag a replace or delete of the fetched object is conditional on."""
    return str(step["etag"]) if "etag" in step else (etag(info) if info else None)


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
    if wrong_credentials(exc):
        return StorageAccessError(
            f"saving into {store.name}: the store refused the credentials given ({cause}): they "
            f"are wrong (an unknown key, or not the key's secret). Check them. {after}"
        )
    if denied(exc):
        return StorageAccessError(
            f"saving into {store.name}: the store refused a write ({cause}). Give credentials "
            f"that may write there. {after}"
        )
    return StorageError(f"saving into {store.name} failed ({cause}). {after}")


def _undo_failed(store: Store, exc: BaseException, done: int, total: int) -> DicomError:
    cause = store.scrub(f"{type(exc).__name__}: {exc}")
    after = (
        f"restore() put back {done} of the {total} objects of the save that was cut short "
        f"before it stopped: every object of {store.name} is whole, as it was or as saved, "
        "and the store reads as a database. Call restore() again to finish putting it back, "
        "or save() to finish the save instead."
    )
    if isinstance(exc, Conflict):
        return StaleFileError(
            f"restoring {store.name}: another writer changed an object being put back "
            f"({cause}); nothing of theirs was overwritten. {after}"
        )
    if wrong_credentials(exc):
        return StorageAccessError(
            f"restoring {store.name}: the store refused the credentials given ({cause}): they "
            f"are wrong (an unknown key, or not the key's secret). Check them. {after}"
        )
    if denied(exc):
        return StorageAccessError(
            f"restoring {store.name}: the store refused a write ({cause}). Give credentials "
            f"that may write there. {after}"
        )
    return StorageError(f"restoring {store.name} failed ({cause}). {after}")


def _stale(plan: Plan, now: dict[str, dict[str, Any]], resumed: bool) -> list[str]:
    """The objects of ``plan`` another writer changed: neither as fetched nor as we put them."""

    def as_saved(rel: str, step: dict[str, Any]) -> bool:  # by the save cut short
        gone = step["kind"] == "delete" and rel not in now
        return resumed and (gone or _is(now.get(rel), step, "saved"))

    return [
        r
        for r, s in plan.items()
        if (s["kind"] != "new" and not _is(now.get(r), s, "original") and not as_saved(r, s))
        or (s["kind"] == "new" and resumed and r in now and not as_saved(r, s))
    ]


def save_into(
    journal: Journal,
    store: Store,
    paths: Iterable[str] | None = None,
    fetched: Fetched | None = None,
) -> list[str]:
    """Save the changes of ``paths`` (all by default) into ``store``; the paths saved.

    A save cut short before is finished with them (its paths are saved too).
    ``fetched``: the ETag and size of each object when it was fetched to be
    changed; a replace or delete is conditional on it.

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
    done_before = finish(journal)
    resumed = _load(journal)
    if not resumed:
        _drop(journal)  # records of no plan (a kill after the last commit)
    chosen = journal._chosen(paths)
    plan = {**_plan(journal, chosen.values(), fetched or {}), **resumed}
    if not plan and not chosen:
        return done_before
    _write(journal, plan)  # with the records of the save cut short: they are in the plan now
    (journal.folder / DONE).unlink(missing_ok=True)
    look = [r for r, s in plan.items() if s["kind"] != "new" or resumed]
    try:
        now = listed(store, look)
    except Exception as exc:  # the store's boundary
        raise _failed(store, exc, 0, len(plan)) from exc

    stale = _stale(plan, now, bool(resumed))
    if stale:
        if not resumed:
            _drop(journal, PLAN)
        more = f" (and {len(stale) - 1} more)" if len(stale) > 1 else ""
        written = (
            "this save was cut short before and the store holds part of it; nothing more was "
            "written. restore() puts the store back as it was (their change is left) and "
            "drops your changes"
            if resumed
            else "nothing was written. Your changes stay unsaved: restore() drops them"
        )
        raise StaleFileError(
            f"{store.object(stale[0]).name}{more} was changed or removed in the store by "
            f"another writer since dbdicom fetched it: saving would undo their change, so "
            f"{written}; to keep theirs and yours, restore() the changed instances, "
            "refresh() and make the changes again."
        )
    order = sorted(plan, key=lambda r: ({"new": 0, "put": 1, "delete": 2}[plan[r]["kind"]], r))
    done = 0
    try:
        for rel in order:
            step, info = plan[rel], now.get(rel)
            if step["kind"] == "delete":
                if info is not None:
                    delete(store, rel, _match(step, info))
            elif not (resumed and _is(info, step, "saved")):
                local = journal.root / rel
                if step["kind"] == "new":
                    tag = put(store, rel, local, new=True)
                else:
                    tag = put(store, rel, local, if_match=_match(step, info), new=info is None)
                _record(journal, rel, "ours", tag)
            done += 1
    except Exception as exc:  # the store's boundary: the plan stays, for save() or restore()
        raise _failed(store, exc, done, len(plan)) from exc
    finally:
        store.filesystem()[0].invalidate_cache()
    os.replace(journal.folder / PLAN, journal.folder / COMMITTED)  # every object as saved
    (journal.folder / DONE).unlink(missing_ok=True)
    saved = journal.save([*plan, *chosen])  # the commit: the originals go
    (journal.folder / COMMITTED).unlink(missing_ok=True)
    return list(dict.fromkeys([*done_before, *saved]))


def _undo_step(
    journal: Journal,
    store: Store,
    rel: str,
    step: dict[str, Any],
    entry: Entry,
    info: dict[str, Any] | None,
) -> str:
    """Put one object back as it was: ``"back"``, ``"left"`` (another writer's) or ``""``."""
    if step["kind"] == "new":
        if info is None:
            return ""
        if not _is(info, step, "saved"):
            return "left"
        delete(store, rel, etag(info))
        return "back"
    if _is(info, step, "original"):
        return ""
    gone = info is None and step["kind"] == "put"  # deleted by another writer
    if gone or (info is not None and not _is(info, step, "saved")):
        return "left"
    original = journal.originals / entry.original
    tag = put(store, rel, original, if_match=etag(info) if info else None, new=info is None)
    _record(journal, rel, "back", tag)
    return "back"


def undo_push(journal: Journal, store: Store) -> list[str]:
    """Put the store back as it was before a save that was cut short; the paths put back.

    New objects of that save are deleted; replaced or deleted ones are put
    back from their originals. An object another writer changed (or
    deleted) meanwhile is left as it is, and a :class:`~dbdicom.DicomWarning`
    names it. A committed save (every object written) is not undone: it is
    finished (:func:`finish`). A path the journal no longer lists is left.
    """
    if finish(journal):
        return []
    plan = _load(journal)
    if not plan:
        _drop(journal, PLAN)
        return []
    try:
        now = listed(store, plan)
    except Exception as exc:  # the store's boundary
        raise _undo_failed(store, exc, 0, len(plan)) from exc
    left: list[str] = []
    back: list[str] = []
    try:
        for rel, step in sorted(plan.items()):
            entry = journal.entries.get(rel)
            if entry is None:
                continue  # not this journal's change (any more): never touched
            what = _undo_step(journal, store, rel, step, entry, now.get(rel))
            (left if what == "left" else back if what == "back" else []).append(rel)
    except Exception as exc:  # the store's boundary
        raise _undo_failed(store, exc, len(back), len(plan)) from exc
    finally:
        store.filesystem()[0].invalidate_cache()
    _drop(journal, PLAN)
    if left:
        more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
        warnings.warn(
            f"{store.object(left[0]).name}{more} was changed or deleted by another writer "
            "after the save that was cut short: it is left as that writer made it.",
            DicomWarning,
            stacklevel=3,
        )
    return back
