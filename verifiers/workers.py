"""Process-isolated verification (the ``local`` backend): long-lived workers, a hard per-item timeout.

The parent sends each worker chunks of items. The worker publishes the index and start time of the item
in progress in shared memory and sends results back in small groups. The parent times each item from its
start: past the limit it SIGKILLs the worker, marks that item ``timeout``, starts a fresh worker and sends
it the rest (finished-but-unsent items are redone). A worker that dies marks its current item ``error``
the same way. Workers start through ``forkserver``, never ``fork``: the parent may hold Ray or torch threads.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from multiprocessing.connection import wait
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from verifiers.base import Columns, TaskItem, Verdict, Verifier, from_columns
from verifiers.pool import PoolStats
from verifiers.registry import make_verifier
from verifiers.worker_process import worker_main

START_METHOD = "forkserver"

class WorkerInitError(RuntimeError):
    """A worker process could not build the verifier (import error, bad config, ...)."""


# --------------------------------------------------------------------------- parent side


def _exit_description(proc: mp.process.BaseProcess) -> str:
    proc.join(timeout=1.0)
    code = proc.exitcode
    if code is None:
        return "stopped responding"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class _Worker:
    """One worker process and the indices it still owes results for, in the order it verifies them."""

    def __init__(self, ctx: Any, payload: bytes, max_memory_mb: int | None):
        self.conn, child = ctx.Pipe(duplex=True)
        self.state = ctx.RawArray("d", [-1.0, 0.0])
        self.proc = ctx.Process(
            target=worker_main,
            args=(child, self.state, payload, max_memory_mb),
            daemon=True,
            name="urlvr-verifier-worker",
        )
        self.proc.start()
        child.close()
        self.started = time.monotonic()
        self.ready = False
        self.inflight: deque[int] = deque()
        self.active = 0.0
        """When the worker was last seen making progress (a chunk sent or results received)."""

    def current(self) -> tuple[int, float]:
        """(index of the item in progress or -1, when it started), read consistently from shared memory."""
        while True:
            idx, started, again = self.state[0], self.state[1], self.state[0]
            if idx == again:
                return int(idx), started

    def deadline(self, timeout: float, start_timeout: float) -> float:
        if not self.ready:
            return self.started + start_timeout
        idx, started = self.current()
        return max(self.active, started if idx >= 0 else 0.0) + timeout

    def kill(self) -> None:
        pid = self.proc.pid
        if pid is not None and self.proc.exitcode is None:
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    continue
        self.proc.join(timeout=5.0)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(timeout=2.0)
        except (OSError, ValueError):
            pass
        self.kill()


class WorkerRunner:
    """N long-lived worker processes, each holding one verifier; ``run`` returns verdicts in input order.

    ``run`` holds a lock, so concurrent callers queue rather than interleave.
    """

    def __init__(
        self,
        verifier: Verifier,
        workers: int = 1,
        timeout: float | None = None,
        *,
        chunk_size: int = 64,
        start_timeout: float = 120.0,
        max_memory_mb: int | None = None,
    ):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.verifier_name = verifier.name
        self.timeout = float(timeout or verifier.timeout)
        self.chunk_size = chunk_size
        self.start_timeout = start_timeout
        self.max_memory_mb = max_memory_mb
        self.restarts = 0
        self._payload = pickle.dumps(verifier)
        self._ctx = mp.get_context(START_METHOD)
        if START_METHOD == "forkserver":  # takes effect when this process first starts its fork server
            self._ctx.set_forkserver_preload(["verifiers.worker_process", type(verifier).__module__])
        self._lock = threading.Lock()
        self._workers = [self._spawn() for _ in range(workers)]
        self._await_ready()

    # -- lifecycle

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self._payload, self.max_memory_mb)

    def _await_ready(self) -> None:
        for w in self._workers:
            if w.conn.poll(self.start_timeout):
                try:
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    msg = ("init_error", f"the worker {_exit_description(w.proc)} while starting")
            else:
                msg = ("init_error", f"the worker did not start within {self.start_timeout:g}s")
            if msg[0] != "ready":
                self.close()
                raise WorkerInitError(f"verifier {self.verifier_name!r} could not be built in a worker process: {msg[1]}")
            w.ready = True

    def close(self) -> None:
        """Stop all workers (politely, then SIGKILL)."""
        for w in self._workers:
            w.stop()
        self._workers = []

    def __enter__(self) -> WorkerRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running

    def run(self, items: Sequence[TaskItem], completions: Sequence[Any]) -> list[Verdict]:
        """Verify every pair across the workers; a timed-out or crashed item gets its own masked verdict."""
        return from_columns(self.run_columns(items, completions))

    def run_columns(self, items: Sequence[TaskItem], completions: Sequence[Any]) -> Columns:
        """Like ``run``, as verdict columns (the wire format, cheap to send on, e.g. from a Ray actor)."""
        if len(items) != len(completions):
            raise ValueError(f"{len(items)} items but {len(completions)} completions")
        with self._lock:
            if not self._workers:
                raise RuntimeError("this WorkerRunner is closed")
            try:
                return _Run(self, items, completions).go()
            except BaseException:  # e.g. KeyboardInterrupt: busy workers would send stale results to the next run
                for i, w in enumerate(self._workers):
                    if w.inflight:
                        self.replace(i)
                raise

    def replace(self, i: int) -> _Worker:
        """Kill worker ``i`` and start a fresh one in its place."""
        self._workers[i].kill()
        self.restarts += 1
        self._workers[i] = self._spawn()
        return self._workers[i]


def unpicklable_reason(item: Any, completion: Any) -> str | None:
    """Why ``(item, completion)`` cannot cross a process boundary, or None if it can."""
    try:
        pickle.dumps((item, completion))
    except Exception as exc:  # PicklingError, TypeError, AttributeError, RecursionError, ...
        return f"the item or completion cannot be pickled to reach a verifier process: {type(exc).__name__}: {exc}"[:500]
    return None


class _Run:
    """One ``WorkerRunner.run`` call: hands out chunks, collects results, enforces deadlines."""

    def __init__(self, runner: WorkerRunner, items: Sequence[TaskItem], completions: Sequence[Any]):
        self.runner, self.items, self.completions = runner, items, completions
        self.workers = runner._workers  # the runner's list: replacements show up here too
        n = len(items)
        self.columns: Columns = ([""] * n, [None] * n, [""] * n, [0.0] * n)  # every slot is filled before go returns
        self.size = max(1, min(runner.chunk_size, math.ceil(n / len(self.workers))))
        self.todo = deque(list(range(s, min(n, s + self.size))) for s in range(0, n, self.size))

    def go(self) -> Columns:
        while self.todo or any(w.inflight for w in self.workers):
            for i, w in enumerate(self.workers):
                # keep a second chunk queued behind the current one, so a worker never waits for the parent
                while self.todo and len(self.workers[i].inflight) < self.size:
                    self.dispatch(i, self.todo.popleft())
            self.pump()
        return self.columns

    def put(self, idx: int, verdict: Verdict) -> None:
        statuses, scores, reasons, seconds = self.columns
        statuses[idx], scores[idx], reasons[idx], seconds[idx] = verdict.status, verdict.score, verdict.reason, verdict.seconds

    def send(self, w: _Worker, chunk: list[int], payload: bytes) -> None:
        w.conn.send_bytes(payload)
        if not w.inflight:  # an idle worker starts its clock now; a busy one keeps the clock of its current item
            w.active = time.monotonic()
        w.inflight.extend(chunk)

    def dispatch(self, i: int, chunk: list[int]) -> None:
        try:
            payload = pickle.dumps([(j, self.items[j], self.completions[j]) for j in chunk], protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # some item cannot cross a process boundary (PicklingError, TypeError, RecursionError, ...)
            reasons = {j: unpicklable_reason(self.items[j], self.completions[j]) for j in chunk}
            bad = {j for j, why in reasons.items() if why} or set(chunk)
            for j in bad:
                self.put(j, Verdict.error(reasons[j] or f"the chunk cannot be pickled for a worker process: {exc}"[:500]))
            if len(bad) < len(chunk):
                self.dispatch(i, [j for j in chunk if j not in bad])
            return
        try:
            self.send(self.workers[i], chunk, payload)
        except (OSError, ValueError):  # the worker died while idle: a fresh one gets the chunk instead
            try:
                self.send(self.runner.replace(i), chunk, payload)
            except (OSError, ValueError) as exc:
                for j in chunk:
                    self.put(j, Verdict.error(f"could not send the item to a verifier worker: {exc}"))

    def pump(self) -> None:
        rt = self.runner
        busy = [(i, w) for i, w in enumerate(self.workers) if w.inflight]
        if not busy:  # every remaining item failed before reaching a worker
            return
        wait_s = max(0.0, min(w.deadline(rt.timeout, rt.start_timeout) for _, w in busy) - time.monotonic())
        readable = set(wait([w.conn for _, w in busy], timeout=wait_s))
        for i, w in busy:
            if w.conn in readable:
                self.drain(i, w)
        now = time.monotonic()
        for i, w in busy:
            if w is self.workers[i] and w.inflight and now >= w.deadline(rt.timeout, rt.start_timeout):
                self.expire(i, w)

    def drain(self, i: int, w: _Worker) -> None:
        while w.inflight and w.conn.poll():
            try:
                msg = w.conn.recv()
            except (EOFError, OSError):
                why = f"the verifier worker {_exit_description(w.proc)} while verifying this item"
                self.fail_current(i, w, Verdict.error(why))
                return
            if isinstance(msg[0], str):  # ("ready", pid) or ("init_error", why); results are (indices, columns)
                if msg[0] == "init_error":
                    self.fail_all(i, w, f"a restarted verifier worker could not build the verifier: {msg[1]}")
                    return
                w.ready = True
            else:
                self.take(w, *msg)
            w.active = time.monotonic()

    def take(self, w: _Worker, indices: list[int], columns: Columns) -> None:
        """Store a group of results (``indices`` and their verdict columns) from worker ``w``, in its order."""
        statuses, scores, reasons, seconds = self.columns
        inflight = w.inflight
        for idx, status, score, reason, secs in zip(indices, *columns):
            expected = inflight.popleft()
            if idx != expected:
                raise RuntimeError(f"worker protocol error: got item {idx}, expected {expected}")
            statuses[idx], scores[idx], reasons[idx], seconds[idx] = status, score, reason, secs

    def expire(self, i: int, w: _Worker) -> None:
        if not w.ready:
            self.fail_all(i, w, f"a restarted verifier worker did not start within {self.runner.start_timeout:g}s")
            return
        limit = self.runner.timeout
        why = f"exceeded the hard per-item timeout of {limit:g}s; the worker was killed and replaced"
        self.fail_current(i, w, Verdict.timeout(why).timed(limit))

    def fail_current(self, i: int, w: _Worker, verdict: Verdict) -> None:
        """Give the item in progress ``verdict``; a fresh worker redoes the rest, including finished-but-unsent ones."""
        idx, _ = w.current()
        if idx not in w.inflight:  # died between items: blame the next one, so a dying worker cannot loop forever
            idx = w.inflight[0]
        self.put(idx, verdict)
        rest = [j for j in w.inflight if j != idx]
        w.inflight.clear()
        self.runner.replace(i)
        if rest:
            self.dispatch(i, rest)

    def fail_all(self, i: int, w: _Worker, why: str) -> None:
        for j in w.inflight:
            self.put(j, Verdict.error(why))
        w.inflight.clear()
        self.runner.replace(i)


# --------------------------------------------------------------------------- the `local` pool backend


class LocalPoolOptions(BaseModel):
    """Options of the ``local`` backend."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workers: int = Field(default=1, ge=1, description="Worker processes, each holding one verifier.")
    timeout: float | None = Field(default=None, gt=0, description="Hard per-item timeout (s); None = the verifier's.")
    chunk_size: int = Field(default=64, ge=1, description="Items sent to a worker at once (results still stream back one by one).")
    start_timeout: float = Field(default=120.0, gt=0, description="Seconds a worker may take to build the verifier.")
    max_memory_mb: int | None = Field(default=None, ge=64, description="Address-space limit per worker (RLIMIT_AS).")


class LocalPool:
    """Verifies in long-lived local worker processes with hard per-item timeouts (the default backend)."""

    def __init__(self, name: str, config: Mapping[str, Any] | None = None, **options: Any):
        self.name = name
        self.options = LocalPoolOptions.model_validate(options)
        opts = self.options.model_dump()
        self.runner = WorkerRunner(make_verifier(name, config), opts.pop("workers"), opts.pop("timeout"), **opts)
        self._stats = PoolStats()

    def verify_batch(self, items: Sequence[TaskItem], completions: Sequence[str]) -> list[Verdict]:
        start = time.perf_counter()
        verdicts = self.runner.run(items, completions)
        self._stats.record(verdicts, time.perf_counter() - start)
        return verdicts

    def stats(self) -> dict[str, float]:
        return {**self._stats.summary(), "worker_restarts": float(self.runner.restarts)}

    def close(self) -> None:
        self.runner.close()

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
