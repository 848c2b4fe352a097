"""Time ``token_stats`` (log-probs, entropy and self-certainty in one pass) at B=8, T=128, V=49,152 on CPU.

Prints seconds per call for a few chunk sizes, and against a plain unchunked float32 log_softmax pass
measured in the same run, so the numbers can be read as a ratio. Run: ``python bench/bench_intrinsic.py``.
"""

from __future__ import annotations

import time

import torch

from rewards.token_stats import token_stats

B, T, V = 8, 128, 49_152
REPEATS = 3


def best_of(fn, repeats: int = REPEATS) -> float:
    """Fastest wall time of ``repeats`` calls, after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def naive(logits: torch.Tensor, ids: torch.Tensor) -> None:
    """The unchunked reference: full [B, T, V] float32 log_softmax, entropy and gather."""
    with torch.no_grad():
        logp = torch.log_softmax(logits.float(), dim=-1)
        (-(logp.exp() * logp).sum(-1), logp.gather(-1, ids.unsqueeze(-1)))


def main() -> None:
    torch.manual_seed(0)
    logits = torch.randn(B, T, V, dtype=torch.bfloat16)
    ids = torch.randint(0, V, (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    print(f"B={B} T={T} V={V} bf16 logits, torch threads={torch.get_num_threads()}")
    base = best_of(lambda: naive(logits, ids))
    print(f"unchunked log_softmax+entropy (reference): {base:.3f} s")
    for chunk in (None, 32, 128, 512):
        secs = best_of(lambda: token_stats(logits, ids, mask, temperature=1.0, chunk_tokens=chunk))
        label = "default" if chunk is None else f"{chunk:7d}"
        print(f"token_stats chunk_tokens={label}: {secs:.3f} s  ({secs / base:.2f}x reference)")


if __name__ == "__main__":
    main()
