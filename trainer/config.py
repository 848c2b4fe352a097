"""Typed run configuration. Hydra composes the tree; these pydantic models validate every node.

Task and reward nodes are validated by the Config class of the registered task/reward they name, so each
plugin brings its own options and unknown keys fail with the list of valid ones.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rewards import REWARDS
from tasks import TASKS, TaskConfig
from verifiers.registry import RegistryError


class Strict(BaseModel):
    """Base for config nodes: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelOptions(Strict):
    """Which policy to train."""

    name_or_path: str = Field(default="smollm2-135m", description="Embedded model name, HF model id, or local checkpoint folder.")
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = Field(default="float32", description="Weights dtype for training.")


class LoraOptions(Strict):
    """Optional LoRA adapters through peft."""

    enabled: bool = False
    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] = "all-linear"


class VllmOptions(Strict):
    """Passed to TRL for GPU users: generation through vLLM, colocated or served by ``trl vllm-serve``."""

    mode: Literal["colocate", "server"] = "colocate"
    server_host: str = "0.0.0.0"
    server_port: int = 8000
    gpu_memory_utilization: float = Field(default=0.3, gt=0.0, le=1.0)
    tensor_parallel_size: int = Field(default=1, ge=1)


class TrainerOptions(Strict):
    """GRPO and run-control options. Defaults are sized for a 2-core CPU demo."""

    max_steps: int = Field(default=8, ge=1, description="Optimizer steps.")
    learning_rate: float = Field(default=1e-6, gt=0)
    num_generations: int = Field(default=4, ge=2, description="Completions per prompt (the GRPO group size G).")
    prompts_per_step: int = Field(default=2, ge=1, description="Distinct prompts per optimizer step.")
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_completion_length: int = Field(default=128, ge=1)
    temperature: float = Field(default=1.0, gt=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    beta: float = Field(default=0.0, ge=0, description="KL coefficient against the reference model.")
    loss_type: str = "dapo"
    scale_rewards: Literal["group", "batch", "none"] = "group"
    logging_steps: int = Field(default=1, ge=1)
    save_steps: int = Field(default=4, ge=1, description="Checkpoint every N steps.")
    save_total_limit: int | None = Field(default=2, ge=1)
    eval_steps: int = Field(default=4, ge=1, description="Validation every N steps (and at step 0 and the end).")
    val_prompts: int = Field(default=8, ge=0, description="Held-out prompts per validation (0 disables validation).")
    val_samples: int = Field(default=2, ge=1, description="Completions per validation prompt (k of pass@k).")
    samples_to_log: int = Field(default=4, ge=0, description="Completions written to samples.jsonl per step.")
    report_to: list[str] = Field(default_factory=lambda: ["tensorboard"], description="TRL report_to: tensorboard, wandb, trackio, none.")
    resume: bool = Field(default=False, description="Continue from the latest checkpoint in the run directory.")
    stop_on_collapse: bool = Field(default=False, description="End the run when the Model Collapse Step is detected.")
    collapse_threshold: float = Field(default=0.01, ge=0, le=1)
    use_vllm: bool = False
    vllm: VllmOptions = VllmOptions()
    bf16: bool = Field(default=False, description="bf16 is 3-4x slower on CPU; enable on GPUs.")
    lora: LoraOptions = LoraOptions()
    progress: bool = Field(default=True, description="Show progress bars.")
    grpo: dict[str, Any] = Field(default_factory=dict, description="Extra GRPOConfig fields, passed through and validated by TRL.")

    @model_validator(mode="after")
    def _report_to(self) -> TrainerOptions:
        valid = {"tensorboard", "wandb", "trackio", "none", "all"}
        bad = [r for r in self.report_to if r not in valid]
        if bad:
            raise ValueError(f"report_to {bad} not supported; valid choices: {sorted(valid)}")
        return self


class VerifierOptions(Strict):
    """How verifier calls are served."""

    backend: Literal["inprocess", "local", "ray"] = Field(default="ray", description="inprocess (tests only), local processes, or Ray actors.")
    workers: int = Field(default=2, ge=1)
    timeout: float | None = Field(default=None, gt=0, description="Per-item hard timeout override in seconds.")
    address: str | None = Field(default=None, description="Ray cluster address to join ('auto' for an existing one).")
    transport: Literal["socket", "ray"] = Field(default="socket", description="ray backend: batches over the actors' sockets, or as Ray calls.")


class RunConfig(Strict):
    """The whole, validated run configuration."""

    seed: int = 0
    run_dir: str
    task: TaskConfig
    reward: BaseModel
    model: ModelOptions = ModelOptions()
    trainer: TrainerOptions = TrainerOptions()
    verifiers: VerifierOptions = VerifierOptions()


class ConfigError(ValueError):
    """A configuration problem, phrased for the person who typed the command."""


def validate_config(raw: dict[str, Any]) -> RunConfig:
    """Validate a composed config dict. Raises ConfigError naming the field and the valid choices."""
    raw = dict(raw)
    task = _validate_plugin_node(raw.pop("task", None), "task", TASKS)
    reward = _validate_plugin_node(raw.pop("reward", None), "reward", REWARDS)
    try:
        return RunConfig.model_validate({**raw, "task": task, "reward": reward})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, RunConfig)) from None


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
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            valid = _fields_at(model, err["loc"][:-1])
            lines.append(f"{prefix}{loc}: unknown key; valid keys: {', '.join(valid)}")
        else:
            lines.append(f"{prefix}{loc}: {err['msg']} (got {err.get('input')!r})")
    return "invalid config:\n  " + "\n  ".join(lines)


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
        elif getattr(ann, "__origin__", None) is dict or ann is dict:
            return  # free-form mapping (e.g. trainer.grpo): validated later by its consumer
        else:
            model = _Leaf
