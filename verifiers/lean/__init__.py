"""The ``lean`` verifier: a Lean 4 proof of the task's theorem, checked by Lean after tampering guards.

An item carries ``formal_statement`` (``theorem NAME ... := by sorry``, miniF2F style), ``header`` (imports
and options, default none) and optionally ``allow_native_decide``. The completion's last ```lean block must
restate the theorem exactly and prove it. Pure guards (``guards``) refuse cheats before Lean sees anything;
then a backend (local REPL pool, or a kimina-lean-server) runs it and ``scoring`` reads Lean's answers.
Without a toolchain the guards still give their ``incorrect`` verdicts; other items get ``error``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from verifiers.base import Needs, TaskItem, Verdict, Verifier, gc_paused, safe_verify
from verifiers.lean import guards
from verifiers.lean.availability import unavailable
from verifiers.lean.config import LeanConfig
from verifiers.lean.sandbox import runnable
from verifiers.lean.scoring import NATIVE_AXIOMS, STANDARD_AXIOMS, Prepared, extract_proof
from verifiers.lean.toolchain import ToolchainMissing

__all__ = ["LeanConfig", "LeanVerifier", "prepare"]

_hint_shown = False

EXAMPLES = [
    ("theorem lean_example_add_zero (n : Nat) : n + 0 = n := by sorry", "by\n  omega"),
    ("theorem lean_example_and_swap (p q : Prop) (h : p ∧ q) : q ∧ p := by sorry", "by\n  exact ⟨h.2, h.1⟩"),
]


def prepare(item: TaskItem, completion: str, config: LeanConfig) -> Prepared | Verdict:
    """The guarded proof for ``item``, or the verdict that ends it here (``incorrect`` for the completion's
    faults, ``error`` for the item's)."""
    statement_text = item.get("formal_statement")
    if not isinstance(statement_text, str):
        what = "is not a string" if "formal_statement" in item else f"is missing (fields: {sorted(item)[:20]})"
        return Verdict.error(f"the item's formal_statement {what}")
    header = item.get("header") or ""
    if not isinstance(header, str):
        return Verdict.error("the item's header must be a string")
    try:
        statement = guards.parse_statement(statement_text)
    except (ValueError, guards.LexError) as exc:
        return Verdict.error(f"the item's formal_statement cannot be used: {exc}"[:500])
    proof = extract_proof(completion)
    if proof is None:
        return Verdict.incorrect("no closed ```lean block in the completion")
    proof = guards.strip_header_imports(proof, header)
    allow_native = bool(item.get("allow_native_decide", False)) or config.allow_native_decide
    reason = guards.check(proof, statement, allow_native_decide=allow_native)
    if reason:
        return Verdict.incorrect(reason)
    allowed = STANDARD_AXIOMS | NATIVE_AXIOMS if allow_native else STANDARD_AXIOMS
    return Prepared(header, statement, proof, allowed)


class LeanVerifier(Verifier):
    """Lean 4 proofs checked by Lean (REPL pool or kimina-lean-server), behind proof-tampering guards."""

    name: ClassVar[str] = "lean"
    Config = LeanConfig
    needs: ClassVar[Needs] = Needs(lean=True)
    default_timeout: ClassVar[float] = 750.0
    """Backstop for the pool's worker kill; Lean's own deadlines (header_timeout, proof_timeout) come first."""
    _announce: bool = True
    """Whether this instance may print the install hint: not a copy unpickled in a worker or a Ray actor."""

    def __init__(self, config: LeanConfig | Mapping[str, Any] | None = None):
        super().__init__(config)
        self._backend: Any = None
        self._missing: str | None = None
        if self._announce and self.config.backend == "repl" and not _hint_shown:
            try:  # cheap PATH look-ups: tell the person at the terminal now, not once per worker later
                runnable(self.config)
            except ToolchainMissing as exc:
                _show_hint_once(str(exc))

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._announce = False  # a copy sent to a worker or actor: the process that built it has told the user
        super().__setstate__(state)

    @property
    def timeout(self) -> float:
        c = self.config
        return c.timeout or max(self.default_timeout, 2 * (c.header_timeout + c.proof_timeout) + 30)

    @classmethod
    def examples(cls) -> list[tuple[dict[str, Any], str]]:
        return [({"formal_statement": s, "header": ""}, f"```lean\n{s.removesuffix(' := by sorry')} := {p}\n```")
                for s, p in EXAMPLES]

    @classmethod
    def unavailable(cls, config: LeanConfig | Mapping[str, Any] | None = None) -> str | None:
        """One line saying why proofs cannot be checked here (no toolchain, no endpoint), or None."""
        return unavailable(config)

    def verify(self, item: TaskItem, completion: str) -> Verdict:
        prepared = prepare(item, completion, self.config)
        if isinstance(prepared, Verdict):
            return prepared
        backend = self._get_backend()
        if backend is None:
            return Verdict.error(str(self._missing))
        return backend.check(prepared)

    def verify_batch(self, items: Sequence[TaskItem], completions: Sequence[str]) -> list[Verdict]:
        """As the base class, but the kimina backend gets the guarded proofs in one request."""
        if self.config.backend != "kimina":
            return super().verify_batch(items, completions)
        if len(items) != len(completions):
            raise ValueError(f"{len(items)} items but {len(completions)} completions")
        with gc_paused():
            out: list[Verdict | None] = []
            todo: list[tuple[int, Prepared]] = []
            for k, (item, completion) in enumerate(zip(items, completions)):
                try:
                    p = prepare(item, completion, self.config) if isinstance(completion, str) else None
                except Exception:  # a bad item: safe_verify below turns the same failure into its error verdict
                    p = None
                if isinstance(p, Prepared):
                    todo.append((k, p))
                out.append(p if isinstance(p, Verdict) else None if p else safe_verify(self, item, completion))
            for (k, _), verdict in zip(todo, self._get_backend().check_many([p for _, p in todo])):
                out[k] = verdict
            return out  # type: ignore[return-value]

    def _get_backend(self) -> Any:
        if self._backend is not None or self._missing is not None:
            return self._backend
        if self.config.backend == "kimina":
            from verifiers.lean.kimina import KiminaBackend

            self._backend = KiminaBackend(self.config)
            return self._backend
        try:
            toolchain = runnable(self.config)
        except ToolchainMissing as exc:
            self._missing = f"no Lean toolchain: {exc.reason}; see docs/lean.md"
            if self._announce:
                _show_hint_once(str(exc))
            return None
        from verifiers.lean.runner import ReplBackend

        self._backend = ReplBackend(toolchain, self.config)
        return self._backend

    def stats(self) -> dict[str, float]:
        """REPL reuse and restart counters of this instance's backend (empty before its first proof)."""
        return self._backend.stats() if self._backend is not None else {}

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def _show_hint_once(reason: str) -> None:
    """Print the install hint on stderr once per process (copies in workers report it in verdicts instead)."""
    global _hint_shown
    if not _hint_shown:
        _hint_shown = True
        print(f"warning: lean verifier: {reason}", file=sys.stderr)
