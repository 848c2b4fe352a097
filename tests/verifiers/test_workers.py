"""The process-isolated runner: input order, hard per-item timeouts, crashes, init failures, cleanup."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from verifiers.scripted import ScriptedVerifier
from verifiers.workers import WorkerInitError, WorkerRunner

ITEM = {"answer": "42"}


@pytest.fixture(scope="module")
def runner():
    with WorkerRunner(ScriptedVerifier(), workers=2, timeout=1.0, chunk_size=8) as r:
        yield r


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_verdicts_come_back_in_input_order(runner):
    answers = [str(i % 7) for i in range(300)]
    completions = [a if i % 3 else "wrong" for i, a in enumerate(answers)]
    verdicts = runner.run([{"answer": a} for a in answers], completions)
    assert [v.status for v in verdicts] == ["incorrect" if i % 3 == 0 else "correct" for i in range(300)]
    assert [v.score for v in verdicts[:3]] == [0.0, 1.0, 1.0]


def test_empty_batch_and_length_mismatch(runner):
    assert runner.run([], []) == []
    with pytest.raises(ValueError, match="2 items but 1 completions"):
        runner.run([ITEM, ITEM], ["42"])


def test_hung_item_times_out_and_the_rest_still_run(runner):
    before = runner.restarts
    verdicts = runner.run([ITEM] * 5, ["42", "spin", "41", "spin", "42"])
    assert [v.status for v in verdicts] == ["correct", "timeout", "incorrect", "timeout", "correct"]
    hung = verdicts[1]
    assert hung.score is None and hung.masked and "1s" in hung.reason and "killed" in hung.reason
    assert runner.restarts - before == 2


def test_timeout_is_per_item_not_per_chunk():
    # Four 0.4 s items share one worker (1.6 s in all) under a 1 s per-item limit: none may time out.
    with WorkerRunner(ScriptedVerifier(), workers=1, timeout=1.0) as r:
        verdicts = r.run([ITEM] * 4, ["sleep:0.4"] * 4)
    assert [v.status for v in verdicts] == ["correct"] * 4


def test_crashed_worker_gives_error_not_incorrect(runner):
    verdicts = runner.run([ITEM] * 4, ["exit:3", "42", "segv", "42"])
    assert [v.status for v in verdicts] == ["error", "correct", "error", "correct"]
    assert "exited with code 3" in verdicts[0].reason and verdicts[0].score is None
    assert "SIGSEGV" in verdicts[2].reason


def test_exceptions_and_bad_inputs_become_error_verdicts(runner):
    verdicts = runner.run([ITEM, {}, ITEM], ["raise", "42", None])
    assert [v.status for v in verdicts] == ["error", "error", "error"]
    assert "RuntimeError" in verdicts[0].reason and "KeyError" in verdicts[1].reason
    assert "must be a string" in verdicts[2].reason


def test_killed_worker_processes_are_gone(runner):
    pids = [w.proc.pid for w in runner._workers]
    runner.run([ITEM], ["spin"])
    assert sum(alive(p) for p in pids) == 1  # the one that hung was SIGKILLed and reaped


def test_memory_limit_turns_a_huge_allocation_into_an_error():
    with WorkerRunner(ScriptedVerifier(), timeout=5, max_memory_mb=1024) as r:
        small, huge = r.run([ITEM, ITEM], ["alloc:16", "alloc:4096"])
    assert small.status == "correct"
    assert huge.status == "error" and "MemoryError" in huge.reason


def test_close_stops_every_worker():
    r = WorkerRunner(ScriptedVerifier(), workers=2)
    pids = [w.proc.pid for w in r._workers]
    r.close()
    assert not any(alive(p) for p in pids)
    with pytest.raises(RuntimeError, match="closed"):
        r.run([ITEM], ["42"])


def test_a_verifier_that_cannot_be_built_in_the_worker_fails_loudly(tmp_path: Path, monkeypatch):
    (tmp_path / "urlvr_broken_verifier.py").write_text(
        "from verifiers.scripted import ScriptedVerifier\n"
        "class Broken(ScriptedVerifier):\n"
        "    name = 'broken'\n"
        "    def __setstate__(self, state):  # runs in the worker only\n"
        "        raise ImportError('optional dependency frobnicate is not installed')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from urlvr_broken_verifier import Broken

    start = time.monotonic()
    with pytest.raises(WorkerInitError, match="'broken' could not be built.*ImportError: optional dependency frobnicate"):
        WorkerRunner(Broken(), timeout=1)
    assert time.monotonic() - start < 30


def test_an_interrupted_run_leaves_no_stale_results_for_the_next(monkeypatch):
    import verifiers.workers as workers

    with WorkerRunner(ScriptedVerifier(), workers=2, timeout=5) as r:
        original = workers._Run.drain

        def interrupted(self, i, w):  # stands in for Ctrl-C arriving mid-run
            monkeypatch.setattr(workers._Run, "drain", original)
            raise KeyboardInterrupt

        monkeypatch.setattr(workers._Run, "drain", interrupted)
        with pytest.raises(KeyboardInterrupt):
            r.run([ITEM] * 50, ["sleep:0.01"] * 50)
        verdicts = r.run([{"answer": str(i)} for i in range(20)], [str(i) for i in range(20)])
    assert [v.status for v in verdicts] == ["correct"] * 20


def test_an_unpicklable_item_gets_an_error_and_the_rest_are_verified(runner):
    verdicts = runner.run([ITEM, {"answer": lambda: 42}, ITEM], ["42", "42", "0"])
    assert [v.status for v in verdicts] == ["correct", "error", "incorrect"]
    assert "cannot be pickled" in verdicts[1].reason
    assert [v.status for v in runner.run([{"answer": lambda: 1}] * 3, ["1"] * 3)] == ["error"] * 3
