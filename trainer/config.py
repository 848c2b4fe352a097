"""Typed run configuration. Hydra composes the tree; these pydantic models validate every node.

Task and reward nodes are validated by the Config class of the registered task/reward they name, so each
plugin brings its own options and unknown keys fail with the list of valid ones.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, model_validator

from rewards import REWARDS
from tasks import TASKS, TaskConfig
from trainer.config_checks import check_run_config
from verifiers.pool import PoolOptions
from verifiers.registry import RegistryError


class Strict(BaseModel):
    """Base for config nodes: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelOptions(Strict):
    """Which policy to train."""

    name_or_path: str = Field(default="smollm2-135m", min_length=1, description="Embedded model name, HF model id, or local checkpoint folder.")
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = Field(default="float32", description="Weights dtype for training.")


class LoraOptions(Strict):
    """Optional LoRA adapters through peft."""

    enabled: bool = Field(default=False, description="Train LoRA adapters instead of every weight.")
    r: int = Field(default=16, ge=1, description="Adapter rank.")
    alpha: int = Field(default=32, ge=1, description="LoRA scaling numerator (lora_alpha).")
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0, description="Dropout on the adapter input.")
    target_modules: str | list[str] = Field(default="all-linear", description="Modules that get adapters (peft's target_modules).")


class VllmOptions(Strict):
    """Passed to TRL for GPU users: generation through vLLM, colocated or served by ``trl vllm-serve``."""

    mode: Literal["colocate", "server"] = Field(default="colocate", description="colocate: vLLM in the training process; server: a `trl vllm-serve` process.")
    server_host: str = Field(default="0.0.0.0", description="Host of the vLLM server (server mode).")
    server_port: int = Field(default=8000, ge=1, le=65535, description="Port of the vLLM server (server mode).")
    gpu_memory_utilization: float = Field(default=0.3, gt=0.0, le=1.0, description="GPU memory share vLLM may take (colocate mode).")
    tensor_parallel_size: int = Field(default=1, ge=1, description="GPUs per vLLM engine (colocate mode).")


class TrainerOptions(Strict):
    """GRPO and run-control options. Defaults are sized for a 2-core CPU demo."""

    max_steps: int = Field(default=8, ge=1, description="Optimizer steps.")
    learning_rate: float = Field(default=1e-6, gt=0, description="AdamW learning rate.")
    num_generations: int = Field(default=4, ge=2, description="Completions per prompt (the GRPO group size G).")
    prompts_per_step: int = Field(default=2, ge=1, description="Distinct prompts per optimizer step.")
    gradient_accumulation_steps: int = Field(default=1, ge=1, description="Micro-batches per optimizer step; must divide prompts_per_step * num_generations.")
    max_completion_length: int = Field(default=128, ge=1, description="Longest completion in tokens.")
    temperature: float = Field(default=1.0, gt=0, description="Sampling temperature of the rollouts.")
    top_p: float = Field(default=1.0, gt=0, le=1, description="Nucleus sampling of the rollouts.")
    beta: float = Field(default=0.0, ge=0, description="KL coefficient against the reference model.")
    loss_type: str = Field(default="dapo", description="TRL's GRPO loss_type (grpo, dapo, dr_grpo, bnpo, ...).")
    scale_rewards: Literal["group", "batch", "none"] = Field(default="group", description="Divide advantages by the group's, the batch's, or no reward std.")
    logging_steps: int = Field(default=1, ge=1, description="A metrics.jsonl line every N steps.")
    save_steps: int = Field(default=4, ge=1, description="Checkpoint every N steps.")
    save_total_limit: int | None = Field(default=2, ge=1, description="Checkpoints kept (older ones deleted); None keeps all.")
    eval_steps: int = Field(default=4, ge=1, description="Validation every N steps (and at step 0 and the end).")
    val_prompts: int = Field(default=8, ge=0, description="Held-out prompts per validation (0 disables validation).")
    val_samples: int = Field(default=2, ge=1, description="Completions per validation prompt (k of pass@k).")
    samples_to_log: int = Field(default=4, ge=0, description="Completions written to samples.jsonl per step.")
    report_to: list[str] = Field(default_factory=lambda: ["tensorboard"], description="TRL report_to: tensorboard, wandb, trackio, none.")
    resume: bool = Field(default=False, description="Continue from the latest checkpoint in the run directory.")
    stop_on_collapse: bool = Field(default=False, description="End the run when the Model Collapse Step is detected.")
    collapse_threshold: float = Field(default=0.01, ge=0, le=1, description="Reward accuracy below which the run counts as collapsed.")
    use_vllm: bool = Field(default=False, description="Generate rollouts with vLLM (GPU; pip install -e .[gpu]).")
    vllm: VllmOptions = Field(default_factory=VllmOptions, description="vLLM options, used when use_vllm is true.")
    bf16: bool = Field(default=False, description="bf16 is 3-4x slower on CPU; enable on GPUs.")
    lora: LoraOptions = Field(default_factory=LoraOptions, description="LoRA adapters through peft.")
    progress: bool = Field(default=True, description="Show progress bars.")
    grpo: dict[str, Any] = Field(default_factory=dict, description="Extra GRPOConfig fields, passed through and validated by TRL.")

    @model_validator(mode="after")
    def _report_to(self) -> TrainerOptions:
        valid = {"tensorboard", "wandb", "trackio", "none", "all"}
        bad = [r for r in self.report_to if r not in valid]
        if bad:
            raise ValueError(f"report_to {bad} not supported; valid choices: {sorted(valid)}")
        return self


class RunConfig(Strict):
    """The whole, validated run configuration."""

    seed: int = Field(default=0, description="Seed of the trainer, the data order and sampling.")
    run_dir: str = Field(min_length=1, description="The run directory (config.yaml sets it from task, reward and time).")
    task: SerializeAsAny[TaskConfig] = Field(description="The task node, validated by the chosen task's Config.")
    reward: SerializeAsAny[BaseModel] = Field(description="The reward node, validated by the chosen reward's Config.")
    model: ModelOptions = Field(default_factory=ModelOptions, description="The policy to train.")
    trainer: TrainerOptions = Field(default_factory=TrainerOptions, description="GRPO and run control.")
    verifiers: PoolOptions = Field(default_factory=PoolOptions, description="How verifier calls are served (verifiers.pool.PoolOptions).")


class ConfigError(ValueError):
    """A configuration problem, phrased for the person who typed the command."""


def validate_config(raw: dict[str, Any]) -> RunConfig:
    """Validate a composed config dict. Raises ConfigError naming the field and the valid choices."""
    raw = dict(raw)
    if isinstance(raw.get("verifiers"), dict):
        raw["verifiers"] = _explicit(raw["verifiers"], PoolOptions)
    task = _validate_plugin_node(raw.pop("task", None), "task", TASKS)
    reward = _validate_plugin_node(raw.pop("reward", None), "reward", REWARDS)
    try:
        cfg = RunConfig.model_validate({**raw, "task": task, "reward": reward})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, RunConfig)) from None
    check_run_config(cfg, ConfigError)
    return cfg


def _explicit(node: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """``node`` without the entries equal to ``model``'s defaults (Hydra passes every default), so that the
    model's own checks of which options were set (PoolOptions: ray-only options) see what the user set."""
    fields = model.model_fields
    return {k: v for k, v in node.items()
            if k not in fields or fields[k].is_required() or v != fields[k].get_default(call_default_factory=True)}


def _validate_plugin_node(node: Any, group: str, registry) -> BaseModel:
    if not isinstance(node, dict) or "name" not in node:
        raise ConfigError(f"{group}: a '{group}' node with a 'name' is required; valid choices: {', '.join(registry.names())}")
    try:
        cls = registry.get(node["name"])
    except RegistryError as exc:
        raise ConfigError(f"{group}: {exc}") from None
    try:
        return cls.Config.model_validate(node)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, cls.Config, prefix=f"{group}.")) from None


def format_validation_error(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """One line per problem: the dotted field, what is wrong, and for unknown keys the valid ones."""
    lines = []
    for err in exc.errors():
        where = (prefix + ".".join(str(p) for p in err["loc"])).rstrip(".") or "config"
        if err["type"] == "extra_forbidden":
            valid = _fields_at(model, err["loc"][:-1])
            lines.append(f"{where}: unknown key; valid keys: {', '.join(valid)}")
        elif isinstance(err.get("input"), dict):  # a whole node: its own validator's message says it all
            lines.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        else:
            lines.append(f"{where}: {err['msg']} (got {err.get('input')!r})")
    return lines[0] if len(lines) == 1 else "invalid config:\n  " + "\n  ".join(lines)


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None)
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return []
        model = ann
    return sorted(model.model_fields)


GROUPS = {"task": TASKS, "reward": REWARDS}


def check_override_keys(overrides: list[str], defaults: dict[str, str]) -> None:
    """Reject ``a.b=v`` overrides naming keys that no config model has, listing the valid keys.

    Runs before Hydra composes, so a typo gets our message instead of Hydra's struct error. Group choices
    (``task=countdown``), appends (``+key=v``), deletions and ``hydra.*`` are left to Hydra.
    """
    choices = dict(defaults)
    for ov in overrides:
        key, sep, value = ov.partition("=")
        if sep and key in ("task", "reward", "model"):
            choices[key] = value.split(",")[0]
    for ov in overrides:
        key, sep, _ = ov.partition("=")
        if not sep or key.startswith(("+", "~", "hydra.")) or key in ("task", "reward", "model"):
            continue
        parts = key.split(".")
        model = _node_model(parts[0], choices)
        if model is None:
            raise ConfigError(f"{key}: unknown key; valid top-level keys: {', '.join(sorted(RunConfig.model_fields))}")
        _check_path(model, parts[1:], parts[0])


def _node_model(top: str, choices: dict[str, str]) -> type[BaseModel] | None:
    if top in GROUPS:
        try:
            return GROUPS[top].get(choices.get(top, "")).Config
        except RegistryError as exc:
            raise ConfigError(f"{top}: {exc}") from None
    field = RunConfig.model_fields.get(top)
    if field is None:
        return None
    ann = field.annotation
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else _Leaf


class _Leaf(BaseModel):
    """Marker for a scalar node."""


def _check_path(model: type[BaseModel], parts: list[str], where: str) -> None:
    for part in parts:
        if model is _Leaf:
            raise ConfigError(f"{where}.{part}: {where} is a value, not a group of keys")
        field = model.model_fields.get(part)
        if field is None:
            raise ConfigError(f"{where}.{part}: unknown key; valid keys under {where}: {', '.join(sorted(model.model_fields))}")
        where = f"{where}.{part}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        elif is_mapping(ann):
            return  # free-form mapping (e.g. trainer.grpo): validated later by its consumer
        else:
            model = _Leaf


def is_mapping(annotation: Any) -> bool:
    """True for ``dict``, ``dict[...]`` and optional forms of them."""
    if annotation is dict or typing.get_origin(annotation) is dict:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(is_mapping(a) for a in typing.get_args(annotation) if a is not type(None))
    return False
