"""The ``code`` verifier: run a completion's code against the item's tests in a sandbox.

Items carry ``tests`` (assert-based Python: a string, or a list of independent units, with optional
``entry_point`` whose function is passed to a HumanEval-style ``check``, and optional ``setup`` code run
first) and/or ``io_tests`` (a list of ``{"input", "output"}`` stdin/stdout cases). Scoring is in
``verifiers.code.scoring``; this class only glues it to a sandbox backend.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import Field

from sandboxes import SANDBOXES, Limits, Sandbox, SandboxError, make_sandbox
from verifiers.base import Needs, TaskItem, Verdict, Verifier, VerifierConfig, safe_verify
from verifiers.code.scoring import HARNESS, build_job, extract_code, interpret

__all__ = ["CodeVerifier", "CodeVerifierConfig"]


class CodeVerifierConfig(VerifierConfig):
    """Options of the code verifier."""

    sandbox: str = Field(default="bwrap", description="Sandbox backend name (see sandboxes.SANDBOXES).")
    sandbox_options: dict[str, Any] = Field(default_factory=dict, description="The backend's own config.")
    limits: Limits = Field(default_factory=lambda: Limits(wall_seconds=10.0, cpu_seconds=8.0, memory_mb=512),
                           description="Limits of one item's whole run (all its tests).")
    case_timeout: float = Field(default=4.0, gt=0, description="Time limit of one stdin/stdout case.")
    scoring: Literal["all", "fraction"] = Field(default="all", description="1 only if all pass, or the fraction passed.")
    limit_verdict: Literal["timeout", "incorrect"] = Field(
        default="timeout", description="Status when a run exceeds a limit: masked timeout, or incorrect (score 0)."
    )
    concurrency: int = Field(default=2, ge=1, description="Sandbox runs in flight in verify_batch.")


class CodeVerifier(Verifier):
    """Runs code in a sandbox; a pass is proven by a per-run nonce the harness prints after the tests."""

    name = "code"
    Config = CodeVerifierConfig
    needs = Needs(sandbox=True)
    deterministic = True
    default_timeout = 20.0

    def __init__(self, config: CodeVerifierConfig | Mapping[str, Any] | None = None):
        super().__init__(config)
        if self.config.sandbox not in SANDBOXES:
            SANDBOXES.entry(self.config.sandbox)  # raises, listing the valid names
        self._sandbox: Sandbox | None = None
        self._sandbox_lock = threading.Lock()

    @property
    def timeout(self) -> float:
        return self.config.timeout or self.config.limits.wall_seconds + 10.0

    @property
    def sandbox(self) -> Sandbox:
        """The backend, created on first use (so the verifier pickles as its config alone)."""
        with self._sandbox_lock:
            if self._sandbox is None:
                self._sandbox = make_sandbox(self.config.sandbox, self.config.sandbox_options)
            return self._sandbox

    def verify(self, item: TaskItem, completion: str) -> Verdict:
        code = extract_code(completion)
        if not code.strip():
            return Verdict.incorrect("no code in the completion")
        try:
            files = build_job(item, code, self.config.case_timeout)
        except ValueError as exc:
            return Verdict.error(f"bad task item: {exc}")
        nonce = secrets.token_hex(16)
        try:
            sandbox = self.sandbox
            result = sandbox.run([sandbox.python, "-I", "-B", HARNESS], files=files, stdin=nonce + "\n",
                                 limits=self.config.limits)
        except SandboxError as exc:
            return Verdict.error(f"sandbox failed: {exc}"[:500])
        return interpret(result, nonce, self.config.scoring, self.config.limit_verdict)

    @classmethod
    def examples(cls) -> list[tuple[dict[str, Any], str]]:
        """Gold (item, completion) pairs for the contract test: assert-style and stdin/stdout tests."""
        return [
            ({"tests": "assert add(2, 3) == 5\nassert add(-1, 1) == 0", "entry_point": "add"},
             "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```"),
            ({"io_tests": [{"input": "3 4\n", "output": "7\n"}, {"input": "10 -2\n", "output": "8\n"}]},
             "```python\na, b = map(int, input().split())\nprint(a + b)\n```"),
        ]

    def verify_batch(self, items: Sequence[TaskItem], completions: Sequence[str]) -> list[Verdict]:
        """Score many, ``concurrency`` sandbox runs at a time; one item's exception is its own error verdict."""
        if len(items) != len(completions):
            raise ValueError(f"{len(items)} items but {len(completions)} completions")
        if self.config.concurrency == 1 or len(items) <= 1:
            return [safe_verify(self, i, c) for i, c in zip(items, completions)]
        with ThreadPoolExecutor(self.config.concurrency) as ex:
            return list(ex.map(lambda pair: safe_verify(self, *pair), zip(items, completions)))

    def close(self) -> None:
        """Tear the sandbox backend down (it is rebuilt on next use)."""
        with self._sandbox_lock:
            if self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None
