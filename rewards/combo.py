"""A weighted sum of other rewards (``reward=combo reward.parts=[self_verify,self_certainty] reward.weights=[1,0.1]``).

The paper leaves open how intrinsic and external rewards combine; this makes the question one override away.
Each part is built from the same registry with its own options (``reward.part_options.self_verify.judge=frozen``),
scored on the same rollouts, and kept in :attr:`ComboReward.part_scores` so the trainer logs and shadow-scores
each part against the oracle. A rollout that any part masks (``None``) is masked: a weighted sum with a missing
term would silently change the reward's scale for that rollout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from rewards.base import Reward, RewardConfig


class ComboConfig(RewardConfig):
    """Which rewards to add up, with what weights, and each part's own options."""

    name: str = "combo"
    parts: list[str] = Field(default_factory=lambda: ["self_verify", "self_certainty"], min_length=1,
                             description="Registered reward names to combine (not combo itself).")
    weights: list[float] | None = Field(default=None, description="One weight per part; None = 1.0 each.")
    part_options: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Options per part name, e.g. {self_verify: {judge: frozen}}.")

    @model_validator(mode="after")
    def _check_parts(self) -> ComboConfig:
        from rewards import REWARDS

        valid = [n for n in REWARDS.names() if n != "combo"]
        unknown = [p for p in self.parts if p not in valid]
        if unknown:
            raise ValueError(f"unknown reward part(s) {unknown}; valid choices: {', '.join(valid)}")
        if len(set(self.parts)) != len(self.parts):
            raise ValueError(f"reward parts must be distinct, got {self.parts}")
        if self.weights is not None and len(self.weights) != len(self.parts):
            raise ValueError(f"{len(self.weights)} weights for {len(self.parts)} parts {self.parts}; give one weight per part")
        stray = sorted(set(self.part_options) - set(self.parts))
        if stray:
            raise ValueError(f"part_options for {stray}, which are not among the parts {self.parts}")
        for part in self.parts:  # each part's options are validated now, against that part's own Config
            REWARDS.get(part).Config.model_validate({"name": part, **self.part_options.get(part, {})})
        return self


class ComboReward(Reward):
    """Sum of ``weight * part`` over the parts; masked where any part is masked."""

    name = "combo"
    Config = ComboConfig

    def __init__(self, config: ComboConfig | Mapping[str, Any] | None, task: Any, **options: Any):
        super().__init__(config, task, **options)
        from rewards import REWARDS

        c = self.config
        self.weights = list(c.weights) if c.weights is not None else [1.0] * len(c.parts)
        self.parts = {p: REWARDS.get(p)({"name": p, **c.part_options.get(p, {})}, task, **options) for p in c.parts}
        self.part_scores: dict[str, list[float | None]] = {}

    @property
    def needs_policy_stats(self) -> bool:  # type: ignore[override]
        return any(p.needs_policy_stats for p in self.parts.values())

    def bind(self, trainer: Any) -> None:
        for part in self.parts.values():
            part.bind(trainer)

    def __call__(self, prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        self.part_scores = {name: list(part(prompts=prompts, completions=completions, completion_ids=completion_ids, **columns))
                            for name, part in self.parts.items()}
        out: list[float | None] = []
        for i in range(len(completions)):
            terms = [scores[i] for scores in self.part_scores.values()]
            out.append(None if any(t is None for t in terms) else sum(w * t for w, t in zip(self.weights, terms)))
        self.counts["masked"] += sum(v is None for v in out)
        return out

    def metrics(self) -> dict[str, float]:
        out = super().metrics()
        for name, part in self.parts.items():
            out.update({f"{name}/{k}": v for k, v in part.metrics().items()})
        return out

    def close(self) -> None:
        for part in self.parts.values():
            part.close()
