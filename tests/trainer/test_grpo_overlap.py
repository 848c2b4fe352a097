"""Shadow scoring overlaps the step: with the oracle as a shadow, its pool call is still running when the reward
phase returns (it runs through the loss and backward), off the training thread; the sequential path scores it
inside the reward phase. Both log the same figures, at the same steps, from the same seed.

Real GRPO steps on the shipped tiny-countdown organism; the oracle's pool is the real in-process countdown pool
behind a stand-in that adds a delay and records when and where each batch ran.
"""

import threading
import time

import pytest
from transformers import TrainerCallback, set_seed

from trainer.prior.config import preset

pytestmark = pytest.mark.slow

DELAY = 1.5
COUNTDOWN = preset("tiny-countdown").task_options()


class DelayedPoolStandIn:
    """Stand-in around a real pool: each batch waits ``DELAY`` seconds first; records (start, end, thread)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def verify_batch(self, items, completions):
        start = time.perf_counter()
        time.sleep(DELAY)
        out = self.inner.verify_batch(items, completions)
        self.calls.append((start, time.perf_counter(), threading.get_ident()))
        return out

    def stats(self):
        return self.inner.stats()

    def close(self):
        self.inner.close()


class Logs(TrainerCallback):
    def __init__(self):
        self.records = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.records.append((state.global_step, dict(logs)))


def train(tmp_path, concurrent):
    from trainer.assemble import build_datasets, build_grpo_config, build_rewards, build_task, is_conversational, load_policy
    from trainer.config import validate_config
    from trainer.grpo import UrlvrGRPOTrainer
    from trainer.rundir import RunDir

    cfg = validate_config({
        "run_dir": str(tmp_path / f"run-{concurrent}"), "seed": 0, "model": {"name_or_path": "tiny-countdown"},
        "task": {**COUNTDOWN, "train_size": 16, "val_size": 0},
        "reward": {"name": "self_certainty", "shadow": ["majority_vote"]}, "verifiers": {"backend": "inprocess"},
        "trainer": {"max_steps": 2, "num_generations": 4, "prompts_per_step": 2, "max_completion_length": 16,
                    "val_prompts": 0, "save_steps": 10_000, "report_to": ["none"], "progress": False,
                    "grpo": {"gradient_checkpointing": False}},
    })
    set_seed(cfg.seed)
    task = build_task(cfg)
    model, tokenizer = load_policy(cfg)
    train_ds, _ = build_datasets(task, is_conversational(task, tokenizer))
    rewards = build_rewards(cfg, task)
    pool = DelayedPoolStandIn(rewards.oracle.pool)
    rewards.oracle._pool = pool
    logs = Logs()
    trainer = UrlvrGRPOTrainer(model=model, processing_class=tokenizer, args=build_grpo_config(cfg, RunDir(cfg.run_dir)),
                               train_dataset=train_ds, reward=rewards.train, shadows=rewards.shadows, oracle=rewards.oracle,
                               callbacks=[logs], concurrent=concurrent)
    returned = []
    calculate = trainer._calculate_rewards
    trainer._calculate_rewards = lambda *a: (calculate(*a), returned.append(time.perf_counter()))[0]
    trainer.train()
    rewards.close()
    return pool.calls, returned, logs.records


def test_the_oracle_shadow_scores_during_the_step_and_logs_the_same_figures(tmp_path):
    seq_calls, seq_returned, seq_logs = train(tmp_path, concurrent=False)
    con_calls, con_returned, con_logs = train(tmp_path, concurrent=True)
    main = threading.get_ident()
    assert len(seq_calls) == len(con_calls) == 2  # one batched pool call per step, both ways
    for (start, end, thread), returned in zip(seq_calls, seq_returned):
        assert thread == main and end < returned  # sequential: scored inside the reward phase, on this thread
    for (start, end, thread), returned in zip(con_calls, con_returned):
        assert thread != main and returned < end  # concurrent: still scoring when the reward phase returned
    assert [step for step, _ in con_logs] == [step for step, _ in seq_logs] == [1, 2]
    keys = ("oracle_accuracy", "reward_accuracy", "rollouts", "verifier/oracle/items", "verifier/oracle/incorrect",
            "shadow/majority_vote/reward_accuracy", "shadow/majority_vote/mean")
    for (_, seq), (_, con) in zip(seq_logs, con_logs):
        assert {k: seq.get(k) for k in keys} == {k: con.get(k) for k in keys}
        assert con["rollouts"] == 8 and con["verifier/oracle/items"] == 8
