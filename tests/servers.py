"""What the tests that start a server do when it cannot start."""

from __future__ import annotations

import os

import pytest


def missing_server(what: str, install: str, why: object) -> None:
    """Skip a test whose server cannot start, saying how to install it.

    With ``DBDICOM_REQUIRE_SERVERS=1`` (set by ``.ci/run``) the test fails
    instead: there a missing server is a broken run, not a user's machine.
    """
    text = f"{what} cannot start ({why}): install it with {install}"
    if os.environ.get("DBDICOM_REQUIRE_SERVERS") == "1":
        pytest.fail(text + " (DBDICOM_REQUIRE_SERVERS=1: servers are required)")
    pytest.skip(text)
