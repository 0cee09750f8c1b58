r"""Matching index values against what a query asks for.

A filter ``keyword=wanted`` is parsed once into a :class:`Query` (checked
against the tag's VR), then matched against a whole column of the index in
one vectorised pass. What ``wanted`` can be:

* a value: equality (numbers within 1e-9, text exactly);
* a **list**: any of its items. For a tag that can hold several values
  (VM > 1: ``ImageOrientationPatient``, ``ImageType``...) a list of plain
  values is one multi-valued value, as a tuple is; a list of tuples is any
  of them;
* a **tuple**: one multi-valued value (an error for a tag of VM 1), except
  ``(start, end)`` for a date or time, a range;
* text with ``*`` (any characters) or ``?`` (one character), for the text
  VRs AE, CS, LO, LT, PN, SH, ST, UC, UT: a wildcard (DICOM PS3.4
  C.2.2.2.4); a person name matches on its text (``"Family^Given"``);
* ``"start-end"``, ``"start-"`` or ``"-end"`` for a DA, TM or DT tag: a
  range (PS3.4 C.2.2.2.5), ends included; ``datetime.date``, ``time`` and
  ``datetime`` objects are taken too. A date or time without its trailing
  parts is the whole of that period (``"1030"`` is 10:30:00 to 10:30:59);
* ``None``: the files that do not have the tag;
* a function of the value returning True (called once per file).

A value of the wrong type for the VR (``Rows="abc"``) raises
:class:`~dbdicom._errors.InvalidValueError` naming the tag and the VR.
"""

from __future__ import annotations

import functools
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.datadict import dictionary_VM
from pydicom.valuerep import PersonName

from .._checks import to_dicom
from .._errors import InvalidValueError
from .._facade import pandas as pd
from .._keywords import tag_for_keyword
from ._columns import JOINED, NUMERIC_VRS, VECTORS, vr_of
from ._perframe import frame_values_by_file

if TYPE_CHECKING:
    from ._index import Index

__all__ = ["Query", "match_values", "parse_query", "select_rows"]

WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"})
TIME_VRS = frozenset({"DA", "TM", "DT"})
_TEXT_VRS = WILDCARD_VRS | {"UI", "UR", "AS"}
_SEQUENCE = (list, tuple, np.ndarray)


@functools.lru_cache(maxsize=1024)
def _several(keyword: str) -> bool:
    """Whether the tag can hold several values (its VM is not 1)."""
    tag = tag_for_keyword(keyword)
    return tag is not None and str(dictionary_VM(tag)) != "1"


@dataclass
class Query:
    """What one filter asks for: a value matches when it meets any alternative.

    Built by :func:`parse_query`; ``equal`` holds plain values (``float``,
    ``str``, tuples of those, ``None`` for absent), ``patterns`` regular
    expressions (from wildcards), ``ranges`` normalised ``(start, end)``
    texts (``""`` for an open end), ``test`` a user's function.
    """

    keyword: str
    equal: list[Any] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    ranges: list[tuple[str, str]] = field(default_factory=list)
    test: Callable[[Any], Any] | None = None

    def match(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Which ``values`` (plain values, one per file) meet the query."""
        if self.test is not None:
            test = self.test
            return np.array([bool(test(v)) for v in values], dtype=bool)
        if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
            return self._numbers(values.astype(float))
        cells = list(values)
        multi = np.array([isinstance(v, tuple) and len(v) != 1 for v in cells], dtype=bool)
        if multi.any():  # tags read on demand with several values: one by one
            out = np.zeros(len(cells), dtype=bool)
            out[multi] = [self._tuple(v) for v, m in zip(cells, multi, strict=True) if m]
            out[~multi] = self.match([v for v, m in zip(cells, multi, strict=True) if not m])
            return out
        cells = [v[0] if isinstance(v, tuple) else v for v in cells]
        if vr_of(self.keyword) in NUMERIC_VRS:
            try:
                return self._numbers(np.array([np.nan if v is None else v for v in cells], float))
            except (TypeError, ValueError):  # numbers stored as text in a broken file
                pass
        return self.match_texts(np.array([None if v is None else str(v) for v in cells], object))

    def match_joined(self, texts: np.ndarray | pd.Series) -> np.ndarray:
        r"""Like :meth:`match`, for multi-valued text stored joined (``"A\\B"``)."""
        equal = ["\\".join(str(x) for x in w) if isinstance(w, tuple) else w for w in self.equal]
        return self.match_texts(texts, equal)

    def match_block(self, block: np.ndarray) -> np.ndarray:
        """Like :meth:`match`, for a vector tag stored as one float column per item."""
        out = np.zeros(len(block), dtype=bool)
        for wanted in self.equal:
            if wanted is None:
                out |= np.isnan(block).all(axis=1)
            elif isinstance(wanted, tuple) and len(wanted) == block.shape[1]:
                target = np.array(wanted, dtype=float)
                out |= np.isclose(block, target, rtol=0, atol=1e-9).all(axis=1)
        return out

    def _numbers(self, column: np.ndarray) -> np.ndarray:
        out = np.zeros(len(column), dtype=bool)
        for wanted in self.equal:
            if wanted is None:
                out |= np.isnan(column)
            elif isinstance(wanted, float):
                out |= np.isclose(column, wanted, rtol=0, atol=1e-9)
        return out

    def match_texts(
        self, column: np.ndarray | pd.Series, equal: list[Any] | None = None
    ) -> np.ndarray:
        """Like :meth:`match`, for an object array of ``str`` (``None`` or ``""`` if absent).

        Or a :class:`pandas.Series` of text, matched as it is (Arrow strings
        are not made Python objects).
        """
        equal = self.equal if equal is None else equal
        if isinstance(column, pd.Series):
            series = column.astype("string").reset_index(drop=True)
        else:
            series = pd.Series(column, dtype="string")
        series = series.mask((series == "").fillna(False))  # an empty value is no value
        out = np.zeros(len(series), dtype=bool)
        if None in equal:
            out |= series.isna().to_numpy(dtype=bool)
        texts = [w for w in equal if isinstance(w, str)]
        if texts:
            out |= series.isin(texts).fillna(False).to_numpy(dtype=bool)
        if self.patterns:
            regex = re.compile("|".join(f"(?:{p})" for p in self.patterns), re.DOTALL)
            out |= series.str.fullmatch(regex).fillna(False).to_numpy(dtype=bool)
        for start, end in self.ranges:
            out |= _in_range(series, start, end)
        return out

    def _tuple(self, value: tuple[Any, ...]) -> bool:
        return any(isinstance(w, tuple) and _same(value, w) for w in self.equal)


def _in_range(series: pd.Series, start: str, end: str) -> np.ndarray:
    """Which dates or times of ``series`` are from ``start`` to ``end`` (the whole period)."""
    text = series.str.replace(":", "", regex=False).str.strip()
    inside = text.notna()
    if start:
        inside &= text >= start
    if end:
        inside &= text.str.slice(0, len(end)) <= end
    return inside.fillna(False).to_numpy(dtype=bool)


def _same(value: tuple[Any, ...], wanted: tuple[Any, ...]) -> bool:
    if len(value) != len(wanted):
        return False
    for a, b in zip(value, wanted, strict=True):
        if isinstance(b, float) and isinstance(a, int | float):
            if abs(float(a) - b) > 1e-9:
                return False
        elif str(a) != str(b):
            return False
    return True


def parse_query(keyword: str, wanted: Any) -> Query:
    """The :class:`Query` of the filter ``keyword=wanted``, checked against the tag's VR.

    Examples
    --------
    >>> parse_query("SeriesDescription", ["T1", "ax*"]).equal
    ['T1']
    >>> parse_query("StudyDate", "20200101-").ranges
    [('20200101', '')]
    >>> parse_query("Rows", "abc")
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: Rows (0028,0010) has VR US (unsigned short) and cannot hold 'abc': expected an integer from 0 to 65535.
    """  # noqa: E501
    query = Query(keyword)
    if callable(wanted):
        query.test = wanted
        return query
    if isinstance(wanted, np.ndarray):
        wanted = tuple(wanted.tolist())
    several = _several(keyword)
    if isinstance(wanted, list) and several and wanted:
        if not any(isinstance(w, _SEQUENCE) for w in wanted):
            wanted = tuple(wanted)  # one multi-valued value
    for item in wanted if isinstance(wanted, list) else [wanted]:
        _add(query, item, several)
    return query


def _add(query: Query, item: Any, several: bool) -> None:
    keyword = query.keyword
    vr = vr_of(keyword)
    if isinstance(item, np.ndarray | list):
        item = tuple(item.tolist() if isinstance(item, np.ndarray) else item)
    if isinstance(item, tuple) and len(item) == 1:
        item = item[0]
    if item is None:
        query.equal.append(None)
    elif vr in TIME_VRS:
        query.ranges.append(_time_range(keyword, item, several))
    elif isinstance(item, tuple):
        query.equal.append(_values(keyword, item, several))
    elif keyword in VECTORS:
        raise InvalidValueError(
            f"{keyword} (VR {vr}) holds {VECTORS[keyword]} values, so {item!r} cannot match "
            "it: give them all as a tuple."
        )
    elif vr in NUMERIC_VRS:
        query.equal.append(_number(keyword, item))
    elif vr in _TEXT_VRS:
        text = _text(keyword, item)
        if vr in WILDCARD_VRS and ("*" in text or "?" in text):
            query.patterns.append(_regex(text))
        else:
            query.equal.append(text)
    else:
        query.equal.append(item)


def _values(keyword: str, item: tuple[Any, ...], several: bool) -> tuple[Any, ...]:
    if not several:
        raise InvalidValueError(
            f"{keyword} (VR {vr_of(keyword)}) holds one value (its VM is 1), so the tuple "
            f"{item!r} cannot match it: for any of several values, give a list, e.g. "
            f"{keyword}={list(item)!r}."
        )
    vr = vr_of(keyword)
    if vr in NUMERIC_VRS:
        return tuple(_number(keyword, x) for x in item)
    if vr in _TEXT_VRS:
        return tuple(_text(keyword, x) for x in item)
    return item


def _number(keyword: str, item: Any) -> float | None:
    if isinstance(item, numbers.Real) and not isinstance(item, bool):
        return float(item)
    value = to_dicom(keyword, item)  # raises, naming the tag and the VR
    return None if value is None else float(value)


def _text(keyword: str, item: Any) -> str:
    if isinstance(item, str | PersonName):
        return str(item)
    to_dicom(keyword, item)  # raises, naming the tag and the VR
    return str(item)


def _regex(text: str) -> str:
    """The regular expression of a DICOM wildcard: ``*`` any characters, ``?`` one."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


def _bound(keyword: str, item: Any) -> str:
    """One end of a date or time range, as the text stored in files ('' when open)."""
    if item is None or (isinstance(item, str) and not item.strip()):
        return ""
    value = to_dicom(keyword, item)  # raises, naming the tag and the VR
    return str(value).replace(":", "").strip()


def _time_range(keyword: str, item: Any, several: bool) -> tuple[str, str]:
    if isinstance(item, tuple) and len(item) == 2 and not several:
        return _bound(keyword, item[0]), _bound(keyword, item[1])
    if not isinstance(item, str) or "-" not in item.strip()[1:]:
        if isinstance(item, str) and item.strip().startswith("-"):
            return "", _bound(keyword, item.strip()[1:])
        value = _bound(keyword, item)
        return value, value
    try:
        value = _bound(keyword, item)  # an ISO date or a time zone, not a range
        return value, value
    except InvalidValueError as error:
        refused = error
    for i, c in enumerate(item):
        if c == "-":
            try:
                return _bound(keyword, item[:i]), _bound(keyword, item[i + 1 :])
            except InvalidValueError:
                continue
    raise refused


def match_values(values: Sequence[Any], wanted: Any, keyword: str | None = None) -> np.ndarray:
    """Which ``values`` meet ``wanted``, a filter on the tag ``keyword`` (see the module).

    Without a ``keyword`` (custom attributes, which have no VR): equality,
    a list for any of its items, or a function.
    """
    if keyword is not None:
        return parse_query(keyword, wanted).match(values)
    if callable(wanted):
        fn: Callable[[Any], Any] = wanted
        return np.array([bool(fn(v)) for v in values], dtype=bool)
    items = wanted if isinstance(wanted, list) else [wanted]
    return np.array([any(_equal(v, w) for w in items) for v in values], dtype=bool)


def _equal(value: Any, wanted: Any) -> bool:
    if value is None:
        return wanted is None
    if isinstance(wanted, tuple) and isinstance(value, tuple):
        return len(value) == len(wanted) and all(
            _equal(a, b) for a, b in zip(value, wanted, strict=True)
        )
    if isinstance(wanted, int | float) and isinstance(value, int | float):
        return bool(np.isclose(float(value), float(wanted), rtol=0, atol=1e-9))
    return bool(value == wanted) if not isinstance(value, pd.DataFrame) else False


def select_rows(index: Index, rows: np.ndarray, query: Query) -> np.ndarray:
    """Which of the index ``rows`` meet ``query``, a column at a time.

    An enhanced file without a value of its own that its frames hold
    (FlipAngle, EchoTime and positions live in functional groups) meets the
    query when one of its frames does.
    """
    fits = _select(index, rows, query)
    if not index.frames_hold(query.keyword):  # (no per-frame table made for nothing)
        return fits
    by_file = frame_values_by_file(index.frames, query.keyword)
    if not by_file or not len(rows):
        return fits
    paths = index.array("_path", rows)
    with_frames = np.flatnonzero([p in by_file for p in paths])
    if not len(with_frames):
        return fits
    own = index.values(rows[with_frames], query.keyword)
    for k, value in zip(with_frames, own, strict=True):
        found = by_file[paths[k]]  # the frames' values count where the file has none
        if value is None and found:
            hits = (
                query.match_block(np.array(found, dtype=float))
                if query.keyword in VECTORS
                else query.match(found)
            )
            fits[k] = bool(hits.any())
    return fits


def _select(index: Index, rows: np.ndarray, query: Query) -> np.ndarray:
    """:func:`select_rows` of the files' own values.

    No Python loop over the rows: a category column is matched by its
    categories, then each row by its code; an exact text (a UID) is looked
    up in a hash table of the column (:class:`~dbdicom._index._order.Lookup`);
    other text and numbers in one vectorised pass. Tags not in the index yet
    are read from the files of ``rows`` (once); a function is called per file.
    """
    keyword = query.keyword
    if not len(rows):
        return np.zeros(0, dtype=bool)
    if query.test is not None:
        return query.match(index.values(rows, keyword))
    if keyword in VECTORS:
        columns = [index.array(f"{keyword}[{i}]", rows) for i in range(VECTORS[keyword])]
        return query.match_block(np.stack(columns, axis=1).astype(float))
    texts = [w for w in query.equal if isinstance(w, str) and w]
    exact = bool(texts) and len(texts) == len(query.equal) and not query.patterns
    exact = exact and not query.ranges
    held = index.codes(keyword)  # a category column of the Arrow table a reopen holds
    if held is not None and exact and keyword not in JOINED:  # no pandas frame made for it
        want = set(texts)
        wanted = [i for i, word in enumerate(held[0].tolist()) if word in want]
        return np.isin(held[1][rows], wanted)
    frame = index.frame
    column = index.column(keyword) if keyword in frame.columns else None
    if column is None or column.dtype == object:  # a tag read on demand
        return query.match(index.values(rows, keyword))
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = np.asarray(column.array.codes)[rows]
        if exact and keyword not in JOINED:  # looked up in the categories (a hash table)
            wanted = column.cat.categories.get_indexer(texts)
            return np.isin(codes, wanted[wanted >= 0])
        words = np.array([*column.cat.categories.to_numpy(dtype=object), None], dtype=object)
        fits = query.match_joined(words) if keyword in JOINED else query.match_texts(words)
        return fits[codes]  # code -1 (no value): the None
    if column.dtype.kind in "fiub":
        return query.match(index.array(keyword, rows))
    if exact:
        found = np.zeros(len(frame), dtype=bool)  # exact values only: looked up
        found[index.lookup(keyword).rows(texts)] = True
        return found[rows]
    values = pd.Series(column.array.take(rows))
    return query.match_joined(values) if keyword in JOINED else query.match_texts(values)
