"""How the trainer sizes the verifier pool each rank builds."""

from __future__ import annotations

import pytest

from trainer.assemble import pool_options
from trainer.config import validate_config


def cfg(**verifiers):
    return validate_config({"run_dir": "/tmp/x", "task": {"name": "countdown"}, "reward": {"name": "oracle"},
                            "verifiers": verifiers})


@pytest.mark.parametrize("backend, env, workers, expected", [
    ("local", {}, 3, 3),                                              # one process: the whole budget
    ("local", {"LOCAL_WORLD_SIZE": "2", "WORLD_SIZE": "4"}, 3, 2),    # the node's ranks split the node's budget
    ("local", {"LOCAL_WORLD_SIZE": "4"}, 2, 1),                       # never below one worker
    ("ray", {"LOCAL_WORLD_SIZE": "2", "WORLD_SIZE": "4"}, 8, 2),      # no run id to share by: the ranks split the actors
])
def test_workers_are_a_budget_shared_by_the_ranks(monkeypatch, backend, env, workers, expected):
    for key in ("LOCAL_WORLD_SIZE", "WORLD_SIZE", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    options = pool_options(cfg(backend=backend, workers=workers))
    assert options.workers == expected and "share" not in options.backend_options


def test_ray_ranks_of_one_torchrun_job_share_one_pool(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "a1b2/c3 d4")
    options = pool_options(cfg(backend="ray", workers=8))
    assert options.workers == 8 and options.backend_options == {"share": "a1b2-c3-d4"}  # the job's 8, shared
    assert pool_options(cfg(backend="local", workers=8)).workers == 8  # local: no LOCAL_WORLD_SIZE, one per node
    mine = pool_options(cfg(backend="ray", workers=8, backend_options={"share": "mine"}))
    assert mine.backend_options == {"share": "mine"}  # a key the user set wins
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert "share" not in pool_options(cfg(backend="ray", workers=8)).backend_options  # one process: nothing to share


def test_task_whose_verifier_cannot_run_here_stops_before_the_model_loads():
    from tasks import make_task
    from trainer.assemble import check_oracle
    from trainer.config import ConfigError
    from verifiers.registry import VERIFIERS

    task = make_task("lean", {})
    if VERIFIERS.get("lean").unavailable(task.verifier_config()):  # the usual case here: no Lean on this machine
        with pytest.raises(ConfigError, match="task=lean: no Lean toolchain.*docs/lean.md"):
            check_oracle(task)
    else:
        check_oracle(task)  # a toolchain is there: nothing to refuse
    check_oracle(make_task("countdown", {}))  # a verifier without the hook is never refused


def test_backend_options_reach_the_pool():
    options = pool_options(cfg(backend="ray", workers=2, backend_options={"batch_size": 64}))
    assert options.backend_options == {"batch_size": 64} and options.backend == "ray"


def test_building_the_grpo_config_leaves_the_environment_alone(monkeypatch, tmp_path):
    """A job's tensorboard folder set in os.environ leaked into every later CLI run started from this process."""
    import os

    from trainer.assemble import build_grpo_config
    from trainer.rundir import RunDir

    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    build_grpo_config(cfg(backend="inprocess"), RunDir(tmp_path / "run"))
    assert "TENSORBOARD_LOGGING_DIR" not in os.environ
