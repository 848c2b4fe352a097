"""The paper recipes (``+experiment=paper_countdown``, ``+experiment=paper_math``) compose through the CLI's own
preflight (Hydra + pydantic, no model loaded) to the paper's settings, and the math recipe reads DAPO-17k and MATH
rows from local files."""

from __future__ import annotations

import json

import pytest

from tasks.math import MathTask
from trainer.config import ConfigError
from trainer.preflight import preflight

RECIPE = {"num_generations": 8, "prompts_per_step": 64, "temperature": 1.0, "learning_rate": 1e-6, "beta": 0.0, "bf16": True}


def job(*overrides: str):
    (cfg,) = preflight([*overrides, "run_dir=/tmp/urlvr-experiment-test"])
    return cfg


@pytest.mark.parametrize("name,task", [("paper_countdown", "countdown"), ("paper_math", "math")])
def test_recipe_composes_to_the_paper_setting(name, task):
    cfg = job(f"+experiment={name}")
    t = cfg.trainer
    assert {k: getattr(t, k) for k in RECIPE} == RECIPE
    assert cfg.task.name == task
    assert cfg.model.name_or_path == "Qwen/Qwen3-1.7B-Base" and cfg.model.dtype == "bfloat16"
    assert t.val_prompts > 0 and t.val_samples == 4 and t.eval_steps == 10
    assert cfg.task.val_size >= t.val_prompts  # every validation prompt is held out
    assert (t.prompts_per_step * t.num_generations) % t.gradient_accumulation_steps == 0


def test_command_line_overrides_the_recipe():
    cfg = job("+experiment=paper_countdown", "reward=token_entropy", "trainer.prompts_per_step=8",
              "model.name_or_path=Qwen/Qwen3-1.7B")
    assert cfg.reward.name == "token_entropy" and cfg.trainer.prompts_per_step == 8
    assert cfg.model.name_or_path == "Qwen/Qwen3-1.7B" and cfg.trainer.num_generations == 8


def test_an_unknown_experiment_is_a_one_line_error():
    with pytest.raises(ConfigError, match=r"experiment.*paper_chess") as info:
        job("+experiment=paper_chess")
    assert "\n" not in str(info.value)


@pytest.mark.xfail(strict=True, reason="needs '- experiment: null' in conf/config.yaml's defaults and 'experiment' "
                                       "as a group in check_override_keys/preflight (files of another area)")
def test_experiment_without_plus():
    assert job("experiment=paper_countdown").trainer.prompts_per_step == 64


@pytest.mark.xfail(strict=True, reason="check_override_keys checks task.* keys against the command line's task only, "
                                       "not the task an experiment selects")
def test_task_keys_of_the_experiments_task_are_accepted():
    assert job("+experiment=paper_math", "task.max_answer_chars=50").task.max_answer_chars == 50


def test_recipe_batch_is_accepted_by_trl(tmp_path, monkeypatch):
    """TRL's GRPOConfig takes the recipe's batch geometry: 64 prompts x 8 rollouts in micro-batches."""
    from trainer.assemble import build_grpo_config
    from trainer.rundir import RunDir

    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    cfg = job("+experiment=paper_math", "trainer.bf16=false")  # bf16 needs a GPU; the geometry does not
    args = build_grpo_config(cfg, RunDir(str(tmp_path / "run")))
    assert args.per_device_train_batch_size * args.gradient_accumulation_steps == 64 * 8
    assert args.generation_batch_size == 64 * 8 and args.num_generations == 8
    assert args.learning_rate == 1e-6 and args.beta == 0.0 and args.temperature == 1.0


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


DAPO_PROMPT = ("Solve the following math problem step by step. The last line of your response should be of the form "
               "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n{q}\n\n"
               "Remember to put your answer on its own line after \"Answer:\".")


def dapo_rows(n: int) -> list[dict]:
    """Rows in DAPO-Math-17k's layout: a chat-message prompt and reward_model.ground_truth."""
    return [{"data_source": "math_dapo", "prompt": [{"role": "user", "content": DAPO_PROMPT.format(q=f"What is {i} + {i}?")}],
             "ability": "MATH", "reward_model": {"ground_truth": str(2 * i), "style": "rule-math"},
             "extra_info": {"index": str(i)}} for i in range(n)]


def test_math_recipe_reads_dapo_rows(tmp_path):
    path = write_jsonl(tmp_path / "dapo.jsonl", dapo_rows(20))
    cfg = job("+experiment=paper_math", f"task.path={path}", "task.val_size=5")
    task = MathTask(cfg.task)
    train, val = task.rows("train"), task.rows("validation")
    assert len(train) == 15 and len(val) == 5
    assert not {r["question"] for r in train} & {r["question"] for r in val}
    for row in train + val:
        n = int(row["question"].split("What is ")[1].split(" +")[0])
        assert row["answer"] == str(2 * n) and "Answer:" in row["question"] and "'role'" not in row["question"]


def test_math_recipe_reads_math_rows_with_boxed_solutions(tmp_path):
    rows = [{"problem": "Compute $\\frac{1}{2} + \\frac{1}{3}$.", "level": "Level 1", "type": "Prealgebra",
             "solution": "We have $\\frac{3}{6} + \\frac{2}{6} = \\boxed{\\frac{5}{6}}$."},
            {"problem": "Find $x$ if $2x = 8$.", "solution": "Dividing by 2, $x = 8/2 = 4$, so $x = \\boxed{4}$."}]
    path = write_jsonl(tmp_path / "math.jsonl", rows * 3)
    cfg = job("+experiment=paper_math", f"task.path={path}", "task.val_size=1")
    answers = {r["question"]: r["answer"] for r in MathTask(cfg.task).rows("train") + MathTask(cfg.task).rows("validation")}
    assert answers == {rows[0]["problem"]: "\\frac{5}{6}", rows[1]["problem"]: "4"}


def test_math_recipe_names_the_missing_field(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"question": "1+1?", "label": "2"}])
    cfg = job("+experiment=paper_math", f"task.path={path}")
    with pytest.raises(ValueError, match=r"missing an answer field .*reward_model.ground_truth.*present: \['label', 'question'\]"):
        MathTask(cfg.task).rows("train")
