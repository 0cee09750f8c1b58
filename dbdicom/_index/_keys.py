"""The hierarchy keys of index rows, and the problems found in them.

A file's row is placed under a patient, a study and a series by the rule of
:func:`assign_keys`; :func:`find_problems` lists the files that need the
user's attention (not DICOM, unreadable, a missing UID, a duplicate, an
encoding that is wrong: see ``_encoding.py``; a UID that is not valid: see ``_uids.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
from pydicom.uid import generate_uid

from .._facade import pandas as pd
from ._columns import KEY_COLUMNS, cell_value
from ._dicomdir import MEDIUM
from ._encoding import encoding_problems
from ._uids import uid_problems

__all__ = [
    "KEY_SOURCES",
    "assign_keys",
    "copy_mark",
    "find_problems",
    "key_added_rows",
    "keys_of_added",
]

# tags from which the hierarchy keys are made (see assign_keys)
KEY_SOURCES = frozenset(
    {
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "StudyID",
        "StudyDescription",
        "SeriesInstanceUID",
        "SeriesNumber",
        "SeriesDescription",
        "Modality",
        "SOPInstanceUID",
    }
)

# columns that order the records of the tree (see Database): a change to one of
# them bumps Index.order_version


def copy_mark(path: str) -> str:
    """What tells one copy of an instance from the others: a hash of its file's path.

    A SOP Instance UID that several files hold keys each copy
    ``<uid>#<copy_mark(path)>``: the key of a copy does not change when
    another copy is removed (numbers in path order did: a handle held on
    the second copy then named the third).

    Examples
    --------
    >>> copy_mark("b/ct.dcm")
    'd5ed206fe5a2'
    """
    return hashlib.sha1(str(path).encode()).hexdigest()[:12]


def _text(series: pd.Series) -> np.ndarray:
    """The column as an object array of strings, ``""`` where absent."""
    if series.dtype.kind == "f":
        return np.array(["" if v != v else str(v) for v in series.to_numpy()], dtype=object)
    return series.astype(object).fillna("").to_numpy(dtype=object, copy=True)


def assign_keys(
    frame: pd.DataFrame, fresh: np.ndarray | None = None, keep: bool = False
) -> np.ndarray:
    """Place every good row in the hierarchy (in place), by the documented rule.

    ``fresh``: a mask of the rows read or changed since they were last keyed
    (None: all, e.g. after a scan); ``keep``: whether those keep the derived
    keys they had (files dbdicom changed), else they are keyed as files
    found for the first time (files another program changed). Returns a mask of the rows whose keys
    changed (all, where the frame had no keys yet): a key may change in a
    row that did not, e.g. when the first file of a series is gone and its
    parent is that of the next.

    * patient: ``PatientID``; without one, ``PatientName`` and
      ``PatientBirthDate`` make a key ``anonymous-<hash>`` (one patient per
      distinct name and birth date).
    * study: ``StudyInstanceUID``; without one, a UID derived from the patient
      key and ``StudyDate``/``StudyTime``/``StudyID``/``StudyDescription``.
    * series: ``SeriesInstanceUID``; without one, a UID derived from the study
      key and ``SeriesNumber``/``SeriesDescription``/``Modality``.
    * a derived key is an identity, not a function of the current values
      (see :func:`_derived`): a file dbdicom changed (an edit of its
      patient's name, its study's or series' description...) keeps the key
      it had when its whole record was read again, unless its values are
      now those of another record's files, which it joins (a move). Files
      found for the first time, or leaving a record whose other files stay,
      take the key of the record whose values they have, else one made from
      their values. A scan from scratch makes every derived key anew; a
      file another program changed is keyed as a scan would key it.
    * instance: ``SOPInstanceUID``; without one, a UID derived from the path.
      Files with the same ``SOPInstanceUID`` are each keyed
      ``<uid>#<copy_mark(path)>`` (see :func:`copy_mark`), and reported by
      :func:`find_problems`.
    * one parent per record: a study whose files name different patients, or
      a series whose files name different studies, is kept whole under the
      parent named by its first file (in path order); the others are
      reported by :func:`find_problems`.
    """
    n = len(frame)
    if n == 0:
        for col in KEY_COLUMNS:
            frame[col] = pd.array([], dtype="str")
        return np.zeros(0, dtype=bool)
    before = [frame[c].to_numpy(dtype=object) for c in KEY_COLUMNS if c in frame.columns]
    known = len(before) == len(KEY_COLUMNS)
    new = np.ones(n, dtype=bool) if fresh is None else np.asarray(fresh, dtype=bool)
    ok = frame["_error"].to_numpy(dtype=object) == ""
    pid = _text(frame["PatientID"])
    study = _text(frame["StudyInstanceUID"])
    series = _text(frame["SeriesInstanceUID"])
    derived = bool((ok & ((pid == "") | (study == "") | (series == ""))).any())
    old = [np.full(n, "", dtype=object)] * 3  # the keys rows had: only where some are derived
    if derived and known:
        old = [_text(frame[c]) for c in KEY_COLUMNS[:3]]
        if not keep:
            old = [np.where(new, "", k) for k in old]
    names = births = old[0]
    if derived:
        names, births = _text(frame["PatientName"]), _text(frame["PatientBirthDate"])
    _derived(
        pid,
        ok & (pid == ""),
        lambda i: f"{names[i]}|{births[i]}",
        lambda sig: "anonymous-" + hashlib.sha1(sig.encode()).hexdigest()[:10],
        old[0],
        new,
    )
    _derived_uids(frame, ok, pid, study, series, old[1:], new)
    inst = _text(frame["SOPInstanceUID"])
    paths = frame["_path"].to_numpy(dtype=object)
    for i in np.flatnonzero(ok & (inst == "")):
        inst[i] = generate_uid(entropy_srcs=[str(paths[i])])
    good = pd.Series(inst[ok])
    dup = good.duplicated(keep=False).to_numpy()
    if dup.any():
        for i in np.flatnonzero(ok)[dup]:
            inst[i] = f"{inst[i]}#{copy_mark(paths[i])}"
    # one parent per record: a study (series) found under several patients
    # (studies) stays whole, under the parent of its first file in path order
    good = np.flatnonzero(ok)
    for child, parents in ((study, (pid,)), (series, (study, pid))):
        codes, uniques = pd.factorize(child[good])
        _, first = np.unique(codes, return_index=True)
        heads = good[first[codes]]
        for parent in parents:
            parent[good] = parent[heads]
    return _store_keys(frame, [np.where(ok, k, "") for k in (pid, study, series, inst)], before)


_UIDS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


def plain_keys(frame: pd.DataFrame) -> bool:
    """Whether every good row of ``frame`` is keyed by its own UIDs, with no rule applied.

    None derived, none a copy, none kept under another parent (see
    :func:`assign_keys`): a good row's key is never empty, so a row whose
    UID is missing or differs from its key is one of those.
    """
    ok = (frame["_error"] == "").to_numpy(dtype=bool)  # (none: False)
    for uid, key in zip(_UIDS, KEY_COLUMNS, strict=True):
        if bool((ok & _differs(frame[uid], frame[key])).any()):
            return False
    return True


def _differs(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Where ``values`` (missing: ``""``) are not ``keys``; a category column by its codes."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.asarray(values.array.codes)
        words = np.append(np.asarray(values.array.categories, dtype=object), "")  # -1: ""
        return words[codes] != keys.to_numpy(dtype=object)
    return _text(values) != keys.to_numpy(dtype=object)


def keys_of_added(
    frame: pd.DataFrame, gone: np.ndarray, rows: list[dict[str, Any]]
) -> list[tuple[str, str, str, str]] | None:
    """The keys :func:`assign_keys` gives ``rows`` added to ``frame``; None if it must run.

    ``frame`` is :func:`plain_keys` (its keys are those :func:`assign_keys`
    gave); its rows ``gone`` leave it. Where every good row added is plain
    too (all four UIDs, none held twice, each study and series under the
    parents its files in the table name), a pass over the whole table
    changes no key of the rows that stay: the added ones take their UIDs
    (good rows) or none. Otherwise (None) the whole table is keyed again.
    """
    keys: list[tuple[str, str, str, str]] = []
    parents: dict[tuple[int, str], tuple[str, ...]] = {}  # (level, UID) -> parent UIDs
    for row in rows:
        if row.get("_error", "") != "":
            keys.append(("", "", "", ""))
            continue
        values = [row.get(name) for name in _UIDS]
        if not all(isinstance(v, str) and v for v in values):
            return None
        pid, study, series, sop = map(str, values)
        for level, child, parent in ((1, study, (pid,)), (2, series, (study, pid))):
            if parents.setdefault((level, child), parent) != parent:
                return None
        keys.append((pid, study, series, sop))
    sops = [k[3] for k in keys if k[3]]
    stay = ~gone & (frame["_error"] == "").to_numpy(dtype=bool)
    if len(set(sops)) < len(sops) or (stay & frame["SOPInstanceUID"].isin(sops).to_numpy()).any():
        return None  # an instance held twice: keyed as copies
    return keys if _same_parents(frame, stay, parents) else None


def _same_parents(
    frame: pd.DataFrame, stay: np.ndarray, parents: dict[tuple[int, str], tuple[str, ...]]
) -> bool:
    """Whether the rows ``stay`` of each study (1) and series (2) of ``parents`` have those."""
    for level, name in ((1, "StudyInstanceUID"), (2, "SeriesInstanceUID")):
        wanted = [uid for lvl, uid in parents if lvl == level]
        rows = np.flatnonzero(stay & frame[name].isin(wanted).to_numpy())
        if not len(rows):
            continue
        child = frame[name].array.take(rows).to_numpy(dtype=object)  # (plain: UIDs are keys)
        for at, key in enumerate(("_study", "_patient")[2 - level :]):  # parents[(level, uid)]
            want = np.array([parents[(level, uid)][at] for uid in child], dtype=object)
            if bool((frame[key].array.take(rows).to_numpy(dtype=object) != want).any()):
                return False
    return True


def key_added_rows(
    frame: pd.DataFrame, gone: np.ndarray, rows: list[dict[str, Any]], keep: bool, plain: bool
) -> tuple[list[dict[str, Any]], bool]:
    """``rows``, to be added to ``frame`` (whose rows ``gone`` leave), with keys; whether final.

    Final: the keys of :func:`keys_of_added` (``plain``: ``frame`` is
    :func:`plain_keys`), no other row's keys change.
    Else (False, the table is keyed whole next) with ``keep``, a row of a
    file read again has the keys it had (see :func:`assign_keys`).
    """
    keys = keys_of_added(frame, gone, rows) if plain else None
    if keys is not None:
        return [
            {**r, **dict(zip(KEY_COLUMNS, k, strict=True))} for r, k in zip(rows, keys, strict=True)
        ], True
    if not (keep and gone.any()):
        return rows, False
    paths = frame["_path"].to_numpy(dtype=object)[gone]
    cols = [frame[c].to_numpy(dtype=object)[gone] for c in KEY_COLUMNS]
    held = {
        str(p): dict(zip(KEY_COLUMNS, k, strict=True)) for p, *k in zip(paths, *cols, strict=True)
    }
    return [{**row, **held.get(row["_path"], {})} for row in rows], False


def _derived_uids(
    frame: pd.DataFrame,
    ok: np.ndarray,
    pid: np.ndarray,
    study: np.ndarray,
    series: np.ndarray,
    old: list[np.ndarray],
    new: np.ndarray,
) -> None:
    """Fill the derived Study, then Series Instance UIDs (see :func:`_derived`).

    Each is made of its parent's key and the record's values.
    """
    for keys, parent, by, had in (
        (study, pid, ("StudyDate", "StudyTime", "StudyID", "StudyDescription"), old[0]),
        (series, study, ("SeriesNumber", "SeriesDescription", "Modality"), old[1]),
    ):

        def signature(i: int, parent: np.ndarray = parent, by: tuple[str, ...] = by) -> str:
            return _signature(parent[i], frame, i, by)

        _derived(keys, ok & (keys == ""), signature, _uid_of, had, new)


def _signature(parent: str, frame: pd.DataFrame, i: int, keywords: tuple[str, ...]) -> str:
    """The values a derived key of row ``i`` is made of, as one text."""
    return "\x00".join([parent, *(str(cell_value(frame, i, k)) for k in keywords)])


def _uid_of(signature: str) -> str:
    """A UID made of a :func:`_signature` (the same text, the same UID)."""
    return generate_uid(entropy_srcs=signature.split("\x00"))


def _derived(
    keys: np.ndarray,
    missing: np.ndarray,
    signature: Callable[[int], str],
    make: Callable[[str], str],
    old: np.ndarray,
    fresh: np.ndarray,
) -> None:
    """Fill ``keys`` (in place) at the rows ``missing`` their UID: a derived key.

    A derived key is the identity of a record, kept while its files change
    (a handle on a patient without PatientID lives through an edit of its
    PatientName). A row not ``fresh`` keeps its ``old`` key. A fresh row
    takes the key of the rows not fresh whose ``signature`` it has now (the
    record it was moved to); else it keeps its ``old`` key when all the
    files of that record are fresh (the record was edited whole); else (a
    file found for the first time, or leaving a record whose other files
    stay) the key of the fresh rows of its signature, or ``make(signature)``
    -- unless a record kept that key through an edit of the values it was
    made of (then another: a file arriving with the old values is not that
    record's).
    """
    if not missing.any():
        return
    known: dict[str, str] = {}
    has_old = old != ""
    settled = ~fresh & has_old
    for i in np.flatnonzero(missing & settled):
        keys[i] = old[i]
        known.setdefault(signature(int(i)), str(old[i]))
    staying = set(old[settled])  # records that keep files not read again
    todo = np.flatnonzero(missing & fresh)
    signatures = {int(i): signature(int(i)) for i in todo}
    for i in todo:
        sig = signatures[int(i)]
        if sig not in known and has_old[i] and old[i] not in staying:
            known[sig] = str(old[i])
    used = set(known.values())  # a record kept its key through an edit: none made joins it
    for i in todo:
        sig = signatures[int(i)]
        if sig not in known:
            key, n = make(sig), 0
            while key in used:  # the key a renamed record kept: another one (a review)
                n += 1
                key = make(f"{sig}\x00{n}")
            known[sig] = key
            used.add(key)
        keys[i] = known[sig]


def _store_keys(
    frame: pd.DataFrame, keys: list[np.ndarray], before: list[np.ndarray]
) -> np.ndarray:
    """Put ``keys`` in the key columns; the rows where they differ from ``before``."""
    n = len(frame)
    changed = np.zeros(n, dtype=bool) if len(before) == len(KEY_COLUMNS) else np.ones(n, bool)
    for i, values in enumerate(keys):
        if len(before) == len(KEY_COLUMNS):
            changed |= values != before[i]
        frame[KEY_COLUMNS[i]] = pd.array(values, dtype="str")
    return changed


def _copies(frame: pd.DataFrame, ok: np.ndarray, paths: np.ndarray) -> list[tuple[str, str]]:
    """Each file that holds an instance another file holds too, and where the others are."""
    inst = frame["_instance"].to_numpy(dtype=object)
    sop = _text(frame["SOPInstanceUID"])
    copies: dict[str, list[str]] = {}
    for i in np.flatnonzero(ok):
        if sop[i] and inst[i] != sop[i]:  # (a UID of one file may hold a "#" itself)
            copies.setdefault(sop[i], []).append(paths[i])
    out = []
    for uid, where in copies.items():
        for path in where:
            others = [p for p in where if p != path]
            also = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
            key = f"{uid}#{copy_mark(path)}"
            out.append(
                (
                    path,
                    f"duplicate (0008,0018) 'SOP Instance UID' {uid} (also in {also}): "
                    f"indexed as {key!r}",
                )
            )
    return out


def find_problems(frame: pd.DataFrame) -> pd.DataFrame:
    """Files that are not in the hierarchy, or are placed by a rule: why."""
    out: list[tuple[str, str]] = []
    paths = frame["_path"].to_numpy(dtype=object)
    errors = frame["_error"].to_numpy(dtype=object)
    ok = errors == ""
    for i in np.flatnonzero(~ok & (errors != MEDIUM)):  # a DICOMDIR: see media_problems
        out.append((paths[i], str(errors[i])))
    warnings = frame["_warning"].to_numpy(dtype=object)
    for i in np.flatnonzero(ok & (warnings != "")):
        for why in str(warnings[i]).split("\n"):
            out.append((paths[i], why))
    images = frame["_image"].to_numpy(dtype=object)
    for i in np.flatnonzero(ok & (images != "")):
        out.append((paths[i], f"{images[i]}: its image is not read"))
    rules = [
        ("PatientID", "(0010,0020) 'Patient ID'", "_patient", "PatientName and PatientBirthDate"),
        ("StudyInstanceUID", "(0020,000D) 'Study Instance UID'", "_study", "StudyDate/Time/ID"),
        (
            "SeriesInstanceUID",
            "(0020,000E) 'Series Instance UID'",
            "_series",
            "SeriesNumber/Description",
        ),
        ("SOPInstanceUID", "(0008,0018) 'SOP Instance UID'", "_instance", "the file path"),
    ]
    for keyword, label, key, how in rules:
        missing = ok & (_text(frame[keyword]) == "")
        keys = frame[key].to_numpy(dtype=object)
        for i in np.flatnonzero(missing):
            out.append((paths[i], f"no {label}: placed under {keys[i]!r}, derived from {how}"))
    for keyword, key, label, what in (
        ("PatientID", "_patient", "(0010,0020) 'Patient ID'", "study"),
        ("StudyInstanceUID", "_study", "(0020,000D) 'Study Instance UID'", "series"),
    ):
        actual = _text(frame[keyword])
        keys = frame[key].to_numpy(dtype=object)
        for i in np.flatnonzero(ok & (actual != "") & (actual != keys)):
            out.append(
                (
                    paths[i],
                    f"{label} {actual[i]} differs from the first file of its {what}: "
                    f"kept with its {what}, under {keys[i]!r}",
                )
            )
    out.extend(_copies(frame, ok, paths))
    out.extend(encoding_problems(frame, ok))
    out.extend(uid_problems(frame, ok))
    size = frame["_size"].to_numpy()
    end = frame["_offset"].to_numpy() + frame["_nbytes"].to_numpy()
    for i in np.flatnonzero(ok & (frame["_offset"].to_numpy() > 0) & (end > size)):
        out.append(
            (paths[i], f"pixel data truncated: {int(end[i] - size[i])} bytes missing at the end")
        )
    return pd.DataFrame(out, columns=["path", "problem"])
