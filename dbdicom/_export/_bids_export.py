"""A BIDS dataset of NIfTI files: ``export_as_nifti(path, bids=...)``.

Each series is named by :mod:`._bids` and written by :mod:`._nifti_file`;
the labels of subjects and sessions are kept by :mod:`._bids_labels`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._errors import DicomError
from ._bids import ENTITY_DIMS, BidsName, chosen_name, dataset_description
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


def _subject(series: Any, identifiers: bool) -> str:
    """``01``, ``02``... in the order of the database's patients (their ID if allowed)."""
    patient = series.parent.parent
    if identifiers and bids_label(str(patient.uid)):
        return bids_label(str(patient.uid))
    uids = sorted(str(p.uid) for p in series.database.patients())
    return f"{uids.index(str(patient.uid)) + 1:02d}"


def _session(series: Any) -> str:
    """``1``, ``2``... in the order of the patient's studies by date and time."""
    study = series.parent

    def when(s: Any) -> tuple[str, str, str]:
        return (str(s.StudyDate or ""), str(s.StudyTime or ""), str(s.uid))

    ordered = sorted(study.parent.studies(), key=when)
    return str([s.uid for s in ordered].index(study.uid) + 1)


class _BidsPlan:
    """The BIDS name of every series of an export, runs numbered where names clash."""

    def __init__(self, record: Any, root: Path, identifiers: bool, bids: BidsOption) -> None:
        self.identifiers = identifiers
        self.names: dict[str, BidsName | Exception] = {}
        self.arrays: dict[str, list[Any]] = {}
        clashes: dict[tuple[str, str], list[tuple[float, str]]] = {}
        for series, folder in series_folders(record, root):
            try:
                arrays = arrays_of(record, series, folder.name)
                self.arrays[series.uid] = arrays
                header = first_header(record, series, arrays[0])
                name = chosen_name(series, header, fourth_dims(arrays[0]), bids)
            except DicomError as exc:  # said when the series is written (or skipped)
                self.names[series.uid] = exc
                continue
            entities = {"sub": _subject(series, identifiers), "ses": _session(series)}
            name = BidsName(name.datatype, name.suffix, {**entities, **name.entities})
            self.names[series.uid] = name
            number = float(header.get("SeriesNumber") or 0)
            key = (name.folder(), name.file())
            clashes.setdefault(key, []).append((number, series.uid))
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

    return each_series(record, root, write, "NIfTI (BIDS)")


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
            if name.datatype == "func" and voxels.ndim == 3:
                voxels = voxels[..., None]  # BIDS: BOLD data are 4-D, if of one volume
            for key in lists & set(RULES):  # one value for a BIDS key: the first volume's
                sidecar[key] = sidecar[key][0]
            stem = root / name.folder() / name.file(*chunk)
            save_nifti(nibabel, voxels, affine, sidecar, stem, time_step(da, per_volume, sidecar))
            save_gradients(record, da, affine, stem)
            continue
        order = {d: ranks(per_volume[d]) for d in split}
        for t in range(voxels.shape[3]):  # a file per echo / flip angle / inversion
            entities = [x for d in split for x in (ENTITY_DIMS[d], str(order[d][t]))]
            one = {k: (v[t] if k in lists else v) for k, v in sidecar.items()}
            stem = root / name.folder() / name.file(*entities, *chunk)
            save_nifti(nibabel, voxels[..., t], affine, one, stem)
