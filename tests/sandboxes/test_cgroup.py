"""Per-run cgroups: removed after each run, and reaped when their owner was killed mid-run (real cgroups)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from sandboxes import cgroup, make_sandbox
from tests.sandbox_support import IN_SPAWN, run_py, survivors_after

pytestmark = pytest.mark.timeout(120)
LAYOUT = cgroup.layout()
needs_cgroups = pytest.mark.skipif(LAYOUT is None, reason="this host does not let this process create child cgroups")

WORKER = textwrap.dedent("""
    import sys
    from sandboxes import Limits, make_sandbox
    sb = make_sandbox("bwrap", {"cgroups": True})
    print("ready", flush=True)
    sb.run([sb.python, "-c", "import time; time.sleep(300)", sys.argv[1]], limits=Limits(wall_seconds=300, cpu_seconds=300))
""")
"""A worker whose sandboxed program sleeps for 5 minutes with a tag (``argv[1]``) in its command line."""



def owned_by(pid: int) -> list[Path]:
    return [d for parent in (LAYOUT or {}).values() for d in parent.glob(f"urlvr-{pid}-*")]


def test_names_say_whose_they_are():
    name = cgroup.run_name()
    assert name.startswith(f"urlvr-{os.getpid()}-") and not cgroup.stale(name)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert cgroup.stale(f"urlvr-{dead.pid}-1-abc")  # gone (or its pid reused by a process started later)
    assert cgroup.stale(f"urlvr-{os.getpid()}-1-abc")  # this pid, another start time: a reused pid
    assert not cgroup.stale("urlvr-0123456789ab") and not cgroup.stale("other")  # not ours to judge


@needs_cgroups
def test_a_finished_run_leaves_no_cgroup():
    with make_sandbox("bwrap", {"cgroups": True}) as sb:
        assert run_py(sb, "print(1)").stdout.strip() == "1"
    assert owned_by(os.getpid()) == []


@needs_cgroups
@pytest.mark.parametrize("delay", [0.0, 0.02, 0.3])
def test_a_worker_killed_mid_run_leaves_nothing_after_the_next_start(delay):
    """Killed at the moment its run's cgroups exist (before or while bwrap starts) or once the program runs: the
    next start removes the folders and kills every process of the run, the program included. The program sleeps
    5 minutes, so one that escaped the reaping is still there when the 10 s allowed for dying processes ends."""
    tag = f"urlvr-test-{uuid.uuid4().hex}"
    worker = subprocess.Popen([sys.executable, "-c", WORKER, tag], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        assert worker.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while len(owned_by(worker.pid)) < len(LAYOUT) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(owned_by(worker.pid)) == len(LAYOUT), "the worker's run never got its cgroups"
        time.sleep(delay)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    left = owned_by(worker.pid)
    assert len(left) == len(LAYOUT)  # a killed owner cannot clean up: this is what reaping is for
    make_sandbox("bwrap", {"cgroups": True}).close()  # the next start reaps them
    assert owned_by(worker.pid) == []
    assert survivors_after(tag, 10) == [], "processes of the killed worker's run survived the reaping"


@needs_cgroups
def test_a_worker_killed_between_fork_and_exec_of_its_sandbox_leaves_nothing_running():
    tag = f"urlvr-test-{uuid.uuid4().hex}"
    script = WORKER.replace('print("ready", flush=True)', 'print("ready", flush=True)' + IN_SPAWN)
    worker = subprocess.Popen([sys.executable, "-c", script, tag], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        assert worker.stdout.readline().strip() == "ready"
        assert worker.stdout.readline().strip() == "spawning"
        time.sleep(0.2)  # the child is in its 1 s pause before exec
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    make_sandbox("bwrap", {"cgroups": True}).close()
    assert owned_by(worker.pid) == []
    assert survivors_after(tag, 10) == [], "the orphaned sandbox ran its program after its owner was killed"
