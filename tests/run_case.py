"""Run cases of the corpus or the fuzz by hand, and print what happened.

::

    python tests/run_case.py corpus                 # every kind
    python tests/run_case.py corpus deflate_bomb    # one kind (or several)
    python tests/run_case.py fuzz 1234              # one mutation, by its seed
    python tests/run_case.py --json out.json corpus # the answers as JSON too
    python tests/run_case.py --markdown corpus      # the table of docs/bad-files.md

Each case runs in a worker process under the limits of ``case_runner``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from case_runner import run_cases
from corpus import KINDS, selftest
from corpus import case_request as corpus_case
from fuzz import fuzz_request


def _requests(what: str, names: list[str]) -> list[dict]:
    if what == "corpus":
        chosen = names or list(KINDS)
        unknown = [n for n in chosen if n not in KINDS and n not in selftest.kinds]
        if unknown:
            raise SystemExit(f"no such kinds: {unknown}")
        return [corpus_case(n) for n in chosen]
    return [fuzz_request(int(seed)) for seed in names]


def main() -> None:
    """Run the cases named on the command line; print each one's failures and what was seen."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["corpus", "fuzz"])
    parser.add_argument("names", nargs="*", help="kinds, or fuzz seeds")
    parser.add_argument("--json", help="also write the answers to this file")
    parser.add_argument("--markdown", action="store_true", help="print the table of the kinds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        answers = run_cases(_requests(args.what, args.names), Path(scratch))
    if args.markdown:
        print(markdown(answers))
        return
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


def _cell(text: str, limit: int = 150) -> str:
    """``text`` fit for a table cell: no paths, UIDs or pipes, at most ``limit`` characters."""
    text = re.sub(r"/\S*/bad/", "", text)
    text = re.sub(r"\d+(\.\d+){6,}", "UID", text)
    text = " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace("*", "\\*")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown(answers: dict[str, dict]) -> str:
    """The table of every kind: what it is, what must happen, what the user sees today."""
    rows = [
        "| kind | the file | must | `problems()` says | its series | today |",
        "|---|---|---|---|---|---|",
    ]
    for name, kind in KINDS.items():
        answer = answers.get(name)
        if answer is None:
            continue
        seen = answer["seen"]
        reasons = [r for why in seen.get("reasons", {}).values() for r in why]
        said = "; ".join(_cell(r, 110) for r in reasons[:2]) or "—"
        if len(reasons) > 2:
            said += f" (+{len(reasons) - 2} more)"
        inside = all(seen.get("in_tree", {}).values())
        reads = list(seen.get("reads", {}).values())
        series = _cell(reads[0], 110) if reads else ("—" if inside else "left out of the tree")
        status = (
            "passes"
            if not answer["failures"]
            else "**fails**: " + _cell(answer["failures"][0], 120)
        )
        rows.append(
            f"| `{name}` | {_cell(kind.doc)} | {kind.expect.describe()} | {said} | {series} "
            f"| {status} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
