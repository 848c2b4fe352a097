"""Every ``python -m trainer.run`` line and every override in the README's table passes start-up validation.

README.md is parsed at test time, so a new line or table row is covered without touching this file. Each
command goes through the same preflight the CLI runs (compose with Hydra, validate with pydantic, cross-field
checks); no model is loaded. A misspelt form of each README key must fail and name the right one.
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trainer.config import ConfigError
from trainer.preflight import preflight

README = Path(__file__).resolve().parents[2] / "README.md"
PLACEHOLDERS = {"trainer.grpo.KEY=VALUE": "trainer.grpo.epsilon=0.3"}
"""Table rows that name a pattern rather than a value, and a real instance of each."""


def readme_commands() -> list[list[str]]:
    """The arguments of each ``python -m trainer.run`` line in the README's code blocks."""
    commands, in_block = [], False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block and line.strip().startswith("python -m trainer.run"):
            args = shlex.split(line.split("#", 1)[0])
            commands.append(args[3:])
    return commands


def table_rows() -> list[str]:
    """The first cell of each row of the override table."""
    lines = README.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\|\s*override\s*\|", line))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(re.split(r"(?<!\\)\|", line)[1])
    return rows


def table_overrides() -> list[list[str]]:
    """Each override set of the table: a backticked span as written with the first of each ``a\\|b`` choice,
    and each further choice on its own (``verifiers.backend=ray\\|local verifiers.address=auto`` gives
    ``backend=ray address=auto`` and ``backend=local``)."""
    sets = []
    for cell in table_rows():
        for span in re.findall(r"`([^`]+)`", cell):
            tokens = PLACEHOLDERS.get(span, span).split()
            sets.append([t.split("\\|")[0] for t in tokens])
            for token in tokens:
                key, _, value = token.partition("=")
                sets.extend([[f"{key}={alt}"] for alt in value.split("\\|")[1:]])
    return sets


COMMANDS = readme_commands()
OVERRIDES = table_overrides()


def test_the_readme_was_parsed():
    assert len(COMMANDS) >= 6 and any("-m" in c for c in COMMANDS)
    assert len(OVERRIDES) >= 20
    flat = {o for s in OVERRIDES for o in s}
    for expected in ("trainer.lora.enabled=true", "verifiers.transport=ray", "trainer.vllm.mode=colocate", "reward=majority_vote"):
        assert expected in flat
    assert not any(o.isupper() or "KEY" in o for o in flat), "a placeholder row needs an entry in PLACEHOLDERS"


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_readme_command_validates(args):
    configs = preflight(args)
    jobs = 1
    for a in args:
        if "-m" in args and "," in a:
            jobs *= len(a.split("=", 1)[1].split(","))
    assert len(configs) == jobs


@pytest.mark.parametrize("overrides", OVERRIDES, ids=" ".join)
def test_readme_override_validates_and_takes_effect(overrides):
    (cfg,) = preflight(overrides)
    dumped = cfg.model_dump()
    for ov in overrides:
        key, _, value = ov.partition("=")
        if key in ("task", "reward", "model"):
            assert getattr(cfg, key).name if key != "model" else True
            continue
        got, expected = _at(dumped, key), yaml.safe_load(value)
        assert got == expected or _number(got) == _number(expected), (ov, got)


def _at(tree, key):
    for part in key.split("."):
        tree = tree[part]
    return tree


def _number(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return x


GROUPS = ("task", "reward", "model")


def misspelt(overrides: list[str]) -> list[tuple[tuple[str, ...], str]]:
    """(bad command line, the name that must be suggested) for each key or group choice in ``overrides``; a
    misspelt key keeps the line's group choices (``reward=noisy_oracle reward.tprq=...``)."""
    out = []
    groups = tuple(ov for ov in overrides if ov.partition("=")[0] in GROUPS)
    for ov in overrides:
        key, _, value = ov.partition("=")
        if key in GROUPS:
            out.append(((f"{key}={value}q",), value))
        else:
            *head, last = key.split(".")
            out.append(((*groups, ".".join([*head, last + "q"]) + "=" + value), last))
    return out


MISSPELT = sorted({m for s in OVERRIDES for m in misspelt(s)})


@pytest.mark.parametrize("bad,valid", MISSPELT, ids=[" ".join(m[0]) for m in MISSPELT])
def test_misspelt_readme_key_fails_with_the_valid_choices(bad, valid):
    with pytest.raises(ConfigError) as info:
        preflight(list(bad))
    message = str(info.value)
    assert "\n" not in message
    assert re.search(r"valid (keys|choices|top-level keys)|did you mean", message), message
    assert re.search(rf"\b{re.escape(valid)}\b", message), message


def test_the_hydra_entry_point_knows_every_field_too(tmp_path):
    """The real CLI (hydra.main, not the compose API) takes the README's overrides without '+'."""
    proc = subprocess.run([sys.executable, "-m", "trainer.run", "trainer.lora.enabled=true", "verifiers.transport=ray",
                           "trainer.vllm.mode=server", "trainer.grpo.epsilon=0.3", f"run_dir={tmp_path}/run", "--cfg", "job"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for line in ("enabled: true", "transport: ray", "mode: server", "epsilon: 0.3", "max_steps: 8"):
        assert line in proc.stdout


def test_the_readme_main_job_validates(tmp_path):
    """``make demo`` (trainer.demo): its sweep, with the README's ``ARGS="trainer.max_steps=50"``, passes preflight."""
    from trainer import demo

    argv = ["-m", f"reward={demo.REWARDS}", *demo.SETTINGS, "trainer.max_steps=50", f"hydra.sweep.dir={tmp_path}/demo"]
    configs = preflight(argv)
    assert [c.reward.name for c in configs] == demo.REWARDS.split(",")
    assert all(c.trainer.max_steps == 50 and c.model.name_or_path == "tiny-countdown" for c in configs)
