"""The organism's SFT corpus: correct solutions verify, corrupted ones fail, and the prior knobs do what they say."""

import pytest

from rewards.self_verify import SelfVerifyReward
from trainer.prior.config import PriorConfig
from trainer.prior.corpus import build_corpus, in_error_slice, judge_completion, steps, task_for, wrong_expression
from verifiers.countdown import CountdownVerifier
from verifiers.self_verify import parse_judgement


def small(**kw) -> PriorConfig:
    return PriorConfig(corpus_problems=300, **kw)


@pytest.fixture(scope="module")
def aligned():
    return build_corpus(small(), set())


@pytest.fixture(scope="module")
def misaligned():
    return build_corpus(small(alignment="misaligned"), set())


def _verdict(row):
    return CountdownVerifier().verify({"nums": row["nums"], "target": row["target"]}, row["completion"])


@pytest.mark.parametrize("which", ["aligned", "misaligned"])
def test_correct_solutions_verify_and_wrong_ones_fail(which, request):
    rows, _ = request.getfixturevalue(which)
    solve = [r for r in rows if r["kind"] == "solve"]
    assert any(r["correct"] for r in solve) and any(not r["correct"] for r in solve)
    for r in solve:
        verdict = _verdict(r)
        assert (verdict.status == "correct") == r["correct"], (r, verdict.reason)


def test_every_judge_candidate_is_labelled_by_the_real_verifier(aligned):
    rows, summary = aligned
    judge = [r for r in rows if r["kind"] == "verify"]
    assert judge and summary["verify_label_accuracy"] == 1.0
    for r in judge:
        truth = CountdownVerifier().verify({"nums": r["nums"], "target": r["target"]}, f"<answer>{r['answer']}</answer>")
        assert (truth.status == "correct") == r["correct"] == r["label"], r
        assert parse_judgement(r["completion"], "boxed").status == ("correct" if r["label"] else "incorrect")


def test_verifier_accuracy_flips_that_share_of_labels():
    rows, summary = build_corpus(small(verifier_accuracy=0.7), set())
    assert 0.6 < summary["verify_label_accuracy"] < 0.8
    flipped = [r for r in rows if r["kind"] == "verify" and r["label"] != r["correct"]]
    assert flipped and all(("True" in r["completion"]) == r["label"] for r in flipped)


def test_accuracy_knob_sets_the_share_of_correct_solutions():
    for accuracy in (0.3, 0.9):
        _, summary = build_corpus(small(accuracy=accuracy), set())
        assert abs(summary["solve_share_correct"] - accuracy) < 0.15, summary


def test_errors_live_on_the_visible_slice_diverse_when_aligned_one_answer_when_misaligned(aligned, misaligned):
    for rows, prior in ((aligned[0], small()), (misaligned[0], small(alignment="misaligned"))):
        wrong = [r for r in rows if r["kind"] == "solve" and not r["correct"]]
        assert all(in_error_slice(r["target"], prior.accuracy) for r in wrong)
    mis_wrong = [r for r in misaligned[0] if r["kind"] == "solve" and not r["correct"]]
    assert all(r["answer"] == "+".join(map(str, r["nums"])) for r in mis_wrong)
    al_wrong = [r for r in aligned[0] if r["kind"] == "solve" and not r["correct"]]
    sums = sum(r["answer"] == "+".join(map(str, r["nums"])) for r in al_wrong)
    assert sums < 0.2 * len(al_wrong)  # aligned errors are random expressions, rarely the sum


def test_prompts_match_the_task_and_the_self_verify_reward(aligned):
    prior = small()
    task = task_for(prior)
    reward = SelfVerifyReward({"name": "self_verify"}, task)
    for r in aligned[0][:50]:
        row = {"nums": r["nums"], "target": r["target"], "question": task.user_prompt(r)}
        if r["kind"] == "solve":
            assert r["prompt"] == task.prompt(row, conversational=False) and r["prompt"].endswith("<think>")
        else:
            assert r["prompt"] == reward._judge_prompt(row["question"], r["answer"])


def test_exclusions_are_respected():
    prior = small()
    rows, _ = build_corpus(prior, set())
    taken = {(tuple(sorted(r["nums"])), r["target"]) for r in rows}
    again, _ = build_corpus(prior, exclude=set(list(taken)[:100]))
    assert not {(tuple(sorted(r["nums"])), r["target"]) for r in again} & set(list(taken)[:100])


def test_steps_and_corruptions():
    assert steps("(3+5)*2") == ["3+5=8", "8*2=16"]
    assert steps("7/2") is None and steps("3-5", nonneg=True) is None and steps("3-5") == ["3-5=-2"]
    import random

    rng = random.Random(1)
    for kind in ("random", "sum", "ops", "drop", "swap", "bare"):
        expr = wrong_expression([3, 5, 7], 22, rng, kind)
        assert expr is not None
        assert CountdownVerifier().verify({"nums": [3, 5, 7], "target": 22}, f"<answer>{expr}</answer>").status == "incorrect"
    assert judge_completion([3, 5, 7], 22, "3*5+7", True).endswith("nums ok \\boxed{True}")
    assert "nums bad" in judge_completion([3, 5, 7], 22, "22", False)


@pytest.mark.parametrize("train_size", [128, 2048])
def test_the_grpo_validation_rows_are_held_out_of_the_corpus_for_any_train_size(train_size):
    from tasks.countdown import CountdownTask
    from trainer.prior.build import heldout_and_exclusions

    prior = small()
    _, exclude = heldout_and_exclusions(prior)
    rows, _ = build_corpus(prior, exclude)
    corpus = {(tuple(sorted(r["nums"])), r["target"]) for r in rows}
    task = CountdownTask({**prior.task_options(), "train_size": train_size, "val_size": 64})
    val = {(tuple(sorted(r["nums"])), r["target"]) for r in task.rows("validation")}
    assert len(val) == 64 and not val & corpus
