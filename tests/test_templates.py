"""The templates make valid DICOM, and the test-data builders make what they promise."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from bad_files import BadFiles
from builders import (
    SHIPPED_DUPLICATE_SOP_UIDS,
    SHIPPED_FILES,
    Manifest,
    pydicom_shipped_files,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pydicom.errors import InvalidDicomError
from pydicom.fileset import FileSet
from pydicom.uid import (
    CTImageStorage,
    EnhancedMRImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MRImageStorage,
    RLELossless,
)
from validators import dciodvfy, read_elsewhere

from dbdicom._demo import VFA_FLIP_ANGLES, VFA_TR, build_demo, phantom_maps
from dbdicom._templates import (
    ct_image,
    enhanced_mr_image,
    mr_image,
    new_uid,
    slice_location,
    write_dataset,
)

# ----------------------------------------------------------------------------- validators


def assert_valid(path: Path, max_warnings: int = 0) -> None:
    errors, warnings = dciodvfy(path)
    assert errors == [], "\n".join(errors)
    assert len(warnings) <= max_warnings, "\n".join(warnings)


# ----------------------------------------------------------------------------- templates

RNG = np.random.default_rng(1)


def _positions(n: int) -> list[tuple[float, float, float]]:
    return [(-10.0, -12.0, 4.0 * k) for k in range(n)]


CASES: dict[str, tuple[Callable[..., Any], np.ndarray, dict[str, Any]]] = {
    "mr-uint16": (mr_image, RNG.integers(0, 4096, (24, 20), dtype=np.uint16), {}),
    "mr-int16-oblique": (
        mr_image,
        RNG.integers(-500, 500, (16, 16), dtype=np.int16),
        {"ImageOrientationPatient": [0.8, 0.6, 0, 0, 0, -1], "InversionTime": 900},
    ),
    "mr-uint8-sagittal": (
        mr_image,
        RNG.integers(0, 255, (12, 18), dtype=np.uint8),
        {"ImageOrientationPatient": [0, 1, 0, 0, 0, -1], "PatientName": "Müller^Jörg"},
    ),
    "ct-hu-int16": (ct_image, RNG.integers(-1024, 3071, (20, 20), dtype=np.int16), {}),
    "ct-uint16-rescaled": (
        ct_image,
        RNG.integers(0, 4095, (20, 16), dtype=np.uint16),
        {"RescaleIntercept": -1024, "WindowCenter": 400, "WindowWidth": 1800},
    ),
    "emr-positions-x-echoes": (
        enhanced_mr_image,
        RNG.integers(0, 4096, (8, 16, 16), dtype=np.uint16),
        {"positions": _positions(4) * 2, "per_frame": {"EchoTime": [5.0] * 4 + [15.0] * 4}},
    ),
    "emr-echo-and-flip": (
        enhanced_mr_image,
        RNG.integers(-100, 4000, (4, 12, 10), dtype=np.int16),
        {
            "positions": [(0.0, 0.0, 0.0)] * 4,
            "per_frame": {"EchoTime": [5, 5, 10, 10], "FlipAngle": [2, 15, 2, 15]},
            "RepetitionTime": 6.0,
        },
    ),
    "emr-inversion-dynamic": (
        enhanced_mr_image,
        RNG.integers(0, 4096, (3, 8, 8), dtype=np.uint16),
        {
            "per_frame": {
                "InversionTime": [100, 400, 1600],
                "TemporalPositionIndex": [1, 2, 3],
                "FrameAcquisitionDateTime": ["20240115093012", "20240115093112", "20240115093212"],
            },
            "ImageOrientationPatient": [1, 0, 0, 0, 0, -1],
            "AcquisitionContrast": "T1",
        },
    ),
    "emr-diffusion": (
        enhanced_mr_image,
        RNG.integers(0, 4096, (3, 8, 8), dtype=np.uint16),
        {"per_frame": {"DiffusionBValue": [0, 500, 1000]}, "EchoTime": 80, "FlipAngle": 90},
    ),
}

ENCODINGS: dict[str, dict[str, Any]] = {
    "explicit": {"transfer_syntax": ExplicitVRLittleEndian},
    "implicit": {"transfer_syntax": ImplicitVRLittleEndian},
    "rle": {"compression": "rle"},
}
EXPECTED_SYNTAX = {
    "explicit": ExplicitVRLittleEndian,
    "implicit": ImplicitVRLittleEndian,
    "rle": RLELossless,
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("case", list(CASES))
def test_template_output_is_valid_and_rereads(tmp_path: Path, case: str, encoding: str) -> None:
    template, pixels, kwargs = CASES[case]
    ds = template(pixels, **kwargs)
    path = write_dataset(ds, tmp_path / "IM_0001", **ENCODINGS[encoding])

    assert_valid(path)
    assert "PixelData" in read_elsewhere(path, pixels)  # GDCM decodes the same pixels
    back = pydicom.dcmread(path)
    assert back.file_meta.TransferSyntaxUID == EXPECTED_SYNTAX[encoding]
    assert back.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert back.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    assert np.array_equal(back.pixel_array, pixels)
    assert back.pixel_array.dtype.kind == pixels.dtype.kind
    assert "PixelData" in ds and ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian


def test_sop_classes() -> None:
    image = np.zeros((4, 4), np.uint16)
    assert mr_image(image).SOPClassUID == MRImageStorage
    assert ct_image(image).SOPClassUID == CTImageStorage
    assert enhanced_mr_image(image[None]).SOPClassUID == EnhancedMRImageStorage


def test_attributes_override_defaults_and_uids_are_generated() -> None:
    image = np.zeros((4, 4), np.uint16)
    study = new_uid()
    ds = mr_image(image, PatientName="Roe^Rita", StudyInstanceUID=study, StudyDate="20200202")
    assert str(ds.PatientName) == "Roe^Rita"
    assert ds.StudyInstanceUID == study
    assert ds.ContentDate == ds.SeriesDate == "20200202"
    other = mr_image(image)
    for keyword in ("SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
        assert ds[keyword].value != other[keyword].value


@pytest.mark.parametrize(
    "orientation",
    [[1, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, -1], [0, 1, 0, 0, 0, -1], [0.8, 0.6, 0, 0, 0, -1]],
    ids=["axial", "coronal", "sagittal", "oblique"],
)
def test_slice_location_is_projection_on_normal(orientation: list[float]) -> None:
    position = [12.5, -30.0, 47.25]
    ds = mr_image(
        np.zeros((4, 4), np.uint16),
        ImageOrientationPatient=orientation,
        ImagePositionPatient=position,
    )
    normal = np.cross(orientation[:3], orientation[3:])
    assert float(ds.SliceLocation) == pytest.approx(float(np.dot(position, normal)), abs=1e-4)
    assert float(ds.SliceLocation) == pytest.approx(slice_location(position, orientation))


def test_enhanced_functional_groups() -> None:
    pixels = np.zeros((8, 6, 6), np.uint16)
    positions = _positions(4) * 2
    echoes = [5.0] * 4 + [15.0] * 4
    ds = enhanced_mr_image(
        pixels,
        positions=positions,
        per_frame={"EchoTime": echoes},
        FlipAngle=12,
        PixelSpacing=[0.5, 0.75],
    )
    shared = ds.SharedFunctionalGroupsSequence[0]
    assert [float(x) for x in shared.PixelMeasuresSequence[0].PixelSpacing] == [0.5, 0.75]
    assert float(shared.MRTimingAndRelatedParametersSequence[0].FlipAngle) == 12
    assert "PlaneOrientationSequence" in shared and "MRImageFrameTypeSequence" in shared
    assert "MREchoSequence" not in shared
    labels = [item.DimensionDescriptionLabel for item in ds.DimensionIndexSequence]
    assert labels == ["StackID", "InStackPositionNumber", "EffectiveEchoTime"]
    seen = set()
    for index, frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
        assert float(frame.MREchoSequence[0].EffectiveEchoTime) == echoes[index]
        position = [float(x) for x in frame.PlanePositionSequence[0].ImagePositionPatient]
        assert position == list(positions[index])
        content = frame.FrameContentSequence[0]
        assert content.InStackPositionNumber == index % 4 + 1
        seen.add(tuple(content.DimensionIndexValues))
    assert len(seen) == 8


def test_enhanced_per_frame_moves_whole_macro() -> None:
    ds = enhanced_mr_image(
        np.zeros((2, 4, 4), np.uint16),
        per_frame={"FlipAngle": [2, 20]},
        RepetitionTime=7.5,
    )
    assert "MRTimingAndRelatedParametersSequence" not in ds.SharedFunctionalGroupsSequence[0]
    for angle, frame in zip([2, 20], ds.PerFrameFunctionalGroupsSequence, strict=True):
        timing = frame.MRTimingAndRelatedParametersSequence[0]
        assert (float(timing.FlipAngle), float(timing.RepetitionTime)) == (angle, 7.5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mr_image(np.zeros((2, 2), np.uint16), SeriesDescrption="x"), "SeriesDescrption"),
        (lambda: ct_image(np.zeros((2, 2), np.int16), Bogus=1), "Bogus"),
        (lambda: enhanced_mr_image(np.zeros((1, 2, 2), np.uint16), NotAKeyword=1), "NotAKeyword"),
        (
            lambda: enhanced_mr_image(np.zeros((1, 2, 2), np.uint16), per_frame={"EchoTimes": [1]}),
            "EchoTimes",
        ),
        (lambda: mr_image(np.zeros((2, 2), np.uint16), Rows=3), "Rows"),
        (
            lambda: mr_image(np.zeros((2, 2), np.uint16), InversionTime=300, ScanningSequence="GR"),
            "needs 'IR'",
        ),
        (lambda: mr_image(np.zeros((2, 2), np.float32)), "integer"),
        (lambda: mr_image(np.zeros((2, 2, 2), np.uint16)), "2-D"),
        (lambda: mr_image(np.full((2, 2), 70000, np.int64)), "do not fit"),
        (
            lambda: enhanced_mr_image(
                np.zeros((2, 2, 2), np.uint16), ImagePositionPatient=[0, 0, 0]
            ),
            "positions",
        ),
        (
            lambda: enhanced_mr_image(np.zeros((2, 2, 2), np.uint16), per_frame={"EchoTime": [1]}),
            "1 values for 2 frames",
        ),
        (
            lambda: enhanced_mr_image(np.zeros((2, 2, 2), np.uint16), positions=[(0, 0, 0)]),
            "(2, 3)",
        ),
        (lambda: write_dataset(mr_image(np.zeros((2, 2), np.uint16)), "x", "jpeg"), "jpeg"),
    ],
    ids=[
        "typo",
        "ct-unknown",
        "enhanced-unknown",
        "per-frame-unknown",
        "fixed-by-pixels",
        "inversion-without-ir",
        "float-pixels",
        "3d-for-mr",
        "out-of-range",
        "enhanced-position",
        "per-frame-length",
        "positions-shape",
        "compression",
    ],
)
def test_bad_arguments_raise_value_error_naming_them(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_unknown_keyword_suggests_the_right_one() -> None:
    with pytest.raises(ValueError, match="did you mean 'SeriesDescription'"):
        mr_image(np.zeros((2, 2), np.uint16), SeriesDescrption="x")


def test_write_dataset_leaves_the_dataset_alone(tmp_path: Path) -> None:
    ds = mr_image(np.arange(16, dtype=np.uint16).reshape(4, 4))
    before = ds.PixelData
    write_dataset(ds, tmp_path / "sub" / "dir" / "a.dcm", compression="rle")
    assert ds.PixelData == before
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian


@settings(max_examples=25, deadline=None)
@given(
    pixels=hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.int16]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
    ),
    description=st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="\\"),
        max_size=20,
    ).map(str.strip),
    flip=st.floats(min_value=0.1, max_value=180, allow_nan=False),
    rle=st.booleans(),
)
def test_round_trip_pixels_and_values(
    pixels: np.ndarray, description: str, flip: float, rle: bool
) -> None:
    ds = mr_image(pixels, SeriesDescription=description, FlipAngle=flip)
    with tempfile.TemporaryDirectory() as folder:
        path = write_dataset(ds, Path(folder) / "x.dcm", compression="rle" if rle else None)
        back = pydicom.dcmread(path)
        assert np.array_equal(back.pixel_array, pixels)
        assert back.SeriesDescription == description
        assert float(back.FlipAngle) == pytest.approx(flip, rel=1e-9)


# ----------------------------------------------------------------------------- database


def _walk(root: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(path) for path in sorted(root.rglob("*")) if path.is_file()]


def test_database_manifest_matches_the_files(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    datasets = _walk(root)
    assert len(datasets) == manifest.n_instances == len(manifest.files) == 28
    assert len({ds.PatientID for ds in datasets}) == manifest.n_patients == 3
    assert len({ds.StudyInstanceUID for ds in datasets}) == manifest.n_studies == 4
    assert len({ds.SeriesInstanceUID for ds in datasets}) == manifest.n_series == 6
    assert len({ds.SOPInstanceUID for ds in datasets}) == manifest.n_instances
    assert sum(int(ds.get("NumberOfFrames", 1)) for ds in datasets) == manifest.n_frames == 35
    assert sorted(manifest.files) == sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
    )
    suffixes = {Path(f).suffix for f in manifest.files}
    assert {".dcm", "", ".IMA"} <= suffixes

    for patient in manifest.patients:
        for study in patient.studies:
            for series in study.series:
                for instance in series.instances:
                    ds = pydicom.dcmread(root / instance.path)
                    assert ds.PatientID == patient.patient_id
                    assert str(ds.PatientName) == patient.name
                    assert ds.StudyInstanceUID == study.uid
                    assert ds.StudyDescription == study.description
                    assert ds.SeriesInstanceUID == series.uid
                    assert ds.SeriesDescription == series.description
                    assert int(ds.SeriesNumber) == series.number
                    assert ds.SOPClassUID == series.sop_class_uid
                    assert ds.file_meta.TransferSyntaxUID == series.transfer_syntax
                    assert ds.SOPInstanceUID == instance.sop_instance_uid
                    assert int(ds.InstanceNumber) == instance.instance_number
                    assert np.array_equal(ds.pixel_array, instance.pixels)
                    if instance.n_frames == 1:
                        for keyword, value in instance.frames[0].items():
                            assert float(ds[keyword].value) == pytest.approx(value)


def test_database_special_series(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    vfa = manifest.series_by_description("VFA")
    assert vfa.coords == {"SliceLocation": [0.0, 5.0, 10.0, 15.0], "FlipAngle": [2.0, 10.0, 20.0]}
    assert manifest.series_by_description("T1w RLE").transfer_syntax == RLELossless
    implicit = manifest.series_by_description("PD implicit")
    assert implicit.transfer_syntax == ImplicitVRLittleEndian
    ds = pydicom.dcmread(root / implicit.files[0])
    assert ds.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    assert ds.original_encoding == (True, True)  # implicit VR, little endian
    enhanced = manifest.series_by_description("ME enhanced")
    assert (enhanced.n_instances, enhanced.n_frames) == (1, 8)
    frames = pydicom.dcmread(root / enhanced.files[0]).PerFrameFunctionalGroupsSequence
    for expected, frame in zip(enhanced.instances[0].frames, frames, strict=True):
        assert float(frame.MREchoSequence[0].EffectiveEchoTime) == expected["EchoTime"]
    assert manifest.patient("PAT-001").n_studies == 2


def test_database_files_are_valid(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    for path in manifest.files:
        assert_valid(root / path)


# ----------------------------------------------------------------------------- demo


def test_demo(demo_folder: Path) -> None:
    datasets = _walk(demo_folder)
    assert len(datasets) == 48
    assert {ds.PatientID for ds in datasets} == {"DEMO-001", "DEMO-002"}
    assert len({ds.StudyInstanceUID for ds in datasets}) == 3
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 5
    assert any(p.suffix == "" for p in demo_folder.rglob("IM_*"))
    vfa = [ds for ds in datasets if ds.SeriesDescription == "VFA"]
    assert len(vfa) == 24
    assert sorted({float(ds.FlipAngle) for ds in vfa}) == list(VFA_FLIP_ANGLES)
    assert len({float(ds.SliceLocation) for ds in vfa}) == 6
    assert {float(ds.RepetitionTime) for ds in vfa} == {VFA_TR}
    for ds in datasets[::7]:
        assert_valid(Path(ds.filename))


def test_demo_vfa_signal_gives_back_the_t1_map(demo_folder: Path) -> None:
    vfa = [ds for ds in _walk(demo_folder) if ds.SeriesDescription == "VFA"]
    slice_3 = [ds for ds in vfa if float(ds.SliceLocation) == 2.5]
    slice_3.sort(key=lambda ds: float(ds.FlipAngle))
    signal = np.array([ds.pixel_array for ds in slice_3], dtype=float)
    angles = np.deg2rad([float(ds.FlipAngle) for ds in slice_3])
    truth = phantom_maps()["T1"][3]
    for row, column in [(19, 19), (19, 43), (43, 19), (43, 43), (31, 10)]:
        s = signal[:, row, column]
        slope = np.polyfit(s / np.tan(angles), s / np.sin(angles), 1)[0]
        t1 = -VFA_TR / np.log(slope)
        assert t1 == pytest.approx(truth[row, column], rel=0.1)


def test_demo_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    build_demo(tmp_path / "demo")
    with pytest.raises(FileExistsError, match="not empty"):
        build_demo(tmp_path / "demo")


# ----------------------------------------------------------------------------- bad input


def test_bad_files_are_what_they_claim(bad_files_folder: tuple[Path, BadFiles]) -> None:
    root, bad = bad_files_folder
    assert all(path.is_file() and root in path.parents for path in bad.all_files)
    for path in bad.valid:
        assert pydicom.dcmread(path).pixel_array.shape == (32, 32)
    for path in bad.not_dicom + bad.empty:
        with pytest.raises(InvalidDicomError):
            pydicom.dcmread(path)
    assert bad.empty[0].stat().st_size == 0

    header_cut, pixel_cut = bad.truncated
    assert "PixelData" not in pydicom.dcmread(header_cut)
    with pytest.raises(ValueError, match="less than expected"):
        pydicom.dcmread(pixel_cut).pixel_array  # noqa: B018

    dicomdir = bad.dicomdir[0]
    assert dicomdir.name == "DICOMDIR"
    fileset = FileSet(pydicom.dcmread(dicomdir))
    assert len(fileset) == 2 == len(bad.dicomdir) - 1

    assert "PatientID" not in pydicom.dcmread(bad.missing_patient_id[0])
    assert "SeriesInstanceUID" not in pydicom.dcmread(bad.missing_series_uid[0])
    first, second = (pydicom.dcmread(p) for p in bad.duplicate_sop_uid)
    assert first.SOPInstanceUID == second.SOPInstanceUID
    assert not np.array_equal(first.pixel_array, second.pixel_array)


def test_shipped_files(shipped_files_folder: Path) -> None:
    paths = pydicom_shipped_files()
    assert [p.name for p in paths] == list(SHIPPED_FILES)
    copies = sorted(p.name for p in shipped_files_folder.iterdir())
    assert copies == sorted(SHIPPED_FILES)
    uids: dict[str, list[str]] = {}
    for path in shipped_files_folder.iterdir():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        uids.setdefault(ds.SOPInstanceUID, []).append(path.name)
    duplicates = {tuple(sorted(names)) for names in uids.values() if len(names) > 1}
    assert duplicates == {tuple(sorted(group)) for group in SHIPPED_DUPLICATE_SOP_UIDS}
