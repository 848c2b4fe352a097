"""Per-run cgroups: removed after each run, and reaped when their owner was killed mid-run (real cgroups)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sandboxes import cgroup, make_sandbox
from tests.sandbox_support import run_py

pytestmark = pytest.mark.timeout(120)
LAYOUT = cgroup.layout()
needs_cgroups = pytest.mark.skipif(LAYOUT is None, reason="this host does not let this process create child cgroups")

WORKER = textwrap.dedent("""
    from sandboxes import Limits, make_sandbox
    sb = make_sandbox("bwrap", {"cgroups": True})
    print("ready", flush=True)
    sb.run([sb.python, "-c", "import time; time.sleep(60)"], limits=Limits(wall_seconds=60, cpu_seconds=60))
""")


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
def test_folders_of_a_worker_killed_mid_run_are_reaped_on_next_start():
    worker = subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert worker.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while len(owned_by(worker.pid)) < len(LAYOUT) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(owned_by(worker.pid)) == len(LAYOUT), "the worker's run never got its cgroups"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    left = owned_by(worker.pid)
    assert len(left) == len(LAYOUT)  # a killed owner cannot clean up: this is what reaping is for
    make_sandbox("bwrap", {"cgroups": True}).close()  # the next start reaps them
    assert owned_by(worker.pid) == []
