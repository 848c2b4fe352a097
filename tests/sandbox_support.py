"""Test helpers shared by the sandbox tests: run Python source in a backend; find what a killed owner left."""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from sandboxes import ExecResult, Limits, Sandbox


def run_py(sb: Sandbox, code: str, stdin: str = "", **limits: float) -> ExecResult:
    """Run ``code`` as main.py with the interpreter the backend provides; ``limits`` override the defaults."""
    return sb.run([sb.python, "-I", "main.py"], files={"main.py": code}, stdin=stdin, limits=Limits(**limits))


IN_SPAWN = textwrap.dedent("""
    import subprocess, time
    real = subprocess.Popen
    class Held(real):  # the sandbox's child pauses between fork and exec, where the test kills its parent
        def __init__(self, *args, **kwargs):
            print("spawning", flush=True)
            super().__init__(*args, preexec_fn=lambda: time.sleep(1.0), **kwargs)
    subprocess.Popen = Held
""")
"""Put into a worker script after it has made its sandbox: the kill lands while bwrap's process is forked but not yet started, so its
``--die-with-parent`` is set after the parent is gone and never fires (what used to leave a sandbox running)."""


def tagged(tag: str) -> list[int]:
    """Pids of live processes whose command line holds ``tag`` (a zombie's command line is empty)."""
    pids = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and tag.encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
    return pids


def survivors_after(tag: str, seconds: float, counts: Callable[[str], bool] = lambda description: True) -> list[str]:
    """Descriptions of the tagged processes that ``counts`` and are still alive once every tagged process is gone or
    ``seconds`` have passed; every tagged process is then killed, so a failing test leaves nothing to the suite.
    The wait is on all of them: one not counted (a bwrap) may still be about to start one that is."""
    deadline = time.monotonic() + seconds
    while tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [d for d in map(describe, tagged(tag)) if counts(d)]
    for pid in tagged(tag):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return survivors


def describe(pid: int) -> str:
    """One line on a process for a failure message: pid, state, parent, CPU time and limit, cgroups, command line."""
    with contextlib.suppress(OSError):
        status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
        groups = Path(f"/proc/{pid}/cgroup").read_text().replace("\n", " ")
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120].decode(errors="replace")
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        limit = next((" ".join(line.split()[3:5]) for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
                      if line.startswith("Max cpu time")), "?")
        return (f"{pid} {status.get('State')} ppid={status.get('PPid')} cpu={cpu:.2f}s cpu-limit(soft hard)={limit} "
                f"cgroups=[{groups}] cmd={cmd!r}")
    return f"{pid} (gone)"
