"""Seeded byte-level fuzz of real files: whatever the bytes, one file never stops a folder.

Each mutation of a file shipped with pydicom or pydicom-data (``fuzz.py``:
random bytes, big or odd lengths, bytes inserted or deleted, elements
duplicated, runs zeroed, truncation) is written into its own folder next
to a valid series and checked as the corpus is (``case_checks``): the
folder opens, the file is in the tree or in ``problems()`` with a reason,
every series reads or raises a ``dbdicom.DicomError``, the valid series
reads its values, each case within its time and memory limits. 256
mutations run by default, 1,024 more with ``-m slow``. A failure names the
seed, the source file and the mutation; ``python tests/run_case.py fuzz
SEED`` runs it again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from case_runner import failures_of, run_cases
from corpus_base import shipped_bytes
from fuzz import DEFAULT_SEEDS, SLOW_SEEDS, SOURCES, element_headers, fuzz_request, mutation


def _report(seeds: range, scratch: Path) -> str:
    """The failures of the mutations ``seeds``, each with how to make it again; "" if none."""
    answers = run_cases([fuzz_request(seed) for seed in seeds], scratch)
    assert len(answers) == len(seeds)
    lines = []
    for case, failures in sorted(failures_of(answers).items(), key=lambda f: int(f[0][5:])):
        seed = int(case.removeprefix("fuzz-"))
        lines.append(f"{mutation(seed).describe()}  (python tests/run_case.py fuzz {seed})")
        lines.extend(f"    {failure}" for failure in failures)
    if lines:
        lines.insert(0, f"{len(failures_of(answers))} of {len(seeds)} mutations failed:")
    return "\n".join(lines)


def test_mutations(tmp_path: Path) -> None:
    report = _report(DEFAULT_SEEDS, tmp_path)
    assert not report, report


@pytest.mark.slow
def test_more_mutations(tmp_path: Path) -> None:
    report = _report(SLOW_SEEDS, tmp_path)
    assert not report, report


def test_mutations_are_made_again_from_their_seed() -> None:
    """The same seed, the same file: a failure can be reproduced."""
    for seed in (0, 7, 255, 1000):
        assert mutation(seed) == mutation(seed)
        assert mutation(seed).data != shipped_bytes(mutation(seed).source)
    distinct = {mutation(seed).data for seed in DEFAULT_SEEDS}
    assert len(distinct) >= 0.95 * len(DEFAULT_SEEDS)  # two may strike alike, not many
    assert len(DEFAULT_SEEDS) + len(SLOW_SEEDS) >= 500


def test_every_source_is_mutated_and_walked() -> None:
    """Each source is used, and its element lengths are found (but for deflate and no meta)."""
    used = {mutation(seed).source for seed in DEFAULT_SEEDS}
    assert used == set(SOURCES)
    for name in SOURCES:
        found = element_headers(shipped_bytes(name))
        assert len(found) >= (1 if name in ("image_dfl.dcm", "no_meta.dcm") else 20), name
