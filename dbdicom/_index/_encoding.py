"""Problems of how a file says it is encoded, found in its index row.

Two kinds, both read without opening a file again:

- **transfer syntax**: a (0002,0010) Transfer Syntax UID that names no
  transfer syntax, or one of compressed pixel data in a file whose pixel
  data are not encapsulated: its pixels cannot be decoded;
- **character set**: a (0008,0005) Specific Character Set that names no
  character set, text whose bytes are not valid in the one it names (read
  with U+FFFD in their place), or text with bytes outside ASCII in a file
  that names none (read as Latin-1): what the user sees is a guess.

Each is a row of :func:`dbdicom._index.find_problems`.
"""

from __future__ import annotations

import numpy as np
from pydicom.charset import python_encoding
from pydicom.uid import UID

from .._facade import pandas as pd
from ._columns import TAGS, tag_label, tag_of, vr_of

__all__ = ["encoding_problems"]

# text VRs decoded with the Specific Character Set
_CHARSET_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
_TEXT_COLUMNS = tuple(k for k in TAGS if vr_of(k) in _CHARSET_VRS)
_CHARSET = "(0008,0005) 'Specific Character Set'"
_SYNTAX = "(0002,0010) 'Transfer Syntax UID'"


def encoding_problems(frame: pd.DataFrame, ok: np.ndarray) -> list[tuple[str, str]]:
    """``(path, problem)`` of the rows ``ok`` (a boolean mask) whose encoding is wrong.

    Examples
    --------
    >>> frame = pd.DataFrame({"_path": ["a.dcm"], "TransferSyntaxUID": ["1.2.3"],
    ...     "_encapsulated": [False], "_nbytes": [-1], "SpecificCharacterSet": [""],
    ...     "PatientName": ["Müller"]})
    >>> for path, why in encoding_problems(frame, np.array([True])):
    ...     print(path, why)
    a.dcm (0002,0010) 'Transfer Syntax UID' '1.2.3' is not a transfer syntax: the data set \
is read as Explicit VR Little Endian, its pixel data cannot be decoded
    a.dcm (0010,0010) "Patient's Name" 'Müller' has bytes outside ASCII, and the file has \
no (0008,0005) 'Specific Character Set': read as Latin-1, perhaps wrongly
    """
    paths = frame["_path"].to_numpy(dtype=object)
    out: list[tuple[str, str]] = []
    for i, why in _syntax_problems(frame, ok):
        out.append((paths[i], why))
    for i, why in _charset_problems(frame, ok):
        out.append((paths[i], why))
    return out


def _column(frame: pd.DataFrame, keyword: str) -> pd.Series:
    """The column as strings, ``""`` where absent (a column of no value when missing)."""
    if keyword not in frame:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[keyword].astype(object).where(frame[keyword].notna(), "").astype(str)


def _syntax_problems(frame: pd.DataFrame, ok: np.ndarray) -> list[tuple[int, str]]:
    syntax = _column(frame, "TransferSyntaxUID").to_numpy(dtype=object)
    native = (~frame["_encapsulated"].to_numpy(dtype=bool)) & (frame["_nbytes"].to_numpy() >= 0)
    out: list[tuple[int, str]] = []
    for ts in pd.unique(syntax[ok]):
        if not ts:
            continue  # no meta group: the reader guessed (see the fallback)
        uid = UID(ts)
        rows = np.flatnonzero(ok & (syntax == ts))
        if not uid.is_transfer_syntax:
            why = (
                f"{_SYNTAX} {ts!r} is not a transfer syntax: the data set is read as "
                "Explicit VR Little Endian, its pixel data cannot be decoded"
            )
            out.extend((int(i), why) for i in rows)
        elif uid.is_compressed:
            why = (
                f"(7FE0,0010) 'Pixel Data' is not encapsulated, as its transfer syntax "
                f"'{uid.name}' ({ts}) requires: the file is damaged or names the wrong "
                "transfer syntax, and its pixels cannot be decoded"
            )
            out.extend((int(i), why) for i in rows if native[i])
    return out


def _charset_problems(frame: pd.DataFrame, ok: np.ndarray) -> list[tuple[int, str]]:
    charset = _column(frame, "SpecificCharacterSet").to_numpy(dtype=object)
    out: list[tuple[int, str]] = []
    for value in pd.unique(charset[ok]):
        unknown = [t.strip() for t in value.split("\\") if t.strip() not in python_encoding]
        if value and unknown:
            why = (
                f"{_CHARSET} {value!r}: {', '.join(repr(t) for t in unknown)} is not a "
                "character set DICOM defines: its text is read as Latin-1, perhaps wrongly"
            )
            out.extend((int(i), why) for i in np.flatnonzero(ok & (charset == value)))
    for keyword in _TEXT_COLUMNS:
        if keyword not in frame:
            continue
        values = _column(frame, keyword).to_numpy(dtype=object)
        label = tag_label(tag_of(keyword) or 0)
        for text in pd.unique(values[ok]):
            if text.isascii():
                continue
            rows = np.flatnonzero(ok & (values == text))
            for i in rows:
                if "\ufffd" in text:
                    why = (
                        f"{label} {text!r} has bytes that are not valid in {_CHARSET} "
                        f"{charset[i]!r}: read with U+FFFD in their place"
                    )
                elif not charset[i]:
                    why = (
                        f"{label} {text!r} has bytes outside ASCII, and the file has no "
                        f"{_CHARSET}: read as Latin-1, perhaps wrongly"
                    )
                else:
                    continue
                out.append((int(i), why))
    return out
