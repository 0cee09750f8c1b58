"""BIDS names for NIfTI exports: ``sub-<label>/ses-<label>/<datatype>/sub-..._<suffix>.nii.gz``.

``export_as_nifti(path, bids=True)`` names each series by the first rule
of :data:`RULES` that fits it, or leaves it out (with a message) when none
does: a localiser, a CT (BIDS has no CT datatype yet), a series whose
description names no contrast.

=============================================  =================
the series                                     datatype/suffix
=============================================  =================
modality PT                                    ``pet/pet``
modality other than MR and PT                  left out
description: loc, localiser, scout, survey     left out
volumes of a diffusion series (4th axis)       ``dwi/dwi`` (with .bval, .bvec)
description: dwi, dti, diff                    ``dwi/dwi``
description: bold, fmri, rest, task            ``func/bold``
                                               (``func/sbref`` if sbref)
description: asl, pcasl, pasl                  ``perf/asl``
description: fieldmap, fmap, b0map             ``fmap/fieldmap``
flip angles along the 4th axis                 ``anat/VFA``
inversion times along the 4th axis             ``anat/IRT1``
echo times along the 4th axis                  ``anat/MESE`` (SE),
                                               ``anat/MEGRE``
description: flair                             ``anat/FLAIR``
description: t1 map, t2 map, t2* / t2star      ``anat/T1map``,
                                               ``anat/T2map``,
                                               ``anat/T2starw``
description: pd, t2, t1 / mprage / spgr        ``anat/PDw``,
                                               ``anat/T2w``, ``anat/T1w``
=============================================  =================

"Description" is SeriesDescription and ProtocolName, in lower case; a
keyword matches at the start of a word. A 4-D series whose fourth axis is
echo times, flip angles or inversion times is written as one 3-D file per
volume, with the entity ``echo-<k>``, ``flip-<k>`` or ``inv-<k>``. Labels:
``sub-<k>`` in the order of the patients (their PatientID with
``identifiers=True``: an ID in another script than Latin makes no label, and the patient
is numbered), ``ses-<k>`` in the order of each patient's studies
by date, in an empty folder (one with an earlier export keeps its labels:
see :mod:`._bids_labels`); ``run-<k>`` (by SeriesNumber) where two series would get one
name; ``chunk-<k>`` for the geometry groups of a series that mixes them.
``task-<label>`` of a func series: the word after "task" in its
description, else ``rest`` where it says rest (:func:`task_label`); a func
series whose description names no task is left out (dbdicom guesses no
task from a protocol's other words, nor ``rest``). A single-band
reference (``sbref`` in the description) of a func series is
``func/sbref``, with the task by the same rule; of another series, left out.

The mapping is overridden by ``bids={"keyword": "datatype/suffix"}``
(keywords looked for in the description before the rules above; a value
None leaves the series out) or by a callable ``bids(series)`` returning
``"datatype/suffix"`` or None. The name may hold entities before the
suffix: ``"func/task-nback_acq-fast_bold"``, ``"anat/sub-07_T1w"``.

Every label is made of letters and digits only (:func:`bids_label`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._arrays import DIFFUSION
from .._errors import InvalidValueError
from ._layout import bids_label, written

__all__ = [
    "ENTITY_DIMS",
    "RULES",
    "BidsName",
    "dataset_description",
    "default_name",
    "parse_name",
    "task_label",
]

#: The order of entities in a BIDS file name.
ENTITIES = (
    "sub", "ses", "task", "acq", "ce", "rec", "dir", "run",
    "echo", "flip", "inv", "mt", "part", "chunk",
)  # fmt: skip

#: The dims along which a series is written one file per volume, with their entity.
ENTITY_DIMS = {"EchoTime": "echo", "FlipAngle": "flip", "InversionTime": "inv"}

#: BIDS version of the datasets written.
BIDS_VERSION = "1.10.0"


@dataclass(frozen=True)
class BidsName:
    """Where a series goes in a BIDS dataset: datatype, suffix and entities.

    Examples
    --------
    >>> BidsName("anat", "T1w", {"run": "2", "sub": "01"}).file("ses", "1")
    'sub-01_ses-1_run-2_T1w'
    """

    datatype: str
    suffix: str
    entities: dict[str, str] = field(default_factory=dict)

    def file(self, *extra: str) -> str:
        """The file name (without extension), with ``extra`` entity, label pairs."""
        entities = {**self.entities, **dict(zip(extra[::2], extra[1::2], strict=True))}
        known = [k for k in ENTITIES if k in entities]
        other = [k for k in entities if k not in ENTITIES]
        return "_".join([*(f"{k}-{entities[k]}" for k in known + other), self.suffix])

    def folder(self) -> str:
        """``sub-<label>[/ses-<label>]/<datatype>``."""
        parts = [f"sub-{self.entities['sub']}"]
        if "ses" in self.entities:
            parts.append(f"ses-{self.entities['ses']}")
        return "/".join([*parts, self.datatype])


def parse_name(text: str) -> BidsName:
    """``"datatype/[key-label_...]suffix"`` as a :class:`BidsName`; labels made safe.

    Examples
    --------
    >>> parse_name("func/task-n back_bold")
    BidsName(datatype='func', suffix='bold', entities={'task': 'nback'})

    Raises
    ------
    dbdicom.InvalidValueError
        The text is not of that form.
    """
    datatype, slash, name = str(text).partition("/")
    *pairs, suffix = name.split("_")
    entities = {}
    for pair in pairs:
        key, dash, label = pair.partition("-")
        if not dash or not key.isalnum():
            raise InvalidValueError(
                f"BIDS name {text!r}: {pair!r} is no entity; write entities as key-label "
                "before the suffix, e.g. 'func/task-rest_bold'."
            )
        if not bids_label(label):
            raise InvalidValueError(
                f"BIDS name {text!r}: the label of {pair!r} is not made of Latin letters "
                "and digits (BIDS labels are ASCII letters and digits; one in another script "
                f"is not turned into one); write it in Latin letters, e.g. '{key}-1'."
            )
        entities[key] = bids_label(label)
    if not slash or not datatype.isalpha() or not suffix.isalnum():
        raise InvalidValueError(
            f"BIDS name {text!r} is not 'datatype/suffix' (e.g. 'anat/T1w', 'func/task-rest_bold')."
        )
    return BidsName(datatype, suffix, entities)


# ------------------------------------------------------------------ the default mapping

#: The mapping by keywords in the description: (regular expression, datatype/suffix or
#: None to leave the series out), looked at in order after the series' 4th axis. A
#: keyword starts a word ("diff" of "diffusion"); short ones that start other words
#: ("rest" of "restricted", "pd" of "PDFF") are followed by no letter (a digit may).
RULES: tuple[tuple[str, str | None], ...] = (
    (r"\b(loc|localiser|localizer|scout|survey)", None),
    (r"\b(dwi|dti|diff)", "dwi/dwi"),
    # not 'restricted FOV', but 'rest1'; a task's name may follow (taskMotor)
    (r"\b(bold|fmri|rest|resting)(?![a-z])|\btask", "func/bold"),
    (r"\b(asl|pcasl|pasl)(?![a-z])", "perf/asl"),
    (r"\b(fieldmap|fmap|b0map)", "fmap/fieldmap"),
    (r"\bflair", "anat/FLAIR"),
    (r"\bt1 ?map", "anat/T1map"),
    (r"\bt2 ?map", "anat/T2map"),
    (r"\bt2(\*|star) ?map", "anat/T2starmap"),
    (r"\bt2(\*|star)", "anat/T2starw"),
    (r"\bpdw?(?![a-z])", "anat/PDw"),  # not PDFF, but PD2
    (r"\bt2", "anat/T2w"),
    (r"\b(t1|mprage|spgr)", "anat/T1w"),
)


def _description(values: Mapping[str, Any]) -> str:
    """SeriesDescription and ProtocolName, in lower case, ``_`` a word break (``ep2d_diff``)."""
    text = " ".join(str(values.get(k) or "") for k in ("SeriesDescription", "ProtocolName"))
    return text.lower().replace("_", " ")


def _by_axis(values: Mapping[str, Any], dims: tuple[str, ...]) -> str | None:
    if DIFFUSION in dims:  # the volumes of a diffusion series (b-values and directions)
        return "dwi/dwi"
    if "FlipAngle" in dims:
        return "anat/VFA"
    if "InversionTime" in dims:
        return "anat/IRT1"
    if "EchoTime" in dims:
        sequence = values.get("ScanningSequence") or ""
        spin = "SE" in (sequence if isinstance(sequence, list) else str(sequence).split("\\"))
        return "anat/MESE" if spin else "anat/MEGRE"
    return None


def default_name(
    values: Mapping[str, Any], dims: tuple[str, ...] = (), task: bool = True
) -> BidsName | None:
    """The BIDS name of a series with header ``values`` and 4th-axis ``dims`` (None: none).

    A func series is named with its task (:func:`task_label`), or None where
    its description names none; with ``task=False``, without it.

    Examples
    --------
    >>> default_name({"Modality": "MR", "SeriesDescription": "ax T1w MPRAGE"})
    BidsName(datatype='anat', suffix='T1w', entities={})
    >>> default_name({"Modality": "MR", "SeriesDescription": "VFA"}, ("FlipAngle",)).suffix
    'VFA'
    >>> default_name({"Modality": "MR", "ProtocolName": "task-nback fMRI"})
    BidsName(datatype='func', suffix='bold', entities={'task': 'nback'})
    >>> default_name({"Modality": "MR", "SeriesDescription": "task-nback fMRI_SBRef"})
    BidsName(datatype='func', suffix='sbref', entities={'task': 'nback'})
    >>> default_name({"Modality": "CT", "SeriesDescription": "T1"}) is None
    True
    """
    modality = values.get("Modality")
    if modality == "PT":
        return BidsName("pet", "pet")
    if modality != "MR":
        return None
    text = _description(values)
    if re.search(RULES[0][0], text):
        return None
    found = _by_axis(values, dims)
    if found is None:
        found = next((name for pattern, name in RULES[1:] if re.search(pattern, text)), None)
    if found is None:
        return None
    name = parse_name(found)
    if re.search(r"sbref", text):  # a single-band reference: BIDS has func/sbref
        if name.datatype != "func":
            return None
        name = BidsName("func", "sbref")
    if name.datatype == "func" and task:
        label = task_label(values)
        if label is None:
            return None  # no task: chosen_name says why
        name = BidsName(name.datatype, name.suffix, {"task": label})
    return name


#: Words that say what a func series is, not which task: not a task's name after "task"
#: (with or without a number after them: ``task bold2``, ``task run01``).
GENERIC_WORDS = frozenset(
    {
        "bold", "fmri", "func", "functional", "epi", "ep2d", "ep3d", "2d", "3d", "mb",
        "multiband", "cmrr", "run", "task", "scan", "series", "sms", "ap", "pa", "lr", "rl",
        "moco", "mosaic", "iso", "mm", "ax", "axial", "sag", "cor", "state",
    }
)  # fmt: skip

#: A word of a description: letters and digits, ``-`` inside it (``n-back``).
_WORD = r"[a-z0-9]+(?:-[a-z0-9]+)*"


def task_label(values: Mapping[str, Any]) -> str | None:
    """The ``task-<label>`` of a func series with header ``values``; None where none is found.

    The rule, in order, on SeriesDescription and ProtocolName:

    1. the word after "task" (punctuation between them allowed: ``task: motor``,
       ``task-motor``, ``task_motor``, ``taskMotor``), made a label (``n-back`` ->
       ``nback``);
    2. ``rest`` where the description says rest or resting (``rest1`` too);
    3. None: nothing says which task. The other words of a protocol's name
       are no task's (``cmrr_mbep2d_bold_p2_64ch``, ``ep2d_bold_TR2000``), and
       dbdicom does not guess ``rest``.

    Examples
    --------
    >>> [task_label({"SeriesDescription": d}) for d in ("fMRI task: motor", "task-n-back")]
    ['motor', 'nback']
    >>> [task_label({"SeriesDescription": d}) for d in ("ep2d_bold_rest", "bold nback", "BOLD1")]
    ['rest', None, None]
    """
    text = _description(values)
    for found in re.finditer(rf"\btask(?![a-z])\W*({_WORD})|\btask({_WORD})", text):
        word = found.group(1) or found.group(2)
        if re.sub(r"[0-9]+", "", word) not in GENERIC_WORDS and bids_label(word):
            return bids_label(word)
    if re.search(r"\b(rest|resting)(?![a-z])", text):
        return "rest"
    return None


def chosen_name(
    series: Any,
    values: Mapping[str, Any],
    dims: tuple[str, ...],
    bids: bool | Mapping[str, str | None] | Callable[[Any], str | None],
) -> BidsName:
    """The BIDS name of ``series`` by the user's mapping, then the default one.

    A func name without a ``task`` entity gets the one :func:`task_label`
    finds in the description.

    Raises
    ------
    dbdicom.InvalidValueError
        No rule names the series (it is then left out), or it is func data
        whose description names no task: the message says what it is and
        how to name it.
    """
    text = _description(values)
    found: BidsName | None
    match = None
    if callable(bids):
        given = bids(series)
        found = None if given is None else parse_name(given)
    elif isinstance(bids, Mapping):
        # a key is looked for as the description is (lower case, "_" a space)
        match = next((k for k in bids if _key(k) in text), None)
        if match is None:
            found = default_name(values, dims)
        else:
            found = None if bids[match] is None else parse_name(str(bids[match]))
    else:
        found = default_name(values, dims)
    what = ", ".join(
        f"{k} {values.get(k)!r}"
        for k in ("Modality", "SeriesDescription", "ProtocolName")
        if values.get(k)
    )
    if found is not None and (found.datatype != "func" or "task" in found.entities):
        return found
    left_out = found is None and (callable(bids) or isinstance(bids, Mapping) and match is not None)
    func = found if found is not None or left_out else default_name(values, dims, False)
    if func is not None and func.datatype == "func":
        label = task_label(values)
        if label is not None:
            return BidsName(func.datatype, func.suffix, {"task": label, **func.entities})
        raise InvalidValueError(
            f"no BIDS task for it ({what}): BIDS names func data by their task, and its "
            "description says none ('task <name>' or 'rest'). Name it in Python: "
            "export_as_nifti(path, bids={'<a word of its SeriesDescription>': "
            f"'func/task-<name>_{func.suffix}'}}), e.g. 'func/task-rest_{func.suffix}'."
        )
    if values.get("Modality") not in ("MR", "PT"):
        raise InvalidValueError(
            f"no BIDS name for it ({what}): BIDS has a datatype for MR and PET images, not "
            f"for {values.get('Modality') or 'these'} (export it without bids=True)."
        )
    raise InvalidValueError(
        f"no BIDS name for it ({what}): BIDS has no place for it by dbdicom's mapping. "
        "To include it, name it in Python: export_as_nifti(path, bids={'<a word of its "
        "SeriesDescription>': '<datatype>/<suffix>'}), e.g. 'anat/T2w'."
    )


def _key(text: Any) -> str:
    """A user's mapping key as descriptions are matched: lower case, ``_`` a space."""
    return str(text).lower().replace("_", " ")


def dataset_description(root: Path, name: str) -> None:
    """Write ``root/dataset_description.json`` unless there is one (the user's is kept)."""
    target = root / "dataset_description.json"
    if target.exists():
        return
    description = {
        "Name": name,
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "raw",
        "GeneratedBy": [{"Name": "dbdicom", "Description": "export_as_nifti(bids=True)"}],
    }
    with written(target) as temporary:
        temporary.write_text(json.dumps(description, indent=2) + "\n")
