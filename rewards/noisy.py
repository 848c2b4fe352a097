"""The noisy-oracle control: the oracle's verdicts flipped at a judge's measured error rates.

It answers the question a learned judge raises: does ``self_verify`` do worse than the oracle because its judge
makes *some* errors, or because the policy learns *which* errors it makes? This reward makes errors at the same
rates but at random (independent of the answer's content), so the policy has no blind spot to aim at.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from rewards.base import RewardConfig, completion_text
from rewards.verifier import OracleReward
from verifiers.base import Verdict


class NoisyOracleConfig(RewardConfig):
    """Flip rates of the noisy oracle; the defaults are the shipped aligned organism's judge on its own samples
    (card of tiny-countdown-aligned-09af2906ae14: TPR 0.985, TNR 0.892)."""

    tpr: float = Field(default=0.985, ge=0.0, le=1.0, description="Chance that a correct answer scores 1 (else 0).")
    tnr: float = Field(default=0.892, ge=0.0, le=1.0, description="Chance that a wrong answer scores 0 (else 1).")
    noise_seed: int = Field(default=0, description="Seed of the flips; a flip is a function of (seed, prompt, completion).")


def unit_hash(seed: int, prompt: Any, completion: str) -> float:
    """A number in [0, 1) fixed by the seed, the prompt and the completion (linear in their length)."""
    digest = hashlib.blake2b(f"{seed}\0{prompt!r}\0{completion}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class NoisyOracleReward(OracleReward):
    """The task's verifier, each verdict kept with probability TPR (correct) or TNR (wrong), flipped otherwise.

    A flip depends only on (noise_seed, prompt, completion), so a resumed run, or the same answer sampled twice,
    gets the same score, as a greedy judge would give. Masked verdicts (error/timeout) stay masked; a partial
    score (format credit) counts as wrong.
    """

    name = "noisy_oracle"
    Config = NoisyOracleConfig
    binary = True

    def verifier_config(self) -> dict[str, Any]:
        return dict(self.task.verifier_config())

    def scores(self, prompts: Sequence[Any], completions: Sequence[Any], verdicts: list[Verdict]) -> list[float | None]:
        out: list[float | None] = []
        for prompt, completion, verdict in zip(prompts, completions, verdicts, strict=True):
            if verdict.score is None:
                out.append(None)
                continue
            correct = verdict.score >= 1.0
            keep = self.config.tpr if correct else self.config.tnr
            flipped = unit_hash(self.config.noise_seed, prompt, completion_text(completion)) >= keep
            if flipped:
                self.counts["flipped_to_0" if correct else "flipped_to_1"] += 1
            out.append(float(correct != flipped))
        return out
