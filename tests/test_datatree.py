"""The database as an xarray DataTree, and xarray's open functions on DICOM folders and files."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import xarray as xr
from builders import Manifest
from pydicom.data import get_testdata_file
from readonly import read_only
from recorders import count_frame_reads

import dbdicom as db
from dbdicom._xarray_backend import DbdicomBackendEntrypoint


class FrameReads:
    """Counts the frames read from files (the real reads still happen)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.frames: list[tuple[str, int]] = count_frame_reads(monkeypatch)


def _data_nodes(tree: xr.DataTree) -> dict[str, xr.DataArray]:
    """Each node holding a DataArray: its path and the DataArray (one variable a node)."""
    out = {}
    for node in tree.subtree:
        if node.data_vars:
            assert len(node.data_vars) == 1
            out[node.path] = next(iter(node.to_dataset(inherit=False).data_vars.values()))
    return out


def _by_uid(tree: xr.DataTree) -> dict[str, str]:
    """SeriesInstanceUID -> path, of every series node."""
    return {
        node.attrs["SeriesInstanceUID"]: node.path
        for node in tree.subtree
        if "SeriesInstanceUID" in node.attrs
    }


def _export_folders(record: Any, out: Path) -> set[str]:
    """The series folders of a DICOM export, as tree paths."""
    exported = record.export_as_dicom(out)
    return {"/" + p.parent.relative_to(exported).as_posix() for p in exported.rglob("*.dcm")}


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """Two patients whose series share a description; one study holds two series of one name."""
    new = db.database()
    rng = np.random.default_rng(1)
    for pid, name in [("P1", "Ann^Alpha"), ("P2", "Bob^Beta")]:
        study = new.new_patient(PatientID=pid, PatientName=name).new_study(
            StudyDescription="Brain", StudyDate="20240101"
        )
        t1 = study.new_series(SeriesDescription="T1", SeriesNumber=1)
        t1.set_array(rng.integers(0, 1000, (3, 8, 8), dtype=np.uint16))
    again = (
        new.patients(PatientID="P1")[0]
        .studies()[0]
        .new_series(SeriesDescription="T1", SeriesNumber=1)
    )  # the same name in the same study: the second gets its UID appended
    again.set_array(rng.integers(0, 1000, (2, 8, 8), dtype=np.uint16))
    slash = (
        new.patients(PatientID="P2")[0]
        .studies()[0]
        .new_series(SeriesDescription="T2/FLAIR", SeriesNumber=2)
    )
    slash.set_array(rng.integers(0, 1000, (2, 8, 8), dtype=np.uint16))
    folder = tmp_path / "built"
    new.save(folder)
    new.close()
    return folder


@pytest.fixture(scope="module")
def pydicom_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of pydicom's own test folder: many patients, odd and bad files."""
    source = Path(pydicom.__file__).parent / "data" / "test_files"
    root = tmp_path_factory.mktemp("pydicom") / "test_files"
    shutil.copytree(source, root)
    return root


def _never_opened(source: Path, target: Path) -> Path:
    """A copy of ``source`` without dbdicom's index: a folder dbdicom has never seen."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))
    assert not (target / ".dbdicom").exists()
    return target


# ------------------------------------------------------------------ the tree


def test_the_tree_of_a_multi_patient_folder(
    database_folder: tuple[Path, Manifest], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, manifest = database_folder
    database = db.database(root)
    reads = FrameReads(monkeypatch)
    tree = database.to_datatree()
    assert reads.frames == []  # lazy: nothing decoded to build the tree
    series_paths = _by_uid(tree)
    assert sorted(series_paths) == sorted(s.uid for s in database.series())
    # the names are those of the export folders, one function for both
    assert set(series_paths.values()) == _export_folders(database, tmp_path / "export")
    assert len(tree.children) == 3  # three patients
    for series in database.series():
        node = tree[series_paths[series.uid]]
        assert node.attrs["SeriesDescription"] == series.SeriesDescription
        assert node.parent is not None and node.parent.parent is not None
        assert node.parent.attrs["StudyInstanceUID"] == series.parent.uid
        assert node.parent.parent.attrs["PatientID"] == series.patients().uid
        (da,) = node.data_vars.values()
        expected = series.to_xarray()
        assert da.name == expected.name
        xr.testing.assert_identical(da.compute(), expected.compute())
    assert tree.attrs["skipped"] == []


def test_open_datatree_and_open_groups_are_lazy_and_give_the_same_arrays(
    database_folder: tuple[Path, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = database_folder
    reads = FrameReads(monkeypatch)
    tree = xr.open_datatree(root)  # the engine guessed
    groups = xr.open_groups(root, engine="dbdicom")
    assert reads.frames == []
    database = db.database(root)
    expected = database.to_datatree()
    assert set(tree.groups) == set(expected.groups) == set(groups)
    for path, da in _data_nodes(tree).items():
        assert da.chunks is None  # lazily indexed, as xarray's own backends
        assert da.encoding["preferred_chunks"]
        xr.testing.assert_identical(da.compute(), _data_nodes(expected)[path].compute())
        xr.testing.assert_identical(groups[path][da.name].compute(), da.compute())
    chunked = xr.open_datatree(root, engine="dbdicom", chunks={})
    assert all(da.chunks is not None for da in _data_nodes(chunked).values())


def test_a_series_of_several_geometries_has_a_child_per_group(demo: db.Database) -> None:
    tree = demo.to_datatree()
    localiser = demo.series(SeriesDescription="localiser")[0]
    node = tree[_by_uid(tree)[localiser.uid]]
    assert not node.data_vars and node.attrs["geometry_groups"] == 3
    assert list(node.children) == ["1", "2", "3"]
    for k, expected in enumerate(localiser.to_xarrays(), 1):
        (da,) = node[str(k)].data_vars.values()
        xr.testing.assert_identical(da.compute(), expected.compute())
        assert "64x64" in node[str(k)].attrs["geometry"]
    by_path = xr.open_dataarray(demo.path, group=f"{node.path}/2")
    xr.testing.assert_identical(by_path.compute(), localiser.to_xarrays()[1].compute())
    with pytest.raises(db.GroupError, match=f"{node.path}/1', '{node.path}/2'"):
        xr.open_dataarray(demo.path, group="localiser")


def test_names_are_unique_readable_and_stable(built: Path, tmp_path: Path) -> None:
    database = db.database(built)
    tree = database.to_datatree()
    by_uid = _by_uid(tree)
    paths = sorted(by_uid.values())
    assert len(paths) == len(set(paths)) == 4
    twins = [uid for uid, p in by_uid.items() if p.startswith("/Ann_Alpha_P1/Brain_20240101/")]
    # the same header values in one study: the second name has its UID appended
    assert (
        sorted(by_uid[uid] for uid in twins)
        == sorted(
            ["/Ann_Alpha_P1/Brain_20240101/1_T1", f"/Ann_Alpha_P1/Brain_20240101/1_T1_{uid}"]
            for uid in twins
            if by_uid[uid].endswith(uid)
        )[0]
    )
    assert set(_by_uid(tree).values()) == _export_folders(database, tmp_path / "export")
    # a name may not hold '/': the variable of 'T2/FLAIR' is T2_FLAIR
    flair = tree["Bob_Beta_P2/Brain_20240101/2_T2_FLAIR"]
    assert list(flair.data_vars) == ["T2_FLAIR"] and flair.attrs["SeriesDescription"] == "T2/FLAIR"
    database.close()
    assert _by_uid(db.database(built).to_datatree()) == _by_uid(tree)  # stable


def test_a_tree_below_a_patient_study_or_series(built: Path) -> None:
    database = db.database(built)
    patient = database.patients(PatientID="P2")[0]
    tree = patient.to_datatree()
    assert tree.attrs["PatientID"] == "P2"
    assert sorted(tree.groups) == [
        "/",
        "/Brain_20240101",
        "/Brain_20240101/1_T1",
        "/Brain_20240101/2_T2_FLAIR",
    ]
    series = patient.series(SeriesDescription="T1")[0]
    alone = series.to_datatree()
    xr.testing.assert_identical(alone["T1"].compute(), series.to_xarray().compute())
    assert xr.open_datatree(built, group="/Bob_Beta_P2").identical(
        patient.to_datatree(chunks=False)
    )
    with pytest.raises(db.DicomError, match="instance.series"):
        series.instances()[0].to_datatree()
    with pytest.raises(db.EmptyRecordError, match="no file yet"):
        series.new_sibling(SeriesDescription="new").to_datatree()


def test_chunks_of_a_tree_apply_to_the_series_that_have_their_dims(demo: db.Database) -> None:
    """Review: chunks={"FlipAngle": 2} left every series without a FlipAngle dim out of the
    tree (listed in attrs["skipped"] only); a name no series has was not said at all."""
    every = demo.to_datatree()
    chunked = demo.to_datatree(chunks={"FlipAngle": 2})
    assert sorted(chunked.groups) == sorted(every.groups)
    assert chunked.attrs["skipped"] == every.attrs["skipped"]
    (vfa,) = [da for da in _data_nodes(chunked).values() if "FlipAngle" in da.dims]
    assert vfa.chunksizes["FlipAngle"][0] == 2
    with pytest.raises(db.GridError, match=r"chunks name \['FlipAngel'\], which no series"):
        demo.to_datatree(chunks={"FlipAngel": 2})
    series = demo.series(SeriesDescription="VFA")[0]
    with pytest.raises(db.GridError, match="not tag dims of this array"):  # one series: strict
        series.to_datatree(chunks={"EchoTime": 2})


# ------------------------------------------------------------------ group=


def test_open_dataarray_group_by_path_uid_and_description(built: Path) -> None:
    database = db.database(built)
    flair = database.series(SeriesDescription="T2/FLAIR")[0]
    expected = flair.to_xarray().compute()
    path = "/Bob_Beta_P2/Brain_20240101/2_T2_FLAIR"
    # the whole path, the end of it (the node's name as open_datatree shows it), UID, description
    for group in (
        path,
        path.lstrip("/"),
        "2_T2_FLAIR",
        "Brain_20240101/2_T2_FLAIR",
        flair.uid,
        "T2/FLAIR",
    ):
        da = xr.open_dataarray(built, group=group)
        assert da.chunks is None
        xr.testing.assert_identical(da.compute().rename(expected.name), expected)
    ds = xr.open_dataset(built, engine="dbdicom", group=path, dims=["InstanceNumber"])
    assert ds["T2_FLAIR"].dims == ("InstanceNumber", "row", "column")
    assert list(xr.open_dataset(built, group=path, drop_variables="T2_FLAIR").data_vars) == []
    study = xr.open_dataset(built, group="/Bob_Beta_P2/Brain_20240101")  # attrs, no variable
    assert not study.data_vars and study.attrs["StudyDescription"] == "Brain"
    # series= (the keyword before group=) still works
    old = xr.open_dataarray(built, engine="dbdicom", series=flair.uid)
    xr.testing.assert_identical(old.compute().rename(expected.name), expected)


def test_ambiguous_and_missing_groups_say_which_paths_there_are(built: Path) -> None:
    with pytest.raises(db.GroupError, match="3 series match group='T1'") as ambiguous:
        xr.open_dataarray(built, group="T1")
    assert "/Ann_Alpha_P1/Brain_20240101/1_T1'" in str(ambiguous.value)
    assert "/Bob_Beta_P2/Brain_20240101/1_T1'" in str(ambiguous.value)
    with pytest.raises(db.GroupError, match="series match group='1_T1'") as by_name:
        xr.open_dataarray(built, group="1_T1")  # a node name two patients' series have
    assert "/Ann_Alpha_P1/Brain_20240101/1_T1'" in str(by_name.value)
    assert "/Bob_Beta_P2/Brain_20240101/1_T1'" in str(by_name.value)
    with pytest.raises(db.GroupError, match="no node"):
        xr.open_dataarray(built, group="_T1")  # only whole names of the path match
    with pytest.raises(db.GroupError, match="no node, SeriesInstanceUID or SeriesDescription"):
        xr.open_dataarray(built, group="/Ann_Alpha_P1/Brain_20240101/9_T9")
    with pytest.raises(KeyError, match="2_T2_FLAIR"):  # a KeyError, listing the paths
        xr.open_dataset(built, group="T3")
    with pytest.raises(db.GroupError, match="holds 4 series: choose one with group="):
        xr.open_dataarray(built)


# ------------------------------------------------------------------ bad files


def test_what_cannot_be_read_is_left_out_with_the_reason(pydicom_folder: Path) -> None:
    database = db.database(pydicom_folder)
    tree = database.to_datatree()
    skipped = dict(line.split(": ", 1) for line in tree.attrs["skipped"])
    assert any("holds no image" in why for why in skipped.values())  # structured reports
    placed = set(_by_uid(tree))
    for series in database.series():  # every series is in the tree, or said why not
        if series.uid not in placed:
            assert any(path.endswith(db._export.label(series)) for path in skipped)
    problems = database.index.problems()
    assert len(tree.attrs["problems"]) == len(problems) > 0
    assert any(line.startswith("README.txt: ") for line in tree.attrs["problems"])
    expected = {s.uid: s for s in database.series()}
    for node in tree.subtree:
        if "SeriesInstanceUID" not in node.attrs or not node.data_vars:
            continue
        (da,) = node.data_vars.values()
        built = expected[node.attrs["SeriesInstanceUID"]].to_xarray()
        assert da.name == built.name  # one name ("pixels" without a description)
        assert da.dims == built.dims and da.dtype == built.dtype
        xr.testing.assert_identical(da.coords.to_dataset(), built.coords.to_dataset())
        xr.testing.assert_identical(xr.Dataset(attrs=da.attrs), xr.Dataset(attrs=built.attrs))
        try:
            values = built.values
        except db.DicomError as exc:  # a file it cannot decode: the same error from the tree
            with pytest.raises(type(exc)):
                _ = da.values
            continue
        np.testing.assert_array_equal(da.values, values)


# ------------------------------------------------------------------ no engine=


def test_a_folder_never_opened_is_recognised_without_engine(
    demo_folder: Path, tmp_path: Path
) -> None:
    folder = _never_opened(demo_folder, tmp_path / "fresh")
    assert DbdicomBackendEntrypoint().guess_can_open(folder)
    assert DbdicomBackendEntrypoint().guess_can_open(str(folder))
    assert not (folder / ".dbdicom").exists()  # guessing writes nothing
    da = xr.open_dataarray(folder, group="VFA")
    expected = db.database(folder).series(SeriesDescription="VFA")[0].to_xarray()
    xr.testing.assert_identical(da.compute(), expected.compute())


def test_a_single_file_is_recognised_and_opened_alone(tmp_path: Path) -> None:
    source = Path(get_testdata_file("CT_small.dcm"))
    folder = tmp_path / "one"
    folder.mkdir()
    file = folder / "CT_small.dcm"
    shutil.copyfile(source, file)
    (folder / "notes.txt").write_text("not DICOM")
    assert DbdicomBackendEntrypoint().guess_can_open(file)
    da = xr.open_dataarray(file)
    ds = pydicom.dcmread(file)
    assert da.dims == ("SliceLocation", "row", "column")
    np.testing.assert_array_equal(da.values[0], pydicom.pixels.apply_rescale(ds.pixel_array, ds))
    assert da["SOPInstanceUID"].values.tolist() == [ds.SOPInstanceUID]
    tree = xr.open_datatree(file)
    assert len(_data_nodes(tree)) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["CT_small.dcm", "notes.txt"]  # untouched


def test_a_file_without_preamble_is_recognised_as_the_index_reads_it(tmp_path: Path) -> None:
    """ACR-NEMA style (no preamble, no file meta): no engine= needed for what dbdicom reads."""
    source = Path(get_testdata_file("OT-PAL-8-face.dcm"))
    assert source.read_bytes()[128:132] != b"DICM"
    file = tmp_path / "face"  # no extension either
    shutil.copyfile(source, file)
    assert DbdicomBackendEntrypoint().guess_can_open(file)
    assert DbdicomBackendEntrypoint().guess_can_open(tmp_path)
    da = xr.open_dataarray(file)
    xr.testing.assert_identical(da, xr.open_dataarray(file, engine="dbdicom"))
    assert da.shape == (480, 640, 3)  # its palette applied
    netcdf = tmp_path / "x.nc"
    netcdf.write_bytes(b"CDF\x01" + bytes(200))
    assert not DbdicomBackendEntrypoint().guess_can_open(netcdf)


def test_what_is_not_dicom_is_not_claimed(tmp_path: Path, demo: db.Database) -> None:
    guess = DbdicomBackendEntrypoint().guess_can_open
    text = tmp_path / "notes.txt"
    text.write_text("not DICOM")
    empty = tmp_path / "empty"
    empty.mkdir()
    zarr_store = demo.series(SeriesDescription="T2w")[0].export_as_zarr(tmp_path / "z")
    stores = list(Path(zarr_store).rglob("*.zarr"))
    assert stores and not guess(stores[0])  # a Zarr store is for the zarr engine
    xr.testing.assert_equal(
        xr.open_dataarray(stores[0]).compute(),
        xr.open_dataarray(stores[0], engine="zarr").compute(),
    )
    assert not guess(text) and not guess(empty) and not guess(tmp_path / "missing")
    assert not guess(io.BytesIO(b"DICM")) and not guess(b"x") and not guess(42)
    assert not guess("https://example.org/a.dcm")
    nested = tmp_path / "deep" / "a" / "b"
    nested.mkdir(parents=True)
    shutil.copyfile(get_testdata_file("MR_small.dcm"), nested / "x")  # no extension, deep
    assert guess(tmp_path / "deep")


def test_a_read_only_folder_is_opened_without_writing_into_it(
    demo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _never_opened(demo_folder, tmp_path / "ro")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    with read_only(folder):
        tree = xr.open_datatree(folder)
        da = xr.open_dataarray(folder, group="T2w sag")
        assert da.values.shape == (5, 64, 64)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before
    assert len(_data_nodes(tree)) == 7


def test_raw_arrays_and_uncompressed_zarr_chunks_are_not_claimed(tmp_path: Path) -> None:
    """A little-endian array whose first value is 2 or 8 (a label image, an uncompressed
    Zarr chunk, an Analyze .img) starts as an ACR-NEMA data set's group 0002 or 0008 does,
    but no element header follows: not claimed, so xr.open_dataset of a folder holding one
    neither indexes it (writing .dbdicom into it) nor fails with a GridError."""
    guess = DbdicomBackendEntrypoint().guess_can_open
    raw = tmp_path / "labels.raw"
    raw.write_bytes(np.array([2, 0, 1, 1] * 64, "<u1").tobytes())
    counts = tmp_path / "counts.bin"
    np.full(64, 8, "<i4").tofile(counts)
    assert not guess(raw)
    assert not guess(counts)
    zarr = pytest.importorskip("zarr")
    project = tmp_path / "project"
    project.mkdir()
    z = zarr.create_array(project / "t.zarr", shape=(4,), dtype="i2", compressors=None)
    z[:] = [8, 1, 2, 3]
    assert not guess(project)
