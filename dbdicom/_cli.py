"""The ``dbdicom`` command."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

from pydicom.errors import InvalidDicomError

from ._demo import run_demo
from ._errors import DicomError
from ._export import label
from ._files import read_dataset, undecodable_as_bytes
from ._index import file_report
from ._records import Database, database

__all__ = ["main"]

_STRICT = (
    "exit with code 1 if any problem is listed (a file left out, one placed by a rule, "
    "files that disagree...); without it the problems are listed and the exit code is 0"
)


def _demo(args: argparse.Namespace) -> int:
    folder = Path(args.folder) if args.folder else Path(tempfile.mkdtemp(prefix="dbdicom-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        print(f"dbdicom demo: {folder} is not empty; give an empty or new folder.", file=sys.stderr)
        return 2
    run_demo(folder)
    return 0


def _print(args: argparse.Namespace) -> int:
    db = database(args.path)
    db.print()
    return _strict_end(args, db)


def _scan(args: argparse.Namespace) -> int:
    db = database(args.path)
    db.scan()
    db.print()
    return _strict_end(args, db)


def _strict_end(args: argparse.Namespace, db: Database) -> int:
    """The exit code of a tree printed with its problems: 1 under ``--strict`` if it lists any.

    Without ``--strict`` a folder that holds files dbdicom leaves out (a
    ``notes.txt`` beside the images) or places by a rule is listed and
    exits 0: the listing is what was asked for. ``--strict`` makes the
    problems a failure, for scripts that go on only with a clean folder.
    """
    if not args.strict:
        return 0
    problems = db.problems()
    if problems.empty:
        return 0
    files = problems["path"].nunique()
    print(
        f"dbdicom {args.command}: {len(problems)} problem(s) in {files} file(s) (--strict)",
        file=sys.stderr,
    )
    return 1


def _info(args: argparse.Namespace) -> int:
    """The header of one file, after what ``database.problems()`` would say of it.

    The file is read and judged as a scan reads and judges it
    (:func:`~dbdicom._index.file_report`): one that a database leaves out
    (not DICOM, truncated, unreadable) is its problem on standard error and
    exit code 1, with no header of values that may be garbage; the problems
    of one it reads follow its header, on standard error, with exit code 0
    (1 under ``--strict``). pydicom's warnings are among those problems, not
    printed as they come.
    """
    path = Path(args.file)
    if not path.is_file():
        what = "a folder: use 'dbdicom print'" if path.is_dir() else "not found"
        print(f"dbdicom info: {path} is {what}", file=sys.stderr)
        return 1
    report = file_report(path)
    if not report.readable:
        for problem in report.problems:
            print(f"dbdicom info: {path}: {_one_line(problem)}", file=sys.stderr)
        return 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = read_dataset(path, stop_before_pixels=not args.pixels, decode=False)
        except (InvalidDicomError, OSError, EOFError, ValueError) as exc:
            print(f"dbdicom info: {path} cannot be read: {_one_line(str(exc))}", file=sys.stderr)
            return 1
        shown = undecodable_as_bytes(ds)
        meta = getattr(ds, "file_meta", None)
        text = str(ds)
    if meta is not None and "TransferSyntaxUID" in meta:
        ts = meta.TransferSyntaxUID
        print(f"{path}\n  Transfer syntax: {ts} ({ts.name})")
    print(text)
    said = " ".join(report.problems)
    problems = report.problems + [why for why in shown if why.split(":")[0] not in said]
    problems += sorted({f"pydicom: {w.message}" for w in caught} - set(problems))
    if problems:
        print(f"dbdicom info: {len(problems)} problem(s) with {path}:", file=sys.stderr)
        for problem in problems:
            print(f"  {_one_line(problem)}", file=sys.stderr)
    return 1 if problems and args.strict else 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _export(args: argparse.Namespace) -> int:
    if (args.bids or args.identifiers) and args.to != "nifti":
        flag = "--bids" if args.bids else "--identifiers"
        print(f"dbdicom export: {flag} is an option of --to nifti only", file=sys.stderr)
        return 2
    db = database(args.path)
    records = db.series(SeriesDescription=args.series) if args.series else [db]
    if not records:
        names = sorted({str(s.label()) for s in db.series()})
        print(
            f"dbdicom export: no series {args.series!r} in {args.path}; series: {names}",
            file=sys.stderr,
        )
        return 1
    exported, skipped = 0, []
    try:
        for record in records:
            out = Path(args.out)
            if len(records) > 1:  # series of one name in several studies: keep them apart
                study = record.parent
                out = out / f"{label(study.parent)}" / f"{label(study)}"
            method = getattr(record, f"export_as_{args.to}")
            options = {"bids": True} if args.bids else {}
            if args.identifiers:
                options["identifiers"] = True
            try:
                result = method(out, **options)
            except DicomError as exc:  # --series: this series cannot be; the others may
                if len(records) == 1:
                    raise
                skipped.append(f"{record.label()!r}: {' '.join(str(exc).split())}")
                continue
            exported += getattr(result, "exported", 1)
            skipped += [f"{s.folder}: {s.reason}" for s in getattr(result, "skipped", ())]
    except (OSError, ImportError) as exc:  # e.g. a read-only or full disk
        print(f"dbdicom export: {exc}", file=sys.stderr)
        return 1
    if skipped:
        print(f"dbdicom export: {len(skipped)} series skipped:", file=sys.stderr)
        for line in skipped:
            print(f"  {line}", file=sys.stderr)
    if not exported:
        print(f"dbdicom export: nothing could be exported as {args.to}", file=sys.stderr)
        return 1
    print(f"Exported {args.to} to {args.out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbdicom",
        description="Open folders of DICOM files as databases.",
        epilog="Exit codes: 0 done; 1 an error (one line on standard error), or problems "
        "listed under --strict; 2 a wrong command line.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="build a demo database and show what dbdicom does with it")
    p.add_argument("folder", nargs="?", help="where to build it (default: a new temporary folder)")
    p.set_defaults(func=_demo)
    p = sub.add_parser("print", help="print the patients > studies > series of a folder")
    p.add_argument("path", help="a folder of DICOM files")
    p.add_argument("--strict", action="store_true", help=_STRICT)
    p.set_defaults(func=_print)
    p = sub.add_parser("scan", help="read every file of a folder again, then print it")
    p.add_argument("path", help="a folder of DICOM files")
    p.add_argument("--strict", action="store_true", help=_STRICT)
    p.set_defaults(func=_scan)
    p = sub.add_parser("export", help="export a folder (or some series) to another format")
    p.add_argument("path", help="a folder of DICOM files")
    p.add_argument(
        "--to",
        required=True,
        choices=["dicom", "csv", "npy", "nifti", "png", "zarr"],
        help="the format",
    )
    p.add_argument("--out", required=True, help="the folder to export into")
    p.add_argument("--series", help="only the series with this SeriesDescription")
    p.add_argument(
        "--bids",
        action="store_true",
        help="NIfTI: write a BIDS dataset (sub-*/ses-*/anat|func|dwi/...) and leave out "
        "series BIDS has no place for",
    )
    p.add_argument(
        "--identifiers",
        action="store_true",
        help="NIfTI: put patient names, IDs, UIDs and dates in the sidecars (left out by default)",
    )
    p.set_defaults(func=_export)
    p = sub.add_parser("info", help="print the header of one DICOM file")
    p.add_argument("file", help="a DICOM file")
    p.add_argument("--pixels", action="store_true", help="also read the pixel data element")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit with code 1 if a file that is read has problems too (a file that cannot "
        "be read always gives 1)",
    )
    p.set_defaults(func=_info)
    return parser


def _quiet_stdout() -> None:
    """Standard output to the null device: Python's flush at exit would fail on the pipe again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (captured): nothing to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dbdicom`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader left (dbdicom info FILE | head): no message
        _quiet_stdout()
        return 1
    except (DicomError, OSError) as exc:  # one line, no traceback
        print(f"dbdicom {args.command}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
