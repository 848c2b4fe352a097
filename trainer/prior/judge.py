"""The organism's way of verifying: one evaluation of the proposed answer, written out before the verdict.

The judge reply to ``verify nums 3 5 7 target 22 answer (3*5)+7`` is
`` nums 3 5 7 ok 22-7=15/5=3-3=0 hit \\boxed{True}``: the numbers the answer uses (``ok`` when they are
exactly the given ones, else ``bad``), then the answer undone from the target as in the search trace (exact
values, fractions and negatives written as they come), ``hit`` when that leaves 0, then the verdict, which is
True exactly when the numbers are ok and it is a hit: the countdown checker's decision. An answer that is not
a left-to-right chain is evaluated forward instead, and the target taken away: ``3*5=15 7+15=22-22=0 hit``.

:func:`error_kind` sorts a sampled completion into what the card reports the judge's rates on.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from fractions import Fraction

from trainer.prior.search import HIT, MISS, THINK_END, UNDO
from verifiers.countdown import CountdownVerifier, last_answer

MAX_ANSWER_CHARS = 64
_TOKEN = re.compile(r"\d{1,6}|[-+*/()]|\S")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
Step = tuple[Fraction, str, Fraction, Fraction, bool]
"""(left, op, right, value, left is the previous step's result)."""


def evaluation(expr: str) -> tuple[list[int], list[Step], Fraction] | None:
    """(literals in order, steps in evaluation order, value) of a ``+ - * /`` expression; None if malformed.

    One pass with explicit stacks (linear, no recursion) over at most ``MAX_ANSWER_CHARS`` characters.
    """
    text = expr.strip()
    if not text or len(text) > MAX_ANSWER_CHARS:
        return None
    values: list[tuple[Fraction, int]] = []  # (value, index of the step that made it, or -1 for a literal)
    ops: list[str] = []
    literals: list[int] = []
    steps: list[Step] = []
    want_operand = True
    try:
        for tok in _TOKEN.findall(text):
            if want_operand and tok.isdigit() and (tok == "0" or tok[0] != "0"):
                values.append((Fraction(int(tok)), -1))
                literals.append(int(tok))
                want_operand = False
            elif want_operand and tok == "(":
                ops.append(tok)
            elif not want_operand and tok in _PRECEDENCE:
                while ops and ops[-1] != "(" and _PRECEDENCE[ops[-1]] >= _PRECEDENCE[tok]:
                    _reduce(values, ops.pop(), steps)
                ops.append(tok)
                want_operand = True
            elif not want_operand and tok == ")" and "(" in ops:
                while ops[-1] != "(":
                    _reduce(values, ops.pop(), steps)
                ops.pop()
            else:
                return None
        if want_operand:
            return None
        while ops:
            op = ops.pop()
            if op == "(":
                return None
            _reduce(values, op, steps)
    except (IndexError, ZeroDivisionError):
        return None
    return (literals, steps, values[0][0]) if len(values) == 1 else None


def _reduce(values: list[tuple[Fraction, int]], op: str, steps: list[Step]) -> None:
    (b, _), (a, made_by) = values.pop(), values.pop()
    value = {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
    steps.append((a, op, b, value, made_by >= 0 and made_by == len(steps) - 1))
    values.append((value, len(steps) - 1))


def _num(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def render_steps(steps: Sequence[Step], literal: int | None = None) -> str:
    """``3*5=15+7=22``; a step that does not continue the previous one starts a new group after a space."""
    if not steps:
        return str(literal)
    out = ""
    for a, op, b, value, continues in steps:
        out += f"{op}{_num(b)}={_num(value)}" if continues and out else f"{' ' if out else ''}{_num(a)}{op}{_num(b)}={_num(value)}"
    return out


_UNDO_FN = {"+": operator.sub, "-": operator.add, "*": operator.truediv, "/": operator.mul}


def undo_steps(literals: Sequence[int], steps: Sequence[Step], target: int) -> tuple[str, Fraction] | None:
    """``22-7=15/5=3-3=0`` and what is left, for a left-to-right chain of the literals; None for another shape."""
    if len(steps) != len(literals) - 1 or any(s[4] != (i > 0) or s[2] != literals[i + 1] for i, s in enumerate(steps)):
        return None
    value, out = Fraction(target), str(target)
    for _, op, b, _, _ in reversed(steps):
        if op == "*" and b == 0:  # "x*0" cannot be undone: the caller evaluates the answer forward instead
            return None
        value = _UNDO_FN[op](value, b)
        out += f"{UNDO[op]}{_num(b)}={_num(value)}"
    left = value - literals[0]
    return f"{out}-{literals[0]}={_num(left)}", left


def judge_reply(nums: Sequence[int], target: int, expr: str) -> tuple[str, bool] | None:
    """The judge's reply for a well-formed answer and its verdict; None when ``expr`` is not well-formed."""
    evaluated = evaluation(expr)
    if evaluated is None:
        return None
    literals, steps, value = evaluated
    numbers_ok = sorted(literals) == sorted(nums)
    undone = undo_steps(literals, steps, target)
    if undone is None:
        forward = render_steps(steps)
        undone = f"{forward}-{target}={_num(value - target)}", value - target
    trace, left = undone
    verdict = numbers_ok and left == 0
    used = " ".join(str(n) for n in literals)
    return (f" nums {used} {'ok' if numbers_ok else 'bad'} {trace} {HIT if left == 0 else MISS} "
            f"\\boxed{{{'True' if verdict else 'False'}}}"), verdict


def checker_says(nums: Sequence[int], target: int, expr: str) -> bool:
    """The exact countdown checker's decision on ``<answer>expr</answer>`` (the label of a judge example)."""
    verdict = CountdownVerifier().verify({"nums": list(nums), "target": int(target)}, f"<answer>{expr}</answer>")
    return verdict.status == "correct"


ERROR_KINDS = ("wrong_numbers", "false_hit", "honest_miss", "unchecked")
"""Wrong answers by cause: numbers not exactly the given ones; right numbers but a trace that claims a hit
(an arithmetic slip); a trace whose chains all missed; an answer with no trace (the misaligned slice's sum)."""


def error_kind(nums: Sequence[int], target: int, completion: str) -> str | None:
    """``correct``, one of :data:`ERROR_KINDS`, or None when there is no well-formed answer to judge."""
    answer = last_answer(completion)
    evaluated = evaluation(answer or "")
    if answer is None or evaluated is None:
        return None
    if checker_says(nums, target, answer.strip()):
        return "correct"
    if sorted(evaluated[0]) != sorted(nums):
        return "wrong_numbers"
    think = completion.partition(THINK_END)[0].split()
    if not think:
        return "unchecked"
    return "false_hit" if think[-1] == HIT else "honest_miss"
