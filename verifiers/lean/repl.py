"""A pool of long-lived Lean REPL processes (leanprover-community/repl), one per import header.

We speak the REPL's JSON protocol directly over a subprocess's pipes instead of going through ``lean-interact``:
the protocol is two JSON shapes (``{"cmd": ..., "env": n}`` in; ``{"env", "messages", "sorries"}`` out), and
owning the process lets us put the hard deadline at the process boundary (the REPL runs in its own process
group, which is SIGKILLed at the deadline), read its memory from /proc, and restart it on our own rules,
without a dependency that downloads toolchains at run time.

A REPL elaborates its header once; each proof then runs in the environment the header left (its ``env`` id),
after the task's statement has been added there as a reference axiom (once per statement and process).
A REPL is replaced after ``max_uses`` proofs, above ``max_rss_mb`` resident memory, and after any timeout
or crash. Nothing here decides whether a proof is right: ``scoring`` does that from the answers.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import tempfile
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from verifiers.lean.toolchain import Toolchain

MAX_REPLY_BYTES = 16 * 2**20
"""A REPL answer above this size is refused (the completion controls how long Lean's messages are)."""


class ReplError(Exception):
    """The REPL process failed; subclasses say how."""


class ReplDied(ReplError):
    """The REPL exited or closed its output."""


class ReplTimedOut(ReplError):
    """The REPL did not answer before the deadline; it has been killed."""


class ReplUnreadable(ReplError):
    """The REPL answered something that is not one JSON object (or too much of it); it has been killed."""


class HeaderFailed(ReplError):
    """The header did not elaborate (a missing Mathlib, a wrong toolchain): a toolchain fault."""


try:  # looked up here, not in the child: between fork and exec the child must not import anything
    import ctypes

    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: PR_SET_PDEATHSIG, so a killed worker leaves no orphan REPL."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)


class ReplProcess:
    """One REPL process with its header elaborated; ``send`` runs one command before a deadline."""

    def __init__(self, toolchain: Toolchain, header: str, header_timeout: float):
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            toolchain.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, bufsize=0,
            cwd=toolchain.cwd, env=toolchain.environ(), start_new_session=True, preexec_fn=_die_with_parent,
        )
        os.set_blocking(self.proc.stdin.fileno(), False)
        self._buf = bytearray()
        self.uses = 0
        self.nonce = secrets.token_hex(8)
        """Unguessable suffix of this process's reserved names (a completion cannot refer to them)."""
        self.references: dict[str, int] = {}
        try:
            reply = self.send({"cmd": header}, header_timeout)
        except ReplError:
            self.kill()
            raise
        problem = _header_problem(reply)
        if problem:
            self.kill()
            raise HeaderFailed(f"the header did not elaborate: {problem}")
        self.header_env = int(reply["env"])

    # -- the protocol

    def send(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """Send one command and read its answer; past ``timeout`` seconds the process is killed (ReplTimedOut)."""
        deadline = time.monotonic() + timeout
        self._write(json.dumps(request, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n\n", deadline, timeout)
        return self._read(deadline, timeout)

    def _write(self, data: bytes, deadline: float, timeout: float) -> None:
        fd, view = self.proc.stdin.fileno(), memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise ReplTimedOut(f"the REPL did not read its input within {timeout:g}s")
            _, ready, _ = select.select([], [fd], [], left)
            if ready:
                try:
                    view = view[os.write(fd, view):]
                except (BrokenPipeError, OSError):
                    raise ReplDied(self.exit_description()) from None

    def _read(self, deadline: float, timeout: float) -> dict[str, Any]:
        fd = self.proc.stdout.fileno()
        while True:
            reply = self._take_reply()
            if reply is not None:
                return reply
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise ReplTimedOut(f"no answer within {timeout:g}s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise ReplDied(self.exit_description())
            self._buf += chunk
            if len(self._buf) > MAX_REPLY_BYTES:
                self.kill()
                raise ReplUnreadable(f"the answer is over {MAX_REPLY_BYTES >> 20} MB")

    def _take_reply(self) -> dict[str, Any] | None:
        """One complete answer from the buffer (answers end with a blank line), or None if not yet there."""
        while True:
            end = self._buf.find(b"\n\n")
            if end < 0:
                return None
            raw = bytes(self._buf[:end])
            del self._buf[: end + 2]
            if not raw.strip():
                continue
            try:
                reply = json.loads(raw)
            except ValueError:
                self.kill()
                raise ReplUnreadable(f"the answer is not JSON: {raw[:120]!r}") from None
            if not isinstance(reply, dict):
                self.kill()
                raise ReplUnreadable(f"the answer is not a JSON object: {raw[:120]!r}")
            return reply

    # -- the process

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_mb(self) -> float:
        """Resident memory of the REPL and its children in MB (Linux /proc; 0 where unreadable)."""
        total, todo, seen = 0, [self.proc.pid], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            total += _vm_rss_kb(pid)
            todo.extend(_children(pid))
        return total / 1024

    def kill(self) -> None:
        """SIGKILL the REPL's whole process group and reap it."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def exit_description(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the REPL closed its output but kept running"
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 300))
        tail = " ".join(self._stderr.read().decode("utf-8", "replace").split())
        return f"the REPL {how}" + (f" ({tail})" if tail else "")


def _header_problem(reply: Mapping[str, Any]) -> str | None:
    if "env" not in reply:
        return str(reply.get("message", reply))[:300]
    for m in reply.get("messages") or []:
        if isinstance(m, Mapping) and m.get("severity") == "error":
            return " ".join(str(m.get("data", "")).split())[:300]
    return None


def _vm_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except (OSError, ValueError):
        pass
    return out


class ReplPool:
    """REPL processes keyed by import header, reused until a restart rule retires them."""

    def __init__(self, toolchain: Toolchain, *, header_timeout: float, max_uses: int, max_rss_mb: float, max_repls: int):
        self.toolchain = toolchain
        self.header_timeout, self.max_uses, self.max_rss_mb, self.max_repls = header_timeout, max_uses, max_rss_mb, max_repls
        self._repls: OrderedDict[str, ReplProcess] = OrderedDict()
        self.counts = {"starts": 0, "header_reuses": 0, "retired_uses": 0, "retired_memory": 0,
                       "retired_timeout": 0, "retired_crash": 0, "evicted": 0}

    def acquire(self, header: str) -> ReplProcess:
        """A live REPL with ``header`` elaborated: a kept one when there is one, else a fresh one (ReplError)."""
        repl = self._repls.get(header)
        if repl is not None and repl.alive():
            self._repls.move_to_end(header)
            self.counts["header_reuses"] += 1
            return repl
        if repl is not None:
            self.discard(header, "crash")
        while len(self._repls) >= self.max_repls:
            old, _ = next(iter(self._repls.items()))
            self.discard(old, None)
            self.counts["evicted"] += 1
        self.counts["starts"] += 1
        repl = ReplProcess(self.toolchain, header, self.header_timeout)
        self._repls[header] = repl
        return repl

    def release(self, header: str, repl: ReplProcess) -> None:
        """Count one use of ``repl``; retire it after ``max_uses`` or above ``max_rss_mb``."""
        repl.uses += 1
        if repl.uses >= self.max_uses:
            self.discard(header, "uses")
        elif repl.rss_mb() > self.max_rss_mb:
            self.discard(header, "memory")

    def discard(self, header: str, why: str | None) -> None:
        """Kill the REPL kept for ``header`` (if any) and count why."""
        repl = self._repls.pop(header, None)
        if repl is not None:
            repl.kill()
            if why:
                self.counts[f"retired_{why}"] += 1

    def close(self) -> None:
        for header in list(self._repls):
            self.discard(header, None)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
