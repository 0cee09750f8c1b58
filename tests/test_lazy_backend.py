"""Laziness the way xarray's backends have it (modelled on xarray's own backend tests).

``to_xarray(chunks=False)`` and ``xr.open_dataarray`` without ``chunks`` give
a lazily indexed :class:`~dbdicom._arrays._lazy.FramesBackendArray`: nothing
is read until the values are asked for, and then only the frames selected.
The dask array (the default) computes nothing while built or selected, has
deterministic names, and computes on a cluster of processes.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.array
import numpy as np
import pytest
import xarray as xr
from builders import Manifest
from recorders import count_frame_reads, replace_frame_reads
from xarray.core import indexing

import dbdicom as db
from dbdicom._arrays._lazy import FramesBackendArray


@pytest.fixture
def vfa(database_folder: tuple[Path, Manifest]) -> Any:
    root, _ = database_folder
    return db.database(root).series(SeriesDescription="VFA")[0]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The (path, frame) of every frame read from now on (the reads still happen)."""
    return count_frame_reads(monkeypatch)


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every pixel read fails, as with xarray's InaccessibleArray."""

    def refuse(*args: Any, **kwargs: Any) -> np.ndarray:
        raise AssertionError("pixels were read")

    replace_frame_reads(monkeypatch, refuse)
    yield


def _raise_if_computes(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("dask computed")


def _paths(series: Any, da: xr.DataArray) -> list[str]:
    database = series.database
    uids = np.ravel(da.SOPInstanceUID.values).tolist()
    return sorted(str(database.instances(SOPInstanceUID=u)[0].path) for u in uids)


def test_lazily_indexed_reads_nothing_until_values(vfa: Any, unreadable: None) -> None:
    lazy = vfa.to_xarray(chunks=False)
    assert lazy.chunks is None
    assert isinstance(lazy.variable._data, indexing.LazilyIndexedArray)
    assert not isinstance(lazy.variable._data, dask.array.Array)
    selected = lazy.isel(SliceLocation=[0, -1], FlipAngle=slice(1, None)).isel(row=slice(4, 9))
    selected = selected.sel(FlipAngle=lazy.FlipAngle[2]).transpose("row", ...)
    assert selected.shape == (5, 2, 32)
    with pytest.raises(AssertionError, match="pixels were read"):
        selected.values  # noqa: B018


def test_selection_reads_exactly_its_frames(vfa: Any, reads: list[tuple[str, int]]) -> None:
    full = vfa.to_xarray().values
    reads.clear()
    lazy = vfa.to_xarray(chunks=False)
    one_slice = lazy.isel(SliceLocation=0)
    assert reads == []
    np.testing.assert_array_equal(one_slice.values, full[0])
    assert sorted(p for p, _ in reads) == _paths(vfa, one_slice)
    reads.clear()
    outer = lazy.isel(SliceLocation=[2, 0], FlipAngle=[1, 2], column=slice(0, 5))
    np.testing.assert_array_equal(outer.values, full[[2, 0]][:, [1, 2], :, 0:5])
    assert sorted(p for p, _ in reads) == _paths(vfa, outer)
    reads.clear()
    points = lazy.isel(
        SliceLocation=xr.DataArray([0, 1], dims="p"), FlipAngle=xr.DataArray([2, 0], dims="p")
    )
    np.testing.assert_array_equal(points.values, full[[0, 1], [2, 0]])
    assert len(reads) <= 4  # vectorized: the frames of the outer product at most


def test_building_and_selecting_does_not_compute(
    vfa: Any, database_folder: tuple[Path, Manifest]
) -> None:
    root, _ = database_folder
    with dask.config.set(scheduler=_raise_if_computes):
        for chunks in (None, {"SliceLocation": 1, "FlipAngle": 1}, False):
            da = vfa.to_xarray(chunks=chunks)
            picked = da.isel(SliceLocation=1).sel(FlipAngle=da.FlipAngle[0], method="nearest")
            (picked * 2 + 1).mean("row")
        opened = xr.open_dataarray(root, engine="dbdicom", series="VFA", chunks={})
        assert isinstance(opened.data, dask.array.Array)
        opened.isel(FlipAngle=[0, 2]).mean("SliceLocation")
        with pytest.raises(RuntimeError, match="dask computed"):
            vfa.to_xarray().isel(SliceLocation=0).values  # noqa: B018
    assert vfa.to_xarray().isel(SliceLocation=0).values.shape == (3, 32, 32)


def test_same_values_whatever_the_chunks(vfa: Any, database_folder: tuple[Path, Manifest]) -> None:
    root, _ = database_folder
    lazy = vfa.to_xarray(chunks=False).compute()
    default = vfa.to_xarray()
    frames = vfa.to_xarray(chunks={"SliceLocation": 1, "FlipAngle": 1})
    assert frames.data.npartitions == frames.sizes["SliceLocation"] * frames.sizes["FlipAngle"]
    xr.testing.assert_identical(lazy, default.compute())
    xr.testing.assert_identical(lazy, frames.compute())
    for chunks in (None, {}, {"SliceLocation": 2}):
        opened = xr.open_dataarray(root, engine="dbdicom", series="VFA", chunks=chunks)
        assert (opened.chunks is None) == (chunks is None)
        xr.testing.assert_equal(opened.compute(), lazy)


def test_dask_names_are_deterministic(vfa: Any, database_folder: tuple[Path, Manifest]) -> None:
    root, _ = database_folder
    first, again = vfa.to_xarray(), vfa.to_xarray()
    assert first.data.name == again.data.name
    assert dict(first.data.__dask_graph__()).keys() == dict(again.data.__dask_graph__()).keys()
    reopened = db.database(root).series(SeriesDescription="VFA")[0].to_xarray()
    assert reopened.data.name == first.data.name
    one = first.isel(SliceLocation=1).data.name
    assert one == again.isel(SliceLocation=1).data.name
    assert one != first.isel(SliceLocation=2).data.name
    assert one != first.data.name
    chunked = {"SliceLocation": 1, "FlipAngle": 1}
    assert vfa.to_xarray(chunks=chunked).data.name == vfa.to_xarray(chunks=chunked).data.name
    assert vfa.to_xarray(chunks=chunked).data.name != first.data.name


def test_selection_graph_holds_only_the_selected_frames(
    vfa: Any, reads: list[tuple[str, int]]
) -> None:
    per_frame = vfa.to_xarray(chunks={"SliceLocation": 1, "FlipAngle": 1})
    picked = per_frame.isel(SliceLocation=[0, 2], FlipAngle=1)
    assert len(picked.data.__dask_graph__()) == 2
    assert picked.data.chunks[0] == (1, 1)  # the chunks asked for are kept
    whole = vfa.to_xarray()  # one ~8 MiB chunk of all frames
    assert whole.data.npartitions == 1
    picked = whole.isel(SliceLocation=[0, 2], FlipAngle=1)
    assert len(picked.data.__dask_graph__()) == 1
    picked.values  # noqa: B018
    assert len(reads) == 2


def test_read_errors_stay_dicom_errors(
    vfa: Any, database_folder: tuple[Path, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """xarray reads .values in a property: an AttributeError would say 'no attribute values'."""
    root, _ = database_folder

    def broken(*args: Any, **kwargs: Any) -> np.ndarray:
        raise AttributeError("'NoneType' object has no attribute 'decode'")

    replace_frame_reads(monkeypatch, broken)
    arrays = [
        vfa.to_xarray(chunks=False),
        vfa.to_xarray(),
        xr.open_dataarray(root, engine="dbdicom", series="VFA"),
        xr.open_dataarray(root, engine="dbdicom", series="VFA", chunks={}),
    ]
    for da in arrays:
        with pytest.raises(db.InvalidFileError, match="no attribute 'decode'"):
            da.isel(SliceLocation=0).values  # noqa: B018


def test_backend_array_pickles_and_computes_on_a_cluster(
    vfa: Any, database_folder: tuple[Path, Manifest]
) -> None:
    distributed = pytest.importorskip("distributed")
    root, _ = database_folder
    lazy = vfa.to_xarray(chunks=False)
    backend = lazy.variable._data.array
    assert isinstance(backend, FramesBackendArray)
    copy = pickle.loads(pickle.dumps(backend))
    key = indexing.OuterIndexer((np.array([0, 2]), 1, slice(None), slice(0, 4)))
    np.testing.assert_array_equal(copy[key], backend[key])
    expected = lazy.values.mean(axis=1)
    opened = xr.open_dataarray(root, engine="dbdicom", series="VFA", chunks={})
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        from_dask = vfa.to_xarray().mean("FlipAngle").values
        from_backend = opened.mean("FlipAngle").values  # tasks carry the backend array
    np.testing.assert_allclose(from_dask, expected)
    np.testing.assert_allclose(from_backend, expected)


def test_an_empty_selection_is_an_empty_array(database_folder: tuple[Path, Any]) -> None:
    """A second trial: isel(SliceLocation=[]), or arithmetic between arrays whose
    SliceLocations do not meet, raised inside dask ('Empty tuples are not allowed in chunks')."""
    database = db.database(database_folder[0])
    da = database.series(SeriesDescription="CT abdomen")[0].to_xarray()
    for empty in (
        da.isel(SliceLocation=[]),
        da.isel(SliceLocation=slice(0, 0)),
        da - da.assign_coords(SliceLocation=da.SliceLocation + 0.001),  # no slice in common
    ):
        assert empty.shape == (0, *da.shape[1:])
        assert empty.values.shape == empty.shape
    assert da.isel(SliceLocation=[]).chunks[0] == (0,)
    database.close()
