"""NIfTI sidecars: dcm2niix's keys, in its units, with its values.

Every series is exported by dbdicom and converted by ``dcm2niix -b y``
(its default anonymisation, ``-ba y``; ``-ba n`` for the identifiers); the
volumes of the two are matched in world coordinates (``dcm2niix_compare``)
and the sidecars of matched volumes compared key by key: each key both
write has the same value (floats to dcm2niix's 6 significant digits), and
the keys only one of them writes are those listed, with the reason, in
:data:`OURS_ONLY` and :data:`THEIRS_ONLY`. Where dcm2niix writes one file
per flip angle or echo, dbdicom's 4-D file lists the values per volume: the
value of the matched volume is compared.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import pydicom
import pytest
from dcm2niix_compare import DCM2NIIX, INSTALL, compare, dcm2niix, volumes
from pydicom.data import get_testdata_file
from vendor_layouts import Plan, classic_series, enhanced_series

import dbdicom as db
from dbdicom._export._sidecar import day_seconds, iso_time
from dbdicom._templates import mr_image, new_uid, write_dataset

needs_dcm2niix = pytest.mark.skipif(DCM2NIIX is None, reason=INSTALL)

#: Keys dbdicom writes and dcm2niix does not, and why.
OURS_ONLY: dict[str, str] = {}

#: Keys dcm2niix writes and dbdicom does not, and why.
THEIRS_ONLY = {
    "BidsGuess": "dcm2niix's guess of a BIDS name; dbdicom names the files themselves "
    "(export_as_nifti(bids=True)) rather than writing a guess in the sidecar",
    "PhaseEncodingPolarityGE": "from GE's private header (0043,108A), not read",
    "PhaseEncodingDirection": "the sign needs the polarity of vendors' private headers "
    "(GE's here): dbdicom writes PhaseEncodingAxis, as dcm2niix does without it",
    "MultibandAccelerationFactor": "dcm2niix infers it for a Siemens 2-D series from the "
    "number of slices that share an AcquisitionTime (here all of them: the template gives "
    "every slice one time); dbdicom does not guess it",
}

#: Keys one tool writes where the other writes the paired key (same information).
PAIRS = {"PhaseEncodingAxis": "PhaseEncodingDirection"}

#: Keys whose values differ by design.
NOT_COMPARED = {
    "ConversionSoftware": "the converter's name",
    "ConversionSoftwareVersion": "the converter's version",
}

#: Keys per volume in a 4-D file of dbdicom (a list, one value per volume).
PER_VOLUME = {
    "EchoTime",
    "FlipAngle",
    "InversionTime",
    "RepetitionTime",
    "EchoNumber",
    "AcquisitionTime",
    "AcquisitionNumber",
}


def _same(ours: Any, theirs: Any, key: str = "") -> bool:
    if key == "AcquisitionTime":  # dcm2niix rounds to 10 microseconds
        return abs(day_seconds(ours) - day_seconds(theirs)) <= 1e-5
    if isinstance(theirs, list):
        return (
            isinstance(ours, list)
            and len(ours) == len(theirs)
            and all(_same(a, b) for a, b in zip(ours, theirs, strict=True))
        )
    if isinstance(theirs, bool) or isinstance(ours, bool):
        return ours is theirs
    if isinstance(theirs, int | float) and isinstance(ours, int | float):
        return math.isclose(ours, theirs, rel_tol=1e-5, abs_tol=1e-9)
    return bool(ours == theirs)


def _json(nifti: Path) -> dict[str, Any]:
    stem = re.sub(r"\.nii(\.gz)?$", "", nifti.name)
    return dict(json.loads(nifti.with_name(f"{stem}.json").read_text()))


def _volume(name: str) -> tuple[str, int | None]:
    """``"x.nii.gz[3]"`` -> ("x.nii.gz", 3); ``"x.nii"`` -> ("x.nii", None)."""
    found = re.fullmatch(r"(.*)\[(\d+)\]", name)
    return (found.group(1), int(found.group(2))) if found else (name, None)


def _at(sidecar: dict[str, Any], t: int | None) -> dict[str, Any]:
    """The sidecar of volume ``t`` of a 4-D file: lists per volume taken at ``t``."""
    if t is None:
        return sidecar
    return {k: (v[t] if k in PER_VOLUME and isinstance(v, list) else v) for k, v in sidecar.items()}


def check_sidecars(
    series: db.Series, work: Path, identifiers: bool = False, known: dict[str, str] | None = None
) -> int:
    """Compare the sidecars of every matched volume; the number of volumes compared.

    ``known``: keys that differ for this series, and why (left out of the comparison).
    """
    known = known or {}
    theirs, log = dcm2niix(series.files(), work, sidecars=True, identifiers=identifiers)
    assert theirs, f"dcm2niix wrote nothing:\n{log}"
    out = series.export_as_nifti(work / "ours", identifiers=identifiers)
    ours = sorted(out.rglob("*.nii.gz"))
    found = compare(volumes(ours), volumes(theirs))
    assert found.matches, f"no volume of dcm2niix found in ours:\n{log}"
    by_name = {p.name: p for p in [*ours, *theirs]}
    for match in found.matches:
        their_file, _ = _volume(match.theirs)
        our_file, t = _volume(match.ours)
        mine = _at(_json(by_name[our_file]), t)
        reference = _json(by_name[their_file])
        if reference.get("InstitutionalDepartmentName") == "None":
            # dcm2niix v1.0.20260724 writes the text "None" when (0008,1040) is absent
            del reference["InstitutionalDepartmentName"]
        for key in known:
            mine.pop(key, None), reference.pop(key, None)
        if "SliceTiming" in reference and "SliceTiming" in mine:  # in our order of slices
            order = _slice_order(by_name[our_file], by_name[their_file])
            reference["SliceTiming"] = [reference["SliceTiming"][j] for j in order]
        for ours_key, their_key in PAIRS.items():
            if ours_key in mine and their_key in reference:
                assert reference[their_key].startswith(mine.pop(ours_key)), match
        only_ours = set(mine) - set(reference) - set(OURS_ONLY)
        only_theirs = set(reference) - set(mine) - set(THEIRS_ONLY)
        assert not only_ours, f"{match}: keys dcm2niix does not write: {only_ours}\n{mine}"
        assert not only_theirs, f"{match}: keys of dcm2niix missing: {only_theirs}\n{reference}"
        differ = {
            key: (mine[key], reference[key])
            for key in set(mine) & set(reference)
            if key not in NOT_COMPARED and not _same(mine[key], reference[key], key)
        }
        assert not differ, f"{match}: values (ours, dcm2niix) differ: {differ}"
    return len(found.matches)


def _slice_order(ours: Path, theirs: Path) -> list[int]:
    """For each slice of ``ours``, the slice of ``theirs`` at the same place."""
    a, b = nibabel.load(ours), nibabel.load(theirs)
    centres = [b.affine @ [0, 0, j, 1] for j in range(b.shape[2])]
    return [
        int(np.argmin([np.linalg.norm(a.affine @ [0, 0, k, 1] - c) for c in centres]))
        for k in range(a.shape[2])
    ]


def _only_series(folder: Path) -> db.Series:
    (series,) = db.database(folder).series()
    return series


# ----------------------------------------------------------------------------- test data


#: (0008,0070) Manufacturer "dbdicom", a name dcm2niix does not know: it takes the
#: enhanced file for a Philips one, and then of two echoes adds no MAGNITUDE
GUESSED_PHILIPS = {
    "Manufacturer": "dcm2niix guesses Philips for an enhanced file of an unknown maker",
    "ImageType": "and so leaves MAGNITUDE out, as it does for Philips files of two echoes",
}


@needs_dcm2niix
@pytest.mark.parametrize(
    "description", ["VFA", "ME enhanced", "CT abdomen", "T1w RLE", "PD implicit", "T2w"]
)
def test_built_database(built: db.Database, tmp_path: Path, description: str) -> None:
    known = GUESSED_PHILIPS if description == "ME enhanced" else None
    check_sidecars(built.series(SeriesDescription=description)[0], tmp_path, known=known)


@needs_dcm2niix
@pytest.mark.parametrize("description", ["localiser", "T2w", "VFA", "CT phantom", "T2w sag"])
def test_demo(demo_database: db.Database, tmp_path: Path, description: str) -> None:
    check_sidecars(demo_database.series(SeriesDescription=description)[0], tmp_path)


#: Header values beyond the templates' defaults that change what dcm2niix writes.
HEADERS: dict[str, dict[str, Any]] = {
    "template": {},
    "spin echo, inversion": {
        "ScanningSequence": ["SE", "IR"],
        "SequenceVariant": "SK",
        "InversionTime": 900.0,
    },
    "EPI": {"ScanningSequence": ["SE", "EP"], "SequenceVariant": "NONE"},
    "gradient echo": {"ScanningSequence": "GR", "SequenceVariant": "NONE"},
    "phase encoding columns, Siemens": {
        "AcquisitionMatrix": [0, 12, 16, 0],
        "InPlanePhaseEncodingDirection": "COL",
        "Manufacturer": "SIEMENS",
        "EchoTrainLength": 4,
        "NumberOfAverages": 2.0,
        "SAR": 0.5,
        "PercentSampling": 80.0,
        "PercentPhaseFieldOfView": 75.0,
        "NumberOfPhaseEncodingSteps": 10,
        "SpacingBetweenSlices": 3.0,
        "VariableFlipAngleFlag": "Y",
        "ImageType": ["DERIVED", "PRIMARY", "M", "ND"],
        "ReceiveCoilName": "HeadCoil",
        "AcquisitionTime": "093012.5",
    },
    "phase encoding rows, Philips": {
        "AcquisitionMatrix": [16, 0, 0, 12],
        "InPlanePhaseEncodingDirection": "ROW",
        "Manufacturer": "Philips Medical Systems",
        "ImageType": ["ORIGINAL", "PRIMARY", "P", "DIS2D"],
        "InstitutionalDepartmentName": "Radiology",
        "InstitutionAddress": "1 Road",
        "PerformedProcedureStepDescription": "Brain",
        "ImageComments": "hello",
    },
    "3D, GE": {
        "MRAcquisitionType": "3D",
        "InPlanePhaseEncodingDirection": "ROW",
        "Manufacturer": "GE MEDICAL SYSTEMS",
    },
    # a 3-D gradient echo with an echo train (a turbo field echo, 3-D EPI, multi-echo
    # GRE): dcm2niix writes its phase-encoding axis, as for a 2-D acquisition
    "3D, echo train, gradient echo": {
        "MRAcquisitionType": "3D",
        "InPlanePhaseEncodingDirection": "ROW",
        "ScanningSequence": "GR",
        "SequenceVariant": "MP",
        "EchoTrainLength": 225,
        "Manufacturer": "Philips Medical Systems",
    },
    "3D, echo train, spin echo": {
        "MRAcquisitionType": "3D",
        "InPlanePhaseEncodingDirection": "COL",
        "ScanningSequence": ["SE", "IR"],
        "EchoTrainLength": 200,
        "Manufacturer": "GE MEDICAL SYSTEMS",
    },
    # dcm2niix spells out M and P, and in Siemens files R and I, where they are neither
    # the first nor the last value (it looks for "_R_" in the values joined by "_")
    "real, Siemens": {
        "ImageType": ["ORIGINAL", "PRIMARY", "R", "ND"],
        "Manufacturer": "SIEMENS",
    },
    "real and phase, Siemens": {
        "ImageType": ["ORIGINAL", "PRIMARY", "P", "R_ND"],
        "Manufacturer": "SIEMENS",
    },
    "magnitude last, Siemens": {
        "ImageType": ["ORIGINAL", "PRIMARY", "M"],
        "Manufacturer": "SIEMENS",
    },
    "phase last": {"ImageType": ["ORIGINAL", "PRIMARY", "P"]},
    "imaginary, GE": {
        "ImageType": ["ORIGINAL", "PRIMARY", "I"],
        "Manufacturer": "GE MEDICAL SYSTEMS",
    },
    "MP-RAGE": {
        "ScanningSequence": ["GR", "IR"],
        "SequenceVariant": ["SP", "MP"],
        "InversionTime": 900.0,
    },
    "3D, one echo": {
        "MRAcquisitionType": "3D",
        "InPlanePhaseEncodingDirection": "COL",
        "ScanningSequence": "GR",
        "EchoTrainLength": 1,
        "Manufacturer": "GE MEDICAL SYSTEMS",
    },
}


@needs_dcm2niix
@pytest.mark.parametrize("header", list(HEADERS))
def test_classic_mr(tmp_path: Path, header: str) -> None:
    classic_series(tmp_path / "dicom", Plan(slices=3), modality="MR", **HEADERS[header])
    check_sidecars(_only_series(tmp_path / "dicom"), tmp_path / "work")


@needs_dcm2niix
@pytest.mark.parametrize(
    "header",
    [
        {},
        {"Exposure": 170, "ExposureTime": 1601},
        {"ConvolutionKernel": ["B30s", "X"], "ScanOptions": "HELICAL MODE"},
    ],
    ids=["template", "exposure", "kernels"],
)
def test_classic_ct(tmp_path: Path, header: dict[str, Any]) -> None:
    classic_series(tmp_path / "dicom", Plan(slices=3), modality="CT", **header)
    check_sidecars(_only_series(tmp_path / "dicom"), tmp_path / "work")


@needs_dcm2niix
@pytest.mark.parametrize("echoes", [(5.0,), (5.0, 15.0)], ids=["one echo", "two echoes"])
def test_multi_echo(tmp_path: Path, echoes: tuple[float, ...]) -> None:
    classic_series(tmp_path / "dicom", Plan(slices=2, echoes=echoes), modality="MR")
    assert check_sidecars(_only_series(tmp_path / "dicom"), tmp_path / "work") == len(echoes)


@needs_dcm2niix
@pytest.mark.parametrize("layout", ["siemens", "philips", "ge"])
def test_enhanced(tmp_path: Path, layout: str) -> None:
    enhanced_series(tmp_path / "dicom", Plan(slices=3), layout)
    check_sidecars(_only_series(tmp_path / "dicom"), tmp_path / "work")


@needs_dcm2niix
def test_enhanced_values_of_a_functional_group_before_the_top_level(tmp_path: Path) -> None:
    """A trial: an enhanced Philips file has PixelBandwidth 992 at the top level and
    992.0634765625 in its MR Imaging Modifier macro, where the standard and dcm2niix read it."""
    (path,) = enhanced_series(tmp_path / "dicom", Plan(slices=2), "philips")
    ds = pydicom.dcmread(path)
    shared = ds.SharedFunctionalGroupsSequence[0]
    shared.MRImagingModifierSequence[0].PixelBandwidth = 992.0634765625
    ds.PixelBandwidth = 992
    ds.save_as(path)
    check_sidecars(_only_series(tmp_path / "dicom"), tmp_path / "work")
    (ours,) = (tmp_path / "work" / "ours").rglob("*.json")
    assert json.loads(ours.read_text())["PixelBandwidth"] == pytest.approx(992.0635, abs=1e-3)


def dynamic_series(folder: Path, tr: float) -> None:
    """3 volumes of 2 slices, 4 s apart by their AcquisitionTime, of RepetitionTime ``tr`` ms."""
    series = new_uid()
    for t in range(3):
        for k in range(2):
            ds = mr_image(np.full((4, 4), t, np.uint16), SeriesInstanceUID=series)
            ds.SOPInstanceUID, ds.InstanceNumber = new_uid(), 2 * t + k + 1
            ds.ImagePositionPatient = [0.0, 0.0, 3.0 * k]
            ds.SliceLocation = 3.0 * k
            ds.RepetitionTime = tr
            ds.TemporalPositionIdentifier = t + 1
            ds.AcquisitionTime = f"1030{4 * t:02d}.{k * 3:02d}0000"
            write_dataset(ds, folder / f"{t}{k}.dcm")


@needs_dcm2niix
@pytest.mark.parametrize("tr", [500.0, 4000.0], ids=["TR below the step", "TR the step"])
def test_dynamic_series(tmp_path: Path, tr: float) -> None:
    """A trial: a dynamic series 2.5 s a volume, TR 4 ms, had RepetitionTime 0.004 (pixdim[4]
    2.5); BIDS and dcm2niix: RepetitionTime 2.5, RepetitionTimeExcitation 0.004."""
    dynamic_series(tmp_path / "dicom", tr)
    dim = "the values along the 4th dim, listed (database.import_nifti reads them back)"
    known = {
        "TemporalPositionIdentifier": dim,
        "AcquisitionTime": "one per volume (dcm2niix writes the first volume's in a 4-D file)",
    }
    check_sidecars(_only_series(tmp_path / "dicom"), tmp_path / "work", known=known)
    (ours,) = (tmp_path / "work" / "ours").rglob("*.json")
    sidecar = json.loads(ours.read_text())
    assert sidecar["RepetitionTime"] == 4
    assert sidecar.get("RepetitionTimeExcitation") == (0.5 if tr == 500 else None)


def test_volume_time_stamps_jittering_around_the_tr_give_the_tr(tmp_path: Path) -> None:
    """A review: an fMRI series' AcquisitionTime in 2.5 ms steps (gaps of 4.0025 s for a TR of
    4 s) gave RepetitionTime 4.0024999 and RepetitionTimeExcitation 4."""
    nibabel = pytest.importorskip("nibabel")
    folder = tmp_path / "dicom"
    series = new_uid()
    for t, stamp in enumerate(["103000.0000", "103004.0025", "103008.0050"]):
        ds = mr_image(np.full((4, 4), t, np.uint16), SeriesInstanceUID=series)
        ds.SOPInstanceUID, ds.InstanceNumber = new_uid(), t + 1
        ds.RepetitionTime, ds.TemporalPositionIdentifier, ds.AcquisitionTime = 4000.0, t + 1, stamp
        write_dataset(ds, folder / f"{t}.dcm")
    out = db.database(folder).series()[0].export_as_nifti(tmp_path / "out")
    (side,) = Path(out).rglob("*.json")
    sidecar = json.loads(side.read_text())
    assert sidecar["RepetitionTime"] == 4 and "RepetitionTimeExcitation" not in sidecar
    assert nibabel.load(str(side).replace(".json", ".nii.gz")).header["pixdim"][4] == 4


#: Files of pydicom and pydicom-data that dcm2niix and dbdicom both convert.
SHIPPED = [
    "MR_small.dcm",
    "CT_small.dcm",
    "MR2_UNCR.dcm",
    "693_UNCR.dcm",
    "MR-SIEMENS-DICOM-WithOverlays.dcm",
    "examples_overlay.dcm",
    "eCT_Supplemental.dcm",
    "liver.dcm",
    "rtdose_1frame.dcm",
    "J2K_pixelrep_mismatch.dcm",
    "explicit_VR-UN.dcm",
    "bad_sequence.dcm",
]


#: How dcm2niix's sidecars of shipped files differ, and why.
SHIPPED_KNOWN = {
    "explicit_VR-UN.dcm": {
        "SeriesNumber": "empty in the file: dcm2niix writes a number of its own (a hash)",
    },
}


@needs_dcm2niix
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files(tmp_path: Path, name: str) -> None:
    path = get_testdata_file(name)
    assert path is not None, f"{name} is missing: pip install pydicom-data"
    (tmp_path / "dicom").mkdir()
    shutil.copyfile(path, tmp_path / "dicom" / name)
    check_sidecars(
        _only_series(tmp_path / "dicom"), tmp_path / "work", known=SHIPPED_KNOWN.get(name)
    )


#: Each slice's AcquisitionTime (in the order of the files), the plan and the maker.
TIMINGS = {
    "ascending": (["093012.0", "093012.5", "093013.0", "093013.5"], Plan(slices=4), "SIEMENS"),
    "interleaved": (["093012.0", "093013.0", "093012.5", "093013.5"], Plan(slices=4), "SIEMENS"),
    "descending stack": (
        ["093012.0", "093012.5", "093013.0", "093013.5"],
        Plan(slices=4, descending=True),
        "SIEMENS",
    ),
    "multiband 2": (["093012.0", "093012.0", "093013.0", "093013.0"], Plan(slices=4), "SIEMENS"),
    "longer than TR": (["093012.0", "093014.5", "093017.0", "093019.5"], Plan(slices=4), "SIEMENS"),
    "3D": (["093012.0", "093012.5", "093013.0", "093013.5"], Plan(slices=4), "SIEMENS 3D"),
    "GE": (["093012.0", "093012.5", "093013.0", "093013.5"], Plan(slices=4), "GE"),
}


@needs_dcm2niix
@pytest.mark.parametrize("timing", list(TIMINGS))
def test_slice_timing(tmp_path: Path, timing: str) -> None:
    """SliceTiming from the slices' AcquisitionTime: Siemens 2-D series only, as dcm2niix."""
    times, plan, maker = TIMINGS[timing]
    extra = {"MRAcquisitionType": "3D"} if maker.endswith("3D") else {}
    paths = classic_series(
        tmp_path / "dicom",
        plan,
        modality="MR",
        Manufacturer=maker.split()[0],
        RepetitionTime=3000.0,
        **extra,
    )
    for path, time in zip(paths, times, strict=True):
        ds = pydicom.dcmread(path)
        ds.AcquisitionTime = time
        ds.save_as(path)
    check_sidecars(_only_series(tmp_path / "dicom"), tmp_path / "work")
    (sidecar,) = (tmp_path / "work" / "ours").rglob("*.json")
    written = json.loads(sidecar.read_text())
    if maker == "SIEMENS":
        assert sorted(written["SliceTiming"]) == sorted(
            day_seconds(iso_time(t)) - day_seconds(iso_time(times[0])) for t in times
        )
    else:
        assert "SliceTiming" not in written


# ----------------------------------------------------------------------------- identifiers

IDENTIFIERS = {
    "PatientName": "Doe^Jane",
    "PatientID": "P-0042",
    "PatientBirthDate": "19700101",
    "PatientSex": "F",
    "PatientAge": "045Y",
    "PatientSize": 1.8,
    "PatientWeight": 75.0,
    "AccessionNumber": "A-1",
    "ReferringPhysicianName": "Ref^Doc",
    "StudyID": "S1",
}

#: The keys of identifiers (dcm2niix -ba n writes them, -ba y leaves them out).
IDENTIFIER_KEYS = {
    *IDENTIFIERS,
    "SeriesInstanceUID",
    "StudyInstanceUID",
    "AcquisitionDateTime",
}


@needs_dcm2niix
@pytest.mark.parametrize("identifiers", [False, True], ids=["default", "identifiers"])
def test_identifiers(tmp_path: Path, identifiers: bool) -> None:
    """Left out by default, as dcm2niix does; with ``identifiers=True`` its values."""
    classic_series(tmp_path / "dicom", Plan(slices=2), modality="MR", **IDENTIFIERS)
    series = _only_series(tmp_path / "dicom")
    check_sidecars(series, tmp_path / "work", identifiers=identifiers)
    (sidecar,) = (tmp_path / "work" / "ours").rglob("*.json")
    written = json.loads(sidecar.read_text())
    if identifiers:
        assert IDENTIFIER_KEYS <= set(written)
        assert written["PatientBirthDate"] == "1970-01-01" and written["PatientAge"] == 45
    else:
        assert not IDENTIFIER_KEYS & set(written)
        text = sidecar.read_text()
        assert all(str(v) not in text for v in ("Doe^Jane", "P-0042", "19700101"))


# ----------------------------------------------------------------------------- round trip


def test_import_reads_seconds_back(tmp_path: Path) -> None:
    """A 4-D multi-echo file's echo times, in seconds in the sidecar, come back in ms."""
    classic_series(tmp_path / "dicom", Plan(slices=2, echoes=(5.0, 15.0)), modality="MR")
    database = db.database(tmp_path / "dicom")
    (series,) = database.series()
    out = series.export_as_nifti(tmp_path / "out")
    (image,) = out.rglob("*.nii.gz")
    sidecar = _json(image)
    assert sidecar["EchoTime"] == [0.005, 0.015] and sidecar["EchoNumber"] == [1, 2]
    back = database.import_nifti(image, reference=series)
    assert back.to_xarray()["EchoTime"].values.tolist() == [5.0, 15.0]
