"""A thin GRPOTrainer subclass: policy statistics for intrinsic rewards, and shadow scoring of every rollout.

The training reward is TRL's only reward function. The same rollouts are also scored by the oracle and any shadow
rewards; their agreement with the oracle is logged and never trained on. Rewards that call a verifier pool score
in the background (:mod:`trainer.overlap`): the training reward while the policy statistics are computed, the
oracle and pool-backed shadows while the rest of the step runs; their figures are logged at the step's end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback
from trl import GRPOTrainer

from rewards.base import Reward, completion_text, group_indices
from rewards.diagnostics import group_diagnostics
from rewards.metric_keys import PART, POLICY_STATS_SECONDS, SHADOW, VERIFIER, scoped
from rewards.verifier import scores_async
from trainer import overlap
from trainer.callbacks import QuietProgressCallback
from trainer.policy_stats import attach_policy_stats


class UrlvrGRPOTrainer(GRPOTrainer):
    """GRPOTrainer plus shadow oracle scoring, intrinsic-reward statistics and per-step sample capture.

    ``concurrent=False`` scores one reward after the other, on this thread, and logs at once (the sequential path,
    kept for comparison: ``bench/bench_async_rewards.py``)."""

    def __init__(self, *args: Any, reward: Reward, shadows: Mapping[str, Reward], oracle: Reward | None,
                 sample_sink: Callable[[list[dict]], None] | None = None, samples_per_step: int = 4,
                 concurrent: bool = True, **kwargs: Any):
        self.concurrent = concurrent
        self._train_func = overlap.StartedEarly(reward) if concurrent and scores_async(reward) else None
        super().__init__(*args, reward_funcs=[self._train_func or reward], **kwargs)
        self.urlvr_reward = reward
        self.shadows = dict(shadows)
        self.oracle = oracle
        self.sample_sink = sample_sink
        self.samples_per_step = samples_per_step
        self.policy_stats_seconds = 0.0
        self._pending: list[dict[str, Any]] = []
        for r in self._all_rewards():
            r.bind(self)
        if self.pop_callback(ProgressCallback) is not None:
            self.add_callback(QuietProgressCallback)
        self.add_callback(_FinishShadowScoring(self))

    def _all_rewards(self) -> list[Reward]:
        out = [self.urlvr_reward, *self.shadows.values()]
        if self.oracle is not None and self.oracle is not self.urlvr_reward:
            out.append(self.oracle)
        return out

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        self.finish_shadow_scoring()
        mode = "train" if self.model.training else "eval"
        started = self._start_async(inputs, prompts, completions, completion_ids_list)
        if any(r.needs_policy_stats for r in self._all_rewards()):
            start = time.perf_counter()
            attach_policy_stats(self, inputs, prompts, completion_ids_list)
            self.policy_stats_seconds = time.perf_counter() - start
            self._metrics[mode][POLICY_STATS_SECONDS].append(self.policy_stats_seconds)
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        # TRL returns the rewards gathered from every process; this process's rows are its own slice of them.
        start = self.accelerator.process_index * len(prompts)
        local = rewards_per_func[start : start + len(prompts), 0].tolist()
        train_scores = [None if math.isnan(v) else float(v) for v in local]
        self._pending.append(self._shadow_score(mode, inputs, prompts, completions, completion_ids_list, train_scores, started))
        if not self.concurrent or mode == "eval":
            self.finish_shadow_scoring()
        return rewards_per_func

    def _start_async(self, inputs, prompts, completions, completion_ids_list) -> dict[int, Any]:
        """Start the pool-backed rewards (training reward, oracle, shadows) on this batch; none when sequential."""
        if not self.concurrent:
            return {}
        rewards = [self.urlvr_reward] if self.oracle is None else self._all_rewards()
        batch = {"prompts": prompts, "completions": completions, "completion_ids": completion_ids_list, **_columns(inputs)}
        started = overlap.start(rewards, overlap.event_loop(self), batch)
        if self._train_func is not None:
            self._train_func.start(completions, started[id(self.urlvr_reward)])
        return started

    def _shadow_score(self, mode, inputs, prompts, completions, completion_ids_list, train_scores, started) -> dict[str, Any]:
        """This process's rollouts and their scores: the oracle's and the shadows', each a list, or a future for
        those still being computed in the background (``started``)."""
        kwargs = _columns(inputs)

        def score(reward: Reward) -> Any:
            if id(reward) in started:
                return started[id(reward)]
            return reward(prompts=prompts, completions=completions, completion_ids=completion_ids_list, **kwargs)

        oracle_scores = train_scores if self.oracle is self.urlvr_reward else None
        if self.oracle is not None and oracle_scores is None:
            oracle_scores = score(self.oracle)
        texts = [completion_text(c) for c in completions]
        task = self.urlvr_reward.task
        answers = [task.extract_answer(t) for t in texts]
        return {
            "mode": mode, "step": self.state.global_step + 1, "prompts": prompts,
            "group_size": len(group_indices(prompts)[0]) if prompts else self.num_generations,
            "train": train_scores, "oracle": oracle_scores, "texts": texts, "lengths": [len(ids) for ids in completion_ids_list],
            "keys": [None if a is None else task.answer_key(a) for a in answers],
            "shadows": {name: score(shadow) for name, shadow in self.shadows.items()} if oracle_scores is not None else {},
            "parts": dict(getattr(self.urlvr_reward, "part_scores", {})),
        }

    def finish_shadow_scoring(self) -> None:
        """Wait for the scores still being computed and log the figures of every batch scored so far: at the end of
        each step, before validation (which uses the oracle too) and before the next batch. Every process calls it
        at the same points (the diagnostics gather the rollouts of every process)."""
        pending, self._pending = self._pending, []
        for scored in pending:
            self._log_shadows(scored)

    def _log_shadows(self, scored: dict[str, Any]) -> None:
        """The diagnostics on the rollouts of every process (gathered), so each process logs the same figures for
        the whole batch; the pool and outcome counters of every reward; the sample rows."""
        mode, prompts, group_size = scored.pop("mode"), scored.pop("prompts"), scored.pop("group_size")
        step = scored.pop("step")
        local = overlap.resolve(scored)
        batch = _gather_rollouts(local, self.accelerator.num_processes)
        metrics = self._metrics[mode]
        metrics["rollouts"].append(float(len(batch["train"])))  # prompts x generations x processes
        if batch["oracle"] is not None:
            diag = group_diagnostics(batch["train"], batch["oracle"], group_size, answers=batch["keys"], equal=_eq,
                                     completions=batch["texts"], lengths=batch["lengths"], binary=self.urlvr_reward.binary or None)
            _add(metrics, diag)
            for prefix, rewards, scores_by_name in ((SHADOW, self.shadows, batch["shadows"]),
                                                    (PART, getattr(self.urlvr_reward, "parts", {}), batch["parts"])):
                for name, scores in scores_by_name.items():  # reward=combo: each part, like a shadow
                    sd = group_diagnostics(scores, batch["oracle"], group_size, binary=rewards[name].binary or None)
                    _add(metrics, {scoped(prefix, name, "mean"): _mean(scores), **{scoped(prefix, name, k): v for k, v in sd.items()}})
        for r in self._all_rewards():
            _add(metrics, {scoped(VERIFIER, r.name, k): v for k, v in r.metrics().items()})
        if self.accelerator.is_main_process:
            self._capture_samples(step, prompts, local["texts"], local["train"], local["oracle"])

    def _capture_samples(self, step, prompts, texts, train_scores, oracle_scores) -> None:
        if self.sample_sink is None or self.samples_per_step <= 0:
            return
        rows = []
        for i in range(min(self.samples_per_step, len(texts))):
            rows.append({
                "step": step,
                "prompt": completion_text(prompts[i]) if not isinstance(prompts[i], str) else prompts[i][-500:],
                "completion": texts[i],
                "reward": train_scores[i],
                "oracle": None if oracle_scores is None else oracle_scores[i],
            })
        self.sample_sink(rows)


class _FinishShadowScoring(TrainerCallback):
    """Logs the background shadow scores at the end of each optimizer step, before the step's metrics are logged."""

    def __init__(self, trainer: UrlvrGRPOTrainer):
        self.trainer = trainer

    def on_step_end(self, args, state, control, **kwargs):
        self.trainer.finish_shadow_scoring()

    def on_train_end(self, args, state, control, **kwargs):
        self.trainer.finish_shadow_scoring()


def _gather_rollouts(local: dict[str, Any], processes: int) -> dict[str, Any]:
    """The per-rollout lists of every process, concatenated in process order (as TRL gathers rewards)."""
    if processes <= 1:
        return local
    from accelerate.utils import gather_object

    everyone = gather_object([local])
    out: dict[str, Any] = {}
    for key, value in local.items():
        if isinstance(value, dict):
            out[key] = {name: [x for part in everyone for x in part[key][name]] for name in value}
        elif value is None:
            out[key] = None
        else:
            out[key] = [x for part in everyone for x in part[key]]
    return out


def _columns(inputs: Sequence[dict]) -> dict[str, list]:
    keys = [k for k in inputs[0] if k not in ("prompt", "completion", "completion_ids")]
    return {k: [row[k] for row in inputs] for k in keys}


def _eq(a: Any, b: Any) -> bool:
    return a == b


def _mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(vals) / len(vals) if vals else None


def _add(metrics: Mapping[str, list], values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, torch.Tensor):
            value = value.item()
        metrics[key].append(float(value))
