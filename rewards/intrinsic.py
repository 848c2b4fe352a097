"""The intrinsic reward classes: rewards from the policy's own token statistics (no verifier, no labels).

Each reads the ``policy_stats`` column the trainer attaches (see ``trainer.policy_stats``) and reduces it
with ``rewards.token_stats.intrinsic_from_stats`` (the maths lives there):

- ``self_certainty``: mean_t [logsumexp(l_t) - mean_v l_t], i.e. KL(U || p_t) + log V
- ``token_entropy``: -mean_t H(p_t)
- ``trajectory_entropy``: mean_t log p(y_t)
- ``probability``: prod_t p(y_t), taken relative to the group's most likely rollout so it cannot underflow
  (GRPO's group normalisation cancels that factor); it favours short outputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from rewards.base import Reward, RewardConfig, group_indices
from rewards.token_stats import TokenStats, intrinsic_from_stats


class IntrinsicReward(Reward):
    """Base for rewards computed from per-token policy statistics."""

    name = "intrinsic"
    Config = RewardConfig
    needs_policy_stats = True

    def __call__(self, prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        stats_rows = columns.get("policy_stats")
        if stats_rows is None:
            raise RuntimeError(f"{self.name} needs the policy_stats column: train with trainer.run, or mix "
                               "trainer.policy_stats.PolicyStatsMixin into your GRPOTrainer subclass")
        stats, mask = stack_stats(stats_rows)
        groups = group_indices(prompts)
        group_size = len(groups[0]) if groups and all(len(g) == len(groups[0]) for g in groups) else None
        values = intrinsic_from_stats(self.name, stats, mask, group_size=group_size)
        out = [None if math.isnan(v) else float(v) for v in values.tolist()]
        self.counts["empty"] += sum(v is None for v in out)
        return out


def stack_stats(rows: Sequence[Mapping[str, torch.Tensor]]) -> tuple[TokenStats, torch.Tensor]:
    """Per-rollout 1-D statistics padded into [B, T] TokenStats plus the mask of real tokens."""
    width = max(1, max(len(r["logprobs"]) for r in rows))
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    fields = {k: torch.zeros((len(rows), width)) for k in ("logprobs", "entropy", "self_certainty")}
    for i, r in enumerate(rows):
        n = len(r["logprobs"])
        mask[i, :n] = 1
        for k, t in fields.items():
            t[i, :n] = r[k]
    return TokenStats(**fields), mask


class SelfCertaintyReward(IntrinsicReward):
    """Mean per-token self-certainty (KL from uniform): rewards confident token distributions."""

    name = "self_certainty"


class TokenEntropyReward(IntrinsicReward):
    """Minus the mean per-token entropy: rewards low-entropy (sharp) next-token distributions."""

    name = "token_entropy"


class TrajectoryEntropyReward(IntrinsicReward):
    """Mean log-probability of the sampled tokens: rewards likely trajectories."""

    name = "trajectory_entropy"


class ProbabilityReward(IntrinsicReward):
    """Sequence probability relative to the group's most likely rollout: favours short, likely outputs."""

    name = "probability"
