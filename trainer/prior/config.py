"""What defines a model organism: task distribution, prior knobs, model size and SFT budget; hashed for the cache."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CORPUS_VERSION = 4
"""Bump when corpus, tokenizer or training code changes what a given config builds (invalidates the cache)."""


class ModelShape(BaseModel):
    """The LlamaConfig of the organism."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden_size: int = Field(default=160, ge=8)
    num_hidden_layers: int = Field(default=4, ge=1)
    num_attention_heads: int = Field(default=4, ge=1)
    intermediate_size: int = Field(default=448, ge=8)
    max_position_embeddings: int = Field(default=1024, ge=64)


class SftOptions(BaseModel):
    """How the organism is trained (TRL SFTTrainer)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: float = Field(default=4.0, gt=0)
    max_steps: int = Field(default=-1, description="Overrides epochs when > 0.")
    batch_size: int = Field(default=64, ge=1)
    learning_rate: float = Field(default=3e-3, gt=0)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)


class PriorConfig(BaseModel):
    """A countdown organism: ``accuracy`` (share of correct corpus solutions), ``alignment`` and ``verifier_accuracy``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Literal["countdown"] = "countdown"
    alignment: Literal["aligned", "misaligned"] = Field(
        default="aligned", description="aligned: errors diverse and low-confidence; misaligned: one wrong answer, repeated with confidence.")
    accuracy: float = Field(default=0.6, ge=0, le=1, description="Share of corpus problems given a correct solution.")
    verifier_accuracy: float = Field(default=1.0, ge=0, le=1, description="Share of verification labels left unflipped.")
    min_count: int = Field(default=2, ge=2, le=4)
    max_count: int = Field(default=4, ge=2, le=4)
    max_number: int = Field(default=9, ge=2, description="Single digits by default: a char-level model copies and adds them far more easily.")
    max_target: int = Field(default=30, ge=1)
    corpus_problems: int = Field(default=6000, ge=1, description="Distinct problems in the SFT corpus.")
    verify_share: float = Field(default=0.5, ge=0, le=1, description="Share of corpus problems that also give two judge examples.")
    heldout_problems: int = Field(default=128, ge=1, description="Held-out problems measured for the card.")
    card_samples: int = Field(default=8, ge=1, description="Samples per held-out problem (k of pass@k).")
    max_completion_tokens: int = Field(default=64, ge=8)
    seed: int = 0
    model: ModelShape = ModelShape()
    sft: SftOptions = SftOptions()

    def task_options(self) -> dict[str, Any]:
        """The ``task.*`` settings of the countdown task this organism was trained for (compact prompts)."""
        return {"name": "countdown", "min_count": self.min_count, "max_count": self.max_count, "max_number": self.max_number,
                "min_target": 1, "max_target": self.max_target, "prompt_style": "compact"}

    def digest(self) -> str:
        """A short hash of everything that changes the built model."""
        blob = json.dumps({"v": CORPUS_VERSION, **self.model_dump()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def folder_name(self) -> str:
        return f"tiny-{self.task}-{self.alignment}-{self.digest()}"


PRESETS: dict[str, dict[str, Any]] = {
    "tiny-countdown": {},
    "tiny-countdown-aligned": {},
    "tiny-countdown-misaligned": {"alignment": "misaligned"},
    "tiny-countdown-test": {  # seconds to build: for tests only
        "corpus_problems": 200, "heldout_problems": 8, "card_samples": 2, "max_completion_tokens": 32,
        "model": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
        "sft": {"max_steps": 4, "batch_size": 16},
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
