"""The folder's news: how the writer tells other processes what it changed (dbdicom._index._news).

The processes here are FolderNews objects on one real file; the two-process
case is in test_crash.py (``test_a_reader_sees_the_writers_changes_before_it_answers``).
"""

from __future__ import annotations

import os
from pathlib import Path

from dbdicom._index._news import LIMIT, FolderNews


def test_a_reader_gets_every_path_told_since_it_last_asked_once(tmp_path: Path) -> None:
    writer, reader = FolderNews(tmp_path), FolderNews(tmp_path)
    assert writer.tell(["a/1"]) and writer.tell(["b/2", "b/3"])
    news = reader.read()
    assert news is not None and (news.paths, news.whole) == (["a/1", "b/2", "b/3"], False)
    assert reader.read() is None and writer.read() is None
    late = FolderNews(tmp_path)  # opened after: what was told before is in its index already
    writer.tell(["c/4"])
    for one in (reader, late):
        news = one.read()
        assert news is not None and (news.paths, news.whole) == (["c/4"], False)


def test_a_file_started_anew_tells_readers_to_compare_the_whole_folder(tmp_path: Path) -> None:
    writer, reader, kept_up = FolderNews(tmp_path), FolderNews(tmp_path), FolderNews(tmp_path)
    long = "x" * 1000
    writer.tell([long])
    told = 1
    while os.path.getsize(writer.path) + 1100 <= LIMIT:
        writer.tell([long])
        told += 1
    news = kept_up.read()
    assert news is not None and len(news.paths) == told and not news.whole
    inode = os.stat(writer.path).st_ino
    last = "last" + long
    before, after = writer.tell([last])  # past the limit: a new file, a new generation
    assert os.stat(writer.path).st_ino != inode and os.path.getsize(writer.path) < 1100
    news = reader.read()  # it had not read the old file's lines: compares the whole folder
    assert news is not None and news.whole and news.paths == [last]
    news = kept_up.read()
    assert news is not None and news.whole  # whether it read them is not known: the same
    assert writer.read() is None  # the writer knows its own
    third = FolderNews(tmp_path)
    third.seen = before  # a view of the writer's process that had read everything
    third.skip(before, after)
    writer.tell(["next"])
    news = third.read()
    assert news is not None and (news.paths, news.whole) == (["next"], False)


def test_a_torn_line_tells_readers_to_compare_the_whole_folder(tmp_path: Path) -> None:
    writer, reader = FolderNews(tmp_path), FolderNews(tmp_path)
    writer.tell(["a"])
    with open(writer.path, "ab") as f:  # a writer killed while appending
        f.write(b'["b", "c')
    news = reader.read()
    assert news is not None and (news.paths, news.whole) == (["a"], False)  # whole lines only
    writer.tell(["d"])  # the next writer's line follows the torn one
    news = reader.read()
    assert news is not None and news.whole


def test_a_removed_hidden_folder_tells_readers_to_compare_the_whole_folder(
    tmp_path: Path,
) -> None:
    writer, reader = FolderNews(tmp_path), FolderNews(tmp_path)
    writer.tell(["a"])
    assert reader.read() is not None
    os.remove(writer.path)
    news = reader.read()
    assert news is not None and news.whole and not news.paths
    assert reader.read() is None
