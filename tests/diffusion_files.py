"""Diffusion-weighted series of single-frame MR files, built from pydicom's MR_small.dcm.

:func:`write_dwi` writes one file per slice and volume, with the b-value
and the gradient direction (patient LPS) where a vendor keeps them: the
standard tags, the MR Diffusion Sequence, or Siemens', GE's or Philips'
private tags (with their private creators), in explicit or implicit VR.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

#: b=0, then b=1000 along x, y and z of the patient (LPS), then one oblique direction
VOLUMES: tuple[tuple[float, tuple[float, float, float]], ...] = (
    (0.0, (0.0, 0.0, 0.0)),
    (1000.0, (1.0, 0.0, 0.0)),
    (1000.0, (0.0, 1.0, 0.0)),
    (1000.0, (0.0, 0.0, 1.0)),
    (2000.0, (0.6, -0.48, 0.64)),
)
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def rotated(degrees: float) -> tuple[float, ...]:
    """An axial orientation turned about x then z by ``degrees`` (an oblique plane)."""
    a = np.radians(degrees)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    r = rz @ rx
    return tuple(round(float(v), 8) for v in (*r[:, 0], *r[:, 1]))


def _private(ds: Dataset, vendor: str, b: float, g: Sequence[float], creator: str | None) -> None:
    if vendor == "siemens":
        ds.add_new(0x00190010, "LO", creator or "SIEMENS MR HEADER")
        ds.add_new(0x0019100C, "IS", str(int(b)))
        if b > 0:
            ds.add_new(0x0019100E, "FD", [float(x) for x in g])
        ds.Manufacturer = "SIEMENS"
    elif vendor == "ge":
        ds.add_new(0x00430010, "LO", creator or "GEMS_PARM_01")
        ds.add_new(0x00431039, "IS", [str(int(b) + 1_000_000_000), "8", "0", "0"])
        ds.Manufacturer = "GE MEDICAL SYSTEMS"
    elif vendor == "philips":
        ds.add_new(0x20010010, "LO", creator or "Philips Imaging DD 001")
        ds.add_new(0x20011003, "FL", float(b))
        if b > 0:
            ds.DiffusionGradientOrientation = [float(x) for x in g]
        ds.Manufacturer = "Philips Medical Systems"
    elif vendor == "sequence":
        item = Dataset()
        item.DiffusionBValue = float(b)
        item.DiffusionDirectionality = "DIRECTIONAL" if b > 0 else "NONE"
        if b > 0:
            direction = Dataset()
            direction.DiffusionGradientOrientation = [float(x) for x in g]
            item.DiffusionGradientDirectionSequence = DicomSequence([direction])
        ds.MRDiffusionSequence = DicomSequence([item])
    elif vendor == "standard":
        ds.DiffusionBValue = float(b)
        if b > 0:
            ds.DiffusionGradientOrientation = [float(x) for x in g]


def write_dwi(
    folder: Path,
    vendor: str = "standard",
    orientation: Sequence[float] = AXIAL,
    slices: int = 3,
    volumes: Sequence[tuple[float, Sequence[float]]] = VOLUMES,
    slice_major: bool = False,
    implicit: bool = False,
    creator: str | None = None,
    seed: int = 0,
) -> list[Path]:
    """One file per (volume, slice) of a diffusion series; the paths, in InstanceNumber order.

    ``vendor``: where the b-values are ("standard", "sequence", "siemens",
    "ge", "philips"; "none": nowhere). Files are numbered volume after volume (all slices of
    volume 0 first), or slice after slice with ``slice_major``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    base = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    rng = np.random.default_rng(seed)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    o = np.asarray(orientation, dtype=float)
    normal = np.cross(o[:3], o[3:])
    origin = np.array([-20.0, 35.5, 12.25])
    pairs = [(v, k) for v in range(len(volumes)) for k in range(slices)]
    if slice_major:
        pairs = sorted(pairs, key=lambda p: (p[1], p[0]))
    paths = []
    for number, (v, k) in enumerate(pairs, start=1):
        b, g = volumes[v]
        ds = copy.deepcopy(base)
        for tag in ("SliceLocation", "DiffusionBValue"):
            if tag in ds:
                delattr(ds, tag)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber, ds.SeriesNumber = number, 7
        ds.SeriesDescription = "ep2d_diff"
        ds.AcquisitionTime = f"1015{v:02d}.{k * 100:03d}"
        pixels = rng.integers(0, 3000, (6, 8)).astype(np.int16)
        ds.Rows, ds.Columns = pixels.shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.PixelData = pixels.tobytes()
        ds.ImageOrientationPatient = [float(x) for x in orientation]
        ds.ImagePositionPatient = [round(float(x), 4) for x in origin + 4.0 * k * normal]
        ds.PixelSpacing, ds.SliceThickness = [1.5, 2.0], 4.0
        _private(ds, vendor, b, g, creator)
        ds.file_meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        )
        path = folder / f"IM{number:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def read_fsl(stem: Path) -> tuple[np.ndarray, np.ndarray]:
    """The b-values (n) and b-vectors (3 x n) of ``<stem>.bval`` and ``<stem>.bvec``."""
    bval = np.loadtxt(stem.with_name(stem.name + ".bval"), ndmin=1)
    bvec = np.loadtxt(stem.with_name(stem.name + ".bvec"), ndmin=2)
    return bval, bvec


def world_vectors(bvec: np.ndarray, affine: Any) -> np.ndarray:
    """FSL b-vectors (3 x n) of a NIfTI file with RAS ``affine`` as directions in patient RAS.

    Undoes FSL's convention (x negated where the determinant is positive,
    then the voxel axes): what two files in different voxel orders must agree on.
    """
    axes = np.asarray(affine, dtype=float)[:3, :3]
    axes = axes / np.linalg.norm(axes, axis=0)
    voxel = np.array(bvec, dtype=float)
    if np.linalg.det(axes) > 0:
        voxel[0] = -voxel[0]
    return axes @ voxel
