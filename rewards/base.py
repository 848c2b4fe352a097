"""The reward-function contract for TRL's GRPOTrainer: picklable callable classes returning float | None.

A reward returns None for a rollout it cannot score (verifier error or timeout): TRL masks it instead of
treating it as 0. Each reward keeps counters that the trainer reads once per step via ``metrics()``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tasks.base import Task

# Keyword arguments TRL adds that are not dataset columns.
TRL_EXTRA_KWARGS = frozenset({"trainer_state", "log_extra", "log_metric", "environments", "prompt", "completion", "completion_ids"})
TRAINER_COLUMNS = frozenset({"policy_stats"})
"""Columns the trainer attaches for rewards that read them directly; never part of a task row sent to a verifier
(tensors would make every verifier worker import torch to unpickle its items)."""


class RewardConfig(BaseModel):
    """Options shared by every reward; each reward extends this with its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    shadow: list[str] = Field(default_factory=list, description="Other rewards computed on the same rollouts for metrics only.")


class Reward:
    """Base class: a TRL reward function with a name, a config and per-step counters."""

    name: ClassVar[str]
    Config: ClassVar[type[RewardConfig]] = RewardConfig
    binary: ClassVar[bool] = False
    """True when scores are 0/1 (then reward accuracy is agreement with the oracle)."""
    needs_policy_stats: ClassVar[bool] = False
    """True when the trainer must pass per-token policy statistics (column ``policy_stats``)."""

    def __init__(self, config: RewardConfig | Mapping[str, Any] | None, task: Task, **options: Any):
        if config is None or isinstance(config, Mapping):
            config = self.Config.model_validate({"name": self.name, **dict(config or {})})
        self.config = config
        self.task = task
        self.options = options
        self.counts: Counter[str] = Counter()

    @property
    def __name__(self) -> str:  # TRL names reward columns after this
        return self.name

    def bind(self, trainer: Any) -> None:
        """Called once by the trainer; rewards that generate (self_verify) keep what they need from it."""

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Sequence[Any] | None = None, **columns: Any) -> list[float | None]:
        raise NotImplementedError

    def metrics(self) -> dict[str, float]:
        """Counters since the last call, as ``{key: value}``; resets them."""
        out = {k: float(v) for k, v in self.counts.items()}
        self.counts.clear()
        return out

    def close(self) -> None:
        """Release pools and models."""

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "task": self.task, "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"], state["task"], **state["options"])


def completion_text(completion: Any) -> str:
    """The text of a completion, whether TRL passes a string or a list of chat messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], Mapping):
        return str(completion[-1].get("content", ""))
    return str(completion)


def rows_from_columns(n: int, columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rebuild the ``n`` task rows from TRL's column-wise keyword arguments."""
    keys = [k for k in columns if k not in TRL_EXTRA_KWARGS and k not in TRAINER_COLUMNS and isinstance(columns[k], (list, tuple)) and len(columns[k]) == n]
    return [{k: columns[k][i] for k in keys} for i in range(n)]


def group_indices(prompts: Sequence[Any]) -> list[list[int]]:
    """Rollout indices grouped by identical prompt, in first-seen order (TRL repeats each prompt G times)."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(repr(p), []).append(i)
    return list(groups.values())


def check_group_size(n: int, group_size: int) -> int:
    """``group_size``, once it is known to split a batch of ``n`` rows into whole groups (else ValueError)."""
    if group_size < 1 or n % group_size:
        raise ValueError(f"batch of {n} rows does not split into groups of {group_size}")
    return group_size
