"""Enhanced MR files in the layouts of three vendors, and classic stacks, for geometry tests.

Each builder writes one series into a folder of its own and returns the
paths written. The geometry is chosen by a :class:`Plan`: orientation (any
direction cosines), pixel spacing (rows, columns), slice thickness, the
step between slice centres (which may differ from the thickness), the slice
order in the file and the frames' echo times. Pixel values are random, so
that a voxel found by one tool is the same voxel found by another.

The three enhanced layouts put the same geometry in different places of the
functional groups, as the scanners of these vendors do:

``siemens``
    The layout of dbdicom's own template (and of Siemens XA enhanced
    files): orientation and pixel measures in the *shared* functional
    groups, one PlanePositionSequence per frame, and private sequences
    (``SIEMENS MR SDS 01`` shared, ``SIEMENS MR SDI 02`` per frame) holding
    private elements only.
``philips``
    Every geometry macro *per frame* (PlanePosition, PlaneOrientation,
    PixelMeasures), and in every frame the private sequence (2005,140F) of
    ``Philips MR Imaging DD 005`` holding a copy of a classic header with
    the *same keywords* as the standard macros: ImagePositionPatient,
    PixelSpacing, SliceThickness, SOPInstanceUID, InstanceNumber (and the
    classic ScanningSequence, SequenceVariant, AcquisitionMatrix, found
    only there, where dcm2niix reads them). Its
    ImagePositionPatient is the corner of the first pixel, half a pixel
    off the centre that DICOM's ImagePositionPatient means (as in Philips
    files); a reader that takes it is half a voxel wrong. The shared
    private sequence (2005,140E) holds a classic SOPClassUID and
    orientation.
``ge``
    Pixel measures shared, orientation and position per frame, the frames
    stored from the highest slice to the lowest (descending along the
    normal), and the first frame's position and orientation also at the
    top level of the dataset (as converted files often have them); a
    private ``GEMS_PARM_01`` sequence per frame.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from dbdicom._templates import ct_image, enhanced_mr_image, mr_image, new_uid, write_dataset

LAYOUTS = ("siemens", "philips", "ge")

MANUFACTURER = {
    "siemens": "SIEMENS",
    "philips": "Philips Medical Systems",
    "ge": "GE MEDICAL SYSTEMS",
}


def rotation(degrees_x: float, degrees_y: float, degrees_z: float) -> np.ndarray:
    """The rotation about the x, then y, then z axis (LPS), as a 3 x 3 matrix."""
    ax, ay, az = np.radians([degrees_x, degrees_y, degrees_z])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def oblique(degrees_x: float, degrees_y: float, degrees_z: float) -> tuple[float, ...]:
    """ImageOrientationPatient of an axial plane so rotated, rounded as a scanner writes it."""
    r = rotation(degrees_x, degrees_y, degrees_z)
    return tuple(round(float(v), 8) for v in (*r[:, 0], *r[:, 1]))


@dataclass(frozen=True)
class Plan:
    """The geometry of one series.

    ``spacing`` is PixelSpacing (between rows, between columns); ``step``
    the distance between the centres of consecutive slices along the normal
    (row cosines x column cosines), which ``thickness`` need not equal;
    ``descending`` stores the slices from the highest to the lowest;
    ``echoes`` gives every slice once per echo time (echo-major).
    """

    orientation: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    spacing: tuple[float, float] = (1.0, 1.0)
    shape: tuple[int, int] = (12, 16)
    slices: int = 5
    thickness: float = 3.0
    step: float = 3.0
    origin: tuple[float, float, float] = (-20.0, 35.5, 12.25)
    descending: bool = False
    echoes: tuple[float, ...] = (5.0,)

    def positions(self) -> list[list[float]]:
        """ImagePositionPatient of each slice, lowest first (LPS mm, rounded as DS)."""
        o = np.asarray(self.orientation, dtype=float)
        normal = np.cross(o[:3], o[3:])
        normal /= np.linalg.norm(normal)
        out = [np.asarray(self.origin) + k * self.step * normal for k in range(self.slices)]
        return [[round(float(x), 5) for x in p] for p in out]

    def stored_positions(self) -> list[list[float]]:
        """The positions in the order of the frames of a file (each echo in turn)."""
        positions = self.positions()
        if self.descending:
            positions = positions[::-1]
        return positions * len(self.echoes)

    def stored_echoes(self) -> list[float]:
        return [te for te in self.echoes for _ in range(self.slices)]

    def pixels(self, seed: int = 0) -> np.ndarray:
        """Random stored values, (frame, row, column) in the frames' order."""
        rng = np.random.default_rng(seed)
        return rng.integers(0, 4000, (self.slices * len(self.echoes), *self.shape), np.uint16)

    def corner(self, position: Sequence[float]) -> list[float]:
        """Where the corner of the first pixel lies: half a pixel before its centre."""
        o = np.asarray(self.orientation, dtype=float)
        half = 0.5 * (o[:3] * self.spacing[1] + o[3:] * self.spacing[0])
        return [round(float(x), 5) for x in np.asarray(position) - half]


def _normal(plan: Plan) -> np.ndarray:
    o = np.asarray(plan.orientation, dtype=float)
    normal = np.cross(o[:3], o[3:])
    return normal / np.linalg.norm(normal)


def _private(item: Dataset, group: int, block: int, creator: str) -> None:
    """Reserve private block ``block`` of ``group`` in ``item`` for ``creator``."""
    item.add_new((group << 16) | block, "LO", creator)


def _philips(ds: Dataset, plan: Plan) -> None:
    shared = ds.SharedFunctionalGroupsSequence[0]
    measures = shared.PixelMeasuresSequence
    orientation = shared.PlaneOrientationSequence
    del shared.PixelMeasuresSequence, shared.PlaneOrientationSequence
    _private(shared, 0x2005, 0x14, "Philips MR Imaging DD 005")
    classic = Dataset()
    classic.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    classic.ImageOrientationPatient = list(plan.orientation)
    shared.add_new(0x2005140E, "SQ", [classic])
    for number, frame in enumerate(ds.PerFrameFunctionalGroupsSequence, 1):
        frame.PixelMeasuresSequence = copy.deepcopy(measures)
        frame.PlaneOrientationSequence = copy.deepcopy(orientation)
        position = [float(x) for x in frame.PlanePositionSequence[0].ImagePositionPatient]
        shadow = Dataset()
        shadow.SOPInstanceUID = new_uid()
        shadow.InstanceNumber = number
        shadow.ImagePositionPatient = plan.corner(position)
        shadow.ImageOrientationPatient = list(plan.orientation)
        shadow.PixelSpacing = list(plan.spacing)
        shadow.SliceThickness = plan.thickness
        shadow.SpacingBetweenSlices = plan.step
        shadow.SliceLocation = round(float(np.dot(plan.corner(position), _normal(plan))), 5)
        # classic MR tags only here, as in Philips files (dcm2niix reads them)
        shadow.ScanningSequence = "GR"
        shadow.SequenceVariant = "SK"
        shadow.AcquisitionMatrix = [0, 14, 12, 0]
        _private(frame, 0x2005, 0x14, "Philips MR Imaging DD 005")
        frame.add_new(0x2005140F, "SQ", [shadow])
    stack = Dataset()
    _private(stack, 0x2001, 0x10, "Philips Imaging DD 001")
    stack.add_new(0x20011035, "SS", 1)
    _private(ds, 0x2001, 0x10, "Philips Imaging DD 001")
    ds.add_new(0x2001105F, "SQ", [stack])


def _siemens(ds: Dataset) -> None:
    shared = ds.SharedFunctionalGroupsSequence[0]
    _private(shared, 0x0021, 0x10, "SIEMENS MR SDS 01")
    sds = Dataset()
    _private(sds, 0x0021, 0x10, "SIEMENS MR SDS 01")
    sds.add_new(0x00211001, "LO", "tse_tra")
    shared.add_new(0x002110FE, "SQ", [sds])
    for frame in ds.PerFrameFunctionalGroupsSequence:
        _private(frame, 0x0021, 0x11, "SIEMENS MR SDI 02")
        sdi = Dataset()
        _private(sdi, 0x0021, 0x11, "SIEMENS MR SDI 02")
        sdi.add_new(0x00211118, "SH", "1")
        frame.add_new(0x002111FE, "SQ", [sdi])


def _ge(ds: Dataset) -> None:
    shared = ds.SharedFunctionalGroupsSequence[0]
    orientation = shared.PlaneOrientationSequence
    del shared.PlaneOrientationSequence
    for frame in ds.PerFrameFunctionalGroupsSequence:
        frame.PlaneOrientationSequence = copy.deepcopy(orientation)
        _private(frame, 0x0043, 0x10, "GEMS_PARM_01")
        parm = Dataset()
        _private(parm, 0x0043, 0x10, "GEMS_PARM_01")
        parm.add_new(0x00431001, "SS", 0)
        frame.add_new(0x004310FE, "SQ", [parm])
    first = ds.PerFrameFunctionalGroupsSequence[0]
    ds.ImagePositionPatient = first.PlanePositionSequence[0].ImagePositionPatient
    ds.ImageOrientationPatient = orientation[0].ImageOrientationPatient


def enhanced_series(folder: Path, plan: Plan, layout: str = "siemens", seed: int = 0) -> list[Path]:
    """One Enhanced MR file of ``plan`` in the ``layout`` of a vendor (see the module notes)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}; got {layout!r}")
    attributes: dict[str, Any] = {
        "PixelSpacing": list(plan.spacing),
        "SliceThickness": plan.thickness,
        "SpacingBetweenSlices": plan.step,
        "ImageOrientationPatient": list(plan.orientation),
        "Manufacturer": MANUFACTURER[layout],
        "SeriesDescription": f"{layout} enhanced",
    }
    per_frame = {"EchoTime": plan.stored_echoes()} if len(plan.echoes) > 1 else None
    if per_frame is None:
        attributes["EchoTime"] = plan.echoes[0]
    ds = enhanced_mr_image(
        plan.pixels(seed), positions=plan.stored_positions(), per_frame=per_frame, **attributes
    )
    {"siemens": lambda: _siemens(ds), "philips": lambda: _philips(ds, plan), "ge": lambda: _ge(ds)}[
        layout
    ]()
    return [write_dataset(ds, Path(folder) / f"{layout}.dcm")]


def classic_series(
    folder: Path, plan: Plan, modality: str = "MR", seed: int = 0, **attributes: Any
) -> list[Path]:
    """One single-frame MR or CT file per slice of ``plan`` (and per echo)."""
    template = ct_image if modality == "CT" else mr_image
    pixels = plan.pixels(seed)
    series = {"SeriesInstanceUID": new_uid(), "FrameOfReferenceUID": new_uid()}
    paths = []
    for k, (position, te) in enumerate(
        zip(plan.stored_positions(), plan.stored_echoes(), strict=True)
    ):
        echo = {"EchoTime": te, "EchoNumbers": plan.echoes.index(te) + 1}
        extra = echo if modality == "MR" else {}
        ds = template(
            pixels[k].astype(np.int16) if modality == "CT" else pixels[k],
            **series,
            **extra,
            **attributes,
            InstanceNumber=k + 1,
            ImageOrientationPatient=list(plan.orientation),
            ImagePositionPatient=position,
            PixelSpacing=list(plan.spacing),
            SliceThickness=plan.thickness,
        )
        paths.append(write_dataset(ds, Path(folder) / f"IM{k + 1:04d}.dcm"))
    return paths


def tilted_ct_series(
    folder: Path, tilt: float, slices: int, step: float, seed: int = 0
) -> list[Path]:
    """A CT stack acquired with the gantry tilted by ``tilt`` degrees about the x axis.

    The image planes are tilted (columns run along ``(0, cos, -sin)``) while
    the table moves the slices ``step`` mm along z: the stack is sheared, as
    GantryDetectorTilt (0018,1120) says.
    """
    t = np.radians(tilt)
    orientation = (1.0, 0.0, 0.0, 0.0, round(float(np.cos(t)), 6), round(float(-np.sin(t)), 6))
    plan = Plan(orientation=orientation, spacing=(0.7, 0.7), slices=slices, thickness=step)
    pixels = plan.pixels(seed).astype(np.int16)
    series = {"SeriesInstanceUID": new_uid(), "FrameOfReferenceUID": new_uid()}
    paths = []
    for k in range(slices):
        position = [plan.origin[0], plan.origin[1], plan.origin[2] + k * step]
        ds = ct_image(
            pixels[k],
            **series,
            InstanceNumber=k + 1,
            ImageOrientationPatient=list(orientation),
            ImagePositionPatient=position,
            PixelSpacing=list(plan.spacing),
            SliceThickness=step,
            GantryDetectorTilt=tilt,
            Manufacturer="GE MEDICAL SYSTEMS",
        )
        paths.append(write_dataset(ds, Path(folder) / f"CT{k + 1:04d}.dcm"))
    return paths
