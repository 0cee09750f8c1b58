"""Edits of the tags that describe the pixel data, checked against the data before any write.

A file's Rows, Columns, Bits Allocated, Samples per Pixel and Number of
Frames fix how many bytes its native pixel data hold: set to other values,
the header describes an image the file does not hold (and a reader that
trusts it reads a wrong one). Such an edit is refused before any file
changes, naming the file, the tag and the way out (write new pixels with
``set_array``/``set_xarray``), unless the new values fit the bytes the
file holds: a header that did not fit its data can still be mended.
Compressed (encapsulated) pixel data cannot be checked that way without
decoding every frame: a change of those tags is refused there.

The other tags of the description (Bits Stored, Pixel Representation,
Photometric Interpretation, Planar Configuration, High Bit) do not change
the length: an edit is refused only where it makes an image that could be
read unreadable (a Pixel Representation of 2, a Photometric Interpretation
whose Samples per Pixel the file does not have).

Everything is judged on the values the index holds
(:func:`~dbdicom._files.image_problem`): no file is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement

from .._errors import InvalidValueError
from .._files import FORMAT_TAGS, image_problem
from .._index import keyword_of
from ._edit import DELETE, plain

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["DESCRIBING", "LENGTH", "refuse_unfitting"]

#: the tags that describe the pixel data: set to other values, the data may no longer fit them
DESCRIBING = frozenset({keyword_of(tag) for tag in FORMAT_TAGS} | {"HighBit", "NumberOfFrames"})

#: the tags that fix the length of native pixel data
LENGTH = frozenset({"Rows", "Columns", "BitsAllocated", "SamplesPerPixel", "NumberOfFrames"})

#: what :func:`~dbdicom._files.image_problem` judges: index columns and tags
_COLUMNS = ("_nbytes", "_encapsulated", "_float_bits", "_size")
_TAGS = (
    *sorted(DESCRIBING - {"HighBit"}),
    "TransferSyntaxUID",
)


def refuse_unfitting(
    target: Record, rows: np.ndarray, group: list[tuple[int, str, str, Any]]
) -> None:
    """Refuse setting ``group`` on the files at ``rows`` where their pixel data would not fit.

    ``group``: (tag, keyword, VR, value) items, as :func:`~._set.set_values`
    writes them (:data:`~._edit.DELETE` removes an element).

    Raises
    ------
    dbdicom.InvalidValueError
        Naming the first such file, the tags, why and the way out; nothing
        was written.

    Examples
    --------
    >>> vfa = database.series(SeriesDescription="VFA")[0]  # 64 x 64 pixels a file
    >>> try:
    ...     vfa.Rows = 32
    ... except db.InvalidValueError as error:
    ...     print(str(error).split(" in ")[0])
    cannot set (0028,0010) Rows = 32
    >>> vfa.set_values(Rows=32, Columns=128)  # the same bytes: fits
    >>> vfa.Rows, database.restore()
    ([32], 24)
    """
    new = {k: _value(v) for _, k, _, v in group if k in DESCRIBING}
    if not new or not len(rows):
        return
    index = target._db.index
    found: dict[str, Any] = {k: index.values(rows, k) for k in _TAGS}
    found.update({c: index.array(c, rows) for c in _COLUMNS})
    refused: list[tuple[int, list[str], dict[str, Any], str]] = []
    for i in range(len(rows)):
        before = {k: found[k][i] for k in found}
        changed = sorted(k for k, v in new.items() if v != before.get(k))
        if not changed or _no_pixels(before):
            continue
        after = {**before, **{k: new[k] for k in changed}}
        length = [k for k in changed if k in LENGTH]
        if length and bool(before["_encapsulated"]):
            why = (
                "its pixel data are compressed (transfer syntax "
                f"{before['TransferSyntaxUID']}), and a new value cannot be checked against "
                "compressed frames without decoding them all, so dbdicom does not change it"
            )
        else:
            problem = image_problem(after)[0]
            if not problem:
                continue  # fits: a change that keeps the image, or one that mends it
            if not length and image_problem(before)[0]:
                continue  # unreadable before: a tag that fixes no length, mended one by one
            why = f"the image could no longer be read as described: {problem}"
        refused.append((int(rows[i]), changed, after, why))
    if refused:
        raise InvalidValueError(_message(target, refused, len(rows)))


def _value(value: Any) -> Any:
    """A value of ``group`` as the index holds it (None for one removed)."""
    if value is DELETE:
        return None
    return plain(value.value if isinstance(value, DataElement) else value)


def _no_pixels(values: dict[str, Any]) -> bool:
    """A file without pixel data (a report, raw data): no description to fit."""
    return int(values["_nbytes"]) < 0 and not values["_encapsulated"] and not values["_float_bits"]


def _message(
    target: Record, refused: list[tuple[int, list[str], dict[str, Any], str]], files: int
) -> str:
    """What :func:`refuse_unfitting` says: the first file refused, why, and the way out."""
    row, changed, after, why = refused[0]
    index = target._db.index
    where = index.locations([str(index.array("_path", np.array([row]))[0])])[0]
    tags = ", ".join(f"{_label(k)} = {after[k]!r}" for k in changed)
    more = f"and {len(refused) - 1} more " if len(refused) > 1 else ""
    of = f" ({more}of the {files} files of {target.level} {target.label()!r})" if files > 1 else ""
    mend = (
        " To mend a header that does not fit its pixel data, give the values that fit "
        "them, all in one call (record.set_values(Rows=..., Columns=...))."
        if any(k in LENGTH for k in changed) and "compressed" not in why
        else ""
    )
    return (
        f"cannot set {tags} in {where}{of}: {why}. Nothing was changed. To write other "
        "pixels, write an array (series.set_array(array), or series.new_sibling()."
        f"set_xarray(da)): the headers written fit them.{mend}"
    )


def _label(keyword: str) -> str:
    tag = tag_for_keyword(keyword) or 0
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {keyword}"
