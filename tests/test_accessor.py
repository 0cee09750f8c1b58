"""The ``da.dicom`` accessor: geometry, sources, writing back, NIfTI and display."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib
import nibabel
import numpy as np
import pydicom
import pytest
import xarray as xr

import dbdicom as db
from dbdicom._export import apply_window
from dbdicom._templates import mr_image, write_dataset

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _series(demo: db.Database, description: str) -> db.Series:
    return demo.series(SeriesDescription=description)[0]


def test_registered_once_arrays_are_used_without_xarray_at_import(demo_folder: Path) -> None:
    code = (
        "import sys, dbdicom as db\n"
        "assert 'xarray' not in sys.modules\n"
        f"da = db.database({str(demo_folder)!r}).series(SeriesDescription='T2w')[0].to_xarray()\n"
        "print(da.dicom.orientation)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "('L', 'P', 'H')"


def test_affine_from_the_headers(demo: db.Database) -> None:
    series = _series(demo, "T2w")
    da = series.to_xarray()
    files = sorted(
        (pydicom.dcmread(f) for f in series.files()), key=lambda ds: float(ds.SliceLocation)
    )
    first, last = files[0], files[-1]
    affine = da.dicom.affine
    np.testing.assert_allclose(affine[:3, 3], [float(x) for x in first.ImagePositionPatient])
    np.testing.assert_allclose(
        affine @ [0, 0, len(files) - 1, 1], [*[float(x) for x in last.ImagePositionPatient], 1]
    )
    row_spacing, column_spacing = (float(x) for x in first.PixelSpacing)
    np.testing.assert_allclose(np.linalg.norm(affine[:3, 0]), column_spacing)
    assert da.dicom.spacing == (5.0, row_spacing, column_spacing)
    # a selection has its own affine
    np.testing.assert_allclose(
        da.isel(SliceLocation=slice(3, None)).dicom.affine[:3, 3],
        [float(x) for x in files[3].ImagePositionPatient],
    )
    one = da.isel(SliceLocation=2)  # no slice dim: the slice step is SliceThickness
    assert one.dicom.spacing[0] == float(first.SliceThickness)


@pytest.mark.parametrize(
    ("description", "codes"),
    [("T2w", ("L", "P", "H")), ("T2w sag", ("P", "F", "R"))],
    ids=["axial", "sagittal"],
)
def test_orientation(demo: db.Database, description: str, codes: tuple[str, ...]) -> None:
    assert _series(demo, description).to_xarray().dicom.orientation == codes


def test_the_three_planes_of_the_localiser(demo: db.Database) -> None:
    planes = {da.dicom.orientation[2] for da in _series(demo, "localiser").to_xarrays()}
    assert planes == {"H", "P", "R"}  # the slice normals: axial, coronal, sagittal


def test_position_and_world(demo: db.Database) -> None:
    da = _series(demo, "VFA").to_xarray()
    position = da.dicom.position
    assert position.dims == ("SliceLocation", "FlipAngle", "xyz")
    np.testing.assert_array_equal(
        position.sel(xyz="z").isel(FlipAngle=0), da["ImagePositionPatient[2]"]
    )
    world = da.dicom.world()
    assert world.dims == ("SliceLocation", "row", "column", "xyz")
    affine = da.dicom.affine
    k, j, i = 4, 10, 50
    np.testing.assert_allclose(world.values[k, j, i], (affine @ [i, j, k, 1])[:3])
    ras = da.dicom.world("RAS")
    np.testing.assert_allclose(ras.values[k, j, i], world.values[k, j, i] * [-1, -1, 1])
    with pytest.raises(ValueError, match="LPS"):
        da.dicom.world("XYZ")


def test_no_affine_says_why(tmp_path: Path) -> None:
    ds = mr_image(np.zeros((4, 4), np.uint16), SeriesDescription="no geometry")
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
        delattr(ds, keyword)
    write_dataset(ds, tmp_path / "db" / "im")
    da = db.database(tmp_path / "db").series()[0].to_xarray()
    with pytest.raises(db.GeometryError, match=r"\(0020,0032\) ImagePositionPatient"):
        _ = da.dicom.affine


def test_frames_of_different_pixel_spacing_have_no_affine(tmp_path: Path) -> None:
    """A trial: slices with different PixelSpacing were given the first one's affine
    (21 mm off at a corner of the other slice; NIfTI zooms wrong). No affine now, and why."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for k in range(3):
        ds = mr_image(np.zeros((8, 8), np.uint16), SeriesInstanceUID="1.2.3.4")
        ds.SOPInstanceUID = f"1.2.3.4.{k + 1}"
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [0.0, 0.0, 5.0 * k]
        ds.SliceLocation = 5.0 * k
        ds.PixelSpacing = [0.5, 0.5] if k == 1 else [0.7, 0.7]
        write_dataset(ds, folder / f"s{k}.dcm")
    da = db.database(folder).series()[0].to_xarray()
    assert da.sizes["SliceLocation"] == 3
    with pytest.raises(db.GeometryError, match=r"PixelSpacing differs between frames.*0\.5"):
        _ = da.dicom.affine
    with pytest.raises(db.DicomError, match="PixelSpacing differs"):
        da.dicom.to_nifti(tmp_path / "mixed.nii.gz")
    np.testing.assert_allclose(da.isel(SliceLocation=[0, 2]).dicom.affine[0, 0], 0.7)


@pytest.mark.parametrize(
    ("keyword", "value", "said"),
    [
        ("ImageOrientationPatient", [0, 0, 0, 0, 0, 0], "not two directions"),
        ("ImageOrientationPatient", [1, 0, 0, 1, 0, 0], "not two directions"),
        ("PixelSpacing", [0, 0], "PixelSpacing .* is not positive"),
        ("PixelSpacing", [-0.5, 0.5], "PixelSpacing .* is not positive"),
    ],
)
def test_geometry_that_places_no_pixel_has_no_affine(
    tmp_path: Path, keyword: str, value: list[float], said: str
) -> None:
    """A trial: an orientation of zeros or of one direction twice, a spacing of 0 gave an
    affine of NaN or a singular one (nibabel's error at export); a negative spacing a
    mirrored one. No affine, and why, now; the export says so as a DicomError."""
    ds = mr_image(np.zeros((4, 4), np.uint16), SeriesDescription="broken geometry")
    setattr(ds, keyword, value)
    write_dataset(ds, tmp_path / "db" / "im")
    series = db.database(tmp_path / "db").series()[0]
    with pytest.raises(db.GeometryError, match=said):
        _ = series.to_xarray().dicom.affine
    with pytest.raises(db.DicomError, match=said):
        series.export_as_nifti(tmp_path / "nifti")


def test_source_instances(demo: db.Database) -> None:
    vfa = _series(demo, "VFA")
    da = vfa.to_xarray()
    instances = da.dicom.source_instances(demo)
    assert instances.dims == ("SliceLocation", "FlipAngle")
    picked = instances.sel(FlipAngle=10).isel(SliceLocation=1).item()
    assert picked.FlipAngle == 10.0
    assert picked.SOPInstanceUID == da.sel(FlipAngle=10).isel(SliceLocation=1).SOPInstanceUID
    found = da.dicom.source_instances()  # among the open databases
    assert found.values.tolist() == instances.values.tolist()
    with pytest.raises(db.DicomError, match="no SOPInstanceUID coordinate"):
        da.mean("FlipAngle").dicom.source_instances()
    other = db.database()  # an open database that does not hold them
    with pytest.raises(db.DicomError, match="no open database holds"):
        da.dicom.source_instances(other)
    other.close()


def test_write_to_a_series_or_a_study(demo: db.Database) -> None:
    vfa = _series(demo, "VFA")
    mean = vfa.to_xarray().mean("FlipAngle")
    new = mean.dicom.write_to(vfa.parent, "mean")
    assert new.SeriesDescription == "mean" and new.parent == vfa.parent
    back = new.to_xarray()
    np.testing.assert_allclose(back.dicom.affine, mean.dicom.affine, atol=1e-6)
    again = (2 * back).dicom.write_to(new)  # into a series: replaces its instances
    assert again == new and len(new.instances()) == 6
    named = mean.rename("from the name").dicom.write_to(vfa.parent)
    assert named.SeriesDescription == "from the name"
    with pytest.raises(db.DicomError, match="series or a study"):
        mean.dicom.write_to(vfa.parent.parent)


def test_to_nifti_as_the_export(demo: db.Database, tmp_path: Path) -> None:
    t2w = _series(demo, "T2w")
    file = t2w.to_xarray().dicom.to_nifti(tmp_path / "mine.nii.gz")
    assert file == tmp_path / "mine.nii.gz" and (tmp_path / "mine.json").exists()
    exported = next(Path(t2w.export_as_nifti(tmp_path / "export")).rglob("*.nii.gz"))
    mine, theirs = nibabel.load(file), nibabel.load(exported)
    np.testing.assert_array_equal(np.asarray(mine.dataobj), np.asarray(theirs.dataobj))
    np.testing.assert_allclose(mine.affine, theirs.affine)


def test_imshow_as_a_viewer(demo: db.Database) -> None:
    t2w = _series(demo, "T2w")
    da = t2w.to_xarray()
    frame = da.isel(SliceLocation=3)
    image = frame.dicom.imshow()
    assert image.origin == "upper"  # row 0 at the top
    instance = frame.dicom.source_instances().item()
    windowed = apply_window(frame.values, float(instance.WindowCenter), float(instance.WindowWidth))
    np.testing.assert_allclose(np.asarray(image.get_array()), windowed)  # the header's window
    axial = [t.get_text() for t in image.axes.texts]
    assert axial == ["A", "P", "R", "L"]  # top, bottom, left, right
    given = frame.dicom.imshow(window=(100.0, 50.0))
    np.testing.assert_allclose(
        np.asarray(given.get_array()), apply_window(frame.values, 100.0, 50.0)
    )
    sagittal = _series(demo, "T2w sag").to_xarray().isel(SliceLocation=0).dicom.plot()
    assert [t.get_text() for t in sagittal.axes.texts] == ["H", "F", "A", "P"]
    with pytest.raises(db.GridError, match="select one first"):
        da.dicom.imshow()
    plt.close("all")


def test_imshow_square_pixels_in_mm(tmp_path: Path) -> None:
    """Rows 2 mm apart, columns 1 mm: a pixel is drawn twice as high as wide."""
    ds = mr_image(np.arange(16, dtype=np.uint16).reshape(4, 4), PixelSpacing=[2.0, 1.0])
    for keyword in ("WindowCenter", "WindowWidth"):
        if keyword in ds:
            delattr(ds, keyword)
    write_dataset(ds, tmp_path / "db" / "im")
    da = db.database(tmp_path / "db").series()[0].to_xarray()
    image = da.dicom.imshow(letters=False)
    assert image.axes.get_aspect() == 2.0 and len(image.axes.texts) == 0
    # no window in the header: minimum to maximum
    np.testing.assert_allclose(np.asarray(image.get_array()), apply_window(da.values[0]))
    plt.close("all")


def test_imshow_of_an_array_from_nowhere() -> None:
    da = xr.DataArray(np.arange(12.0).reshape(3, 4), dims=("row", "column"))
    image = da.dicom.imshow()
    assert image.axes.get_aspect() == 1.0 and len(image.axes.texts) == 0
    plt.close("all")
