"""The geometry tags of the slices an ``affine`` attr places, and what contradicts them.

The affine maps (column, row, slice) indices to patient LPS millimetres:
slice ``k`` lies at ``affine[:3, 3] + k * affine[:3, 2]``, with the
ImageOrientationPatient of its column and row axes. Each frame of a write
takes from it the tags its coordinates do not give (see
:class:`._frame_tags.FrameTags`); a SliceLocation coordinate that gives the
slices another spacing or order than the affine is refused (see
:meth:`AffineSlices.check_locations`): its files would contradict themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InvalidValueError
from .._geometry import affine_defect

__all__ = ["AffineSlices"]


class AffineSlices:
    """The geometry tags of the slices of an affine: what all share, computed once."""

    def __init__(self, affine: Any, slices: int) -> None:
        try:
            affine = np.asarray(affine, dtype=float)
        except (TypeError, ValueError):
            affine = np.full(1, np.nan)  # refused below, as not 4 x 4 numbers
        defect = affine_defect(affine, slices=slices > 1)
        if defect is not None:
            raise InvalidValueError(
                f"the 'affine' attr cannot place the frames: {defect}. Give a 4 x 4 affine "
                "from (column, row, slice) indices to LPS mm whose column and row axes are "
                "perpendicular and of non-zero length (the slice axis may be tilted, as in a "
                "CT gantry tilt, but not lie in their plane)."
            )
        col, row, self.normal = affine[:3, 0], affine[:3, 1], affine[:3, 2]
        self.origin = affine[:3, 3]
        spacing_c, spacing_r = float(np.linalg.norm(col)), float(np.linalg.norm(row))
        cosines = np.concatenate([col / spacing_c, row / spacing_r])
        self.unit = np.cross(cosines[:3], cosines[3:])
        self.shared: dict[str, Any] = {
            "ImageOrientationPatient": [float(x) for x in np.round(cosines, 8)],
            "PixelSpacing": [round(spacing_r, 6), round(spacing_c, 6)],
        }
        # one slice too: not its header's SpacingBetweenSlices, its SliceThickness
        self.shared["SpacingBetweenSlices"] = round(float(abs(self.normal @ self.unit)), 6)

    def numbers(self, keyword: str, slices: np.ndarray) -> np.ndarray | None:
        """Position or orientation (``keyword``) of each of the ``slices``; None: neither."""
        if keyword == "ImagePositionPatient":
            return np.round(self.origin + slices[:, None] * self.normal, 6)
        if keyword == "ImageOrientationPatient":
            cosines = self.shared["ImageOrientationPatient"]
            return np.broadcast_to(np.asarray(cosines, dtype=float), (len(slices), 6))
        return None

    def of(self, k: int) -> dict[str, Any]:
        """The tags of slice ``k``."""
        return self.all(1, k)[0]

    def all(self, n: int, first: int = 0) -> list[dict[str, Any]]:
        """The tags of slices ``first`` to ``first + n - 1``."""
        positions = self.origin + np.arange(first, first + n)[:, None] * self.normal
        locations = [round(x, 6) for x in (positions @ self.unit).tolist()]
        rounded = np.round(positions, 6).tolist()
        return [
            {"ImagePositionPatient": position, **self.shared, "SliceLocation": location}
            for position, location in zip(rounded, locations, strict=True)
        ]

    def location(self, position: Any, given: dict[str, Any]) -> float | None:
        """The SliceLocation of a frame its coordinates place at ``position`` (LPS mm).

        The position projected on the slice normal of its
        ImageOrientationPatient in ``given`` (its coordinates), else this
        affine's: as the affine's slices are given theirs. None where
        ``position`` is not 3 numbers.

        Examples
        --------
        >>> slices = AffineSlices(np.diag([1.0, 1.0, 3.0, 1.0]), 3)
        >>> slices.location([1.0, 2.0, 5.0], {}), slices.location([1.0, None, 5.0], {})
        (5.0, None)
        >>> slices.location([1.0, 2.0, 5.0], {"ImageOrientationPatient": [1, 0, 0, 0, 0, -1]})
        2.0
        """
        at = np.asarray([np.nan if x is None else x for x in position], dtype=float)
        unit = self.unit
        cosines = np.asarray(given.get("ImageOrientationPatient") or [np.nan], dtype=float)
        if cosines.shape == (6,) and np.isfinite(cosines).all():
            normal = np.cross(cosines[:3], cosines[3:])
            if np.linalg.norm(normal) > 1e-6:
                unit = normal / np.linalg.norm(normal)
        if at.shape != (3,) or not np.isfinite(at).all():
            return None
        return round(float(at @ unit), 6)

    def check_locations(
        self,
        locations: np.ndarray,
        positions: np.ndarray,
        orientations: np.ndarray,
        placed: np.ndarray | None = None,
    ) -> None:
        """Refuse SliceLocation ``locations`` that put the frames elsewhere than their positions.

        Per frame (NaN: none given): ``locations`` from the coordinate,
        ``positions`` (LPS mm) and ``orientations`` as the frames will hold
        them (their coordinates', else this affine's); ``placed``: True where
        the position is the ImagePositionPatient coordinates' (the message
        names where the positions came from). SliceLocation counts
        from an origin of the scanner's choosing (DICOM PS3.3 C.7.6.2.1.2:
        "relative to an unspecified implementation specific reference
        point"), so it may differ from each position projected on the slice
        normal by one constant, within 1e-3 mm or a hundredth of the slice
        step, and may count against the normal (scanners' files do: two
        series of pydicom's test files), or count the patient axis nearest
        the normal instead (the table position: a CT with a gantry tilt, some
        scanners' oblique slices); another spacing is a contradiction: an
        :class:`~dbdicom.InvalidValueError` names both and the ways out.

        Examples
        --------
        >>> slices = AffineSlices(np.diag([1.0, 1.0, 3.0, 1.0]), 3)
        >>> at = np.array([[0.0, 0, 0], [0, 0, 3], [0, 0, 6]])
        >>> axial = np.tile([1.0, 0, 0, 0, 1, 0], (3, 1))
        >>> slices.check_locations(np.array([10.0, 13.0, 16.0]), at, axial)  # an offset: kept
        >>> slices.check_locations(np.array([10.0, 7.0, 4.0]), at, axial)  # counted back: kept
        >>> c, s = np.cos(0.35), np.sin(0.35)  # slices tilted 20 degrees, 3 mm apart
        >>> tilted = np.tile([1.0, 0, 0, 0, c, -s], (3, 1))
        >>> placed = np.arange(3)[:, None] * 3 * np.array([0, s, c])
        >>> slices.check_locations(placed[:, 2], placed, tilted)  # the table position: kept
        >>> slices.check_locations(np.array([10.0, 20.0, 30.0]), at, axial)
        Traceback (most recent call last):
        ...
        dbdicom._errors.InvalidValueError: the SliceLocation coordinate puts the slices at [10, 20, 30] mm, but ... [0, 3, 6] mm ...
        """  # noqa: E501
        given = np.isfinite(locations) & np.isfinite(positions).all(1)
        given &= np.isfinite(orientations).all(1)
        if given.sum() < 2:
            return
        cosines = orientations[given]
        normals = np.cross(cosines[:, :3], cosines[:, 3:])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        along = np.einsum("ij,ij->i", positions[given], normals)
        table = positions[given][:, int(np.argmax(np.abs(normals).mean(axis=0)))]
        step = float(self.shared["SpacingBetweenSlices"])
        for counted in (along, table):  # along the normal, or its nearest patient axis
            for sign in (1.0, -1.0):  # that way, or against it
                if float(np.ptp(locations[given] - sign * counted)) <= max(1e-3, step / 100):
                    return
        pairs = list(dict.fromkeys(zip(locations[given].tolist(), along.tolist(), strict=True)))
        more = ", ..." if len(pairs) > 6 else ""
        said = ", ".join(f"{x:.6g}" for x, _ in pairs[:6]) + more
        placed_at = ", ".join(f"{y:.6g}" for _, y in pairs[:6]) + more
        from_coords = placed is not None and bool(placed[given].any())
        if not from_coords:
            source = "the 'affine' attr"
            means = "the ImagePositionPatient it gives"
            fix = (
                "fix the affine so that it puts the slices where the coordinate says "
                "(affine[:3, 2] is the step from one slice to the next, affine[:3, 3] the "
                "position of the first)"
            )
        else:
            some = placed is not None and not bool(placed[given].all())
            source = "the ImagePositionPatient coordinates" + (
                " (and the 'affine' attr, at the frames they do not place)" if some else ""
            )
            means = "each frame's position"
            fix = (
                "fix the ImagePositionPatient coordinates (or, if they are wrong, drop them: "
                "the affine then places the slices) so that the slices lie where the "
                "SliceLocation coordinate says"
            )
        raise InvalidValueError(
            f"the SliceLocation coordinate puts the slices at [{said}] mm, but {source} at "
            f"[{placed_at}] mm along their normal ({means}, projected on the normal of the "
            "ImageOrientationPatient): the files would contradict themselves. SliceLocation "
            "may count from another origin (the same offset at every slice), not with "
            "another spacing or order. Drop the SliceLocation coordinate "
            "(da.drop_vars('SliceLocation'): each frame's SliceLocation is then its position "
            f"projected on the normal), or {fix}."
        )
