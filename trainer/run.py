"""CLI: ``python -m trainer.run task=countdown reward=self_verify trainer.max_steps=20`` (Hydra override grammar).

``-m reward=oracle,self_verify seed=0,1`` runs a sweep, one run directory per job under one sweep folder.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from trainer.config import ConfigError, RunConfig, validate_config
from trainer.config_checks import check_run_config
from trainer.preflight import CONF_DIR, default_choices, preflight

DEFAULT_CHOICES = default_choices()
"""The group choices of conf/config.yaml's defaults list, read from it."""
USER_TENSORBOARD_DIR = os.environ.get("TENSORBOARD_LOGGING_DIR")
"""A tensorboard folder the user chose before starting; otherwise each run logs into its own directory."""


def train(cfg: RunConfig, resolved_yaml: str = "") -> dict[str, Any]:
    """Run one GRPO training job as configured; returns the final summary."""
    from trainer.numerics import flush_denormals

    previous = os.environ.get("TENSORBOARD_LOGGING_DIR")
    try:
        with flush_denormals():
            return _train(cfg, resolved_yaml)
    finally:  # the job's tensorboard folder must not leak into later jobs or child processes of this one
        if previous is None:
            os.environ.pop("TENSORBOARD_LOGGING_DIR", None)
        else:
            os.environ["TENSORBOARD_LOGGING_DIR"] = previous


def _train(cfg: RunConfig, resolved_yaml: str) -> dict[str, Any]:
    from transformers import set_seed

    from trainer.assemble import build_datasets, build_rewards, build_task, is_conversational, load_policy, peft_config
    from trainer.callbacks import MetricsCallback, ValidationCallback
    from trainer.collapse import CollapseConfig
    from trainer.grpo import UrlvrGRPOTrainer

    check_run_config(cfg, ConfigError)  # again, for a RunConfig built in code without validate_config
    run_dir = _open_run_dir(cfg.run_dir)
    grpo_args = _grpo_args(cfg, run_dir)  # TRL's own checks, before anything is loaded or truncated
    checkpoint = _prepare_run_dir(run_dir, cfg.trainer.resume)
    if _is_main_process():
        run_dir.write_config(resolved_yaml or cfg.model_dump_json(indent=2))
    set_seed(cfg.seed)
    task = build_task(cfg)
    model, tokenizer = load_policy(cfg)
    train_ds, val_rows = build_datasets(task, is_conversational(task, tokenizer))
    rewards = build_rewards(cfg, task)
    t = cfg.trainer
    validation = None
    if t.val_prompts and val_rows:
        validation = ValidationCallback(val_rows[: t.val_prompts], rewards.oracle, t.eval_steps, t.val_samples,
                                        t.max_completion_length, t.temperature)
    metrics = MetricsCallback(run_dir, CollapseConfig(threshold=t.collapse_threshold), t.stop_on_collapse, validation)
    trainer = UrlvrGRPOTrainer(
        model=model, processing_class=tokenizer, args=grpo_args, train_dataset=train_ds,
        reward=rewards.train, shadows=rewards.shadows, oracle=rewards.oracle, peft_config=peft_config(cfg),
        callbacks=[c for c in (validation, metrics) if c is not None],
        sample_sink=run_dir.append_samples, samples_per_step=t.samples_to_log,
    )
    if validation is not None:
        validation.trainer = trainer
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    finally:
        rewards.close()
    summary = {"run_dir": str(run_dir.path), "steps": trainer.state.global_step, **metrics.detector.to_json()}
    print(f"urlvr: run finished in {run_dir.path} after {summary['steps']} steps; "
          f"collapse step: {summary['collapse_step']}", flush=True)
    return summary


def _grpo_args(cfg: RunConfig, run_dir) -> Any:
    """TRL's GRPOConfig for this run; its refusals become one-line config errors."""
    from trainer.assemble import build_grpo_config

    if USER_TENSORBOARD_DIR is None:  # each job of an in-process sweep logs into its own run directory
        os.environ["TENSORBOARD_LOGGING_DIR"] = str(run_dir.tensorboard)
    try:
        return build_grpo_config(cfg, run_dir)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"trainer: TRL's GRPOConfig refused these options: {' '.join(str(exc).split())}") from None


def _open_run_dir(path: str):
    from trainer.rundir import RunDir, RunDirError

    try:
        return RunDir(path)
    except RunDirError as exc:
        raise ConfigError(str(exc)) from None


def _is_main_process() -> bool:
    """True unless this is a non-zero rank of a torchrun/accelerate job (set before any process group exists)."""
    return int(os.environ.get("RANK", "0")) == 0


def _prepare_run_dir(run_dir, resume: bool):
    """The checkpoint to resume from (metrics cut back to it), or None for a fresh run.

    Only the main process checks and changes the run directory; the other ranks of a job only find the same
    checkpoint (two ranks cutting metrics.jsonl back at once crashed a resumed two-process job)."""
    if not _is_main_process():
        return run_dir.latest_checkpoint() if resume else None
    if not resume:
        if run_dir.has_metrics():
            raise ConfigError(f"{run_dir.path} already holds a run; pass trainer.resume=true to continue it, or a new run_dir=")
        return None
    checkpoint = run_dir.latest_checkpoint()
    for skipped in run_dir.skipped_checkpoints:
        print(f"urlvr: warning: {skipped}; not resumed from", file=sys.stderr, flush=True)
    step = int(checkpoint.name.split("-")[1]) if checkpoint else 0
    dropped = run_dir.truncate_metrics(step if checkpoint else -1)
    print(f"urlvr: resuming {run_dir.path} from {checkpoint or 'scratch'}; dropped {dropped} metrics line(s) "
          f"after step {step} or unreadable", flush=True)
    return checkpoint


def _hydra_entry(dict_cfg) -> None:
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    raw = OmegaConf.to_container(dict_cfg, resolve=True)
    raw.pop("hydra", None)
    raw["run_dir"] = HydraConfig.get().runtime.output_dir
    cfg = validate_config(raw)
    train(cfg, OmegaConf.to_yaml(OmegaConf.create(raw)))


def main(argv: list[str] | None = None) -> None:
    """Check every job of the command line (one line on stderr at the first problem), then run it with Hydra."""
    import hydra

    from trainer.schema import register_schemas

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        preflight(argv)
    except ConfigError as exc:
        sys.exit(f"urlvr: {exc}")
    register_schemas(CONF_DIR)
    sys.argv = [sys.argv[0], *argv]
    entry = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base=None)(_validated(_hydra_entry))
    entry()


def _validated(fn):
    def wrapper(dict_cfg):
        try:
            fn(dict_cfg)
        except ConfigError as exc:
            sys.exit(f"urlvr: {exc}")

    return wrapper


if __name__ == "__main__":
    main()
