"""The SFT stage's batch order (length buckets) and thread budget; the training itself is covered by test_warmstart."""

import random

import torch

from trainer.prior.sft import LengthBuckets, thread_budget


def _batches(sampler, size):
    order = list(sampler)
    return [order[i : i + size] for i in range(0, len(order), size)]


def test_length_buckets_cover_every_row_once_and_pad_less_than_random_batches():
    rng = random.Random(0)
    lengths = [rng.choice([rng.randint(40, 60), rng.randint(90, 110)]) for _ in range(1000)]
    sampler = LengthBuckets(lengths, 64, seed=0, group=5)
    batches = _batches(sampler, 64)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert all(len(b) == 64 for b in batches[:-1]) and len(batches[-1]) == 1000 % 64
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    shuffled = list(range(1000))
    rng.shuffle(shuffled)
    random_padded = sum(max(lengths[i] for i in shuffled[k : k + 64]) * len(shuffled[k : k + 64]) for k in range(0, 1000, 64))
    assert padded < 0.85 * random_padded


def test_length_buckets_reshuffle_each_epoch_and_do_not_sweep_long_to_short():
    lengths = list(range(3200))
    sampler = LengthBuckets(lengths, 64, seed=1, group=50)
    first = _batches(sampler, 64)
    sampler.set_epoch(1)
    second = _batches(sampler, 64)
    assert first != second
    assert list(sampler) == [i for b in second for i in b]  # the same epoch gives the same order
    maxima = [max(b) for b in first]
    assert maxima != sorted(maxima) and maxima != sorted(maxima, reverse=True)


def test_thread_budget_fixes_then_restores_threads():
    before = torch.get_num_threads()
    with thread_budget(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_thread_governor_follows_the_probe_and_rechecks_after_a_slow_step(monkeypatch):
    from types import SimpleNamespace

    import trainer.prior.sft as sft

    verdicts = iter([True, False, True])
    monkeypatch.setattr(sft, "threads_help", lambda n: next(verdicts))
    clock = iter([0.0, 1.0] * 6 + [20.0, 30.0] + [40.0, 41.0])  # six 1 s steps, one 10 s step, then a normal one
    monkeypatch.setattr(sft.time, "perf_counter", lambda: next(clock))
    before = torch.get_num_threads()
    gov = sft.ThreadGovernor(2, every=1000)
    try:
        gov.on_train_begin(None, None, None)
        assert gov.choices == [2] and torch.get_num_threads() == 2
        for step in range(7):
            gov.on_step_begin(None, SimpleNamespace(global_step=step), None)
            gov.on_step_end(None, None, None)
        assert gov.choices == [2]  # no periodic check yet; the slow step asks for one at the next step
        gov.on_step_begin(None, SimpleNamespace(global_step=7), None)
        assert gov.choices == [2, 1] and torch.get_num_threads() == 1
        gov.on_step_end(None, None, None)
    finally:
        torch.set_num_threads(before)
