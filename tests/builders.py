"""Builders of DICOM test data, shared by every test module.

Everything is written from scratch with :mod:`dbdicom._templates` (or copied
from pydicom's own test files) into a folder the test owns, usually
``tmp_path``. Nothing here is read from the repository.

- :func:`build_database` writes a realistic multi-patient database and
  returns a :class:`Manifest` of everything in it, to assert against.
- ``write_*`` functions write one kind of bad input each and return the
  paths written; :func:`build_bad_files` writes them all next to a valid
  series and returns a :class:`BadFiles`.
- :func:`pydicom_shipped_files` lists varied real-world files shipped with
  pydicom and pydicom-data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless, generate_uid

from dbdicom._templates import (
    ct_image,
    enhanced_mr_image,
    mr_image,
    new_uid,
    slice_location,
    write_dataset,
)

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


# ----------------------------------------------------------------------------- manifest


@dataclass(frozen=True, eq=False)
class InstanceInfo:
    """One file (instance) of the database.

    ``frames`` has one dict per frame with the values that vary within the
    series (e.g. ``SliceLocation`` and ``FlipAngle``; for the Enhanced MR file
    ``ImagePositionPatient``, ``SliceLocation`` and ``EchoTime``).
    ``pixels`` are the stored values, (row, column) or (frame, row, column).
    """

    path: str
    sop_instance_uid: str
    instance_number: int
    frames: tuple[dict[str, Any], ...]
    pixels: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.frames)


@dataclass(frozen=True, eq=False)
class SeriesInfo:
    """One series: identification, encoding and its instances in write order."""

    uid: str
    number: int
    description: str
    modality: str
    sop_class_uid: str
    transfer_syntax: str
    rows: int
    columns: int
    dims: tuple[str, ...]
    instances: tuple[InstanceInfo, ...]

    @property
    def n_instances(self) -> int:
        return len(self.instances)

    @property
    def n_frames(self) -> int:
        return sum(instance.n_frames for instance in self.instances)

    @property
    def files(self) -> list[str]:
        """Paths relative to the database root, POSIX style."""
        return [instance.path for instance in self.instances]

    @property
    def sop_instance_uids(self) -> list[str]:
        return [instance.sop_instance_uid for instance in self.instances]

    @property
    def coords(self) -> dict[str, list[Any]]:
        """Sorted distinct values of each dimension in ``dims``."""
        return {
            dim: sorted({frame[dim] for i in self.instances for frame in i.frames})
            for dim in self.dims
        }


@dataclass(frozen=True, eq=False)
class StudyInfo:
    uid: str
    description: str
    study_id: str
    date: str
    series: tuple[SeriesInfo, ...]

    @property
    def n_series(self) -> int:
        return len(self.series)

    @property
    def n_instances(self) -> int:
        return sum(s.n_instances for s in self.series)

    @property
    def files(self) -> list[str]:
        return [f for s in self.series for f in s.files]


@dataclass(frozen=True, eq=False)
class PatientInfo:
    patient_id: str
    name: str
    birth_date: str
    sex: str
    studies: tuple[StudyInfo, ...]

    @property
    def n_studies(self) -> int:
        return len(self.studies)

    @property
    def n_series(self) -> int:
        return sum(s.n_series for s in self.studies)

    @property
    def n_instances(self) -> int:
        return sum(s.n_instances for s in self.studies)

    @property
    def files(self) -> list[str]:
        return [f for s in self.studies for f in s.files]


@dataclass(frozen=True, eq=False)
class Manifest:
    """Everything :func:`build_database` wrote, to assert against."""

    root: Path
    patients: tuple[PatientInfo, ...]

    @property
    def studies(self) -> list[StudyInfo]:
        return [s for p in self.patients for s in p.studies]

    @property
    def series(self) -> list[SeriesInfo]:
        return [s for st in self.studies for s in st.series]

    @property
    def instances(self) -> list[InstanceInfo]:
        return [i for s in self.series for i in s.instances]

    @property
    def files(self) -> list[str]:
        """All file paths, relative to ``root``, POSIX style."""
        return [i.path for i in self.instances]

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    @property
    def n_studies(self) -> int:
        return len(self.studies)

    @property
    def n_series(self) -> int:
        return len(self.series)

    @property
    def n_instances(self) -> int:
        return len(self.instances)

    @property
    def n_frames(self) -> int:
        return sum(s.n_frames for s in self.series)

    def patient(self, patient_id: str) -> PatientInfo:
        """The patient with ``patient_id`` (KeyError if none)."""
        for patient in self.patients:
            if patient.patient_id == patient_id:
                return patient
        raise KeyError(patient_id)

    def series_by_description(self, description: str) -> SeriesInfo:
        """The one series with ``description`` (KeyError if none)."""
        for series in self.series:
            if series.description == description:
                return series
        raise KeyError(description)


# ----------------------------------------------------------------------------- writing


@dataclass
class _SeriesWriter:
    """Writes the instances of one series and collects their manifest entries."""

    root: Path
    common: dict[str, Any]
    description: str
    number: int
    dims: tuple[str, ...]
    compression: str | None = None
    transfer_syntax: str = ExplicitVRLittleEndian
    uid: str = field(default_factory=new_uid)
    instances: list[InstanceInfo] = field(default_factory=list)
    datasets: list[Dataset] = field(default_factory=list)

    def attributes(self) -> dict[str, Any]:
        return {
            **self.common,
            "SeriesInstanceUID": self.uid,
            "SeriesNumber": self.number,
            "SeriesDescription": self.description,
        }

    def write(self, ds: Dataset, path: str, frames: Sequence[dict[str, Any]]) -> None:
        write_dataset(
            ds,
            self.root / path,
            compression="rle" if self.compression == "rle" else None,
            transfer_syntax=self.transfer_syntax,
        )
        self.datasets.append(ds)
        self.instances.append(
            InstanceInfo(
                path=path,
                sop_instance_uid=str(ds.SOPInstanceUID),
                instance_number=int(ds.InstanceNumber),
                frames=tuple(frames),
                pixels=ds.pixel_array,
            )
        )

    def info(self) -> SeriesInfo:
        first = self.datasets[0]
        syntax = RLELossless if self.compression == "rle" else self.transfer_syntax
        return SeriesInfo(
            uid=self.uid,
            number=self.number,
            description=self.description,
            modality=str(first.Modality),
            sop_class_uid=str(first.SOPClassUID),
            transfer_syntax=str(syntax),
            rows=int(first.Rows),
            columns=int(first.Columns),
            dims=self.dims,
            instances=tuple(self.instances),
        )


def _mr_pixels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 4096, shape, dtype=np.uint16)


def _positions(n: int, orientation: Sequence[float], spacing: float) -> list[list[float]]:
    """First-pixel positions of ``n`` slices 32 x 32 x 1 mm, ``spacing`` mm apart."""
    row, column = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row, column)
    corner = -15.5 * (row + column)
    return [[round(float(x), 3) for x in corner + k * spacing * normal] for k in range(n)]


def _stack(
    writer: _SeriesWriter,
    template: Callable[..., Dataset],
    pixels: np.ndarray,
    paths: Sequence[str],
    orientation: Sequence[float] = AXIAL,
    **attributes: Any,
) -> SeriesInfo:
    """A plain stack of single-frame images, one per path."""
    positions = _positions(len(paths), orientation, 5.0)
    for index, path in enumerate(paths):
        location = slice_location(positions[index], orientation)
        ds = template(
            pixels[index],
            **writer.attributes(),
            **attributes,
            InstanceNumber=index + 1,
            ImageOrientationPatient=list(orientation),
            ImagePositionPatient=positions[index],
            PixelSpacing=[1.0, 1.0],
            SliceThickness=5.0,
        )
        writer.write(ds, path, [{"SliceLocation": location}])
    return writer.info()


def _patient(name: str, patient_id: str, birth: str, sex: str) -> dict[str, Any]:
    return {
        "PatientName": name,
        "PatientID": patient_id,
        "PatientBirthDate": birth,
        "PatientSex": sex,
    }


def _study(description: str, study_id: str, date: str) -> dict[str, Any]:
    return {
        "StudyInstanceUID": new_uid(),
        "StudyDescription": description,
        "StudyID": study_id,
        "StudyDate": date,
        "StudyTime": "083000",
        "AccessionNumber": "A" + study_id,
        "FrameOfReferenceUID": new_uid(),
    }


def _study_info(common: dict[str, Any], series: Sequence[SeriesInfo]) -> StudyInfo:
    return StudyInfo(
        uid=common["StudyInstanceUID"],
        description=common["StudyDescription"],
        study_id=common["StudyID"],
        date=common["StudyDate"],
        series=tuple(series),
    )


def _patient_info(common: dict[str, Any], studies: Sequence[StudyInfo]) -> PatientInfo:
    return PatientInfo(
        patient_id=common["PatientID"],
        name=common["PatientName"],
        birth_date=common["PatientBirthDate"],
        sex=common["PatientSex"],
        studies=tuple(studies),
    )


VFA_FLIP_ANGLES = (2.0, 10.0, 20.0)
VFA_SLICES = 4
EMR_ECHO_TIMES = (5.0, 15.0)


def _vfa_series(root: Path, common: dict[str, Any], rng: np.random.Generator) -> SeriesInfo:
    """4 slices x 3 flip angles, flip-angle-major instance numbers, ``.dcm`` names."""
    writer = _SeriesWriter(root, common, "VFA", 1, ("SliceLocation", "FlipAngle"))
    positions = _positions(VFA_SLICES, AXIAL, 5.0)
    pixels = _mr_pixels(rng, (len(VFA_FLIP_ANGLES), VFA_SLICES, 32, 32))
    for f, angle in enumerate(VFA_FLIP_ANGLES):
        for s in range(VFA_SLICES):
            number = f * VFA_SLICES + s + 1
            ds = mr_image(
                pixels[f, s],
                **writer.attributes(),
                InstanceNumber=number,
                AcquisitionNumber=f + 1,
                ImagePositionPatient=positions[s],
                PixelSpacing=[1.0, 1.0],
                SliceThickness=5.0,
                FlipAngle=angle,
                RepetitionTime=5.0,
                EchoTime=2.0,
            )
            frame = {"SliceLocation": slice_location(positions[s], AXIAL), "FlipAngle": angle}
            writer.write(ds, f"ALPHA_ANNA/MR_20230301/S01_VFA/IM_{number:04d}.dcm", [frame])
    return writer.info()


def _enhanced_series(root: Path, common: dict[str, Any], rng: np.random.Generator) -> SeriesInfo:
    """One Enhanced MR file: 4 positions x 2 echo times, echo-major frames."""
    writer = _SeriesWriter(root, common, "ME enhanced", 2, ("SliceLocation", "EchoTime"))
    positions = _positions(4, AXIAL, 5.0) * len(EMR_ECHO_TIMES)
    echoes = [te for te in EMR_ECHO_TIMES for _ in range(4)]
    ds = enhanced_mr_image(
        _mr_pixels(rng, (8, 32, 32)),
        positions=positions,
        per_frame={"EchoTime": echoes},
        **writer.attributes(),
        PixelSpacing=[1.0, 1.0],
        SliceThickness=5.0,
        ImageOrientationPatient=list(AXIAL),
    )
    frames = [
        {
            "ImagePositionPatient": tuple(p),
            "SliceLocation": slice_location(p, AXIAL),
            "EchoTime": te,
        }
        for p, te in zip(positions, echoes, strict=True)
    ]
    writer.write(ds, "ALPHA_ANNA/MR_20230301/S02_ME/EMR_0001", frames)
    return writer.info()


def build_database(root: Path, seed: int = 0) -> Manifest:
    """Write a realistic 3-patient database into ``root`` and describe it.

    =========  =======================  ==============================================
    patient    study                    series (files)
    =========  =======================  ==============================================
    PAT-001    MR brain (2023-03-01)    1 "VFA": MR 4 slices x 3 flip angles (12 .dcm)
                                        2 "ME enhanced": Enhanced MR, 8 frames (1 file,
                                        no extension)
    PAT-001    CT abdomen (2023-04-05)  1 "CT abdomen": CT 5 slices (no extension)
    PAT-002    MR knee (2023-05-10)     1 "T1w RLE": MR 3 slices RLE Lossless (.IMA)
                                        2 "PD implicit": MR 3 coronal slices, Implicit
                                        VR Little Endian (.dcm)
    PAT-003    MR abdomen (2023-06-12)  1 "T2w": MR 4 sagittal slices (no extension,
                                        deep folders)
    =========  =======================  ==============================================

    28 files, 35 frames, 32 x 32 pixels; UIDs are new at every call, pixel
    values follow ``seed``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)

    anna = _patient("Alpha^Anna", "PAT-001", "19650412", "F")
    brain = {**anna, **_study("MR brain", "1001", "20230301")}
    brain_series = [_vfa_series(root, brain, rng), _enhanced_series(root, brain, rng)]
    abdomen_ct = {**anna, **_study("CT abdomen", "1002", "20230405")}
    ct = _stack(
        _SeriesWriter(root, abdomen_ct, "CT abdomen", 1, ("SliceLocation",)),
        ct_image,
        rng.integers(-1024, 3072, (5, 32, 32), dtype=np.int16),
        [f"ALPHA_ANNA/CT_20230405/S01/IM_{k:04d}" for k in range(1, 6)],
    )
    patient1 = _patient_info(
        anna, [_study_info(brain, brain_series), _study_info(abdomen_ct, [ct])]
    )

    ben = _patient("Bravo^Ben", "PAT-002", "19781123", "M")
    knee = {**ben, **_study("MR knee", "2001", "20230510")}
    rle = _stack(
        _SeriesWriter(root, knee, "T1w RLE", 1, ("SliceLocation",), compression="rle"),
        mr_image,
        _mr_pixels(rng, (3, 32, 32)),
        [f"BRAVO_BEN/MR_KNEE/BRAVO.MR.KNEE.0001.{k:04d}.2023.05.10.IMA" for k in range(1, 4)],
        RepetitionTime=500.0,
        EchoTime=12.0,
        FlipAngle=90.0,
        ScanningSequence="SE",
        SequenceVariant="NONE",
    )
    implicit = _stack(
        _SeriesWriter(
            root,
            knee,
            "PD implicit",
            2,
            ("SliceLocation",),
            transfer_syntax=ImplicitVRLittleEndian,
        ),
        mr_image,
        _mr_pixels(rng, (3, 32, 32)),
        [f"BRAVO_BEN/MR_KNEE/PD_IMPLICIT/IM_{k:04d}.dcm" for k in range(1, 4)],
        orientation=CORONAL,
    )
    patient2 = _patient_info(ben, [_study_info(knee, [rle, implicit])])

    chloe = _patient("Charlie^Chloe", "PAT-003", "19900101", "F")
    abdomen_mr = {**chloe, **_study("MR abdomen", "3001", "20230612")}
    t2w = _stack(
        _SeriesWriter(root, abdomen_mr, "T2w", 1, ("SliceLocation",)),
        mr_image,
        _mr_pixels(rng, (4, 32, 32)),
        [f"CHARLIE_CHLOE/DICOM/0001/0002/{k:08d}" for k in range(1, 5)],
        orientation=SAGITTAL,
        RepetitionTime=3500.0,
        EchoTime=90.0,
        FlipAngle=150.0,
        ScanningSequence="SE",
        SequenceVariant="SK",
    )
    patient3 = _patient_info(chloe, [_study_info(abdomen_mr, [t2w])])

    return Manifest(root=root, patients=(patient1, patient2, patient3))


# ----------------------------------------------------------------------------- shipped files

#: Files shipped with pydicom / pydicom-data, name -> what it exercises.
SHIPPED_FILES: dict[str, str] = {
    "MR_small.dcm": "MR, Explicit VR Little Endian, 64 x 64",
    "CT_small.dcm": "CT, Explicit VR Little Endian, signed 16 bit",
    "emri_small.dcm": "Enhanced MR, 10 frames, empty Patient ID",
    "emri_small_jpeg_2k_lossless.dcm": "the same Enhanced MR (same SOPInstanceUID) in JPEG 2000",
    "MR2_UNCR.dcm": "MR 1024 x 1024, Explicit VR",
    "MR2_UNCI.dcm": "MR 1024 x 1024, same series as MR2_UNCR.dcm",
    "JPEG2000.dcm": "NM secondary capture, JPEG 2000",
    "JPEG-LL.dcm": "NM secondary capture, JPEG Lossless, same series as JPEG2000.dcm",
    "SC_rgb_rle.dcm": "secondary capture, RGB, RLE Lossless",
    "OBXXXX1A.dcm": "ultrasound, Philips private tags",
    "US1_UNCR.dcm": "ultrasound, RGB",
    "rtdose.dcm": "RT Dose, Implicit VR, 15 frames",
    "liver.dcm": "Segmentation, 3 binary frames",
    "MR-SIEMENS-DICOM-WithOverlays.dcm": "Siemens MR with overlays and CSA headers",
    "693_J2KR.dcm": "CT 512 x 512, JPEG 2000 lossless",
}

#: Groups of shipped files that share a SOPInstanceUID.
SHIPPED_DUPLICATE_SOP_UIDS: tuple[tuple[str, ...], ...] = (
    ("emri_small.dcm", "emri_small_jpeg_2k_lossless.dcm"),
)


def pydicom_shipped_files() -> list[Path]:
    """Paths of :data:`SHIPPED_FILES`, checked to exist in this environment."""
    paths = []
    missing = []
    for name in SHIPPED_FILES:
        found = get_testdata_file(name)
        if found is None:
            missing.append(name)
        else:
            paths.append(Path(os.fspath(found)))
    if missing:
        raise FileNotFoundError(
            f"pydicom test files not found: {missing}; install the test extra "
            "(pip install -e '.[test]', which brings pydicom-data)"
        )
    return paths


def named_series(root: Path, charset: str, name: str, institution: str) -> None:
    """Three MR slices of a patient ``name`` in character set ``charset``."""
    common = {
        "SpecificCharacterSet": charset,
        "PatientName": name,
        "PatientID": name[:3].upper(),
        "InstitutionName": institution,
        "StudyInstanceUID": generate_uid(),
        "StudyDescription": "names",
    }
    writer = _SeriesWriter(root, common, "source", 1, ("SliceLocation",))
    pixels = _mr_pixels(np.random.default_rng(1), (3, 16, 16))
    _stack(writer, mr_image, pixels, [f"{charset}/IM_{k}.dcm" for k in range(3)])
