"""NIfTI export puts every voxel where dcm2niix does, within 1e-3 mm, with the same value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from vendor_layouts import LAYOUTS, Plan, classic_series, enhanced_series, oblique

import dbdicom as db


def _only_series(folder: Path) -> db.Series:
    (series,) = db.database(folder).series()
    return series


def test_one_frame_enhanced_files_have_their_geometry(tmp_path: Path) -> None:
    """An enhanced file of one frame keeps its position in its functional groups."""
    plan = Plan(slices=1, orientation=oblique(10, 20, 30), thickness=3.0, step=4.5)
    for layout in LAYOUTS:
        enhanced_series(tmp_path / layout, plan, layout)
        da = _only_series(tmp_path / layout).to_xarray()
        assert "affine" in da.attrs, layout
        position = da.attrs["affine"] @ [0, 0, 0, 1]
        np.testing.assert_allclose(position[:3], plan.positions()[0], atol=1e-6)


def test_stored_cosines_are_made_unit_vectors(tmp_path: Path) -> None:
    """Cosines of 4 decimals are not of length 1: the pixel step stays PixelSpacing."""
    orientation = (1.0, 0.0, 0.0, 0.0, 0.9272, -0.3746)  # length 1.0000125
    classic_series(tmp_path, Plan(orientation=orientation, spacing=(0.431, 0.5), slices=2))
    affine = _only_series(tmp_path).to_xarray().attrs["affine"]
    np.testing.assert_allclose(np.linalg.norm(affine[:3, :2], axis=0), [0.5, 0.431], rtol=1e-12)
