"""Real GRPO runs through the CLI on the real embedded model (SmolLM2-135M-Instruct): metrics and resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SMALL = [
    "task=countdown", "task.train_size=16", "task.val_size=4",
    "trainer.num_generations=2", "trainer.prompts_per_step=2", "trainer.max_completion_length=24",
    "trainer.val_prompts=2", "trainer.val_samples=2", "trainer.report_to=[tensorboard]",
]


def run_cli(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "trainer.run", *SMALL, *args], capture_output=True, text=True, **kwargs)


def read_metrics(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]  # every line must parse: the file stays well-formed


def in_unit(x):
    return x is not None and 0.0 <= x <= 1.0


def test_two_step_self_verify_run_logs_shadow_oracle_metrics(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(["reward=self_verify", "reward.shadow=[majority_vote,self_certainty]", "trainer.max_steps=2",
                    "trainer.eval_steps=2", "trainer.save_steps=2", f"run_dir={run_dir}"], timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = read_metrics(run_dir)
    assert [r["step"] for r in records] == [0, 1, 2]
    initial, *steps = records
    assert in_unit(initial["val/accuracy"]) and in_unit(initial["val/pass@2"])
    for r in steps:
        for key in ("reward", "oracle_accuracy", "reward_accuracy", "shadow/majority_vote/reward_accuracy"):
            assert in_unit(r[key]), (key, r.get(key))
        assert r["loss"] == pytest.approx(r["loss"])  # a number, not NaN
        assert r["entropy"] > 0
        assert 0 < r["response_length_tokens"] <= 24
        assert 0 <= r["repetition_rate"] <= 1
        assert r["verifier/oracle/calls"] >= 1 and r["verifier/oracle/errors"] == 0
        assert r["verifier/oracle/actor_restarts"] == 0  # the default backend is the Ray pool
        assert r["shadow/self_certainty/mean"] > 0  # logsumexp - mean of logits is positive
        assert r["time/policy_stats_s"] > 0
    assert in_unit(steps[-1]["val/accuracy"])
    collapse = json.loads((run_dir / "collapse.json").read_text())
    assert collapse["threshold"] == 0.01 and collapse["metric"] == "reward_accuracy"
    assert "reward:" in (run_dir / "config.yaml").read_text()
    samples = [json.loads(s) for s in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert samples and {"prompt", "completion", "reward", "oracle"} <= set(samples[0])
    assert (run_dir / "checkpoints" / "checkpoint-2" / "trainer_state.json").exists()
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))


def test_resume_after_kill_9(tmp_path):
    run_dir = tmp_path / "run"
    args = ["reward=oracle", "trainer.val_prompts=0", "trainer.save_steps=1", "verifiers.backend=local", f"run_dir={run_dir}"]
    proc = subprocess.Popen([sys.executable, "-m", "trainer.run", *SMALL, *args, "trainer.max_steps=6"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = run_dir / "checkpoints" / "checkpoint-2" / "trainer_state.json"
    deadline = time.time() + 600
    while not checkpoint.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    assert checkpoint.exists(), "no checkpoint-2 before the deadline"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_metrics(run_dir)
    assert max(r["step"] for r in before) >= 2
    with (run_dir / "metrics.jsonl").open("a") as f:
        f.write('{"step": 99, "torn')  # a torn line, as a kill mid-write leaves
    done = run_cli([*args, "trainer.max_steps=4", "trainer.resume=true"], timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming" in done.stdout and "checkpoint-" in done.stdout
    steps = [r["step"] for r in read_metrics(run_dir)]
    assert steps == [1, 2, 3, 4], steps  # no duplicates, nothing lost, nothing torn
    assert (run_dir / "checkpoints" / "checkpoint-4").exists()


def test_fresh_run_refuses_to_overwrite(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text('{"step": 1}\n')
    proc = run_cli(["reward=oracle", f"run_dir={run_dir}"], timeout=300)
    assert proc.returncode != 0 and "trainer.resume=true" in proc.stderr


@pytest.mark.parametrize("task,backend", [("code", "ray"), ("math", "local")])
def test_math_and_code_tasks_train_end_to_end(tmp_path, task, backend):
    run_dir = tmp_path / "run"
    args = [f"task={task}", "reward=oracle", "task.train_size=4", "task.val_size=2", "trainer.max_steps=1",
            "trainer.num_generations=2", "trainer.prompts_per_step=1", "trainer.max_completion_length=32",
            "trainer.val_prompts=1", "trainer.val_samples=1", "trainer.report_to=[none]", f"verifiers.backend={backend}",
            f"run_dir={run_dir}"]
    proc = subprocess.run([sys.executable, "-m", "trainer.run", *args], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = read_metrics(run_dir)
    assert [r["step"] for r in records] == [0, 1]
    step = records[1]
    assert in_unit(step["oracle_accuracy"]) and in_unit(step["val/accuracy"])
    assert step["verifier/oracle/calls"] >= 1 and step["verifier/oracle/errors"] == 0 and step["verifier/oracle/timeouts"] == 0
    assert "task:\n  name: " + task in (run_dir / "config.yaml").read_text()
