"""Placing frames on a grid of tag values: properties over random grids."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbdicom import GridError
from dbdicom._arrays import make_grid

axes = st.lists(
    st.lists(
        st.floats(min_value=-1e4, max_value=1e4, allow_nan=False).map(lambda x: round(x, 2)),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=80, deadline=None)
@given(values=axes, seed=st.integers(0, 2**32 - 1))
def test_every_frame_lands_at_its_values(values: list[list[float]], seed: int) -> None:
    points = list(itertools.product(*values))
    order = np.random.default_rng(seed).permutation(len(points))
    frames = [points[i] for i in order]
    dims = {f"d{k}": np.array([p[k] for p in frames]) for k in range(len(values))}
    grid = make_grid(dims, len(frames))
    assert grid.shape == tuple(len(v) for v in values)
    for name, axis in zip(dims, values, strict=True):
        assert grid.coords[name].tolist() == sorted(axis)  # sorted coordinates
    for f, cell in enumerate(grid.cell):
        at = np.unravel_index(cell, grid.shape)
        assert tuple(grid.coords[n][i] for n, i in zip(dims, at, strict=True)) == frames[f]
    assert sorted(grid.frame_at().tolist()) == list(range(len(frames)))  # none lost or doubled


@settings(max_examples=40, deadline=None)
@given(values=axes, seed=st.integers(0, 2**32 - 1))
def test_a_missing_frame_is_a_hole(values: list[list[float]], seed: int) -> None:
    points = list(itertools.product(*values))
    if len(points) < 2:
        return
    rng = np.random.default_rng(seed)
    drop = int(rng.integers(len(points)))
    frames = [p for i, p in enumerate(points) if i != drop]
    dims = {f"d{k}": np.array([p[k] for p in frames]) for k in range(len(values))}
    if any(len(set(d)) < len(v) for d, v in zip(dims.values(), values, strict=True)):
        return  # the dropped frame took a whole coordinate value with it
    with pytest.raises(GridError, match="1 empty points"):
        make_grid(dims, len(frames))
    grid = make_grid(dims, len(frames), fill=True)
    assert (grid.frame_at() < 0).sum() == 1


@settings(max_examples=40, deadline=None)
@given(values=axes, seed=st.integers(0, 2**32 - 1))
def test_a_duplicate_is_refused_or_enumerated(values: list[list[float]], seed: int) -> None:
    points = list(itertools.product(*values))
    rng = np.random.default_rng(seed)
    frames = [*points, points[int(rng.integers(len(points)))]]
    dims = {f"d{k}": np.array([p[k] for p in frames]) for k in range(len(values))}
    with pytest.raises(GridError, match="more than one frame"):
        make_grid(dims, len(frames))
    grid = make_grid(dims, len(frames), repeats=np.arange(len(frames), dtype=float))
    assert grid.dims[-1] == "n" and grid.shape[-1] == 2
    assert sorted(grid.frame_at()[grid.frame_at() >= 0].tolist()) == list(range(len(frames)))


def test_values_equal_after_rounding_share_a_point() -> None:
    grid = make_grid({"z": np.array([1.00001, 1.0, 2.0, 2.00002])}, 4, repeats=np.arange(4.0))
    assert grid.shape == (2, 2)


def test_messages_show_plain_numbers_and_text() -> None:
    """Not numpy 2's reprs: 'SliceLocation=np.float64(5.0)' is now 'SliceLocation=5.0'."""
    both = {"SliceLocation": np.array([5.0, 5.0]), "ImageType": np.array(["a", "a"], object)}
    with pytest.raises(GridError, match=r"e\.g\. SliceLocation=5\.0, ImageType='a' holds 2"):
        make_grid(both, 2)
    holes = {"SliceLocation": np.array([5.0, 10.0]), "EchoNumbers": np.array([1, 2])}
    with pytest.raises(GridError) as info:
        make_grid(holes, 2)
    assert "SliceLocation=5.0, EchoNumbers=2" in str(info.value) and "np." not in str(info.value)
