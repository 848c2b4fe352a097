"""The ``repl`` backend: one guarded proof through a kept REPL, with the verdict rules for process faults.

Faults before the completion reaches Lean (the REPL will not start, the header does not elaborate, the
task's statement does not elaborate) are the toolchain's or the task's: ``error`` (``timeout`` for a header
that does not finish). Once the proof has been sent, a timeout is the proof's (``incorrect``: Lean did not
finish). A crash is retried once on a fresh REPL: a second crash on the same proof is the proof's
(``incorrect``), a fresh REPL that cannot start is ``error``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from verifiers.base import Verdict
from verifiers.lean.config import LeanConfig
from verifiers.lean.repl import HeaderFailed, ReplDied, ReplError, ReplPool, ReplProcess, ReplTimedOut, ReplUnreadable
from verifiers.lean.scoring import Prepared, build_commands, judge, repl_failure
from verifiers.lean.toolchain import Toolchain


class _ToolchainFault(Exception):
    def __init__(self, verdict: Verdict):
        self.verdict = verdict


class ReplBackend:
    """Checks proofs in a ReplPool, one at a time (a lock serialises threads that share this verifier)."""

    def __init__(self, toolchain: Toolchain, config: LeanConfig):
        self.config = config
        self.pool = ReplPool(toolchain, header_timeout=config.header_timeout, max_uses=config.max_uses,
                             max_rss_mb=config.max_rss_mb, max_repls=config.max_repls)
        self.crash_retries = 0
        self._lock = threading.Lock()

    def check(self, item: Prepared) -> Verdict:
        with self._lock:
            return self._check(item)

    def _check(self, item: Prepared) -> Verdict:
        try:
            try:
                return self._attempt(item)
            except ReplDied as exc:
                self.crash_retries += 1
                first = str(exc)
            try:
                return self._attempt(item)
            except ReplDied as exc:
                return Verdict.incorrect(f"the proof crashed the Lean REPL twice ({first}; then {exc})"[:500])
        except _ToolchainFault as fault:
            return fault.verdict

    def _repl(self, header: str) -> ReplProcess:
        try:
            return self.pool.acquire(header)
        except ReplTimedOut as exc:
            raise _ToolchainFault(Verdict.timeout(f"the Lean REPL did not start and elaborate the header: {exc}")) from None
        except HeaderFailed as exc:
            raise _ToolchainFault(Verdict.error(f"Lean toolchain problem: {exc}"[:500])) from None
        except (ReplError, OSError) as exc:
            raise _ToolchainFault(Verdict.error(f"the Lean REPL could not start: {exc}"[:500])) from None

    def _reference_env(self, repl: ReplProcess, item: Prepared) -> int:
        """The environment with the task's statement added as the reference axiom (made once per REPL)."""
        key = item.statement.source
        if key in repl.references:
            return repl.references[key]
        commands = build_commands(item.statement, "", repl.nonce)
        try:
            reply = repl.send({"cmd": commands.reference, "env": repl.header_env}, self.config.header_timeout)
        except ReplError as exc:
            self.pool.discard(item.header, "crash")
            raise _ToolchainFault(Verdict.error(f"the Lean REPL failed on the task's statement: {exc}"[:500])) from None
        problem = repl_failure(reply) or _first_error(reply)
        if problem:
            raise _ToolchainFault(Verdict.error(f"the task's statement does not elaborate: {problem}"[:500]))
        repl.references[key] = int(reply["env"])
        return repl.references[key]

    def _attempt(self, item: Prepared) -> Verdict:
        repl = self._repl(item.header)
        env = self._reference_env(repl, item)
        commands = build_commands(item.statement, item.proof, repl.nonce)
        limit = self.config.proof_timeout
        deadline = time.monotonic() + limit
        try:
            proof_reply = repl.send({"cmd": commands.proof, "env": env}, limit)
            check_reply: dict[str, Any] = {}
            if not _first_error(proof_reply) and "env" in proof_reply:
                left = max(0.001, deadline - time.monotonic())
                check_reply = repl.send({"cmd": commands.check, "env": proof_reply["env"]}, left)
        except ReplTimedOut:
            self.pool.discard(item.header, "timeout")
            return Verdict.incorrect(f"Lean did not finish checking the proof within {limit:g}s (its REPL was killed)")
        except ReplUnreadable as exc:
            self.pool.discard(item.header, "crash")
            return Verdict.incorrect(f"Lean's answer to the proof was refused: {exc}"[:500])
        except ReplDied:
            self.pool.discard(item.header, "crash")
            raise
        failure = repl_failure(proof_reply) or (repl_failure(check_reply) if check_reply else None)
        if failure:
            self.pool.discard(item.header, "crash")
            return Verdict.error(f"the Lean REPL refused a command: {failure}")
        self.pool.release(item.header, repl)
        verdict = judge(proof_reply, check_reply, commands.check_name, item.allowed_axioms)
        return Verdict.correct(verdict.reason) if verdict.correct else Verdict.incorrect(verdict.reason)

    def stats(self) -> dict[str, float]:
        return {**{f"repl_{k}": float(v) for k, v in self.pool.counts.items()}, "repl_crash_retries": float(self.crash_retries)}

    def close(self) -> None:
        with self._lock:
            self.pool.close()


def _first_error(reply: dict[str, Any]) -> str | None:
    for m in reply.get("messages") or []:
        if isinstance(m, dict) and m.get("severity") == "error":
            return " ".join(str(m.get("data", "")).split())[:300]
    return None
