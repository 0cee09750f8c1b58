"""Run dcm2niix on a series and compare its NIfTI files with dbdicom's, voxel by voxel.

The two tools may order the voxels differently: dcm2niix flips the rows
(its first row is the image's last) and may keep the slices in the file's
order where dbdicom sorts them along the normal. So volumes are compared
in world coordinates: dcm2niix's volume is reoriented onto dbdicom's axes
(a permutation and flips found from the two affines, as
:func:`nibabel.orientations.io_orientation` does), and the distance between
the positions the two affines give to the same voxel is measured at the 8
corners of the grid (the largest distance of an affine map over a box is
at a corner). Voxel values are compared on the reoriented arrays.

dcm2niix runs as ``dcm2niix -z n -b n -p n -o out in`` on a copy of the
series' files in a folder of their own; ``-p n`` makes it write the values
of Philips files as displayed (RescaleSlope and Intercept), as dbdicom
does, rather than Philips' private "floating point" values.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel
import numpy as np
from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation, ornt_transform

#: the largest distance (mm) between the positions the two tools give a voxel
TOLERANCE_MM = 1e-3
INSTALL = "dcm2niix is not installed: pip install -e '.[test]'"


def _find_dcm2niix() -> str | None:
    """The test extra's dcm2niix (PyPI's, beside this Python) before any other on PATH."""
    beside = Path(sys.executable).with_name("dcm2niix")
    return str(beside) if beside.exists() else shutil.which("dcm2niix")


DCM2NIIX = _find_dcm2niix()


@dataclass
class Volume:
    """One 3-D volume of a NIfTI file: its RAS affine and voxels (i, j, k)."""

    name: str
    affine: np.ndarray
    data: np.ndarray


def volumes(paths: Iterable[Path]) -> list[Volume]:
    """The 3-D volumes of the NIfTI files ``paths`` (a 4-D file gives one per volume)."""
    out = []
    for path in sorted(paths):
        image = nibabel.load(path)
        data = np.asarray(image.get_fdata())
        if data.ndim == 3:
            out.append(Volume(path.name, image.affine, data))
        else:
            blocks = data.reshape(*data.shape[:3], -1)
            for t in range(blocks.shape[3]):
                out.append(Volume(f"{path.name}[{t}]", image.affine, blocks[..., t]))
    return out


def dcm2niix(
    files: Sequence[str | Path], work: Path, sidecars: bool = False, identifiers: bool = False
) -> tuple[list[Path], str]:
    """dcm2niix's NIfTI files of ``files`` (copied to a folder of their own), and its log.

    ``sidecars``: with its BIDS sidecars (``-b y``), beside each file
    (``<name>.json``); ``identifiers``: not anonymised (``-ba n``).
    """
    if DCM2NIIX is None:
        raise FileNotFoundError(INSTALL)
    source, out = work / "dicom", work / "dcm2niix"
    source.mkdir(parents=True)
    out.mkdir()
    for i, f in enumerate(files):
        shutil.copyfile(f, source / f"{i:04d}.dcm")
    done = subprocess.run(
        [
            *(DCM2NIIX, "-z", "n", "-b", "y" if sidecars else "n", "-p", "n"),
            *(("-ba", "n") if identifiers else ()),
            *("-o", str(out), str(source)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return sorted(out.glob("*.nii")), done.stdout + done.stderr


def _corners(shape: Sequence[int]) -> np.ndarray:
    return np.array([[*c, 1.0] for c in itertools.product(*[(0, n - 1) for n in shape[:3]])]).T


def onto(theirs: Volume, ours: Volume) -> Volume:
    """``theirs`` with its axes permuted and flipped onto those of ``ours``; affine to match."""
    transform = ornt_transform(io_orientation(theirs.affine), io_orientation(ours.affine))
    affine = theirs.affine @ inv_ornt_aff(transform, theirs.data.shape)
    return Volume(theirs.name, affine, apply_orientation(theirs.data, transform))


def distance(a: Volume, b: Volume) -> float:
    """The largest distance (mm) between the positions ``a`` and ``b`` give one voxel."""
    corners = _corners(a.data.shape)
    return float(np.abs(a.affine @ corners - b.affine @ corners)[:3].max(initial=0.0))


def same_values(a: Volume, b: Volume) -> bool:
    """Whether the voxels are equal (up to the float32 scaling of a NIfTI file)."""
    return a.data.shape == b.data.shape and bool(
        np.allclose(a.data, b.data, rtol=1e-5, atol=1e-4, equal_nan=True)
    )


@dataclass
class Match:
    """A dcm2niix volume and the dbdicom volume it was found to be."""

    theirs: str
    ours: str
    mm: float
    values: bool


@dataclass
class Comparison:
    """Everything found comparing one series."""

    matches: list[Match] = field(default_factory=list)
    unmatched_ours: list[str] = field(default_factory=list)
    unmatched_theirs: list[str] = field(default_factory=list)
    log: str = ""

    @property
    def mm(self) -> float:
        return max((m.mm for m in self.matches), default=float("nan"))


def slices(volume: Volume) -> list[Volume]:
    """The slices of ``volume``, each a volume of one slice with its own affine."""
    out = []
    for k in range(volume.data.shape[2]):
        affine = volume.affine.copy()
        affine[:, 3] = volume.affine @ [0, 0, k, 1]
        out.append(Volume(f"{volume.name}:{k}", affine, volume.data[:, :, k : k + 1]))
    return out


def compare(
    ours: list[Volume], theirs: list[Volume], stacked: bool = False, values: bool = True
) -> Comparison:
    """Find each of ``theirs`` among ``ours``: by equal values, then by the nearest geometry.

    ``stacked``: dcm2niix stacked all frames as slices of one volume, of
    which only the first is where it says: that slice is looked for among
    all the slices of ``ours``. With ``values=False`` (values known to
    differ), volumes are found by geometry alone.
    """
    found = Comparison()
    if stacked:
        ours = [s for volume in ours for s in slices(volume)]
        theirs = [slices(volume)[0] for volume in theirs]
    left = list(range(len(ours)))
    for volume in theirs:
        candidates = []
        for k in left:
            if sorted(volume.data.shape) != sorted(ours[k].data.shape):
                continue
            mine = onto(volume, ours[k])
            if mine.data.shape != ours[k].data.shape:
                continue
            equal = same_values(ours[k], mine)
            candidates.append((not equal if values else False, distance(ours[k], mine), k, equal))
        if not candidates:
            found.unmatched_theirs.append(volume.name)
            continue
        _, mm, k, equal = min(candidates)
        left.remove(k)
        found.matches.append(Match(volume.name, ours[k].name, mm, equal))
    found.unmatched_ours = [] if stacked else [ours[k].name for k in left]
    return found
