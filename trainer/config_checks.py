"""Cross-field checks of a validated run config, run at start-up before any model loads.

Each failure is a :class:`~trainer.config.ConfigError` of one line naming the option and the valid choices:
shadow and combo-part names against the reward registry, rewards against the task they score, batch sizes
against TRL's GRPOConfig rules, and ``trainer.grpo`` keys against GRPOConfig's fields.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from typing import Any

from pydantic import ValidationError

from rewards import REWARDS
from verifiers.registry import VERIFIERS, RegistryError

GRPO_SET_BY = {
    "output_dir": "run_dir", "max_steps": "trainer.max_steps", "learning_rate": "trainer.learning_rate",
    "num_generations": "trainer.num_generations",
    "per_device_train_batch_size": "trainer.prompts_per_step, trainer.num_generations and trainer.gradient_accumulation_steps",
    "gradient_accumulation_steps": "trainer.gradient_accumulation_steps",
    "max_completion_length": "trainer.max_completion_length", "temperature": "trainer.temperature",
    "top_p": "trainer.top_p", "beta": "trainer.beta", "loss_type": "trainer.loss_type",
    "scale_rewards": "trainer.scale_rewards", "logging_steps": "trainer.logging_steps",
    "save_strategy": "trainer.save_steps", "save_steps": "trainer.save_steps",
    "save_total_limit": "trainer.save_total_limit", "report_to": "trainer.report_to", "bf16": "trainer.bf16",
    "use_cpu": "the trainer (CPU exactly when no GPU is visible)", "seed": "seed", "data_seed": "seed",
    "disable_tqdm": "trainer.progress", "dataloader_num_workers": "the trainer (0: rewards run in this process)",
    "use_vllm": "trainer.use_vllm", "vllm_mode": "trainer.vllm.mode", "vllm_server_host": "trainer.vllm.server_host",
    "vllm_server_port": "trainer.vllm.server_port", "vllm_gpu_memory_utilization": "trainer.vllm.gpu_memory_utilization",
    "vllm_tensor_parallel_size": "trainer.vllm.tensor_parallel_size",
}
"""GRPOConfig fields the trainer sets from its own options; ``trainer.grpo`` may not set them again."""


def check_run_config(cfg: Any, error: type[Exception]) -> None:
    """Raise ``error`` for the first cross-field problem of ``cfg`` (a RunConfig)."""
    for check in (_check_reward_names, _check_reward_tasks, _check_verifier, _check_batch_sizes, _check_grpo_keys):
        problem = check(cfg)
        if problem:
            raise error(problem)


def reward_names(cfg: Any) -> list[tuple[str, str]]:
    """(option, reward name) for the training reward, its combo parts and its shadows."""
    names = [("reward", cfg.reward.name)]
    names += [("reward.parts", p) for p in getattr(cfg.reward, "parts", None) or []]
    names += [("reward.shadow", s) for s in cfg.reward.shadow]
    return names


def _check_reward_names(cfg: Any) -> str | None:
    for option, name in reward_names(cfg):
        try:
            REWARDS.get(name)
        except RegistryError:
            return f"{option}: unknown reward {name!r}; valid choices: {', '.join(REWARDS.names())}"
    return None


def _check_reward_tasks(cfg: Any) -> str | None:
    for option, name in reward_names(cfg):
        problem = reward_task_problem(name, cfg.task.name)
        if problem:
            return f"{option}: {problem}"
    return None


def reward_task_problem(reward: str, task: str) -> str | None:
    """Why ``reward`` cannot score ``task`` (the reward's own ``check_task`` raised), or None."""
    check = getattr(REWARDS.get(reward), "check_task", None)
    if check is None:
        return None
    try:
        check(task)
    except ValueError as exc:
        return str(exc)
    return None


def _check_verifier(cfg: Any) -> str | None:
    """``reward=verifier``: the verifier is registered and its options fit its own Config."""
    name = getattr(cfg.reward, "verifier", None)
    if not isinstance(name, str):
        return None
    try:
        cls = VERIFIERS.get(name)
    except RegistryError as exc:
        return f"reward.verifier: {exc}"
    try:
        cls.Config.model_validate(dict(getattr(cfg.reward, "options", {}) or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        valid = f"; valid keys: {', '.join(sorted(cls.Config.model_fields))}" if err["type"] == "extra_forbidden" else ""
        return f"reward.options.{loc}: {err['msg']}{valid}"
    return None


def _check_batch_sizes(cfg: Any) -> str | None:
    """TRL's rules on the generation batch (GRPOConfig.__post_init__), applied to what the trainer will pass."""
    t = cfg.trainer
    completions = t.prompts_per_step * t.num_generations
    gas = t.gradient_accumulation_steps
    if completions % gas:
        return (f"trainer.gradient_accumulation_steps: {gas} does not divide the {completions} completions of a step "
                f"(trainer.prompts_per_step * trainer.num_generations); valid choices: {_divisors(completions)}")
    global_batch = completions // gas * int(os.environ.get("WORLD_SIZE", "1") or 1)
    gen_batch, per_gen = t.grpo.get("generation_batch_size"), t.grpo.get("steps_per_generation")
    if gen_batch is not None and per_gen is not None:
        return "trainer.grpo: generation_batch_size and steps_per_generation cannot both be set (TRL); keep one"
    for key, value in (("generation_batch_size", gen_batch), ("steps_per_generation", per_gen)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            return f"trainer.grpo.{key}: must be a positive integer (got {value!r})"
    if gen_batch is not None and gen_batch % global_batch:
        return (f"trainer.grpo.generation_batch_size: {gen_batch} must be a multiple of the global batch "
                f"{global_batch} (completions per step / trainer.gradient_accumulation_steps x processes)")
    size = gen_batch if gen_batch is not None else global_batch * (per_gen or gas)
    if size % t.num_generations:
        return (f"trainer.grpo: the generation batch ({size} completions) must be a multiple of "
                f"trainer.num_generations ({t.num_generations}) so that every prompt's group is whole")
    return None


def _divisors(n: int, most: int = 10_000) -> str:
    if n > most:
        return f"the divisors of {n}"
    return ", ".join(str(d) for d in range(1, n + 1) if n % d == 0)


def _check_grpo_keys(cfg: Any) -> str | None:
    keys = list(cfg.trainer.grpo)
    if not keys:
        return None
    for key in keys:
        if key in GRPO_SET_BY:
            return f"trainer.grpo.{key}: set by {GRPO_SET_BY[key]}; use that instead"
    fields = grpo_fields()
    for key, value in cfg.trainer.grpo.items():
        if key not in fields:
            return f"trainer.grpo.{key}: not a field of TRL's GRPOConfig; {_close_fields(key, fields)}"
        problem = _type_problem(value, fields[key])
        if problem:
            return f"trainer.grpo.{key}: {problem}"
    return None


def _type_problem(value: Any, default: Any) -> str | None:
    """A value whose type cannot be the field's, judged by the type of TRL's default (None or lists: any)."""
    if value is None or default is None or isinstance(default, (list, dict, tuple)):
        return None
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)  # TRL takes 0.1 for warmup_steps
    elif isinstance(default, str):
        ok = isinstance(value, str)
    else:
        return None
    kind = "number" if isinstance(default, (int, float)) and not isinstance(default, bool) else type(default).__name__
    return None if ok else f"should be a {kind} like TRL's default {default!r} (got {value!r})"


def _close_fields(key: str, fields: list[str]) -> str:
    close = difflib.get_close_matches(key, [*fields, *GRPO_SET_BY], n=3, cutoff=0.6)
    if not close:
        return "see TRL's GRPOConfig for the valid fields"
    named = [f"{c} (set by {GRPO_SET_BY[c]})" if c in GRPO_SET_BY else c for c in close]
    return f"did you mean: {', '.join(named)}?"


def grpo_fields() -> dict[str, Any]:
    """The fields of the installed TRL's GRPOConfig that ``trainer.grpo`` may set, with their defaults."""
    from trl.trainer.grpo_config import GRPOConfig

    out = {}
    for f in dataclasses.fields(GRPOConfig):
        if f.init and f.name not in GRPO_SET_BY:
            out[f.name] = f.default if f.default is not dataclasses.MISSING else None
    return out
