"""(review) Keys that URL quoting may change: the presigned GET must still be accepted."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from servers import SeaweedFS
from test_remote_ranges import _counted, _fs

from dbdicom._files import _ranges as ranges
from dbdicom._files._ranges import cat_ranges

pytest.importorskip("s3fs")


@pytest.mark.parametrize(
    "name",
    ["a b.dcm", "a+b.dcm", "a~b.dcm", "é.dcm", "a%2Fb.dcm", "a=b&c.dcm", "a:b@c!$'()*,;.dcm"],
)
def test_keys_with_characters_quoted_or_not(seaweedfs: SeaweedFS, name: str) -> None:
    fs = _fs(seaweedfs.options)
    bucket = "dbdicom-ranges"
    if not fs.exists(bucket):
        fs.mkdir(bucket)
    path = f"{bucket}/{uuid.uuid4().hex[:8]}/{name}"
    fs.pipe_file(path, b"0123456789")
    with _counted(fs) as by_s3fs:
        got = cat_ranges(fs, [path], [2], [6])
    assert got == [b"2345"]
    assert by_s3fs == [], "the presigned GET was refused: s3fs read it"
    fetcher: Any = ranges._fetcher(fs)
    assert not fetcher.off
