"""Majority vote (TTRL-style): a rollout scores 1 when its answer agrees with its group's majority answer.

Answers are extracted by the task and compared by the task's own canonical form (exact value for countdown,
a normalised form for math). "No answer" never becomes the majority label; ties go to the earliest answer.
"""

from __future__ import annotations

from rewards.base import Reward, RewardConfig, completion_text, group_indices
from rewards.voting import majority_label, majority_vote


def _equal(a, b) -> bool:
    return a == b


class MajorityVoteReward(Reward):
    """1.0 for rollouts in the majority answer cluster of their group, else 0.0."""

    name = "majority_vote"
    Config = RewardConfig
    binary = True

    def __call__(self, prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        keys = []
        for c in completions:
            answer = self.task.extract_answer(completion_text(c))
            keys.append(None if answer is None else self.task.answer_key(answer))
        scores: list[float | None] = [0.0] * len(completions)
        for idx in group_indices(prompts):
            group = [keys[i] for i in idx]
            for i, s in zip(idx, majority_vote(group, _equal)):
                scores[i] = s
            _, ratio, distinct = majority_label(group, _equal)
            self.counts["majority_ratio_sum"] += ratio
            self.counts["groups"] += 1
        self.counts["no_answer"] += sum(k is None for k in keys)
        return scores
