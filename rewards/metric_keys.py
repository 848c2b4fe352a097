"""The keys of ``metrics.jsonl`` that one file writes and others read, defined once.

Writers: :func:`rewards.diagnostics.group_diagnostics` (the shadow diagnostics of each step), the GRPO
trainer (shadow, part and verifier figures, timings) and the validation callback. Readers: the progress
bar, the collapse detector, the report and the examples. TRL's own keys (``reward``, ``entropy``) are named
here too because the readers look them up beside ours.
"""

from __future__ import annotations

REWARD = "reward"
"""TRL's mean training reward of the step."""
ENTROPY = "entropy"
"""TRL's mean token entropy of the step's completions."""

REWARD_ACCURACY = "reward_accuracy"
"""Agreement of a binary reward with the oracle, or top-1 accuracy of a continuous one."""
ORACLE_ACCURACY = "oracle_accuracy"
"""Share of the step's rollouts the oracle scores correct."""
LABEL_ACCURACY = "label_accuracy"
"""Share of groups whose majority answer the oracle scores correct."""
RESPONSE_LENGTH = "response_length"
"""Mean completion length in tokens, from the diagnostics."""
RESPONSE_LENGTH_TOKENS = "response_length_tokens"
"""TRL's ``completions/mean_length``, renamed when logged."""

VAL_PREFIX = "val/"
VAL_ACCURACY = "val/accuracy"
"""mean@k of the held-out prompts, scored by the oracle."""
VAL_MASKED = "val/masked"
"""Validation samples the oracle could not score (error or timeout)."""
VALIDATION_SECONDS = "time/validation_s"
POLICY_STATS_SECONDS = "time/policy_stats_s"

SHADOW = "shadow"
"""Prefix of a shadow reward's figures: ``shadow/NAME/KEY``."""
PART = "part"
"""Prefix of a combo part's figures: ``part/NAME/KEY``."""
VERIFIER = "verifier"
"""Prefix of a reward's pool and outcome counters: ``verifier/NAME/KEY``."""


def val_pass_at(k: int) -> str:
    """``val/pass@K``: share of held-out prompts with at least one correct sample of ``k``."""
    return f"{VAL_PREFIX}pass@{k}"


def scoped(prefix: str, name: str, key: str) -> str:
    """``PREFIX/NAME/KEY``, e.g. ``scoped(SHADOW, "majority_vote", REWARD_ACCURACY)``."""
    return f"{prefix}/{name}/{key}"
