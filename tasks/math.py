r"""Math word and arithmetic problems whose final answer goes in ``\boxed{}``, scored by the ``math`` verifier.

Offline by default: problems come from reasoning-gym's procedural generators (every generated gold answer is
checked to score correct by the verifier in the tests), plus a small exact fraction-arithmetic generator.
Users with MATH-500, DAPO-17k or similar on disk load them with ``path=`` (JSONL or an HF ``save_to_disk``
folder); rows need a question field (``problem``, ``question`` or ``prompt``) and an answer field (``answer``,
``solution`` or ``reward_model.ground_truth``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Hashable, Mapping
from fractions import Fraction
from typing import Any

from pydantic import Field, field_validator

from tasks.base import Task, TaskConfig, read_rows
from verifiers.math.extract import answer_text, clean, extract_answer, last_boxed, plain_number, split_percent, string_key

PROMPT = "{question}\n\nReason step by step, then put your final answer within \\boxed{{}}."

GENERATORS = ("basic_arithmetic", "chain_sum", "fraction_arithmetic", "simple_equations", "gsm_symbolic", "lcm")
"""The default mix. ``fraction_simplification`` is left out: a model can copy the unsimplified fraction, which
the verifier (value equality) accepts, so it rewards nothing."""

QUESTION_FIELDS = ("problem", "question", "prompt")
ANSWER_FIELDS = ("answer", "solution")
_VALIDATION_SEED_OFFSET = 1_000_003


class MathTaskConfig(TaskConfig):
    """Math task options: which generators to mix, or a data file given by ``path``."""

    name: str = "math"
    generators: tuple[str, ...] = Field(default=GENERATORS, min_length=1, description="reasoning-gym dataset names (or fraction_arithmetic), mixed evenly.")
    max_answer_chars: int = Field(default=1000, ge=1, description="Loaded rows with longer gold answers are dropped.")

    @field_validator("generators")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from reasoning_gym.factory import DATASETS

        unknown = [n for n in names if n != "fraction_arithmetic" and n not in DATASETS]
        if unknown:
            raise ValueError(f"unknown generator(s) {unknown}; reasoning-gym offers e.g. {', '.join(sorted(DATASETS)[:12])}, ...")
        return names


def fraction_arithmetic(seed: int, size: int) -> list[dict[str, Any]]:
    """``a/b op c/d`` with an exact reduced answer (e.g. ``"3/4 + 5/6"`` -> ``"19/12"``)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(size):
        x, y = Fraction(rng.randint(1, 12), rng.randint(2, 12)), Fraction(rng.randint(1, 12), rng.randint(2, 12))
        op = rng.choice("+-*/")
        value = {"+": x + y, "-": x - y, "*": x * y, "/": x / y}[op]
        shown = {"*": "\\times", "/": "\\div"}.get(op, op)
        rows.append(
            {
                "question": f"Compute ${_latex(x)} {shown} {_latex(y)}$ and give the result as a fraction in lowest terms.",
                "answer": str(value),
            }
        )
    return rows


def _latex(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"\\frac{{{f.numerator}}}{{{f.denominator}}}"


def generate(generators: tuple[str, ...], size: int, seed: int, exclude: set[str] | None = None) -> list[dict[str, Any]]:
    """``size`` distinct rows mixed evenly over ``generators``, shuffled; questions in ``exclude`` are skipped."""
    import reasoning_gym

    seen = set(exclude or ())
    rows: list[dict[str, Any]] = []
    for i, name in enumerate(generators):
        quota = size // len(generators) + (1 if i < size % len(generators) else 0)
        if quota == 0:
            continue
        sub_seed = seed * 1009 + i
        pool = 2 * quota + 16  # spare rows to replace duplicates and excluded questions
        if name == "fraction_arithmetic":
            candidates = fraction_arithmetic(sub_seed, pool)
        else:
            made = reasoning_gym.create_dataset(name, seed=sub_seed, size=pool)
            candidates = [{"question": r["question"], "answer": answer_text(r["answer"]) or str(r["answer"])} for r in made]
        taken = 0
        for row in candidates:
            if taken == quota:
                break
            if row["question"] in seen:
                continue
            seen.add(row["question"])
            rows.append({**row, "source": name})
            taken += 1
        if taken < quota:
            raise ValueError(f"generator {name!r} gave only {taken} distinct new problems of {quota} requested (seed {seed})")
    random.Random(seed).shuffle(rows)
    return rows


def normalize_row(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Map a loaded row to ``question`` + ``answer``; a missing field is a ValueError that names it."""
    question = next((raw[f] for f in QUESTION_FIELDS if raw.get(f) not in (None, "")), None)
    if question is None:
        raise ValueError(f"{where}: missing a question field (one of {list(QUESTION_FIELDS)}); present: {sorted(raw)}")
    if isinstance(question, list):  # chat messages, as in DAPO-17k: use the user turns
        question = "\n".join(m.get("content", "") for m in question if isinstance(m, Mapping) and m.get("role") == "user")
    answer = _answer_of(raw)
    if answer is None:
        raise ValueError(
            f"{where}: missing an answer field (one of {list(ANSWER_FIELDS)} or reward_model.ground_truth); present: {sorted(raw)}"
        )
    return {"question": str(question).strip(), "answer": answer}


def _answer_of(raw: Mapping[str, Any]) -> str | None:
    if raw.get("answer") not in (None, ""):
        return answer_text(raw["answer"]) or str(raw["answer"]).strip()  # floats as plain decimals, not 1e-07
    if raw.get("solution") not in (None, ""):
        solution = str(raw["solution"])
        return (last_boxed(solution) or solution).strip()  # MATH-style worked solutions end in \boxed{}
    reward_model = raw.get("reward_model")
    if isinstance(reward_model, Mapping) and reward_model.get("ground_truth") not in (None, ""):
        return str(reward_model["ground_truth"]).strip()
    return None


class MathTask(Task):
    """Math problems answered in ``\\boxed{}``; the oracle is the ``math`` verifier."""

    name = "math"
    Config = MathTaskConfig
    verifier = "math"

    def rows(self, split: str) -> list[dict[str, Any]]:
        cfg = self.config
        if split not in ("train", "validation"):
            raise ValueError(f"unknown split {split!r}; valid choices: train, validation")
        if cfg.path:
            return self._load(split)
        train = generate(cfg.generators, cfg.train_size, seed=cfg.seed)
        if split == "train":
            return train
        if cfg.val_size == 0:
            return []
        return generate(cfg.generators, cfg.val_size, seed=cfg.seed + _VALIDATION_SEED_OFFSET, exclude={r["question"] for r in train})

    def _load(self, split: str) -> list[dict[str, Any]]:
        raw = read_rows(self.config.path, "train")
        rows = [normalize_row(r, f"{self.config.path} row {i}") for i, r in enumerate(raw)]
        rows = [r for r in rows if len(r["answer"]) <= self.config.max_answer_chars]
        random.Random(self.config.seed).shuffle(rows)
        n_val = min(self.config.val_size, max(0, len(rows) - 1))
        if split == "validation":
            return rows[:n_val]
        return rows[n_val : n_val + self.config.train_size]

    def user_prompt(self, row: Mapping[str, Any]) -> str:
        return PROMPT.format(question=row["question"])

    def extract_answer(self, completion: str) -> str | None:
        return extract_answer(completion)

    def answer_key(self, answer: str) -> Hashable | None:
        """Equal answers share a key: exact numbers by value (``0.5``, ``1/2``, ``\\frac{1}{2}`` -> Fraction(1, 2)),
        anything else by its cleaned, space- and case-insensitive text. String work only, no sympy."""
        text = clean(answer)
        if not text:
            return None
        body, _ = split_percent(text)  # "50%" votes with "50", as the verifier accepts both
        value = plain_number(re.sub(r"^[a-zA-Z]\s*=\s*", "", body))  # "x = 3" votes with "3"
        if value is not None:
            return ("number", value)
        return ("text", string_key(text))
