"""Geometry of image planes and volumes, in DICOM patient coordinates.

Conventions (used by every function here):

* Patient coordinates are LPS millimetres: x to the patient's Left, y to
  the Posterior, z to the Superior (head).
* A pixel is indexed (row, column) as in numpy; ``ImageOrientationPatient``
  holds the direction cosines of a row (the direction in which the column
  index grows) then of a column (the direction in which the row index
  grows); ``PixelSpacing`` is (spacing between rows, spacing between
  columns).
* The affine is a 4 x 4 matrix that maps (column, row, slice) indices — in
  that order, like NIfTI's (i, j, k) — to LPS millimetres:
  ``[x, y, z, 1] = affine @ [column, row, slice, 1]``.
* The slice normal is row cosines x column cosines; a slice's location is
  its ImagePositionPatient projected on the normal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["affine_matrix", "slice_normal", "slice_position"]


def slice_normal(orientation: Sequence[float] | np.ndarray) -> np.ndarray:
    """The unit normal (row cosines x column cosines) of a plane.

    Examples
    --------
    >>> slice_normal([1, 0, 0, 0, 1, 0]).tolist()
    [0.0, 0.0, 1.0]
    """
    o = np.asarray(orientation, dtype=float)
    n = np.cross(o[:3], o[3:])
    return n / np.linalg.norm(n)


def slice_position(position: Sequence[float], orientation: Sequence[float]) -> float:
    """ImagePositionPatient projected on the slice normal (mm).

    Examples
    --------
    >>> slice_position([10, 20, 30], [1, 0, 0, 0, 1, 0])
    30.0
    """
    return float(np.dot(np.asarray(position, dtype=float), slice_normal(orientation)))


def affine_matrix(
    orientation: Sequence[float],
    spacing: Sequence[float],
    positions: Sequence[Sequence[float]],
    thickness: float | None = None,
) -> np.ndarray:
    """The affine of a stack of parallel slices.

    Parameters
    ----------
    orientation : sequence of 6 floats
        ImageOrientationPatient (row then column direction cosines).
    spacing : sequence of 2 floats
        PixelSpacing (between rows, between columns), mm.
    positions : sequence of 3-vectors
        ImagePositionPatient of each slice, in slice-index order.
    thickness : float, optional
        Slice step to use when there is a single slice (SliceThickness);
        1 mm if not given.

    Returns
    -------
    numpy.ndarray
        4 x 4; maps (column, row, slice) indices to LPS mm (see module notes).

    Examples
    --------
    >>> a = affine_matrix([1, 0, 0, 0, 1, 0], [0.5, 2.0], [[0, 0, 0], [0, 0, 3]])
    >>> a[:3].tolist()
    [[2.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]]
    """
    o = np.asarray(orientation, dtype=float)
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    out = np.eye(4)
    out[:3, 0] = o[:3] * float(spacing[1])
    out[:3, 1] = o[3:] * float(spacing[0])
    if len(pos) > 1:
        out[:3, 2] = (pos[-1] - pos[0]) / (len(pos) - 1)
    else:
        out[:3, 2] = slice_normal(o) * (thickness or 1.0)
    out[:3, 3] = pos[0]
    return out
