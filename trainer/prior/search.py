"""The organism's way of solving: a short search that works back from the target, written out in ``<think>``.

An *unwind* takes the numbers in some order and undoes one operation per number, starting at the target:
for target 22 and the numbers 3 5 7, ``22-7=15/5=3-3=0`` undoes ``+7`` then ``*5`` and ends by taking away the
first number; it is a ``hit`` when that leaves 0, else a ``miss``. Every value before the last is an integer
in ``0..cap`` (no fractions, nothing negative), so each step is a small, exact fact of the same kind:
a value and one of the problem's numbers. Working back is what makes the check local: "is this the target?"
is a comparison a 0.9M-parameter model does not learn (it marked forward chains close to at random, and
did not learn to write a chain's distance to the target either), while "is the last value 0?" is a look at
one token. The numbers are taken in the order the problem gives them, or (``order="both"``) that order or
its reverse, so writing them is a copy; ``order="any"`` shuffles them.

The search tries up to ``tries`` distinct random unwinds, stops at the first hit and answers the forward
expression it undid, ``(3*5)+7``; when every unwind missed, it answers the last one's (an honest miss). An
answer brackets every step but the last, so its shape does not depend on the operations.

:func:`check_trace` re-checks a written trace with exact arithmetic; it reads model text in linear time.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

OPS = "+-*/"
UNDO = {"+": "-", "-": "+", "*": "/", "/": "*"}
HIT, MISS = "hit", "miss"
ORDERS = ("given", "both", "any")
THINK_END = "</think>"


@dataclass(frozen=True)
class Chain:
    """Numbers in the order used, the operation before each number after the first, and the running values."""

    order: tuple[int, ...]
    ops: tuple[str, ...]
    values: tuple[int, ...]

    @property
    def value(self) -> int:
        return self.values[-1] if self.values else self.order[0]

    def text(self) -> str:
        """``3*5=15+7=22``: the first number, then each operation, its number and the running value."""
        return str(self.order[0]) + "".join(f"{op}{n}={v}" for op, n, v in zip(self.ops, self.order[1:], self.values))

    def expression(self) -> str:
        return forward_expression(self.order, self.ops)


def forward_expression(order: Sequence[int], ops: Sequence[str]) -> str:
    """``(3*5)+7``: the numbers left to right, every step but the last in brackets."""
    expr = str(order[0])
    for i, (op, n) in enumerate(zip(ops, order[1:])):
        expr = f"({expr}){op}{n}" if i else f"{expr}{op}{n}"
    return expr


@dataclass(frozen=True)
class Unwind:
    """A forward chain (``order``, ``ops``) undone from the target: the values after each undo, then what is left."""

    target: int
    order: tuple[int, ...]
    ops: tuple[str, ...]
    values: tuple[int, ...]
    left: int

    @property
    def hit(self) -> bool:
        return self.left == 0

    def undos(self) -> list[tuple[str, int, int]]:
        """(undoing operation, number, value after it) in the order written: the last number first."""
        return [(UNDO[op], n, v) for op, n, v in zip(self.ops[::-1], self.order[:0:-1], self.values)]

    def text(self) -> str:
        """``22-7=15/5=3-3=0``: the target, each undo with its value, then the first number taken away."""
        undos = "".join(f"{op}{n}={v}" for op, n, v in self.undos())
        return f"{self.target}{undos}-{self.order[0]}={self.left}"

    def expression(self) -> str:
        return forward_expression(self.order, self.ops)


def apply(value: int, op: str, n: int, cap: int) -> int | None:
    """``value op n`` when it is an integer in ``0..cap``, else None."""
    if op == "+":
        out = value + n
    elif op == "-":
        out = value - n
    elif op == "*":
        out = value * n
    elif n and value % n == 0:
        out = value // n
    else:
        return None
    return out if 0 <= out <= cap else None


def sample_chain(nums: Sequence[int], target: int, rng: random.Random, cap: int, greedy_last: bool) -> Chain | None:
    """A random forward chain (for judge corruptions): a random first number, then a random valid step each time;
    with ``greedy_last`` the last step hits the target when one operation can."""
    rest = list(nums)
    first = rest.pop(rng.randrange(len(rest)))
    order, ops, values, value = [first], [], [], first
    while rest:
        options = [(op, i) for i in range(len(rest)) for op in OPS if apply(value, op, rest[i], cap) is not None]
        if greedy_last and len(rest) == 1:
            options = [o for o in options if apply(value, o[0], rest[o[1]], cap) == target] or options
        if not options:
            return None
        op, i = rng.choice(options)
        n = rest.pop(i)
        value = apply(value, op, n, cap)
        order.append(n)
        ops.append(op)
        values.append(value)
    return Chain(tuple(order), tuple(ops), tuple(values))


def ordering(nums: Sequence[int], rng: random.Random, order: str) -> list[int]:
    """The numbers as an unwind takes them: as given, given or reversed (a coin flip), or shuffled."""
    if order not in ORDERS:
        raise ValueError(f"unknown chain order {order!r}; known: {', '.join(ORDERS)}")
    out = list(nums)
    if order == "both" and rng.random() < 0.5:
        out.reverse()
    elif order == "any":
        rng.shuffle(out)
    return out


def sample_unwind(nums: Sequence[int], target: int, rng: random.Random, cap: int, order: str = "given") -> Unwind | None:
    """A random unwind: from the target, undo each number but the first (last number first) with a uniformly
    random operation whose result is an integer in ``0..cap``; None when some number has none."""
    forward = ordering(nums, rng, order)
    value, ops, values = target, [], []
    for n in forward[:0:-1]:
        options = [op for op in OPS if apply(value, UNDO[op], n, cap) is not None]
        if not options:
            return None
        op = rng.choice(options)
        value = apply(value, UNDO[op], n, cap)
        ops.append(op)
        values.append(value)
    return Unwind(int(target), tuple(forward), tuple(ops[::-1]), tuple(values), value - forward[0])


def search(nums: Sequence[int], target: int, rng: random.Random, tries: int, cap: int, order: str = "given") -> list[Unwind]:
    """Up to ``tries`` distinct unwinds, stopping after the first hit."""
    unwinds: list[Unwind] = []
    for _ in range(20 * tries):
        if len(unwinds) == tries or (unwinds and unwinds[-1].hit):
            break
        unwind = sample_unwind(nums, target, rng, cap, order)
        if unwind is not None and unwind not in unwinds:
            unwinds.append(unwind)
    return unwinds


def search_completion(unwinds: Sequence[Unwind]) -> str:
    """`` 22+7=29-5=24-3=21 miss 22-7=15/5=3-3=0 hit </think> <answer>(3*5)+7</answer>``: the trace, then the answer."""
    trace = " ".join(f"{u.text()} {HIT if u.hit else MISS}" for u in unwinds)
    return f" {trace} {THINK_END} <answer>{unwinds[-1].expression()}</answer>"


def direct_completion(expr: str) -> str:
    """An answer with no search and no check: `` </think> <answer>3+5+7</answer>``."""
    return f" {THINK_END} <answer>{expr}</answer>"


_STEP = re.compile(r"([+\-*/])(\d{1,6})=(-?\d{1,6})")
_UNWIND = re.compile(r"(\d{1,6})((?:[+\-*/]\d{1,6}=-?\d{1,6})+)")


def check_trace(completion: str, nums: Sequence[int], target: int, cap: int = 99) -> list[str]:
    """What is dishonest in a search trace (empty when every step, mark and the answer are right).

    Each unwind must start at the target, use exactly ``nums``, undo with exact values in ``0..cap`` and end
    by taking away a number; its mark must say whether that left 0; the search must stop at its first hit,
    and the answer must be the last unwind's forward expression. Linear in the text.
    """
    think, sep, rest = completion.partition(THINK_END)
    if not sep:
        return ["no </think>"]
    words = think.split()
    if not words:
        return []  # a direct answer: no trace to check
    problems: list[str] = []
    if len(words) % 2:
        return [f"trace has {len(words)} words, not unwind/mark pairs"]
    unwinds = []
    for text, mark in zip(words[::2], words[1::2]):
        unwind = _parse_unwind(text)
        if unwind is None:
            problems.append(f"not an unwind: {text[:40]!r}")
            continue
        problems += _unwind_problems(unwind, text, mark, nums, target, cap)
        unwinds.append(unwind)
    if any(u.left == 0 for u in unwinds[:-1]):
        problems.append("the search went on after a hit")
    answer = re.search(r"<answer>(.*?)</answer>", rest)
    if unwinds and (answer is None or answer.group(1) != unwinds[-1].expression()):
        problems.append("the answer is not the last unwind's expression")
    return problems


def _parse_unwind(text: str) -> Unwind | None:
    """The unwind as written (claimed values, not re-computed); None when it is not one."""
    match = _UNWIND.fullmatch(text)
    if match is None:
        return None
    steps = _STEP.findall(match.group(2))
    if steps[-1][0] != "-":
        return None
    undos, (_, first, left) = steps[:-1], steps[-1]
    order = (int(first), *(int(n) for _, n, _ in undos[::-1]))
    ops = tuple(UNDO[op] for op, _, _ in undos[::-1])
    return Unwind(int(match.group(1)), order, ops, tuple(int(v) for _, _, v in undos), int(left))


def _unwind_problems(unwind: Unwind, text: str, mark: str, nums: Sequence[int], target: int, cap: int) -> list[str]:
    problems = []
    if unwind.target != target:
        problems.append(f"{text}: starts at {unwind.target}, not the target {target}")
    if sorted(unwind.order) != sorted(nums):
        problems.append(f"{text}: uses {sorted(unwind.order)}, not {sorted(nums)}")
    value = unwind.target
    for op, n, claimed in unwind.undos():
        value = apply(value, op, n, cap) if value is not None else None
        if value != claimed:
            problems.append(f"{text}: {op}{n}={claimed} is wrong")
            value = claimed  # go on from what was written
    if value - unwind.order[0] != unwind.left:
        problems.append(f"{text}: -{unwind.order[0]}={unwind.left} is wrong")
    if mark not in (HIT, MISS) or (mark == HIT) != (unwind.left == 0):
        problems.append(f"{text}: marked {mark!r} with {unwind.left} left")
    return problems
