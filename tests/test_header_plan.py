"""One header plan, two serialisers: the bytes path and the pydicom path
write the same datasets.

Each array is written twice into new series: as the writer chooses
(bytes wherever the source allows) and with every header through pydicom
(``serialiser="pydicom"``, which reads each source with pydicom). The two
series are then read back with pydicom and compared element by element,
file meta and pixels included. Only what must differ is left out:

* SOPInstanceUID (and the file meta's MediaStorageSOPInstanceUID, which
  repeats it): a new UID is made for every instance written;
* SeriesInstanceUID: the two writes go into two new series;
* SeriesDescription and SeriesNumber: each target series is named after
  its write, to tell them apart, and a new series gets the next free
  number (both values come from the target series, the same rule in both
  paths);
* the file meta's ImplementationVersionName and group length: pydicom
  names its own version, the bytes path names none (neither is part of
  the dataset);
* FrameOfReferenceUID of an image made from the template (no sources):
  the template makes a new one for each write (a derived image keeps its
  source's, and is compared);
* SourceImageSequence / ReferencedSeriesSequence items are compared in full
  (they name the sources, which both writes share).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import xarray as xr
from builders import build_database, named_series
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

import dbdicom as db
from dbdicom._records import _write
from dbdicom._records._write import set_xarray
from dbdicom._templates import (
    ct_image,
    enhanced_mr_image,
    mr_image,
    secondary_capture,
    write_dataset,
)

# made per write, or naming the write's own series (see the module notes); the
# InstanceCreationDate and Time: the time of each write
_DIFFER = frozenset({0x00080018, 0x0020000E, 0x0008103E, 0x00200011, 0x00080012, 0x00080013})
_META_COMPARED = ("MediaStorageSOPClassUID", "TransferSyntaxUID")


def _differences(a: Dataset, b: Dataset, path: str = "") -> list[str]:
    """The elements of ``a`` and ``b`` that differ (tags at any depth)."""
    out = []
    for tag in sorted(set(a.keys()) | set(b.keys())):
        if not path and int(tag) in _DIFFER:
            continue
        if path.startswith("(0018,A001)") and int(tag) == 0x0018A002:
            continue  # dbdicom's ContributionDateTime: the time of each write
        if not path and int(tag) == 0x00200052 and "SourceImageSequence" not in a:
            continue  # a new image from the template: its frame of reference is new per write
        where = f"{path}{tag}"
        if tag not in a or tag not in b:
            out.append(f"{where} only in {'bytes' if tag in a else 'pydicom'}")
            continue
        x, y = a[tag], b[tag]
        if x.VR != y.VR:
            out.append(f"{where} VR {x.VR} != {y.VR}")
        elif x.VR == "SQ":
            if len(x.value) != len(y.value):
                out.append(f"{where} {len(x.value)} != {len(y.value)} items")
            for k, (i, j) in enumerate(zip(x.value, y.value, strict=False)):
                out.extend(_differences(i, j, f"{where}[{k}]."))
        elif x.value != y.value:
            out.append(f"{where} {x.keyword}: {x.value!r} != {y.value!r}")
    return out


def _order(ds: Dataset) -> tuple[Any, ...]:
    """What tells the frames of a write apart (the same in both writes)."""
    sources = [str(i.ReferencedSOPInstanceUID) for i in ds.get("SourceImageSequence", [])]
    return (
        int(ds.get("InstanceNumber", 0)),
        str(ds.get("ImagePositionPatient", "")),
        str(ds.get("ImageType", "")),
        str(sources),
    )


def _datasets(series: db.Series) -> list[Dataset]:
    found = sorted((pydicom.dcmread(f) for f in series.files()), key=_order)
    assert len({_order(ds) for ds in found}) == len(found)  # matched one to one
    return found


# frames serialised as bytes and through pydicom, by the write under way
_USED = {"bytes": 0, "pydicom": 0}
# pydicom's validation modes while each frame was serialised
_MODES: list[tuple[int, int]] = []
_AS_BYTES, _AS_DATASET = _write.as_bytes, _write.as_dataset


@pytest.fixture(autouse=True)
def _counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count the frames each serialiser writes."""

    settings = pydicom.config.settings

    def as_bytes(plan: Any) -> Any:
        _USED["bytes"] += 1
        _MODES.append((settings.reading_validation_mode, settings.writing_validation_mode))
        return _AS_BYTES(plan)

    def as_dataset(plan: Any, *args: Any) -> Any:
        _USED["pydicom"] += 1
        _MODES.append((settings.reading_validation_mode, settings.writing_validation_mode))
        return _AS_DATASET(plan, *args)

    monkeypatch.setattr(_write, "as_bytes", as_bytes)
    monkeypatch.setattr(_write, "as_dataset", as_dataset)


#: frames written as bytes by the writer's own choice, over the tests
AS_BYTES: list[int] = []


def assert_same_writes(source: Any, da: xr.DataArray, name: str, **kwargs: Any) -> int:
    """Write ``da`` under ``source`` both ways, compare; returns the frames
    compared. ``source``: a series (the new series are its siblings) or a
    study. The write through pydicom writes no frame as bytes."""
    made = []
    n = int(np.prod(da.shape[:-2]))
    for serialiser in ("auto", "pydicom"):
        if source.level == "series":
            out = source.new_sibling(SeriesDescription=f"{name} {serialiser}")
        else:
            out = source.new_series(SeriesDescription=f"{name} {serialiser}")
        _USED.update(bytes=0, pydicom=0)
        made.append(_datasets(set_xarray(out, da, serialiser=serialiser, **kwargs)))
        assert _USED["bytes"] + _USED["pydicom"] == n
        if serialiser == "pydicom":
            assert _USED["bytes"] == 0
        else:
            AS_BYTES.append(_USED["bytes"])
    fast, slow = made
    assert len(fast) == len(slow) == int(np.prod(da.shape[:-2]))
    for a, b in zip(fast, slow, strict=True):
        assert _differences(a, b) == [], (name, a.filename)
        for keyword in _META_COMPARED:
            assert a.file_meta[keyword].value == b.file_meta[keyword].value, keyword
        assert a.SOPInstanceUID != b.SOPInstanceUID  # new in every write
        assert a.file_meta.MediaStorageSOPInstanceUID == a.SOPInstanceUID
        assert b.file_meta.MediaStorageSOPInstanceUID == b.SOPInstanceUID
    return len(fast)


def _writable(series: db.Series) -> xr.DataArray | None:
    """The series as an array the image writer takes (None: colour, or not an image)."""
    try:
        da = series.to_xarray()
    except db.DicomError:  # no grid of tags: one dim of instances
        try:
            da = series.to_xarray(dims=["SOPInstanceUID"])
        except db.DicomError:
            return None
    return None if "channel" in da.dims else da


def _every_series(database: db.Database, name: str) -> int:
    """Write each series of ``database`` (scaled, as floats) both ways."""
    compared = 0
    for series in list(database.series()):
        da = _writable(series)
        if da is None:
            continue
        compared += assert_same_writes(series, da.astype(np.float32) * 1.5, name)
    return compared


def test_the_built_database_writes_the_same_both_ways(tmp_path: Path) -> None:
    """Every series of the test database: MR and CT stacks (Explicit VR, as
    bytes), an enhanced MR (multi-frame), RLE and Implicit VR sources."""
    build_database(tmp_path / "db")
    database = db.database(tmp_path / "db", dialog=db.TerminalDialog(interactive=False))
    AS_BYTES.clear()
    assert _every_series(database, "built") == 35
    # VFA (12), CT (5), T2w (4) as bytes; enhanced, RLE and Implicit VR: pydicom
    assert AS_BYTES == [12, 0, 5, 0, 0, 4]
    database.restore()
    database.close()


def test_the_demo_writes_the_same_both_ways(demo: db.Database) -> None:
    """The demo database, and derived arrays: a reduced dim (a map from a
    series with two dims), the SOPInstanceUID coordinate dropped (sources
    matched by coordinates), a description with accents."""
    AS_BYTES.clear()
    assert _every_series(demo, "demo") == sum(AS_BYTES) > 0  # all as bytes
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray()
    mean = da.mean("FlipAngle", keep_attrs=True).astype(np.float32)
    assert_same_writes(vfa, mean, "mean", description="moyenne über FlipAngle")
    plain = da.drop_vars("SOPInstanceUID") if "SOPInstanceUID" in da.coords else da
    assert_same_writes(vfa, plain * 2, "matched")
    demo.restore()


def test_new_series_from_the_template_write_the_same_both_ways(demo: db.Database) -> None:
    """No sources: the MR template, a stack along its normal, with and
    without an affine, with coordinates, and names that need UTF-8."""
    study = demo.studies()[0]
    data = np.arange(3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8)
    assert_same_writes(study, xr.DataArray(data, dims=("frame", "row", "column")), "stack")
    affine = np.diag([0.5, 0.5, 2.0, 1.0])
    affine[:3, 3] = [-10, 20, 30]
    located = xr.DataArray(
        data,
        dims=("SliceLocation", "row", "column"),
        coords={
            "SliceLocation": [1.0, 3.0, 5.0],
            "AcquisitionTime": ("SliceLocation", [1, 2, 3.5]),
        },
        attrs={"affine": affine, "ProtocolName": "été", "SeriesNumber": 7},
    )
    assert_same_writes(study, located, "affine", description="modèle")
    kinds = np.empty(2, dtype=object)
    kinds[:] = [("ORIGINAL", "PRIMARY", "M", "WATER"), ("ORIGINAL", "PRIMARY", "M", "FAT")]
    dixon = xr.DataArray(data[:2], dims=("ImageType", "row", "column"), coords={"ImageType": kinds})
    assert_same_writes(study, dixon, "dixon")
    demo.restore()


def _template_files(root: Path) -> None:
    """One file of each template of dbdicom, in each transfer syntax it writes."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 4000, (16, 16), dtype=np.uint16)
    common = {"PatientName": "Template^Tess", "PatientID": "TPL", "StudyDescription": "templates"}
    for compression in (None, "rle"):  # a series of its own each
        made = {
            "mr": mr_image(pixels, **common),
            "ct": ct_image(pixels.astype(np.int16) - 1000, **common),
            "sc": secondary_capture(pixels.astype(np.uint8), **common),
            "emr": enhanced_mr_image(np.stack([pixels, pixels + 1]), **common),
        }
        for name, ds in made.items():
            write_dataset(ds, root / f"{name}_{compression}.dcm", compression=compression)


def test_sources_made_from_the_templates_write_the_same_both_ways(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    _template_files(root)
    database = db.database(root, dialog=db.TerminalDialog(interactive=False))
    assert _every_series(database, "templates") == 10
    database.restore()
    database.close()


_AS_BYTES_FILES = frozenset(
    {"MR_small.dcm", "CT_small.dcm", "MR2_UNCR.dcm", "MR-SIEMENS-DICOM-WithOverlays.dcm"}
)
_PYDICOM_FILES = (
    "MR_small.dcm",  # Explicit VR Little Endian: as bytes
    "CT_small.dcm",
    "MR2_UNCR.dcm",
    "MR-SIEMENS-DICOM-WithOverlays.dcm",  # overlays and private (CSA) elements
    "MR_small_implicit.dcm",  # the fallback: Implicit VR, big endian, compressed
    "MR_small_bigendian.dcm",
    "MR_small_RLE.dcm",
)


@pytest.mark.parametrize("name", _PYDICOM_FILES)
def test_pydicom_test_files_write_the_same_both_ways(tmp_path: Path, name: str) -> None:
    """Each file in a database of its own (several share their UIDs)."""
    found = get_testdata_file(name)
    if found is None:
        pytest.skip(f"pydicom's test file {name} is not installed")
    root = tmp_path / "pydicom"
    root.mkdir()
    shutil.copyfile(str(found), root / name)
    database = db.database(root, dialog=db.TerminalDialog(interactive=False))
    AS_BYTES.clear()
    assert _every_series(database, "pydicom") >= 1
    assert (sum(AS_BYTES) > 0) == (name in _AS_BYTES_FILES)
    database.restore()
    database.close()


def test_sources_in_other_character_sets_write_the_same_both_ways(tmp_path: Path) -> None:
    """UTF-8 and Latin-1 sources: new text their character set encodes
    (kept), new text it does not (UTF-8, the whole header re-encoded), a
    character set given as an attr, and new series under them made from
    the template."""
    named_series(tmp_path, "ISO_IR 192", "Müller^Jürgen", "Klinikum Würzburg")
    named_series(tmp_path, "ISO_IR 100", "Gérard^Façade", "Hôpital Nord")
    named_series(tmp_path, "ISO_IR 6", "Plain^Paul", "General")
    database = db.database(tmp_path, dialog=db.TerminalDialog(interactive=False))
    for source in list(database.series()):
        da = source.to_xarray()
        assert_same_writes(source, da * 2, "latin", description="× 2, über alles")
        assert_same_writes(source, da, "greek", description="Ελληνικά")
        # a character set given as an attr: kept where it encodes the new text
        given = da.assign_attrs(SpecificCharacterSet="ISO_IR 100")
        assert_same_writes(source, given, "given", description="été")
        assert_same_writes(source, given, "given greek", description="Ελληνικά")
        made = xr.DataArray(np.ones((2, 16, 16)), dims=("frame", "row", "column"))
        assert_same_writes(source.parent, made, "modèle", description="modèle")
    database.restore()
    database.close()


def test_an_image_type_attr_counts_in_both_paths(demo: db.Database) -> None:
    """An ImageType among the attrs gives its values 3 on after
    DERIVED\\SECONDARY where no coordinate gives them (the byte path used to
    keep the source header's, the pydicom path the attr's)."""
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray().assign_attrs(ImageType=("ORIGINAL", "PRIMARY", "M", "T1MAP"))
    assert_same_writes(vfa, da, "t1 map")
    made = demo.series(SeriesDescription="t1 map auto")[0]
    assert pydicom.dcmread(made.files()[0]).ImageType == ["DERIVED", "SECONDARY", "M", "T1MAP"]
    demo.restore()


def test_pydicom_settings_and_warnings_filters_are_left_alone(demo: db.Database) -> None:
    """Writing changes no pydicom setting and no warnings filter, not even
    while it writes (validation is not switched off for the process: other
    threads keep their checks)."""
    settings = pydicom.config.settings
    before = (settings.reading_validation_mode, settings.writing_validation_mode)
    filters = list(warnings.filters)
    _MODES.clear()
    vfa = demo.series(SeriesDescription="VFA")[0]
    da = vfa.to_xarray()
    set_xarray(vfa.new_sibling(SeriesDescription="watched"), da, description="über")
    set_xarray(vfa.new_sibling(SeriesDescription="watched 2"), da, serialiser="pydicom")
    assert len(_MODES) == 2 * int(np.prod(da.shape[:-2])) and set(_MODES) == {before}
    assert (settings.reading_validation_mode, settings.writing_validation_mode) == before
    assert warnings.filters == filters
    demo.restore()
