"""Setting attributes on records: checked first, then written by the level rule.

A tag is set on the record of its level (a patient's name on the patient,
whichever record it is set through), in the files below it or, for an
empty record, in memory. Tags an enhanced multi-frame file keeps per
frame, in its functional groups, are refused there: written at the top of
the file they would not be what its frames (and arrays) read.
"""

from __future__ import annotations

import reprlib
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.tag import Tag

from .._checks import resolve_tag, to_dicom
from .._dataset import UnkeptBytesError
from .._errors import ElementNotFoundError, InvalidValueError, UnknownAttributeError
from .._files import FORMAT_TAGS
from .._keywords import keyword_for_tag, tag_for_keyword
from ._attributes import KEYS, LEVELS, level_of
from ._edit import DELETE, Editor, first_line, put
from ._structure import _ancestor, _editor, _exists, is_empty

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["Deletes", "set_values"]

_Item = tuple[int, str, str, Any]  # tag number, keyword, VR, value as written


class Deletes:
    """``del record.Keyword``, ``del record[tag]``: the element removed, as values are set.

    By the level rule of :func:`set_values` (``del series.PatientName``
    removes the name from every file of the series' patient), undone by
    ``restore()`` until ``save()``. Only the files that hold the element
    are rewritten; an element that none holds raises
    :class:`~dbdicom.ElementNotFoundError` (an ``AttributeError`` and a
    ``KeyError``), and with a list of tags, one that none holds changes
    nothing. Keys (``PatientID``, the UIDs of studies, series and
    instances) cannot be removed.
    """

    __slots__ = ()

    def __delattr__(self, name: str) -> None:
        if name.startswith("_"):
            object.__delattr__(self, name)
            return
        if tag_for_keyword(name) is None:
            raise UnknownAttributeError(
                f"cannot delete {name!r} of a {type(self).__name__}: it is not a DICOM "
                "keyword (del record.Keyword, or del record[(group, element)])."
            )
        set_values(self, [(name, DELETE)])  # type: ignore[arg-type]

    def __delitem__(self, tag: Any) -> None:
        tags = tag if isinstance(tag, list) else [tag]
        set_values(self, [(t, DELETE) for t in tags])  # type: ignore[arg-type]


def set_values(record: Record, items: Sequence[tuple[Any, Any]]) -> None:
    """Set tags on ``record`` by the level rule: checked first, then written."""
    db = record._db
    editor = _editor(record)
    with editor.changing():  # all the groups, or none if the disk fills up
        checked = _checked(items)
        groups: dict[tuple[str, str], list[_Item]] = {}
        targets: dict[tuple[str, str], Record] = {}
        for item in checked:
            keyword = item[1]
            target = _target(record, keyword, item[3])
            groups.setdefault((target.level, target.uid), []).append(item)
            targets[(target.level, target.uid)] = target
        # the files each group changes, found for all before any is written; the
        # datasets read to find them are written (each file read once)
        read: dict[str, Dataset] = {}
        todo = [
            (targets[w], group, _holding(editor, targets[w], group, read))
            for w, group in groups.items()
        ]
        for target, group, rows in todo:
            if rows is None:
                _set_on_empty(editor, target, group)
            else:
                _set_on_files(editor, record, target, group, rows, read)
    db._changed()


def _checked(items: Sequence[tuple[Any, Any]]) -> list[_Item]:
    """The ``(tag, value)`` items as written: tag resolved, value checked by :func:`to_dicom`.

    A pydicom DataElement is stored as given, unchecked (private tags too).
    """
    checked: list[_Item] = []
    for tag, value in items:
        if isinstance(value, DataElement):  # stored as given, unchecked (private tags too)
            _check_encodable(value)
            name = keyword_for_tag(int(value.tag)) or str(value.tag)  # (6002,0010): no keyword
            checked.append((int(value.tag), name, value.VR, value))
            continue
        if value is DELETE and not isinstance(tag, str):  # no VR needed: a private tag too
            number, vr = int(Tag(tag)), "UN"
            keyword = keyword_for_tag(number) or f"({number >> 16:04X},{number & 0xFFFF:04X})"
        else:
            number, keyword, vr = resolve_tag(tag)
        if value is DELETE:
            if keyword in KEYS.values() or keyword == "SOPClassUID":
                raise InvalidValueError(
                    f"{keyword} cannot be removed: it places the record in the database. "
                    "Give it another value, or remove the record itself (record.remove())."
                )
            checked.append((number, keyword, vr, DELETE))
            continue
        checked.append((number, keyword, vr, to_dicom(number, value, vr)))
    return checked


def _set_on_empty(editor: Editor, target: Record, group: list[_Item]) -> None:
    """Set ``group`` on an empty record (no files: its attributes are kept in memory)."""
    empty = editor.empty.get(target.level, target.uid)
    assert empty is not None
    for _number, keyword, _, value in group:
        if keyword == KEYS.get(target.level):
            editor.empty.rekey(target.level, target.uid, str(value))
            object.__setattr__(target, "_key", str(value))
        if value is DELETE:
            empty.attrs.pop(keyword, None)
        else:
            empty.attrs[keyword] = value


def _set_on_files(
    editor: Editor,
    record: Record,
    target: Record,
    group: list[_Item],
    rows: np.ndarray,
    read: dict[str, Dataset],
) -> None:
    """Write ``group`` into the files of ``target`` (``record`` or one above it) at ``rows``.

    ``read``: datasets read already (see :func:`_holding`), taken out as written.
    """
    _refuse_per_frame(target, rows, group)

    def fn(ds: Dataset) -> None:
        for number, _, vr, value in group:
            if isinstance(value, DataElement):
                _check_creator(ds, number)
            put(ds, number, vr, value)
        for number, _, _, value in group:  # once all are removed: a block may go whole
            if value is DELETE:
                _check_orphans(ds, number)

    describing = any(k in _DESCRIBING for _, k, _, _ in group)
    before = target._db.index.array("_image", rows) if describing else None
    editor.change(rows, fn, [k for _, k, _, _ in group], read)
    if before is not None:
        _warn_unreadable(target, rows, before)
    for _, keyword, _, value in group:
        if keyword == KEYS.get(target.level):
            object.__setattr__(target, "_key", str(value))
            if target is not record and target == record:
                object.__setattr__(record, "_key", str(value))


def _holding(
    editor: Editor, target: Record, group: list[_Item], read: dict[str, Dataset]
) -> np.ndarray | None:
    """The rows of ``target`` whose files ``group`` changes; None for an empty record.

    Every row when ``group`` sets a value; when it only removes elements,
    those that hold one (read from the headers: an element with an empty
    value is held, an absent one is not), so that no other file is written.
    The datasets of the files to be written are kept in ``read`` (their
    pixel data read when written, up to :data:`_KEPT` files), for the
    rewrite: each file is read once.

    Raises
    ------
    dbdicom.ElementNotFoundError
        An element to remove is in no file of ``target``: nothing changed.
    """
    removed = [(n, k) for n, k, _, v in group if v is DELETE]
    if is_empty(target):  # its attributes in memory
        empty = editor.empty.get(target.level, target.uid)
        absent = [(n, k) for n, k in removed if empty is None or k not in empty.attrs]
        if absent:
            raise _not_found(target, absent, "the new record has no value of")
        return None
    rows = target._rows()
    if not removed:
        return rows
    held = np.zeros((len(rows), len(removed)), dtype=bool)
    mixed = len(removed) < len(group)  # values set too: every file is written
    local = editor.archive is None and not editor.db.index.remote  # files of the folder
    for i, rel in enumerate(editor.rels(rows)):
        defer = local and rel not in editor.memory and len(read) < _KEPT
        ds = read.get(rel)
        ds = editor.dataset(rel, pixels=defer, defer=defer) if ds is None else ds
        held[i] = [number in ds for number, _ in removed]
        if defer and (mixed or held[i].any()):
            read[rel] = ds
    absent = [item for j, item in enumerate(removed) if not held[:, j].any()]
    if absent:
        raise _not_found(target, absent, "no file of it holds")
    return rows if len(removed) < len(group) else rows[held.any(axis=1)]


#: at most this many datasets read to find the files to change are kept for their rewrite
_KEPT = 2000


def _not_found(target: Record, absent: list[tuple[int, str]], why: str) -> ElementNotFoundError:
    """The error of removing the elements ``absent`` (tag, keyword) that ``target`` lacks."""
    tags = [f"({n >> 16:04X},{n & 0xFFFF:04X})" for n, _ in absent]
    names = ", ".join(t if k == t else f"{k} {t}" for t, (_, k) in zip(tags, absent, strict=True))
    return ElementNotFoundError(
        f"cannot remove {names} from {target.level} {target.label()!r}: {why} "
        f"{'it' if len(absent) == 1 else 'them'}, and nothing was changed. Where an element "
        "may be missing, catch KeyError (or AttributeError) and go on."
    )


def _check_creator(ds: Dataset, tag: int) -> None:
    """Refuse a private element whose block has no Private Creator in ``ds``.

    (gggg,xxyy) of an odd group belongs to the creator (gggg,00xx): without
    it, readers cannot tell whose the element is, and the file does not
    conform.
    """
    group, element = tag >> 16, tag & 0xFFFF
    if group % 2 and element >= 0x1000 and (group << 16 | element >> 8) not in ds:
        # a file that cannot take it: the change is undone whole, and names the file
        raise UnkeptBytesError(
            f"the private element ({group:04X},{element:04X}) has no Private Creator "
            f"({group:04X},00{element >> 8:02X}) in the file: readers could not tell whose "
            f"it is. Set the creator first (record[(0x{group:04X}, 0x00{element >> 8:02X})] "
            "= DataElement(..., 'LO', 'YOUR NAME')), or take a block with pydicom's "
            "Dataset.private_block."
        )


def _check_encodable(elem: DataElement) -> None:
    """Refuse a DataElement whose value pydicom cannot write under its VR (an int as DA).

    Checked once, before any file is read: found when the file is written,
    it stopped pydicom's writer, and the error was the file's.
    """
    if " or " in str(elem.VR):  # "US or SS": written as the file's encoding allows
        return
    fp = DicomBytesIO()  # (Implicit VR: the value's bytes, no length an encoding limits)
    fp.is_little_endian, fp.is_implicit_VR = True, True
    try:  # (in UTF-8, which the file is switched to for text it cannot encode)
        write_data_element(fp, elem, ["utf_8"])
        return
    except (ValueError, TypeError, AttributeError, OverflowError, OSError, struct.error) as exc:
        why = first_line(exc)
    raise InvalidValueError(
        f"The DataElement ({elem.tag.group:04X},{elem.tag.element:04X}) of VR {elem.VR} "
        f"cannot be written with the value {reprlib.repr(elem.value)} ({why}): give it "
        "a value of that VR, or the VR of its value; nothing was changed."
    )


def _check_orphans(ds: Dataset, tag: int) -> None:
    """Refuse a Private Creator removed from ``ds`` while elements of its block stay.

    Left without it, they would be elements no reader can tell the owner
    of: what :func:`_check_creator` refuses for a new one.
    """
    group, element = tag >> 16, tag & 0xFFFF
    if not (group % 2 and 0x10 <= element <= 0xFF):
        return
    left = [t for t in ds.keys() if t.group == group and t.element >> 8 == element]
    if left:
        labels = ", ".join(f"({t.group:04X},{t.element:04X})" for t in left[:3])
        more = f" and {len(left) - 3} more" if len(left) > 3 else ""
        raise UnkeptBytesError(
            f"removing the Private Creator ({group:04X},{element:04X}) would leave "
            f"{len(left)} element(s) of its block in the file ({labels}{more}), owned by no "
            "one: readers could not tell whose they are. Remove them in the same call, "
            f"del record[[(0x{group:04X}, 0x{element:04X}), ...their tags]], or keep the "
            "creator."
        )


#: the tags that describe the pixel data: set to other values, the data no longer fit them
_DESCRIBING = frozenset(
    {keyword_for_tag(tag) for tag in FORMAT_TAGS} | {"HighBit", "NumberOfFrames"}
)


def _warn_unreadable(target: Record, rows: Any, before: Any) -> None:
    """Warn where setting tags that describe the pixels made images unreadable."""
    after = target._db.index.array("_image", rows)
    broken = [k for k in range(len(rows)) if not before[k] and after[k]]
    if broken:
        target._warn(
            f"{len(broken)} file(s) of {target.label()!r} now describe images their pixel "
            f"data do not hold ({after[broken[0]]}): their images cannot be read. "
            "restore() undoes the change; to change the images themselves, write an array "
            "(series.new_sibling().set_xarray(da))."
        )


def _refuse_per_frame(target: Record, rows: Any, group: list[_Item]) -> None:
    """Refuse tags that enhanced files among ``rows`` keep per frame, in their functional groups.

    Written at the top of such a file, a tag is not what its frames say:
    its arrays, the index and its exports would disagree.
    """
    index = target._db.index
    frames = index.frames
    if not len(frames):
        return
    paths = index.array("_path", rows)
    mine = frames[frames["_path"].isin([str(p) for p in paths])]
    if not len(mine):
        return
    for _, keyword, _, _ in group:
        columns = [c for c in mine.columns if c == keyword or c.startswith(f"{keyword}[")]
        if any(mine[c].notna().any() for c in columns):
            files = mine["_path"].nunique()
            raise InvalidValueError(
                f"{keyword} is kept per frame in {files} enhanced multi-frame file(s) of "
                f"{target.label()!r}, in their functional groups, which dbdicom does not edit: "
                "set at the top of the file it would not be what the frames (and their "
                "arrays) say. Write a derived series with the new value instead: "
                f"series.new_sibling().set_xarray(da.assign_attrs({keyword}=...))."
            )


def _target(record: Record, keyword: str, value: Any) -> Record:
    """Which record an attribute is set on (the level rule)."""
    for level, key in KEYS.items():
        if keyword != key:
            continue
        if record.level != level:
            up = {"patient": "patients", "study": "studies", "series": "series"}.get(level)
            hint = (
                f"; to change the {level}'s {keyword}, set it on the {level}: "
                f"{record.level}.{up}().{keyword} = ..."
                if up and LEVELS.index(record.level) > LEVELS.index(level)
                else ""
            )
            raise InvalidValueError(
                f"{keyword} is the key of a {level}: it can only be set on a {level}, not on "
                f"{'an' if record.level == 'instance' else 'a'} {record.level}. To put a "
                "record under another parent use "
                f"record.move_to(parent){hint}."
            )
        value = str(value)
        if value != record.uid and _exists(record._db, level, value):
            raise InvalidValueError(
                f"{keyword} {value!r} is already the key of another {level} of the database: "
                f"two {level}s cannot share it. To merge them, move the records below one "
                "into the other (move_to)."
            )
        return record
    level = level_of(keyword)
    if LEVELS.index(level) < LEVELS.index(record.level):
        return _ancestor(record, level)
    return record
