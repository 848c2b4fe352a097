"""``MathVerifier``: extract the final answer, pre-screen it, and judge it against the item's ``answer``."""

from __future__ import annotations

import multiprocessing
from typing import Any, ClassVar

from pydantic import Field

from verifiers.base import TaskItem, Verdict, Verifier, VerifierConfig
from verifiers.math.equivalence import compare, plain_numbers, screen
from verifiers.math.extract import answer_text, extract_answer
from verifiers.math.guards import Limits
from verifiers.math.isolation import Judge


class MathVerifierConfig(VerifierConfig):
    """Options of the math verifier. The per-item hard timeout (``timeout``) is enforced by the pool's process."""

    max_completion_chars: int = Field(default=200_000, ge=1, description="Longer completions score incorrect without parsing.")
    max_answer_chars: int = Field(default=1000, ge=1, description="Longer extracted answers are refused (incorrect).")
    max_nesting: int = Field(default=64, ge=1, description="Deeper bracket nesting in an answer is refused.")
    max_digits: int = Field(default=10_000, ge=1, description="Integer powers with more digits than this are refused.")
    max_factorial: int = Field(default=5000, ge=1, description="Factorials of larger integers are refused.")
    min_sig_digits: int = Field(default=3, ge=1, description="Significant digits a rounded decimal needs to match an exact value.")
    guards: bool = Field(default=True, description="Pre-screen answers before parsing; off only to exercise the judge's CPU budget.")
    answer_line_fallback: bool = Field(default=True, description="Without a \\boxed{}, use the last 'answer is ...' line.")
    compare_budget: float | None = Field(
        default=None, gt=0, description="CPU seconds sympy may spend comparing one answer before it scores incorrect; None = a fifth of the timeout."
    )


class MathVerifier(Verifier):
    """Scores a completion 1 when its last ``\\boxed{}`` (or "answer is" line) is equivalent to ``item["answer"]``.

    String checks, guards and plain numbers are judged in this process; anything that needs sympy goes to a
    forked child with ``compare_budget`` seconds (``verifiers.math.isolation``), so an answer too costly to
    compare scores ``incorrect`` instead of running into the pool's hard timeout, which would mask it."""

    name: ClassVar[str] = "math"
    Config: ClassVar[type[VerifierConfig]] = MathVerifierConfig
    default_timeout: ClassVar[float] = 10.0
    """The pool's hard limit. The judge child gets a fifth of it in CPU seconds per comparison (the slowest gold
    row takes 0.4 s cold) and three quarters of it in wall time, so only infrastructure faults reach it."""

    def __init__(self, config: VerifierConfig | dict[str, Any] | None = None):
        super().__init__(config)
        self.judge = Judge(self.config.compare_budget or self.timeout / 5, wall=0.75 * self.timeout)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # Unpickled in a pool's worker process: warm up and fork the judge now, under the worker's start-up limit
        # rather than on the first item's clock. Elsewhere (a Ray actor that only hands the verifier on) on demand.
        if multiprocessing.parent_process() is not None:
            self.judge.start()

    @property
    def limits(self) -> Limits | None:
        c = self.config
        return Limits(c.max_answer_chars, c.max_nesting, c.max_digits, c.max_factorial) if c.guards else None

    def verify(self, item: TaskItem, completion: str) -> Verdict:
        gold = gold_answer(item)
        if gold is None:
            return Verdict.error(f"task item has no usable 'answer' field (keys: {sorted(item)[:10]})")
        if len(completion) > self.config.max_completion_chars:
            return Verdict.incorrect(f"completion is {len(completion)} characters, over the {self.config.max_completion_chars} limit")
        pred = extract_answer(completion, self.config.answer_line_fallback)
        if pred is None:
            return Verdict.incorrect("no final answer found (expected \\boxed{...} or an 'answer is ...' line)")
        gold_clean = extract_answer(f"\\boxed{{{gold}}}", False) or gold
        quick = screen(gold_clean, pred, self.limits)
        if quick is not None:
            return quick
        if plain_numbers(gold_clean, pred):  # exact rationals: cheap and bounded here
            return compare(gold_clean, pred, self.config.min_sig_digits)
        return self.judge.compare(gold_clean, pred, self.config.min_sig_digits)

    @classmethod
    def examples(cls) -> list[tuple[dict[str, Any], str]]:
        """(item, gold completion) pairs that must score correct; used by the contract test over all verifiers."""
        return [
            ({"answer": "1/2"}, "Half of the pie is left, so the answer is \\boxed{\\frac{1}{2}}."),
            ({"answer": 42}, "6 * 7 = 42.\n\nThe answer is $42$."),
            ({"answer": "\\frac{\\pi}{2}"}, "The angle is \\boxed{\\dfrac{1}{2}\\pi}"),
            ({"answer": "x = 3"}, "Solving 2x + 1 = 7 gives \\boxed{3}."),
            ({"answer": "(-\\infty, 3)"}, "So x < 3, i.e. \\boxed{(-\\infty, 3)}."),
            ({"answer": "25\\%"}, "The discount is one quarter: \\boxed{25\\%}"),
        ]


def gold_answer(item: TaskItem) -> str | None:
    """The item's ground-truth answer as text: floats as plain decimals (``1e-07`` -> ``0.0000001``)."""
    return answer_text(item.get("answer"))
