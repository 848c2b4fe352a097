"""Cheap pre-screens that refuse answers sympy would choke on, before any parsing.

They catch the common hostile shapes in microseconds: over-long answers, deep nesting, integer power towers and
huge factorials (sympy evaluates ``9^{9^{9^9}}`` eagerly and never returns). They are a courtesy, not the bound:
the bound is the CPU budget of the judge child that runs sympy (``verifiers.math.isolation``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_FACTORIAL = re.compile(r"(\d+)\s*!")
_NESTED_FACTORIAL = re.compile(r"!\s*[)}][\s)}]*!")


@dataclass(frozen=True)
class Limits:
    """Bounds for the pre-screens (see MathVerifierConfig for what each one means)."""

    max_answer_chars: int = 1000
    max_nesting: int = 64
    max_digits: int = 10_000
    max_factorial: int = 5000


def refuse(answer: str, limits: Limits) -> str | None:
    """Why ``answer`` is refused without parsing, or None when it may be parsed."""
    if len(answer) > limits.max_answer_chars:
        return f"answer is {len(answer)} characters, over the {limits.max_answer_chars} limit"
    depth = nesting_depth(answer)
    if depth > limits.max_nesting:
        return f"brackets nest {depth} deep, over the {limits.max_nesting} limit"
    for match in _FACTORIAL.finditer(answer):
        if len(match.group(1)) > 7 or int(match.group(1)) > limits.max_factorial:
            return f"factorial of {match.group(1)[:20]} is over the {limits.max_factorial}! limit"
    if _NESTED_FACTORIAL.search(answer):
        return "a factorial of a factorial is not evaluated"
    group = _large_factorial_group(answer, limits.max_factorial)
    if group is not None:
        return f"factorial of the expression {group[:40]!r} may be over the {limits.max_factorial}! limit"
    digits = largest_power_digits(answer)
    if digits > limits.max_digits:
        shown = "astronomically many" if math.isinf(digits) else f"about {digits:.3g}"
        return f"an integer power has {shown} digits, over the {limits.max_digits} limit"
    return None


def _large_factorial_group(text: str, max_factorial: int) -> str | None:
    """The content of a bracketed group followed by ``!`` that could exceed the limit (``(10^{10})!``), or None."""
    for match in re.finditer(r"[)}]\s*!", text):
        close = match.start()
        opener = {")": "(", "}": "{"}[text[close]]
        depth, i = 0, close
        while i >= 0:
            if text[i] == text[close]:
                depth += 1
            elif text[i] == opener:
                depth -= 1
                if depth == 0:
                    break
            i -= 1
        content = text[i + 1 : close] if i >= 0 else text[:close]
        numbers = [int(n) for n in re.findall(r"\d{1,9}", content)]
        if re.search(r"[\^!*]|\\cdot|\\times|\d{10}", content) or any(n > max_factorial for n in numbers):
            return content
    return None


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``{}``, ``()`` and ``[]`` (unbalanced closers are ignored)."""
    depth = deepest = 0
    for ch in text:
        if ch in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "})]" and depth:
            depth -= 1
    return deepest


def largest_power_digits(text: str) -> float:
    """Decimal digits of the largest integer power tower written in ``text`` (``2^{10}`` -> 4.0, towers -> inf).

    Only towers made of integer literals, ``^`` and grouping are estimated; anything symbolic is left to sympy.
    """
    largest = 0.0
    i = 0
    while i < len(text):
        if text[i].isdigit() and (i == 0 or not text[i - 1].isdigit()):
            parsed = _Tower(text, i).parse()
            if parsed is not None:
                log10_value, end = parsed
                largest = max(largest, log10_value + 1)
                i = max(end, i + 1)
                continue
        i += 1
    return largest


class _Tower:
    """Recursive descent over ``power := atom ('^' atom)*`` (right-associative), atom := int | {power} | (power).

    Values are carried as log10 so that towers never get evaluated; a tower whose exponent overflows is inf.
    """

    def __init__(self, text: str, start: int):
        self.text, self.pos = text, start

    def parse(self) -> tuple[float, int] | None:
        value = self._power(depth=0)
        if value is None:
            return None
        return value, self.pos

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def _power(self, depth: int) -> float | None:
        if depth > 50:
            return math.inf
        base = self._atom(depth)
        if base is None:
            return None
        self._skip()
        if self.pos < len(self.text) and self.text[self.pos] == "^":
            save = self.pos
            self.pos += 1
            self._skip()
            exponent = self._power(depth + 1)
            if exponent is None:  # a symbolic exponent: not an integer tower
                self.pos = save
                return base
            return _log10_power(base, exponent)
        return base

    def _atom(self, depth: int) -> float | None:
        self._skip()
        if self.pos >= len(self.text):
            return None
        ch = self.text[self.pos]
        if ch.isdigit():
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos].isdigit():
                self.pos += 1
            return _log10_int(self.text[start : self.pos])
        if ch in "{(":
            close = "}" if ch == "{" else ")"
            save = self.pos
            self.pos += 1
            inner = self._power(depth + 1)
            self._skip()
            if inner is None or self.pos >= len(self.text) or self.text[self.pos] != close:
                self.pos = save
                return None
            self.pos += 1
            return inner
        return None


def _log10_int(digits: str) -> float:
    stripped = digits.lstrip("0")
    if not stripped:
        return -math.inf  # zero
    if len(stripped) > 300:
        return float(len(stripped) - 1)
    return math.log10(int(stripped))


def _log10_power(log_base: float, log_exponent: float) -> float:
    """log10(b ** e) given log10(b) and log10(e)."""
    if log_base <= 0 or log_exponent == -math.inf:  # base 0 or 1, or exponent 0: small
        return 0.0
    if log_exponent > 300:
        return math.inf
    return log_base * 10**log_exponent
