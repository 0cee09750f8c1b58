"""UIDs that are not valid UIDs, found in the index rows.

A UID is digits and dots: components of digits, none with a leading zero
(``0`` alone is one), at most 64 characters in all (PS3.5 9.1). Files
with others (``ABCD6.1.4...``, a vendor's ``1.2.840.0010...``) are read as
they are, their UID the key of their record: other programs (PACS, a
DICOMDIR reader, a validator) may refuse them. Each is a row of
:func:`dbdicom._index.find_problems`, with the way out.
"""

from __future__ import annotations

import re

import numpy as np

from .._facade import pandas as pd
from ._columns import tag_label, tag_of

__all__ = ["uid_problems", "uid_problem"]

#: the UIDs of the index, in the order their problems are listed
_UID_COLUMNS = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
    "FrameOfReferenceUID",
)
_COMPONENT = re.compile(r"0|[1-9][0-9]*")
#: a whole valid UID but for its length: components as above, joined by dots
_VALID = r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*"
_MAX_LENGTH = 64


def uid_problem(uid: str) -> str:
    """Why ``uid`` is not a valid UID ("" if it is one).

    Examples
    --------
    >>> uid_problem("1.2.840.10008.1.2.1"), uid_problem("1.2.0.10")  # 0 alone is a component
    ('', '')
    >>> uid_problem("ABCD6.1.4")
    "it has characters other than digits and dots ('ABCD')"
    >>> uid_problem("1.2.03")
    "the component '03' starts with a zero"
    >>> uid_problem("1." * 40 + "1")
    'it is 81 characters long, more than 64'
    """
    others = sorted(set(re.sub(r"[0-9.]", "", uid)), key=uid.index)
    if others:
        return f"it has characters other than digits and dots ({''.join(others)!r})"
    if len(uid) > _MAX_LENGTH:
        return f"it is {len(uid)} characters long, more than {_MAX_LENGTH}"
    for part in uid.split("."):
        if not part:
            return "it has an empty component (two dots together, or a dot at an end)"
        if not _COMPONENT.fullmatch(part):
            return f"the component {part!r} starts with a zero"
    return ""


def uid_problems(frame: pd.DataFrame, ok: np.ndarray) -> list[tuple[str, str]]:
    """``(path, problem)`` of the rows ``ok`` (a boolean mask) with a UID that is not valid.

    Each distinct UID is checked once.

    Examples
    --------
    >>> frame = pd.DataFrame({"_path": ["a.dcm", "b.dcm"],
    ...     "SeriesInstanceUID": ["ABCD6.1.4", "1.2.3"]})
    >>> for path, why in uid_problems(frame, np.array([True, True])):
    ...     print(path, why)
    a.dcm (0020,000E) 'Series Instance UID' 'ABCD6.1.4' is not a valid UID: it has \
characters other than digits and dots ('ABCD'); it is read as it is, but other programs \
may refuse the file: give it a valid UID (pydicom.uid.generate_uid()) before it goes elsewhere
    """
    paths = frame["_path"].to_numpy(dtype=object)
    out: list[tuple[str, str]] = []
    for keyword in _UID_COLUMNS:
        if keyword not in frame:
            continue
        column = frame[keyword]
        values = column.astype(object).where(column.notna(), "").to_numpy(dtype=object)[ok]
        codes, uniques = pd.factorize(values)  # each distinct UID checked once
        distinct = pd.Series(uniques, dtype=object).astype(str)
        valid = distinct.str.fullmatch(_VALID).to_numpy(dtype=bool) & (
            distinct.str.len().to_numpy() <= _MAX_LENGTH
        )
        valid |= distinct.to_numpy(dtype=object) == ""
        if valid.all():
            continue
        label = tag_label(tag_of(keyword) or 0)
        rows = np.flatnonzero(ok)
        bad = ~valid[codes]  # the rows of invalid UIDs, in path order
        said: dict[int, str] = {}
        for row, code in zip(rows[bad], codes[bad], strict=True):
            text = said.get(code)
            if text is None:
                uid = str(uniques[code])
                text = said[code] = (
                    f"{label} {uid!r} is not a valid UID: {uid_problem(uid)}; it is read as "
                    "it is, but other programs may refuse the file: give it a valid UID "
                    "(pydicom.uid.generate_uid()) before it goes elsewhere"
                )
            out.append((paths[row], text))
    return out
