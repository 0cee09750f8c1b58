"""A database of many patients, studies and series, to draw as a tree (``print``, HTML).

:func:`build_mixed_database` writes small files (8 x 8 pixels) of every kind
the tree shows differently: patients with and without PatientID, single-frame
series, Enhanced MR multi-frame files, a series whose files differ in size,
a series whose files disagree on its description, and bad files (see
:mod:`bad_files`). UIDs and dates follow from the numbers
given, so the tree's text is the same each time but for the UIDs that the
bad files generate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bad_files import (
    write_duplicate_sop_uid,
    write_empty_file,
    write_missing_patient_id,
    write_not_dicom,
)
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from dbdicom._templates import enhanced_mr_image, mr_image, write_dataset

__all__ = ["build_mixed_database"]


def _uid(*parts: object) -> str:
    return str(generate_uid(entropy_srcs=["dbdicom-tree", *map(str, parts)]))


def _drop_missing(ds: Dataset, patient: dict[str, str]) -> None:
    """Remove the patient attributes the template gave but ``patient`` has not."""
    for keyword in ("PatientID", "PatientName"):
        if keyword not in patient:
            delattr(ds, keyword)


def _single_frame_series(
    root: Path, patient: dict[str, str], p: int, st: int, se: int, n_files: int
) -> None:
    """``n_files`` single-frame MR files; some series with a file of another size or name."""
    folder = root / f"P{p:03d}" / f"ST{st}" / f"SE{se:02d}"
    series_uid = _uid("series", p, st, se)
    for k in range(n_files):
        shape = (8, 10) if se % 5 == 2 and k == n_files - 1 else (8, 8)
        description = f"series {se}"
        if se % 5 == 3 and p % 4 == 0 and k == n_files - 1:
            description += " (renamed)"  # files that disagree: a problem
        ds = mr_image(
            np.full(shape, k, dtype=np.uint16),
            **patient,
            StudyInstanceUID=_uid("study", p, st),
            StudyDescription=f"study {st}" if st else "",
            StudyDate=f"2024{1 + p % 12:02d}{10 + st:02d}",
            SeriesInstanceUID=series_uid,
            SeriesDescription=description,
            SeriesNumber=se + 1,
            SOPInstanceUID=_uid("instance", p, st, se, k),
            InstanceNumber=k + 1,
            ImagePositionPatient=[0.0, 0.0, 5.0 * k],
            FrameOfReferenceUID=_uid("frame", p, st),
        )
        _drop_missing(ds, patient)
        write_dataset(ds, folder / f"IM{k:04d}.dcm")


def _enhanced_series(root: Path, patient: dict[str, str], p: int, st: int, se: int) -> None:
    """One Enhanced MR file of 4 frames."""
    ds = enhanced_mr_image(
        np.zeros((4, 8, 8), dtype=np.uint16),
        positions=[[0.0, 0.0, 5.0 * k] for k in range(4)],
        **patient,
        StudyInstanceUID=_uid("study", p, st),
        StudyDescription=f"study {st}",
        StudyDate=f"2024{1 + p % 12:02d}{10 + st:02d}",
        SeriesInstanceUID=_uid("series", p, st, se),
        SeriesDescription=f"enhanced {se}",
        SeriesNumber=se + 1,
        SOPInstanceUID=_uid("instance", p, st, se, 0),
        InstanceNumber=1,
        FrameOfReferenceUID=_uid("frame", p, st),
    )
    _drop_missing(ds, patient)
    write_dataset(ds, root / f"P{p:03d}" / f"ST{st}" / f"SE{se:02d}" / "EMR.dcm")


def build_mixed_database(
    root: Path, patients: int = 4, series: int = 6, files: int = 3, bad: bool = True
) -> None:
    """Write ``patients`` x 2 studies x ``series`` series of ``files`` files into ``root``.

    Every third patient (1, 4, 7, ...) has no PatientID (dbdicom keys it
    ``anonymous-<hash>``), and patient 2 has no PatientName; in each study,
    series 4, 9, ... are one Enhanced MR file of 4 frames, series 2, 7, ...
    end with a file of 8 x 10 pixels, and in patients 0, 4, 8, ... series 3,
    8, ... end with a file of another SeriesDescription. With ``bad``, files
    that are no DICOM, empty, without PatientID and with a duplicate SOP
    Instance UID (see :mod:`bad_files`) are written into ``root/bad``.
    """
    root = Path(root)
    for p in range(patients):
        patient = {
            "PatientName": f"Patient^{p:03d}",
            "PatientID": f"PID-{p:03d}",
            "PatientBirthDate": f"19{50 + p % 50:02d}0101",
            "PatientSex": "MF"[p % 2],
        }
        if p % 3 == 1:
            del patient["PatientID"]
        if p == 2:
            del patient["PatientName"]
        for st in range(2):
            for se in range(series):
                if se % 5 == 4:
                    _enhanced_series(root, patient, p, st, se)
                else:
                    _single_frame_series(root, patient, p, st, se, files)
    if bad:
        write_not_dicom(root / "bad")
        write_empty_file(root / "bad")
        write_missing_patient_id(root / "bad")
        write_duplicate_sop_uid(root / "bad")
