"""Host-side process plumbing shared by the local backends: rlimits, capped pipe draining, group kills.

``drain`` feeds stdin, reads both output streams up to a cap (discarding the rest so the program never blocks
on a full pipe), reaps the child with ``wait4`` for its rusage, and kills the process group at the deadline.
"""

from __future__ import annotations

import os
import resource
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from sandboxes.base import Limits

_MB = 1 << 20
_GRACE = 0.5  # seconds to keep reading after the main process exited, for pipes held by its descendants


def rlimits(limits: Limits, memory: bool = True) -> dict[int, tuple[int, int]]:
    """The rlimits that implement ``limits``; RLIMIT_AS only when ``memory`` (no memory cgroup)."""
    cpu = max(1, int(limits.cpu_seconds + 0.999))
    out = {
        resource.RLIMIT_CPU: (cpu, cpu + 1),
        resource.RLIMIT_NPROC: (limits.processes, limits.processes),
        resource.RLIMIT_FSIZE: (limits.file_size_mb * _MB, limits.file_size_mb * _MB),
        resource.RLIMIT_NOFILE: (limits.open_files, limits.open_files),
        resource.RLIMIT_CORE: (0, 0),
    }
    if memory:
        out[resource.RLIMIT_AS] = (limits.memory_mb * _MB, limits.memory_mb * _MB)
    return out


@dataclass
class _Stream:
    cap: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclass
class Drained:
    """What ``drain`` collected: capped outputs, the wait status and rusage, and whether we killed it."""

    stdout: _Stream
    stderr: _Stream
    status: int | None
    rusage: resource.struct_rusage | None
    wall_seconds: float
    wall_killed: bool


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid``; a group that is already gone is fine."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class LiveProcesses:
    """The process groups a backend has running, so that ``close`` can kill whatever is still alive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen] = set()

    def add(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.add(proc)

    def discard(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(proc)

    def kill_all(self) -> None:
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            kill_group(proc.pid)


def drain(proc: subprocess.Popen, stdin: bytes, limits: Limits, start: float | None = None) -> Drained:
    """Run ``proc`` (started with its own session; stdin/stdout pipes, or None when attached to a socket, and a
    stderr pipe) to completion under the wall limit."""
    start = time.monotonic() if start is None else start
    deadline = start + limits.wall_seconds
    out, err = _Stream(limits.output_bytes), _Stream(limits.output_bytes)
    sel = selectors.DefaultSelector()
    pidfd = os.pidfd_open(proc.pid)
    sel.register(pidfd, selectors.EVENT_READ, "exit")
    for pipe, stream in ((proc.stdout, out), (proc.stderr, err)):
        if pipe is None:  # attached to a socket the caller's peer reads
            continue
        os.set_blocking(pipe.fileno(), False)
        sel.register(pipe, selectors.EVENT_READ, stream)
    pending = memoryview(stdin)
    if pending:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE, "stdin")
    elif proc.stdin is not None:
        proc.stdin.close()
    status = rusage = None
    wall = 0.0
    killed = False
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                if status is not None or killed:
                    break  # exited (or killed) and the grace period for the pipes is over
                kill_group(proc.pid)
                killed, deadline = True, now + 2.0
            for key, _ in sel.select(timeout=max(0.0, deadline - now)):
                if key.data == "exit":
                    _, raw, rusage = os.wait4(proc.pid, 0)
                    status, wall = raw, time.monotonic() - start
                    proc.returncode = os.waitstatus_to_exitcode(raw)
                    sel.unregister(pidfd)
                    kill_group(proc.pid)  # descendants left in the group must not outlive the run
                    deadline = min(deadline, time.monotonic() + _GRACE)
                elif key.data == "stdin":
                    pending = _feed(sel, proc, pending)
                else:
                    _read(sel, key.fileobj, key.data)
    finally:
        sel.close()
        os.close(pidfd)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe and not pipe.closed:
                pipe.close()
        if status is None:  # still running after the kill's grace period: reap it for good
            kill_group(proc.pid)
            _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - start
    return Drained(out, err, status, rusage, wall, killed)


def _feed(sel: selectors.BaseSelector, proc: subprocess.Popen, pending: memoryview) -> memoryview:
    try:
        pending = pending[os.write(proc.stdin.fileno(), pending[:65536]) :]
    except (BrokenPipeError, BlockingIOError) as exc:
        if isinstance(exc, BlockingIOError):
            return pending
        pending = pending[:0]
    if not pending:
        sel.unregister(proc.stdin)
        proc.stdin.close()
    return pending


def _read(sel: selectors.BaseSelector, pipe, stream: _Stream) -> None:
    try:
        chunk = os.read(pipe.fileno(), 1 << 16)
    except BlockingIOError:
        return
    if chunk:
        stream.add(chunk)
    else:
        sel.unregister(pipe)
        pipe.close()
