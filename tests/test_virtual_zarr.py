"""Virtual Zarr: plain xarray + zarr + fsspec, without dbdicom, read the frames in place.

Every reading check runs in a subprocess where ``import dbdicom`` fails
(``sys.modules["dbdicom"] = None``), so it holds for a user who has only
xarray, zarr, fsspec (and imagecodecs for compressed frames). Its values,
dims and numeric coordinates are compared with ``to_xarray()``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import xarray as xr
from builders import Manifest
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import UID, generate_uid

import dbdicom as db
from dbdicom._export import series_references
from dbdicom._files import pixel_format
from dbdicom._templates import ct_image, mr_image, write_dataset

# what a user without dbdicom runs: the store opened by xarray through fsspec's
# reference file system; imagecodecs' numcodecs codecs registered for compressed frames
PLAIN_READER = r"""
import json, sys
sys.modules["dbdicom"] = None  # import dbdicom fails here
import numpy as np, xarray as xr
import imagecodecs.numcodecs
imagecodecs.numcodecs.register_codecs(verbose=False)
for job in json.loads(sys.argv[1]):
    ds = xr.open_dataset(
        "reference://", engine="zarr", group=job["group"],
        backend_kwargs={"storage_options": {"fo": job["refs"]}, "zarr_format": 2,
                        "consolidated": True},
    )
    root = xr.open_dataset(
        "reference://", engine="zarr",
        backend_kwargs={"storage_options": {"fo": job["refs"]}, "zarr_format": 2,
                        "consolidated": True},
    )
    (name,) = ds.data_vars
    da = ds[name]
    numeric = {k: v.values for k, v in da.coords.items() if v.dtype.kind in "biufM"}
    np.savez(job["out"], __values__=da.values, **numeric)
    loaded = sorted(m for m, mod in sys.modules.items() if m.startswith("dbdicom") and mod)
    info = {"dims": list(da.dims), "coord_dims": {k: list(v.dims) for k, v in da.coords.items()},
            "attrs": sorted(da.attrs), "root_attrs": dict(root.attrs), "dbdicom": loaded,
            "uid": da.attrs.get("SeriesInstanceUID")}
    with open(job["out"] + ".json", "w") as f:
        json.dump(info, f)
"""


@dataclass
class Plain:
    """What the plain reader found in one group."""

    values: np.ndarray
    coords: dict[str, np.ndarray]
    dims: list[str]
    coord_dims: dict[str, list[str]]
    attrs: list[str]
    root_attrs: dict[str, Any]
    uid: str


def read_plain(refs: Path, groups: Sequence[str | None], tmp_path: Path) -> list[Plain]:
    """Each group of the reference file ``refs``, as plain xarray reads it without dbdicom."""
    jobs = [
        {"refs": str(refs), "group": g, "out": str(tmp_path / f"plain_{i}.npz")}
        for i, g in enumerate(groups)
    ]
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_READER, json.dumps(jobs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = []
    for job in jobs:
        info = json.loads(Path(job["out"] + ".json").read_text())
        assert info["dbdicom"] == [], "the plain reader imported dbdicom"
        with np.load(job["out"]) as npz:
            coords = {k: npz[k] for k in npz.files if k != "__values__"}
            values = npz["__values__"]
        found.append(
            Plain(
                values,
                coords,
                info["dims"],
                info["coord_dims"],
                info["attrs"],
                info["root_attrs"],
                info["uid"],
            )
        )
    return found


def assert_reads_as(plain: Plain, da: xr.DataArray, tolerance: float = 0.0) -> None:
    """Values, dims and numeric coordinates of ``plain`` equal those of ``da``.

    ``tolerance``: the largest difference allowed (lossy JPEG decoders may
    differ by 1), or -1 for float32 rounding (dbdicom computes fractional
    rescales in float32, xarray in float64).
    """
    assert plain.dims == list(da.dims)
    expected = da.values
    assert plain.values.shape == expected.shape
    if tolerance == 0:
        np.testing.assert_array_equal(plain.values, expected)
    elif tolerance < 0:
        scale = float(np.abs(expected).max()) + 1
        np.testing.assert_allclose(plain.values, expected, rtol=0, atol=4e-7 * scale)
        assert not np.array_equal(plain.values, np.zeros_like(plain.values))
    else:
        np.testing.assert_allclose(plain.values, expected, rtol=0, atol=tolerance)
    numeric = {k: c for k, c in da.coords.items() if c.dtype.kind in "biufM"}
    tag_dims = [d for d in da.dims if d not in ("row", "column", "channel")]
    assert numeric or not tag_dims, "the values of tag dims are numeric coordinates"
    for name, coord in numeric.items():
        assert plain.coord_dims[str(name)] == list(coord.dims), name
        np.testing.assert_array_equal(plain.coords[str(name)], coord.values, err_msg=str(name))


def _copy_shipped(names: Sequence[str], root: Path) -> Path:
    """pydicom's test files, each in a folder of its own (they share series UIDs)."""
    for name in names:
        found = get_testdata_file(name)
        assert found is not None, name
        (root / Path(name).stem).mkdir(parents=True)
        shutil.copyfile(os.fspath(found), root / Path(name).stem / name)
    return root


def image_groups(refs: Path) -> list[str]:
    """The groups of a reference file that hold an image (an array with a ``.zarray``)."""
    keys = json.loads(refs.read_text())["refs"]
    arrays = [k[: -len("/.zarray")] for k in keys if k.endswith("/.zarray")]
    images = [a for a in arrays if "dbdicom-zarr" in keys[f"{a}/.zattrs"]]  # the image's format
    return sorted(a.rsplit("/", 1)[0] if "/" in a else "" for a in images)


def assert_every_series_reads_as(database: db.Database, refs: Path, tmp_path: Path) -> int:
    """Each image group of ``refs`` reads as the DataArray of its series (or geometry group)."""
    groups = image_groups(refs)
    by_uid = {s.SeriesInstanceUID: s for s in database.series()}
    for group, plain in zip(groups, read_plain(refs, groups, tmp_path), strict=True):
        arrays = by_uid[plain.uid].to_xarrays()
        k = int(group.rsplit("_", 1)[1]) - 1 if len(arrays) > 1 else 0
        assert_reads_as(plain, arrays[k])
        assert "dicom_files" in plain.root_attrs
    return len(groups)


def _one_series(folder: Path) -> db.Series:
    database = db.database(folder)
    database.mute()
    (series,) = database.series()
    return series


# ----------------------------------------------------------------------------- templates


def test_the_demo_database_reads_in_place_group_by_group(demo_folder: Path, tmp_path: Path):
    database = db.database(demo_folder)
    database.mute()
    out = database.to_virtual_zarr(tmp_path / "demo.json")
    assert out.skipped == () and out.exported == 5
    # the localiser mixes 3 orientations: one group each, as export_as_zarr's stores
    assert assert_every_series_reads_as(database, out, tmp_path) == 7
    groups = image_groups(out)
    assert all(g.count("/") == 2 for g in groups)  # patient/study/series
    assert [g.rsplit("/", 1)[1] for g in groups if "localiser" in g] == [
        "1_localiser_1",
        "1_localiser_2",
        "1_localiser_3",
    ]


def test_a_series_is_the_root_group_and_reads_as_a_dataarray(demo_folder: Path, tmp_path: Path):
    database = db.database(demo_folder)
    vfa = database.series(SeriesDescription="VFA")[0]
    out = vfa.to_virtual_zarr(tmp_path / "vfa.json")
    (plain,) = read_plain(out, [None], tmp_path)
    da = vfa.to_xarray()
    assert plain.dims == ["SliceLocation", "FlipAngle", "row", "column"]
    assert_reads_as(plain, da)
    assert "affine" not in plain.attrs and "scale_factor" not in plain.attrs
    for k in range(3):  # the geometry: in the coordinates, from which da.dicom.affine comes
        name = f"ImagePositionPatient[{k}]"
        np.testing.assert_array_equal(plain.coords[name], da[name].values)


def test_classic_enhanced_rle_and_implicit_series_of_the_templates(
    database_folder: tuple[Path, Manifest], tmp_path: Path
):
    database = db.database(database_folder[0])
    database.mute()
    out = database.to_virtual_zarr(tmp_path / "all.json")
    assert out.skipped == ()
    assert assert_every_series_reads_as(database, out, tmp_path) == 6
    enhanced = database.series(SeriesDescription="ME enhanced")[0].to_xarray()
    assert enhanced.dims == ("SliceLocation", "EchoTime", "row", "column")
    refs = json.loads(out.read_text())["refs"]
    (rle,) = [g for g in image_groups(out) if g.endswith("T1w_RLE")]
    codecs = json.loads(refs[f"{rle}/T1w_RLE/.zarray"])["compressor"]
    assert codecs == {"id": "imagecodecs_dicomrle", "dtype": "<u2"}


def _ct_series(root: Path, slope: float, intercept: float, pixels: np.ndarray) -> Path:
    series_uid, study_uid = generate_uid(), generate_uid()
    for k, frame in enumerate(pixels):
        ds = ct_image(
            frame,
            SeriesInstanceUID=series_uid,
            StudyInstanceUID=study_uid,
            SeriesDescription="CT rescaled",
            InstanceNumber=k + 1,
            ImagePositionPatient=[0.0, 0.0, 5.0 * k],
            RescaleSlope=slope,
            RescaleIntercept=intercept,
        )
        write_dataset(ds, root / f"CT{k:03d}.dcm")
    return root


def test_ct_rescale_becomes_scale_factor_and_add_offset(tmp_path: Path):
    rng = np.random.default_rng(1)
    stored = rng.integers(0, 4095, (4, 16, 16), dtype=np.uint16)
    series = _one_series(_ct_series(tmp_path / "ct", 1.0, -1024.0, stored))
    da = series.to_xarray()
    assert da.dtype == np.int32 and int(da.min()) < 0  # physical values: HU
    out = series.to_virtual_zarr(tmp_path / "ct.json")
    zattrs = json.loads(json.loads(out.read_text())["refs"]["CT_rescaled/.zattrs"])
    assert (zattrs["scale_factor"], zattrs["add_offset"]) == (1.0, -1024.0)
    (plain,) = read_plain(out, [None], tmp_path)
    assert plain.values.dtype == np.float64  # xarray's CF decoding: equal values, as floats
    assert_reads_as(plain, da)


def test_a_fractional_rescale_agrees_to_float32_rounding(tmp_path: Path):
    rng = np.random.default_rng(2)
    stored = rng.integers(0, 4095, (3, 16, 16), dtype=np.uint16)
    series = _one_series(_ct_series(tmp_path / "ct", 0.37, -1000.25, stored))
    da = series.to_xarray()
    assert da.dtype == np.float32
    (plain,) = read_plain(series.to_virtual_zarr(tmp_path / "ct.json"), [None], tmp_path)
    assert_reads_as(plain, da, tolerance=-1)
    np.testing.assert_allclose(plain.values, stored * 0.37 - 1000.25, rtol=1e-12)


def test_frames_with_different_rescales_are_refused(tmp_path: Path):
    root = _ct_series(tmp_path / "ct", 1.0, -1024.0, np.zeros((2, 8, 8), np.uint16))
    ds = pydicom.dcmread(root / "CT001.dcm")
    ds.RescaleIntercept = -1000
    ds.save_as(root / "CT001.dcm")
    series = _one_series(root)
    with pytest.raises(db.VirtualZarrError, match="Rescale Slope.*Rescale Intercept"):
        series.to_kerchunk()


# ----------------------------------------------------------------------------- shipped files


@pytest.mark.parametrize(
    ("name", "syntax"),
    [
        ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"),  # signed 16 bits
        ("emri_small_big_endian.dcm", "1.2.840.10008.1.2.2"),  # 10 frames, 12 of 16 bits
        ("SC_rgb_expb_16bit_2frame.dcm", "1.2.840.10008.1.2.2"),  # RGB
        ("rtdose_expb.dcm", "1.2.840.10008.1.2.2"),  # 32 bits, 15 frames
        ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),
        ("emri_small_RLE.dcm", "1.2.840.10008.1.2.5"),
        ("rtdose_rle.dcm", "1.2.840.10008.1.2.5"),
        ("JPGLosslessP14SV1_1s_1f_8b.dcm", "1.2.840.10008.1.2.4.70"),
        ("SC_rgb_jpeg_gdcm.dcm", "1.2.840.10008.1.2.4.70"),  # RGB lossless
        ("emri_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),
        ("JPEGLSNearLossless_16.dcm", "1.2.840.10008.1.2.4.81"),
        ("emri_small_jpeg_2k_lossless.dcm", "1.2.840.10008.1.2.4.90"),
        ("US1_J2KI.dcm", "1.2.840.10008.1.2.4.91"),  # YBR_ICT colour
        ("examples_ybr_color.dcm", "1.2.840.10008.1.2.4.50"),  # 30 frames YBR_FULL_422
        ("SC_rgb_jpeg.dcm", "1.2.840.10008.1.2.4.50"),  # RGB, stored without transform
    ],
    ids=lambda v: v.split(".dcm")[0] if v.endswith(".dcm") else UID(v).name[:24],
)
def test_shipped_files_read_in_place(name: str, syntax: str, tmp_path: Path):
    series = _one_series(_copy_shipped([name], tmp_path / "in"))
    assert series.TransferSyntaxUID == [syntax]
    (plain,) = read_plain(series.to_virtual_zarr(tmp_path / "v.json"), [None], tmp_path)
    # an RT Dose's DoseGridScaling (1e-6) is a fractional scale_factor: float32 rounding
    assert_reads_as(plain, series.to_xarray(), tolerance=-1 if "rtdose" in name else 0)


def test_lossy_12_bit_jpeg_agrees_within_the_decoders_rounding(tmp_path: Path):
    # JPEG Extended is lossy: decoders may differ by 1 (libjpeg-turbo here, pydicom's plugin
    # for dbdicom), as the JPEG standard allows
    series = _one_series(_copy_shipped(["JPGExtended.dcm"], tmp_path / "in"))
    (plain,) = read_plain(series.to_virtual_zarr(tmp_path / "v.json"), [None], tmp_path)
    assert_reads_as(plain, series.to_xarray(), tolerance=1)


# ----------------------------------------------------------------------------- made here


def _mr_stack(root: Path, pixels: np.ndarray, **extra: Any) -> list[Path]:
    """A classic MR series from dbdicom's template, one file a slice."""
    series_uid, study_uid = generate_uid(), generate_uid()
    paths = []
    for k, frame in enumerate(pixels):
        ds = mr_image(
            frame,
            SeriesInstanceUID=series_uid,
            StudyInstanceUID=study_uid,
            SeriesDescription="made here",
            InstanceNumber=k + 1,
            ImagePositionPatient=[0.0, 0.0, 4.0 * k],
            **extra,
        )
        paths.append(write_dataset(ds, root / f"IM{k:03d}.dcm"))
    return paths


def _gdcm_jpeg_lossless(path: Path) -> None:
    """Re-encode ``path`` in place as JPEG Lossless SV1 with GDCM (pydicom cannot encode it)."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    assert reader.Read()
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
    change.SetInput(reader.GetImage())
    assert change.Change()
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(path))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    assert writer.Write()


def _recode(path: Path, syntax: str, encode: Any) -> None:
    """Re-encode ``path`` in place: each frame through ``encode``, encapsulated, in ``syntax``."""
    ds = pydicom.dcmread(path)
    frames = [encode(ds.pixel_array)]
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = syntax
    ds.save_as(path, enforce_file_format=True)


@pytest.mark.parametrize("signed", [False, True], ids=["uint16", "int16 HU"])
def test_jpeg_lossless_made_with_gdcm_reads_in_place(signed: bool, tmp_path: Path):
    rng = np.random.default_rng(3)
    if signed:
        pixels = rng.integers(-1024, 3000, (3, 24, 20)).astype(np.int16)
        series_uid, study_uid = generate_uid(), generate_uid()
        paths = []
        for k, frame in enumerate(pixels):
            ds = ct_image(
                frame,
                SeriesInstanceUID=series_uid,
                StudyInstanceUID=study_uid,
                InstanceNumber=k + 1,
                ImagePositionPatient=[0.0, 0.0, 3.0 * k],
                RescaleIntercept=-1024.0,
            )
            paths.append(write_dataset(ds, tmp_path / "in" / f"CT{k}.dcm"))
    else:
        paths = _mr_stack(tmp_path / "in", rng.integers(0, 4000, (3, 24, 20)).astype(np.uint16))
    for path in paths:
        _gdcm_jpeg_lossless(path)
    series = _one_series(tmp_path / "in")
    assert series.TransferSyntaxUID == ["1.2.840.10008.1.2.4.70"]
    out = series.to_virtual_zarr(tmp_path / "v.json")
    refs = json.loads(out.read_text())["refs"]
    (image,) = [k for k in refs if k.endswith("/.zattrs") and "dbdicom-zarr" in refs[k]]
    zarray = json.loads(refs[image.replace(".zattrs", ".zarray")])
    assert zarray["compressor"] == {"id": "imagecodecs_jpeg"}
    assert zarray["dtype"] == ("<i2" if signed else "<u2")
    (plain,) = read_plain(out, [None], tmp_path)
    assert_reads_as(plain, series.to_xarray())


def test_htj2k_made_with_imagecodecs_reads_in_place(tmp_path: Path):
    import imagecodecs

    rng = np.random.default_rng(4)
    paths = _mr_stack(tmp_path / "in", rng.integers(0, 4000, (2, 24, 20)).astype(np.uint16))
    for path in paths:
        _recode(path, "1.2.840.10008.1.2.4.201", lambda a: imagecodecs.htj2k_encode(a))
    series = _one_series(tmp_path / "in")
    da = series.to_xarray()
    assert int(da.max()) > 0
    (plain,) = read_plain(series.to_virtual_zarr(tmp_path / "v.json"), [None], tmp_path)
    assert_reads_as(plain, da)


@pytest.mark.parametrize(
    ("syntax", "reason"),
    [
        ("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264.*video stream"),
        ("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2.*has no numcodecs codec"),
    ],
    ids=["MPEG-4", "JPEG 2000 Part 2"],
)
def test_a_compressed_syntax_without_a_codec_is_refused(syntax: str, reason: str, tmp_path: Path):
    paths = _mr_stack(tmp_path / "in", np.ones((2, 8, 8), np.uint16))
    for path in paths:  # the code stream is never decoded: any bytes do
        _recode(path, syntax, lambda a: b"\x00\x00\x01\xb3" + a.tobytes())
    series = _one_series(tmp_path / "in")
    with pytest.raises(db.VirtualZarrError, match=reason) as caught:
        series.to_virtual_zarr(tmp_path / "v.json")
    assert str(paths[0]) in str(caught.value) or str(paths[1]) in str(caught.value)
    assert "export_as_zarr" in str(caught.value)
    assert not (tmp_path / "v.json").exists()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("image_dfl.dcm", "Deflated.*one zlib stream"),
        ("liver_1frame.dcm", r"\(0028,0100\) 'Bits Allocated' is 1"),
        ("OBXXXX1A.dcm", "PALETTE COLOR"),
        ("SC_ybr_full_uncompressed.dcm", "YBR_FULL: dbdicom converts"),
        ("color-pl.dcm", r"\(0028,0006\) 'Planar Configuration' is 1"),
        ("SC_rgb_rle.dcm", "RLE Lossless colour decodes to colour planes"),
        ("SC_rgb_expb.dcm", "8-bit pixels in 16-bit words"),
        ("J2K_pixelrep_mismatch.dcm", r"'Bits Stored' is 13 of 16 on signed compressed"),
        ("JPEG-LL.dcm", "split over 2 fragments"),
        ("mlut_18.dcm", r"\(0028,3000\) 'Modality LUT Sequence' makes the stored values"),
    ],
    ids=lambda v: v.split(".dcm")[0] if v.endswith(".dcm") else None,
)
def test_frames_no_chunk_can_give_are_refused_with_the_reason(
    name: str, reason: str, tmp_path: Path
):
    series = _one_series(_copy_shipped([name], tmp_path / "in"))
    with pytest.raises(db.VirtualZarrError, match=reason) as caught:
        series.to_kerchunk()
    assert name in str(caught.value)  # the file is named
    assert "export_as_zarr" in str(caught.value)  # and the way out


def test_unused_high_bits_that_are_set_are_refused(tmp_path: Path):
    series = _one_series(_copy_shipped(["emri_small.dcm"], tmp_path / "in"))
    assert series.BitsStored == [12] and series.BitsAllocated == [16]
    assert series.to_kerchunk()["version"] == 1  # each frame read once: its high bits clear
    (path,) = series.files()
    pixel_offset = pixel_format(path)[1]
    with open(path, "r+b") as f:  # an overlay bit in the high byte of frame 3's first pixel
        f.seek(pixel_offset + 3 * 64 * 64 * 2 + 1)
        high = f.read(1)[0]
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([high | 0x80]))
    assert int(series.to_xarray().max()) < 2**12  # dbdicom clears it
    with pytest.raises(db.VirtualZarrError, match="frame 3 has bits above"):
        series.to_kerchunk()  # a chunk read in place would keep it


def test_frames_stored_in_two_ways_are_refused(tmp_path: Path):
    paths = _mr_stack(tmp_path / "in", np.ones((2, 8, 8), np.uint16))
    ds = pydicom.dcmread(paths[1])
    write_dataset(ds, paths[1], compression="rle")
    series = _one_series(tmp_path / "in")
    with pytest.raises(db.VirtualZarrError, match="stored in 2 different ways"):
        series.to_kerchunk()


def test_grid_points_without_a_frame_are_refused(tmp_path: Path):
    paths = _mr_stack(tmp_path / "in", np.ones((3, 8, 8), np.uint16), FlipAngle=10.0)
    ds = pydicom.dcmread(paths[2])
    ds.FlipAngle = 20.0
    ds.save_as(paths[2])
    series = _one_series(tmp_path / "in")
    assert series.to_xarray(dims=["SliceLocation", "FlipAngle"], fill=True).shape[:2] == (3, 2)
    with pytest.raises(db.GridError):  # without fill, as to_xarray: no full grid
        series.to_kerchunk(dims=["SliceLocation", "FlipAngle"])


# ----------------------------------------------------------------------------- files in time


def test_the_files_size_and_time_are_recorded_and_a_changed_file_is_refused(tmp_path: Path):
    paths = _mr_stack(tmp_path / "in", np.ones((2, 8, 8), np.uint16))
    series = _one_series(tmp_path / "in")
    refs = series.to_kerchunk()["refs"]
    recorded = json.loads(refs[".zattrs"])["dicom_files"]
    for path in paths:
        st = os.stat(path)
        assert recorded[str(path)] == [st.st_size, st.st_mtime_ns]
    da = series.to_xarray()  # built from the index as it is now
    st = os.stat(paths[0])
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # then the file changes
    with pytest.raises(db.StaleFileError, match=f"{paths[0]} changed since it was indexed"):
        series_references(da)
    # a series asked for again is read again from the changed file (dbdicom checks
    # size and time before it reads): its references record the new time
    again = series.to_kerchunk()["refs"]
    assert json.loads(again[".zattrs"])["dicom_files"][str(paths[0])] == [
        st.st_size,
        st.st_mtime_ns + 10**9,
    ]


def test_a_database_skips_what_it_cannot_reference_and_says_why(demo_folder: Path, tmp_path: Path):
    deflated = get_testdata_file("image_dfl.dcm")
    shutil.copyfile(deflated, demo_folder / "image_dfl.dcm")
    database = db.database(demo_folder)
    database.mute()
    out = database.to_virtual_zarr(tmp_path / "refs" / "demo.json")
    assert out.exported == 5
    ((skipped),) = out.skipped
    assert "one zlib stream" in skipped.reason
    assert len(image_groups(out)) == 7


def test_the_whole_database_opens_as_a_datatree_without_dbdicom(demo_folder: Path, tmp_path: Path):
    database = db.database(demo_folder)
    database.mute()
    out = database.to_virtual_zarr(tmp_path / "demo.json")
    code = (
        "import sys; sys.modules['dbdicom'] = None\n"
        "import xarray as xr\n"
        f"tree = xr.open_datatree('reference://', engine='zarr', backend_kwargs={{"
        f"'storage_options': {{'fo': {str(out)!r}}}, 'zarr_format': 2, 'consolidated': True}})\n"
        "leaves = [n for n in tree.subtree if not n.children]\n"
        "print(len(leaves), sorted(set(n.path.count('/') for n in leaves)))\n"
        "vfa = tree['Phantom_Alpha_DEMO-001/MR_phantom_T1_mapping_20240115/3_VFA']\n"
        "print(dict(vfa['VFA'].sizes))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    leaves, sizes = done.stdout.splitlines()
    assert leaves == "7 [3]"
    assert sizes == "{'SliceLocation': 6, 'FlipAngle': 4, 'row': 64, 'column': 64}"


def test_an_instance_references_its_own_frames(demo_folder: Path, tmp_path: Path):
    database = db.database(demo_folder)
    instance = database.series(SeriesDescription="VFA")[0].instances()[5]
    (plain,) = read_plain(instance.to_virtual_zarr(tmp_path / "one.json"), [None], tmp_path)
    assert plain.dims == ["SliceLocation", "row", "column"]
    np.testing.assert_array_equal(plain.values[0], pydicom.dcmread(instance.path).pixel_array)
    assert plain.coords["SliceLocation"].tolist() == [float(instance.SliceLocation)]


def test_a_folder_given_for_the_reference_file_is_said_before_any_work(tmp_path: Path):
    """A new-user trial: every other export takes a folder, so ``to_virtual_zarr(folder)``
    was tried; it raised ``IsADirectoryError: [Errno 21] Is a directory:
    '.../.dbdicom-...tmp' -> '.../folder'``, naming a temporary file nobody made. It
    says the JSON file it wants, and leaves the folder as it was."""
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(str(get_testdata_file("CT_small.dcm")), folder / "CT_small.dcm")
    series = _one_series(folder)
    out = tmp_path / "refs"
    out.mkdir()
    with pytest.raises(IsADirectoryError, match=r"refs is a folder.*refs\.json"):
        series.to_virtual_zarr(out)
    assert list(out.iterdir()) == []
    assert series.to_virtual_zarr(out / "refs.json") == out / "refs.json"
