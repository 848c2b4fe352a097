"""Judge prompts for self-verification: the question and a proposed answer, as text for a judge model.

Pure text in, text out: generation happens elsewhere (the policy, a frozen copy, or an endpoint). Text the
policy wrote is normalised (:func:`normalize`) before any check, and the judge sees the normalised text, so
what was checked is what is judged.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

VERIFY_PROMPT = (
    "Here is a problem and a proposed answer.\n\nProblem: {question}\n\nProposed answer: {answer}\n\n"
    "Check the proposed answer carefully. Is it correct? Think briefly, then end your reply with "
    "\\boxed{{True}} if the proposed answer is correct or \\boxed{{False}} if it is not."
)

COMPACT_VERIFY_PROMPT = "verify {question} answer {answer}"
"""A short verification prompt for tiny models (``prompt_style=compact``); the judge still ends with \\boxed{True|False}."""

PromptStyle = Literal["full", "compact"]

# Cyrillic and Greek letters that render like the Latin ones of the verdict words (a partial skeleton table:
# NFKC keeps them apart, a judge model may not).
_CONFUSABLES = str.maketrans({
    "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0443": "y", "\u0445": "x",
    "\u0455": "s", "\u0456": "i", "\u0458": "j", "\u0501": "d", "\u04bb": "h", "\u0261": "g",
    "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H", "\u041e": "O",
    "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0425": "X", "\u0405": "S", "\u0406": "I",
    "\u03b1": "a", "\u03b5": "e", "\u03b9": "i", "\u03ba": "k", "\u03bd": "v", "\u03bf": "o", "\u03c1": "p",
    "\u03c4": "t", "\u03c5": "u", "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0397": "H", "\u0399": "I",
    "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T", "\u03a7": "X",
    "\u2019": "'", "\u2018": "'", "\u02bc": "'",
})

_VERDICT_WORDS = re.compile(r"(?<![a-z])(?:true|false|correct|incorrect|verified)(?![a-z])|\\boxed|\\fbox", re.IGNORECASE)
"""Verdict words not inside a longer word: ``True_``, ``1True``, ``(true)`` (not ``Trueman`` or ``untrue``)."""
_MARKS = re.compile("[\u2611\u2612\u2705\u2713-\u2718\u274c\u274e\U0001f44d\U0001f44e\U0001f197]")
"""Check marks, crosses, thumbs and OK signs: verdicts without words."""
_CAMEL_WORDS = re.compile(r"[a-z](?:True|False|TRUE|FALSE|Correct|Verified)")
"""A verdict word starting a camel-case part (``isTrue``), which the check above lets through."""


def normalize(text: str) -> str:
    """``text`` in NFKC with format characters (category Cf: zero-width spaces, joiners, bidi marks) removed
    and look-alike Cyrillic/Greek letters mapped to Latin. Linear in the length of ``text``."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf").translate(_CONFUSABLES)
        text = unicodedata.normalize("NFKC", text)
    return text


def build_verify_prompt(question: str, answer: str, style: PromptStyle = "full") -> str:
    """The user turn asking a judge to check ``answer`` for ``question`` (``style`` picks the full or compact template)."""
    template = COMPACT_VERIFY_PROMPT if style == "compact" else VERIFY_PROMPT
    return template.format(question=question.strip(), answer=answer.strip())


def answer_injects_verdict(answer: str) -> bool:
    """True when a proposed answer contains verdict words (after :func:`normalize`), which could steer or spoof the judge."""
    text = _skeleton(normalize(answer))
    return bool(_VERDICT_WORDS.search(text) or _CAMEL_WORDS.search(text) or (not text.isascii() and _MARKS.search(text)))


def _skeleton(text: str) -> str:
    """``text`` without combining marks (``Tr\u0301ue`` -> ``True``), for the injection check only."""
    if text.isascii():
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
