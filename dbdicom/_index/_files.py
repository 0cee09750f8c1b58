"""Where the files of an index are, for what reads them: a local folder.

:class:`Files` is what the index of a folder answers when asked for the
bytes of one of its files (by its path relative to the folder); the index
of a remote store (:class:`~dbdicom._index._remote.RemoteIndex`) answers the
same questions with objects read by range. Everything that reads a file of a
database asks here, so that both kinds of database share every reader.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import _web
from .._files import Header, read_any_header
from ._cells import read_sequence

__all__ = ["Files"]


class Files:
    """The files of a database folder ``root``, each named by its path relative to it.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> files = Files()
    >>> files.root = Path(get_testdata_file("CT_small.dcm")).parent
    >>> files.locations(["CT_small.dcm"])[0] == get_testdata_file("CT_small.dcm")
    True
    >>> with files.local_file("CT_small.dcm") as path:
    ...     os.path.basename(path)
    'CT_small.dcm'
    """

    root: Path
    #: True for the objects of a remote store (see _remote.RemoteIndex)
    remote = False
    #: for a folder of the headers of a DICOMweb archive: its server (see
    #: dbdicom._records._web), whose instances hold the pixels; else None
    archive: Any = None
    #: for an archive's database opened with filters: those filters (keyword -> value), which
    #: say the instances it holds (see dbdicom._records._web); None: all
    archive_query: dict[str, Any] | None = None
    #: what rows read (again) need besides the files' values: for an archive's headers,
    #: the pixel data its server holds (see ``dbdicom._records._web``); None: nothing
    after_rows: Any = None

    @property
    def name(self) -> str:
        """The database as the user named it: its folder (a URL for a remote store)."""
        return str(self.root)

    def locations(self, rels: Sequence[str]) -> np.ndarray:
        """Where the bytes of each file are, for the frame readers: an object array of paths.

        For a folder of the headers of a DICOMweb archive (``self.archive``,
        its :class:`~dbdicom._web.Server`), the URL of each instance on the
        server, carrying the server (see :class:`~dbdicom._web.WebPath`).
        """
        if self.archive is not None:
            folders = [rel.rsplit("/", 1)[0] for rel in rels]  # one a series
            sizes = Counter(rel.rsplit("/", 1)[0] for rel in set(rels))  # instances a series
            for folder in sizes:  # the server has more: none of its reads is the series'
                if _web.held_in_part(self.root / folder):
                    sizes[folder] = 0
            # where the instances of a series read whole are kept, if the user asked
            root = str(self.root) if getattr(self.archive, "keep_pixels", False) else ""
            return np.array(
                [
                    _web.WebPath.of(self.archive, rel, sizes[folder], root)
                    for rel, folder in zip(rels, folders, strict=True)
                ],
                dtype=object,
            )
        root = str(self.root)
        return np.array([root + os.sep + rel for rel in rels], dtype=object)

    def read_only(self) -> str:
        """What the database is and how the user can change it: the message of a refusal.

        The folder's own, where it cannot be written; a store's in ``_remote``.
        """
        return (
            f"{self.name} is read-only: dbdicom can read it but not change it. To work "
            "on it, copy it to a folder you can write (database.export_as_dicom(folder)) "
            "and open that one."
        )

    def take_out(self, rels: Sequence[str]) -> str:
        """How the user takes one of the files ``rels`` (copies of one instance) out: advice.

        A sentence for a message, without its last full stop; a read-only
        store or a zip says what is possible there (see ``_remote``).

        Examples
        --------
        >>> Files().take_out(["a/1.dcm", "b/1.dcm"])
        'Take one copy out of the folder (or instance.remove() it, undone by database.restore()) and call database.refresh()'
        """  # noqa: E501
        if self.archive is not None:
            return (
                "The archive holds them both: delete one with its own tools (Orthanc: its "
                "REST API or Explorer), then call database.refresh(full=True)"
            )
        return (
            "Take one copy out of the folder (or instance.remove() it, undone by "
            "database.restore()) and call database.refresh()"
        )

    def urls(self, rels: Sequence[str]) -> list[str]:
        """Where each file is, for the user: :meth:`locations` as text."""
        return [str(where) for where in self.locations(rels)]

    def materialise(self, rels: Sequence[str]) -> None:
        """Make the files ``rels`` local files of the folder before they change: they are."""

    def copy_out(self, rel: str, target: Path, stat: bool = False) -> None:
        """Copy the file ``rel``, byte for byte, to ``target`` (a local path).

        ``stat``: its modification time and permission bits too (``shutil.copy2``).
        """
        (shutil.copy2 if stat else shutil.copyfile)(self.root / rel, target)

    @contextlib.contextmanager
    def local_file(self, rel: str) -> Iterator[str]:
        """A local path of the file ``rel`` while the ``with`` block runs (the file itself)."""
        yield str(self.root / rel)

    def _read_tags(self, rel: str, wanted: Mapping[int, str]) -> Header:
        """Tags not in the index, read from the file ``rel``."""
        return read_any_header(str(self.root / rel), wanted)

    def _read_sequence(self, rel: str, tag: int) -> Any:
        """The sequence ``tag`` of the file ``rel``; None where pydicom cannot read it."""
        return read_sequence(str(self.root / rel), tag)

    def _media_root(self) -> contextlib.AbstractContextManager[str]:
        """A folder where the DICOMDIRs of the index are at their paths."""
        return contextlib.nullcontext(str(self.root))
