"""The organism's network: a small transformers ``LlamaForCausalLM`` sized for the char-level tokenizer."""

from __future__ import annotations

from typing import Any

from trainer.prior.config import ModelShape


def build_model(shape: ModelShape, tokenizer: Any, seed: int = 0) -> Any:
    """A freshly initialised Llama causal LM whose vocabulary and special ids match ``tokenizer``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if shape.hidden_size % shape.num_attention_heads:
        raise ValueError(f"hidden_size {shape.hidden_size} is not divisible by num_attention_heads {shape.num_attention_heads}")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_attention_heads,
        max_position_embeddings=shape.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    return model


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
