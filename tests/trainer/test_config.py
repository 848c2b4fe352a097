"""Config validation: unknown keys, wrong types and unknown registry names fail at start-up with the valid choices."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trainer.config import ConfigError, check_override_keys, validate_config
from trainer.preflight import default_choices

DEFAULT_CHOICES = default_choices()


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
        ({"verifiers": {"backend": "cloud"}}, r"verifiers.backend: .*unknown verifier pool backend 'cloud'; valid choices: inprocess, local, ray"),
        ({"verifiers": {"backend": "local", "address": "auto"}}, r"address: only for the ray backend, not 'local'"),
        ({"verifiers": {"transport": "pigeon"}}, r"verifiers.transport: .*'socket' or 'ray'"),
        ({"task": {"name": "chess"}}, r"task: unknown task 'chess'; valid choices: .*countdown"),
        ({"reward": {"name": "vibes"}}, r"reward: unknown reward 'vibes'; valid choices: .*self_verify"),
        ({"reward": {"name": "self_verify", "judge": "oracle"}}, r"reward.judge: Input should be 'policy', 'frozen' or 'endpoint'"),
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
        (["task=chess"], "task: unknown task 'chess'; valid choices: code, countdown"),
        (["trainer.gradient_accumulation_steps=3"], "valid choices: 1, 2, 4, 8"),
        (["reward.shadow=[nonexistent]"], "reward.shadow: unknown reward 'nonexistent'; valid choices: "),
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


@pytest.mark.parametrize(
    "override,match",
    [
        ({"reward": {"name": "oracle", "shadow": ["majority_vote", "nonexistent"]}},
         r"^reward.shadow: unknown reward 'nonexistent'; valid choices: combo, majority_vote, noisy_oracle, oracle"),
        ({"reward": {"name": "combo", "parts": ["oracle", "vibes"]}}, r"reward.*vibes.*valid choices: .*self_verify"),
        ({"trainer": {"gradient_accumulation_steps": 3}},
         r"^trainer.gradient_accumulation_steps: 3 does not divide the 8 completions .*valid choices: 1, 2, 4, 8$"),
        ({"trainer": {"num_generations": 3, "prompts_per_step": 2, "gradient_accumulation_steps": 4}}, r"valid choices: 1, 2, 3, 6$"),
        ({"trainer": {"grpo": {"generation_batch_size": 6}}}, r"generation_batch_size: 6 must be a multiple of the global batch 8"),
        ({"trainer": {"gradient_accumulation_steps": 4, "grpo": {"steps_per_generation": 1}}},
         r"generation batch \(2 completions\) must be a multiple of trainer.num_generations \(4\)"),
        ({"trainer": {"grpo": {"generation_batch_size": 16, "steps_per_generation": 2}}}, r"cannot both be set"),
        ({"trainer": {"grpo": {"steps_per_generation": "two"}}}, r"steps_per_generation: must be a positive integer"),
        ({"trainer": {"grpo": {"max_steps": 3}}}, r"^trainer.grpo.max_steps: set by trainer.max_steps; use that instead$"),
        ({"trainer": {"grpo": {"per_device_train_batch_size": 3}}}, r"set by trainer.prompts_per_step, trainer.num_generations"),
        ({"trainer": {"grpo": {"lerning_rate": 3}}}, r"not a field of TRL's GRPOConfig; did you mean: learning_rate \(set by trainer.learning_rate\)"),
        ({"trainer": {"grpo": {"epsilom": 0.2}}}, r"trainer.grpo.epsilom: not a field of TRL's GRPOConfig; did you mean: epsilon"),
        ({"trainer": {"grpo": {"zzzz_qqq": 1}}}, r"see TRL's GRPOConfig"),
        ({"task": {"name": "code"}, "reward": {"name": "self_verify"}}, r"^reward: .*self_verify.*'code'.*countdown, math"),
        ({"task": {"name": "code"}, "reward": {"name": "oracle", "shadow": ["self_verify"]}}, r"^reward.shadow: .*self_verify.*'code'"),
        ({"task": {"name": "code"}, "reward": {"name": "combo", "parts": ["self_verify", "self_certainty"]}}, r"self_verify .*'code'"),
        ({"reward": {"name": "verifier", "verifier": "nope"}}, r"^reward.verifier: unknown verifier 'nope'; valid choices: .*countdown"),
        ({"reward": {"name": "verifier", "verifier": "countdown", "options": {"bogus": 1}}}, r"^reward.options.bogus: .*valid keys: "),
    ],
)
def test_cross_field_problems_fail_before_any_model_loads(override, match):
    with pytest.raises(ConfigError, match=match) as info:
        validate_config(base(**override))
    assert "\n" not in str(info.value)  # one line


@pytest.mark.parametrize(
    "override",
    [
        {"trainer": {"gradient_accumulation_steps": 4}},  # 8 completions in 4 micro-batches of 2
        {"trainer": {"grpo": {"generation_batch_size": 16}}},
        {"trainer": {"grpo": {"steps_per_generation": 2, "epsilon": 0.2}}},
        {"task": {"name": "math"}, "reward": {"name": "self_verify"}},
        {"task": {"name": "code"}, "reward": {"name": "oracle", "shadow": ["majority_vote"]}},
        {"reward": {"name": "verifier", "verifier": "math", "options": {}}},
    ],
)
def test_valid_cross_field_settings_pass(override):
    validate_config(base(**override))


def test_grpo_set_by_covers_every_key_the_trainer_passes(monkeypatch, tmp_path):
    """build_grpo_config's own keywords are exactly the ones trainer.grpo may not repeat (no TypeError later)."""
    import trl

    from trainer.assemble import build_grpo_config
    from trainer.config_checks import GRPO_SET_BY
    from trainer.rundir import RunDir

    seen = {}
    monkeypatch.setattr(trl, "GRPOConfig", lambda **kw: seen.update(kw))
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path))
    cfg = validate_config(base(trainer={"use_vllm": True}))
    build_grpo_config(cfg, RunDir(tmp_path / "run"))
    assert set(seen) == set(GRPO_SET_BY)


def test_trl_accepts_what_validation_accepts(tmp_path, monkeypatch):
    """The real GRPOConfig takes every setting the batch checks pass (TRL's own rules agree with ours)."""
    from trainer.assemble import build_grpo_config
    from trainer.rundir import RunDir

    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path))
    for trainer in ({"gradient_accumulation_steps": 4}, {"grpo": {"generation_batch_size": 16}},
                    {"gradient_accumulation_steps": 2, "grpo": {"steps_per_generation": 4}}):
        args = build_grpo_config(validate_config(base(trainer=trainer)), RunDir(tmp_path / "run"))
        assert args.generation_batch_size % args.num_generations == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_device_train_batch_size": 8, "generation_batch_size": 6},
        {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 4, "steps_per_generation": 1},
        {"per_device_train_batch_size": 8, "generation_batch_size": 16, "steps_per_generation": 2},
    ],
)
def test_trl_refuses_what_validation_refuses(tmp_path, kwargs):
    """The batch settings refused above are refused by TRL's GRPOConfig itself (num_generations=4)."""
    from trl import GRPOConfig

    with pytest.raises(ValueError):
        GRPOConfig(output_dir=str(tmp_path), num_generations=4, use_cpu=True, report_to=[], **kwargs)


CONF = Path(__file__).resolve().parents[2] / "trainer" / "conf"
ORGANISMS = [f"model/{p.name}" for p in sorted((CONF / "model").glob("tiny-*.yaml"))]
PINNED = {(f, k) for f in ORGANISMS for k in ("task.min_count", "task.max_count", "task.max_number", "task.min_target",
                                              "task.max_target", "task.prompt_style", "model.dtype")}
"""Restatements kept on purpose: an organism only knows these ranges, whatever the task's defaults become."""
def yaml_nodes():
    """(file, package, values) for every YAML under trainer/conf: the tree each file contributes, by package."""
    for path in sorted(CONF.rglob("*.yaml")):
        rel = path.relative_to(CONF).as_posix()
        text = path.read_text()
        data = yaml.safe_load(text) or {}
        if rel == "config.yaml":
            yield rel, "", {k: v for k, v in data.items() if k not in ("defaults", "hydra", "run_dir")}
        elif "@package _global_" in text:
            yield rel, "", data
        else:
            yield rel, rel.split("/")[0] + ":" + path.stem, data


def defaults_for(package: str) -> dict:
    from rewards import REWARDS
    from tasks import TASKS
    from trainer.schema import base_defaults, plugin_defaults

    base = base_defaults()
    if not package:
        return {**base, "task": plugin_defaults(TASKS, DEFAULT_CHOICES["task"])[0]}
    group, name = package.split(":")
    if group == "model":
        return base["model"]
    return plugin_defaults(TASKS if group == "task" else REWARDS, name)[0]


def restated(values: dict, defaults: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in values.items():
        if key == "name" or key not in defaults:
            continue
        if isinstance(value, dict) and isinstance(defaults[key], dict):
            out += restated(value, defaults[key], f"{prefix}{key}.")
        elif value == defaults[key]:
            out.append(f"{prefix}{key}")
    return out


def test_no_yaml_value_restates_a_pydantic_default():
    """The pydantic models hold each default once; a YAML file only selects and overrides."""
    found = [(rel, key) for rel, package, values in yaml_nodes() for key in restated(values, defaults_for(package))]
    extra = sorted(set(found) - PINNED)
    assert extra == [], extra


def test_restatement_check_can_fail():
    assert restated({"trainer": {"max_steps": 8, "beta": 0.5}}, defaults_for("")) == ["trainer.max_steps"]
    assert restated({"val_size": 64, "name": "math"}, defaults_for("task:math")) == ["val_size"]


def _cli_and_code(task: str, reward: str, extra: dict):
    from trainer.preflight import preflight

    overrides = [f"{k}={v}" for k, v in extra.items()]
    (cli,) = preflight(["run_dir=/tmp/x", f"task={task}", f"reward={reward}", *overrides])
    code = validate_config({"run_dir": "/tmp/x", "task": {"name": task}, "reward": {"name": reward, **{
        k.split(".", 1)[1]: v for k, v in extra.items()}}})
    return cli.model_dump(), code.model_dump()


REWARD_NAMES = ["combo", "majority_vote", "noisy_oracle", "oracle", "probability", "self_certainty", "self_verify", "token_entropy",
                "trajectory_entropy", "verifier"]


@pytest.mark.parametrize("reward", REWARD_NAMES)
def test_cli_and_code_configs_are_the_same_run_for_each_reward(reward):
    """A config built in code from the same choices equals the one the CLI composes (one set of defaults)."""
    extra = {"reward.verifier": "countdown"} if reward == "verifier" else {}  # a required field, set by its YAML
    cli, code = _cli_and_code("countdown", reward, extra)
    assert cli == code


@pytest.mark.parametrize("task", ["code", "countdown", "math", "reasoning_gym"])
def test_cli_and_code_configs_are_the_same_run_for_each_task(task):
    cli, code = _cli_and_code(task, "oracle", {})
    assert cli == code


def test_every_registered_reward_is_compared():
    from rewards import REWARDS

    assert sorted(REWARDS.names()) == REWARD_NAMES


@pytest.mark.parametrize(
    "argv,match",
    [
        (["trainer.max_steps=["], r"no viable alternative"),
        (["task.path=${oops}"], r"Interpolation key 'oops' not found"),
        (["run_dir="], r"^run_dir: String should have at least 1 character"),
        (["hydra.run.dir="], r"^run_dir: String should have at least 1 character"),
        (["model.name_or_path="], r"^model.name_or_path: String should have at least 1 character"),
        (["+trainer.foo=1"], r"^trainer.foo: unknown key; valid keys: .*max_steps"),
        (["trainer=3"], r"^trainer: Input should be a valid dictionary"),
        (["task=countdown,math"], r"^task: unknown task 'countdown,math'"),
        (["-m", "task=countdown,math", "trainer.max_steps=1,0"], r"^trainer.max_steps: Input should be greater than or equal to 1"),
        (["trainer.grpo.epsilon=abc"], r"^trainer.grpo.epsilon: should be a number like TRL's default 0.2"),
        (["trainer.grpo.gradient_checkpointing=3"], r"^trainer.grpo.gradient_checkpointing: should be a bool"),
        (["reward=combo", "reward.parts=[]"], r"^reward.parts: List should have at least 1 item"),
        (["trainer.prompts_per_step=100000000", "trainer.num_generations=100000000", "trainer.gradient_accumulation_steps=7"],
         r"valid choices: the divisors of 10000000000000000$"),
        (["reward=verifier", "~reward.verifier"], r"reward.verifier"),
    ],
)
def test_hostile_command_lines_are_one_line_errors(argv, match):
    from trainer.preflight import preflight

    with pytest.raises(ConfigError, match=match) as info:
        preflight(argv)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["afile", "afile/below"])
@pytest.mark.parametrize("key", ["run_dir", "hydra.run.dir", "hydra.sweep.dir"])
def test_directories_that_are_files_are_refused_before_the_run(tmp_path, name, key):
    from trainer.preflight import preflight

    (tmp_path / "afile").write_text("x")
    argv = [f"{key}={tmp_path / name}"] + (["-m", "seed=0,1"] if "sweep" in key else [])
    with pytest.raises(ConfigError, match=r"(run_dir|hydra.sweep.dir): .* (is a file|which is a file)"):
        preflight(argv)
