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
* Arrays of voxel values are indexed (slice, row, column), as the values of
  a DataArray of :meth:`dbdicom.Series.to_xarray`: the reverse of the
  affine's index order.

Resampling (:func:`resample`) puts the values of one grid onto another,
both given by their affines. A voxel of the target grid is *inside* the
source when its centre lies within the source's voxels, i.e. at most half a
voxel beyond the outermost voxel centres along each axis (between the
outermost centres and that edge, the edge value is used); voxels outside
get ``cval`` (0). Source positions within 1e-4 voxel of a voxel centre are
taken as that centre, so that grids which coincide up to rounding (of the
DS values of the headers) copy values exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._errors import install_hint

__all__ = [
    "affine_defect",
    "affine_matrix",
    "axis_codes",
    "direction_letters",
    "image_frame",
    "inside",
    "normal_grid",
    "resample",
    "slice_normal",
    "slice_numbers",
    "slice_position",
    "source_indices",
]

#: voxels: a source position this close to a voxel centre is that centre
SNAP = 1e-4
#: direction cosines whose dot product is under this are perpendicular (as
#: DICOM's validators and readers take them: their headers hold a few decimals)
PERPENDICULAR = 1e-4
#: resampling orders: 0 nearest, 1 linear, 2 quadratic and 3 cubic splines
ORDERS = (0, 1, 2, 3)


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


#: the patient directions of the LPS axes: (toward +, toward -), DICOM's letters
_LETTERS = (("L", "R"), ("P", "A"), ("H", "F"))


def direction_letters(vector: Sequence[float] | np.ndarray, threshold: float = 0.25) -> str:
    """The patient directions an LPS vector points to, as a viewer labels an image edge.

    Letters as in DICOM's PatientOrientation: L/R (left, right), P/A
    (posterior, anterior), H/F (head, feet); one per axis along which the
    unit vector has a component above ``threshold``, strongest first (an
    oblique direction has two or three).

    Examples
    --------
    >>> direction_letters([1, 0, 0]), direction_letters([0, -1, 0]), direction_letters([0, 0.6, -0.8])
    ('L', 'A', 'FP')
    """  # noqa: E501
    v = np.asarray(vector, dtype=float)
    v = v / (np.linalg.norm(v) or 1.0)
    order = np.argsort(-np.abs(v), kind="stable")
    return "".join(_LETTERS[k][0 if v[k] > 0 else 1] for k in order if abs(v[k]) > threshold)


def axis_codes(affine: np.ndarray) -> tuple[str, str, str]:
    """The patient direction toward which the column, row and slice indices grow.

    One letter each (the strongest of :func:`direction_letters`): an axial
    stack is ``("L", "P", "H")``; the letters of nibabel's ``aff2axcodes``
    with DICOM's H/F for superior/inferior.

    Examples
    --------
    >>> axis_codes(affine_matrix([1, 0, 0, 0, 1, 0], [1, 1], [[0, 0, 0], [0, 0, 1]]))
    ('L', 'P', 'H')
    >>> axis_codes(affine_matrix([0, 1, 0, 0, 0, -1], [1, 1], [[0, 0, 0], [-1, 0, 0]]))
    ('P', 'F', 'R')
    """
    a = np.asarray(affine, dtype=float)
    codes = tuple(direction_letters(a[:3, k], threshold=0.0)[:1] for k in range(3))
    return codes[0], codes[1], codes[2]


def slice_position(position: Sequence[float], orientation: Sequence[float]) -> float:
    """ImagePositionPatient projected on the slice normal (mm).

    Examples
    --------
    >>> slice_position([10, 20, 30], [1, 0, 0, 0, 1, 0])
    30.0
    """
    return float(np.dot(np.asarray(position, dtype=float), slice_normal(orientation)))


def slice_spacing(
    positions: Sequence[Sequence[float]], tolerance: float = 0.01
) -> tuple[float, bool]:
    """The step between consecutive slices (mm), and whether it is the same for all.

    ``positions`` are the ImagePositionPatient of the slices in slice-index
    order (LPS mm). The step is the mean step vector's length; the slices
    are evenly spaced when every step vector equals the mean one within
    ``tolerance`` x its length (0.001 mm at least). Only then does one affine
    describe the stack: :func:`affine_matrix` assumes it, and a series whose
    slices are not evenly spaced (a missing slice, a varying gap) gets no
    ``affine``.

    Examples
    --------
    >>> slice_spacing([[0, 0, 0], [0, 0, 2.5], [0, 0, 5.0]])
    (2.5, True)
    >>> slice_spacing([[0, 0, 0], [0, 0, 2.5], [0, 0, 7.5]])  # a slice missing
    (3.75, False)
    """
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    if len(pos) < 2:
        return 0.0, True
    mean = (pos[-1] - pos[0]) / (len(pos) - 1)
    length = float(np.linalg.norm(mean))
    steps = np.diff(pos, axis=0)
    even = bool(np.abs(steps - mean).max() <= max(tolerance * length, 1e-3))
    return round(length, 9), even


def slice_numbers(positions: np.ndarray, orientations: np.ndarray) -> np.ndarray:
    """The slice each frame lies in: 1 to the number of slices, along the normal (LPS).

    ``positions`` (n x 3, LPS mm) and ``orientations`` (n x 6) are those of
    n frames, in any order; frames at one distance along the slice normal
    (row cosines x column cosines, within 0.01 mm) are one slice, numbered
    by increasing distance, as :func:`normal_grid` counts them. All 0 where
    a frame has no position or orientation (NaN), or the orientations
    differ: not known.

    Examples
    --------
    >>> axial = np.tile([1.0, 0, 0, 0, 1, 0], (4, 1))
    >>> slice_numbers(np.array([[0, 0, 10.0], [0, 0, 0], [5, 5, 5], [0, 0, 0.001]]), axial)
    array([3, 1, 2, 1])
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    orientations = np.asarray(orientations, dtype=float).reshape(-1, 6)
    none = np.zeros(len(positions), dtype=np.int64)
    if not len(positions) or np.isnan(positions).any() or np.isnan(orientations).any():
        return none
    if np.abs(orientations - orientations[0]).max() > 1e-4:
        return none
    depth = positions @ slice_normal(orientations[0])
    order = np.argsort(depth, kind="stable")
    step = np.concatenate([[1], (np.diff(depth[order]) > 0.01).astype(np.int64)])
    out = none.copy()
    out[order] = np.cumsum(step)
    return out


def normal_grid(
    positions: np.ndarray, orientations: np.ndarray, tolerance: float = 0.01
) -> tuple[float | None, int]:
    """The step of the grid that slices lie on along their normal, and the number of slices.

    ``positions`` (n x 3, LPS mm) and ``orientations`` (n x 6) are those of
    n frames, in any order; frames at one distance along the normal (within
    0.01 mm) are one slice (the frames of a slice at several times, or
    side by side). The step is that between neighbouring slices, where all
    are evenly spaced (as :func:`slice_spacing` judges: within ``tolerance``
    x the step); None where they are not, where there is one slice, where
    a frame has no position or orientation (NaN), or where the
    orientations differ. The number of slices is 0 where it is not known
    (no position or orientation, or several orientations).

    Examples
    --------
    >>> axial = np.tile([1.0, 0, 0, 0, 1, 0], (3, 1))
    >>> normal_grid(np.array([[0, 0, 10.0], [0, 0, 0], [5, 5, 5]]), axial)  # in any order
    (5.0, 3)
    >>> normal_grid(np.array([[0, 0, 0], [0, 0, 5.0], [0, 0, 15]]), axial)  # one missing
    (None, 3)
    >>> normal_grid(np.array([[0, 0, 0.0]]), axial[:1])  # one slice
    (None, 1)
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    orientations = np.asarray(orientations, dtype=float).reshape(-1, 6)
    if not len(positions) or np.isnan(positions).any() or np.isnan(orientations).any():
        return None, 0
    if np.abs(orientations - orientations[0]).max() > 1e-4:
        return None, 0
    depth = np.sort(positions @ slice_normal(orientations[0]))
    levels = depth[np.concatenate([[True], np.diff(depth) > 0.01])]
    if len(levels) < 2:
        return None, len(levels)
    mean = (levels[-1] - levels[0]) / (len(levels) - 1)
    if np.abs(np.diff(levels) - mean).max() > max(tolerance * mean, 1e-3):
        return None, len(levels)
    return round(float(mean), 6), len(levels)


def affine_defect(affine: np.ndarray, slices: bool = True) -> str | None:
    """What makes ``affine`` describe no DICOM image stack (None: nothing).

    The column and row steps must be finite and of non-zero length, and
    perpendicular (within :data:`PERPENDICULAR` of unit vectors): a DICOM
    image's row and column directions are. With ``slices``, the slice step
    must not lie in their plane; it may be tilted from their normal (a CT
    gantry tilt).

    Examples
    --------
    >>> a = np.diag([1.0, 2.0, 3.0, 1.0])
    >>> affine_defect(a) is None
    True
    >>> a[0, 1] = 0.5  # the row step leans towards the column direction
    >>> affine_defect(a)[:60]
    'its column (1st) and row (2nd) axes are not perpendicular: t'
    >>> b = np.diag([1.0, 2.0, 0.0, 1.0])
    >>> affine_defect(b), affine_defect(b, slices=False)
    ('its slice (3rd) axis is of zero length or lies in the plane of the rows and columns', None)
    """
    a = np.asarray(affine, dtype=float)
    if a.shape != (4, 4) or not np.isfinite(a).all():
        return f"it is not a 4 x 4 matrix of finite numbers: {a.tolist()}"
    col, row, step = a[:3, 0], a[:3, 1], a[:3, 2]
    lengths = [float(np.linalg.norm(v)) for v in (col, row)]
    if min(lengths) <= 0:
        return "its column (1st) or row (2nd) axis is of zero length (a zero pixel size)"
    dot = float(col @ row) / (lengths[0] * lengths[1])
    if abs(dot) > PERPENDICULAR:
        return (
            "its column (1st) and row (2nd) axes are not perpendicular: the cosine of "
            f"the angle between them is {dot:.4g} (a sheared plane), and a DICOM image's "
            "row and column directions are perpendicular"
        )
    normal = np.cross(col, row) / (lengths[0] * lengths[1])
    length = float(np.linalg.norm(step))
    if slices and (length <= 0 or abs(float(step @ normal)) / length < PERPENDICULAR):
        return "its slice (3rd) axis is of zero length or lies in the plane of the rows and columns"
    return None


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

    Notes
    -----
    Direction cosines are unit vectors, but a header stores them as decimal
    strings of a few digits (0.9272 and -0.3746 make a vector of length
    1.0000125): they are scaled to length 1, so that the step between
    neighbouring pixels is PixelSpacing exactly, as the standard defines it
    (and as dcm2niix does). Unscaled, the last pixel of a 512-pixel row can
    be 0.003 mm off.

    Examples
    --------
    >>> a = affine_matrix([1, 0, 0, 0, 1, 0], [0.5, 2.0], [[0, 0, 0], [0, 0, 3]])
    >>> a[:3].tolist()
    [[2.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]]
    >>> tilted = affine_matrix([1, 0, 0, 0, 0.9272, -0.3746], [0.4, 0.4], [[0, 0, 0]])
    >>> round(float(np.linalg.norm(tilted[:3, 1])), 12)  # the row step: PixelSpacing[0]
    0.4
    """
    o = np.asarray(orientation, dtype=float)
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    out = np.eye(4)
    out[:3, 0] = o[:3] / np.linalg.norm(o[:3]) * float(spacing[1])
    out[:3, 1] = o[3:] / np.linalg.norm(o[3:]) * float(spacing[0])
    if len(pos) > 1:
        out[:3, 2] = (pos[-1] - pos[0]) / (len(pos) - 1)
    else:
        out[:3, 2] = slice_normal(o) * (thickness or 1.0)
    out[:3, 3] = pos[0]
    return out


def image_frame(affine: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An affine as a scale and a translation in the image's own frame, and that frame.

    The frame's x axis points along a row (the column index grows: the
    affine's first column, ImageOrientationPatient's row cosines), its y
    axis along a column (the row index grows) and its z axis along the
    slice normal, oriented the way the slice index grows. Its origin is
    the origin of LPS. Then, for an index ``i = (column, row, slice)``::

        point = spacing * i + origin         # in the frame, mm
        LPS   = axes @ point                 # = affine @ [*i, 1]

    so the frame is LPS itself (``axes`` the identity) for an axial stack
    of orientation [1, 0, 0, 0, 1, 0] whose slices go up, and a rotation (or
    reflection) of it otherwise. OME-Zarr 0.5, which has scale and
    translation but no rotation, describes an image in this frame.

    Parameters
    ----------
    affine : numpy.ndarray
        4 x 4, maps (column, row, slice) indices to LPS mm (see module notes).

    Returns
    -------
    spacing : numpy.ndarray
        (3,) mm between neighbours along the column, row and slice index.
        Along the slice index it is the distance between the planes, the
        slice step projected on the normal: a stack whose step is not
        perpendicular to its planes (a CT gantry tilt) is sheared, which a
        scale cannot say; the frame describes it unsheared.
    origin : numpy.ndarray
        (3,) the centre of voxel (0, 0, 0) in the frame, mm.
    axes : numpy.ndarray
        3 x 3; its columns are the frame's x, y, z axes as LPS unit vectors.

    Examples
    --------
    A sagittal stack (rows along P, columns along F, slices along L):

    >>> a = affine_matrix([0, 1, 0, 0, 0, -1], [0.5, 2.0], [[10, 0, 0], [13, 0, 0]])
    >>> spacing, origin, axes = image_frame(a)
    >>> spacing.tolist(), origin.tolist()
    ([2.0, 0.5, 3.0], [0.0, 0.0, 10.0])
    >>> axes.astype(int).tolist()  # x = P, y = F (down), z = L
    [[0, 0, 1], [1, 0, 0], [0, -1, 0]]
    >>> index = np.array([4.0, 2.0, 1.0])
    >>> np.allclose(axes @ (spacing * index + origin), (a @ [*index, 1])[:3])
    True
    """
    a = np.asarray(affine, dtype=float)
    x_step, y_step, z_step = a[:3, 0], a[:3, 1], a[:3, 2]
    x, y = x_step / np.linalg.norm(x_step), y_step / np.linalg.norm(y_step)
    normal = np.cross(x, y)
    normal /= np.linalg.norm(normal)
    along = float(np.dot(z_step, normal))
    z = normal if along >= 0 else -normal
    axes = np.column_stack([x, y, z])
    spacing = np.array([np.linalg.norm(x_step), np.linalg.norm(y_step), abs(along)])
    origin = np.linalg.solve(axes, a[:3, 3]) + 0.0  # no -0.0
    return spacing, origin, axes


def source_indices(
    source_affine: np.ndarray, target_affine: np.ndarray, target_shape: Sequence[int]
) -> np.ndarray:
    """Where the voxel centres of a target grid fall in a source grid.

    Parameters
    ----------
    source_affine, target_affine : numpy.ndarray
        4 x 4 affines of the two grids (see the module notes).
    target_shape : sequence of 3 ints
        Shape of the target grid, (slice, row, column).

    Returns
    -------
    numpy.ndarray
        Shape ``(3, *target_shape)``: the (fractional) source (slice, row,
        column) indices of every target voxel; indices within
        :data:`SNAP` of an integer are that integer.

    Examples
    --------
    A target grid shifted by one column and twice as coarse in-plane:

    >>> source = np.eye(4)
    >>> target = np.diag([2.0, 2.0, 1.0, 1.0]); target[0, 3] = 1.0
    >>> at = source_indices(source, target, (1, 2, 2))
    >>> at[:, 0, 1, 1].tolist()  # (slice, row, column) of target voxel (0, 1, 1)
    [0.0, 2.0, 3.0]
    """
    shape = tuple(int(n) for n in target_shape)
    if len(shape) != 3:
        raise ValueError(f"the target shape must be (slice, row, column); got {shape}")
    to_source = np.linalg.inv(np.asarray(source_affine, dtype=float)) @ np.asarray(
        target_affine, dtype=float
    )
    slices, rows, columns = np.meshgrid(*(np.arange(n, dtype=float) for n in shape), indexing="ij")
    target = np.stack([columns.ravel(), rows.ravel(), slices.ravel()])  # affine index order
    found = to_source[:3, :3] @ target + to_source[:3, 3:4]
    nearest = np.rint(found)
    found = np.where(np.abs(found - nearest) <= SNAP, nearest, found)
    return found[::-1].reshape(3, *shape)  # (slice, row, column)


def inside(indices: np.ndarray, source_shape: Sequence[int]) -> np.ndarray:
    """Which points at ``indices`` (from :func:`source_indices`) lie in the source.

    A point is inside when, along each axis, it is at most half a voxel
    beyond the outermost voxel centres (with a tolerance of :data:`SNAP`).

    Examples
    --------
    >>> inside(np.array([[0.0, 0.0], [0.0, 2.4], [-0.5, -0.6]]), (1, 3, 4)).tolist()
    [True, False]
    """
    out = np.ones(indices.shape[1:], dtype=bool)
    for axis, n in enumerate(source_shape):
        out &= (indices[axis] >= -0.5 - SNAP) & (indices[axis] <= n - 0.5 + SNAP)
    return out


def resample(
    values: np.ndarray,
    source_affine: np.ndarray,
    target_affine: np.ndarray,
    target_shape: Sequence[int],
    *,
    order: int = 1,
    cval: float = 0.0,
    indices: np.ndarray | None = None,
) -> np.ndarray:
    """The values of a source volume at the voxel centres of a target grid.

    Needs scipy (the ``geometry`` extra); the interpolation is
    :func:`scipy.ndimage.map_coordinates`.

    Parameters
    ----------
    values : numpy.ndarray
        The source volume, indexed (slice, row, column); a 2-D array is one
        slice.
    source_affine, target_affine : numpy.ndarray
        4 x 4 affines mapping (column, row, slice) indices to LPS mm.
    target_shape : sequence of 3 ints
        (slice, row, column) shape of the target grid.
    order : int
        0 nearest neighbour, 1 (trilinear, the default), 2 or 3 (spline).
        Interpolation samples the source at each target voxel's centre: it
        does not average over a larger target voxel (except where, as in a
        grid exactly twice as coarse, the centre falls midway between the
        source voxels).
    cval : float
        The value of the target voxels outside the source (see the module
        notes for what is inside).
    indices : numpy.ndarray, optional
        :func:`source_indices` of the two grids, when already computed.

    Returns
    -------
    numpy.ndarray
        ``target_shape``; of the dtype of ``values`` for ``order=0``,
        floating-point otherwise.

    Examples
    --------
    A target grid twice as coarse, its voxel centres midway between the
    source's: each value is the mean of a 2 x 2 x 2 block.

    >>> values = np.arange(2 * 4 * 4, dtype=float).reshape(2, 4, 4)
    >>> target = np.diag([2.0, 2.0, 2.0, 1.0]); target[:3, 3] = 0.5
    >>> resample(values, np.eye(4), target, (1, 2, 2))[0].tolist()
    [[10.5, 12.5], [18.5, 20.5]]
    >>> float(values[:, :2, :2].mean())
    10.5

    Outside the source, 0:

    >>> shifted = np.eye(4); shifted[0, 3] = 3.0  # 3 columns to the right
    >>> resample(values, np.eye(4), shifted, (1, 1, 2), order=0).tolist()
    [[[3.0, 0.0]]]
    """
    try:
        from scipy import ndimage
    except ImportError as exc:
        raise ImportError(f"resampling needs scipy: {install_hint('geometry')}") from exc
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS} (0 nearest, 1 linear...); got {order!r}")
    volume = np.asarray(values)
    if volume.ndim == 2:
        volume = volume[None]
    if volume.ndim != 3:
        raise ValueError(f"values must be (slice, row, column); got shape {volume.shape}")
    at = source_indices(source_affine, target_affine, target_shape) if indices is None else indices
    keep = inside(at, volume.shape)
    if order == 0:
        dtype = volume.dtype if volume.dtype.kind in "biuf" else np.dtype(float)
    else:
        dtype = np.result_type(volume.dtype, np.float32)
    out = np.full(at.shape[1:], cval, dtype=dtype)
    if keep.any():
        # points up to half a voxel beyond the edge take the edge value ("nearest")
        out[keep] = ndimage.map_coordinates(
            volume.astype(dtype, copy=False) if order else volume,
            at[:, keep],
            order=order,
            mode="nearest",
        )
    return out
