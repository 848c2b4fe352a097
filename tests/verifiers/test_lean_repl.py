"""The REPL pool's mechanics, run against a STAND-IN REPL (tests/verifiers/lean_standin_repl.py).

The stand-in speaks the Lean REPL's JSON protocol and answers from markers in the text; it checks no proof.
These tests check the plumbing only: header reuse, restarts (uses, memory, timeout, crash), the hard deadline
at the process boundary, and how each fault becomes a verdict. Real proofs are checked in test_lean_integration.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from verifiers.lean import LeanVerifier
from verifiers.pool import make_pool

STANDIN = str(Path(__file__).with_name("lean_standin_repl.py"))
ITEM = {"formal_statement": "theorem t (n : Nat) : n + 0 = n := by sorry", "header": ""}


def proof(marker: str = "") -> str:
    return f"```lean\ntheorem t (n : Nat) : n + 0 = n := by\n  omega -- {marker}\n```"


def standin(tmp_path: Path, *args: str, **options) -> tuple[LeanVerifier, Path]:
    log = tmp_path / "standin.log"
    command = [sys.executable, STANDIN, "--log", str(log), "--state", str(tmp_path / "crashed-once"), *args]
    options.setdefault("sandbox", False)  # the plumbing tests read the stand-in's log on the host
    options.setdefault("proof_timeout", 30.0)
    options.setdefault("header_timeout", 30.0)
    return LeanVerifier({"repl_command": command, **options}), log


def commands(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_header_is_elaborated_once_and_its_env_reused(tmp_path):
    verifier, log = standin(tmp_path)
    try:
        verdicts = [verifier.verify(ITEM, proof()) for _ in range(5)]
        # the stand-in reports no error and standard axioms: the plumbing carries that to `correct`
        assert [v.status for v in verdicts] == ["correct"] * 5, verdicts
        sent = commands(log)
        assert len({c["pid"] for c in sent}) == 1
        assert [c["env"] for c in sent if c["env"] is None] == [None]  # one header command
        assert sum(c["cmd"].startswith("axiom urlvr_ref_") for c in sent) == 1  # the reference once per process
        assert verifier.stats()["repl_header_reuses"] == 4 and verifier.stats()["repl_starts"] == 1
    finally:
        verifier.close()


def test_a_second_header_gets_its_own_repl(tmp_path):
    verifier, log = standin(tmp_path, max_repls=1)
    try:
        assert verifier.verify(ITEM, proof()).status == "correct"
        assert verifier.verify({**ITEM, "header": "set_option maxHeartbeats 400000"}, proof()).status == "correct"
        assert verifier.verify(ITEM, proof()).status == "correct"
        assert len({c["pid"] for c in commands(log)}) == 3 and verifier.stats()["repl_evicted"] == 2
    finally:
        verifier.close()


def test_restart_after_max_uses(tmp_path):
    verifier, log = standin(tmp_path, max_uses=2)
    try:
        assert all(verifier.verify(ITEM, proof()).status == "correct" for _ in range(5))
        assert len({c["pid"] for c in commands(log)}) == 3
        assert verifier.stats()["repl_retired_uses"] == 2
    finally:
        verifier.close()


def test_restart_above_the_memory_limit(tmp_path):
    verifier, log = standin(tmp_path, "--alloc-mb", "120", max_rss_mb=64)
    try:
        assert all(verifier.verify(ITEM, proof()).status == "correct" for _ in range(2))
        assert verifier.stats()["repl_retired_memory"] == 2
        assert len({c["pid"] for c in commands(log)}) == 2
    finally:
        verifier.close()


def test_a_hung_repl_is_killed_at_the_deadline_and_replaced(tmp_path):
    verifier, log = standin(tmp_path, proof_timeout=1.0)
    try:
        hung = verifier.verify(ITEM, proof("STANDIN_HANG"))
        assert hung.status == "incorrect" and "did not finish" in hung.reason, hung
        first_pid = commands(log)[0]["pid"]
        assert not alive(first_pid)  # the whole process group was killed, not just abandoned
        assert verifier.verify(ITEM, proof()).status == "correct"
        assert commands(log)[-1]["pid"] != first_pid
        assert verifier.stats()["repl_retired_timeout"] == 1
    finally:
        verifier.close()


def dies(pid: int, within: float = 30.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_the_deadline_kill_reaches_the_repls_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    verifier, _ = standin(tmp_path, "--child-pidfile", str(pidfile), proof_timeout=1.0)
    try:
        assert verifier.verify(ITEM, proof("STANDIN_HANG")).status == "incorrect"
        assert dies(int(pidfile.read_text()))  # the process group went, not only the REPL itself
    finally:
        verifier.close()


def test_a_repl_dies_with_the_worker_that_started_it(tmp_path):
    log = tmp_path / "standin.log"
    config = {"repl_command": [sys.executable, STANDIN, "--log", str(log)], "header_timeout": 30.0, "sandbox": False}
    with make_pool("lean", config, backend="local", workers=1) as pool:
        assert pool.verify_batch([ITEM], [proof()])[0].status == "correct"
    assert dies(commands(log)[0]["pid"])


def test_a_repl_dies_when_its_worker_is_killed(tmp_path):
    # the pool's own per-item limit (2 s) fires before Lean's (60 s): the worker is SIGKILLed mid-proof
    log = tmp_path / "standin.log"
    config = {"repl_command": [sys.executable, STANDIN, "--log", str(log)], "header_timeout": 30.0, "proof_timeout": 60.0,
              "sandbox": False}
    with make_pool("lean", config, backend="local", workers=1, timeout=2.0) as pool:
        verdict = pool.verify_batch([ITEM], [proof("STANDIN_HANG")])[0]
        assert verdict.status == "timeout", verdict
        assert dies(commands(log)[0]["pid"])  # PR_SET_PDEATHSIG: no orphan REPL left hanging


def test_a_header_that_hangs_is_a_timeout(tmp_path):
    verifier, _ = standin(tmp_path, "--mode", "hang_header", header_timeout=1.0)
    try:
        verdict = verifier.verify(ITEM, proof())
        assert verdict.status == "timeout" and verdict.score is None, verdict
    finally:
        verifier.close()


@pytest.mark.parametrize("mode,why", [("crash_at_start", "exited with code 3"), ("header_error", "header did not elaborate")])
def test_a_repl_that_cannot_start_gives_error(tmp_path, mode, why):
    verifier, _ = standin(tmp_path, "--mode", mode)
    try:
        verdict = verifier.verify(ITEM, proof())
        assert verdict.status == "error" and verdict.score is None and why in verdict.reason, verdict
    finally:
        verifier.close()


def test_a_crash_is_retried_once_on_a_fresh_repl(tmp_path):
    verifier, log = standin(tmp_path)
    try:
        verdict = verifier.verify(ITEM, proof("STANDIN_CRASH_ONCE"))
        assert verdict.status == "correct", verdict
        assert len({c["pid"] for c in commands(log)}) == 2 and verifier.stats()["repl_crash_retries"] == 1
    finally:
        verifier.close()


def test_a_proof_that_crashes_every_repl_is_incorrect(tmp_path):
    verifier, _ = standin(tmp_path)
    try:
        verdict = verifier.verify(ITEM, proof("STANDIN_CRASH"))
        assert verdict.status == "incorrect" and "crashed the Lean REPL twice" in verdict.reason, verdict
        assert verifier.verify(ITEM, proof()).status == "correct"
    finally:
        verifier.close()


@pytest.mark.parametrize("marker,why", [
    ("STANDIN_ERROR", "stand-in error"),
    ("STANDIN_SORRY", "sorry"),
    ("STANDIN_SORRY_WARNING", "uses sorry"),
    ("STANDIN_AXIOM", "sorryAx"),
    ("STANDIN_GARBAGE", "not JSON"),
    ("STANDIN_BIG", "over 16 MB"),
])
def test_answers_become_incorrect_verdicts_with_their_reason(tmp_path, marker, why):
    verifier, _ = standin(tmp_path)
    try:
        verdict = verifier.verify(ITEM, proof(marker))
        assert verdict.status == "incorrect" and why in verdict.reason, verdict
        assert verifier.verify(ITEM, proof()).status == "correct"  # the pool recovers for the next item
    finally:
        verifier.close()


def test_guards_decide_before_the_repl_sees_anything(tmp_path):
    verifier, log = standin(tmp_path)
    try:
        verdict = verifier.verify(ITEM, "```lean\ntheorem t (n : Nat) : n + 0 = n := by sorry\n```")
        assert verdict.status == "incorrect" and "sorry" in verdict.reason
        assert commands(log) == []  # no REPL was even started
    finally:
        verifier.close()


def test_the_local_pool_runs_the_repl_pool_in_its_workers(tmp_path):
    log = tmp_path / "standin.log"
    config = {"repl_command": [sys.executable, STANDIN, "--log", str(log)], "proof_timeout": 2.0, "header_timeout": 30.0,
              "sandbox": False}
    with make_pool("lean", config, backend="local", workers=1) as pool:
        verdicts = pool.verify_batch([ITEM] * 4, [proof(), proof("STANDIN_HANG"), proof(), "no block"])
    assert [v.status for v in verdicts] == ["correct", "incorrect", "correct", "incorrect"], verdicts
    assert len({c["pid"] for c in commands(log)}) == 2  # replaced once, after the hang


@pytest.fixture
def listener():
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    yield server.getsockname()[1]
    server.close()


@pytest.mark.parametrize("sandbox", [True, False], ids=["sandboxed", "unsandboxed control"])
def test_the_sandbox_keeps_the_repl_from_host_files_and_network(tmp_path, listener, sandbox):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    verifier = LeanVerifier({"repl_command": [sys.executable, STANDIN], "sandbox": sandbox, "header_timeout": 60.0})
    try:
        read = verifier.verify(ITEM, proof(f"STANDIN_PROBE_FILE={secret}"))
        net = verifier.verify(ITEM, proof(f"STANDIN_PROBE_NET={listener}"))
        # each probe answers as an error message, so its result shows in the verdict's reason
        assert read.status == net.status == "incorrect", (read, net)
        if sandbox:
            assert "probe: refused" in read.reason and "host secret" not in read.reason, read
            assert "probe: refused" in net.reason, net
        else:
            assert "host secret" in read.reason and "probe: connected" in net.reason, (read, net)
        assert verifier.verify(ITEM, proof()).status == "correct"
        hung = LeanVerifier({"repl_command": [sys.executable, STANDIN], "sandbox": sandbox, "proof_timeout": 1.0})
        assert hung.verify(ITEM, proof("STANDIN_HANG")).status == "incorrect"  # the deadline kill works through bwrap
        assert hung.verify(ITEM, proof()).status == "correct"
        hung.close()
    finally:
        verifier.close()


def test_a_relative_repl_command_works_in_the_sandbox(monkeypatch):
    monkeypatch.chdir(Path(STANDIN).parents[2])
    verifier = LeanVerifier({"repl_command": [sys.executable, os.path.relpath(STANDIN)], "sandbox": True})
    try:
        assert verifier.verify(ITEM, proof()).status == "correct"
    finally:
        verifier.close()


def test_the_ray_pool_serves_lean_with_its_repl_pool(ray_session, tmp_path):
    config = {"repl_command": [sys.executable, STANDIN], "proof_timeout": 2.0}
    with make_pool("lean", config, backend="ray", workers=1) as pool:
        verdicts = pool.verify_batch([ITEM] * 3, [proof(), proof("STANDIN_HANG"), proof()])
    assert [v.status for v in verdicts] == ["correct", "incorrect", "correct"], verdicts
