"""Real-world bad files: one bad file never stops a folder, and no result is silently wrong.

Every kind of ``corpus.KINDS`` (cut files, bad lengths, VR codes, meta groups,
lying transfer syntaxes, Big Endian, Deflate and its bomb, deep nesting,
impossible pixel descriptions, claims larger than the file, corrupt RLE,
JPEG and JPEG 2000 data, broken encapsulation, duplicated tags, bad names)
is written into its own folder next to a valid series, and the folder is
checked (``case_checks.check_folder``): it opens; the bad file is in the
tree or in ``problems()`` with a reason, as its kind says; every series
reads the right values or raises a ``dbdicom.DicomError``; the valid series
reads. Each case runs in a worker process under a time limit and a memory
limit (``case_runner``), so that a hang or an allocation of what a header
claims fails the case rather than the machine. ``docs/bad-files.md`` is
the table of what the user sees for each kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from case_runner import LIMIT_SECONDS, MEMORY_BYTES, run_cases
from case_runner import request as case_request
from corpus import KINDS, selftest
from corpus import case_request as corpus_case


@pytest.fixture(scope="module")
def answers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict]:
    """Every kind the session runs, run once (in parallel workers): its answer by name."""
    names = [
        item.callspec.params["name"]
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_kind"
    ]
    scratch = tmp_path_factory.mktemp("corpus")
    return run_cases([corpus_case(name) for name in names], scratch)


def test_the_corpus_has_60_kinds_or_more() -> None:
    assert len(KINDS) >= 60
    assert all(kind.doc for kind in KINDS.values())


@pytest.mark.parametrize("name", list(KINDS))
def test_kind(answers: dict[str, dict], name: str) -> None:
    answer = answers[name]
    kind = KINDS[name]
    report = "\n  ".join(answer["failures"])
    assert not answer["failures"], (
        f"{name}: {kind.doc}\nexpected: {kind.expect.describe()}\nfailures:\n  {report}\n"
        f"seen: {answer['seen']}\n(rerun it alone: python tests/run_case.py corpus {name})"
    )


def test_the_harness_fails_bad_cases(tmp_path: Path) -> None:
    """A hang, an allocation of 8 GB, a crash, wrong values, a missing listing: each fails."""
    requests = [
        case_request(
            name, "corpus:build_case", limit=2 if name == "selftest_hangs" else 30, name=name
        )
        for name in selftest.kinds
    ]
    answers = run_cases(requests, tmp_path)
    assert answers["selftest_hangs"]["failures"] == ["over the time limit of 2 s: hangs"]
    assert "MemoryError" in answers["selftest_allocates"]["failures"][0]
    (wrong,) = answers["selftest_wrong_values"]["failures"]
    assert "reads wrong values" in wrong
    assert answers["selftest_unlisted"]["failures"] == ["bad/bad.dcm: not in problems()"]
    (died,) = answers["selftest_dies"]["failures"]
    assert died.startswith("the worker died (exit code 70)") and "dying on purpose" in died


def test_the_limits_are_those_stated() -> None:
    """The bound documented in docs/bad-files.md."""
    assert MEMORY_BYTES == 2 << 30 and LIMIT_SECONDS == 20
