"""Which rows of the index no longer describe their files.

Two questions, both answered without reading a file:

* after a walk (:func:`~dbdicom._index._walk.rewalk` or a full
  :func:`~dbdicom._index._walk.survey`): which rows are of files removed,
  which files are new or changed (:func:`compare`);
* before dbdicom reads some files (their pixels, a tag not in the index):
  which of them changed since indexed (:func:`changed_files`), by one
  ``stat`` each -- how a file rewritten in place, whose folder's time did
  not change, is caught.

The index table is sorted by path, so the rows of a folder are found by
binary search (:func:`rows_in_folders`), not by a pass over every row.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable

import numpy as np

from ._walk import Found, Walk

__all__ = ["changed_files", "compare", "rows_in_folders"]

_LAST = "\U0010ffff"  # sorts after any character of a path


def rows_in_folders(paths: np.ndarray, folders: Collection[str]) -> np.ndarray:
    """Positions of the ``paths`` (sorted) that lie directly in one of ``folders``.

    ``""`` is the root folder. Found by binary search on the sorted paths,
    then the paths in sub-folders left out.

    Examples
    --------
    >>> paths = np.array(["a/b/x", "a/b/y/z", "a/c", "top"], dtype=object)
    >>> rows_in_folders(paths, ["a/b"]).tolist(), rows_in_folders(paths, [""]).tolist()
    ([0], [3])
    >>> rows_in_folders(paths, ["a", "a/b/y"]).tolist()
    [1, 2]
    """
    out: list[np.ndarray] = []
    for folder in folders:
        prefix = folder + "/" if folder else ""
        lo, hi = np.searchsorted(paths, [prefix, prefix + _LAST])
        if lo == hi:
            continue
        n = len(prefix)
        inside = np.fromiter(("/" not in p[n:] for p in paths[lo:hi]), bool, hi - lo)
        out.append(np.flatnonzero(inside) + lo)
    if not out:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(out))


def compare(
    paths: np.ndarray, sizes: np.ndarray, mtimes: np.ndarray, seen: Walk
) -> tuple[np.ndarray, Found]:
    """Which rows still describe their files after the walk ``seen``, and what to read.

    ``paths``, ``sizes``, ``mtimes``: the index columns (paths sorted).
    Rows of the folders ``seen`` did not list are kept as they are. Returns
    a mask of the rows to keep and the files to read: new ones, and those
    whose size or time differs from their row's.

    Examples
    --------
    >>> paths = np.array(["a/x", "a/y", "b/z"], dtype=object)
    >>> seen = Walk({"a/x": (10, 1), "a/w": (5, 1)}, {}, frozenset({"a"}))
    >>> keep, todo = compare(paths, np.array([10, 10, 10]), np.array([1, 1, 1]), seen)
    >>> keep.tolist(), todo  # a/y removed, a/w new, b not listed: kept
    ([True, False, True], {'a/w': (5, 1)})
    """
    found = seen.found
    rows = np.arange(len(paths)) if seen.listed is None else rows_in_folders(paths, seen.listed)
    keep = np.ones(len(paths), dtype=bool)
    if not len(rows):
        return keep, dict(found)
    mine = paths[rows]
    if seen.listed is None and len(found) == len(paths) and list(found) == paths.tolist():
        where = np.arange(len(paths))  # the usual full walk: the same files in the same order
    else:
        position = {p: i for i, p in enumerate(found)}  # (no pandas: a reopen imports none)
        where = np.fromiter((position.get(p, -1) for p in mine), np.int64, len(mine))  # -1: gone
    there = where >= 0
    n = len(found)
    now_sizes = np.fromiter((v[0] for v in found.values()), np.int64, n)
    now_mtimes = np.fromiter((v[1] for v in found.values()), np.int64, n)
    same = there.copy()
    same[there] = (now_sizes[where[there]] == sizes[rows][there]) & (
        now_mtimes[where[there]] == mtimes[rows][there]
    )
    keep[rows] = same
    unchanged = set(mine[same].tolist())
    return keep, {p: v for p, v in found.items() if p not in unchanged}


def changed_files(
    root: str, paths: Iterable[str], sizes: Iterable[int], mtimes: Iterable[int]
) -> dict[str, tuple[int, int]]:
    """The files among ``paths`` whose size or time is not the one given: ``{path: (size, mtime)}``.

    One ``stat`` each (following links, as the walk does for the links it
    reads). Entries that are not files (negative sizes) and files that are
    gone are left out: a walk deals with those.

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> with open(os.path.join(root, "a"), "wb") as f:
    ...     _ = f.write(b"1234")
    >>> st = os.stat(os.path.join(root, "a"))
    >>> changed_files(root, ["a"], [4], [st.st_mtime_ns])
    {}
    >>> list(changed_files(root, ["a", "gone"], [3, 1], [st.st_mtime_ns, 1]))
    ['a']
    """
    out: dict[str, tuple[int, int]] = {}
    for path, size, mtime in zip(paths, sizes, mtimes, strict=True):
        if size < 0:
            continue
        try:
            st = os.stat(os.path.join(root, path))
        except OSError:
            continue
        if st.st_size != size or st.st_mtime_ns != mtime:
            out[path] = (st.st_size, st.st_mtime_ns)
    return out
