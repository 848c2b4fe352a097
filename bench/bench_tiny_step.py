"""GRPO step time of the tiny countdown organism through our real trainer (UrlvrGRPOTrainer), 8 prompts x 8 completions.

    python bench/bench_tiny_step.py [--steps 4] [--rewards oracle,self_certainty,self_verify] [--threads 1,2]

Runs ``trainer.run.train`` in-process (the same path as ``python -m trainer.run model=tiny-countdown
trainer.prompts_per_step=8 trainer.num_generations=8 ...``) and times each optimizer step, split into rollout
generation, reward scoring (policy statistics, judge generation, shadow oracle) and the rest (loss, backward,
optimizer, logging). The first step is a warm-up and is left out. Validation is off.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path


def _timed(cls, name: str, bucket: dict[str, list[float]]):
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            bucket[name].append(time.perf_counter() - start)

    setattr(cls, name, wrapper)
    return original


def run_once(reward: str, steps: int, threads: int, max_completion_length: int, model: str) -> dict[str, float]:
    """Mean seconds per step (after the first) and its parts, for one reward at one thread count."""
    import torch
    from transformers import TrainerCallback

    from trainer.config import validate_config
    from trainer.grpo import UrlvrGRPOTrainer
    from trainer.prior.config import preset
    from trainer.run import train

    torch.set_num_threads(threads)
    bucket: dict[str, list[float]] = defaultdict(list)
    originals = {n: _timed(UrlvrGRPOTrainer, n, bucket) for n in ("_generate", "_calculate_rewards", "training_step")}
    step_times: list[float] = []

    class StepClock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            step_times.append(time.perf_counter() - self.t)

    original_init = UrlvrGRPOTrainer.__init__

    def init_with_clock(self, *a, **kw):
        kw["callbacks"] = [*kw.get("callbacks", []), StepClock()]
        original_init(self, *a, **kw)

    UrlvrGRPOTrainer.__init__ = init_with_clock
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = validate_config({
                "run_dir": str(Path(tmp) / "run"),
                "task": {**preset(model).task_options(), "train_size": 128, "val_size": 8},
                "reward": {"name": reward},
                "model": {"name_or_path": model},
                "trainer": {"max_steps": steps, "prompts_per_step": 8, "num_generations": 8,
                            "max_completion_length": max_completion_length, "learning_rate": 1e-4, "val_prompts": 0,
                            "save_steps": 10_000, "report_to": ["none"], "progress": False, "samples_to_log": 0},
                "verifiers": {"backend": "inprocess"},
            })
            train(cfg)
    finally:
        UrlvrGRPOTrainer.__init__ = original_init
        for n, f in originals.items():
            setattr(UrlvrGRPOTrainer, n, f)
    keep = slice(1, None) if len(step_times) > 1 else slice(None)
    step = statistics.mean(step_times[keep])
    gen = statistics.mean(bucket["_generate"][keep])
    rew = statistics.mean(bucket["_calculate_rewards"][keep])
    return {"step_s": step, "generate_s": gen, "rewards_s": rew, "rest_s": step - gen - rew}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rewards", default="oracle,self_certainty,self_verify")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--max-completion-length", type=int, default=48)
    ap.add_argument("--model", default="tiny-countdown")
    args = ap.parse_args()
    import os

    from trainer.models import resolve_model

    print(f"model {args.model} at {resolve_model(args.model)}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'reward':<16}{'threads':>8}{'step s':>9}{'generate':>10}{'rewards':>9}{'rest':>8}")
    for reward in args.rewards.split(","):
        for threads in (int(t) for t in args.threads.split(",")):
            r = run_once(reward, args.steps, threads, args.max_completion_length, args.model)
            print(f"{reward:<16}{threads:>8}{r['step_s']:>9.2f}{r['generate_s']:>10.2f}{r['rewards_s']:>9.2f}{r['rest_s']:>8.2f}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
