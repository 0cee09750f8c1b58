"""``table()``, ``to_arrow()`` and ``to_datatree()``: a record's files as others see them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import DicomError
from ._table import arrow_table, instance_table
from ._tree import build_tree

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import xarray as xr

    from .._arrays import Chunks

__all__ = ["Views"]


class Views:
    """The methods of :class:`Record` that give its files as a table or a tree."""

    __slots__ = ()

    def table(self, columns: Sequence[str] | None = None, *, frames: bool = False) -> pd.DataFrame:
        """The index of the record's instances as a :class:`pandas.DataFrame`.

        One row per instance, in the order of the tree (as :meth:`print`
        lists them); a column per tag of the index, named by its DICOM
        keyword, then dbdicom's own columns in lower case: ``patient_uid``,
        ``study_uid``, ``series_uid``, ``instance_uid`` (the records' ``uid``),
        ``path`` (absolute), ``size``, ``mtime``, ``pixel_offset``,
        ``pixel_nbytes``, ``compressed``, ``warning``. Files that are not
        instances (not DICOM, unreadable...) are in :meth:`Database.problems`,
        not here. Nothing is read from the files, except tags named in
        ``columns`` that the index does not hold.

        Types: integer VRs ``Int64``, decimal VRs ``float64``, dates
        ``datetime64``, times ``timedelta64`` since midnight, several values
        a tuple (``ImagePositionPatient``, ``ImageType``...), other text
        ``str``; ``<NA>``/``NaN``/``NaT``/``None`` where a file has no value
        (see :mod:`dbdicom._records._table`).

        Parameters
        ----------
        columns : list of str, optional
            The columns wanted, in this order: DICOM keywords (also of tags
            the index does not hold: read once from the files) and own
            column names. By default all the tags of the index and all own
            columns.
        frames : bool
            One row per frame rather than per instance (multi-frame files:
            a row each), with a ``frame`` column (0-based number in the
            file; ``<NA>`` for an instance without an image, which keeps one
            row). A frame's own values (the functional groups of enhanced
            files: its position, echo time...) replace its file's.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> t = database.table()
        >>> len(t), t["SeriesDescription"].value_counts()["VFA"]
        (48, np.int64(24))
        >>> t.loc[0, "PatientName"], t.loc[0, "Rows"], t.loc[0, "StudyDate"]
        ('Phantom^Alpha', np.int64(64), Timestamp('2024-01-15 00:00:00'))
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> vfa.table(["FlipAngle", "ImagePositionPatient", "path"]).shape
        (24, 3)
        >>> str(t["FlipAngle"].dtype), str(t["InstanceNumber"].dtype)
        ('float64', 'Int64')
        """
        return instance_table(self, columns, frames)

    def to_arrow(self, columns: Sequence[str] | None = None, *, frames: bool = False) -> pa.Table:
        """:meth:`table` as a :class:`pyarrow.Table`, e.g. to query with DuckDB.

        The same columns and values; tuples are lists (``list<double>`` for
        positions, orientations and spacings, ``list<string>`` for
        multi-valued text), times durations, dates timestamps.

        Examples
        --------
        >>> t = database.to_arrow(["SeriesDescription", "ImagePositionPatient"])
        >>> t.num_rows, str(t.schema.field("ImagePositionPatient").type)
        (48, 'list<item: double>')
        """
        return arrow_table(self, columns, frames)

    def to_datatree(self, *, fill: bool = False, chunks: Chunks = None) -> xr.DataTree:
        """The record's series as an :class:`xarray.DataTree` of lazy DataArrays.

        Groups ``/<patient>/<study>/<series>`` below the database (below a
        patient ``/<study>/<series>``, and so on), named as the folders of
        every export (readable, file-name-safe, unique within their parent).
        A series node holds the series' DataArray as
        :meth:`Series.to_xarray` gives it, one data variable named after the
        SeriesDescription (``pixels`` without one); a series that mixes image
        sizes, orientations or pixel spacings has a child node per group instead, ``1``,
        ``2``..., largest first (:meth:`Series.to_xarrays`). Nodes' attrs
        hold their level's identifying tags (``PatientID``,
        ``StudyInstanceUID``, ``SeriesInstanceUID``...).

        Nothing is decoded until values are computed. Series that cannot be
        a DataArray (no image, frames that fit no grid) are left out; the
        root's attrs say which and why (``skipped``) and, for a database,
        which files are not in the hierarchy (``problems``).

        Parameters
        ----------
        fill : bool
            As for :meth:`Series.to_xarray`: grid points without a frame are
            NaN rather than a reason to leave the series out.
        chunks : dict, int, str or bool, optional
            As for :meth:`Series.to_xarray` (``"auto"``: dask chooses; ``False``: lazily indexed,
            without dask).

        Examples
        --------
        >>> tree = database.to_datatree()
        >>> list(tree.children)
        ['Phantom_Alpha_DEMO-001', 'Phantom_Beta_DEMO-002']
        >>> study = tree["Phantom_Alpha_DEMO-001/MR_phantom_T1_mapping_20240115"]
        >>> list(study.children), list(study["1_localiser"].children)
        (['1_localiser', '2_T2w', '3_VFA'], ['1', '2', '3'])
        >>> vfa = tree["Phantom_Alpha_DEMO-001/MR_phantom_T1_mapping_20240115/3_VFA"]
        >>> vfa.attrs["SeriesDescription"], vfa["VFA"].dims
        ('VFA', ('SliceLocation', 'FlipAngle', 'row', 'column'))
        """
        record: Any = self
        if record.level == "instance":
            raise DicomError(
                f"{record!r} is one instance, not a tree: take the tree of its series "
                "(instance.series().to_datatree())"
            )
        import xarray as xr  # heavy: only when a tree is asked for

        return xr.DataTree.from_dict(build_tree(record, fill=fill, chunks=chunks).nodes)
