"""The search back from the target: unwinds are honest by construction, and check_trace catches every kind of lie
(in linear time)."""

import random
from fractions import Fraction

import pytest

from tasks.countdown import CountdownConfig, generate
from trainer.prior.search import (Chain, Unwind, apply, check_trace, sample_chain, sample_unwind, search,
                                  search_completion)
from verifiers.countdown import CountdownVerifier


def test_unwind_text_and_its_forward_expression():
    unwind = Unwind(22, (3, 5, 7), ("*", "+"), (15, 3), 0)
    assert unwind.text() == "22-7=15/5=3-3=0" and unwind.hit
    assert unwind.expression() == "(3*5)+7" and Chain((3, 5), ("+",), (8,)).expression() == "3+5"
    assert Unwind(30, (1, 2, 3, 4), ("+", "*", "-"), (34, 17, 15), 14).text() == "30+4=34/3=17-2=15-1=14"


def test_apply_keeps_values_whole_and_capped():
    assert apply(7, "/", 2, 99) is None and apply(8, "/", 2, 99) == 4
    assert apply(3, "-", 5, 99) is None and apply(50, "*", 2, 99) is None and apply(9, "/", 0, 99) is None


def _value(expr_order, ops):
    value = Fraction(expr_order[0])
    for op, n in zip(ops, expr_order[1:]):
        value = {"+": value + n, "-": value - n, "*": value * n, "/": value / n}[op]
    return value


def test_an_unwind_hits_exactly_when_its_forward_expression_is_the_target():
    rng = random.Random(4)
    seen = {True: 0, False: 0}
    for _ in range(3000):
        nums = [rng.randint(1, 20) for _ in range(3)]
        target = rng.randint(1, 50)
        unwind = sample_unwind(nums, target, rng, 99, "both")
        if unwind is None:
            continue
        seen[unwind.hit] += 1
        assert unwind.hit == (_value(unwind.order, unwind.ops) == target)
        assert all(0 <= v <= 99 for v in unwind.values)
    assert seen[True] > 20 and seen[False] > 1000


def test_search_stops_at_the_first_hit_and_its_completion_checks_clean_and_answers_right():
    rng = random.Random(0)
    cfg = CountdownConfig(min_count=3, max_count=3, max_number=20, max_target=50, prompt_style="compact")
    hits = 0
    for row in generate(cfg, 300, seed=5):
        nums, target = row["nums"], row["target"]
        unwinds = search(nums, target, rng, 8, 99, "both")
        assert 1 <= len(unwinds) <= 8 and not any(u.hit for u in unwinds[:-1])
        completion = search_completion(unwinds)
        assert check_trace(completion, nums, target) == [], completion
        verdict = CountdownVerifier().verify({"nums": nums, "target": target}, completion)
        assert (verdict.status == "correct") == unwinds[-1].hit, (completion, verdict)
        hits += unwinds[-1].hit
    assert 0.4 < hits / 300 < 0.8  # the teacher's own success rate: the room the model has


def test_greedy_last_step_of_a_forward_chain_hits_when_one_operation_can():
    rng = random.Random(1)
    assert sum(sample_chain([4, 6], 24, rng, 99, True).value == 24 for _ in range(20)) == 20


def test_check_trace_names_each_lie():
    good = " 22+7=29-5=24-3=21 miss 22-7=15/5=3-3=0 hit </think> <answer>(3*5)+7</answer>"
    assert check_trace(good, [3, 5, 7], 22) == []
    lies = {
        " 22-7=15/5=3-3=1 miss </think> <answer>(3*5)+7</answer>": "-3=1 is wrong",
        " 22-7=16/5=3-3=0 hit </think> <answer>(3*5)+7</answer>": "-7=16 is wrong",
        " 22-7=15/5=3-3=0 miss </think> <answer>(3*5)+7</answer>": "marked",
        " 22+7=29-5=24-3=21 hit </think> <answer>(3+5)-7</answer>": "marked",
        " 22-7=15/5=3-3=0 hit 22+7=29-5=24-3=21 miss </think> <answer>(3+5)-7</answer>": "after a hit",
        " 22-7=15/5=3-3=0 hit </think> <answer>3*5+7</answer>": "not the last unwind",
        " 22-8=14/5=3-3=0 hit </think> <answer>(3*5)+8</answer>": "uses",
        " 23-8=15/5=3-3=0 hit </think> <answer>(3*5)+8</answer>": "not the target",
        " 22*7=154/5=30-3=27 miss </think> <answer>(3*5)/7</answer>": "is wrong",  # over the cap counts as dishonest
        " 22-7=15/5=3+3=6 miss </think> <answer>(3*5)+7</answer>": "not an unwind",  # must end by taking away
        " 22-7=15/5=3-3=0 </think> <answer>(3*5)+7</answer>": "pairs",
    }
    for text, why in lies.items():
        problems = check_trace(text, [3, 5, 7], 22)
        assert problems and any(why in p for p in problems), (text, problems)


def test_check_trace_reads_hostile_text_without_blowing_up():
    for text in ("", "</think>", " 9" * 5000 + " </think>", " 3+" * 3000 + "1=2 hit </think>", "x" * 10000,
                 " 99999999999999*9=1-1=0 hit </think> <answer>1</answer>", " 3-1=-" + "9" * 5000 + " hit </think>"):
        assert isinstance(check_trace(text, [1, 2], 3), list)


def test_orders_take_the_numbers_as_given_reversed_or_shuffled():
    rng = random.Random(2)
    orders = {o: {sample_unwind([7, 2, 9, 4], 13, rng, 99, o).order for _ in range(100)} for o in ("given", "both", "any")}
    assert orders["given"] == {(7, 2, 9, 4)} and orders["both"] == {(7, 2, 9, 4), (4, 9, 2, 7)}
    assert len(orders["any"]) > 6


def test_an_unknown_order_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="given, both, any"):
        sample_unwind([1, 2], 3, random.Random(0), 99, "sorted")
