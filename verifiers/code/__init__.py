"""The ``code`` verifier: run a completion's code in a sandbox and judge it outside, on plain values only.

Items carry ``tests`` (or HumanEval's ``test``: assert-based Python, a string or a list of independent units;
with an ``entry_point`` whose function is passed to a HumanEval-style ``check``; optional ``setup`` and
starter code, ``starter_code`` or HumanEval's ``prompt``) and/or ``io_tests`` (``{"input", "output"}``
stdin/stdout cases). A body-only completion (HumanEval's ``completion``) is run after its starter code.

Assert tests: the solution runs in the sandbox under ``runner.py calls`` and only answers calls; the tests run
in a trusted judge process (``judge.py``) with a proxy for each function, so every comparison happens outside
the sandbox, on plain values. io tests: the sandbox reports each case's stdout, compared here. Expected
outputs never enter the sandbox. Whatever the solution does is ``incorrect`` at worst; ``error`` is kept for
the item's and the machinery's faults (see ``scoring``).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from sandboxes import SANDBOXES, Limits, Sandbox, SandboxError, make_sandbox
from verifiers.base import Needs, TaskItem, Verdict, Verifier, VerifierConfig, safe_verify
from verifiers.code.judges import JudgeDied, Judges
from verifiers.code.scoring import (Job, Tally, extract_code, io_inputs, parse_item, preamble, read_cases, read_judge,
                                    solution_source, verdict)

__all__ = ["CodeVerifier", "CodeVerifierConfig"]

RUNNER = "runner.py"
_JUDGE_GRACE = 5.0  # seconds past the wall limit the host waits for the judge's reply


@lru_cache(maxsize=None)
def _source(name: str) -> str:
    return Path(__file__).with_name(name).read_text()


class CodeVerifierConfig(VerifierConfig):
    """Options of the code verifier."""

    sandbox: str = Field(default="bwrap", description="Sandbox backend name (see sandboxes.SANDBOXES); it must be attachable.")
    sandbox_options: dict[str, Any] = Field(default_factory=dict, description="The backend's own config.")
    limits: Limits = Field(default_factory=lambda: Limits(wall_seconds=10.0, cpu_seconds=8.0, memory_mb=512),
                           description="Limits of one item's sandbox run (all its assert tests, or all its io cases).")
    case_timeout: float = Field(default=4.0, gt=0, description="Time limit of one stdin/stdout case.")
    scoring: Literal["all", "fraction"] = Field(default="all", description="1 only if all pass, or the fraction passed.")
    concurrency: int = Field(default=2, ge=1, description="Sandbox runs in flight in verify_batch.")


class CodeVerifier(Verifier):
    """Runs code in a sandbox that only answers calls; a trusted judge outside runs the tests and decides."""

    name = "code"
    Config = CodeVerifierConfig
    needs = Needs(sandbox=True)
    deterministic = True
    default_timeout = 20.0

    def __init__(self, config: CodeVerifierConfig | Mapping[str, Any] | None = None):
        super().__init__(config)
        backend = SANDBOXES.get(self.config.sandbox)  # raises, listing the valid names
        if not getattr(backend, "attachable", False):
            ok = [n for n in SANDBOXES.names() if getattr(SANDBOXES.get(n), "attachable", False)]
            raise ValueError(f"the code verifier needs a sandbox that can attach a socket; "
                             f"{self.config.sandbox!r} cannot; valid choices: {', '.join(ok)}")
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()
        self._judges = Judges()

    @property
    def timeout(self) -> float:
        """Two sandbox runs (io and asserts) can happen per item, plus the judge's grace."""
        return self.config.timeout or 2 * self.config.limits.wall_seconds + _JUDGE_GRACE + 5.0

    @property
    def sandbox(self) -> Sandbox:
        """The backend, created on first use (so the verifier pickles as its config alone)."""
        with self._lock:
            if self._sandbox is None:
                self._sandbox = make_sandbox(self.config.sandbox, self.config.sandbox_options)
            return self._sandbox

    def verify(self, item: TaskItem, completion: str) -> Verdict:
        code = extract_code(completion)
        if not code.strip():
            return Verdict.incorrect("no code in the completion")
        try:
            job = parse_item(item)
        except ValueError as exc:
            return Verdict.error(f"bad task item: {exc}")
        tallies: list[Tally] = []
        try:
            if job.cases:
                tallies.append(self._run_cases(job, code))
            if job.units:
                judged = self._run_calls(job, solution_source(job, code))
                if isinstance(judged, Verdict):
                    return judged
                tallies.append(judged)
        except SandboxError as exc:
            return Verdict.error(f"sandbox failed: {exc}"[:500])
        except JudgeDied as exc:
            return Verdict.error(f"judge failed: {exc}"[:500])
        return verdict(tallies, self.config.scoring)

    def _run_cases(self, job: Job, code: str) -> Tally:
        """Every stdin/stdout case in one sandbox run; outputs compared here."""
        limits = self.config.limits
        files = {RUNNER: _source(RUNNER), "values.py": _source("values.py"), "solution.py": code,
                 "inputs.json": io_inputs(job, self.config.case_timeout, limits.output_bytes // (2 * len(job.cases)))}
        sandbox = self.sandbox
        result = sandbox.run([sandbox.python, "-I", "-B", RUNNER, "io"], files=files, limits=limits)
        return read_cases(job, result)

    def _run_calls(self, job: Job, code: str) -> Tally | Verdict:
        """The assert tests: the judge runs them, calling into the sandboxed solution over a socket."""
        limits = self.config.limits
        request = {"tests": job.units, "entry_point": job.entry_point, "setup": job.setup, "starter": job.starter,
                   "seconds": limits.wall_seconds, "answer_bytes": limits.output_bytes}
        files = {RUNNER: _source(RUNNER), "values.py": _source("values.py"), "preamble.py": preamble(job),
                 "solution.py": code}
        sandbox = self.sandbox
        with self._judges.lease() as judge:
            ours, theirs = socket.socketpair()
            try:
                judge.submit(request, theirs.fileno())
            except BaseException:
                ours.close()
                raise
            finally:
                theirs.close()
            result = None
            try:
                result = sandbox.run([sandbox.python, "-I", "-B", RUNNER, "calls"], files=files, limits=limits,
                                     attach=ours.detach())
            finally:
                reply = judge.reply(limits.wall_seconds + _JUDGE_GRACE)
        if reply is None:
            return Tally(total=len(job.units), fatal="the tests ran over the time limit")
        return read_judge(reply, result)

    @classmethod
    def examples(cls) -> list[tuple[dict[str, Any], str]]:
        """Gold (item, completion) pairs for the contract test: assert-style, HumanEval-style and stdin/stdout."""
        return [
            ({"tests": "assert add(2, 3) == 5\nassert add(-1, 1) == 0", "entry_point": "add"},
             "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```"),
            ({"prompt": "def inc(x):\n    \"\"\"x + 1\"\"\"\n", "entry_point": "inc",
              "test": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(-1) == 0\n"},
             "    return x + 1\n"),
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
        """Tear the sandbox backend and the judges down (both are rebuilt on next use)."""
        with self._lock:
            if self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None
        self._judges.close()
