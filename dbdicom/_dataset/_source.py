"""A source frame of a derived instance: where its header is and what it is."""

from __future__ import annotations

import os

from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage

__all__ = ["Source", "dataset_source"]


class Source:
    """A source frame: where its header is, its SOP class and UIDs, and how it can be read.

    The header is in a file under ``root``, or a pydicom ``dataset``.

    Attributes
    ----------
    raw_offset : int
        > 0: the file is uncompressed Explicit VR Little Endian, single-frame,
        with pixel values starting there: its header can be copied as bytes.
    frame : int or None
        The 1-based number of the frame in a multi-frame source, else None.

    Examples
    --------
    >>> mr = "1.2.840.10008.5.1.4.1.1.4"
    >>> s = Source("/data", "a/IM1.dcm", mr, "1.2.3", "1.2", raw_offset=1024)
    >>> s.path, s.frame
    ('/data/a/IM1.dcm', None)
    """

    __slots__ = (
        "rel",
        "root",
        "sop_class",
        "sop_uid",
        "series_uid",
        "dataset",
        "raw_offset",
        "frame",
    )

    def __init__(
        self,
        root: str,
        rel: str | None,
        sop_class: str,
        sop_uid: str,
        series_uid: str,
        dataset: Dataset | None = None,
        raw_offset: int = 0,
        frame: int | None = None,
    ) -> None:
        self.root, self.rel, self.dataset = root, rel, dataset
        self.sop_class, self.sop_uid, self.series_uid = sop_class, sop_uid, series_uid
        self.raw_offset = raw_offset
        self.frame = frame

    @property
    def path(self) -> str:
        """The source's file (``root/rel``)."""
        return os.path.join(self.root, str(self.rel))


def dataset_source(ds: Dataset) -> Source:
    """A source that is a pydicom dataset (a ``header=`` given as one).

    Examples
    --------
    >>> ds = Dataset(); ds.SOPInstanceUID = "1.2.3"
    >>> s = dataset_source(ds)
    >>> s.sop_uid, s.sop_class == MRImageStorage, s.dataset is ds
    ('1.2.3', True, True)
    """
    return Source(
        "",
        None,
        str(ds.get("SOPClassUID", MRImageStorage)),
        str(ds.get("SOPInstanceUID", "")),
        str(ds.get("SeriesInstanceUID", "")),
        ds,
    )
