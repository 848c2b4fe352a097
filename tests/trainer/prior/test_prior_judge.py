"""The judge's reply: one evaluation of the answer, its verdict always the exact checker's; error kinds of samples."""

import random

import pytest

from trainer.prior.judge import checker_says, error_kind, evaluation, judge_reply, render_steps
from verifiers.judge_reply import parse_judgement


def test_reply_writes_numbers_then_undoes_the_answer_from_the_target():
    assert judge_reply([3, 5, 7], 22, "(3*5)+7") == (" nums 3 5 7 ok 22-7=15/5=3-3=0 hit \\boxed{True}", True)
    assert judge_reply([3, 5, 7], 22, "3*5+7")[0] == " nums 3 5 7 ok 22-7=15/5=3-3=0 hit \\boxed{True}"
    assert judge_reply([3, 5, 7], 22, "(3+5)*7")[0] == " nums 3 5 7 ok 22/7=22/7-5=-13/7-3=-34/7 miss \\boxed{False}"
    assert judge_reply([3, 5, 7], 22, "(3*5)+8")[0].startswith(" nums 3 5 8 bad 22-8=14/5=14/5-3=-1/5 miss")
    assert judge_reply([3, 6], 2, "6/3") == (" nums 6 3 ok 2*3=6-6=0 hit \\boxed{True}", True)
    assert judge_reply([2, 3], 22, "22")[0] == " nums 22 bad 22-22=0 hit \\boxed{False}"


def test_an_answer_that_is_not_a_chain_is_evaluated_forward_then_the_target_taken_away():
    assert judge_reply([3, 5, 7], 22, "7+3*5")[0] == " nums 7 3 5 ok 3*5=15 7+15=22-22=0 hit \\boxed{True}"
    assert judge_reply([3, 5, 7], 15, "7-(3+5)")[0] == " nums 7 3 5 ok 3+5=8 7-8=-1-15=-16 miss \\boxed{False}"


def test_a_chain_that_multiplies_by_zero_is_evaluated_forward():
    # a sampled answer may use a number the problem does not have, 0 included; "*0" cannot be undone
    assert judge_reply([3, 5, 7], 22, "(3+5)*0")[0] == " nums 3 5 0 bad 3+5=8*0=0-22=-22 miss \\boxed{False}"
    assert judge_reply([3, 5, 7], 0, "(3+5)*0")[1] is False


@pytest.mark.parametrize("bad", ["", "3*", "(3+5", "3+5)", "3**5", "3 5", "07+1", "1=1", "2+True", "1/0", "(" * 40 + "1" + ")" * 40])
def test_malformed_answers_get_no_reply(bad):
    assert judge_reply([3, 5], 8, bad) is None


def test_verdict_equals_the_checker_on_random_expressions():
    rng = random.Random(3)
    agree = 0
    for _ in range(2000):
        nums = [rng.randint(1, 9) for _ in range(rng.randint(2, 4))]
        used = nums if rng.random() < 0.7 else nums[:-1] + [rng.randint(0, 9)]  # 0: a made-up number
        expr = str(used[0])
        for n in used[1:]:
            expr = f"({expr}){rng.choice('+-*/')}{n}" if rng.random() < 0.3 else f"{expr}{rng.choice('+-*/')}{n}"
        evaluated = evaluation(expr)
        target = int(evaluated[2]) if evaluated and evaluated[2].denominator == 1 and rng.random() < 0.5 else rng.randint(1, 30)
        made = judge_reply(nums, target, expr)
        if made is None:
            continue
        assert made[1] == checker_says(nums, target, expr), (nums, target, expr)
        assert parse_judgement(made[0], "boxed").score == float(made[1])
        agree += 1
    assert agree > 1500


def test_render_steps_for_a_bare_number_and_trees():
    assert render_steps([], 7) == "7"
    assert render_steps(evaluation("1*2+3*4")[1]) == "1*2=2 3*4=12 2+12=14"


def test_error_kinds():
    q = ([3, 5, 7], 22)
    assert error_kind(*q, " 22-7=15/5=3-3=0 hit </think> <answer>(3*5)+7</answer>") == "correct"
    assert error_kind(*q, " 22-8=14/5=3-3=0 hit </think> <answer>(3*5)+8</answer>") == "wrong_numbers"
    assert error_kind(*q, " 22+7=29/5=3-3=0 hit </think> <answer>(3*5)-7</answer>") == "false_hit"
    assert error_kind(*q, " 22/7=3*5=15-3=12 miss </think> <answer>(3/5)*7</answer>") == "honest_miss"
    assert error_kind(*q, " </think> <answer>3+5+7</answer>") == "unchecked"
    assert error_kind(*q, " 3+5=8 </think> <answer>3+</answer>") is None
    assert error_kind(*q, " 3+5=8") is None
