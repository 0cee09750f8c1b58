"""Builders of bad input: every kind of file a database folder may hold that is
not a clean DICOM instance, next to a valid series.

Each ``write_*`` function writes into a folder and returns the paths it wrote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet

from dbdicom._templates import mr_image, new_uid, write_dataset

# ----------------------------------------------------------------------------- bad input


VALID_PIXELS = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32)


def _valid_mr(**attributes: Any) -> Dataset:
    pixels = VALID_PIXELS
    defaults = {
        "PatientID": "BAD-001",
        "PatientName": "Broken^Bob",
        "SeriesDescription": "bad input",
    }
    return mr_image(pixels, **{**defaults, **attributes})


def write_not_dicom(folder: Path) -> list[Path]:
    """A text file ``notes.txt`` and 4 kB of random bytes named ``random.dcm``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "notes.txt"
    text.write_text("Scan notes: patient moved during series 3.\n")
    noise = folder / "random.dcm"
    noise.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, np.uint8).tobytes())
    return [text, noise]


def write_empty_file(folder: Path) -> list[Path]:
    """A zero-byte ``empty.dcm``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "empty.dcm"
    path.write_bytes(b"")
    return [path]


def write_truncated(folder: Path) -> list[Path]:
    """A valid MR file cut in the middle of its header, and one cut in its pixel data.

    Returns ``[header_cut, pixel_cut]``. Note that pydicom 3 reads both
    without raising: the first gives the elements before the cut and no
    Pixel Data, the second a Pixel Data value half as long as
    Rows x Columns x 2 (``pixel_array`` then raises ``ValueError``).
    """
    return [write_truncated_header(folder), write_truncated_pixels(folder)]


def _valid_bytes(folder: Path, description: str) -> bytes:
    folder.mkdir(parents=True, exist_ok=True)
    full = write_dataset(_valid_mr(SeriesDescription=description), folder / "full.tmp")
    data = full.read_bytes()
    full.unlink()
    return data


def _pixel_tag(data: bytes) -> int:
    pixel_tag = data.rfind(b"\xe0\x7f\x10\x00")
    if pixel_tag < 0:
        raise RuntimeError("no (7FE0,0010) Pixel Data element in the file written")
    return pixel_tag


def write_truncated_header(folder: Path) -> Path:
    """A valid MR file cut in the middle of its header: ``truncated_header.dcm``."""
    data = _valid_bytes(folder, "truncated")
    header = folder / "truncated_header.dcm"
    header.write_bytes(data[: _pixel_tag(data) // 2 + 1])
    return header


def write_truncated_pixels(folder: Path) -> Path:
    """A valid MR file cut in the middle of its pixel data: ``truncated_pixels.dcm``."""
    data = _valid_bytes(folder, "truncated")
    pixels = folder / "truncated_pixels.dcm"
    pixel_start = _pixel_tag(data) + 12  # tag, VR, 2 reserved bytes, 4-byte length
    pixels.write_bytes(data[: pixel_start + (len(data) - pixel_start) // 2 + 1])
    return pixels


def write_dicomdir(folder: Path) -> list[Path]:
    """A File-set made by :class:`pydicom.fileset.FileSet` in ``folder/fileset``.

    Returns ``[DICOMDIR, instance, instance]``: the two referenced MR
    instances (one series) live under the File-set's own ``PT*/ST*/SE*``
    folders.
    """
    fileset = FileSet()
    series = {
        "PatientID": "DIR-001",
        "PatientName": "Directory^Dora",
        "StudyInstanceUID": new_uid(),
        "SeriesInstanceUID": new_uid(),
        "SeriesDescription": "in DICOMDIR",
    }
    for number in (1, 2):
        fileset.add(_valid_mr(**series, InstanceNumber=number))
    target = folder / "fileset"
    fileset.write(target)
    instances = sorted(p for p in target.rglob("*") if p.is_file() and p.name != "DICOMDIR")
    return [target / "DICOMDIR", *instances]


def write_missing_patient_id(folder: Path) -> list[Path]:
    """An otherwise valid MR file without the (0010,0020) Patient ID element."""
    ds = _valid_mr(SeriesDescription="no patient id")
    del ds.PatientID
    return [write_dataset(ds, folder / "missing_patient_id.dcm")]


def write_missing_series_uid(folder: Path) -> list[Path]:
    """An otherwise valid MR file without the (0020,000E) Series Instance UID."""
    ds = _valid_mr(SeriesDescription="no series uid")
    del ds.SeriesInstanceUID
    return [write_dataset(ds, folder / "missing_series_uid.dcm")]


def write_missing_sop_uid(folder: Path) -> list[Path]:
    """An otherwise valid MR file without the (0008,0018) SOP Instance UID in its data set."""
    ds = _valid_mr(SeriesDescription="no sop uid")
    path = write_dataset(ds, folder / "missing_sop_uid.dcm")
    ds = pydicom.dcmread(path)
    del ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=False)
    return [path]


def write_duplicate_sop_uid(folder: Path) -> list[Path]:
    """Two files of one series with the same SOPInstanceUID but different pixels."""
    shared = {
        "SOPInstanceUID": new_uid(),
        "SeriesInstanceUID": new_uid(),
        "SeriesDescription": "duplicate uid",
    }
    first = _valid_mr(**shared, InstanceNumber=1)
    second = _valid_mr(**shared, InstanceNumber=2, ImagePositionPatient=[0.0, 0.0, 5.0])
    second.PixelData = (first.pixel_array[::-1] + 1).astype("<u2").tobytes()
    return [
        write_dataset(first, folder / "duplicate_a.dcm"),
        write_dataset(second, folder / "duplicate_b.dcm"),
    ]


def write_valid_series(folder: Path, description: str = "valid", n: int = 3) -> list[Path]:
    """A valid MR series of ``n`` slices, ``folder/IM_0001.dcm``..., patient GOOD-001.

    Its pixels are those of every bad MR file, plus 0, 1, 2...
    """
    series = {
        "StudyInstanceUID": new_uid(),
        "SeriesInstanceUID": new_uid(),
        "FrameOfReferenceUID": new_uid(),
        "SeriesDescription": description,
    }
    return [
        write_dataset(
            mr_image(
                VALID_PIXELS + (k - 1),
                **series,
                PatientID="GOOD-001",
                PatientName="Good^Gina",
                InstanceNumber=k,
                ImagePositionPatient=[-15.5, -15.5, 5.0 * k],
            ),
            folder / f"IM_{k:04d}.dcm",
        )
        for k in range(1, n + 1)
    ]


@dataclass(frozen=True)
class BadFiles:
    """Paths written by :func:`build_bad_files`, grouped by kind."""

    root: Path
    valid: list[Path]
    not_dicom: list[Path]
    empty: list[Path]
    truncated: list[Path]
    dicomdir: list[Path]
    missing_patient_id: list[Path]
    missing_series_uid: list[Path]
    duplicate_sop_uid: list[Path]

    @property
    def all_files(self) -> list[Path]:
        return [
            *self.valid,
            *self.not_dicom,
            *self.empty,
            *self.truncated,
            *self.dicomdir,
            *self.missing_patient_id,
            *self.missing_series_uid,
            *self.duplicate_sop_uid,
        ]


@dataclass(frozen=True)
class SpecialEntries:
    """What :func:`write_special_entries` made: entries of a folder that are not files."""

    fifo: Path
    socket: Path
    dangling: Path
    to_device: Path
    to_outside: Path
    to_outside_folder: Path
    to_inside: Path
    to_hidden: Path
    outside: list[Path]
    hidden: Path


def write_special_entries(root: Path, outside: Path) -> SpecialEntries:
    """Entries that are not plain files, in ``root``, next to whatever it holds.

    A named pipe ``pipe.dcm``, a Unix socket ``socket.dcm``, a dangling
    link, a link to ``/dev/zero``, a link to a valid DICOM file of a series
    written in ``outside`` (and one to that folder), a link to
    ``root/valid/IM_0001.dcm`` (which must exist) and a link to a valid file
    kept in the hidden folder ``root/.archive`` (series "linked").
    """
    import socket

    root.mkdir(parents=True, exist_ok=True)
    fifo = root / "pipe.dcm"
    os.mkfifo(fifo)
    sock = root / "socket.dcm"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock))
    dangling = root / "dangling.dcm"
    dangling.symlink_to(root / "no such file.dcm")
    device = root / "zero.dcm"
    device.symlink_to("/dev/zero")
    elsewhere = write_valid_series(outside, "outside", n=2)
    to_outside = root / "outside.dcm"
    to_outside.symlink_to(elsewhere[0])
    to_folder = root / "outside_folder"
    to_folder.symlink_to(outside, target_is_directory=True)
    to_inside = root / "same_as_IM_0001.dcm"
    to_inside.symlink_to(Path("valid") / "IM_0001.dcm")
    (hidden,) = write_valid_series(root / ".archive", "linked", n=1)
    to_hidden = root / "linked.dcm"
    to_hidden.symlink_to(Path(".archive") / hidden.name)
    return SpecialEntries(
        fifo, sock, dangling, device, to_outside, to_folder, to_inside, to_hidden, elsewhere, hidden
    )


def build_bad_files(root: Path) -> BadFiles:
    """Every kind of bad input, next to a valid 3-slice MR series in ``root/valid``."""
    root = Path(root)
    valid = write_valid_series(root / "valid")
    return BadFiles(
        root=root,
        valid=valid,
        not_dicom=write_not_dicom(root / "junk"),
        empty=write_empty_file(root / "junk"),
        truncated=write_truncated(root / "truncated"),
        dicomdir=write_dicomdir(root / "media"),
        missing_patient_id=write_missing_patient_id(root / "missing"),
        missing_series_uid=write_missing_series_uid(root / "missing"),
        duplicate_sop_uid=write_duplicate_sop_uid(root / "duplicates"),
    )
