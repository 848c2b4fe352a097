"""The metric keys written to metrics.jsonl: their on-disk spelling, and the diagnostics that write them."""

from __future__ import annotations

from rewards import metric_keys as keys
from rewards.diagnostics import group_diagnostics


def test_keys_keep_their_on_disk_spelling():
    """Runs, reports and notebooks read these names from metrics.jsonl: renaming one breaks old run folders."""
    assert (keys.REWARD_ACCURACY, keys.ORACLE_ACCURACY, keys.VAL_ACCURACY) == ("reward_accuracy", "oracle_accuracy", "val/accuracy")
    assert keys.val_pass_at(4) == "val/pass@4"
    assert keys.scoped(keys.SHADOW, "majority_vote", keys.REWARD_ACCURACY) == "shadow/majority_vote/reward_accuracy"
    assert keys.scoped(keys.VERIFIER, "oracle", "calls") == "verifier/oracle/calls"


def test_the_diagnostics_write_the_shared_keys():
    out = group_diagnostics([1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], 2, answers=["a", "b", "a", "a"],
                            equal=lambda a, b: a == b, lengths=[3, 4, 5, 6])
    assert {keys.REWARD_ACCURACY, keys.ORACLE_ACCURACY, keys.LABEL_ACCURACY, keys.RESPONSE_LENGTH} <= set(out)
    assert out[keys.ORACLE_ACCURACY] == 0.25 and out[keys.RESPONSE_LENGTH] == 4.5
