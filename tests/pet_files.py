"""A dynamic PET series of single-frame PET Image Storage files, valid for dciodvfy.

:func:`write_pet` writes ``times`` x ``slices`` images (SeriesType
DYNAMIC\\IMAGE, values in Bq/ml): each time frame 60 s long, its
FrameReferenceTime at its middle, its DecayFactor (F-18, decay corrected to
the start) and each slice's SliceSensitivityFactor its own, stored with a
RescaleSlope of 0.5 and no intercept, as the PET Image module asks. Built
from dbdicom's MR template, with the MR attributes taken out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import PositronEmissionTomographyImageStorage

from dbdicom._templates import mr_image, new_uid, write_dataset

#: what the MR template has that a PET image has not
MR_ONLY = (
    "ScanningSequence",
    "SequenceVariant",
    "ScanOptions",
    "MRAcquisitionType",
    "SequenceName",
    "RepetitionTime",
    "EchoTime",
    "FlipAngle",
    "EchoTrainLength",
    "NumberOfAverages",
    "ImagingFrequency",
    "ImagedNucleus",
    "EchoNumbers",
    "MagneticFieldStrength",
    "PixelBandwidth",
    "PatientPosition",  # not with a PatientOrientationCodeSequence
)
#: F-18's half life (s), and each time frame's length (ms)
HALF_LIFE, DURATION = 6586.2, 60000


def _radiopharmaceutical() -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = "77004003", "SCT"
    code.CodeMeaning = "^18^Fluorine"
    item = Dataset()
    item.RadiopharmaceuticalStartTime = "095500"
    item.RadionuclideTotalDose = 370000000
    item.RadionuclideHalfLife = HALF_LIFE
    item.RadionuclidePositronFraction = 0.97
    item.RadionuclideCodeSequence = [code]
    return item


def pet_image(
    pixels: np.ndarray, time: int, times: int, index: int, slices: int, decay: bool = True
) -> Dataset:
    """The PET image of time frame ``time`` (0 on) and slice ``index`` (0 on), 5 mm apart.

    ``decay`` False: not decay corrected (no DecayFactor).
    """
    ds = mr_image(
        pixels,
        ImagePositionPatient=[-4.0, -4.0, 5.0 * index],
        ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
        PixelSpacing=[1.0, 1.0],
        SliceThickness=5.0,
        PatientName="Pet^Patient",
        PatientID="PET1",
    )
    for keyword in MR_ONLY:
        delattr(ds, keyword)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = PositronEmissionTomographyImageStorage
    ds.Modality, ds.ImageType = "PT", ["ORIGINAL", "PRIMARY"]
    ds.SeriesDate, ds.SeriesTime = ds.StudyDate, ds.StudyTime
    ds.AcquisitionDate, ds.AcquisitionTime = ds.StudyDate, f"1000{time:02d}"
    ds.AcquisitionNumber = time + 1
    ds.SeriesType, ds.Units, ds.CountsSource = ["DYNAMIC", "IMAGE"], "BQML", "EMISSION"
    ds.DecayCorrection = "START" if decay else "NONE"
    ds.CorrectedImage = ["DECY", "ATTN", "SCAT", "RAN", "NORM"] if decay else ["ATTN", "SCAT"]
    ds.RandomsCorrectionMethod, ds.ReconstructionMethod = "DLYD", "OSEM"
    ds.CollimatorType = "NONE"
    ds.NumberOfSlices, ds.NumberOfTimeSlices = slices, times
    ds.ImageIndex = time * slices + index + 1
    ds.ActualFrameDuration = DURATION
    middle = DURATION // 2 + DURATION * time
    ds.FrameReferenceTime = middle
    if decay:
        ds.DecayFactor = round(float(np.exp(np.log(2) * middle / 1000 / HALF_LIFE)), 6)
    ds.SliceSensitivityFactor = round(1.0 + 0.01 * index, 2)
    ds.DoseCalibrationFactor = 1.0
    ds.RescaleSlope, ds.RescaleIntercept = 0.5, 0
    ds.RadiopharmaceuticalInformationSequence = [_radiopharmaceutical()]
    ds.PatientOrientationCodeSequence = []
    ds.PatientGantryRelationshipCodeSequence = []
    ds.PatientOrientation = ""
    return ds


def write_pet(
    root: Path, times: int = 3, slices: int = 4, seed: int = 0, decay: bool = True
) -> list[Path]:
    """A dynamic PET series "dynamic PET" of ``times`` x ``slices`` files in ``root``.

    ``decay`` False: not decay corrected (no DecayFactor).
    """
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shared = {
        "SeriesInstanceUID": new_uid(),
        "StudyInstanceUID": new_uid(),
        "FrameOfReferenceUID": new_uid(),
    }
    paths = []
    for time in range(times):
        for index in range(slices):
            pixels = rng.integers(0, 30000, (8, 8), np.uint16)
            ds = pet_image(pixels, time, times, index, slices, decay)
            for keyword, value in shared.items():
                setattr(ds, keyword, value)
            ds.SeriesNumber, ds.SeriesDescription = 1, "dynamic PET"
            ds.InstanceNumber = time * slices + index + 1
            path = root / f"pet_{ds.InstanceNumber:03d}.dcm"
            write_dataset(ds, path)
            paths.append(path)
    return paths
