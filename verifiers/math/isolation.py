"""The sympy comparison in a child process with a time budget, so that a costly answer is ``incorrect``, not masked.

Parsing and comparing with sympy have no useful bound on their own (guards catch the known hostile shapes, not
all of them). The pool's hard timeout would stop such an item too, but as ``timeout``, which masks it from the
reward: a model could learn to avoid a 0 by writing pathological answers. Here the child gets ``budget``
seconds per comparison, well inside the pool's timeout; past it the child is killed and the answer scores
``incorrect`` with the reason. A child that dies while comparing is retried once in a fresh child (an outside
kill is not the answer's fault); if it dies again the answer did it (a stack overflow, the memory limit) and
scores ``incorrect``. Only a child that cannot start is ``error``: that no completion can cause.

Requests and replies are JSON lines on the child's stdin and stdout. The child starts as ``python -m`` (not
multiprocessing), so it never re-imports the trainer's main module; it exits when its stdin closes or its
parent dies (PDEATHSIG), and it stays in its parent's process group, so a pool that kills a worker's group
kills it too.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

from verifiers.base import Verdict

START_TIMEOUT = 120.0
"""Seconds to wait for a child to import sympy; a slower start is an infrastructure fault (``error``)."""
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_VERDICTS = {"correct": Verdict.correct, "incorrect": Verdict.incorrect, "error": Verdict.error}


class Judge:
    """One child process that runs ``equivalence.compare`` for this verifier; thread-safe, started on demand."""

    def __init__(self, budget: float):
        self.budget = budget
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._started = 0.0
        self._ready = False

    def start(self, wait: bool = False) -> None:
        """Start the child now unless one is running; with ``wait``, until it is ready (a start failure is left
        for ``compare`` to report)."""
        with self._lock:
            proc = self._ensure_started()
            if wait and not self._ready and self._await_ready(proc):
                self._kill()

    def compare(self, gold: str, pred: str, min_sig_digits: int) -> Verdict:
        """The child's verdict for ``pred`` against ``gold``, or ``incorrect`` past the budget or after two crashes."""
        with self._lock:
            first = self._exchange(gold, pred, min_sig_digits)
            if first[0] != "died":
                return first[1]
            second = self._exchange(gold, pred, min_sig_digits)
            if second[0] != "died":
                return second[1]
            return Verdict.incorrect(f"comparing this answer crashed the math judge process twice ({second[1].reason})")

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _exchange(self, gold: str, pred: str, min_sig_digits: int) -> tuple[str, Verdict]:
        """("ok"|"died"|"error", verdict) for one request; starts the child if needed."""
        proc = self._ensure_started()
        if not self._ready:
            why = self._await_ready(proc)
            if why:
                self._kill()
                return "error", Verdict.error(f"the math judge process could not start: {why}")
        try:
            proc.stdin.write(json.dumps([gold, pred, min_sig_digits]) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return "died", self._died(proc)
        line = self._read_line(proc, time.monotonic() + self.budget)
        if line is None:
            self._kill()
            self._ensure_started()  # the next child imports while this verdict goes back
            return "ok", Verdict.incorrect(f"comparing this answer took over the {self.budget:g}s budget (a pathological expression)")
        if line == "":
            return "died", self._died(proc)
        try:
            status, reason = json.loads(line)
        except ValueError:
            self._kill()
            return "error", Verdict.error(f"the math judge process sent an unreadable reply {line[:80]!r}")
        return "ok", _VERDICTS.get(status, Verdict.error)(reason)

    def _ensure_started(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)}
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "verifiers.math.isolation"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1, env=env,
            )
            self._started, self._ready = time.monotonic(), False
            weakref.finalize(self, _reap, self._proc)
        return self._proc

    def _await_ready(self, proc: subprocess.Popen) -> str:
        """"" once the child says it is ready, else why not."""
        line = self._read_line(proc, self._started + START_TIMEOUT)
        if line is None:
            return f"no ready signal within {START_TIMEOUT:g}s"
        if line.strip() != "ready":
            return f"it exited with code {proc.wait()}" if line == "" else f"unexpected first line {line[:80]!r}"
        self._ready = True
        return ""

    def _read_line(self, proc: subprocess.Popen, deadline: float) -> str | None:
        """One line from the child ("" at EOF), or None when ``deadline`` passes first."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            readable, _, _ = select.select([proc.stdout], [], [], left)
            if readable:
                return proc.stdout.readline()

    def _died(self, proc: subprocess.Popen) -> Verdict:
        code = proc.wait()
        self._proc = None
        return Verdict.error(f"exit code {code}")

    def _kill(self) -> None:
        if self._proc is not None:
            _reap(self._proc)
            self._proc = None


def _reap(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        try:
            stream.close()
        except OSError:
            pass


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the child still exits when its stdin closes


def main() -> None:
    """Child side: answer ``[gold, pred, min_sig_digits]`` lines with ``[status, reason]`` lines."""
    _die_with_parent()
    replies, sys.stdout = sys.stdout, sys.stderr  # stray prints from a library must not corrupt the replies
    from verifiers.math.equivalence import compare

    compare("\\frac{x^2-1}{2}", "\\frac{(x-1)(x+1)}{2}")  # the first parse builds latex2sympy's parser: not on a budget
    print("ready", file=replies, flush=True)
    for line in sys.stdin:
        gold, pred, min_sig_digits = json.loads(line)
        try:
            verdict = compare(gold, pred, min_sig_digits)
        except (RecursionError, MemoryError) as exc:
            verdict = Verdict.incorrect(f"the answer is too deeply nested or too large to compare ({type(exc).__name__})")
        except Exception as exc:  # sympy and latex2sympy raise many types on odd expressions
            verdict = Verdict.incorrect(f"comparing this answer raised {type(exc).__name__}: {exc}"[:300])
        print(json.dumps([verdict.status, verdict.reason]), file=replies, flush=True)


if __name__ == "__main__":
    main()
