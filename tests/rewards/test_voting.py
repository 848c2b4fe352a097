"""Majority vote (rewards.voting): tables, the task's equivalence, raising and unhashable answers, groups."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rewards.voting import answer_clusters, majority_label, majority_vote, majority_vote_groups


def same(a, b):
    return a == b


@pytest.mark.parametrize(
    "answers, rewards, label, ratio, distinct",
    [
        (["2", "2", "3", "2"], [1, 1, 0, 1], "2", 0.75, 2),
        (["3", "2", "2", "3"], [1, 0, 0, 1], "3", 0.5, 2),  # tie: the earliest-appearing answer wins
        (["2", None, "3", "2", None, None], [1, 0, 0, 1, 0, 0], "2", 2 / 6, 2),  # None never wins
        ([None, None, "7"], [0, 0, 1], "7", 1 / 3, 1),
        ([None, None], [0, 0], None, 0.0, 0),
        ([], [], None, 0.0, 0),
        (["a", "b", "c"], [1, 0, 0], "a", 1 / 3, 3),
    ],
)
def test_majority_vote_table(answers, rewards, label, ratio, distinct):
    assert majority_vote(answers, same) == [float(r) for r in rewards]
    got_label, got_ratio, got_distinct = majority_label(answers, same)
    assert (got_label, got_distinct) == (label, distinct)
    assert got_ratio == pytest.approx(ratio)


def as_fraction(text: str) -> Fraction:
    return Fraction(text.strip())


def test_majority_vote_clusters_by_the_task_equivalence_not_by_text():
    answers = ["0.5", "1/3", "1/2", " 0.50", "2/6"]
    assert majority_vote(answers, lambda a, b: as_fraction(a) == as_fraction(b)) == [1, 0, 1, 1, 0]
    assert majority_label(answers, lambda a, b: as_fraction(a) == as_fraction(b))[:2] == ("0.5", 0.6)


def test_an_equivalence_that_raises_on_model_output_does_not_crash_the_vote():
    answers = ["1/2", "1/0", "0.5", "1/0"]  # Fraction("1/0") raises ZeroDivisionError
    assert majority_vote(answers, lambda a, b: as_fraction(a) == as_fraction(b)) == [1, 0, 1, 0]


def test_unhashable_answers_are_fine():
    answers = [[1, 2], [2, 1], [3]]
    assert answer_clusters(answers, lambda a, b: sorted(a) == sorted(b)) == [[0, 1], [2]]


def test_majority_vote_groups_votes_each_group_separately():
    answers = ["1", "1", "2", "2", "2", None]
    assert majority_vote_groups(answers, same, group_size=3) == [1, 1, 0, 1, 1, 0]
    with pytest.raises(ValueError):
        majority_vote_groups(answers, same, group_size=4)
