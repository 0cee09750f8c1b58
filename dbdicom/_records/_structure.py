"""Editing records: attributes at every level, remove, move, copy, new, import.

The rules that keep the hierarchy consistent are in
:mod:`dbdicom._records._attributes`. New files are written as
``dbdicom/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` inside the database
folder; files keep their paths when they are edited or moved.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID

from .._checks import resolve_tag, to_dicom
from .._custom import custom
from .._dataset import REMOVE, TYPE2_PARENTS, naming, new_file_placeholders, set_elements
from .._errors import DicomError, InvalidFileError, InvalidValueError
from .._templates import file_meta, modality_image, new_uid
from ._attributes import (
    KEYS,
    LEVELS,
    distinct,
    is_single,
    level_of,
    reduce_values,
    sorted_distinct,
)
from ._edit import DELETE, Editor, _save, copy_dataset, plain, put
from ._empty import Empty
from ._inherit import inherited, series_told, told
from ._parents import check_parent, is_empty

if TYPE_CHECKING:
    from ._database import Database
    from ._record import Record

__all__ = [
    "KEEP_EMPTY",
    "NEW_FOLDER",
    "TEMPLATE_KEEPS",
    "apply_values",
    "copy_to",
    "empty_values",
    "get_custom",
    "get_empty",
    "is_empty",
    "move_to",
    "new_child",
    "new_instance",
    "remove",
    "set_custom",
]

NEW_FOLDER = "dbdicom"


def _editor(record: Record) -> Editor:
    return record._db._editor


def _ancestor(record: Record, level: str) -> Record:
    """The record of ``level`` above ``record`` (``record`` itself at its level)."""
    if level == record.level:
        return record
    found = record._find(level, {})
    if found is None:
        raise DicomError(f"{record!r} has no {level} above it.")
    return found


# ---------------------------------------------------------------- attributes
def _exists(db: Database, level: str, key: str) -> bool:
    frame = db.index.frame
    return bool((frame[f"_{level}"] == key).any()) or (level, key) in db._editor.empty


def set_custom(record: Record, name: str, value: Any) -> None:
    attribute = custom(name)
    assert attribute is not None
    value = attribute.check(value)
    editor = _editor(record)
    editor.begin()
    if is_empty(record):
        empty = editor.empty.get(record.level, record.uid)
        assert empty is not None
        empty.attrs[name] = value
        return
    rows = record._rows()
    editor.change(rows, lambda ds: attribute.apply(ds, value), attribute.tags)


def get_custom(record: Record, name: str) -> Any:
    attribute = custom(name)
    assert attribute is not None
    if is_empty(record):
        empty = _editor(record).empty.get(record.level, record.uid)
        return [empty.attrs[name]] if empty is not None and name in empty.attrs else []
    rows = record._rows()
    db = record._db
    values = {tag: db._values(rows, tag) for tag in attribute.tags}
    result = attribute.get(values)
    if record.level == "instance":
        return result[0] if result else None
    return distinct(result)


def get_empty(record: Record, keyword: str) -> Any:
    """The value of ``keyword`` for a record without files, by the level rule of reads.

    One value (None when absent) for an attribute of the record's level or
    above, the list of values for a lower level (see :func:`empty_values`).
    """
    return reduce_values(empty_values(record, keyword), is_single(record.level, keyword))


def empty_values(record: Record, keyword: str) -> list[Any]:
    """The values of ``keyword`` for a record without files: its own or inherited.

    An attribute of a level above the record comes from the nearest record
    above that has it, up to the record of its level (not higher: a new
    study does not take the descriptions of its patient's other studies).
    """
    editor = _editor(record)
    empty = editor.empty.get(record.level, record.uid)
    level = LEVELS.index(level_of(keyword))
    while empty is not None:
        if keyword in empty.attrs:
            return sorted_distinct([_user_value(empty.attrs[keyword])])
        if level >= LEVELS.index(empty.level) or empty.parent is None:
            return []  # an attribute of this level or below: not inherited from above
        up_level, key = empty.parent
        parent = editor.empty.get(up_level, key)
        if parent is None:
            return record._db._class_of(up_level)(record._db, key).unique(keyword)
        empty = parent
    return []


def _user_value(value: Any) -> Any:
    return plain(value)


def apply_values(ds: Dataset, values: dict[str, Any], new_file: bool = False) -> None:
    """Set ``values`` (keyword -> value, custom attributes too) in ``ds``.

    ``DELETE`` removes an element, or empties a Type 2 one (:data:`KEEP_EMPTY`:
    a file moved or copied below a record that has no value keeps it, without
    one); in a ``new_file`` (from a template or a
    user's dataset) it empties the element unless the file needs its value
    (:data:`TEMPLATE_KEEPS`), and removes a sequence (a sequence without
    items is no valid value of the Type 3 ones a record may lack:
    OtherPatientIDsSequence).
    """
    for keyword, value in values.items():
        attribute = custom(keyword)
        if attribute is not None:
            attribute.apply(ds, value)
            continue
        if new_file and value is DELETE:
            # a new file: the template's made-up values go, what it needs stays
            if keyword in ds and keyword not in TEMPLATE_KEEPS:
                number, _, vr = resolve_tag(keyword)
                put(ds, number, vr, DELETE if vr == "SQ" else None)
            continue
        number, _, vr = resolve_tag(keyword)
        if value is DELETE and keyword in KEEP_EMPTY:
            value = None if keyword in ds else DELETE
        put(ds, number, vr, value)


#: Type 2 attributes of the levels above an instance (2C: PatientPosition,
#: Laterality), which a file that has them keeps, empty, where its new parent
#: has no value: the General Study, Patient, General Series, Frame of
#: Reference and General Equipment modules require them present
KEEP_EMPTY = TYPE2_PARENTS | frozenset(
    {"SeriesNumber", "PatientPosition", "Laterality", "PositionReferenceIndicator", "Manufacturer"}
)

# attributes of a template that a new file keeps when its parents do not have them
TEMPLATE_KEEPS = frozenset(
    {
        "Modality",
        "Laterality",
        "BodyPartExamined",
        "FrameOfReferenceUID",
        "PositionReferenceIndicator",
        "SeriesNumber",
        "SeriesDate",
        "SeriesTime",
        "StudyDate",
        "StudyTime",
    }
)
#: the study's date and time, which those of a new file made from the template follow
_WHEN = ("StudyDate", "StudyTime")


# ---------------------------------------------------------------- structure
def remove(record: Record) -> None:
    """Remove a record and everything below it (restorable until saved)."""
    editor = _editor(record)
    editor.begin()
    if record.level == "database":
        rows = record._rows()
        editor.empty.records.clear()
    else:
        if is_empty(record):
            editor.empty.discard(record.level, record.uid)
            return
        rows = record._rows()
        editor.empty.discard(record.level, record.uid)
    editor.remove_rows(rows)


def move_to(record: Record, parent: Record) -> Record:
    """Put ``record`` under ``parent``, rewriting the parent levels' attributes."""
    check_parent(record, parent, "move")
    if parent._db is not record._db:
        new = copy_to(record, parent)
        remove(record)
        return new
    if record.level == "patient":
        return record
    editor = _editor(record)
    editor.begin()
    if is_empty(record):
        empty = editor.empty.get(record.level, record.uid)
        assert empty is not None
        empty.parent = (parent.level, parent.uid)
        return record
    values = told(parent, inherited(parent), record)
    editor.change(record._rows(), lambda ds: apply_values(ds, values), list(values))
    editor.prune()
    return record


def _new_id(level: str, old: str | None = None) -> str:
    if level == "patient":
        return (
            f"{old}-copy-{uuid.uuid4().hex[:6]}"[-64:]
            if old
            else f"dbdicom-{uuid.uuid4().hex[:10]}"
        )
    return new_uid()


def _next_number(db: Database, rows: np.ndarray, keyword: str) -> int:
    values = (
        [v for v in db._values(rows, keyword) if isinstance(v, int | float)] if len(rows) else []
    )
    return int(max(values)) + 1 if values else 1


def copy_to(record: Record, parent: Record) -> Record:
    """A copy of ``record`` (new UIDs) under ``parent``, possibly in another database."""
    check_parent(record, parent, "copy")
    src = _editor(record)
    dst = _editor(parent)
    dst.begin()
    if is_empty(record):
        return _copy_empty(record, parent, src, dst)
    return _copy_files([record], parent, src, dst)[0]


def copy_instances(instances: list[Record], parent: Record) -> list[Record]:
    """Copies of ``instances`` (of one database) in the series ``parent``, written in one pass.

    What :func:`copy_to` of each in turn gives (the copies numbered as it
    numbers them), with the parent's attributes read and the index updated
    once, not once a copy; but into a new series without files, each copy
    keeps its own values of the series attributes it was not given, where
    ``copy_to`` in turn gives the later copies the first's (a subseries'
    files keep the values they differ in: see :func:`~._inherit.series_told`).
    """
    if not instances:
        return []
    for instance in instances:
        check_parent(instance, parent, "copy")
    dst = _editor(parent)
    dst.begin()
    return _copy_files(instances, parent, _editor(instances[0]), dst)


def _copy_files(records: list[Record], parent: Record, src: Editor, dst: Editor) -> list[Record]:
    """Copies of ``records`` (one level, with files, of ``src``) under ``parent``, one pass."""
    # under its own parent a copy keeps each file's values of the levels above (the
    # parent's are its first file's: a value that differs by file would be lost)
    if all(parent == r.parent for r in records):
        values = {}
    else:
        values = told(parent, inherited(parent), records[0])
    level = records[0].level
    depth = LEVELS.index(level) - 1
    renew: dict[tuple[int, str], str] = {}
    series_number, instance_number = _copy_numbers(records[0], parent)
    items = []
    new_keys_of: list[str] = []
    checked: list[str] = []
    for record in records:
        rows = record._rows()
        rels = src.rels(rows)
        new_key = ""
        for rel, key_of_file in zip(rels, src.keys(rows), strict=True):
            uids = {}
            for level_i in range(depth, 4):
                old = key_of_file[level_i]
                if (level_i, old) not in renew:
                    renew[(level_i, old)] = _new_id(LEVELS[level_i + 1], old)
                uids[KEYS[LEVELS[level_i + 1]]] = renew[(level_i, old)]
            if not new_key:
                new_key = uids[KEYS[level]]
            new_keys = tuple(
                str(uids.get(kw) or _plain_key(values.get(kw)) or key_of_file[i])
                for i, kw in enumerate(KEYS.values())
            )
            path = f"{NEW_FOLDER}/{new_keys[2]}/{uids['SOPInstanceUID']}.dcm"
            items.append(
                (
                    path,
                    new_keys,
                    _copy_writer(src, rel, values, uids, series_number, instance_number),
                )
            )
        new_keys_of.append(new_key)
        checked.extend(r for r in rels if r not in src.memory)
        if level == "instance":  # the next copy's number: after this one's
            own = instance_number if instance_number is not None else _own_number(record)
            instance_number = own + 1
    src.check_files(checked)
    dst.create(items, "Copying")  # type: ignore[arg-type]
    for record, new_key in zip(records, new_keys_of, strict=True):
        src.empty.copy_children(level, record.uid, (level, new_key), dst.empty, _new_id)
    return [parent._db._class_of(level)(parent._db, key) for key in new_keys_of]


def _own_number(instance: Record) -> int:
    """The InstanceNumber of ``instance`` as a copy keeps it (0: none, the next copy is 1)."""
    value = instance._db._values(instance._rows()[:1], "InstanceNumber")[0]
    return int(value) if isinstance(value, int | float) and value == value else 0


def _copy_writer(
    src: Editor,
    rel: str,
    values: dict[str, Any],
    uids: dict[str, str],
    series_number: int | None,
    instance_number: int | None,
) -> Any:
    """What writes the copy of the file ``rel`` with ``values`` and its new numbers."""

    def writer(tmp: str) -> None:
        ds = src.dataset(rel)
        if rel in src.memory:
            ds = copy_dataset(ds)
        with naming(src.db.index.locations([rel])[0]):
            apply_values(ds, values)
        extra: dict[str, Any] = dict(uids)
        if series_number is not None:
            extra["SeriesNumber"] = series_number
        if instance_number is not None:
            extra["InstanceNumber"] = instance_number
        apply_values(ds, extra)
        meta = getattr(ds, "file_meta", None)
        named = meta.get("MediaStorageSOPClassUID") if meta is not None else None
        if not (ds.get("SOPClassUID") or named):  # which the meta of a Part 10 file names
            raise InvalidFileError(
                f"{src.db.index.locations([rel])[0]} has no (0008,0016) SOP Class UID, which "
                "the file meta of its copy (a Part 10 file) must name; nothing was copied. "
                "Give it one first (instance.SOPClassUID = ...), or copy the file as it is "
                "with export_as_dicom."
            )
        _save(ds, tmp, part10=True, where=src.db.index.locations([rel])[0])

    return writer


def _copy_empty(record: Record, parent: Record, src: Editor, dst: Editor) -> Record:
    """A copy of the empty ``record`` (a new key, the same attributes) under ``parent``."""
    above = None if parent.level == "database" else (parent.level, parent.uid)
    key = src.empty.copy_tree(record.level, record.uid, above, dst.empty, _new_id)
    return parent._db._class_of(record.level)(parent._db, key)


def _copy_numbers(record: Record, parent: Record) -> tuple[int | None, int | None]:
    """The SeriesNumber and InstanceNumber of a copy of ``record`` under ``parent``.

    A series copy gets the next SeriesNumber of ``parent`` (1 in an empty
    one), an instance copy the next InstanceNumber of a ``parent`` with
    files; None where the copy keeps its own.
    """
    series_number: int | None = None
    if record.level == "series" and not is_empty(parent):
        series_number = _next_number(parent._db, parent._rows(), "SeriesNumber")
    elif record.level == "series":
        series_number = 1
    instance_number: int | None = None
    if record.level == "instance" and not is_empty(parent):
        instance_number = _next_number(parent._db, parent._rows(), "InstanceNumber")
    return series_number, instance_number


def _plain_key(value: Any) -> str:
    return "" if value is None or value is DELETE else str(value)


def new_child(record: Record, level: str, attrs: dict[str, Any]) -> Record:
    """A new record of ``level`` below ``record`` (records between made too)."""
    if LEVELS.index(level) <= LEVELS.index(record.level):
        raise DicomError(f"a {level} cannot be made below a {record.level}.")
    if level == "instance":
        parent = record if record.level == "series" else new_child(record, "series", {})
        return new_instance(parent, None, attrs)
    editor = _editor(record)
    editor.begin()
    checked: dict[str, Any] = {}
    for name, value in attrs.items():
        attribute = custom(name)
        if attribute is not None:
            checked[name] = attribute.check(value)
        else:
            number, keyword, vr = resolve_tag(name)
            checked[keyword] = to_dicom(number, value, vr)
    parent = record
    db = record._db
    for lvl in LEVELS[LEVELS.index(record.level) + 1 : LEVELS.index(level) + 1]:
        own = checked if lvl == level else {}
        key_kw = KEYS[lvl]
        key = str(own[key_kw]) if own.get(key_kw) else _new_id(lvl)
        if _exists(db, lvl, key):
            raise InvalidValueError(f"{key_kw} {key!r} is already in the database.")
        attributes = {key_kw: key, **own}
        if lvl == "series" and "SeriesNumber" not in attributes:
            rows = (
                parent._rows()
                if not is_empty(parent) and parent.level != "database"
                else np.array([], int)
            )
            taken = [
                e.attrs.get("SeriesNumber")
                for e in editor.empty.records.values()
                if e.level == "series" and e.parent == (parent.level, parent.uid)
            ]
            numbers = [_next_number(db, rows, "SeriesNumber") - 1] + [
                int(t) for t in taken if t is not None
            ]
            attributes["SeriesNumber"] = max(numbers) + 1
        up = None if parent.level == "database" else (parent.level, parent.uid)
        editor.empty.add(Empty(lvl, key, up, attributes))
        parent = db._class_of(lvl)(db, key)
    return parent


def new_instance(series: Record, dataset: Dataset | None, attrs: dict[str, Any]) -> Record:
    """Write a new instance into ``series``.

    The instance is ``dataset`` (a copy), or an empty image of the series'
    size made from the template of its Modality (see
    :func:`~dbdicom._templates.modality_image`), whose made-up values
    (acquisition, equipment, dates) follow the rules of a frame written
    from an array (see :func:`~dbdicom._dataset.new_file_placeholders`;
    its dates are those of its study, or the StudyDate and StudyTime
    given in ``attrs``). The values of the patient and study are the
    records' (who the patient is, which study), and so are those of a
    series with files; a new series without files gives only what it was
    given: the ``dataset``'s other series values (its equipment,
    PatientPosition, protocol) stay.
    """
    if series.level != "series":
        raise DicomError(f"instances go into a series, not a {series.level}.")
    editor = _editor(series)
    editor.begin()
    values = inherited(series)
    empty = is_empty(series)
    rows = np.array([], int) if empty else series._rows()
    extra: dict[str, Any] = {}
    for name, value in attrs.items():
        if custom(name) is not None:
            extra[name] = custom(name).check(value)  # type: ignore[union-attr]
        else:
            number, keyword, vr = resolve_tag(name)
            extra[keyword] = to_dicom(number, value, vr)
    if dataset is None:
        size = (
            (series.unique("Rows") or [64])[0] if not empty else 64,
            (series.unique("Columns") or [64])[0] if not empty else 64,
        )
        modality = values.get("Modality")
        ds = modality_image(
            modality if isinstance(modality, str) else None, np.zeros(size, np.uint16)
        )
        # the template's made-up values (FlipAngle, a scanner, dates...) as a written
        # frame's: true, empty or left out; a new series' own then say no more
        given = {resolve_tag(name)[0] for name in attrs if custom(name) is None}
        # the dates it is given are its study's (new_instance(StudyDate=...) in an
        # undated study: its ContentDate that date, as the next file's would be)
        when = {**values, **{k: extra[k] for k in _WHEN if k in extra}}
        study = {k: REMOVE if when.get(k) is DELETE else when.get(k) for k in _WHEN}
        own = {
            resolve_tag(k)[0] for k, v in values.items() if v is not DELETE and custom(k) is None
        }
        made = new_file_placeholders(str(ds.SOPClassUID), given, study, list(ds.ImageType), own)
        set_elements(ds, made, None)
        if empty:
            values = {
                k: v for k, v in values.items() if v is not DELETE or resolve_tag(k)[0] not in made
            }
    else:
        ds = copy_dataset(dataset)
        values = series_told(series, values)
    uid = new_uid()
    values = {k: v for k, v in values.items() if not (k == "Modality" and dataset is None)}
    extra = {
        "SOPInstanceUID": uid,
        "InstanceNumber": _next_number(series._db, rows, "InstanceNumber"),
        **extra,
    }
    apply_values(ds, values, new_file=True)
    apply_values(ds, extra, new_file=True)
    if getattr(ds, "file_meta", None) is None or "TransferSyntaxUID" not in ds.file_meta:
        ds.file_meta = file_meta(ds)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(uid)
    file_keys = (str(ds.PatientID), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), uid)
    path = f"{NEW_FOLDER}/{ds.SeriesInstanceUID}/{uid}.dcm"
    editor.create(
        [(path, file_keys, lambda tmp: ds.save_as(tmp, enforce_file_format=True))], "Writing"
    )
    return series._db._class_of("instance")(series._db, uid)
