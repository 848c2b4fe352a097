"""Trainer callbacks: validation with the oracle, metrics.jsonl lines, and collapse detection."""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback

from rewards.base import Reward
from rewards.metric_keys import (ORACLE_ACCURACY, RESPONSE_LENGTH_TOKENS, REWARD, REWARD_ACCURACY, VAL_ACCURACY, VAL_MASKED,
                                 VALIDATION_SECONDS, val_pass_at)
from trainer.collapse import CollapseConfig, CollapseDetector
from trainer.generation import collective, generate
from trainer.rundir import RunDir

LOG_KEY_MAP = {"completions/mean_length": RESPONSE_LENGTH_TOKENS}


class ValidationCallback(TrainerCallback):
    """Every ``every`` steps (and before the first), sample k completions per held-out prompt; score with the oracle."""

    def __init__(self, rows: list[dict], oracle: Reward, every: int, k: int, max_new_tokens: int, temperature: float):
        self.rows, self.oracle, self.every, self.k = rows, oracle, every, k
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.trainer: Any = None
        self.initial: dict[str, float] | None = None

    def evaluate(self) -> dict[str, float]:
        """mean@k and pass@k of the current policy on the validation rows.

        With several processes each validates its share of the rows; the figures are over all of them, the same
        on every process (so a collapse stop is decided alike everywhere)."""
        t = self.trainer
        finish = getattr(t, "finish_shadow_scoring", None)
        if finish is not None:  # the oracle may still be scoring this step's rollouts in the background
            finish()
        start = time.perf_counter()
        world, rank = t.accelerator.num_processes, t.accelerator.process_index
        scores, solved = self._score(self.rows[rank::world])
        if world > 1:
            from accelerate.utils import gather_object

            shares = gather_object([(scores, solved)])
            scores, solved = [s for share in shares for s in share[0]], [s for share in shares for s in share[1]]
        valid = [s for s in scores if s is not None]
        return {
            VAL_ACCURACY: sum(v >= 1.0 for v in valid) / len(valid) if valid else float("nan"),
            val_pass_at(self.k): sum(solved) / len(solved) if solved else float("nan"),
            VAL_MASKED: float(len(scores) - len(valid)),
            VALIDATION_SECONDS: time.perf_counter() - start,
        }

    def _score(self, rows: list[dict]) -> tuple[list[float | None], list[bool]]:
        """Oracle scores of k samples per row, and whether each row was solved at least once."""
        t = self.trainer
        if not rows:
            if collective(t):  # more processes than rows: this one still takes part in the collective generation
                generate(t.accelerator.unwrap_model(t.model), t.processing_class, [], n=self.k,
                         max_new_tokens=self.max_new_tokens, temperature=self.temperature, trainer=t)
            return [], []
        model = t.accelerator.unwrap_model(t.model)
        prompts = [r["prompt"] for r in rows]
        samples = generate(model, t.processing_class, prompts, n=self.k, max_new_tokens=self.max_new_tokens,
                           temperature=self.temperature, trainer=t)
        flat_rows = [{k: v for k, v in r.items() if k != "prompt"} for r in rows for _ in range(self.k)]
        flat = [c for group in samples for c in group]
        columns = {k: [row[k] for row in flat_rows] for k in flat_rows[0]}
        scores = self.oracle(prompts=[p for p in prompts for _ in range(self.k)], completions=flat, **columns)
        self.oracle.metrics()  # validation verdicts are not training-rollout counters
        solved = [any((s or 0) >= 1.0 for s in scores[i * self.k : (i + 1) * self.k]) for i in range(len(rows))]
        return list(scores), solved

    def on_train_begin(self, args, state, control, **kwargs):
        if self.rows and state.global_step == 0:
            self.initial = self.evaluate()

    def on_step_end(self, args, state, control, **kwargs):
        if self.rows and (state.global_step % self.every == 0 or state.global_step >= state.max_steps):
            for key, value in self.evaluate().items():
                self.trainer._metrics["train"][key].append(value)


class MetricsCallback(TrainerCallback):
    """Writes one metrics.jsonl line per logged step, feeds the collapse detector, and can stop the run."""

    def __init__(self, run_dir: RunDir, collapse: CollapseConfig, stop_on_collapse: bool, validation: ValidationCallback | None):
        self.run_dir = run_dir
        self.detector = CollapseDetector(collapse)
        self.stop_on_collapse = stop_on_collapse
        self.validation = validation
        self.started = time.time()
        for record in run_dir.read_metrics():  # a resumed run replays its history
            self.detector.update(int(record["step"]), record)

    def on_train_begin(self, args, state, control, **kwargs):
        if self.validation is not None and self.validation.initial is not None and state.global_step == 0:
            self._write(0, dict(self.validation.initial), state.is_world_process_zero)

    def on_log(self, args, state, control, logs=None, **kwargs):
        record = {LOG_KEY_MAP.get(k, k): v for k, v in (logs or {}).items()}
        if "loss" not in record and "train_runtime" in record:
            return  # the end-of-training summary is not a step
        self._write(state.global_step, record, state.is_world_process_zero)
        if self.detector.collapsed and self.stop_on_collapse:
            control.should_training_stop = True

    def _write(self, step: int, record: dict[str, Any], main: bool) -> None:
        """Feed the detector on every process (they see the same figures); only the main process writes."""
        record = {"step": step, "wall_s": round(time.time() - self.started, 3), **record}
        self.detector.update(step, record)
        if main:
            self.run_dir.append_metrics(record)
            self.run_dir.write_collapse(self.detector.to_json())


class QuietProgressCallback(ProgressCallback):
    """The progress bar, with one short line per validation instead of every step's full metrics dict.

    Every metric still goes to metrics.jsonl and to the ``report_to`` loggers.
    """

    KEYS = ((REWARD, "reward"), (ORACLE_ACCURACY, "oracle"), (REWARD_ACCURACY, "reward acc"), (VAL_ACCURACY, "val acc"))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or self.training_bar is None or not logs or VAL_ACCURACY not in logs:
            return
        parts = [f"{label} {logs[key]:.3f}" for key, label in self.KEYS if isinstance(logs.get(key), (int, float))]
        self.training_bar.write(f"step {state.global_step}: " + ", ".join(parts))
