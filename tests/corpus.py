"""The corpus of bad files: every kind, by name, and the builder the case runner calls.

The kinds are declared in ``corpus_header.py`` (cuts, lengths, VR codes),
``corpus_meta.py`` (the meta group, transfer syntaxes, nesting, tags, names)
and ``corpus_pixels.py`` (pixel descriptions, claims, RLE, JPEG, encapsulation,
Deflate, Big Endian), each with what the user must see. ``docs/bad-files.md``
is the table of them all.

Also *self-test* kinds, which are not bad files but bad cases: one that
hangs, one that allocates 8 GB, one whose worker dies, one that expects
values it cannot read, one that expects a listing it does not get.
``test_corpus.py`` checks that the harness fails each of them.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import corpus_header
import corpus_meta
import corpus_pixels
import numpy as np
from case_runner import LIMIT_SECONDS, request
from corpus_base import Built, Expect, Kind, Registry, expected_template, template, write

_MODULES = (corpus_header, corpus_meta, corpus_pixels)
KINDS: dict[str, Kind] = {name: k for m in _MODULES for name, k in m.kind.kinds.items()}
if len(KINDS) != sum(len(m.kind.kinds) for m in _MODULES):
    raise ValueError("a kind's name is declared twice")

selftest = Registry()


def case_request(name: str) -> dict:
    """The harness's request to run the kind ``name``, under its own time limit if it has one."""
    kind = KINDS.get(name) or selftest.kinds[name]
    limit = LIMIT_SECONDS if kind.seconds is None else kind.seconds
    return request(name, "corpus:build_case", limit=limit, name=name)


def build_case(folder: Path, name: str) -> tuple[Built, Expect]:
    """Write the bad file(s) of the kind ``name`` into ``folder``; and what must happen."""
    kind = KINDS.get(name) or selftest.kinds[name]
    folder.mkdir(parents=True, exist_ok=True)
    return kind.build(folder), kind.expect


@selftest(listed=None, tree="in", read="values")
def selftest_hangs(folder: Path) -> Built:
    """A case that never ends: the harness must stop it and report a hang."""
    while True:
        time.sleep(0.05)


@selftest(listed=None, tree="in", read="values")
def selftest_allocates(folder: Path) -> Built:
    """A case that allocates 8 GB: the memory limit must stop it."""
    big = np.ones(1 << 30, np.float64)
    return Built((write(folder, "bad.dcm", template(folder)),), big[:1])


@selftest(listed=None, tree="in", read="values")
def selftest_dies(folder: Path) -> Built:
    """A case whose process dies (as in a crash of C code): the harness must say so, and go on."""
    print("dying on purpose", file=sys.stderr, flush=True)
    os._exit(70)


@selftest(listed=None, tree="in", read="values")
def selftest_wrong_values(folder: Path) -> Built:
    """A valid file whose expected values are off by one: the check must see it."""
    return Built((write(folder, "bad.dcm", template(folder)),), expected_template() + 1)


@selftest(listed=True, tree="in", read="values")
def selftest_unlisted(folder: Path) -> Built:
    """A valid file said to be listed: the check must see that it is not."""
    return Built((write(folder, "bad.dcm", template(folder)),), expected_template())
