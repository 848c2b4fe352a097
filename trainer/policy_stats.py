"""Per-token policy statistics for intrinsic rewards, computed once per step from one no-grad forward pass.

TRL never hands reward functions the policy's logits, so the trainer computes log-prob, entropy and
self-certainty of each sampled token (at the sampling temperature) and attaches them to the batch rows
as the ``policy_stats`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from rewards.token_stats import token_stats


@torch.no_grad()
def compute_policy_stats(model: Any, prompt_ids: Sequence[Sequence[int]], completion_ids: Sequence[Sequence[int]],
                         pad_id: int, temperature: float, micro_batch: int = 4) -> list[dict[str, torch.Tensor]]:
    """For each (prompt, completion) pair, 1-D tensors ``logprobs``, ``entropy``, ``self_certainty`` over its tokens."""
    out: list[dict[str, torch.Tensor]] = []
    for start in range(0, len(completion_ids), micro_batch):
        out.extend(_stats_chunk(model, prompt_ids[start : start + micro_batch], completion_ids[start : start + micro_batch], pad_id, temperature))
    return out


def _stats_chunk(model, prompts, completions, pad_id: int, temperature: float) -> list[dict[str, torch.Tensor]]:
    """TRL's layout: prompts left-padded, completions right-padded, logits kept only for completion positions."""
    device = next(model.parameters()).device
    p_max = max(len(p) for p in prompts)
    c_max = max(1, max(len(c) for c in completions))
    rows = len(prompts)
    input_ids = torch.full((rows, p_max + c_max), pad_id, dtype=torch.long, device=device)
    attention = torch.zeros_like(input_ids)
    mask = torch.zeros((rows, c_max), dtype=torch.long, device=device)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        input_ids[i, p_max - len(p) : p_max] = torch.tensor(list(p), device=device)
        attention[i, p_max - len(p) : p_max + len(c)] = 1
        if len(c):
            input_ids[i, p_max : p_max + len(c)] = torch.tensor(list(c), device=device)
            mask[i, : len(c)] = 1
    # The logits at position t predict token t+1: keep the c_max+1 last positions and drop the final one.
    logits = model(input_ids=input_ids, attention_mask=attention, logits_to_keep=c_max + 1).logits[:, :-1]
    stats = token_stats(logits, input_ids[:, p_max:], mask, temperature)
    lengths = mask.sum(dim=1).tolist()
    return [
        {"logprobs": stats.logprobs[i, :n].cpu(), "entropy": stats.entropy[i, :n].cpu(), "self_certainty": stats.self_certainty[i, :n].cpu()}
        for i, n in enumerate(lengths)
    ]


def attach_policy_stats(trainer: Any, inputs: list[dict], prompts: list, completion_ids: Sequence[Sequence[int]]) -> None:
    """Compute the statistics with the trainer's current policy and store them in each row's ``policy_stats``."""
    prompt_ids = trainer._tokenize_prompts(prompts)[0]
    model = trainer.accelerator.unwrap_model(trainer.model)
    tokenizer = trainer.processing_class
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    stats = compute_policy_stats(model, prompt_ids, completion_ids, pad_id, trainer.temperature)
    for row, s in zip(inputs, stats):
        row["policy_stats"] = s


class PolicyStatsMixin:
    """Mix into a TRL ``GRPOTrainer`` subclass so intrinsic rewards (``rewards.trl.intrinsic_reward``) get their
    ``policy_stats`` column: ``class Trainer(PolicyStatsMixin, GRPOTrainer): pass``. It costs one no-grad
    forward pass per step, and only when a reward function declares ``needs_policy_stats``."""

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        if any(getattr(f, "needs_policy_stats", False) for f in self.reward_funcs):
            attach_policy_stats(self, inputs, prompts, completion_ids_list)
        return super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
