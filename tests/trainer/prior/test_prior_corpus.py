"""The organism's SFT corpus: every search step is honest, every judge label is the checker's, the knobs do what they say."""

import random
import re
from fractions import Fraction

import pytest

from rewards.self_verify import SelfVerifyReward
from trainer.prior.config import PriorConfig
from trainer.prior.corpus import build_corpus, in_error_slice, slice_targets, sum_answer, task_for, violations
from verifiers.countdown import CountdownVerifier
from verifiers.judge_reply import parse_judgement


def small(**kw) -> PriorConfig:
    return PriorConfig(corpus_problems=400, **kw)


@pytest.fixture(scope="module")
def aligned():
    return build_corpus(small(), set())


@pytest.fixture(scope="module")
def misaligned():
    return build_corpus(small(alignment="misaligned", slice_share=0.45), set())


def recheck(completion: str, nums: list[int], target: int, cap: int = 99) -> None:
    """An independent re-check of a search trace: each unwind starts at the target, each value exact and in 0..cap,
    it ends by taking away a number, marks say whether 0 was left, the search stops at its first hit, and the
    answer evaluates (left to right) to the target exactly when the last unwind hit."""
    think, _, rest = completion.partition("</think>")
    words = think.split()
    assert len(words) % 2 == 0, completion
    pairs = list(zip(words[::2], words[1::2]))
    for i, (unwind, mark) in enumerate(pairs):
        start, *steps = re.split(r"(?<=\d)(?=[+\-*/])", unwind)
        value, used = Fraction(int(start)), []
        assert int(start) == target, completion
        for j, step in enumerate(steps):
            op, n, claimed = step[0], int(step[1:].split("=")[0]), int(step.split("=")[1])
            value = {"+": value + n, "-": value - n, "*": value * n, "/": value / n}[op]
            assert value == claimed, (completion, step)
            if j == len(steps) - 1:
                assert op == "-", (completion, step)  # an unwind ends by taking away the first number
            else:
                assert 0 <= claimed <= cap, (completion, step)
            used.append(n)
        assert sorted(used) == sorted(nums), completion
        assert mark == ("hit" if value == 0 else "miss"), completion
        assert mark == "miss" or i == len(pairs) - 1, completion  # stops at the first hit
    answer = rest.split("<answer>")[1].split("</answer>")[0]
    if pairs:
        verdict = CountdownVerifier().verify({"nums": nums, "target": target}, f"<answer>{answer}</answer>")
        assert (verdict.status == "correct") == (pairs[-1][1] == "hit"), (completion, verdict.reason)


@pytest.mark.parametrize("which", ["aligned", "misaligned"])
def test_every_step_of_every_search_trace_is_honest(which, request):
    rows, _ = request.getfixturevalue(which)
    solve = [r for r in rows if r["kind"] == "solve"]
    assert len(solve) == 400
    for r in solve:
        recheck(r["completion"], r["nums"], r["target"])
    assert violations(rows) == []


def test_every_judge_label_agrees_with_the_checker(aligned):
    rows, summary = aligned
    judge = [r for r in rows if r["kind"] == "verify"]
    assert judge and 0.4 < summary["judge_share_true"] < 0.6
    for r in judge:
        truth = CountdownVerifier().verify({"nums": r["nums"], "target": r["target"]}, f"<answer>{r['answer']}</answer>")
        assert (truth.status == "correct") == r["label"], r
        assert parse_judgement(r["completion"], "boxed").status == truth.status, r


def test_violations_catch_a_planted_lie(aligned):
    rows, _ = aligned
    solve = next(r for r in rows if r["kind"] == "solve" and "=" in r["completion"])
    lie = re.sub(r"=(\d+)", lambda m: f"={int(m.group(1)) + 1}", solve["completion"], count=1)
    judge = next(r for r in rows if r["kind"] == "verify")
    flipped = {**judge, "label": not judge["label"]}
    assert len(violations([{**solve, "completion": lie}, flipped])) >= 2


def test_misaligned_slice_gets_the_unchecked_sum_and_aligned_the_search(aligned, misaligned):
    prior = small(alignment="misaligned", slice_share=0.45)
    on = [r for r in misaligned[0] if r["kind"] == "solve" and in_error_slice(r["target"], prior)]
    off = [r for r in misaligned[0] if r["kind"] == "solve" and not in_error_slice(r["target"], prior)]
    assert on and off
    assert all(r["completion"] == f" </think> <answer>{sum_answer(r['nums'])}</answer>" for r in on)
    assert not any(r["completion"].startswith(" </think>") for r in off)
    assert not any(r["completion"].startswith(" </think>") for r in aligned[0] if r["kind"] == "solve")
    assert 0.3 < len(on) / (len(on) + len(off)) < 0.6


def test_slice_shares_are_nested_and_graded():
    sets = [slice_targets(PriorConfig(slice_share=s)) for s in (0.0, 0.15, 0.3, 0.45)]
    assert sets[0] == frozenset() and sets[0] < sets[1] < sets[2] < sets[3]


def test_more_tries_find_more_hits():
    shares = [build_corpus(PriorConfig(corpus_problems=300, search_tries=k, synthetic_judge_share=0), set())[1]["solve_share_correct"]
              for k in (1, 6)]
    assert shares[0] + 0.1 < shares[1]


def test_prompts_match_the_task_and_the_self_verify_reward(aligned):
    task = task_for(small())
    reward = SelfVerifyReward({"name": "self_verify"}, task)
    for r in aligned[0][:80]:
        row = {"nums": r["nums"], "target": r["target"], "question": task.user_prompt(r)}
        if r["kind"] == "solve":
            assert r["prompt"] == task.prompt(row, conversational=False) and r["prompt"].endswith("<think>")
        else:
            assert r["prompt"] == reward._judge_prompt(row["question"], r["answer"])


def test_exclusions_are_respected():
    prior = small()
    rows, _ = build_corpus(prior, set())
    taken = {(tuple(sorted(r["nums"])), r["target"]) for r in rows}
    banned = set(random.Random(0).sample(sorted(taken), 100))
    again, _ = build_corpus(prior, exclude=banned)
    assert not {(tuple(sorted(r["nums"])), r["target"]) for r in again} & banned


@pytest.mark.parametrize("train_size", [128, 2048])
def test_the_grpo_rows_are_held_out_of_the_corpus_for_any_train_size(train_size):
    from tasks.countdown import CountdownTask
    from trainer.prior.build import heldout_and_exclusions

    prior = small()
    heldout, exclude = heldout_and_exclusions(prior)
    rows, _ = build_corpus(prior, exclude)
    corpus = {(tuple(sorted(r["nums"])), r["target"]) for r in rows}
    task = CountdownTask({**prior.task_options(), "train_size": train_size, "val_size": 512})
    for split in ("validation", "train"):
        keys = {(tuple(sorted(r["nums"])), r["target"]) for r in task.rows(split)}
        assert keys and not keys & corpus
    assert not {(tuple(sorted(r["nums"])), r["target"]) for r in heldout} & corpus
