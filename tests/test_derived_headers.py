"""Derived headers say what they are: a tag whose value differs between the
source frames of one derived frame is not copied from the first of them.

The demo's VFA series (SliceLocation x FlipAngle) gives a T1 map fitted over
FlipAngle: each of its frames has the four images of its slice as sources,
which differ in FlipAngle (and AcquisitionTime, AcquisitionNumber...). The
map's files, what reads back and the NIfTI sidecar have no FlipAngle; what
all four share (RepetitionTime) is kept; a coordinate or attr still gives a
value; the writer's own tags are set as always; both serialisers agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import xarray as xr
from pydicom.datadict import keyword_for_tag
from validators import dciodvfy_errors

import dbdicom as db
from dbdicom._dataset import Source
from dbdicom._dataset._base import differing
from dbdicom._demo import t1_map
from dbdicom._files import Layouts
from dbdicom._records._sources import _instance_source
from dbdicom._records._write import set_xarray

#: tags the VFA images of one slice differ in (besides UIDs and numbers)
REDUCED = ("FlipAngle", "AcquisitionTime", "AcquisitionNumber", "ContentTime")


def _no_value(ds: Any, keyword: str) -> bool:
    """The element is absent or empty (a differing tag the first source has is emptied)."""
    return keyword not in ds or ds[keyword].is_empty


def _vfa(demo: db.Database) -> tuple[db.Series, xr.DataArray]:
    vfa = demo.series(SeriesDescription="VFA")[0]
    return vfa, vfa.to_xarray(dims=["SliceLocation", "FlipAngle"])


def _t1(da: xr.DataArray) -> xr.DataArray:
    t1 = t1_map(da).fillna(0).compute()
    t1.attrs = dict(da.attrs)  # the source's attrs: its series UID and affine
    return t1


def _files(series: db.Series) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(instance.path) for instance in series.instances()]


def test_the_data_differ_in_the_reduced_dim(demo: db.Database) -> None:
    """The premise: the four sources of a slice differ in FlipAngle, share RepetitionTime."""
    vfa, _ = _vfa(demo)
    first = vfa.instances(SliceLocation=vfa.SliceLocation[0])
    assert sorted(float(i.FlipAngle) for i in first) == [2.0, 5.0, 10.0, 15.0]
    assert {float(i.RepetitionTime) for i in first} == {5.0}


@pytest.mark.parametrize("serialiser", ["auto", "pydicom"])
def test_a_map_over_flip_angles_has_no_flip_angle(demo: db.Database, serialiser: str) -> None:
    vfa, da = _vfa(demo)
    t1 = _t1(da)
    out = set_xarray(vfa.new_sibling(SeriesDescription="T1 map"), t1, serialiser=serialiser)
    files = _files(out)
    assert len(files) == da.sizes["SliceLocation"]
    for ds in files:
        for keyword in REDUCED:
            assert _no_value(ds, keyword), keyword
        assert float(ds.RepetitionTime) == 5.0  # the same in all sources: kept
        assert float(ds.EchoTime) == 2.0
        assert ds.PatientName == "Phantom^Alpha"
        assert len(ds.SourceImageSequence) == 4  # still derived from all four
    back = out.to_xarray()
    assert "FlipAngle" not in back.attrs and "FlipAngle" not in back.coords
    assert back.attrs["RepetitionTime"] == 5.0
    demo.restore()


def test_the_writer_tags_are_unaffected(demo: db.Database) -> None:
    """UIDs, geometry from the affine, pixel description, window, numbers."""
    vfa, da = _vfa(demo)
    t1 = _t1(da)
    out = vfa.new_sibling(SeriesDescription="T1 map")
    out.set_xarray(t1)
    files = sorted(_files(out), key=lambda ds: int(ds.InstanceNumber))
    sources = {i.SOPInstanceUID for i in vfa.instances()}
    assert [int(ds.InstanceNumber) for ds in files] == list(range(1, len(files) + 1))
    assert len({ds.SOPInstanceUID for ds in files} | sources) == len(files) + len(sources)
    assert {ds.SeriesInstanceUID for ds in files} == {out.SeriesInstanceUID}
    back = out.to_xarray()
    assert np.allclose(back.dicom.affine, da.dicom.affine)
    assert np.allclose(back.SliceLocation, da.SliceLocation)
    for ds in files:
        assert (int(ds.Rows), int(ds.Columns)) == t1.shape[1:]
        assert "RescaleSlope" in ds and "WindowCenter" in ds and "WindowWidth" in ds
        assert list(ds.ImageType[:2]) == ["DERIVED", "SECONDARY"]
        assert ds.SpecificCharacterSet == vfa.instances()[0].SpecificCharacterSet
    demo.restore()


def test_a_coordinate_or_attr_gives_a_differing_tag_its_value(demo: db.Database) -> None:
    vfa, da = _vfa(demo)
    t1 = _t1(da)
    n = t1.sizes["SliceLocation"]
    t1 = t1.assign_coords(AcquisitionTime=("SliceLocation", [36000.0 + k for k in range(n)]))
    t1.attrs["FlipAngle"] = 7.5  # an attr: one value for all frames
    out = vfa.new_sibling(SeriesDescription="T1 map")
    out.set_xarray(t1)
    files = sorted(_files(out), key=lambda ds: int(ds.InstanceNumber))
    assert [float(ds.FlipAngle) for ds in files] == [7.5] * n
    assert [ds.AcquisitionTime for ds in files] == [f"1000{k:02d}.000000" for k in range(n)]
    assert all(_no_value(ds, "AcquisitionNumber") for ds in files)
    demo.restore()


def test_a_mean_over_slices_keeps_the_flip_angle_of_each_frame(demo: db.Database) -> None:
    vfa, da = _vfa(demo)
    mean = da.mean("SliceLocation").astype(np.float32)
    out = vfa.new_sibling(SeriesDescription="mean over slices")
    out.set_xarray(mean)
    files = _files(out)
    assert sorted(float(ds.FlipAngle) for ds in files) == [2.0, 5.0, 10.0, 15.0]
    assert all(float(ds.RepetitionTime) == 5.0 for ds in files)
    assert all(len(ds.SourceImageSequence) == da.sizes["SliceLocation"] for ds in files)
    back = out.to_xarray()
    assert back.FlipAngle.values.tolist() == [2.0, 5.0, 10.0, 15.0]
    demo.restore()


@pytest.mark.parametrize("serialiser", ["auto", "pydicom"])
def test_a_mean_over_slices_lies_at_their_centre(demo: db.Database, serialiser: str) -> None:
    """Trial L: the frames of a mean over slices had an empty ImagePositionPatient (a Type 1
    attribute: dciodvfy's error, and no affine read back). They lie at the centre of the
    slab of their sources, as a scanner places a thick slab: the mean of their positions."""
    vfa, da = _vfa(demo)
    out = vfa.new_sibling(SeriesDescription="mean over slices")
    set_xarray(out, da.mean("SliceLocation").astype(np.float32), serialiser=serialiser)
    sources = _files(vfa)
    middle = np.mean([[float(v) for v in ds.ImagePositionPatient] for ds in sources], axis=0)
    location = np.mean([float(ds.SliceLocation) for ds in sources])
    for instance in out.instances():
        ds = pydicom.dcmread(instance.path)
        np.testing.assert_allclose([float(v) for v in ds.ImagePositionPatient], middle)
        assert float(ds.SliceLocation) == pytest.approx(location)
        assert not [e for e in dciodvfy_errors(instance.path) if "ImagePosition" in e]
    back = out.to_xarray()
    np.testing.assert_allclose(back.dicom.affine[:3, 3], middle)  # a geometry, read back
    demo.restore()


def test_frames_with_one_source_copy_it_whole(demo: db.Database) -> None:
    """A frame with one source has nothing to differ in: its header is that source's."""
    vfa, da = _vfa(demo)
    out = vfa.new_sibling(SeriesDescription="half")
    out.set_xarray(da.astype(np.float32) / 2)
    files = _files(out)
    assert sorted({float(ds.FlipAngle) for ds in files}) == [2.0, 5.0, 10.0, 15.0]
    assert all("AcquisitionTime" in ds and "AcquisitionNumber" in ds for ds in files)
    demo.restore()


def test_the_nifti_sidecar_has_no_flip_angle(demo: db.Database, tmp_path: Path) -> None:
    pytest.importorskip("nibabel")
    vfa, da = _vfa(demo)
    out = vfa.new_sibling(SeriesDescription="T1 map")
    out.set_xarray(_t1(da))
    folder = out.export_as_nifti(tmp_path / "t1")
    (image,) = folder.rglob("*.nii.gz")
    sidecar: dict[str, Any] = json.loads(
        image.with_name(image.name.replace(".nii.gz", ".json")).read_text()
    )
    assert "FlipAngle" not in sidecar and "AcquisitionTime" not in sidecar
    assert sidecar["RepetitionTime"] == 0.005  # seconds, as BIDS (5 ms in the header)
    assert sidecar["SeriesDescription"] == "T1 map"
    demo.restore()


def test_dciodvfy_reports_no_new_error(demo: db.Database) -> None:
    """The map's files have no error the same map with its first sources'
    whole headers (the header argument: one source per frame) does not have."""
    vfa, da = _vfa(demo)
    t1 = _t1(da)
    out = vfa.new_sibling(SeriesDescription="T1 map")
    out.set_xarray(t1)
    firsts = [
        vfa.instances(SliceLocation=float(z), FlipAngle=2.0)[0] for z in da.SliceLocation.values
    ]
    whole = vfa.new_sibling(SeriesDescription="T1 map, first headers")
    whole.set_xarray(t1, header=firsts)
    new = sorted(out.instances(), key=lambda i: int(i.InstanceNumber))
    old = sorted(whole.instances(), key=lambda i: int(i.InstanceNumber))
    for a, b in zip(new, old, strict=True):
        assert _no_value(pydicom.dcmread(a.path), "FlipAngle")
        assert set(dciodvfy_errors(a.path)) <= set(dciodvfy_errors(b.path))
    demo.restore()


def test_bytes_and_pydicom_find_the_same_differing_tags(demo: db.Database) -> None:
    """The sources of one frame compared as bytes, and through pydicom (as
    for sources the byte walker does not take), differ in the same tags."""
    vfa, da = _vfa(demo)
    z = float(da.SliceLocation[0])
    raw = [_instance_source(i) for i in vfa.instances(SliceLocation=z)]
    assert all(s.raw_offset > 0 for s in raw)  # the bytes path
    read = [Source(s.root, s.rel, s.sop_class, s.sop_uid, s.series_uid) for s in raw]
    found = differing(raw, Layouts())
    assert found == differing(read, Layouts())
    names = {keyword_for_tag(tag) for tag in found}
    assert set(REDUCED) | {"SOPInstanceUID", "InstanceNumber"} <= names
    assert not names & {"RepetitionTime", "EchoTime", "ImagePositionPatient", "PatientName"}
    assert differing(raw[:1], Layouts()) == frozenset()


def test_type_2_attributes_the_source_lacks_are_present_and_empty(tmp_path: Path) -> None:
    """A second trial: frames derived from a source without PatientBirthDate and
    AccessionNumber (Type 2: present, may be empty) failed dciodvfy as the source does."""
    from vendor_layouts import Plan, classic_series

    paths = classic_series(tmp_path / "dicom", Plan(slices=2), modality="MR")
    for path in paths:
        ds = pydicom.dcmread(path)
        del ds.PatientBirthDate, ds.AccessionNumber
        ds.save_as(path)
    database = db.database(tmp_path / "dicom")
    database.mute()
    source = database.series()[0]
    out = source.new_sibling(SeriesDescription="derived")
    out.set_xarray(source.to_xarray() * 2)
    for path in out.files():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert ds["PatientBirthDate"].value in ("", None) and ds["AccessionNumber"].value in (
            "",
            None,
        )
        missing = [e for e in dciodvfy_errors(path) if "Missing attribute Type 2 " in e]
        assert not missing, missing
    database.close()


def test_a_derived_image_has_no_pixel_padding_value_of_its_source(tmp_path: Path) -> None:
    """A trial: CT_small.dcm's (0028,0120) PixelPaddingValue -2000 (a stored value: HU
    -3024) was copied into a series of 3 * HU - 100 stored with slope 1, intercept 0:
    there the padding is -9172, and -2000 would mark a real pixel as padding."""
    source = Path(str(pydicom.data.get_testdata_file("CT_small.dcm")))
    assert pydicom.dcmread(source).PixelPaddingValue == -2000
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "ct.dcm").write_bytes(source.read_bytes())
    database = db.database(tmp_path / "db")
    series = database.series()[0]
    out = series.new_sibling(SeriesDescription="scaled")
    out.set_xarray(series.to_xarray() * 3 - 100)
    written = pydicom.dcmread(out.files()[0])
    assert "PixelPaddingValue" not in written and "PixelPaddingRangeLimit" not in written
    database.close()
