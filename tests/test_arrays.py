"""Series as lazy, labelled DataArrays; the numpy array() API on top of them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydicom
import pytest
import xarray as xr
from builders import Manifest, build_database
from recorders import count_frame_reads

import dbdicom as db
from dbdicom._templates import ct_image, mr_image, new_uid, write_dataset


@pytest.fixture
def opened(database_folder: tuple[Path, Manifest]) -> tuple[db.Database, Manifest]:
    root, manifest = database_folder
    return db.database(root), manifest


class ReadCounter:
    """Counts frames read from files (the real reads still happen)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.frames: list[tuple[str, int]] = count_frame_reads(monkeypatch)


def _physical(path: str) -> np.ndarray:
    ds = pydicom.dcmread(path)
    return pydicom.pixels.apply_rescale(ds.pixel_array, ds)


def test_vfa_dims_coords_and_values(opened: tuple[db.Database, Manifest]) -> None:
    database, manifest = opened
    info = manifest.series_by_description("VFA")
    series = database.series(SeriesDescription="VFA")[0]
    da = series.to_xarray(dims=["SliceLocation", "FlipAngle"])
    assert da.dims == ("SliceLocation", "FlipAngle", "row", "column")
    assert da.shape == (len(info.coords["SliceLocation"]), len(info.coords["FlipAngle"]), 32, 32)
    np.testing.assert_allclose(da.SliceLocation, info.coords["SliceLocation"])
    np.testing.assert_allclose(da.FlipAngle, info.coords["FlipAngle"])
    assert da.attrs["SeriesDescription"] == "VFA"
    assert da.attrs["RepetitionTime"] == 5.0
    by_uid = {i.sop_instance_uid: i for i in info.instances}
    values = da.values
    for (z, t), uid in np.ndenumerate(da.SOPInstanceUID.values):
        inst = by_uid[str(uid)]
        assert inst.frames[0]["FlipAngle"] == pytest.approx(float(da.FlipAngle[t]))
        np.testing.assert_array_equal(values[z, t], inst.pixels)
    # ImagePositionPatient varies with the slice: three float coordinates on that dim
    for i in range(3):
        assert da.coords[f"ImagePositionPatient[{i}]"].dims == ("SliceLocation",)
    assert "ImagePositionPatient" not in da.coords
    position = da.dicom.position  # the same, with a trailing dim xyz
    assert position.dims == ("SliceLocation", "FlipAngle", "xyz")
    # the affine maps (column, row, slice) to LPS mm
    affine = da.dicom.affine
    first = position.values[0, 0]
    np.testing.assert_allclose(affine[:3, 3], first)
    last = position.values[-1, 0]
    n = da.sizes["SliceLocation"] - 1
    np.testing.assert_allclose(affine @ [0, 0, n, 1], [*last, 1])
    # and follows a selection: the affine of slices 1.. starts at slice 1
    np.testing.assert_allclose(
        da.isel(SliceLocation=slice(1, None)).dicom.affine[:3, 3], position.values[1, 0]
    )


def test_auto_dims(opened: tuple[db.Database, Manifest]) -> None:
    database, manifest = opened
    assert database.series(SeriesDescription="VFA")[0].to_xarray().dims[:2] == (
        "SliceLocation",
        "FlipAngle",
    )
    ct = database.series(SeriesDescription="CT abdomen")[0].to_xarray()
    assert ct.dims == ("SliceLocation", "row", "column")
    assert np.all(np.diff(ct.SliceLocation.values) > 0)


def test_ct_values_in_hounsfield(opened: tuple[db.Database, Manifest]) -> None:
    database, manifest = opened
    series = database.series(SeriesDescription="CT abdomen")[0]
    da = series.to_xarray()
    assert da.dtype.kind == "i"
    for z, uid in enumerate(da.SOPInstanceUID.values):
        inst = database.instances(SOPInstanceUID=str(uid))[0]
        np.testing.assert_array_equal(da.values[z], _physical(inst.path))


def test_building_reads_no_pixels_and_selection_reads_one_frame(
    opened: tuple[db.Database, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, manifest = opened
    counter = ReadCounter(monkeypatch)
    series = database.series(SeriesDescription="VFA")[0]
    da = series.to_xarray(dims=["SliceLocation", "FlipAngle"])
    assert counter.frames == []
    flip = float(da.FlipAngle[1])
    one = da.sel(FlipAngle=flip).isel(SliceLocation=2).values
    assert len(counter.frames) == 1
    assert one.shape == (32, 32)
    counter.frames.clear()
    mean = da.mean("FlipAngle").compute()
    assert mean.dims == ("SliceLocation", "row", "column")
    assert len(counter.frames) == da.sizes["SliceLocation"] * da.sizes["FlipAngle"]
    np.testing.assert_allclose(mean.values, da.values.mean(axis=1))


def test_enhanced_multiframe_coords_from_functional_groups(
    opened: tuple[db.Database, Manifest],
) -> None:
    database, manifest = opened
    info = manifest.series_by_description("ME enhanced")
    path = manifest.root / info.files[0]
    before = path.read_bytes()
    series = database.series(SeriesDescription="ME enhanced")[0]
    da = series.to_xarray()
    assert da.dims == ("SliceLocation", "EchoTime", "row", "column")
    assert sorted(da.EchoTime.values.tolist()) == sorted(
        {f["EchoTime"] for f in info.instances[0].frames}
    )
    assert da.sizes["SliceLocation"] * da.sizes["EchoTime"] == info.n_frames
    stored = info.instances[0].pixels
    values = da.values
    frames = da.coords["frame"].values
    for pos, k in np.ndenumerate(frames):
        np.testing.assert_array_equal(values[pos], stored[k])
    assert da.dicom.affine.shape == (4, 4)
    assert path.read_bytes() == before  # never converted or touched


def test_distributed_cluster_with_processes(opened: tuple[db.Database, Manifest]) -> None:
    import distributed

    database, manifest = opened
    da = database.series(SeriesDescription="VFA")[0].to_xarray()
    expected = da.mean("FlipAngle").compute(scheduler="threads")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        result = da.mean("FlipAngle").compute()
    xr.testing.assert_identical(result, expected)


def test_collisions_name_a_further_dim(opened: tuple[db.Database, Manifest]) -> None:
    database, _ = opened
    series = database.series(SeriesDescription="VFA")[0]
    with pytest.raises(db.GridError, match="FlipAngle") as err:
        series.to_xarray(dims=["SliceLocation"])
    assert "more than one frame" in str(err.value)
    assert ".dcm" in str(err.value)  # names the files


def test_bad_dims(opened: tuple[db.Database, Manifest]) -> None:
    database, _ = opened
    series = database.series(SeriesDescription="VFA")[0]
    with pytest.raises(db.UnknownTagError, match="Did you mean 'SliceLocation'"):
        series.to_xarray(dims=["SliceLocaton"])
    with pytest.raises(db.GridError, match="no frame of the series has 'DiffusionBValue'"):
        series.to_xarray(dims=["DiffusionBValue"])


def _mr(folder: Path, name: str, **kw: Any) -> Path:
    rows, cols = kw.pop("shape", (16, 16))
    pixels = np.arange(rows * cols, dtype=np.uint16).reshape(rows, cols)
    return write_dataset(mr_image(pixels, **kw), folder / name)


def test_mixed_orientation_refused_then_split(tmp_path: Path) -> None:
    common = {"SeriesInstanceUID": new_uid(), "StudyInstanceUID": new_uid(), "PatientID": "X"}
    for k in range(4):
        _mr(
            tmp_path,
            f"ax{k}.dcm",
            ImagePositionPatient=[0, 0, 5.0 * k],
            InstanceNumber=k + 1,
            **common,
        )
    _mr(
        tmp_path,
        "loc.dcm",
        ImageOrientationPatient=[0, 1, 0, 0, 0, -1],
        ImagePositionPatient=[0, 0, 0],
        InstanceNumber=9,
        **common,
    )
    series = db.database(tmp_path).series()[0]
    with pytest.raises(db.GeometryError) as err:
        series.to_xarray()
    text = str(err.value)
    assert "4 frames of 16x16, axial" in text and "1 frame of 16x16, sagittal" in text
    assert "to_xarrays" in text
    parts = series.to_xarrays()
    assert [p.sizes.get("SliceLocation") for p in parts] == [4, 1]


def test_mixed_sizes_refused(tmp_path: Path) -> None:
    common = {"SeriesInstanceUID": new_uid(), "StudyInstanceUID": new_uid(), "PatientID": "X"}
    _mr(tmp_path, "a.dcm", ImagePositionPatient=[0, 0, 0], **common)
    _mr(tmp_path, "b.dcm", ImagePositionPatient=[0, 0, 5], shape=(8, 16), **common)
    with pytest.raises(db.GeometryError, match="8x16"):
        db.database(tmp_path).series()[0].to_xarray()


def test_holes_are_named_or_filled(tmp_path: Path) -> None:
    manifest = build_database(tmp_path / "db")
    info = manifest.series_by_description("VFA")
    gone = next(
        i for i in info.instances if i.frames[0]["FlipAngle"] == info.coords["FlipAngle"][-1]
    )
    (manifest.root / gone.path).unlink()
    series = db.database(manifest.root).series(SeriesDescription="VFA")[0]
    with pytest.raises(db.GridError, match="1 empty points"):
        series.to_xarray(dims=["SliceLocation", "FlipAngle"])
    da = series.to_xarray(dims=["SliceLocation", "FlipAngle"], fill=True)
    values = da.values
    assert np.isnan(values).all(axis=(2, 3)).sum() == 1
    assert da.dtype.kind == "f"


def test_tag_absent_from_some_frames(tmp_path: Path) -> None:
    common = {"SeriesInstanceUID": new_uid(), "StudyInstanceUID": new_uid(), "PatientID": "X"}
    _mr(tmp_path, "a.dcm", ImagePositionPatient=[0, 0, 0], InversionTime=100.0, **common)
    path = _mr(tmp_path, "b.dcm", ImagePositionPatient=[0, 0, 5], **common)
    series = db.database(tmp_path).series()[0]
    with pytest.raises(db.GridError, match="have no 'InversionTime'") as err:
        series.to_xarray(dims=["SliceLocation", "InversionTime"])
    assert path.name in str(err.value)


def test_stack_series_along_a_tag(tmp_path: Path) -> None:
    study = {"StudyInstanceUID": new_uid(), "PatientID": "X"}
    for angle in (5.0, 10.0):
        uid = new_uid()
        for k in range(3):
            _mr(
                tmp_path,
                f"fa{angle:.0f}_{k}.dcm",
                SeriesInstanceUID=uid,
                FlipAngle=angle,
                SeriesDescription=f"ax {angle:.0f} flip",
                ProtocolName=f"flip {angle:.0f}",
                ImagePositionPatient=[0, 0, 5.0 * k],
                InstanceNumber=k + 1,
                **study,
            )
    database = db.database(tmp_path)
    ax5 = database.series(SeriesDescription="ax 5 flip")[0]
    ax10 = database.series(SeriesDescription="ax 10 flip")[0]
    da = db.to_xarray([ax5, ax10], dims=["SliceLocation", "FlipAngle"])
    assert da.shape == (3, 2, 16, 16)
    assert da.FlipAngle.values.tolist() == [5.0, 10.0]
    assert db.to_xarray(ax5).shape == (3, 16, 16)
    # the attrs hold what all frames share: not one series' UID and description (a trial)
    for keyword in ("SeriesInstanceUID", "SeriesDescription"):
        assert keyword not in da.attrs
        assert da[keyword].dims == ("FlipAngle",)
    assert da.SeriesInstanceUID.values.tolist() == [ax5.uid, ax10.uid]
    assert da.attrs["StudyInstanceUID"] == study["StudyInstanceUID"]
    # written back, each frame refers to its own series; the new series has one description
    both = ax5.new_sibling(SeriesDescription="both").set_xarray(da)
    for instance in both.instances():
        (referenced,) = instance.ReferencedSeriesSequence
        assert referenced.SeriesInstanceUID == (ax5 if instance.FlipAngle == 5 else ax10).uid
    assert both.SeriesDescription == "both"
    assert both.ProtocolName is None  # the series differ in it: none is the new one's


def test_numpy_array_api(opened: tuple[db.Database, Manifest], tmp_path: Path) -> None:
    database, manifest = opened
    info = manifest.series_by_description("VFA")
    series = database.series(SeriesDescription="VFA")[0]
    array, header = series.array()
    assert array.shape == (info.n_instances, 32, 32)
    assert header.shape == (info.n_instances,)
    assert [h.InstanceNumber for h in header] == sorted(h.InstanceNumber for h in header)
    array, header = series.array(["SliceLocation", "FlipAngle"])
    nz, nt = len(info.coords["SliceLocation"]), len(info.coords["FlipAngle"])
    assert array.shape == (nz, nt, 1, 32, 32)
    assert header.shape == (nz, nt, 1)
    FA = [hdr.FlipAngle for hdr in header[0, :, 0]]
    assert FA == info.coords["FlipAngle"]
    for pos, hdr in np.ndenumerate(header):
        np.testing.assert_array_equal(array[pos], _physical(hdr.path))
    first, _ = series.array(["SliceLocation", "FlipAngle"], pixels_first=True)
    assert first.shape == (32, 32, nz, nt, 1)
    np.testing.assert_array_equal(first[..., 0, 0, 0], array[0, 0, 0])
    # repeats enumerate along n: sorting by slice only leaves the flip angles in n
    by_slice, hdr = series.array("SliceLocation")
    assert by_slice.shape == (nz, nt, 32, 32)
    out = series.export_as_npy(tmp_path / "out", sortby=["SliceLocation", "FlipAngle"])
    assert out.name == "VFA.npy"
    np.testing.assert_array_equal(np.load(out), array)


def test_xarray_backend(
    database_folder: tuple[Path, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, manifest = database_folder
    uid = manifest.series_by_description("CT abdomen").uid
    counter = ReadCounter(monkeypatch)
    da = xr.open_dataarray(root, engine="dbdicom", series=uid, dims=["SliceLocation"])
    assert da.dims == ("SliceLocation", "row", "column")
    assert counter.frames == []  # lazy
    assert da.isel(SliceLocation=1).values.shape == (32, 32)
    assert len(counter.frames) == 1
    chunked = xr.open_dataarray(root, engine="dbdicom", series=uid, chunks={})
    assert chunked.chunks is not None  # dask-backed when asked, as for any backend
    xr.testing.assert_equal(chunked.compute(), da.compute())
    ds = xr.open_dataset(root, engine="dbdicom", series="VFA")
    assert list(ds.data_vars) == ["VFA"]
    with pytest.raises(db.DicomError, match="choose one with group="):
        xr.open_dataarray(root, engine="dbdicom")
    # xarray's CF switches (a trial: decode_times=False was a TypeError): nothing to decode
    for switch in ("decode_times", "mask_and_scale", "use_cftime", "decode_coords"):
        same = xr.open_dataarray(root, engine="dbdicom", series=uid, **{switch: False})
        xr.testing.assert_identical(same, da)


def test_truncated_pixels_error_names_the_file(tmp_path: Path) -> None:
    path = _mr(tmp_path, "a.dcm", ImagePositionPatient=[0, 0, 0], PatientID="X")
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    da = db.database(tmp_path).series()[0].to_xarray()  # building needs no pixels
    with pytest.raises(db.InvalidFileError, match="a.dcm"):
        da.values  # noqa: B018


def test_ct_template_rescale(tmp_path: Path) -> None:
    hu = np.array([[-1000, 0], [40, 1000]], dtype=np.int16)
    write_dataset(ct_image(hu, ImagePositionPatient=[0, 0, 0]), tmp_path / "ct.dcm")
    da = db.database(tmp_path).series()[0].to_xarray()
    np.testing.assert_array_equal(da.values[0], hu)


def test_copy_of_folder_is_independent(
    database_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    root, _ = database_folder
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    a = db.database(root).series(SeriesDescription="VFA")[0].to_xarray()
    b = db.database(copy).series(SeriesDescription="VFA")[0].to_xarray()
    xr.testing.assert_equal(a, b)


def test_larger_chunks_give_the_same_values(opened: tuple[db.Database, Manifest]) -> None:
    database, _ = opened
    series = database.series(SeriesDescription="VFA")[0]
    frames = series.to_xarray(chunks={"SliceLocation": 1, "FlipAngle": 1})
    blocks = series.to_xarray(chunks={"SliceLocation": -1})
    assert blocks.data.npartitions == blocks.sizes["FlipAngle"]
    assert series.to_xarray().data.npartitions == 1  # default: ~16 MiB chunks
    assert frames.data.npartitions == frames.sizes["FlipAngle"] * frames.sizes["SliceLocation"]
    xr.testing.assert_identical(frames.compute(), blocks.compute())
    uneven = series.to_xarray(chunks={"SliceLocation": 3, "FlipAngle": 2})
    xr.testing.assert_identical(frames.compute(), uneven.compute())
    with pytest.raises(db.GridError, match="pixel dims are never split"):
        series.to_xarray(chunks={"row": 16})


def test_one_dim_given_as_a_string(database_folder: tuple[Path, Manifest]) -> None:
    """A trial: dims="SliceLocation" was read letter by letter ("'S' is not a DICOM keyword");
    xarray users give one name as a str. Every method that takes dims takes it so."""
    root, manifest = database_folder
    database = db.database(root)
    ct = database.series(SeriesDescription="CT abdomen")[0]
    listed = ct.to_xarray(dims=["SliceLocation"])
    assert listed.dims == ("SliceLocation", "row", "column")
    xr.testing.assert_identical(ct.to_xarray(dims="SliceLocation"), listed)
    xr.testing.assert_identical(ct.to_xarrays("SliceLocation")[0], listed)
    xr.testing.assert_identical(
        db.to_xarray([ct], "SliceLocation"), db.to_xarray([ct], ["SliceLocation"])
    )
    assert ct.to_kerchunk("SliceLocation") == ct.to_kerchunk(["SliceLocation"])
    uid = manifest.series_by_description("CT abdomen").uid
    opened = xr.open_dataarray(root, engine="dbdicom", series=uid, dims="SliceLocation")
    assert opened.dims == listed.dims
    vfa = database.series(SeriesDescription="VFA")[0]
    with pytest.raises(db.GridError, match="FlipAngle"):  # the one dim given, not its letters
        vfa.to_xarray(dims="SliceLocation")
    for names in (
        np.array(["SliceLocation"]),
        pd.Index(["SliceLocation"]),
        {"SliceLocation": 1}.keys(),
    ):
        # (review: as the code before took them, through list(dims))
        xr.testing.assert_identical(ct.to_xarray(dims=names), listed)
    with pytest.raises(db.InvalidValueError, match="dims must be a DICOM keyword"):
        ct.to_xarray(dims=5)  # type: ignore[arg-type]
    with pytest.raises(db.InvalidValueError, match="in their order"):  # a set has none
        ct.to_xarray(dims={"SliceLocation"})
    with pytest.raises(db.InvalidValueError, match="dims are named by DICOM keywords"):
        ct.to_xarray(dims=["SliceLocation", 5])  # type: ignore[list-item]
    database.close()


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ("auto", ((4,), (3,))),  # dask chooses: 24 kB fit its array.chunk-size
        (2, ((2, 2), (2, 1))),  # along every tag dim, as dask takes an int
        (-1, ((4,), (3,))),
        ({"SliceLocation": None}, ((4,), (1, 1, 1))),  # None or -1: the whole dim, as dask
        ({"SliceLocation": -1, "FlipAngle": "auto"}, ((4,), (3,))),
        ({}, ((4,), (3,))),  # the default
    ],
    ids=["auto", "int", "minus-one", "dict-none", "dict-auto", "empty-dict"],
)
def test_chunks_as_dask_takes_them(
    opened: tuple[db.Database, Manifest], chunks: Any, expected: tuple[tuple[int, ...], ...]
) -> None:
    """A trial: chunks="auto" (the usual idiom) was read letter by letter as dim names."""
    database, _ = opened
    series = database.series(SeriesDescription="VFA")[0]
    da = series.to_xarray(chunks=chunks)
    assert da.chunks is not None
    assert da.chunks[:2] == expected and da.chunks[2:] == ((32,), (32,))  # frames whole
    xr.testing.assert_identical(da.compute(), series.to_xarray().compute())


def test_chunks_auto_follows_dask_config(opened: tuple[db.Database, Manifest]) -> None:
    import dask

    database, _ = opened
    series = database.series(SeriesDescription="VFA")[0]  # frames of 32 x 32 uint16: 2 kB
    with dask.config.set({"array.chunk-size": "4kiB"}):
        chunks = series.to_xarray(chunks="auto").chunks
    assert chunks is not None
    assert max(chunks[0]) * max(chunks[1]) <= 2 and chunks[2:] == ((32,), (32,))
    sized = series.to_xarray(chunks={"SliceLocation": "4kiB", "FlipAngle": -1}).chunks
    assert sized is not None and sized[:2] == ((1, 1, 1, 1), (3,))


@pytest.mark.parametrize(
    "chunks",
    [
        2.5,
        -5,
        0,
        "fast",
        [1, 2],
        {"SliceLocation": -3},
        {"SliceLocation": 0},
        {"SliceLocation": 1.5},
        {"SliceLocation": True},
    ],
    ids=[
        "float",
        "negative",
        "zero",
        "word",
        "list",
        "dict-negative",
        "dict-zero",
        "dict-float",
        "dict-bool",
    ],
)
def test_chunks_that_mean_nothing_are_refused(
    opened: tuple[db.Database, Manifest], chunks: Any
) -> None:
    """A trial: chunks=2.5 was a raw TypeError, {"SliceLocation": -3} or 0 one frame a chunk."""
    database, _ = opened
    series = database.series(SeriesDescription="VFA")[0]
    with pytest.raises(db.InvalidValueError, match="chunks") as caught:
        series.to_xarray(chunks=chunks)
    assert "-1" in str(caught.value)  # says what chunks may be


def test_a_tag_not_in_the_index_as_a_dim(
    opened: tuple[db.Database, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any tag can be a dim: read from the series' files once, then remembered."""
    import dbdicom._index._files as index_module  # where the index reads a file

    database, manifest = opened
    info = manifest.series_by_description("VFA")
    series = database.series(SeriesDescription="VFA")[0]
    reads: list[str] = []
    original = index_module.read_any_header
    monkeypatch.setattr(
        index_module, "read_any_header", lambda p, w: reads.append(p) or original(p, w)
    )
    da = series.to_xarray(dims=["SliceLocation", "FlipAngle", "PatientPosition"])
    assert da.dims[:3] == ("SliceLocation", "FlipAngle", "PatientPosition")
    assert da.PatientPosition.values.tolist() == ["HFS"]
    assert len(reads) == info.n_instances  # only this series' files
    reads.clear()
    series.to_xarray(dims=["SliceLocation", "FlipAngle", "PatientPosition"])
    assert reads == []


@pytest.mark.parametrize(
    "chunks", [None, {"SliceLocation": 1, "FlipAngle": 1}], ids=["auto", "frame"]
)
def test_any_selection_reads_only_its_frames(
    opened: tuple[db.Database, Manifest], monkeypatch: pytest.MonkeyPatch, chunks: Any
) -> None:
    """Whatever the chunks, indexing along tag dims reads only the frames selected."""
    database, _ = opened
    series = database.series(SeriesDescription="VFA")[0]
    full = series.to_xarray().values
    counter = ReadCounter(monkeypatch)
    da = series.to_xarray(chunks=chunks)
    cases = [
        (lambda a: a.isel(SliceLocation=1, FlipAngle=2), full[1, 2], 1),
        (lambda a: a.isel(SliceLocation=-1), full[-1], 3),
        (lambda a: a.isel(SliceLocation=[0, 2]), full[[0, 2]], 6),
        (
            lambda a: a.isel(SliceLocation=slice(None, None, 2), FlipAngle=[2, 0]),
            full[::2][:, [2, 0]],
            4,
        ),
        (lambda a: a.isel(FlipAngle=1, row=slice(0, 5), column=3), full[:, 1, 0:5, 3], 4),
        (lambda a: a.sel(FlipAngle=a.FlipAngle[0]).isel(SliceLocation=2), full[2, 0], 1),
    ]
    for select, expected, n_frames in cases:
        counter.frames.clear()
        np.testing.assert_array_equal(select(da).values, expected)
        assert len(counter.frames) == n_frames
    with pytest.raises(IndexError):
        da.isel(SliceLocation=10)


def test_a_slice_location_stored_alike_for_slices_apart_is_worked_out(tmp_path: Path) -> None:
    """A trial: an exporter wrote SliceLocation 0 in every file of a clean 3 mm stack; the
    series stacked along 'frame', had no affine, and NIfTI blamed uneven slices. The
    position along the normal is used, as where no SliceLocation is stored; frames that
    share their position too (echoes of one slice) keep the stored value."""
    series = new_uid()
    for k in range(4):
        ds = mr_image(np.full((4, 4), k, np.uint16), SeriesInstanceUID=series)
        ds.SOPInstanceUID = new_uid()
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [0.0, 0.0, 3.0 * k]
        ds.SliceLocation = 0.0
        write_dataset(ds, tmp_path / "db" / f"{k}.dcm")
    da = db.database(tmp_path / "db").series()[0].to_xarray()
    assert da.dims == ("SliceLocation", "row", "column")
    assert np.allclose(np.diff(da.SliceLocation.values), 3.0)
    assert da.dicom.affine[2, 2] == pytest.approx(3.0)
    assert da.values[:, 0, 0].tolist() == [0, 1, 2, 3]
