"""Card metrics: the AUROC that measures confidence-correctness alignment."""

import pytest

from trainer.prior.card import auroc


def test_auroc_perfect_reversed_and_chance():
    assert auroc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5, 0.5, 0.5], [True, False, True, False]) == 0.5


def test_auroc_counts_ties_as_half():
    # positives 0.7, 0.5; negatives 0.5, 0.1 -> pairs: (0.7>0.5) 1, (0.7>0.1) 1, (0.5=0.5) 0.5, (0.5>0.1) 1
    assert auroc([0.7, 0.5, 0.5, 0.1], [True, True, False, False]) == pytest.approx(3.5 / 4)


def test_auroc_needs_both_classes():
    assert auroc([0.1, 0.2], [True, True]) is None
    assert auroc([], []) is None
