"""Series built from scratch (no source files): what the user gave is what is written.

A parametric map without geometry is placed as images are (never its other
dims stacked into made-up slices), and attributes given to a new patient for
its studies reach the files of those studies.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import xarray as xr
from validators import dciodvfy_errors

import dbdicom as db
from dbdicom._errors import InvalidValueError


def _study(tmp_path: Path) -> db.Study:
    return db.database(tmp_path).new_patient(PatientName="X").new_study()


def _written_both(study: db.Study, modality: str, numpy_modality: str | None) -> tuple[Any, Any]:
    """Two stacks of 2 slices made from scratch below ``study``: by ``set_xarray`` of an
    array whose attrs give ``modality``, and by ``set_array`` into a series of
    ``numpy_modality`` (None: the series gives none); warnings ignored."""
    da = xr.DataArray(
        np.ones((2, 4, 4), np.uint16),
        dims=("SliceLocation", "row", "column"),
        attrs={"Modality": modality},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = study.new_series().set_xarray(da)
        given = {} if numpy_modality is None else {"Modality": numpy_modality}
        numpy_series = study.new_series(**given)
        numpy_series.set_array(np.ones((2, 4, 4), np.uint16))
    return series, numpy_series


@pytest.mark.parametrize("affine", [None, np.diag([1.5, 1.5, 5.0, 1.0])])
def test_a_parametric_map_of_two_volumes_is_refused_with_or_without_affine(
    tmp_path: Path, affine: np.ndarray | None
) -> None:
    attrs = {} if affine is None else {"affine": affine}
    da = xr.DataArray(
        np.ones((2, 3, 4, 4), np.float32),
        dims=("FlipAngle", "SliceLocation", "row", "column"),
        coords={"FlipAngle": [1.0, 2.0]},
        attrs=attrs,
    )
    series = _study(tmp_path).new_series()
    with pytest.raises(InvalidValueError, match="lie at the same position"):
        series.set_xarray(da, kind="parametric map")
    assert series.files() == []


@pytest.mark.parametrize("coords", [{}, {"SliceLocation": [10.0, 20.0, 40.0]}])
def test_a_parametric_map_without_geometry_lies_where_images_do(
    tmp_path: Path, coords: dict
) -> None:
    da = xr.DataArray(
        np.ones((3, 4, 4), np.float32), dims=("SliceLocation", "row", "column"), coords=coords
    )
    study = _study(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = study.new_series().set_xarray(da).to_xarray()
        pmap = study.new_series().set_xarray(da, kind="parametric map").to_xarray()
    expected = coords.get("SliceLocation", [0.0, 5.0, 10.0])
    np.testing.assert_allclose(image.SliceLocation.values, expected)
    np.testing.assert_allclose(pmap.SliceLocation.values, expected)


def test_study_attributes_given_to_a_new_patient_reach_its_studies_files(tmp_path: Path) -> None:
    database = db.database(tmp_path)
    patient = database.new_patient(
        PatientName="Age^Test",
        PatientAge="054Y",
        PatientWeight=70.5,
        PatientSize=1.8,
        PatientSex="F",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = patient.new_study().new_series().set_array(np.zeros((2, 8, 8), np.uint16))
        other = patient.new_study(PatientAge="055Y").new_series()
        other.set_array(np.zeros((1, 8, 8), np.uint16))
    for path in series.files():
        ds = pydicom.dcmread(path)
        assert (ds.PatientAge, float(ds.PatientWeight), float(ds.PatientSize), ds.PatientSex) == (
            "054Y",
            70.5,
            1.8,
            "F",
        )
    assert pydicom.dcmread(other.files()[0]).PatientAge == "055Y"  # the study's own wins
    assert patient.PatientAge == ["054Y", "055Y"]


def _header(series: db.Series) -> pydicom.Dataset:
    return pydicom.dcmread(series.files()[0], stop_before_pixels=True)


def _thickness(ds: pydicom.Dataset) -> float:
    if "SliceThickness" in ds:
        return float(ds.SliceThickness)
    return float(ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SliceThickness)


@pytest.mark.parametrize("kind", ["image", "parametric map"])
@pytest.mark.parametrize("slices, step", [(3, 3.0), (1, 4.0)])
def test_a_new_series_says_its_study_date_and_its_affine_slice_thickness(
    tmp_path: Path, kind: str, slices: int, step: float
) -> None:
    study = db.database(tmp_path).new_patient(PatientName="X").new_study(StudyDate="20240229")
    da = xr.DataArray(
        np.ones((slices, 4, 4), np.float32),
        dims=("SliceLocation", "row", "column"),
        attrs={"affine": np.diag([1.0, 1.0, step, 1.0])},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = _header(study.new_series().set_xarray(da, kind=kind))
    assert _thickness(ds) == step
    assert ds.SeriesDate == "20240229"
    if kind == "image":  # a parametric map's content date is the day it is made
        assert (ds.AcquisitionDate, ds.ContentDate) == ("20240229", "20240229")


def test_what_the_user_gave_is_not_replaced_by_the_study_date_or_the_spacing(
    tmp_path: Path,
) -> None:
    study = db.database(tmp_path).new_patient(PatientName="X").new_study(StudyDate="20240229")
    da = xr.DataArray(
        np.ones((3, 4, 4), np.float32),
        dims=("SliceLocation", "row", "column"),
        coords={"AcquisitionDate": ("SliceLocation", ["20240301"] * 3)},
        attrs={"affine": np.diag([1.0, 1.0, 3.0, 1.0]), "SliceThickness": 2.0},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = _header(study.new_series(SeriesDate="20240302").set_xarray(da))
    assert (float(ds.SliceThickness), ds.AcquisitionDate, ds.SeriesDate) == (
        2.0,
        "20240301",
        "20240302",
    )
    assert ds.ContentDate == "20240229"


_PLACEHOLDERS = ("Series", "Acquisition", "Content")


@pytest.mark.parametrize("modality", ["MR", "CT", "PT"])
def test_a_study_without_a_date_gives_its_new_images_none(tmp_path: Path, modality: str) -> None:
    """A trial: images made from the template in a study without StudyDate kept the
    template's placeholder dates (20240115) and times as SeriesDate, AcquisitionDate...
    """
    series, numpy_series = _written_both(_study(tmp_path), modality, None)
    for path in [*series.files(), *numpy_series.files()]:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        for prefix in ("Series", "Acquisition"):  # Type 3: left out
            assert prefix + "Date" not in ds and prefix + "Time" not in ds
        assert (ds.ContentDate, ds.ContentTime) == ("", "")  # Type 2C: present, empty
    assert dciodvfy_errors(series.files()[0]) == []


def test_a_study_with_a_date_and_no_time_gives_its_new_images_its_date_only(
    tmp_path: Path,
) -> None:
    study = db.database(tmp_path).new_patient(PatientName="X").new_study(StudyDate="20240229")
    da = xr.DataArray(np.ones((2, 4, 4), np.uint16), dims=("SliceLocation", "row", "column"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = _header(study.new_series().set_xarray(da))
    assert [ds.get(p + "Date") for p in _PLACEHOLDERS] == ["20240229"] * 3
    assert [ds.get(p + "Time") for p in _PLACEHOLDERS] == [None, None, ""]


def test_the_way_out_of_frames_at_one_position_names_the_arrays_own_dims(
    tmp_path: Path,
) -> None:
    """A trial: the refusal suggested da.isel(FlipAngle=0) whatever the array's dims."""
    da = xr.DataArray(
        np.ones((3, 2, 4, 4), np.float32),
        dims=("SliceLocation", "EchoTime", "row", "column"),
        coords={"EchoTime": [5.0, 10.0]},
        attrs={"affine": np.diag([1.0, 1.0, 3.0, 1.0])},
    )
    series = _study(tmp_path).new_series()
    with pytest.raises(InvalidValueError) as refused:
        series.set_xarray(da, kind="parametric map")
    assert "da.isel(EchoTime=0) or da.mean('EchoTime')" in str(refused.value)
    assert "FlipAngle" not in str(refused.value)
    assert series.files() == []


#: the template's acquisition placeholders: Type 2 (present, empty) and Type 3 (left out)
_ACQUISITION = {
    "MR": (
        ("MRAcquisitionType", "RepetitionTime", "EchoTime", "EchoTrainLength"),
        ("FlipAngle", "MagneticFieldStrength", "SequenceName", "NumberOfAverages",
         "ImagingFrequency", "ImagedNucleus", "EchoNumbers", "PixelBandwidth",
         "AcquisitionNumber", "BodyPartExamined", "PatientOrientation"),
    ),
    "CT": (
        ("KVP", "AcquisitionNumber"),
        ("ExposureTime", "XRayTubeCurrent", "ConvolutionKernel", "DataCollectionDiameter",
         "BodyPartExamined", "PatientOrientation"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("modality", ["MR", "CT"])
def test_an_array_from_scratch_has_no_made_up_acquisition_values(
    tmp_path: Path, modality: str
) -> None:
    """A trial: an MR array with no FlipAngle attr was written with the template's
    FlipAngle 15 (and EchoTime 2, RepetitionTime 5, 1.5 T...) as if measured; a CT
    one with 120 kVp."""
    series, numpy_series = _written_both(_study(tmp_path), modality, modality)
    type2, type3 = _ACQUISITION[modality]
    for path in [*series.files(), *numpy_series.files()]:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert [k for k in type2 if k not in ds or not ds[k].is_empty] == []  # present, empty
        assert [k for k in type3 if k in ds] == []
        assert ds.Modality == modality
    assert dciodvfy_errors(series.files()[0]) == []


def test_acquisition_values_the_array_gives_are_written(tmp_path: Path) -> None:
    study = _study(tmp_path)
    da = xr.DataArray(
        np.ones((2, 4, 4), np.uint16),
        dims=("FlipAngle", "row", "column"),
        coords={"FlipAngle": [2.0, 20.0]},
        attrs={"EchoTime": 3.5, "MagneticFieldStrength": 3.0, "BodyPartExamined": "KNEE"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = study.new_series().set_xarray(da)
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in series.files()]
    assert sorted(float(ds.FlipAngle) for ds in headers) == [2.0, 20.0]
    for ds in headers:
        assert (float(ds.EchoTime), float(ds.MagneticFieldStrength)) == (3.5, 3.0)
        assert (ds.BodyPartExamined, ds.RepetitionTime) == ("KNEE", None)


def test_an_array_made_by_hand_is_not_told_it_lost_its_sources(tmp_path: Path) -> None:
    """A Modality attr does not make an array one read from images (the warning of a
    reduction over series stacked said so of any array with one)."""
    da = xr.DataArray(
        np.ones((2, 4, 4), np.uint16),
        dims=("SliceLocation", "row", "column"),
        attrs={"Modality": "CT"},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _study(tmp_path).new_series().set_xarray(da)
    assert [str(w.message) for w in caught if "source" in str(w.message)] == []


@pytest.mark.parametrize(
    "coords, thickness",
    [({}, "5.0"), ({"SliceLocation": [10.0, 20.0, 40.0]}, None)],
    ids=["stacked by the template", "uneven"],
)
def test_slices_on_no_grid_have_no_made_up_thickness(
    tmp_path: Path, coords: dict, thickness: str | None
) -> None:
    """Frames the template stacks lie one SliceThickness apart: it is theirs; slices
    at uneven places have none (it was the template's 5 mm)."""
    da = xr.DataArray(
        np.ones((3, 4, 4), np.uint16), dims=("SliceLocation", "row", "column"), coords=coords
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = _study(tmp_path).new_series().set_xarray(da)
    for path in series.files():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert ds["SliceThickness"].value == thickness  # Type 2: present
    assert dciodvfy_errors(series.files()[0]) == []


#: what a template claims of a scanner and its patient: left out (Type 3)
_SCANNER = ("InstitutionName", "StationName", "DeviceSerialNumber", "BurnedInAnnotation")


@pytest.mark.parametrize("modality", ["MR", "CT"])
def test_an_array_from_scratch_names_the_software_that_made_it_not_a_scanner(
    tmp_path: Path, modality: str
) -> None:
    """A trial: an MR series written from an array said it was made by the station
    DBDMR01 ('Template MR', serial 0001) of the 'dbdicom Test Hospital', with the
    patient head first supine, by 'dbdicom templates 1.0' (a version dbdicom never
    had), with a spoiled gradient echo (GR, SP)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = _study(tmp_path).new_series(Modality=modality)
        series.set_array(np.ones((2, 4, 4), np.uint16))
    for path in series.files():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert (ds.Manufacturer, ds.ManufacturerModelName) == ("dbdicom", "dbdicom")
        assert ds.SoftwareVersions == f"dbdicom {db.__version__}"
        assert [k for k in _SCANNER if k in ds] == []
        assert ds["PatientPosition"].is_empty  # Type 2C: present, empty
        if modality == "MR":  # Type 1: research mode, no variant (no sequence ran)
            assert (ds.ScanningSequence, ds.SequenceVariant) == ("RM", "NONE")
    assert dciodvfy_errors(series.files()[0]) == []


def test_the_equipment_the_user_gives_is_written(tmp_path: Path) -> None:
    da = xr.DataArray(
        np.ones((1, 4, 4), np.uint16),
        dims=("SliceLocation", "row", "column"),
        attrs={"StationName": "SIM01", "ScanningSequence": "SE", "SequenceVariant": "SK"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = _study(tmp_path).new_series(Manufacturer="Acme", InstitutionName="Lab")
        series.set_xarray(da)
    ds = pydicom.dcmread(series.files()[0], stop_before_pixels=True)
    assert (ds.Manufacturer, ds.InstitutionName, ds.StationName) == ("Acme", "Lab", "SIM01")
    assert (ds.ScanningSequence, ds.SequenceVariant) == ("SE", "SK")


def test_an_inversion_time_from_scratch_makes_the_sequence_inversion_recovery(
    tmp_path: Path,
) -> None:
    """An MR array with an InversionTime coordinate was written with the template's
    ScanningSequence GR, which dciodvfy refuses (InversionTime only with IR)."""
    da = xr.DataArray(
        np.ones((2, 4, 4), np.uint16),
        dims=("InversionTime", "row", "column"),
        coords={"InversionTime": [100.0, 900.0]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = _study(tmp_path).new_series().set_xarray(da)
    for path in series.files():
        assert pydicom.dcmread(path, stop_before_pixels=True).ScanningSequence == "IR"
    assert dciodvfy_errors(series.files()[0]) == []


@pytest.mark.parametrize("modality", ["MR", "CT"])
def test_a_new_instance_without_a_dataset_has_no_made_up_values(
    tmp_path: Path, modality: str
) -> None:
    """A trial: ``series.new_instance()`` wrote the whole template: FlipAngle 15,
    EchoTime 2, 120 kVp, BodyPartExamined HEAD, ImageType ORIGINAL, a study date
    (2024-01-15) in a study that has none."""
    series = _study(tmp_path).new_series(Modality=modality)
    ds = pydicom.dcmread(series.new_instance().files()[0], stop_before_pixels=True)
    type2, type3 = _ACQUISITION[modality]
    assert [k for k in type2 if k not in ds or not ds[k].is_empty] == []  # present, empty
    assert [k for k in (*type3, *_SCANNER, "SeriesDate", "AcquisitionDate") if k in ds] == []
    assert ds.ImageType[:2] == ["DERIVED", "SECONDARY"]
    assert (ds.StudyDate, ds.ContentDate, ds.SliceThickness) == ("", "", None)
    assert (ds.Manufacturer, ds.SoftwareVersions) == ("dbdicom", f"dbdicom {db.__version__}")
    assert dciodvfy_errors(series.files()[0]) == []


def test_a_new_instance_keeps_what_the_user_gives(tmp_path: Path) -> None:
    study = db.database(tmp_path).new_patient(PatientName="X").new_study(StudyDate="20240301")
    series = study.new_series(InstitutionName="Lab")
    instance = series.new_instance(FlipAngle=20, ImageType=["ORIGINAL", "PRIMARY"])
    ds = pydicom.dcmread(instance.files()[0], stop_before_pixels=True)
    assert (float(ds.FlipAngle), ds.ImageType, ds.InstitutionName) == (
        20.0,
        ["ORIGINAL", "PRIMARY"],
        "Lab",
    )
    assert (ds.StudyDate, ds.SeriesDate, ds.ContentDate) == ("20240301",) * 3


@pytest.mark.parametrize("kind", ["parametric map", "segmentation"])
def test_a_multiframe_object_names_dbdicom_at_its_version(tmp_path: Path, kind: str) -> None:
    """Its Enhanced General Equipment (all Type 1) said 'Template MR' made by
    'dbdicom templates 1.0', a model and version that never were."""
    dtype = np.float32 if kind == "parametric map" else bool
    da = xr.DataArray(np.ones((2, 4, 4), dtype), dims=("SliceLocation", "row", "column"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = _study(tmp_path).new_series().set_xarray(da, kind=kind)
    ds = pydicom.dcmread(series.files()[0], stop_before_pixels=True)
    assert (ds.Manufacturer, ds.ManufacturerModelName) == ("dbdicom", "dbdicom")
    assert ds.SoftwareVersions == f"dbdicom {db.__version__}"


def test_equipment_the_user_names_is_not_called_dbdicom(tmp_path: Path) -> None:
    """A new series given Manufacturer 'Acme' was written with ManufacturerModelName
    'dbdicom' and SoftwareVersions 'dbdicom <version>': an Acme model named dbdicom. Given
    one of them, the others are not made up (the Manufacturer, Type 2, is then empty)."""
    da = xr.DataArray(
        np.ones((2, 4, 4), np.uint16),
        dims=("SliceLocation", "row", "column"),
        attrs={"SoftwareVersions": "fit 2.0"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = _study(tmp_path)
        acme = study.new_series(Manufacturer="Acme")
        acme.set_array(np.ones((2, 4, 4), np.uint16))
        acme_instance = study.new_series(Manufacturer="Acme").new_instance()
        fitted = study.new_series().set_xarray(da)
    for path in [*acme.files(), *acme_instance.files()]:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert ds.Manufacturer == "Acme"
        assert [k for k in ("ManufacturerModelName", "SoftwareVersions") if k in ds] == []
    ds = pydicom.dcmread(fitted.files()[0], stop_before_pixels=True)
    assert (ds.Manufacturer, ds.SoftwareVersions, "ManufacturerModelName" in ds) == (
        "",
        "fit 2.0",
        False,
    )
    assert dciodvfy_errors(acme.files()[0]) == []


def test_an_inversion_time_the_series_gives_makes_the_sequence_inversion_recovery(
    tmp_path: Path,
) -> None:
    """``new_series(InversionTime=300)``: its frames (from an array or new_instance) had the
    InversionTime with ScanningSequence RM, which dciodvfy refuses (Type 2C: only with IR),
    where an attr's or a coordinate's made it IR."""
    study = _study(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = study.new_series(InversionTime=300.0)
        written.set_array(np.ones((2, 4, 4), np.uint16))
    made = study.new_series(InversionTime=300.0).new_instance()
    for path in (written.files()[0], made.files()[0]):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert (float(ds.InversionTime), ds.ScanningSequence) == (300.0, "IR")
        assert dciodvfy_errors(path) == []


_MR_SMALL = Path(pydicom.__file__).parent / "data" / "test_files" / "MR_small.dcm"
#: values of the series level that MR_small.dcm has (its scanner, where the patient lay)
_SERIES_VALUES = ("Manufacturer", "InstitutionName", "StationName", "ManufacturerModelName",
                  "PatientPosition", "FrameOfReferenceUID", "Modality")  # fmt: skip


def test_a_dataset_written_into_a_new_series_keeps_its_series_values(tmp_path: Path) -> None:
    """``new_series().new_instance(dataset)`` emptied the dataset's Manufacturer,
    InstitutionName, StationName, model and PatientPosition: a new series that was not
    given them says nothing of them. Who the patient is and which study stay the records'."""
    source = pydicom.dcmread(_MR_SMALL)
    study = _study(tmp_path)
    series = study.new_series(SeriesDescription="copy", StationName="given")
    ds = pydicom.dcmread(series.new_instance(source).files()[0], stop_before_pixels=True)
    expected = {k: source[k].value for k in _SERIES_VALUES} | {"StationName": "given"}
    assert {k: ds.get(k) for k in _SERIES_VALUES} == expected
    assert ds.SeriesDescription == "copy"
    assert (ds.PatientName, ds.PatientID, ds.PatientSex) == ("X", study.PatientID, "")
    assert (ds.StudyInstanceUID, ds.StudyID) == (study.uid, "")
    assert dciodvfy_errors(series.files()[0]) == []
    # the series has a file now: its values are those of every file written into it
    other = pydicom.dcmread(_MR_SMALL)
    other.Manufacturer, other.PatientPosition = "Acme", "FFS"
    ds = pydicom.dcmread(series.new_instance(other).files()[0], stop_before_pixels=True)
    assert (ds.Manufacturer, ds.PatientPosition) == (source.Manufacturer, "HFS")


def test_a_new_instance_given_a_study_date_has_content_of_that_date(tmp_path: Path) -> None:
    """``new_instance(StudyDate=...)`` in a study without a date wrote that StudyDate
    with an empty ContentDate, and the next file of the (now dated) study its date."""
    study = _study(tmp_path)
    first = study.new_series().new_instance(StudyDate="20240301")
    second = study.new_series().new_instance()
    for instance in (first, second):
        ds = pydicom.dcmread(instance.files()[0], stop_before_pixels=True)
        assert (ds.StudyDate, ds.SeriesDate, ds.ContentDate) == ("20240301",) * 3
        assert (ds.StudyTime, ds.ContentTime) == ("", "")
    assert dciodvfy_errors(first.files()[0]) == []


def test_a_new_instance_in_a_series_without_equipment_has_it_empty(tmp_path: Path) -> None:
    """The series' files have no PatientPosition nor Manufacturer: a new file of the series
    has them present without a value (Type 2: a series has one of each, none is known),
    not dbdicom's nor the template's."""
    source = pydicom.dcmread(_MR_SMALL)
    del source.PatientPosition, source.Manufacturer
    source.save_as(tmp_path / "mr.dcm")
    series = db.database(tmp_path).series()[0]
    path = series.new_instance().files()[0]
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert (ds.PatientPosition, ds.Manufacturer) == ("", "")
    assert dciodvfy_errors(path) == []  # MR_small's own errors are those two


def test_a_dataset_of_another_patient_keeps_none_of_their_other_ids(tmp_path: Path) -> None:
    """``new_instance(dataset)`` below a new patient emptied the dataset's
    OtherPatientIDsSequence (another person's IDs) to a sequence of no items: dciodvfy
    errors (Type 3, 1-n items). It is left out."""
    source = pydicom.dcmread(Path(pydicom.__file__).parent / "data/test_files/CT_small.dcm")
    assert len(source.OtherPatientIDsSequence) == 2
    instance = _study(tmp_path).new_series().new_instance(source)
    ds = pydicom.dcmread(instance.files()[0], stop_before_pixels=True)
    assert "OtherPatientIDsSequence" not in ds and ds.PatientName == "X"
    assert dciodvfy_errors(instance.files()[0]) == []
