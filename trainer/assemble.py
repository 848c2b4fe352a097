"""Trainer set-up as named steps: task, policy, datasets, rewards, GRPO config, trainer, training."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from rewards import REWARDS
from rewards.base import Reward
from tasks import TASKS
from tasks.base import Task
from trainer.config import ConfigError, RunConfig
from trainer.rundir import RunDir
from verifiers.pool import PoolOptions
from verifiers.registry import RegistryError


def build_task(cfg: RunConfig) -> Task:
    """The task, after :func:`check_rewards` (so a reward/task mismatch stops the run before the model loads)."""
    check_rewards(cfg)
    task = TASKS.get(cfg.task.name)(cfg.task)
    check_oracle(task)
    return task


def check_oracle(task: Task) -> None:
    """Stop before any model loads when the task's verifier cannot work here (e.g. no Lean toolchain)."""
    from verifiers.registry import VERIFIERS

    unavailable = getattr(VERIFIERS.get(task.verifier), "unavailable", None)
    reason = unavailable(task.verifier_config()) if callable(unavailable) else None
    if reason:
        raise ConfigError(f"task={task.name}: {reason}")


def check_rewards(cfg: RunConfig) -> None:
    """Checks that need no model: each reward (parts and shadows too) supports the task; a judge endpoint answers."""
    from trainer.config_checks import reward_names, reward_task_problem

    for option, name in reward_names(cfg):
        try:
            problem = reward_task_problem(name, cfg.task.name)
        except RegistryError as exc:
            raise ConfigError(f"{option}: {exc}") from None
        if problem:
            raise ConfigError(f"{option}: {problem}")
    if getattr(cfg.reward, "judge", None) == "endpoint":
        from rewards.judges import EndpointError
        from rewards.self_verify import endpoint_judge

        try:
            endpoint_judge(cfg.reward).check()  # reachable, and the named model answers one token
        except EndpointError as exc:
            raise ConfigError(f"reward.endpoint.url: {exc}") from None


def load_policy(cfg: RunConfig) -> tuple[Any, Any]:
    """The policy model and tokenizer (embedded models are fetched and converted on first use)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainer.models import ModelUnavailableError, resolve_model

    try:
        path = resolve_model(cfg.model.name_or_path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=cfg.model.dtype)
    except ModelUnavailableError as exc:
        raise ConfigError(f"model.name_or_path: {exc}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"model.name_or_path: could not load {cfg.model.name_or_path!r} ({str(exc)[:300]}). Use an embedded "
            "model (model=smollm2-135m), a local checkpoint folder, or an HF id already in the local cache."
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def is_conversational(task: Task, tokenizer: Any) -> bool:
    if task.config.chat_template is not None:
        return task.config.chat_template
    return bool(getattr(tokenizer, "chat_template", None))


def build_datasets(task: Task, conversational: bool) -> tuple[Any, list[dict]]:
    """The training dataset and the validation rows (with a ``prompt`` column)."""
    from datasets import Dataset

    try:
        train = task.dataset_rows("train", conversational)
        val = task.dataset_rows("validation", conversational)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"task ({task.name}): {exc}") from None
    if not train:
        raise ConfigError(f"task ({task.name}): no training rows")
    return Dataset.from_list(train), val


def pool_options(cfg: RunConfig) -> PoolOptions:
    """The pool each rank builds from ``cfg.verifiers``, with ``verifiers.workers`` a budget, not a per-rank count.

    local: the node's ranks split the node's workers. ray, several processes under torchrun (or accelerate,
    which launches through it): the ranks share one pool, keyed by the job's run id (``verifiers.ray_share``):
    one Ray instance and ``workers`` actors per node, or per cluster with ``verifiers.address``. Without a run id
    the ranks split the budget as local does, each with its own Ray.
    """
    v = cfg.verifiers
    if v.backend == "inprocess":
        return v
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    run_id = os.environ.get("TORCHELASTIC_RUN_ID", "")
    if v.backend == "ray" and world > 1 and run_id and "share" not in v.backend_options:
        key = re.sub(r"[^A-Za-z0-9_.-]", "-", run_id)[:80]
        return v.model_copy(update={"backend_options": {**v.backend_options, "share": key}})
    sharers = int(os.environ.get("LOCAL_WORLD_SIZE" if v.backend == "local" else "WORLD_SIZE", "1"))
    return v.model_copy(update={"workers": max(1, -(-v.workers // max(1, sharers)))})


@dataclass
class RewardSet:
    """The training reward, the oracle (may be the same object), and shadow rewards."""

    train: Reward
    oracle: Reward
    shadows: dict[str, Reward]

    def close(self) -> None:
        for r in {id(r): r for r in (self.train, self.oracle, *self.shadows.values())}.values():
            r.close()


def build_rewards(cfg: RunConfig, task: Task) -> RewardSet:
    opts = {"pool": pool_options(cfg)}
    train = _make_reward(cfg.reward.name, cfg.reward, task, opts)
    oracle = train if cfg.reward.name == "oracle" else REWARDS.get("oracle")({}, task, **opts)
    shadows = {}
    for name in cfg.reward.shadow:
        if name in (cfg.reward.name, "oracle"):
            continue
        shadows[name] = _make_reward(name, {}, task, opts)
    return RewardSet(train, oracle, shadows)


def _make_reward(name: str, config: Any, task: Task, opts: dict[str, Any]) -> Reward:
    """A reward; one that judges (self_verify) also gets the trainer-side judge for policy/frozen."""
    cls = REWARDS.get(name)
    if getattr(cls, "needs_judge", False):
        from trainer.generation import JUDGES, judge_factory

        config = cls.Config.model_validate({"name": name, **dict(config)}) if isinstance(config, dict) else config
        if config.judge in JUDGES:
            opts = {**opts, "judge_factory": judge_factory(config.judge, config.max_judge_tokens, config.judge_temperature)}
    return cls(config, task, **opts)


def build_grpo_config(cfg: RunConfig, run_dir: RunDir) -> Any:
    import torch
    from trl import GRPOConfig

    t = cfg.trainer
    completions_per_step = t.prompts_per_step * t.num_generations
    if completions_per_step % t.gradient_accumulation_steps:
        raise ValueError(
            f"trainer.prompts_per_step * trainer.num_generations ({completions_per_step}) must be divisible by "
            f"trainer.gradient_accumulation_steps ({t.gradient_accumulation_steps})"
        )
    vllm = {}
    if t.use_vllm:
        vllm = {"use_vllm": True, "vllm_mode": t.vllm.mode, "vllm_server_host": t.vllm.server_host,
                "vllm_server_port": t.vllm.server_port, "vllm_gpu_memory_utilization": t.vllm.gpu_memory_utilization,
                "vllm_tensor_parallel_size": t.vllm.tensor_parallel_size}
    return GRPOConfig(
        output_dir=str(run_dir.checkpoints),
        max_steps=t.max_steps,
        learning_rate=t.learning_rate,
        num_generations=t.num_generations,
        per_device_train_batch_size=completions_per_step // t.gradient_accumulation_steps,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        max_completion_length=t.max_completion_length,
        temperature=t.temperature,
        top_p=t.top_p,
        beta=t.beta,
        loss_type=t.loss_type,
        scale_rewards=t.scale_rewards,
        logging_steps=t.logging_steps,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        report_to=[] if t.report_to == ["none"] else t.report_to,
        bf16=t.bf16,
        use_cpu=not torch.cuda.is_available(),
        seed=cfg.seed,
        data_seed=cfg.seed,
        disable_tqdm=not t.progress,
        dataloader_num_workers=0,
        **vllm,
        **t.grpo,
    )


def peft_config(cfg: RunConfig) -> Any:
    lora = cfg.trainer.lora
    if not lora.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=lora.target_modules, task_type="CAUSAL_LM")
