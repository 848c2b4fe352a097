"""The child side of the ``local`` backend: one worker process that builds a verifier once and verifies chunks.

Kept apart from the parent side (``verifiers.workers``) so that what runs in the child is easy to audit.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from verifiers.base import Columns, Verifier, add_row, gc_paused, safe_verify

FLUSH_ITEMS = 32
"""A worker sends results in groups of at most this many items ..."""
FLUSH_SECONDS = 0.02
"""... or as soon as the oldest unsent result is this old (seconds), and always at the end of a chunk."""


def _die_with_parent() -> None:
    """Exit when the parent goes away, even if the verifier is stuck (Linux: PDEATHSIG; else a watchdog)."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _limit_memory(max_memory_mb: int | None) -> None:
    if max_memory_mb:
        import resource

        limit = max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def worker_main(conn: Connection, state: Any, payload: bytes, max_memory_mb: int | None) -> None:
    """Build the verifier once, then verify chunks until told to stop.

    ``state`` is shared memory ``[index of the item in progress or -1, its start time]``: the parent reads
    it to time each item and to know which one hung, so results can travel in groups.
    """
    os.setpgid(0, 0)  # own process group, so a kill also reaches the verifier's own subprocesses
    _die_with_parent()
    try:
        _limit_memory(max_memory_mb)
        verifier: Verifier = pickle.loads(payload)
    except BaseException as exc:  # report any failure to build, then exit
        conn.send(("init_error", f"{type(exc).__name__}: {exc}"[:1000]))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        with gc_paused():
            _verify_chunk(conn, state, verifier, chunk)


def _verify_chunk(conn: Connection, state: Any, verifier: Verifier, chunk: list[tuple[int, Any, Any]]) -> None:
    """Verify a chunk, sending ``(indices, verdict columns)`` groups (the wire format, see ``verifiers.base``)."""
    indices, columns = _group()
    oldest = 0.0
    for idx, item, completion in chunk:
        state[1] = time.monotonic()  # start time first: a reader who sees the new index sees its start
        state[0] = idx
        v = safe_verify(verifier, item, completion)
        if not indices:
            oldest = time.monotonic()
        indices.append(idx)
        add_row(columns, v)
        if len(indices) >= FLUSH_ITEMS or time.monotonic() - oldest >= FLUSH_SECONDS:
            conn.send((indices, columns))
            indices, columns = _group()
    state[0] = -1
    conn.send((indices, columns))


def _group() -> tuple[list[int], Columns]:
    return [], ([], [], [], [])
