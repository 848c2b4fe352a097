"""Pure metrics for eval, probe and the organism cards: AUROC with ties, pass@k, mean@k, judge rates, reward agreement.

Plain Python (no torch): scores are floats, labels are bools; ``None`` means "not measurable" (one class only,
no samples), never 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def auroc(scores: Sequence[float | None], labels: Sequence[bool]) -> float | None:
    """P(score of a random positive > score of a random negative), ties counting 1/2.

    Pairs whose score is None or NaN are left out; None when what is left lacks either class.
    """
    pairs = [(float(s), bool(y)) for s, y in zip(scores, labels) if s is not None and not math.isnan(float(s))]
    n_pos = sum(y for _, y in pairs)
    n_neg = len(pairs) - n_pos
    if not n_pos or not n_neg:
        return None
    pairs.sort(key=lambda p: p[0])
    pos_rank_sum, i = 0.0, 0
    while i < len(pairs):  # midranks over each run of equal scores
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        mid = (i + j) / 2 + 1
        pos_rank_sum += mid * sum(y for _, y in pairs[i : j + 1])
        i = j + 1
    return (pos_rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def pass_at_k(n: int, c: int, k: int) -> float | None:
    """Unbiased pass@k for one problem from ``n`` samples with ``c`` correct: 1 - C(n-c, k) / C(n, k); None if n < k."""
    if k < 1 or n < k or not 0 <= c <= n:
        return None
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def mean_pass_at_k(groups: Sequence[Sequence[bool]], k: int) -> float | None:
    """pass@k averaged over problems (each a list of per-sample correctness); problems with fewer than k samples left out."""
    values = [v for g in groups if (v := pass_at_k(len(g), sum(map(bool, g)), k)) is not None]
    return sum(values) / len(values) if values else None


def mean_at_k(groups: Sequence[Sequence[bool]]) -> float | None:
    """mean@k: the share of correct samples per problem, averaged over problems (None without samples)."""
    shares = [sum(map(bool, g)) / len(g) for g in groups if len(g)]
    return sum(shares) / len(shares) if shares else None


def majority_share(keys: Sequence[Any]) -> list[float]:
    """For each sample of one problem, the share of the group whose answer key equals its own (0 for no answer)."""
    n = len(keys)
    return [0.0 if k is None else sum(k == other for other in keys) / n for k in keys]


def judge_rates(kinds: Sequence[str], accepted: Sequence[bool | None]) -> dict[str, Any]:
    """How a judge did on answers of known kind: ``correct`` or an error kind, and whether the judge accepted each.

    TPR = share of correct answers accepted; TNR = share of wrong ones rejected, overall and per error kind.
    A None in ``accepted`` (the judge could not answer) is left out and counted as ``no_reply``.
    """
    pairs = [(k, a) for k, a in zip(kinds, accepted) if a is not None]
    right = [(kind == "correct") == bool(a) for kind, a in pairs]
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in sorted({k for k, _ in pairs}, key=lambda k: (k != "correct", k)):
        picked = [r for r, (k, _) in zip(right, pairs) if k == kind]
        by_kind[kind] = {"n": len(picked), "rate": sum(picked) / len(picked)}
    wrong = [r for r, (k, _) in zip(right, pairs) if k != "correct"]
    tpr = by_kind.get("correct", {}).get("rate")
    tnr = sum(wrong) / len(wrong) if wrong else None
    return {
        "n": len(pairs),
        "no_reply": len(kinds) - len(pairs),
        "true_positive_rate": tpr,
        "true_negative_rate": tnr,
        "balanced_accuracy": (tpr + tnr) / 2 if tpr is not None and tnr is not None else None,
        "accuracy": sum(right) / len(right) if right else None,
        "by_kind": by_kind,
    }


def reward_agreement(scores: Sequence[float | None], truth: Sequence[bool | None]) -> dict[str, Any]:
    """How a reward's scores agree with the oracle: n scored, accuracy (score >= 0.5 read as "correct") and AUROC.

    Samples where either side is None (masked) are left out.
    """
    pairs = [(float(s), bool(t)) for s, t in zip(scores, truth) if s is not None and t is not None and not math.isnan(float(s))]
    if not pairs:
        return {"n": 0, "accuracy": None, "auroc": None}
    accuracy = sum((s >= 0.5) == t for s, t in pairs) / len(pairs)
    return {"n": len(pairs), "accuracy": accuracy, "auroc": auroc([s for s, _ in pairs], [t for _, t in pairs])}


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell: ``n/a`` for None, fixed digits for floats."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
