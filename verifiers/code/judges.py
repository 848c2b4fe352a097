"""Host side of the trusted judge: a few long-lived ``judge.py`` processes, one lent to each verify call.

A judge starts once (an interpreter start costs more than a whole sandboxed run) and forks per job. The host
hands it the job and the sandbox socket, and waits for the reply with a deadline; a judge that overruns or
dies is killed with its process group and replaced on next use.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

JUDGE = str(Path(__file__).with_name("judge.py"))
_HEADER = struct.Struct(">I")


class JudgeDied(RuntimeError):
    """The judge process ended or failed to start: a fault of the machinery, never of the solution."""


class JudgeProcess:
    """One judge: a control socket to a ``judge.py`` in its own session."""

    def __init__(self, python: str = sys.executable):
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen([python, "-I", "-B", JUDGE, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            ours.close()
            raise JudgeDied(f"could not start the judge: {exc}") from exc
        finally:
            theirs.close()
        self.sock = ours
        self.healthy = True

    def submit(self, job: Mapping[str, Any], sandbox_fd: int) -> None:
        """Send a job and the socket to its sandboxed runner (this process keeps its own copy of the fd)."""
        data = json.dumps(job).encode()
        try:
            self.sock.settimeout(10.0)
            socket.send_fds(self.sock, [_HEADER.pack(len(data))], [sandbox_fd])
            self.sock.sendall(data)
        except OSError as exc:
            self.healthy = False
            raise JudgeDied(f"the judge does not take jobs: {exc}") from exc

    def reply(self, timeout: float) -> dict[str, Any] | None:
        """The job's reply; None when none came within ``timeout`` (the judge is then unusable)."""
        deadline = time.monotonic() + timeout
        try:
            head = self._recv(_HEADER.size, deadline)
            data = self._recv(_HEADER.unpack(head)[0], deadline)
        except TimeoutError:
            self.healthy = False
            return None
        except (OSError, EOFError) as exc:
            self.healthy = False
            raise JudgeDied(f"the judge died during a job: {exc or 'EOF'}") from exc
        try:
            out = json.loads(data)
        except ValueError as exc:
            self.healthy = False
            raise JudgeDied("the judge sent a reply that is not JSON") from exc
        return out if isinstance(out, dict) else {"internal": "a reply that is not an object"}

    def _recv(self, n: int, deadline: float) -> bytes:
        data = bytearray()
        while len(data) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(n - len(data))
            except socket.timeout:
                raise TimeoutError from None
            if not chunk:
                raise EOFError
            data += chunk
        return bytes(data)

    def kill(self) -> None:
        self.healthy = False
        try:
            os.killpg(self.proc.pid, 9)
        except OSError:
            pass
        self.sock.close()
        self.proc.wait()


class Judges:
    """A free list of judge processes, grown on demand (one per concurrent verify call)."""

    def __init__(self, python: str = sys.executable):
        self.python = python
        self._idle: list[JudgeProcess] = []
        self._busy: set[JudgeProcess] = set()
        self._lock = threading.Lock()

    @contextmanager
    def lease(self) -> Iterator[JudgeProcess]:
        """A judge for one job; returned to the free list only if it is still healthy."""
        with self._lock:
            judge = self._idle.pop() if self._idle else None
        if judge is not None and judge.proc.poll() is not None:
            judge.kill()
            judge = None
        if judge is None:
            judge = JudgeProcess(self.python)
        with self._lock:
            self._busy.add(judge)
        try:
            yield judge
        finally:
            with self._lock:
                self._busy.discard(judge)
                keep = judge.healthy and judge.proc.poll() is None
                if keep:
                    self._idle.append(judge)
            if not keep:
                judge.kill()

    def close(self) -> None:
        """Kill every judge."""
        with self._lock:
            judges, self._idle = [*self._idle, *self._busy], []
            self._busy.clear()
        for judge in judges:
            judge.kill()
