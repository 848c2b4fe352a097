"""Shadow diagnostics: how well a training reward tracks the oracle, per GRPO step.

Pure functions over flat per-rollout lists laid out as consecutive groups of ``group_size`` rollouts
(TRL's layout). A value of None or NaN is masked (a verifier error or timeout, an empty completion):
it is skipped and counted, never read as 0. A metric with nothing to measure is None.

Oracle correctness is ``oracle score > oracle_threshold`` (0.5: a 0/1 oracle's 1 is correct). A binary
training reward is binarised the same way with ``reward_threshold``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from rewards.metric_keys import LABEL_ACCURACY, ORACLE_ACCURACY, RESPONSE_LENGTH, REWARD_ACCURACY
from rewards.voting import answer_clusters

Score = float | None


def clean(values: Sequence[Any]) -> list[float | None]:
    """``values`` as floats, with None and NaN both turned into None (masked)."""
    out: list[float | None] = []
    for v in values:
        out.append(None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v))
    return out


def is_binary(values: Sequence[Score], tol: float = 1e-9) -> bool:
    """True when every unmasked value is 0 or 1 (vacuously true when all are masked)."""
    return all(abs(v) <= tol or abs(v - 1.0) <= tol for v in clean(values) if v is not None)


def _pairs(rewards: Sequence[Score], oracle: Sequence[Score]) -> list[tuple[int, float, float]]:
    """(index, reward, oracle) where both are unmasked."""
    r, o = clean(rewards), clean(oracle)
    return [(i, a, b) for i, (a, b) in enumerate(zip(r, o, strict=True)) if a is not None and b is not None]


def agreement(
    rewards: Sequence[Score], oracle: Sequence[Score], reward_threshold: float = 0.5, oracle_threshold: float = 0.5
) -> float | None:
    """Share of rollouts where the binarised reward equals oracle correctness (binary rewards' reward accuracy)."""
    pairs = _pairs(rewards, oracle)
    if not pairs:
        return None
    return sum((r > reward_threshold) == (o > oracle_threshold) for _, r, o in pairs) / len(pairs)


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation; None when either side is constant or there are fewer than 2 points."""
    if x.size < 2:
        return None
    x, y = x - x.mean(), y - y.mean()
    denom = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    if denom <= 1e-12:
        return None
    return float((x * y).sum() / denom)


def point_biserial(rewards: Sequence[Score], oracle: Sequence[Score], oracle_threshold: float = 0.5) -> float | None:
    """Point-biserial correlation of the reward with oracle correctness, pooled over all rollouts; None if constant."""
    pairs = _pairs(rewards, oracle)
    x = np.array([r for _, r, _ in pairs], dtype=float)
    y = np.array([float(o > oracle_threshold) for _, _, o in pairs])
    return _pearson(x, y)


def _groups(n: int, group_size: int) -> list[range]:
    if group_size < 1 or n % group_size:
        raise ValueError(f"{n} rollouts do not split into groups of {group_size}")
    return [range(g, g + group_size) for g in range(0, n, group_size)]


def within_group_correlation(
    rewards: Sequence[Score], oracle: Sequence[Score], group_size: int, oracle_threshold: float = 0.5
) -> float | None:
    """Point-biserial correlation after centring reward and correctness within each group.

    This is the correlation GRPO's group-relative advantages see: prompt difficulty (groups that are all
    right or all wrong) drops out. Groups with fewer than two unmasked pairs are skipped.
    """
    pairs = _pairs(rewards, oracle)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for group in _groups(len(rewards), group_size):
        inside = [(r, float(o > oracle_threshold)) for i, r, o in pairs if i in group]
        if len(inside) >= 2:
            arr = np.array(inside, dtype=float)
            xs.append(arr[:, 0] - arr[:, 0].mean())
            ys.append(arr[:, 1] - arr[:, 1].mean())
    if not xs:
        return None
    return _pearson(np.concatenate(xs), np.concatenate(ys))


def top1_accuracy(
    rewards: Sequence[Score], oracle: Sequence[Score], group_size: int, oracle_threshold: float = 0.5
) -> float | None:
    """Mean over groups of the oracle correctness of the group's highest-reward rollout.

    Rollouts tied for the highest reward share the pick: the group scores their mean correctness (the
    expected value of a random pick). Only rollouts with both scores unmasked take part.
    """
    pairs = _pairs(rewards, oracle)
    scores = []
    for group in _groups(len(rewards), group_size):
        inside = [(r, o > oracle_threshold) for i, r, o in pairs if i in group]
        if inside:
            best = max(r for r, _ in inside)
            picked = [ok for r, ok in inside if r == best]
            scores.append(sum(picked) / len(picked))
    return sum(scores) / len(scores) if scores else None


def label_accuracy(
    answers: Sequence[Any],
    equal: Callable[[Any, Any], bool],
    oracle: Sequence[Score],
    group_size: int,
    oracle_threshold: float = 0.5,
) -> tuple[float | None, int]:
    """(share of groups whose majority label is correct, number of groups with no label).

    The label is correct when most of its cluster's oracle-scored rollouts are correct (they hold the same
    answer, so they normally agree). Groups without any answer, or whose label's rollouts are all
    oracle-masked, are left out; the first kind is counted in the second element.
    """
    o = clean(oracle)
    hits: list[bool] = []
    unlabelled = 0
    for group in _groups(len(answers), group_size):
        clusters = answer_clusters([answers[i] for i in group], equal)
        if not clusters:
            unlabelled += 1
            continue
        members = [o[group[j]] for j in max(clusters, key=len)]
        scored = [s > oracle_threshold for s in members if s is not None]
        if scored:
            hits.append(sum(scored) > len(scored) / 2)
    return (sum(hits) / len(hits) if hits else None), unlabelled


def majority_stats(answers: Sequence[Any], equal: Callable[[Any, Any], bool], group_size: int) -> dict[str, float]:
    """Mean over groups of the majority's share of rollouts, of the number of distinct answers, and the no-answer rate."""
    ratios, distinct = [], []
    for group in _groups(len(answers), group_size):
        clusters = answer_clusters([answers[i] for i in group], equal)
        ratios.append(max((len(c) for c in clusters), default=0) / group_size)
        distinct.append(len(clusters))
    missing = sum(a is None for a in answers)
    return {
        "majority_ratio": float(np.mean(ratios)) if ratios else 0.0,
        "distinct_answers": float(np.mean(distinct)) if distinct else 0.0,
        "no_answer_rate": missing / len(answers) if answers else 0.0,
    }


def repetition_rate(tokens: Sequence[Hashable] | str, n: int = 4) -> float:
    """Share of a completion's n-grams that repeat an earlier one: 1 - distinct / total n-grams.

    ``tokens`` is a token-id sequence, or text split on whitespace. 0.0 for fewer than n tokens; it tends
    to 1 for a loop of one phrase. Example: "a b a b a b" with n=2 has 5 bigrams, 2 distinct: 0.6.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    seq = tokens.split() if isinstance(tokens, str) else list(tokens)
    grams = [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def group_diagnostics(
    rewards: Sequence[Score],
    oracle: Sequence[Score],
    group_size: int,
    answers: Sequence[Any] | None = None,
    equal: Callable[[Any, Any], bool] | None = None,
    completions: Sequence[str] | Sequence[Sequence[int]] | None = None,
    lengths: Sequence[int] | None = None,
    binary: bool | None = None,
    reward_threshold: float = 0.5,
    oracle_threshold: float = 0.5,
    ngram: int = 4,
) -> dict[str, float | None]:
    """Every shadow diagnostic of one step, as a flat dict of numbers (None: nothing to measure).

    ``reward_accuracy`` is the agreement with the oracle for a binary reward (detected unless ``binary``
    is given), and the top-1 accuracy for a continuous one. Majority-vote metrics need ``answers`` and
    ``equal``; length needs ``lengths`` (tokens), repetition needs ``completions`` (text or token ids).
    """
    r, o = clean(rewards), clean(oracle)
    if len(r) != len(o):
        raise ValueError(f"{len(r)} rewards but {len(o)} oracle scores")
    _groups(len(r), group_size)
    binary = is_binary(r) if binary is None else binary
    top1 = top1_accuracy(r, o, group_size, oracle_threshold)
    agree = agreement(r, o, reward_threshold, oracle_threshold) if binary else None
    correct = [s > oracle_threshold for s in o if s is not None]
    out: dict[str, float | None] = {
        "reward_binary": float(binary),
        REWARD_ACCURACY: agree if binary else top1,
        "reward_agreement": agree,
        "reward_top1_accuracy": top1,
        "reward_pb_corr": point_biserial(r, o, oracle_threshold),
        "reward_pb_corr_within": within_group_correlation(r, o, group_size, oracle_threshold),
        ORACLE_ACCURACY: sum(correct) / len(correct) if correct else None,
        "reward_masked": float(sum(v is None for v in r)),
        "oracle_masked": float(sum(v is None for v in o)),
    }
    if answers is not None and equal is not None:
        out.update(_answer_metrics(answers, equal, o, group_size, oracle_threshold))
    if lengths is not None:
        out[RESPONSE_LENGTH] = float(np.mean(lengths)) if len(lengths) else None
    if completions is not None:
        out["repetition_rate"] = float(np.mean([repetition_rate(c, ngram) for c in completions])) if completions else None
    return out


def _answer_metrics(
    answers: Sequence[Any], equal: Callable[[Any, Any], bool], oracle: list[float | None], group_size: int, threshold: float
) -> dict[str, float | None]:
    if len(answers) != len(oracle):
        raise ValueError(f"{len(answers)} answers but {len(oracle)} oracle scores")
    acc, unlabelled = label_accuracy(answers, equal, oracle, group_size, threshold)
    return {LABEL_ACCURACY: acc, "groups_without_label": float(unlabelled), **majority_stats(answers, equal, group_size)}
