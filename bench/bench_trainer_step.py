"""Step time of urlvr's GRPO trainer against plain TRL GRPOTrainer, same model, config, data and reward.

Both run in this process, one after the other, from the same seed; prints mean step times and the ratio
(target <= 1.05). urlvr adds shadow oracle scoring, diagnostics, the metrics file and sample capture.
Also times an intrinsic reward (self_certainty, which needs the extra policy-statistics pass) against the
oracle reward on the same config (target <= 1.15).
Run: python bench/bench_trainer_step.py [--steps 4] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from transformers import TrainerCallback, set_seed


class StepTimer(TrainerCallback):
    """Wall time of each optimizer step."""

    def __init__(self):
        self.times: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)


def config(model: str, steps: int, reward: str, run_dir: str):
    from trainer.config import validate_config

    return validate_config({
        "run_dir": run_dir, "seed": 0, "model": {"name_or_path": model},
        "task": {"name": "countdown", "train_size": 64, "val_size": 0},
        "reward": {"name": reward},
        "verifiers": {"backend": "inprocess"},
        "trainer": {"max_steps": steps, "num_generations": 4, "prompts_per_step": 2, "max_completion_length": 48,
                    "val_prompts": 0, "save_steps": 10_000, "report_to": ["none"], "progress": False, "samples_to_log": 4},
    })


def run(cfg, plain: bool) -> list[float]:
    from trl import GRPOTrainer

    from trainer.assemble import build_datasets, build_grpo_config, build_rewards, build_task, is_conversational, load_policy
    from trainer.callbacks import MetricsCallback
    from trainer.collapse import CollapseConfig
    from trainer.grpo import UrlvrGRPOTrainer
    from trainer.rundir import RunDir

    set_seed(cfg.seed)
    run_dir = RunDir(cfg.run_dir)
    task = build_task(cfg)
    model, tokenizer = load_policy(cfg)
    train_ds, _ = build_datasets(task, is_conversational(task, tokenizer))
    rewards = build_rewards(cfg, task)
    timer = StepTimer()
    common = dict(model=model, processing_class=tokenizer, args=build_grpo_config(cfg, run_dir), train_dataset=train_ds)
    if plain:
        trainer = GRPOTrainer(reward_funcs=[rewards.train], callbacks=[timer], **common)
    else:
        metrics = MetricsCallback(run_dir, CollapseConfig(), False, None)
        trainer = UrlvrGRPOTrainer(reward=rewards.train, shadows=rewards.shadows, oracle=rewards.oracle,
                                   callbacks=[timer, metrics], sample_sink=run_dir.append_samples, **common)
    trainer.train()
    rewards.close()
    return timer.times[1:]  # the first step pays one-off costs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--model", default="smollm2-135m")
    args = ap.parse_args()
    results = {}
    for name, reward, plain in [("plain TRL GRPOTrainer, oracle", "oracle", True),
                                ("urlvr trainer, oracle", "oracle", False),
                                ("urlvr trainer, self_certainty", "self_certainty", False)]:
        with tempfile.TemporaryDirectory() as tmp:
            times = run(config(args.model, args.steps, reward, tmp), plain)
        results[name] = statistics.mean(times)
        print(f"{name:34s} mean step {results[name]:.2f} s over {len(times)} steps: {[round(t, 2) for t in times]}", flush=True)
    base = results["plain TRL GRPOTrainer, oracle"]
    ours = results["urlvr trainer, oracle"]
    print(f"ratio urlvr / plain TRL (oracle reward): {ours / base:.3f}   (target <= 1.05)")
    print(f"ratio self_certainty / oracle (urlvr):   {results['urlvr trainer, self_certainty'] / ours:.3f}   (target <= 1.15)")


if __name__ == "__main__":
    main()
