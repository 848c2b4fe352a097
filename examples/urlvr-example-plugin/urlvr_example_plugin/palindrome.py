"""``palindrome``: is the last ``<answer>`` a palindrome (letters and digits only, case-folded) of a minimum length?"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from verifiers.base import TaskItem, Verdict, Verifier, VerifierConfig


def last_answer(text: str) -> str | None:
    """The content of the last ``<answer>…</answer>`` pair (linear time, even on hostile text), or None."""
    start = text.rfind("<answer>")
    end = text.find("</answer>", start) if start >= 0 else -1
    return text[start + len("<answer>") : end] if end >= 0 else None


class PalindromeConfig(VerifierConfig):
    """Options of the palindrome verifier."""

    max_chars: int = Field(default=10_000, ge=1, description="Longer answers are rejected unread.")


class PalindromeVerifier(Verifier):
    """Correct iff the last ``<answer>…</answer>`` reads the same backwards, with at least ``item["min_length"]`` characters."""

    name: ClassVar[str] = "palindrome"
    Config: ClassVar[type[VerifierConfig]] = PalindromeConfig
    default_timeout: ClassVar[float] = 1.0
    bounded: ClassVar[bool] = True  # linear scans, answers capped at max_chars: runs inside a Ray actor, no worker hop

    @classmethod
    def examples(cls) -> list[tuple[dict[str, Any], str]]:
        """Gold (item, completion) pairs for urlvr's contract test."""
        return [
            ({"min_length": 5}, "<answer>Never odd or even</answer>"),
            ({"min_length": 3}, "I think... <answer>racecar</answer>"),
        ]

    def verify(self, item: TaskItem, completion: str) -> Verdict:
        answer = last_answer(completion)
        if answer is None:
            return Verdict.incorrect("no <answer>...</answer> in the completion")
        if len(answer) > self.config.max_chars:
            return Verdict.incorrect(f"answer is {len(answer)} characters, over the {self.config.max_chars} limit")
        letters = [ch for ch in answer.casefold() if ch.isalnum()]
        need = int(item.get("min_length", 1))
        if len(letters) < need:
            return Verdict.incorrect(f"{len(letters)} letters/digits, fewer than the {need} required")
        if letters != letters[::-1]:
            return Verdict.incorrect(f"{answer.strip()!r} is not a palindrome")
        return Verdict.correct(f"{answer.strip()!r} is a palindrome")
