"""Writing arrays back as DICOM: headers, values, provenance, round trips, fidelity."""

from __future__ import annotations

import hashlib
import multiprocessing
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import dask
import dask.array
import numpy as np
import pydicom
import pytest
import xarray as xr
from builders import Manifest, named_series
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from validators import dciodvfy_errors, read_elsewhere

import dbdicom as db
from dbdicom import InvalidValueError, TerminalDialog
from dbdicom._arrays import affine_of

# attrs that differ by design between a series and one written from it
IDENTITY = {"SeriesInstanceUID", "SeriesDescription", "SeriesNumber", "ImageType"}
# the pixel encoding: the writer chooses it for the data it is given
ENCODING = {
    "RescaleSlope",
    "RescaleIntercept",
    "WindowCenter",
    "WindowWidth",
    "PixelRepresentation",
}


def same_dataarray(a: xr.DataArray, b: xr.DataArray, atol: float = 0.0) -> None:
    assert a.dims == b.dims
    assert a.shape == b.shape
    np.testing.assert_allclose(a.values.astype(float), b.values.astype(float), atol=atol, rtol=0)
    for name in a.coords:
        if name == "SOPInstanceUID":
            continue
        left, right = a.coords[name].values, b.coords[name].values
        assert a.coords[name].dims == b.coords[name].dims, name
        if left.dtype.kind in "fiu":
            np.testing.assert_allclose(left, right, rtol=0, atol=1e-6, err_msg=str(name))
        else:
            np.testing.assert_array_equal(left, right, err_msg=str(name))
    assert set(b.coords) == set(a.coords)
    keys = (set(a.attrs) | set(b.attrs)) - IDENTITY - ENCODING
    for key in keys:
        np.testing.assert_equal(a.attrs.get(key), b.attrs.get(key), err_msg=key)
    assert (affine_of(a) is None) == (affine_of(b) is None)
    if affine_of(a) is not None:
        np.testing.assert_allclose(a.dicom.affine, b.dicom.affine, atol=1e-5)


def test_round_trip_is_identical(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray()
    first = vfa.new_sibling(SeriesDescription="copy 1").set_xarray(da).to_xarray()
    # integers are stored exactly; the affine adds SpacingBetweenSlices once
    assert (first.values == da.values).all() and first.dtype == da.dtype
    second = vfa.new_sibling(SeriesDescription="copy 2").set_xarray(first).to_xarray()
    same_dataarray(first, second)


def test_derived_series_has_provenance(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray()
    t1 = da.mean("FlipAngle")
    out = vfa.new_sibling(SeriesDescription="T1 map")
    out.set_xarray(t1, description="mean signal over flip angles")
    assert out.parent == vfa.parent
    assert len(out.instances()) == 6
    source_uids = set(vfa.SOPInstanceUID)
    for path in out.files():
        ds = pydicom.dcmread(path)
        assert list(ds.ImageType[:2]) == ["DERIVED", "SECONDARY"]
        assert ds.DerivationDescription == "mean signal over flip angles"
        assert ds.SeriesInstanceUID == out.uid != vfa.uid
        assert ds.SOPInstanceUID not in source_uids
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        refs = {item.ReferencedSOPInstanceUID for item in ds.SourceImageSequence}
        assert len(refs) == 4 and refs <= source_uids  # the 4 flip angles of its slice
        (series_ref,) = ds.ReferencedSeriesSequence
        assert series_ref.SeriesInstanceUID == vfa.uid
        assert ds.PatientID == vfa.PatientID
        assert ds.StudyInstanceUID == vfa.parent.uid
    back = out.to_xarray()
    assert back.dims == ("SliceLocation", "row", "column")
    bound = float(t1.max() - t1.min()) / 65535
    assert float(abs(back - t1).max()) <= bound
    for path in out.files()[:2] + vfa.files()[:1]:
        assert dciodvfy_errors(path) == []


def test_header_from_template_and_geometry_from_affine(demo: db.Database) -> None:
    study = demo.studies(StudyDescription="MR phantom T1 mapping")[0]
    affine = np.array(
        [[0.0, 0.0, -2.0, -10.0], [0.8, 0.0, 0.0, 5.0], [0.0, -0.8, 0.0, 40.0], [0, 0, 0, 1]]
    )  # sagittal; slices step along the normal (rows x columns), as SliceLocation grows
    data = np.arange(3 * 8 * 10, dtype=np.float32).reshape(3, 8, 10) / 7
    da = xr.DataArray(
        data,
        dims=("SliceLocation", "row", "column"),
        attrs={"affine": affine, "EchoTime": 12.5, "SeriesDescription": "from scratch"},
    )
    series = study.new_series(SeriesDescription="sagittal")
    series.set_xarray(da)
    back = series.to_xarray()
    np.testing.assert_allclose(back.dicom.affine, affine, atol=1e-5)
    assert "affine" not in back.attrs  # the geometry is in the tags, the affine from them
    assert back.attrs["EchoTime"] == 12.5
    assert series.SeriesDescription == "sagittal"  # the series' own attributes win
    ds = pydicom.dcmread(series.files()[0])
    assert (ds.Rows, ds.Columns) == (8, 10)
    assert [float(x) for x in ds.PixelSpacing] == [0.8, 0.8]
    assert float(ds.SpacingBetweenSlices) == 2.0
    assert dciodvfy_errors(series.files()[0]) == []


def test_values_integers_exact_floats_within_bound_booleans(demo: db.Database) -> None:
    study = demo.studies()[0]
    rng = np.random.default_rng(1)
    cases = {
        "uint16": rng.integers(0, 65535, (2, 6, 5)).astype(np.uint16),
        "int16": rng.integers(-3000, 3000, (2, 6, 5)).astype(np.int16),
        "int32 offset": rng.integers(100000, 160000, (2, 6, 5)).astype(np.int32),
        "float": rng.normal(size=(2, 6, 5)),
        "bool": rng.random((2, 6, 5)) > 0.5,
    }
    for name, data in cases.items():
        series = study.new_series(SeriesDescription=name)
        series.set_xarray(xr.DataArray(data, dims=("InstanceNumber", "row", "column")))
        back = series.to_xarray().values
        if data.dtype.kind in "iub":
            assert (back == data.astype(np.int64)).all(), name
        else:
            bound = (data.max() - data.min()) / 65535
            assert np.abs(back - data).max() <= bound, name


def test_bad_arrays_are_refused(demo: db.Database) -> None:
    series = demo.series(SeriesDescription="VFA")[0]
    out = series.new_sibling()
    dims = ("InstanceNumber", "row", "column")
    with pytest.raises(InvalidValueError, match="complex"):
        out.set_xarray(xr.DataArray(np.ones((2, 4, 4), complex), dims=dims))
    with pytest.raises(InvalidValueError, match="empty"):
        out.set_xarray(xr.DataArray(np.ones((0, 4, 4)), dims=dims))
    with pytest.raises(InvalidValueError, match="dtype object"):
        out.set_xarray(xr.DataArray(np.full((1, 4, 4), "a", dtype=object), dims=dims))
    with pytest.raises(InvalidValueError, match="NaN"):
        out.set_xarray(xr.DataArray(np.full((1, 4, 4), np.nan), dims=dims))
    with pytest.raises(InvalidValueError, match="'fit' is not a DICOM keyword"):
        out.set_xarray(
            xr.DataArray(np.ones((2, 4, 4)), dims=("fit", "row", "column"), coords={"fit": [1, 2]})
        )
    with pytest.raises(InvalidValueError, match="'row' and 'column'"):
        out.set_xarray(xr.DataArray(np.ones((2, 4, 4)), dims=("a", "b", "c")))
    rgba = xr.DataArray(np.ones((4, 4, 4), np.uint8), dims=("row", "column", "channel"))
    with pytest.raises(InvalidValueError, match=r"3 channels.*isel\(channel=slice\(0, 3\)\)"):
        out.set_xarray(rgba)  # RGB is written (test_colour_write.py), RGBA refused
    with pytest.raises(InvalidValueError, match=r"colour \(RGB\) values must be whole"):
        out.set_xarray(rgba[..., :3] * 0.5)
    array, header = series.array(["SliceLocation", "FlipAngle"])
    with pytest.raises(InvalidValueError, match="header array has 3 item"):
        out.set_array(array[0], header[0, :3])
    with pytest.raises(InvalidValueError, match="64] x \\[64] pixels"):
        series.array(np.zeros((2, 8, 8)))
    assert out.instances() == [] and not demo.unsaved


@pytest.mark.parametrize(
    ("given", "way_out"),
    [
        (np.zeros((2, 64, 64)), r"not a numpy ndarray: .*series\.set_array\(array\)"),
        ([[0.0] * 4] * 4, r"not a list: .*series\.set_array\(array\)"),
        (dask.array.zeros((2, 64, 64)), r"not a dask Array: .*xr\.DataArray\(array, dims="),
        (
            xr.Dataset({"T1": xr.DataArray(np.zeros((2, 4, 4)))}),
            r"not an xarray Dataset: .*ds\['<name>'\].*'T1'",
        ),
    ],
    ids=["numpy", "list", "dask", "Dataset"],
)
@pytest.mark.parametrize("kind", ["image", "parametric map"])
def test_what_is_not_a_dataarray_is_refused_with_the_call_that_writes_it(
    demo: db.Database, given: Any, way_out: str, kind: str
) -> None:
    """A trial: set_xarray(numpy array) failed inside: AttributeError ... no attribute 'dims'."""
    series = demo.series(SeriesDescription="VFA")[0]
    out = series.new_sibling(SeriesDescription="smoothed")
    before = (len(demo.series()), list(demo.changes()["path"]))
    refused = r"set_xarray writes an xarray\.DataArray, " + way_out
    with pytest.raises(InvalidValueError, match=refused):
        out.set_xarray(given, kind=kind)
    assert (len(demo.series()), list(demo.changes()["path"])) == before
    assert out.instances() == [] and not demo.unsaved


def test_header_from_another_patient_takes_the_target_patient(demo: db.Database) -> None:
    beta_series = demo.series(SeriesDescription="T2w sag")[0]
    array, header = beta_series.array()
    target = demo.studies(StudyDescription="MR phantom T1 mapping")[0].new_series()
    target.set_array(array, header)
    assert {str(pydicom.dcmread(p).PatientName) for p in target.files()} == {"Phantom^Alpha"}
    assert target.patients().PatientName == "Phantom^Alpha"


def test_set_array_replaces_and_restore_brings_back(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    before = {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in vfa.files()}
    array, header = vfa.array(["SliceLocation", "FlipAngle"])
    mip = np.amax(array, axis=0)
    vfa.set_array(mip, header[0, :, :])
    assert len(vfa.instances()) == 4
    assert vfa.FlipAngle == [2.0, 5.0, 10.0, 15.0]
    vfa.set_array(mip)  # no header: the MR template
    assert len(vfa.instances()) == 4
    demo.restore()
    vfa = demo.series(SeriesDescription="VFA")[0]
    assert {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in vfa.files()} == before


def test_dask_array_written_block_by_block_with_threads(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray(chunks={"SliceLocation": 1, "FlipAngle": -1}) * 2
    out = vfa.new_sibling(SeriesDescription="doubled")
    out.set_xarray(da)
    np.testing.assert_array_equal(out.to_xarray().values, da.values)


def test_a_small_dask_array_is_computed_once_a_large_one_block_by_block(
    demo: db.Database,
) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    source = vfa.to_xarray(chunks={"SliceLocation": 1, "FlipAngle": -1})
    calls: list[int] = []

    def counted(block: np.ndarray) -> np.ndarray:
        if block.size:  # not dask's call on an empty array for the type
            calls.append(1)
        return block.astype(np.float32) * 0.5

    derived = source.copy(data=source.data.map_blocks(counted, dtype=np.float32))
    blocks = derived.data.npartitions
    out = vfa.new_sibling(SeriesDescription="half")
    out.set_xarray(derived)  # fits in one dask chunk: computed once, kept for both passes
    assert len(calls) == blocks
    np.testing.assert_allclose(out.to_xarray().values, source.values / 2, atol=0.5)
    calls.clear()
    with dask.config.set({"array.chunk-size": "1 KiB"}):  # larger than a chunk: bounded memory
        vfa.new_sibling(SeriesDescription="half again").set_xarray(derived)
    assert len(calls) == 2 * blocks  # the range, then the frames, block by block
    with_nan = source.astype(np.float32).copy()
    with_nan.data = with_nan.data.map_blocks(
        lambda b, block_info=None: np.where(
            block_info[0]["chunk-location"][0] == blocks - 1, np.nan, b
        ).astype(np.float32),
        dtype=np.float32,
    )
    with pytest.raises(InvalidValueError, match="NaN"):  # in the last block only
        vfa.new_sibling().set_xarray(with_nan)


def _write_in_child(folder: str) -> list[float]:
    """In a forked process: a dask array written (its range found by the helper threads)."""
    database = db.database(folder, dialog=db.TerminalDialog(interactive=False))
    try:
        vfa = database.series(SeriesDescription="VFA")[0]
        out = vfa.new_sibling(SeriesDescription="in a child")
        out.set_xarray(vfa.to_xarray().astype(np.float32) + 1)
        return [float(v) for v in out.to_xarray(chunks=False).values.reshape(-1)[:3]]
    finally:
        database.restore()
        database.close()


def test_a_process_forked_after_a_write_writes_too(demo: db.Database) -> None:
    """A child forked after the parent wrote finds its value ranges in threads of its own
    (the parent's helper threads are not in it: it waited for them for ever). Nothing
    is computed by dask in the parent's main thread: dask's own pool of threads for it
    would not be in the child either."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    source = vfa.to_xarray(chunks=False)  # numpy: its range found by a helper thread
    vfa.new_sibling(SeriesDescription="in the parent").set_xarray(source * 2)
    expected = [float(v) + 1 for v in source.values.reshape(-1)[:3]]
    demo.restore()
    demo.close()
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_write_in_child, (str(demo.path),)).get(timeout=60)
    assert got == pytest.approx(expected, abs=0.01)


def test_a_small_dask_array_that_fails_leaves_nothing_written(demo: db.Database) -> None:
    """What the computation of a small dask array raises (or the range of numpy data,
    found on a helper thread), or the headers' side, is raised with the computation
    ended and nothing written (no file, no journal line, no index row)."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    source = vfa.to_xarray(chunks={"SliceLocation": 1, "FlipAngle": -1}).astype(np.float32)
    folder = Path(demo.path)
    before = sorted(p for p in folder.rglob("*") if p.is_file() and ".dbdicom" not in p.parts)
    ended: list[int] = []

    def failing(block: np.ndarray) -> np.ndarray:
        if block.size:
            raise OSError("a source file cannot be read")
        return block

    def slow(block: np.ndarray) -> np.ndarray:
        if block.size:  # not dask's call on an empty array for the type
            time.sleep(0.05)
            ended.append(1)
        return block

    with_nan = source.copy(data=source.data.map_blocks(lambda b: b * np.nan, dtype=np.float32))
    unreadable = source.copy(data=source.data.map_blocks(failing, dtype=np.float32))
    bad_attr = source.copy(data=source.data.map_blocks(slow, dtype=np.float32))
    bad_attr.attrs["FlipAngle"] = "not a number"  # refused by the headers' side
    out = vfa.new_sibling(SeriesDescription="never written")
    with pytest.raises(InvalidValueError, match="NaN"):
        out.set_xarray(with_nan)
    with pytest.raises(OSError, match="cannot be read"):
        out.set_xarray(unreadable)
    with pytest.raises(InvalidValueError, match="FlipAngle"):
        out.set_xarray(bad_attr)
    assert len(ended) == bad_attr.data.npartitions  # the computation was not left running
    computed = bad_attr.compute()  # numpy: its range found on a helper thread meanwhile
    with pytest.raises(InvalidValueError, match="FlipAngle"):
        out.set_xarray(computed)
    with pytest.raises(InvalidValueError, match="NaN"):
        out.set_xarray(with_nan.compute())
    assert not [t for t in threading.enumerate() if t.name == "dbdicom-range"]
    assert out.files() == [] and not demo.unsaved
    after = sorted(p for p in folder.rglob("*") if p.is_file() and ".dbdicom" not in p.parts)
    assert after == before
    out.set_xarray(source * 2)  # and the next write goes through
    np.testing.assert_array_equal(out.to_xarray().values, source.values * 2)


def _files_by_source(series: db.Series) -> dict[str, tuple[list[Any], Any]]:
    """Each file of ``series`` by its source: its elements in file order, as read (raw
    bytes but for sequences; the new UIDs and SeriesNumber left out, and the times of the
    write -- InstanceCreationDate/Time, each ContributionDateTime -- which differ between
    writes that straddle a second), and its file meta's."""
    out = {}
    for path in series.files():
        ds = pydicom.dcmread(path)
        elements = []
        for item in ds.get("ContributingEquipmentSequence", []):
            assert "ContributionDateTime" in item
            del item.ContributionDateTime
        for tag in list(ds.keys()):
            item = ds.get_item(tag)  # raw: the value's bytes as written
            if tag not in (0x00080018, 0x0020000E, 0x00200011, 0x00080012, 0x00080013):
                elements.append((int(tag), item.VR, getattr(item, "value", None)))
        meta = [  # its group length and UID: of the new UID's length
            (e.tag, e.value)
            for e in ds.file_meta
            if e.keyword not in ("MediaStorageSOPInstanceUID", "FileMetaInformationGroupLength")
        ]
        out[str(ds.SourceImageSequence[0].ReferencedSOPInstanceUID)] = (elements, meta)
    return out


def test_numpy_a_small_dask_array_and_a_large_one_write_the_same_files(
    demo: db.Database,
) -> None:
    """A small dask array is computed here and written from memory, a large one by dask
    tasks, numpy data directly: three ways to the same headers and pixels (only the new
    UIDs differ), for blocks across two dims."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    lazy = (
        vfa.to_xarray(dims=["SliceLocation", "FlipAngle"], chunks={"SliceLocation": 2})
        .astype(np.float32)
        .chunk({"FlipAngle": 3})
        * 0.75
    )
    assert len(lazy.data.chunks[0]) > 1 and len(lazy.data.chunks[1]) > 1
    written = [vfa.new_sibling(SeriesDescription="copy").set_xarray(lazy.compute())]
    written.append(vfa.new_sibling(SeriesDescription="copy").set_xarray(lazy))
    with dask.config.set({"array.chunk-size": "1 KiB"}):  # block by block, by dask tasks
        written.append(vfa.new_sibling(SeriesDescription="copy").set_xarray(lazy))
    files = [_files_by_source(series) for series in written]
    assert len(files[0]) == lazy.shape[0] * lazy.shape[1]
    assert files[1] == files[0] and files[2] == files[0]
    assert len({series.SeriesInstanceUID for series in written}) == 3
    assert len({series.SeriesNumber for series in written}) == 3  # each new series its own


def test_written_files_read_by_gdcm_dicom3tools_and_simpleitk(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    out = vfa.new_sibling(SeriesDescription="check")
    out.set_xarray(vfa.to_xarray().astype(np.float32) / 3)
    path = out.files()[0]
    elements = read_elsewhere(path, pydicom.dcmread(path).pixel_array)
    assert "DERIVED" in elements["ImageType"].split("\\")
    import SimpleITK as sitk  # the test extra installs it

    image = sitk.ReadImage(path)
    assert image.GetSize()[:2] == (64, 64)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking takes minutes here
)
@given(
    dtype=st.sampled_from(["uint8", "uint16", "int16", "int32", "float32", "float64", "bool"]),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(2, 5), st.integers(2, 5)),
    dims=st.sampled_from(
        [
            ("FlipAngle", "SliceLocation"),
            ("AcquisitionTime", "EchoTime"),
            ("InstanceNumber", "InversionTime"),
        ]
    ),
    seed=st.integers(0, 1000),
)
def test_round_trip_property(
    demo_folder: Path, dtype: str, shape: tuple[int, ...], dims: tuple[str, str], seed: int
) -> None:
    database = db.database(demo_folder, dialog=TerminalDialog(interactive=False))
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        data = rng.random(shape) > 0.5
    elif dtype.startswith("float"):
        data = (rng.normal(size=shape) * 100).astype(dtype)
    else:
        info = np.iinfo(dtype)
        data = rng.integers(max(info.min, -(2**20)), min(info.max, 2**20), shape).astype(dtype)
    coords = {
        dims[0]: np.arange(shape[0], dtype=float) * 2 + 1,
        dims[1]: np.arange(shape[1], dtype=float) * 10 + 5,
    }
    da = xr.DataArray(data, dims=(*dims, "row", "column"), coords=coords)
    study = database.studies()[0]
    first = study.new_series(SeriesDescription="one").set_xarray(da).to_xarray(dims=list(dims))
    span = float(data.max()) - float(data.min())
    exact = data.dtype.kind in "biu" and span <= 65535  # integers in a 16-bit range
    bound = 0.0 if exact else span / 65535
    np.testing.assert_allclose(first.values.astype(float), data.astype(float), atol=bound * 1.0001)
    for d in dims:
        np.testing.assert_allclose(first.coords[d].values, coords[d], atol=1e-6)
    second = study.new_series(SeriesDescription="two").set_xarray(first).to_xarray(dims=list(dims))
    same_dataarray(first, second, atol=bound * 1.0001)
    database.restore()
    database.close()


# ------------------------------------------------------------------ creation from scratch
def test_series_from_scratch_in_a_database_without_folder(tmp_path: Path) -> None:
    values = np.random.default_rng(0).normal(size=(10, 16, 24))
    series = db.series(values)
    series.PatientName = "Random noise"
    series.StudyDate = "20221119"
    series.AcquisitionTime = "120000"
    assert series.database.temporary
    back = series.to_xarray()
    assert back.shape == (10, 16, 24)  # a stack of slices along SliceLocation
    assert np.abs(back.values - values).max() <= np.ptp(values) / 65535
    kept = series.save(tmp_path / "kept")
    assert not kept.temporary
    (again,) = kept.series()
    assert again.PatientName == "Random noise" and again.StudyDate == "20221119"
    for path in again.files()[:1]:
        assert dciodvfy_errors(path) == []
    folder = Path(series.database.path)
    series.database.close()
    assert not folder.exists()  # the temporary folder goes with it
    with pytest.raises(db.DicomError, match="not an empty folder"):
        kept.series()[0].save(tmp_path / "kept")


def test_in_memory_database_supports_editing_and_saves_as_a_folder(tmp_path: Path) -> None:
    database = db.database()
    series = (
        database.new_patient(PatientName="James Bond")
        .new_study(StudyDescription="MRI")
        .new_series(SeriesDescription="Localizer")
    )
    series.set_array(np.ones((3, 8, 8), np.uint16))
    series.EchoTime = 5
    series.copy()
    database.patients()[0].new_study(StudyDescription="other").new_series().zeros((2, 8, 8))
    assert len(database.series()) == 3 and len(database.instances()) == 8
    saved = database.save(tmp_path / "db")
    assert len(saved.instances()) == 8 and saved.patients()[0].PatientName == "James Bond"
    assert db.series((2, 8, 8)).Rows == [8]


def test_subseries(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    sub = vfa.subseries(FlipAngle=10)
    assert sub.parent == vfa.parent and sub.FlipAngle == [10.0]
    assert len(sub.instances()) == 6
    assert not set(sub.SOPInstanceUID) & set(vfa.SOPInstanceUID)
    vfa.instances()[0].image_type = "PHASE"
    phase = vfa.subseries(image_type="PHASE")
    assert len(phase.instances()) == 1


def test_a_subseries_keeps_the_series_attributes_its_source_shares(demo: db.Database) -> None:
    """A helper found a subseries' files without Modality (Type 1), Manufacturer,
    FrameOfReferenceUID, SeriesDate...: copies moved into a new series take its attributes."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    sub = vfa.subseries(FlipAngle=10)
    for keyword in ("Modality", "Manufacturer", "FrameOfReferenceUID", "SeriesDate"):
        assert sub.unique(keyword) == vfa.unique(keyword) != [], keyword
        ds = pydicom.dcmread(sub.files()[0], stop_before_pixels=True)
        assert ds.get(keyword) not in (None, ""), keyword
    assert sub.SeriesInstanceUID != vfa.SeriesInstanceUID and sub.SeriesNumber != vfa.SeriesNumber


@pytest.mark.parametrize(
    ("filters", "said"),
    [
        ({"FlipAngle": 99}, r"subseries\(FlipAngle=99\).*FlipAngle: 2.0, 5.0, 10.0, 15.0\."),
        ({"FlipAngle": 10, "RepetitionTime": 50}, r"FlipAngle: .*; RepetitionTime: 5.0\."),
        ({"FlipAngle": lambda a: a > 90}, r"subseries\(FlipAngle=f\(x\)\): no instance"),
        ({"image_type": "PHASE"}, r"subseries\(image_type=PHASE\): no instance"),
    ],
    ids=["value", "values", "function", "custom"],
)
def test_a_subseries_of_nothing_says_so(
    demo: db.Database, filters: dict[str, Any], said: str
) -> None:
    """Trial I: subseries(FlipAngle=99) added an empty series to the tree without a word.
    It is still an empty series (the original dbdicom's), with a warning naming the values."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    before = len(demo.series())
    with pytest.warns(db.DicomWarning, match=said):
        empty = vfa.subseries(**filters)
    assert empty.instances() == [] and len(demo.series()) == before + 1


def test_dask_array_written_on_a_distributed_cluster_with_processes(demo: db.Database) -> None:
    distributed = pytest.importorskip("distributed")
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray(chunks={"SliceLocation": 2, "FlipAngle": -1}).astype(np.float32) / 4
    expected = da.compute(scheduler="threads")
    out = vfa.new_sibling(SeriesDescription="on a cluster")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        out.set_xarray(da)
    back = out.to_xarray()
    bound = float(expected.max() - expected.min()) / 65535
    assert float(abs(back - expected).max()) <= bound
    assert len(out.instances()) == 24
    assert demo.restore() == 24  # written through the journal: restorable


def test_writing_reports_progress(demo_folder: Path) -> None:
    from recorders import Recorder

    status = Recorder()
    database = db.database(demo_folder, status=status)
    series = database.studies()[0].new_series(SeriesDescription="progress")
    series.set_array(np.zeros((60, 4, 4), np.uint16))
    writing = [s for s in status.steps if s[2] == "Writing"]
    assert writing[-1] == (60, 60, "Writing") and len(writing) == 60
    database.restore()


def test_index_rows_of_written_files_equal_a_fresh_scan(
    database_folder: tuple[Path, Manifest],
) -> None:
    """The writer builds the index rows of its files from the bytes it wrote, and
    the index's categories grow in place: a scan of the folder must agree, in
    every column, for each way a frame's header is made (copied as bytes from
    an uncompressed source; through pydicom from RLE, implicit VR and enhanced
    multi-frame sources; from the template; from datasets given as header)."""
    import pandas as pd

    root, _ = database_folder
    database = db.database(root, dialog=TerminalDialog(interactive=False))
    written = []
    for source in database.series():
        da = source.to_xarray()
        out = source.new_sibling(SeriesDescription=f"{source.SeriesDescription} x 2")
        written.append(out.set_xarray((da * 2).astype(np.float32)))
    vfa = database.series(SeriesDescription="VFA")[0]
    study = vfa.parent
    written.append(study.new_series(SeriesDescription="template").set_array(np.ones((3, 8, 8))))
    given = [pydicom.dcmread(p) for p in vfa.files()[:2]]
    written.append(
        vfa.new_sibling(SeriesDescription="dataset header").set_array(
            np.zeros((2, given[0].Rows, given[0].Columns)), header=given
        )
    )
    lazy = vfa.to_xarray(chunks={"SliceLocation": 2}) * 3
    written.append(vfa.new_sibling(SeriesDescription="dask").set_xarray(lazy))
    rels = {str(Path(p).relative_to(root)).replace("\\", "/") for s in written for p in s.files()}

    def rows() -> pd.DataFrame:
        frame = database.index.frame
        mine = frame[frame["_path"].isin(rels)].sort_values("_path", ignore_index=True)
        return mine.astype(object).where(mine.notna(), None)

    before = rows()
    assert len(before) == len(rels) > 40
    assert set(before["_encapsulated"]) == {False} and (before["_offset"] > 0).all()
    tree = [(s.uid, len(s.instances())) for s in database.series()]
    database.scan()
    after = rows()
    assert list(before.columns) == list(after.columns)
    for col in before.columns:
        assert before[col].tolist() == after[col].tolist(), col
    assert [(s.uid, len(s.instances())) for s in database.series()] == tree
    database.restore()
    database.close()


def test_frames_of_a_multi_frame_source_are_referenced_by_number(
    database_folder: tuple[Path, Manifest],
) -> None:
    """An enhanced multi-frame series round-trips through set_xarray (its
    ``frame`` coordinate names the source frame, it is not a tag), and each
    derived image points at its own frame of the source file."""
    root, _ = database_folder
    database = db.database(root, dialog=TerminalDialog(interactive=False))
    (enhanced,) = database.series(SeriesDescription="ME enhanced")
    da = enhanced.to_xarray()
    assert "frame" in da.coords
    out = enhanced.new_sibling(SeriesDescription="ME x 2")
    out.set_xarray(da * 2)
    (source_uid,) = enhanced.SOPInstanceUID
    seen = set()
    for path in out.files():
        ds = pydicom.dcmread(path)
        (ref,) = ds.SourceImageSequence
        assert ref.ReferencedSOPInstanceUID == source_uid
        seen.add(int(ref.ReferencedFrameNumber))
        (series_ref,) = ds.ReferencedSeriesSequence
        (instance_ref,) = series_ref.ReferencedInstanceSequence
        assert "ReferencedFrameNumber" not in instance_ref
    numbers = da.coords["frame"].values.reshape(-1) + 1
    assert seen == {int(n) for n in numbers} and len(seen) == 8
    back = out.to_xarray()
    np.testing.assert_array_equal(back.values, (da * 2).values)
    assert dciodvfy_errors(out.files()[0]) == []
    database.restore()
    database.close()


def test_new_files_appear_whole_with_or_without_unnamed_files(demo: db.Database) -> None:
    """New files are created without a name and then linked in place (Linux), or
    written as temporary files and renamed: either way complete, nothing left
    over in the journal's temporary folder, the same bytes apart from UIDs."""
    import os
    import sys

    from dbdicom._records import _new_files as _output

    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray().astype(np.float32) / 3
    pid = os.getpid()
    outputs = []
    saved = _output._UNNAMED.pop(pid, None)
    try:
        for unnamed in (True, False):
            if not unnamed:
                _output._UNNAMED[pid] = False  # as where the OS has no unnamed files
            out = vfa.new_sibling(SeriesDescription=f"unnamed {unnamed}")
            outputs.append(out.set_xarray(da))
            if unnamed and sys.platform == "linux":
                assert isinstance(_output._UNNAMED.get(pid), int)  # the path was taken
    finally:
        _output._UNNAMED.pop(pid, None)
        if saved is not None:
            _output._UNNAMED[pid] = saved
    tmp = Path(demo.path) / ".dbdicom" / "journal" / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())
    np.testing.assert_array_equal(outputs[0].to_xarray().values, outputs[1].to_xarray().values)
    for out in outputs:
        assert len(out.files()) == 24
        for path in out.files():
            assert os.stat(path).st_mode & 0o777 == 0o666 & ~_umask()
            read_elsewhere(path, pydicom.dcmread(path).pixel_array)  # complete


def _open_fds() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(sys.platform != "linux", reason="unnamed files (O_TMPFILE) are Linux's")
def test_files_made_ahead_by_a_helper_thread_are_all_used_or_closed(
    demo: db.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where making a file waits for the disk, a helper thread makes the next
    ones ahead: a write through it gives the same images, and index rows equal
    to a fresh scan; a write stopped half-way (here by its progress report)
    closes the files made ahead and not taken, which leave nothing behind."""

    from dbdicom._records import _new_files as _output

    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray().astype(np.float32) / 3
    vfa.new_sibling(SeriesDescription="first").set_xarray(da)  # the lock, /proc/self/fd
    before = _open_fds()
    monkeypatch.setattr(_output, "_WAITS", 0.0)  # as if every file waited for the disk
    started: list[None] = []
    start = _output._Unnamed._start
    monkeypatch.setattr(_output._Unnamed, "_start", lambda self: started.append(start(self)))
    out = vfa.new_sibling(SeriesDescription="made ahead").set_xarray(da)
    assert started and _open_fds() == before
    np.testing.assert_allclose(out.to_xarray().values, da.values, atol=float(da.max()) / 65535)
    rows = demo.index.frame.astype(str)
    demo.scan()
    assert demo.index.frame.astype(str).equals(rows)  # the index: as a fresh scan reads it

    # stopped after 5 of 60 files: the 8 made ahead are closed, not linked
    root = Path(demo.path)
    folder = root / "stopped"
    folder.mkdir()
    items = [(f"stopped/{k}.dcm", None) for k in range(60)]

    def stop(k: int) -> None:
        if k == 4:
            raise KeyboardInterrupt

    frames = np.zeros((60, 4, 4), np.float32)
    encoding = _output.Encoding("uint16", 1.0, 0.0, True)
    header = pydicom.dcmread(vfa.files()[0])
    del header.PixelData
    started.clear()
    with pytest.raises(KeyboardInterrupt):
        _output._write_frames(
            str(root),
            str(root / "tmp"),
            [(r, _copy(header)) for r, _ in items],
            frames,
            encoding,
            stop,
        )
    assert started and _open_fds() == before
    assert sorted(p.name for p in folder.iterdir()) == [f"{k}.dcm" for k in range(5)]

    # what stops the helper reaches the writer, which falls back or says why
    with _output._Unnamed(str(root / "gone"), 20) as ahead:
        ahead._start()
        with pytest.raises(FileNotFoundError):
            ahead.take()
    assert _open_fds() == before
    demo.restore()


def _copy(ds: pydicom.Dataset) -> pydicom.Dataset:
    import copy

    return copy.deepcopy(ds)


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_float_data_as_a_parametric_map(demo: db.Database) -> None:
    """Asked for, float data are written as one Parametric Map: the values exactly
    (NaN kept), the geometry of the source, references to the source frames,
    valid by dciodvfy, read back as float32 on the same grid."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray()
    t1 = (da.mean("FlipAngle") / 7).astype(np.float32)
    t1[0, 0, 0] = np.nan  # a failed fit
    out = vfa.new_sibling(SeriesDescription="T1 map (float)")
    out.set_xarray(t1, kind="parametric map", description="mean over flip angles / 7")
    (path,) = out.files()
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.30"
    assert ds.SeriesInstanceUID == out.uid and ds.StudyInstanceUID == vfa.parent.uid
    assert ds.PatientID == vfa.PatientID and ds.Modality == "MR"
    assert ds.FrameOfReferenceUID == vfa.FrameOfReferenceUID
    sources = {
        item.ReferencedSOPInstanceUID
        for item in ds.SharedFunctionalGroupsSequence[0]
        .DerivationImageSequence[0]
        .SourceImageSequence
    }
    assert sources == set(vfa.SOPInstanceUID)
    assert dciodvfy_errors(path) == []
    (mapping,) = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence
    assert mapping.MeasurementUnitsCodeSequence[0].CodeValue == "1"  # no units attr: none
    back = out.to_xarray()
    assert back.dtype == np.float32 and back.dims == t1.dims
    np.testing.assert_array_equal(back.values, t1.values)  # NaN in the same place
    np.testing.assert_allclose(back.dicom.affine, t1.dicom.affine, atol=1e-5)
    np.testing.assert_allclose(back["SliceLocation"], t1["SliceLocation"], atol=1e-6)
    assert demo.restore() == 1


def test_the_units_attr_of_a_parametric_map_are_its_measurement_units(
    demo: db.Database,
) -> None:
    """The CF ``units`` attr has a home in a Parametric Map: its Real World Value Mapping."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    t1 = vfa.to_xarray().mean("FlipAngle").astype(np.float32)
    out = vfa.new_sibling(SeriesDescription="T1 map (ms)")
    out.set_xarray(t1.assign_attrs(units="ms", long_name="T1"), kind="parametric map")
    (path,) = out.files()
    ds = pydicom.dcmread(path)
    (mapping,) = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence
    (code,) = mapping.MeasurementUnitsCodeSequence
    assert (code.CodeValue, code.CodingSchemeDesignator) == ("ms", "UCUM")
    assert dciodvfy_errors(path) == []
    # spelled as CF writes them: the UCUM code; units with no UCUM code known are not
    # written as if they were one (review: "milliseconds" was written as a UCUM code)
    for units, expected, warned in [("milliseconds", "ms", False), ("a.u.", "1", True)]:
        again = vfa.new_sibling(SeriesDescription=f"T1 map ({units})")
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            again.set_xarray(t1.assign_attrs(units=units), kind="parametric map")
        (path,) = again.files()
        mapping = pydicom.dcmread(path).SharedFunctionalGroupsSequence[0]
        code = mapping.RealWorldValueMappingSequence[0].MeasurementUnitsCodeSequence[0]
        assert (code.CodeValue, code.CodingSchemeDesignator) == (expected, "UCUM")
        units_said = [w for w in said if "UCUM" in str(w.message)]
        assert bool(units_said) == warned
    demo.restore()


def test_boolean_data_as_a_segmentation(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray().isel(FlipAngle=0, drop=True)
    mask = da > float(da.mean())
    out = vfa.new_sibling(SeriesDescription="bright")
    out.set_xarray(mask, kind="segmentation")
    (path,) = out.files()
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4" and ds.Modality == "SEG"
    assert ds.SegmentationType == "BINARY" and int(ds.BitsAllocated) == 1
    assert ds.SegmentSequence[0].SegmentLabel == "bright"
    assert dciodvfy_errors(path) == []
    back = out.to_xarray()
    np.testing.assert_array_equal(back.values.astype(bool), mask.values)
    np.testing.assert_allclose(back.dicom.affine, mask.dicom.affine, atol=1e-5)
    # integers 0/1 are accepted too; a numpy array with source headers also
    array, header = vfa.array(["SliceLocation", "FlipAngle"])
    labels = (array[:, 0, 0] > array.mean()).astype(np.uint8)  # (slice, row, column)
    again = vfa.new_sibling(SeriesDescription="bright (numpy)")
    again.set_array(labels, header[:, 0, 0], kind="segmentation")
    np.testing.assert_array_equal(again.to_xarray().values, labels)
    # pydicom datasets as headers give the geometry too (their values are MultiValues)
    datasets = [pydicom.dcmread(i.files()[0]) for i in header[:, 0, 0]]
    float_map = vfa.new_sibling(SeriesDescription="float (datasets)")
    float_map.set_array(array[:, 0, 0].astype(np.float32), datasets, kind="parametric map")
    np.testing.assert_allclose(
        float_map.to_xarray().dicom.affine, again.to_xarray().dicom.affine, atol=1e-5
    )
    assert demo.restore() == 3


def test_multi_frame_kinds_refuse_what_they_cannot_hold(demo: db.Database) -> None:
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        _refusals(demo)
    assert not [w for w in said if "not stored" in str(w.message)]  # no warning before a refusal


def _refusals(demo: db.Database) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray()
    out = vfa.new_sibling(SeriesDescription="refused")
    with pytest.raises(InvalidValueError, match="same position.*isel"):
        out.set_xarray(da.astype(np.float32), kind="parametric map")  # 4 flip angles a slice
    with pytest.raises(InvalidValueError, match="0 and 1.*threshold"):
        out.set_xarray(da.isel(FlipAngle=0), kind="segmentation")
    with pytest.raises(InvalidValueError, match="kind='volume'.*'parametric map'"):
        out.set_xarray(da, kind="volume")
    with pytest.raises(InvalidValueError, match="complex"):
        out.set_xarray(da.isel(FlipAngle=0) * 1j, kind="parametric map")
    assert out.files() == [] and not demo.unsaved


def test_restore_removes_the_folders_it_emptied(demo: db.Database) -> None:
    """Restoring a write removes its files and the folders they left empty,
    never a folder that still holds something, nor the database folder."""
    root = Path(demo.path)
    before = sorted(p.relative_to(root) for p in root.rglob("*") if ".dbdicom" not in p.parts)
    vfa = demo.series(SeriesDescription="VFA")[0]
    vfa.new_sibling(SeriesDescription="copy").set_xarray(vfa.to_xarray())
    study = vfa.parent
    study.new_series(SeriesDescription="new").set_array(np.zeros((2, 4, 4), np.uint16))
    mine = root / "dbdicom" / "notes.txt"  # something of the user's, next to the writes
    mine.write_text("keep me")
    assert demo.restore() == 26
    after = sorted(p.relative_to(root) for p in root.rglob("*") if ".dbdicom" not in p.parts)
    assert after == sorted([*before, Path("dbdicom"), Path("dbdicom/notes.txt")])
    mine.unlink()
    vfa.new_sibling(SeriesDescription="again").set_xarray(vfa.to_xarray())
    demo.restore()
    assert not (root / "dbdicom").exists() and root.is_dir()


def test_names_in_other_character_sets_survive_a_derived_write(tmp_path: Path) -> None:
    """A derived series keeps the source's names, in its character set, and new
    text (a description with accents, a Greek name) is written so that
    pydicom and a fresh scan read it back as given: UTF-8 and
    Latin-1 sources, derived and made from the template."""
    named_series(tmp_path, "ISO_IR 192", "Müller^Jürgen", "Klinikum Würzburg")
    named_series(tmp_path, "ISO_IR 100", "Gérard^Façade", "Hôpital Nord")
    database = db.database(tmp_path, dialog=TerminalDialog(interactive=False))
    expected = {}
    for source in database.series():
        name = source.PatientName
        institution = pydicom.dcmread(source.files()[0]).InstitutionName  # not in the index
        derived = source.new_sibling(SeriesDescription="derived")
        derived.set_xarray(source.to_xarray() * 2, description="× 2, über alles")
        renamed = source.new_sibling(SeriesDescription="Ελληνικά", ProtocolName="été")
        renamed.set_xarray(source.to_xarray())
        made = source.parent.new_series(SeriesDescription="modèle")
        made.set_array(np.ones((2, 16, 16)))
        for series, description in [(derived, "derived"), (renamed, "Ελληνικά")]:
            expected.update({f: (name, institution, description) for f in series.files()})
        expected.update({f: (name, None, "modèle") for f in made.files()})
    assert len(expected) == 16
    for path, (name, institution, description) in expected.items():
        ds = pydicom.dcmread(path)
        assert (str(ds.PatientName), ds.SeriesDescription) == (name, description), path
        if description == "derived":
            assert ds.DerivationDescription == "× 2, über alles", path
            # new text that the source's character set encodes stays in it
            assert ds.SpecificCharacterSet == ("ISO_IR 192" if "ü" in name else "ISO_IR 100")
        if institution is not None:
            assert ds.InstitutionName == institution, path
        if description == "Ελληνικά":
            assert ds.ProtocolName == "été", path
    rels = {str(Path(p).relative_to(tmp_path)).replace("\\", "/") for p in expected}

    def rows() -> dict[str, list[Any]]:
        frame = database.index.frame
        mine = frame[frame["_path"].isin(rels)].sort_values("_path", ignore_index=True)
        return mine.astype(object).where(mine.notna(), None).to_dict("list")

    before = rows()
    assert sorted(before["PatientName"]) == ["Gérard^Façade"] * 8 + ["Müller^Jürgen"] * 8
    database.scan()
    after = rows()
    assert list(after) == list(before)
    for col, values in before.items():
        assert after[col] == values, col
    database.restore()
    database.close()


def test_the_index_forgets_the_series_restore_removed(demo: db.Database) -> None:
    """Written and restored again and again, the index does not keep the UIDs
    and descriptions of the series it no longer has (each one made its
    appends slower)."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray()
    for k in range(4):
        vfa.new_sibling(SeriesDescription=f"try {k}").set_xarray(da)
        demo.restore()
    vfa.new_sibling(SeriesDescription="kept").set_xarray(da)
    frame = demo.index.frame
    for col in ("SeriesInstanceUID", "SeriesDescription"):
        assert sorted(frame[col].cat.categories) == sorted(frame[col].dropna().unique()), col
    assert "kept" in set(frame["SeriesDescription"]) and "try 3" not in set(
        frame["SeriesDescription"]
    )
    demo.restore()


def test_an_image_type_coordinate_keeps_frames_apart(demo: db.Database) -> None:
    """Frames told apart by ImageType (water and fat images of a Dixon scan)
    keep its values after DERIVED\\SECONDARY, from the template or from
    their sources, so that they read back as two frames; the copied header's
    own ImageType used to win in files written as bytes."""
    study = demo.studies()[0]
    kinds = np.empty(2, dtype=object)
    kinds[:] = [("ORIGINAL", "PRIMARY", "M", "WATER"), ("ORIGINAL", "PRIMARY", "M", "FAT")]
    da = xr.DataArray(
        np.stack([np.full((8, 8), 100.0), np.full((8, 8), 40.0)]),
        dims=("ImageType", "row", "column"),
        coords={"ImageType": kinds},
    )
    dixon = study.new_series(SeriesDescription="dixon").set_xarray(da)
    water, fat = "DERIVED\\SECONDARY\\M\\WATER", "DERIVED\\SECONDARY\\M\\FAT"  # as labels
    back = dixon.to_xarray()
    assert back.dims == ("ImageType", "row", "column")
    assert set(back.ImageType.values.tolist()) == {water, fat}
    assert float(back.sel(ImageType=[water]).mean()) == 100.0

    derived = dixon.new_sibling(SeriesDescription="dixon x 2").set_xarray(back * 2)
    again = derived.to_xarray()
    assert set(again.ImageType.values.tolist()) == {water, fat}
    assert float(again.sel(ImageType=[fat]).mean()) == 80.0
    demo.restore()


def test_the_folder_of_a_temporary_database_let_go_goes_at_exit(tmp_path: Path) -> None:
    """A database without a folder of its own, let go without close(), left its temporary
    folder in /tmp for ever (540 of them a run of this suite)."""
    code = (
        "import gc, numpy as np, dbdicom as db\n"
        "d = db.database()\n"
        "d.new_patient().new_study().new_series().set_array(np.zeros((2, 4, 4)))\n"
        "print(d.path)\n"
        "del d\n"
        "gc.collect()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("dbdicom-memory-") and not folder.exists()


def test_a_child_killed_with_its_temporary_database_leaves_it_in_the_tests_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """SIGKILL runs no atexit: test_crash.py's killed children left their databases'
    folders (dbdicom-memory-*) in /tmp, two a run. The processes a test starts make
    their temporary files in a folder of pytest's (TMPDIR, set by conftest.py)."""
    code = (
        "import os, signal, dbdicom as db\n"
        "print(db.database().path, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("dbdicom-memory-") and folder.exists()
    assert folder.is_relative_to(tmp_path_factory.getbasetemp()), folder


def test_an_array_of_another_database_is_written_without_its_sources(tmp_path: Path) -> None:
    """Its SOPInstanceUIDs are in no file of this database: an IndexError before (review)."""
    database = db.database(tmp_path)
    series = database.new_patient(PatientName="New^One").new_study().new_series()
    da = db.series(np.arange(32, dtype=np.uint16).reshape(2, 4, 4)).to_xarray()
    series.set_xarray(da)
    assert series.to_xarray().values.tolist() == da.values.tolist()
    assert series.PatientName == "New^One"


def test_small_dask_array_chunked_along_two_dims_written_in_place(demo: db.Database) -> None:
    """Blocks of a grid (two tag dims chunked): each frame's values into its own file."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    source = vfa.to_xarray(chunks={"SliceLocation": 2, "FlipAngle": 3})
    assert len(source.data.chunks[0]) > 1 and len(source.data.chunks[1]) > 1
    flips = xr.DataArray(np.arange(1, source.sizes["FlipAngle"] + 1), dims="FlipAngle")
    derived = (source.astype(np.float32) * flips).assign_attrs(source.attrs)
    out = vfa.new_sibling(SeriesDescription="by flip")
    out.set_xarray(derived)
    back = out.to_xarray(dims=list(source.dims[:-2]))
    np.testing.assert_allclose(back.values, derived.values, atol=derived.values.max() / 65535)
