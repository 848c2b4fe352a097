"""SYNTHETIC run directories (a fake of a training sweep) for testing and previewing reports in seconds.

Real GRPO steps take ~30-60 s on a CPU, so report tests use these: the file layout is the trainer's
(config.yaml, metrics.jsonl, collapse.json from the real detector), the curves are made up to look like the
paper's: the oracle and external verifiers rise, intrinsic rewards and majority vote rise then collapse.
``python -m tests.synthetic_runs OUT_DIR`` writes a 7-method × 3-seed sweep.
"""

from __future__ import annotations

import json
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from trainer.collapse import collapse_from_metrics
from trainer.rundir import RunDir

INITIAL = 0.08


@dataclass(frozen=True)
class Shape:
    """A made-up run: validation gain, rise time, collapse step (None = never), reward in raw units or [0, 1]."""

    gain: float
    tau: float
    collapse_at: int | None
    reward_accuracy: float
    length_end: float


SHAPES = {
    "oracle": Shape(0.45, 18, None, 1.0, 100),
    "verifier": Shape(0.40, 20, None, 0.93, 96),
    "self_verify": Shape(0.32, 22, None, 0.74, 90),
    "majority_vote": Shape(0.24, 8, 36, 0.62, 60),
    "self_certainty": Shape(0.17, 6, 24, 0.55, 128),
    "token_entropy": Shape(0.14, 6, 20, 0.52, 24),
    "trajectory_entropy": Shape(0.16, 7, 29, 0.55, 18),
}
METHODS = tuple(SHAPES)


def val_curve(shape: Shape, t: int, jitter: int) -> float:
    """Validation accuracy at step ``t``: saturating rise, then decay toward near zero after collapse."""
    acc = INITIAL + shape.gain * (1 - math.exp(-t / shape.tau))
    if shape.collapse_at is not None and t > shape.collapse_at - 6 + jitter:
        acc = 0.02 + (acc - 0.02) * math.exp(-(t - shape.collapse_at + 6 - jitter) / 5)
    return acc


def _step_record(method: str, shape: Shape, t: int, steps: int, jitter: int, rng: random.Random) -> dict:
    collapsed = shape.collapse_at is not None and t >= shape.collapse_at + jitter
    frac = t / steps
    oracle = min(1.0, max(0.0, val_curve(shape, t, jitter) + 0.04 + rng.gauss(0, 0.03)))
    racc = 0.0 if collapsed else min(1.0, max(0.0, shape.reward_accuracy + rng.gauss(0, 0.04)))
    entropy = 1.6 - 0.4 * frac if shape.collapse_at is None else max(0.04, 1.6 * math.exp(-t / (shape.collapse_at + jitter)) - (0.5 if collapsed else 0))
    length = 80 + (shape.length_end - 80) * min(1.0, t / (shape.collapse_at or steps))
    reward = {
        "oracle": oracle,
        "verifier": 0.95 * oracle + 0.01,
        "self_verify": min(1.0, oracle + 0.12 + 0.25 * frac),
        "majority_vote": min(1.0, 0.35 + 0.9 * frac),
        "self_certainty": 9.0 + 6.0 * frac + rng.gauss(0, 0.1),
        "token_entropy": -entropy,
        "trajectory_entropy": -entropy * length / 20,
    }.get(method, oracle)
    record = {
        "loss": rng.gauss(0, 0.01), "reward": reward, "reward_std": 0.1, "reward_accuracy": racc,
        "reward_agreement": racc, "oracle_accuracy": oracle, "entropy": entropy,
        "response_length_tokens": length + rng.gauss(0, 2), "response_length": length,
        "repetition_rate": 0.01 + (0.3 if collapsed else 0.0), "step_time": 40 + rng.random() * 10,
    }
    if method == "majority_vote":
        record.update(label_accuracy=0.05 if collapsed else max(0.0, 0.45 - 0.2 * frac + rng.gauss(0, 0.03)),
                      majority_ratio=min(1.0, 0.35 + 0.9 * frac), distinct_answers=max(1.0, 3 - 3 * frac))
    return record


def write_synthetic_run(path: str | Path, method: str, seed: int, steps: int = 60, eval_every: int = 5,
                        task: str = "countdown", collapse_json: bool = True) -> Path:
    """One fake run directory with ``steps`` training steps and validation every ``eval_every`` (and at step 0)."""
    shape = SHAPES.get(method, SHAPES["self_verify"])
    rng = random.Random(f"{method}-{seed}")
    jitter = (seed % 3) - 1
    run = RunDir(path)
    run.write_config(f"task:\n  name: {task}\nreward:\n  name: {method}\n  shadow: []\n"
                     f"model:\n  name_or_path: smollm2-135m\nseed: {seed}\nrun_dir: {run.path}\n")
    records = []
    for t in range(steps + 1):
        record = {"step": t} if t == 0 else {"step": t, **_step_record(method, shape, t, steps, jitter, rng)}
        if t % eval_every == 0 or t == steps:
            val = min(1.0, max(0.0, val_curve(shape, t, jitter) + (rng.gauss(0, 0.015) if t else 0.0)))
            record.update({"val/accuracy": val, "val/pass@4": min(1.0, 1.8 * val)})
        records.append(record)
        run.append_metrics(record)
    if collapse_json:
        run.write_collapse(collapse_from_metrics(records))
    return run.path


def write_synthetic_sweep(root: str | Path, methods=METHODS, seeds=(0, 1, 2), steps: int = 60, **kw) -> list[Path]:
    """A fake sweep laid out as Hydra's ``-m`` writes it: ``root/<method>-seed<seed>/``."""
    return [write_synthetic_run(Path(root) / f"{m}-seed{s}", m, s, steps, **kw) for m in methods for s in seeds]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.synthetic_runs OUT_DIR")
    print(json.dumps([str(p) for p in write_synthetic_sweep(sys.argv[1])], indent=1))
