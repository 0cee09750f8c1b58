"""Enhanced MR files organised by a Dimension Index Sequence: cine, diffusion, two stacks.

Each file is made from dbdicom's Enhanced MR template, then its per-frame
functional groups and its (0020,9222) Dimension Index Sequence are set as
scanners write them:

* a cine, slices x cardiac phases, indexed by (StackID, trigger delay,
  InStackPositionNumber); the Nominal Cardiac Trigger Delay Time of a phase
  differs a little from slice to slice (``jitter``), as slices are acquired
  at other beats;
* a diffusion series, slices x (b0 + directions), indexed by (StackID,
  InStackPositionNumber, DiffusionBValue, DiffusionGradientOrientation):
  the b0 frames have no gradient direction (Diffusion Directionality NONE);
* two stacks (StackID 1 and 2) at the same positions, indexed by (StackID,
  InStackPositionNumber).

:func:`pydicom_frames` reads back every frame as pydicom sees it (values,
position, pixels): what the tests compare dbdicom's arrays with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from dbdicom._templates import enhanced_mr_image, new_uid, write_dataset

_CONTENT = "FrameContentSequence"
_CARDIAC = "CardiacSynchronizationSequence"
_DIFFUSION = "MRDiffusionSequence"
_POSITION = "PlanePositionSequence"

#: (pointer, functional group) of the dimensions the files use
STACK = ("StackID", _CONTENT)
IN_STACK = ("InStackPositionNumber", _CONTENT)
TRIGGER = ("NominalCardiacTriggerDelayTime", _CARDIAC)
BVALUE = ("DiffusionBValue", _DIFFUSION)
GRADIENT = ("DiffusionGradientOrientation", _DIFFUSION)
TEMPORAL = ("TemporalPositionIndex", _CONTENT)

#: the gradient directions of :func:`dwi_frames`
DIRECTIONS = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


@dataclass
class Frame:
    """What one frame of a file holds (None: not in the file)."""

    z: float
    in_stack: int
    index: tuple[int, ...]
    stack: str = "1"
    trigger: float | None = None
    bvalue: float | None = None
    gradient: tuple[float, float, float] | None = None
    temporal: int = 1


def cine_frames(slices: int = 4, phases: int = 3, jitter: float = 1.3) -> list[Frame]:
    """A cine, phase-major, trigger ``50 * phase + jitter * slice`` ms: (stack, phase, slice)."""
    return [
        Frame(
            z=3.0 * k,
            in_stack=k + 1,
            index=(1, t + 1, k + 1),
            trigger=50.0 * t + jitter * k,
        )
        for t in range(phases)
        for k in range(slices)
    ]


def dwi_frames(slices: int = 3, bvalue: float = 1000.0) -> list[Frame]:
    """b0 then one volume per direction; index (stack, slice, b-value, direction).

    The b0 frames have direction index 1 and no DiffusionGradientOrientation;
    the directions are numbered 2, 3, 4 in the file's order.
    """
    out = [
        Frame(z=3.0 * k, in_stack=k + 1, index=(1, k + 1, 1, 1), bvalue=0.0) for k in range(slices)
    ]
    for d, direction in enumerate(DIRECTIONS):
        out += [
            Frame(
                z=3.0 * k,
                in_stack=k + 1,
                index=(1, k + 1, 2, d + 2),
                bvalue=bvalue,
                gradient=direction,
            )
            for k in range(slices)
        ]
    return out


def two_stack_frames(slices: int = 4, offset: float = 0.0) -> list[Frame]:
    """Stacks 1 and 2, the second ``offset`` mm further along z; index (stack, slice)."""
    return [
        Frame(z=3.0 * k + offset * s, in_stack=k + 1, index=(s + 1, k + 1), stack=str(s + 1))
        for s in range(2)
        for k in range(slices)
    ]


def write_file(
    path: Path,
    frames: Sequence[Frame],
    pointers: Sequence[tuple[str, str]],
    seed: int = 0,
    **attributes: Any,
) -> Path:
    """An Enhanced MR file of ``frames`` (12 x 10 pixels each), indexed by ``pointers``."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 3000, (len(frames), 12, 10)).astype(np.uint16)
    ds = enhanced_mr_image(
        pixels,
        positions=[(-5.0, -4.0, f.z) for f in frames],
        PixelSpacing=[1.0, 1.0],
        SliceThickness=3.0,
        **attributes,
    )
    for frame, item in zip(frames, ds.PerFrameFunctionalGroupsSequence, strict=True):
        content = item.FrameContentSequence[0]
        content.StackID = frame.stack
        content.InStackPositionNumber = frame.in_stack
        content.TemporalPositionIndex = frame.temporal
        content.DimensionIndexValues = list(frame.index)
        if frame.trigger is not None:
            cardiac = Dataset()
            cardiac.NominalCardiacTriggerDelayTime = frame.trigger
            item.CardiacSynchronizationSequence = DicomSequence([cardiac])
        if frame.bvalue is not None:
            diffusion = Dataset()
            diffusion.DiffusionBValue = frame.bvalue
            diffusion.DiffusionDirectionality = "DIRECTIONAL" if frame.gradient else "NONE"
            if frame.gradient is not None:
                direction = Dataset()
                direction.DiffusionGradientOrientation = list(frame.gradient)
                diffusion.DiffusionGradientDirectionSequence = DicomSequence([direction])
            item.MRDiffusionSequence = DicomSequence([diffusion])
    organization = ds.DimensionOrganizationSequence[0].DimensionOrganizationUID
    items = []
    for pointer, group in pointers:
        item = Dataset()
        item.DimensionOrganizationUID = organization
        item.DimensionIndexPointer = tag_for_keyword(pointer)
        item.FunctionalGroupPointer = tag_for_keyword(group)
        item.DimensionDescriptionLabel = pointer[:64]
        items.append(item)
    ds.DimensionIndexSequence = DicomSequence(items)
    ds.SOPInstanceUID = new_uid()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_dataset(ds, path)
    return path


@dataclass
class ReadFrame:
    """One frame as pydicom reads it from the file."""

    position: tuple[float, float, float]
    stack: str
    index: tuple[int, ...]
    trigger: float | None
    bvalue: float | None
    gradient: tuple[float, ...] | None
    pixels: np.ndarray


def pydicom_frames(path: Path) -> list[ReadFrame]:
    """Every frame of the file at ``path``, read with pydicom alone."""
    ds = pydicom.dcmread(path)
    pixels = pydicom.pixels.apply_modality_lut(ds.pixel_array, ds)
    out = []
    for k, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        content = item.FrameContentSequence[0]
        trigger = bvalue = gradient = None
        if _CARDIAC in item:
            trigger = float(item.CardiacSynchronizationSequence[0].NominalCardiacTriggerDelayTime)
        if _DIFFUSION in item:
            diffusion = item.MRDiffusionSequence[0]
            bvalue = float(diffusion.DiffusionBValue)
            if "DiffusionGradientDirectionSequence" in diffusion:
                sequence = diffusion.DiffusionGradientDirectionSequence[0]
                gradient = tuple(float(x) for x in sequence.DiffusionGradientOrientation)
        position = item.PlanePositionSequence[0].ImagePositionPatient
        out.append(
            ReadFrame(
                position=(float(position[0]), float(position[1]), float(position[2])),
                stack=str(content.StackID),
                index=tuple(int(v) for v in content.DimensionIndexValues),
                trigger=trigger,
                bvalue=bvalue,
                gradient=gradient,
                pixels=np.asarray(pixels[k]),
            )
        )
    return out
