"""Text generation outside TRL's rollout loop: validation samples and self-verification judgements.

Uses vLLM when the trainer has it (colocated engine or ``trl vllm-serve`` client), else transformers ``generate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import torch


def render_prompts(tokenizer: Any, prompts: Sequence[Any]) -> list[str]:
    """Plain strings stay as they are; chat messages go through the tokenizer's chat template."""
    out = []
    for p in prompts:
        if isinstance(p, str):
            out.append(p)
        else:
            out.append(tokenizer.apply_chat_template(list(p), tokenize=False, add_generation_prompt=True))
    return out


@torch.no_grad()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Any],
    n: int = 1,
    max_new_tokens: int = 128,
    temperature: float = 1.0,
    batch_size: int = 16,
    trainer: Any = None,
) -> list[list[str]]:
    """``n`` completions for each prompt (sampled, or greedy when temperature is 0), as a list per prompt."""
    texts = render_prompts(tokenizer, prompts)
    if trainer is not None and getattr(trainer, "use_vllm", False):
        return _generate_vllm(trainer, texts, n, max_new_tokens, temperature)
    with _for_generation(model, trainer) as gen_model:
        results: list[list[str]] = []
        for start in range(0, len(texts), batch_size):
            results.extend(_generate_hf(gen_model, tokenizer, texts[start : start + batch_size], n, max_new_tokens, temperature))
    return results


@contextmanager
def _for_generation(model: Any, trainer: Any):
    """The model ready to generate: unwrapped, with gradient checkpointing (which disables the KV cache) off."""
    if trainer is not None and model is trainer.accelerator.unwrap_model(trainer.model):
        from trl.models.utils import unwrap_model_for_generation

        with unwrap_model_for_generation(trainer.model, trainer.accelerator) as unwrapped:
            yield unwrapped
    else:
        yield model


def _generate_hf(model, tokenizer, texts: list[str], n: int, max_new_tokens: int, temperature: float) -> list[list[str]]:
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    finally:
        tokenizer.padding_side = side
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    was_training = model.training
    model.eval()
    try:
        out = model.generate(
            **enc, max_new_tokens=max_new_tokens, use_cache=True, num_return_sequences=n, pad_token_id=tokenizer.pad_token_id, **sampling
        )
    finally:
        model.train(was_training)
    decoded = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return [decoded[i * n : (i + 1) * n] for i in range(len(texts))]


def _generate_vllm(trainer, texts: list[str], n: int, max_new_tokens: int, temperature: float) -> list[list[str]]:
    # TRL syncs the policy weights into vLLM before each rollout, so the engine holds the current policy.
    engine = trainer.vllm_generation
    if trainer.vllm_mode == "colocate":
        from vllm import SamplingParams

        params = SamplingParams(n=n, max_tokens=max_new_tokens, temperature=temperature)
        outputs = engine.llm.generate(texts, sampling_params=params, use_tqdm=False)
        return [[o.text for o in out.outputs] for out in outputs]
    result = engine.vllm_client.generate(prompts=texts, n=n, max_tokens=max_new_tokens, temperature=temperature)
    ids = result["completion_ids"]
    decoded = trainer.processing_class.batch_decode(ids, skip_special_tokens=True)
    return [decoded[i * n : (i + 1) * n] for i in range(len(texts))]
