"""Self-verification prompts: ask a model whether a proposed answer is right, and parse its verdict adversarially.

Pure text in, text out: generation happens elsewhere (the policy, a frozen copy, or an endpoint).
"""

from __future__ import annotations

import re
from typing import Literal

from verifiers.base import Verdict

VERIFY_PROMPT = (
    "Here is a problem and a proposed answer.\n\nProblem: {question}\n\nProposed answer: {answer}\n\n"
    "Check the proposed answer carefully. Is it correct? Think briefly, then end your reply with "
    "\\boxed{{True}} if the proposed answer is correct or \\boxed{{False}} if it is not."
)

COMPACT_VERIFY_PROMPT = "verify {question} answer {answer}"
"""A short verification prompt for tiny models (``prompt_style=compact``); the judge still ends with \\boxed{True|False}."""

PromptStyle = Literal["full", "compact"]

_BOXED = re.compile(r"\\boxed\s*\{\s*(?:\\text\s*\{)?\s*([A-Za-z]+)\s*\}?\s*\}")
_BARE = re.compile(r"\b(true|false)\b", re.IGNORECASE)
_INJECTION = re.compile(r"\\boxed|\b(true|false)\b", re.IGNORECASE)

ParseMode = Literal["boxed", "boxed_or_bare"]


def build_verify_prompt(question: str, answer: str, style: PromptStyle = "full") -> str:
    """The user turn asking a judge to check ``answer`` for ``question`` (``style`` picks the full or compact template)."""
    template = COMPACT_VERIFY_PROMPT if style == "compact" else VERIFY_PROMPT
    return template.format(question=question.strip(), answer=answer.strip())


def answer_injects_verdict(answer: str) -> bool:
    """True when a proposed answer itself contains verdict words, which could steer or spoof the judge."""
    return bool(_INJECTION.search(answer))


def parse_judgement(text: str, mode: ParseMode = "boxed") -> Verdict:
    """``correct`` only when the judge says True and never False.

    Both True and False, or neither, is not a pass: ``incorrect`` with reason ``ambiguous`` or ``no verdict``.
    ``boxed_or_bare`` falls back to bare True/False words when no ``\\boxed{}`` verdict is present.
    """
    found = {m.group(1).lower() for m in _BOXED.finditer(text)}
    found &= {"true", "false"}
    source = "boxed"
    if not found and mode == "boxed_or_bare":
        found = {m.group(1).lower() for m in _BARE.finditer(text)}
        source = "bare"
    if found == {"true"}:
        return Verdict.correct(f"judge said True ({source})")
    if found == {"false"}:
        return Verdict.incorrect(f"judge said False ({source})")
    if found:
        return Verdict.incorrect("ambiguous: judge said both True and False")
    return Verdict.incorrect("no verdict: judge gave neither True nor False")
