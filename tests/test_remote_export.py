"""Exports into an object store: written, read back and failed on real S3 servers on localhost.

SeaweedFS checks signatures (a wrong secret is refused as on AWS); moto's
server refuses keys longer than 1,024 bytes, which makes an upload fail
half-way, after some objects were written.
"""

from __future__ import annotations

import filecmp
import tempfile
import uuid
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import pytest
import xarray as xr
from builders import build_database
from servers import LIMITED_KEY, LIMITED_SECRET, LIMITED_WRITES, SHARED_BUCKET, SeaweedFS, bucket_fs

import dbdicom as db

s3fs = pytest.importorskip("s3fs")

BUCKET = SHARED_BUCKET


def _prefix() -> str:
    return f"{BUCKET}/{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> db.Database:
    folder = tmp_path_factory.mktemp("source")
    build_database(folder)
    return db.database(folder)


def _temporary_exports() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("dbdicom-export-*")}


def _ct(seaweedfs: SeaweedFS, source: db.Database) -> tuple[dict[str, Any], Any, Any, str]:
    """The options, file system, the CT series and a new prefix's URL."""
    options = seaweedfs.options
    return (
        options,
        bucket_fs(options),
        source.series(SeriesDescription="CT abdomen")[0],
        f"s3://{_prefix()}",
    )


def test_dicom_files_exported_into_a_bucket_open_as_the_series(
    seaweedfs: SeaweedFS, source: db.Database, tmp_path: Path
) -> None:
    """The objects are the files of a local export, and the store opens as a database of them."""
    options, fs, series, url = _ct(seaweedfs, source)
    before = _temporary_exports()
    out = series.export_as_dicom(url, storage_options=options)
    assert out == url and out.exported == 1 and out.skipped == ()
    assert _temporary_exports() == before  # the local copy is gone
    local = tmp_path / "local"
    series.export_as_dicom(local)
    files = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    keys = sorted(k[len(url) - len("s3://") + 1 :] for k in fs.find(url))
    assert keys == files
    for rel in files[:3]:
        assert fs.cat_file(f"{url}/{rel}") == (local / rel).read_bytes()
    remote = db.database(url, storage_options=options)
    (back,) = remote.series()
    assert back.SeriesInstanceUID == series.SeriesInstanceUID
    np.testing.assert_array_equal(back.to_xarray().values, series.to_xarray().values)
    # again: the same objects replaced, none added
    series.export_as_dicom(url, storage_options=options)
    fs.invalidate_cache()
    assert sorted(k[len(url) - len("s3://") + 1 :] for k in fs.find(url)) == files


def test_nifti_and_npy_exports_into_a_bucket(
    seaweedfs: SeaweedFS, source: db.Database, tmp_path: Path
) -> None:
    options, fs, series, url = _ct(seaweedfs, source)
    out = series.export_as_nifti(url, storage_options=options)
    assert out == url
    (nii,) = [k for k in fs.find(url) if k.endswith(".nii.gz")]
    local = tmp_path
    fs.get_file(nii, str(local / "x.nii.gz"))
    reference = Path(series.export_as_nifti(local / "ref"))
    (ref,) = reference.rglob("*.nii.gz")
    np.testing.assert_array_equal(
        np.asarray(nibabel.load(local / "x.nii.gz").dataobj), np.asarray(nibabel.load(ref).dataobj)
    )
    npy = series.export_as_npy(f"{url}/arrays/ct.npy", storage_options=options)
    assert npy == f"{url}/arrays/ct.npy"
    fs.get_file(npy, str(local / "ct.npy"))
    np.testing.assert_array_equal(np.load(local / "ct.npy"), series.array()[0])


def test_a_zarr_export_into_a_bucket_opens_from_its_url(
    seaweedfs: SeaweedFS, source: db.Database
) -> None:
    """Trial K: open_zarr of the URL of a series exported there said 'cannot export into'."""
    options, fs, series, url = _ct(seaweedfs, source)
    assert series.export_as_zarr(url, storage_options=options) == url
    (key,) = {k.split(".zarr/")[0] + ".zarr" for k in fs.find(url)}
    da = db.open_zarr(f"s3://{key}", storage_options=options)
    xr.testing.assert_identical(da.compute(), series.to_xarray().compute())
    parent, name = f"s3://{key}".rsplit("/", 1)
    with pytest.raises(db.InvalidFileError, match=f"{parent}.*export folder.*{name}"):
        db.open_zarr(parent, storage_options=options)
    with pytest.raises(db.DatabaseNotFoundError, match=f"{url}/missing.zarr"):
        db.open_zarr(f"{url}/missing.zarr", storage_options=options)
    wrong = {**options, "secret": "not-the-secret-42"}
    with pytest.raises(db.StorageAccessError) as info:
        db.open_zarr(f"s3://{key}", storage_options=wrong)
    assert "not-the-secret-42" not in str(info.value)


def test_a_wrong_secret_is_refused_and_nothing_is_left(
    seaweedfs: SeaweedFS, source: db.Database
) -> None:
    fs = bucket_fs(seaweedfs.options)
    wrong = {**seaweedfs.options, "secret": "not-the-secret-42"}
    url = f"s3://{_prefix()}"
    before = _temporary_exports()
    with pytest.raises(db.StorageAccessError, match="may write") as info:
        source.series()[0].export_as_dicom(url, storage_options=wrong)
    assert url in str(info.value) and "not-the-secret-42" not in str(info.value)
    assert fs.find(url) == []
    assert _temporary_exports() == before


def test_a_missing_bucket_names_the_url(s3_server: dict[str, Any], source: db.Database) -> None:
    """(moto's server, as AWS, has no bucket until it is made; SeaweedFS makes one on a write.)"""
    url = f"s3://no-such-bucket-{uuid.uuid4().hex[:6]}/results"
    with pytest.raises(db.StorageError, match="no-such-bucket") as info:
        source.series()[0].export_as_png(url, storage_options=s3_server)
    assert s3_server["secret"] not in str(info.value)


def test_an_upload_that_fails_half_way_removes_what_it_made(
    seaweedfs: SeaweedFS, source: db.Database, tmp_path: Path
) -> None:
    """An identity that may write below ``halfway/A`` only: the first patient's objects
    (Alpha^Anna's) are written, the others refused. Those written are removed; an object that
    was there before stays."""
    fs = bucket_fs(seaweedfs.options)
    limited = {**seaweedfs.options, "key": LIMITED_KEY, "secret": LIMITED_SECRET}
    prefix = LIMITED_WRITES.rsplit("/", 1)[0]  # dbdicom-ranges/halfway
    if fs.exists(prefix):
        fs.rm(prefix, recursive=True)
    mine = f"{LIMITED_WRITES}lready there.txt"
    fs.pipe_file(mine, b"the user's")
    # a listing of the prefix kept by this process (an open database), then an object
    # written by another at a key the export writes: there before the export, so not removed
    db.database(f"s3://{prefix}", storage_options=limited)
    local = Path(source.export_as_dicom(tmp_path / "local"))
    first = sorted(p.relative_to(local).as_posix() for p in local.rglob("*.dcm"))[0]
    theirs = f"{prefix}/{first}"
    assert theirs.startswith(LIMITED_WRITES)
    fs.pipe_file(theirs, b"another writer's")
    top = sorted(p.name for p in Path(source.export_as_csv(tmp_path / "csv")).iterdir())
    assert top[0].startswith("A") and not top[-1].startswith("A")  # patients' folders
    with pytest.raises(db.StorageAccessError, match="removed") as info:
        source.export_as_dicom(f"s3://{prefix}", storage_options=limited)
    assert LIMITED_SECRET not in str(info.value)
    assert "1 object(s) of the same names were there before" in str(info.value)
    fs.invalidate_cache()
    assert fs.find(prefix) == sorted([mine, theirs])
    assert fs.cat_file(mine) == b"the user's"


def test_an_identity_that_may_write_writes(seaweedfs: SeaweedFS, source: db.Database) -> None:
    """(What the test above relies on: the limited identity may write the first patient.)"""
    fs = bucket_fs(seaweedfs.options)
    limited = {**seaweedfs.options, "key": LIMITED_KEY, "secret": LIMITED_SECRET}
    patient = sorted(source.patients(), key=lambda p: str(p.PatientName))[0]
    out = patient.export_as_dicom(f"s3://{LIMITED_WRITES}-patient", storage_options=limited)
    fs.invalidate_cache()
    assert len(fs.find(out)) == len(patient.instances()) > 0
    fs.rm(out, recursive=True)


def test_stores_that_take_no_writes_and_options_without_a_store(
    source: db.Database, tmp_path: Path
) -> None:
    series = source.series()[0]
    for url in ("zip://::s3://bucket/cd.zip", "https://ann:pa55word@127.0.0.1:9/data"):
        with pytest.raises(db.ReadOnlyError, match="Give a folder") as info:
            series.export_as_csv(url)
        assert "pa55word" not in str(info.value)
    with pytest.raises(ValueError, match="storage_options"):
        series.export_as_csv(tmp_path / "csv", storage_options={"anon": True})
    out = series.export_as_csv(f"file://{tmp_path}/viafile")
    assert Path(out) == tmp_path / "viafile" and any((tmp_path / "viafile").rglob("*.csv"))
    spaced = series.export_as_csv(f"file://localhost{tmp_path}/with%20space")
    assert Path(spaced) == tmp_path / "with space" and (tmp_path / "with space").is_dir()
    with pytest.raises(db.ReadOnlyError, match="another machine"):
        series.export_as_csv(f"file://elsewhere{tmp_path}/x")
    with pytest.raises(ValueError, match="session="):
        series.export_as_dicom("dicomweb+http://127.0.0.1:9/dicom-web", storage_options={"a": 1})
    plain = series.export_as_csv(tmp_path / "plain")
    assert filecmp.dircmp(tmp_path / "viafile", plain).diff_files == []
