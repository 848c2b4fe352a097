"""Card metrics: the judge's rates on the model's own answers, computed by trainer.probe_metrics (shared with the probe)."""

import pytest

from trainer.prior.card import judge_rates
from trainer.prior.judge import ERROR_KINDS


def test_judge_rates_per_kind_and_a_missing_verdict_is_a_rejection():
    items = [("q", "a", "correct"), ("q", "a", "correct"), ("q", "a", "false_hit"), ("q", "a", "honest_miss"), ("q", "a", "false_hit")]
    replies = [" ok \\boxed{True}", " ok hit", " bad \\boxed{False}", " miss \\boxed{True}", " miss \\boxed{False}"]
    r = judge_rates(items, replies)
    assert r["n"] == 5
    assert r["true_positive_rate"] == 0.5  # the reply with no verdict is not an acceptance
    assert r["true_negative_rate"] == pytest.approx(2 / 3)
    assert r["balanced_accuracy"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert r["no_verdict"] == 0.2
    assert r["by_kind"]["false_hit"] == {"n": 2, "rate": 1.0}
    assert r["by_kind"]["honest_miss"] == {"n": 1, "rate": 0.0}
    assert set(r["by_kind"]) == {"correct", *ERROR_KINDS}  # every kind listed, n 0 where none was sampled
    assert r["by_kind"]["unchecked"] == {"n": 0, "rate": None}


def test_judge_rates_without_items():
    r = judge_rates([], [])
    assert r["n"] == 0 and r["true_positive_rate"] is None and r["no_verdict"] is None
