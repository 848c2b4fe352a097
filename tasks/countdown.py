"""Countdown: combine 3-4 numbers with + - * / to reach a target (the Countdown-Tasks-3to4 distribution).

Problems are generated procedurally from a seed; every target is proven reachable by an exhaustive solver,
which also supplies a reference solution. Users with the public dataset on disk load it with ``path=``.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, model_validator

from tasks.base import Task, TaskConfig, read_rows, require_fields
from verifiers.countdown import ExpressionError, last_answer, parse_expression

PROMPT = (
    "Using the numbers {nums}, create an equation that equals {target}. You can use basic arithmetic "
    "operations (+, -, *, /) and each number must be used exactly once. Show your work in <think> </think> "
    "tags. And return the final equation in <answer> </answer> tags, for example <answer> (1 + 2) / 3 </answer>."
)


@lru_cache(maxsize=4096)
def _reachable(nums: tuple[int, ...]) -> dict[Fraction, str]:
    """Every value reachable using all of ``nums`` exactly once, each with one expression that reaches it."""
    if len(nums) == 1:
        return {Fraction(nums[0]): str(nums[0])}
    out: dict[Fraction, str] = {}
    n = len(nums)
    for mask in range(1, 2 ** (n - 1)):  # each unordered split once (the last number stays on the right)
        left = tuple(sorted(nums[i] for i in range(n) if mask >> i & 1))
        right = tuple(sorted(nums[i] for i in range(n) if not mask >> i & 1))
        for a, ea in _reachable(left).items():
            for b, eb in _reachable(right).items():
                _combine(out, a, ea, b, eb)
    return out


def _paren(expr: str) -> str:
    return expr if expr.isdigit() else f"({expr})"


def _combine(out: dict[Fraction, str], a: Fraction, ea: str, b: Fraction, eb: str) -> None:
    pa, pb = _paren(ea), _paren(eb)
    candidates = [(a + b, f"{ea} + {eb}"), (a * b, f"{pa} * {pb}"), (a - b, f"{ea} - {pb}"), (b - a, f"{eb} - {pa}")]
    if b != 0:
        candidates.append((a / b, f"{pa} / {pb}"))
    if a != 0:
        candidates.append((b / a, f"{pb} / {pa}"))
    for value, expr in candidates:
        out.setdefault(value, expr)


def solve(nums: Sequence[int], target: int) -> str | None:
    """An expression using every number in ``nums`` once that equals ``target``, or None if none exists."""
    return _reachable(tuple(sorted(int(n) for n in nums))).get(Fraction(int(target)))


class CountdownConfig(TaskConfig):
    """Countdown options: generator ranges, or a data file with ``nums``/``target`` fields."""

    name: str = "countdown"
    min_count: int = Field(default=3, ge=2, le=5, description="Fewest numbers per problem.")
    max_count: int = Field(default=4, ge=2, le=5, description="Most numbers per problem.")
    max_number: int = Field(default=100, ge=1, description="Numbers are drawn from 1..max_number.")
    min_target: int = Field(default=1, description="Smallest target.")
    max_target: int = Field(default=100, description="Largest target.")
    prompt_style: Literal["full", "compact"] = Field(
        default="full", description="full: the TinyZero prompt; compact: 'nums 3 5 7 target 22' (short, for tiny models)."
    )

    @model_validator(mode="after")
    def _ranges(self) -> CountdownConfig:
        if self.min_count > self.max_count:
            raise ValueError(f"min_count ({self.min_count}) must be <= max_count ({self.max_count})")
        if self.min_target > self.max_target:
            raise ValueError(f"min_target ({self.min_target}) must be <= max_target ({self.max_target})")
        return self


def generate(config: CountdownConfig, size: int, seed: int, exclude: set[tuple] | None = None) -> list[dict[str, Any]]:
    """``size`` distinct solvable problems; ``exclude`` holds keys (sorted nums, target) to skip."""
    rng = random.Random(seed)
    seen = set(exclude or ())
    rows: list[dict[str, Any]] = []
    attempts = 0
    while len(rows) < size:
        attempts += 1
        if attempts > 100 * size + 1000:
            raise ValueError(f"could not generate {size} distinct countdown problems with {config}")
        nums = [rng.randint(1, config.max_number) for _ in range(rng.randint(config.min_count, config.max_count))]
        targets = sorted(
            int(v) for v in _reachable(tuple(sorted(nums)))
            if v.denominator == 1 and config.min_target <= v <= config.max_target
        )
        if not targets:
            continue
        target = rng.choice(targets)
        key = (tuple(sorted(nums)), target)
        if key in seen:
            continue
        seen.add(key)
        rows.append(make_row(nums, target, solution=solve(nums, target)))
    return rows


def make_row(nums: Sequence[int], target: int, solution: str | None = None) -> dict[str, Any]:
    """A countdown task row with the fields the verifier and the prompts read."""
    nums = [int(n) for n in nums]
    return {
        "nums": nums,
        "target": int(target),
        "question": f"Using the numbers {nums}, create an equation that equals {int(target)}, using each number exactly once.",
        "solution": solution or "",
    }


def compact_question(nums: Sequence[int], target: int) -> str:
    """The short problem statement of ``prompt_style=compact``: ``nums 3 5 7 target 22``."""
    return f"nums {' '.join(str(int(n)) for n in nums)} target {int(target)}"


VAL_SEED_OFFSET = 1_000_003


@lru_cache(maxsize=8)
def _val_rows(config: CountdownConfig) -> tuple[dict[str, Any], ...]:
    """The generated validation split: it depends on the seed and ranges only, never on ``train_size``.

    So runs with different training-set sizes are validated on the same problems, and a smaller ``val_size``
    is a prefix of a larger one (the prior lab's corpus excludes the first 256).
    """
    return tuple(generate(config, config.val_size, seed=config.seed + VAL_SEED_OFFSET))


@lru_cache(maxsize=8)
def _train_rows(config: CountdownConfig) -> tuple[dict[str, Any], ...]:
    """The generated training split, made once per config, excluding every validation problem."""
    val_keys = {_row_key(r) for r in _val_rows(config)}
    return tuple(generate(config, config.train_size, seed=config.seed, exclude=val_keys))


def _row_key(row: Mapping[str, Any]) -> tuple:
    return tuple(sorted(row["nums"])), int(row["target"])


class CountdownTask(Task):
    """Countdown problems with think/answer tags, scored by the ``countdown`` verifier."""

    name = "countdown"
    Config = CountdownConfig
    verifier = "countdown"

    def rows(self, split: str) -> list[dict[str, Any]]:
        rows = self._rows(split)
        if self.config.prompt_style == "compact":
            rows = [{**r, "question": compact_question(r["nums"], r["target"])} for r in rows]
        return rows

    def _rows(self, split: str) -> list[dict[str, Any]]:
        cfg = self.config
        if cfg.path:
            return self._load(split)
        if split == "train":
            return [dict(r) for r in _train_rows(cfg)]
        if split == "validation":
            return [dict(r) for r in _val_rows(cfg)]
        raise ValueError(f"unknown split {split!r}; valid choices: train, validation")

    def _load(self, split: str) -> list[dict[str, Any]]:
        raw = read_rows(self.config.path, "train")
        rows = []
        for i, r in enumerate(raw):
            require_fields(r, ("nums", "target"), f"{self.config.path} row {i}")
            rows.append(make_row(r["nums"], r["target"], r.get("solution")))
        rng = random.Random(self.config.seed)
        rng.shuffle(rows)
        n_val = min(self.config.val_size, max(0, len(rows) - 1))
        if split == "validation":
            return rows[:n_val]
        return rows[n_val : n_val + self.config.train_size]

    def user_prompt(self, row: Mapping[str, Any]) -> str:
        if self.config.prompt_style == "compact":
            return compact_question(row["nums"], row["target"])
        return PROMPT.format(nums=list(row["nums"]), target=row["target"])

    def prompt(self, row: Mapping[str, Any], conversational: bool) -> Any:
        """Compact plain-string prompts are the problem line then ``<think>``; otherwise the shared template."""
        if self.config.prompt_style == "compact" and not conversational:
            return f"{self.user_prompt(row)}\n<think>"
        return super().prompt(row, conversational)

    def extract_answer(self, completion: str) -> str | None:
        answer = last_answer(completion)
        return answer.strip() if answer and answer.strip() else None

    def answer_key(self, answer: str) -> Hashable | None:
        """The exact value of the expression: two answers agree when they evaluate to the same number."""
        try:
            return parse_expression(answer)[0]
        except (ExpressionError, ZeroDivisionError):
            return None
