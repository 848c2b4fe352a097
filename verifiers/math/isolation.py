"""The sympy comparison in a forked child process with a time budget, so a costly answer is ``incorrect``, not masked.

Parsing and comparing with sympy have no useful bound on their own (guards catch the known hostile shapes, not
all of them). The pool's hard timeout would stop such an item too, but as ``timeout``, which masks it from the
reward: a model could learn to avoid a 0 by writing pathological answers. Here the child gets ``budget``
seconds of CPU per comparison; past it the child is killed and the answer scores ``incorrect`` with the reason.
CPU time, not wall time, so a loaded machine does not fail innocent answers; if the child gets too little CPU
to finish within ``wall`` seconds (set inside the pool's timeout), the verdict is ``timeout``:
the machine's fault, masked. A child that dies while comparing is retried once in a fresh child (an outside
kill is not the answer's fault); if it dies again the answer did it (a stack overflow, the memory limit) and
scores ``incorrect``. A child that cannot be made is ``error``: no completion can cause that.

The child is a fork of this process after one warm-up comparison, so a replacement is ready in milliseconds even
on a loaded machine (a fresh interpreter takes seconds to import sympy, which would push the next, innocent item
past the pool's timeout). It closes every inherited descriptor but its two pipes, never writes to stdout, leaves
with ``os._exit``, dies with its parent (PDEATHSIG), and stays in its parent's process group, so a pool that
kills a worker's group kills it too. Requests and replies are JSON lines.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import threading
import time
import weakref

from verifiers.base import Verdict

_VERDICTS = {"correct": Verdict.correct, "incorrect": Verdict.incorrect, "error": Verdict.error}
_WARM = [  # latex2sympy's ANTLR parser learns each new construct slowly (seconds when loaded): teach it before forking
    ("\\frac{x^2-1}{2}", "\\frac{(x-1)(x+1)}{2}"), ("2\\sqrt{2}", "\\sqrt[3]{8}\\pi"), ("\\sin^2(y)+1", "\\log_2 8 + \\ln(e^2)"),
    ("(-\\infty, 3) \\cup [4, 5]", "\\{1, 2\\}"), ("y = 2x + 1", "x \\le 3"), ("(1, \\frac{9}{2})", "\\binom{5}{2} + 5!"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "3+4i"), ("5 \\text{ cm}", "90^{\\circ}"), ("\\pm 2", "a \\cdot b \\times c"),
]
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Judge:
    """One forked child that runs ``equivalence.compare`` for this verifier; thread-safe, made on demand."""

    def __init__(self, budget: float, wall: float):
        self.budget, self.wall = budget, max(wall, budget)
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._finalizer: weakref.finalize | None = None
        self._warm = False

    def start(self) -> None:
        """Warm up and fork the child now, not on the first item's clock (a failure is left for ``compare``)."""
        with self._lock:
            try:
                self._ensure_child()
            except OSError:
                pass

    def compare(self, gold: str, pred: str, min_sig_digits: int) -> Verdict:
        """The child's verdict for ``pred`` against ``gold``, or ``incorrect`` past the budget or after two crashes."""
        with self._lock:
            for _ in range(2):
                outcome, verdict = self._exchange(json.dumps([gold, pred, min_sig_digits]) + "\n")
                if outcome != "died":
                    return verdict
            return Verdict.incorrect(f"comparing this answer crashed the math judge process twice ({verdict.reason})")

    def close(self) -> None:
        with self._lock:
            if self._child is not None:
                self._child.kill()
                self._child = None

    def _exchange(self, request: str) -> tuple[str, Verdict]:
        """("ok" | "died" | "error", verdict) for one request."""
        try:
            child = self._ensure_child()
        except OSError as exc:
            return "error", Verdict.error(f"the math judge process could not be made: {exc}")
        line = child.ask(request, self.budget, time.monotonic() + self.wall)
        if line is None or line == "wall":
            cpu = child.cpu_seconds()
            child.kill()
            self._child = None
            if line is None:  # the answer burned the budget: its own doing
                return "ok", Verdict.incorrect(f"comparing this answer took over the {self.budget:g}s CPU budget (a pathological expression)")
            return "error", Verdict.timeout(f"the math judge got {cpu:.2f}s of CPU in {self.wall:g}s: the machine is overloaded")
        if not line:
            code = child.kill()
            self._child = None
            return "died", Verdict.error(f"exit status {code}")
        try:
            status, reason = json.loads(line)
        except ValueError:
            child.kill()
            self._child = None
            return "error", Verdict.error(f"the math judge process sent an unreadable reply {line[:80]!r}")
        return "ok", _VERDICTS.get(status, Verdict.error)(reason)

    def _ensure_child(self) -> _Child:
        if self._child is None:
            if not self._warm:
                from verifiers.math.equivalence import compare

                for pair in _WARM:
                    compare(*pair)
                self._warm = True
            if self._finalizer is not None:
                self._finalizer.detach()  # the previous child was killed already: keep one finalizer, not one per kill
            self._child = _Child()
            self._finalizer = weakref.finalize(self, self._child.kill)
        return self._child


class _Child:
    """A forked comparison process and the two pipes to it."""

    def __init__(self):
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (req_r, req_w, rep_r, rep_w):
                os.close(fd)
            raise
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(req_w)
                os.close(rep_r)
                _serve(req_r, rep_w)
                code = 0
            finally:
                os._exit(code)
        os.close(req_r)
        os.close(rep_w)
        self.pid, self._out, self._in = pid, req_w, rep_r
        self._buffer = b""
        self._status: int | None = None
        self._born = time.monotonic()

    def ask(self, request: str, cpu_budget: float, deadline: float) -> str | None:
        """Send one request; its reply line, "" if the child died, None once it used ``cpu_budget`` CPU seconds,
        "wall" if ``deadline`` passed first (CPU time, so that a loaded machine does not fail innocent answers)."""
        try:
            os.write(self._out, request.encode())
        except OSError:
            return ""
        start = self.cpu_seconds()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return "wall"
            if not select.select([self._in], [], [], min(left, 0.05))[0]:
                if self.cpu_seconds() - start >= cpu_budget:
                    return None
                continue
            chunk = os.read(self._in, 65536)
            if not chunk:
                return ""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def cpu_seconds(self) -> float:
        """CPU time the child has used (Linux ``/proc``; elsewhere its wall-clock age, a conservative stand-in)."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            return time.monotonic() - self._born

    def kill(self) -> int | None:
        """Kill and reap the child (idempotent); its exit status."""
        if self._status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self._status = os.waitpid(self.pid, 0)[1]
            except ChildProcessError:
                self._status = -1
            for fd in (self._out, self._in):
                try:
                    os.close(fd)
                except OSError:
                    pass
        return self._status


def _serve(requests: int, replies: int) -> None:
    """Child side: answer ``[gold, pred, min_sig_digits]`` lines with ``[status, reason]`` lines until EOF."""
    _die_with_parent()
    os.closerange(3, min(requests, replies))  # inherited sockets and pipes (the pool's, the trainer's) are not ours
    os.closerange(min(requests, replies) + 1, max(requests, replies))
    os.closerange(max(requests, replies) + 1, 1 << 16)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # stray prints must not reach the parent's streams
    from verifiers.math.equivalence import compare

    with os.fdopen(requests, "rb") as inbox:
        for line in inbox:
            gold, pred, min_sig_digits = json.loads(line)
            try:
                verdict = compare(gold, pred, min_sig_digits)
            except (RecursionError, MemoryError) as exc:
                verdict = Verdict.incorrect(f"the answer is too deeply nested or too large to compare ({type(exc).__name__})")
            except Exception as exc:  # sympy and latex2sympy raise many types on odd expressions
                verdict = Verdict.incorrect(f"comparing this answer raised {type(exc).__name__}: {exc}"[:300])
            os.write(replies, (json.dumps([verdict.status, verdict.reason]) + "\n").encode())


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the child still leaves when its request pipe closes
