"""Sampling from an organism as GRPO does (plain prompts, temperature 1) and scoring each sample's confidence."""

from __future__ import annotations

from typing import Any


def sample(model: Any, tokenizer: Any, prompts: list[str], n: int, max_new_tokens: int, temperature: float,
           batch: int = 64) -> list[tuple[list[int], list[int], str]]:
    """(prompt ids, completion ids up to and including EOS, text) for ``n`` samples of each prompt, prompt-major."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(prompts), batch):
            chunk = prompts[start : start + batch]
            enc = tokenizer(chunk, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
            sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
            seqs = model.generate(**enc, max_new_tokens=max_new_tokens, num_return_sequences=n,
                                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, **sampling)
            width = enc["input_ids"].shape[1]
            for row, seq in enumerate(seqs):
                mask = enc["attention_mask"][row // n].tolist()
                prompt_ids = [t for t, m in zip(enc["input_ids"][row // n].tolist(), mask) if m]
                comp = seq[width:].tolist()
                if tokenizer.eos_token_id in comp:
                    comp = comp[: comp.index(tokenizer.eos_token_id) + 1]
                else:
                    comp = [t for t in comp if t != tokenizer.pad_token_id]
                out.append((prompt_ids, comp, tokenizer.decode(comp, skip_special_tokens=True)))
    return out


def confidence_scores(model: Any, tokenizer: Any, samples: list[tuple[list[int], list[int], str]], temperature: float) -> dict[str, list[float]]:
    """Each intrinsic reward's value for every sample (higher = more confident)."""
    from rewards.intrinsic import stack_stats
    from rewards.token_stats import INTRINSIC_REWARDS, intrinsic_from_stats
    from trainer.policy_stats import compute_policy_stats

    stats = compute_policy_stats(model, [s[0] for s in samples], [s[1] for s in samples], tokenizer.pad_token_id, temperature, micro_batch=64)
    token, mask = stack_stats(stats)
    return {name: intrinsic_from_stats(name, token, mask, log_space=True).tolist() for name in INTRINSIC_REWARDS}
