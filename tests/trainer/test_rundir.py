"""Corrupt run directories: bad metrics lines are set aside (never a traceback, never a good line lost), a
checkpoint is resumed from only when every file a resume reads is whole, and a run_dir that is a file is one
clear line. The run directories are built by hand in the formats TRL writes (safetensors, torch zip files)."""

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from trainer.config import ConfigError
from trainer.rundir import RunDir, RunDirError, read_jsonl
from trainer.run import _prepare_run_dir

GOOD = [{"step": 0, "val/accuracy": 0.5}, {"step": 1, "reward": 0.25}, {"step": 2, "reward": 0.5}, {"step": 3, "reward": 1.0}]
BAD_LINES = {
    "null step": b'{"step": null, "reward": 1}',
    "string step": b'{"step": "2", "reward": 1}',
    "bool step": b'{"step": true}',
    "negative step": b'{"step": -1}',
    "no step": b'{"reward": 1}',
    "not utf-8": b'{"step": 2, "x": "\xff\xfe"}',
    "binary": b"\x00\x00\x00\x00\x00",
    "array": b"[1, 2, 3]",
    "string": b'"step"',
    "number": b"7",
    "not json": b"step=2 reward=1",
    "huge integer": b'{"step": ' + b"9" * 5000 + b"}",
    "deep nesting": b'{"step": 1, "x": ' + b"[" * 100000 + b"]" * 100000 + b"}",
    "lone carriage return": b'{"step": 1,\r "x": 1',
}


def write_metrics(run: RunDir, bad: bytes, torn: bytes = b"") -> None:
    lines = [json.dumps(r).encode() for r in GOOD]
    run.metrics.write_bytes(b"\n".join([*lines[:2], bad, *lines[2:]]) + b"\n" + torn)


@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_bad_metrics_line_is_set_aside_and_good_lines_kept(tmp_path, name):
    run = RunDir(tmp_path / "run")
    write_metrics(run, BAD_LINES[name], torn=b'{"step": 4, "rew')
    assert run.read_metrics() == GOOD
    warnings = []
    dropped = run.truncate_metrics(2, warn=warnings.append)
    assert [r["step"] for r in read_jsonl(run.metrics)] == [0, 1, 2]  # step 3 is after the checkpoint
    assert dropped == 3  # step 3, the bad line, the torn tail
    assert len(warnings) == 2 and all("\n" not in w for w in warnings)
    assert "line 3" in warnings[0] and "torn" in warnings[1]
    assert run.rejected.read_bytes() == BAD_LINES[name] + b"\n" + b'{"step": 4, "rew\n'  # nothing lost


def test_many_bad_lines_give_a_bounded_warning(tmp_path):
    run = RunDir(tmp_path / "run")
    run.metrics.write_bytes(b"\n".join([b"garbage"] * 50 + [b'{"step": 1}']) + b"\n")
    warnings = []
    assert run.truncate_metrics(10, warn=warnings.append) == 50
    assert len(warnings) == 6 and "45 more" in warnings[-1]
    assert read_jsonl(run.metrics) == [{"step": 1}]


def test_resume_on_a_corrupt_metrics_file_warns_and_continues(tmp_path, capsys):
    run = RunDir(tmp_path / "run")
    write_metrics(run, BAD_LINES["not utf-8"])
    make_checkpoint(run, 2)
    assert _prepare_run_dir(run, resume=True) == run.checkpoints / "checkpoint-2"
    out = capsys.readouterr()
    assert "resuming" in out.out and "Traceback" not in out.err
    assert "not UTF-8" in out.err
    assert [r["step"] for r in run.read_metrics()] == [0, 1, 2]


def test_a_fresh_run_refuses_a_directory_holding_only_garbage(tmp_path):
    run = RunDir(tmp_path / "run")
    run.metrics.write_bytes(b"\xff\xff\n")
    with pytest.raises(ConfigError, match="trainer.resume=true"):
        _prepare_run_dir(run, resume=False)


def test_appending_after_a_torn_line_starts_a_new_line(tmp_path):
    run = RunDir(tmp_path / "run")
    run.samples.write_bytes(b'{"prompt": "to')
    run.append_samples([{"prompt": "x"}])
    assert read_jsonl(run.samples) == [{"prompt": "x"}]


def make_checkpoint(run: RunDir, step: int, shards: bool = False):
    d = run.checkpoints / f"checkpoint-{step}"
    d.mkdir(parents=True)
    tensors = {"w": torch.ones(4, 4), "b": torch.zeros(4)}
    if shards:
        save_file({"w": tensors["w"]}, str(d / "model-00001-of-00002.safetensors"))
        save_file({"b": tensors["b"]}, str(d / "model-00002-of-00002.safetensors"))
        (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
            "w": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    else:
        save_file(tensors, str(d / "model.safetensors"))
    torch.save({"state": {0: torch.ones(3)}}, d / "optimizer.pt")
    torch.save({"last_epoch": step}, d / "scheduler.pt")
    torch.save({"python": 1}, d / "rng_state.pth")
    (d / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}, indent=2))
    return d


def truncate(path, keep: float = 0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


DAMAGE = {
    "trainer_state truncated": lambda d: truncate(d / "trainer_state.json"),
    "trainer_state empty": lambda d: (d / "trainer_state.json").write_bytes(b""),
    "trainer_state missing": lambda d: (d / "trainer_state.json").unlink(),
    "trainer_state wrong step": lambda d: (d / "trainer_state.json").write_text('{"global_step": 3}'),
    "trainer_state not an object": lambda d: (d / "trainer_state.json").write_text("[4]"),
    "weights truncated": lambda d: truncate(d / "model.safetensors", 0.9),
    "weights cut by one byte": lambda d: truncate(d / "model.safetensors", 1 - 1e-9),
    "weights header garbage": lambda d: (d / "model.safetensors").write_bytes(b"\xff" * 64),
    "weights missing": lambda d: (d / "model.safetensors").unlink(),
    "optimizer truncated": lambda d: truncate(d / "optimizer.pt", 0.8),
    "optimizer missing": lambda d: (d / "optimizer.pt").unlink(),
    "scheduler missing": lambda d: (d / "scheduler.pt").unlink(),
    "rng state truncated": lambda d: truncate(d / "rng_state.pth", 0.5),
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_an_incomplete_checkpoint_is_passed_over_for_the_previous_complete_one(tmp_path, name):
    run = RunDir(tmp_path / "run")
    make_checkpoint(run, 2)
    DAMAGE[name](make_checkpoint(run, 4))
    assert run.latest_checkpoint() == run.checkpoints / "checkpoint-2"
    assert len(run.skipped_checkpoints) == 1 and run.skipped_checkpoints[0].startswith("checkpoint-4: ")


def test_complete_checkpoints_are_used_whole_or_sharded(tmp_path):
    run = RunDir(tmp_path / "run")
    make_checkpoint(run, 2)
    make_checkpoint(run, 10, shards=True)
    (run.checkpoints / "checkpoint-7").mkdir()  # an empty folder, as a kill right after mkdir leaves
    assert run.latest_checkpoint() == run.checkpoints / "checkpoint-10"
    assert run.skipped_checkpoints == []


def test_a_missing_shard_makes_the_checkpoint_incomplete(tmp_path):
    run = RunDir(tmp_path / "run")
    (make_checkpoint(run, 6, shards=True) / "model-00002-of-00002.safetensors").unlink()
    assert run.latest_checkpoint() is None
    assert "model-00002-of-00002.safetensors missing" in run.skipped_checkpoints[0]


def test_no_complete_checkpoint_resumes_from_scratch(tmp_path, capsys):
    run = RunDir(tmp_path / "run")
    run.metrics.write_text('{"step": 1}\n')
    truncate(make_checkpoint(run, 1) / "trainer_state.json")
    assert _prepare_run_dir(run, resume=True) is None
    err = capsys.readouterr().err
    assert "checkpoint-1: trainer_state.json truncated" in err
    assert run.read_metrics() == []


def test_run_dir_that_is_a_file_is_one_clear_error(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    for path in (f, f / "below"):
        with pytest.raises(RunDirError, match="is a file, or below one"):
            RunDir(path)


@pytest.mark.parametrize("below", ["", "/run"])
def test_cli_run_dir_that_is_a_file_is_one_line(tmp_path, below):
    f = tmp_path / "afile"
    f.write_text("x")
    proc = subprocess.run([sys.executable, "-m", "trainer.run", f"run_dir={f}{below}"], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("urlvr: run_dir: ")
    assert f.read_text() == "x"


def test_each_job_of_a_sweep_logs_tensorboard_into_its_own_run_dir(tmp_path, monkeypatch):
    """Hydra's basic launcher runs sweep jobs in one process: the second job must not inherit the first's folder."""
    import os

    import trainer.run as run_module
    from trainer.config import validate_config

    monkeypatch.setattr(run_module, "USER_TENSORBOARD_DIR", None)
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    cfg = validate_config({"run_dir": str(tmp_path), "task": {"name": "countdown"}, "reward": {"name": "oracle"}})
    for name in ("oracle-seed0", "self_verify-seed0"):
        run = RunDir(tmp_path / name)
        run_module._grpo_args(cfg, run)
        assert os.environ["TENSORBOARD_LOGGING_DIR"] == str(run.tensorboard)
