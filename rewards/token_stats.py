"""The maths of the intrinsic rewards: per-token statistics of the policy's own distribution and their reductions.

Shapes: ``logits`` is [B, T, V] and aligned with the completion, i.e. ``logits[:, t]`` is the
distribution that ``completion_ids[:, t]`` was sampled from (TRL keeps ``logits[:, :-1][:, -T:]``).
``completion_ids`` and ``mask`` are [B, T]; every reward returns a [B] tensor.

A row whose mask is empty has no tokens to score: its reward is NaN, which the trainer turns into
None (masked, not zero). Every statistic is computed on ``logits / temperature``, the distribution
that was actually sampled from, in float32 and without gradients.

The trainer computes :func:`token_stats` once per step and derives any reward from it with
:func:`intrinsic_from_stats`; the one-call functions (:func:`self_certainty`, ...) are conveniences
for tests and offline use. The reward classes that read these statistics are in :mod:`rewards.intrinsic`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rewards.base import check_group_size

INTRINSIC_REWARDS = ("self_certainty", "token_entropy", "trajectory_entropy", "probability")
"""Names accepted by :func:`intrinsic_from_stats`."""

CPU_CHUNK_TOKENS = 64
"""Positions per chunk on CPU: 64 x V=49,152 x 4 bytes = 12 MiB of scratch, cache-friendly (see bench/)."""
ACCEL_CHUNK_TOKENS = 512
"""Positions per chunk on an accelerator: fewer kernel launches; 512 x V=152k x 4 bytes = 300 MiB."""


@dataclass(frozen=True)
class TokenStats:
    """Per-token statistics of one batch, each [B, T] float32; zero where ``mask`` is 0.

    - ``logprobs``: log p(y_t), the sampled token's log-probability.
    - ``entropy``: H(p_t) = -sum_v p_v log p_v, in nats.
    - ``self_certainty``: logsumexp(l) - mean_v(l) = KL(U || p_t) + log V (see :func:`self_certainty`).
    """

    logprobs: torch.Tensor
    entropy: torch.Tensor
    self_certainty: torch.Tensor


def _check_shapes(logits: torch.Tensor, completion_ids: torch.Tensor | None, mask: torch.Tensor) -> None:
    if logits.dim() != 3:
        raise ValueError(f"logits must be [B, T, V], got shape {tuple(logits.shape)}")
    if tuple(mask.shape) != tuple(logits.shape[:2]):
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match logits [B, T] = {tuple(logits.shape[:2])}")
    if completion_ids is not None and tuple(completion_ids.shape) != tuple(mask.shape):
        raise ValueError(f"completion_ids shape {tuple(completion_ids.shape)} does not match mask {tuple(mask.shape)}")


@torch.no_grad()
def token_stats(
    logits: torch.Tensor,
    completion_ids: torch.Tensor,
    mask: torch.Tensor,
    temperature: float = 1.0,
    chunk_tokens: int | None = None,
) -> TokenStats:
    """Log-prob of the sampled token, entropy and self-certainty at every unmasked position, in one pass.

    Only positions with ``mask == 1`` are computed, ``chunk_tokens`` at a time, so the float32 scratch
    is ``chunk_tokens x V`` rather than a full [B, T, V] copy of the logits. ``chunk_tokens`` defaults to
    :data:`CPU_CHUNK_TOKENS` on CPU and :data:`ACCEL_CHUNK_TOKENS` elsewhere.
    """
    if chunk_tokens is None:
        chunk_tokens = CPU_CHUNK_TOKENS if logits.device.type == "cpu" else ACCEL_CHUNK_TOKENS
    _check_shapes(logits, completion_ids, mask)
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if chunk_tokens < 1:
        raise ValueError(f"chunk_tokens must be >= 1, got {chunk_tokens}")
    shape = tuple(mask.shape)
    out = [torch.zeros(shape, dtype=torch.float32, device=logits.device) for _ in range(3)]
    rows, cols = torch.nonzero(mask.bool(), as_tuple=True)
    for start in range(0, rows.numel(), chunk_tokens):
        r, c = rows[start : start + chunk_tokens], cols[start : start + chunk_tokens]
        lp, ent, sc = _stats_of_rows(logits[r, c], completion_ids[r, c], temperature)
        out[0][r, c], out[1][r, c], out[2][r, c] = lp, ent, sc
    return TokenStats(logprobs=out[0], entropy=out[1], self_certainty=out[2])


def _stats_of_rows(rows: torch.Tensor, ids: torch.Tensor, temperature: float) -> tuple[torch.Tensor, ...]:
    """(log p(id), entropy, self-certainty) for N rows of logits [N, V]."""
    scaled = rows.float() / temperature
    lse = torch.logsumexp(scaled, dim=-1)
    logp = scaled - lse.unsqueeze(-1)
    entropy = -(logp.exp() * logp).sum(dim=-1)
    chosen = logp.gather(-1, ids.long().unsqueeze(-1)).squeeze(-1)
    return chosen, entropy, lse - scaled.mean(dim=-1)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` [B, T] over positions where ``mask`` is 1, per row; NaN for an empty row."""
    m = mask.to(values.dtype)
    count = m.sum(dim=-1)
    total = (values * m).sum(dim=-1)
    return torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, float("nan")))


def masked_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of ``values`` [B, T] over positions where ``mask`` is 1, per row, in float64; NaN for an empty row."""
    m = mask.to(torch.float64)
    total = (values.double() * m).sum(dim=-1)
    return torch.where(m.sum(dim=-1) > 0, total, torch.full_like(total, float("nan")))


def relative_probability(seq_logprob: torch.Tensor, group_size: int | None = None) -> torch.Tensor:
    """exp(s_i - max_{j in group} s_j): each sequence's probability over the largest in its group.

    ``seq_logprob`` [B] holds log prod_t p(y_t); groups are ``group_size`` consecutive rows (TRL's
    layout), or the whole batch when None. The result is in (0, 1], 1 for the group's most likely
    rollout. It differs from the raw product by a positive per-group factor, which GRPO's
    group-normalised advantages (r - mean) / std cancel exactly; unlike the raw product it does not
    underflow to 0 for long sequences. NaN rows stay NaN and are left out of the group's max.
    """
    s = seq_logprob.double()
    if s.numel() == 0:
        return s
    groups = s.view(-1, s.numel() if group_size is None else check_group_size(s.numel(), group_size))
    best = torch.where(torch.isnan(groups), torch.full_like(groups, -math.inf), groups).amax(dim=-1, keepdim=True)
    rel = torch.exp(groups - best)
    return torch.where(torch.isnan(groups), groups, rel).view(-1)


def intrinsic_from_stats(
    name: str,
    stats: TokenStats,
    mask: torch.Tensor,
    group_size: int | None = None,
    log_space: bool = False,
) -> torch.Tensor:
    """The intrinsic reward ``name`` [B] reduced from per-token ``stats``; NaN for rows with an empty mask.

    - ``self_certainty``: mean_t [logsumexp(l_t) - mean_v(l_t)]  (higher = more confident)
    - ``token_entropy``: -mean_t H(p_t)
    - ``trajectory_entropy``: mean_t log p(y_t)
    - ``probability``: prod_t p(y_t) relative to its group (:func:`relative_probability`), or the exact
      log-product sum_t log p(y_t) in float64 when ``log_space``. Either way it favours short outputs.
    """
    if name == "self_certainty":
        return masked_mean(stats.self_certainty, mask)
    if name == "token_entropy":
        return -masked_mean(stats.entropy, mask)
    if name == "trajectory_entropy":
        return masked_mean(stats.logprobs, mask)
    if name == "probability":
        seq = masked_sum(stats.logprobs, mask)
        return seq if log_space else relative_probability(seq, group_size)
    raise ValueError(f"unknown intrinsic reward {name!r}; known: {', '.join(INTRINSIC_REWARDS)}")


def self_certainty(logits: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Mean over response tokens of logsumexp(l_t) - mean_v(l_t) [B] (Kang et al.; Intuitor's form).

    This equals KL(U || p_t) + log V, where U is uniform over the V vocabulary entries: subtract log V
    for the KL itself. The constant shifts every reward equally, so GRPO advantages are unchanged.
    Minimum log V for uniform logits; it grows without bound as the distribution sharpens.
    """
    ids = torch.zeros(mask.shape, dtype=torch.long, device=logits.device)
    return intrinsic_from_stats("self_certainty", token_stats(logits, ids, mask, temperature), mask)


def token_entropy(logits: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Minus the mean per-token entropy, -mean_t H(p_t) [B]; -log V for uniform logits, 0 for one-hot."""
    ids = torch.zeros(mask.shape, dtype=torch.long, device=logits.device)
    return intrinsic_from_stats("token_entropy", token_stats(logits, ids, mask, temperature), mask)


def trajectory_entropy(
    logits: torch.Tensor, completion_ids: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """Mean log-probability of the sampled tokens, mean_t log p(y_t) [B]: minus a one-sample trajectory-entropy estimate."""
    return intrinsic_from_stats("trajectory_entropy", token_stats(logits, completion_ids, mask, temperature), mask)


def probability(
    logits: torch.Tensor,
    completion_ids: torch.Tensor,
    mask: torch.Tensor,
    temperature: float = 1.0,
    group_size: int | None = None,
    log_space: bool = False,
) -> torch.Tensor:
    """The product of token probabilities prod_t p(y_t) [B], computed in log space so it never underflows.

    By default each value is relative to the most likely rollout of its group (see
    :func:`relative_probability`), which gives GRPO the same advantages as the raw product; with
    ``log_space`` it is the exact float64 log-product instead. Example: 5,000 tokens at p = 0.5 give
    log-product -3465.7 (the raw product, 2^-5000, is 0 in float64).
    """
    stats = token_stats(logits, completion_ids, mask, temperature)
    return intrinsic_from_stats("probability", stats, mask, group_size=group_size, log_space=log_space)
