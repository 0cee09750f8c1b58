"""A derived series from a cine (X-ray angiography): single frames, without the cine's modules.

A series written back from a multi-frame source is one file per frame. The
source's Multi-frame, Cine and Mask modules (Frame Increment Pointer, Frame
Time, Mask Subtraction Sequence...) describe its many frames: copied into a
file of one frame they make it an invalid multi-frame image (dciodvfy:
"Missing attribute Type 1 Required Element=<NumberOfFrames>") with a mask
that names frames it does not have.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, XRayAngiographicImageStorage, generate_uid
from validators import dciodvfy_errors

import dbdicom as db
from dbdicom._templates import enhanced_mr_image, write_dataset

FRAMES = np.arange(3 * 16 * 16, dtype=np.uint8).reshape(3, 16, 16)


def _cine(path: Path) -> None:
    """A 3-frame X-ray angiography cine with its Cine and Mask modules."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = XRayAngiographicImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID = XRayAngiographicImageStorage
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality = "XA-1", "Cine^Carl", "XA"
    ds.SeriesDescription, ds.SeriesNumber, ds.InstanceNumber = "cine", 1, 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "SINGLE PLANE"]
    ds.NumberOfFrames = 3
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    ds.FrameTime = 33.0
    ds.CineRate = 30
    mask = Dataset()
    mask.MaskOperation = "AVG_SUB"
    mask.MaskFrameNumbers = [1]
    ds.MaskSubtractionSequence = [mask]
    ds.RecommendedViewingMode = "SUB"
    ds.Rows, ds.Columns = 16, 16
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = FRAMES.tobytes()
    ds.save_as(path, enforce_file_format=True)


def _errors(path: str | Path) -> set[str]:
    return {re.sub(r"\(\d+\)", "", line) for line in dciodvfy_errors(path)}


def test_frames_of_a_cine_are_written_as_valid_single_frames(tmp_path: Path) -> None:
    _cine(tmp_path / "cine.dcm")
    database = db.database(tmp_path)
    (source,) = database.series()
    da = source.to_xarray()
    assert da.dims == ("frame", "row", "column")
    derived = source.new_sibling(SeriesDescription="derived")
    derived.set_xarray(da.astype("int16") + 1)
    assert len(derived.files()) == 3
    assert np.array_equal(derived.to_xarray().values, FRAMES.astype(int) + 1)
    for path in derived.files():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        for keyword in ("NumberOfFrames", "FrameIncrementPointer", "FrameTime", "CineRate"):
            assert keyword not in ds, keyword
        assert "MaskSubtractionSequence" not in ds and "RecommendedViewingMode" not in ds
        assert not _errors(path) - _errors(tmp_path / "cine.dcm"), path


def _enhanced(path: Path, inversion: bool) -> None:
    """An enhanced MR of 3 frames of a paired organ, with a top-level InversionTime.

    As a vendor writes it: Echo Pulse Sequence SPIN, Frame Laterality U in
    the frame anatomy, and ``InversionTime`` 0 at the top level, which the
    Enhanced MR IOD does not have (its inversion times live in the MR
    Modifier functional group).
    """
    per_frame = {"InversionTime": [100.0, 200.0, 300.0]} if inversion else None
    ds = enhanced_mr_image(FRAMES.astype(np.uint16), per_frame=per_frame, BodyPartExamined="KIDNEY")
    ds.EchoPulseSequence = "SPIN"
    if not inversion:
        ds.InversionTime = 0
    write_dataset(ds, path)


def test_frames_of_an_enhanced_mr_meet_the_classic_mr_conditions(tmp_path: Path) -> None:
    for inversion in (False, True):
        folder = tmp_path / str(inversion)
        _enhanced(folder / "enhanced.dcm", inversion)
        database = db.database(folder)
        (source,) = database.series()
        derived = source.new_sibling(SeriesDescription="derived")
        derived.set_xarray(source.to_xarray().astype(np.float32) * 2)
        for path in derived.files():
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            # the scanning sequence the source says, not the template's GR
            scanning = ds["ScanningSequence"].value
            assert scanning == (["SE", "IR"] if inversion else "SE"), path
            # InversionTime only with IR (Type 2C); laterality from the frame anatomy
            assert ("InversionTime" in ds) == inversion, path
            assert ds.ImageLaterality == "U"
            assert not _errors(path) - _errors(folder / "enhanced.dcm"), _errors(path)
        if inversion:
            assert derived.InversionTime == [100.0, 200.0, 300.0]
