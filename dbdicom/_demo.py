"""A small, realistic demo database written from scratch (``dbdicom demo``).

Contents (all pixels 64 x 64, axial unless stated; new UIDs at every build):

- patient ``DEMO-001`` (``Phantom^Alpha``)

  - MR study "MR phantom T1 mapping" (2024-01-15)

    - series 1 "localiser": 3 slices, one axial, one coronal, one sagittal
    - series 2 "T2w": 6 axial slices, turbo spin echo
    - series 3 "VFA": 6 slices x 4 flip angles (2, 5, 10, 15 deg), spoiled
      gradient echo with TR 5 ms: S = M0 sin(a) (1 - E) / (1 - cos(a) E),
      E = exp(-TR / T1), for the T1 map of :func:`phantom_maps`

  - CT study "CT phantom" (2024-01-16): series 1 "CT phantom", 10 slices of
    Hounsfield units

- patient ``DEMO-002`` (``Phantom^Beta``): MR study "MR phantom" (2024-02-20)
  with series 1 "T2w sag", 5 sagittal slices

Files are nested ``Patient/Study/Series/file``; the localiser and the
sagittal series have no file extension, the rest end in ``.dcm``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ._records import database
from ._templates import ct_image, mr_image, new_uid, write_dataset

#: Repetition time of the VFA series, ms.
VFA_TR = 5.0
#: Flip angles of the VFA series, degrees, in acquisition order.
VFA_FLIP_ANGLES = (2.0, 5.0, 10.0, 15.0)
#: Number of slices of the VFA and T2w series.
N_SLICES = 6
#: Matrix size of every image.
SHAPE = (64, 64)
#: Pixel spacing (mm) and slice thickness (mm) of the MR series.
MR_SPACING, MR_THICKNESS = 3.75, 5.0
#: T1 (ms) of the phantom: background body, then the four vials.
T1_BODY, T1_VIALS = 1000.0, (250.0, 500.0, 1500.0, 2000.0)
#: T2 (ms) of the phantom: background body, then the four vials.
T2_BODY, T2_VIALS = 80.0, (40.0, 60.0, 120.0, 200.0)

_VIAL_CENTRES = ((-12, -12), (-12, 12), (12, -12), (12, 12))


def _disc(centre: tuple[float, float], radius: float) -> np.ndarray:
    rows, columns = np.mgrid[: SHAPE[0], : SHAPE[1]]
    r0 = (SHAPE[0] - 1) / 2 + centre[0]
    c0 = (SHAPE[1] - 1) / 2 + centre[1]
    return np.asarray((rows - r0) ** 2 + (columns - c0) ** 2 <= radius**2, dtype=bool)


def phantom_maps(n_slices: int = N_SLICES) -> dict[str, np.ndarray]:
    """Ground-truth maps of the MR phantom, each (slice, row, column).

    A cylinder (body, radius 28 pixels) holding four vials of radius 6 and,
    on each slice, a small marker square whose place depends on the slice
    index so that slices can be told apart. Outside the cylinder every map
    is 0.

    Parameters
    ----------
    n_slices
        Number of slices.

    Returns
    -------
    dict of str to numpy.ndarray
        ``"M0"`` (proton density, 0..1), ``"T1"`` and ``"T2"`` (ms).

    Examples
    --------
    >>> maps = phantom_maps()
    >>> maps["T1"].shape
    (6, 64, 64)
    >>> sorted(float(t) for t in np.unique(maps["T1"]))
    [0.0, 250.0, 500.0, 800.0, 1000.0, 1500.0, 2000.0]
    """
    body = _disc((0, 0), 28)
    m0 = np.where(body, 0.8, 0.0)
    t1 = np.where(body, T1_BODY, 0.0)
    t2 = np.where(body, T2_BODY, 0.0)
    for centre, vial_t1, vial_t2 in zip(_VIAL_CENTRES, T1_VIALS, T2_VIALS, strict=True):
        vial = _disc(centre, 6)
        m0[vial], t1[vial], t2[vial] = 1.0, vial_t1, vial_t2
    maps = {
        name: np.repeat(m[None], n_slices, axis=0)
        for name, m in (("M0", m0), ("T1", t1), ("T2", t2))
    }
    for index in range(n_slices):
        row, column = 30, 20 + 4 * index
        maps["T1"][index, row : row + 3, column : column + 3] = 800.0
        maps["T2"][index, row : row + 3, column : column + 3] = 50.0
    return maps


def _to_uint16(signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = np.abs(signal + rng.normal(0.0, 4.0, signal.shape))
    return np.clip(np.rint(noisy), 0, 65535).astype(np.uint16)


def _axial_positions(n_slices: int, spacing: float, thickness: float) -> list[list[float]]:
    corner = -(SHAPE[0] - 1) / 2 * spacing
    offsets = (np.arange(n_slices) - (n_slices - 1) / 2) * thickness
    return [[corner, corner, float(z)] for z in offsets]


def _patient(name: str, patient_id: str, birth: str, sex: str) -> dict[str, Any]:
    return {
        "PatientName": name,
        "PatientID": patient_id,
        "PatientBirthDate": birth,
        "PatientSex": sex,
    }


def _study(description: str, date: str, study_id: str, accession: str) -> dict[str, Any]:
    return {
        "StudyInstanceUID": new_uid(),
        "StudyDescription": description,
        "StudyDate": date,
        "StudyTime": "101500",
        "StudyID": study_id,
        "AccessionNumber": accession,
        "FrameOfReferenceUID": new_uid(),
    }


def _series(number: int, description: str) -> dict[str, Any]:
    return {
        "SeriesInstanceUID": new_uid(),
        "SeriesNumber": number,
        "SeriesDescription": description,
    }


def _write_localiser(folder: Path, common: dict[str, Any], rng: np.random.Generator) -> None:
    maps = phantom_maps(1)
    image = _to_uint16(1500 * maps["M0"][0], rng)
    orientations = ([1, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, -1], [0, 1, 0, 0, 0, -1])
    corner = -(SHAPE[0] - 1) / 2 * 4.0
    positions = ([corner, corner, 0.0], [corner, 0.0, -corner], [0.0, corner, -corner])
    attrs = {**common, **_series(1, "localiser")}
    for index, (orientation, position) in enumerate(zip(orientations, positions, strict=True)):
        ds = mr_image(
            image,
            **attrs,
            ImageType=["ORIGINAL", "PRIMARY", "OTHER"],
            InstanceNumber=index + 1,
            ImageOrientationPatient=orientation,
            ImagePositionPatient=position,
            PixelSpacing=[4.0, 4.0],
            SliceThickness=8.0,
            RepetitionTime=8.6,
            EchoTime=4.0,
            FlipAngle=20.0,
            SeriesTime="101600",
        )
        write_dataset(ds, folder / f"IM_{index + 1:04d}")


def _write_t2w(
    folder: Path,
    common: dict[str, Any],
    number: int,
    rng: np.random.Generator,
    description: str = "T2w",
    n_slices: int = N_SLICES,
    sagittal: bool = False,
    extension: str = ".dcm",
) -> None:
    maps = phantom_maps(n_slices)
    tr, te = 4000.0, 100.0
    t1 = np.where(maps["T1"] > 0, maps["T1"], 1.0)
    t2 = np.where(maps["T2"] > 0, maps["T2"], 1.0)
    signal = 2000 * maps["M0"] * np.exp(-te / t2) * (1 - np.exp(-tr / t1))
    attrs = {**common, **_series(number, description)}
    positions = _axial_positions(n_slices, MR_SPACING, MR_THICKNESS)
    orientation = [1, 0, 0, 0, 1, 0]
    if sagittal:
        orientation = [0, 1, 0, 0, 0, -1]
        positions = [[p[2], p[0], -p[1]] for p in positions]
    for index in range(n_slices):
        ds = mr_image(
            _to_uint16(signal[index], rng),
            **attrs,
            InstanceNumber=index + 1,
            ImageOrientationPatient=orientation,
            ImagePositionPatient=positions[index],
            PixelSpacing=[MR_SPACING, MR_SPACING],
            SliceThickness=MR_THICKNESS,
            ScanningSequence="SE",
            SequenceVariant="SK",
            SequenceName="tse2d1_15",
            RepetitionTime=tr,
            EchoTime=te,
            FlipAngle=150.0,
            EchoTrainLength=15,
            SeriesTime="102000",
        )
        write_dataset(ds, folder / f"IM_{index + 1:04d}{extension}")


def _write_vfa(folder: Path, common: dict[str, Any], rng: np.random.Generator) -> None:
    maps = phantom_maps(N_SLICES)
    t1 = np.where(maps["T1"] > 0, maps["T1"], 1.0)
    e = np.exp(-VFA_TR / t1)
    attrs = {**common, **_series(3, "VFA")}
    positions = _axial_positions(N_SLICES, MR_SPACING, MR_THICKNESS)
    for f, angle in enumerate(VFA_FLIP_ANGLES):
        a = np.deg2rad(angle)
        signal = 20000 * maps["M0"] * np.sin(a) * (1 - e) / (1 - np.cos(a) * e)
        for s in range(N_SLICES):
            number = f * N_SLICES + s + 1
            ds = mr_image(
                _to_uint16(signal[s], rng),
                **attrs,
                InstanceNumber=number,
                AcquisitionNumber=f + 1,
                AcquisitionTime=f"1030{10 * f:02d}",
                ContentTime=f"1030{10 * f:02d}",
                ImagePositionPatient=positions[s],
                PixelSpacing=[MR_SPACING, MR_SPACING],
                SliceThickness=MR_THICKNESS,
                ScanningSequence="GR",
                SequenceVariant="SP",
                SequenceName="fl3d1",
                MRAcquisitionType="3D",
                RepetitionTime=VFA_TR,
                EchoTime=2.0,
                FlipAngle=angle,
                SeriesTime="103000",
            )
            write_dataset(ds, folder / f"IM_{number:04d}.dcm")


def _write_ct(folder: Path, common: dict[str, Any], rng: np.random.Generator) -> None:
    n_slices, spacing, thickness = 10, 6.0, 2.5
    hu = np.where(_disc((0, 0), 26), 0.0, -1000.0)
    inserts = ((-11, -11, 700.0), (-11, 11, -100.0), (11, -11, -800.0), (11, 11, 60.0))
    for row, column, value in inserts:
        hu[_disc((row, column), 5)] = value
    attrs = {**common, **_series(1, "CT phantom")}
    positions = _axial_positions(n_slices, spacing, thickness)
    for index in range(n_slices):
        noisy = hu + rng.normal(0.0, 8.0, hu.shape)
        ds = ct_image(
            np.clip(np.rint(noisy), -1024, 3071).astype(np.int16),
            **attrs,
            InstanceNumber=index + 1,
            ImagePositionPatient=positions[index],
            PixelSpacing=[spacing, spacing],
            SliceThickness=thickness,
            SeriesTime="091000",
        )
        write_dataset(ds, folder / f"CT{index + 1:06d}.dcm")


def build_demo(folder: str | Path) -> Path:
    """Write the demo database described in this module into ``folder``.

    Parameters
    ----------
    folder
        A new or empty folder (created with its parents if needed).

    Returns
    -------
    pathlib.Path
        ``folder``, holding 2 patients, 3 studies, 5 series, 48 files.

    Raises
    ------
    FileExistsError
        If ``folder`` exists and is not empty: the demo never mixes with, or
        overwrites, other files.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = build_demo(f"{tmp}/demo")
    ...     print(sum(1 for p in root.rglob("*") if p.is_file()))
    48
    """
    root = Path(folder)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; build the demo into a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240115)

    alpha = _patient("Phantom^Alpha", "DEMO-001", "19800101", "O")
    mr = {**alpha, **_study("MR phantom T1 mapping", "20240115", "MR1", "DEMO0001")}
    mr_folder = root / "Phantom_Alpha" / "MR_20240115"
    _write_localiser(mr_folder / "01_localiser", mr, rng)
    _write_t2w(mr_folder / "02_T2w", mr, 2, rng)
    _write_vfa(mr_folder / "03_VFA", mr, rng)

    ct = {**alpha, **_study("CT phantom", "20240116", "CT1", "DEMO0002")}
    _write_ct(root / "Phantom_Alpha" / "CT_20240116" / "01_CT_phantom", ct, rng)

    beta = _patient("Phantom^Beta", "DEMO-002", "19900202", "O")
    mr2 = {**beta, **_study("MR phantom", "20240220", "MR1", "DEMO0003")}
    _write_t2w(
        root / "Phantom_Beta" / "MR_20240220" / "01_T2w_sag",
        mr2,
        1,
        rng,
        description="T2w sag",
        n_slices=5,
        sagittal=True,
        extension="",
    )
    return root


def t1_map(da: Any, tr: float = VFA_TR) -> Any:
    """T1 (ms) from a variable-flip-angle DataArray with a ``FlipAngle`` dim.

    The linearised spoiled gradient-echo equation (DESPOT1):
    S/sin(a) = E S/tan(a) + M0 (1 - E), with E = exp(-TR/T1); the slope over
    flip angles gives E, hence T1 = -TR / ln E. Plain xarray arithmetic, so
    it stays lazy on dask-backed input. Voxels without a valid slope, or
    whose mean signal is below 5% of the series' maximum (background), are
    NaN. The attrs are those of ``da`` (its series and geometry, from which
    :meth:`~dbdicom.Series.set_xarray` derives the map's headers), and
    ``units``: ``"ms"``.

    Examples
    --------
    >>> vfa = database.series(SeriesDescription="VFA")[0]
    >>> t1 = t1_map(vfa.to_xarray()).compute()
    >>> t1.dims, t1.attrs["units"], t1.attrs["SeriesInstanceUID"] == vfa.SeriesInstanceUID
    (('SliceLocation', 'row', 'column'), 'ms', True)
    >>> truth = phantom_maps()["T1"]
    >>> inside = (truth > 0) & np.isfinite(t1.values)
    >>> bool(np.median(np.abs(t1.values[inside] - truth[inside]) / truth[inside]) < 0.1)
    True
    """
    alpha = np.deg2rad(da.FlipAngle)
    signal = da.astype("float64")
    y = signal / np.sin(alpha)
    x = signal / np.tan(alpha)
    xm, ym = x.mean("FlipAngle"), y.mean("FlipAngle")
    slope = ((x - xm) * (y - ym)).sum("FlipAngle") / ((x - xm) ** 2).sum("FlipAngle")
    mean = signal.mean("FlipAngle")
    inside = mean > 0.05 * mean.max()  # background noise fits no T1
    t1 = -tr / np.log(slope.where((slope > 0) & (slope < 1) & inside))
    t1.name = "T1"
    t1.attrs = {**da.attrs, "units": "ms"}  # a CF attr: not written into the headers
    return t1


def run_demo(folder: str | Path) -> dict[str, Path]:
    """What ``dbdicom demo`` does, printing as it goes: build, browse, compute, write back.

    The demo database is built in ``folder/dicom`` and opened; the VFA series
    is opened as a lazy DataArray, a T1 map is fitted with dask
    (:func:`t1_map`) and written back next to it as a derived series
    ("T1 map") with :meth:`~dbdicom.Series.set_xarray`; the change is saved,
    and the map is exported to NIfTI (``folder/nifti``, needs nibabel) and to
    PNG (``folder/png``, needs matplotlib); an export whose package is missing
    is skipped with a note. The exports go beside the database, not into it:
    a database folder holds DICOM files only.

    Parameters
    ----------
    folder
        A new or empty folder.

    Returns
    -------
    dict of str to pathlib.Path
        Where everything went: ``"dicom"`` (the database folder), then
        ``"nifti"`` and ``"png"`` for the exports that were made.

    Examples
    --------
    >>> import contextlib, io, tempfile
    >>> with contextlib.redirect_stdout(io.StringIO()):
    ...     places = run_demo(tempfile.mkdtemp())
    >>> sorted(p.name for p in places["dicom"].iterdir())[:2]
    ['.dbdicom', 'Phantom_Alpha']
    >>> import dbdicom as db
    >>> demo = db.database(places["dicom"])
    >>> [s.SeriesDescription for s in demo.series(SeriesDescription="T1 map")], demo.unsaved
    (['T1 map'], False)
    """
    root = Path(folder)
    start = time.perf_counter()
    places = {"dicom": build_demo(root / "dicom")}
    print(f"Built a demo database in {places['dicom']}")
    db = database(places["dicom"])
    db.print()
    vfa = db.series(SeriesDescription="VFA")[0]
    print(
        f"\nThe flip-angle series has {len(vfa.instances())} instances at flip angles "
        f"{vfa.FlipAngle} and slice locations {vfa.SliceLocation}."
    )
    da = vfa.to_xarray()
    sizes = ", ".join(f"{k}: {v}" for k, v in da.sizes.items())
    print(f"As a lazy xarray DataArray ({sizes}), nothing read yet.")
    mean = da.mean(["row", "column"]).compute()
    print("Mean signal per slice (rows) and flip angle (columns), computed with dask:")
    print(mean.round(1).to_pandas().to_string())
    t1 = t1_map(da).compute()
    values = t1.values[np.isfinite(t1.values)]
    print(
        f"T1 map fitted voxel by voxel with dask: {values.size} voxels, "
        f"median {np.median(values):.0f} ms, range {values.min():.0f}-{values.max():.0f} ms"
    )

    # DICOM images hold no NaN (background: 0); the attrs of the source array
    # (its series UID, its geometry), kept by t1_map, tell the writer where the
    # headers come from
    written = t1.fillna(0)
    t1_series = vfa.new_sibling(SeriesDescription="T1 map")
    t1_series.set_xarray(written, description="T1 (ms), DESPOT1 fit over the VFA flip angles")
    first = t1_series.instances()[0]
    image_type = "\\".join(first.ImageType[:2])
    error = float(abs(t1_series.to_xarray() - written).max())
    print(
        f"\nWrote the T1 map back as a derived series {t1_series.label()!r}: "
        f"{len(t1_series.instances())} instances, ImageType {image_type}, "
        f"each referencing the {len(first.SourceImageSequence)} VFA images of its slice; "
        f"stored as 16-bit integers with a rescale slope, max error {error:.3f} ms."
    )
    db.print()
    n_new = len(db.changes())
    db.save()
    print(f"Saved the {n_new} new files: the folder has no unsaved changes.")

    try:
        places["nifti"] = t1_series.export_as_nifti(root / "nifti")
        print(f"Exported the T1 map to NIfTI in {places['nifti']}")
    except ImportError as exc:  # nibabel is an extra: dbdicom[nifti]
        print(f"No NIfTI export: {exc}")
    try:
        places["png"] = t1_series.export_as_png(root / "png")
        print(f"Exported the T1 map to PNG in {places['png']}")
    except ImportError as exc:  # matplotlib is an extra: dbdicom[plot]
        print(f"No PNG export: {exc}")

    db.close()
    again = time.perf_counter()
    database(places["dicom"])
    reopen = time.perf_counter() - again
    print(f"\nReopened from the saved index in {reopen * 1000:.1f} ms.")
    print(f"Done in {time.perf_counter() - start:.1f} s. Everything is in {root}:")
    for name, path in places.items():
        print(f"    {name:<6} {path}{_contents(path) if name != 'dicom' else ''}")
    print("Open the database yourself with:")
    print(f"    import dbdicom as db; database = db.database({str(places['dicom'])!r})")
    return places


def _contents(folder: Path) -> str:
    """``"  (a, b)"``: the files in ``folder``, or how many there are and where."""
    files = sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())
    if len(files) <= 3:
        return f"  ({', '.join(files)})"
    places = sorted({str(Path(f).parent) for f in files})
    return f"  ({len(files)} files in {', '.join(places)})"
