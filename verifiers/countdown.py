"""Countdown: is the last ``<answer>`` an arithmetic expression that uses every given number once and hits the target?

Parsing is an ``ast`` whitelist (integer literals, binary ``+ - * /``, parentheses) after a character whitelist
and a length bound, so hostile text is rejected in microseconds. Arithmetic is exact (``fractions.Fraction``).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

from pydantic import Field

from verifiers.base import TaskItem, Verdict, Verifier, VerifierConfig

ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
_ALLOWED_CHARS = re.compile(r"[0-9+\-*/() \t\n.=]*")
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_DIGITS = re.compile(r"\d+")


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
    if not _ALLOWED_CHARS.fullmatch(text):
        bad = next(ch for ch in text if not _ALLOWED_CHARS.fullmatch(ch))
        raise ExpressionError(f"character {bad!r} is not allowed; use digits, + - * / and parentheses")
    lhs, claimed = _split_equation(text)
    if expected is not None:
        found = sorted(int(d) for d in _DIGITS.findall(lhs))
        if found != expected:
            raise NumbersError(check_numbers(found, expected) or "the numbers do not match")
    try:
        tree = ast.parse(lhs, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression: {exc.msg}") from None
    literals: list[int] = []
    value = _evaluate(tree.body, literals, depth=0, max_depth=max_depth)
    if claimed is not None and claimed != value:
        raise ExpressionError(f"the expression equals {_fmt(value)}, not the claimed {_fmt(claimed)}")
    return value, literals


def _split_equation(text: str) -> tuple[str, Fraction | None]:
    if "=" not in text:
        return text, None
    parts = text.split("=")
    if len(parts) != 2 or not re.fullmatch(r"\s*\d{1,6}\s*", parts[1]):
        raise ExpressionError("only 'expression = integer' is allowed after '='")
    return parts[0], Fraction(int(parts[1]))


def _evaluate(node: ast.AST, literals: list[int], depth: int, max_depth: int) -> Fraction | int:
    kind = type(node)
    if kind is ast.BinOp:
        if depth >= max_depth:
            raise ExpressionError(f"expression nests deeper than {max_depth}")
        op = type(node.op)
        if op not in _OPS:
            raise ExpressionError(f"operator {op.__name__} is not allowed; only + - * /")
        left = _evaluate(node.left, literals, depth + 1, max_depth)
        return _apply(op, left, _evaluate(node.right, literals, depth + 1, max_depth))
    if kind is ast.Constant:
        if type(node.value) is not int:
            raise ExpressionError(f"{node.value!r} is not an integer")
        literals.append(node.value)
        return node.value
    if kind is ast.UnaryOp:
        raise ExpressionError("unary operators are not allowed; combine the numbers with + - * /")
    raise ExpressionError(f"{kind.__name__} is not allowed; only integers, + - * / and parentheses")


def _apply(op: type, left: Fraction | int, right: Fraction | int) -> Fraction | int:
    """Exact arithmetic: ints stay ints; division yields a Fraction unless it is whole."""
    if op is ast.Add:
        return left + right
    if op is ast.Sub:
        return left - right
    if op is ast.Mult:
        return left * right
    if right == 0:
        raise ZeroDivisionError("division by zero")
    quotient = Fraction(left) / right
    return quotient.numerator if quotient.denominator == 1 else quotient


def _fmt(value: Fraction | int) -> str:
    return str(value)


def check_numbers(used: Sequence[int], given: Sequence[int]) -> str | None:
    """None when ``used`` is exactly the multiset ``given``; otherwise the reason it is not."""
    if sorted(used) == sorted(given):
        return None
    used_c, given_c = Counter(used), Counter(given)
    if used_c == given_c:
        return None
    extra = sorted((used_c - given_c).elements())
    missing = sorted((given_c - used_c).elements())
    parts = []
    if extra:
        parts.append(f"uses {extra} not given (or more often than given)")
    if missing:
        parts.append(f"does not use {missing}")
    return "the expression " + " and ".join(parts)


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
        try:
            value, used = parse_expression(answer, self.config.max_chars, self.config.max_depth, expected=sorted(nums))
        except NumbersError as exc:
            return Verdict.incorrect(str(exc), score=self.config.format_score)
        except ExpressionError as exc:
            return Verdict.incorrect(str(exc))
        except ZeroDivisionError:
            return Verdict.incorrect("the expression divides by zero", score=self.config.format_score)
        wrong_numbers = check_numbers(used, nums)
        if wrong_numbers:
            return Verdict.incorrect(wrong_numbers, score=self.config.format_score)
        if value != target:
            return Verdict.incorrect(f"the expression equals {_fmt(value)}, not {target}", score=self.config.format_score)
        return Verdict.correct(f"{answer.strip()} = {target} using each of {list(nums)} once")

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
        nums = [int(n) for n in item["nums"]]
        target = int(item["target"])
    except KeyError as exc:
        raise ValueError(f"countdown item is missing field {exc.args[0]!r} (needs 'nums' and 'target')") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"countdown item fields must be integers: {exc}") from None
    return nums, target
