"""Per-run cgroups, used when the host lets this process create child cgroups (root, or a delegated subtree).

They give what rlimits cannot: a process cap that also binds root-owned sandboxes (RLIMIT_NPROC does not apply
to uid 0), a memory cap over the whole run with an OOM kill the host can see, and an exact CPU-time account.
Each run's cgroup is nested under this process's own cgroup, so host-wide accounting still covers it. Its
name carries this process's pid and start time: the folders of a process that was killed mid-run (which never
got to remove them) are reaped by ``reap_stale``, which each new bwrap backend calls.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
import uuid
from functools import lru_cache
from pathlib import Path

from sandboxes.base import Limits

_ROOT = Path("/sys/fs/cgroup")
_MB = 1 << 20
_NAME = re.compile(r"urlvr-(\d+)-(\d+)-[0-9a-f]+")


def _start_time(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


@lru_cache(maxsize=4)
def _owner(pid: int) -> str:
    return f"urlvr-{pid}-{_start_time(pid) or 0}-"


def run_name() -> str:
    """A fresh run cgroup name that says which process owns it (pid and start time, so reuse is seen)."""
    return _owner(os.getpid()) + uuid.uuid4().hex[:12]


def stale(name: str) -> bool:
    """True for a run cgroup name whose owner process no longer exists (its pid is gone or reused)."""
    match = _NAME.fullmatch(name)
    if match is None:
        return False
    pid, start = int(match.group(1)), int(match.group(2))
    return _start_time(pid) != start


def reap_stale(parents: dict[str, Path]) -> int:
    """Kill what is left in, and remove, the run cgroups of dead owners under ``parents``; how many went."""
    removed = 0
    for parent in parents.values():
        with contextlib.suppress(OSError):
            for entry in parent.iterdir():
                if entry.is_dir() and stale(entry.name):
                    _remove_dir(entry, 2.0)
                    removed += not entry.exists()
    return removed


def _own_paths() -> dict[str, str]:
    """Controller name ("" for the v2 hierarchy) -> this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def _writable_parent(path: Path) -> Path | None:
    probe = path / f"urlvr-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
        probe.rmdir()
        return path
    except OSError:
        return None


@lru_cache(maxsize=1)
def layout() -> dict[str, Path] | None:
    """Where to create run cgroups: {"pids"|"memory"|"cpuacct"|"v2": parent dir}, or None if unavailable."""
    own = _own_paths()
    if all(c in own for c in ("pids", "memory", "cpuacct")):  # cgroup v1
        parents = {c: _writable_parent(_ROOT / c / own[c].lstrip("/")) for c in ("pids", "memory", "cpuacct")}
        if all(parents.values()):
            return parents  # type: ignore[return-value]
    if "" in own and (_ROOT / "cgroup.controllers").exists():  # cgroup v2 with pids+memory delegated
        parent = _ROOT / own[""].lstrip("/")
        with contextlib.suppress(OSError):
            enabled = (parent / "cgroup.subtree_control").read_text().split()
            if {"pids", "memory"} <= set(enabled) and _writable_parent(parent):
                return {"v2": parent}
    return None


HOST_PROCESSES = 2
"""bwrap and its PID-namespace init, which live in the run's cgroup beside the program (``born_inside``)."""


class RunCgroup:
    """The cgroup(s) of one run: created with limits set, joined by the sandbox from birth, then removed."""

    def __init__(self, parents: dict[str, Path], limits: Limits):
        name = run_name()
        self.dirs = {c: p / name for c, p in parents.items()}
        self.v2 = "v2" in self.dirs
        try:
            for d in self.dirs.values():
                d.mkdir()
            self._set_limits(limits)
        except OSError:
            self.remove()
            raise

    def _set_limits(self, limits: Limits) -> None:
        mem = str(limits.memory_mb * _MB)
        pids = str(limits.processes + HOST_PROCESSES)
        if self.v2:
            d = self.dirs["v2"]
            _write(d / "pids.max", pids)
            _write(d / "memory.max", mem)
            with contextlib.suppress(OSError):
                _write(d / "memory.swap.max", "0")
        else:
            _write(self.dirs["pids"] / "pids.max", pids)
            _write(self.dirs["memory"] / "memory.limit_in_bytes", mem)
            with contextlib.suppress(OSError):  # absent when swap accounting is off
                _write(self.dirs["memory"] / "memory.memsw.limit_in_bytes", mem)

    def born_inside(self, argv: list[str]) -> list[str]:
        """``argv`` behind a shell that first moves itself into every controller's cgroup and then execs it, so
        the sandbox's own processes (bwrap and its init) are inside from birth: if the owner is killed before
        it could confine the run, the next start's reaping still finds and kills them."""
        procs = [str(d / "cgroup.procs") for d in self.dirs.values()]
        join = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"'
        return ["/bin/sh", "-c", join, "sh", str(len(procs)), *procs, *argv]

    def cpu_seconds(self) -> float | None:
        with contextlib.suppress(OSError, ValueError):
            if self.v2:
                stat = dict(line.split() for line in (self.dirs["v2"] / "cpu.stat").read_text().splitlines())
                return int(stat["usage_usec"]) / 1e6
            return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        return None

    def peak_memory_mb(self) -> float | None:
        with contextlib.suppress(OSError, ValueError):
            f = self.dirs["v2"] / "memory.peak" if self.v2 else self.dirs["memory"] / "memory.max_usage_in_bytes"
            return int(f.read_text()) / _MB
        return None

    def oom_killed(self) -> bool:
        """True when the kernel OOM-killed a process of this run at the memory cap."""
        f = self.dirs["v2"] / "memory.events" if self.v2 else self.dirs["memory"] / "memory.oom_control"
        with contextlib.suppress(OSError, ValueError):
            stats = dict(line.split() for line in f.read_text().splitlines())
            return int(stats.get("oom_kill", 0)) > 0
        return False

    def kill(self) -> None:
        """SIGKILL every process still in the run's cgroup."""
        if self.v2:
            with contextlib.suppress(OSError):
                _write(self.dirs["v2"] / "cgroup.kill", "1")
                return
        _kill_procs(self.dirs.get("pids") or self.dirs["v2"])

    def remove(self, wait: float = 2.0) -> None:
        """Kill what is left and remove the cgroup dirs (retrying while the killed processes exit)."""
        self.kill()
        for d in self.dirs.values():
            _remove_dir(d, wait)


def _kill_procs(d: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in (d / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)


def _remove_dir(d: Path, wait: float) -> None:
    """rmdir a cgroup, SIGKILLing its processes while they have not all exited, for up to ``wait`` seconds."""
    end = time.monotonic() + wait
    while d.exists():
        try:
            d.rmdir()
        except OSError:
            if time.monotonic() > end:
                return
            _kill_procs(d)
            time.sleep(0.005)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)
