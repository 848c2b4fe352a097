"""The intrinsic rewards' maths (rewards.token_stats) on hand-built logits with known values."""

from __future__ import annotations

import math

import pytest
import torch

from rewards.token_stats import (
    INTRINSIC_REWARDS,
    intrinsic_from_stats,
    probability,
    relative_probability,
    self_certainty,
    token_entropy,
    token_stats,
    trajectory_entropy,
)

V = 7


def peaked(batch: int, steps: int, vocab: int = V, hot: int = 0, height: float = 60.0) -> torch.Tensor:
    """Logits where token ``hot`` has all the mass (up to e^-height)."""
    logits = torch.zeros(batch, steps, vocab)
    logits[..., hot] = height
    return logits


def ones(batch: int, steps: int) -> torch.Tensor:
    return torch.ones(batch, steps, dtype=torch.long)


# --- closed-form values ----------------------------------------------------------------------------------


def test_uniform_logits_give_the_minimum_self_certainty_log_v():
    logits = torch.full((2, 4, V), 3.0)  # any constant row is uniform
    assert torch.allclose(self_certainty(logits, ones(2, 4)), torch.full((2,), math.log(V)), atol=1e-5)


def test_self_certainty_equals_kl_from_uniform_plus_log_v():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, V)
    p = torch.softmax(logits, -1)
    kl = (torch.full_like(p, 1 / V) * (torch.log(torch.full_like(p, 1 / V)) - torch.log(p))).sum(-1).mean(-1)
    assert torch.allclose(self_certainty(logits, ones(3, 5)), kl + math.log(V), atol=1e-5)


def test_self_certainty_is_larger_for_peaked_than_for_any_random_distribution():
    torch.manual_seed(1)
    uniform = self_certainty(torch.zeros(1, 4, V), ones(1, 4))
    rand = self_certainty(torch.randn(8, 4, V), ones(8, 4))
    sharp = self_certainty(peaked(1, 4), ones(1, 4))
    assert (rand > uniform).all() and (rand < sharp).all()
    # lse(l) - mean(l) for one logit at h and V-1 zeros is ~ h - h/V
    assert sharp.item() == pytest.approx(60.0 - 60.0 / V, abs=1e-4)


def test_token_entropy_of_uniform_is_minus_log_v_and_of_one_hot_is_zero():
    assert token_entropy(torch.zeros(2, 3, V), ones(2, 3)).tolist() == pytest.approx([-math.log(V)] * 2, abs=1e-5)
    assert token_entropy(peaked(2, 3), ones(2, 3)).tolist() == pytest.approx([0.0, 0.0], abs=1e-5)


def test_token_entropy_matches_a_known_two_point_distribution():
    logits = torch.full((1, 1, 2), 0.0)
    logits[0, 0, 1] = math.log(3.0)  # p = (1/4, 3/4)
    expected = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert token_entropy(logits, ones(1, 1)).item() == pytest.approx(-expected, abs=1e-6)


def test_trajectory_entropy_is_the_mean_log_prob_of_the_chosen_tokens():
    probs = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]])
    logits = probs.log().unsqueeze(0)  # [1, 2, 3]
    ids = torch.tensor([[0, 2]])
    expected = (math.log(0.5) + math.log(0.7)) / 2
    assert trajectory_entropy(logits, ids, ones(1, 2)).item() == pytest.approx(expected, abs=1e-6)


def test_temperature_divides_the_logits():
    logits = torch.tensor([[[0.0, 2.0]]])
    at_two = trajectory_entropy(logits, torch.tensor([[1]]), ones(1, 1), temperature=2.0).item()
    assert at_two == pytest.approx(math.log(math.e / (1 + math.e)), abs=1e-6)


def test_probability_of_5000_tokens_does_not_underflow():
    steps = 5000
    logits = torch.zeros(2, steps, 2)  # every token has p = 1/2
    ids = torch.zeros(2, steps, dtype=torch.long)
    mask = ones(2, steps)
    mask[1, 2500:] = 0
    log_product = probability(logits, ids, mask, log_space=True)
    assert log_product.dtype == torch.float64
    assert log_product.tolist() == pytest.approx([steps * math.log(0.5), 2500 * math.log(0.5)], rel=1e-6)
    assert math.exp(log_product[0].item()) == 0.0  # the naive product really would underflow
    rel = probability(logits, ids, mask, group_size=2)
    assert rel[1].item() == 1.0 and rel[0].item() == 0.0  # 2^-2500 relative: honestly negligible
    rel_close = relative_probability(torch.tensor([-3465.0, -3466.0]), group_size=2)
    assert rel_close.tolist() == pytest.approx([1.0, math.exp(-1.0)])


def test_relative_probability_keeps_the_product_ratios_within_each_group():
    seq = torch.tensor([math.log(0.2), math.log(0.1), math.log(0.4), math.log(0.1)])
    rel = relative_probability(seq, group_size=2)
    assert rel.tolist() == pytest.approx([1.0, 0.5, 1.0, 0.25])
    with pytest.raises(ValueError, match="groups of 3"):
        relative_probability(seq, group_size=3)


def test_probability_favours_short_outputs():
    logits = torch.zeros(2, 10, 2)
    mask = ones(2, 10)
    mask[0, 3:] = 0
    rel = probability(logits, torch.zeros(2, 10, dtype=torch.long), mask, group_size=2)
    assert rel[0] > rel[1]


# --- masking -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", INTRINSIC_REWARDS)
def test_padding_does_not_change_the_reward(name):
    torch.manual_seed(2)
    logits = torch.randn(2, 6, V)
    ids = torch.randint(0, V, (2, 6))
    mask = ones(2, 6)
    mask[1, 4:] = 0
    base = intrinsic_from_stats(name, token_stats(logits, ids, mask), mask, log_space=True)
    garbage = logits.clone()
    garbage[1, 4:] = torch.randn(2, V) * 100
    other_ids = ids.clone()
    other_ids[1, 4:] = 0
    again = intrinsic_from_stats(name, token_stats(garbage, other_ids, mask), mask, log_space=True)
    assert torch.allclose(base, again)
    short = intrinsic_from_stats(name, token_stats(logits[1:, :4], ids[1:, :4], mask[1:, :4]), mask[1:, :4], log_space=True)
    assert torch.allclose(base[1:], short, atol=1e-6)


@pytest.mark.parametrize("name", INTRINSIC_REWARDS)
def test_an_empty_mask_gives_nan_and_leaves_other_rows_alone(name):
    logits = torch.zeros(2, 3, V)
    mask = ones(2, 3)
    mask[0] = 0
    out = intrinsic_from_stats(name, token_stats(logits, torch.zeros(2, 3, dtype=torch.long), mask), mask)
    assert math.isnan(out[0].item()) and not math.isnan(out[1].item())


def test_chunking_gives_the_same_stats_as_one_pass():
    torch.manual_seed(3)
    logits, ids = torch.randn(3, 9, V), torch.randint(0, V, (3, 9))
    mask = ones(3, 9)
    mask[2, 5:] = 0
    one, many = token_stats(logits, ids, mask, chunk_tokens=10_000), token_stats(logits, ids, mask, chunk_tokens=2)
    for a, b in [(one.logprobs, many.logprobs), (one.entropy, many.entropy), (one.self_certainty, many.self_certainty)]:
        assert torch.equal(a, b)
    assert (one.entropy[2, 5:] == 0).all()


def test_bfloat16_logits_are_accepted_and_computed_in_float32():
    stats = token_stats(torch.zeros(1, 2, V, dtype=torch.bfloat16), torch.zeros(1, 2, dtype=torch.long), ones(1, 2))
    assert stats.entropy.dtype == torch.float32
    assert stats.entropy[0, 0].item() == pytest.approx(math.log(V), abs=1e-5)


def test_bad_shapes_and_names_are_clear_errors():
    with pytest.raises(ValueError, match="mask shape"):
        token_stats(torch.zeros(2, 3, V), torch.zeros(2, 3, dtype=torch.long), ones(2, 4))
    with pytest.raises(ValueError, match="B, T, V"):
        token_stats(torch.zeros(2, V), torch.zeros(2, 3, dtype=torch.long), ones(2, 3))
    stats = token_stats(torch.zeros(1, 1, V), torch.zeros(1, 1, dtype=torch.long), ones(1, 1))
    with pytest.raises(ValueError, match="known: self_certainty"):
        intrinsic_from_stats("confidence", stats, ones(1, 1))
