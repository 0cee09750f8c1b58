"""Tags the index does not hold, read from the files when first asked, and kept as columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import FileGoneError, StorageError
from .._facade import pandas as pd
from .._files import (
    WHOLE_TEXT_VRS,
    Header,
    NotDicomError,
    creators_of,
    one_value,
    private_entry,
)
from ._cells import dict_vr, tag_number
from ._columns import TAGS, VECTORS, to_plain
from ._files import Files
from ._held import HeldTable
from ._scan import WARNINGS_SEPARATOR, one_of_several, warning_lines
from ._store import UNREAD

__all__ = ["OnDemand"]


class OnDemand(HeldTable, Files):
    """The values of any tag in rows of the index: its columns, else read from the files.

    A tag read on demand becomes a column (:data:`UNREAD` in the rows not
    read yet), kept with the index. What it needs of the index:
    :meth:`check` (files changed since indexed are read again) and
    :meth:`_touch` (rows whose partitions are saved next time).
    """

    _dirty: bool

    def check(self, rows: np.ndarray) -> bool:
        """Read again the files of ``rows`` changed since indexed (see the Index's)."""
        raise NotImplementedError

    def _touch(self, paths: Any) -> None:
        """Note that the rows of ``paths`` changed (see the Index's)."""
        raise NotImplementedError

    def set_file_columns(self, rows: np.ndarray, values: Mapping[str, Any]) -> None:
        """Set dbdicom's own columns of the files at ``rows`` (see the Index's)."""
        raise NotImplementedError

    def values(self, rows: np.ndarray, keyword: str) -> list[Any]:
        """The value of ``keyword`` in each row, reading files only where needed.

        A tag that is not a column yet is read from the files of ``rows`` only,
        and kept (as a column) for the next time (:meth:`read_on_demand`).
        Sequences are not kept: they are read with pydicom each time.
        """
        if keyword in VECTORS:
            block = np.stack(
                [self.frame[f"{keyword}[{i}]"].to_numpy()[rows] for i in range(VECTORS[keyword])],
                axis=1,
            )
            return [None if np.isnan(b).all() else tuple(float(x) for x in b) for b in block]
        if not self._on_demand(keyword):
            return [to_plain(v, keyword) for v in self.array(keyword, rows)]
        tag = tag_number(keyword)
        if dict_vr(tag) == "SQ":
            return [self._read_sequence(str(self.frame["_path"].iat[int(r)]), tag) for r in rows]
        col = self._read_missing(rows, {keyword: tag})[keyword]
        return [to_plain(col[int(r)], keyword) for r in rows]

    def _on_demand(self, keyword: str) -> bool:
        """Whether ``keyword`` is a tag read from the files when asked (not an index column)."""
        if keyword in VECTORS or keyword in TAGS:
            return False
        held = self._frame.columns if self._frame is not None else self.names
        return keyword not in held or keyword in self.extra_columns()

    def read_on_demand(self, rows: np.ndarray, keywords: Sequence[str]) -> None:
        """Read the tags ``keywords`` not yet read in ``rows``: each file once for all of them.

        Each becomes a column kept for the next time (UNREAD in the other
        rows). Index columns and sequences (read each time) are left out.
        Files to be read are checked first (:meth:`check`): one that changed
        since indexed is read again whole. A file that is no DICOM (any more)
        gives None; one gone raises :class:`FileGoneError`.
        """
        tags = {}
        for keyword in dict.fromkeys(keywords):
            if self._on_demand(keyword) and dict_vr(tag_number(keyword)) != "SQ":
                tags[keyword] = tag_number(keyword)  # a new column: added once read (put_column)
        self._read_missing(rows, tags)

    def _read_missing(self, rows: np.ndarray, tags: Mapping[str, int]) -> dict[str, np.ndarray]:
        """:meth:`read_on_demand` of ``tags`` (keyword: number), which are read on demand.

        Returns each column's values (all rows) as read.
        """
        cols = {k: self._column(k) for k in tags}
        todo = self._unread(rows, cols)
        if todo and self.check(np.array(todo)):  # rows read again: positions kept
            cols = {k: self._column(k) for k in tags}
            todo = self._unread(rows, cols)
        if not todo:
            return cols
        cols = {k: col.copy() for k, col in cols.items()}
        changed: set[str] = set()
        said: dict[int, list[str]] = {}
        for r in todo:
            missing = [k for k in tags if cols[k][r] is UNREAD]
            if not missing:  # a row given twice: read already
                continue
            changed.update(missing)
            values, lines = self._tags_of(
                str(self.frame["_path"].iat[r]), {k: tags[k] for k in missing}
            )
            for k in missing:
                cols[k][r] = values.get(tags[k])
            if lines:
                said[r] = lines
        for k in changed:
            self.put_column(k, pd.Series(cols[k], dtype=object, index=self.frame.index))
        self._touch(self.array("_path", np.array(todo)))
        self._dirty = True
        if said:
            self._warn(said)
        return cols

    def _warn(self, said: Mapping[int, list[str]]) -> None:
        """Add to the ``_warning`` of each row of ``said`` its lines (those not there yet).

        What a tag read on demand holds that the index keeps otherwise (a
        text of several values where its VM is 1) is said where the scan
        says it of an index column: ``problems()`` lists it.
        """
        rows = np.fromiter(said, dtype=np.int64, count=len(said))
        old = self.array("_warning", rows)
        new = []
        for before, lines in zip(old, said.values(), strict=True):
            kept = str(before).split(WARNINGS_SEPARATOR) if before else []
            new.append(WARNINGS_SEPARATOR.join([*kept, *(x for x in lines if x not in kept)]))
        self.set_file_columns(rows, {"_warning": np.array(new, dtype=object)})

    def _tags_of(self, path: str, tags: Mapping[str, int]) -> tuple[dict[int, Any], list[str]]:
        r"""The values of ``tags`` (keyword: number) in the file ``path``, and what to say.

        Kept as the scan keeps an index column's: a tag of one value (VM 1)
        holding several is its text as stored (``"A\B"``), or None for
        numbers, dates and times; the lines for the row's ``_warning`` say
        so, and which values could not be decoded (an IS of ``"1A"``). A
        file that is no DICOM (any more) gives no value.
        """
        wanted = {t: dict_vr(t) for t in tags.values()}
        creators = creators_of(wanted)  # of private tags: read too, for their VR and VM
        try:
            header = self._read_tags(path, {**wanted, **dict.fromkeys(creators.values(), "LO")})
        except StorageError:  # the store did not give it: no value to keep
            raise
        except FileNotFoundError as exc:  # not "no value" (trial I: it read None)
            raise FileGoneError(
                f"{exc.filename or path}: {', '.join(tags)} cannot be read: the file is gone "
                "since it was indexed (removed or renamed by another program). "
                "database.refresh() takes the change in (or reopen the folder); then ask again."
            ) from exc
        except (NotDicomError, EOFError, OSError):
            return {}, []
        return _kept(header, wanted, creators), warning_lines(header, wanted)

    def _unread(self, rows: np.ndarray, cols: Mapping[str, np.ndarray]) -> list[int]:
        """The positions among ``rows`` where one of the columns ``cols`` is not read yet."""
        if not cols:
            return []
        rows = np.asarray(rows, dtype=np.int64)
        unread = np.zeros(len(rows), dtype=bool)
        for col in cols.values():
            taken = col[rows]
            unread |= np.fromiter((v is UNREAD for v in taken), dtype=bool, count=len(taken))
        return [int(r) for r in rows[unread]]

    def _column(self, keyword: str) -> np.ndarray:
        """The values of the on-demand column ``keyword`` (all :data:`UNREAD` before it is one)."""
        if keyword not in self.frame.columns:
            return np.full(len(self.frame), UNREAD, dtype=object)
        return self.frame[keyword].to_numpy(dtype=object)

    def value(self, row: int, keyword: str) -> Any:
        return self.values(np.array([row]), keyword)[0]


def _kept(header: Header, wanted: Mapping[int, str], creators: Mapping[int, int]) -> dict[int, Any]:
    """The values of the tags ``wanted`` (number: VR) read in ``header``, as the index keeps them.

    A tag of one value holding several: see :func:`~._scan.one_of_several`;
    a private one's VR and VM are those pydicom's private dictionary gives
    it in the block of its creator (``creators``: its creator's tag), if any.
    That VM is a guess a vendor's files may contradict (GE's (0043,xx1B),
    VM 1 there, holds five numbers): such a private element of several
    numbers keeps them, where the rule would read none; of text, the text
    as stored (no value lost).
    """
    values = header.values
    out = {}
    for tag, vr in wanted.items():
        value = values.get(tag)
        if isinstance(value, tuple):
            entry = private_entry(tag, values.get(creators[tag])) if tag in creators else None
            if entry is not None:
                vr = entry[0].split(" or ")[0]
            if one_value(tag) if entry is None else (entry[1] == "1" and vr in WHOLE_TEXT_VRS):
                value = one_of_several(tag, vr, value, header)
        out[tag] = value
    return out
