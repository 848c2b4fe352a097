"""Step time with rewards scored one after another (the old path) against scored concurrently, in one run.

Both configurations train the same model from the same seed on ``task=code`` with the code oracle on the local
verifier pool (bubblewrap sandboxes), shadows on. ``reward=oracle``: the oracle (training reward) verifies while the
policy statistics for the intrinsic shadows are computed. ``reward=self_certainty`` (``--also-intrinsic``): the
oracle is a shadow and verifies while the rest of the step (loss, backward, optimizer) runs.
Prints, for each, the mean step time and the mean reward phase (``_calculate_rewards``) both ways, and their ratio.
Run: python bench/bench_async_rewards.py [--steps 5] [--workers 2] [--model tiny-countdown] [--also-intrinsic]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from bench_trainer_step import StepTimer as PlainStepTimer  # bench/ is sys.path[0] when run as a script
from transformers import set_seed


class StepTimer(PlainStepTimer):
    """Wall time of each optimizer step, the background shadow scores waited for at its end."""

    def on_step_end(self, args, state, control, **kwargs):
        self.trainer.finish_shadow_scoring()
        super().on_step_end(args, state, control, **kwargs)


def config(model: str, steps: int, reward: str, shadows: list[str], workers: int, run_dir: str):
    from trainer.config import validate_config

    return validate_config({
        "run_dir": run_dir, "seed": 0, "model": {"name_or_path": model},
        "task": {"name": "code", "train_size": 32, "val_size": 0},
        "reward": {"name": reward, "shadow": shadows},
        "verifiers": {"backend": "local", "workers": workers},
        "trainer": {"max_steps": steps, "num_generations": 4, "prompts_per_step": 4, "max_completion_length": 64,
                    "val_prompts": 0, "save_steps": 10_000, "report_to": ["none"], "progress": False, "samples_to_log": 4},
    })


def run(cfg, concurrent: bool) -> tuple[list[float], list[float], dict]:
    from trainer.assemble import build_datasets, build_grpo_config, build_rewards, build_task, is_conversational, load_policy
    from trainer.grpo import UrlvrGRPOTrainer
    from trainer.rundir import RunDir

    set_seed(cfg.seed)
    run_dir = RunDir(cfg.run_dir)
    task = build_task(cfg)
    model, tokenizer = load_policy(cfg)
    train_ds, _ = build_datasets(task, is_conversational(task, tokenizer))
    rewards = build_rewards(cfg, task)
    timer = StepTimer()
    trainer = UrlvrGRPOTrainer(model=model, processing_class=tokenizer, args=build_grpo_config(cfg, run_dir),
                               train_dataset=train_ds, reward=rewards.train, shadows=rewards.shadows, oracle=rewards.oracle,
                               callbacks=[timer], concurrent=concurrent)
    timer.trainer = trainer
    phases: list[float] = []
    calculate = trainer._calculate_rewards

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return calculate(*args, **kwargs)
        finally:
            phases.append(time.perf_counter() - start)

    trainer._calculate_rewards = timed
    trainer.train()
    rewards.close()
    last = {k: v[-1] for k, v in trainer._metrics["train"].items() if v} if trainer._metrics["train"] else {}
    return timer.times[1:], phases[1:], last  # the first step pays one-off costs (pool start, sandbox warm-up)


def compare(model: str, steps: int, reward: str, shadows: list[str], workers: int) -> None:
    results = {}
    for concurrent in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            times, phases, _ = run(config(model, steps, reward, shadows, workers, tmp), concurrent)
        label = "concurrent" if concurrent else "sequential"
        results[label] = (statistics.mean(times), statistics.mean(phases))
        print(f"reward={reward} shadows={','.join(shadows)} {label:10s}: mean step {results[label][0]:.2f} s, "
              f"reward phase {results[label][1]:.2f} s; steps {[round(t, 2) for t in times]}, "
              f"phases {[round(p, 2) for p in phases]}", flush=True)
    (seq_step, seq_phase), (con_step, con_phase) = results["sequential"], results["concurrent"]
    print(f"reward={reward}: ratio concurrent / sequential: step {con_step / seq_step:.3f}, reward phase {con_phase / seq_phase:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--model", default="tiny-countdown", help="tiny-countdown (0.87M parameters) or smollm2-135m (slow on CPU)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--also-intrinsic", action="store_true", help="also reward=self_certainty with the oracle as a shadow")
    args = ap.parse_args()
    compare(args.model, args.steps, "oracle", ["self_certainty", "majority_vote"], args.workers)
    if args.also_intrinsic:
        compare(args.model, args.steps, "self_certainty", ["majority_vote"], args.workers)


if __name__ == "__main__":
    main()
