"""The records as an :class:`xarray.DataTree`: ``/<patient>/<study>/<series>``.

Node names are the folder names of every export (:func:`dbdicom._export.label`,
made by :func:`dbdicom._export.safe_name` and unique within their parent):
the same header values give the same names in a tree, a Zarr store and an
export folder. Below a database the tree has a node per patient, study and
series; below a patient, a node per study and series; and so on.

A series node holds the series' DataArray (one data variable, named after
its SeriesDescription, as :meth:`dbdicom.Series.to_xarray` names it, or
``pixels``). A series whose frames have several image sizes, orientations or pixel spacings
(a localiser) cannot be one DataArray: its node holds no variable and has a
child node per geometry group, ``1``, ``2``..., largest first, each holding
the DataArray of that group (as :meth:`dbdicom.Series.to_xarrays` gives
them). Two arrays with different ``row`` sizes cannot share one Dataset,
hence the child nodes.

Series that cannot be a DataArray (no image, frames that fit no grid) are
left out of the tree; the root's attrs say which and why (``skipped``), and
which files are not in the hierarchy at all (``problems``, as
``database.problems()`` lists them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _arrays, _export
from .._errors import DicomError, GeometryError, GridError, GroupError
from ._empty import require_files

if TYPE_CHECKING:
    import xarray as xr

    from .._arrays import Chunks

__all__ = ["Place", "Tree", "build_tree", "layout", "open_group", "series_nodes", "tree_of"]

# an arbitrary root for the export layout: paths are taken relative to it
_ROOT = Path("tree")
# the attrs of a node: its own level's identifying tags (None values left out)
_NODE_TAGS = {
    "patient": ("PatientID", "PatientName"),
    "study": ("StudyInstanceUID", "StudyDescription", "StudyDate"),
    "series": ("SeriesInstanceUID", "SeriesDescription", "SeriesNumber", "Modality"),
}
# paths listed in an error at most
_LISTED = 20


@dataclass(frozen=True)
class Place:
    """A series and the path of its node (``/patient/study/series`` below a database)."""

    path: str
    series: Any
    #: the records above the series that have a node of their own, with their paths
    parents: tuple[tuple[str, Any], ...] = ()


@dataclass
class Tree:
    """The nodes of a tree as xarray's ``DataTree.from_dict`` takes them, and what was left out."""

    nodes: dict[str, xr.Dataset] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # path -> why


def layout(record: Any) -> list[Place]:
    """The series below (or at) ``record``, each with its node's path, in the tree's order.

    Reads only header values (the labels): no array is built. Series
    without files (new, not written yet) have no node.
    """
    places = []
    for series, folder in _export.series_folders(record, _ROOT):
        parts = folder.relative_to(_ROOT).parts
        parents = []
        if len(parts) > 1:
            up = [series.patients(), series.studies()][-(len(parts) - 1) :]
            parents = [("/" + "/".join(parts[: k + 1]), rec) for k, rec in enumerate(up)]
        places.append(Place("/" + "/".join(parts), series, tuple(parents)))
    return places


def node_attrs(record: Any) -> dict[str, Any]:
    """The identifying tags of ``record``'s own level, as node attrs (no None)."""
    rows = record._rows()
    out: dict[str, Any] = {}
    for keyword in _NODE_TAGS.get(record.level, ()):
        value = record._db._values(rows[:1], keyword)[0] if len(rows) else None
        if value is not None:
            out[keyword] = value if isinstance(value, int | float) else str(value)
    return out


def _dataset(da: xr.DataArray, attrs: dict[str, Any], lazy: bool) -> xr.Dataset:
    """``da`` as the one data variable of a Dataset with ``attrs``.

    Named as the DataArray (:func:`dbdicom._export.series_name`: no ``/``,
    which a DataTree name cannot hold either); ``pixels`` without a name,
    or when the name is that of a coordinate.
    """
    name = da.name if isinstance(da.name, str) else "pixels"
    name = "pixels" if name in da.coords else name
    if lazy:  # as an xarray backend says what is stored: frames
        da.encoding["preferred_chunks"] = _arrays.preferred_chunks(dict(da.sizes))
    ds = da.to_dataset(name=name)
    ds.attrs.update(attrs)
    return ds


def series_nodes(
    series: Any,
    path: str,
    *,
    dims: Any = None,
    fill: bool = False,
    chunks: Chunks = None,
    shared: bool = False,
) -> Tree:
    """The node of one series at ``path``, and a child per geometry group if it splits.

    Raises the :class:`dbdicom.DicomError` that makes the series no
    DataArray at all (no image; no group fits a grid); a group that fits
    no grid is in ``skipped``. ``shared``: ``chunks`` are those of every
    series of a tree, each taking the dims it has.
    """
    import xarray as xr  # heavy: only when a tree is asked for

    db = series._db
    index = db.index
    rows = series._rows()
    keep = _arrays.has_image(index, rows)
    if not keep.any():
        raise GridError(f"it holds no image: {_arrays.why_no_image(index, rows)}")
    attrs = node_attrs(series)
    if not keep.all():
        attrs["left_out"] = _arrays.why_no_image(index, rows[~keep])
    rows = rows[keep]
    name = _export.series_name(series)
    lazy = chunks is False

    def build(group: tuple[Any, ...] | None) -> xr.DataArray:
        return _arrays.build_dataarray(
            index,
            rows,
            dims,
            fill=fill,
            name=name,
            token=series.uid,
            group=group,
            chunks=chunks,
            shared_chunks=shared,
        )

    tree = Tree()
    try:
        tree.nodes[path] = _dataset(build(None), attrs, lazy)
        return tree
    except GeometryError:
        pass
    groups = _arrays.geometry_groups(_arrays.Frames(index, rows))
    ordered = sorted(groups, key=lambda k: -len(groups[k]))  # as Series.to_xarrays
    tree.nodes[path] = xr.Dataset(attrs={**attrs, "geometry_groups": len(ordered)})
    errors = []
    for k, key in enumerate(ordered, 1):
        about = {"geometry": _arrays.group_text(key, len(groups[key]))}
        child = f"{path.rstrip('/')}/{k}"
        try:
            tree.nodes[child] = _dataset(build(key), about, lazy)
        except GridError as exc:
            tree.skipped[child] = " ".join(str(exc).split())
            errors.append(exc)
    if len(errors) == len(ordered):
        raise GridError(f"none of its {len(ordered)} geometry groups fits a grid: {errors[0]}")
    return tree


def build_tree(record: Any, *, fill: bool = False, chunks: Chunks = None) -> Tree:
    """Every node below ``record`` (see the module docs), the root's included.

    Each series is built as :meth:`dbdicom.Series.to_xarray` builds it
    (``dims`` chosen for it alone); one that cannot be is skipped with the
    reason.
    """
    import xarray as xr  # heavy: only when a tree is asked for

    db = record._db
    if len(record._rows()):
        db._editor.sync(record._rows())
    if record.level == "series":  # the root is the series' node
        require_files(record, "make a tree of")
        tree = series_nodes(record, "/", fill=fill, chunks=chunks)
        tree.nodes["/"].attrs["skipped"] = [f"{p}: {why}" for p, why in tree.skipped.items()]
        return tree
    tree = Tree()
    tree.nodes["/"] = xr.Dataset(attrs=node_attrs(record))
    for place in layout(record):
        try:
            found = series_nodes(place.series, place.path, fill=fill, chunks=chunks, shared=True)
        except DicomError as exc:
            tree.skipped[place.path] = _export.why_skipped(exc, place.series)
            continue
        for parent_path, parent in place.parents:
            if parent_path not in tree.nodes:
                tree.nodes[parent_path] = xr.Dataset(attrs=node_attrs(parent))
        tree.nodes.update(found.nodes)
        tree.skipped.update(found.skipped)
    _check_chunk_dims(tree, chunks)
    root = tree.nodes["/"].attrs
    root["skipped"] = [f"{path}: {why}" for path, why in tree.skipped.items()]
    if record.level == "database":
        found = db.index.problems()
        root["problems"] = [
            f"{p}: {' '.join(str(why).split())}"
            for p, why in zip(found["path"], found["problem"], strict=True)
        ]
    return tree


def _check_chunk_dims(tree: Tree, chunks: Chunks) -> None:
    """Refuse ``chunks`` naming a dim that no series of ``tree`` has (mistyped, most likely).

    Each series takes the sizes of the dims it has (a tree mixes series of
    other dims); a name none has would be ignored without a word.
    """
    if not isinstance(chunks, Mapping):
        return
    have = {str(d) for node in tree.nodes.values() for v in node.data_vars.values() for d in v.dims}
    unknown = sorted(str(d) for d in chunks if str(d) not in have)
    if unknown:
        raise GridError(
            f"chunks name {unknown}, which no series of the tree has as a dim (they have "
            f"{sorted(have - {'row', 'column', 'channel'})}); pixel dims are never split"
        )


def _listed(paths: list[str]) -> str:
    shown = ", ".join(repr(p) for p in paths[:_LISTED])
    return shown + (f" and {len(paths) - _LISTED} more" if len(paths) > _LISTED else "")


def _name(record: Any) -> str:
    if getattr(record, "level", None) == "database":
        return str(record.label())  # a DICOMweb archive's URL, not its cache folder
    return str(getattr(record, "path", None) or record.label())


def _find_places(record: Any, group: str, places: list[Place]) -> tuple[list[Place], int | None]:
    """The series that ``group`` names (a path, a UID or a description), and a group number."""
    wanted = "/" + group.strip("/")
    by_path = {p.path: p for p in places}
    if wanted in by_path:
        return [by_path[wanted]], None
    parent, _, last = wanted.rpartition("/")
    if parent in by_path and last.isdigit():
        return [by_path[parent]], int(last)
    found = [p for p in places if p.series.uid == group]
    if not found:  # its DataArray's name, or its description as it is ("5/5mm")
        found = [p for p in places if _export.series_name(p.series) == group]
        found = found or [p for p in places if _export.series_description(p.series) == group]
    if not found:  # the end of a path: a node's name ("2_T2w"), its study's and its own...
        found = [p for p in places if p.path.endswith(wanted)]
        if not found and last.isdigit() and parent:  # ...and a group's ("2_T2w/1")
            below = [p for p in places if p.path.endswith(parent)]
            if len(below) == 1:
                return below, int(last)
    if not found:
        raise GroupError(
            f"no node, SeriesInstanceUID or SeriesDescription {group!r} in {_name(record)}. "
            f"Give group= one of the series' paths: {_listed([p.path for p in places])} "
            "(see xr.open_datatree(path, engine='dbdicom'))"
        )
    if len(found) > 1:
        raise GroupError(
            f"{len(found)} series match group={group!r} in {_name(record)}: "
            f"{_listed([p.path for p in found])}. Give one of these paths (or its "
            "SeriesInstanceUID) as group="
        )
    return found, None


def open_group(
    record: Any,
    group: str | None,
    *,
    dims: Any = None,
    fill: bool = False,
    chunks: Chunks = False,
) -> xr.Dataset:
    """The Dataset of the node that ``group`` names, below ``record``.

    ``group`` is a path in the tree (``/patient/study/series``, with or
    without the leading ``/``; a patient's or study's path gives its node:
    attrs, no variable), the end of a series' path (its node's name, such as
    ``2_T2w``, as ``xr.open_datatree`` shows it), a SeriesInstanceUID or a
    SeriesDescription that only one series has; None when ``record`` holds
    one series. A series that
    splits by geometry is named with its group: ``<series path>/1``.
    ``dims`` and ``fill`` as in :meth:`dbdicom.Series.to_xarray`.

    Raises
    ------
    GroupError
        ``group`` names nothing, or more than one node (the message lists
        their paths).
    """
    import xarray as xr  # heavy: only when a tree is asked for

    places = layout(record)
    number = None
    if group is None:
        if len(places) != 1:
            raise GroupError(
                f"{_name(record)} holds {len(places)} series: choose one with "
                "group=<path in the tree, SeriesInstanceUID or SeriesDescription>: "
                + _listed([p.path for p in places])
            )
        found = places
    else:
        text = os.fspath(group)
        wanted = "/" + text.strip("/")
        for place in places:  # a patient's or a study's node
            for path, parent in place.parents:
                if path == wanted:
                    return xr.Dataset(attrs=node_attrs(parent))
        found, number = _find_places(record, text, places)
    place = found[0]
    record._db._editor.sync(place.series._rows())
    tree = series_nodes(place.series, place.path, dims=dims, fill=fill, chunks=chunks)
    path = place.path if number is None else f"{place.path}/{number}"
    if path in tree.skipped:
        raise GridError(f"{path}: {tree.skipped[path]}")
    node = tree.nodes.get(path)
    if node is None or (number is None and not node.data_vars):
        children = [p for p in [*tree.nodes, *tree.skipped] if p != place.path]
        raise GroupError(
            f"series {place.series.label()!r} ({place.path}) mixes image sizes, orientations "
            "or pixel spacings: "
            f"its frames are in {len(children)} groups, {_listed(sorted(children))}. Give one "
            "of these paths as group="
        )
    return node


def tree_of(
    record: Any,
    group: str | None,
    *,
    fill: bool = False,
    chunks: Chunks = False,
) -> Tree:
    """The tree below the node that ``group`` names (all of ``record``'s when None).

    ``group`` as for :func:`open_group`: the node becomes the root.
    """
    if group is None:
        return build_tree(record, fill=fill, chunks=chunks)
    import xarray as xr  # heavy: only when a tree is asked for

    text = os.fspath(group)
    wanted = "/" + text.strip("/")
    places = layout(record)
    for place in places:  # a patient's or a study's node
        for path, parent in place.parents:
            if path == wanted:
                return build_tree(parent, fill=fill, chunks=chunks)
    found, number = _find_places(record, text, places)
    series = found[0].series
    if number is None:
        return build_tree(series, fill=fill, chunks=chunks)
    ds = open_group(record, wanted, fill=fill, chunks=chunks)
    return Tree(nodes={"/": xr.Dataset(ds.data_vars, ds.coords, ds.attrs)})
