"""Run cases of bad files in worker processes, each case under a time and a memory limit.

A *case* is a builder (``module:function`` in ``tests/``, called with a
folder and keyword arguments) that writes bad files and returns
``(Built, Expect)``. The worker writes the valid series next to them, runs
:func:`case_checks.check_folder` and answers with one line of JSON.

Limits, so that a bad file that makes dbdicom hang or allocate what it
claims fails the case instead of stopping the machine:

- **memory**: each worker's address space is capped at :data:`MEMORY_BYTES`
  (``RLIMIT_AS``; about 1.5 GiB above what the imports take). An
  allocation beyond it raises ``MemoryError``, which the checks report as a
  failure, wherever it is caught.
- **time**: ``SIGALRM`` stops a case after its limit (:data:`LIMIT_SECONDS`);
  a worker that does not answer 15 s later (stuck in C code) is killed and
  the case reported as a hang. A worker that dies is reported with the end
  of its standard error, and a new one takes the next case.

Run as a script, this module is the worker: requests on standard input,
answers on standard output.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections import deque
from pathlib import Path
from typing import IO, Any

from bad_files import write_valid_series
from case_checks import CaseTimeout, check_folder

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
MEMORY_BYTES = 2 << 30
LIMIT_SECONDS = 20
_GRACE_SECONDS = 15


def request(case_id: str, builder: str, limit: float = LIMIT_SECONDS, **args: Any) -> dict:
    """A request for the worker: run ``builder`` (``module:function``) with ``args``."""
    return {"id": case_id, "builder": builder, "args": args, "limit": limit}


# ----------------------------------------------------------------------------- parent


class _Worker:
    """One worker process, its answers read by a thread into a queue."""

    def __init__(self, scratch: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS)])
        env["MALLOC_ARENA_MAX"] = "2"  # glibc: 64 MB of address space per thread otherwise
        env["ARROW_DEFAULT_MEMORY_POOL"] = "system"  # pyarrow's pools reserve 1 GB at once
        self.stderr: IO[bytes] = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(scratch)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            cwd=str(TESTS),
        )
        self.answers: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.answers.put(line)
        self.answers.put(None)

    def ask(self, req: dict) -> dict:
        """The answer to ``req``; a failure if the worker hangs or dies (then it is gone)."""
        assert self.proc.stdin is not None
        started = time.monotonic()
        hangs = False
        try:
            self.proc.stdin.write(json.dumps(req).encode() + b"\n")
            self.proc.stdin.flush()
            line = self.answers.get(timeout=req["limit"] + _GRACE_SECONDS)
        except BrokenPipeError:
            line = None
        except queue.Empty:
            line, hangs = None, True
        if line is not None:
            return json.loads(line)
        seconds = time.monotonic() - started
        if hangs:
            why = f"no answer after {seconds:.0f} s: hangs where a signal cannot stop it (killed)"
        else:  # its output ended: it is dying, if not dead yet
            try:
                self.proc.wait(timeout=_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            why = f"the worker died (exit code {self.proc.returncode}): {self._stderr_tail()}"
        self.stop()
        return {"id": req["id"], "failures": [why], "seen": {}, "seconds": seconds}

    def _stderr_tail(self) -> str:
        self.stderr.seek(0, os.SEEK_END)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - 1500))
        return self.stderr.read().decode("utf-8", "replace").strip()[-1500:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.stderr.close()


def run_cases(requests: list[dict], scratch: Path, workers: int = 2) -> dict[str, dict]:
    """Run ``requests`` on ``workers`` worker processes; the answers by case id.

    Each answer holds ``failures`` (a list of messages; empty: the case
    passed), ``seen`` (what the checks saw) and ``seconds``.
    """
    todo = deque(requests)
    answers: dict[str, dict] = {}
    lock = threading.Lock()

    def serve() -> None:
        worker: _Worker | None = None
        while True:
            with lock:
                if not todo:
                    break
                req = todo.popleft()
            if worker is None or worker.proc.poll() is not None:
                worker = _Worker(scratch)
            answer = worker.ask(req)
            if worker.proc.poll() is not None:
                worker = None
            with lock:
                answers[req["id"]] = answer
        if worker is not None:
            worker.stop()

    threads = [threading.Thread(target=serve) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def failures_of(answers: dict[str, dict]) -> dict[str, list[str]]:
    """The failing cases and their failures."""
    return {case: a["failures"] for case, a in answers.items() if a["failures"]}


# ----------------------------------------------------------------------------- worker


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout()


def _valid_series(folder: Path, cache: dict[str, bytes]) -> None:
    """The valid series of every case, written once and then copied as bytes."""
    if not cache:
        made = Path(tempfile.mkdtemp())
        for path in write_valid_series(made):
            cache[path.name] = path.read_bytes()
        shutil.rmtree(made)
    folder.mkdir(parents=True)
    for name, data in cache.items():
        (folder / name).write_bytes(data)


def _run(req: dict, scratch: Path, cache: dict[str, bytes]) -> dict:
    folder = Path(tempfile.mkdtemp(dir=scratch, prefix="case-"))
    started = time.monotonic()
    seen: dict[str, Any] = {}
    signal.setitimer(signal.ITIMER_REAL, req["limit"])
    try:
        module, function = req["builder"].split(":")
        build = getattr(importlib.import_module(module), function)
        _valid_series(folder / "valid", cache)
        built, expect = build(folder / "bad", **req["args"])
        failures, seen = check_folder(folder, built, expect)
    except CaseTimeout:
        failures = [f"over the time limit of {req['limit']} s: hangs"]
    except Exception as exc:  # a failure of the harness or a builder: reported, not fatal
        why = f"{type(exc).__name__}: {exc}"
        failures = [f"the case could not run: {why}\n{traceback.format_exc()}"]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(f"{folder}-source", ignore_errors=True)
    seconds = time.monotonic() - started
    return {"id": req["id"], "failures": failures, "seen": seen, "seconds": seconds}


def main() -> None:
    """The worker: one JSON request a line in, one JSON answer a line out."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    scratch = Path(sys.argv[1])
    answers = os.fdopen(os.dup(1), "w")  # the protocol's own copy of stdout
    os.dup2(2, 1)  # whatever else prints goes to stderr
    sys.stdout = sys.stderr
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGALRM, _alarm)
    cache: dict[str, bytes] = {}
    for line in sys.stdin:
        answer = _run(json.loads(line), scratch, cache)
        answers.write(json.dumps(answer, default=str) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
