"""Majority vote over a group's answers (TTRL): clusters by the task's equivalence, the majority label, the vote.

The reward class that uses it is :class:`rewards.majority.MajorityVoteReward`; the diagnostics reuse the clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rewards.base import check_group_size

A = TypeVar("A")


def _same(equal: Callable[[A, A], bool], a: A, b: A) -> bool:
    """``equal(a, b)``; an answer that makes the task's equivalence raise matches nothing (it is model output)."""
    try:
        return bool(equal(a, b))
    except Exception:
        return False


def answer_clusters(answers: Sequence[A | None], equal: Callable[[A, A], bool]) -> list[list[int]]:
    """Indices of the non-None answers grouped by ``equal``, clusters ordered by first appearance.

    Each answer joins the first cluster whose first member it equals, so the result is deterministic
    even when ``equal`` is not transitive. Answers need not be hashable.
    """
    clusters: list[list[int]] = []
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        for cluster in clusters:
            if _same(equal, answers[cluster[0]], answer):
                cluster.append(i)
                break
        else:
            clusters.append([i])
    return clusters


def _majority_cluster(clusters: list[list[int]]) -> list[int] | None:
    """The largest cluster; ties go to the cluster that appeared first (``max`` keeps the first maximum)."""
    return max(clusters, key=len) if clusters else None


def majority_label(answers: Sequence[A | None], equal: Callable[[A, A], bool]) -> tuple[A | None, float, int]:
    """(majority answer, its share of all rollouts, number of distinct answers) for one group.

    None answers ("no answer") count in the share's denominator but never form the label; a group with
    no answer at all gives ``(None, 0.0, 0)``. Ties go to the earliest-appearing answer.
    """
    clusters = answer_clusters(answers, equal)
    best = _majority_cluster(clusters)
    if best is None:
        return None, 0.0, 0
    return answers[best[0]], len(best) / len(answers), len(clusters)


def majority_vote(answers: Sequence[A | None], equal: Callable[[A, A], bool]) -> list[float]:
    """TTRL's reward for one group: 1.0 where the rollout's answer is in the majority cluster, else 0.0.

    Example: ``["2", None, "3", "2", None, None]`` gives ``[1, 0, 0, 1, 0, 0]`` -- the three missing answers
    never win. All None gives all 0.0 (no signal; GRPO advantages are then 0).
    """
    best = set(_majority_cluster(answer_clusters(answers, equal)) or ())
    return [1.0 if i in best else 0.0 for i in range(len(answers))]


def majority_vote_groups(answers: Sequence[Any], equal: Callable[[Any, Any], bool], group_size: int) -> list[float]:
    """:func:`majority_vote` over a flat batch of consecutive groups of ``group_size`` rollouts."""
    check_group_size(len(answers), group_size)
    return [r for g in range(0, len(answers), group_size) for r in majority_vote(answers[g : g + group_size], equal)]
