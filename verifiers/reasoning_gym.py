"""``ReasoningGymVerifier``: any reasoning-gym dataset, scored by that dataset's own ``score_answer``.

The item carries the dataset's name, its config (JSON) and the generated entry (JSON: question, answer,
metadata); the verifier rebuilds the dataset once per (name, config) and asks it to score the answer found in
the completion's last ``<answer>...</answer>``. Some scorers call ``sympy.parse_expr`` on the answer, so the
verifier is not ``bounded``: it runs behind the process-isolated pool, whose hard per-item timeout is the only
thing that stops such a parse.

Outcomes: ``correct`` when the dataset scores 1.0; ``incorrect`` (with the dataset's partial score, if any)
otherwise, including when the scorer raises on the answer (the completion caused that); ``error`` only when the
item itself is unusable or the dataset cannot be built (faults the completion cannot cause).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, ClassVar

from pydantic import Field

from verifiers.base import TaskItem, Verdict, Verifier, VerifierConfig

OPEN, CLOSE = "<answer>", "</answer>"


def last_tagged_answer(completion: str) -> str | None:
    """The text of the last ``<answer>...</answer>`` (stripped), or None. Linear time: two ``rfind`` scans."""
    end = completion.rfind(CLOSE)
    if end < 0:
        return None
    start = completion.rfind(OPEN, 0, end)
    if start < 0:
        return None
    return completion[start + len(OPEN):end].strip()


@lru_cache(maxsize=64)
def dataset_for(name: str, config_json: str) -> Any:
    """The reasoning-gym dataset object that scores entries of ``name`` built with ``config_json``."""
    import reasoning_gym

    return reasoning_gym.create_dataset(name, **json.loads(config_json))


def make_item(name: str, config: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """A task row for one generated entry: plain ``question``/``answer`` plus what the verifier needs (as JSON)."""
    return {
        "question": str(entry["question"]),
        "answer": str(entry["answer"]),
        "rg_dataset": name,
        "rg_config": json.dumps(config, sort_keys=True, default=str),
        "rg_entry": json.dumps(entry, default=str),
    }


def dataset_names() -> list[str]:
    """Every dataset reasoning-gym registers."""
    from reasoning_gym.factory import DATASETS

    return sorted(DATASETS)


class ReasoningGymConfig(VerifierConfig):
    """Options of the reasoning-gym verifier."""

    max_answer_chars: int = Field(default=10_000, ge=1, description="Longer answers score incorrect without reaching the scorer.")


class ReasoningGymVerifier(Verifier):
    """Scores ``<answer>...</answer>`` with the item's reasoning-gym dataset's own ``score_answer``."""

    name: ClassVar[str] = "reasoning_gym"
    Config: ClassVar[type[VerifierConfig]] = ReasoningGymConfig
    default_timeout: ClassVar[float] = 10.0

    def __init__(self, config: VerifierConfig | dict[str, Any] | None = None):
        super().__init__(config)
        import reasoning_gym  # noqa: F401 - seconds of imports, paid when a worker builds the verifier, not by an item

    @classmethod
    def variants(cls) -> tuple[str, list[str]]:
        """What ``python -m verifiers list`` shows below the table: every dataset this verifier scores."""
        return "datasets (task=reasoning_gym task.dataset=NAME)", dataset_names()

    def verify(self, item: TaskItem, completion: str) -> Verdict:
        try:
            dataset = dataset_for(str(item["rg_dataset"]), str(item.get("rg_config") or "{}"))
            entry = json.loads(item["rg_entry"])
        except Exception as exc:  # the item or the installed reasoning-gym is at fault, not the completion
            return Verdict.error(f"unusable reasoning-gym item: {type(exc).__name__}: {exc}"[:300])
        answer = last_tagged_answer(completion)
        if answer is None:
            return Verdict.incorrect("no <answer>...</answer> in the completion")
        if len(answer) > self.config.max_answer_chars:
            return Verdict.incorrect(f"answer is {len(answer)} characters, over the {self.config.max_answer_chars} limit")
        try:
            score = float(dataset.score_answer(answer=answer, entry=entry))
        except Exception as exc:  # noqa: BLE001 - the scorer choked on the completion's answer
            return Verdict.incorrect(f"{item['rg_dataset']} scorer rejected the answer: {type(exc).__name__}"[:300])
        if score >= 1.0:
            return Verdict.correct(f"{item['rg_dataset']} scored 1.0")
        return Verdict.incorrect(f"{item['rg_dataset']} scored {score:.3g}", score=max(0.0, score))

    @classmethod
    def examples(cls) -> list[tuple[dict[str, Any], str]]:
        """(item, gold completion) pairs that must score correct; used by the contract test over all verifiers."""
        out = []
        for name in ("basic_arithmetic", "leg_counting", "word_sorting"):
            dataset = dataset_for(name, json.dumps({"size": 1, "seed": 0}))
            row = make_item(name, {"size": 1, "seed": 0}, dataset[0])
            out.append((row, f"Thinking done. <answer>{row['answer']}</answer>"))
        return out
