"""Run cases of the corpus or the fuzz by hand, and print what happened.

::

    python tests/run_case.py corpus                 # every kind
    python tests/run_case.py corpus deflate_bomb    # one kind (or several)
    python tests/run_case.py fuzz 1234              # one mutation, by its seed
    python tests/run_case.py --json out.json corpus # the answers as JSON too

Each case runs in a worker process under the limits of ``case_runner``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from case_runner import request, run_cases
from corpus import KINDS, selftest


def _requests(what: str, names: list[str]) -> list[dict]:
    if what == "corpus":
        chosen = names or list(KINDS)
        unknown = [n for n in chosen if n not in KINDS and n not in selftest.kinds]
        if unknown:
            raise SystemExit(f"no such kinds: {unknown}")
        return [request(n, "corpus:build_case", name=n) for n in chosen]
    from fuzz import fuzz_request

    return [fuzz_request(int(seed)) for seed in names]


def main() -> None:
    """Run the cases named on the command line; print each one's failures and what was seen."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["corpus", "fuzz"])
    parser.add_argument("names", nargs="*", help="kinds, or fuzz seeds")
    parser.add_argument("--json", help="also write the answers to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        answers = run_cases(_requests(args.what, args.names), Path(scratch))
    failed = 0
    for case, answer in answers.items():
        status = "FAIL" if answer["failures"] else "ok"
        failed += bool(answer["failures"])
        print(f"{status:4} {case} ({answer['seconds']:.2f} s)")
        for failure in answer["failures"]:
            print(f"     - {failure}")
        for key, value in answer["seen"].items():
            print(f"     {key}: {value}")
    print(f"{failed} of {len(answers)} failed")
    if args.json:
        Path(args.json).write_text(json.dumps(answers, indent=1, default=str))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
