"""PNG and Zarr exports: windowing, colormaps, names, identical Zarr round trips, laziness."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dask
import dask.array
import matplotlib
import numpy as np
import pydicom
import pytest
import xarray as xr
import zarr
from builders import Manifest
from dask.callbacks import Callback
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from readonly import read_only
from recorders import Recorder

import dbdicom as db
from dbdicom._export import apply_window, decode_zarr, encode_zarr, open_zarr, write_zarr


@pytest.fixture
def database(database_folder: tuple[Path, Manifest]) -> db.Database:
    database = db.database(database_folder[0])
    database.mute()
    return database


@pytest.fixture
def demo(demo_folder: Path) -> db.Database:
    database = db.database(demo_folder)
    database.mute()
    return database


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def _mode(path: Path) -> str:
    with Image.open(path) as image:
        return image.mode


def _values(instance: Any, frame: int = 0) -> np.ndarray:
    """The pixel values of one frame in physical units, read with pydicom."""
    ds = pydicom.dcmread(instance.path)
    pixels = ds.pixel_array if int(ds.get("NumberOfFrames", 1)) == 1 else ds.pixel_array[frame]
    return pixels * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))


def _add_report(series: Any, root: Path) -> None:
    """A Basic Text SR (no pixel data) filed in ``series``."""
    source = pydicom.dcmread(series.files()[0], stop_before_pixels=True)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for keyword in (
        "PatientName",
        "PatientID",
        "StudyInstanceUID",
        "StudyDescription",
        "StudyDate",
        "SeriesInstanceUID",
        "SeriesDescription",
        "SeriesNumber",
    ):
        setattr(ds, keyword, source.get(keyword))
    ds.Modality = "SR"
    ds.InstanceNumber = 99
    ds.save_as(root / "report.dcm", enforce_file_format=True)


# -- PNG ----------------------------------------------------------------------------


def test_png_one_image_per_frame_with_readable_names(
    database: db.Database, database_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    manifest = database_folder[1]
    out = database.export_as_png(tmp_path / "png")
    pngs = sorted(out.rglob("*.png"))
    assert len(pngs) == manifest.n_frames == 35
    assert {len(p.relative_to(out).parts) for p in pngs} == {4}  # patient/study/series/file
    vfa = database.series(SeriesDescription="VFA")[0]
    folder = next(p.parent for p in pngs if p.parent.name == "1_VFA")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{i.InstanceNumber}.png" for i in vfa.instances()
    )
    enhanced = next(p.parent for p in pngs if "enhanced" in p.parent.name)
    assert sorted(p.name for p in enhanced.iterdir()) == [f"1_frame{k}.png" for k in range(1, 9)]
    for p in pngs:
        assert all(c.isalnum() or c in "_-." for c in str(p.relative_to(out)).replace("/", ""))


def test_png_follows_the_window_of_the_header(database: db.Database, tmp_path: Path) -> None:
    ct = database.series(SeriesDescription="CT abdomen")[0]
    instance = ct.instances()[0]
    assert (instance.WindowCenter, instance.WindowWidth) == (40.0, 400.0)
    out = instance.export_as_png(tmp_path / "one")
    (png,) = out.rglob("*.png")
    assert png.relative_to(out).as_posix() == "1_CT_abdomen/1.png" and _mode(png) == "L"
    values = _values(instance)
    expected = np.round(apply_window(values, 40.0, 400.0) * 255).astype(np.uint8)
    np.testing.assert_array_equal(_png(png), expected)

    # a window centred on one pixel's value: that pixel mid-grey, lower values black
    centre = float(values.ravel()[100])
    instance.WindowCenter, instance.WindowWidth = centre, 201.0
    out = instance.export_as_png(tmp_path / "again")
    (png,) = out.rglob("*.png")
    pixels = _png(png)
    assert set(pixels[values == centre].tolist()) == {128}
    assert (pixels[values < centre - 100.5] == 0).all() and (pixels[values < centre - 100.5]).size
    assert (pixels[values > centre + 100.5] == 255).all()
    assert 0 < pixels[np.abs(values - centre) < 50].min() < 255


def test_png_without_a_window_spans_the_frame(demo: db.Database, tmp_path: Path) -> None:
    t2 = demo.series(SeriesDescription="T2w")[0]
    t2.WindowCenter, t2.WindowWidth = None, None
    assert t2.WindowCenter == []
    out = t2.export_as_png(tmp_path / "t2")
    pngs = sorted(out.rglob("*.png"))
    assert len(pngs) == 6
    for instance in t2.instances():
        png = out / "2_T2w" / f"{instance.InstanceNumber}.png"
        expected = np.round(apply_window(_values(instance)) * 255).astype(np.uint8)
        np.testing.assert_array_equal(_png(png), expected)
        assert expected.min() == 0 and expected.max() == 255


def test_png_of_a_multi_frame_file_uses_the_window_of_each_frame(
    database: db.Database, tmp_path: Path
) -> None:
    enhanced = database.series(SeriesDescription="ME enhanced")[0]
    out = enhanced.export_as_png(tmp_path / "mf")
    instance = enhanced.instances()[0]
    da = enhanced.to_xarray()
    assert (da.attrs["WindowCenter"], da.attrs["WindowWidth"]) == (2047.5, 4095.0)
    for k in range(8):
        expected = np.round(apply_window(_values(instance, k), 2047.5, 4095.0) * 255)
        np.testing.assert_array_equal(
            _png(next(out.rglob(f"1_frame{k + 1}.png"))), expected.astype(np.uint8)
        )


def test_png_honours_the_colormap(demo: db.Database, tmp_path: Path) -> None:
    vfa = demo.series(SeriesDescription="VFA")[0]
    vfa.colormap = "viridis"
    out = vfa.studies().export_as_png(tmp_path / "study")
    vfa_pngs = sorted(out.rglob("3_VFA/*.png"))
    assert len(vfa_pngs) == 24
    instance = vfa.instances()[5]
    png = out / "3_VFA" / f"{instance.InstanceNumber}.png"
    assert _mode(png) == "RGB"
    grey = apply_window(_values(instance), instance.WindowCenter, instance.WindowWidth)
    expected = matplotlib.colormaps["viridis"](grey, bytes=True)[..., :3]
    pixels = _png(png)
    np.testing.assert_array_equal(pixels, expected)
    below = grey == 0  # below the window: the colormap's first colour
    assert below.any()
    first = matplotlib.colormaps["viridis"](0.0, bytes=True)[:3]
    assert {tuple(p) for p in pixels[below].tolist()} == {tuple(first)}
    assert {_mode(p) for p in out.rglob("2_T2w/*.png")} == {"L"}  # no colormap: grey


def test_png_of_monochrome1_is_inverted() -> None:
    from dbdicom._export._png import _png_pixels, _PngFrame

    values = np.array([[0.0, 100.0]])
    frame = _PngFrame(center=50.0, width=100.0, inverted=True, colormap=None, number=1, frames=1)
    assert _png_pixels(values, frame, None).tolist() == [[255, 0]]


@pytest.mark.parametrize(
    ("method", "last"),
    [("export_as_png", (35, 35, "Exporting PNG")), ("export_as_zarr", (6, 6, "Exporting Zarr"))],
)
def test_exports_report_progress(
    database_folder: tuple[Path, Manifest], tmp_path: Path, method: str, last: tuple[int, int, str]
) -> None:
    status = Recorder()
    database = db.database(database_folder[0], status=status)
    status.steps.clear()
    getattr(database, method)(tmp_path / "out")
    assert status.steps[-1] == last
    assert [s[0] for s in status.steps] == list(range(1, last[0] + 1))


# -- Zarr ---------------------------------------------------------------------------


def _stores(out: Path) -> dict[str, Path]:
    return {p.name: p for p in out.rglob("*.zarr")}


def test_zarr_round_trip_is_identical_for_every_demo_series(
    demo_folder: Path, tmp_path: Path
) -> None:
    status = Recorder()
    demo = db.database(demo_folder, status=status)
    out = demo.export_as_zarr(tmp_path / "zarr")
    stores = _stores(out)
    assert sorted(stores) == [
        "1_CT_phantom.zarr",
        "1_T2w_sag.zarr",
        "1_localiser_1.zarr",
        "1_localiser_2.zarr",
        "1_localiser_3.zarr",
        "2_T2w.zarr",
        "3_VFA.zarr",
    ]
    assert any(
        "one Zarr store per group" in m and "1_localiser_1.zarr" in m for m in status.messages
    )
    assert {len(p.relative_to(out).parts) for p in stores.values()} == {3}  # patient/study/x.zarr
    for series in demo.series():
        number, description = series.SeriesNumber, series.SeriesDescription
        stem = f"{number}_{description.replace(' ', '_')}"
        if description == "localiser":
            expected = series.to_xarrays()
            names = [f"{stem}_{k}.zarr" for k in (1, 2, 3)]
        else:
            expected = [series.to_xarray()]
            names = [f"{stem}.zarr"]
        for name, da in zip(names, expected, strict=True):
            back = open_zarr(stores[name])
            assert isinstance(back.data, dask.array.Array)  # lazy until asked
            xr.testing.assert_identical(back.compute(), da.compute())
            np.testing.assert_array_equal(back.dicom.affine, da.dicom.affine)
            for key in ("ImageOrientationPatient", "PixelSpacing"):
                assert isinstance(back.attrs[key], np.ndarray)
                np.testing.assert_array_equal(back.attrs[key], da.attrs[key])
            assert back.attrs["ImageType"] == da.attrs["ImageType"]
            if "ImagePositionPatient[0]" in da.coords:
                np.testing.assert_array_equal(back.dicom.position, da.dicom.position)


def test_zarr_round_trip_of_an_enhanced_multi_frame_series(
    database: db.Database, tmp_path: Path
) -> None:
    enhanced = database.series(SeriesDescription="ME enhanced")[0]
    out = enhanced.export_as_zarr(tmp_path / "mf")
    (store,) = out.rglob("*.zarr")
    assert store.name == "2_ME_enhanced.zarr"
    da = enhanced.to_xarray()
    assert da["DimensionIndexValues[0]"].dtype == np.float64 and "frame" in da.coords
    xr.testing.assert_identical(open_zarr(store).compute(), da.compute())
    # the whole database: one store per series, each identical
    out = database.export_as_zarr(tmp_path / "all")
    stores = _stores(out)
    assert len(stores) == len(database.series()) == 6
    rle = database.series(SeriesDescription="T1w RLE")[0]
    xr.testing.assert_identical(
        open_zarr(stores["1_T1w_RLE.zarr"]).compute(), rle.to_xarray().compute()
    )


def test_zarr_stores_are_plain_zarr_and_xarray_data(demo: db.Database, tmp_path: Path) -> None:
    """Without dbdicom the store opens too: the image with zarr, coordinates with xarray."""
    t2 = demo.series(SeriesDescription="T2w")[0]
    da = t2.to_xarray()
    out = t2.export_as_zarr(tmp_path / "t2")
    (store,) = out.rglob("*.zarr")
    group = zarr.open_group(store, mode="r")
    attrs: dict[str, Any] = group.attrs.asdict()
    assert group.metadata.zarr_format == 3 and attrs["ome"]["version"] == "0.5"
    image = group["0"]
    assert isinstance(image, zarr.Array)
    assert image.metadata.dimension_names == ("z", "y", "x")  # type: ignore[union-attr]
    np.testing.assert_array_equal(image[:], da.values)  # an axial stack: z, y, x as it was
    plain = xr.open_dataset(store, group="dbdicom", engine="zarr", consolidated=False)
    assert plain.attrs["PixelSpacing"] == [3.75, 3.75]
    encoding = plain.attrs["_dbdicom_encoding"]
    assert encoding["format"] == "dbdicom-zarr" and encoding["version"] == 2
    assert encoding["name"] == "T2w"
    assert encoding["arrays"]["PixelSpacing"] == "<f8"
    assert plain["ImagePositionPatient[0]"].values[0] == -118.125
    assert "affine" not in plain.attrs
    assert plain["SOPInstanceUID"].values.tolist() == da["SOPInstanceUID"].values.tolist()
    rebuilt = xr.DataArray(image[:], dims=da.dims, coords=plain.coords, attrs=plain.attrs)
    xr.testing.assert_identical(decode_zarr(rebuilt), da.compute())


def test_zarr_is_written_chunk_by_chunk(demo: db.Database, tmp_path: Path) -> None:
    """No task computes more than one chunk: the array is never held whole."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    whole = vfa.to_xarray().nbytes
    frame = 64 * 64 * 2

    class Largest(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.largest = 0
            self.tasks = 0

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, id: Any) -> None:
            self.tasks += 1
            if isinstance(result, np.ndarray):
                self.largest = max(self.largest, result.nbytes)

    unfused = dask.config.set({"optimization.fuse.active": False})  # to see each read
    with unfused, Largest() as spy:
        out = vfa.export_as_zarr(tmp_path / "z", chunks={"SliceLocation": 1, "FlipAngle": 1})
    assert spy.tasks >= 24 and spy.largest == frame < whole
    (store,) = out.rglob("*.zarr")
    back = open_zarr(store)
    assert back.chunks == ((1,) * 6, (1,) * 4, (64,), (64,))
    xr.testing.assert_identical(back.compute(), vfa.to_xarray().compute())


def test_write_zarr_of_a_large_lazy_array(tmp_path: Path) -> None:
    """A lazy array bigger than any chunk, with irregular chunks: written block by block."""
    data = dask.array.random.default_rng(0).random((40, 64, 64), chunks=((7, 13, 20), 64, 64))
    da = xr.DataArray(data, dims=["n", "row", "column"], name="noise")

    class Largest(Callback):
        largest = 0

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, id: Any) -> None:
            if isinstance(result, np.ndarray):
                type(self).largest = max(type(self).largest, result.nbytes)

    with dask.config.set({"optimization.fuse.active": False}), Largest():
        write_zarr(da, tmp_path / "noise.zarr")
    assert 0 < Largest.largest <= 20 * 64 * 64 * 8 < da.nbytes
    back = open_zarr(tmp_path / "noise.zarr")
    assert back.chunks is not None and back.chunks[0] == (1,) * 40  # one channel a chunk
    xr.testing.assert_identical(back.compute(), da.compute())


def test_zarr_encoding_of_unusual_values(tmp_path: Path) -> None:
    positions = np.empty(3, dtype=object)
    positions[:] = [(1.0, -0.0, 2.5), None, ((1, 2), "a")]
    mixed = np.empty(3, dtype=object)
    mixed[:] = ["text", None, b"\x00\x01"]
    dates = np.array(["2024-01-15", "NaT", "2024-02-20"], dtype="datetime64[D]")
    attrs = {
        "nan": float("nan"),
        "none": None,
        "flag": True,
        "nested": ((1, 2), ("x",)),
        "empty": (),
        "numpy": np.float32(1.5),
        "bytes": b"\xff",
        "list": [1, "a"],
        "mapping": {"a": (1, 2)},
        "ints": np.arange(6, dtype=np.int16).reshape(2, 3),
        "with_nan": np.array([1.0, np.nan]),
    }
    da = xr.DataArray(
        np.arange(12, dtype=np.float32).reshape(3, 2, 2),
        dims=["n", "row", "column"],
        coords={
            "n": [10, 20, 30],
            "positions": ("n", positions),
            "mixed": ("n", mixed),
            "dates": ("n", dates),
            "uid": ("n", np.array(["1.2", "1.3", ""])),
            "scalar": ((), 5.0, {"units": ("mm", "mm")}),
        },
        attrs=attrs,
        name=None,
    )
    write_zarr(da, tmp_path / "odd.zarr")
    back = open_zarr(tmp_path / "odd.zarr").compute()
    assert back.name is None
    assert np.isnan(back.attrs.pop("nan")) and np.isnan(back.attrs["with_nan"][1])
    da.attrs.pop("nan")
    xr.testing.assert_identical(back, da)
    assert back["positions"].values.tolist() == [(1.0, -0.0, 2.5), None, ((1, 2), "a")]
    assert back["dates"].dtype == da["dates"].dtype and back["dates"].dtype.kind == "M"
    assert back["scalar"].attrs == {"units": ("mm", "mm")}
    assert type(back.attrs["numpy"]) is np.float32 and back.attrs["ints"].dtype == np.int16
    assert encode_zarr(da).attrs["_dbdicom_encoding"]["json"] == [
        "nested",
        "numpy",
        "bytes",
        "mapping",
        "with_nan",
    ]


def test_zarr_of_one_instance(database: db.Database, tmp_path: Path) -> None:
    instance = database.series(SeriesDescription="VFA")[0].instances()[3]
    out = instance.export_as_zarr(tmp_path / "one")
    (store,) = out.rglob("*.zarr")
    assert store.relative_to(out).as_posix() == "1_VFA.zarr"
    back = open_zarr(store).compute()
    assert back.sizes["row"] == 32 and back["SOPInstanceUID"].values.ravel().tolist() == [
        instance.SOPInstanceUID
    ]
    np.testing.assert_array_equal(back.values.reshape(32, 32), _values(instance))


# -- bad input ----------------------------------------------------------------------


def test_instances_without_an_image_are_skipped_with_a_message(
    database_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    root, manifest = database_folder
    vfa = db.database(root).series(SeriesDescription="VFA")[0]
    _add_report(vfa, root)
    plan = get_testdata_file("rtplan.dcm")
    assert plan is not None
    shutil.copy(plan, root / "rtplan.dcm")
    status = Recorder()
    database = db.database(root, status=status)
    assert len(database.series(SeriesDescription="VFA")[0].instances()) == 13

    out = database.export_as_png(tmp_path / "png")
    assert len(list(out.rglob("*.png"))) == manifest.n_frames
    assert any("'1: VFA': 1 instance(s) without an image skipped" in m for m in status.messages)
    assert any("skipped: holds no image" in m for m in status.messages)
    assert not list(out.rglob("99.png"))

    status.messages.clear()
    out = database.export_as_zarr(tmp_path / "zarr")
    stores = _stores(out)
    assert len(stores) == 6  # the plan gives none
    assert any("without an image skipped" in m for m in status.messages)
    back = open_zarr(stores["1_VFA.zarr"]).compute()
    assert back.sizes["SliceLocation"] * back.sizes["FlipAngle"] == 12


@pytest.mark.parametrize("method", ["export_as_png", "export_as_zarr"])
def test_export_to_a_file_or_read_only_folder(
    database: db.Database, tmp_path: Path, method: str
) -> None:
    file = tmp_path / "a.txt"
    file.write_text("mine")
    with pytest.raises(NotADirectoryError, match="is a file"):
        getattr(database, method)(file)
    assert file.read_text() == "mine"
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(locked, "mode"), pytest.raises(PermissionError, match="read-only"):
        getattr(database, method)(locked)
    assert list(locked.iterdir()) == []
    with read_only(locked), pytest.raises(PermissionError):
        getattr(database.series()[0], method)(locked / "new")
    assert list(locked.iterdir()) == []


def test_png_without_matplotlib(
    database: db.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"needs matplotlib: pip install 'matplotlib>="):
        database.export_as_png(tmp_path / "png")
    assert not (tmp_path / "png").exists()


def test_open_zarr_of_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no Zarr store"):
        open_zarr(tmp_path / "missing.zarr")


def test_open_zarr_of_what_is_not_a_series_store_says_what_to_give(
    database: db.Database, tmp_path: Path
) -> None:
    """Trial K: the export folder (or any folder) gave zarr's own GroupNotFoundError."""
    series = database.series(SeriesDescription="CT abdomen")[0]
    out = Path(series.export_as_zarr(tmp_path / "export"))
    (store,) = out.rglob("*.zarr")
    with pytest.raises(db.InvalidFileError, match=f"export folder.*{store.name}") as info:
        db.open_zarr(store.parent)
    assert str(store.parent) in str(info.value)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not Zarr")
    with pytest.raises(db.InvalidFileError, match="notes.txt.*export_as_zarr"):
        db.open_zarr(tmp_path / "other")
    with pytest.raises(db.InvalidValueError, match="storage_options"):
        db.open_zarr(store, storage_options={"anon": True})
    assert db.open_zarr(store).shape == series.to_xarray().shape


# -- command line -------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbdicom", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_export_png_and_zarr(database_folder: tuple[Path, Manifest], tmp_path: Path) -> None:
    root, manifest = database_folder
    out = run("export", str(root), "--to", "png", "--out", str(tmp_path / "png"))
    assert out.returncode == 0, out.stderr
    assert "Exported png" in out.stdout
    assert len(list((tmp_path / "png").rglob("*.png"))) == manifest.n_frames
    out = run("export", str(root), "--to", "zarr", "--out", str(tmp_path / "z"), "--series", "T2w")
    assert out.returncode == 0, out.stderr
    (store,) = (tmp_path / "z").rglob("*.zarr")
    t2 = db.database(root).series(SeriesDescription="T2w")[0]
    xr.testing.assert_identical(open_zarr(store).compute(), t2.to_xarray().compute())
    file = tmp_path / "file.txt"
    file.write_text("mine")
    out = run("export", str(root), "--to", "zarr", "--out", str(file))
    assert out.returncode == 1 and "is a file" in out.stderr and "Traceback" not in out.stderr


def test_png_with_a_colormap_matplotlib_does_not_know(
    demo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = Recorder()
    demo = db.database(demo_folder, status=status)
    t2 = demo.series(SeriesDescription="T2w")[0]
    t2.colormap = "magma"
    t2.save()
    monkeypatch.setattr(matplotlib, "colormaps", {})  # e.g. a name from a newer matplotlib
    out = t2.export_as_png(tmp_path / "png")
    assert {_mode(p) for p in out.rglob("*.png")} == {"L"}
    assert [m for m in status.messages if "magma" in m] == [
        "colormap 'magma' is unknown to matplotlib: frames left grey."
    ]


def test_png_skips_frames_that_cannot_be_decoded(
    database_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    status = Recorder()
    database = db.database(database_folder[0], status=status)
    rle = database.series(SeriesDescription="T1w RLE")[0]
    broken = rle.instances()[1]
    ds = pydicom.dcmread(broken.path)
    data = bytearray(Path(broken.path).read_bytes())
    header = data.rfind(bytes(ds.PixelData)[16:80])  # the RLE header of the one fragment
    data[header : header + 4] = (99).to_bytes(4, "little")  # 99 segments: not RLE
    Path(broken.path).write_bytes(bytes(data))
    out = rle.export_as_png(tmp_path / "png")
    assert sorted(p.name for p in out.rglob("*.png")) == ["1.png", "3.png"]
    # the changed file is read again when read: its RLE header is refused at once
    # (the instance skipped, with the reason), or its frame fails to decode
    (skipped,) = [m for m in status.messages if "skipped" in m]
    assert broken.SOPInstanceUID in skipped or Path(broken.path).name in skipped, skipped


def test_a_series_without_description_is_pixels_and_round_trips_from_any_level(
    tmp_path: Path,
) -> None:
    """A new-user trial: its DataArray was named after the dask graph (a token; from a
    database-level export, the folder's path), and a Zarr round trip was not identical.
    Named "pixels" (as a DataTree's variable): to_dataset() and to_dataframe() need a name."""
    from vendor_layouts import Plan, classic_series

    classic_series(tmp_path / "dicom", Plan(slices=2), modality="MR", SeriesDescription="")
    database = db.database(tmp_path / "dicom")
    series = database.series()[0]
    da = series.to_xarray()
    assert da.name == "pixels"
    assert list(da.to_dataset().data_vars) == ["pixels"] and len(da.to_dataframe())
    for record in (series, database):
        out = record.export_as_zarr(tmp_path / f"zarr-{record.level}")
        (store,) = Path(out).rglob("*.zarr")
        back = db.open_zarr(store)
        assert back.name == "pixels"
        xr.testing.assert_identical(back.compute(), da.compute())
    database.close()
