"""The ``.bval`` and ``.bvec`` files of a diffusion series' NIfTI file, in FSL's convention.

An array with b-values (a ``DiffusionBValue`` dim or coordinate, s/mm²)
gets, beside its NIfTI file, as dcm2niix writes them:

* ``<name>.bval``: one line, the b-value of each volume, in the order of
  the file's fourth axis;
* ``<name>.bvec``: three lines, x, y and z of each volume's gradient
  direction, a unit vector in the axes of the NIfTI file's voxels (i, j,
  k), not in the patient's: the direction in patient LPS
  (``DiffusionGradientOrientation[0..2]``) is projected on the unit
  vectors of the voxel axes (the columns of the affine); where the
  affine's determinant is positive (a "neurological" voxel order) the x
  component changes sign, since FSL reads its voxels as if in
  radiological order. A volume of b=0, or without a direction (an
  isotropic "trace" image), has 0 0 0.

Values that cannot be trusted (a volume whose slices disagree on its
b-value, a b-value missing at some volumes) raise
:class:`~dbdicom.DiffusionError`, with no file written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DiffusionError
from ._layout import written

__all__ = ["Gradients", "fsl_vectors", "gradients_of", "write_gradients"]

B_VALUE = "DiffusionBValue"
DIRECTION = "DiffusionGradientOrientation"
_PIXELS = ("row", "column", "channel")


@dataclass
class Gradients:
    """The b-value and the LPS direction (NaN: none) of each volume of a NIfTI file."""

    b_values: np.ndarray
    directions: np.ndarray

    def undirected(self) -> list[int]:
        """The volumes with b > 0 and no direction (written 0 0 0)."""
        return np.flatnonzero((self.b_values > 0) & np.isnan(self.directions).any(axis=1)).tolist()


def _per_volume(da: Any, name: str, order: list[str], volumes: int) -> np.ndarray | None:
    """A coordinate's value at each volume (None without it); raises where slices disagree."""
    coord = da.coords.get(name)
    if coord is None:
        return None
    missing = {d: da.sizes[d] for d in order if d not in coord.dims}
    full = np.asarray(coord.expand_dims(missing).transpose(*order).values, dtype=float)
    each = full.reshape(volumes, -1)
    first = each[:, :1]
    same = np.isclose(each, first, rtol=0, atol=1e-4) | (np.isnan(each) & np.isnan(first))
    if not same.all():
        volume = int(np.flatnonzero(~same.all(axis=1))[0])
        raise DiffusionError(
            f"the slices of volume {volume} have different {name} "
            f"({sorted({float(v) for v in each[volume]})}): no one value for the .bval/.bvec. "
            f"Put {name} on the dims of the volumes only (e.g. da.isel(...) one volume)."
        )
    return each[:, 0]


def gradients_of(da: Any) -> Gradients | None:
    """The b-value and direction of each volume of ``da``'s NIfTI file (None: no b-value).

    The volumes are in the order of the file's fourth axis: every tag dim
    but ``SliceLocation``, in order, the last fastest.
    """
    if B_VALUE not in da.coords:
        return None
    tags = [d for d in da.dims if d not in _PIXELS]
    others = [d for d in tags if d != "SliceLocation"]
    order = [*others, *(["SliceLocation"] if "SliceLocation" in tags else [])]
    volumes = int(np.prod([da.sizes[d] for d in others], dtype=int)) if others else 1
    b_values = _per_volume(da, B_VALUE, order, volumes)
    assert b_values is not None
    if np.isnan(b_values).any():
        volume = int(np.flatnonzero(np.isnan(b_values))[0])
        raise DiffusionError(
            f"volume {volume} has no {B_VALUE} where others have one: no .bval can be "
            f"written. Set it (da = da.assign_coords(...)) or leave the volume out (isel)."
        )
    parts = [_per_volume(da, f"{DIRECTION}[{i}]", order, volumes) for i in range(3)]
    directions = np.full((volumes, 3), np.nan)
    for i, part in enumerate(parts):
        if part is not None:
            directions[:, i] = part
    return Gradients(b_values, directions)


def fsl_vectors(directions: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Directions in patient LPS (rows, NaN: none) as FSL's b-vectors of a NIfTI file (3 x n).

    ``affine`` maps the file's voxel indices (i, j, k) to patient LPS
    millimetres, as ``directions`` are (the file's RAS affine gives the
    same result with RAS directions: the determinant of the LPS-RAS flip
    is 1). A direction is projected on the voxel axes (the inverse of the
    unit column vectors), and its x negated where the determinant is
    positive.

    Examples
    --------
    An axial image stored as DICOM has rows along L, columns along P:
    a right-handed LPS voxel order (determinant > 0), so x changes sign.

    >>> fsl_vectors(np.array([[1.0, 0, 0], [0, 1, 0], [np.nan] * 3]), np.eye(4)).tolist()
    [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    axes = np.asarray(affine, dtype=float)[:3, :3]
    axes = axes / np.linalg.norm(axes, axis=0)
    known = ~np.isnan(directions).any(axis=1)
    out = np.zeros((3, len(directions)))
    if known.any():
        out[:, known] = np.linalg.solve(axes, directions[known].T)
    if np.linalg.det(axes) > 0:
        out[0] = -out[0]
    return out + 0.0  # no -0


def _number(value: float) -> str:
    text = f"{value:.6g}"
    return "0" if text in ("-0", "0") else text


def write_gradients(stem: Path, gradients: Gradients, affine: np.ndarray) -> tuple[Path, Path]:
    """``<stem>.bval`` and ``<stem>.bvec``, each written whole or not at all.

    ``affine`` maps the NIfTI file's voxel indices to LPS (see :func:`fsl_vectors`).
    """
    vectors = fsl_vectors(gradients.directions, affine)
    vectors[:, gradients.b_values <= 0] = 0.0
    bval = stem.with_name(f"{stem.name}.bval")
    bvec = stem.with_name(f"{stem.name}.bvec")
    with written(bval) as temporary:
        temporary.write_text(" ".join(_number(b) for b in gradients.b_values) + "\n")
    with written(bvec) as temporary:
        temporary.write_text("".join(" ".join(_number(x) for x in row) + "\n" for row in vectors))
    return bval, bvec
