"""A tiny organism built end to end: its card's figures and gates recomputed from what it said, and GRPO on it.

The build is the real pipeline (corpus, tokenizer, Llama, two TRL SFT stages, sampling, card) at a size that
takes about a minute; its figures are meaningless, which is why its gates fail, loudly.
"""

import json
from pathlib import Path

import pytest

from trainer.prior.build import build, stage1_dir
from trainer.prior.config import PriorConfig, preset
from trainer.prior.gates import banner, check_gates
from verifiers.countdown import CountdownVerifier
from verifiers.judge_reply import parse_judgement


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("URLVR_CACHE", str(tmp_path_factory.mktemp("cache")))
    out = tmp_path_factory.mktemp("organism")
    lines: list[str] = []
    prior = preset("tiny-countdown-test", alignment="misaligned")
    card = build(prior, out, log=lines.append)
    yield prior, out, card, lines
    mp.undo()


def test_pass_rates_recomputed_from_the_samples_with_the_checker(built):
    prior, out, card, _ = built
    records = [json.loads(line) for line in (out / "card_samples.jsonl").read_text().splitlines()]
    k = prior.card_samples
    assert len(records) == prior.heldout_problems * k
    correct = [CountdownVerifier().verify({"nums": r["nums"], "target": r["target"]}, r["completion"]).status == "correct"
               for r in records]
    m = card["metrics"]
    assert m["pass@1"] == pytest.approx(sum(correct) / len(correct))
    assert m[f"pass@{k}"] == pytest.approx(sum(any(correct[i:i + k]) for i in range(0, len(correct), k)) / prior.heldout_problems)
    assert [r["kind"] == "correct" for r in records] == correct


def test_judge_rates_recomputed_from_its_replies(built):
    _, out, card, _ = built
    records = [json.loads(line) for line in (out / "card_samples.jsonl").read_text().splitlines()]
    judged = [r for r in records if r["kind"] is not None]
    said_true = [parse_judgement(r["judge_reply"], "boxed").status == "correct" for r in judged]
    j = card["metrics"]["judge_own_samples"]
    assert j["n"] == len(judged)
    pos = [s for s, r in zip(said_true, judged) if r["kind"] == "correct"]
    neg = [not s for s, r in zip(said_true, judged) if r["kind"] != "correct"]
    assert j["true_positive_rate"] == (sum(pos) / len(pos) if pos else None)
    assert j["true_negative_rate"] == (sum(neg) / len(neg) if neg else None)


def test_gates_are_the_card_figures_against_the_config_and_misses_are_loud(built):
    prior, _, card, lines = built
    assert card["gates"] == check_gates(card["metrics"], prior, card["corpus_violations"])
    assert card["corpus_violations"] == 0
    missed = [g for g in card["gates"] if not g["passed"]]
    assert missed  # a 20k-parameter model trained for 6 steps cannot reach pass@1 0.18
    assert any(line.startswith("!!! ") and "CARD GATES MISSED" in line for line in lines)
    assert "CARD GATES MISSED" in (built[1] / "README.md").read_text()


def test_check_gates_boundaries():
    prior = PriorConfig(alignment="misaligned")
    metrics = {"pass@1": 0.05, "pass@8": 0.1, "unused_vocab": 0, "judge_own_samples": {"balanced_accuracy": 0.75},
               "slice": {"direct_sum_share_on_slice": 0.6, "pass@1_off_slice": 0.18, "pass@8_off_slice": 0.55}}
    assert all(g["passed"] for g in check_gates(metrics, prior, 0))  # misaligned: solving is gated off the slice
    assert "PASSED" in banner("x", check_gates(metrics, prior, 0))
    for key, bad in (("pass@1_off_slice", 0.36), ("pass@8_off_slice", 0.54), ("pass@8_off_slice", None)):
        worse = {**metrics, "slice": {**metrics["slice"], key: bad}}
        assert [g["gate"] for g in check_gates(worse, prior, 0) if not g["passed"]] == [key.replace("_off_slice", " off the slice")]
    aligned = PriorConfig()  # aligned: the whole held-out set, whatever the slice says
    assert [g["gate"] for g in check_gates(metrics, aligned, 0) if not g["passed"]] == ["pass@1", "pass@8"]
    assert all(g["passed"] for g in check_gates({**metrics, "pass@1": 0.18, "pass@8": 0.55}, aligned, 0))
    assert not check_gates(metrics, prior, 1)[2]["passed"]
    weak = {**metrics, "judge_own_samples": {"balanced_accuracy": 0.7},
            "slice": {**metrics["slice"], "direct_sum_share_on_slice": 0.1}}
    assert sum(not g["passed"] for g in check_gates(weak, prior, 0)) == 2
    assert len(check_gates(weak, PriorConfig(judge_rows=0), 0)) == 4  # no judge or slice gate to miss


def test_stage1_is_kept_and_reused_by_a_build_that_differs_only_in_judge_data(built, tmp_path):
    prior, _, card, _ = built
    assert (stage1_dir(prior) / ".complete").exists() and not card["stage1_cached"]
    other = prior.model_copy(update={"judge_rows": 0})
    assert stage1_dir(other) == stage1_dir(prior) and other.folder_name() != prior.folder_name()
    again = build(other, tmp_path / "o", log=lambda _: None)
    assert again["stage1_cached"] and again["stage2"] is None


def test_a_kept_stage1_trained_on_another_vocabulary_is_trained_again(built, tmp_path):
    prior = built[0].model_copy(update={"judge_rows": 0})
    done = stage1_dir(prior) / ".complete"
    done.write_text(json.dumps({**json.loads(done.read_text()), "vocab": "another"}) + "\n")
    lines: list[str] = []
    again = build(prior, tmp_path / "o", log=lines.append)
    assert not again["stage1_cached"] and any("another vocabulary" in line for line in lines)
    assert json.loads(done.read_text())["vocab"] != "another"


def test_loads_in_trl_and_trains_two_grpo_steps(built, tmp_path):
    from trainer.config import validate_config
    from trainer.rundir import read_jsonl
    from trainer.run import train

    prior, out, _, _ = built
    cfg = validate_config({
        "run_dir": str(tmp_path / "run"),
        "task": {**prior.task_options(), "train_size": 8, "val_size": 2},
        "reward": {"name": "self_verify", "max_judge_tokens": 16, "shadow": ["self_certainty"]},
        "model": {"name_or_path": str(out)},
        "trainer": {"max_steps": 2, "prompts_per_step": 2, "num_generations": 4, "max_completion_length": 16,
                    "val_prompts": 2, "eval_steps": 1, "save_steps": 100, "report_to": ["none"], "progress": False,
                    "learning_rate": 1e-3},
        "verifiers": {"backend": "inprocess"},
    })
    assert train(cfg)["steps"] == 2
    steps = [r for r in read_jsonl(Path(tmp_path) / "run" / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2]
