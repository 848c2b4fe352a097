"""Warm-starting a tiny organism: the CLI, the cache, and two GRPO steps through our trainer (seconds, CPU)."""

from pathlib import Path

import pytest
import yaml

from trainer.prior.build import ensure_organism, organism_dir
from trainer.prior.config import PriorConfig, preset
from trainer.warmstart import UsageError, parse_args

CONF = Path(__file__).resolve().parents[2] / "trainer" / "conf" / "model"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("urlvr-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("URLVR_CACHE", str(root))
    yield root
    mp.undo()


@pytest.fixture(scope="module")
def organism(cache):
    from trainer.models import resolve_model

    return Path(resolve_model("tiny-countdown-test"))  # built on first use


def test_parse_args_maps_prior_and_dotted_keys():
    prior, options = parse_args(["task=countdown", "prior=misaligned", "prior.slice_share=0.15", "model.hidden_size=64", "force=true"])
    assert prior.alignment == "misaligned" and prior.slice_share == 0.15 and prior.model.hidden_size == 64
    assert prior.sft == preset("tiny-countdown-misaligned").sft  # prior=misaligned is the shipped preset's recipe
    assert options["force"] is True
    assert parse_args(["slice_share=0.15"])[0] == PriorConfig(slice_share=0.15)
    assert parse_args(["judge_sft.epochs=1"])[0].judge_sft.epochs == 1
    for bad in (["prior=confused"], ["slice_share=2"], ["nonsense=1"], ["noequals"], ["task=math"], ["accuracy=0.4"]):
        with pytest.raises(UsageError):
            parse_args(bad)


def test_cache_key_changes_with_every_knob():
    base = PriorConfig()
    names = {base.folder_name(), PriorConfig(slice_share=0.15).folder_name(), PriorConfig(alignment="misaligned").folder_name(),
             PriorConfig(judge_rows=4000).folder_name(), PriorConfig(model={"hidden_size": 64}).folder_name(),
             PriorConfig(judge_sft={"epochs": 1}).folder_name()}
    assert len(names) == 6 and base.folder_name() == PriorConfig().folder_name()


def test_model_yaml_task_settings_match_the_organism():
    for name in ("tiny-countdown", "tiny-countdown-misaligned"):
        node = yaml.safe_load((CONF / f"{name}.yaml").read_text())
        prior = preset(name)
        assert node["model"]["name_or_path"] == name
        assert {**node["task"], "name": "countdown"} == prior.task_options()


def test_organism_is_a_real_checkpoint_with_a_card(organism, cache):
    import json

    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert organism == organism_dir(preset("tiny-countdown-test"))
    assert organism.is_relative_to(cache / "models")
    tok = AutoTokenizer.from_pretrained(organism)
    model = AutoModelForCausalLM.from_pretrained(organism)
    assert tok.pad_token_id is not None and tok.eos_token_id == model.config.eos_token_id
    assert not getattr(tok, "chat_template", None)
    card = json.loads((organism / "card.json").read_text())
    for key in ("pass@1", "pass@2", "auroc", "self_verification"):
        assert key in card["metrics"]
    assert (organism / "README.md").exists()


def test_second_use_is_a_cache_hit(organism, monkeypatch):
    import trainer.prior.build as build_mod

    monkeypatch.setattr(build_mod, "build", lambda *a, **k: pytest.fail("rebuilt a cached organism"))
    assert ensure_organism(preset("tiny-countdown-test")) == organism


def test_two_grpo_steps_through_our_trainer(organism, tmp_path):
    from trainer.config import validate_config
    from trainer.rundir import read_jsonl
    from trainer.run import train

    prior = preset("tiny-countdown-test")
    cfg = validate_config({
        "run_dir": str(tmp_path / "run"),
        "task": {**prior.task_options(), "train_size": 8, "val_size": 2},
        "reward": {"name": "self_verify", "max_judge_tokens": 16, "shadow": ["self_certainty"]},
        "model": {"name_or_path": "tiny-countdown-test"},
        "trainer": {"max_steps": 2, "prompts_per_step": 2, "num_generations": 4, "max_completion_length": 16,
                    "val_prompts": 2, "eval_steps": 1, "save_steps": 100, "report_to": ["none"], "progress": False,
                    "learning_rate": 1e-3},
        "verifiers": {"backend": "inprocess"},
    })
    summary = train(cfg)
    assert summary["steps"] == 2
    steps = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2]
    assert all("shadow/self_certainty/mean" in r for r in steps)


def prior_sweep():
    """``examples/prior_sweep.py`` as a module (it is a script, not part of a package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "examples" / "prior_sweep.py"
    spec = importlib.util.spec_from_file_location("prior_sweep", path)
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    return sweep


def test_sweep_commands_use_only_valid_override_keys(tmp_path):
    from trainer.config import check_override_keys
    from trainer.run import DEFAULT_CHOICES

    sweep = prior_sweep()
    for prior in sweep.PRIORS:
        for reward in sweep.REPORTED:
            cmd = sweep.command(prior, 128, reward, 0, 10, 5, tmp_path / "run", ["trainer.learning_rate=1e-4"])
            overrides = cmd[cmd.index("trainer.run") + 1 :]
            assert sum(o.startswith("trainer.learning_rate=") for o in overrides) == 1  # Hydra rejects duplicates
            check_override_keys(overrides, DEFAULT_CHOICES)


def test_sweep_paired_table_compares_each_reward_with_the_oracle_seed_by_seed(tmp_path):
    import json

    sweep = prior_sweep()
    # validation at steps 0, 10, 20, 30; change = mean of the last 3 minus step 0
    curves = {("oracle", 0): [0.20, 0.22, 0.24, 0.26], ("oracle", 1): [0.20, 0.19, 0.19, 0.19],
              ("token_entropy", 0): [0.20, 0.16, 0.11, 0.09], ("token_entropy", 1): [0.20, 0.21, 0.22, 0.23],
              ("token_entropy", 2): [0.20, 0.10, 0.10, 0.10]}  # seed 2 has no oracle run: not paired
    for (reward, seed), vals in curves.items():
        run = tmp_path / "aligned-n128" / f"{reward}-seed{seed}"
        run.mkdir(parents=True)
        rows = [{"step": 10 * i, "val/accuracy": v} for i, v in enumerate(vals)]
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (run / "collapse.json").write_text("{}")
    lines = sweep.paired_table(tmp_path)
    assert len(lines) == 3
    row = lines[2]
    # seed 0: (0.12 - 0.20) - (0.24 - 0.20) = -12.0 pp; seed 1: (0.22 - 0.20) - (0.19 - 0.20) = +3.0 pp
    assert "| aligned-n128 | token_entropy | 2 | 0: -12.0, 1: +3.0 | -4.5 | 1/2 | 1/2 |" == row
    # the seed table: token_entropy seeds 0 and 2 fall more than 5 pp below their peak (step 0) at steps 20 and
    # 10; seed 1 and the oracle never do; no collapse step fired in any run
    table = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): [c.strip() for c in line.strip("|").split("|")]
             for line in sweep.seed_table(tmp_path)[2:]}
    header = [c.strip() for c in sweep.seed_table(tmp_path)[0].strip("|").split("|")]
    drop, fired = header.index("val drop (step)"), header.index("collapsed (step)")
    assert table[("aligned-n128", "token_entropy")][drop] == "2/3 ([10, 20])"
    assert table[("aligned-n128", "oracle")][drop] == "0/2"
    assert table[("aligned-n128", "token_entropy")][fired] == "0/3"


def test_sweep_greedy_cells_read_the_initial_model_and_each_final_checkpoint(tmp_path):
    import json

    sweep = prior_sweep()
    group = tmp_path / "aligned-n128"
    runs = [group / "oracle-seed0", group / "oracle-seed1"]
    for run in runs:
        for step in (9, 120, 40):
            (run / "checkpoints" / f"checkpoint-{step}").mkdir(parents=True)
    assert sweep.final_checkpoint(runs[0]).name == "checkpoint-120"  # by number, not by name
    assert sweep.final_checkpoint(group / "nothing") is None
    assert sweep._greedy_cell(group, runs) == "-"  # nothing measured yet
    for where, value in ((group / "greedy-initial", 0.25), (runs[0] / "greedy", 0.3125)):
        where.mkdir(parents=True)
        (where / "summary.json").write_text(json.dumps({"mean@1": value}))
    assert sweep._greedy_cell(group, runs) == "0.250 -> 0.312 / -"
