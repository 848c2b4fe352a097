"""Config validation: unknown keys, wrong types and unknown registry names fail at start-up with the valid choices."""

import subprocess
import sys

import pytest

from trainer.config import ConfigError, check_override_keys, validate_config
from trainer.run import DEFAULT_CHOICES


def base(**over):
    cfg = {"run_dir": "/tmp/x", "task": {"name": "countdown"}, "reward": {"name": "oracle"}}
    cfg.update(over)
    return cfg


def test_defaults_validate():
    cfg = validate_config(base())
    assert cfg.task.name == "countdown" and cfg.reward.name == "oracle" and cfg.trainer.bf16 is False


@pytest.mark.parametrize(
    "override,match",
    [
        ({"trainer": {"max_stepz": 3}}, r"trainer.max_stepz: unknown key; valid keys: .*max_steps"),
        ({"trainer": {"max_steps": "many"}}, r"trainer.max_steps: Input should be a valid integer"),
        ({"trainer": {"num_generations": 1}}, r"trainer.num_generations: .*greater than or equal to 2"),
        ({"trainer": {"report_to": ["mlflow"]}}, r"valid choices: .*tensorboard"),
        ({"verifiers": {"backend": "cloud"}}, r"verifiers.backend: .*'inprocess', 'local' or 'ray'"),
        ({"verifiers": {"transport": "pigeon"}}, r"verifiers.transport: .*'socket' or 'ray'"),
        ({"task": {"name": "chess"}}, r"task: unknown task 'chess'; valid choices: .*countdown"),
        ({"reward": {"name": "vibes"}}, r"reward: unknown reward 'vibes'; valid choices: .*self_verify"),
        ({"reward": {"name": "self_verify", "judge": "oracle"}}, r"reward.judge: Input should be 'policy' or 'frozen'"),
        ({"task": {"name": "countdown", "max_numbr": 3}}, r"task.max_numbr: unknown key; valid keys: .*max_number"),
        ({"extra_top": 1}, r"extra_top: unknown key"),
    ],
)
def test_invalid_configs_name_the_field(override, match):
    with pytest.raises(ConfigError, match=match):
        validate_config(base(**override))


@pytest.mark.parametrize(
    "overrides,match",
    [
        (["trainer.max_stepz=3"], r"trainer.max_stepz: unknown key; valid keys under trainer: .*max_steps"),
        (["trainer.lora.rank=3"], r"trainer.lora.rank: unknown key; valid keys under trainer.lora: alpha, dropout, enabled, r"),
        (["reward=oracle", "reward.judge=frozen"], r"reward.judge: unknown key; valid keys under reward: format_score, name, shadow"),
        (["seed.x=1"], r"seed is a value"),
        (["bogus=1"], r"valid top-level keys"),
    ],
)
def test_override_keys_checked_before_hydra(overrides, match):
    with pytest.raises(ConfigError, match=match):
        check_override_keys(overrides, DEFAULT_CHOICES)


def test_valid_overrides_pass():
    check_override_keys(["reward=self_verify", "reward.judge=frozen", "trainer.grpo.beta=0.1", "+foo=1", "hydra.verbose=true"], DEFAULT_CHOICES)


@pytest.mark.parametrize(
    "args,match",
    [
        (["trainer.max_stepz=3"], "valid keys under trainer"),
        (["trainer.max_steps=abc"], "trainer.max_steps: Input should be a valid integer"),
        (["task=chess"], "Available options in 'task'"),
    ],
)
def test_cli_rejects_bad_config_at_startup(tmp_path, args, match):
    proc = subprocess.run([sys.executable, "-m", "trainer.run", *args, f"run_dir={tmp_path}/run"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert match in proc.stdout + proc.stderr
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


@pytest.mark.parametrize(
    "args,match",
    [
        (["model.name_or_path=/no/such/model"], "model.name_or_path: model path '/no/such/model' does not exist"),
        (["task.path=/no/such/data.jsonl"], "task (countdown): task data '/no/such/data.jsonl' does not exist"),
    ],
)
def test_cli_bad_model_or_dataset_is_a_clear_error(tmp_path, args, match):
    proc = subprocess.run([sys.executable, "-m", "trainer.run", *args, "task.train_size=4", "task.val_size=1",
                           f"run_dir={tmp_path}/run"], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert match in proc.stderr
    assert "Traceback" not in proc.stderr
