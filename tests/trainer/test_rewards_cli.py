"""A real short run for every reward method through the CLI, on a tiny warm-started organism (seconds per run)."""

import json
import math
import os
import subprocess
import sys

import pytest

from rewards import REWARDS
from trainer.prior.config import preset

pytestmark = pytest.mark.slow
TASK = [f"task.{k}={v}" for k, v in preset("tiny-countdown-test").task_options().items() if k != "name"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("urlvr-cache")
    env = {**os.environ, "URLVR_CACHE": str(root)}
    subprocess.run([sys.executable, "-c", "from trainer.models import resolve_model; resolve_model('tiny-countdown-test')"],
                   env=env, check=True, capture_output=True, timeout=600)
    return env


@pytest.mark.parametrize("reward", REWARDS.names())
def test_short_run_for_each_reward(reward, cache, tmp_path):
    args = [f"reward={reward}", "model.name_or_path=tiny-countdown-test", *TASK, "task.train_size=8", "task.val_size=2",
            "trainer.max_steps=2", "trainer.num_generations=4", "trainer.prompts_per_step=2",
            "trainer.max_completion_length=24", "trainer.val_prompts=2", "trainer.eval_steps=2",
            "trainer.save_steps=2", "trainer.report_to=[none]", "verifiers.backend=local", f"run_dir={tmp_path}/run"]
    if reward == "self_verify":
        args.append("reward.max_judge_tokens=16")
    proc = subprocess.run([sys.executable, "-m", "trainer.run", *args], env=cache, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1, 2]
    for r in records[1:]:
        assert math.isfinite(r["reward"]) and math.isfinite(r["loss"])
        assert 0.0 <= r.get("oracle_accuracy", -1) <= 1.0, {k: v for k, v in r.items() if "oracle" in k}
        assert r.get("reward_accuracy") is None or 0.0 <= r["reward_accuracy"] <= 1.0
        if REWARDS.get(reward).binary:
            assert 0.0 <= r["reward"] <= 1.0
    assert 0.0 <= records[-1]["val/accuracy"] <= 1.0
