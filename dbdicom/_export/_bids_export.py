"""A BIDS dataset of NIfTI files: ``export_as_nifti(path, bids=...)``.

Each series is named by :mod:`._bids` and written by :mod:`._nifti_file`;
the labels of subjects and sessions are kept by :mod:`._bids_labels`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._errors import DicomError, DicomWarning
from .._index import user_secret, user_secret_path
from ._bids import ENTITY_DIMS, BidsName, chosen_name, dataset_description
from ._bids_labels import Table, Wanted, assign, describe, source_key
from ._each import ExportedPath, each_series
from ._layout import bids_label, series_folders
from ._nifti_file import (
    arrays_of,
    first_header,
    fourth_dims,
    nifti_volumes,
    ranks,
    save_gradients,
    save_nifti,
    sidecar_of,
    time_step,
)
from ._sidecar import RULES

__all__ = ["BidsOption", "export_bids"]

#: What ``bids=`` may be: True for dbdicom's mapping, a mapping or a callable.
BidsOption = bool | Mapping[str, str | None] | Callable[[Any], str | None]


def _subject(patient: Any, identifiers: bool) -> str:
    """``01``, ``02``... in the order of the database's patients (their ID if allowed)."""
    if identifiers and bids_label(str(patient.uid)):
        return bids_label(str(patient.uid))
    uids = sorted(str(p.uid) for p in patient.database.patients())
    return f"{uids.index(str(patient.uid)) + 1:02d}"


def _session(study: Any) -> str:
    """``1``, ``2``... in the order of the patient's studies by date and time."""

    def when(s: Any) -> tuple[str, str, str]:
        return (str(s.StudyDate or ""), str(s.StudyTime or ""), str(s.uid))

    ordered = sorted(study.parent.studies(), key=when)
    return str([s.uid for s in ordered].index(study.uid) + 1)


def _folders(parent: Path, prefix: str) -> set[str]:
    """The labels of the ``<prefix><label>`` folders in ``parent``."""
    if not parent.is_dir():
        return set()
    return {p.name[len(prefix) :] for p in parent.glob(f"{prefix}*") if p.is_dir()}


class _Labels:
    """The ``sub-`` and ``ses-`` labels of an export, kept in the folder's tables.

    See :mod:`._bids_labels`: a patient (study) listed in ``participants.tsv``
    (``sub-<label>_sessions.tsv``) keeps its label; the others get theirs,
    refused where they would go into another's folder.
    """

    def __init__(self, record: Any, root: Path, identifiers: bool, series: list[Any]) -> None:
        self.root, self.identifiers = root, identifiers
        self.secret = user_secret()
        studies = {str(s.parent.uid): s.parent for s in series}
        patients = {str(s.parent.parent.uid): s.parent.parent for s in series}
        self.participants = Table.read(root / "participants.tsv", "participant_id")
        wanted = [
            Wanted(
                uid,
                self.key("patient", uid),
                _subject(patient, identifiers),
                f"patient {uid!r}",
                fixed=identifiers and bool(bids_label(uid)),
            )
            for uid, patient in patients.items()
        ]
        self.subject = assign(wanted, self.participants, _folders(root, "sub-"), "sub-")
        self._unknown_keys(patients)
        self.tables: dict[str, Table] = {}  # sessions.tsv by subject label
        self.session: dict[str, str] = {}
        for label in sorted(set(self.subject.values())):
            folder = root / f"sub-{label}"
            table = Table.read(folder / f"sub-{label}_sessions.tsv", "session_id")
            mine = [s for s in studies.values() if self.subject[str(s.parent.uid)] == label]
            wanted = [
                Wanted(str(s.uid), self.key("study", str(s.uid)), _session(s), _study_name(s))
                for s in mine
            ]
            self.session.update(assign(wanted, table, _folders(folder, "ses-"), "ses-"))
            self.tables[label] = table

    def _unknown_keys(self, patients: dict[str, Any]) -> None:
        """A warning where new subjects join ``key-`` subjects that none of the database's is.

        Such a key is another patient's (exported from another database),
        or one made with another secret: by another user, on another
        machine, or before the secret was deleted. Then a patient of this
        export may be one of them, and is now a second subject: dbdicom
        cannot tell which, so it says so rather than refuse new patients.
        """
        owners = self.participants.owners()
        new = sorted(f"sub-{label}" for label in set(self.subject.values()) - set(owners))
        if not new or not patients:
            return
        ours = {str(p.uid) for p in next(iter(patients.values())).database.patients()}
        known = {self.key("patient", uid) for uid in ours} | ours
        unknown = sorted(
            f"sub-{label}"
            for label, source in owners.items()
            if source and source.startswith("key-") and source not in known
        )
        if unknown:
            warnings.warn(
                f"{self.participants.path}: {', '.join(unknown)} are by keys (source_id) that "
                f"none of this database's patients has, and this export adds "
                f"{', '.join(new)}. If those are other patients (exported from another "
                "database by you), all is well. If they are made by another user, on another "
                f"machine, or before the secret {user_secret_path()} was deleted, each key "
                "is another, and a patient may now be two subjects: check, delete the new "
                "ones that are, and export where the others were made (or copy that secret "
                "here).",
                DicomWarning,
                stacklevel=2,
            )

    def key(self, level: str, uid: str) -> str:
        """What a table records for a patient (study): its ``uid``, or its key."""
        return source_key(self.secret, level, uid)

    def source(self, level: str, uid: str) -> str:
        return uid if self.identifiers else self.key(level, uid)

    def entities(self, series: Any) -> dict[str, str]:
        """``sub`` and ``ses`` of ``series``."""
        return {
            "sub": self.subject[str(series.parent.parent.uid)],
            "ses": self.session[str(series.parent.uid)],
        }

    def keep(self, series: Any, name: BidsName) -> None:
        """The rows of the subject and session of ``name`` (of ``series``), where missing.

        Written before the series' files are, so that the folder never holds
        a subject or session its tables do not name; a label of the user's
        own naming is recorded as it is.
        """
        sub, ses = name.entities["sub"], name.entities.get("ses")
        patient, study = str(series.parent.parent.uid), str(series.parent.uid)
        if sub not in self.participants.owners():
            self.participants.add(f"sub-{sub}", self.source("patient", patient))
            describe(self.root, "participants")
            self.participants.write()
        if ses is None:
            return
        if sub not in self.tables:
            path = self.root / f"sub-{sub}" / f"sub-{sub}_sessions.tsv"
            self.tables[sub] = Table.read(path, "session_id")
        if ses not in self.tables[sub].owners():
            self.tables[sub].add(f"ses-{ses}", self.source("study", study))
            describe(self.root, "sessions")
            self.tables[sub].write()


def _study_name(study: Any) -> str:
    return f"study {study.label()!r} of patient {str(study.parent.uid)!r}"


class _BidsPlan:
    """The BIDS name of every series of an export, runs numbered where names clash."""

    def __init__(self, record: Any, root: Path, identifiers: bool, bids: BidsOption) -> None:
        self.identifiers = identifiers
        self.names: dict[str, BidsName | Exception] = {}
        self.arrays: dict[str, list[Any]] = {}
        self.written: set[Path] = set()  # the stems of the files written
        named: list[tuple[Any, BidsName, float]] = []
        for series, folder in series_folders(record, root):
            try:
                arrays = arrays_of(record, series, folder.name)
                self.arrays[series.uid] = arrays
                header = first_header(record, series, arrays[0])
                name = chosen_name(series, header, fourth_dims(arrays[0]), bids)
            except DicomError as exc:  # said when the series is written (or skipped)
                self.names[series.uid] = exc
                continue
            named.append((series, name, float(header.get("SeriesNumber") or 0)))
        self.labels = _Labels(record, root, identifiers, [s for s, _, _ in named])
        clashes: dict[tuple[str, str], list[tuple[float, str]]] = {}
        for series, name, number in named:
            entities = {**self.labels.entities(series), **name.entities}
            name = BidsName(name.datatype, name.suffix, entities)
            self.names[series.uid] = name
            clashes.setdefault((name.folder(), name.file()), []).append((number, series.uid))
        for found in clashes.values():
            if len(found) > 1 and all("run" not in self._name(u).entities for _, u in found):
                for run, (_, uid) in enumerate(sorted(found), start=1):
                    name = self._name(uid)
                    self.names[uid] = BidsName(
                        name.datatype, name.suffix, {**name.entities, "run": str(run)}
                    )

    def _name(self, uid: str) -> BidsName:
        name = self.names[uid]
        assert isinstance(name, BidsName)
        return name

    def name(self, series: Any) -> BidsName:
        found = self.names[series.uid]
        if isinstance(found, Exception):
            raise found
        return found

    def stale(self, root: Path) -> list[str]:
        """The NIfTI files (and their sidecars) in the sessions written, not written now.

        Files of an earlier export: a series renamed, removed, left out this
        time, or numbered as runs now. Only ``sub-..._ses-..._*.nii.gz`` and
        the ``.json``, ``.bval`` and ``.bvec`` of the same name: the user's
        own files (``_events.tsv``...) are none of them.
        """
        found = []
        for session in sorted({stem.parent.parent for stem in self.written}):
            prefix = "_".join(session.relative_to(root).parts) + "_"
            for image in sorted(session.glob(f"*/{prefix}*.nii.gz")):
                stem = image.with_name(image.name.removesuffix(".nii.gz"))
                if stem in self.written:
                    continue
                for ext in (".nii.gz", ".json", ".bval", ".bvec"):
                    path = stem.with_name(stem.name + ext)
                    if path.exists():
                        found.append(path.relative_to(root).as_posix())
        return found


#: BIDS suffixes of maps whose values BIDS wants in seconds
_IN_SECONDS = frozenset({"T1map", "T2map", "T2starmap"})


def export_bids(
    record: Any, root: Path, identifiers: bool, bids: BidsOption, nibabel: Any
) -> ExportedPath:
    """The series below ``record`` as a BIDS dataset in ``root`` (see :mod:`._bids`).

    Its ``dataset_description.json`` is written once the first series was
    (not when every one was skipped: a folder that held no BIDS dataset
    does not become one), unless ``root`` has one.
    """
    plan = _BidsPlan(record, root, identifiers, bids)
    # the record's label (a folder, a patient's name) may identify the patient
    named = f"DICOM export of {record.label()}" if identifiers else "DICOM export by dbdicom"
    described: list[bool] = []

    def write(series: Any, folder: Path) -> None:
        _bids_series(record, plan, root, series, nibabel)
        if not described:  # after the first series, not the last: whatever comes after
            dataset_description(root, named)
            described.append(True)

    done = each_series(record, root, write, "NIfTI (BIDS)")
    stale = plan.stale(root)
    if stale:
        record.message(
            f"{len(stale)} file(s) of an earlier export are in the sessions this export wrote, "
            "and were not written again (a series renamed, removed, left out, or numbered as "
            f"runs now?): {', '.join(stale)}. Delete those that are stale (out.stale lists them)."
        )
    return ExportedPath(root, exported=done.exported, skipped=done.skipped, stale=stale)


def _bids_series(record: Any, plan: _BidsPlan, root: Path, series: Any, nibabel: Any) -> None:
    """The NIfTI files and sidecars of one series of a BIDS export (see :func:`export_bids`)."""
    name = plan.name(series)
    if name.suffix in _IN_SECONDS:
        record.message(
            f"{name.file()}: BIDS wants a {name.suffix} in seconds; DICOM does not say the "
            f"unit of its values (most scanners' maps are in ms): written as stored. In "
            "ms? Write a series of the values / 1000 first (set_xarray) and export that."
        )
    arrays = plan.arrays[series.uid]
    volumes = nifti_volumes(record, series, arrays, name.file())
    plan.labels.keep(series, name)
    for k, (_, voxels, affine, per_volume, da) in enumerate(volumes):
        chunk = ("chunk", str(k + 1)) if len(volumes) > 1 else ()
        header = first_header(record, series, da)
        sidecar, lists = sidecar_of(header, da, per_volume, plan.identifiers)
        if "task" in name.entities:  # required by BIDS for func data
            sidecar["TaskName"] = name.entities["task"]
        if name.suffix == "VFA" and "RepetitionTime" in sidecar:
            # required by BIDS for VFA: (0018,0080) is the one DICOM has, BIDS says
            sidecar["RepetitionTimeExcitation"] = sidecar["RepetitionTime"]
            if "RepetitionTime" in lists:
                lists = lists | {"RepetitionTimeExcitation"}
        split = [d for d in fourth_dims(da) if d in ENTITY_DIMS]
        if not split or len(split) < len(fourth_dims(da)):  # one file, 4-D if it has volumes
            if name.suffix == "bold" and voxels.ndim == 3:
                voxels = voxels[..., None]  # BIDS: BOLD data are 4-D, if of one volume
            for key in lists & set(RULES):  # one value for a BIDS key: the first volume's
                sidecar[key] = sidecar[key][0]
            stem = root / name.folder() / name.file(*chunk)
            plan.written.add(stem)
            save_nifti(nibabel, voxels, affine, sidecar, stem, time_step(da, per_volume, sidecar))
            save_gradients(record, da, affine, stem)
            continue
        order = {d: ranks(per_volume[d]) for d in split}
        for t in range(voxels.shape[3]):  # a file per echo / flip angle / inversion
            entities = [x for d in split for x in (ENTITY_DIMS[d], str(order[d][t]))]
            one = {k: (v[t] if k in lists else v) for k, v in sidecar.items()}
            stem = root / name.folder() / name.file(*entities, *chunk)
            plan.written.add(stem)
            save_nifti(nibabel, voxels[..., t], affine, one, stem)
