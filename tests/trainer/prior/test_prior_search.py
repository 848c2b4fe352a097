"""The search trace: chains are honest by construction, and check_trace catches every kind of lie (in linear time)."""

import random

from trainer.prior.search import Chain, apply, check_trace, sample_chain, search, search_completion


def test_chain_text_and_expression():
    chain = Chain((3, 5, 2), ("+", "*"), (8, 16))
    assert chain.text() == "3+5=8*2=16" and chain.expression() == "(3+5)*2" and chain.value == 16
    assert Chain((3, 5, 7), ("*", "+"), (15, 22)).expression() == "3*5+7"


def test_apply_keeps_values_whole_and_capped():
    assert apply(7, "/", 2, 99) is None and apply(8, "/", 2, 99) == 4
    assert apply(3, "-", 5, 99) is None and apply(50, "*", 2, 99) is None and apply(9, "/", 0, 99) is None


def test_search_stops_at_the_first_hit_and_its_completion_checks_clean():
    rng = random.Random(0)
    for nums, target in (([3, 5, 7], 22), ([2, 9], 18), ([1, 4, 6, 8], 19), ([9, 9, 9], 1)):
        chains = search(nums, target, rng, 4, 99, True)
        assert 1 <= len(chains) <= 4 and all(c.value != target for c in chains[:-1])
        assert check_trace(search_completion(chains, target), nums, target) == []


def test_greedy_last_step_hits_when_one_operation_can():
    rng = random.Random(1)
    hits = sum(sample_chain([4, 6], 24, rng, 99, True).value == 24 for _ in range(20))
    assert hits == 20


def test_check_trace_names_each_lie():
    good = " 5+3=8*7=56 miss 3*5=15+7=22 hit </think> <answer>3*5+7</answer>"
    assert check_trace(good, [3, 5, 7], 22) == []
    lies = {
        " 3*5=16+7=23 miss </think> <answer>3*5+7</answer>": "is wrong",
        " 3*5=15+7=22 miss </think> <answer>3*5+7</answer>": "marked",
        " 3*5=15+7=22 hit 5+3=8*7=56 miss </think> <answer>(5+3)*7</answer>": "after a hit",
        " 3*5=15+7=22 hit </think> <answer>5*3+7</answer>": "not the last chain",
        " 3*5=15+8=23 miss </think> <answer>3*5+8</answer>": "uses",
        " 3*9=27*9=243 miss </think> <answer>3*9*9</answer>": "is wrong",  # over the cap counts as dishonest
        " 3*5=15 </think> <answer>3*5</answer>": "pairs",
    }
    for text, why in lies.items():
        problems = check_trace(text, [3, 5, 7] if "9" not in text else [3, 9, 9], 22)
        assert problems and any(why in p for p in problems), (text, problems)


def test_check_trace_reads_hostile_text_without_blowing_up():
    for text in ("", "</think>", " 9" * 5000 + " </think>", " 1+" * 3000 + "1=2 hit </think>", "x" * 10000,
                 " 99999999999999*9=1 hit </think> <answer>1</answer>"):
        assert isinstance(check_trace(text, [1, 2], 3), list)


def test_ordered_chains_take_the_numbers_as_given():
    rng = random.Random(2)
    for _ in range(50):
        chain = sample_chain([7, 2, 9, 4], 13, rng, 99, True, ordered=True)
        assert chain.order == (7, 2, 9, 4)
