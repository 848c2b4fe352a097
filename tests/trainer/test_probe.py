"""trainer.probe: bad command lines fail before any model loads; on a real tiny organism it writes probe.json,
probe.md and probe.png with AUROCs in [0, 1] or None, and runs a short Model Collapse Step run."""

import json
import os
import subprocess
import sys

import pytest

from tests.tiny_organism import PRESET, organism_cache, task_options
from trainer.probe import SIGNALS, parse_config, run
from trainer.probe_report import table


@pytest.mark.parametrize("args, says", [
    (["model=tiny-countdown-test", "bogus=1"], "valid keys: model, task, samples"),
    (["model=tiny-countdown-test", "mcs_reward=nope"], "valid choices: combo"),
    (["samples=2"], "model: Field required"),
    (["model=http://127.0.0.1:9/v1", "mcs_steps=2"], "mcs_steps needs a local model"),
    (["model=tiny-countdown-test", "task=countdown", "task.nope=1"], "valid task.* keys"),
])
def test_bad_command_lines_fail_before_a_model_loads(args, says, tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "URLVR_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "trainer.probe", *args, f"out={tmp_path}/out"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert says in proc.stderr and proc.stderr.startswith("trainer.probe: ")
    assert not cache.exists() and not (tmp_path / "out").exists()


def test_table_says_na_for_what_was_not_measured():
    record = {"model": "m", "task": {"name": "code"}, "prompts": 2, "samples_per_prompt": 2, "temperature": 1.0, "pass@1": 0.25,
              "pass@2": 0.5, "verdicts": {"correct": 1, "incorrect": 3, "error": 0, "timeout": 0},
              "auroc": {"self_certainty": None, "majority_share": 0.75}, "judge": {"unsupported": "no check for code"}}
    text = table(record)
    assert "| AUROC self_certainty | n/a |" in text and "| AUROC majority_share | 0.750 |" in text
    assert "n/a (no check for code)" in text and "| pass@2 | 0.500 |" in text


@pytest.mark.slow
def test_probe_on_tiny_organism_with_collapse_run(tmp_path, monkeypatch):
    monkeypatch.setenv("URLVR_CACHE", str(organism_cache()))
    out = tmp_path / "probe"
    opts = {**task_options(), "train_size": 8, "val_size": 4}
    mcs = ["trainer.num_generations=4", "trainer.prompts_per_step=2", "trainer.max_completion_length=16", "trainer.val_prompts=2",
           "trainer.eval_steps=2", "trainer.save_steps=2", "trainer.report_to=[none]", "verifiers.backend=local"]
    args = [f"model={PRESET}", "task=countdown", *[f"task.{k}={v}" for k, v in opts.items()], "samples=3", "prompts=4",
            "max_tokens=16", "judge_tokens=8", "workers=1", "mcs_steps=2", f"mcs_args=[{','.join(mcs)}]", f"out={out}"]
    printed = []
    record = run(parse_config(args), log=printed.append)
    saved = json.loads((out / "probe.json").read_text())
    assert saved["auroc"] == record["auroc"]
    assert set(record["auroc"]) == {*SIGNALS, "majority_share"}
    for name, value in record["auroc"].items():
        assert value is None or 0.0 <= value <= 1.0, name
    assert sum(record["verdicts"].values()) == 12
    assert 0.0 <= record["pass@1"] <= record["pass@3"] <= 1.0
    judge = record["judge"]
    assert judge is not None and "true_positive_rate" in judge and "true_negative_rate" in judge
    assert (out / "probe.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "probe.md").read_text()
    assert md == printed[0] and "| AUROC self_certainty |" in md and "judge TPR" in md
    assert record["mcs"]["ok"], record["mcs"].get("error")
    assert record["mcs"]["collapse"]["steps_seen"] >= 1
    assert "Model Collapse Step" in md


@pytest.mark.slow
def test_signals_from_real_statistics_rank_both_classes(monkeypatch):
    """Gold and wrong completions teacher-forced through the tiny organism: every intrinsic signal has a value per
    sample and an AUROC in [0, 1] (both classes present), and the majority share ranks the agreed gold answer first."""
    from tasks import make_task
    from trainer.eval_sources import LocalSource, Sample
    from trainer.models import resolve_model
    from trainer.policy_stats import compute_policy_stats
    from trainer.probe import _auroc, signal_values

    monkeypatch.setenv("URLVR_CACHE", str(organism_cache()))
    task = make_task("countdown", task_options())
    source = LocalSource(resolve_model(PRESET), task, max_tokens=8, temperature=1.0, batch=4, judge_tokens=4)
    rows = task.rows("validation")[:2]
    texts = [[f"<answer>{r['solution']}</answer>", f"<answer>{r['solution']}</answer>", "<answer>1 + 1</answer>"] for r in rows]
    tok = source.tokenizer
    prompts = [tok(task.prompt(r, conversational=False), add_special_tokens=False)["input_ids"] for r in rows for _ in range(3)]
    comps = [tok(t, add_special_tokens=False)["input_ids"] for group in texts for t in group]
    stats = compute_policy_stats(source.model, prompts, comps, tok.pad_token_id, 1.0)
    samples = [[Sample(t, stats=stats[i * 3 + j]) for j, t in enumerate(group)] for i, group in enumerate(texts)]
    values = signal_values(task, samples, has_stats=True)
    truth = [True, True, False] * 2
    for name, vals in values.items():
        assert len(vals) == 6 and all(isinstance(v, float) for v in vals), name
        assert 0.0 <= _auroc(vals, truth) <= 1.0, name
    assert values["majority_share"] == pytest.approx([2 / 3, 2 / 3, 1 / 3] * 2)
    assert _auroc(values["majority_share"], truth) == 1.0


def test_judge_on_own_answers_by_error_kind():
    """A stand-in judge (a callable, not a model) that accepts every answer: TPR 1, TNR 0 for each error kind;
    samples without an answer never reach the judge."""
    from rewards.judges import CallableJudge
    from tasks import make_task
    from trainer.eval_sources import Sample
    from trainer.probe import error_kind, judge_on_own

    class Source:
        def judge(self):
            return CallableJudge(lambda prompts: ["\\boxed{True}"] * len(prompts))

    task = make_task("countdown", {"prompt_style": "compact"})
    rows = task.rows("validation")[:2]
    samples = [[Sample(f"<answer>{rows[0]['solution']}</answer>"), Sample("<answer>1 + 1</answer>")],
               [Sample(f"<answer>{rows[1]['solution']}</answer>"), Sample("no answer here")]]
    truth = [True, False, True, False]
    reasons = ["ok", "the expression equals 2, not 66", "ok", "no <answer>...</answer> in the completion"]
    rates = judge_on_own(task, Source(), rows, samples, truth, reasons, max_tokens=8)
    assert rates["n"] == 3 and rates["true_positive_rate"] == 1.0 and rates["true_negative_rate"] == 0.0
    assert rates["by_kind"] == {"correct": {"n": 2, "rate": 1.0}, "the expression equals N, not N": {"n": 1, "rate": 0.0}}
    assert error_kind("") == "wrong" and error_kind("x" * 10_000 + ": y") == "x" * 200
