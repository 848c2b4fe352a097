"""Shadow diagnostics tables: agreement, point-biserial, top-1, label accuracy, majority stats, repetition."""

from __future__ import annotations

import math

import pytest

from rewards.diagnostics import (
    agreement,
    group_diagnostics,
    is_binary,
    label_accuracy,
    majority_stats,
    point_biserial,
    repetition_rate,
    top1_accuracy,
    within_group_correlation,
)

NAN = float("nan")


def same(a, b):
    return a == b


@pytest.mark.parametrize(
    "values, binary",
    [([0.0, 1.0, 1.0], True), ([1, 0, None, NAN], True), ([0.0, 0.5], False), ([None], True), ([-1.0, 1.0], False)],
)
def test_is_binary(values, binary):
    assert is_binary(values) is binary


@pytest.mark.parametrize(
    "rewards, oracle, expected",
    [
        ([1, 0, 1, 0], [1, 0, 1, 0], 1.0),  # perfect agreement
        ([1, 0, 1, 0], [0, 1, 0, 1], 0.0),  # perfect disagreement
        ([1, 1, 1, 1], [1, 0, 0, 0], 0.25),  # rewarding everything
        ([1, None, 0, NAN], [1, 1, None, 0], 1.0),  # masked on either side: only pair 0 counts
        ([None, None], [1, 0], None),
    ],
)
def test_agreement_table(rewards, oracle, expected):
    assert agreement(rewards, oracle) == expected


@pytest.mark.parametrize(
    "rewards, oracle, expected",
    [
        ([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0], "positive"),
        ([0.1, 0.2, 0.9, 0.8], [1, 1, 0, 0], "negative"),  # anti-correlated
        ([0.5, 0.5, 0.5, 0.5], [1, 1, 0, 0], None),  # constant reward
        ([0.1, 0.2, 0.9, 0.8], [1, 1, 1, 1], None),  # constant oracle
        ([0.3], [1], None),
    ],
)
def test_point_biserial_signs_and_constants(rewards, oracle, expected):
    got = point_biserial(rewards, oracle)
    if expected is None:
        assert got is None
    else:
        assert (got > 0.9) if expected == "positive" else (got < -0.9)


def test_point_biserial_matches_its_closed_form():
    rewards, oracle = [2.0, 4.0, 1.0, 3.0, 0.0], [1, 1, 0, 1, 0]
    m1, m0, p = 3.0, 0.5, 3 / 5
    mean = sum(rewards) / 5
    sd = math.sqrt(sum((r - mean) ** 2 for r in rewards) / 5)
    assert point_biserial(rewards, oracle) == pytest.approx((m1 - m0) / sd * math.sqrt(p * (1 - p)))


def test_within_group_correlation_ignores_prompt_difficulty():
    # Pooled, a reward that just tracks prompt difficulty looks great; within groups it says nothing.
    rewards = [0.9, 0.9, 0.1, 0.1]
    oracle = [1, 1, 0, 0]
    assert point_biserial(rewards, oracle) == pytest.approx(1.0)
    assert within_group_correlation(rewards, oracle, group_size=2) is None
    assert within_group_correlation([0.9, 0.1, 0.15, 0.95], [1, 0, 0, 1], group_size=2) == pytest.approx(1.0)
    assert within_group_correlation([0.1, 0.9, 0.95, 0.15], [1, 0, 0, 1], group_size=2) == pytest.approx(-1.0)


@pytest.mark.parametrize(
    "rewards, oracle, expected",
    [
        ([0.2, 0.9, 0.5, 0.1], [0, 1, 0, 1], 0.5),  # group 1 picks the right one, group 2 the wrong one
        ([0.9, 0.9, 0.3, 0.3], [1, 0, 0, 0], 0.25),  # ties share the pick
        ([None, 0.1, 0.4, None], [1, 0, None, 1], 0.0),  # masked pairs never picked; group 2 has none
        ([None, None, None, None], [1, 1, 1, 1], None),
    ],
)
def test_top1_accuracy_table(rewards, oracle, expected):
    assert top1_accuracy(rewards, oracle, group_size=2) == expected


def test_label_accuracy_and_majority_stats():
    answers = ["2", "2", "3", "5", "5", "4", None, None, None]
    oracle = [1, 1, 0, 0, 0, 1, 0, 0, 0]  # group 1: right label; group 2: wrong label; group 3: no label
    acc, unlabelled = label_accuracy(answers, same, oracle, group_size=3)
    assert (acc, unlabelled) == (0.5, 1)
    stats = majority_stats(answers, same, group_size=3)
    assert stats["majority_ratio"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert stats["distinct_answers"] == pytest.approx((2 + 2 + 0) / 3)
    assert stats["no_answer_rate"] == pytest.approx(3 / 9)


def test_label_accuracy_skips_a_label_whose_rollouts_are_all_masked():
    acc, unlabelled = label_accuracy(["1", "1", "2", "2"], same, [None, None, 1, 1], group_size=2)
    assert (acc, unlabelled) == (1.0, 0)


@pytest.mark.parametrize(
    "tokens, n, expected",
    [
        ("a b c d e", 2, 0.0),
        ("a b a b a b", 2, 0.6),
        ("x x x x x", 1, 0.8),
        ([7, 7, 7, 7, 7, 7], 4, 2 / 3),
        ("short", 4, 0.0),
        ("", 4, 0.0),
    ],
)
def test_repetition_rate_table(tokens, n, expected):
    assert repetition_rate(tokens, n) == pytest.approx(expected)


def test_group_diagnostics_for_a_binary_reward():
    rewards = [1.0, 1.0, 0.0, 0.0, 1.0, 0.0, None, 1.0]
    oracle = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, None]
    answers = ["4", "4", "5", None, "9", "8", "7", "9"]
    out = group_diagnostics(
        rewards, oracle, group_size=4, answers=answers, equal=same, completions=["a b c d e"] * 8, lengths=[10] * 8
    )
    assert out["reward_binary"] == 1.0
    assert out["reward_accuracy"] == out["reward_agreement"] == pytest.approx(5 / 6)
    assert out["reward_masked"] == 1.0 and out["oracle_masked"] == 1.0
    assert out["oracle_accuracy"] == pytest.approx(3 / 7)
    assert out["label_accuracy"] == 0.5  # "4" is right; "9" was never verified correct
    assert out["response_length"] == 10.0 and out["repetition_rate"] == 0.0
    assert out["groups_without_label"] == 0.0


def test_group_diagnostics_for_a_continuous_reward_uses_top1():
    rewards = [0.1, 0.7, 0.3, 0.9]
    oracle = [0, 1, 1, 0]
    out = group_diagnostics(rewards, oracle, group_size=2)
    assert out["reward_binary"] == 0.0 and out["reward_agreement"] is None
    assert out["reward_accuracy"] == out["reward_top1_accuracy"] == 0.5
    assert "label_accuracy" not in out and "response_length" not in out


def test_group_diagnostics_can_be_told_a_reward_is_binary():
    out = group_diagnostics([1.0, 1.0], [1, 1], group_size=2, binary=False)
    assert out["reward_agreement"] is None and out["reward_accuracy"] == 1.0
    assert out["reward_pb_corr"] is None  # constant


def test_group_diagnostics_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="3 rewards but 2"):
        group_diagnostics([1, 0, 1], [1, 0], group_size=1)
    with pytest.raises(ValueError, match="groups of 2"):
        group_diagnostics([1, 0, 1], [1, 0, 1], group_size=2)
    with pytest.raises(ValueError, match="answers"):
        group_diagnostics([1, 0], [1, 0], group_size=2, answers=["1"], equal=same)
