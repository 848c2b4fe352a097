"""Lean: prove a formal theorem (miniF2F-style JSONL) in Lean 4, scored by the ``lean`` verifier.

Rows carry ``name``, ``formal_statement`` (``theorem NAME ... := by sorry``), ``header`` (imports and options)
and optionally ``informal_statement``. The default data are statements written for this project that need
only Lean's core library (``tasks/data/lean_core.jsonl``, each with a gold proof), for smoke tests and the
docs; point ``path`` at a miniF2F JSONL (with a Mathlib ``lean.project_dir``) for real training.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from tasks.base import Task, TaskConfig, read_rows, require_fields
from verifiers.lean.config import LeanConfig
from verifiers.lean.guards import normalize_ws, parse_statement
from verifiers.lean.scoring import extract_proof

CORE_DATA = Path(__file__).parent / "data" / "lean_core.jsonl"

PROMPT = (
    "Prove the following theorem in Lean 4.{informal}\n\n```lean\n{code}\n```\n\n"
    "Think it through, then give the complete theorem (the statement exactly as above, then := and your proof) "
    "in one ```lean code block at the end of your answer. Do not use sorry."
)


class LeanTaskConfig(TaskConfig):
    """Lean task options: the data (shipped core statements or a JSONL), and the verifier's own options."""

    name: str = "lean"
    val_size: int = Field(default=4, ge=0, description="Held-out statements (the shipped set has 23).")
    lean: LeanConfig = Field(default_factory=LeanConfig, description="Options of the lean verifier (project_dir, backend, timeouts).")


def make_row(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A task row from one loaded record (miniF2F fields); raises ValueError naming ``where``."""
    require_fields(raw, ("formal_statement",), where)
    statement = str(raw["formal_statement"])
    try:
        name = parse_statement(statement).name
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    informal = str(raw.get("informal_statement") or raw.get("informal_prefix") or "").strip()
    return {
        "name": str(raw.get("name") or name),
        "formal_statement": statement,
        "header": str(raw.get("header") or ""),
        "informal_statement": informal,
        "allow_native_decide": bool(raw.get("allow_native_decide", False)),
        "question": informal or statement,
    }


class LeanTask(Task):
    """Formal theorems to prove in a ```lean block, scored by the ``lean`` verifier."""

    name = "lean"
    Config = LeanTaskConfig
    verifier = "lean"

    def rows(self, split: str) -> list[dict[str, Any]]:
        if split not in ("train", "validation"):
            raise ValueError(f"unknown split {split!r}; valid choices: train, validation")
        path = self.config.path or CORE_DATA
        rows = [make_row(r, f"{path} row {i}") for i, r in enumerate(read_rows(path, "train"))]
        random.Random(self.config.seed).shuffle(rows)
        n_val = min(self.config.val_size, max(0, len(rows) - 1))
        if split == "validation":
            return rows[:n_val]
        return rows[n_val : n_val + self.config.train_size]

    def user_prompt(self, row: Mapping[str, Any]) -> str:
        informal = f" In words: {row['informal_statement']}" if row.get("informal_statement") else ""
        code = (str(row.get("header") or "").rstrip() + "\n\n" + row["formal_statement"]).strip()
        return PROMPT.format(informal=informal, code=code)

    def extract_answer(self, completion: str) -> str | None:
        proof = extract_proof(completion)
        return proof.strip() if proof and proof.strip() else None

    def answer_key(self, answer: str) -> Hashable | None:
        """Proofs agree when they are the same text up to whitespace."""
        return normalize_ws(answer) or None

    def verifier_config(self) -> dict[str, Any]:
        return self.config.lean.model_dump(exclude_defaults=True)


def gold_rows(path: str | Path = CORE_DATA) -> list[tuple[dict[str, Any], str]]:
    """(row, gold completion) pairs of a data file whose records carry ``gold_proof`` (the shipped set does)."""
    out = []
    for i, raw in enumerate(read_rows(path, "train")):
        if raw.get("gold_proof"):
            out.append((make_row(raw, f"{path} row {i}"), f"```lean\n{raw['gold_proof']}\n```"))
    return out
