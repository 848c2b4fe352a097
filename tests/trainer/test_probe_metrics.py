"""The pure metrics of eval, probe and the cards, against tables worked by hand and brute force."""

import itertools
import math
import random

import pytest

from trainer.probe_metrics import auroc, judge_rates, majority_share, mean_at_k, mean_pass_at_k, pass_at_k, reward_agreement


def brute_auroc(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg) / (len(pos) * len(neg))


@pytest.mark.parametrize("scores, labels, expected", [
    ([1, 2, 3, 4], [False, False, True, True], 1.0),
    ([4, 3, 2, 1], [False, False, True, True], 0.0),
    ([5, 5, 5, 5], [True, False, True, False], 0.5),
    ([1, 1, 2], [True, False, True], 0.75),
    ([0.1, 0.4, 0.35, 0.8], [False, False, True, True], 0.75),
    ([2, 2, 1, 3], [True, False, False, True], 0.875),
])
def test_auroc_table(scores, labels, expected):
    assert auroc(scores, labels) == pytest.approx(expected)


def test_auroc_one_class_or_nothing_is_none():
    assert auroc([0.1, 0.9], [True, True]) is None
    assert auroc([0.1, 0.9], [False, False]) is None
    assert auroc([], []) is None
    assert auroc([None, 0.3], [True, False]) is None  # the only positive has no score


def test_auroc_leaves_out_missing_scores():
    assert auroc([None, 0.2, 0.9, math.nan], [False, False, True, True]) == 1.0


def test_auroc_matches_brute_force_with_many_ties():
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(2, 30)
        scores = [rng.choice([0.0, 0.5, 1.0, rng.random()]) for _ in range(n)]
        labels = [rng.random() < 0.4 for _ in range(n)]
        if any(labels) and not all(labels):
            assert auroc(scores, labels) == pytest.approx(brute_auroc(scores, labels))


def test_pass_at_k_against_every_subset():
    for n in range(1, 7):
        for c in range(n + 1):
            for k in range(1, n + 1):
                correct = [True] * c + [False] * (n - c)
                subsets = list(itertools.combinations(correct, k))
                assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets)), (n, c, k)


def test_pass_at_k_bounds():
    assert pass_at_k(2, 1, 3) is None  # fewer samples than k
    assert pass_at_k(4, 0, 2) == 0.0 and pass_at_k(4, 4, 1) == 1.0
    assert pass_at_k(3, 5, 1) is None


def test_mean_and_pass_over_problems():
    groups = [[True, False], [True, True], [False, False]]
    assert mean_at_k(groups) == pytest.approx(0.5)
    assert mean_pass_at_k(groups, 1) == pytest.approx(0.5)
    assert mean_pass_at_k(groups, 2) == pytest.approx(2 / 3)
    assert mean_at_k([]) is None and mean_pass_at_k([[True]], 2) is None


def test_majority_share():
    assert majority_share(["a", "a", "b", None]) == [0.5, 0.5, 0.25, 0.0]
    assert majority_share([None, None]) == [0.0, 0.0]


def test_judge_rates_per_kind():
    kinds = ["correct", "correct", "wrong_value", "wrong_value", "malformed", "malformed"]
    accepted = [True, False, False, True, False, None]
    r = judge_rates(kinds, accepted)
    assert r["n"] == 5 and r["no_reply"] == 1
    assert r["true_positive_rate"] == 0.5
    assert r["true_negative_rate"] == pytest.approx(2 / 3)
    assert r["by_kind"]["wrong_value"] == {"n": 2, "rate": 0.5}
    assert r["by_kind"]["malformed"] == {"n": 1, "rate": 1.0}
    assert r["balanced_accuracy"] == pytest.approx((0.5 + 2 / 3) / 2)


def test_judge_rates_without_one_kind():
    r = judge_rates(["wrong", "wrong"], [False, False])
    assert r["true_positive_rate"] is None and r["true_negative_rate"] == 1.0 and r["balanced_accuracy"] is None
    assert judge_rates([], [])["accuracy"] is None


def test_reward_agreement():
    a = reward_agreement([1.0, 0.0, 1.0, None], [True, False, False, True])
    assert a["n"] == 3 and a["accuracy"] == pytest.approx(2 / 3) and a["auroc"] == pytest.approx(0.75)
    assert reward_agreement([None], [True]) == {"n": 0, "accuracy": None, "auroc": None}
