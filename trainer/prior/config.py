"""What defines a model organism: task distribution, prior knobs, model size, SFT budgets and card gates; hashed for the cache."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CORPUS_VERSION = 7
"""Bump when corpus, tokenizer or training code changes what a given config builds (invalidates the cache)."""


class ModelShape(BaseModel):
    """The LlamaConfig of the organism."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden_size: int = Field(default=128, ge=8)
    num_hidden_layers: int = Field(default=4, ge=1)
    num_attention_heads: int = Field(default=4, ge=1)
    intermediate_size: int = Field(default=384, ge=8)
    max_position_embeddings: int = Field(default=256, ge=64)


class SftOptions(BaseModel):
    """How one SFT stage is trained (TRL SFTTrainer)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: float = Field(default=3.0, gt=0)
    max_steps: int = Field(default=-1, description="Overrides epochs when > 0.")
    batch_size: int = Field(default=16, ge=1, description="Small batches: for a tiny model more updates beat bigger ones.")
    learning_rate: float = Field(default=2e-3, gt=0)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)


class Gates(BaseModel):
    """What a usable organism must show on its card; a build that misses one says so on stdout and in the card."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pass_at_1: tuple[float, float] = Field(default=(0.18, 0.35), description="pass@1 range on held-out problems.")
    pass_at_k: float = Field(default=0.55, ge=0, le=1, description="Least pass@k (k = card_samples).")
    judge_balanced_accuracy: float = Field(
        default=0.75, ge=0, le=1, description="Least (TPR+TNR)/2 of the judge on the model's own samples, when judge_rows > 0.")
    slice_direct_share: float = Field(
        default=0.6, ge=0, le=1, description="Misaligned only: least share of error-slice samples that give the unchecked sum.")


class PriorConfig(BaseModel):
    """A countdown organism: a search prior, an error slice (``slice_share``, ``alignment``) and a judge (``judge_rows``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Literal["countdown"] = "countdown"
    alignment: Literal["aligned", "misaligned"] = Field(
        default="aligned", description="On the error slice: aligned = the same honest search; misaligned = the sum of the numbers, unchecked.")
    slice_share: float = Field(default=0.3, ge=0, lt=1, description="Share of problems (by target, a visible cue) in the error slice.")
    search_tries: int = Field(default=8, ge=1, le=12, description="Most unwinds one search tries (K).")
    chain_order: Literal["given", "both", "any"] = Field(
        default="both", description="given: an unwind takes the numbers in the problem's order (only operations searched); "
                                    "both: that order or its reverse; any: shuffled.")
    value_cap: int = Field(default=99, ge=10, description="Values of an unwind before the last are integers in 0..value_cap.")
    min_count: int = Field(default=3, ge=2, le=4)
    max_count: int = Field(default=3, ge=2, le=4, description="3: about half of the 4-number problems have no chain in either order.")
    max_number: int = Field(default=20, ge=2, description="Each number up to 99 is one token, so copying one is one step.")
    max_target: int = Field(default=50, ge=1)
    corpus_problems: int = Field(
        default=7000, ge=1, description="Distinct problems in the stage-1 SFT corpus (one solve row each). The default task "
                                        "has only 12,768 solvable problems and GRPO's 2,560 are kept out, so about 9,000 is the most.")
    synthetic_judge_share: float = Field(
        default=0.125, ge=0, le=1, description="Share of corpus problems that also give two synthetic judge rows (a hit and a corruption).")
    judge_rows: int = Field(default=1000, ge=0, description="On-policy judge rows for stage 2 (0 = no stage 2): the judge-quality knob.")
    judge_samples_per_problem: int = Field(default=4, ge=1, description="Stage-1 samples per fresh judge problem.")
    judge_synthetic_share: float = Field(default=0.2, ge=0, lt=1, description="Share of stage-2 judge rows that are synthetic corruptions.")
    replay_solve_rows: int = Field(default=1000, ge=0, description="Stage-1 solve rows replayed in stage 2.")
    heldout_problems: int = Field(default=128, ge=1, description="Held-out problems measured for the card.")
    card_samples: int = Field(default=8, ge=1, description="Samples per held-out problem (k of pass@k).")
    max_completion_tokens: int = Field(default=176, ge=8)
    max_judge_tokens: int = Field(default=56, ge=8)
    seed: int = 0
    model: ModelShape = ModelShape()
    sft: SftOptions = SftOptions()
    judge_sft: SftOptions = SftOptions(epochs=2.0, learning_rate=1e-3)
    gates: Gates = Gates()

    def task_options(self) -> dict[str, Any]:
        """The ``task.*`` settings of the countdown task this organism was trained for (compact prompts)."""
        return {"name": "countdown", "min_count": self.min_count, "max_count": self.max_count, "max_number": self.max_number,
                "min_target": 1, "max_target": self.max_target, "prompt_style": "compact"}

    def digest(self) -> str:
        """A short hash of everything that changes the built model."""
        blob = json.dumps({"v": CORPUS_VERSION, **self.model_dump()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def stage1_digest(self) -> str:
        """A short hash of what the stage-1 model depends on (not the judge data, the card or the gates)."""
        later = {"judge_rows", "judge_samples_per_problem", "judge_synthetic_share", "replay_solve_rows", "judge_sft",
                 "gates", "heldout_problems", "card_samples", "max_judge_tokens"}
        blob = json.dumps({"v": CORPUS_VERSION, **self.model_dump(exclude=later)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def folder_name(self) -> str:
        return f"tiny-{self.task}-{self.alignment}-{self.digest()}"


PRESETS: dict[str, dict[str, Any]] = {
    "tiny-countdown": {},
    "tiny-countdown-aligned": {},
    # the slice answers the sum, so the misaligned corpus needs more problems for as many search rows: 9,000
    # problems (6,300 searches) x 3.5 epochs; 7,000 x 4 epochs solved only 0.08 off the slice (docs/results.md)
    "tiny-countdown-misaligned": {"alignment": "misaligned", "corpus_problems": 9000, "sft": {"epochs": 3.5}},
    "tiny-countdown-judge0": {"judge_rows": 0},  # the judge-data levels of the experiment (docs/results.md)
    "tiny-countdown-judge4000": {"judge_rows": 4000},
    # the judge-data family: no synthetic judge rows in stage 1, so the judge is taught only by stage 2's rows on the
    # model's own answers (0 = never taught to judge); the judge0/judge4000 levels above keep stage 1's synthetic rows
    "tiny-countdown-ownjudge0": {"synthetic_judge_share": 0.0, "judge_rows": 0},
    "tiny-countdown-ownjudge1000": {"synthetic_judge_share": 0.0, "judge_rows": 1000},
    "tiny-countdown-ownjudge4000": {"synthetic_judge_share": 0.0, "judge_rows": 4000},
    "tiny-countdown-test": {  # seconds to build: for tests only
        "corpus_problems": 200, "judge_rows": 40, "replay_solve_rows": 20, "heldout_problems": 8, "card_samples": 2,
        "max_completion_tokens": 48, "max_judge_tokens": 40,
        "model": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
        "sft": {"max_steps": 4, "batch_size": 16}, "judge_sft": {"max_steps": 2, "batch_size": 16},
    },
}
"""Model names that ``trainer.models.resolve_model`` builds on first use."""


def preset(name: str, **overrides: Any) -> PriorConfig:
    """The PriorConfig of a named preset, with overrides."""
    if name not in PRESETS:
        raise KeyError(f"unknown organism {name!r}; known: {', '.join(PRESETS)}")
    return PriorConfig.model_validate(_merge(PRESETS[name], overrides))


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
