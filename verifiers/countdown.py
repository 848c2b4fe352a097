"""Countdown: is the last ``<answer>`` an arithmetic expression that uses every given number once and hits the target?

A character whitelist and a length bound come first, then a check that the digit runs are exactly the given
numbers, then a one-pass precedence evaluator over a token list that accepts only integer literals, binary
``+ - * /`` and parentheses. Nothing is ever ``eval``-ed, so hostile text is rejected in microseconds.
Arithmetic is exact (ints, and ``fractions.Fraction`` only after a division that is not whole).
"""

from __future__ import annotations

import re
from fractions import Fraction

from pydantic import Field

from verifiers.base import TaskItem, Verdict, Verifier, VerifierConfig

ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
_BAD_CHAR = re.compile(r"[^0-9+\-*/() \t\n.=]")
_DIGITS = re.compile(r"[0-9]+")


class ExpressionError(ValueError):
    """The answer text is not a well-formed countdown expression; the message says why."""


class NumbersError(ExpressionError):
    """The expression does not use exactly the given numbers."""


def last_answer(text: str) -> str | None:
    """The content of the last ``<answer>…</answer>`` pair, or None when there is none."""
    start = text.rfind(ANSWER_OPEN)
    if start < 0:
        return None
    end = text.find(ANSWER_CLOSE, start)
    if end < 0:
        return None
    return text[start + len(ANSWER_OPEN) : end]


def parse_expression(
    text: str, max_chars: int = 200, max_depth: int = 32, expected: list[int] | None = None
) -> tuple[Fraction | int, list[int]]:
    """Parse and evaluate ``text`` exactly. Returns (value, integer literals used). Raises ExpressionError.

    ``"(1 + 2) * 3"`` -> (9, [1, 2, 3]). An optional trailing ``= N`` is checked against the value.
    With ``expected`` (sorted numbers), a text whose digit runs are not exactly those numbers fails fast
    with NumbersError before parsing.
    """
    text = text.strip()
    if not text:
        raise ExpressionError("empty answer")
    if len(text) > max_chars:
        raise ExpressionError(f"answer is {len(text)} characters, over the {max_chars} limit")
    bad = _BAD_CHAR.search(text)
    if bad:
        raise ExpressionError(f"character {bad.group()!r} is not allowed; use digits, + - * / and parentheses")
    lhs, claimed = _split_equation(text) if "=" in text else (text, None)
    if expected is not None:
        found = sorted(map(int, _DIGITS.findall(lhs)))
        if found != expected:
            raise NumbersError(_numbers_reason(found, expected))
    value, literals = evaluate_tokens(_TOKENS.findall(lhs), max_depth)
    if claimed is not None and claimed != value:
        raise ExpressionError(f"the expression equals {_fmt(value)}, not the claimed {_fmt(claimed)}")
    return value, literals


def _split_equation(text: str) -> tuple[str, Fraction | None]:
    parts = text.split("=")
    if len(parts) != 2 or not re.fullmatch(r"\s*\d{1,6}\s*", parts[1]):
        raise ExpressionError("only 'expression = integer' is allowed after '='")
    return parts[0], Fraction(int(parts[1]))


def evaluate_tokens(tokens: list[str], max_depth: int = 32) -> tuple[Fraction | int, list[int]]:
    """Evaluate an infix token list (integers, ``+ - * /``, parentheses) by operator precedence, exactly.

    One pass with an operand stack and an operator stack, no recursion: the cost is linear in the tokens and
    the nesting is bounded by ``max_depth``. Returns (value, integer literals in order).
    """
    values: list[Fraction | int] = []
    ops: list[str] = []
    literals: list[int] = []
    depth = 0
    want_operand = True
    for tok in tokens:
        if want_operand:
            if tok[0] in _DIGIT_CHARS:
                if tok[0] == "0" and tok.lstrip("0"):  # Python's rule: 0, 00 yes; 07 no
                    raise ExpressionError(f"not a valid expression: leading zeros in {tok!r} are not permitted")
                number = int(tok)
                values.append(number)
                literals.append(number)
                want_operand = False
            elif tok == "(":
                depth += 1
                if depth > max_depth:
                    raise ExpressionError(f"expression nests deeper than {max_depth}")
                ops.append(tok)
            elif tok == "-" or tok == "+":
                raise ExpressionError("unary operators are not allowed; combine the numbers with + - * /")
            else:
                raise _unexpected(tok)
        elif tok in _PRECEDENCE:
            precedence = _PRECEDENCE[tok]
            while ops and ops[-1] != "(" and _PRECEDENCE[ops[-1]] >= precedence:
                _reduce(values, ops.pop())
            ops.append(tok)
            want_operand = True
        elif tok == ")":
            while ops and ops[-1] != "(":
                _reduce(values, ops.pop())
            if not ops:
                raise ExpressionError("not a valid expression: unmatched ')'")
            ops.pop()
            depth -= 1
        else:
            raise _unexpected(tok)
    if want_operand:
        raise ExpressionError("not a valid expression: it ends where a number is expected")
    while ops:
        op = ops.pop()
        if op == "(":
            raise ExpressionError("not a valid expression: '(' was never closed")
        _reduce(values, op)
    return values[0], literals


_TOKENS = re.compile(r"[0-9]+|\*\*|//|[-+*/()]|\S")
_DIGIT_CHARS = frozenset("0123456789")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_BANNED_OPERATORS = {"**": "Pow", "//": "FloorDiv"}


def _unexpected(tok: str) -> ExpressionError:
    if tok in _BANNED_OPERATORS:
        return ExpressionError(f"operator {_BANNED_OPERATORS[tok]} is not allowed; only + - * /")
    if tok in _PRECEDENCE or tok == ")":
        return ExpressionError(f"not a valid expression: {tok!r} where a number is expected")
    if tok == "(":
        return ExpressionError("not a valid expression: '(' right after a number")
    if tok[0] in _DIGIT_CHARS:
        return ExpressionError(f"not a valid expression: two numbers in a row ({tok!r})")
    return ExpressionError(f"{tok!r} is not allowed; only integers, + - * / and parentheses")


def _reduce(values: list[Fraction | int], op: str) -> None:
    """Pop two operands, push ``a op b``. Exact: ints stay ints; a division yields a Fraction unless whole."""
    right = values.pop()
    left = values[-1]
    if op == "+":
        values[-1] = left + right
    elif op == "-":
        values[-1] = left - right
    elif op == "*":
        values[-1] = left * right
    elif right == 0:
        raise ZeroDivisionError("division by zero")
    elif type(left) is int and type(right) is int:
        values[-1] = left // right if left % right == 0 else Fraction(left, right)
    else:
        quotient = Fraction(left) / right
        values[-1] = quotient.numerator if quotient.denominator == 1 else quotient


def _fmt(value: Fraction | int) -> str:
    return str(value)


def _numbers_reason(used: list[int], given: list[int]) -> str:
    """Why sorted ``used`` is not the sorted multiset ``given``."""
    extra, missing = _multiset_difference(used, given)
    parts = []
    if extra:
        parts.append(f"uses {extra} not given (or more often than given)")
    if missing:
        parts.append(f"does not use {missing}")
    return "the expression " + " and ".join(parts)


def _multiset_difference(a: list[int], b: list[int]) -> tuple[list[int], list[int]]:
    """(a - b, b - a) as sorted multisets, for two sorted lists: one merge pass, no Counter."""
    only_a: list[int] = []
    only_b: list[int] = []
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            i += 1
            j += 1
        elif a[i] < b[j]:
            only_a.append(a[i])
            i += 1
        else:
            only_b.append(b[j])
            j += 1
    return only_a + a[i:], only_b + b[j:]


class CountdownConfig(VerifierConfig):
    """Options of the countdown verifier."""

    format_score: float = Field(default=0.0, ge=0.0, le=1.0, description="Score for a well-formed but wrong answer (TinyZero uses 0.1).")
    max_chars: int = Field(default=200, ge=1, description="Longest answer expression accepted.")
    max_depth: int = Field(default=32, ge=1, description="Deepest expression nesting accepted.")


class CountdownVerifier(Verifier):
    """Exact checker for Countdown: items carry ``nums`` (list of ints) and ``target`` (int)."""

    name = "countdown"
    Config = CountdownConfig
    default_timeout = 5.0
    bounded = True  # length and character whitelists before parsing; tests/verifiers/test_countdown.py HOSTILE

    def verify(self, item: TaskItem, completion: str) -> Verdict:
        nums, target = _item_fields(item)
        answer = last_answer(completion)
        if answer is None:
            return Verdict.incorrect("no <answer>...</answer> in the completion")
        try:  # with ``expected``, the literals used are exactly ``nums`` once parsing succeeds
            value, _ = parse_expression(answer, self.config.max_chars, self.config.max_depth, expected=sorted(nums))
        except NumbersError as exc:
            return Verdict.incorrect(str(exc), score=self.config.format_score)
        except ExpressionError as exc:
            return Verdict.incorrect(str(exc))
        except ZeroDivisionError:
            return Verdict.incorrect("the expression divides by zero", score=self.config.format_score)
        if value != target:
            return Verdict.incorrect(f"the expression equals {_fmt(value)}, not {target}", score=self.config.format_score)
        return Verdict.correct(f"{answer.strip()} = {target}, each given number used once")

    @classmethod
    def examples(cls) -> list[tuple[dict, str]]:
        """Gold (item, completion) pairs for contract tests."""
        return [
            ({"nums": [3, 5, 7], "target": 22}, "<think>3*5=15, +7</think><answer>3 * 5 + 7</answer>"),
            ({"nums": [2, 8, 10, 25], "target": 5}, "<answer>25 - 10 - 8 - 2</answer>"),
            ({"nums": [4, 6, 9], "target": 6}, "I try <answer>9</answer> first, then <answer>9 * 4 / 6</answer>"),
        ]


def _item_fields(item: TaskItem) -> tuple[list[int], int]:
    try:
        nums = list(map(int, item["nums"]))
        target = int(item["target"])
    except KeyError as exc:
        raise ValueError(f"countdown item is missing field {exc.args[0]!r} (needs 'nums' and 'target')") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"countdown item fields must be integers: {exc}") from None
    return nums, target
