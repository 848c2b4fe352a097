"""One process of the two-process server-mode check (run by torchrun from tests/trainer/test_generation_vllm.py):
generation through the main process's client stand-in, each process with its own number of prompts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from accelerate import Accelerator
from transformers import AutoTokenizer

from tests.trainer.vllm_standins import FakeVLLMGenerationStandIn, trainer_standin
from trainer.generation import generate

PROMPTS = {0: ["alpha", "beta", "gamma"], 1: ["delta"]}
"""Rank 0 has three prompts, rank 1 one; in the second call rank 1 has none (it must still take part)."""


def main(out: Path, tokenizer_path: str) -> None:
    accelerator = Accelerator(cpu=True)
    rank = accelerator.process_index
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    log: list = []
    engine = FakeVLLMGenerationStandIn(tokenizer, log, "server")
    if rank != 0:
        engine.vllm_client = None  # TRL makes the client on the main process only
    trainer = trainer_standin(tokenizer, engine, accelerator, step=5, loaded=4)  # stale weights: a sync first
    first = generate(None, tokenizer, PROMPTS[rank], n=2, max_new_tokens=7, temperature=0.0, trainer=trainer)
    second = generate(None, tokenizer, PROMPTS[rank] if rank == 0 else [], n=1, max_new_tokens=5, temperature=0.5, trainer=trainer)
    (out / f"rank{rank}.json").write_text(json.dumps({"first": first, "second": second, "log": log,
                                                      "loaded": trainer._last_loaded_step}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
