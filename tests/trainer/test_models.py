"""Organism resolution: shipped folders matching their preset's config, else the cache; ship builds a loadable folder."""

import json
from pathlib import Path

import pytest

from trainer import models
from trainer.models import SHIPPED_DIR, shipped_mismatch, shipped_organism
from trainer.prior.config import PRESETS, preset


def _shipped_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []


def _check_shipped(folder: Path) -> None:
    """The folder's card equals a preset's current config (digest recomputed), and transformers loads it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    card = json.loads((folder / "card.json").read_text())
    matching = [name for name in PRESETS if preset(name).folder_name() == folder.name]
    assert matching, f"{folder.name} is no current preset's folder (stale digest?); presets give {[preset(n).folder_name() for n in PRESETS]}"
    prior = preset(matching[0])
    assert shipped_mismatch(folder, prior) is None
    assert card["digest"] == prior.digest() and card["prior"] == json.loads(prior.model_dump_json())
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.vocab_size >= len(tok) and tok.eos_token_id == model.config.eos_token_id


@pytest.mark.parametrize("folder", _shipped_folders(SHIPPED_DIR), ids=lambda p: p.name)
def test_every_shipped_organism_matches_its_config_and_loads(folder):
    _check_shipped(folder)


@pytest.fixture(scope="module")
def shipped_tiny(tmp_path_factory):
    from trainer.warmstart import ship

    root = tmp_path_factory.mktemp("organisms")
    return ship(preset("tiny-countdown-test"), threads=1, root=root, log=lambda *_: None)


def test_ship_writes_a_folder_that_passes_the_shipped_checks(shipped_tiny):
    assert shipped_tiny.name == preset("tiny-countdown-test").folder_name()
    _check_shipped(shipped_tiny)
    assert [p.name for p in shipped_tiny.parent.iterdir()] == [shipped_tiny.name]  # no staging or lock left behind


def test_a_preset_resolves_to_the_shipped_folder_without_building(shipped_tiny, monkeypatch, tmp_path):
    import trainer.prior.build as build_mod

    monkeypatch.setattr(models, "SHIPPED_DIR", shipped_tiny.parent)
    monkeypatch.setenv("URLVR_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(build_mod, "build", lambda *a, **k: pytest.fail("built an organism that ships"))
    assert models.resolve_model("tiny-countdown-test") == str(shipped_tiny)


def test_a_card_from_another_config_is_not_used(shipped_tiny, tmp_path):
    import shutil

    prior = preset("tiny-countdown-test")
    copy = tmp_path / shipped_tiny.name
    shutil.copytree(shipped_tiny, copy)
    card = json.loads((copy / "card.json").read_text())
    assert shipped_organism(prior, root=tmp_path) == copy
    (copy / "card.json").write_text(json.dumps({**card, "digest": "0" * 12}))
    assert shipped_organism(prior, root=tmp_path) is None
    assert "digest" in shipped_mismatch(copy, prior)
    (copy / "card.json").write_text(json.dumps({**card, "prior": {**card["prior"], "seed": 7}}))
    assert "prior differs" in shipped_mismatch(copy, prior)
    (copy / "model.safetensors").unlink()
    assert "missing model.safetensors" in shipped_mismatch(copy, prior)
    assert shipped_organism(preset("tiny-countdown-test", seed=3), root=tmp_path) is None


def test_models_and_the_organism_builder_do_not_import_each_other():
    import ast

    root = Path(__file__).resolve().parents[2] / "trainer"
    for path in (root / "prior").glob("*.py"):
        imported = {node.module for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)}
        assert "trainer.models" not in imported, f"{path.name} imports trainer.models (a cycle: models resolves organisms)"


def test_ship_flag_parses(monkeypatch):
    from trainer.warmstart import parse_args

    assert parse_args(["prior=tiny-countdown-test", "--ship"])[1]["ship"] is True
    assert parse_args(["prior=tiny-countdown-test", "ship=false"])[1]["ship"] is False
