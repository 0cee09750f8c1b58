"""The saved index: any values round-trip, nothing executable is ever loaded."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
from hypothesis import given, settings
from hypothesis import strategies as st

from dbdicom._index import UNREAD
from dbdicom._index._store import load_frame, save_frame

scalars = st.one_of(
    st.none(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.binary(max_size=16),
)
values = st.one_of(scalars, st.tuples(scalars, scalars), st.tuples(scalars, scalars, scalars))


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.one_of(values, st.just(UNREAD)), min_size=1, max_size=12))
def test_on_demand_values_round_trip(tmp_path_factory: object, cells: list[object]) -> None:
    folder = Path(tmp_path_factory.mktemp("store"))  # type: ignore[attr-defined]
    frame = pd.DataFrame(
        {
            "_path": pd.array([f"f{i}" for i in range(len(cells))], dtype="str"),
            "Rows": np.arange(len(cells), dtype=float),
            "PatientPosition": pd.Series(cells, dtype=object),
        }
    )
    save_frame(frame, folder / "index.arrow")
    loaded = load_frame(folder / "index.arrow")
    assert loaded is not None
    back, info = loaded
    assert info["json_columns"] == ["PatientPosition"]
    assert list(back["_path"]) == list(frame["_path"])
    for a, b in zip(back["PatientPosition"], cells, strict=True):
        assert a is UNREAD if b is UNREAD else a == b


def test_unreadable_or_foreign_files_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "index.arrow"
    assert load_frame(path) is None  # absent
    path.write_bytes(b"garbage")
    assert load_frame(path) is None  # damaged
    # an Arrow file of another format version
    feather.write_feather(pa.table({"a": [1]}), str(path))
    assert load_frame(path) is None
    # a pickle is never loaded, whatever it holds
    path.write_bytes(pickle.dumps(pd.DataFrame({"a": [1]})))
    assert load_frame(path) is None


def test_save_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "index.arrow"
    save_frame(pd.DataFrame({"a": [1.0]}), path)
    save_frame(pd.DataFrame({"a": [2.0]}), path)
    assert [p.name for p in tmp_path.iterdir()] == ["index.arrow"]  # no temporary left
    loaded = load_frame(path)
    assert loaded is not None and loaded[0]["a"].tolist() == [2.0]


def test_save_works_at_interpreter_exit(tmp_path: Path) -> None:
    """Indexes are written at exit; pyarrow must not need a thread pool then.

    (Large frames made pyarrow convert columns in a thread pool, which the
    interpreter refuses to start once it is shutting down.)
    """
    import subprocess
    import sys

    path = tmp_path / "index.arrow"
    code = (
        "import atexit, numpy as np, pandas as pd\n"
        "from pathlib import Path\n"
        "from dbdicom._index._store import save_frame\n"
        "frame = pd.DataFrame({'a': np.arange(20000.0), 'b': np.arange(20000.0)})\n"
        f"atexit.register(save_frame, frame, Path({str(path)!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in out.stderr, out.stderr
    loaded = load_frame(path)
    assert loaded is not None and len(loaded[0]) == 20000


def test_an_index_of_an_older_format_is_rebuilt_not_loaded(tmp_path: Path, monkeypatch) -> None:
    """Format 1 indexes may hold positions read from private sequences of enhanced
    files: they are not loaded, so the folder is read again."""
    from dbdicom._index import _store

    frame = pd.DataFrame({"a": [1, 2]})
    monkeypatch.setattr(_store, "FORMAT", 2)
    save_frame(frame, tmp_path / "old.arrow")
    # 7: per-frame values of the first item of several (ReferencedImageSequence)
    monkeypatch.setattr(_store, "FORMAT", 7)
    save_frame(frame, tmp_path / "seven.arrow")
    # 8: a NaN rescale read as a number, an image without PixelRepresentation read
    monkeypatch.setattr(_store, "FORMAT", 8)
    save_frame(frame, tmp_path / "eight.arrow")
    # 9: a second Pixel Data read, native colour without PlanarConfiguration read as 0
    monkeypatch.setattr(_store, "FORMAT", 9)
    save_frame(frame, tmp_path / "nine.arrow")
    # 10: copies of an instance keyed <uid>#2... in path order
    monkeypatch.setattr(_store, "FORMAT", 10)
    save_frame(frame, tmp_path / "ten.arrow")
    monkeypatch.undo()
    assert _store.FORMAT == 11
    assert load_frame(tmp_path / "ten.arrow") is None
    assert load_frame(tmp_path / "nine.arrow") is None
    assert load_frame(tmp_path / "eight.arrow") is None
    assert load_frame(tmp_path / "old.arrow") is None
    assert load_frame(tmp_path / "seven.arrow") is None
    save_frame(frame, tmp_path / "new.arrow")
    loaded = load_frame(tmp_path / "new.arrow")
    assert loaded is not None and loaded[0]["a"].tolist() == [1, 2]


def test_a_loaded_index_is_the_saved_frame_and_outlives_its_file(tmp_path: Path) -> None:
    """Loading gives the frame that was saved (types too), even once the file is replaced."""
    frame = pd.DataFrame(
        {
            "_path": pd.array(["a", "b", "c"], dtype="str"),
            "_size": np.array([1, 2, 3], dtype=np.int64),
            "_encapsulated": [True, False, True],
            "Rows": [64.0, np.nan, 32.0],
            "TriggerTime": [np.nan, np.nan, np.nan],
            "Modality": pd.Series(["MR", None, "CT"]).astype("category"),
            "SOPInstanceUID": pd.array(["1.2", None, "1.3"], dtype="str"),
        }
    )
    path = tmp_path / "index.arrow"
    save_frame(frame, path)
    loaded = load_frame(path)
    assert loaded is not None
    back, info = loaded
    pd.testing.assert_frame_equal(back, frame)
    assert info["empty_columns"] == ["TriggerTime"]
    save_frame(frame.iloc[::-1].reset_index(drop=True), path)  # replaced while in use
    path.unlink()
    pd.testing.assert_frame_equal(back, frame)


def test_repeated_on_demand_values_are_decoded_alike(tmp_path: Path) -> None:
    """Rows with the same saved text get the same value (each text is decoded once)."""
    cells: list[object] = [1.5, (1.0, 2.0), UNREAD, b"\x00\x01", "HFS", (1.0, 2.0), 1.5, None]
    cells = cells * 50
    frame = pd.DataFrame(
        {
            "_path": pd.array([f"f{i:04d}" for i in range(len(cells))], dtype="str"),
            "PatientPosition": pd.Series(cells, dtype=object),
        }
    )
    save_frame(frame, tmp_path / "index.arrow")
    loaded = load_frame(tmp_path / "index.arrow")
    assert loaded is not None
    back = loaded[0]["PatientPosition"].tolist()
    assert len(back) == len(cells)
    for a, b in zip(back, cells, strict=True):
        assert a is UNREAD if b is UNREAD else (a == b and type(a) is type(b))
